//! Inbound feeds: the decoder of each participant's received camera and microphone. The
//! network task that receives a track opens a [`TrackFeed`] on the track's first packet and
//! pushes every packet into it; the hearing owns the decoder behind it, so it can rebuild a
//! decoder that failed ([`Feeds::restart`]) and ask the sender for a keyframe through the
//! feed ([`TrackFeed::keyframe_wanted`]), without reaching into the network layer.
//!
//! Locks: `feeds` (the registry of open feeds), and per feed `decoder`; each is held only to
//! clone, insert or replace an `Arc`, never across a GStreamer call.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::Notify;

use super::seats::SeatMedia;
use crate::ids::ParticipantId;
use crate::media::capture::{CaptureClock, SenderReport};
use crate::media::decoder::{jitter_latency_ms, RtpDecoder, VideoCodec, JITTER_MS};
use crate::media::events::{MediaEventSink, MediaReporter, MediaSource, TrackKind};
use crate::media::frame::FrameSlot;
use crate::media::MediaError;

/// What a feed decodes, and where the decoded media goes.
struct FeedSpec {
    id: u64,
    seat: usize,
    participant: ParticipantId,
    track: TrackKind,
    /// The video codec (`None` for the microphone, which is Opus).
    codec: Option<VideoCodec>,
    payload_type: u8,
    /// The decoded camera's slot or the decoded microphone's input.
    sink: Sink,
    /// The seated person's capture clock (both their tracks share it).
    clock: Arc<CaptureClock>,
    /// Names the pipeline in logs.
    name: String,
}

#[derive(Clone)]
enum Sink {
    Frames(Arc<crate::media::frame::FrameSlot>),
    Audio(Arc<crate::media::audio_mix::AudioInput>),
}

/// One open feed, shared by its [`TrackFeed`] and the registry.
struct Feed {
    spec: FeedSpec,
    decoder: Mutex<Arc<RtpDecoder>>,
    generation: AtomicU64,
    /// Signalled when the hearing wants a keyframe from the sender.
    keyframe: Arc<Notify>,
    /// The jitter buffer's latency for this sender's link, in ms (kept for rebuilds).
    jitter_ms: AtomicU32,
}

impl Feed {
    fn decoder(&self) -> Arc<RtpDecoder> {
        self.decoder.lock().expect("decoder lock").clone()
    }
}

/// The open feeds of one hearing.
pub struct Feeds {
    hearing: String,
    next: AtomicU64,
    feeds: Mutex<HashMap<u64, Weak<Feed>>>,
    events: MediaEventSink,
}

impl std::fmt::Debug for Feeds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feeds")
            .field("hearing", &self.hearing)
            .finish_non_exhaustive()
    }
}

/// Where a seat's decoded media goes, for [`Feeds::open`].
#[derive(Debug, Clone, Copy)]
pub struct FeedTarget<'a> {
    /// The seat index.
    pub seat: usize,
    /// The seat's media.
    pub media: &'a SeatMedia,
    /// Where a shared screen's frames go (the presenter's screen slot); `None` for a camera or
    /// a microphone.
    pub screen: Option<&'a Arc<FrameSlot>>,
}

/// What [`Feeds::restart`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// A new decoder runs.
    Restarted,
    /// The failed build was already replaced, or the feed has closed: nothing to do.
    Stale,
}

impl Feeds {
    /// No feeds yet; decoder failures are reported to `events`.
    pub fn new(hearing: &str, events: MediaEventSink) -> Arc<Self> {
        Arc::new(Self {
            hearing: hearing.to_owned(),
            next: AtomicU64::new(1),
            feeds: Mutex::default(),
            events,
        })
    }

    /// Opens a feed for `participant`'s track of MIME type `mime`, negotiated with
    /// `payload_type`, decoding into `target`'s seat. Builds the decoder (a GStreamer
    /// pipeline): call it off the hot path, once per track.
    pub fn open(
        self: &Arc<Self>,
        participant: ParticipantId,
        target: FeedTarget<'_>,
        track: TrackKind,
        mime: &str,
        payload_type: u8,
    ) -> Result<TrackFeed, MediaError> {
        let (codec, sink, clock) = match (track, target.screen) {
            (TrackKind::Camera, _) => (
                Some(VideoCodec::from_mime(mime)?),
                Sink::Frames(target.media.frames().clone()),
                target.media.capture().clone(),
            ),
            (TrackKind::Microphone, _) => (
                None,
                Sink::Audio(target.media.audio().clone()),
                target.media.capture().clone(),
            ),
            // A screen is never lip-synced: it keeps a clock of its own, apart from the seat's.
            (TrackKind::Screen, Some(slot)) => (
                Some(VideoCodec::from_mime(mime)?),
                Sink::Frames(slot.clone()),
                Arc::new(CaptureClock::default()),
            ),
            (TrackKind::Screen, None) => {
                return Err(MediaError::Pipeline {
                    pipeline: format!("{}-{participant}", self.hearing),
                    message: "a screen's feed needs its slot".into(),
                })
            }
        };
        let spec = FeedSpec {
            id: self.next.fetch_add(1, Ordering::Relaxed),
            seat: target.seat,
            participant,
            track,
            codec,
            payload_type,
            sink,
            clock,
            name: format!("{}-{participant}", self.hearing),
        };
        // A new stream: its RTP timestamps mean nothing until its own first sender report.
        spec.clock.restart(track);
        let keyframe = Arc::new(Notify::new());
        let decoder = self.build(&spec, 0, &keyframe, JITTER_MS)?;
        let feed = Arc::new(Feed {
            spec,
            decoder: Mutex::new(Arc::new(decoder)),
            generation: AtomicU64::new(0),
            keyframe,
            jitter_ms: AtomicU32::new(JITTER_MS),
        });
        self.feeds
            .lock()
            .expect("feeds lock")
            .insert(feed.spec.id, Arc::downgrade(&feed));
        Ok(TrackFeed {
            feed,
            feeds: Arc::downgrade(self),
        })
    }

    fn build(
        &self,
        spec: &FeedSpec,
        generation: u64,
        keyframe: &Arc<Notify>,
        jitter_ms: u32,
    ) -> Result<RtpDecoder, MediaError> {
        let reporter = MediaReporter::new(
            self.events.clone(),
            MediaSource::Decoder {
                feed: spec.id,
                seat: spec.seat,
                participant: spec.participant,
                track: spec.track,
                generation,
            },
        );
        let keyframe = keyframe.clone();
        let decoder = match (&spec.sink, spec.codec) {
            (Sink::Frames(slot), Some(codec)) => RtpDecoder::video(
                &spec.name,
                codec,
                spec.payload_type,
                slot.clone(),
                spec.clock.clone(),
                Some(Arc::new(move || keyframe.notify_one())),
                Some(reporter),
            ),
            (Sink::Audio(input), _) => RtpDecoder::audio(
                &spec.name,
                spec.payload_type,
                input.clone(),
                spec.clock.clone(),
                Some(reporter),
            ),
            (Sink::Frames(_), None) => Err(MediaError::UnsupportedCodec("video".into())),
        }?;
        if jitter_ms != JITTER_MS {
            decoder.set_jitter_latency(jitter_ms);
        }
        Ok(decoder)
    }

    /// Rebuilds feed `feed`'s decoder after build `failed` failed, and (for a camera) asks
    /// the sender for a keyframe, which a fresh decoder needs before it shows anything. The
    /// new pipeline is built with no lock held, then swapped in.
    pub fn restart(&self, feed: u64, failed: u64) -> Result<Restart, MediaError> {
        let Some(open) = self
            .feeds
            .lock()
            .expect("feeds lock")
            .get(&feed)
            .and_then(Weak::upgrade)
        else {
            return Ok(Restart::Stale);
        };
        if open.generation.load(Ordering::Acquire) != failed {
            return Ok(Restart::Stale);
        }
        let next = failed + 1;
        let decoder = Arc::new(self.build(
            &open.spec,
            next,
            &open.keyframe,
            open.jitter_ms.load(Ordering::Acquire),
        )?);
        let old = {
            let mut slot = open.decoder.lock().expect("decoder lock");
            open.generation.store(next, Ordering::Release);
            std::mem::replace(&mut *slot, decoder)
        };
        drop(old);
        if open.spec.track == TrackKind::Camera {
            open.keyframe.notify_one();
        }
        Ok(Restart::Restarted)
    }

    /// Whether feed `feed` is open and runs build `generation` of its decoder (an event of an
    /// older build, or of a closed feed, needs no answer).
    pub fn is_current(&self, feed: u64, generation: u64) -> bool {
        self.feeds
            .lock()
            .expect("feeds lock")
            .get(&feed)
            .and_then(Weak::upgrade)
            .is_some_and(|f| f.generation.load(Ordering::Acquire) == generation)
    }

    /// How many feeds are open.
    pub fn open_count(&self) -> usize {
        self.feeds
            .lock()
            .expect("feeds lock")
            .values()
            .filter(|f| f.strong_count() > 0)
            .count()
    }

    fn close(&self, id: u64) {
        self.feeds.lock().expect("feeds lock").remove(&id);
    }
}

/// Changes of the jitter buffer's latency smaller than this are not made: a link's round
/// trip wanders, and each change makes the buffer hold or hurry its packets.
const JITTER_STEP_MS: u32 = 100;

/// The latency to change to from `now`, given the `wanted` one; `None` to keep `now`. A link
/// that came back to the floor gets it at once.
fn refit_jitter(now: u32, wanted: u32) -> Option<u32> {
    if wanted == now {
        None
    } else if wanted == JITTER_MS || wanted.abs_diff(now) >= JITTER_STEP_MS {
        Some(wanted)
    } else {
        None
    }
}

/// A received track's way into its hearing, held by the task that receives the track.
/// Dropping it stops the decoder.
pub struct TrackFeed {
    feed: Arc<Feed>,
    feeds: Weak<Feeds>,
}

impl std::fmt::Debug for TrackFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackFeed")
            .field("id", &self.feed.spec.id)
            .field("track", &self.feed.spec.track)
            .finish_non_exhaustive()
    }
}

impl TrackFeed {
    /// Decodes one marshalled RTP packet. Never blocks: a full queue drops the packet.
    pub fn push_rtp(&self, packet: Vec<u8>) {
        self.feed.decoder().push_rtp(packet);
    }

    /// Notes an RTCP sender report of the track's stream: it places the track's RTP
    /// timestamps on the sender's wall clock, which lines the person's picture up with their
    /// voice in the composite and the recording.
    pub fn sender_report(&self, report: SenderReport) {
        if self
            .feed
            .spec
            .clock
            .sender_report(self.feed.spec.track, report)
        {
            tracing::info!(
                participant = self.feed.spec.participant,
                seat = self.feed.spec.seat,
                "camera and microphone on the sender's clock (RTCP sender reports)"
            );
        }
    }

    /// Fits the jitter buffer to the sender's link: `rtt_ms` is its round trip (see
    /// [`jitter_latency_ms`]). Returns the latency now in use, in ms.
    pub fn fit_jitter_buffer(&self, rtt_ms: Option<f64>) -> u32 {
        let now = self.feed.jitter_ms.load(Ordering::Acquire);
        let Some(wanted) = refit_jitter(now, jitter_latency_ms(rtt_ms)) else {
            return now;
        };
        self.feed.jitter_ms.store(wanted, Ordering::Release);
        self.feed.decoder().set_jitter_latency(wanted);
        wanted
    }

    /// Resolves when the hearing wants a keyframe from the sender (its decoder was rebuilt,
    /// or lost part of a frame):
    /// the receiving task then sends a picture loss indication. A request made while nobody
    /// waits is kept for the next call.
    pub async fn keyframe_wanted(&self) {
        self.feed.keyframe.notified().await;
    }

    /// Which build of the decoder runs (0 first, one more per restart).
    pub fn generation(&self) -> u64 {
        self.feed.generation.load(Ordering::Acquire)
    }

    /// The feed's id, as its [`MediaSource::Decoder`] events name it.
    pub fn id(&self) -> u64 {
        self.feed.spec.id
    }
}

impl Drop for TrackFeed {
    fn drop(&mut self) {
        if let Some(feeds) = self.feeds.upgrade() {
            feeds.close(self.feed.spec.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use crate::config::Settings;
    use crate::hearing::{Admission, Hearing, HearingEvent, MediaAction, Role};
    use crate::media::events::TrackKind;
    use crate::render::{AdapterChoice, Gpu};
    use crate::store::HearingRecord;

    const PT: u8 = 96;
    const SSRC: u32 = 0x1234_5678;

    #[test]
    fn the_jitter_buffer_follows_the_link_in_steps_and_drops_to_the_floor_at_once() {
        use super::{refit_jitter, JITTER_MS};
        // A small wander is ignored, a real change is followed.
        assert_eq!(refit_jitter(JITTER_MS, JITTER_MS), None);
        assert_eq!(refit_jitter(JITTER_MS, 75), None);
        assert_eq!(refit_jitter(JITTER_MS, 550), Some(550));
        assert_eq!(refit_jitter(550, 475), None);
        assert_eq!(refit_jitter(550, 600), None);
        assert_eq!(refit_jitter(550, 300), Some(300));
        // The link is good again: straight back to the floor.
        assert_eq!(refit_jitter(125, JITTER_MS), Some(JITTER_MS));
    }

    /// A few VP8 frames of a test picture (the first a keyframe).
    fn vp8_frames() -> Vec<Vec<u8>> {
        let frames = crate::media::testing::pull_buffers(
            "videotestsrc num-buffers=10 ! video/x-raw,width=160,height=120,framerate=25/1 \
             ! vp8enc deadline=1 ! appsink name=sink sync=false",
        );
        assert_eq!(frames[0][0] & 1, 0, "a keyframe first");
        frames
    }

    /// Packs RTP packets of one VP8 frame each, numbered from `seq`.
    struct Packer {
        seq: u16,
        ts: u32,
    }

    impl Packer {
        fn pack(&mut self, frame: &[u8]) -> Vec<u8> {
            let mut p = vec![0x80, 0x80 | PT];
            p.extend_from_slice(&self.seq.to_be_bytes());
            p.extend_from_slice(&self.ts.to_be_bytes());
            p.extend_from_slice(&SSRC.to_be_bytes());
            // VP8 payload descriptor: start of a partition, partition 0.
            p.push(0x10);
            p.extend_from_slice(frame);
            self.seq = self.seq.wrapping_add(1);
            self.ts = self.ts.wrapping_add(3600);
            p
        }
    }

    /// A "keyframe" whose start code is wrong: what a corrupted or hostile sender might send.
    fn garbage(keyframe: &[u8]) -> Vec<u8> {
        let mut g = keyframe.to_vec();
        g[3..6].copy_from_slice(&[0xde, 0xad, 0xbe]);
        g
    }

    fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + timeout;
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn garbage_makes_the_decoder_fail_and_the_hearing_restart_it() {
        crate::media::init().unwrap();
        let frames = vp8_frames();
        let tmp = tempfile::tempdir().unwrap();
        let mut settings = Settings {
            data_dir: tmp.path().to_owned(),
            ..Settings::default()
        };
        settings.video.width = 320;
        settings.video.height = 180;
        settings.hearing.face_framing = false;
        let settings = Arc::new(settings);
        let gpu = Gpu::open(AdapterChoice::Auto).expect("a render device (GPU or lavapipe)");
        let hearing = Hearing::start(
            HearingRecord {
                id: "garbage".into(),
                case_number: "(2026) Media No. 1".into(),
                title: "Garbage in".into(),
                locale: "en".into(),
                layout: settings.hearing.layout.clone(),
            },
            settings,
            gpu,
        )
        .unwrap();
        let seat = 0;
        let seat_id = hearing.layout().seats[seat].id.clone();
        let joined = hearing
            .join(Admission {
                invitation_id: "inv".into(),
                role: Role::PresidingJudge,
                seat,
                seat_id,
                name: "Judge".into(),
            })
            .unwrap();
        let mut events = hearing.subscribe_events();
        let feed = hearing
            .open_track(joined.id, seat, TrackKind::Camera, None, "video/VP8", PT)
            .unwrap();
        assert_eq!(feed.generation(), 0);
        let slot = hearing.seat(seat).frames().clone();
        let mut packer = Packer { seq: 100, ts: 9000 };

        // Good frames decode.
        for f in &frames {
            feed.push_rtp(packer.pack(f));
        }
        wait_for("the first frame", Duration::from_secs(5), || {
            slot.latest().is_some()
        });

        // Garbage: the decoder gives up after its error budget, and the hearing restarts it.
        let bad = garbage(&frames[0]);
        let deadline = Instant::now() + Duration::from_secs(10);
        while feed.generation() == 0 && Instant::now() < deadline {
            feed.push_rtp(packer.pack(&bad));
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(feed.generation(), 1, "the failed decoder was rebuilt once");
        tokio::time::timeout(Duration::from_secs(5), feed.keyframe_wanted())
            .await
            .expect("the sender is asked for a keyframe");

        // The participant is told, and the clerk's monitor shows it.
        let notice = loop {
            match tokio::time::timeout(Duration::from_secs(5), events.recv()).await {
                Ok(Ok(HearingEvent::MediaTrouble(n))) => break n,
                Ok(Ok(_)) => continue,
                other => panic!("no media event: {other:?}"),
            }
        };
        assert_eq!(
            (notice.participant, notice.seat, notice.track, notice.action),
            (joined.id, seat, TrackKind::Camera, MediaAction::Restarted)
        );
        let log = hearing.media_log();
        assert_eq!(log.restarts, 1);
        let incident = log.incidents.back().unwrap();
        assert_eq!(
            (incident.pipeline, incident.participant_id, incident.action),
            ("camera", Some(joined.id), "restarted")
        );
        assert!(!incident.error.is_empty());

        // The rebuilt decoder decodes what comes next, from a keyframe.
        let before = slot.latest().map(|(seq, _)| seq).unwrap();
        for f in &frames {
            feed.push_rtp(packer.pack(f));
        }
        wait_for(
            "a frame from the new decoder",
            Duration::from_secs(5),
            || slot.latest().is_some_and(|(seq, _)| seq > before),
        );
        drop(feed);
        hearing.shutdown().unwrap();
    }
}
