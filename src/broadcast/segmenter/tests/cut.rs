//! Cutting to the slate and back.

use super::*;

#[test]
fn a_cut_puts_the_slate_up_in_the_next_segment() {
    let mut f = Feeder::new(2000, 20);
    f.run(0, 2520, 40, 2000);
    f.seg.cut(&slate()).unwrap();
    assert!(f.seg.is_cut());
    // The live segment closed at once: its last frame (2.48 s) lasts one frame gap.
    assert_eq!(durations_ms(&f.seg), [2000, 520]);
    let before = f.seg.stats();
    assert!(before.cut);
    // Live video goes on (keyframes every 2 s): discarded, but it moves the clock.
    f.run(2520, 4520, 40, 2000);
    assert_eq!(
        f.seg.latest_sequence(),
        Some(1),
        "slate segment not due before 4.52 s"
    );
    f.frame(4520, false);
    assert_eq!(f.seg.latest_sequence(), Some(2));
    let (info, frag, data) = parsed(&f.seg).pop().unwrap();
    assert_eq!(info.kind, SegmentKind::Slate);
    assert_eq!((info.start, info.duration), (ms(2520), ms(2000)));
    let v = video(&frag);
    assert_eq!(v.samples.len(), 1);
    assert_eq!(v.samples[0].flags, SYNC_SAMPLE);
    assert_eq!(
        frag.sample_data(&data, 0, 0),
        annexb::to_sample(&slate(), None)
    );
    // Audio went on in the slate segment.
    let audio = frag
        .trafs
        .iter()
        .find(|t| t.track_id == AUDIO_TRACK)
        .unwrap();
    assert!(audio.samples.len() >= 90, "{}", audio.samples.len());
    // Nothing live in it: 51 live frames were discarded.
    assert_eq!(f.seg.stats().discarded_video, 51);
    assert_eq!(f.seg.stats().slate_segments, 1);
    // Still cut: more slate, full length.
    f.run(4560, 6600, 40, 2000);
    assert_eq!(durations_ms(&f.seg), [2000, 520, 2000, 2000]);
    check_continuity(&f.seg);
}

#[test]
fn resume_waits_for_a_live_keyframe() {
    let mut f = Feeder::new(2000, 20);
    f.run(0, 1000, 40, 2000);
    f.seg.cut(&slate()).unwrap();
    f.run(1000, 3000, 40, 100_000);
    assert!(!f.seg.wants_keyframe(), "no keyframe wanted while cut");
    f.seg.resume();
    assert!(f.seg.is_cut());
    assert!(f.seg.wants_keyframe());
    assert!(f.seg.stats().resuming);
    // No keyframe for a while: the slate stays up, in full segments.
    f.run(3000, 5600, 40, 100_000);
    assert!(f.seg.is_cut());
    assert_eq!(durations_ms(&f.seg), [1000, 2000, 2000]);
    f.frame(5600, true);
    assert!(!f.seg.is_cut());
    assert!(!f.seg.wants_keyframe());
    // The slate segment ends at the keyframe; the live one starts there.
    assert_eq!(durations_ms(&f.seg), [1000, 2000, 2000, 600]);
    f.run(5640, 8000, 40, 2000);
    f.seg.end();
    let kinds: Vec<SegmentKind> = f.seg.segments().map(|s| s.kind).collect();
    use SegmentKind::{Live, Slate};
    assert_eq!(kinds, [Live, Slate, Slate, Slate, Live]);
    assert_eq!(f.seg.segments().nth(4).unwrap().start, ms(5600));
    assert_eq!(durations_ms(&f.seg)[4..], [2400]);
    check_continuity(&f.seg);
}

#[test]
fn cutting_again_replaces_the_slate_and_cancels_resume() {
    let mut f = Feeder::new(2000, 20);
    f.run(0, 1000, 40, 2000);
    f.seg.cut(&slate()).unwrap();
    f.seg.resume();
    let other = au(&[SPS, PPS, &[0x65, 0x11, 0x22]]);
    f.seg.cut(&other).unwrap();
    assert!(!f.seg.wants_keyframe());
    f.run(1000, 3100, 40, 1000);
    assert!(
        f.seg.is_cut(),
        "keyframes do not end a cut that is not lifted"
    );
    let (info, frag, data) = parsed(&f.seg).pop().unwrap();
    assert_eq!(info.kind, SegmentKind::Slate);
    assert_eq!(
        frag.sample_data(&data, 0, 0),
        annexb::to_sample(&other, None)
    );
}

#[test]
fn bad_slates_are_refused() {
    let mut seg = Segmenter::new(BroadcastConfig::new(320, 180));
    assert_eq!(seg.cut(&p_frame()), Err(BroadcastError::SlateNotIdr));
    let bare = au(&[&[0x65, 0x88]]);
    assert_eq!(
        seg.cut(&bare),
        Err(BroadcastError::SlateWithoutParameterSets)
    );
    assert!(!seg.is_cut());
    // With live parameter sets known, a bare IDR slate gets them.
    seg.push_video(ms(0), &idr(), true);
    seg.cut(&bare).unwrap();
    seg.push_video(ms(2040), &p_frame(), false);
    let (_, frag, data) = parsed(&seg).pop().unwrap();
    assert_eq!(
        mp4check::sample_nal_types(frag.sample_data(&data, 0, 0)).unwrap(),
        [7, 8, 5]
    );
    seg.end();
    assert_eq!(seg.cut(&slate()), Err(BroadcastError::Ended));
}

#[test]
fn a_cut_before_the_first_keyframe_shows_the_slate() {
    let mut f = Feeder::new(2000, 6);
    f.seg.cut(&slate()).unwrap();
    let init = f.seg.init().expect("init from the slate");
    let info = mp4check::parse_init(&init).unwrap();
    assert_eq!(info.tracks[0].config[1..4], SLATE_SPS[1..4]);
    // The first live frame (not a keyframe) starts the slate's clock.
    f.run(500, 2600, 40, 100_000);
    assert_eq!(durations_ms(&f.seg), [2000]);
    assert_eq!(f.seg.segments().next().unwrap().start, ms(500));
    f.seg.resume();
    f.frame(2600, true);
    f.run(2640, 3000, 40, 100_000);
    f.seg.end();
    assert_eq!(durations_ms(&f.seg), [2000, 100, 400]);
    check_continuity(&f.seg);
}
