//! Originals: a VP8 camera and an Opus microphone, sent as RTP, are kept in WebM without
//! re-encoding: every VP8 frame in the file is byte for byte a frame the sender encoded.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use courtroom::record::originals::{OriginalCodec, OriginalWriter};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use sha2::{Digest, Sha256};

/// Runs `launch` (ending in `appsink name=frames` and `appsink name=rtp`) and collects both.
fn encode(launch: &str) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let pipeline = gst::parse::launch(launch)
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
    let mut out = Vec::new();
    for name in ["frames", "rtp"] {
        let sink = pipeline
            .by_name(name)
            .unwrap()
            .downcast::<gst_app::AppSink>()
            .unwrap();
        let got: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let g = got.clone();
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |s| {
                    let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    let map = sample.buffer().unwrap().map_readable().unwrap();
                    g.lock().unwrap().push(map.as_slice().to_vec());
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
        out.push(got);
    }
    pipeline.set_state(gst::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    let msg = bus
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(30),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
        .expect("encoding ends");
    assert!(matches!(msg.view(), gst::MessageView::Eos(_)), "{msg:?}");
    pipeline.set_state(gst::State::Null).unwrap();
    let take = |v: &Arc<Mutex<Vec<Vec<u8>>>>| std::mem::take(&mut *v.lock().unwrap());
    (take(&out[0]), take(&out[1]))
}

fn keep(path: &std::path::Path, codec: OriginalCodec, pt: u8, rtp: Vec<Vec<u8>>) {
    let writer = OriginalWriter::start(path, codec, pt).unwrap();
    for p in rtp {
        writer.push_rtp(p);
        std::thread::sleep(Duration::from_millis(2));
    }
    writer.finish(Duration::from_secs(10)).unwrap();
}

fn framehashes(path: &std::path::Path) -> Vec<String> {
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-c", "copy", "-f", "framehash", "-hash", "sha256", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit(',').next().map(|h| h.trim().to_owned()))
        .collect()
}

#[test]
fn vp8_and_opus_are_kept_without_reencoding() {
    courtroom::media::init().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (frames, rtp) = encode(
        "videotestsrc num-buffers=60 pattern=ball ! video/x-raw,width=320,height=240,framerate=25/1 \
         ! vp8enc deadline=1 ! tee name=t \
         t. ! queue ! appsink name=frames sync=false \
         t. ! queue ! rtpvp8pay pt=96 mtu=1200 ! appsink name=rtp sync=false",
    );
    assert_eq!(frames.len(), 60);
    assert!(rtp.len() >= frames.len(), "every frame is in the RTP");
    let video = dir.path().join("original-witness-p1-video.webm");
    keep(&video, OriginalCodec::Vp8, 96, rtp);
    let kept = framehashes(&video);
    let sent: Vec<String> = frames
        .iter()
        .map(|f| courtroom::digest::hex(&Sha256::digest(f)))
        .collect();
    assert_eq!(kept.len(), sent.len(), "every frame kept");
    assert_eq!(kept, sent, "byte for byte the sender's frames");

    let (packets, rtp) = encode(
        "audiotestsrc num-buffers=50 ! audio/x-raw,rate=48000,channels=1 ! opusenc ! tee name=t \
         t. ! queue ! appsink name=frames sync=false \
         t. ! queue ! rtpopuspay pt=111 ! appsink name=rtp sync=false",
    );
    let audio = dir.path().join("original-witness-p1-audio.webm");
    keep(&audio, OriginalCodec::Opus, 111, rtp);
    let kept = framehashes(&audio);
    let sent: Vec<String> = packets
        .iter()
        .map(|f| courtroom::digest::hex(&Sha256::digest(f)))
        .collect();
    assert!(!kept.is_empty());
    assert_eq!(kept, sent[..kept.len()], "Opus packets unchanged");
    assert!(
        kept.len() + 2 >= sent.len(),
        "{} of {} packets",
        kept.len(),
        sent.len()
    );
}
