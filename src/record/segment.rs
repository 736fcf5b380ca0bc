//! One segment file: `appsrc (H.264) ! h264parse ! queue ! mp4mux` and
//! `appsrc (S16 48 kHz mono) ! audioconvert ! avenc_aac ! queue ! mp4mux`, with
//! `mp4mux fragment-duration=1000 ! filesink`.
//!
//! Fragments of 1 s: if the process dies, the file plays up to its last complete fragment.
//! Timestamps inside each segment start at zero; the manifest holds where it sits in the
//! recording.
//!
//! Fragmented MP4 as `mp4mux` writes it has no edit list, so each track plays from its first
//! sample, wherever that was stamped, and an AAC track plays its encoder's priming first. Both
//! would move sound against picture, so each track's first sample is placed at zero: the
//! segment's first video frame is written at its start and shown until the next (a segment
//! whose first keyframe came late repeats it), and the AAC encoder's priming packet is left
//! out, with the packets after it moved back by its length.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_audio as gst_audio;

use super::plan::samples_duration;
use super::RecordError;
use crate::media::audio_mix::SAMPLE_RATE;
use crate::media::bus::{self, BusEvent};
use crate::media::element::{add_chain, link_error, make, play};

/// The file name of segment `index`: `composite-00000.mp4`, ...
pub fn file_name(index: u32) -> String {
    format!("composite-{index:05}.mp4")
}

/// The index in a segment file name, if it is one.
pub fn parse_file_name(name: &str) -> Option<u32> {
    name.strip_prefix("composite-")?
        .strip_suffix(".mp4")
        .filter(|n| n.len() == 5)?
        .parse()
        .ok()
}

/// Video format of the composite.
#[derive(Debug, Clone, Copy)]
pub struct VideoFormat {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
}

/// One segment being written.
pub struct Segment {
    pipeline: gst::Pipeline,
    video_src: gst_app::AppSrc,
    audio_src: gst_app::AppSrc,
    path: PathBuf,
    bus: Receiver<BusEvent>,
    /// The first error seen on the bus.
    failure: Option<String>,
    /// Whether a video frame has been written (the first goes at zero).
    video_started: AtomicBool,
    /// Whether audio has been written (silence fills from zero to the first).
    audio_started: AtomicBool,
}

impl Segment {
    /// Starts writing `path`.
    pub fn start(path: &Path, format: VideoFormat) -> Result<Self, RecordError> {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| "segment".into());
        let pipeline = gst::Pipeline::with_name(&format!("rec-{name}"));
        let video_src = gst_app::AppSrc::builder()
            .name("video")
            .caps(
                &gst::Caps::builder("video/x-h264")
                    .field("stream-format", "byte-stream")
                    .field("alignment", "au")
                    .field("width", format.width as i32)
                    .field("height", format.height as i32)
                    .field("framerate", gst::Fraction::new(format.fps as i32, 1))
                    .build(),
            )
            .format(gst::Format::Time)
            .max_bytes(32 * 1024 * 1024)
            .block(false)
            .build();
        let audio_src = gst_app::AppSrc::builder()
            .name("audio")
            .caps(
                &gst_audio::AudioCapsBuilder::new_interleaved()
                    .format(gst_audio::AudioFormat::S16le)
                    .rate(SAMPLE_RATE as i32)
                    .channels(1)
                    .build(),
            )
            .format(gst::Format::Time)
            .max_bytes(8 * 1024 * 1024)
            .block(false)
            .build();
        let parse = make("h264parse", "parse")?;
        let vqueue = make("queue", "vqueue")?;
        let convert = make("audioconvert", "aconvert")?;
        let aac = make("avenc_aac", "aac")?;
        crate::media::aac::drop_priming(&aac);
        let aqueue = make("queue", "aqueue")?;
        let mux = make("mp4mux", "mux")?;
        mux.set_property("fragment-duration", 1000u32);
        let sink = make("filesink", "file")?;
        sink.set_property("location", path.to_string_lossy().to_string());
        // Each fragment reaches the file as soon as the muxer writes it; filesink's default
        // 64 KiB buffer would otherwise hold a quiet segment in memory until it closes.
        sink.set_property_from_str("buffer-mode", "unbuffered");
        add_chain(&pipeline, &[video_src.upcast_ref(), &parse, &vqueue])?;
        add_chain(
            &pipeline,
            &[audio_src.upcast_ref(), &convert, &aac, &aqueue],
        )?;
        pipeline
            .add_many([&mux, &sink])
            .map_err(|e| link_error(&pipeline, e))?;
        mux.link(&sink).map_err(|e| link_error(&pipeline, e))?;
        vqueue.link(&mux).map_err(|e| link_error(&pipeline, e))?;
        aqueue.link(&mux).map_err(|e| link_error(&pipeline, e))?;
        let bus = bus::watch(&pipeline);
        play(&pipeline)?;
        Ok(Self {
            pipeline,
            video_src,
            audio_src,
            path: path.to_owned(),
            bus,
            failure: None,
            video_started: AtomicBool::new(false),
            audio_started: AtomicBool::new(false),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The first error the pipeline reported (a full disk, for example), if any.
    pub fn poll_failure(&mut self) -> Option<String> {
        while let Ok(event) = self.bus.try_recv() {
            if let BusEvent::Error(e) = event {
                self.failure.get_or_insert(e);
            }
        }
        self.failure.clone()
    }

    /// Writes one H.264 access unit at `pts` (segment time). The segment's first frame is
    /// written at zero, lasting until `pts + duration`.
    pub fn push_video(
        &self,
        data: bytes::Bytes,
        pts: Duration,
        duration: Duration,
        keyframe: bool,
    ) {
        let (pts, duration) = if self.video_started.swap(true, Ordering::Relaxed) {
            (pts, duration)
        } else {
            (Duration::ZERO, pts + duration)
        };
        let mut buffer = gst::Buffer::from_slice(data);
        {
            let b = buffer.get_mut().expect("fresh buffer is writable");
            b.set_pts(clock_time(pts));
            b.set_duration(clock_time(duration));
            if !keyframe {
                b.set_flags(gst::BufferFlags::DELTA_UNIT);
            }
        }
        if let Err(e) = self.video_src.push_buffer(buffer) {
            tracing::warn!(?e, file = %self.path.display(), "segment refused video");
        }
    }

    /// Writes mono S16 samples starting at `pts` (segment time). Silence fills the segment
    /// from zero to its first samples.
    pub fn push_audio(&self, samples: &[i16], pts: Duration) {
        let lead = if self.audio_started.swap(true, Ordering::Relaxed) {
            0
        } else {
            super::plan::samples_until(Duration::ZERO, pts)
        };
        let pts = if lead > 0 { Duration::ZERO } else { pts };
        let bytes: Vec<u8> = std::iter::repeat_n(0i16, lead)
            .chain(samples.iter().copied())
            .flat_map(|s| s.to_le_bytes())
            .collect();
        let samples = samples.len() + lead;
        let mut buffer = gst::Buffer::from_mut_slice(bytes);
        {
            let b = buffer.get_mut().expect("fresh buffer is writable");
            b.set_pts(clock_time(pts));
            b.set_duration(clock_time(samples_duration(samples)));
        }
        if let Err(e) = self.audio_src.push_buffer(buffer) {
            tracing::warn!(?e, file = %self.path.display(), "segment refused audio");
        }
    }

    /// Ends both streams, waits for the muxer to write its last fragment and close the file,
    /// and stops the pipeline. Returns the pipeline's error, if it had one.
    pub fn finish(mut self, timeout: Duration) -> Result<(), String> {
        if let Some(e) = self.poll_failure() {
            let _ = self.pipeline.set_state(gst::State::Null);
            return Err(e);
        }
        let _ = self.video_src.end_of_stream();
        let _ = self.audio_src.end_of_stream();
        bus::finish(&self.pipeline, &self.bus, timeout)
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

fn clock_time(d: Duration) -> gst::ClockTime {
    gst::ClockTime::from_nseconds(d.as_nanos() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tone starting 500 ms into the audio plays at 500 ms (no priming before it); video
    /// whose first frame came 120 ms after the segment's start plays that frame from zero and
    /// every later frame at its own time.
    #[test]
    fn sound_and_picture_play_at_the_times_they_were_written() {
        crate::media::init().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(file_name(0));
        let format = VideoFormat {
            width: 64,
            height: 64,
            fps: 25,
        };
        let frames = crate::media::testing::pull_buffers(
            "videotestsrc num-buffers=50 pattern=black ! video/x-raw,width=64,height=64,framerate=25/1 \
             ! x264enc tune=zerolatency key-int-max=1000 ! video/x-h264,stream-format=byte-stream,alignment=au \
             ! appsink name=sink sync=false",
        );
        let segment = Segment::start(&path, format).unwrap();
        let frame = Duration::from_millis(40);
        // Frames from 120 ms to 440 ms.
        for (i, f) in frames.iter().enumerate().take(12) {
            segment.push_video(
                f.clone().into(),
                frame * i as u32 + frame * 3,
                frame,
                i == 0,
            );
        }
        // 1 s of audio from 40 ms (the recording began between two ticks), a tone from 500 ms.
        for tick in 1..25u32 {
            let samples: Vec<i16> = (0..1920u32)
                .map(|i| {
                    let n = tick * 1920 + i;
                    if n >= 24_000 {
                        (12_000.0 * (n as f32 * 0.13).sin()) as i16
                    } else {
                        0
                    }
                })
                .collect();
            segment.push_audio(&samples, frame * tick);
        }
        segment.finish(Duration::from_secs(10)).unwrap();

        let pcm = std::process::Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(&path)
            .args(["-f", "s16le", "-ac", "1", "-ar", "48000", "pipe:1"])
            .output()
            .unwrap()
            .stdout;
        let onset = pcm
            .chunks_exact(2)
            .position(|b| i16::from_le_bytes([b[0], b[1]]).abs() > 3000)
            .expect("the tone is there");
        let sound_ms = onset as f64 / 48.0;
        assert!((sound_ms - 500.0).abs() <= 5.0, "sound at {sound_ms} ms");

        let probe = std::process::Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", "v", "-show_entries"])
            .args(["frame=pts_time", "-of", "csv=p=0"])
            .arg(&path)
            .output()
            .unwrap()
            .stdout;
        let times: Vec<f64> = String::from_utf8(probe)
            .unwrap()
            .lines()
            .filter_map(|l| l.trim().trim_end_matches(',').parse().ok())
            .collect();
        assert_eq!(times.len(), 12, "{times:?}");
        assert_eq!(times[0], 0.0, "the first frame opens the segment");
        for (i, t) in times.iter().enumerate().skip(1) {
            let expected = 0.04 * (i + 3) as f64;
            assert!(
                (t - expected).abs() < 0.002,
                "frame {i} at {t} s: {times:?}"
            );
        }
    }

    /// Every element of a finished segment's pipeline is freed once the segment is gone: a
    /// recording opens a segment every ten seconds, so one left alive each time adds up over a
    /// long hearing.
    #[test]
    fn a_finished_segment_leaves_none_of_its_elements_alive() {
        use gst::prelude::*;
        crate::media::init().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let format = VideoFormat {
            width: 64,
            height: 64,
            fps: 25,
        };
        let frames = crate::media::testing::pull_buffers(
            "videotestsrc num-buffers=10 ! video/x-raw,width=64,height=64,framerate=25/1 \
             ! x264enc tune=zerolatency key-int-max=5 ! video/x-h264,stream-format=byte-stream,alignment=au \
             ! appsink name=sink sync=false",
        );
        let segment = Segment::start(&dir.path().join(file_name(0)), format).unwrap();
        let elements: Vec<(String, gst::glib::WeakRef<gst::Element>)> = segment
            .pipeline
            .iterate_elements()
            .into_iter()
            .map(|e| {
                let e = e.unwrap();
                (e.name().to_string(), e.downgrade())
            })
            .collect();
        assert!(elements.len() >= 8, "{:?}", elements.len());
        let frame = Duration::from_millis(40);
        for (i, f) in frames.iter().enumerate() {
            segment.push_video(f.clone().into(), frame * i as u32, frame, i % 5 == 0);
            segment.push_audio(&[0i16; 1920], frame * i as u32);
        }
        segment.finish(Duration::from_secs(10)).unwrap();
        // Streaming threads may let go a moment after the pipeline stops.
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        let alive = loop {
            let alive: Vec<&str> = elements
                .iter()
                .filter(|(_, weak)| weak.upgrade().is_some())
                .map(|(name, _)| name.as_str())
                .collect();
            if alive.is_empty() || std::time::Instant::now() > deadline {
                break alive;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(alive.is_empty(), "still alive: {alive:?}");
    }

    #[test]
    fn segment_file_names_round_trip() {
        assert_eq!(file_name(7), "composite-00007.mp4");
        assert_eq!(parse_file_name(&file_name(12345)), Some(12345));
        assert_eq!(parse_file_name("composite.mp4"), None);
        assert_eq!(parse_file_name("composite-1.mp4"), None);
    }
}
