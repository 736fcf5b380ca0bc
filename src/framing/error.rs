//! The framing module's error.

use std::path::PathBuf;

/// Why face framing could not start or a detection failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FramingError {
    /// No face cascade was found in any of the searched places (Debian's `opencv-data`
    /// installs them under `/usr/share/opencv4/`).
    #[error("no OpenCV face cascade found (looked for {looked}); install Debian's opencv-data")]
    NoCascade {
        /// The paths that were tried, comma-separated.
        looked: String,
    },
    /// The cascade file exists but OpenCV could not load it.
    #[error("OpenCV could not load the face cascade {path}")]
    BadCascade {
        /// The file that failed to load.
        path: PathBuf,
    },
    /// The luma plane is smaller than `width × height`, or a side is zero.
    #[error("luma plane of {len} bytes does not hold a {width}x{height} picture")]
    BadPlane {
        /// Bytes given.
        len: usize,
        /// Claimed width.
        width: u32,
        /// Claimed height.
        height: u32,
    },
    /// An OpenCV call failed.
    #[error("OpenCV: {0}")]
    OpenCv(#[from] opencv::Error),
}
