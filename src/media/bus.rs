//! Watching a pipeline's bus: every error and warning is logged with the pipeline's name, and
//! errors and end-of-stream are reported to the owner through a channel.

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

/// Starts a thread that drains the bus until the pipeline is dropped or errors out.
/// Returns the receiving end of the events.
pub fn watch(pipeline: &gst::Pipeline) -> std::sync::mpsc::Receiver<BusEvent> {
    let (tx, rx) = std::sync::mpsc::channel();
    let bus = pipeline.bus().expect("a pipeline has a bus");
    let name = pipeline.name().to_string();
    // Only a weak reference, so the watcher does not keep the pipeline alive.
    let weak = pipeline.downgrade();
    std::thread::Builder::new()
        .name(format!("bus-{name}"))
        .spawn(move || loop {
            let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(500)) else {
                if weak.upgrade().is_none() {
                    break;
                }
                continue;
            };
            match msg.view() {
                gst::MessageView::Error(err) => {
                    let text = format!("{} ({:?})", err.error(), err.debug());
                    tracing::error!(pipeline = %name, src = ?msg.src().map(|s| s.path_string()), "{text}");
                    let _ = tx.send(BusEvent::Error(text));
                }
                gst::MessageView::Warning(w) => {
                    tracing::warn!(pipeline = %name, "{} ({:?})", w.error(), w.debug());
                }
                gst::MessageView::Eos(_) => {
                    tracing::debug!(pipeline = %name, "end of stream");
                    let _ = tx.send(BusEvent::Eos);
                }
                _ => {}
            }
        })
        .expect("spawn bus thread");
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
    let deadline = std::time::Instant::now() + timeout;
    let mut outcome = Err("timed out waiting for the muxer to finish".to_owned());
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match events.recv_timeout(left) {
            Ok(BusEvent::Eos) => {
                outcome = Ok(());
                break;
            }
            Ok(BusEvent::Error(e)) => {
                outcome = Err(e);
                break;
            }
            Err(_) => break,
        }
    }
    let _ = pipeline.set_state(gst::State::Null);
    outcome
}
