//! Shared helpers of the `record_*` tests: drive the encoder and the recorder the way the
//! hearing's tick does, without a network, and read files back with ffprobe.

#![allow(dead_code)]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use courtroom::media::encoder::{Encoder, EncoderConfig};
use courtroom::record::recorder::Finished;
use courtroom::record::segment::VideoFormat;
use courtroom::record::{Recorder, RecorderOptions, RecordingInfo, RecordingKey};

/// Tick `tick`'s picture: an I420 frame of `w × h` whose pattern moves every tick.
pub fn test_frame(w: u32, h: u32, tick: u32) -> Vec<u8> {
    (0..(w * h * 3 / 2))
        .map(|i| ((i / 7 + tick * 3) % 251) as u8)
        .collect()
}

/// Tick `tick`'s sound: 40 ms of a tone at 48 kHz (1920 samples), continuous across
/// ticks.
pub fn test_tone(tick: u32) -> Vec<i16> {
    (0..1920)
        .map(|i| (((i + tick * 1920) as f32 * 0.05).sin() * 8000.0) as i16)
        .collect()
}

/// Runs ffprobe and returns its CSV output.
pub fn ffprobe(path: &Path, entries: &str) -> String {
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", entries, "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    assert!(
        out.status.success(),
        "ffprobe {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Media duration of a file, by decoding it (packets, not headers).
pub fn segment_duration(path: &Path) -> f64 {
    let out = ffprobe(path, "format=duration");
    out.trim()
        .parse()
        .unwrap_or_else(|_| panic!("duration of {}: {out:?}", path.display()))
}

/// Records `seconds` of a moving test picture and a tone in `dir` with `segment`-long
/// segments, then stops at exactly `seconds` and finishes. Returns the result and the key.
pub fn record_for(dir: &Path, segment: Duration, seconds: f64) -> (Finished, Arc<RecordingKey>) {
    record_scripted(dir, segment, seconds, |_| {}, &[])
}

/// A lifecycle step at a media time, by an actor.
#[derive(Debug, Clone, Copy)]
pub enum Step {
    /// Pause by this actor.
    Pause(&'static str),
    /// Resume by this actor.
    Resume(&'static str),
}

/// [`record_for`] with options changed by `configure`, and pauses and resumes at the given
/// media times (seconds, on a 40 ms tick). With steps, the stop is noted as by `user:li`.
pub fn record_scripted(
    dir: &Path,
    segment: Duration,
    seconds: f64,
    configure: impl FnOnce(&mut RecorderOptions),
    steps: &[(f64, Step)],
) -> (Finished, Arc<RecordingKey>) {
    courtroom::media::init().unwrap();
    let (w, h, fps) = (320u32, 240u32, 25u32);
    let key = Arc::new(RecordingKey::generate());
    let slot: Arc<Mutex<Option<Arc<Recorder>>>> = Arc::default();
    let sink = slot.clone();
    let encoder = Arc::new(
        Encoder::new(
            EncoderConfig {
                width: w,
                height: h,
                fps,
                bitrate_kbps: 800,
                keyframe_interval: 50,
            },
            move |f| {
                if let Some(r) = sink.lock().unwrap().as_ref() {
                    r.push_video(&f);
                }
            },
        )
        .unwrap(),
    );
    let weak = Arc::downgrade(&encoder);
    let mut opts = RecorderOptions::new(
        VideoFormat {
            width: w,
            height: h,
            fps,
        },
        Duration::ZERO,
        RecordingInfo {
            recording_id: "test".into(),
            hearing_id: "h".into(),
            case_number: "c".into(),
            started_at: chrono::Utc::now(),
            seated: vec![],
        },
    );
    opts.segment = segment;
    opts.key = Some(key.clone());
    opts.request_keyframe = Some(Arc::new(move || {
        if let Some(e) = weak.upgrade() {
            e.force_keyframe();
        }
    }));
    configure(&mut opts);
    let recorder = Arc::new(Recorder::with_options(dir, opts).unwrap());
    *slot.lock().unwrap() = Some(recorder.clone());
    let period = Duration::from_millis(40);
    let ticks = (seconds * 25.0).round() as u32 + 5;
    for tick in 0..ticks {
        let pts = period * tick;
        for (at, step) in steps {
            if tick == (at * 25.0).round() as u32 {
                match step {
                    Step::Pause(who) => assert!(recorder.pause_by(pts, who), "paused at {at}"),
                    Step::Resume(who) => assert!(recorder.resume_by(pts, who), "resumed at {at}"),
                }
            }
        }
        encoder.push(test_frame(w, h, tick), pts).unwrap();
        recorder.push_audio(&test_tone(tick), pts);
        if tick == (seconds * 25.0) as u32 {
            if steps.is_empty() {
                recorder.stop_at(Duration::from_secs_f64(seconds));
            } else {
                recorder.stop_by(Duration::from_secs_f64(seconds), "user:li");
            }
        }
        std::thread::sleep(Duration::from_millis(8));
    }
    assert!(
        recorder.wait_until_written(Duration::from_secs(5)),
        "video and audio reach the stop"
    );
    slot.lock().unwrap().take();
    drop(encoder);
    (recorder.finish(Duration::from_secs(10)).unwrap(), key)
}

/// Seconds of video in `path` that decode: from the first decoded frame's presentation time
/// to the last's (a still picture is encoded twice a second, so frames are not counted).
pub fn decoded_video_seconds(path: &Path) -> f64 {
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v",
            "-show_entries",
            "frame=pts_time",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    let times: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse().ok())
        .collect();
    match (times.first(), times.last()) {
        (Some(first), Some(last)) => last - first,
        _ => 0.0,
    }
}
