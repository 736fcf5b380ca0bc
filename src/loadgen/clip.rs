//! The media a synthetic participant publishes: VP8 frames and 20 ms Opus packets, encoded once
//! before the test so that publishing costs no encoding.

use std::path::Path;

use bytes::Bytes;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;

use super::LoadgenError;
use crate::render::still::synthetic_person;

/// A pre-encoded clip, played in a loop.
#[derive(Debug, Clone)]
pub struct Clip {
    /// VP8 frames (the first is a keyframe).
    pub video: Vec<Bytes>,
    /// Video frame rate.
    pub fps: u32,
    /// Opus packets of 20 ms.
    pub audio: Vec<Bytes>,
}

fn err(e: impl std::fmt::Display) -> LoadgenError {
    LoadgenError::Clip(e.to_string())
}

impl Clip {
    /// A person of `rgb` swaying on a green screen, 640×480 at 25 fps, with a 440 Hz tone.
    pub fn synthetic(seconds: u32, rgb: [u8; 3]) -> Result<Self, LoadgenError> {
        crate::media::init().map_err(err)?;
        let fps = 25;
        let frames: Vec<Vec<u8>> = (0..seconds * fps)
            .map(|i| {
                let sway = ((i as f32 / fps as f32) * 1.5).sin() * 12.0;
                let f = synthetic_person(640, 480, rgb, sway as i32);
                [f.y, f.u, f.v].concat()
            })
            .collect();
        let video = encode_vp8(frames, 640, 480, fps)?;
        let audio = encode(
            &format!(
                "audiotestsrc wave=sine freq=440 volume=0.3 samplesperbuffer=960 num-buffers={} ! audio/x-raw,rate=48000,channels=1 ! opusenc frame-size=20 ! appsink name=sink",
                seconds * 50
            ),
            None,
        )?;
        Ok(Self { video, fps, audio })
    }

    /// [`Clip::synthetic`] with sync cues: every two seconds (from 1 s on) the whole picture
    /// flashes white for three frames, and a 100 ms tone at `beep_hz` starts at the same
    /// instant; silence otherwise. `seconds` is rounded up to an even number, so the clip loops
    /// on the same two-second beat. A recording shows each cue as a flash in the seat and a
    /// beep in the mix; their distance is the A/V offset.
    pub fn with_cues(seconds: u32, rgb: [u8; 3], beep_hz: f32) -> Result<Self, LoadgenError> {
        crate::media::init().map_err(err)?;
        let seconds = seconds.max(2).div_ceil(2) * 2;
        let fps = 25u32;
        let (w, h) = (640usize, 480usize);
        let frames: Vec<Vec<u8>> = (0..seconds * fps)
            .map(|i| {
                if (i % (2 * fps)) >= fps && (i % (2 * fps)) < fps + 3 {
                    let mut white = vec![235u8; w * h];
                    white.extend(std::iter::repeat_n(128u8, w * h / 2));
                    return white;
                }
                let sway = ((i as f32 / fps as f32) * 1.5).sin() * 12.0;
                let f = synthetic_person(w as u32, h as u32, rgb, sway as i32);
                [f.y, f.u, f.v].concat()
            })
            .collect();
        let video = encode_vp8(frames, w as u32, h as u32, fps)?;
        // 20 ms chunks of 48 kHz mono: a beep from 1.0 s to 1.1 s of every two seconds.
        let chunks: Vec<Vec<u8>> = (0..seconds * 50)
            .map(|c| {
                (0..960u32)
                    .flat_map(|k| {
                        let n = c * 960 + k;
                        let in_period = n % 96_000;
                        let v = if (48_000..52_800).contains(&in_period) {
                            let t = n as f32 / 48_000.0;
                            ((std::f32::consts::TAU * beep_hz * t).sin() * 12_000.0) as i16
                        } else {
                            0
                        };
                        v.to_le_bytes()
                    })
                    .collect()
            })
            .collect();
        let audio_caps = gst::Caps::builder("audio/x-raw")
            .field("format", "S16LE")
            .field("layout", "interleaved")
            .field("rate", 48_000i32)
            .field("channels", 1i32)
            .build();
        let mut audio = encode(
            "appsrc name=src ! audioconvert ! opusenc frame-size=20 ! appsink name=sink",
            Some((audio_caps, chunks, 50)),
        )?;
        // The encoder's look-ahead adds a packet at the end: one more 20 ms per loop would
        // move the beeps 5 ms a second away from the flashes.
        audio.truncate((seconds * 50) as usize);
        Ok(Self { video, fps, audio })
    }

    /// VP8 frames from an IVF file, with the synthetic tone as audio.
    pub fn from_ivf(path: &Path) -> Result<Self, LoadgenError> {
        let file = std::fs::File::open(path).map_err(err)?;
        let (mut reader, header) =
            rtc::media::io::ivf_reader::IVFReader::new(std::io::BufReader::new(file))
                .map_err(err)?;
        let mut video = Vec::new();
        while let Ok((frame, _)) = reader.parse_next_frame() {
            video.push(frame.freeze());
        }
        if video.is_empty() {
            return Err(LoadgenError::Clip(format!(
                "{} holds no frames",
                path.display()
            )));
        }
        let fps = (header.timebase_denominator / header.timebase_numerator.max(1)).clamp(1, 60);
        let audio = Self::synthetic(1, [0, 0, 0])?.audio;
        Ok(Self { video, fps, audio })
    }
}

/// I420 `frames` of `width × height` at `fps`, as VP8 at 1 Mbit/s with a keyframe every 2 s.
fn encode_vp8(
    frames: Vec<Vec<u8>>,
    width: u32,
    height: u32,
    fps: u32,
) -> Result<Vec<Bytes>, LoadgenError> {
    let caps = gst_video::VideoCapsBuilder::new()
        .format(gst_video::VideoFormat::I420)
        .width(width as i32)
        .height(height as i32)
        .framerate(gst::Fraction::new(fps as i32, 1))
        .build();
    encode(
        "appsrc name=src ! vp8enc deadline=1 cpu-used=8 end-usage=cbr target-bitrate=1000000 keyframe-max-dist=50 ! appsink name=sink",
        Some((caps, frames, fps)),
    )
}

/// Runs a short launch-string pipeline (test tooling, not the product path), pushing `input`
/// frames into `src` if given, and returns every buffer that reaches `sink`.
fn encode(
    launch: &str,
    input: Option<(gst::Caps, Vec<Vec<u8>>, u32)>,
) -> Result<Vec<Bytes>, LoadgenError> {
    let pipeline = gst::parse::launch(launch)
        .map_err(err)?
        .downcast::<gst::Pipeline>()
        .map_err(|_| err("not a pipeline"))?;
    let sink = pipeline
        .by_name("sink")
        .ok_or_else(|| err("no sink"))?
        .downcast::<gst_app::AppSink>()
        .map_err(|_| err("sink"))?;
    sink.set_property("sync", false);
    pipeline.set_state(gst::State::Playing).map_err(err)?;
    if let Some((caps, frames, fps)) = input {
        let src = pipeline
            .by_name("src")
            .ok_or_else(|| err("no src"))?
            .downcast::<gst_app::AppSrc>()
            .map_err(|_| err("src"))?;
        src.set_caps(Some(&caps));
        src.set_format(gst::Format::Time);
        for (i, f) in frames.into_iter().enumerate() {
            let mut b = gst::Buffer::from_mut_slice(f);
            b.get_mut()
                .expect("fresh")
                .set_pts(gst::ClockTime::from_nseconds(
                    i as u64 * 1_000_000_000 / fps as u64,
                ));
            src.push_buffer(b).map_err(err)?;
        }
        src.end_of_stream().map_err(err)?;
    }
    let mut out = Vec::new();
    while let Some(sample) = sink.pull_sample().ok() {
        if let Some(buf) = sample.buffer() {
            out.push(Bytes::copy_from_slice(&buf.map_readable().map_err(err)?));
        }
    }
    pipeline.set_state(gst::State::Null).map_err(err)?;
    if out.is_empty() {
        return Err(err(format!("pipeline produced nothing: {launch}")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cue_clip_loops_on_a_two_second_beat() {
        let clip = Clip::with_cues(3, [200, 40, 40], 1300.0).unwrap();
        assert_eq!(clip.video.len(), 100, "rounded up to 4 s at 25 fps");
        assert_eq!(clip.audio.len(), 200, "exactly as long as the video");
        // The flash frames are plain white: far smaller to code than the person around them.
        let flash = clip.video[26].len();
        let person = clip.video[20].len();
        assert!(flash < person, "flash {flash} B, person {person} B");
    }

    #[test]
    fn synthetic_clip_has_a_keyframe_first_and_a_frame_per_tick() {
        let clip = Clip::synthetic(2, [200, 40, 40]).unwrap();
        assert_eq!(clip.video.len(), 50);
        // VP8 keyframe: bit 0 of the first byte is 0.
        assert_eq!(clip.video[0][0] & 1, 0, "first frame is a keyframe");
        assert!(
            clip.video[1..].iter().any(|f| f[0] & 1 == 1),
            "later frames are mostly inter frames"
        );
        assert!(
            (95..=101).contains(&clip.audio.len()),
            "about 100 Opus packets, got {}",
            clip.audio.len()
        );
    }
}
