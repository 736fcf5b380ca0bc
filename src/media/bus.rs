//! Watching a pipeline's bus without a thread: a sync handler logs every error and warning with
//! the pipeline's name, hands errors and end-of-stream to the owner, and drops every message, so
//! nothing queues on the bus and no thread polls it.
//!
//! [`watch`] gives the owner a channel (what a muxing pipeline's owner waits on in [`finish`]);
//! [`watch_with`] calls the owner's function instead (what [`super::events::MediaReporter`]
//! uses to turn failures into typed events).

use gstreamer as gst;
use gstreamer::prelude::*;

/// What the owner of a pipeline hears from its bus.
#[derive(Debug, Clone, PartialEq)]
pub enum BusEvent {
    /// The pipeline reached end-of-stream.
    Eos,
    /// An element failed; the pipeline has stopped working.
    Error(String),
}

/// Watches the bus: errors and end-of-stream go to `on_event`, on the thread that posted
/// them (a GStreamer streaming thread, or the thread changing the pipeline's state), so
/// `on_event` must not block. Warnings are logged. Every message is dropped after.
/// Replaces any earlier watch of the same pipeline.
pub fn watch_with(pipeline: &gst::Pipeline, on_event: impl Fn(BusEvent) + Send + Sync + 'static) {
    let bus = pipeline.bus().expect("a pipeline has a bus");
    let name = pipeline.name().to_string();
    bus.set_sync_handler(move |_, msg| {
        match msg.view() {
            gst::MessageView::Error(err) => {
                let text = format!("{} ({:?})", err.error(), err.debug());
                tracing::error!(pipeline = %name, src = ?msg.src().map(|s| s.path_string()), "{text}");
                on_event(BusEvent::Error(text));
            }
            gst::MessageView::Warning(w) => {
                tracing::warn!(pipeline = %name, "{} ({:?})", w.error(), w.debug());
            }
            gst::MessageView::Eos(_) => {
                tracing::debug!(pipeline = %name, "end of stream");
                on_event(BusEvent::Eos);
            }
            _ => {}
        }
        gst::BusSyncReply::Drop
    });
}

/// Watches the bus ([`watch_with`]) and returns the receiving end of its events.
pub fn watch(pipeline: &gst::Pipeline) -> std::sync::mpsc::Receiver<BusEvent> {
    let (tx, rx) = std::sync::mpsc::channel();
    watch_with(pipeline, move |event| {
        // The owner may have gone; its pipeline then stops soon too.
        let _ = tx.send(event);
    });
    rx
}

/// Waits up to `timeout` for end-of-stream on `events` (from [`watch`]), then stops the
/// pipeline: what a muxing pipeline's owner does to have its file closed properly. An error
/// on the bus, or no end-of-stream in time, is returned as text.
pub fn finish(
    pipeline: &gst::Pipeline,
    events: &std::sync::mpsc::Receiver<BusEvent>,
    timeout: std::time::Duration,
) -> Result<(), String> {
    // Either event ends the wait: the bus says nothing else.
    let outcome = match events.recv_timeout(timeout) {
        Ok(BusEvent::Eos) => Ok(()),
        Ok(BusEvent::Error(e)) => Err(e),
        Err(_) => Err("timed out waiting for the muxer to finish".to_owned()),
    };
    let _ = pipeline.set_state(gst::State::Null);
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn errors_and_end_of_stream_arrive_without_a_thread() {
        crate::media::init().unwrap();
        let pipeline = gst::parse::launch("videotestsrc num-buffers=3 ! fakesink")
            .unwrap()
            .downcast::<gst::Pipeline>()
            .unwrap();
        let events = watch(&pipeline);
        pipeline.set_state(gst::State::Playing).unwrap();
        assert_eq!(
            events.recv_timeout(Duration::from_secs(5)),
            Ok(BusEvent::Eos)
        );
        pipeline.set_state(gst::State::Null).unwrap();

        // An element that fails at once: a file that is not there.
        let pipeline = gst::parse::launch("filesrc location=/nonexistent/courtroom ! fakesink")
            .unwrap()
            .downcast::<gst::Pipeline>()
            .unwrap();
        let events = watch(&pipeline);
        let _ = pipeline.set_state(gst::State::Playing);
        match events.recv_timeout(Duration::from_secs(5)) {
            Ok(BusEvent::Error(e)) => assert!(!e.is_empty()),
            other => panic!("{other:?}"),
        }
        pipeline.set_state(gst::State::Null).unwrap();
    }
}
