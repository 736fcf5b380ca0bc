//! The recorder: the encoded composite and the mixed audio into segment files
//! (`composite-00000.mp4`, ...), each a fragmented MP4 ([`super::segment`]), plus a hash-chained,
//! signed `manifest.json` updated whenever a segment closes.
//!
//! - A segment closes at the first video keyframe at or after its nominal end (a multiple of
//!   the segment length); the recorder asks the encoder for a keyframe there, through the
//!   `request_keyframe` callback, on the tick before.
//! - Audio is cut at the same media time as the video: ticks at or after the boundary are held
//!   until the keyframe that opens the next segment arrives.
//! - A closing segment is finalised on a background thread (end of stream, wait for the muxer),
//!   then hashed, chained and signed there, so the streaming threads never wait on the disk.
//! - Stopping: [`Recorder::stop_at`] sets the last media instant, [`Recorder::wait_until_written`]
//!   waits until video and audio have both reached it, so the last second is never clipped.
//! - A pipeline error (a full disk) stops the recording for good: the segment is sealed as
//!   incomplete, the manifest says `failed`, and the `on_failure` callback runs. A small file
//!   reserved at the start is given up so that the manifest can still be written.
//! - Pausing ([`Recorder::pause_by`]) works like a stop for the current segment: media up to
//!   the pause instant is written, the segment closes there (closed segments stay final), and
//!   everything after is dropped until [`Recorder::resume_by`]; the next segment opens at the
//!   first keyframe from the resume instant. The manifest's `events` list who started, paused,
//!   resumed and stopped, and when; the gap shows as a jump in the segments' media times.
//! - With a TSA configured, each closed segment's chain entry and the sealed manifest are
//!   time-stamped on a thread of their own ([`super::timestamp`]).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};

use super::manifest::{
    sha256_file, LifecycleEvent, Manifest, OriginalEntry, SeatedParticipant, SegmentEntry,
    MANIFEST_FILE, VERSION,
};
use super::segment::{self, samples_duration, Segment, VideoFormat};
use super::sign::RecordingKey;
use super::timestamp::{self, Pending, Stamp, Stamper, TsaOptions};
use super::RecordError;
use crate::media::audio_mix::SAMPLE_RATE;
use crate::media::encoder::EncodedFrame;

/// File name of the first segment, for callers that record less than one segment.
pub const COMPOSITE_FILE: &str = "composite-00000.mp4";
/// Space kept free in the recording folder so the manifest can be sealed on a full disk.
pub const RESERVE_FILE: &str = ".space-reserve";
/// Longest time a segment finalisation may take.
const FINISH_TIMEOUT: Duration = Duration::from_secs(15);
/// Audio held waiting for a boundary keyframe beyond this goes into the current segment.
const MAX_HELD_AUDIO: Duration = Duration::from_secs(3);
/// After a resume, the keyframe that opens the next segment is asked for again this often.
const RESUME_KEYFRAME_RETRY: Duration = Duration::from_secs(1);
/// After a resume, audio held for the opening keyframe is kept up to this long.
const MAX_RESUME_AUDIO: Duration = Duration::from_secs(10);
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

/// A callback without arguments.
pub type Callback = Arc<dyn Fn() + Send + Sync>;
/// A callback told why the recording failed.
pub type FailureCallback = Arc<dyn Fn(String) + Send + Sync>;

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
    /// Bytes reserved at the start for sealing on a full disk.
    pub reserve_bytes: u64,
    /// Who started the recording, for the manifest's `start` event.
    pub started_by: String,
    /// RFC 3161 time-stamping; `None` for none.
    pub tsa: Option<TsaOptions>,
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
            reserve_bytes: 256 * 1024,
            started_by: SERVER_ACTOR.into(),
            tsa: None,
        }
    }
}

/// A recording in progress.
pub struct Recorder {
    dir: PathBuf,
    format: VideoFormat,
    origin: Duration,
    segment_len: Duration,
    state: Mutex<State>,
    progress: Condvar,
    jobs: mpsc::Sender<Job>,
    closer: Option<JoinHandle<(Manifest, Pending)>>,
    request_keyframe: Option<Callback>,
}

struct State {
    current: Option<Open>,
    next_index: u32,
    /// Recording time at which the current segment should end.
    next_boundary: Duration,
    /// The boundary a keyframe was last asked for.
    requested: Option<Duration>,
    keyframe_seen: bool,
    /// Audio at or after `next_boundary`, waiting for the keyframe that opens the next segment.
    held_audio: VecDeque<(Duration, Vec<i16>)>,
    video_end: Duration,
    audio_end: Duration,
    stop_at: Option<Duration>,
    failed: Option<String>,
    seated_now: Vec<SeatedParticipant>,
    /// A pause in effect, at this recording time: media from here on is dropped, and the
    /// current segment closes once video and audio have reached it.
    paused: Option<Duration>,
    /// After a resume: media before this recording time is dropped, and the next segment opens
    /// at the first keyframe from here.
    resume_at: Option<Duration>,
    /// When the opening keyframe after a resume was last asked for (recording time).
    resume_asked: Option<Duration>,
    /// Whether the `stop` event is in the manifest.
    stop_noted: bool,
}

struct Open {
    seg: Segment,
    index: u32,
    media_start: Duration,
    seated: Vec<SeatedParticipant>,
}

enum Job {
    Close {
        seg: Segment,
        index: u32,
        media_start: Duration,
        media_end: Duration,
        seated: Vec<SeatedParticipant>,
        failure: Option<String>,
    },
    Finish {
        state: String,
        failure: Option<String>,
    },
    Originals(Vec<OriginalEntry>),
    Event(LifecycleEvent),
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
            super::manifest::write_atomic(
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
            state: "recording".into(),
            failure: None,
            segment_seconds: opts.segment.as_secs() as u32,
            key_id: None,
            segments: Vec::new(),
            chain_head: String::new(),
            sha256sums: String::new(),
            participants: info.seated.clone(),
            originals: Vec::new(),
            events: vec![LifecycleEvent {
                event: "start".into(),
                actor: opts.started_by.clone(),
                at: utc_text(info.started_at),
                media_ms: 0,
            }],
            tsa_url: opts.tsa.as_ref().map(|t| t.url.clone()),
        };
        manifest.write_signed(dir, opts.key.as_deref())?;
        let seg = Segment::start(&dir.join(segment::file_name(0)), opts.format)?;
        let (jobs, rx) = mpsc::channel();
        let closer = Closer {
            dir: dir.to_owned(),
            manifest,
            key: opts.key.clone(),
            started_at: info.started_at,
            on_failure: opts.on_failure.clone(),
            stamper: opts.tsa.clone().map(|t| Stamper::start(dir, t)),
        };
        let closer = std::thread::Builder::new()
            .name("rec-closer".into())
            .spawn(move || closer.run(rx))
            .expect("spawn recording closer");
        Ok(Self {
            dir: dir.to_owned(),
            format: opts.format,
            origin: opts.origin,
            segment_len: opts.segment.max(Duration::from_secs(1)),
            state: Mutex::new(State {
                current: Some(Open {
                    seg,
                    index: 0,
                    media_start: Duration::ZERO,
                    seated: info.seated.clone(),
                }),
                next_index: 1,
                next_boundary: opts.segment.max(Duration::from_secs(1)),
                requested: None,
                keyframe_seen: false,
                held_audio: VecDeque::new(),
                video_end: Duration::ZERO,
                audio_end: Duration::ZERO,
                stop_at: None,
                failed: None,
                seated_now: info.seated.clone(),
                paused: None,
                resume_at: None,
                resume_asked: None,
                stop_noted: false,
            }),
            progress: Condvar::new(),
            jobs,
            closer: Some(closer),
            request_keyframe: opts.request_keyframe,
        })
    }

    /// The recording's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Why the recording stopped for good, if it did (a pipeline error such as a full disk).
    pub fn failure(&self) -> Option<String> {
        let mut st = self.state.lock().expect("recorder state");
        self.poll_failure(&mut st);
        st.failed.clone()
    }

    /// Who is seated now; everyone seated at any time in a segment is listed in its entry.
    pub fn set_seated(&self, seated: Vec<SeatedParticipant>) {
        let mut st = self.state.lock().expect("recorder state");
        if let Some(open) = st.current.as_mut() {
            for p in &seated {
                if !open.seated.contains(p) {
                    open.seated.push(p.clone());
                }
            }
        }
        st.seated_now = seated;
    }

    /// Writes one encoded composite frame. Frames before the first keyframe are skipped.
    pub fn push_video(&self, frame: &EncodedFrame) {
        let mut request = false;
        {
            let mut st = self.state.lock().expect("recorder state");
            if self.poll_failure(&mut st) {
                return;
            }
            let media_pts = frame.pts;
            let Some(pts) = media_pts.checked_sub(self.origin) else {
                return;
            };
            if let Some(stop) = end_point(&st) {
                if pts >= stop {
                    st.video_end = st.video_end.max(stop);
                    self.close_if_paused(&mut st);
                    drop(st);
                    self.progress.notify_all();
                    return;
                }
            }
            if let Some(resume) = st.resume_at {
                // The frame before the resume instant may carry the keyframe asked for.
                let slack = Duration::from_nanos(1_000_000_000 / self.format.fps.max(1) as u64);
                if !(frame.keyframe && pts + slack >= resume) {
                    if st
                        .resume_asked
                        .is_none_or(|t| pts >= t + RESUME_KEYFRAME_RETRY)
                    {
                        st.resume_asked = Some(pts);
                        drop(st);
                        self.ask_keyframe();
                    }
                    return;
                }
                self.reopen(&mut st, pts);
                if st.failed.is_some() {
                    return;
                }
            }
            if !st.keyframe_seen {
                if !frame.keyframe {
                    return;
                }
                st.keyframe_seen = true;
            }
            if frame.keyframe && pts >= st.next_boundary {
                self.rotate(&mut st, pts);
                if st.failed.is_some() {
                    return;
                }
            }
            if pts + frame.duration >= st.next_boundary && st.requested != Some(st.next_boundary) {
                st.requested = Some(st.next_boundary);
                request = true;
            }
            if let Some(open) = st.current.as_ref() {
                open.seg.push_video(
                    frame.data.clone(),
                    pts.saturating_sub(open.media_start),
                    frame.duration,
                    frame.keyframe,
                );
            }
            st.video_end = st.video_end.max(pts + frame.duration);
        }
        self.progress.notify_all();
        if request {
            self.ask_keyframe();
        }
    }

    /// Writes one tick of mixed audio stamped with the hearing's media clock.
    pub fn push_audio(&self, samples: &[i16], pts: Duration) {
        let mut request = false;
        {
            let mut st = self.state.lock().expect("recorder state");
            if self.poll_failure(&mut st) {
                return;
            }
            let Some(pts) = pts.checked_sub(self.origin) else {
                return;
            };
            let mut samples = samples;
            if let Some(stop) = end_point(&st) {
                if pts >= stop {
                    st.audio_end = st.audio_end.max(stop);
                    self.close_if_paused(&mut st);
                    drop(st);
                    self.progress.notify_all();
                    return;
                }
                samples = &samples[..samples.len().min(samples_until(pts, stop))];
            }
            let end = pts + samples_duration(samples.len());
            if let Some(resume) = st.resume_at {
                // Held for the keyframe that opens the next segment; nothing before the resume.
                if end > resume {
                    let (from, kept) = if pts < resume {
                        let n = samples_until(pts, resume).min(samples.len());
                        (resume, &samples[n..])
                    } else {
                        (pts, samples)
                    };
                    st.held_audio.push_back((from, kept.to_vec()));
                    while st
                        .held_audio
                        .back()
                        .zip(st.held_audio.front())
                        .is_some_and(|(b, f)| b.0.saturating_sub(f.0) > MAX_RESUME_AUDIO)
                    {
                        st.held_audio.pop_front();
                    }
                }
                st.audio_end = st.audio_end.max(end);
                return;
            }
            if end >= st.next_boundary && st.requested != Some(st.next_boundary) {
                st.requested = Some(st.next_boundary);
                request = true;
            }
            let boundary = st.next_boundary;
            if pts >= boundary {
                st.held_audio.push_back((pts, samples.to_vec()));
                self.release_stale_audio(&mut st);
            } else if end > boundary {
                let n = samples_until(pts, boundary);
                self.write_audio(&st, &samples[..n], pts);
                st.held_audio.push_back((boundary, samples[n..].to_vec()));
            } else {
                self.write_audio(&st, samples, pts);
            }
            st.audio_end = st.audio_end.max(end);
        }
        self.progress.notify_all();
        if request {
            self.ask_keyframe();
        }
    }

    /// Sets the hearing's media time at which the recording ends; later media is dropped.
    pub fn stop_at(&self, media_time: Duration) {
        let stop = media_time.saturating_sub(self.origin);
        self.state.lock().expect("recorder state").stop_at = Some(stop);
        self.progress.notify_all();
    }

    /// Waits until video and audio have both been written up to the stop time (or the
    /// recording failed). Returns whether they were.
    pub fn wait_until_written(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut st = self.state.lock().expect("recorder state");
        loop {
            let Some(stop) = st.stop_at else {
                return false;
            };
            if st.failed.is_some() {
                return false;
            }
            if st.current.is_none() {
                // Paused (or waiting for the keyframe after a resume): nothing open to fill.
                return true;
            }
            let stop = end_point(&st).unwrap_or(stop);
            let video_done = st.video_end >= stop || !st.keyframe_seen;
            if video_done && st.audio_end >= stop {
                return true;
            }
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                tracing::warn!(dir = %self.dir.display(), video_end = ?st.video_end, audio_end = ?st.audio_end, ?stop, "recording end not reached in time");
                return false;
            };
            st = self
                .progress
                .wait_timeout(st, left)
                .expect("recorder state")
                .0;
        }
    }

    /// Lists participants' original tracks (closed) in the manifest; they are hashed into it
    /// with the next write.
    pub fn add_originals(&self, originals: Vec<OriginalEntry>) {
        let _ = self.jobs.send(Job::Originals(originals));
    }

    /// Closes the last segment and seals the manifest (`finalised`, or `failed`). Blocks until
    /// every segment is written, hashed and signed, at most `timeout` per segment.
    pub fn finish(mut self, _timeout: Duration) -> Result<Finished, RecordError> {
        let (failure, duration) = {
            let mut st = self.state.lock().expect("recorder state");
            self.poll_failure(&mut st);
            let mut end = st.video_end.max(st.audio_end);
            if let Some(stop) = st.stop_at {
                end = end.min(stop);
            }
            if !st.stop_noted {
                st.stop_noted = true;
                let _ = self.jobs.send(Job::Event(event("stop", SERVER_ACTOR, end)));
            }
            if let Some(open) = st.current.take() {
                for (pts, samples) in std::mem::take(&mut st.held_audio) {
                    open.seg
                        .push_audio(&samples, pts.saturating_sub(open.media_start));
                }
                let _ = self.jobs.send(Job::Close {
                    seg: open.seg,
                    index: open.index,
                    media_start: open.media_start,
                    media_end: end.max(open.media_start),
                    seated: open.seated,
                    failure: None,
                });
            }
            (st.failed.clone(), end)
        };
        let _ = self.jobs.send(Job::Finish {
            state: if failure.is_some() {
                "failed".into()
            } else {
                "finalised".into()
            },
            failure: failure.clone(),
        });
        let (manifest, timestamps) = self
            .closer
            .take()
            .expect("finish runs once")
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

    /// Sets the stop time like [`Recorder::stop_at`] and notes in the manifest who stopped.
    pub fn stop_by(&self, media_time: Duration, actor: &str) {
        let stop = media_time.saturating_sub(self.origin);
        {
            let mut st = self.state.lock().expect("recorder state");
            if !st.stop_noted {
                st.stop_noted = true;
                let _ = self.jobs.send(Job::Event(event("stop", actor, stop)));
            }
        }
        self.stop_at(media_time);
    }

    /// Whether the recording is paused (between [`Recorder::pause_by`] and
    /// [`Recorder::resume_by`]).
    pub fn is_paused(&self) -> bool {
        self.state.lock().expect("recorder state").paused.is_some()
    }

    /// Pauses at the hearing's media time `media_time`, noting `actor` in the manifest. Media
    /// up to that instant still goes into the current segment, which then closes; nothing more
    /// is written until [`Recorder::resume_by`]. Returns `false` (and does nothing) when
    /// already paused, stopping or failed. [`Recorder::wait_paused`] waits for the close.
    pub fn pause_by(&self, media_time: Duration, actor: &str) -> bool {
        let at = media_time.saturating_sub(self.origin);
        {
            let mut st = self.state.lock().expect("recorder state");
            if st.paused.is_some() || st.stop_at.is_some() || st.failed.is_some() {
                return false;
            }
            st.paused = Some(at);
            st.resume_at = None;
            let _ = self.jobs.send(Job::Event(event("pause", actor, at)));
            tracing::info!(dir = %self.dir.display(), %actor, at = ?at, "recording paused");
            self.close_if_paused(&mut st);
        }
        self.progress.notify_all();
        true
    }

    /// Waits until the segment open at the pause has closed; after `timeout` closes it where
    /// it is. Returns whether it closed by itself.
    pub fn wait_paused(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut st = self.state.lock().expect("recorder state");
        loop {
            let Some(at) = st.paused else {
                return true;
            };
            if st.current.is_none() || st.failed.is_some() {
                return true;
            }
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                tracing::warn!(dir = %self.dir.display(), video_end = ?st.video_end, audio_end = ?st.audio_end, "media did not reach the pause in time; closing the segment");
                self.close_current(&mut st, at);
                return false;
            };
            st = self
                .progress
                .wait_timeout(st, left)
                .expect("recorder state")
                .0;
        }
    }

    /// Resumes at the hearing's media time `media_time`, noting `actor` in the manifest: the
    /// next segment opens at the first keyframe from there (asked of the encoder now). Returns
    /// `false` (and does nothing) when not paused.
    pub fn resume_by(&self, media_time: Duration, actor: &str) -> bool {
        let at = media_time.saturating_sub(self.origin);
        {
            let mut st = self.state.lock().expect("recorder state");
            let Some(paused) = st.paused else {
                return false;
            };
            if st.stop_at.is_some() || st.failed.is_some() {
                return false;
            }
            if st.current.is_some() {
                self.close_current(&mut st, paused);
            }
            let at = at.max(paused);
            st.paused = None;
            st.resume_at = Some(at);
            st.resume_asked = None;
            st.held_audio.clear();
            let _ = self.jobs.send(Job::Event(event("resume", actor, at)));
            tracing::info!(dir = %self.dir.display(), %actor, at = ?at, "recording resumed");
        }
        self.progress.notify_all();
        self.ask_keyframe();
        true
    }

    /// While paused: closes the current segment once video and audio have reached the pause.
    fn close_if_paused(&self, st: &mut State) {
        let Some(at) = st.paused else {
            return;
        };
        if st.current.is_none() {
            return;
        }
        let video_done = st.video_end >= at || !st.keyframe_seen;
        if video_done && st.audio_end >= at {
            self.close_current(st, at);
        }
    }

    /// Closes the current segment at recording time `at`: held audio before `at` goes into
    /// it, the rest is dropped.
    fn close_current(&self, st: &mut State, at: Duration) {
        let Some(open) = st.current.take() else {
            return;
        };
        for (pts, samples) in std::mem::take(&mut st.held_audio) {
            if pts >= at {
                continue;
            }
            let n = samples_until(pts, at).min(samples.len());
            open.seg
                .push_audio(&samples[..n], pts.saturating_sub(open.media_start));
        }
        let end = at.max(open.media_start);
        tracing::debug!(dir = %self.dir.display(), index = open.index, at = ?end, "segment closed for a pause");
        let _ = self.jobs.send(Job::Close {
            seg: open.seg,
            index: open.index,
            media_start: open.media_start,
            media_end: end,
            seated: open.seated,
            failure: None,
        });
        self.progress.notify_all();
    }

    /// After a resume: opens the next segment at the keyframe at `at`, with the audio held
    /// since the resume.
    fn reopen(&self, st: &mut State, at: Duration) {
        st.resume_at = None;
        st.resume_asked = None;
        if self.open_segment(st, at) {
            st.keyframe_seen = true;
            st.requested = None;
        }
    }

    /// Starts the next segment at `at` (a keyframe's time), moves the boundary on, and writes
    /// the held audio from `at` on into it (or keeps holding what lies past the boundary).
    /// `false` when the segment could not start (the recording has failed).
    fn open_segment(&self, st: &mut State, at: Duration) -> bool {
        let index = st.next_index;
        let seg = match Segment::start(&self.dir.join(segment::file_name(index)), self.format) {
            Ok(seg) => seg,
            Err(e) => {
                self.fail(st, format!("cannot start segment {index}: {e}"));
                return false;
            }
        };
        tracing::debug!(dir = %self.dir.display(), index, at = ?at, "segment opened");
        st.current = Some(Open {
            seg,
            index,
            media_start: at,
            seated: st.seated_now.clone(),
        });
        st.next_index += 1;
        let len = self.segment_len.as_nanos();
        st.next_boundary = Duration::from_nanos(((at.as_nanos() / len + 1) * len) as u64);
        for (pts, samples) in std::mem::take(&mut st.held_audio) {
            // Audio held from before `at` (a resume) starts the segment at `at`.
            let (pts, samples) = if pts < at {
                let n = samples_until(pts, at).min(samples.len());
                (at, samples[n..].to_vec())
            } else {
                (pts, samples)
            };
            if pts >= st.next_boundary {
                st.held_audio.push_back((pts, samples));
            } else {
                self.write_audio(st, &samples, pts);
            }
        }
        true
    }

    fn ask_keyframe(&self) {
        if let Some(request) = &self.request_keyframe {
            request();
        }
    }

    /// Checks the current segment's bus; on an error, seals it and stops for good.
    fn poll_failure(&self, st: &mut State) -> bool {
        if st.failed.is_some() {
            return true;
        }
        let failure = st.current.as_mut().and_then(|o| o.seg.poll_failure());
        match failure {
            Some(reason) => {
                self.fail(st, reason);
                true
            }
            None => false,
        }
    }

    fn fail(&self, st: &mut State, reason: String) {
        tracing::error!(dir = %self.dir.display(), "recording failed: {reason}");
        st.failed = Some(reason.clone());
        st.held_audio.clear();
        if let Some(open) = st.current.take() {
            let end = st.video_end.max(st.audio_end).max(open.media_start);
            let _ = self.jobs.send(Job::Close {
                seg: open.seg,
                index: open.index,
                media_start: open.media_start,
                media_end: end,
                seated: open.seated,
                failure: Some(reason),
            });
        }
        self.progress.notify_all();
    }

    /// Closes the current segment at `at` (a keyframe's time) and opens the next one there.
    fn rotate(&self, st: &mut State, at: Duration) {
        let Some(old) = st.current.take() else {
            return;
        };
        // Held audio before the cut belongs to the closing segment.
        while let Some((pts, samples)) = st.held_audio.pop_front() {
            if pts >= at {
                st.held_audio.push_front((pts, samples));
                break;
            }
            let n = samples_until(pts, at).min(samples.len());
            old.seg
                .push_audio(&samples[..n], pts.saturating_sub(old.media_start));
            if n < samples.len() {
                st.held_audio.push_front((at, samples[n..].to_vec()));
                break;
            }
        }
        let _ = self.jobs.send(Job::Close {
            seg: old.seg,
            index: old.index,
            media_start: old.media_start,
            media_end: at,
            seated: old.seated,
            failure: None,
        });
        self.open_segment(st, at);
    }

    /// With no keyframe for a long time, held audio goes into the current segment and the
    /// boundary moves on, so audio is never lost to a stalled encoder.
    fn release_stale_audio(&self, st: &mut State) {
        let (Some(first), Some(last)) = (st.held_audio.front(), st.held_audio.back()) else {
            return;
        };
        if last.0.saturating_sub(first.0) < MAX_HELD_AUDIO {
            return;
        }
        tracing::warn!(dir = %self.dir.display(), "no keyframe at the segment boundary; extending the segment");
        for (pts, samples) in std::mem::take(&mut st.held_audio) {
            self.write_audio(st, &samples, pts);
        }
        st.next_boundary += self.segment_len;
    }

    fn write_audio(&self, st: &State, samples: &[i16], pts: Duration) {
        if samples.is_empty() {
            return;
        }
        if let Some(open) = st.current.as_ref() {
            open.seg
                .push_audio(samples, pts.saturating_sub(open.media_start));
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if self.closer.is_some() {
            tracing::warn!(dir = %self.dir.display(), "recorder dropped without finish; the manifest stays open");
        }
    }
}

/// Where media stops being written: the stop time or the pause, whichever is first.
fn end_point(st: &State) -> Option<Duration> {
    match (st.stop_at, st.paused) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// A lifecycle event at recording time `media`, now.
fn event(kind: &str, actor: &str, media: Duration) -> LifecycleEvent {
    LifecycleEvent {
        event: kind.into(),
        actor: actor.into(),
        at: utc_text(Utc::now()),
        media_ms: media.as_millis() as u64,
    }
}

/// How many samples from `pts` to `until`.
fn samples_until(pts: Duration, until: Duration) -> usize {
    (until.saturating_sub(pts).as_nanos() * SAMPLE_RATE as u128 / 1_000_000_000) as usize
}

/// RFC 3339 UTC with milliseconds, as the manifest writes times.
pub fn utc_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The background thread that finalises, hashes, chains and signs closed segments in order.
struct Closer {
    dir: PathBuf,
    manifest: Manifest,
    key: Option<Arc<RecordingKey>>,
    started_at: DateTime<Utc>,
    on_failure: Option<FailureCallback>,
    stamper: Option<Stamper>,
}

impl Closer {
    fn run(mut self, rx: mpsc::Receiver<Job>) -> (Manifest, Pending) {
        let mut told = false;
        while let Ok(job) = rx.recv() {
            match job {
                Job::Close {
                    seg,
                    index,
                    media_start,
                    media_end,
                    seated,
                    failure,
                } => {
                    let path = seg.path().to_owned();
                    let outcome = match failure {
                        Some(f) => {
                            let _ = seg.finish(Duration::from_millis(500));
                            Err(f)
                        }
                        None => seg.finish(FINISH_TIMEOUT),
                    };
                    let added = self.add(
                        &path,
                        index,
                        media_start,
                        media_end,
                        seated,
                        outcome.is_ok(),
                    );
                    let failure = match outcome {
                        Err(reason) => {
                            self.manifest.state = "failed".into();
                            self.manifest.failure = Some(reason.clone());
                            let _ = self.write();
                            Some(reason)
                        }
                        Ok(()) => self.write().err(),
                    };
                    if let (Some(entry), Some(stamper)) = (added, &self.stamper) {
                        stamper.stamp(Stamp {
                            token: timestamp::chain_token_file(entry.index),
                            target: format!("segment {} chain entry", entry.index),
                            imprint: hash_bytes(&entry.entry_hash),
                            of_manifest: false,
                        });
                    }
                    if let Some(reason) = failure {
                        if !told {
                            told = true;
                            if let Some(cb) = &self.on_failure {
                                cb(reason);
                            }
                        }
                    }
                }
                Job::Originals(list) => {
                    self.manifest.originals.extend(list);
                }
                Job::Event(event) => {
                    self.manifest.events.push(event);
                    if let Err(reason) = self.write() {
                        tracing::error!(dir = %self.dir.display(), "cannot note a lifecycle event: {reason}");
                    }
                }
                Job::Finish { state, failure } => {
                    if self.manifest.state != "failed" {
                        self.manifest.state = state;
                    }
                    if failure.is_some() {
                        self.manifest.failure = failure;
                    }
                    self.manifest.ended_at = Some(utc_text(Utc::now()));
                    let written = self.write();
                    let _ = std::fs::remove_file(self.dir.join(RESERVE_FILE));
                    if let (Ok(()), Some(stamper)) = (written, &self.stamper) {
                        match std::fs::read(self.dir.join(MANIFEST_FILE)) {
                            Ok(bytes) => stamper.stamp(Stamp {
                                token: timestamp::MANIFEST_TOKEN_FILE.into(),
                                target: MANIFEST_FILE.into(),
                                imprint: sha2::Digest::finalize(
                                    <sha2::Sha256 as sha2::Digest>::new_with_prefix(&bytes),
                                )
                                .into(),
                                of_manifest: true,
                            }),
                            Err(e) => {
                                tracing::warn!(dir = %self.dir.display(), "cannot read the manifest to time-stamp it: {e}")
                            }
                        }
                    }
                    tracing::info!(dir = %self.dir.display(), state = %self.manifest.state, segments = self.manifest.segments.len(), "recording sealed");
                    break;
                }
            }
        }
        let pending = self.stamper.take().map(Stamper::close).unwrap_or_default();
        (self.manifest, pending)
    }

    fn add(
        &mut self,
        path: &Path,
        index: u32,
        media_start: Duration,
        media_end: Duration,
        seated: Vec<SeatedParticipant>,
        complete: bool,
    ) -> Option<SegmentEntry> {
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let (size, sha256) = match sha256_file(path) {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(file = %path.display(), "cannot hash segment {index}: {e}");
                return None;
            }
        };
        for p in &seated {
            if !self.manifest.participants.contains(p) {
                self.manifest.participants.push(p.clone());
            }
        }
        let at = |d: Duration| {
            utc_text(self.started_at + chrono::Duration::from_std(d).unwrap_or_default())
        };
        self.manifest.append(SegmentEntry {
            index,
            file,
            size,
            sha256,
            prev_entry_hash: String::new(),
            entry_hash: String::new(),
            started_at: at(media_start),
            ended_at: at(media_end),
            media_start_ms: media_start.as_millis() as u64,
            media_end_ms: media_end.as_millis() as u64,
            complete,
            seated,
        });
        tracing::info!(file = %path.display(), size, complete, "segment closed");
        self.manifest.segments.last().cloned()
    }

    /// Writes and signs the manifest. If that fails (a full disk), the recording cannot go on:
    /// gives up the reserve, marks the manifest `failed`, writes it again, and returns why.
    fn write(&mut self) -> Result<(), String> {
        let Err(e) = self.manifest.write_signed(&self.dir, self.key.as_deref()) else {
            return Ok(());
        };
        let reason = format!("cannot write the manifest: {e}");
        let _ = std::fs::remove_file(self.dir.join(RESERVE_FILE));
        self.manifest.state = "failed".into();
        if self.manifest.failure.is_none() {
            self.manifest.failure = Some(reason.clone());
        }
        match self.manifest.write_signed(&self.dir, self.key.as_deref()) {
            Ok(()) => {
                tracing::warn!(dir = %self.dir.display(), "manifest sealed as failed after releasing the reserve ({e})")
            }
            Err(e2) => {
                tracing::error!(dir = %self.dir.display(), "cannot write the manifest even after releasing the reserve: {e2}")
            }
        }
        Err(reason)
    }
}

/// The 32 bytes of a lowercase hex SHA-256 (zeros where it is not one).
fn hash_bytes(hex: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = hex
            .get(2 * i..2 * i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .unwrap_or(0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_bytes_reads_hex() {
        let h = super::super::manifest::sha256_hex(b"abc");
        assert_eq!(super::super::manifest::hex(&hash_bytes(&h)), h);
        assert_eq!(hash_bytes("zz"), [0u8; 32]);
    }

    #[test]
    fn samples_until_counts_at_48_khz() {
        assert_eq!(
            samples_until(Duration::from_millis(10), Duration::from_millis(30)),
            960
        );
        assert_eq!(
            samples_until(Duration::from_millis(30), Duration::from_millis(10)),
            0
        );
    }
}
