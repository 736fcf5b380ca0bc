//! The output: the hearing's one encoder and the fan-out of what it encodes, to every
//! participant (a broadcast channel their sessions subscribe to) and to the running
//! recording. The encoder can be rebuilt after it fails ([`Output::restart`]); the tick and
//! the sessions reach whichever one runs now.
//!
//! Locks: `encoder`, held only to clone or replace the running encoder's `Arc`, never across
//! a GStreamer call. The encoder's callback takes no lock of its own beyond the recording's
//! short [`Recording::current`] and the latency tracker.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::broadcast;

use super::monitor::Monitor;
use super::recording::Recording;
use crate::media::encoder::{EncodedFrame, Encoder, EncoderConfig};
use crate::media::events::{MediaEventSink, MediaReporter, MediaSource};
use crate::media::MediaError;

/// Encoded frames a slow viewer may fall behind before it skips to the next keyframe.
const FANOUT: usize = 64;

/// Where the encoder's frames go: what its callback holds.
struct FanOut {
    encoded: broadcast::Sender<Arc<EncodedFrame>>,
    recording: Arc<Recording>,
    monitor: Arc<Monitor>,
}

impl FanOut {
    fn deliver(&self, frame: EncodedFrame) {
        if let Some(active) = self.recording.current() {
            active.recorder.push_video(&frame);
        }
        self.monitor.ticks().encoded(frame.pts, Instant::now());
        // Nobody listening is fine: the hearing may be empty.
        let _ = self.encoded.send(Arc::new(frame));
    }
}

/// The encoder and its fan-out.
pub struct Output {
    config: EncoderConfig,
    encoder: Mutex<Arc<Encoder>>,
    generation: AtomicU64,
    fanout: Arc<FanOut>,
    events: MediaEventSink,
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Output")
            .field("config", &self.config)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl Output {
    /// Starts the encoder. Encoded frames go to the recording's running recorder and to every
    /// subscriber; a failure of the encoder's pipeline is reported to `events`.
    pub fn start(
        config: EncoderConfig,
        recording: Arc<Recording>,
        monitor: Arc<Monitor>,
        events: MediaEventSink,
    ) -> Result<Self, MediaError> {
        let fanout = Arc::new(FanOut {
            encoded: broadcast::channel(FANOUT).0,
            recording,
            monitor,
        });
        let encoder = build(config, &fanout, &events, 0)?;
        Ok(Self {
            config,
            encoder: Mutex::new(Arc::new(encoder)),
            generation: AtomicU64::new(0),
            fanout,
            events,
        })
    }

    fn encoder(&self) -> Arc<Encoder> {
        self.encoder.lock().expect("encoder lock").clone()
    }

    /// Which build of the encoder runs (0 first, one more per restart).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Encodes one composite frame stamped `pts`.
    pub fn push(&self, i420: Vec<u8>, pts: Duration) -> Result<(), MediaError> {
        self.encoder().push(i420, pts)
    }

    /// Asks for a keyframe on the next frame (a participant started receiving, a segment
    /// must start).
    pub fn force_keyframe(&self) {
        self.encoder().force_keyframe();
    }

    /// Subscribes to the encoded composite.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<EncodedFrame>> {
        self.fanout.encoded.subscribe()
    }

    /// Rebuilds the encoder after build `failed` failed, and asks it for a keyframe. Does
    /// nothing when that build was already replaced. The new pipeline is built with no lock
    /// held; the old one stops once the last frame pushed to it is through.
    pub fn restart(&self, failed: u64) -> Result<bool, MediaError> {
        if self.generation() != failed {
            return Ok(false);
        }
        let next = failed + 1;
        let encoder = Arc::new(build(self.config, &self.fanout, &self.events, next)?);
        encoder.force_keyframe();
        let old = {
            let mut slot = self.encoder.lock().expect("encoder lock");
            self.generation.store(next, Ordering::Release);
            std::mem::replace(&mut *slot, encoder)
        };
        drop(old);
        Ok(true)
    }
}

fn build(
    config: EncoderConfig,
    fanout: &Arc<FanOut>,
    events: &MediaEventSink,
    generation: u64,
) -> Result<Encoder, MediaError> {
    let sink = fanout.clone();
    Encoder::reporting(
        config,
        move |frame| sink.deliver(frame),
        Some(MediaReporter::new(
            events.clone(),
            MediaSource::Encoder { generation },
        )),
    )
}
