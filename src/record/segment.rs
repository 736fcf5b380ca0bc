//! One segment file: `appsrc (H.264) ! h264parse ! queue ! mp4mux` and
//! `appsrc (S16 48 kHz mono) ! audioconvert ! avenc_aac ! queue ! mp4mux`, with
//! `mp4mux fragment-duration=1000 ! filesink`.
//!
//! Fragments of 1 s: if the process dies, the file plays up to its last complete fragment.
//! Timestamps inside each segment start at zero; the manifest holds where it sits in the
//! recording.

use std::path::{Path, PathBuf};
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

    /// Writes one H.264 access unit at `pts` (segment time).
    pub fn push_video(
        &self,
        data: bytes::Bytes,
        pts: Duration,
        duration: Duration,
        keyframe: bool,
    ) {
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

    /// Writes mono S16 samples starting at `pts` (segment time).
    pub fn push_audio(&self, samples: &[i16], pts: Duration) {
        let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        let mut buffer = gst::Buffer::from_mut_slice(bytes);
        {
            let b = buffer.get_mut().expect("fresh buffer is writable");
            b.set_pts(clock_time(pts));
            b.set_duration(clock_time(samples_duration(samples.len())));
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

    #[test]
    fn segment_file_names_round_trip() {
        assert_eq!(file_name(7), "composite-00007.mp4");
        assert_eq!(parse_file_name(&file_name(12345)), Some(12345));
        assert_eq!(parse_file_name("composite.mp4"), None);
        assert_eq!(parse_file_name("composite-1.mp4"), None);
    }
}
