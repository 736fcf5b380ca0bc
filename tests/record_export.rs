//! The evidence package (issue 17): `courtroom export DIR --out FILE.zip` writes the recording,
//! the court's key, the hearing's audit trail and VERIFY.txt; `courtroom verify FILE.zip`
//! passes on it with the package's key, fails on a byte flipped inside it, and refuses a zip
//! with an entry that would leave its folder.

mod record_common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use courtroom::record::sign::KEY_FILE;
use courtroom::store::{AuditEvent, Store};
use record_common::record_for;

fn courtroom(args: &[&std::ffi::OsStr]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_courtroom"))
        .args(args)
        .env_remove("COURTROOM_DATA_DIR")
        .env_remove("COURTROOM_DATABASE_URL")
        .output()
        .expect("courtroom runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// A data folder as the server leaves it: the signing key and an audit trail with rows for
/// hearing `h` (the recording's) and for another hearing.
fn data_folder(data: &Path, seed: [u8; 32]) {
    std::fs::create_dir_all(data).unwrap();
    std::fs::write(data.join(KEY_FILE), seed).unwrap();
    let url = format!("sqlite://{}", data.join("courtroom.db").display());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = Store::open(&url).await.unwrap();
        for (actor, action, hearing) in [
            ("user:li", "hearing_created", "h"),
            ("user:li", "hearing_created", "other"),
            ("user:li", "recording_started", "h"),
            ("invitee:inv-1 (witness)", "join", "other"),
            ("user:li", "recording_stopped", "h"),
        ] {
            let detail = serde_json::json!({ "n": 1 });
            store
                .append_audit(&AuditEvent::new(actor, action, Some(hearing), detail))
                .await
                .unwrap();
        }
    });
}

#[test]
fn an_exported_package_verifies_and_a_flipped_byte_inside_it_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = tmp.path().join("rec");
    let (finished, key) = record_for(&rec, Duration::from_secs(1), 2.5);
    assert!(finished.manifest.segments.len() >= 2);
    let data = tmp.path().join("data");
    data_folder(&data, key.seed());
    let pkg = tmp.path().join("evidence.zip");

    let (code, out) = courtroom(&[
        "export".as_ref(),
        rec.as_os_str(),
        "--out".as_ref(),
        pkg.as_os_str(),
        "--data".as_ref(),
        data.as_os_str(),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("3 audit entries"), "{out}");

    // An independent reader lists it: the recording as it is, the key, the trail, the note.
    let listing = Command::new("python3")
        .args(["-c", "import sys,zipfile\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint('\\n'.join(z.namelist()))\nprint(z.read('evidence-test/VERIFY.txt').decode())\nprint(z.read('evidence-test/audit-trail.jsonl').decode())"])
        .arg(&pkg)
        .output()
        .unwrap();
    assert!(listing.status.success(), "{listing:?}");
    let listing = String::from_utf8(listing.stdout).unwrap();
    for name in [
        "evidence-test/recording/manifest.json",
        "evidence-test/recording/manifest.json.sig",
        "evidence-test/recording/SHA256SUMS",
        "evidence-test/recording/composite-00000.mp4",
        "evidence-test/court-public-key.pem",
        "evidence-test/audit-trail.jsonl",
        "evidence-test/VERIFY.txt",
    ] {
        assert!(listing.contains(name), "{name} missing: {listing}");
    }
    assert!(
        listing.contains("courtroom verify evidence-test.zip"),
        "{listing}"
    );
    assert!(listing.contains("证据包") && listing.contains("sha256sum -c SHA256SUMS"));
    assert!(listing.contains(&key.public().key_id()), "{listing}");
    assert!(listing.contains("recording_started") && !listing.contains("inv-1"));

    // Verified with nothing but the package: its key, and it says where the key came from.
    let nowhere = tmp.path().join("no-data");
    let verify = |zip: &Path| {
        courtroom(&[
            "verify".as_ref(),
            zip.as_os_str(),
            "--data".as_ref(),
            nowhere.as_os_str(),
        ])
    };
    let (code, out) = verify(&pkg);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("key ID from the package"), "{out}");
    assert!(out.contains(&format!("key {} from the package", key.public().key_id())));
    assert!(out.contains("OK ") && !out.contains("FAIL"), "{out}");
    assert!(
        out.contains("audit trail audit-trail.jsonl: 3 entries"),
        "{out}"
    );

    // A key given on purpose is the one checked with, never the package's own.
    let other_pem = tmp.path().join("other.pem");
    let other_key = courtroom::record::RecordingKey::generate().public();
    std::fs::write(&other_pem, other_key.to_pem()).unwrap();
    let (code, out) = courtroom(&[
        "verify".as_ref(),
        pkg.as_os_str(),
        "--public-key".as_ref(),
        other_pem.as_os_str(),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("is not used: keys were given"), "{out}");
    assert!(out.contains("does not match manifest.json"), "{out}");

    // One byte flipped inside a segment, inside the zip.
    let zip = std::fs::read(&pkg).unwrap();
    let segment = std::fs::read(rec.join("composite-00001.mp4")).unwrap();
    let probe = &segment[segment.len() / 2..segment.len() / 2 + 64];
    let at = zip.windows(64).position(|w| w == probe).unwrap();
    let mut tampered = zip.clone();
    tampered[at + 10] ^= 0x01;
    let bad = tmp.path().join("tampered.zip");
    std::fs::write(&bad, &tampered).unwrap();
    let (code, out) = verify(&bad);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL"), "{out}");
    assert!(
        out.contains("composite-00001.mp4") && out.contains("CRC-32"),
        "the zip entry is named: {out}"
    );
    assert!(
        out.contains("segment 1 (composite-00001.mp4)") && out.contains("SHA-256"),
        "and the segment's hash: {out}"
    );

    // With the package's key replaced by another, the recording's signature does not check:
    // the other key's id is not the one the manifest names, so no key is found.
    let other = courtroom::record::RecordingKey::generate()
        .public()
        .to_pem();
    let own = key.public().to_pem();
    let at = zip
        .windows(own.len())
        .position(|w| w == own.as_bytes())
        .unwrap();
    let mut swapped = zip.clone();
    swapped[at..at + own.len()].copy_from_slice(other.as_bytes());
    let swapped_path = tmp.path().join("swapped.zip");
    std::fs::write(&swapped_path, &swapped).unwrap();
    let (code, out) = verify(&swapped_path);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("unknown here"), "{out}");
}

#[test]
fn a_zip_with_an_entry_leaving_its_folder_is_refused_and_a_broken_one_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let evil_name = format!("courtroom-evil-{}.txt", std::process::id());
    let evil = tmp.path().join("evil.zip");
    let made = Command::new("python3")
        .arg("-c")
        .arg("import sys,zipfile\nz=zipfile.ZipFile(sys.argv[1],'w')\nz.writestr('p/recording/manifest.json','{}')\nz.writestr('../'+sys.argv[2],'evil')\nz.close()")
        .arg(&evil)
        .arg(&evil_name)
        .status()
        .unwrap();
    assert!(made.success());
    let (code, out) = courtroom(&["verify".as_ref(), evil.as_os_str()]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("refused") && out.contains(&format!("../{evil_name}")) && out.contains(".."),
        "{out}"
    );
    assert!(!std::env::temp_dir().join(&evil_name).exists());

    let junk = tmp.path().join("junk.zip");
    std::fs::write(&junk, b"PK\x03\x04 not really a zip").unwrap();
    let (code, out) = courtroom(&["verify".as_ref(), junk.as_os_str()]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("not a valid zip archive"), "{out}");
}
