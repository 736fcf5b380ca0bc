//! Small helpers for building pipelines in code.

use gstreamer as gst;
use gstreamer::prelude::*;

use super::MediaError;

/// Makes an element by factory name, with a clear error if its plugin is not installed.
pub fn make(factory: &str, name: &str) -> Result<gst::Element, MediaError> {
    gst::ElementFactory::make(factory)
        .name(name)
        .build()
        .map_err(|_| MediaError::MissingElement(factory.to_owned()))
}

/// Adds elements to a pipeline and links them in order.
pub fn add_chain(pipeline: &gst::Pipeline, chain: &[&gst::Element]) -> Result<(), MediaError> {
    pipeline
        .add_many(chain.iter().copied())
        .map_err(|e| link_error(pipeline, e))?;
    gst::Element::link_many(chain.iter().copied()).map_err(|e| link_error(pipeline, e))
}

/// Wraps a GStreamer error with the pipeline's name.
pub fn link_error(pipeline: &gst::Pipeline, e: impl std::fmt::Display) -> MediaError {
    MediaError::Pipeline {
        pipeline: pipeline.name().to_string(),
        message: e.to_string(),
    }
}

/// Sets a pipeline to Playing, mapping failure to [`MediaError`].
pub fn play(pipeline: &gst::Pipeline) -> Result<(), MediaError> {
    pipeline
        .set_state(gst::State::Playing)
        .map(|_| ())
        .map_err(|e| link_error(pipeline, format!("cannot start: {e}")))
}
