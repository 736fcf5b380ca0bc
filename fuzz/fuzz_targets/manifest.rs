//! A recording's `manifest.json` as `courtroom verify` reads it:
//! `courtroom::record::verify::verify_dir` on a folder holding the fuzzed manifest, signed with
//! the key it is checked against (so the fuzzer is not stopped at the signature), one segment
//! file and a `SHA256SUMS`. The folder is made once (in memory where it can be); each input
//! rewrites the manifest and its signature.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use courtroom::record::manifest::{MANIFEST_FILE, SIGNATURE_FILE, SUMS_FILE};
use courtroom::record::sign::RecordingKey;
use courtroom::record::verify::verify_dir;
use libfuzzer_sys::fuzz_target;

/// The segment's content; the seed manifests list it with this SHA-256.
const SEGMENT: &[u8] = b"abc";
const SEGMENT_FILE: &str = "composite-00000.mp4";

fn folder() -> &'static (tempfile::TempDir, PathBuf, RecordingKey) {
    static FOLDER: OnceLock<(tempfile::TempDir, PathBuf, RecordingKey)> = OnceLock::new();
    FOLDER.get_or_init(|| {
        // In memory where there is /dev/shm: ext4 flushes a truncated file on close, which
        // would make the disk, not the code, the bottleneck.
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::tempdir_in(shm)
        } else {
            tempfile::tempdir()
        }
        .expect("a temporary folder");
        let path = dir.path().to_owned();
        std::fs::write(path.join(SEGMENT_FILE), SEGMENT).expect("write the segment");
        std::fs::write(
            path.join(SUMS_FILE),
            format!(
                "{}  {SEGMENT_FILE}\n",
                courtroom::digest::sha256_hex(SEGMENT)
            ),
        )
        .expect("write SHA256SUMS");
        (dir, path, RecordingKey::from_seed([5; 32]))
    })
}

fuzz_target!(|data: &[u8]| {
    let (_, dir, key) = folder();
    std::fs::write(dir.join(MANIFEST_FILE), data).expect("write the manifest");
    std::fs::write(dir.join(SIGNATURE_FILE), key.sign(data)).expect("write the signature");
    let report = verify_dir(dir, Some(&key.public()));
    let _ = report.render();
});
