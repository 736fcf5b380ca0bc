//! One live hearing: its seated participants, the per-seat media they feed, the compositor
//! tick ([`ticker`]), the one encoder, and the recording.
//!
//! [`core`] holds the pure state machine; this module wraps it with the media it drives.
//! Network tasks only touch [`FrameSlot`]s, [`AudioInput`]s and channels, so slow rendering
//! never blocks them.

pub mod core;
pub mod latency;
pub mod ticker;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, mpsc};

pub use self::core::{Admission, HearingCore, JoinError, Joined, ParticipantId, RosterEntry};
use crate::config::Settings;
use crate::keying::ScreenWarning;
use crate::media::audio_mix::AudioInput;
use crate::media::encoder::{EncodedFrame, Encoder, EncoderConfig};
use crate::media::frame::FrameSlot;
use crate::media::MediaError;
use crate::record::segment::VideoFormat;
use crate::record::{
    Manifest, RecordError, Recorder, RecorderOptions, RecordingInfo, RecordingKey,
    SeatedParticipant,
};
use crate::render::{Compositor, Gpu, KeyParams, Layout, RenderError, ScreenBox};
pub use crate::role::Role;
use crate::store::HearingRecord;

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

/// What a hearing tells the sessions attached to it.
#[derive(Debug, Clone)]
pub enum HearingEvent {
    /// Who is seated changed, or someone went away or came back.
    Roster(Vec<RosterEntry>),
    /// Recording started (`true`) or stopped.
    Recording(bool),
    /// The running recording was paused (`true`) or resumed (`false`).
    RecordingPaused(bool),
    /// This participant's connection was replaced by a newer join with the same invitation.
    Replaced(ParticipantId),
    /// The auto key found a problem with a seat's green screen (too dark, uneven), or with
    /// `None` that it is fine again: the person in that seat is told how to fix it.
    ScreenHint {
        /// The seat's index.
        seat: usize,
        /// What is wrong, if anything.
        warning: Option<ScreenWarning>,
    },
}

/// One participant's microphone packet, forwarded unchanged to the others.
#[derive(Debug, Clone)]
pub struct ForwardedAudio {
    /// The speaker's seat index: the listener plays it on that audio slot.
    pub seat: usize,
    /// The RTP packet as received.
    pub packet: rtc::rtp::Packet,
}

/// The media a seat feeds into the compositor and the mix.
#[derive(Debug, Default)]
pub struct SeatMedia {
    /// Newest decoded camera frame.
    pub frames: Arc<FrameSlot>,
    /// Decoded microphone.
    pub audio: Arc<AudioInput>,
    /// Key parameters.
    pub key: Mutex<KeyParams>,
    /// Muted by the clerk or the presiding judge: the others no longer hear this seat.
    pub muted: AtomicBool,
    /// What the auto key last found wrong with this seat's green screen.
    pub screen_warning: Mutex<Option<ScreenWarning>>,
    /// Per-channel gain (brightness times white balance) matching this seat's person to the
    /// room (render::look), once measured.
    pub gain: Mutex<Option<[f32; 3]>>,
}

struct ActiveRecording {
    recorder: Arc<Recorder>,
    id: String,
    /// Each participant's received tracks, by participant and `video`/`audio`; `None` where
    /// the writer could not start (not retried).
    originals: Mutex<HashMap<(ParticipantId, &'static str), Option<KeptOriginal>>>,
}

struct KeptOriginal {
    writer: crate::record::originals::OriginalWriter,
    mime: String,
    who: SeatedParticipant,
}

/// Closes the original tracks and describes them for the manifest.
fn close_originals(
    originals: HashMap<(ParticipantId, &'static str), Option<KeptOriginal>>,
) -> Vec<crate::record::manifest::OriginalEntry> {
    let mut out = Vec::new();
    for kept in originals.into_values().flatten() {
        let path = kept.writer.path().to_owned();
        let kind = kept.writer.codec().kind().to_owned();
        let complete = kept.writer.finish(Duration::from_secs(5)).is_ok();
        match crate::record::manifest::sha256_file(&path) {
            Ok((size, sha256)) => out.push(crate::record::manifest::OriginalEntry {
                file: path
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default(),
                size,
                sha256,
                kind,
                codec: kept.mime,
                participant: kept.who,
                complete,
            }),
            Err(e) => tracing::error!(file = %path.display(), "cannot hash an original: {e}"),
        }
    }
    out.sort_by(|a, b| a.file.cmp(&b.file));
    out
}

/// Waits until the streaming threads let go of the recorder, then seals it.
fn finish_recorder(
    mut recorder: Arc<Recorder>,
) -> Result<crate::record::recorder::Finished, RecordError> {
    let recorder = loop {
        match Arc::try_unwrap(recorder) {
            Ok(r) => break r,
            Err(shared) => {
                recorder = shared;
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    };
    recorder.finish(Duration::from_secs(15))
}

/// Counters of the compositor tick, for the monitor and benchmarks.
#[derive(Debug, Default)]
pub struct TickStats {
    /// Ticks rendered.
    pub ticks: AtomicU64,
    /// Ticks that finished after their deadline.
    pub late: AtomicU64,
    /// Frame arrival → encoded composite.
    pub latency: Mutex<latency::LatencyTracker>,
}

/// A live hearing.
pub struct Hearing {
    /// What the store knows of it.
    pub record: HearingRecord,
    settings: Arc<Settings>,
    layout: Layout,
    core: Mutex<HearingCore>,
    seats: Vec<SeatMedia>,
    encoder: Arc<Encoder>,
    encoded: broadcast::Sender<Arc<EncodedFrame>>,
    events: broadcast::Sender<HearingEvent>,
    listeners: Mutex<HashMap<ParticipantId, mpsc::Sender<ForwardedAudio>>>,
    client_stats: Mutex<HashMap<ParticipantId, serde_json::Value>>,
    recording: Arc<Mutex<Option<ActiveRecording>>>,
    /// Media time zero of this hearing: the compositor's first tick.
    clock_start: Instant,
    stop: AtomicBool,
    ticker: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Tick counters and pipeline latency.
    pub tick_stats: Arc<TickStats>,
    /// The clerk's view lock: `Some(view)` holds that view, `None` lets the director choose
    /// by audio level. Starts on `wide`.
    view_lock: Mutex<Option<String>>,
    /// The view on air, as last chosen by the ticker's director.
    view: Mutex<String>,
    /// The newest composite, kept only while a monitor asks for it ([`Hearing::latest_composite`]).
    composite: Mutex<CompositeKeeper>,
}

impl Hearing {
    /// Starts a hearing: loads its layout, opens the compositor and encoder, starts ticking.
    pub fn start(
        record: HearingRecord,
        settings: Arc<Settings>,
        gpu: Arc<Gpu>,
    ) -> Result<Arc<Self>, HearingError> {
        let layout = Layout::load(&settings.assets_dir(), &record.layout)?;
        let v = &settings.video;
        let compositor = Compositor::new(gpu, layout.clone(), v.width, v.height)?;
        let (encoded, _) = broadcast::channel(64);
        let recording: Arc<Mutex<Option<ActiveRecording>>> = Arc::default();
        let fanout = encoded.clone();
        let tick_stats = Arc::new(TickStats::default());
        let stats = tick_stats.clone();
        let rec = recording.clone();
        let encoder = Encoder::new(
            EncoderConfig {
                width: v.width,
                height: v.height,
                fps: v.fps,
                bitrate_kbps: v.bitrate_kbps,
                keyframe_interval: v.fps * v.keyframe_interval_s,
            },
            move |frame| {
                if let Some(active) = rec.lock().expect("recording lock").as_ref() {
                    active.recorder.push_video(&frame);
                }
                stats
                    .latency
                    .lock()
                    .expect("latency lock")
                    .encoded(frame.pts, Instant::now());
                // Nobody listening is fine: the hearing may be empty.
                let _ = fanout.send(Arc::new(frame));
            },
        )?;
        let seats = layout.seats.iter().map(|_| SeatMedia::default()).collect();
        let hearing = Arc::new(Self {
            record,
            settings,
            layout,
            core: Mutex::default(),
            seats,
            encoder: Arc::new(encoder),
            encoded,
            events: broadcast::channel(64).0,
            listeners: Mutex::default(),
            client_stats: Mutex::default(),
            recording,
            clock_start: Instant::now(),
            stop: AtomicBool::new(false),
            ticker: Mutex::new(None),
            tick_stats,
            view_lock: Mutex::new(Some(crate::render::layout::WIDE_VIEW.to_string())),
            view: Mutex::new(crate::render::layout::WIDE_VIEW.to_string()),
            composite: Mutex::default(),
        });
        let runner = hearing.clone();
        let handle = std::thread::Builder::new()
            .name(format!("tick-{}", hearing.record.id))
            .spawn(move || ticker::run(runner, compositor))
            .expect("spawn compositor thread");
        *hearing.ticker.lock().expect("ticker lock") = Some(handle);
        tracing::info!(hearing = %hearing.record.id, "hearing started");
        Ok(hearing)
    }

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
        *self.view_lock.lock().expect("view lock") = view;
        Ok(())
    }

    /// The view on air, and the locked view if the clerk locked one.
    pub fn view(&self) -> (String, Option<String>) {
        (
            self.view.lock().expect("view").clone(),
            self.view_lock.lock().expect("view lock").clone(),
        )
    }

    /// The scene layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Number of audio slots a participant's page opens: one per seat.
    pub fn audio_slots(&self) -> usize {
        self.seats.len()
    }

    /// A seat's media.
    pub fn seat(&self, index: usize) -> &SeatMedia {
        &self.seats[index]
    }

    /// Each seat's screen region in the composite.
    pub fn seat_boxes(&self) -> Vec<ScreenBox> {
        self.layout
            .screen_boxes(self.settings.video.width, self.settings.video.height)
    }

    /// Subscribes to the encoded composite.
    pub fn subscribe_video(&self) -> broadcast::Receiver<Arc<EncodedFrame>> {
        self.encoded.subscribe()
    }

    /// Subscribes to roster and recording events.
    pub fn subscribe_events(&self) -> broadcast::Receiver<HearingEvent> {
        self.events.subscribe()
    }

    /// Asks the encoder for a keyframe (a participant started receiving).
    pub fn request_keyframe(&self) {
        self.encoder.force_keyframe();
    }

    /// Seats a participant; a replaced older connection is told through [`HearingEvent::Replaced`].
    pub fn join(&self, admission: Admission) -> Result<Joined, HearingError> {
        let joined = self
            .core
            .lock()
            .expect("core lock")
            .join(admission, Instant::now())?;
        if let Some(old) = joined.replaced {
            self.detach(old);
            let _ = self.events.send(HearingEvent::Replaced(old));
        }
        self.note_seated();
        self.publish_roster();
        Ok(joined)
    }

    /// Removes a participant and empties their seat, unless someone newer holds it.
    pub fn leave(&self, id: ParticipantId) {
        let seat = self
            .core
            .lock()
            .expect("core lock")
            .get(id)
            .map(|s| s.admission.seat);
        if self.core.lock().expect("core lock").leave(id) {
            if let Some(seat) = seat {
                self.seats[seat].frames.clear();
                self.seats[seat].audio.clear();
            }
            self.note_seated();
            self.publish_roster();
        }
        self.detach(id);
    }

    fn detach(&self, id: ParticipantId) {
        self.listeners.lock().expect("listeners lock").remove(&id);
        self.client_stats.lock().expect("stats lock").remove(&id);
    }

    /// Whether `id` is still the seated connection (not replaced, not left).
    pub fn is_seated(&self, id: ParticipantId) -> bool {
        self.core.lock().expect("core lock").get(id).is_some()
    }

    /// The seated participant's admission.
    pub fn admission(&self, id: ParticipantId) -> Option<Admission> {
        self.core
            .lock()
            .expect("core lock")
            .get(id)
            .map(|s| s.admission.clone())
    }

    /// Registers where forwarded audio for this participant goes.
    pub fn add_listener(&self, id: ParticipantId, tx: mpsc::Sender<ForwardedAudio>) {
        self.listeners
            .lock()
            .expect("listeners lock")
            .insert(id, tx);
    }

    /// Forwards one microphone packet from `from` (seated at `seat`) to everyone else.
    /// Never waits: a listener that cannot keep up loses the packet, not the speaker.
    pub fn forward_audio(&self, from: ParticipantId, seat: usize, packet: rtc::rtp::Packet) {
        if self.seats[seat].muted.load(Ordering::Relaxed) {
            return;
        }
        let listeners = self.listeners.lock().expect("listeners lock");
        for (id, tx) in listeners.iter() {
            if *id != from {
                let _ = tx.try_send(ForwardedAudio {
                    seat,
                    packet: packet.clone(),
                });
            }
        }
    }

    /// Mutes or unmutes a seated participant's microphone for everyone else (forwarding stops;
    /// see [`SeatMedia::muted`]). Returns `false` when `id` is not seated.
    pub fn set_muted(&self, id: ParticipantId, muted: bool) -> bool {
        let Some(seat) = self.admission(id).map(|a| a.seat) else {
            return false;
        };
        self.seats[seat].muted.store(muted, Ordering::Relaxed);
        true
    }

    /// Removes a participant at the clerk's request: their seat empties, and their signalling
    /// session is closed (it is sent [`HearingEvent::Replaced`], which ends it). Returns
    /// `false` when `id` was not seated.
    pub fn remove(&self, id: ParticipantId) -> bool {
        let seated = self.is_seated(id);
        if let Some(seat) = self.admission(id).map(|a| a.seat) {
            self.seats[seat].muted.store(false, Ordering::Relaxed);
        }
        self.leave(id);
        let _ = self.events.send(HearingEvent::Replaced(id));
        seated
    }

    /// Stores a participant's latest client statistics (from their page).
    pub fn set_client_stats(&self, id: ParticipantId, stats: serde_json::Value) {
        self.client_stats
            .lock()
            .expect("stats lock")
            .insert(id, stats);
    }

    /// Latest client statistics per participant.
    pub fn client_stats(&self) -> HashMap<ParticipantId, serde_json::Value> {
        self.client_stats.lock().expect("stats lock").clone()
    }

    /// The current roster.
    pub fn roster(&self) -> Vec<RosterEntry> {
        let away_after = Duration::from_millis(self.settings.hearing.away_after_ms);
        let core = self.core.lock().expect("core lock");
        core.roster(Instant::now(), away_after, |seat| {
            self.seats[seat].frames.latest().map(|(_, f)| f.arrived)
        })
    }

    /// Records what the auto key found wrong with seat `seat`'s green screen (or that it is
    /// fine) and tells that seat's participant; the clerk sees it with the seat's key settings.
    pub fn report_screen(&self, seat: usize, warning: Option<ScreenWarning>) {
        if let Some(media) = self.seats.get(seat) {
            *media.screen_warning.lock().expect("screen warning lock") = warning;
        }
        let _ = self.events.send(HearingEvent::ScreenHint { seat, warning });
    }

    fn publish_roster(&self) {
        let _ = self.events.send(HearingEvent::Roster(self.roster()));
    }

    /// The folder and state of the current recording, if any.
    pub fn recording_dir(&self) -> Option<PathBuf> {
        self.recording
            .lock()
            .expect("recording lock")
            .as_ref()
            .map(|a| a.recorder.dir().to_owned())
    }

    /// Who is seated now, as the recording lists them.
    fn seated_now(&self) -> Vec<SeatedParticipant> {
        self.core
            .lock()
            .expect("core lock")
            .seated()
            .map(|(_, s)| SeatedParticipant {
                role: s.admission.role.to_string(),
                seat: s.admission.seat_id.clone(),
                name: s.admission.name.clone(),
            })
            .collect()
    }

    /// Tells the recording who is seated, so each segment's entry lists them.
    fn note_seated(&self) {
        let recorder = self
            .recording
            .lock()
            .expect("recording lock")
            .as_ref()
            .map(|a| a.recorder.clone());
        if let Some(recorder) = recorder {
            recorder.set_seated(self.seated_now());
        }
    }

    /// Starts recording into `DATA/recordings/<hearing>/<recording>/`: segments of
    /// `record.segment_seconds`, a hash-chained manifest signed with the data folder's
    /// recording key. Returns the recording id. If the recording fails for good (a full
    /// disk), it is sealed as `failed`, everyone is told it stopped, and the hearing goes on.
    pub fn start_recording(&self) -> Result<String, HearingError> {
        self.start_recording_by(crate::record::recorder::SERVER_ACTOR)
    }

    /// [`Hearing::start_recording`], noting `actor` (an account, an invitation) as who
    /// started it in the manifest.
    pub fn start_recording_by(&self, actor: &str) -> Result<String, HearingError> {
        let mut slot = self.recording.lock().expect("recording lock");
        if let Some(active) = slot.as_ref() {
            return Ok(active.id.clone());
        }
        let now = chrono::Utc::now();
        let id = format!(
            "{}-{}",
            now.format("%Y%m%dT%H%M%SZ"),
            &crate::api::auth::random_id()[..6]
        );
        let dir = self
            .settings
            .recordings_dir()
            .join(&self.record.id)
            .join(&id);
        let key = RecordingKey::load_or_create(&self.settings.data_dir)?;
        let v = &self.settings.video;
        let encoder = Arc::downgrade(&self.encoder);
        let on_failure = {
            let slot = self.recording.clone();
            let events = self.events.clone();
            let (hearing, id) = (self.record.id.clone(), id.clone());
            Arc::new(move |reason: String| {
                let active = {
                    let mut slot = slot.lock().expect("recording lock");
                    match slot.as_ref() {
                        Some(a) if a.id == id => slot.take(),
                        _ => None,
                    }
                };
                let Some(active) = active else { return };
                let _ = events.send(HearingEvent::Recording(false));
                tracing::error!(hearing = %hearing, recording = %id, "recording stopped: {reason}; the hearing goes on");
                // Sealing waits for this (the closer) thread, so it runs on another.
                let hearing = hearing.clone();
                let _ = std::thread::Builder::new()
                    .name("rec-failed".into())
                    .spawn(move || {
                        if let Err(e) = finish_recorder(active.recorder) {
                            tracing::error!(hearing = %hearing, "failed recording did not seal: {e}");
                        }
                    });
            }) as crate::record::recorder::FailureCallback
        };
        let mut opts = RecorderOptions::new(
            VideoFormat {
                width: v.width,
                height: v.height,
                fps: v.fps,
            },
            self.clock_start.elapsed(),
            RecordingInfo {
                recording_id: id.clone(),
                hearing_id: self.record.id.clone(),
                case_number: self.record.case_number.clone(),
                started_at: now,
                seated: self.seated_now(),
            },
        );
        opts.segment = Duration::from_secs(self.settings.record.segment_seconds as u64);
        opts.key = Some(Arc::new(key));
        opts.request_keyframe = Some(Arc::new(move || {
            if let Some(encoder) = encoder.upgrade() {
                encoder.force_keyframe();
            }
        }));
        opts.on_failure = Some(on_failure);
        opts.started_by = actor.to_owned();
        let r = &self.settings.record;
        opts.tsa = (!r.tsa_url.is_empty()).then(|| crate::record::timestamp::TsaOptions {
            url: r.tsa_url.clone(),
            timeout: Duration::from_secs(r.tsa_timeout_seconds as u64),
        });
        let recorder = Recorder::with_options(&dir, opts)?;
        *slot = Some(ActiveRecording {
            recorder: Arc::new(recorder),
            id: id.clone(),
            originals: Mutex::default(),
        });
        drop(slot);
        self.encoder.force_keyframe();
        let _ = self.events.send(HearingEvent::Recording(true));
        tracing::info!(hearing = %self.record.id, recording = %id, dir = %dir.display(), "recording started");
        Ok(id)
    }

    /// Keeps one RTP packet of a participant's camera or microphone, exactly as received, in
    /// the running recording's originals (`original-SEAT-pID-video.webm`, ...). Call it for
    /// every received packet with the track's negotiated MIME type; does nothing when not
    /// recording or for codecs it cannot store.
    pub fn keep_original(&self, id: ParticipantId, mime: &str, rtp: &[u8]) {
        let Some(codec) = crate::record::originals::OriginalCodec::from_mime(mime) else {
            return;
        };
        if rtp.len() < 12 {
            return;
        }
        let slot = self.recording.lock().expect("recording lock");
        let Some(active) = slot.as_ref() else {
            return;
        };
        if active.recorder.is_paused() {
            return;
        }
        let mut originals = active.originals.lock().expect("originals lock");
        let kept = originals.entry((id, codec.kind())).or_insert_with(|| {
            let admission = self.admission(id)?;
            let file =
                crate::record::originals::file_name(&admission.seat_id, id, codec);
            let path = active.recorder.dir().join(file);
            match crate::record::originals::OriginalWriter::start(&path, codec, rtp[1] & 0x7f) {
                Ok(writer) => Some(KeptOriginal {
                    writer,
                    mime: mime.to_owned(),
                    who: SeatedParticipant {
                        role: admission.role.to_string(),
                        seat: admission.seat_id.clone(),
                        name: admission.name.clone(),
                    },
                }),
                Err(e) => {
                    tracing::error!(hearing = %self.record.id, participant = id, "cannot keep the original {mime}: {e}");
                    None
                }
            }
        });
        if let Some(kept) = kept {
            kept.writer.push_rtp(rtp.to_vec());
        }
    }

    /// Whether a recording is running.
    pub fn is_recording(&self) -> bool {
        self.recording.lock().expect("recording lock").is_some()
    }

    /// Stops the recording: everything up to this instant is written (the last second is
    /// never clipped), the last segment is closed, and the manifest is sealed and signed.
    /// Blocking: call from a blocking context.
    pub fn stop_recording(&self) -> Result<Option<Manifest>, HearingError> {
        self.stop_recording_by(crate::record::recorder::SERVER_ACTOR)
    }

    /// Whether the running recording is paused.
    pub fn recording_paused(&self) -> bool {
        self.recording
            .lock()
            .expect("recording lock")
            .as_ref()
            .is_some_and(|a| a.recorder.is_paused())
    }

    /// The running recording's recorder and id, if one runs (the lock is not held after).
    fn active_recorder(&self) -> Option<(Arc<Recorder>, String)> {
        self.recording
            .lock()
            .expect("recording lock")
            .as_ref()
            .map(|a| (a.recorder.clone(), a.id.clone()))
    }

    /// Pauses the running recording now, noting `actor` in the manifest: the current segment
    /// is closed once media up to now is written, and nothing is recorded until
    /// [`Hearing::resume_recording`]. Blocking (up to about 3 s). Returns the recording id and
    /// whether this call paused it (`false`: it already was), or `None` when not recording.
    pub fn pause_recording(&self, actor: &str) -> Option<(String, bool)> {
        let (recorder, id) = self.active_recorder()?;
        if !recorder.pause_by(self.clock_start.elapsed(), actor) {
            return Some((id, false));
        }
        recorder.wait_paused(Duration::from_secs(3));
        let _ = self.events.send(HearingEvent::RecordingPaused(true));
        tracing::info!(hearing = %self.record.id, recording = %id, %actor, "recording paused");
        Some((id, true))
    }

    /// Resumes a paused recording now, noting `actor` in the manifest; the next segment opens
    /// at the next keyframe. Returns the recording id and whether this call resumed it
    /// (`false`: it was not paused), or `None` when not recording.
    pub fn resume_recording(&self, actor: &str) -> Option<(String, bool)> {
        let (recorder, id) = self.active_recorder()?;
        if !recorder.resume_by(self.clock_start.elapsed(), actor) {
            return Some((id, false));
        }
        self.encoder.force_keyframe();
        let _ = self.events.send(HearingEvent::RecordingPaused(false));
        tracing::info!(hearing = %self.record.id, recording = %id, %actor, "recording resumed");
        Some((id, true))
    }

    /// [`Hearing::stop_recording`], noting `actor` as who stopped it in the manifest.
    pub fn stop_recording_by(&self, actor: &str) -> Result<Option<Manifest>, HearingError> {
        let Some(recorder) = self
            .recording
            .lock()
            .expect("recording lock")
            .as_ref()
            .map(|a| a.recorder.clone())
        else {
            return Ok(None);
        };
        // Media up to now is still in the encoder and the mixer: let it reach the file.
        recorder.stop_by(self.clock_start.elapsed(), actor);
        recorder.wait_until_written(Duration::from_secs(3));
        drop(recorder);
        let Some(active) = self.recording.lock().expect("recording lock").take() else {
            return Ok(None);
        };
        let _ = self.events.send(HearingEvent::Recording(false));
        let dir = active.recorder.dir().to_owned();
        let originals = active
            .originals
            .into_inner()
            .map(close_originals)
            .unwrap_or_default();
        active.recorder.add_originals(originals);
        let finished = finish_recorder(active.recorder)?;
        tracing::info!(hearing = %self.record.id, recording = %active.id, dir = %dir.display(), duration_s = finished.duration.as_secs_f64(), segments = finished.segments.len(), state = %finished.manifest.state, "recording finalised");
        Ok(Some(finished.manifest))
    }

    /// Stops the compositor and finalises any recording. Blocking.
    pub fn shutdown(&self) -> Result<Option<Manifest>, HearingError> {
        let manifest = self.stop_recording();
        self.stop.store(true, Ordering::SeqCst);
        if let Some(handle) = self.ticker.lock().expect("ticker lock").take() {
            let _ = handle.join();
        }
        manifest
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// One composite picture as the compositor drew it, kept for the clerk's live monitor.
#[derive(Debug)]
pub struct CompositeFrame {
    /// Rises with every kept picture, so a reader can tell a new picture from one it has seen.
    pub seq: u64,
    /// Width in pixels (the output width).
    pub width: u32,
    /// Height in pixels (the output height).
    pub height: u32,
    /// I420, tightly packed: the Y plane, then U, then V (each `width/2 × height/2`).
    pub i420: Vec<u8>,
    /// Media time of the tick that drew it.
    pub pts: Duration,
    /// When it was kept.
    pub kept_at: Instant,
}

/// What [`Hearing::offer_composite`] and [`Hearing::latest_composite`] share.
#[derive(Debug, Default)]
struct CompositeKeeper {
    /// Until when a monitor is watching: set by every [`Hearing::latest_composite`].
    wanted_until: Option<Instant>,
    seq: u64,
    latest: Option<Arc<CompositeFrame>>,
}

impl Hearing {
    /// How often, at most, the tick copies its picture for the monitor.
    pub const COMPOSITE_EVERY: Duration = Duration::from_millis(200);
    /// How long one [`Hearing::latest_composite`] call keeps pictures coming.
    pub const COMPOSITE_WANTED_FOR: Duration = Duration::from_secs(3);

    /// Offers the compositor's newest I420 picture (output size) to the live monitor. The
    /// ticker calls it with every rendered frame, before handing the frame to the encoder.
    /// Costs a lock and a comparison unless a monitor asked within
    /// [`Hearing::COMPOSITE_WANTED_FOR`]; then it copies at most one picture per
    /// [`Hearing::COMPOSITE_EVERY`]. Once nobody watches, the kept picture is dropped.
    pub fn offer_composite(&self, i420: &[u8], pts: Duration) {
        let now = Instant::now();
        {
            let mut keeper = self.composite.lock().expect("composite lock");
            if keeper.wanted_until.is_none_or(|until| now >= until) {
                keeper.wanted_until = None;
                keeper.latest = None;
                return;
            }
            if keeper
                .latest
                .as_ref()
                .is_some_and(|f| now.duration_since(f.kept_at) < Self::COMPOSITE_EVERY)
            {
                return;
            }
        }
        let (width, height) = (self.settings.video.width, self.settings.video.height);
        if i420.len() != (width * height * 3 / 2) as usize {
            tracing::warn!(hearing = %self.record.id, len = i420.len(), "composite of an unexpected size; not kept");
            return;
        }
        let mut frame = CompositeFrame {
            seq: 0,
            width,
            height,
            i420: i420.to_vec(),
            pts,
            kept_at: now,
        };
        let mut keeper = self.composite.lock().expect("composite lock");
        keeper.seq += 1;
        frame.seq = keeper.seq;
        keeper.latest = Some(Arc::new(frame));
    }

    /// The newest composite picture kept for the monitor, if any. Each call also asks the
    /// tick to keep pictures for the next [`Hearing::COMPOSITE_WANTED_FOR`], so the first call
    /// after a quiet spell returns `None` and the picture arrives within a tick or two.
    pub fn latest_composite(&self) -> Option<Arc<CompositeFrame>> {
        let mut keeper = self.composite.lock().expect("composite lock");
        keeper.wanted_until = Some(Instant::now() + Self::COMPOSITE_WANTED_FOR);
        keeper.latest.clone()
    }
}
