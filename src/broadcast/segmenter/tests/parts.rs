//! LL-HLS partial segments: where parts are cut, their flags and durations, a segment being
//! its parts one after the other (each part parsed back), the playlist that lists them, and
//! which parts are kept.

use super::super::super::parse_part_uri;
use super::*;

/// Every part of segment `sequence` while served, in order.
fn parts_of(seg: &Segmenter, sequence: u64) -> Vec<Bytes> {
    (0..)
        .map_while(|i| seg.part(sequence, i))
        .collect::<Vec<_>>()
}

/// Checks segment `sequence` (complete and with its parts served): it is its parts one after
/// the other; each part parses as one fragment (`styp` only on the first), `mfhd` numbers go
/// up by one, video and audio decode times follow on from part to part, the video starts with
/// a keyframe. Returns each part's (video ms, starts with a keyframe).
fn check_parts(seg: &Segmenter, sequence: u64) -> Vec<(u64, bool)> {
    let whole = seg
        .segment(sequence)
        .unwrap_or_else(|| panic!("segment {sequence} kept: {seg:?}"));
    let parts = parts_of(seg, sequence);
    assert!(!parts.is_empty(), "segment {sequence} has parts");
    assert_eq!(whole, parts.concat(), "segment {sequence} is its parts");
    let tops: Vec<String> = mp4check::walk(&whole)
        .unwrap()
        .iter()
        .map(|b| b.kind_str().to_owned())
        .collect();
    let mut expected = vec!["styp".to_owned()];
    for _ in &parts {
        expected.extend(["moof".to_owned(), "mdat".to_owned()]);
    }
    assert_eq!(tops, expected, "segment {sequence}: several fragments");
    let info = seg.segments().find(|s| s.sequence == sequence).unwrap();
    let mut out = Vec::new();
    let mut mfhd = None;
    let mut video_end = to_ticks(info.start, VIDEO_TIMESCALE);
    let mut audio_end: Option<u64> = None;
    for (i, part) in parts.iter().enumerate() {
        let frag = mp4check::parse_fragment(part)
            .unwrap_or_else(|e| panic!("part {sequence}.{i} does not parse: {e}"));
        assert_eq!(
            mp4check::walk(part).unwrap()[0].kind_str() == "styp",
            i == 0,
            "styp only in the first part"
        );
        if let Some(prev) = mfhd {
            assert_eq!(frag.sequence, prev + 1, "mfhd of part {sequence}.{i}");
        }
        mfhd = Some(frag.sequence);
        let v = video(&frag);
        assert_eq!(
            v.base_decode_time, video_end,
            "video of {sequence}.{i} follows on"
        );
        let span = frag.duration(VIDEO_TRACK);
        video_end += span;
        if let Some(a) = frag.trafs.iter().find(|t| t.track_id == AUDIO_TRACK) {
            if let Some(end) = audio_end {
                assert_eq!(
                    a.base_decode_time, end,
                    "audio of {sequence}.{i} follows on"
                );
            }
            audio_end = Some(a.base_decode_time + 1024 * a.samples.len() as u64);
        }
        out.push((span / 90, v.samples[0].flags == SYNC_SAMPLE));
    }
    assert_eq!(from_ticks(video_end) - info.start, info.duration);
    out
}

#[test]
fn parts_never_pass_the_target_and_segments_are_their_parts() {
    let mut f = Feeder::with_parts(2000, 6, Some(500));
    f.run(0, 6040, 40, 2000);
    assert_eq!(f.seg.latest_sequence(), Some(2));
    assert_eq!(durations_ms(&f.seg), [2000, 2000, 2000]);
    for sequence in 0..3 {
        // 12 frames of 40 ms a part (a 13th would pass 500 ms), the rest in the last.
        assert_eq!(
            check_parts(&f.seg, sequence),
            [
                (480, true),
                (480, false),
                (480, false),
                (480, false),
                (80, false)
            ]
        );
    }
    // mfhd numbers go on across segments: 5 parts each.
    let first = |seq| {
        mp4check::parse_fragment(&f.seg.part(seq, 0).unwrap())
            .unwrap()
            .sequence
    };
    assert_eq!((first(0), first(1), first(2)), (1, 6, 11));
    // The open segment (3, from 6 s) has no part yet: the newest is segment 2's last.
    assert_eq!(f.seg.open_sequence(), 3);
    assert_eq!(f.seg.latest_part(), Some((2, 4)));
    assert!(f.seg.part(3, 0).is_none());
    f.run(6040, 6520, 40, 2000);
    assert_eq!(f.seg.latest_part(), Some((3, 0)));
    assert!(f.seg.part(3, 0).is_some());
    assert!(f.seg.part(3, 1).is_none());
    assert_eq!(f.seg.part_target(), Some(ms(500)));
    // A keyframe inside a part stays a sync sample there; only a part's start makes it
    // independent. At 30 fps (33 ms) and with a slow patch, no part passes the target by more
    // than one frame.
    let mut g = Feeder::with_parts(2000, 6, Some(500));
    let mut at = 0;
    while at < 8000 {
        g.frame(at, at % 2000 < 33);
        at += if (3000..3600).contains(&at) { 100 } else { 33 };
    }
    for info in g.seg.segments().collect::<Vec<_>>() {
        for (ms, _) in check_parts(&g.seg, info.sequence) {
            assert!(ms <= 500 + 100, "part of {ms} ms in {info:?}");
        }
    }
}

#[test]
fn the_playlist_lists_parts_and_hints_the_next() {
    let mut f = Feeder::with_parts(1000, 6, Some(500));
    f.run(0, 2520, 40, 1000);
    let text = f.seg.playlist().unwrap();
    let seg = |n: u64| {
        format!(
            "#EXT-X-PART:DURATION=0.480,URI=\"seg-{n}.0.m4s\",INDEPENDENT=YES\n\
             #EXT-X-PART:DURATION=0.480,URI=\"seg-{n}.1.m4s\"\n\
             #EXT-X-PART:DURATION=0.040,URI=\"seg-{n}.2.m4s\"\n\
             #EXTINF:1.000,\nseg-{n}.m4s\n"
        )
    };
    assert_eq!(
        text,
        format!(
            "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:1\n\
             #EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.500\n\
             #EXT-X-PART-INF:PART-TARGET=0.500\n#EXT-X-MEDIA-SEQUENCE:0\n\
             #EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"init.mp4\"\n{}{}\
             #EXT-X-PART:DURATION=0.480,URI=\"seg-2.0.m4s\",INDEPENDENT=YES\n\
             #EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"seg-2.1.m4s\"\n",
            seg(0),
            seg(1)
        )
    );
    // Every part listed is served; every part duration is within the target.
    for line in text.lines().filter(|l| l.starts_with("#EXT-X-PART:")) {
        let uri = line
            .split("URI=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let (n, p) = parse_part_uri(uri).unwrap();
        assert!(f.seg.part(n, p).is_some(), "{uri}");
    }
    // Ended: the open segment closes into its parts, no hint any more.
    f.seg.end();
    let text = f.seg.playlist().unwrap();
    assert!(!text.contains("PRELOAD-HINT"), "{text}");
    assert!(
        text.ends_with(
            "#EXT-X-PART:DURATION=0.480,URI=\"seg-2.0.m4s\",INDEPENDENT=YES\n\
             #EXT-X-PART:DURATION=0.040,URI=\"seg-2.1.m4s\"\n\
             #EXTINF:0.520,\nseg-2.m4s\n#EXT-X-ENDLIST\n"
        ),
        "{text}"
    );
    // Without a part target: plain HLS, as before.
    let mut plain = Feeder::new(1000, 6);
    plain.run(0, 2520, 40, 1000);
    let text = plain.seg.playlist().unwrap();
    assert!(
        text.contains("#EXT-X-VERSION:7\n") && !text.contains("PART"),
        "{text}"
    );
    assert_eq!(plain.seg.latest_part(), None);
    assert!(plain.seg.part(0, 0).is_none());
}

#[test]
fn parts_are_kept_for_the_newest_segments_and_blocking_requests_know_what_exists() {
    let mut f = Feeder::with_parts(1000, 6, Some(500));
    f.run(0, 6520, 40, 1000);
    assert_eq!(f.seg.latest_sequence(), Some(5));
    let text = f.seg.playlist().unwrap();
    // Parts listed for 3, 4, 5 and the open 6; segments 0-5 all listed.
    for n in 0..=6u64 {
        let listed = text.contains(&format!("URI=\"seg-{n}.0.m4s\""));
        assert_eq!(listed, n >= 3, "parts of {n} listed: {text}");
        assert_eq!(f.seg.part(n, 0).is_some(), n >= 3, "part {n}.0 served");
        assert_eq!(f.seg.segment(n).is_some(), n <= 5);
    }
    assert!(text.contains("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"seg-6.1.m4s\"\n"));
    assert_eq!(f.seg.latest_part(), Some((6, 0)));
    assert!(f.seg.is_available(6, Some(0)));
    assert!(!f.seg.is_available(6, Some(1)));
    assert!(!f.seg.is_available(6, None));
    assert!(f.seg.is_available(5, None));
    assert!(f.seg.is_available(5, Some(2)));
    // Past segment 5's last part (2) means part 0 of segment 6: made.
    assert!(f.seg.is_available(5, Some(3)));
    assert!(f.seg.is_available(0, Some(99)));
    assert!(!f.seg.is_available(7, Some(0)));
    assert!(!f.seg.is_available(7, None));
    // The next frame past 500 ms makes part 6.1.
    f.run(6520, 6960, 40, 1000);
    assert!(!f.seg.is_available(6, Some(1)));
    f.frame(6960, false);
    assert!(f.seg.is_available(6, Some(1)));
    assert_eq!(f.seg.latest_part(), Some((6, 1)));
    // Nothing odd is served.
    assert!(f.seg.part(6, 2).is_none());
    assert!(f.seg.part(u64::MAX, u64::MAX).is_none());
    assert!(f.seg.part(7, 0).is_none());
}

#[test]
fn slate_segments_are_one_independent_slate_part_per_part_target() {
    let mut f = Feeder::with_parts(2000, 20, Some(500));
    f.run(0, 2520, 40, 2000);
    f.seg.cut(&slate()).unwrap();
    assert_eq!(durations_ms(&f.seg), [2000, 520]);
    // The live segment closed at once: its last part is what came since the previous one.
    assert_eq!(check_parts(&f.seg, 1), [(480, true), (40, false)]);
    f.run(2520, 3100, 40, 2000);
    assert_eq!(f.seg.latest_part(), Some((2, 0)), "a slate part at 3.02 s");
    f.run(3100, 4520, 40, 2000);
    f.frame(4520, false);
    let parts = check_parts(&f.seg, 2);
    assert_eq!(parts, [(500, true); 4]);
    for part in parts_of(&f.seg, 2) {
        let frag = mp4check::parse_fragment(&part).unwrap();
        assert_eq!(video(&frag).samples.len(), 1, "one slate picture a part");
    }
    // Resumed: the slate segment ends at the live keyframe, in whole parts and a last one.
    f.seg.resume();
    f.run(4560, 5200, 40, 100_000);
    f.frame(5200, true);
    assert_eq!(check_parts(&f.seg, 3), [(500, true), (180, true)]);
    f.run(5240, 7200, 40, 100_000);
    f.frame(7200, true);
    assert_eq!(check_parts(&f.seg, 4).len(), 5);
}

#[test]
fn a_frame_longer_than_the_part_target_raises_it_in_the_playlist() {
    // A still picture encoded every 600 ms: each part is one frame, longer than 500 ms.
    let mut f = Feeder::with_parts(2000, 6, Some(500));
    f.run(0, 4800, 600, 2400);
    assert!(f.seg.playlist().is_none(), "one complete segment: not yet");
    f.run(4800, 7200, 600, 2400);
    let text = f.seg.playlist().unwrap();
    assert!(
        text.contains("#EXT-X-PART-INF:PART-TARGET=0.600\n"),
        "{text}"
    );
    assert!(text.contains("PART-HOLD-BACK=1.800\n"), "{text}");
    for line in text.lines().filter(|l| l.starts_with("#EXT-X-PART:")) {
        assert!(line.starts_with("#EXT-X-PART:DURATION=0.600,"), "{line}");
    }
}
