//! One live hearing: its seated participants, the media they feed, the compositor tick
//! ([`ticker`]), the one encoder and its fan-out, the recording, the monitor and the
//! background workers.
//!
//! [`Hearing`] is the facade the network edges (`api`, `rtc`) call. Behind it each concern is
//! one part that owns its state behind methods:
//!
//! | part | owns |
//! |---|---|
//! | [`seats`] | who sits where ([`core`], sans-I/O) and each seat's media, key, screen hint and gain |
//! | [`audio`] | forwarding microphones to the other participants; mutes |
//! | [`recording`] | start, pause, resume, stop, a failed recording; the originals ([`originals`]) |
//! | [`output`] | the encoder (rebuilt after a failure) and its fan-out to participants and the recorder |
//! | [`pace`], [`still`] | which ticks render a picture when the node is behind (shared by its hearings); which frames of a still picture are encoded (twice a second) |
//! | [`feeds`] | the decoder of each received track (rebuilt after a failure) |
//! | [`monitor`] | tick counters and latency, client statistics, failed pipelines, the monitor's picture |
//! | [`camera`] | the view on air and the view lock |
//! | [`sounds`] | the court's own sounds mixed into the hearing's audio: the gavel |
//! | [`exhibits`] | the exhibits presented, the one on the evidence display, whether the witness may present |
//! | [`screen`] | each person's shared screen, and the painter that keeps it on the display |
//! | [`workers`] | key calibration and the brightness match, face framing, media repair ([`repair`]) |
//! | [`events`] | [`HearingEvent`]s on the hearing's channel, which the [`docket`] makes per hearing id |
//!
//! No part holds a lock across a GStreamer call, a disk write, a key load or an `.await`, and
//! no part waits in a loop. Network tasks only touch frame slots, audio inputs, feeds and
//! channels, so slow rendering never blocks them.

pub mod audio;
pub mod camera;
pub mod core;
pub mod docket;
pub mod events;
pub mod exhibits;
pub mod feeds;
pub mod gallery;
pub mod latency;
pub mod monitor;
pub mod originals;
pub mod output;
pub mod pace;
pub mod recording;
pub mod repair;
pub mod replay;
pub mod screen;
pub mod seats;
pub mod sounds;
pub mod still;
pub mod ticker;
pub mod workers;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, mpsc};

use self::audio::AudioForwarding;
pub use self::audio::ForwardedAudio;
use self::camera::Camera;
pub use self::core::{
    Admission, HearingCore, JoinError, Joined, ParticipantId, RosterEntry, NO_SEAT,
};
pub use self::docket::Docket;
pub use self::events::{EventChannel, HearingEvent, MediaAction, MediaNotice};
pub use self::feeds::TrackFeed;
use self::feeds::{FeedTarget, Feeds};
pub use self::gallery::{Broadcast, BroadcastError, BroadcastState, BroadcastStatus};
use self::monitor::Monitor;
pub use self::monitor::{CompositeFrame, MediaLog, TickStats};
pub use self::output::CompositeFeed;
use self::output::Output;
use self::recording::Recording;
pub use self::recording::RecordingEnv;
use self::repair::MediaRepair;
pub use self::seats::SeatMedia;
use self::seats::Seats;
use self::workers::{RepairQueue, Workers};
use crate::config::Settings;
use crate::framing::SeatTarget;
use crate::keying::ScreenWarning;
pub use crate::media::encoder::VideoCodec;
use crate::media::encoder::{EncodedFrame, EncoderConfig};
use crate::media::events::TrackKind;
use crate::media::rendition::RenditionChoice;
use crate::media::MediaError;
use crate::record::{Manifest, RecordError};
use crate::render::{Compositor, Gpu, Layout, RenderError, ScreenBox};
pub use crate::role::Role;
use crate::store::HearingRecord;
use pace::FramePace;

/// Errors from running a hearing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HearingError {
    /// The renderer could not start.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// A media pipeline could not start.
    #[error(transparent)]
    Media(#[from] MediaError),
    /// Recording failed.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// Seat refused.
    #[error(transparent)]
    Join(#[from] JoinError),
}

/// A live hearing.
pub struct Hearing {
    /// What the store knows of it.
    pub record: HearingRecord,
    settings: Arc<Settings>,
    layout: Layout,
    events: EventChannel,
    seats: Arc<Seats>,
    audio: Arc<AudioForwarding>,
    camera: Arc<Camera>,
    recording: Arc<Recording>,
    output: Arc<Output>,
    broadcast: Arc<Broadcast>,
    exhibits: Arc<exhibits::Exhibits>,
    /// Each person's shared screen.
    screens: screen::Screens,
    sounds: Arc<sounds::CourtSounds>,
    /// Each participant's rendition of the composite (`media::rendition`).
    renditions: Mutex<HashMap<ParticipantId, Arc<Mutex<RenditionChoice>>>>,
    feeds: Arc<Feeds>,
    monitor: Arc<Monitor>,
    workers: Workers,
    ticker: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// `hearing{id}`: its threads and its recording's log under it.
    span: tracing::Span,
}

impl std::fmt::Debug for Hearing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hearing")
            .field("id", &self.record.id)
            .finish_non_exhaustive()
    }
}

/// What the hearings on one node share: the GPU they render on, and the frame pace they keep
/// together when the node falls behind ([`pace`]).
#[derive(Debug, Clone)]
pub struct NodeShare {
    /// The render device.
    pub gpu: Arc<Gpu>,
    /// The node's frame pace.
    pub pace: Arc<FramePace>,
}

impl Hearing {
    /// Starts a hearing on an event channel of its own: loads its layout, opens the
    /// compositor and encoder, starts ticking and its workers.
    pub fn start(
        record: HearingRecord,
        settings: Arc<Settings>,
        gpu: Arc<Gpu>,
    ) -> Result<Arc<Self>, HearingError> {
        Self::start_on(record, settings, gpu, EventChannel::default())
    }

    /// [`Hearing::start`], sending its events on `events` (the [`Docket`]'s channel for the
    /// hearing's id, which pages waiting for the opening already listen to).
    pub fn start_on(
        record: HearingRecord,
        settings: Arc<Settings>,
        gpu: Arc<Gpu>,
        events: EventChannel,
    ) -> Result<Arc<Self>, HearingError> {
        let node = NodeShare {
            gpu,
            pace: Arc::new(FramePace::new(settings.capacity.shed_evenly)),
        };
        Self::start_in(record, settings, node, events, RecordingEnv::default())
    }

    /// [`Hearing::start_on`] on a node's shared parts (`node`: its GPU, and the frame pace
    /// that all its hearings keep together), its recordings signed and announced as `env` says
    /// (a cluster's shared key, the upload spool).
    pub fn start_in(
        record: HearingRecord,
        settings: Arc<Settings>,
        node: NodeShare,
        events: EventChannel,
        env: RecordingEnv,
    ) -> Result<Arc<Self>, HearingError> {
        let NodeShare { gpu, pace } = node;
        let span = tracing::info_span!("hearing", id = %record.id);
        // Every thread started here inherits the span.
        let _in_span = span.clone().entered();
        let layout = Layout::load(&settings.assets_dir(), &record.layout)?;
        let v = &settings.video;
        let mut compositor = Compositor::new(gpu, layout.clone(), v.width, v.height)?;
        compositor.draw_whole_frames(!settings.render.subject_rows);
        let clock_start = Instant::now();
        let away_after = Duration::from_millis(settings.hearing.away_after_ms);
        let seats = Arc::new(Seats::new(layout.seats.len(), away_after, events.clone()));
        let monitor = Arc::new(Monitor::new(&record.id, v.width, v.height));
        let repair_queue = RepairQueue::default();
        // The recording asks the encoder for keyframes; the encoder feeds the recording.
        let encoder_link: Arc<OnceLock<Weak<Output>>> = Arc::default();
        let request_keyframe = {
            let link = encoder_link.clone();
            Arc::new(move || {
                if let Some(output) = link.get().and_then(Weak::upgrade) {
                    output.force_keyframe();
                }
            })
        };
        let replay_bucket = env.replay_bucket.clone();
        let recording = Arc::new(Recording::new(
            record.clone(),
            settings.clone(),
            clock_start,
            seats.clone(),
            events.clone(),
            request_keyframe,
            env,
        ));
        let output = Arc::new(Output::start(
            EncoderConfig {
                width: v.width,
                height: v.height,
                fps: v.fps,
                bitrate_kbps: v.bitrate_kbps,
                keyframe_interval: v.fps * v.keyframe_interval_s,
            },
            recording.clone(),
            monitor.clone(),
            repair_queue.sink(),
        )?);
        let broadcast = {
            let link = encoder_link.clone();
            Arc::new(Broadcast::new(
                output.config(),
                &record.locale,
                Arc::new(move || {
                    if let Some(output) = link.get().and_then(Weak::upgrade) {
                        output.force_keyframe();
                    }
                }),
                settings.broadcast.replays.then(|| replay::ReplayPlace {
                    dir: replay::hearing_dir(&settings.data_dir, &record.id),
                    bucket: replay_bucket,
                }),
            ))
        };
        output.attach_broadcast(broadcast.clone());
        let _ = encoder_link.set(Arc::downgrade(&output));
        let feeds = Feeds::new(&record.id, repair_queue.sink());
        let workers = Workers::new(&record.id);
        workers.start_calibration(seats.clone());
        let framing = settings.hearing.face_framing.then(|| {
            workers.start_framing(
                seats
                    .all_media()
                    .iter()
                    .map(|s| s.frames().clone())
                    .collect(),
                layout.seats.iter().map(SeatTarget::for_seat).collect(),
            )
        });
        workers.start_repair(
            repair_queue,
            MediaRepair::new(
                &record.id,
                layout.seats.iter().map(|s| s.id.clone()).collect(),
                feeds.clone(),
                output.clone(),
                monitor.clone(),
                events.clone(),
            ),
        );
        let hearing = Arc::new(Self {
            settings: settings.clone(),
            layout: layout.clone(),
            events,
            audio: Arc::new(AudioForwarding::new(layout.seats.len())),
            camera: Arc::default(),
            seats,
            recording,
            output,
            broadcast,
            screens: screen::Screens::default(),
            exhibits: Arc::new(exhibits::Exhibits::open(exhibits::hearing_dir(
                &settings.data_dir,
                &record.id,
            ))),
            sounds: Arc::default(),
            renditions: Mutex::default(),
            feeds,
            monitor,
            workers,
            ticker: Mutex::new(None),
            record,
            span: span.clone(),
        });
        let tick = ticker::Tick {
            hearing: hearing.record.id.clone(),
            locale: hearing.record.locale.clone(),
            fps: v.fps,
            away_after,
            clock_start,
            layout,
            seats: hearing.seats.clone(),
            audio: hearing.audio.clone(),
            camera: hearing.camera.clone(),
            recording: hearing.recording.clone(),
            output: hearing.output.clone(),
            broadcast: hearing.broadcast.clone(),
            display: hearing.exhibits.display(),
            sounds: hearing.sounds.clone(),
            monitor: hearing.monitor.clone(),
            framing,
            stop: hearing.workers.stop_signal(),
            pace,
            still_frame_every: Duration::from_millis(settings.video.still_frame_ms),
        };
        let handle = std::thread::Builder::new()
            .name(format!("tick-{}", hearing.record.id))
            .spawn(move || span.in_scope(|| ticker::run(tick, compositor)))
            .expect("spawn compositor thread");
        *hearing.ticker.lock().expect("ticker lock") = Some(handle);
        tracing::info!(hearing = %hearing.record.id, "hearing started");
        Ok(hearing)
    }

    // --- the scene -----------------------------------------------------------------------

    /// Locks the live camera on a view of the layout (`wide`, a preset such as `bench`, or
    /// `speaker:SEAT`), or with `None` hands it to the automatic director, which cuts to
    /// whoever speaks. Takes effect on the next tick; an unknown view is refused.
    pub fn lock_view(&self, view: Option<String>) -> Result<(), HearingError> {
        if let Some(v) = &view {
            self.layout.camera_for(v).ok_or_else(|| {
                RenderError::Layout(format!(
                    "no view {v:?}; views: {}",
                    self.layout.view_names().join(", ")
                ))
            })?;
        }
        self.camera.lock(view);
        Ok(())
    }

    /// The view on air, and the locked view if the clerk locked one.
    pub fn view(&self) -> (String, Option<String>) {
        (self.camera.on_air(), self.camera.locked())
    }

    /// The public broadcast of this hearing.
    pub fn broadcast(&self) -> &Arc<Broadcast> {
        &self.broadcast
    }

    /// The scene layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Number of audio slots a participant's page opens: one per seat.
    pub fn audio_slots(&self) -> usize {
        self.seats.len()
    }

    /// A seat's media. Panics on an index outside the layout.
    pub fn seat(&self, index: usize) -> &SeatMedia {
        self.seats.media(index)
    }

    /// Each seat's screen region in the composite.
    pub fn seat_boxes(&self) -> Vec<ScreenBox> {
        self.layout
            .screen_boxes(self.settings.video.width, self.settings.video.height)
    }

    // --- seats and roster ----------------------------------------------------------------

    /// Seats a participant; a replaced older connection is told through [`HearingEvent::Replaced`].
    pub fn join(&self, admission: Admission) -> Result<Joined, HearingError> {
        let joined = self.seats.join(admission)?;
        if let Some(old) = joined.replaced {
            self.detach(old);
            self.events.send(HearingEvent::Replaced(old));
        }
        self.recording.note_seated();
        self.seats.publish_roster();
        Ok(joined)
    }

    /// Removes a participant and empties their seat, unless someone newer holds it.
    pub fn leave(&self, id: ParticipantId) {
        if self.seats.leave(id) {
            self.recording.note_seated();
            self.seats.publish_roster();
        }
        self.detach(id);
    }

    fn detach(&self, id: ParticipantId) {
        self.audio.remove_listener(id);
        self.monitor.forget(id);
        self.recording.participant_left(id);
        self.renditions.lock().expect("renditions lock").remove(&id);
        // Their pipelines and connection close now: give the memory back once they have.
        crate::malloc::give_back_soon();
    }

    /// Whether `id` is still the seated connection (not replaced, not left).
    pub fn is_seated(&self, id: ParticipantId) -> bool {
        self.seats.is_seated(id)
    }

    /// The seated participant's admission.
    pub fn admission(&self, id: ParticipantId) -> Option<Admission> {
        self.seats.admission(id)
    }

    /// The current roster.
    pub fn roster(&self) -> Vec<RosterEntry> {
        self.seats.roster()
    }

    /// Removes a participant at the clerk's request: their seat empties, and their signalling
    /// session is closed (it is sent [`HearingEvent::Replaced`], which ends it). Returns
    /// `false` when `id` was not seated.
    pub fn remove(&self, id: ParticipantId) -> bool {
        let seat = self.admission(id).map(|a| a.seat);
        if let Some(seat) = seat.filter(|s| *s != NO_SEAT) {
            self.audio.set_muted(seat, false);
        }
        self.leave(id);
        self.events.send(HearingEvent::Replaced(id));
        seat.is_some()
    }

    /// Records what the auto key found wrong with seat `seat`'s green screen (or that it is
    /// fine) and tells that seat's participant; the clerk sees it with the seat's key settings.
    pub fn report_screen(&self, seat: usize, warning: Option<ScreenWarning>) {
        self.seats.report_screen(seat, warning);
    }

    // --- events --------------------------------------------------------------------------

    /// Subscribes to this hearing's events.
    pub fn subscribe_events(&self) -> broadcast::Receiver<HearingEvent> {
        self.events.subscribe()
    }

    /// Asks participant `to` to speak, on behalf of a judge.
    pub fn cue(&self, to: ParticipantId, from_name: &str, from_role: Role) {
        self.events.send(HearingEvent::Cue {
            to,
            from_name: from_name.to_owned(),
            from_role,
        });
    }

    // --- media in ------------------------------------------------------------------------

    /// Opens the way into the hearing for `participant`'s received track (camera,
    /// microphone, or a shared screen into `screen`, its slot from
    /// [`Hearing::screen_opened`]) of MIME type `mime`, negotiated as `payload_type`, from
    /// seat `seat`: builds its decoder. Call it on the track's first packet.
    pub fn open_track(
        &self,
        participant: ParticipantId,
        seat: usize,
        track: TrackKind,
        screen: Option<&Arc<crate::media::frame::FrameSlot>>,
        mime: &str,
        payload_type: u8,
    ) -> Result<TrackFeed, HearingError> {
        let target = FeedTarget {
            seat,
            media: self.seats.media(seat),
            screen,
        };
        Ok(self
            .feeds
            .open(participant, target, track, mime, payload_type)?)
    }

    /// Registers where forwarded audio for this participant goes.
    pub fn add_listener(&self, id: ParticipantId, tx: mpsc::Sender<ForwardedAudio>) {
        self.audio.add_listener(id, tx);
    }

    /// Forwards one microphone packet from `from` (seated at `seat`) to everyone else.
    /// Never waits: a listener that cannot keep up loses the packet, not the speaker.
    pub fn forward_audio(&self, from: ParticipantId, seat: usize, packet: rtc::rtp::Packet) {
        self.audio.forward(from, seat, packet);
    }

    /// Mutes or unmutes a seated participant's microphone for everyone else (forwarding stops,
    /// and the recording's mix leaves the seat out). Returns `false` when `id` is not seated.
    pub fn set_muted(&self, id: ParticipantId, muted: bool) -> bool {
        let Some(seat) = self.admission(id).map(|a| a.seat) else {
            return false;
        };
        if seat == NO_SEAT {
            // An observer has no microphone.
            return false;
        }
        self.audio.set_muted(seat, muted);
        true
    }

    /// Whether the seat of participant `id` is muted (`false` when not seated).
    pub fn is_muted(&self, id: ParticipantId) -> bool {
        self.admission(id)
            .is_some_and(|a| a.seat != NO_SEAT && self.audio.is_muted(a.seat))
    }

    /// Keeps one RTP packet of a participant's camera or microphone, exactly as received, in
    /// the running recording's originals (`original-SEAT-pID-video.webm`, ...). Call it for
    /// every received packet with the track's negotiated MIME type; does nothing when not
    /// recording or for codecs it cannot store. Never waits.
    pub fn keep_original(&self, id: ParticipantId, mime: &str, rtp: &[u8]) {
        self.recording.keep_original(id, mime, rtp);
    }

    // --- media out -----------------------------------------------------------------------

    /// Subscribes to the encoded composite.
    pub fn subscribe_video(&self) -> broadcast::Receiver<Arc<EncodedFrame>> {
        self.output.subscribe()
    }

    /// Asks the encoder for a keyframe (a participant started receiving).
    pub fn request_keyframe(&self) {
        self.output.force_keyframe();
    }

    /// Subscribes to the encoded composite in `codec` (see [`output::Output::subscribe_codec`]:
    /// a VP8 subscription keeps the hearing's one VP8 encoder running until it is dropped).
    /// May build a pipeline: call it where blocking briefly is fine.
    pub fn subscribe_composite(&self, codec: VideoCodec) -> Result<CompositeFeed, HearingError> {
        Ok(self.output.subscribe_codec(codec)?)
    }

    /// Which rendition of the composite `id` gets (kept across their reconnections, forgotten
    /// when they leave).
    pub fn rendition_choice(&self, id: ParticipantId) -> Arc<Mutex<RenditionChoice>> {
        self.renditions
            .lock()
            .expect("renditions lock")
            .entry(id)
            .or_insert_with(|| {
                Arc::new(Mutex::new(RenditionChoice::new(
                    self.settings.video.bitrate_kbps,
                )))
            })
            .clone()
    }

    /// Tells participant `id` which rendition of the composite they are now sent (their page
    /// says so beside its link quality).
    pub fn announce_rendition(&self, id: ParticipantId, reduced: bool) {
        self.events
            .send(HearingEvent::Rendition { to: id, reduced });
    }

    /// Subscribes to the composite's reduced rendition in `codec`, for a receiver on a slow or
    /// lossy link (see [`output::Output::subscribe_reduced`]).
    pub fn subscribe_reduced(&self, codec: VideoCodec) -> Result<CompositeFeed, HearingError> {
        Ok(self.output.subscribe_reduced(codec)?)
    }

    /// Asks the encoder of the reduced rendition in `codec` for a keyframe.
    pub fn request_keyframe_reduced(&self, codec: VideoCodec) {
        self.output.force_keyframe_reduced(codec);
    }

    /// Asks the encoder of `codec` for a keyframe (a receiver of it started, or sent a PLI).
    pub fn request_keyframe_for(&self, codec: VideoCodec) {
        self.output.force_keyframe_for(codec);
    }

    /// How many participants receive the composite in VP8, and whether its encoder runs.
    pub fn vp8_state(&self) -> (usize, bool) {
        self.output.vp8_state()
    }

    /// Composite frames waiting at the H.264 encoder's input (the metrics' encoder queue).
    pub fn encoder_queue(&self) -> u64 {
        self.output.encoder_queue()
    }

    /// The seat of the person invited by `invitation`, if they are seated.
    fn seat_of_invitation(&self, invitation: &str) -> Option<usize> {
        self.seats.occupants().iter().position(|o| {
            o.as_ref()
                .is_some_and(|s| s.admission.invitation_id == invitation)
        })
    }

    /// Notes a moment of the court's (`event`, by `actor`) in the running recording's
    /// manifest, at the hearing's media time.
    fn note_moment(&self, event: &str, actor: &str) {
        if let Some(active) = self.recording.current() {
            active
                .recorder
                .note_event(event, actor, self.recording.media_time());
        }
    }

    // --- lifecycle -----------------------------------------------------------------------

    /// Finalises any recording, then stops the compositor and the workers and waits for them.
    /// Blocking.
    pub fn shutdown(&self) -> Result<Option<Manifest>, HearingError> {
        self.broadcast.end();
        let manifest = self.stop_recording();
        self.workers.signal_stop();
        let ticker = self.ticker.lock().expect("ticker lock").take();
        if let Some(handle) = ticker {
            let _ = handle.join();
        }
        self.workers.shutdown();
        manifest
    }
}

impl Drop for Hearing {
    /// A hearing dropped without [`Hearing::shutdown`] still stops its tick and workers.
    fn drop(&mut self) {
        self.workers.signal_stop();
    }
}
