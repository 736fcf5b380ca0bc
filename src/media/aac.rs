//! The hearing's mix encoded to AAC-LC for the public broadcast:
//! `appsrc (S16 48 kHz mono) ! audioconvert ! avenc_aac ! appsink`, one raw AAC frame (1024
//! samples, no ADTS header) per callback, stamped on the hearing's media clock.
//!
//! The recorder encodes its own AAC inside each segment's pipeline (a segment is a file of its
//! own); this encoder runs only while a broadcast does. The encoder's priming packet is left
//! out and the rest moved back by its length ([`drop_priming`], which the recorder's segments
//! use too), so a frame's time is the time of the mix it holds.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_audio as gst_audio;

use super::element::{add_chain, make, play};
use super::events::MediaReporter;
use super::MediaError;

pub use super::audio_mix::SAMPLE_RATE;

/// Samples in one AAC-LC frame.
pub const FRAME_SAMPLES: u32 = 1024;
/// The AudioSpecificConfig of what this encoder makes: AAC-LC (2), 48 kHz (index 3), mono.
pub const AUDIO_SPECIFIC_CONFIG: [u8; 2] = [0x11, 0x88];
/// Channels of what this encoder makes.
pub const CHANNELS: u16 = 1;
/// The AAC encoder's delay (ffmpeg's AAC-LC encoder: one frame of 1024 samples): the
/// priming its first packet holds, which a player without an edit list plays as sound.
const PRIMING_SAMPLES: u64 = FRAME_SAMPLES as u64;

/// Leaves out `avenc_aac`'s priming packet and moves the rest back by its length, so the
/// sound plays at the time it was stamped with (the recorder's segments and the broadcast).
pub fn drop_priming(aac: &gst::Element) {
    let Some(pad) = aac.static_pad("src") else {
        return;
    };
    let priming =
        gst::ClockTime::from_nseconds(PRIMING_SAMPLES * 1_000_000_000 / SAMPLE_RATE as u64);
    let first = AtomicBool::new(true);
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if first.swap(false, Ordering::Relaxed) {
            return gst::PadProbeReturn::Drop;
        }
        if let Some(gst::PadProbeData::Buffer(buffer)) = &mut info.data {
            let b = buffer.make_mut();
            if let Some(pts) = b.pts() {
                b.set_pts(pts.saturating_sub(priming));
            }
            if let Some(dts) = b.dts() {
                b.set_dts(dts.saturating_sub(priming));
            }
        }
        gst::PadProbeReturn::Ok
    });
}

/// One encoded AAC frame.
#[derive(Debug, Clone)]
pub struct AacFrame {
    /// The raw AAC frame.
    pub data: Bytes,
    /// When its first sample plays, on the hearing's media clock.
    pub pts: Duration,
}

/// The running AAC encoder. Dropping it stops the pipeline.
pub struct AacEncoder {
    pipeline: gst::Pipeline,
    appsrc: gst_app::AppSrc,
}

impl AacEncoder {
    /// Builds and starts the encoder; `on_frame` runs on GStreamer's streaming thread. A
    /// failure of the pipeline goes to `reporter` when one is given.
    pub fn start(
        on_frame: impl Fn(AacFrame) + Send + Sync + 'static,
        reporter: Option<MediaReporter>,
    ) -> Result<Self, MediaError> {
        let pipeline = gst::Pipeline::with_name("broadcast-aac");
        let appsrc = gst_app::AppSrc::builder()
            .caps(
                &gst_audio::AudioCapsBuilder::new_interleaved()
                    .format(gst_audio::AudioFormat::S16le)
                    .rate(SAMPLE_RATE as i32)
                    .channels(1)
                    .build(),
            )
            .format(gst::Format::Time)
            .is_live(true)
            .max_bytes(4 * 1024 * 1024)
            .block(false)
            .build();
        let convert = make("audioconvert", "convert")?;
        let aac = make("avenc_aac", "aac")?;
        drop_priming(&aac);
        let sink = gst_app::AppSink::builder()
            .caps(
                &gst::Caps::builder("audio/mpeg")
                    .field("mpegversion", 4i32)
                    .field("stream-format", "raw")
                    .build(),
            )
            .sync(false)
            .build();
        add_chain(
            &pipeline,
            &[appsrc.upcast_ref(), &convert, &aac, sink.upcast_ref()],
        )?;
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    let Some(buffer) = sample.buffer() else {
                        return Ok(gst::FlowSuccess::Ok);
                    };
                    let map = buffer.map_readable().map_err(|_| gst::FlowError::Error)?;
                    let running = sample
                        .segment()
                        .and_then(|s| s.downcast_ref::<gst::ClockTime>())
                        .and_then(|s| buffer.pts().and_then(|pts| s.to_running_time(pts)));
                    on_frame(AacFrame {
                        data: Bytes::copy_from_slice(map.as_slice()),
                        pts: Duration::from_nanos(running.map_or(0, |t| t.nseconds())),
                    });
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
        match &reporter {
            Some(r) => r.watch(&pipeline),
            None => super::bus::watch_with(&pipeline, |event| match event {
                super::bus::BusEvent::Error(e) => {
                    tracing::warn!("the broadcast's audio encoder failed: {e}")
                }
                super::bus::BusEvent::Eos => tracing::debug!("the broadcast's audio encoder ended"),
            }),
        }
        play(&pipeline)?;
        Ok(Self { pipeline, appsrc })
    }

    /// Encodes one tick of the mix (S16 mono at 48 kHz) that starts at `pts`.
    pub fn push(&self, samples: &[i16], pts: Duration) -> Result<(), MediaError> {
        self.push_bytes(samples.iter().flat_map(|s| s.to_le_bytes()).collect(), pts)
    }

    /// Encodes `samples` of silence starting at `pts` (a tick while the slate shows).
    pub fn push_silence(&self, samples: usize, pts: Duration) -> Result<(), MediaError> {
        self.push_bytes(vec![0; samples * 2], pts)
    }

    fn push_bytes(&self, bytes: Vec<u8>, pts: Duration) -> Result<(), MediaError> {
        let samples = bytes.len() / 2;
        let mut buffer = gst::Buffer::from_mut_slice(bytes);
        {
            let b = buffer.get_mut().expect("fresh buffer is writable");
            b.set_pts(gst::ClockTime::from_nseconds(pts.as_nanos() as u64));
            b.set_duration(gst::ClockTime::from_nseconds(
                samples as u64 * 1_000_000_000 / SAMPLE_RATE as u64,
            ));
        }
        self.appsrc
            .push_buffer(buffer)
            .map(|_| ())
            .map_err(|e| MediaError::Pipeline {
                pipeline: "broadcast-aac".into(),
                message: format!("push: {e:?}"),
            })
    }
}

impl Drop for AacEncoder {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A second of a 1 kHz tone in 40 ms ticks comes out as about 47 AAC frames, 1024 samples
    /// apart in time, starting near the first tick's time.
    #[test]
    fn a_second_of_the_mix_becomes_aac_frames_on_the_same_clock() {
        crate::media::init().unwrap();
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = got.clone();
        let enc = AacEncoder::start(move |f| sink.lock().unwrap().push(f), None).unwrap();
        let start = Duration::from_secs(10);
        for tick in 0..25u64 {
            let samples: Vec<i16> = (0..1920u64)
                .map(|i| {
                    let t = (tick * 1920 + i) as f32 / SAMPLE_RATE as f32;
                    ((t * 1000.0 * std::f32::consts::TAU).sin() * 8000.0) as i16
                })
                .collect();
            enc.push(&samples, start + Duration::from_millis(40 * tick))
                .unwrap();
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while got.lock().unwrap().len() < 44 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(enc);
        let frames = got.lock().unwrap();
        assert!(frames.len() >= 44, "{} frames", frames.len());
        let first = frames[0].pts;
        assert!(
            first >= start.saturating_sub(Duration::from_millis(25))
                && first <= start + Duration::from_millis(25),
            "first frame at {first:?}"
        );
        let step = frames[1].pts - frames[0].pts;
        assert!(
            (step.as_micros() as i64 - 21_333).abs() < 100,
            "frames {step:?} apart"
        );
        assert!(frames
            .iter()
            .all(|f| !f.data.is_empty() && f.data.len() < 2000));
    }
}
