//! Evidence recordings: the composite video with the mixed audio, written as fragmented MP4
//! so that a crash loses at most the last fragment, plus a `manifest.json` holding the file's
//! SHA-256, its timing and who was seated.

pub mod manifest;
pub mod recorder;

pub use manifest::{Manifest, SeatedParticipant};
pub use recorder::Recorder;

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
}
