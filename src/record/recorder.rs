//! The recorder: the encoded composite and the mixed audio into segment files
//! (`composite-00000.mp4`, ...), each a fragmented MP4 ([`super::segment`]), plus a hash-chained,
//! signed `manifest.json` updated whenever a segment closes.
//!
//! The recorder is an I/O shell around [`RecordingPlan`] ([`super::plan`]), which holds every
//! rule: where segments are cut, what happens to audio at a cut, and how stop, pause and
//! resume cut the media. The recorder gives the plan each frame, tick and request and applies
//! the [`Action`]s it answers:
//! - opening segments and writing into them ([`Segment`]);
//! - handing closed segments and lifecycle events to the closer thread (`record/closer.rs`),
//!   which finalises, hashes, chains and signs them, so the streaming threads never wait on the
//!   disk;
//! - asking the encoder for keyframes (the `request_keyframe` callback).
//!
//! Stopping: [`Recorder::stop_at`] sets the last media instant, [`Recorder::wait_until_written`]
//! waits until video and audio have both reached it, so the last second is never clipped.
//! A pipeline error (a full disk) stops the recording for good: the segment is sealed as
//! incomplete, the manifest says `failed`, and the `on_failure` callback runs.
//! Pausing ([`Recorder::pause_by`]) closes the current segment at the pause instant;
//! [`Recorder::resume_by`] opens the next at the first keyframe from the resume instant. The
//! manifest's `events` list who started, paused, resumed and stopped, and when.
//! With a TSA configured, each closed segment's chain entry and the sealed manifest are
//! time-stamped on a thread of their own ([`super::timestamp`]).
//!
//! Locks: the plan's lock is held only while the plan decides; the actions are applied under
//! the writer's lock, which is taken before the plan's is let go, so that writes reach the
//! segments in the order the plan decided them. Nothing takes the plan's lock while holding
//! the writer's.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::closer::{self, CloserSetup, Job};
use super::manifest::{
    write_atomic, ExhibitEntry, ExhibitEvent, LifecycleEvent, Manifest, OriginalEntry,
    RecordingState, SeatedParticipant, VERSION,
};
use super::plan::{Action, FinishPlan, PlanConfig, Progress, RecordingPlan};
use super::segment::{self, Segment, VideoFormat};
use super::sign::RecordingKey;
use super::timestamp::{Pending, TsaOptions};
use super::writer::{Pushed, SegmentWriter};
use super::RecordError;
use crate::media::encoder::EncodedFrame;
use crate::timefmt::utc_text;

pub use super::closer::{Callback, FailureCallback, GapCallback, SegmentGap};
pub use super::manifest::RESERVE_FILE;

/// File name of the first segment, for callers that record less than one segment.
pub const COMPOSITE_FILE: &str = "composite-00000.mp4";
/// The actor named for what the server does by itself.
pub const SERVER_ACTOR: &str = "server";

/// Who and what a recording is.
#[derive(Debug, Clone)]
pub struct RecordingInfo {
    /// Recording id.
    pub recording_id: String,
    /// Hearing id.
    pub hearing_id: String,
    /// Case number.
    pub case_number: String,
    /// Wall-clock time of media time zero.
    pub started_at: DateTime<Utc>,
    /// Who is seated at the start.
    pub seated: Vec<SeatedParticipant>,
}

/// How to record.
#[derive(Clone)]
pub struct RecorderOptions {
    /// Video format of the composite.
    pub format: VideoFormat,
    /// The hearing's media time that becomes time zero of the recording.
    pub origin: Duration,
    /// Nominal segment length.
    pub segment: Duration,
    /// Metadata.
    pub info: RecordingInfo,
    /// Signs the manifest; without it the manifest is written unsigned.
    pub key: Option<Arc<RecordingKey>>,
    /// Asks the encoder for a keyframe on its next frame.
    pub request_keyframe: Option<Callback>,
    /// Runs once, on a background thread, when the recording fails for good.
    pub on_failure: Option<FailureCallback>,
    /// Runs, on a background thread, for each segment sealed without video or audio.
    pub on_gap: Option<GapCallback>,
    /// Content credentials (C2PA) for each segment; `None`: none.
    pub credentials: Option<super::credentials::SegmentCredentials>,
    /// Bytes reserved at the start for sealing on a full disk.
    pub reserve_bytes: u64,
    /// Who started the recording, for the manifest's `start` event.
    pub started_by: String,
    /// RFC 3161 time-stamping; `None` for none.
    pub tsa: Option<TsaOptions>,
    /// The recording this one continues (a takeover or handover), whose chain head becomes
    /// this chain's genesis.
    pub previous: Option<super::manifest::PreviousRecording>,
    /// Runs on the closer thread each time the signed manifest was written anew (a segment
    /// sealed, the recording sealed): the upload spool picks the files up.
    pub on_sealed: Option<Callback>,
}

impl RecorderOptions {
    /// Defaults: 10 s segments, unsigned, no callbacks, 256 KiB reserve.
    pub fn new(format: VideoFormat, origin: Duration, info: RecordingInfo) -> Self {
        Self {
            format,
            origin,
            segment: Duration::from_secs(10),
            info,
            key: None,
            request_keyframe: None,
            on_failure: None,
            on_gap: None,
            credentials: None,
            reserve_bytes: 256 * 1024,
            started_by: SERVER_ACTOR.into(),
            tsa: None,
            previous: None,
            on_sealed: None,
        }
    }
}

/// How a recording ended.
#[derive(Debug)]
pub struct Finished {
    /// The first segment file.
    pub path: PathBuf,
    /// Every segment file, in order.
    pub segments: Vec<PathBuf>,
    /// Media duration written.
    pub duration: Duration,
    /// Set if the recording failed before the end.
    pub failure: Option<String>,
    /// The final manifest.
    pub manifest: Manifest,
    /// Time-stamp requests still under way (the last segment's and the manifest's): they go
    /// on in the background; [`Pending::wait`] waits for them.
    pub timestamps: Arc<Mutex<Pending>>,
}

/// A recording in progress. Shared by the encoder's callback, the hearing's tick and the
/// people who stop or pause it; every method takes `&self`.
pub struct Recorder {
    dir: PathBuf,
    plan: Mutex<RecordingPlan>,
    /// Signalled whenever the plan moves on (media written, a segment closed, a failure).
    progress: Condvar,
    writer: Mutex<SegmentWriter>,
    jobs: mpsc::Sender<Job>,
    closer: Mutex<Option<JoinHandle<(Manifest, Pending)>>>,
    request_keyframe: Option<Callback>,
}

impl Recorder {
    /// Starts an unsigned recording in `dir` with 10 s segments (tests and tools).
    pub fn start(
        dir: &Path,
        width: u32,
        height: u32,
        fps: u32,
        origin: Duration,
    ) -> Result<Self, RecordError> {
        let id = dir
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let info = RecordingInfo {
            recording_id: id,
            hearing_id: String::new(),
            case_number: String::new(),
            started_at: Utc::now(),
            seated: Vec::new(),
        };
        Self::with_options(
            dir,
            RecorderOptions::new(VideoFormat { width, height, fps }, origin, info),
        )
    }

    /// Creates `dir`, writes the first (empty) manifest, and starts the first segment.
    pub fn with_options(dir: &Path, opts: RecorderOptions) -> Result<Self, RecordError> {
        std::fs::create_dir_all(dir)?;
        if opts.reserve_bytes > 0 {
            write_atomic(
                &dir.join(RESERVE_FILE),
                &vec![0u8; opts.reserve_bytes as usize],
            )?;
        }
        let info = &opts.info;
        let mut manifest = Manifest {
            version: VERSION,
            recording_id: info.recording_id.clone(),
            hearing_id: info.hearing_id.clone(),
            case_number: info.case_number.clone(),
            started_at: utc_text(info.started_at),
            ended_at: None,
            state: RecordingState::Recording,
            failure: None,
            segment_seconds: opts.segment.as_secs() as u32,
            key_id: None,
            segments: Vec::new(),
            chain_head: String::new(),
            sha256sums: String::new(),
            participants: info.seated.clone(),
            originals: Vec::new(),
            exhibits: Vec::new(),
            exhibit_events: Vec::new(),
            events: vec![LifecycleEvent {
                event: "start".into(),
                actor: opts.started_by.clone(),
                at: utc_text(info.started_at),
                media_ms: 0,
            }],
            tsa_url: opts.tsa.as_ref().map(|t| t.url.clone()),
            previous: opts.previous.clone(),
        };
        manifest.write_signed(dir, opts.key.as_deref())?;
        let seg = Segment::start(&dir.join(segment::file_name(0)), opts.format)?;
        let (jobs, rx) = mpsc::channel();
        let closer = closer::spawn(
            CloserSetup {
                dir: dir.to_owned(),
                manifest,
                key: opts.key.clone(),
                started_at: info.started_at,
                on_failure: opts.on_failure.clone(),
                tsa: opts.tsa.clone(),
                on_sealed: opts.on_sealed.clone(),
                on_gap: opts.on_gap.clone(),
                credentials: opts.credentials.clone(),
            },
            rx,
        )?;
        Ok(Self {
            dir: dir.to_owned(),
            plan: Mutex::new(RecordingPlan::new(PlanConfig {
                origin: opts.origin,
                segment: opts.segment,
                fps: opts.format.fps,
            })),
            progress: Condvar::new(),
            writer: Mutex::new(SegmentWriter::new(
                dir.to_owned(),
                opts.format,
                jobs.clone(),
                seg,
                info.seated.clone(),
            )),
            jobs,
            closer: Mutex::new(Some(closer)),
            request_keyframe: opts.request_keyframe,
        })
    }

    /// The recording's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Why the recording stopped for good, if it did (a pipeline error such as a full disk).
    pub fn failure(&self) -> Option<String> {
        self.step(SERVER_ACTOR, Pushed::default(), |plan| {
            (Vec::new(), plan.failure().map(str::to_owned))
        })
    }

    /// Who is seated now; everyone seated at any time in a segment is listed in its entry.
    pub fn set_seated(&self, seated: Vec<SeatedParticipant>) {
        self.lock_writer().set_seated(seated);
    }

    /// Writes one encoded composite frame. Frames before the first keyframe are skipped.
    pub fn push_video(&self, frame: &EncodedFrame) {
        let pushed = Pushed {
            frame: Some(frame),
            samples: &[],
        };
        self.step(SERVER_ACTOR, pushed, |plan| {
            (plan.video(frame.pts, frame.duration, frame.keyframe), ())
        });
    }

    /// Writes one tick of mixed audio stamped with the hearing's media clock.
    pub fn push_audio(&self, samples: &[i16], pts: Duration) {
        let pushed = Pushed {
            frame: None,
            samples,
        };
        self.step(SERVER_ACTOR, pushed, |plan| (plan.audio(pts, samples), ()));
    }

    /// Sets the hearing's media time at which the recording ends; later media is dropped.
    pub fn stop_at(&self, media_time: Duration) {
        self.lock_plan().stop_at(media_time);
        self.progress.notify_all();
    }

    /// Sets the stop time like [`Recorder::stop_at`] and notes in the manifest who stopped.
    pub fn stop_by(&self, media_time: Duration, actor: &str) {
        self.step(actor, Pushed::default(), |plan| {
            (plan.stop_by(media_time), ())
        });
    }

    /// Waits until video and audio have both been written up to the stop time (or the
    /// recording failed). Returns whether they were.
    pub fn wait_until_written(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut plan = self.lock_plan();
        loop {
            match plan.stop_progress() {
                Progress::Done => return true,
                Progress::Never => return false,
                Progress::Waiting => {}
            }
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                let (video_end, audio_end) = plan.written();
                tracing::warn!(dir = %self.dir.display(), ?video_end, ?audio_end, "recording end not reached in time");
                return false;
            };
            plan = self
                .progress
                .wait_timeout(plan, left)
                .expect("recorder plan")
                .0;
        }
    }

    /// Lists participants' original tracks (closed and hashed) in the manifest, which is
    /// written and signed again at once.
    pub fn add_originals(&self, originals: Vec<OriginalEntry>) {
        let _ = self.jobs.send(Job::Originals(originals));
    }

    /// Notes `event` (a moment of the court's, e.g. `court_opened`) by `actor` at the hearing's
    /// media time `media_time` in the manifest's `events`, which is written and signed again
    /// at once.
    pub fn note_event(&self, event: &str, actor: &str, media_time: Duration) {
        let media_ms = self.lock_plan().recording_time(media_time).as_millis() as u64;
        let _ = self.jobs.send(Job::Event(LifecycleEvent {
            event: event.into(),
            actor: actor.into(),
            at: utc_text(Utc::now()),
            media_ms,
        }));
    }

    /// Keeps an exhibit beside the recording: the closer copies it from `source` (unless the
    /// manifest lists its SHA-256 already), checks its hash and lists it in the manifest,
    /// which is written and signed again at once.
    pub fn add_exhibit(&self, entry: ExhibitEntry, source: PathBuf) {
        let _ = self.jobs.send(Job::Exhibit { entry, source });
    }

    /// Notes in the manifest that an exhibit was shown, turned or taken down (`event`) at the
    /// hearing's media time `media_time`, by `presenter`.
    pub fn exhibit_event(
        &self,
        event: &str,
        exhibit: &ExhibitEntry,
        page: u32,
        presenter: &str,
        media_time: Duration,
    ) {
        let media_ms = self.lock_plan().recording_time(media_time).as_millis() as u64;
        let _ = self.jobs.send(Job::ExhibitEvent(ExhibitEvent {
            event: event.into(),
            sha256: exhibit.sha256.clone(),
            title: exhibit.title.clone(),
            page,
            presenter: presenter.into(),
            at: utc_text(Utc::now()),
            media_ms,
        }));
    }

    /// Closes the last segment and seals the manifest (`finalised`, or `failed`). Blocks until
    /// every segment is written, hashed and signed, at most 15 s per segment. Media given
    /// after this (by threads that still hold the recorder) is dropped. Runs once: a second
    /// call is an error.
    pub fn finish(&self, _timeout: Duration) -> Result<Finished, RecordError> {
        let finished = self.step(SERVER_ACTOR, Pushed::default(), |plan| {
            match plan.finish() {
                Some(FinishPlan {
                    actions,
                    duration,
                    failure,
                }) => (actions, Some((duration, failure))),
                None => (Vec::new(), None),
            }
        });
        let Some((duration, failure)) = finished else {
            return Err(RecordError::Finalise(
                "the recording was already finished".into(),
            ));
        };
        let _ = self.jobs.send(Job::Finish {
            state: if failure.is_some() {
                RecordingState::Failed
            } else {
                RecordingState::Finalised
            },
            failure: failure.clone(),
        });
        let closer = self
            .closer
            .lock()
            .expect("recorder closer")
            .take()
            .ok_or_else(|| RecordError::Finalise("the recording was already finished".into()))?;
        let (manifest, timestamps) = closer
            .join()
            .map_err(|_| RecordError::Finalise("the segment closer panicked".into()))?;
        let failure = failure.or_else(|| manifest.failure.clone());
        let segments: Vec<PathBuf> = manifest
            .segments
            .iter()
            .map(|e| self.dir.join(&e.file))
            .collect();
        Ok(Finished {
            path: self.dir.join(segment::file_name(0)),
            segments,
            duration,
            failure,
            manifest,
            timestamps: Arc::new(Mutex::new(timestamps)),
        })
    }

    /// Whether the recording is paused (between [`Recorder::pause_by`] and
    /// [`Recorder::resume_by`]).
    pub fn is_paused(&self) -> bool {
        self.lock_plan().is_paused()
    }

    /// Pauses at the hearing's media time `media_time`, noting `actor` in the manifest. Media
    /// up to that instant still goes into the current segment, which then closes; nothing more
    /// is written until [`Recorder::resume_by`]. Returns `false` (and does nothing) when
    /// already paused, stopping or failed. [`Recorder::wait_paused`] waits for the close.
    pub fn pause_by(&self, media_time: Duration, actor: &str) -> bool {
        self.step(actor, Pushed::default(), |plan| {
            match plan.pause(media_time) {
                Some(actions) => (actions, true),
                None => (Vec::new(), false),
            }
        })
    }

    /// Waits until the segment open at the pause has closed; after `timeout` closes it where
    /// it is. Returns whether it closed by itself.
    pub fn wait_paused(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut plan = self.lock_plan();
        loop {
            if plan.pause_progress() == Progress::Done {
                return true;
            }
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                let (video_end, audio_end) = plan.written();
                tracing::warn!(dir = %self.dir.display(), ?video_end, ?audio_end, "media did not reach the pause in time; closing the segment");
                let actions = plan.close_at_pause();
                let writer = self.lock_writer();
                drop(plan);
                self.carry_out(writer, actions, SERVER_ACTOR, Pushed::default());
                return false;
            };
            plan = self
                .progress
                .wait_timeout(plan, left)
                .expect("recorder plan")
                .0;
        }
    }

    /// Resumes at the hearing's media time `media_time`, noting `actor` in the manifest: the
    /// next segment opens at the first keyframe from there (asked of the encoder now). Returns
    /// `false` (and does nothing) when not paused.
    pub fn resume_by(&self, media_time: Duration, actor: &str) -> bool {
        self.step(actor, Pushed::default(), |plan| {
            match plan.resume(media_time) {
                Some(actions) => (actions, true),
                None => (Vec::new(), false),
            }
        })
    }

    fn lock_plan(&self) -> MutexGuard<'_, RecordingPlan> {
        self.plan.lock().expect("recorder plan")
    }

    fn lock_writer(&self) -> MutexGuard<'_, SegmentWriter> {
        self.writer.lock().expect("recorder writer")
    }

    /// Tells the plan of a failure the writer has seen, runs `rule` on the plan, and applies
    /// what both answered. `actor` is who any lifecycle event is noted for.
    fn step<R>(
        &self,
        actor: &str,
        pushed: Pushed<'_>,
        rule: impl FnOnce(&mut RecordingPlan) -> (Vec<Action>, R),
    ) -> R {
        let mut plan = self.lock_plan();
        let mut writer = self.lock_writer();
        let mut actions = Vec::new();
        if plan.failure().is_none() && !plan.is_finished() {
            if let Some(reason) = writer.failure() {
                tracing::error!(dir = %self.dir.display(), "recording failed: {reason}");
                actions = plan.fail(reason);
            }
        }
        let (more, out) = rule(&mut plan);
        actions.extend(more);
        drop(plan);
        self.carry_out(writer, actions, actor, pushed);
        out
    }

    /// Applies `actions` under the writer's lock, then wakes the waiters and asks for a
    /// keyframe (or tells the plan of a segment that would not start).
    fn carry_out(
        &self,
        mut writer: MutexGuard<'_, SegmentWriter>,
        actions: Vec<Action>,
        actor: &str,
        pushed: Pushed<'_>,
    ) {
        let applied = writer.apply(actions, actor, pushed);
        drop(writer);
        self.progress.notify_all();
        if applied.broken {
            self.step(SERVER_ACTOR, Pushed::default(), |_| (Vec::new(), ()));
        } else if applied.keyframe {
            if let Some(request) = &self.request_keyframe {
                request();
            }
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let open = self.closer.get_mut().map(|c| c.is_some()).unwrap_or(false);
        if open {
            tracing::warn!(dir = %self.dir.display(), "recorder dropped without finish; the manifest stays open");
        }
    }
}
