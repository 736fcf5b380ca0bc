//! Typed media events: what a decoder or the encoder tells its owner when its pipeline fails.
//!
//! A pipeline's bus is watched by a sync handler ([`super::bus::watch_with`]), not a thread:
//! each error or end-of-stream becomes a [`MediaEvent`] naming the pipeline ([`MediaSource`]),
//! handed to the owner's [`MediaReporter`] sink on the thread that posted it. The sink must not
//! block; the hearing's sink only puts the event on a channel.

use std::fmt;
use std::sync::Arc;

use crate::ids::ParticipantId;

/// What a participant's inbound track carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackKind {
    /// The camera (video).
    Camera,
    /// The microphone (audio).
    Microphone,
    /// A shared screen (video), shown on the evidence display, never in a seat.
    Screen,
}

impl TrackKind {
    /// `camera` or `microphone`, as the signalling protocol and the monitor name it.
    pub fn as_str(self) -> &'static str {
        match self {
            TrackKind::Camera => "camera",
            TrackKind::Screen => "screen",
            TrackKind::Microphone => "microphone",
        }
    }
}

impl fmt::Display for TrackKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which pipeline an event came from. `generation` counts restarts of that pipeline, so the
/// owner can tell an event of the pipeline it runs now from a late one of a pipeline it
/// already replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaSource {
    /// A participant's camera or microphone decoder.
    Decoder {
        /// The owner's id of the inbound track (one per received track).
        feed: u64,
        /// The seat the track feeds.
        seat: usize,
        /// The participant sending it.
        participant: ParticipantId,
        /// Camera or microphone.
        track: TrackKind,
        /// Which build of the decoder (0 first, then one more per restart).
        generation: u64,
    },
    /// The hearing's one encoder.
    Encoder {
        /// Which build of the encoder (0 first, then one more per restart).
        generation: u64,
    },
}

impl fmt::Display for MediaSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MediaSource::Decoder {
                seat,
                participant,
                track,
                ..
            } => write!(
                f,
                "{track} decoder (seat {seat}, participant {participant})"
            ),
            MediaSource::Encoder { .. } => f.write_str("encoder"),
        }
    }
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaProblem {
    /// An element failed; the pipeline has stopped working. The text is GStreamer's error and
    /// debug detail.
    Failed(String),
    /// The pipeline reached end-of-stream, which a live decoder or encoder never should.
    Ended,
}

impl fmt::Display for MediaProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MediaProblem::Failed(e) => f.write_str(e),
            MediaProblem::Ended => f.write_str("the stream ended"),
        }
    }
}

/// One event of one pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaEvent {
    /// The pipeline.
    pub source: MediaSource,
    /// What happened.
    pub problem: MediaProblem,
}

/// Where a pipeline's owner hears of it: called on GStreamer's posting thread, so it must not
/// block (put the event on a channel).
pub type MediaEventSink = Arc<dyn Fn(MediaEvent) + Send + Sync>;

/// The sink and the name a pipeline reports under.
#[derive(Clone)]
pub struct MediaReporter {
    sink: MediaEventSink,
    source: MediaSource,
}

impl fmt::Debug for MediaReporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MediaReporter")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl MediaReporter {
    /// Reports as `source` to `sink`.
    pub fn new(sink: MediaEventSink, source: MediaSource) -> Self {
        Self { sink, source }
    }

    /// The pipeline this reporter names.
    pub fn source(&self) -> MediaSource {
        self.source
    }

    /// Tells the owner.
    pub fn report(&self, problem: MediaProblem) {
        (self.sink)(MediaEvent {
            source: self.source,
            problem,
        });
    }

    /// Watches `pipeline`'s bus: each error and end-of-stream is reported.
    pub fn watch(&self, pipeline: &gstreamer::Pipeline) {
        let reporter = self.clone();
        super::bus::watch_with(pipeline, move |event| {
            reporter.report(match event {
                super::bus::BusEvent::Eos => MediaProblem::Ended,
                super::bus::BusEvent::Error(e) => MediaProblem::Failed(e),
            })
        });
    }
}
