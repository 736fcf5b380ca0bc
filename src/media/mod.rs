//! GStreamer pipelines, built in code with typed caps: one decoder per inbound camera and
//! microphone ([`decoder`]), one H.264 encoder per hearing ([`encoder`]), and the recording
//! audio mix ([`audio_mix`]). [`bus`] turns each pipeline's bus messages into logs and errors,
//! without a thread; decoders and the encoder report their failures as typed [`events`].

pub mod aac;
pub mod audio_mix;
pub mod bus;
pub mod capture;
pub mod decoder;
pub mod element;
pub mod encoder;
pub mod events;
pub mod frame;
pub mod gavel;
pub mod rendition;

pub mod testing;

use std::sync::Once;

/// Errors from media pipelines.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// GStreamer could not be initialised.
    #[error("GStreamer init failed: {0}")]
    Init(String),
    /// An element is missing: a GStreamer plugin package is not installed.
    #[error(
        "GStreamer element {0:?} is missing; install the GStreamer plugin packages (see README)"
    )]
    MissingElement(String),
    /// Building or linking a pipeline failed.
    #[error("pipeline {pipeline}: {message}")]
    Pipeline {
        /// Which pipeline.
        pipeline: String,
        /// What went wrong.
        message: String,
    },
    /// A codec this server does not decode.
    #[error("unsupported codec {0}")]
    UnsupportedCodec(String),
}

/// Initialises GStreamer once per process.
pub fn init() -> Result<(), MediaError> {
    static INIT: Once = Once::new();
    let mut result = Ok(());
    INIT.call_once(|| {
        result = gstreamer::init().map_err(|e| MediaError::Init(e.to_string()));
    });
    result
}
