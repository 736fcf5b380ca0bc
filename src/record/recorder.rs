//! The recording pipeline: encoded composite video and the mixed audio into a fragmented MP4.
//!
//! `appsrc (H.264) ! h264parse ! mp4mux (1 s fragments) ! filesink` with
//! `appsrc (S16 48 kHz mono) ! audioconvert ! avenc_aac ! mp4mux`. Both inputs carry the
//! hearing's media clock; the recorder rebases them so that the recording starts at zero.

use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;
use std::sync::Mutex;
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_audio as gst_audio;

use super::RecordError;
use crate::media::audio_mix::SAMPLE_RATE;
use crate::media::bus::{self, BusEvent};
use crate::media::element::{add_chain, link_error, make, play};
use crate::media::encoder::EncodedFrame;
use crate::media::MediaError;

/// Name of the composite file inside a recording folder.
pub const COMPOSITE_FILE: &str = "composite.mp4";

/// A recording in progress.
pub struct Recorder {
    pipeline: gst::Pipeline,
    video_src: gst_app::AppSrc,
    audio_src: gst_app::AppSrc,
    dir: PathBuf,
    clock: Mutex<RecClock>,
    bus: Mutex<Receiver<BusEvent>>,
}

#[derive(Debug, Default)]
struct RecClock {
    /// Media-clock time at which the recording started: its zero.
    origin: Duration,
    /// Whether the first keyframe has been written; frames before it cannot be decoded.
    keyframe_seen: bool,
    /// End of the last video frame written, recording time.
    end: Duration,
    /// Set once the pipeline failed; nothing more is pushed.
    failed: Option<String>,
}

/// How a recording ended.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The MP4 file.
    pub path: PathBuf,
    /// Media duration written.
    pub duration: Duration,
    /// Set if the pipeline failed before the end.
    pub failure: Option<String>,
}

impl Recorder {
    /// Creates `dir` and starts writing `dir/composite.mp4`. `origin` is the hearing's media
    /// time at which the recording starts: it becomes time zero in the file.
    pub fn start(
        dir: &Path,
        width: u32,
        height: u32,
        fps: u32,
        origin: Duration,
    ) -> Result<Self, RecordError> {
        std::fs::create_dir_all(dir)?;
        let pipeline = gst::Pipeline::with_name("recorder");
        let video_src = gst_app::AppSrc::builder()
            .name("video")
            .caps(
                &gst::Caps::builder("video/x-h264")
                    .field("stream-format", "byte-stream")
                    .field("alignment", "au")
                    .field("width", width as i32)
                    .field("height", height as i32)
                    .field("framerate", gst::Fraction::new(fps as i32, 1))
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
        // Fragments of 1 s: a crash loses at most the fragment being written.
        mux.set_property("fragment-duration", 1000u32);
        let sink = make("filesink", "file")?;
        sink.set_property(
            "location",
            dir.join(COMPOSITE_FILE).to_string_lossy().to_string(),
        );
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
            dir: dir.to_owned(),
            clock: Mutex::new(RecClock {
                origin,
                ..Default::default()
            }),
            bus: Mutex::new(bus),
        })
    }

    /// The recording's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the recording still writes (it stops for good on a pipeline error, such as a
    /// full disk).
    pub fn failure(&self) -> Option<String> {
        self.check_bus();
        self.clock.lock().expect("recorder clock").failed.clone()
    }

    fn check_bus(&self) {
        let bus = self.bus.lock().expect("recorder bus");
        while let Ok(event) = bus.try_recv() {
            if let BusEvent::Error(e) = event {
                let mut clock = self.clock.lock().expect("recorder clock");
                if clock.failed.is_none() {
                    tracing::error!(dir = %self.dir.display(), "recording failed: {e}");
                    clock.failed = Some(e);
                }
            }
        }
    }

    /// Writes one encoded composite frame. Frames before the first keyframe are skipped.
    pub fn push_video(&self, frame: &EncodedFrame) {
        let pts = {
            let mut clock = self.clock.lock().expect("recorder clock");
            if clock.failed.is_some() {
                return;
            }
            if !clock.keyframe_seen && !frame.keyframe {
                return;
            }
            let Some(pts) = frame.pts.checked_sub(clock.origin) else {
                return;
            };
            clock.keyframe_seen = true;
            clock.end = clock.end.max(pts + frame.duration);
            pts
        };
        let mut buffer = gst::Buffer::from_slice(frame.data.clone());
        {
            let b = buffer.get_mut().expect("fresh buffer is writable");
            b.set_pts(clock_time(pts));
            b.set_duration(clock_time(frame.duration));
            if !frame.keyframe {
                b.set_flags(gst::BufferFlags::DELTA_UNIT);
            }
        }
        if let Err(e) = self.video_src.push_buffer(buffer) {
            tracing::warn!(?e, "recorder refused video");
        }
    }

    /// Writes one tick of mixed audio stamped with the hearing's media clock.
    pub fn push_audio(&self, samples: &[i16], pts: Duration) {
        let pts = {
            let clock = self.clock.lock().expect("recorder clock");
            if clock.failed.is_some() {
                return;
            }
            match pts.checked_sub(clock.origin) {
                Some(p) => p,
                None => return,
            }
        };
        let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        let duration =
            Duration::from_nanos(samples.len() as u64 * 1_000_000_000 / SAMPLE_RATE as u64);
        let mut buffer = gst::Buffer::from_mut_slice(bytes);
        {
            let b = buffer.get_mut().expect("fresh buffer is writable");
            b.set_pts(clock_time(pts));
            b.set_duration(clock_time(duration));
        }
        if let Err(e) = self.audio_src.push_buffer(buffer) {
            tracing::warn!(?e, "recorder refused audio");
        }
        self.check_bus();
    }

    /// Ends both streams and waits for the muxer to write its last fragment.
    pub fn finish(self, timeout: Duration) -> Result<Finished, RecordError> {
        let _ = self.video_src.end_of_stream();
        let _ = self.audio_src.end_of_stream();
        let deadline = std::time::Instant::now() + timeout;
        let mut outcome = Err(RecordError::Finalise(
            "timed out waiting for end of stream".into(),
        ));
        {
            let bus = self.bus.lock().expect("recorder bus");
            while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
                match bus.recv_timeout(left) {
                    Ok(BusEvent::Eos) => {
                        outcome = Ok(());
                        break;
                    }
                    Ok(BusEvent::Error(e)) => {
                        outcome = Err(RecordError::Media(MediaError::Pipeline {
                            pipeline: "recorder".into(),
                            message: e,
                        }));
                        break;
                    }
                    Err(_) => break,
                }
            }
        }
        let _ = self.pipeline.set_state(gst::State::Null);
        let clock = self.clock.lock().expect("recorder clock");
        let failure = clock
            .failed
            .clone()
            .or_else(|| outcome.as_ref().err().map(|e| e.to_string()));
        Ok(Finished {
            path: self.dir.join(COMPOSITE_FILE),
            duration: clock.end,
            failure,
        })
    }
}

fn clock_time(d: Duration) -> gst::ClockTime {
    gst::ClockTime::from_nseconds(d.as_nanos() as u64)
}
