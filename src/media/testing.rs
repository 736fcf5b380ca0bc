//! Test helpers: encoded media from a GStreamer pipeline description (used by the unit tests
//! and by the integration tests in `tests/`).

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

/// Runs `description`, which must end in an `appsink name=sink`, to its end and returns the
/// bytes of every buffer the sink received, in order.
pub fn pull_buffers(description: &str) -> Vec<Vec<u8>> {
    super::init().unwrap();
    let pipeline = gst::parse::launch(description)
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
    let sink = pipeline
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut buffers = Vec::new();
    while let Ok(sample) = sink.pull_sample() {
        buffers.push(sample.buffer().unwrap().map_readable().unwrap().to_vec());
    }
    pipeline.set_state(gst::State::Null).unwrap();
    buffers
}
