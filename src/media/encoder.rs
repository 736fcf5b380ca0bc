//! The composite's encoders: the one H.264 encoder per hearing (for every participant that
//! decodes H.264, and for the recording), and, only while someone needs it, one VP8 encoder
//! for browsers without H.264 (Firefox ESR without OpenH264). Raw I420 composite frames in;
//! encoded frames out to a callback that fans them out.

use std::time::Duration;

use bytes::Bytes;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;

use super::element::{add_chain, make, play};
use super::events::MediaReporter;
use super::MediaError;

/// The codec of an encoded composite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VideoCodec {
    /// H.264 constrained baseline, Annex B byte stream: the recording and most browsers.
    H264,
    /// VP8: browsers that offer no H.264 (Firefox ESR without its OpenH264 plugin).
    Vp8,
}

impl VideoCodec {
    /// A short name for logs and stats (`h264`, `vp8`).
    pub fn as_str(self) -> &'static str {
        match self {
            VideoCodec::H264 => "h264",
            VideoCodec::Vp8 => "vp8",
        }
    }
}

/// One encoded composite frame (an H.264 access unit in Annex B, or one VP8 frame).
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

/// One raw composite frame handed to more than one encoder: its pixels are shared, not copied.
#[derive(Debug, Clone)]
pub struct SharedFrame(gst::Buffer);

impl SharedFrame {
    /// Wraps an I420 frame.
    pub fn new(i420: Vec<u8>) -> Self {
        Self(gst::Buffer::from_mut_slice(i420))
    }
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

/// `appsrc ! x264enc (zerolatency, ultrafast) ! video/x-h264,profile=constrained-baseline ! appsink`,
/// or for VP8 `appsrc ! vp8enc (realtime) ! appsink`.
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
        Self::with_codec(cfg, VideoCodec::H264, on_frame, reporter)
    }

    /// [`Encoder::reporting`] for `codec`. VP8 runs libvpx in realtime mode at its fastest
    /// fixed speed (`deadline=1`, `cpu-used=-16`), constant bitrate at the same target as
    /// H.264, no lag, error resilient, with the same keyframe interval (docs/BENCHMARKS.md has
    /// its cost beside x264's).
    pub fn with_codec(
        cfg: EncoderConfig,
        codec: VideoCodec,
        on_frame: impl Fn(EncodedFrame) + Send + Sync + 'static,
        reporter: Option<MediaReporter>,
    ) -> Result<Self, MediaError> {
        Self::build(cfg, codec, None, on_frame, reporter)
    }

    /// An encoder of `codec` that takes frames of `input`'s size and encodes them scaled to
    /// `reduced`'s size, at `reduced`'s bitrate: the composite's reduced rendition for slow
    /// links. `reduced`'s rate and keyframe interval are used as they are.
    pub fn scaled(
        input: EncoderConfig,
        reduced: EncoderConfig,
        codec: VideoCodec,
        on_frame: impl Fn(EncodedFrame) + Send + Sync + 'static,
    ) -> Result<Self, MediaError> {
        Self::build(input, codec, Some(reduced), on_frame, None)
    }

    fn build(
        cfg: EncoderConfig,
        codec: VideoCodec,
        reduced: Option<EncoderConfig>,
        on_frame: impl Fn(EncodedFrame) + Send + Sync + 'static,
        reporter: Option<MediaReporter>,
    ) -> Result<Self, MediaError> {
        let pipeline = gst::Pipeline::with_name(match (codec, reduced.is_some()) {
            (VideoCodec::H264, false) => "encoder",
            (VideoCodec::H264, true) => "encoder-reduced",
            (VideoCodec::Vp8, false) => "encoder-vp8",
            (VideoCodec::Vp8, true) => "encoder-vp8-reduced",
        });
        let out = reduced.unwrap_or(cfg);
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
        let (enc, caps) = match codec {
            VideoCodec::H264 => {
                let enc = make("x264enc", "x264")?;
                enc.set_property_from_str("tune", "zerolatency");
                enc.set_property_from_str("speed-preset", "ultrafast");
                enc.set_property("bitrate", out.bitrate_kbps);
                enc.set_property("key-int-max", out.keyframe_interval.max(1));
                let caps = gst::Caps::builder("video/x-h264")
                    .field("profile", "constrained-baseline")
                    .field("stream-format", "byte-stream")
                    .field("alignment", "au")
                    .build();
                (enc, caps)
            }
            VideoCodec::Vp8 => {
                let enc = make("vp8enc", "vp8")?;
                enc.set_property("deadline", 1i64);
                enc.set_property("cpu-used", -16i32);
                enc.set_property_from_str("end-usage", "cbr");
                enc.set_property("target-bitrate", (out.bitrate_kbps * 1000) as i32);
                enc.set_property("lag-in-frames", 0i32);
                enc.set_property_from_str("error-resilient", "default");
                enc.set_property("keyframe-max-dist", out.keyframe_interval.max(1) as i32);
                enc.set_property("threads", 1i32);
                (enc, gst::Caps::builder("video/x-vp8").build())
            }
        };
        let capsfilter = make("capsfilter", "encodedcaps")?;
        capsfilter.set_property("caps", caps);
        let sink = gst_app::AppSink::builder().sync(false).build();
        let mut chain: Vec<gst::Element> = vec![appsrc.clone().upcast()];
        if reduced.is_some() {
            let scale = make("videoscale", "scale")?;
            let size = make("capsfilter", "reducedsize")?;
            size.set_property(
                "caps",
                gst_video::VideoCapsBuilder::new()
                    .format(gst_video::VideoFormat::I420)
                    .width(out.width as i32)
                    .height(out.height as i32)
                    .build(),
            );
            chain.extend([scale, size]);
        }
        chain.extend([enc, capsfilter, sink.clone().upcast()]);
        add_chain(&pipeline, &chain.iter().collect::<Vec<_>>())?;
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
                    // we pushed (vp8enc keeps them as they are).
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
        self.push_buffer(gst::Buffer::from_mut_slice(i420), pts)
    }

    /// Pushes one composite frame that another encoder encodes too (no copy of the pixels).
    pub fn push_shared(&self, i420: &SharedFrame, pts: Duration) -> Result<(), MediaError> {
        // A shallow copy: the memory is shared, the timestamps are this encoder's own.
        self.push_buffer(i420.0.copy(), pts)
    }

    fn push_buffer(&self, mut buffer: gst::Buffer, pts: Duration) -> Result<(), MediaError> {
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

    /// Frames pushed but not yet taken in by the encoder (its input queue).
    pub fn queued_frames(&self) -> u64 {
        self.appsrc.current_level_buffers()
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
