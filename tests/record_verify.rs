//! `courtroom verify` and tamper evidence: a real recording verifies; 100 single-byte flips at
//! random positions across its segments and manifest files are each caught and pinned to the
//! right file; the CLI exits non-zero naming the segment; and the checks documented in
//! docs/VERIFY.md (only `sha256sum` and `openssl`) pass on an untouched recording.

mod record_common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use courtroom::record::manifest::{MANIFEST_FILE, SIGNATURE_FILE, SUMS_FILE};
use courtroom::record::verify::verify_dir;
use courtroom::record::RecordingKey;
use rand::{Rng, SeedableRng};
use record_common::record_for;

fn verify_cli(dir: &Path, key: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_courtroom"))
        .arg("verify")
        .arg(dir)
        .arg("--public-key")
        .arg(key)
        .output()
        .expect("courtroom verify runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn every_byte_flip_is_caught_and_the_cli_names_the_segment() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = tmp.path().join("rec");
    let (finished, key) = record_for(&rec, Duration::from_secs(1), 3.5);
    assert_eq!(finished.manifest.segments.len(), 4);
    let pem = tmp.path().join("court.pem");
    std::fs::write(&pem, key.public().to_pem()).unwrap();

    let report = verify_dir(&rec, Some(&key.public()));
    assert!(report.ok(), "{}", report.render());
    let (code, out) = verify_cli(&rec, &pem);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("OK "), "{out}");

    // Another key does not verify it.
    let other = RecordingKey::generate();
    assert!(!verify_dir(&rec, Some(&other.public())).ok());
    assert!(!verify_dir(&rec, None).ok(), "no key, no pass");

    let mut files: Vec<PathBuf> = finished.segments.clone();
    for f in [MANIFEST_FILE, SIGNATURE_FILE, SUMS_FILE] {
        files.push(rec.join(f));
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed_f11b);
    let mut caught = 0;
    for flip in 0..100 {
        let file = &files[rng.gen_range(0..files.len())];
        let original = std::fs::read(file).unwrap();
        let pos = rng.gen_range(0..original.len());
        let mut tampered = original.clone();
        tampered[pos] ^= rng.gen_range(1..=255u8);
        std::fs::write(file, &tampered).unwrap();
        let report = verify_dir(&rec, Some(&key.public()));
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        assert!(!report.ok(), "flip {flip} at {name}:{pos} was not caught");
        // The finding names the tampered file (manifest flips show as its signature failing).
        let names_it = report.findings.iter().any(|f| {
            f.message.contains(&name)
                || (name == MANIFEST_FILE && f.message.contains(SIGNATURE_FILE))
        });
        assert!(names_it, "flip {flip} in {name}: {}", report.render());
        caught += 1;
        std::fs::write(file, &original).unwrap();
    }
    assert_eq!(caught, 100);
    assert!(verify_dir(&rec, Some(&key.public())).ok(), "restored");

    // The CLI: non-zero, and it says which segment and what.
    let seg2 = rec.join("composite-00002.mp4");
    let original = std::fs::read(&seg2).unwrap();
    let mut tampered = original.clone();
    tampered[original.len() / 2] ^= 0x01;
    std::fs::write(&seg2, &tampered).unwrap();
    let (code, out) = verify_cli(&rec, &pem);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAIL")
            && out.contains("segment 2 (composite-00002.mp4)")
            && out.contains("SHA-256"),
        "{out}"
    );
    std::fs::write(&seg2, &original).unwrap();

    // Dropping a segment from the folder is caught too.
    std::fs::rename(&seg2, tmp.path().join("moved.mp4")).unwrap();
    let (code, out) = verify_cli(&rec, &pem);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("segment 2"), "{out}");
    std::fs::rename(tmp.path().join("moved.mp4"), &seg2).unwrap();

    // The checks of docs/VERIFY.md, with only sha256sum and openssl.
    let script = r#"
set -e
cd "$1"
openssl pkeyutl -verify -pubin -inkey "$2" -rawin -in manifest.json -sigfile manifest.json.sig
test "$(sha256sum SHA256SUMS | cut -d' ' -f1)" = "$(grep '"sha256sums"' manifest.json | cut -d'"' -f4)"
sha256sum -c SHA256SUMS
"#;
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .arg(&rec)
        .arg(&pem)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // ...and the same fails on a tampered segment.
    std::fs::write(&seg2, &tampered).unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .arg(&rec)
        .arg(&pem)
        .output()
        .unwrap();
    assert!(!out.status.success(), "sha256sum -c catches the flip");
}
