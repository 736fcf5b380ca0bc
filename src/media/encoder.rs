//! The one H.264 encoder per hearing. Raw I420 composite frames in; encoded access units out to
//! a callback that fans them out to every participant and to the recorder.

use std::time::Duration;

use bytes::Bytes;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;

use super::element::{add_chain, make, play};
use super::events::MediaReporter;
use super::MediaError;

/// One encoded composite frame (an H.264 access unit, Annex B byte stream).
#[derive(Debug, Clone)]
pub struct EncodedFrame {
    /// The access unit.
    pub data: Bytes,
    /// Presentation time on the hearing's media clock.
    pub pts: Duration,
    /// Frame duration.
    pub duration: Duration,
    /// Whether this is a keyframe (IDR with SPS/PPS).
    pub keyframe: bool,
}

/// Encoder settings.
#[derive(Debug, Clone, Copy)]
pub struct EncoderConfig {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// Target bitrate.
    pub bitrate_kbps: u32,
    /// Frames between forced keyframes.
    pub keyframe_interval: u32,
}

/// `appsrc ! x264enc (zerolatency, ultrafast) ! video/x-h264,profile=constrained-baseline ! appsink`.
pub struct Encoder {
    pipeline: gst::Pipeline,
    appsrc: gst_app::AppSrc,
    frame_duration: Duration,
}

impl Encoder {
    /// Builds and starts the encoder. `on_frame` runs on GStreamer's streaming thread.
    /// Failures are only logged.
    pub fn new(
        cfg: EncoderConfig,
        on_frame: impl Fn(EncodedFrame) + Send + Sync + 'static,
    ) -> Result<Self, MediaError> {
        Self::reporting(cfg, on_frame, None)
    }

    /// [`Encoder::new`], reporting a failure of the pipeline to `reporter` as well.
    pub fn reporting(
        cfg: EncoderConfig,
        on_frame: impl Fn(EncodedFrame) + Send + Sync + 'static,
        reporter: Option<MediaReporter>,
    ) -> Result<Self, MediaError> {
        let pipeline = gst::Pipeline::with_name("encoder");
        let appsrc = gst_app::AppSrc::builder()
            .caps(
                &gst_video::VideoCapsBuilder::new()
                    .format(gst_video::VideoFormat::I420)
                    .width(cfg.width as i32)
                    .height(cfg.height as i32)
                    .framerate(gst::Fraction::new(cfg.fps as i32, 1))
                    .build(),
            )
            .format(gst::Format::Time)
            .is_live(true)
            .max_bytes(64 * 1024 * 1024)
            .block(false)
            .build();
        let enc = make("x264enc", "x264")?;
        enc.set_property_from_str("tune", "zerolatency");
        enc.set_property_from_str("speed-preset", "ultrafast");
        enc.set_property("bitrate", cfg.bitrate_kbps);
        enc.set_property("key-int-max", cfg.keyframe_interval.max(1));
        let caps = make("capsfilter", "h264caps")?;
        caps.set_property(
            "caps",
            gst::Caps::builder("video/x-h264")
                .field("profile", "constrained-baseline")
                .field("stream-format", "byte-stream")
                .field("alignment", "au")
                .build(),
        );
        let sink = gst_app::AppSink::builder().sync(false).build();
        add_chain(
            &pipeline,
            &[appsrc.upcast_ref(), &enc, &caps, sink.upcast_ref()],
        )?;
        let frame_duration = Duration::from_nanos(1_000_000_000 / cfg.fps as u64);
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    let Some(buffer) = sample.buffer() else {
                        return Ok(gst::FlowSuccess::Ok);
                    };
                    let map = buffer.map_readable().map_err(|_| gst::FlowError::Error)?;
                    // x264enc offsets its output timestamps by 1000 hours (so DTS never goes
                    // negative) and compensates in its segment; the running time is the pts
                    // we pushed.
                    let running = sample
                        .segment()
                        .and_then(|s| s.downcast_ref::<gst::ClockTime>())
                        .and_then(|s| buffer.pts().and_then(|pts| s.to_running_time(pts)));
                    on_frame(EncodedFrame {
                        data: Bytes::copy_from_slice(map.as_slice()),
                        pts: Duration::from_nanos(running.map_or(0, |t| t.nseconds())),
                        duration: frame_duration,
                        keyframe: !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT),
                    });
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
        match &reporter {
            Some(r) => r.watch(&pipeline),
            None => super::bus::watch_with(&pipeline, |_| {}),
        }
        play(&pipeline)?;
        Ok(Self {
            pipeline,
            appsrc,
            frame_duration,
        })
    }

    /// Pushes one composite frame stamped `pts`.
    pub fn push(&self, i420: Vec<u8>, pts: Duration) -> Result<(), MediaError> {
        let mut buffer = gst::Buffer::from_mut_slice(i420);
        {
            let b = buffer.get_mut().expect("fresh buffer is writable");
            b.set_pts(gst::ClockTime::from_nseconds(pts.as_nanos() as u64));
            b.set_duration(gst::ClockTime::from_nseconds(
                self.frame_duration.as_nanos() as u64,
            ));
        }
        self.appsrc
            .push_buffer(buffer)
            .map(|_| ())
            .map_err(|e| MediaError::Pipeline {
                pipeline: "encoder".into(),
                message: format!("push: {e:?}"),
            })
    }

    /// Asks for a keyframe on the next frame (a participant joined or lost packets).
    pub fn force_keyframe(&self) {
        let event = gst_video::DownstreamForceKeyUnitEvent::builder()
            .all_headers(true)
            .build();
        if !self.appsrc.send_event(event) {
            tracing::debug!("force-key-unit event not handled");
        }
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}
