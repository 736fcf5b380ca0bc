//! `manifest.json`: what a recording holds, and the hash that lets anyone check it.

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A recording's manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    /// Manifest format version.
    pub version: u32,
    /// Recording id.
    pub recording_id: String,
    /// Hearing id.
    pub hearing_id: String,
    /// Case number.
    pub case_number: String,
    /// Wall-clock start, RFC 3339 UTC.
    pub started_at: String,
    /// Wall-clock end, RFC 3339 UTC; absent while recording.
    pub ended_at: Option<String>,
    /// `recording`, `finalised`, or `failed`.
    pub state: String,
    /// Why it failed, when it did.
    pub failure: Option<String>,
    /// The media files.
    pub files: Vec<FileEntry>,
    /// Everyone who was seated during the recording.
    pub participants: Vec<SeatedParticipant>,
}

/// One file of a recording.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileEntry {
    /// File name inside the recording folder.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Lowercase hex SHA-256 of the contents; `sha256sum` prints the same.
    pub sha256: String,
    /// Media duration in seconds.
    pub duration_s: f64,
}

/// Someone seated during the recording.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SeatedParticipant {
    /// Role.
    pub role: String,
    /// Seat.
    pub seat: String,
    /// Display name.
    pub name: String,
}

/// Streams a file through SHA-256.
pub fn sha256_file(path: &Path) -> std::io::Result<(u64, String)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, hex(&hasher.finalize())))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Manifest {
    /// Writes the manifest atomically: a temporary file, synced, then renamed.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        let tmp = dir.join("manifest.json.tmp");
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&json)?;
            f.sync_all()?;
        }
        std::fs::rename(tmp, dir.join("manifest.json"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_a_known_vector_and_manifest_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x");
        std::fs::write(&f, b"abc").unwrap();
        let (size, hash) = sha256_file(&f).unwrap();
        assert_eq!(size, 3);
        assert_eq!(
            hash,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let m = Manifest {
            version: 1,
            recording_id: "r".into(),
            hearing_id: "h".into(),
            case_number: "c".into(),
            started_at: "t0".into(),
            ended_at: None,
            state: "recording".into(),
            failure: None,
            files: vec![FileEntry {
                name: "x".into(),
                size,
                sha256: hash,
                duration_s: 1.0,
            }],
            participants: vec![],
        };
        m.write(dir.path()).unwrap();
        let back: Manifest =
            serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap())
                .unwrap();
        assert_eq!(back, m);
    }
}
