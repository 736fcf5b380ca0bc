//! The segment writer: applies the recording plan's actions to the segment files and hands
//! closed segments and lifecycle events to the closer ([`super::closer`]). It owns the open
//! [`Segment`]; the recorder holds it behind its writer lock.

use std::path::PathBuf;
use std::sync::mpsc;

use chrono::Utc;

use super::closer::Job;
use super::manifest::{LifecycleEvent, SeatedParticipant};
use super::plan::{Action, CloseReason, Lifecycle};
use super::segment::{self, Segment, VideoFormat};
use crate::media::encoder::EncodedFrame;
use crate::timefmt::utc_text;

/// Writes a recording's segments.
pub(super) struct SegmentWriter {
    dir: PathBuf,
    format: VideoFormat,
    jobs: mpsc::Sender<Job>,
    open: Option<OpenSegment>,
    seated_now: Vec<SeatedParticipant>,
    /// A segment that would not start: the recording has failed.
    broken: Option<String>,
}

struct OpenSegment {
    seg: Segment,
    index: u32,
    /// Everyone seated at any time during the segment.
    seated: Vec<SeatedParticipant>,
    /// Whether any video frame was written into it.
    video: bool,
    /// Whether any audio sample was written into it.
    audio: bool,
}

impl OpenSegment {
    fn new(seg: Segment, index: u32, seated: Vec<SeatedParticipant>) -> Self {
        Self {
            seg,
            index,
            seated,
            video: false,
            audio: false,
        }
    }

    /// The tracks written into: `video` and/or `audio`.
    fn tracks(&self) -> Vec<String> {
        [(self.video, "video"), (self.audio, "audio")]
            .into_iter()
            .filter(|(held, _)| *held)
            .map(|(_, kind)| kind.to_owned())
            .collect()
    }
}

/// What was just given to the plan, for the actions that write it.
#[derive(Clone, Copy, Default)]
pub(super) struct Pushed<'a> {
    /// The encoded frame.
    pub frame: Option<&'a EncodedFrame>,
    /// The tick of audio.
    pub samples: &'a [i16],
}

/// What applying a list of actions left to do once the locks are let go.
#[derive(Default)]
pub(super) struct Applied {
    /// Ask the encoder for a keyframe.
    pub keyframe: bool,
    /// A segment would not start: tell the plan.
    pub broken: bool,
}

impl SegmentWriter {
    /// A writer whose first segment (index 0) is `first`, already started.
    pub(super) fn new(
        dir: PathBuf,
        format: VideoFormat,
        jobs: mpsc::Sender<Job>,
        first: Segment,
        seated: Vec<SeatedParticipant>,
    ) -> Self {
        Self {
            dir,
            format,
            jobs,
            open: Some(OpenSegment::new(first, 0, seated.clone())),
            seated_now: seated,
            broken: None,
        }
    }

    /// Why the recording cannot go on, if it cannot: a segment that would not start, or an
    /// error on the open segment's pipeline.
    pub(super) fn failure(&mut self) -> Option<String> {
        if let Some(reason) = &self.broken {
            return Some(reason.clone());
        }
        self.open.as_mut().and_then(|o| o.seg.poll_failure())
    }

    /// Who is seated now; everyone seated at any time in a segment is listed in its entry.
    pub(super) fn set_seated(&mut self, seated: Vec<SeatedParticipant>) {
        if let Some(open) = self.open.as_mut() {
            for p in &seated {
                if !open.seated.contains(p) {
                    open.seated.push(p.clone());
                }
            }
        }
        self.seated_now = seated;
    }

    /// Applies the plan's `actions` in order. `pushed` is what the plan was just given;
    /// `actor` is who lifecycle events are noted for.
    pub(super) fn apply(
        &mut self,
        actions: Vec<Action>,
        actor: &str,
        pushed: Pushed<'_>,
    ) -> Applied {
        let mut applied = Applied::default();
        for action in actions {
            match action {
                Action::OpenSegment { index, at } => {
                    let path = self.dir.join(segment::file_name(index));
                    match Segment::start(&path, self.format) {
                        Ok(seg) => {
                            tracing::debug!(dir = %self.dir.display(), index, ?at, "segment opened");
                            self.open = Some(OpenSegment::new(seg, index, self.seated_now.clone()));
                        }
                        Err(e) => {
                            // The rest of the list was for that segment.
                            self.broken = Some(format!("cannot start segment {index}: {e}"));
                            applied.broken = true;
                            return applied;
                        }
                    }
                }
                Action::WriteVideo { at } => {
                    if let (Some(open), Some(frame)) = (&mut self.open, pushed.frame) {
                        open.seg
                            .push_video(frame.data.clone(), at, frame.duration, frame.keyframe);
                        open.video = true;
                    }
                }
                Action::WriteAudio { at, samples } => {
                    if let Some(open) = &mut self.open {
                        let samples = samples.resolve(pushed.samples);
                        open.seg.push_audio(samples, at);
                        open.audio |= !samples.is_empty();
                    }
                }
                Action::CloseSegment {
                    index,
                    media_start,
                    media_end,
                    reason,
                } => {
                    // None open: the segment never started.
                    let Some(open) = self.open.take() else {
                        continue;
                    };
                    debug_assert_eq!(open.index, index, "the plan closes the open segment");
                    if reason == CloseReason::Pause {
                        tracing::debug!(dir = %self.dir.display(), index, at = ?media_end, "segment closed for a pause");
                    }
                    let failure = match reason {
                        CloseReason::Failed(reason) => Some(reason),
                        _ => None,
                    };
                    let tracks = open.tracks();
                    let _ = self.jobs.send(Job::Close {
                        seg: open.seg,
                        index: open.index,
                        media_start,
                        media_end,
                        seated: open.seated,
                        tracks,
                        failure,
                    });
                }
                Action::RequestKeyframe => applied.keyframe = true,
                Action::ExtendSegment { until } => {
                    tracing::warn!(dir = %self.dir.display(), ?until, "no keyframe at the segment boundary; extending the segment");
                }
                Action::Note { event, at } => {
                    if event != Lifecycle::Stop {
                        tracing::info!(dir = %self.dir.display(), %actor, ?at, "recording {}", match event {
                            Lifecycle::Pause => "paused",
                            _ => "resumed",
                        });
                    }
                    let _ = self.jobs.send(Job::Event(LifecycleEvent {
                        event: event.as_str().into(),
                        actor: actor.into(),
                        at: utc_text(Utc::now()),
                        media_ms: at.as_millis() as u64,
                    }));
                }
                Action::HoldAudio { .. } | Action::Drop(_) => {}
            }
        }
        applied
    }
}
