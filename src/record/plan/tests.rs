//! The plan on fake time: an encoder that answers keyframe requests on its next frame (or
//! not), a 40 ms tick of 1920 samples, and fake segments that check what lands in them.

use super::*;

const TICK: Duration = Duration::from_millis(40);
const TICK_SAMPLES: usize = 1920;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn plan(segment_ms: u64) -> RecordingPlan {
    RecordingPlan::new(PlanConfig {
        origin: Duration::ZERO,
        segment: ms(segment_ms),
        fps: 25,
    })
}

/// A segment as the fake recorder saw it.
#[derive(Debug, Clone, PartialEq)]
struct FakeSegment {
    index: u32,
    start: Duration,
    end: Option<Duration>,
    reason: Option<CloseReason>,
    /// Segment times of the frames written.
    video: Vec<Duration>,
    /// Segment time and length of each audio write.
    audio: Vec<(Duration, usize)>,
}

impl FakeSegment {
    /// Checks the audio runs without gap or overlap from the segment's start to `until`
    /// (segment time), and returns how many samples it holds.
    fn audio_contiguous(&self, until: Duration) -> usize {
        let mut at = Duration::ZERO;
        let mut total = 0;
        for (t, n) in &self.audio {
            assert_eq!(*t, at, "segment {}: audio {:?}", self.index, self.audio);
            at += samples_duration(*n);
            total += n;
        }
        assert_eq!(at, until, "segment {}: audio {:?}", self.index, self.audio);
        total
    }

    fn media(&self) -> Duration {
        self.end.expect("closed") - self.start
    }
}

/// Applies the plan's actions the way the recorder does, to fake segments; plays the encoder.
struct Fake {
    plan: RecordingPlan,
    open: Option<FakeSegment>,
    closed: Vec<FakeSegment>,
    notes: Vec<(Lifecycle, Duration)>,
    /// Keyframe requests seen, at the media time of what was pushed.
    requests: Vec<Duration>,
    holds: usize,
    extended: Vec<Duration>,
    drops: Vec<DropReason>,
    /// The encoder makes its next frame from this media time on a keyframe.
    keyframe_from: Option<Duration>,
    /// Whether the encoder honours requests.
    obliging: bool,
    /// Whether a request made with a tick's audio reaches the encoder before that tick's own
    /// frame, as in the hearing, which mixes a tick's audio before it renders the frame.
    audio_first: bool,
    /// Natural keyframe interval in frames.
    gop: u64,
    frame: u64,
    /// Segment indexes whose opening is made to fail.
    refuse_open: Vec<u32>,
}

impl Fake {
    fn new(plan: RecordingPlan) -> Self {
        Self {
            plan,
            open: Some(FakeSegment {
                index: 0,
                start: Duration::ZERO,
                end: None,
                reason: None,
                video: vec![],
                audio: vec![],
            }),
            closed: vec![],
            notes: vec![],
            requests: vec![],
            holds: 0,
            extended: vec![],
            drops: vec![],
            keyframe_from: None,
            obliging: true,
            audio_first: true,
            gop: 50,
            frame: 0,
            refuse_open: vec![],
        }
    }

    /// Applies what the plan said about media at `at`: a keyframe asked for then comes on the
    /// encoder's next frame, after `at`.
    fn apply(&mut self, at: Duration, actions: Vec<Action>, pushed: &[i16]) {
        for action in actions {
            match action {
                Action::OpenSegment { index, at: start } => {
                    assert!(self.open.is_none(), "open {index} over {:?}", self.open);
                    if self.refuse_open.contains(&index) {
                        let more = self.plan.fail(format!("cannot start segment {index}"));
                        // The segment never opened: its close is skipped, like the recorder.
                        assert!(matches!(
                            more.as_slice(),
                            [Action::CloseSegment { index: i, reason: CloseReason::Failed(_), .. }] if *i == index
                        ));
                        return;
                    }
                    self.open = Some(FakeSegment {
                        index,
                        start,
                        end: None,
                        reason: None,
                        video: vec![],
                        audio: vec![],
                    });
                }
                Action::WriteVideo { at } => self.open.as_mut().expect("open").video.push(at),
                Action::WriteAudio { at, samples } => {
                    let n = samples.resolve(pushed).len();
                    assert_eq!(n, samples.len());
                    self.open.as_mut().expect("open").audio.push((at, n));
                }
                Action::HoldAudio { .. } => self.holds += 1,
                Action::CloseSegment {
                    index,
                    media_start,
                    media_end,
                    reason,
                } => {
                    let mut seg = self.open.take().expect("a segment to close");
                    assert_eq!((seg.index, seg.start), (index, media_start));
                    seg.end = Some(media_end);
                    seg.reason = Some(reason);
                    self.closed.push(seg);
                }
                Action::RequestKeyframe => {
                    self.requests.push(at);
                    if self.obliging {
                        // Asked with audio: the tick's own frame; asked with a frame the
                        // encoder put out: the next one.
                        let audio = !pushed.is_empty();
                        self.keyframe_from = Some(if audio && self.audio_first {
                            at
                        } else {
                            at + TICK
                        });
                    }
                }
                Action::ExtendSegment { until } => self.extended.push(until),
                Action::Note { event, at } => self.notes.push((event, at)),
                Action::Drop(why) => self.drops.push(why),
            }
        }
    }

    /// The encoder's next frame, at `pts`.
    fn video(&mut self, pts: Duration) {
        let asked = self.keyframe_from.is_some_and(|t| pts >= t);
        if asked {
            self.keyframe_from = None;
        }
        let keyframe = self.frame.is_multiple_of(self.gop) || asked;
        self.frame += 1;
        let actions = self.plan.video(pts, TICK, keyframe);
        self.apply(pts, actions, &[]);
    }

    /// One tick of audio at `pts`.
    fn audio(&mut self, pts: Duration) {
        let samples = vec![1i16; TICK_SAMPLES];
        let actions = self.plan.audio(pts, &samples);
        self.apply(pts, actions, &samples);
    }

    /// Ticks `from..until` (ms): video lagging `video_lag` ticks behind audio.
    fn run(&mut self, from: u64, until: u64, video_lag: u64) {
        let (first, last) = (from / 40, until / 40);
        for tick in first..last + video_lag {
            if tick < last {
                self.audio(TICK * tick as u32);
            }
            if tick >= first + video_lag {
                self.video(TICK * (tick - video_lag) as u32);
            }
        }
    }

    fn pause(&mut self, at: Duration) {
        let actions = self.plan.pause(at).expect("pause accepted");
        self.apply(at, actions, &[]);
    }

    /// Resumes at `at`; the keyframe asked for comes on the frame at `at`.
    fn resume(&mut self, at: Duration) {
        let actions = self.plan.resume(at).expect("resume accepted");
        self.apply(at.saturating_sub(TICK), actions, &[]);
    }

    fn stop_by(&mut self, at: Duration) {
        let actions = self.plan.stop_by(at);
        self.apply(at, actions, &[]);
    }

    fn finish(&mut self) -> FinishPlan {
        let done = self.plan.finish().expect("first finish");
        self.apply(Duration::MAX, done.actions.clone(), &[]);
        done
    }

    fn spans(&self) -> Vec<(u32, u64, u64)> {
        self.closed
            .iter()
            .map(|s| {
                (
                    s.index,
                    s.start.as_millis() as u64,
                    s.end.unwrap().as_millis() as u64,
                )
            })
            .collect()
    }
}

#[test]
fn sample_arithmetic_at_48_khz() {
    assert_eq!(samples_until(ms(10), ms(30)), 960);
    assert_eq!(samples_until(ms(30), ms(10)), 0);
    assert_eq!(samples_duration(1920), ms(40));
}

/// With each tick's audio pushed before its frame (the fake's default, as in the hearing): a
/// keyframe asked for with the audio of the tick before a boundary would land one frame early
/// and the segment would run on to the next natural keyframe. Audio asks only once it is past
/// the boundary; the video's own request lands on it.
#[test]
fn segments_close_at_the_keyframe_asked_for_at_each_boundary() {
    let mut f = Fake::new(plan(1000));
    f.run(0, 3480, 0);
    f.plan.stop_at(ms(3500));
    f.run(3480, 3600, 0);
    assert_eq!(f.plan.stop_progress(), Progress::Done);
    let done = f.finish();
    assert_eq!(done.duration, ms(3500));
    assert_eq!(done.failure, None);
    assert_eq!(
        f.spans(),
        [
            (0, 0, 1000),
            (1, 1000, 2000),
            (2, 2000, 3000),
            (3, 3000, 3500)
        ]
    );
    // One request per boundary, on the tick before it.
    assert_eq!(f.requests, [ms(960), ms(1960), ms(2960)]);
    for s in &f.closed {
        assert_eq!(
            s.audio_contiguous(s.media()),
            s.media().as_millis() as usize * 48
        );
        assert_eq!(
            s.video[0],
            Duration::ZERO,
            "each segment starts on its keyframe"
        );
    }
    assert_eq!(
        f.closed[3].video.len(),
        13,
        "3000..3520: the frame at 3480 is kept"
    );
    assert_eq!(f.closed[3].reason, Some(CloseReason::Stop));
    assert_eq!(f.notes, [(Lifecycle::Stop, ms(3500))]);
    assert!(f.drops.iter().all(|d| *d == DropReason::AfterEnd));
}

#[test]
fn audio_ahead_of_the_video_is_held_for_the_boundary_keyframe() {
    let mut f = Fake::new(plan(1000));
    // The encoder is three ticks behind the mix.
    f.run(0, 2400, 3);
    f.plan.stop_at(ms(2400));
    f.run(2400, 2600, 3);
    f.finish();
    assert_eq!(f.spans(), [(0, 0, 1000), (1, 1000, 2000), (2, 2000, 2400)]);
    assert!(f.holds >= 6, "audio past each boundary waited: {}", f.holds);
    for s in &f.closed {
        s.audio_contiguous(s.media());
    }
}

#[test]
fn a_late_keyframe_moves_the_boundary_and_keeps_the_audio() {
    // An encoder that ignores requests: keyframes only every 2 s.
    let mut f = Fake::new(plan(1000));
    f.obliging = false;
    f.run(0, 4400, 1);
    f.plan.stop_at(ms(4400));
    f.run(4400, 4600, 1);
    f.finish();
    assert_eq!(f.spans(), [(0, 0, 2000), (1, 2000, 4000), (2, 4000, 4400)]);
    for s in &f.closed {
        s.audio_contiguous(s.media());
    }
    // A keyframe one frame after the boundary: the cut is there, the audio before it stays.
    let mut f = Fake::new(plan(1000));
    f.gop = 1000;
    f.obliging = false;
    f.run(0, 1000, 0);
    let k = f.plan.video(ms(1000), TICK, false);
    f.apply(ms(1000), k, &[]);
    f.audio(ms(1000));
    f.audio(ms(1040));
    let k = f.plan.video(ms(1040), TICK, true);
    f.apply(ms(1040), k, &[]);
    f.run(1080, 1200, 0);
    f.plan.stop_at(ms(1200));
    f.finish();
    assert_eq!(f.spans(), [(0, 0, 1040), (1, 1040, 1200)]);
    for s in &f.closed {
        s.audio_contiguous(s.media());
    }
}

#[test]
fn audio_held_beyond_the_limit_goes_into_the_current_segment() {
    // No keyframe after the first: the boundary moves on, and no audio is lost.
    let mut f = Fake::new(plan(1000));
    f.gop = u64::MAX;
    f.obliging = false;
    f.run(0, 8000, 0);
    f.plan.stop_at(ms(8000));
    let done = f.finish();
    assert_eq!(done.duration, ms(8000));
    assert_eq!(f.spans(), [(0, 0, 8000)]);
    assert!(!f.extended.is_empty());
    assert_eq!(f.extended[0], ms(2000));
    assert_eq!(f.closed[0].audio_contiguous(ms(8000)), 8000 * 48);
}

#[test]
fn audio_before_the_first_video_frame_goes_into_the_first_segment() {
    let mut f = Fake::new(plan(1000));
    for t in (0..=240).step_by(40) {
        f.audio(ms(t));
    }
    assert_eq!(f.plan.stop_progress(), Progress::Never, "no stop yet");
    // Frames before the first keyframe are dropped (and the keyframe asked for, which this
    // encoder ignores); the keyframe's time is kept.
    f.frame = 1;
    f.gop = 1000;
    f.obliging = false;
    f.video(ms(200));
    f.video(ms(240));
    assert_eq!(f.drops, [DropReason::BeforeFirstKeyframe; 2]);
    assert_eq!(f.requests, [ms(200)], "asked once within the second");
    f.audio(ms(280));
    let k = f.plan.video(ms(280), TICK, true);
    f.apply(ms(280), k, &[]);
    f.run(320, 600, 0);
    let open = f.open.as_ref().unwrap();
    assert_eq!(open.audio[0], (Duration::ZERO, TICK_SAMPLES));
    assert_eq!(open.video[0], ms(280));
    // A stop before any keyframe waits for audio only.
    let mut g = Fake::new(plan(1000));
    g.plan.stop_at(ms(80));
    g.audio(ms(0));
    assert_eq!(g.plan.stop_progress(), Progress::Waiting);
    g.audio(ms(40));
    assert_eq!(g.plan.stop_progress(), Progress::Done);
}

#[test]
fn a_first_keyframe_later_than_a_segment_still_opens_video_in_the_first_segment() {
    // The encoder's first keyframe comes 2.5 s in (a busy machine), with 1 s segments. No
    // segment may close without video: an audio-only first segment listed as complete was what
    // the overloaded server recorded (issue 16).
    let mut f = Fake::new(plan(1000));
    f.obliging = false;
    f.gop = u64::MAX;
    f.frame = 1;
    for tick in 0..(2520 / 40) {
        f.audio(TICK * tick);
        f.video(TICK * tick);
    }
    assert!(
        f.closed.is_empty(),
        "closed before any video: {:?}",
        f.spans()
    );
    assert!(!f.requests.is_empty(), "the first keyframe was asked for");
    let first_ask = f.requests[0];
    assert!(
        f.requests
            .windows(2)
            .all(|w| w[1] >= w[0] + RESUME_KEYFRAME_RETRY),
        "{:?}",
        f.requests
    );
    let k = f.plan.video(ms(2520), TICK, true);
    f.apply(ms(2520), k, &[]);
    f.audio(ms(2520));
    f.obliging = true;
    f.run(2560, 4400, 0);
    f.plan.stop_at(ms(4400));
    f.run(4400, 4600, 0);
    f.finish();
    assert!(first_ask < ms(100), "asked at {first_ask:?}");
    let spans = f.spans();
    assert_eq!(spans[0], (0, 0, 3000), "{spans:?}");
    assert_eq!(spans.last().unwrap().2, 4400, "{spans:?}");
    for s in &f.closed {
        assert!(
            !s.video.is_empty(),
            "segment {} has no video: {spans:?}",
            s.index
        );
        s.audio_contiguous(s.media());
    }
    assert_eq!(f.closed[0].video[0], ms(2520));
}

#[test]
fn pause_closes_the_segment_and_resume_opens_the_next_at_a_keyframe() {
    let mut f = Fake::new(plan(1000));
    f.run(0, 2560, 0);
    f.pause(ms(2600));
    assert!(f.plan.is_paused());
    assert!(f.plan.pause(ms(2700)).is_none(), "already paused");
    // The segment closes once video and audio have reached the pause instant.
    f.audio(ms(2560));
    f.video(ms(2560));
    assert_eq!(f.plan.pause_progress(), Progress::Waiting);
    f.audio(ms(2600));
    assert_eq!(f.plan.pause_progress(), Progress::Done);
    f.run(2640, 4000, 0);
    f.resume(ms(4000));
    assert!(f.plan.resume(ms(4100)).is_none(), "not paused");
    f.run(4000, 6500, 0);
    f.stop_by(ms(6500));
    f.run(6500, 6700, 0);
    f.finish();
    assert_eq!(
        f.spans(),
        [
            (0, 0, 1000),
            (1, 1000, 2000),
            (2, 2000, 2600),
            (3, 4000, 5000),
            (4, 5000, 6000),
            (5, 6000, 6500)
        ]
    );
    assert_eq!(f.closed[2].reason, Some(CloseReason::Pause));
    assert_eq!(
        f.notes,
        [
            (Lifecycle::Pause, ms(2600)),
            (Lifecycle::Resume, ms(4000)),
            (Lifecycle::Stop, ms(6500))
        ],
        "finish does not note the stop again"
    );
    for s in &f.closed {
        s.audio_contiguous(s.media());
        assert_eq!(s.video[0], Duration::ZERO);
    }
}

#[test]
fn a_pause_that_media_never_reaches_is_closed_where_it_is() {
    let mut f = Fake::new(plan(1000));
    f.run(0, 1400, 0);
    f.pause(ms(1500));
    assert_eq!(f.plan.pause_progress(), Progress::Waiting);
    let close = f.plan.close_at_pause();
    f.apply(ms(1500), close, &[]);
    assert_eq!(f.plan.pause_progress(), Progress::Done);
    assert_eq!(f.spans(), [(0, 0, 1000), (1, 1000, 1500)]);
    // While paused (nothing open), a stop has nothing to wait for.
    f.stop_by(ms(1600));
    assert_eq!(f.plan.stop_progress(), Progress::Done);
    assert!(f.plan.resume(ms(1700)).is_none(), "no resume once stopping");
}

#[test]
fn after_a_resume_the_keyframe_is_asked_again_each_second_until_it_comes() {
    let mut f = Fake::new(plan(1000));
    f.run(0, 1000, 0);
    f.pause(ms(1000));
    f.run(1000, 1200, 0);
    f.obliging = false;
    f.gop = u64::MAX;
    f.resume(ms(1200));
    let asked_at_resume = f.requests.len();
    f.run(1200, 3680, 0);
    // Asked at the resume, then at the first frame, then once a second of video.
    let after: Vec<u64> = f.requests[asked_at_resume..]
        .iter()
        .map(|d| d.as_millis() as u64)
        .collect();
    assert_eq!(after, [1200, 2200, 3200]);
    assert!(f.drops.contains(&DropReason::AwaitingResumeKeyframe));
    assert_eq!(f.plan.open_segment_index(), None);
    // A keyframe at last: the segment opens there, with the audio from there on (the held
    // audio before it is not written).
    f.audio(ms(3680));
    let k = f.plan.video(ms(3680), TICK, true);
    f.apply(ms(3680), k, &[]);
    assert_eq!(f.plan.open_segment_index(), Some(1));
    let open = f.open.as_ref().unwrap();
    assert_eq!(open.start, ms(3680));
    assert_eq!(open.audio, [(Duration::ZERO, TICK_SAMPLES)]);
    f.run(3720, 4000, 0);
    f.plan.stop_at(ms(4000));
    f.finish();
    let last = f.closed.last().unwrap();
    assert_eq!(
        (last.index, last.start, last.end),
        (1, ms(3680), Some(ms(4000)))
    );
    last.audio_contiguous(ms(320));
}

#[test]
fn a_keyframe_one_frame_before_the_resume_instant_opens_the_segment() {
    let mut f = Fake::new(plan(1000));
    f.run(0, 400, 0);
    f.pause(ms(400));
    f.resume(ms(1200));
    // Audio from the resume is held; a keyframe at 1160 (one frame early) opens segment 1.
    f.audio(ms(1160));
    f.audio(ms(1200));
    let k = f.plan.video(ms(1160), TICK, true);
    f.apply(ms(1160), k, &[]);
    let open = f.open.as_ref().unwrap();
    assert_eq!((open.index, open.start), (1, ms(1160)));
    assert_eq!(open.video, [Duration::ZERO]);
    assert_eq!(
        open.audio,
        [(ms(40), TICK_SAMPLES)],
        "audio from the resume on"
    );
}

#[test]
fn held_audio_after_a_resume_is_bounded() {
    let mut f = Fake::new(plan(1000));
    f.pause(ms(0));
    f.resume(ms(0));
    for t in (0..12_000).step_by(40) {
        f.audio(ms(t));
    }
    let held = &f.plan.held_audio;
    let span = held.back().unwrap().0 - held.front().unwrap().0;
    assert!(span <= MAX_RESUME_AUDIO, "{span:?}");
}

#[test]
fn a_stop_waits_for_video_and_audio_to_reach_it() {
    // Video runs 200 ms behind: the last second is not clipped.
    let mut f = Fake::new(plan(1000));
    f.run(0, 3000, 0);
    f.stop_by(ms(3500));
    for t in (3000..3600).step_by(40) {
        f.audio(ms(t));
    }
    assert_eq!(f.plan.stop_progress(), Progress::Waiting);
    for t in (3000..3480).step_by(40) {
        f.video(ms(t));
        assert_eq!(f.plan.stop_progress(), Progress::Waiting, "video at {t}");
    }
    f.video(ms(3480));
    assert_eq!(f.plan.stop_progress(), Progress::Done);
    f.finish();
    let last = f.closed.last().unwrap();
    assert_eq!((last.start, last.end), (ms(3000), Some(ms(3500))));
    assert_eq!(last.audio_contiguous(ms(500)), 500 * 48);
    assert_eq!(last.video.len(), 13);
    assert_eq!(f.notes, [(Lifecycle::Stop, ms(3500))]);
}

#[test]
fn a_failure_closes_the_segment_incomplete_and_drops_the_rest() {
    let mut f = Fake::new(plan(1000));
    f.run(0, 1480, 0);
    let close = f
        .plan
        .fail("recording I/O error: No space left on device".into());
    f.apply(ms(1480), close, &[]);
    let last = f.closed.last().unwrap();
    assert_eq!(
        (last.index, last.start, last.end),
        (1, ms(1000), Some(ms(1480)))
    );
    assert!(matches!(last.reason, Some(CloseReason::Failed(ref r)) if r.contains("No space")));
    assert_eq!(
        f.plan.failure(),
        Some("recording I/O error: No space left on device")
    );
    assert_eq!(
        f.plan.video(ms(1500), TICK, true),
        [Action::Drop(DropReason::Failed)]
    );
    assert_eq!(
        f.plan.audio(ms(1500), &[0; 10]),
        [Action::Drop(DropReason::Failed)]
    );
    assert!(f.plan.pause(ms(1600)).is_none());
    assert!(
        f.plan.fail("again".into()).is_empty(),
        "the first reason stays"
    );
    f.plan.stop_at(ms(2000));
    assert_eq!(f.plan.stop_progress(), Progress::Never);
    let done = f.finish();
    assert_eq!(
        done.failure.as_deref(),
        Some("recording I/O error: No space left on device")
    );
    assert_eq!(
        done.actions,
        [Action::Note {
            event: Lifecycle::Stop,
            at: ms(1480)
        }]
    );
}

#[test]
fn a_segment_that_cannot_start_fails_the_recording() {
    let mut f = Fake::new(plan(1000));
    f.refuse_open = vec![1];
    f.run(0, 1200, 0);
    assert_eq!(f.spans(), [(0, 0, 1000)]);
    assert_eq!(f.plan.failure(), Some("cannot start segment 1"));
    assert!(f.open.is_none());
    assert_eq!(f.plan.stop_progress(), Progress::Never);
}

#[test]
fn finish_runs_once_and_drops_everything_after() {
    let mut f = Fake::new(plan(1000));
    f.run(0, 400, 0);
    let done = f.finish();
    assert_eq!(done.duration, ms(400));
    assert_eq!(f.spans(), [(0, 0, 400)]);
    assert!(f.plan.finish().is_none());
    assert!(f.plan.is_finished());
    assert_eq!(
        f.plan.video(ms(400), TICK, true),
        [Action::Drop(DropReason::Finished)]
    );
    assert!(f.plan.pause(ms(500)).is_none());
    assert!(f.plan.fail("late".into()).is_empty());
}

#[test]
fn media_before_the_origin_is_dropped() {
    let mut p = RecordingPlan::new(PlanConfig {
        origin: ms(5000),
        segment: ms(1000),
        fps: 25,
    });
    assert_eq!(
        p.video(ms(4960), TICK, true),
        [Action::Drop(DropReason::BeforeOrigin)]
    );
    assert_eq!(
        p.video(ms(5000), TICK, true),
        [Action::WriteVideo { at: Duration::ZERO }]
    );
    assert_eq!(
        p.audio(ms(5040), &[0; 480]),
        [Action::WriteAudio {
            at: ms(40),
            samples: Samples::Pushed(0..480)
        }]
    );
    // Times given to stop and pause are on the hearing's clock too.
    assert_eq!(
        p.stop_by(ms(6000)),
        [Action::Note {
            event: Lifecycle::Stop,
            at: ms(1000)
        }]
    );
}
