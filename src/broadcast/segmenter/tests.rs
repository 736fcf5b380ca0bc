//! The segmenter on synthetic access units and made-up timestamps; every segment made is
//! parsed back with [`mp4check`] (boxes tile, offsets land in `mdat`, sizes sum).

use super::super::fmp4::{AUDIO_TRACK, NON_SYNC_SAMPLE, SYNC_SAMPLE, VIDEO_TRACK};
use super::super::mp4check::{self, FragmentInfo};
use super::*;

/// Live SPS: constrained baseline, level 3.1.
const SPS: &[u8] = &[0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8];
/// Live PPS.
const PPS: &[u8] = &[0x68, 0xce, 0x0f, 0x2c, 0x80];
/// The slate's SPS, from "another encoder": level 4.0.
const SLATE_SPS: &[u8] = &[0x67, 0x42, 0xc0, 0x28, 0xda, 0x01, 0x40, 0x16, 0xe9];
/// The slate's PPS.
const SLATE_PPS: &[u8] = &[0x68, 0xce, 0x3c, 0x80];

/// Annex B access unit of NAL units, four-byte start codes.
fn au(nals: &[&[u8]]) -> Vec<u8> {
    nals.iter()
        .flat_map(|n| [&[0, 0, 0, 1][..], n].concat())
        .collect()
}

/// An IDR access unit as x264 makes it with `aud=1`: AUD, SPS, PPS, SEI, IDR slice.
fn idr() -> Vec<u8> {
    au(&[
        &[0x09, 0x10],
        SPS,
        PPS,
        &[0x06, 0x05, 0x01, 0xaa, 0x80],
        &[0x65, 0x88, 0x84, 0x21, 0xa0],
    ])
}

/// A non-IDR access unit: AUD, slice.
fn p_frame() -> Vec<u8> {
    au(&[&[0x09, 0x30], &[0x41, 0x9a, 0x02, 0x11]])
}

/// The slate: another encoder's SPS/PPS and an IDR slice.
fn slate() -> Vec<u8> {
    au(&[SLATE_SPS, SLATE_PPS, &[0x65, 0xb8, 0x00, 0x04, 0x77]])
}

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

fn ticks(ms: u64) -> u64 {
    ms * 90
}

/// Drives a segmenter like the hearing would: 25 fps video with its pts, and AAC frames
/// (1024 samples at 48 kHz, 6 bytes each) lagging the video by 100 ms.
struct Feeder {
    seg: Segmenter,
    /// Audio frames fed so far.
    audio: u64,
}

impl Feeder {
    fn new(target_ms: u64, window: usize) -> Self {
        Self::with_parts(target_ms, window, None)
    }

    /// With LL-HLS parts of `part_ms` (when given).
    fn with_parts(target_ms: u64, window: usize, part_ms: Option<u64>) -> Self {
        let cfg = BroadcastConfig {
            target: ms(target_ms),
            window,
            part_target: part_ms.map(ms),
            ..BroadcastConfig::new(320, 180)
        };
        Self {
            seg: Segmenter::new(cfg),
            audio: 0,
        }
    }

    fn audio_pts(n: u64) -> Duration {
        Duration::from_nanos(n * 1024 * 1_000_000_000 / 48_000)
    }

    /// One video frame at `at` ms, then the audio that is 100 ms older.
    fn frame(&mut self, at: u64, key: bool) {
        let data = if key { idr() } else { p_frame() };
        self.seg.push_video(ms(at), &data, key);
        while Self::audio_pts(self.audio) + ms(100) <= ms(at) {
            let frame = [0x21, 0x10, 0x05, 0x00, (self.audio & 0xff) as u8, 0x1c];
            self.seg.push_audio(Self::audio_pts(self.audio), &frame);
            self.audio += 1;
        }
    }

    /// Frames every `step` ms from `from` (inclusive) to `to` (exclusive), keyframes on the
    /// multiples of `key_every` ms.
    fn run(&mut self, from: u64, to: u64, step: u64, key_every: u64) {
        for at in (from..to).step_by(step as usize) {
            self.frame(at, at % key_every == 0);
        }
    }
}

/// Every kept segment parsed back, oldest first, with its info.
fn parsed(seg: &Segmenter) -> Vec<(SegmentInfo, FragmentInfo, Bytes)> {
    seg.segments()
        .map(|info| {
            let data = seg.segment(info.sequence).expect("kept segment is served");
            assert_eq!(data.len(), info.bytes);
            let frag = mp4check::parse_fragment(&data)
                .unwrap_or_else(|e| panic!("segment {} does not parse: {e}", info.sequence));
            assert_eq!(u64::from(frag.sequence), info.sequence + 1, "mfhd sequence");
            (info, frag, data)
        })
        .collect()
}

/// The video `traf` of a fragment.
fn video(frag: &FragmentInfo) -> &mp4check::TrafInfo {
    frag.trafs
        .iter()
        .find(|t| t.track_id == VIDEO_TRACK)
        .expect("video traf")
}

/// The segments' video durations in ms.
fn durations_ms(seg: &Segmenter) -> Vec<u64> {
    seg.segments()
        .map(|s| s.duration.as_millis() as u64)
        .collect()
}

/// Checks what every segment must hold: boxes that parse, a first video sample that is a
/// sync sample, video durations that add up to the segment, video decode times that follow on
/// from the previous segment, audio decode times that continue by sample count.
fn check_continuity(seg: &Segmenter) {
    let mut video_end: Option<u64> = None;
    let mut audio_end: Option<u64> = None;
    for (info, frag, data) in parsed(seg) {
        let v = video(&frag);
        assert_eq!(
            v.samples[0].flags, SYNC_SAMPLE,
            "segment {} starts with a keyframe",
            info.sequence
        );
        let types = mp4check::sample_nal_types(frag.sample_data(&data, 0, 0)).unwrap();
        assert_eq!(
            types[..2],
            [7, 8],
            "parameter sets in-band in segment {}",
            info.sequence
        );
        assert_eq!(types.last(), Some(&5));
        let span = frag.duration(VIDEO_TRACK);
        assert_eq!(from_ticks(span), info.duration);
        assert_eq!(from_ticks(v.base_decode_time), info.start);
        if let Some(end) = video_end {
            assert_eq!(
                v.base_decode_time, end,
                "video of segment {} follows on",
                info.sequence
            );
        }
        video_end = Some(v.base_decode_time + span);
        if let Some(a) = frag.trafs.iter().find(|t| t.track_id == AUDIO_TRACK) {
            assert!(a
                .samples
                .iter()
                .all(|s| s.duration == 1024 && s.flags == SYNC_SAMPLE));
            if let Some(end) = audio_end {
                assert_eq!(
                    a.base_decode_time, end,
                    "audio of segment {} follows on",
                    info.sequence
                );
            }
            audio_end = Some(a.base_decode_time + 1024 * a.samples.len() as u64);
        }
    }
}

#[test]
fn frames_before_the_first_keyframe_are_dropped() {
    let mut f = Feeder::new(2000, 6);
    assert!(f.seg.wants_keyframe());
    f.frame(0, false);
    f.frame(40, false);
    f.seg.push_audio(ms(10), &[1, 2, 3]);
    assert!(f.seg.init().is_none());
    assert!(f.seg.playlist().is_none());
    f.frame(80, true);
    assert!(!f.seg.wants_keyframe());
    let init = f.seg.init().expect("init once the first keyframe is in");
    let info = mp4check::parse_init(&init).unwrap();
    assert_eq!(
        info.tracks[0].config,
        ParameterSets {
            sps: SPS.into(),
            pps: PPS.into()
        }
        .avcc()
    );
    assert_eq!(f.seg.codecs().as_deref(), Some("avc3.42c01f,mp4a.40.2"));
    f.run(120, 1000, 40, 2000);
    f.seg.end();
    let segs = parsed(&f.seg);
    assert_eq!(segs.len(), 1);
    assert_eq!(segs[0].0.start, ms(80));
    assert_eq!(video(&segs[0].1).samples.len(), 1 + (1000 - 120) / 40);
    let stats = f.seg.stats();
    assert_eq!((stats.dropped_video, stats.segments), (2, 1));
    // Audio before the segment started (its pts before 80 ms) was not taken.
    assert!(stats.dropped_audio >= 1);
    let audio = segs[0]
        .1
        .trafs
        .iter()
        .find(|t| t.track_id == AUDIO_TRACK)
        .unwrap();
    assert!(audio.base_decode_time >= 80 * 48);
}

#[test]
fn segments_are_cut_on_keyframes_at_the_target() {
    let mut f = Feeder::new(2000, 10);
    // Keyframes every second: the one at 1 s is too early to cut, the one at 2 s cuts.
    f.run(0, 7000, 40, 1000);
    assert_eq!(f.seg.latest_sequence(), Some(2));
    assert_eq!(durations_ms(&f.seg), [2000, 2000, 2000]);
    // Keyframes at 6 s (open), 7.9 s (too early), 8.5 s (cuts: 2.5 s segment).
    f.run(7000, 7900, 40, 100_000);
    f.frame(7900, true);
    f.run(7940, 8500, 40, 100_000);
    f.frame(8500, true);
    assert_eq!(durations_ms(&f.seg), [2000, 2000, 2000, 2500]);
    // The keyframe at 7.9 s stays a sync sample inside the segment.
    let (_, frag, _) = parsed(&f.seg).pop().unwrap();
    let flags: Vec<u32> = video(&frag).samples.iter().map(|s| s.flags).collect();
    let sync: Vec<usize> = (0..flags.len())
        .filter(|&i| flags[i] == SYNC_SAMPLE)
        .collect();
    // 6.00-6.96 s and 7.00-7.88 s: 48 frames before the one at 7.9 s.
    assert_eq!(sync, [0, 48]);
    assert!(flags
        .iter()
        .all(|&f| f == SYNC_SAMPLE || f == NON_SYNC_SAMPLE));
    check_continuity(&f.seg);
}

#[test]
fn sample_durations_come_from_consecutive_pts() {
    let mut f = Feeder::new(2000, 6);
    // A still picture: the frame rate drops to 2 fps and back.
    let pts = [0, 40, 100, 600, 1100, 1600, 1640, 1680];
    for (i, at) in pts.iter().enumerate() {
        f.frame(*at, i == 0);
    }
    f.frame(2000, true);
    let (info, frag, data) = parsed(&f.seg).pop().unwrap();
    let v = video(&frag);
    let durations: Vec<u32> = v.samples.iter().map(|s| s.duration).collect();
    let expected: Vec<u32> = pts
        .windows(2)
        .map(|w| ticks(w[1] - w[0]) as u32)
        .chain([ticks(2000 - 1680) as u32])
        .collect();
    assert_eq!(durations, expected);
    assert_eq!(info.duration, ms(2000));
    // Keyframe: AUD dropped, SPS/PPS/SEI kept in-band; P frame: AUD dropped.
    assert_eq!(
        mp4check::sample_nal_types(frag.sample_data(&data, 0, 0)).unwrap(),
        [7, 8, 6, 5]
    );
    assert_eq!(
        mp4check::sample_nal_types(frag.sample_data(&data, 0, 1)).unwrap(),
        [1]
    );
    assert_eq!(v.samples[1].size, 4 + 4);
}

#[test]
fn the_window_drops_old_segments() {
    let mut f = Feeder::new(1000, 3);
    f.run(0, 5040, 40, 1000);
    assert_eq!(f.seg.latest_sequence(), Some(4));
    assert_eq!(
        f.seg.segments().map(|s| s.sequence).collect::<Vec<_>>(),
        [2, 3, 4]
    );
    assert!(f.seg.segment(0).is_none());
    assert!(f.seg.segment(1).is_none());
    assert!(f.seg.segment(5).is_none());
    assert!(f.seg.segment(u64::MAX).is_none());
    let text = f.seg.playlist().unwrap();
    assert!(text.contains("#EXT-X-MEDIA-SEQUENCE:2\n"), "{text}");
    assert!(!text.contains("seg-1.m4s"));
    assert_eq!(text.matches("#EXTINF:").count(), 3);
    assert_eq!(f.seg.stats().segments, 5);
    let debug = format!("{:?}", f.seg);
    assert!(
        debug.contains("next_sequence: 5") && debug.len() < 1000,
        "{debug}"
    );
    check_continuity(&f.seg);
}

#[test]
fn playlist_lists_what_was_fed() {
    let mut f = Feeder::new(2000, 6);
    f.run(0, 2000, 40, 2000);
    f.run(2000, 4500, 50, 2000); // 20 fps: keyframes at 2 s and 4 s
    f.frame(4500, true); // 0.5 s past 4 s: too early
    f.run(4520, 7720, 40, 100_000);
    f.frame(7720, true); // closes a 3.72 s segment
    f.run(7760, 8000, 40, 100_000);
    f.seg.end();
    let text = f.seg.playlist().unwrap();
    assert_eq!(
        text,
        "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n\
         #EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"init.mp4\"\n\
         #EXTINF:2.000,\nseg-0.m4s\n#EXTINF:2.000,\nseg-1.m4s\n#EXTINF:3.720,\nseg-2.m4s\n\
         #EXTINF:0.280,\nseg-3.m4s\n#EXT-X-ENDLIST\n"
    );
    // The EXTINFs add up to the pts span: first keyframe to last frame plus its gap.
    let sum: f64 = text
        .lines()
        .filter_map(|l| l.strip_prefix("#EXTINF:"))
        .map(|d| d.trim_end_matches(',').parse::<f64>().unwrap())
        .sum();
    assert!((sum - 8.0).abs() < 1e-9, "{sum}");
    check_continuity(&f.seg);
    let bytes: usize = f.seg.segments().map(|s| s.bytes).sum();
    assert_eq!(f.seg.stats().bytes, bytes as u64);
}

#[test]
fn a_keyframe_is_asked_for_when_the_segment_is_due() {
    let mut f = Feeder::new(2000, 6);
    f.run(0, 1960, 40, 100_000);
    // Newest frame at 1.92 s: the next one (1.96 s) would be too early to cut.
    assert!(!f.seg.wants_keyframe());
    f.frame(1960, false);
    // The next one (2.0 s) can cut.
    assert!(f.seg.wants_keyframe());
    assert!(!f.seg.keyframe_overdue());
    f.run(2000, 3000, 40, 100_000);
    assert!(f.seg.wants_keyframe());
    assert!(!f.seg.keyframe_overdue());
    f.frame(3000, false);
    assert!(f.seg.keyframe_overdue(), "target + 1 s without a keyframe");
    f.frame(3040, true);
    assert!(!f.seg.wants_keyframe());
    assert!(!f.seg.keyframe_overdue());
    assert_eq!(durations_ms(&f.seg), [3040]);
    // At 2 fps, the request comes one 500 ms gap early.
    f.run(3540, 5040, 500, 100_000);
    assert!(f.seg.wants_keyframe());
    f.seg.end();
    assert!(!f.seg.wants_keyframe());
}

#[test]
fn end_closes_the_segment_and_ends_the_playlist() {
    let mut f = Feeder::new(2000, 6);
    f.run(0, 1000, 40, 2000);
    assert!(f.seg.playlist().is_none());
    f.seg.end();
    assert!(f.seg.is_ended());
    assert!(f.seg.stats().ended);
    let text = f.seg.playlist().unwrap();
    assert!(
        text.ends_with("#EXTINF:1.000,\nseg-0.m4s\n#EXT-X-ENDLIST\n"),
        "{text}"
    );
    // Inputs after the end are ignored.
    f.run(1000, 5000, 40, 2000);
    f.seg.resume();
    f.seg.end();
    assert_eq!(f.seg.latest_sequence(), Some(0));
    // Ended during a cut: the slate segment lasts one frame gap past the newest frame.
    let mut g = Feeder::new(2000, 6);
    g.run(0, 1000, 40, 2000);
    g.seg.cut(&slate()).unwrap();
    g.run(1000, 1400, 40, 2000);
    g.seg.end();
    assert_eq!(durations_ms(&g.seg), [1000, 400]);
    check_continuity(&g.seg);
    // Ended before anything: no playlist.
    let mut h = Segmenter::new(BroadcastConfig::new(320, 180));
    h.end();
    assert!(h.playlist().is_none());
}

#[test]
fn audio_decode_time_counts_samples() {
    let mut seg = Segmenter::new(BroadcastConfig::new(320, 180));
    seg.push_video(ms(0), &idr(), true);
    // Jittery pts: only the first one counts (100 ms = 4800 samples).
    for (n, jitter) in [0i64, 7, -5, 13, 0].iter().enumerate() {
        let at = 100_000 + n as i64 * 21_333 + jitter * 1000;
        seg.push_audio(Duration::from_micros(at as u64), &[0xaa; 9]);
    }
    seg.push_video(ms(2000), &idr(), true);
    seg.push_audio(ms(500), &[0xbb; 3]);
    seg.end();
    let segs = parsed(&seg);
    let a0 = segs[0]
        .1
        .trafs
        .iter()
        .find(|t| t.track_id == AUDIO_TRACK)
        .unwrap();
    assert_eq!(a0.base_decode_time, 4800);
    assert_eq!(a0.samples.len(), 5);
    let a1 = segs[1]
        .1
        .trafs
        .iter()
        .find(|t| t.track_id == AUDIO_TRACK)
        .unwrap();
    assert_eq!(a1.base_decode_time, 4800 + 5 * 1024);
    assert_eq!(segs[1].1.sample_data(&segs[1].2, 1, 0), [0xbb; 3]);
}

#[test]
fn out_of_order_video_is_dropped_and_keyframes_get_parameter_sets() {
    let mut seg = Segmenter::new(BroadcastConfig::new(320, 180));
    seg.push_video(ms(0), &idr(), true);
    seg.push_video(ms(40), &p_frame(), false);
    seg.push_video(ms(40), &p_frame(), false);
    seg.push_video(ms(20), &p_frame(), false);
    seg.push_video(ms(80), &[0xff, 0xff], false); // no start code: no NAL unit
    assert_eq!(seg.stats().dropped_video, 3);
    // An IDR without SPS/PPS (an encoder that sends them once) gets the live ones.
    seg.push_video(ms(2000), &au(&[&[0x65, 0x99]]), true);
    seg.push_video(ms(4000), &au(&[&[0x65, 0x98]]), true);
    let (_, frag, data) = parsed(&seg).pop().unwrap();
    assert_eq!(video(&frag).samples.len(), 1);
    assert_eq!(
        mp4check::sample_nal_types(frag.sample_data(&data, 0, 0)).unwrap(),
        [7, 8, 5]
    );
    assert_eq!(durations_ms(&seg), [2000, 2000]);
}

mod cut;
mod parts;
