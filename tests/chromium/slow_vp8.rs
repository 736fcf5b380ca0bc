//! A party whose browser decodes no H.264 (VP8 only, as Firefox ESR without OpenH264) on a slow
//! link: Chromium offering only VP8 for the composite, behind the tests' UDP relay at 500
//! kbit/s towards it. The server moves it to the reduced rendition in VP8 (half the size, from
//! one encoder of its own), the page says so, and the picture it decodes is VP8 at half the
//! height; no reduced H.264 encoder is started for it, and the full VP8 encoder, which only it
//! received, stops.

use std::time::Duration;

use serde_json::Value;

use crate::lossy_link::KEEP_PC;
use crate::support::cdp::Cdp;
use crate::support::process::DemoProcess;
use crate::support::relay::{Relay, Shape};
use crate::support::*;

/// Offers only VP8 for the composite (the page's receive-only video transceiver).
const VP8_ONLY: &str = r#"(() => {
  const add = RTCPeerConnection.prototype.addTransceiver;
  RTCPeerConnection.prototype.addTransceiver = function (track, init) {
    const tr = add.call(this, track, init);
    if (track === 'video' && init && init.direction === 'recvonly') {
      tr.setCodecPreferences(RTCRtpReceiver.getCapabilities('video').codecs
        .filter((c) => c.mimeType === 'video/VP8'));
    }
    return tr;
  };
})();"#;

/// The composite's codec and height as the page decodes it.
const DECODED: &str = r#"(async () => {
  const pc = window.courtroomPc;
  if (!pc) return null;
  const report = await pc.getStats();
  let o = null;
  report.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') o = {
      codec: s.codecId ? report.get(s.codecId).mimeType : null,
      height: s.frameHeight || 0, frames: s.framesDecoded || 0,
    };
  });
  return o;
})()"#;

#[test]
fn a_vp8_party_on_a_slow_link_gets_the_reduced_rendition_in_vp8() {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(slow_vp8());
}

async fn slow_vp8() {
    let root = tempfile::Builder::new()
        .prefix("courtroom-slow-vp8-")
        .tempdir()
        .unwrap();
    let root = root.path();
    let (y4m, wav) = (root.join("plaintiff.y4m"), root.join("plaintiff.wav"));
    write_person_y4m(&y4m, [40, 70, 220], 50);
    write_tone_wav(&wav, 440.0, 10.0);
    let _turn = one_at_a_time();
    let demo = DemoProcess::start(
        env!("CARGO_BIN_EXE_courtroom"),
        &root.join("data"),
        &root.join("server.log"),
        &[],
    );
    let relay = Relay::start();
    let browser = Chromium::launch_debuggable(&y4m, &wav, (1280, 800));
    let mut cdp = Cdp::connect(&browser.devtools_url()).await;
    let page = cdp
        .open_with_script(
            &demo.join_url("plaintiff"),
            &format!("{VP8_ONLY}\n{KEEP_PC}\n{}", relay.page_script()),
        )
        .await;
    let secs = Duration::from_secs;
    cdp.wait(
        &page,
        "window.courtroomStats && window.courtroomStats.frames_decoded > 25",
        secs(60),
    )
    .await;
    let full = cdp.eval(&page, DECODED).await;
    // 500 kbit/s towards the page behind a 300 ms queue, the way up clean (as lossy_link).
    relay.set(
        Shape {
            delay: Duration::from_millis(40),
            ..Shape::CLEAN
        },
        Shape {
            delay: Duration::from_millis(40),
            rate_bps: Some(500_000),
            ..Shape::CLEAN
        },
    );
    let reduced = "(window.courtroom && window.courtroom.picture) === 'reduced'";
    let switched = tokio::time::timeout(secs(40), async {
        while cdp.eval(&page, reduced).await != Value::Bool(true) {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    })
    .await
    .is_ok();
    // The reduced picture arrives once the queue has drained and a keyframe got through.
    let mut settled = Value::Null;
    if switched {
        for _ in 0..60 {
            settled = cdp.eval(&page, DECODED).await;
            if settled["height"].as_f64().unwrap_or(0.0) > 0.0
                && settled["height"].as_f64() < full["height"].as_f64()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    // The full VP8 encoder had only this receiver: it stops once the page is moved down.
    let full_stopped = |log: &str| {
        log.lines()
            .any(|l| l.contains("vp8 encoder stopped") && !l.contains("reduced"))
    };
    for _ in 0..50 {
        let log = std::fs::read_to_string(root.join("server.log")).unwrap_or_default();
        if full_stopped(&log) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = std::fs::read_to_string(root.join("server.log")).unwrap_or_default();
    eprintln!("slow vp8: full {full}, reduced {settled}");
    eprintln!("server log:\n{}", demo.server.log_tail());
    assert_eq!(
        full["codec"], "video/VP8",
        "the page decodes the composite in VP8"
    );
    assert_eq!(
        full["height"].as_f64(),
        Some(720.0),
        "the full composite first"
    );
    assert!(
        switched,
        "the page was not moved to the reduced rendition in 40 s"
    );
    assert_eq!(
        settled["codec"], "video/VP8",
        "the reduced rendition in VP8"
    );
    assert_eq!(
        settled["height"].as_f64(),
        Some(360.0),
        "at half the height"
    );
    assert!(
        log.contains("reduced vp8 encoder started"),
        "its own encoder"
    );
    assert!(
        !log.contains("reduced encoder started"),
        "no reduced H.264 encoder for a VP8 receiver"
    );
}
