//! The recording lifecycle: start, pause, resume and stop, a recording that fails for good
//! (sealed as `failed` while the hearing goes on), and the originals kept beside it.
//!
//! The hot paths (the encoder's callback, the tick's audio mix, every received RTP packet)
//! only clone the running recording's `Arc` under a short lock ([`Recording::current`]).
//! Starting builds everything (the key, the recorder's pipeline and files, the originals'
//! keeper) with no lock held and then swaps the result in; stopping swaps it out first and
//! then closes it. A start or stop that finds another one under way waits on a condition
//! variable, not in a loop.
//!
//! Locks: `slot` (the phase and the running recording), held only to read or change it.

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::events::{EventChannel, HearingEvent};
use super::originals::Originals;
use super::seats::Seats;
use super::HearingError;
use crate::config::Settings;
use crate::ids::{random_id, ParticipantId};
use crate::record::credentials::{ContentCredentials, SegmentCredentials};
use crate::record::recorder::{Callback, FailureCallback, Finished, SegmentGap, SERVER_ACTOR};
use crate::record::segment::VideoFormat;
use crate::record::{
    Manifest, RecordError, Recorder, RecorderOptions, RecordingInfo, RecordingKey,
};

/// Where a hearing's recordings get their signing key, and who hears of each sealed segment.
#[derive(Clone, Default)]
pub struct RecordingEnv {
    /// The signing key; `None`: the data folder's (made on first use).
    pub key: Option<Arc<RecordingKey>>,
    /// Runs after each signed manifest is written (the upload spool picks the files up).
    pub on_sealed: Option<Callback>,
    /// The bucket replays are copied to (`broadcast.replays`), when there is one.
    pub replay_bucket: Option<super::replay::ReplayBucket>,
}

impl std::fmt::Debug for RecordingEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordingEnv")
            .field("key", &self.key)
            .field("on_sealed", &self.on_sealed.is_some())
            .field("replay_bucket", &self.replay_bucket)
            .finish()
    }
}

/// A running recording.
pub struct ActiveRecording {
    /// The recorder.
    pub recorder: Arc<Recorder>,
    /// Its id (`YYYYMMDDTHHMMSSZ-xxxxxx`).
    pub id: String,
    originals: Originals,
}

impl std::fmt::Debug for ActiveRecording {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActiveRecording")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Where the recording is in its lifecycle.
#[derive(Debug, Default)]
enum Phase {
    /// Not recording.
    #[default]
    Idle,
    /// A start is building the recording.
    Starting,
    /// Recording (possibly paused).
    Running(Arc<ActiveRecording>),
    /// A stop is letting the last media reach the files; the hot paths still feed it.
    Stopping(Arc<ActiveRecording>),
}

/// What the recording part shares with the recorder's failure callback.
#[derive(Debug)]
struct Shared {
    slot: Mutex<Phase>,
    changed: Condvar,
    events: EventChannel,
    hearing: String,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Phase> {
        self.slot.lock().expect("recording lock")
    }

    fn set(&self, phase: Phase) {
        *self.lock() = phase;
        self.changed.notify_all();
    }
}

/// The recording lifecycle of one hearing.
pub struct Recording {
    shared: Arc<Shared>,
    settings: Arc<Settings>,
    record: crate::store::HearingRecord,
    clock_start: Instant,
    seats: Arc<Seats>,
    request_keyframe: Callback,
    env: RecordingEnv,
}

impl std::fmt::Debug for Recording {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recording")
            .field("hearing", &self.record.id)
            .field("phase", &*self.shared.lock())
            .finish_non_exhaustive()
    }
}

impl Recording {
    /// The recording part of hearing `record`, whose media time started at `clock_start`.
    /// `request_keyframe` asks the encoder for a keyframe (a segment must start on one).
    pub fn new(
        record: crate::store::HearingRecord,
        settings: Arc<Settings>,
        clock_start: Instant,
        seats: Arc<Seats>,
        events: EventChannel,
        request_keyframe: Callback,
        env: RecordingEnv,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                slot: Mutex::default(),
                changed: Condvar::new(),
                events,
                hearing: record.id.clone(),
            }),
            settings,
            record,
            clock_start,
            seats,
            request_keyframe,
            env,
        }
    }

    /// The hearing's media time now (the clock the recorder's plan is given).
    pub fn media_time(&self) -> std::time::Duration {
        self.clock_start.elapsed()
    }

    /// The running (or stopping) recording, if any; no lock is held after.
    pub fn current(&self) -> Option<Arc<ActiveRecording>> {
        match &*self.shared.lock() {
            Phase::Running(a) | Phase::Stopping(a) => Some(a.clone()),
            Phase::Idle | Phase::Starting => None,
        }
    }

    /// Whether a recording is running.
    pub fn is_recording(&self) -> bool {
        matches!(&*self.shared.lock(), Phase::Running(_) | Phase::Stopping(_))
    }

    /// Whether the running recording is paused.
    pub fn is_paused(&self) -> bool {
        self.current().is_some_and(|a| a.recorder.is_paused())
    }

    /// Starts recording, noting `actor` in the manifest; see [`super::Hearing::start_recording`].
    /// Returns the recording id (the running one's, if one already runs).
    pub fn start(&self, actor: &str) -> Result<String, RecordError> {
        self.start_continuing(actor, None)
    }

    /// [`Recording::start`], continuing `previous` (a recording of this hearing that another
    /// node sealed or handed over): the new chain starts from its head.
    pub fn start_continuing(
        &self,
        actor: &str,
        previous: Option<crate::record::manifest::PreviousRecording>,
    ) -> Result<String, RecordError> {
        {
            let mut slot = self.shared.lock();
            loop {
                match &*slot {
                    Phase::Idle => break,
                    Phase::Running(a) => return Ok(a.id.clone()),
                    Phase::Starting | Phase::Stopping(_) => {
                        slot = self.shared.changed.wait(slot).expect("recording lock");
                    }
                }
            }
            *slot = Phase::Starting;
        }
        match self.build(actor, previous) {
            Ok(active) => {
                let id = active.id.clone();
                let dir = active.recorder.dir().to_owned();
                self.shared.set(Phase::Running(Arc::new(active)));
                (self.request_keyframe)();
                self.shared.events.send(HearingEvent::Recording(true));
                tracing::info!(hearing = %self.record.id, recording = %id, dir = %dir.display(), "recording started");
                Ok(id)
            }
            Err(e) => {
                self.shared.set(Phase::Idle);
                Err(e)
            }
        }
    }

    /// The court's content credentials for each segment, when `record.content_credentials`
    /// is on; a chain that cannot be made is logged and the recording goes on without them.
    fn credentials(&self) -> Option<SegmentCredentials> {
        let r = &self.settings.record;
        if !r.content_credentials {
            return None;
        }
        match ContentCredentials::load_or_create(&self.settings.data_dir, &r.court_name) {
            Ok(chain) => Some(SegmentCredentials {
                chain: Arc::new(chain),
                court: r.court_name.clone(),
                recorder: match self.settings.cluster.node_id.as_str() {
                    "" => format!("courtroom {}", env!("CARGO_PKG_VERSION")),
                    node => format!("courtroom {} on node {node}", env!("CARGO_PKG_VERSION")),
                },
            }),
            Err(e) => {
                tracing::error!(hearing = %self.record.id, "recording without content credentials: {e}");
                None
            }
        }
    }

    /// Builds a recording: no lock is held meanwhile.
    fn build(
        &self,
        actor: &str,
        previous: Option<crate::record::manifest::PreviousRecording>,
    ) -> Result<ActiveRecording, RecordError> {
        let now = chrono::Utc::now();
        let id = format!("{}-{}", now.format("%Y%m%dT%H%M%SZ"), &random_id()[..6]);
        let dir = self
            .settings
            .recordings_dir()
            .join(&self.record.id)
            .join(&id);
        let key = match &self.env.key {
            Some(k) => k.clone(),
            None => Arc::new(RecordingKey::load_or_create(&self.settings.data_dir)?),
        };
        let v = &self.settings.video;
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
                seated: self.seats.seated_now(),
            },
        );
        opts.segment = Duration::from_secs(self.settings.record.segment_seconds as u64);
        opts.key = Some(key);
        opts.credentials = self.credentials();
        opts.previous = previous;
        opts.on_sealed = self.env.on_sealed.clone();
        opts.request_keyframe = Some(self.request_keyframe.clone());
        opts.on_failure = Some(on_failure(&self.shared, &id));
        let events = self.shared.events.clone();
        opts.on_gap = Some(Arc::new(move |gap: SegmentGap| {
            events.send(HearingEvent::RecordingGap {
                segment: gap.index,
                missing: gap.missing,
            });
        }));
        opts.started_by = actor.to_owned();
        let r = &self.settings.record;
        opts.tsa = (!r.tsa_url.is_empty()).then(|| crate::record::timestamp::TsaOptions {
            url: r.tsa_url.clone(),
            timeout: Duration::from_secs(r.tsa_timeout_seconds as u64),
        });
        let recorder = Arc::new(Recorder::with_options(&dir, opts)?);
        let sink = Arc::downgrade(&recorder);
        let originals = Originals::start(
            &self.record.id,
            dir,
            self.seats.clone(),
            Arc::new(move |entries| {
                if let Some(r) = sink.upgrade() {
                    r.add_originals(entries);
                }
            }),
        );
        Ok(ActiveRecording {
            recorder,
            id,
            originals,
        })
    }

    /// Keeps one RTP packet of a participant's camera or microphone in the running
    /// recording's originals; nothing while not recording or paused.
    pub fn keep_original(&self, id: ParticipantId, mime: &str, rtp: &[u8]) {
        let Some(active) = self.current() else {
            return;
        };
        if active.recorder.is_paused() {
            return;
        }
        active.originals.keep(id, mime, rtp);
    }

    /// Closes the originals of a participant who left (or was replaced or removed) while a
    /// recording runs; each is hashed into the manifest (signed again) as soon as it has
    /// closed. Never waits.
    pub fn participant_left(&self, id: ParticipantId) {
        if let Some(active) = self.current() {
            active.originals.participant_left(id);
        }
    }

    /// Tells the recording who is seated, so each segment's entry lists them.
    pub fn note_seated(&self) {
        if let Some(active) = self.current() {
            active.recorder.set_seated(self.seats.seated_now());
        }
    }

    /// Pauses the running recording; see [`super::Hearing::pause_recording`].
    pub fn pause(&self, actor: &str) -> Option<(String, bool)> {
        let active = self.current()?;
        if !active.recorder.pause_by(self.clock_start.elapsed(), actor) {
            return Some((active.id.clone(), false));
        }
        active.recorder.wait_paused(Duration::from_secs(3));
        self.shared.events.send(HearingEvent::RecordingPaused(true));
        tracing::info!(hearing = %self.record.id, recording = %active.id, %actor, "recording paused");
        Some((active.id.clone(), true))
    }

    /// Resumes a paused recording; see [`super::Hearing::resume_recording`].
    pub fn resume(&self, actor: &str) -> Option<(String, bool)> {
        let active = self.current()?;
        if !active.recorder.resume_by(self.clock_start.elapsed(), actor) {
            return Some((active.id.clone(), false));
        }
        (self.request_keyframe)();
        self.shared
            .events
            .send(HearingEvent::RecordingPaused(false));
        tracing::info!(hearing = %self.record.id, recording = %active.id, %actor, "recording resumed");
        Some((active.id.clone(), true))
    }

    /// Stops the recording, noting `actor`; see [`super::Hearing::stop_recording`]. Blocking.
    pub fn stop(&self, actor: &str) -> Result<Option<Manifest>, RecordError> {
        let active = {
            let mut slot = self.shared.lock();
            loop {
                match std::mem::take(&mut *slot) {
                    Phase::Running(a) => {
                        *slot = Phase::Stopping(a.clone());
                        break a;
                    }
                    Phase::Idle => return Ok(None),
                    other @ (Phase::Starting | Phase::Stopping(_)) => {
                        *slot = other;
                        slot = self.shared.changed.wait(slot).expect("recording lock");
                    }
                }
            }
        };
        // Media up to now is still in the encoder and the mixer: let it reach the file.
        active.recorder.stop_by(self.clock_start.elapsed(), actor);
        active.recorder.wait_until_written(Duration::from_secs(3));
        self.shared.set(Phase::Idle);
        self.shared.events.send(HearingEvent::Recording(false));
        let dir = active.recorder.dir().to_owned();
        active.recorder.add_originals(active.originals.close());
        let (recorder, id) = (active.recorder.clone(), active.id.clone());
        // The hot paths may still hold the recording for a moment; the recorder is sealed
        // once they let go.
        drop(active);
        let finished = finish_recorder(recorder)?;
        tracing::info!(hearing = %self.record.id, recording = %id, dir = %dir.display(), duration_s = finished.duration.as_secs_f64(), segments = finished.segments.len(), state = %finished.manifest.state, "recording finalised");
        Ok(Some(finished.manifest))
    }
}

/// What the recorder calls when it fails for good (a full disk): the recording is taken out,
/// everyone is told it stopped, and it is sealed as `failed` on a thread of its own.
fn on_failure(shared: &Arc<Shared>, id: &str) -> FailureCallback {
    let shared = Arc::downgrade(shared);
    let id = id.to_owned();
    Arc::new(move |reason: String| {
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let active = {
            let mut slot = shared.lock();
            match std::mem::take(&mut *slot) {
                Phase::Running(a) if a.id == id => Some(a),
                other => {
                    *slot = other;
                    None
                }
            }
        };
        shared.changed.notify_all();
        let Some(active) = active else { return };
        shared.events.send(HearingEvent::Recording(false));
        let hearing = shared.hearing.clone();
        tracing::error!(hearing = %hearing, recording = %id, "recording stopped: {reason}; the hearing goes on");
        // Sealing waits for this (the closer) thread, so it runs on another.
        let span = tracing::Span::current();
        let _ = std::thread::Builder::new()
            .name("rec-failed".into())
            .spawn(move || {
                let _span = span.entered();
                let recorder = active.recorder.clone();
                recorder.add_originals(active.originals.close());
                drop(active);
                if let Err(e) = finish_recorder(recorder) {
                    tracing::error!(hearing = %hearing, "failed recording did not seal: {e}");
                }
            });
    })
}

/// Seals the recording; media the streaming threads still push is dropped.
fn finish_recorder(recorder: Arc<Recorder>) -> Result<Finished, RecordError> {
    recorder.finish(Duration::from_secs(15))
}

/// The recording's side of the [`Hearing`](super::Hearing) facade.
impl super::Hearing {
    /// Starts recording into `DATA/recordings/<hearing>/<recording>/`: segments of
    /// `record.segment_seconds`, a hash-chained manifest signed with the data folder's
    /// recording key. Returns the recording id. If the recording fails for good (a full
    /// disk), it is sealed as `failed`, everyone is told it stopped, and the hearing goes on.
    pub fn start_recording(&self) -> Result<String, HearingError> {
        self.start_recording_by(SERVER_ACTOR)
    }

    /// [`super::Hearing::start_recording`], noting `actor` (an account, an invitation) as who
    /// started it in the manifest.
    pub fn start_recording_by(&self, actor: &str) -> Result<String, HearingError> {
        let _span = self.span.enter();
        let id = self.recording.start(actor)?;
        self.note_display_at_start();
        Ok(id)
    }

    /// [`super::Hearing::start_recording_by`], continuing `previous`: a recording of this hearing
    /// that another node sealed (it died) or handed over (it drained). The new manifest names
    /// it, and its chain starts from that recording's chain head.
    pub fn continue_recording(
        &self,
        actor: &str,
        previous: crate::record::manifest::PreviousRecording,
    ) -> Result<String, HearingError> {
        let _span = self.span.enter();
        let id = self.recording.start_continuing(actor, Some(previous))?;
        self.note_display_at_start();
        Ok(id)
    }

    /// Whether a recording is running.
    pub fn is_recording(&self) -> bool {
        self.recording.is_recording()
    }

    /// Whether the running recording is paused.
    pub fn recording_paused(&self) -> bool {
        self.recording.is_paused()
    }

    /// The folder of the current recording, if any.
    pub fn recording_dir(&self) -> Option<PathBuf> {
        self.recording
            .current()
            .map(|a| a.recorder.dir().to_owned())
    }

    /// Pauses the running recording now, noting `actor` in the manifest: the current segment
    /// is closed once media up to now is written, and nothing is recorded until
    /// [`super::Hearing::resume_recording`]. Blocking (up to about 3 s). Returns the recording
    /// id and whether this call paused it (`false`: it already was), or `None` when not
    /// recording.
    pub fn pause_recording(&self, actor: &str) -> Option<(String, bool)> {
        self.recording.pause(actor)
    }

    /// Resumes a paused recording now, noting `actor` in the manifest; the next segment opens
    /// at the next keyframe. Returns the recording id and whether this call resumed it
    /// (`false`: it was not paused), or `None` when not recording.
    pub fn resume_recording(&self, actor: &str) -> Option<(String, bool)> {
        self.recording.resume(actor)
    }

    /// Stops the recording: everything up to this instant is written (the last second is
    /// never clipped), the last segment is closed, and the manifest is sealed and signed.
    /// Blocking: call from a blocking context.
    pub fn stop_recording(&self) -> Result<Option<Manifest>, HearingError> {
        self.stop_recording_by(SERVER_ACTOR)
    }

    /// [`super::Hearing::stop_recording`], noting `actor` as who stopped it in the manifest.
    pub fn stop_recording_by(&self, actor: &str) -> Result<Option<Manifest>, HearingError> {
        let _span = self.span.enter();
        Ok(self.recording.stop(actor)?)
    }
}
