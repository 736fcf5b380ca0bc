//! Inbound decoding: RTP from one participant's camera or microphone, depacketised and decoded
//! by GStreamer. Video lands in a [`FrameSlot`] as I420; audio in an [`AudioInput`] as 48 kHz
//! mono samples. Each decoded frame and chunk carries its capture time: a probe after the jitter
//! buffer notes each packet's RTP timestamp by its buffer time, which the decoder keeps, and the
//! participant's [`CaptureClock`] turns that RTP timestamp into a capture time.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_audio as gst_audio;
use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;

use super::audio_mix::AudioInput;
use super::capture::{CaptureClock, AUDIO_CLOCK_RATE, VIDEO_CLOCK_RATE};
use super::element::{add_chain, make, play};
use super::events::{MediaReporter, TrackKind};
use super::frame::{FrameSlot, VideoFrame};
use super::MediaError;

/// Video codecs accepted from browsers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoCodec {
    /// VP8.
    Vp8,
    /// H.264.
    H264,
}

impl VideoCodec {
    /// Maps a negotiated MIME type (`video/VP8`, `video/H264`).
    pub fn from_mime(mime: &str) -> Result<Self, MediaError> {
        match mime.to_ascii_lowercase().as_str() {
            "video/vp8" => Ok(Self::Vp8),
            "video/h264" => Ok(Self::H264),
            other => Err(MediaError::UnsupportedCodec(other.to_owned())),
        }
    }
}

/// Jitter buffer latency on a good link: enough to reorder loopback and LAN packets, small
/// enough to keep glass-to-glass latency low. A link with a longer round trip gets more
/// ([`RtpDecoder::set_jitter_latency`], [`jitter_latency_ms`]), so that a packet the server
/// asked again for (NACK) is still in time.
pub const JITTER_MS: u32 = 50;

/// The most a jitter buffer waits for a late or resent packet.
pub const MAX_JITTER_MS: u32 = 600;

/// The jitter buffer latency for a link with this round trip: long enough for one NACK and its
/// retransmission (the round trip and a fifth, and 40 ms for the sender to answer), in steps of
/// 25 ms, between [`JITTER_MS`] and [`MAX_JITTER_MS`]. Unknown: [`JITTER_MS`].
pub fn jitter_latency_ms(rtt_ms: Option<f64>) -> u32 {
    let Some(rtt) = rtt_ms.filter(|r| r.is_finite() && *r > 0.0) else {
        return JITTER_MS;
    };
    let wanted = (rtt * 1.2 + 40.0).min(MAX_JITTER_MS as f64);
    let stepped = ((wanted / 25.0).ceil() * 25.0) as u32;
    stepped.clamp(JITTER_MS, MAX_JITTER_MS)
}

/// Called when a camera decoder lost part of a frame and waits for a keyframe: the owner asks
/// the sender for one (a picture loss indication).
pub type PictureLost = Arc<dyn Fn() + Send + Sync>;

/// Consecutive camera frames the decoder may fail to decode (about a second) before it gives
/// up with an error on the bus, which its owner hears as a typed event and answers by
/// rebuilding it. GStreamer's default (-1) would warn in its debug log forever instead.
pub const MAX_VIDEO_ERRORS: i32 = 25;
/// The same for the microphone: about a second of 20 ms packets.
pub const MAX_AUDIO_ERRORS: i32 = 50;

/// Feeds RTP into a pipeline. Dropping it stops the pipeline. A failure of the pipeline (a
/// decoder that gave up on what it was sent) is logged and, given a [`MediaReporter`],
/// reported to the owner.
pub struct RtpDecoder {
    pipeline: gst::Pipeline,
    appsrc: gst_app::AppSrc,
}

impl RtpDecoder {
    /// A camera decoder writing every decoded frame into `slot`, its capture time from `clock`.
    /// After a loss it shows nothing new until the next keyframe (the seat keeps its last
    /// whole picture rather than a smeared one) and calls `picture_lost`, whose owner asks the
    /// sender for that keyframe.
    pub fn video(
        name: &str,
        codec: VideoCodec,
        payload_type: u8,
        slot: Arc<FrameSlot>,
        clock: Arc<CaptureClock>,
        picture_lost: Option<PictureLost>,
        reporter: Option<MediaReporter>,
    ) -> Result<Self, MediaError> {
        let (encoding, depay, dec) = match codec {
            VideoCodec::Vp8 => ("VP8", "rtpvp8depay", "vp8dec"),
            VideoCodec::H264 => ("H264", "rtph264depay", "avdec_h264"),
        };
        let caps = gst::Caps::builder("application/x-rtp")
            .field("media", "video")
            .field("clock-rate", 90_000i32)
            .field("encoding-name", encoding)
            .field("payload", payload_type as i32)
            .build();
        let pipeline = gst::Pipeline::with_name(&format!("video-in-{name}"));
        let appsrc = appsrc(&caps)?;
        let jitter = make("rtpjitterbuffer", "jitter")?;
        jitter.set_property("latency", JITTER_MS);
        let rtp_times = RtpTimes::watch(&jitter, VIDEO_CLOCK_RATE);
        let depay = make(depay, "depay")?;
        depay.set_property("request-keyframe", true);
        depay.set_property("wait-for-keyframe", true);
        if let (Some(lost), Some(pad)) = (picture_lost, appsrc.static_pad("src")) {
            // The depayloader's request travels upstream as a force-key-unit event, which
            // ends here at the source: the sender is the only one who can answer it.
            pad.add_probe(gst::PadProbeType::EVENT_UPSTREAM, move |_, info| {
                if let Some(gst::PadProbeData::Event(event)) = &info.data {
                    if gst_video::UpstreamForceKeyUnitEvent::parse(event).is_ok() {
                        lost();
                    }
                }
                gst::PadProbeReturn::Ok
            });
        }
        let dec = make(dec, "dec")?;
        dec.set_property("max-errors", MAX_VIDEO_ERRORS);
        let convert = make("videoconvert", "convert")?;
        let sink = gst_app::AppSink::builder()
            .caps(
                &gst_video::VideoCapsBuilder::new()
                    .format(gst_video::VideoFormat::I420)
                    .build(),
            )
            .max_buffers(1)
            .drop(true)
            .sync(false)
            .build();
        add_chain(
            &pipeline,
            &[
                appsrc.upcast_ref(),
                &jitter,
                &depay,
                &dec,
                &convert,
                sink.upcast_ref(),
            ],
        )?;
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    if let Some(mut frame) = copy_i420(&sample) {
                        let rtp = sample.buffer().and_then(|b| rtp_times.rtp_of(b.pts()));
                        frame.captured = clock.capture_time(TrackKind::Camera, rtp, frame.arrived);
                        slot.put(frame);
                    }
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
        start(&pipeline, reporter.as_ref())?;
        Ok(Self { pipeline, appsrc })
    }

    /// A microphone decoder (Opus) appending 48 kHz mono samples to `input`, their capture
    /// time from `clock`.
    pub fn audio(
        name: &str,
        payload_type: u8,
        input: Arc<AudioInput>,
        clock: Arc<CaptureClock>,
        reporter: Option<MediaReporter>,
    ) -> Result<Self, MediaError> {
        let caps = gst::Caps::builder("application/x-rtp")
            .field("media", "audio")
            .field("clock-rate", 48_000i32)
            .field("encoding-name", "OPUS")
            .field("payload", payload_type as i32)
            .build();
        let pipeline = gst::Pipeline::with_name(&format!("audio-in-{name}"));
        let appsrc = appsrc(&caps)?;
        let jitter = make("rtpjitterbuffer", "jitter")?;
        jitter.set_property("latency", JITTER_MS);
        let rtp_times = RtpTimes::watch(&jitter, AUDIO_CLOCK_RATE);
        let depay = make("rtpopusdepay", "depay")?;
        let dec = make("opusdec", "dec")?;
        dec.set_property("max-errors", MAX_AUDIO_ERRORS);
        let convert = make("audioconvert", "convert")?;
        let resample = make("audioresample", "resample")?;
        let sink = gst_app::AppSink::builder()
            .caps(
                &gst_audio::AudioCapsBuilder::new_interleaved()
                    .format(gst_audio::AudioFormat::S16le)
                    .rate(super::audio_mix::SAMPLE_RATE as i32)
                    .channels(1)
                    .build(),
            )
            .sync(false)
            .build();
        add_chain(
            &pipeline,
            &[
                appsrc.upcast_ref(),
                &jitter,
                &depay,
                &dec,
                &convert,
                &resample,
                sink.upcast_ref(),
            ],
        )?;
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    if let Some(buffer) = sample.buffer() {
                        if let Ok(map) = buffer.map_readable() {
                            let samples: Vec<i16> = map
                                .as_slice()
                                .chunks_exact(2)
                                .map(|b| i16::from_le_bytes([b[0], b[1]]))
                                .collect();
                            let rtp = rtp_times.rtp_of(buffer.pts());
                            let captured =
                                clock.capture_time(TrackKind::Microphone, rtp, Instant::now());
                            input.push(&samples, captured);
                        }
                    }
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
        start(&pipeline, reporter.as_ref())?;
        Ok(Self { pipeline, appsrc })
    }

    /// Sets how long the jitter buffer waits for a late or resent packet (see
    /// [`jitter_latency_ms`]).
    pub fn set_jitter_latency(&self, ms: u32) {
        if let Some(jitter) = self.pipeline.by_name("jitter") {
            jitter.set_property("latency", ms.clamp(JITTER_MS, MAX_JITTER_MS));
        }
    }

    /// Pushes one marshalled RTP packet. Never blocks: a full queue drops the packet.
    pub fn push_rtp(&self, packet: Vec<u8>) {
        let buffer = gst::Buffer::from_mut_slice(packet);
        if let Err(err) = self.appsrc.push_buffer(buffer) {
            tracing::debug!(pipeline = %self.pipeline.name(), ?err, "rtp push refused");
        }
    }
}

impl Drop for RtpDecoder {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// Packets leaving a jitter buffer before the depayloader: each one's buffer time and RTP
/// timestamp, so that a decoded buffer (which keeps the time of the packets it came from) can
/// be given back its RTP timestamp. The newest [`RtpTimes::KEPT`] are kept.
struct RtpTimes {
    clock_rate: u32,
    seen: Mutex<VecDeque<(gst::ClockTime, u32)>>,
}

impl RtpTimes {
    /// About two seconds of video packets, or five of audio.
    const KEPT: usize = 256;

    /// Notes every packet leaving `jitter`'s source pad.
    fn watch(jitter: &gst::Element, clock_rate: u32) -> Arc<Self> {
        let times = Arc::new(Self {
            clock_rate,
            seen: Mutex::default(),
        });
        if let Some(pad) = jitter.static_pad("src") {
            let noted = times.clone();
            pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                if let Some(buffer) = info.buffer() {
                    noted.note(buffer);
                }
                gst::PadProbeReturn::Ok
            });
        }
        times
    }

    fn note(&self, buffer: &gst::BufferRef) {
        let (Some(pts), Ok(map)) = (buffer.pts(), buffer.map_readable()) else {
            return;
        };
        let Some(ts) = map.get(4..8) else { return };
        let rtp = u32::from_be_bytes([ts[0], ts[1], ts[2], ts[3]]);
        let mut seen = self.seen.lock().expect("rtp times poisoned");
        if seen.len() == Self::KEPT {
            seen.pop_front();
        }
        seen.push_back((pts, rtp));
    }

    /// The RTP timestamp of a decoded buffer of time `pts`: the packet noted nearest to it,
    /// moved by the difference at the clock rate (decoders may make buffers of their own, as
    /// Opus does to conceal a lost packet).
    fn rtp_of(&self, pts: Option<gst::ClockTime>) -> Option<u32> {
        let pts = pts?.nseconds() as i128;
        let seen = self.seen.lock().expect("rtp times poisoned");
        let &(at, rtp) = seen
            .iter()
            .rev()
            .min_by_key(|(t, _)| (t.nseconds() as i128 - pts).abs())?;
        let ticks = (pts - at.nseconds() as i128) * self.clock_rate as i128 / 1_000_000_000;
        Some(rtp.wrapping_add(ticks as i32 as u32))
    }
}

/// Watches the bus (reporting to `reporter`, or only logging), then plays.
fn start(pipeline: &gst::Pipeline, reporter: Option<&MediaReporter>) -> Result<(), MediaError> {
    match reporter {
        Some(r) => r.watch(pipeline),
        None => super::bus::watch_with(pipeline, |_| {}),
    }
    play(pipeline)
}

fn appsrc(caps: &gst::Caps) -> Result<gst_app::AppSrc, MediaError> {
    Ok(gst_app::AppSrc::builder()
        .caps(caps)
        .format(gst::Format::Time)
        .is_live(true)
        .do_timestamp(true)
        // Bounded, and never blocking the network task that pushes.
        .max_bytes(2 * 1024 * 1024)
        .block(false)
        .build())
}

/// Copies a decoded I420 sample into a tightly packed [`VideoFrame`].
fn copy_i420(sample: &gst::Sample) -> Option<VideoFrame> {
    let caps = sample.caps()?;
    let info = gst_video::VideoInfo::from_caps(caps).ok()?;
    let buffer = sample.buffer()?;
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &info).ok()?;
    let (w, h) = (info.width(), info.height());
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let plane = |i: u32, pw: u32, ph: u32| -> Option<Vec<u8>> {
        let stride = frame.plane_stride()[i as usize] as usize;
        let data = frame.plane_data(i).ok()?;
        let mut out = Vec::with_capacity((pw * ph) as usize);
        for row in 0..ph as usize {
            out.extend_from_slice(data.get(row * stride..row * stride + pw as usize)?);
        }
        Some(out)
    };
    Some(VideoFrame {
        width: w,
        height: h,
        y: plane(0, w, h)?,
        u: plane(1, cw, ch)?,
        v: plane(2, cw, ch)?,
        arrived: Instant::now(),
        captured: Instant::now(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_longer_round_trip_waits_longer_for_resent_packets() {
        assert_eq!(jitter_latency_ms(None), JITTER_MS);
        assert_eq!(jitter_latency_ms(Some(f64::NAN)), JITTER_MS);
        assert_eq!(jitter_latency_ms(Some(-5.0)), JITTER_MS);
        // Loopback and LAN: the floor.
        assert_eq!(jitter_latency_ms(Some(1.0)), JITTER_MS);
        // 460 ms (200 ms each way and jitter): one NACK round trip and a margin fit.
        let long = jitter_latency_ms(Some(460.0));
        assert!(long >= 460 + 40 && long % 25 == 0, "{long}");
        // Never more than the ceiling, however slow the link says it is.
        assert_eq!(jitter_latency_ms(Some(5_000.0)), MAX_JITTER_MS);
        assert_eq!(jitter_latency_ms(Some(f64::INFINITY)), JITTER_MS);
    }
}
