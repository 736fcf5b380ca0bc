//! Green-screen keying: per-seat parameters ([`params`]), auto key estimation and slow tracking
//! ([`calibrate`], with the screen's residual map in [`residual`]), smoothing of live video over
//! time before it is keyed ([`temporal`]), a frame's planes as the keyer reads them
//! ([`planes`]), where in a frame the person is, so that only those rows are drawn
//! ([`coverage`]), the headless key pass ([`pass`]) and the `courtroom key` command ([`cli`]);
//! and the analysis of the person the key leaves: matching their brightness and white balance
//! to the room ([`look`]). Pictures in and out (RGB, PNG, synthetic people) are in [`picture`].
//!
//! The keyer itself is WGSL, `shaders/keyer.wgsl`, included by the compositor's seat shader
//! and by the headless key pass (`crate::gpu::shader`), so the CLI, the tests and the live
//! hearing run one copy. Keying builds on [`crate::gpu`] and never on `render`, which builds
//! on it.

pub mod calibrate;
pub mod cli;
pub mod coverage;
pub mod look;
pub mod params;
pub mod pass;
pub mod picture;
pub mod planes;
pub mod residual;
pub mod temporal;

pub use calibrate::{estimate, estimate_within, Calibration, KeyTracker, ScreenWarning};
pub use params::{KeyParams, ScreenModel};
pub use pass::KeyPass;

use std::path::PathBuf;

/// Errors from keying.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// No green screen found in the frame to estimate a key from.
    #[error("no green screen found in the frame")]
    NoScreen,
    /// A key colour that is neither `auto` nor `#RRGGBB`.
    #[error("bad key colour {0:?}: use auto or #RRGGBB")]
    BadKey(String),
    /// A parameters file that does not parse.
    #[error("bad key parameters: {0}")]
    Params(String),
    /// A picture that cannot be read.
    #[error("cannot read picture: {0}")]
    Png(String),
    /// A file that cannot be read or written.
    #[error("{0}: {1}")]
    Io(PathBuf, #[source] std::io::Error),
    /// The device could not be opened, or keying on it failed.
    #[error(transparent)]
    Gpu(#[from] crate::gpu::GpuError),
}
