//! Content credentials (issue 17): each segment carries a C2PA manifest signed with the court's
//! certificate. A third-party verifier (the C2PA project's own SDK, `c2pa-python`, installed
//! by `scripts/c2pa-verifier.sh`) trusts an untouched segment given the court's root, reads
//! who recorded it and where it sits in the chain, and rejects a segment with one byte
//! flipped; our own `verify` passes the first and fails the second, as before.

mod record_common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use courtroom::record::credentials::{ContentCredentials, SegmentCredentials};
use courtroom::record::mp4;
use courtroom::record::verify::verify_dir;
use record_common::record_scripted;
use serde_json::Value;

/// What the third-party verifier says of `file`, trusting `anchor`.
fn third_party_verdict(file: &Path, anchor: &Path) -> Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = Command::new(root.join("scripts/c2pa-verifier.sh"))
        .arg("python")
        .output()
        .expect("c2pa-verifier.sh runs");
    let python = String::from_utf8(python.stdout).unwrap();
    let out = Command::new(python.trim())
        .arg(root.join("tests/c2pa/check.py"))
        .arg(file)
        .arg(anchor)
        .output()
        .expect("the verifier is installed (make deps: scripts/c2pa-verifier.sh install)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_c2pa_verifier_trusts_an_untouched_segment_and_rejects_a_flipped_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let rec = tmp.path().join("rec");
    let chain = Arc::new(ContentCredentials::load_or_create(&data, "Test Internet Court").unwrap());
    let credentials = SegmentCredentials {
        chain: chain.clone(),
        court: "Test Internet Court".into(),
        recorder: "courtroom test".into(),
    };
    let (finished, key) = record_scripted(
        &rec,
        Duration::from_secs(2),
        4.5,
        |opts| opts.credentials = Some(credentials),
        &[],
    );
    let manifest = finished.manifest;
    assert!(manifest.segments.len() >= 2, "{manifest:?}");
    let report = verify_dir(&rec, Some(&key.public()));
    assert!(report.ok(), "our own verify: {}", report.render());

    let anchor = data.join("content-credentials").join("court-ca.pem");
    for (i, seg) in manifest.segments.iter().enumerate() {
        let file = rec.join(&seg.file);
        // Still an MP4 with both tracks, the C2PA box beside them.
        let info = mp4::parse(&std::fs::read(&file).unwrap()).unwrap();
        assert!(info.track("video").unwrap().holds_media(), "{info:?}");
        assert!(info.track("audio").unwrap().holds_media(), "{info:?}");

        let verdict = third_party_verdict(&file, &anchor);
        assert_eq!(verdict["state"], "Trusted", "segment {i}: {verdict}");
        let claim = &verdict["assertion"];
        assert_eq!(claim["court"], "Test Internet Court", "{verdict}");
        assert_eq!(claim["hearing_id"], manifest.hearing_id.as_str());
        assert_eq!(claim["recording_id"], manifest.recording_id.as_str());
        assert_eq!(claim["segment_index"], i as u64);
        let head = if i == 0 {
            manifest.genesis()
        } else {
            manifest.segments[i - 1].entry_hash.clone()
        };
        assert_eq!(
            claim["chain_head"],
            head.as_str(),
            "the chain's head before it"
        );
    }

    // One byte flipped in the media: the C2PA verifier and ours both say so.
    let file = rec.join(&manifest.segments[0].file);
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.len() - 2000;
    bytes[at] ^= 0x40;
    std::fs::write(&file, &bytes).unwrap();
    let verdict = third_party_verdict(&file, &anchor);
    assert_eq!(verdict["state"], "Invalid", "{verdict}");
    assert!(
        verdict["failures"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "assertion.bmffHash.mismatch"),
        "{verdict}"
    );
    assert!(!verify_dir(&rec, Some(&key.public())).ok());

    // Another court's root is not trusted for these segments.
    let other = ContentCredentials::issue("Another Court").unwrap();
    let other_anchor = tmp.path().join("other-ca.pem");
    std::fs::write(&other_anchor, other.ca_pem()).unwrap();
    let verdict = third_party_verdict(&rec.join(&manifest.segments[1].file), &other_anchor);
    assert_ne!(verdict["state"], "Trusted", "{verdict}");
    assert_eq!(chain.ca_pem(), std::fs::read_to_string(&anchor).unwrap());
}
