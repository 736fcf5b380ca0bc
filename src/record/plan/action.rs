//! What the plan answers: the [`Action`]s the recorder takes, and the words they use.

use std::ops::Range;
use std::time::Duration;

/// Samples to write: a part of the tick just given, or audio the plan held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Samples {
    /// These samples of the tick given to [`super::RecordingPlan::audio`].
    Pushed(Range<usize>),
    /// Samples held from earlier ticks.
    Held(Vec<i16>),
}

impl Samples {
    /// The samples, with `pushed` the tick given to the plan.
    pub fn resolve<'a>(&'a self, pushed: &'a [i16]) -> &'a [i16] {
        match self {
            Self::Pushed(range) => pushed.get(range.clone()).unwrap_or(&[]),
            Self::Held(samples) => samples,
        }
    }

    /// How many samples.
    pub fn len(&self) -> usize {
        match self {
            Self::Pushed(range) => range.len(),
            Self::Held(samples) => samples.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why a segment closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// A keyframe at or after the segment's nominal end opens the next one.
    Boundary,
    /// The recording is paused.
    Pause,
    /// The recording is finished.
    Stop,
    /// The recording failed (the segment is incomplete).
    Failed(String),
}

/// Why media is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Before the recording's time zero.
    BeforeOrigin,
    /// At or after the stop or the pause.
    AfterEnd,
    /// Video before the first keyframe.
    BeforeFirstKeyframe,
    /// After a resume, before the keyframe that opens the next segment.
    AwaitingResumeKeyframe,
    /// The recording has failed.
    Failed,
    /// The recording is finished.
    Finished,
}

/// A lifecycle event for the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// The recording paused.
    Pause,
    /// The recording resumed.
    Resume,
    /// The recording stopped.
    Stop,
}

impl Lifecycle {
    /// The manifest's word: `pause`, `resume`, `stop`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::Stop => "stop",
        }
    }
}

/// One thing the recorder must do, in the order given. Writes go into the segment open at
/// that point of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Start segment file `index`; recording time `at` is its time zero. If it cannot start,
    /// the rest of the list is abandoned and the failure told to [`super::RecordingPlan::fail`].
    OpenSegment {
        /// Segment index.
        index: u32,
        /// Recording time of its start.
        at: Duration,
    },
    /// Write the frame just given into the open segment at segment time `at`.
    WriteVideo {
        /// Segment time.
        at: Duration,
    },
    /// Write samples into the open segment at segment time `at`.
    WriteAudio {
        /// Segment time.
        at: Duration,
        /// Which samples.
        samples: Samples,
    },
    /// Audio from recording time `from` is held (nothing to do; for the log and tests).
    HoldAudio {
        /// Recording time of the first held sample.
        from: Duration,
        /// How many samples.
        samples: usize,
    },
    /// Close the open segment (`index`) and hand it to the closer.
    CloseSegment {
        /// Segment index.
        index: u32,
        /// Recording time of its start.
        media_start: Duration,
        /// Recording time of its end.
        media_end: Duration,
        /// Why.
        reason: CloseReason,
    },
    /// Ask the encoder for a keyframe on its next frame.
    RequestKeyframe,
    /// No keyframe came at the boundary: the current segment goes on until `until`.
    ExtendSegment {
        /// The new nominal end.
        until: Duration,
    },
    /// Note a lifecycle event at recording time `at` in the manifest.
    Note {
        /// Which.
        event: Lifecycle,
        /// Recording time.
        at: Duration,
    },
    /// Nothing is written of what was just given.
    Drop(DropReason),
}

/// Whether media has reached an instant the recorder waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Reached (or nothing is left to wait for).
    Done,
    /// Not yet.
    Waiting,
    /// It never will be (no stop set, or the recording failed).
    Never,
}

/// What [`super::RecordingPlan::finish`] leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishPlan {
    /// The last actions: the `stop` note if none was made, held audio, the last close.
    pub actions: Vec<Action>,
    /// Recording time written.
    pub duration: Duration,
    /// Why the recording failed, if it did.
    pub failure: Option<String>,
}
