//! `courtroom verify` and tamper evidence: a real recording verifies; 100 single-byte flips at
//! random positions across its segments and manifest files are each caught and pinned to the
//! right file; the CLI exits non-zero naming the segment; and the checks documented in
//! docs/VERIFY.md (only `sha256sum` and `openssl`) pass on an untouched recording.

mod record_common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use courtroom::record::manifest::{MANIFEST_FILE, SIGNATURE_FILE, SUMS_FILE};
use courtroom::record::seal::seal_one;
use courtroom::record::verify::{verify_dir, Severity};
use courtroom::record::{RecordingKey, RecordingState, SeatedParticipant};
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

/// Every file in the folder is covered by a hash the signature covers: anything else in it is
/// an error, except the signature, the time-stamp files and the hidden bookkeeping files.
#[test]
fn a_file_no_hash_covers_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = tmp.path().join("rec");
    let (_, key) = record_for(&rec, Duration::from_secs(2), 2.5);
    let public = key.public();
    for (name, body) in [
        (".bucket.json", &b"{}"[..]),
        (".fenced", b""),
        ("timestamps.json", b"[]"),
    ] {
        std::fs::write(rec.join(name), body).unwrap();
    }
    let report = verify_dir(&rec, Some(&public));
    assert!(
        report.ok(),
        "bookkeeping files are exempt: {}",
        report.render()
    );

    for (name, body) in [
        ("notes.txt", &b"added later"[..]),
        (
            "original-witness-p7-video.webm",
            b"\x1a\x45\xdf\xa3 not listed",
        ),
        ("composite-00009.mp4", b"a segment nobody listed"),
        (".hidden", b"x"),
    ] {
        let path = rec.join(name);
        std::fs::write(&path, body).unwrap();
        let report = verify_dir(&rec, Some(&public));
        assert!(!report.ok(), "{name} is not covered: {}", report.render());
        assert!(
            report.findings.iter().any(|f| f.severity == Severity::Error
                && f.message.starts_with(name)
                && f.message.contains("not covered")),
            "{}",
            report.render()
        );
        std::fs::remove_file(&path).unwrap();
    }
    std::fs::create_dir(rec.join("extra")).unwrap();
    let report = verify_dir(&rec, Some(&public));
    assert!(!report.ok(), "a folder inside: {}", report.render());
    std::fs::remove_dir(rec.join("extra")).unwrap();
    assert!(verify_dir(&rec, Some(&public)).ok());
}

/// A server that dies while a participant's original is being written: sealing at the next
/// start lists it as it lies (`complete: false`, whose it is from its name), so the sealed
/// recording has no file outside the hash chain.
#[test]
fn sealing_after_a_crash_lists_the_originals_being_written() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = tmp.path().join("rec");
    let (finished, key) = record_for(&rec, Duration::from_secs(2), 2.5);
    // As the server left it when it died: still `recording`, an original being written.
    let mut manifest = finished.manifest.clone();
    manifest.state = RecordingState::Recording;
    manifest.ended_at = None;
    manifest.participants = vec![SeatedParticipant {
        role: "witness".into(),
        seat: "witness".into(),
        name: "Wang Fang".into(),
    }];
    manifest.write_signed(&rec, Some(&key)).unwrap();
    let original = "original-witness-p4-audio.webm";
    std::fs::write(rec.join(original), b"\x1a\x45\xdf\xa3 torn webm").unwrap();
    std::fs::write(rec.join(".manifest.json.tmp"), b"{").unwrap();
    let live = verify_dir(&rec, Some(&key.public()));
    assert!(
        live.ok(),
        "while recording, a file being written is a warning: {}",
        live.render()
    );

    let sealed = seal_one(&rec, &key).unwrap().expect("sealed");
    assert_eq!(sealed.appended, 0);
    let m = courtroom::record::Manifest::read(&rec).unwrap();
    assert_eq!(m.state, RecordingState::Interrupted);
    let o = m
        .originals
        .iter()
        .find(|o| o.file == original)
        .expect("the original is listed");
    assert!(!o.complete);
    assert_eq!(o.kind, "audio");
    assert_eq!(o.codec, "audio/opus");
    assert_eq!(o.participant.name, "Wang Fang");
    assert!(m.failure.unwrap().contains("original"));
    let report = verify_dir(&rec, Some(&key.public()));
    assert!(report.ok(), "{}", report.render());
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.message.contains("not covered")),
        "{}",
        report.render()
    );
}
