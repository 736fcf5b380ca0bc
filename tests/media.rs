//! The media pipelines together, without a network: composite frames through the encoder into
//! the recorder, with the mixed audio, give an MP4 that ffprobe reads with both streams and the
//! expected duration.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use courtroom::media::encoder::{Encoder, EncoderConfig};
use courtroom::record::Recorder;

mod support;

use support::ffprobe;

#[test]
fn encoder_and_recorder_make_a_playable_mp4_with_video_and_audio() {
    courtroom::media::init().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (w, h, fps) = (320u32, 240u32, 25u32);
    let recorder = Arc::new(Recorder::start(dir.path(), w, h, fps, Duration::ZERO).unwrap());
    let sink = recorder.clone();
    let frames = Arc::new(Mutex::new(0usize));
    let counted = frames.clone();
    let first_pts = Arc::new(Mutex::new(None));
    let first = first_pts.clone();
    let encoder = Encoder::new(
        EncoderConfig {
            width: w,
            height: h,
            fps,
            bitrate_kbps: 500,
            keyframe_interval: 50,
        },
        move |f| {
            sink.push_video(&f);
            *counted.lock().unwrap() += 1;
            first.lock().unwrap().get_or_insert(f.pts);
        },
    )
    .unwrap();
    let period = Duration::from_millis(40);
    let frame = vec![128u8; (w * h * 3 / 2) as usize];
    for tick in 0..75u32 {
        let pts = period * tick;
        encoder.push(frame.clone(), pts).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        let tone: Vec<i16> = (0..1920)
            .map(|i| ((i as f32 * 0.05).sin() * 8000.0) as i16)
            .collect();
        recorder.push_audio(&tone, pts);
    }
    std::thread::sleep(Duration::from_millis(300));
    drop(encoder);
    assert!(*frames.lock().unwrap() > 60, "encoder produced frames");
    // Encoded frames carry the media time they were pushed with (x264enc's own offset removed),
    // which is what keeps the recording's video aligned with its audio.
    assert_eq!(*first_pts.lock().unwrap(), Some(Duration::ZERO));
    let recorder = Arc::try_unwrap(recorder).ok().expect("only owner");
    let finished = recorder.finish(Duration::from_secs(10)).unwrap();
    assert!(finished.failure.is_none(), "{:?}", finished.failure);
    let codecs = ffprobe(&finished.path, "stream=codec_name");
    assert!(
        codecs.contains("h264") && codecs.contains("aac"),
        "streams: {codecs}"
    );
    let duration: f64 = ffprobe(&finished.path, "format=duration")
        .trim()
        .parse()
        .unwrap();
    assert!((2.5..=3.3).contains(&duration), "duration {duration}");
}
