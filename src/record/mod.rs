//! Evidence recordings.
//!
//! - [`recorder`]: the composite video with the mixed audio, in segments of fragmented MP4
//!   ([`segment`]) so that a crash loses at most the last fragment. Its rules (where segments
//!   are cut, held audio, stop, pause and resume) are [`plan`], a state machine without I/O;
//!   a closer thread (`closer.rs`) finalises, hashes, chains and signs closed segments.
//! - [`manifest`]: `manifest.json`, a hash chain over the closed segments, with `SHA256SUMS`.
//! - [`sign`]: the server's Ed25519 key; each manifest is signed in `manifest.json.sig`.
//! - [`credentials`]: content credentials (C2PA) embedded in each segment, signed with the
//!   court's certificate chain, for any C2PA verifier.
//! - [`originals`]: each participant's camera and microphone as received, in Matroska/WebM.
//! - [`timestamp`]: optional RFC 3161 tokens from a TSA over each segment's chain entry and
//!   the sealed manifest (`chain-NNNNN.tsr`, `manifest.json.tsr`).
//! - [`seal`]: at start, recordings a crash left open are sealed as `interrupted`.
//! - [`mp4`]: what a segment's boxes hold (tracks, sample descriptions, fragment durations),
//!   read without a media library, for `verify`.
//! - [`verify`]: `courtroom verify DIR` checks all of it, with the key the manifest names
//!   ([`keyring`]: given, in a trusted-keys file, or the data folder's). `docs/VERIFY.md` shows how to check
//!   the same with only `sha256sum` and `openssl`.
//! - [`package`]: the evidence package (`courtroom export`, a zip of the recording, its key,
//!   the hearing's audit trail and `VERIFY.txt`), which `verify` also accepts.

pub mod cli;
mod closer;
pub mod credentials;
pub mod handover;
pub mod keyring;
pub mod manifest;
pub mod mp4;
pub mod originals;
pub mod package;
pub mod plan;
pub mod recorder;
pub mod seal;
pub mod segment;
pub mod sign;
pub mod timestamp;
pub mod verify;
mod writer;

pub use manifest::{Manifest, RecordingState, SeatedParticipant};
pub use recorder::{Recorder, RecorderOptions, RecordingInfo};
pub use sign::{PublicKey, RecordingKey};

/// Errors while recording.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// Writing the recording's files failed (for example, the disk is full).
    #[error("recording I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The recording pipeline failed.
    #[error(transparent)]
    Media(#[from] crate::media::MediaError),
    /// The pipeline did not finish writing in time.
    #[error("recording did not finalise: {0}")]
    Finalise(String),
    /// The signing key could not be read or parsed.
    #[error("signing key: {0}")]
    Key(String),
}
