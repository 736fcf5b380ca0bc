//! `manifest.json`: what a recording holds, as a hash chain of its closed segments, and the
//! files written beside it (`SHA256SUMS`, `manifest.json.sig`).
//!
//! The format is documented for people without our code in `docs/VERIFY.md`:
//! - Each segment entry's `entry_hash` is the SHA-256 of its [`SegmentEntry::chain_line`], a
//!   `|`-separated text that includes `prev_entry_hash`, so changing, dropping or reordering
//!   any entry breaks every later link.
//! - The first entry's `prev_entry_hash` is the SHA-256 of
//!   `courtroom-chain-v1|genesis|RECORDING_ID|HEARING_ID|STARTED_AT`.
//! - `SHA256SUMS` lists every segment as `sha256sum` prints it; its own SHA-256 is the
//!   manifest's `sha256sums` field.
//! - `manifest.json.sig` is the raw 64-byte Ed25519 signature over the exact bytes of
//!   `manifest.json`.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::sign::RecordingKey;
/// Re-exported for the hearing, which hashes the original tracks it closes.
pub use crate::digest::sha256_file;
use crate::digest::sha256_hex;

/// Current manifest format version (3 added `events` and `tsa_url`; 4 added each segment's
/// `tracks`, and lists each original as soon as it closes; 5 added `exhibits` and
/// `exhibit_events`).
pub const VERSION: u32 = 5;
/// The manifest's file name.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The detached signature's file name.
pub const SIGNATURE_FILE: &str = "manifest.json.sig";
/// The `sha256sum`-format list of segments.
pub const SUMS_FILE: &str = "SHA256SUMS";
/// Space kept free in the recording folder so the manifest can be sealed on a full disk.
pub const RESERVE_FILE: &str = ".space-reserve";
/// Put in a recording folder by a node whose lease was taken over (a newer owner exists):
/// nothing of the folder is uploaded any more.
pub const FENCED_FILE: &str = ".fenced";
/// The hidden files the server keeps in a recording folder for itself, never served or
/// uploaded, and covered by no hash: the space reserve, the upload spool's state
/// (`crate::bucket::spool::STATE_FILE`), the fence marker.
pub const BOOKKEEPING_FILES: [&str; 3] =
    [RESERVE_FILE, crate::bucket::spool::STATE_FILE, FENCED_FILE];

/// Where a recording stands, as the manifest's `state` field says it (lowercase).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordingState {
    /// Being recorded (or the server died and has not restarted since).
    Recording,
    /// Stopped and sealed normally.
    Finalised,
    /// The server died while recording; sealed at its next start ([`super::seal`]).
    Interrupted,
    /// Stopped by an error, such as a full disk.
    Failed,
}

impl RecordingState {
    /// Every state, in the order above.
    pub const ALL: [Self; 4] = [
        Self::Recording,
        Self::Finalised,
        Self::Interrupted,
        Self::Failed,
    ];

    /// The manifest's (and the store's) text: `recording`, `finalised`, `interrupted`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Recording => "recording",
            Self::Finalised => "finalised",
            Self::Interrupted => "interrupted",
            Self::Failed => "failed",
        }
    }

    /// The state written as `text`, if it is one.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl std::fmt::Display for RecordingState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

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
    /// Wall-clock start, RFC 3339 UTC: media time zero.
    pub started_at: String,
    /// Wall-clock end, RFC 3339 UTC; absent while recording.
    pub ended_at: Option<String>,
    /// `recording`, `finalised`, `failed` (stopped by an error, such as a full disk) or
    /// `interrupted` (the server died; sealed at its next start).
    pub state: RecordingState,
    /// Why it failed or was interrupted.
    pub failure: Option<String>,
    /// Nominal segment length in seconds.
    pub segment_seconds: u32,
    /// Id of the signing key (first 16 hex digits of SHA-256 of the raw public key).
    pub key_id: Option<String>,
    /// The closed segments, in order, as a hash chain.
    pub segments: Vec<SegmentEntry>,
    /// `entry_hash` of the last segment (the genesis hash when there is none).
    pub chain_head: String,
    /// SHA-256 of the `SHA256SUMS` file written beside this manifest.
    pub sha256sums: String,
    /// Everyone seated at any time during the recording.
    pub participants: Vec<SeatedParticipant>,
    /// Each participant's camera and microphone as received, hashed when the recording
    /// stopped; also listed in `SHA256SUMS` after the segments.
    #[serde(default)]
    pub originals: Vec<OriginalEntry>,
    /// The recording's lifecycle, in order: `start`, then any `pause`/`resume` pairs, then
    /// `stop`; each with who and when. Nothing is recorded between a `pause` and the next
    /// `resume`: the segment before ends at the pause and the next starts at the resume.
    #[serde(default)]
    pub events: Vec<LifecycleEvent>,
    /// Each exhibit shown during the recording, kept byte for byte beside it; also listed in
    /// `SHA256SUMS` after the originals.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exhibits: Vec<ExhibitEntry>,
    /// Each time an exhibit was shown on the courtroom's display, turned to another page or
    /// taken down, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exhibit_events: Vec<ExhibitEvent>,
    /// The RFC 3161 time-stamping authority asked for tokens, if any
    /// ([`super::timestamp`]).
    #[serde(default)]
    pub tsa_url: Option<String>,
    /// The recording of the same hearing that this one continues (another node took the
    /// hearing over, or this node took it from a draining one): its id, state and chain head.
    /// This recording's chain starts from that head ([`Manifest::genesis`]), so a hearing's
    /// recordings form one chain, and the signature covers the link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<PreviousRecording>,
}

/// The recording a continued recording follows.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PreviousRecording {
    /// Its recording id.
    pub recording_id: String,
    /// Its `chain_head` as sealed.
    pub chain_head: String,
    /// Its state as sealed (`interrupted` after a node died, `finalised` after a handover).
    pub state: RecordingState,
}

/// Something done to the recording, by someone, at some time.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LifecycleEvent {
    /// `start`, `pause`, `resume` or `stop`; or a moment of the court's between them:
    /// `court_opened`, `court_closed` (the presiding judge's gavel).
    pub event: String,
    /// Who: the account (`user:NAME`), the invitation (`invitee:ID`) or `server`.
    pub actor: String,
    /// Wall-clock time, RFC 3339 UTC.
    pub at: String,
    /// Recording media time, milliseconds.
    pub media_ms: u64,
}

/// An exhibit file kept beside the recording, byte for byte as it was presented
/// (`crate::exhibit`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExhibitEntry {
    /// File name inside the recording folder (`exhibit-SHA256PREFIX.EXT`).
    pub file: String,
    /// Size in bytes.
    pub size: u64,
    /// Lowercase hex SHA-256 of the contents.
    pub sha256: String,
    /// Its title as the presenter gave it.
    pub title: String,
    /// `image/png`, `image/jpeg` or `application/pdf`.
    pub content_type: String,
    /// How many pages it has (1 for a picture).
    pub pages: u32,
}

/// An exhibit shown on the courtroom's display, turned to another page, or taken down.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExhibitEvent {
    /// `shown`, `turned` or `hidden`.
    pub event: String,
    /// The exhibit's SHA-256 (an entry of `exhibits`).
    pub sha256: String,
    /// Its title.
    pub title: String,
    /// The page on the display, from 1 (for `hidden`, the page taken down).
    pub page: u32,
    /// Who: the account (`user:NAME`) or the invitation (`invitee:ID`), with their role.
    pub presenter: String,
    /// Wall-clock time, RFC 3339 UTC.
    pub at: String,
    /// Recording media time, milliseconds.
    pub media_ms: u64,
}

/// One participant's received track, kept unaltered ([`super::originals`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OriginalEntry {
    /// File name inside the recording folder.
    pub file: String,
    /// Size in bytes.
    pub size: u64,
    /// Lowercase hex SHA-256 of the contents.
    pub sha256: String,
    /// `video` or `audio`.
    pub kind: String,
    /// Codec as negotiated, e.g. `video/VP8`.
    pub codec: String,
    /// Whose it is.
    pub participant: SeatedParticipant,
    /// False if the file could not be closed cleanly.
    pub complete: bool,
}

/// One closed segment of the composite.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SegmentEntry {
    /// Position in the recording, from 0.
    pub index: u32,
    /// File name inside the recording folder.
    pub file: String,
    /// Size in bytes.
    pub size: u64,
    /// Lowercase hex SHA-256 of the contents; `sha256sum` prints the same.
    pub sha256: String,
    /// `entry_hash` of the previous entry, or the genesis hash for the first.
    pub prev_entry_hash: String,
    /// SHA-256 of this entry's [`SegmentEntry::chain_line`].
    pub entry_hash: String,
    /// Wall-clock start, RFC 3339 UTC.
    pub started_at: String,
    /// Wall-clock end, RFC 3339 UTC.
    pub ended_at: String,
    /// Start in recording media time, milliseconds.
    pub media_start_ms: u64,
    /// End in recording media time, milliseconds.
    pub media_end_ms: u64,
    /// False when the segment was cut short (a crash or a failed disk): it then plays up to
    /// its last complete fragment, and its end times are estimates.
    pub complete: bool,
    /// Who was seated at any time during the segment.
    pub seated: Vec<SeatedParticipant>,
    /// The tracks the segment holds media in, `video` and/or `audio` (version 4; absent in
    /// older manifests, whose segments all hold both). A segment missing one is never
    /// `complete`. Not part of the chain line; the signature covers it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tracks: Vec<String>,
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

/// The chain's starting hash for a recording.
pub fn genesis_hash(recording_id: &str, hearing_id: &str, started_at: &str) -> String {
    sha256_hex(
        format!("courtroom-chain-v1|genesis|{recording_id}|{hearing_id}|{started_at}").as_bytes(),
    )
}

/// The genesis hash of a recording that continues another: the SHA-256 of
/// `courtroom-chain-v1|continues|PREV_RECORDING_ID|PREV_CHAIN_HEAD|RECORDING_ID|HEARING_ID|STARTED_AT`.
pub fn continued_genesis_hash(
    previous_id: &str,
    previous_head: &str,
    recording_id: &str,
    hearing_id: &str,
    started_at: &str,
) -> String {
    sha256_hex(
        format!(
            "courtroom-chain-v1|continues|{previous_id}|{previous_head}|{recording_id}|{hearing_id}|{started_at}"
        )
        .as_bytes(),
    )
}

impl SegmentEntry {
    /// The text whose SHA-256 is `entry_hash`:
    /// `courtroom-chain-v1|INDEX|FILE|SIZE|SHA256|PREV_ENTRY_HASH|STARTED_AT|ENDED_AT|MEDIA_START_MS|MEDIA_END_MS|COMPLETE|SEATED`
    /// where `COMPLETE` is `true` or `false` and `SEATED` is `ROLE/SEAT/NAME` items joined by `,`.
    pub fn chain_line(&self) -> String {
        let seated: Vec<String> = self
            .seated
            .iter()
            .map(|p| format!("{}/{}/{}", p.role, p.seat, p.name))
            .collect();
        format!(
            "courtroom-chain-v1|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
            self.index,
            self.file,
            self.size,
            self.sha256,
            self.prev_entry_hash,
            self.started_at,
            self.ended_at,
            self.media_start_ms,
            self.media_end_ms,
            self.complete,
            seated.join(",")
        )
    }

    /// SHA-256 of [`SegmentEntry::chain_line`].
    pub fn compute_hash(&self) -> String {
        sha256_hex(self.chain_line().as_bytes())
    }
}

impl Manifest {
    /// The genesis hash of this recording's chain: from its own fields, or, for a recording
    /// that continues another, from the previous recording's id and chain head too.
    pub fn genesis(&self) -> String {
        match &self.previous {
            None => genesis_hash(&self.recording_id, &self.hearing_id, &self.started_at),
            Some(p) => continued_genesis_hash(
                &p.recording_id,
                &p.chain_head,
                &self.recording_id,
                &self.hearing_id,
                &self.started_at,
            ),
        }
    }

    /// Links `entry` to the chain (sets its index, `prev_entry_hash` and `entry_hash`) and
    /// appends it.
    pub fn append(&mut self, mut entry: SegmentEntry) {
        entry.index = self.segments.len() as u32;
        entry.prev_entry_hash = self
            .segments
            .last()
            .map(|e| e.entry_hash.clone())
            .unwrap_or_else(|| self.genesis());
        entry.entry_hash = entry.compute_hash();
        self.chain_head = entry.entry_hash.clone();
        self.segments.push(entry);
    }

    /// The `SHA256SUMS` text for the segments.
    pub fn sums_text(&self) -> String {
        self.segments
            .iter()
            .map(|e| format!("{}  {}\n", e.sha256, e.file))
            .chain(
                self.originals
                    .iter()
                    .map(|o| format!("{}  {}\n", o.sha256, o.file)),
            )
            .chain(
                self.exhibits
                    .iter()
                    .map(|e| format!("{}  {}\n", e.sha256, e.file)),
            )
            .collect()
    }

    /// Writes `SHA256SUMS`, then `manifest.json`, then (with a key) `manifest.json.sig`, each
    /// atomically (a temporary file, synced, then renamed). Updates `sha256sums`, `chain_head`
    /// and `key_id` first.
    pub fn write_signed(&mut self, dir: &Path, key: Option<&RecordingKey>) -> std::io::Result<()> {
        let sums = self.sums_text();
        self.sha256sums = sha256_hex(sums.as_bytes());
        self.chain_head = self
            .segments
            .last()
            .map(|e| e.entry_hash.clone())
            .unwrap_or_else(|| self.genesis());
        self.key_id = key.map(|k| k.public().key_id());
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        write_atomic(&dir.join(SUMS_FILE), sums.as_bytes())?;
        write_atomic(&dir.join(MANIFEST_FILE), &json)?;
        if let Some(key) = key {
            write_atomic(&dir.join(SIGNATURE_FILE), &key.sign(&json))?;
        }
        Ok(())
    }

    /// Reads `dir/manifest.json`.
    pub fn read(dir: &Path) -> std::io::Result<Self> {
        let bytes = std::fs::read(dir.join(MANIFEST_FILE))?;
        serde_json::from_slice(&bytes).map_err(std::io::Error::other)
    }
}

/// Every recording folder (one holding `manifest.json`) at or under `dir`, sorted.
pub fn find_recordings(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        if d.join(MANIFEST_FILE).is_file() {
            found.push(d);
            continue;
        }
        if let Ok(entries) = std::fs::read_dir(&d) {
            for e in entries.flatten() {
                if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    stack.push(e.path());
                }
            }
        }
    }
    found.sort();
    found
}

/// Writes `path` through a synced temporary file and a rename, then syncs the folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result?;
    if let Some(parent) = path.parent() {
        if let Ok(d) = std::fs::File::open(parent) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(file: &str) -> SegmentEntry {
        SegmentEntry {
            index: 0,
            file: file.into(),
            size: 3,
            sha256: sha256_hex(b"abc"),
            prev_entry_hash: String::new(),
            entry_hash: String::new(),
            started_at: "2026-01-01T00:00:00.000Z".into(),
            ended_at: "2026-01-01T00:00:10.000Z".into(),
            media_start_ms: 0,
            media_end_ms: 10_000,
            complete: true,
            tracks: vec!["video".into(), "audio".into()],
            seated: vec![SeatedParticipant {
                role: "clerk".into(),
                seat: "clerk".into(),
                name: "Clerk Zhao".into(),
            }],
        }
    }

    #[test]
    fn states_serialise_as_lowercase_words() {
        for state in RecordingState::ALL {
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
            assert_eq!(
                serde_json::from_str::<RecordingState>(&json).unwrap(),
                state
            );
            assert_eq!(RecordingState::parse(state.as_str()), Some(state));
        }
        assert_eq!(RecordingState::Finalised.to_string(), "finalised");
        assert!(serde_json::from_str::<RecordingState>("\"finalized\"").is_err());
    }

    #[test]
    fn chain_links_and_signed_manifest_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let key = RecordingKey::generate();
        let mut m = Manifest {
            version: VERSION,
            recording_id: "r".into(),
            hearing_id: "h".into(),
            case_number: "c".into(),
            started_at: "2026-01-01T00:00:00.000Z".into(),
            ended_at: None,
            state: RecordingState::Recording,
            failure: None,
            segment_seconds: 10,
            key_id: None,
            segments: vec![],
            chain_head: String::new(),
            sha256sums: String::new(),
            participants: vec![],
            originals: vec![],
            events: vec![],
            exhibits: vec![],
            exhibit_events: vec![],
            tsa_url: None,
            previous: None,
        };
        m.append(entry("a.mp4"));
        m.append(entry("b.mp4"));
        assert_eq!(m.segments[0].prev_entry_hash, m.genesis());
        assert_eq!(m.segments[1].prev_entry_hash, m.segments[0].entry_hash);
        assert_eq!(m.segments[1].index, 1);
        assert_ne!(m.segments[0].entry_hash, m.segments[1].entry_hash);
        m.write_signed(dir.path(), Some(&key)).unwrap();
        assert_eq!(m.chain_head, m.segments[1].entry_hash);
        let bytes = std::fs::read(dir.path().join(MANIFEST_FILE)).unwrap();
        let sig = std::fs::read(dir.path().join(SIGNATURE_FILE)).unwrap();
        assert!(key.public().verify(&bytes, &sig));
        assert_eq!(Manifest::read(dir.path()).unwrap(), m);
        let sums = std::fs::read(dir.path().join(SUMS_FILE)).unwrap();
        assert_eq!(sha256_hex(&sums), m.sha256sums);
        assert!(String::from_utf8(sums).unwrap().ends_with("  b.mp4\n"));
    }
}
