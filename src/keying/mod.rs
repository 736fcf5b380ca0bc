//! Green-screen keying: per-seat parameters ([`params`]), auto key estimation and slow tracking
//! ([`calibrate`], with the screen's residual map in [`residual`]), smoothing of live video over
//! time before it is keyed ([`temporal`]), the headless key pass ([`pass`]) and the `courtroom key` command ([`cli`]).
//!
//! The keyer itself is WGSL, `shaders/keyer.wgsl`, prepended to the compositor's seat shader
//! and to the headless key pass, so the CLI, the tests and the live hearing run one copy.

pub mod calibrate;
pub mod cli;
pub mod params;
pub mod pass;
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
    /// Rendering failed.
    #[error(transparent)]
    Render(#[from] crate::render::RenderError),
}
