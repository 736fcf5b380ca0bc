//! Face detection with an OpenCV cascade from Debian's `opencv-data`.
//!
//! A camera frame's I420 Y plane is already a grayscale picture: [`FaceFinder::find`] wraps it
//! as an 8-bit one-channel `Mat` without copying, shrinks it to [`DETECT_WIDTH`] pixels wide,
//! equalises its histogram and runs the cascade. Costly (milliseconds), so it runs at about
//! 2 Hz on the framing thread, never in the compositor's tick.

use std::path::{Path, PathBuf};

use opencv::core::{Mat, Rect, Size, Vector};
use opencv::imgproc;
use opencv::objdetect::CascadeClassifier;
use opencv::prelude::*;

use super::crop::NormRect;
use super::error::FramingError;

/// Where Debian (and most distributions) install OpenCV's data.
pub const CASCADE_ROOTS: &[&str] = &["/usr/share/opencv4", "/usr/share/opencv"];
/// Face cascades under a root, best first. The LBP cascade is about twice as fast as Haar
/// (2.8 against 5.3 ms on a 320×240 picture here). `lbpcascade_frontalface_improved.xml` is
/// not used: its 45-pixel window misses faces under about 90 pixels in a 640×480 frame, which
/// is a person sitting well back from the camera.
pub const CASCADE_FILES: &[&str] = &[
    "lbpcascades/lbpcascade_frontalface.xml",
    "haarcascades/haarcascade_frontalface_default.xml",
];
/// Width the frame is shrunk to before detection, pixels.
pub const DETECT_WIDTH: u32 = 320;
/// Smallest face searched for in the shrunk picture, pixels (the cascades' own window is 24).
pub const MIN_FACE: i32 = 24;

/// The first face cascade present on this machine (see [`CASCADE_ROOTS`], [`CASCADE_FILES`]).
pub fn find_cascade() -> Result<PathBuf, FramingError> {
    let candidates: Vec<PathBuf> = CASCADE_ROOTS
        .iter()
        .flat_map(|root| CASCADE_FILES.iter().map(move |f| Path::new(root).join(f)))
        .collect();
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| FramingError::NoCascade {
            looked: candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Finds the largest frontal face in a grayscale picture.
pub struct FaceFinder {
    cascade: CascadeClassifier,
    path: PathBuf,
    small: Mat,
    equalised: Mat,
    faces: Vector<Rect>,
}

impl std::fmt::Debug for FaceFinder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaceFinder")
            .field("cascade", &self.path)
            .finish()
    }
}

impl FaceFinder {
    /// Loads the best cascade this machine has ([`find_cascade`]).
    pub fn new() -> Result<Self, FramingError> {
        Self::from_file(&find_cascade()?)
    }

    /// Loads the cascade at `path`.
    ///
    /// Also limits OpenCV to one worker thread for the whole process: detection runs beside
    /// the compositor on a small machine, where OpenCV's own thread pool would take cores
    /// from the tick.
    pub fn from_file(path: &Path) -> Result<Self, FramingError> {
        let bad = || FramingError::BadCascade {
            path: path.to_path_buf(),
        };
        if !path.is_file() {
            return Err(bad());
        }
        let name = path.to_str().ok_or_else(bad)?;
        let cascade = CascadeClassifier::new(name).map_err(|_| bad())?;
        if cascade.empty()? {
            return Err(bad());
        }
        opencv::core::set_num_threads(1)?;
        Ok(Self {
            cascade,
            path: path.to_path_buf(),
            small: Mat::default(),
            equalised: Mat::default(),
            faces: Vector::new(),
        })
    }

    /// The cascade file in use.
    pub fn cascade_path(&self) -> &Path {
        &self.path
    }

    /// The largest face in a `width × height` grayscale picture (rows packed, e.g. an I420 Y
    /// plane), in frame uv; `None` when there is none.
    pub fn find(
        &mut self,
        luma: &[u8],
        width: u32,
        height: u32,
    ) -> Result<Option<NormRect>, FramingError> {
        let len = width as usize * height as usize;
        if width == 0 || height == 0 || luma.len() < len {
            return Err(FramingError::BadPlane {
                len: luma.len(),
                width,
                height,
            });
        }
        // Borrows the plane: no copy.
        let picture = Mat::new_rows_cols_with_data(height as i32, width as i32, &luma[..len])?;
        let (sw, sh) = if width > DETECT_WIDTH {
            let sh = (height as u64 * DETECT_WIDTH as u64 / width as u64).max(1) as u32;
            (DETECT_WIDTH, sh)
        } else {
            (width, height)
        };
        if sw == width {
            imgproc::equalize_hist(&picture, &mut self.equalised)?;
        } else {
            imgproc::resize(
                &picture,
                &mut self.small,
                Size::new(sw as i32, sh as i32),
                0.0,
                0.0,
                imgproc::INTER_AREA,
            )?;
            imgproc::equalize_hist(&self.small, &mut self.equalised)?;
        }
        self.cascade.detect_multi_scale(
            &self.equalised,
            &mut self.faces,
            1.1,
            3,
            0,
            Size::new(MIN_FACE, MIN_FACE),
            Size::new(0, 0),
        )?;
        let largest = self.faces.iter().max_by_key(|r| r.width * r.height);
        Ok(largest.map(|r| NormRect {
            x: r.x as f32 / sw as f32,
            y: r.y as f32 / sh as f32,
            w: r.width as f32 / sw as f32,
            h: r.height as f32 / sh as f32,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_cascade_is_a_clear_error() {
        let err = FaceFinder::from_file(Path::new("/nonexistent/face.xml")).unwrap_err();
        assert!(matches!(err, FramingError::BadCascade { .. }), "{err}");
        assert!(err.to_string().contains("/nonexistent/face.xml"), "{err}");
    }

    #[test]
    fn a_file_that_is_no_cascade_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.xml");
        std::fs::write(&path, "<opencv_storage></opencv_storage>").unwrap();
        assert!(FaceFinder::from_file(&path).is_err());
    }

    #[test]
    fn the_lbp_cascade_is_preferred_when_installed() {
        let path = find_cascade().expect("opencv-data installed (scripts/install-deps.sh)");
        let lbp = CASCADE_ROOTS
            .iter()
            .any(|r| Path::new(r).join(CASCADE_FILES[0]).is_file());
        assert_eq!(path.to_string_lossy().contains("lbpcascades"), lbp);
    }

    #[test]
    fn a_blank_picture_has_no_face_and_short_planes_are_refused() {
        let mut finder = FaceFinder::new().expect("opencv-data installed");
        let blank = vec![120u8; 640 * 480];
        assert_eq!(finder.find(&blank, 640, 480).unwrap(), None);
        assert!(matches!(
            finder.find(&blank[..100], 640, 480),
            Err(FramingError::BadPlane { .. })
        ));
    }
}
