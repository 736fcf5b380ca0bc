//! The recorder's rules without I/O: when a segment closes and the next opens, what happens
//! to audio at a boundary, and how stopping, pausing and resuming cut the media.
//!
//! [`RecordingPlan`] is a state machine in the str0m style: it owns no file, pipeline, thread or
//! clock. It is told each encoded video frame (its time, length and keyframe flag), each tick
//! of mixed audio (its time and samples), and each request of the person recording (stop,
//! pause, resume, finish), and answers with the [`Action`]s the recorder must take, in order.
//! The recorder ([`super::recorder::Recorder`]) applies them to the segment files and the
//! closer; tests here drive it on fake time.
//!
//! The rules:
//! - A segment closes at the first video keyframe at or after its nominal end (a multiple of
//!   the segment length). A keyframe is asked for as soon as a frame or tick reaches the
//!   boundary, once per boundary.
//! - Audio is cut at the same media time as the video: audio at or after the boundary is held
//!   until the keyframe that opens the next segment arrives. If that keyframe is more than
//!   [`MAX_HELD_AUDIO`] late, the held audio goes into the current segment and the boundary moves
//!   on one segment, so audio is never lost to a stalled encoder.
//! - Before the first keyframe, video is dropped (and the keyframe asked for each second);
//!   audio goes into the first segment, which runs on to the first boundary after that
//!   keyframe however late it comes: no segment closes without video.
//! - A stop sets the last media instant: media up to it is written, later media is dropped.
//! - A pause is a stop for the current segment, which closes once video and audio have
//!   reached the pause instant. After a resume, media before the resume instant is dropped,
//!   audio from it is held (up to [`MAX_RESUME_AUDIO`]), and the next segment opens at the first
//!   keyframe from there (or one frame before it). That keyframe is asked for again every
//!   [`RESUME_KEYFRAME_RETRY`] of video until it comes.
//! - A failure (a full disk) closes the open segment as incomplete; everything after is dropped.

use std::collections::VecDeque;
use std::time::Duration;

use crate::media::audio_mix::SAMPLE_RATE;

mod action;

pub use action::{Action, CloseReason, DropReason, FinishPlan, Lifecycle, Progress, Samples};

/// Audio held waiting for a boundary keyframe beyond this goes into the current segment.
pub const MAX_HELD_AUDIO: Duration = Duration::from_secs(3);
/// After a resume, the keyframe that opens the next segment is asked for again this often.
pub const RESUME_KEYFRAME_RETRY: Duration = Duration::from_secs(1);
/// After a resume, audio held for the opening keyframe is kept up to this long.
pub const MAX_RESUME_AUDIO: Duration = Duration::from_secs(10);

/// Duration of `n` samples at the mix rate.
pub fn samples_duration(n: usize) -> Duration {
    Duration::from_nanos(n as u64 * 1_000_000_000 / SAMPLE_RATE as u64)
}

/// How many samples from `pts` to `until` (none when `until` is not later).
pub fn samples_until(pts: Duration, until: Duration) -> usize {
    (until.saturating_sub(pts).as_nanos() * SAMPLE_RATE as u128 / 1_000_000_000) as usize
}

/// What the plan is set up with.
#[derive(Debug, Clone, Copy)]
pub struct PlanConfig {
    /// The hearing's media time that becomes time zero of the recording.
    pub origin: Duration,
    /// Nominal segment length (at least 1 s is used).
    pub segment: Duration,
    /// Video frames per second (for the one frame of slack at a resume).
    pub fps: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Open {
    index: u32,
    media_start: Duration,
}

/// The recorder's rules as a state machine on recording time (see the module docs).
#[derive(Debug)]
pub struct RecordingPlan {
    origin: Duration,
    segment_len: Duration,
    /// One video frame: a keyframe this much before the resume instant opens the next segment.
    frame_slack: Duration,
    current: Option<Open>,
    next_index: u32,
    /// Recording time at which the current segment should end.
    next_boundary: Duration,
    /// The boundary a keyframe was last asked for.
    requested: Option<Duration>,
    keyframe_seen: bool,
    /// Audio at or after `next_boundary` (or after a resume), waiting for the keyframe that
    /// opens the next segment.
    held_audio: VecDeque<(Duration, Vec<i16>)>,
    video_end: Duration,
    audio_end: Duration,
    stop_at: Option<Duration>,
    failed: Option<String>,
    /// A pause in effect, at this recording time.
    paused: Option<Duration>,
    /// After a resume: media before this recording time is dropped, and the next segment
    /// opens at the first keyframe from here.
    resume_at: Option<Duration>,
    /// When the opening keyframe after a resume was last asked for (recording time).
    resume_asked: Option<Duration>,
    /// When the recording's first keyframe was last asked for (recording time).
    first_asked: Option<Duration>,
    /// Whether the `stop` event has been noted.
    stop_noted: bool,
    finished: bool,
}

impl RecordingPlan {
    /// A plan whose first segment (index 0) is open at recording time zero.
    pub fn new(config: PlanConfig) -> Self {
        let segment_len = config.segment.max(Duration::from_secs(1));
        Self {
            origin: config.origin,
            segment_len,
            frame_slack: Duration::from_nanos(1_000_000_000 / config.fps.max(1) as u64),
            current: Some(Open {
                index: 0,
                media_start: Duration::ZERO,
            }),
            next_index: 1,
            next_boundary: segment_len,
            requested: None,
            keyframe_seen: false,
            held_audio: VecDeque::new(),
            video_end: Duration::ZERO,
            audio_end: Duration::ZERO,
            stop_at: None,
            failed: None,
            paused: None,
            resume_at: None,
            resume_asked: None,
            first_asked: None,
            stop_noted: false,
            finished: false,
        }
    }

    /// Whether a pause is in effect.
    pub fn is_paused(&self) -> bool {
        self.paused.is_some()
    }

    /// Why the recording failed, if it did.
    pub fn failure(&self) -> Option<&str> {
        self.failed.as_deref()
    }

    /// Whether [`RecordingPlan::finish`] has run.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The index of the segment open now, if one is.
    pub fn open_segment_index(&self) -> Option<u32> {
        self.current.map(|o| o.index)
    }

    /// Recording time that video and audio have reached.
    pub fn written(&self) -> (Duration, Duration) {
        (self.video_end, self.audio_end)
    }

    /// One encoded video frame at the hearing's media time `media_pts`.
    pub fn video(
        &mut self,
        media_pts: Duration,
        duration: Duration,
        keyframe: bool,
    ) -> Vec<Action> {
        if let Some(why) = self.refusing() {
            return vec![Action::Drop(why)];
        }
        let Some(pts) = media_pts.checked_sub(self.origin) else {
            return vec![Action::Drop(DropReason::BeforeOrigin)];
        };
        let mut out = Vec::new();
        if let Some(end) = self.end_point() {
            if pts >= end {
                self.video_end = self.video_end.max(end);
                out.push(Action::Drop(DropReason::AfterEnd));
                self.close_if_paused(&mut out);
                return out;
            }
        }
        if let Some(resume) = self.resume_at {
            if !(keyframe && pts + self.frame_slack >= resume) {
                if self
                    .resume_asked
                    .is_none_or(|t| pts >= t + RESUME_KEYFRAME_RETRY)
                {
                    self.resume_asked = Some(pts);
                    out.push(Action::RequestKeyframe);
                }
                out.push(Action::Drop(DropReason::AwaitingResumeKeyframe));
                return out;
            }
            self.resume_at = None;
            self.resume_asked = None;
            self.open_segment(pts, &mut out);
            self.keyframe_seen = true;
            self.requested = None;
        }
        if !self.keyframe_seen {
            if !keyframe {
                // Asked for at once, and again each second until it comes.
                if self
                    .first_asked
                    .is_none_or(|t| pts >= t + RESUME_KEYFRAME_RETRY)
                {
                    self.first_asked = Some(pts);
                    out.push(Action::RequestKeyframe);
                }
                out.push(Action::Drop(DropReason::BeforeFirstKeyframe));
                return out;
            }
            self.keyframe_seen = true;
            // However late the first keyframe, it opens video in the first segment, which runs
            // on to the next boundary after it: a segment without video shows nothing of the
            // hearing.
            if pts >= self.next_boundary {
                let passed = (pts.as_nanos() / self.segment_len.as_nanos()) as u32;
                self.next_boundary = self.segment_len * (passed + 1);
                self.requested = None;
            }
        }
        if keyframe && pts >= self.next_boundary {
            self.rotate(pts, &mut out);
        }
        let ask =
            pts + duration >= self.next_boundary && self.requested != Some(self.next_boundary);
        if ask {
            self.requested = Some(self.next_boundary);
        }
        if let Some(open) = self.current {
            out.push(Action::WriteVideo {
                at: pts.saturating_sub(open.media_start),
            });
        }
        self.video_end = self.video_end.max(pts + duration);
        if ask {
            out.push(Action::RequestKeyframe);
        }
        out
    }

    /// One tick of mixed audio starting at the hearing's media time `media_pts`.
    pub fn audio(&mut self, media_pts: Duration, samples: &[i16]) -> Vec<Action> {
        if let Some(why) = self.refusing() {
            return vec![Action::Drop(why)];
        }
        let Some(pts) = media_pts.checked_sub(self.origin) else {
            return vec![Action::Drop(DropReason::BeforeOrigin)];
        };
        let mut out = Vec::new();
        let mut len = samples.len();
        if let Some(stop) = self.end_point() {
            if pts >= stop {
                self.audio_end = self.audio_end.max(stop);
                out.push(Action::Drop(DropReason::AfterEnd));
                self.close_if_paused(&mut out);
                return out;
            }
            len = len.min(samples_until(pts, stop));
        }
        let end = pts + samples_duration(len);
        if let Some(resume) = self.resume_at {
            // Held for the keyframe that opens the next segment; nothing before the resume.
            if end > resume {
                let (from, skip) = if pts < resume {
                    (resume, samples_until(pts, resume).min(len))
                } else {
                    (pts, 0)
                };
                self.hold(from, samples[skip..len].to_vec(), &mut out);
                while self
                    .held_audio
                    .back()
                    .zip(self.held_audio.front())
                    .is_some_and(|(b, f)| b.0.saturating_sub(f.0) > MAX_RESUME_AUDIO)
                {
                    self.held_audio.pop_front();
                }
            } else {
                out.push(Action::Drop(DropReason::AwaitingResumeKeyframe));
            }
            self.audio_end = self.audio_end.max(end);
            return out;
        }
        if !self.keyframe_seen {
            // No video yet: the first segment takes the audio; its end waits for the first
            // keyframe (see [`RecordingPlan::video`]).
            self.write_audio(pts, Samples::Pushed(0..len), &mut out);
            self.audio_end = self.audio_end.max(end);
            return out;
        }
        let boundary = self.next_boundary;
        // Audio asks only once it is past the boundary (the video stalled): a tick mixes its
        // audio before it renders its frame, so a request made as the audio nears the boundary
        // would put the keyframe on the frame before it. The video asks in time.
        let ask = pts >= boundary && self.requested != Some(boundary);
        if ask {
            self.requested = Some(boundary);
        }
        if pts >= boundary {
            self.hold(pts, samples[..len].to_vec(), &mut out);
            self.release_stale_audio(&mut out);
        } else if end > boundary {
            let n = samples_until(pts, boundary).min(len);
            self.write_audio(pts, Samples::Pushed(0..n), &mut out);
            self.hold(boundary, samples[n..len].to_vec(), &mut out);
        } else {
            self.write_audio(pts, Samples::Pushed(0..len), &mut out);
        }
        self.audio_end = self.audio_end.max(end);
        if ask {
            out.push(Action::RequestKeyframe);
        }
        out
    }

    /// The recording's time at the hearing's media time `media_time` (zero before it began).
    pub fn recording_time(&self, media_time: Duration) -> Duration {
        media_time.saturating_sub(self.origin)
    }

    /// Sets the hearing's media time at which the recording ends; later media is dropped.
    pub fn stop_at(&mut self, media_time: Duration) {
        self.stop_at = Some(media_time.saturating_sub(self.origin));
    }

    /// [`RecordingPlan::stop_at`], noting the stop (once) in the manifest.
    pub fn stop_by(&mut self, media_time: Duration) -> Vec<Action> {
        let stop = media_time.saturating_sub(self.origin);
        let mut out = Vec::new();
        if !self.stop_noted {
            self.stop_noted = true;
            out.push(Action::Note {
                event: Lifecycle::Stop,
                at: stop,
            });
        }
        self.stop_at = Some(stop);
        out
    }

    /// Pauses at the hearing's media time `media_time`. `None` (nothing changes) when already
    /// paused, stopping, failed or finished.
    pub fn pause(&mut self, media_time: Duration) -> Option<Vec<Action>> {
        if self.paused.is_some() || self.stop_at.is_some() || self.refusing().is_some() {
            return None;
        }
        let at = media_time.saturating_sub(self.origin);
        self.paused = Some(at);
        self.resume_at = None;
        let mut out = vec![Action::Note {
            event: Lifecycle::Pause,
            at,
        }];
        self.close_if_paused(&mut out);
        Some(out)
    }

    /// Whether the segment open at the pause has closed (or there is no pause).
    pub fn pause_progress(&self) -> Progress {
        match self.paused {
            Some(_) if self.current.is_some() && self.failed.is_none() => Progress::Waiting,
            _ => Progress::Done,
        }
    }

    /// Closes the segment open at the pause where it is, without waiting for media to reach
    /// the pause instant.
    pub fn close_at_pause(&mut self) -> Vec<Action> {
        let mut out = Vec::new();
        if let Some(at) = self.paused {
            self.close_current(at, &mut out);
        }
        out
    }

    /// Resumes at the hearing's media time `media_time` (or at the pause, if that is later).
    /// `None` (nothing changes) when not paused, or stopping, failed or finished.
    pub fn resume(&mut self, media_time: Duration) -> Option<Vec<Action>> {
        let paused = self.paused?;
        if self.stop_at.is_some() || self.refusing().is_some() {
            return None;
        }
        let mut out = Vec::new();
        self.close_current(paused, &mut out);
        let at = media_time.saturating_sub(self.origin).max(paused);
        self.paused = None;
        self.resume_at = Some(at);
        self.resume_asked = None;
        self.held_audio.clear();
        out.push(Action::Note {
            event: Lifecycle::Resume,
            at,
        });
        out.push(Action::RequestKeyframe);
        Some(out)
    }

    /// Whether video and audio have both reached the stop (or the pause before it).
    pub fn stop_progress(&self) -> Progress {
        let Some(stop) = self.stop_at else {
            return Progress::Never;
        };
        if self.failed.is_some() {
            return Progress::Never;
        }
        if self.current.is_none() {
            // Paused (or waiting for the keyframe after a resume): nothing open to fill.
            return Progress::Done;
        }
        let stop = self.end_point().unwrap_or(stop);
        let video_done = self.video_end >= stop || !self.keyframe_seen;
        if video_done && self.audio_end >= stop {
            Progress::Done
        } else {
            Progress::Waiting
        }
    }

    /// The recording failed for good (a pipeline error, a segment that would not start): the
    /// open segment closes as incomplete, and everything after is dropped.
    pub fn fail(&mut self, reason: String) -> Vec<Action> {
        if self.refusing().is_some() {
            return Vec::new();
        }
        self.failed = Some(reason.clone());
        self.held_audio.clear();
        let mut out = Vec::new();
        if let Some(open) = self.current.take() {
            out.push(Action::CloseSegment {
                index: open.index,
                media_start: open.media_start,
                media_end: self.video_end.max(self.audio_end).max(open.media_start),
                reason: CloseReason::Failed(reason),
            });
        }
        out
    }

    /// The end: notes the stop if nobody did, writes the held audio, and closes the open
    /// segment at the stop (or where media reached, if earlier). `None` if already finished.
    pub fn finish(&mut self) -> Option<FinishPlan> {
        if self.finished {
            return None;
        }
        self.finished = true;
        let mut end = self.video_end.max(self.audio_end);
        if let Some(stop) = self.stop_at {
            end = end.min(stop);
        }
        let mut out = Vec::new();
        if !self.stop_noted {
            self.stop_noted = true;
            out.push(Action::Note {
                event: Lifecycle::Stop,
                at: end,
            });
        }
        if let Some(open) = self.current.take() {
            for (pts, samples) in std::mem::take(&mut self.held_audio) {
                push_audio_into(open, pts, samples, &mut out);
            }
            out.push(Action::CloseSegment {
                index: open.index,
                media_start: open.media_start,
                media_end: end.max(open.media_start),
                reason: CloseReason::Stop,
            });
        }
        Some(FinishPlan {
            actions: out,
            duration: end,
            failure: self.failed.clone(),
        })
    }

    fn refusing(&self) -> Option<DropReason> {
        if self.finished {
            Some(DropReason::Finished)
        } else if self.failed.is_some() {
            Some(DropReason::Failed)
        } else {
            None
        }
    }

    /// Where media stops being written: the stop time or the pause, whichever is first.
    fn end_point(&self) -> Option<Duration> {
        match (self.stop_at, self.paused) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn hold(&mut self, from: Duration, samples: Vec<i16>, out: &mut Vec<Action>) {
        out.push(Action::HoldAudio {
            from,
            samples: samples.len(),
        });
        self.held_audio.push_back((from, samples));
    }

    /// Writes samples at recording time `pts` into the open segment.
    fn write_audio(&self, pts: Duration, samples: Samples, out: &mut Vec<Action>) {
        if samples.is_empty() {
            return;
        }
        if let Some(open) = self.current {
            out.push(Action::WriteAudio {
                at: pts.saturating_sub(open.media_start),
                samples,
            });
        }
    }

    /// While paused: closes the current segment once video and audio have reached the pause.
    fn close_if_paused(&mut self, out: &mut Vec<Action>) {
        let Some(at) = self.paused else {
            return;
        };
        if self.current.is_none() {
            return;
        }
        let video_done = self.video_end >= at || !self.keyframe_seen;
        if video_done && self.audio_end >= at {
            self.close_current(at, out);
        }
    }

    /// Closes the current segment at recording time `at`: held audio before `at` goes into
    /// it, the rest is dropped.
    fn close_current(&mut self, at: Duration, out: &mut Vec<Action>) {
        let Some(open) = self.current.take() else {
            return;
        };
        for (pts, samples) in std::mem::take(&mut self.held_audio) {
            if pts >= at {
                continue;
            }
            let n = samples_until(pts, at).min(samples.len());
            push_audio_into(open, pts, samples[..n].to_vec(), out);
        }
        out.push(Action::CloseSegment {
            index: open.index,
            media_start: open.media_start,
            media_end: at.max(open.media_start),
            reason: CloseReason::Pause,
        });
    }

    /// Starts the next segment at `at` (a keyframe's time), moves the boundary on, and writes
    /// the held audio from `at` on into it (or keeps holding what lies past the boundary).
    fn open_segment(&mut self, at: Duration, out: &mut Vec<Action>) {
        let index = self.next_index;
        out.push(Action::OpenSegment { index, at });
        self.current = Some(Open {
            index,
            media_start: at,
        });
        self.next_index += 1;
        let len = self.segment_len.as_nanos();
        self.next_boundary = Duration::from_nanos(((at.as_nanos() / len + 1) * len) as u64);
        for (pts, samples) in std::mem::take(&mut self.held_audio) {
            // Audio held from before `at` (a resume) starts the segment at `at`.
            let (pts, samples) = if pts < at {
                let n = samples_until(pts, at).min(samples.len());
                (at, samples[n..].to_vec())
            } else {
                (pts, samples)
            };
            if pts >= self.next_boundary {
                self.held_audio.push_back((pts, samples));
            } else {
                self.write_audio(pts, Samples::Held(samples), out);
            }
        }
    }

    /// Closes the current segment at `at` (a keyframe's time) and opens the next one there.
    fn rotate(&mut self, at: Duration, out: &mut Vec<Action>) {
        let Some(old) = self.current.take() else {
            return;
        };
        // Held audio before the cut belongs to the closing segment.
        while let Some((pts, samples)) = self.held_audio.pop_front() {
            if pts >= at {
                self.held_audio.push_front((pts, samples));
                break;
            }
            let n = samples_until(pts, at).min(samples.len());
            push_audio_into(old, pts, samples[..n].to_vec(), out);
            if n < samples.len() {
                self.held_audio.push_front((at, samples[n..].to_vec()));
                break;
            }
        }
        out.push(Action::CloseSegment {
            index: old.index,
            media_start: old.media_start,
            media_end: at,
            reason: CloseReason::Boundary,
        });
        self.open_segment(at, out);
    }

    /// With no keyframe for a long time, held audio goes into the current segment and the
    /// boundary moves on, so audio is never lost to a stalled encoder.
    fn release_stale_audio(&mut self, out: &mut Vec<Action>) {
        let (Some(first), Some(last)) = (self.held_audio.front(), self.held_audio.back()) else {
            return;
        };
        if last.0.saturating_sub(first.0) < MAX_HELD_AUDIO {
            return;
        }
        out.push(Action::ExtendSegment {
            until: self.next_boundary + self.segment_len,
        });
        for (pts, samples) in std::mem::take(&mut self.held_audio) {
            self.write_audio(pts, Samples::Held(samples), out);
        }
        self.next_boundary += self.segment_len;
    }
}

/// Writes held samples at recording time `pts` into segment `open` (which the plan may
/// already have let go of: it is still the one open in the recorder at this point).
fn push_audio_into(open: Open, pts: Duration, samples: Vec<i16>, out: &mut Vec<Action>) {
    if samples.is_empty() {
        return;
    }
    out.push(Action::WriteAudio {
        at: pts.saturating_sub(open.media_start),
        samples: Samples::Held(samples),
    });
}

#[cfg(test)]
mod tests;
