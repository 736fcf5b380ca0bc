//! Zip archives: [`write`], a streamed writer of stored entries (recording bundles, evidence
//! packages), and [`read`], a safe unpacker of archives handed to us (`courtroom verify
//! FILE.zip`), built on the `zip` crate.

pub mod read;
pub mod write;

pub use read::{unpack, Limits, Unpacked};
pub use write::{stream, write_to, Source, ZipEntry};

/// Why an archive was not unpacked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveError {
    /// Reading the archive or writing a file failed.
    #[error("{0}")]
    Io(std::io::Error),
    /// Not a zip archive, or a damaged one.
    #[error("not a valid zip archive: {0}")]
    Malformed(String),
    /// An entry that would not be safe to unpack.
    #[error("refused: unsafe entry {entry:?}: {why}")]
    Unsafe {
        /// The entry's name, as the archive gives it.
        entry: String,
        /// What is wrong with it.
        why: String,
    },
    /// More than the limits allow.
    #[error("refused: too large: {0}")]
    TooLarge(String),
}
