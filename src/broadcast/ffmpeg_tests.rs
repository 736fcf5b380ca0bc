//! Real media through the segmenter: x264 (through ffmpeg) makes the H.264, ffmpeg's AAC
//! encoder the audio; ffprobe and ffmpeg judge what comes out (the playlist, and the init
//! segment with all media segments concatenated). Skipped, saying why, where ffmpeg, ffprobe
//! or libx264 is missing.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::annexb::{self, nal_type, ParameterSets};
use super::{segment_uri, BroadcastConfig, SegmentKind, Segmenter, INIT_URI};

/// Why the real-media tests cannot run here, if they cannot.
fn missing_tools() -> Option<String> {
    for tool in ["ffmpeg", "ffprobe"] {
        match Command::new(tool).arg("-version").output() {
            Ok(out) if out.status.success() => {}
            _ => return Some(format!("{tool} is not installed")),
        }
    }
    let encoders = Command::new("ffmpeg")
        .args(["-hide_banner", "-encoders"])
        .output()
        .ok()?;
    let list = String::from_utf8_lossy(&encoders.stdout);
    if !list.contains("libx264") {
        return Some("ffmpeg has no libx264".into());
    }
    None
}

/// Runs ffmpeg quietly, panicking with its stderr on failure.
fn ffmpeg(dir: &Path, args: &[&str]) {
    let out = Command::new("ffmpeg")
        .current_dir(dir)
        .args(["-hide_banner", "-nostdin", "-v", "error", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// H.264 constrained baseline from an lavfi `source`, as an Annex B file, read back.
fn encode_h264(dir: &Path, name: &str, source: &str, extra: &[&str], x264_params: &str) -> Vec<u8> {
    let mut args = vec![
        "-f",
        "lavfi",
        "-i",
        source,
        "-c:v",
        "libx264",
        "-profile:v",
        "baseline",
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-pix_fmt", "yuv420p", "-x264-params", x264_params]);
    args.extend_from_slice(&["-bsf:v", "h264_mp4toannexb", "-f", "h264", name]);
    ffmpeg(dir, &args);
    std::fs::read(dir.join(name)).expect("h264 file")
}

/// Splits an Annex B stream into access units (re-emitted with 4-byte start codes) and says
/// which are keyframes. An access unit starts at an AUD; at an SPS, PPS or SEI after a slice;
/// or at a slice with `first_mb_in_slice` = 0 after a slice.
fn access_units(stream: &[u8]) -> Vec<(Vec<u8>, bool)> {
    let mut out: Vec<(Vec<u8>, bool)> = Vec::new();
    let mut current: Vec<&[u8]> = Vec::new();
    let mut has_slice = false;
    let flush = |current: &mut Vec<&[u8]>, out: &mut Vec<(Vec<u8>, bool)>| {
        if !current.is_empty() {
            let key = current.iter().any(|n| nal_type(n) == 5);
            let au = current
                .iter()
                .flat_map(|n| [&[0, 0, 0, 1][..], n].concat())
                .collect();
            out.push((au, key));
            current.clear();
        }
    };
    for nal in annexb::nal_units(stream) {
        let t = nal_type(nal);
        let starts = match t {
            9 => true,
            6..=8 => has_slice,
            1 | 5 => has_slice && nal.get(1).is_some_and(|b| b & 0x80 != 0),
            _ => false,
        };
        if starts {
            flush(&mut current, &mut out);
            has_slice = false;
        }
        has_slice |= t == 1 || t == 5;
        current.push(nal);
    }
    flush(&mut current, &mut out);
    out
}

/// `seconds` of a 1 kHz sine as raw AAC-LC frames (ADTS headers stripped), 48 kHz mono.
fn encode_aac(dir: &Path, seconds: u32) -> Vec<Vec<u8>> {
    let source = "sine=frequency=1000:sample_rate=48000";
    let t = seconds.to_string();
    ffmpeg(
        dir,
        &[
            "-f", "lavfi", "-i", source, "-ac", "1", "-t", &t, "-c:a", "aac", "-f", "adts",
            "out.aac",
        ],
    );
    let adts = std::fs::read(dir.join("out.aac")).expect("aac file");
    let mut frames = Vec::new();
    let mut pos = 0;
    while pos + 7 <= adts.len() {
        let h = &adts[pos..];
        assert_eq!((h[0], h[1] & 0xf0), (0xff, 0xf0), "ADTS sync at {pos}");
        assert_eq!(h[2] >> 6, 1, "AAC-LC");
        assert_eq!((h[2] >> 2) & 0xf, 3, "48 kHz");
        assert_eq!(((h[2] & 1) << 2) | (h[3] >> 6), 1, "mono");
        let header = if h[1] & 1 == 1 { 7 } else { 9 };
        let len = (usize::from(h[3] & 3) << 11) | (usize::from(h[4]) << 3) | usize::from(h[5] >> 5);
        frames.push(adts[pos + header..pos + len].to_vec());
        pos += len;
    }
    assert_eq!(pos, adts.len(), "whole ADTS frames");
    frames
}

/// Pts of video frame `n` at 25 fps.
fn video_pts(n: usize) -> Duration {
    Duration::from_millis(40 * n as u64)
}

/// Pts of AAC frame `n`.
fn audio_pts(n: usize) -> Duration {
    Duration::from_nanos(n as u64 * 1024 * 1_000_000_000 / 48_000)
}

/// Feeds video frame `n` and the audio frames that are at least 60 ms older (the audio
/// encoder lags).
fn feed(seg: &mut Segmenter, n: usize, au: &(Vec<u8>, bool), audio: &[Vec<u8>], fed: &mut usize) {
    seg.push_video(video_pts(n), &au.0, au.1);
    while *fed < audio.len() && audio_pts(*fed) + Duration::from_millis(60) <= video_pts(n) {
        seg.push_audio(audio_pts(*fed), &audio[*fed]);
        *fed += 1;
    }
}

/// Feeds the audio not fed yet, ends, and writes init, segments, playlist and `all.mp4`
/// (init + every segment) into `dir`.
fn finish(seg: &mut Segmenter, audio: &[Vec<u8>], fed: usize, dir: &Path) {
    for (n, frame) in audio.iter().enumerate().skip(fed) {
        seg.push_audio(audio_pts(n), frame);
    }
    seg.end();
    let init = seg.init().expect("init segment");
    std::fs::write(dir.join(INIT_URI), &init).unwrap();
    let mut all = init.to_vec();
    let infos: Vec<_> = seg.segments().collect();
    assert_eq!(
        infos.first().map(|s| s.sequence),
        Some(0),
        "window holds every segment"
    );
    for info in infos {
        let data = seg.segment(info.sequence).unwrap();
        std::fs::write(dir.join(segment_uri(info.sequence)), &data).unwrap();
        all.extend_from_slice(&data);
    }
    std::fs::write(dir.join("index.m3u8"), seg.playlist().unwrap()).unwrap();
    std::fs::write(dir.join("all.mp4"), all).unwrap();
}

/// ffprobe's view of a file: (codec, width, height) per stream, and the duration.
fn probe(dir: &Path, file: &str) -> (Vec<(String, u64, u64)>, f64) {
    let out = Command::new("ffprobe")
        .current_dir(dir)
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,width,height",
        ])
        .args(["-show_entries", "format=duration", "-of", "json", file])
        .output()
        .expect("ffprobe runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "ffprobe {file}: {stderr}"
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ffprobe json");
    let streams = json["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .map(|s| {
            let name = s["codec_name"].as_str().unwrap_or_default().to_string();
            (
                name,
                s["width"].as_u64().unwrap_or(0),
                s["height"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let duration = json["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .expect("duration");
    (streams, duration)
}

/// Asserts an h264 320×180 stream and an aac stream, and a duration within 0.3 s of `expected`.
fn assert_probe(dir: &Path, file: &str, expected: f64) {
    let (streams, duration) = probe(dir, file);
    assert!(
        streams.contains(&("h264".into(), 320, 180)),
        "{file}: {streams:?}"
    );
    assert!(streams.iter().any(|s| s.0 == "aac"), "{file}: {streams:?}");
    assert!(
        (duration - expected).abs() <= 0.3,
        "{file}: {duration} s, fed {expected} s"
    );
}

/// Decodes `all.mp4` completely: no error output, and the video frame count.
fn decode_all(dir: &Path) -> u64 {
    let out = Command::new("ffmpeg")
        .current_dir(dir)
        .args([
            "-hide_banner",
            "-nostdin",
            "-v",
            "error",
            "-i",
            "all.mp4",
            "-f",
            "null",
            "-",
        ])
        .output()
        .expect("ffmpeg runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "decoding all.mp4: {stderr}"
    );
    let out = Command::new("ffprobe")
        .current_dir(dir)
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args([
            "-show_entries",
            "stream=nb_read_frames",
            "-of",
            "csv=p=0",
            "all.mp4",
        ])
        .output()
        .expect("ffprobe runs");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("frame count")
}

/// The decoded picture at `at` seconds of `all.mp4`, as its mean (r, g, b).
fn mean_rgb(dir: &Path, at: &str) -> (u64, u64, u64) {
    let out = Command::new("ffmpeg")
        .current_dir(dir)
        .args([
            "-hide_banner",
            "-nostdin",
            "-v",
            "error",
            "-ss",
            at,
            "-i",
            "all.mp4",
        ])
        .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success() && out.stdout.len() == 320 * 180 * 3,
        "picture at {at}"
    );
    let n = (out.stdout.len() / 3) as u64;
    let sum = |c: usize| {
        out.stdout
            .iter()
            .skip(c)
            .step_by(3)
            .map(|&v| u64::from(v))
            .sum::<u64>()
            / n
    };
    (sum(0), sum(1), sum(2))
}

const LIVE_X264: &str = "keyint=50:min-keyint=50:scenecut=0:bframes=0:aud=1";

#[test]
fn real_h264_and_aac_play_in_ffmpeg() {
    if let Some(why) = missing_tools() {
        eprintln!("SKIPPED real_h264_and_aac_play_in_ffmpeg: {why}");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let source = "testsrc=size=320x180:rate=25";
    let h264 = encode_h264(dir, "out.h264", source, &["-t", "5"], LIVE_X264);
    let aus = access_units(&h264);
    assert_eq!(aus.len(), 125);
    let keys: Vec<usize> = aus
        .iter()
        .enumerate()
        .filter(|(_, a)| a.1)
        .map(|(n, _)| n)
        .collect();
    assert_eq!(keys, [0, 50, 100]);
    assert!(
        aus.iter()
            .all(|a| annexb::nal_units(&a.0).next().map(nal_type) == Some(9)),
        "x264 AUDs"
    );
    let audio = encode_aac(dir, 5);
    assert!(audio.len() >= 234, "{} AAC frames", audio.len());

    let mut seg = Segmenter::new(BroadcastConfig {
        window: 100,
        ..BroadcastConfig::new(320, 180)
    });
    let mut fed = 0;
    for (n, au) in aus.iter().enumerate() {
        feed(&mut seg, n, au, &audio, &mut fed);
    }
    finish(&mut seg, &audio, fed, dir);
    let durations: Vec<Duration> = seg.segments().map(|s| s.duration).collect();
    let secs = Duration::from_secs;
    assert_eq!(durations, [secs(2), secs(2), secs(1)]);

    assert_probe(dir, "index.m3u8", 5.0);
    assert_probe(dir, "all.mp4", 5.0);
    assert_eq!(decode_all(dir), 125);
}

#[test]
fn a_slate_from_another_encoder_cuts_in_and_out() {
    if let Some(why) = missing_tools() {
        eprintln!("SKIPPED a_slate_from_another_encoder_cuts_in_and_out: {why}");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let source = "testsrc=size=320x180:rate=25";
    let live = access_units(&encode_h264(
        dir,
        "live.h264",
        source,
        &["-t", "8"],
        LIVE_X264,
    ));
    assert_eq!(live.len(), 200);
    // The slate: another encoder run, another picture, another level, no AUD, and parameter
    // set ids 3 (not 0): its slices decode only with its own SPS/PPS, in-band.
    let blue = "color=c=blue:size=320x180:rate=25";
    let slate_stream = encode_h264(
        dir,
        "slate.h264",
        blue,
        &["-frames:v", "1", "-level", "4.0"],
        "keyint=1:sps-id=3",
    );
    let slate = access_units(&slate_stream).remove(0);
    assert!(slate.1, "the slate is an IDR");
    let live_params = ParameterSets::from_access_unit(&live[0].0).unwrap();
    let slate_params = ParameterSets::from_access_unit(&slate.0).unwrap();
    assert_ne!(live_params.sps, slate_params.sps, "the slate's SPS differs");
    assert_ne!(live_params.pps, slate_params.pps, "the slate's PPS differs");
    let audio = encode_aac(dir, 8);

    let mut seg = Segmenter::new(BroadcastConfig {
        window: 100,
        ..BroadcastConfig::new(320, 180)
    });
    let mut fed = 0;
    for (n, au) in live.iter().enumerate() {
        match n {
            70 => seg.cut(&slate.0).unwrap(), // 2.8 s
            130 => seg.resume(),              // 5.2 s; live keyframe at 6 s
            _ => {}
        }
        feed(&mut seg, n, au, &audio, &mut fed);
    }
    finish(&mut seg, &audio, fed, dir);
    use SegmentKind::{Live, Slate};
    let ms = Duration::from_millis;
    let made: Vec<(SegmentKind, Duration, Duration)> = seg
        .segments()
        .map(|s| (s.kind, s.start, s.duration))
        .collect();
    assert_eq!(
        made,
        [
            (Live, ms(0), ms(2000)),
            (Live, ms(2000), ms(800)),
            (Slate, ms(2800), ms(2000)),
            (Slate, ms(4800), ms(1200)),
            (Live, ms(6000), ms(2000)),
        ]
    );

    assert_probe(dir, "index.m3u8", 8.0);
    assert_probe(dir, "all.mp4", 8.0);
    // 70 live frames, two slate pictures, 50 live frames: all decoded, no error.
    assert_eq!(decode_all(dir), 122);
    // What plays: the test pattern, then the blue slate, then the test pattern again.
    let (r, g, b) = mean_rgb(dir, "3.5");
    assert!(
        b > 200 && r < 60 && g < 60,
        "slate at 3.5 s is blue: {r} {g} {b}"
    );
    for at in ["1.0", "7.0"] {
        let (r, g, b) = mean_rgb(dir, at);
        assert!(
            !(b > 200 && r < 60 && g < 60),
            "live at {at} s: {r} {g} {b}"
        );
    }
}
