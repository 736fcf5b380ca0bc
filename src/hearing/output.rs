//! The output: the hearing's encoders and the fan-out of what they encode.
//!
//! The H.264 encoder runs for the whole hearing: its frames go to the running recording, to
//! the monitor, and to every participant that decodes H.264 (a broadcast channel their
//! sessions subscribe to). A second, VP8 encoder runs only while at least one participant
//! needs VP8 (a browser without H.264, such as Firefox ESR without OpenH264): it is started
//! by the first [`Output::subscribe_codec`] for VP8 and stopped when the last such
//! [`CompositeFeed`] is dropped, so a hearing of H.264 receivers runs one encoder, and a
//! hearing with any number of VP8 receivers on full links runs two. The recording is always
//! H.264. The
//! reduced rendition (half the size and a fraction of the bitrate), in H.264 and in VP8, runs
//! the same way while any participant's link in that codec is too slow or lossy for the full
//! composite ([`Output::subscribe_reduced`]; who gets it is `media::rendition`'s choice, made
//! in `rtc::session`, which lets go of the full feed meanwhile): encoded once per codec for
//! all of them, never once per participant.
//!
//! The H.264 encoder can be rebuilt after it fails ([`Output::restart`]); the tick and the
//! sessions reach whichever one runs now.
//!
//! Locks: `encoder`, held only to clone or replace the running encoder's `Arc`, and `vp8`,
//! `reduced` and `reduced_vp8`, held only to count receivers and clone, put or take their encoder's `Arc`;
//! never across a GStreamer call (those pipelines are built and stopped with no lock held). The encoders'
//! callbacks take no lock of their own beyond the recording's short [`Recording::current`]
//! and the latency tracker.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use tokio::sync::broadcast;

use super::gallery::Broadcast;
use super::monitor::Monitor;
use super::recording::Recording;
use crate::media::encoder::{EncodedFrame, Encoder, EncoderConfig, SharedFrame, VideoCodec};
use crate::media::events::{MediaEventSink, MediaReporter, MediaSource};
use crate::media::MediaError;

/// Encoded frames a slow viewer may fall behind before it skips to the next keyframe.
const FANOUT: usize = 64;

/// Where the encoders' frames go: what their callbacks hold.
struct FanOut {
    encoded: broadcast::Sender<Arc<EncodedFrame>>,
    vp8: broadcast::Sender<Arc<EncodedFrame>>,
    reduced: broadcast::Sender<Arc<EncodedFrame>>,
    reduced_vp8: broadcast::Sender<Arc<EncodedFrame>>,
    recording: Arc<Recording>,
    monitor: Arc<Monitor>,
    /// The public broadcast, once the hearing attached it.
    broadcast: OnceLock<Arc<Broadcast>>,
}

impl FanOut {
    fn deliver(&self, frame: EncodedFrame) {
        if let Some(active) = self.recording.current() {
            active.recorder.push_video(&frame);
        }
        if let Some(broadcast) = self.broadcast.get() {
            broadcast.push_video(&frame);
        }
        self.monitor.ticks().encoded(frame.pts, Instant::now());
        // Nobody listening is fine: the hearing may be empty.
        let _ = self.encoded.send(Arc::new(frame));
    }

    fn deliver_to(&self, branch: Branch, frame: EncodedFrame) {
        let _ = self.channel(branch).send(Arc::new(frame));
    }

    fn channel(&self, branch: Branch) -> &broadcast::Sender<Arc<EncodedFrame>> {
        match branch {
            Branch::Vp8 => &self.vp8,
            Branch::Reduced => &self.reduced,
            Branch::ReducedVp8 => &self.reduced_vp8,
        }
    }
}

/// An encoder that runs only while someone receives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Branch {
    /// The composite in VP8.
    Vp8,
    /// The composite's reduced rendition (H.264, half the size) for slow links.
    Reduced,
    /// The reduced rendition in VP8, for slow links of receivers without H.264.
    ReducedVp8,
}

impl Branch {
    /// As the log says it (`vp8 encoder started`; tests look for it).
    fn name(self) -> &'static str {
        match self {
            Branch::Vp8 => "vp8",
            Branch::Reduced => "reduced",
            Branch::ReducedVp8 => "reduced vp8",
        }
    }

    /// The reduced rendition's branch for receivers of `codec`.
    fn reduced(codec: VideoCodec) -> Self {
        match codec {
            VideoCodec::H264 => Branch::Reduced,
            VideoCodec::Vp8 => Branch::ReducedVp8,
        }
    }

    /// The codec its encoder makes.
    fn codec(self) -> VideoCodec {
        match self {
            Branch::Reduced => VideoCodec::H264,
            Branch::Vp8 | Branch::ReducedVp8 => VideoCodec::Vp8,
        }
    }
}

/// One on-demand encoder and how many participants receive it.
#[derive(Default)]
struct OnDemand {
    receivers: usize,
    encoder: Option<Arc<Encoder>>,
}

/// A participant's subscription to the encoded composite in one codec. While a VP8 feed
/// lives, the VP8 encoder runs; dropping the last one stops it.
pub struct CompositeFeed {
    /// The encoded frames.
    pub frames: broadcast::Receiver<Arc<EncodedFrame>>,
    /// Their codec.
    pub codec: VideoCodec,
    lease: Option<Lease>,
}

impl CompositeFeed {
    /// Whether this is the reduced rendition.
    pub fn is_reduced(&self) -> bool {
        self.lease
            .as_ref()
            .is_some_and(|l| matches!(l.1, Branch::Reduced | Branch::ReducedVp8))
    }
}

impl std::fmt::Debug for CompositeFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompositeFeed")
            .field("codec", &self.codec)
            .field("leased", &self.lease.is_some())
            .finish_non_exhaustive()
    }
}

/// Keeps an on-demand encoder running; dropped, it lets go of it.
struct Lease(Weak<Output>, Branch);

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(output) = self.0.upgrade() {
            output.release(self.1);
        }
    }
}

/// The encoders and their fan-out.
pub struct Output {
    config: EncoderConfig,
    encoder: Mutex<Arc<Encoder>>,
    generation: AtomicU64,
    vp8: Mutex<OnDemand>,
    reduced: Mutex<OnDemand>,
    reduced_vp8: Mutex<OnDemand>,
    fanout: Arc<FanOut>,
    events: MediaEventSink,
    /// A keyframe was asked for, or an encoder started, since the last frame pushed: the next
    /// tick's frame must reach the encoders even if the picture is still (`hearing::still`).
    frame_wanted: AtomicBool,
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
    /// Starts the H.264 encoder. Encoded frames go to the recording's running recorder and to
    /// every subscriber; a failure of the encoder's pipeline is reported to `events`.
    pub fn start(
        config: EncoderConfig,
        recording: Arc<Recording>,
        monitor: Arc<Monitor>,
        events: MediaEventSink,
    ) -> Result<Self, MediaError> {
        let fanout = Arc::new(FanOut {
            encoded: broadcast::channel(FANOUT).0,
            vp8: broadcast::channel(FANOUT).0,
            reduced: broadcast::channel(FANOUT).0,
            reduced_vp8: broadcast::channel(FANOUT).0,
            recording,
            monitor,
            broadcast: OnceLock::new(),
        });
        let encoder = build(config, &fanout, &events, 0)?;
        Ok(Self {
            config,
            encoder: Mutex::new(Arc::new(encoder)),
            generation: AtomicU64::new(0),
            vp8: Mutex::default(),
            reduced: Mutex::default(),
            reduced_vp8: Mutex::default(),
            fanout,
            events,
            frame_wanted: AtomicBool::new(true),
        })
    }

    /// Sends the H.264 encoder's frames to the public broadcast as well (once, as the
    /// hearing starts).
    pub fn attach_broadcast(&self, broadcast: Arc<Broadcast>) {
        let _ = self.fanout.broadcast.set(broadcast);
    }

    /// The H.264 encoder's settings.
    pub fn config(&self) -> EncoderConfig {
        self.config
    }

    /// Whether the next frame must be pushed although the picture did not change (a keyframe
    /// was asked for, or an encoder started, since the last push); clears it.
    pub fn take_frame_wanted(&self) -> bool {
        self.frame_wanted.swap(false, Ordering::AcqRel)
    }

    fn want_frame(&self) {
        self.frame_wanted.store(true, Ordering::Release);
    }

    fn encoder(&self) -> Arc<Encoder> {
        self.encoder.lock().expect("encoder lock").clone()
    }

    /// The on-demand encoder of `branch`, while it runs.
    fn running(&self, branch: Branch) -> Option<Arc<Encoder>> {
        self.branch(branch)
            .lock()
            .expect("branch lock")
            .encoder
            .clone()
    }

    fn branch(&self, branch: Branch) -> &Mutex<OnDemand> {
        match branch {
            Branch::Vp8 => &self.vp8,
            Branch::Reduced => &self.reduced,
            Branch::ReducedVp8 => &self.reduced_vp8,
        }
    }

    /// The reduced rendition's settings: half the output size (even), a fifth of the bitrate
    /// between 150 and 300 kbit/s, the same rate and keyframe interval.
    pub fn reduced_config(&self) -> EncoderConfig {
        let even = |v: u32| ((v / 2) & !1).max(2);
        EncoderConfig {
            width: even(self.config.width),
            height: even(self.config.height),
            bitrate_kbps: (self.config.bitrate_kbps / 5).clamp(150, 300),
            ..self.config
        }
    }

    /// Which build of the encoder runs (0 first, one more per restart).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Encodes one composite frame stamped `pts`: in H.264, and in VP8 and the reduced
    /// renditions too while their encoders run (the pixels are shared, not copied).
    pub fn push(&self, i420: Vec<u8>, pts: Duration) -> Result<(), MediaError> {
        let others: Vec<(Branch, Arc<Encoder>)> =
            [Branch::Vp8, Branch::Reduced, Branch::ReducedVp8]
                .into_iter()
                .filter_map(|b| Some((b, self.running(b)?)))
                .collect();
        if others.is_empty() {
            return self.encoder().push(i420, pts);
        }
        let frame = SharedFrame::new(i420);
        for (branch, encoder) in others {
            if let Err(e) = encoder.push_shared(&frame, pts) {
                tracing::debug!("{} encoder refused a frame: {e}", branch.name());
            }
        }
        self.encoder().push_shared(&frame, pts)
    }

    /// Composite frames waiting at the H.264 encoder's input.
    pub fn encoder_queue(&self) -> u64 {
        self.encoder().queued_frames()
    }

    /// Asks the H.264 encoder for a keyframe on the next frame (a segment must start).
    pub fn force_keyframe(&self) {
        self.want_frame();
        self.encoder().force_keyframe();
    }

    /// Asks the encoder of `codec` for a keyframe on the next frame (a participant started
    /// receiving, or lost a picture and sent a PLI). Does nothing for VP8 when it is not
    /// running.
    pub fn force_keyframe_for(&self, codec: VideoCodec) {
        match codec {
            VideoCodec::H264 => self.force_keyframe(),
            VideoCodec::Vp8 => {
                if let Some(vp8) = self.running(Branch::Vp8) {
                    self.want_frame();
                    vp8.force_keyframe();
                }
            }
        }
    }

    /// Asks the encoder of the reduced rendition in `codec` for a keyframe, when it runs.
    pub fn force_keyframe_reduced(&self, codec: VideoCodec) {
        if let Some(reduced) = self.running(Branch::reduced(codec)) {
            self.want_frame();
            reduced.force_keyframe();
        }
    }

    /// Subscribes to the composite's reduced rendition in `codec` (see
    /// [`Output::reduced_config`]), starting its encoder if this is its first receiver; the
    /// returned feed keeps it running until dropped. Builds a GStreamer pipeline when it
    /// starts one.
    pub fn subscribe_reduced(
        self: &Arc<Self>,
        codec: VideoCodec,
    ) -> Result<CompositeFeed, MediaError> {
        self.lease(Branch::reduced(codec))
    }

    /// Subscribes to the encoded H.264 composite.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<EncodedFrame>> {
        self.fanout.encoded.subscribe()
    }

    /// Subscribes to the composite encoded in `codec`. For VP8 this starts the VP8 encoder
    /// if this is its first receiver; the returned feed keeps it running until dropped.
    /// Builds a GStreamer pipeline when it starts one: call it where blocking briefly is fine.
    pub fn subscribe_codec(
        self: &Arc<Self>,
        codec: VideoCodec,
    ) -> Result<CompositeFeed, MediaError> {
        if codec == VideoCodec::H264 {
            return Ok(CompositeFeed {
                frames: self.subscribe(),
                codec,
                lease: None,
            });
        }
        self.lease(Branch::Vp8)
    }

    /// Subscribes to an on-demand encoder's frames, starting it for its first receiver.
    fn lease(self: &Arc<Self>, branch: Branch) -> Result<CompositeFeed, MediaError> {
        let codec = branch.codec();
        // Subscribed first, so no frame of a starting encoder is missed.
        let frames = self.fanout.channel(branch).subscribe();
        let start = {
            let mut b = self.branch(branch).lock().expect("branch lock");
            b.receivers += 1;
            b.encoder.is_none()
        };
        let lease = Lease(Arc::downgrade(self), branch);
        if start {
            let sink = self.fanout.clone();
            let built = match branch {
                Branch::Vp8 => Encoder::with_codec(
                    self.config,
                    VideoCodec::Vp8,
                    move |frame| sink.deliver_to(Branch::Vp8, frame),
                    None,
                ),
                Branch::Reduced | Branch::ReducedVp8 => {
                    Encoder::scaled(self.config, self.reduced_config(), codec, move |frame| {
                        sink.deliver_to(branch, frame)
                    })
                }
            };
            let encoder = match built {
                Ok(e) => Arc::new(e),
                // The lease's drop takes the receiver back off.
                Err(e) => return Err(e),
            };
            let spare = {
                let mut b = self.branch(branch).lock().expect("branch lock");
                if b.encoder.is_none() && b.receivers > 0 {
                    b.encoder = Some(encoder);
                    None
                } else {
                    // Another subscriber started one meanwhile, or everyone left again.
                    Some(encoder)
                }
            };
            if spare.is_none() {
                tracing::info!("{} encoder started", branch.name());
                self.want_frame();
            }
            drop(spare);
        }
        Ok(CompositeFeed {
            frames,
            codec,
            lease: Some(lease),
        })
    }

    fn release(&self, branch: Branch) {
        let stopped = {
            let mut b = self.branch(branch).lock().expect("branch lock");
            b.receivers = b.receivers.saturating_sub(1);
            if b.receivers == 0 {
                b.encoder.take()
            } else {
                None
            }
        };
        if stopped.is_some() {
            tracing::info!("{} encoder stopped: its last receiver left", branch.name());
        }
        // Dropped here, with no lock held: the pipeline goes to Null.
        drop(stopped);
    }

    /// How many participants receive VP8, and whether the VP8 encoder runs.
    pub fn vp8_state(&self) -> (usize, bool) {
        let vp8 = self.vp8.lock().expect("vp8 lock");
        (vp8.receivers, vp8.encoder.is_some())
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
        self.want_frame();
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

/// A small output for tests: 64×48 at 25 fps, a keyframe every 50 frames, recording hearing
/// "h" (not started) with one seat, its events on `events`, its figures on `monitor`.
#[cfg(test)]
pub(crate) fn small_for_tests(
    events: &crate::hearing::events::EventChannel,
    monitor: Arc<Monitor>,
) -> Arc<Output> {
    crate::media::init().unwrap();
    let seats = Arc::new(crate::hearing::seats::Seats::new(
        1,
        Duration::from_secs(3),
        events.clone(),
    ));
    let recording = Arc::new(Recording::new(
        crate::store::HearingRecord {
            id: "h".into(),
            case_number: "1".into(),
            title: "t".into(),
            locale: "en".into(),
            layout: "default".into(),
        },
        Arc::new(crate::config::Settings::default()),
        Instant::now(),
        seats,
        events.clone(),
        Arc::new(|| {}),
        Default::default(),
    ));
    let config = EncoderConfig {
        width: 64,
        height: 48,
        fps: 25,
        bitrate_kbps: 200,
        keyframe_interval: 50,
    };
    Arc::new(Output::start(config, recording, monitor, Arc::new(|_| {})).unwrap())
}

#[cfg(test)]
mod tests;
