//! A party on a bad home connection: Chromium behind the tests' UDP relay
//! ([`crate::support::relay`]): 500 kbit/s towards it, then a clean link again, then 5 % loss
//! with 200 ms delay and 30 ms jitter each way, then 15 % loss, then 5 % loss with 35 ± 15 ms
//! each way (the probe's link), then two seconds with nothing getting through. A second Chromium on a clean link sits in the same hearing.
//!
//! Measured from both sides: the browsers' own statistics (`getStats`: frames decoded,
//! freezes, NACKs and PLIs sent and received), the server's view of each seat's camera (the
//! monitor's `camera`), and the relay's counts. Asserted: the lossy party keeps receiving the
//! composite (frozen at most a tenth of the time on the probe's link, a third on the long
//! round trip, where FlexFEC repair packets rebuild its losses) and the server keeps
//! their seat moving, NACKs are answered both ways, a seat
//! frozen by a blackout moves again within 1 s of the link coming back, the slow link gets
//! the reduced rendition and the full one comes back once the link is clean, and the clean
//! party does not notice.

use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::cdp::Cdp;
use crate::support::process::DemoProcess;
use crate::support::relay::{Relay, Shape};
use crate::support::*;

/// Keeps the page's peer connection where the test can read its statistics.
pub(crate) const KEEP_PC: &str = r#"(() => {
  const original = RTCPeerConnection.prototype.setRemoteDescription;
  RTCPeerConnection.prototype.setRemoteDescription = function (...args) {
    window.courtroomPc = this;
    return original.apply(this, args);
  };
})();"#;

/// The page's video statistics: the composite it receives, the camera it sends.
const STATS: &str = r#"(async () => {
  const pc = window.courtroomPc;
  if (!pc) return null;
  const o = { at: performance.now() };
  (await pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') Object.assign(o, {
      frames_decoded: s.framesDecoded || 0, freezes: s.freezeCount || 0,
      freeze_s: s.totalFreezesDuration || 0, nacks_sent: s.nackCount || 0,
      plis_sent: s.pliCount || 0, firs_sent: s.firCount || 0, lost: s.packetsLost || 0,
      received: s.packetsReceived || 0, keyframes: s.keyFramesDecoded || 0,
      retransmitted_received: s.retransmittedPacketsReceived || 0, height: s.frameHeight || 0,
      jb_delay: s.jitterBufferDelay || 0, jb_emitted: s.jitterBufferEmittedCount || 0,
      jb_target: s.jitterBufferTargetDelay || 0, inter_frame: s.totalInterFrameDelay || 0, frames_dropped: s.framesDropped || 0,
      fec_received: s.fecPacketsReceived || 0, fec_discarded: s.fecPacketsDiscarded || 0,
    });
    if (s.type === 'outbound-rtp' && s.kind === 'video') Object.assign(o, {
      nacks_got: s.nackCount || 0, plis_got: s.pliCount || 0, firs_got: s.firCount || 0,
      retransmitted: s.retransmittedPacketsSent || 0, sent: s.packetsSent || 0,
    });
  });
  return o;
})()"#;

fn num(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or(0.0)
}

/// `end[key] - start[key]`.
fn delta(start: &Value, end: &Value, key: &str) -> f64 {
    num(end, key) - num(start, key)
}

/// The server's view of `role`'s camera: (frames decoded, age of the newest in ms).
async fn camera(addr: &str, token: &str, role: &str) -> Option<(f64, f64)> {
    let (addr, token, role) = (addr.to_owned(), token.to_owned(), role.to_owned());
    tokio::task::spawn_blocking(move || {
        let (status, body) = try_http_get(&addr, "/api/hearing/monitor", Some(&token)).ok()?;
        if status != 200 {
            return None;
        }
        let monitor: Value = serde_json::from_str(&body).ok()?;
        let p = monitor["participants"]
            .as_array()?
            .iter()
            .find(|p| p["role"] == role.as_str() && p["connected"] == true)?
            .clone();
        Some((num(&p["camera"], "frames"), num(&p["camera"], "age_ms")))
    })
    .await
    .ok()
    .flatten()
}

/// The server's composite so far: (ticks, ticks shed for the node's pace, still ticks not
/// encoded again, the pace's share of five now).
async fn compositor(addr: &str, token: &str) -> Option<(f64, f64, f64, f64)> {
    let (addr, token) = (addr.to_owned(), token.to_owned());
    tokio::task::spawn_blocking(move || {
        let (status, body) = try_http_get(&addr, "/api/hearing/monitor", Some(&token)).ok()?;
        if status != 200 {
            return None;
        }
        let c = serde_json::from_str::<Value>(&body).ok()?["compositor"].clone();
        Some((
            num(&c, "ticks"),
            num(&c, "shed"),
            num(&c, "still"),
            num(&c, "pace_keep_of_5"),
        ))
    })
    .await
    .ok()
    .flatten()
}

/// What one stretch of the call did to both parties.
#[derive(Debug)]
struct Stretch {
    name: &'static str,
    seconds: f64,
    lossy: (Value, Value),
    clean: (Value, Value),
    /// The lossy party's seat on the server: the longest the newest frame got, in ms, and
    /// how many frames arrived.
    lossy_seat_max_age_ms: f64,
    lossy_seat_frames: f64,
    clean_seat_max_age_ms: f64,
    /// Pictures the server made in the stretch (ticks neither shed nor still), and the
    /// smallest share of five its frame pace kept.
    server_pictures: f64,
    pace_min_of_5: f64,
}

impl Stretch {
    fn summary(&self) -> Value {
        let (ls, le) = &self.lossy;
        let (cs, ce) = &self.clean;
        json!({
            "stretch": self.name,
            "seconds": self.seconds,
            "server_pictures": self.server_pictures,
            "pace_min_of_5": self.pace_min_of_5,
            "lossy": {
                "composite_frames": delta(ls, le, "frames_decoded"),
                "composite_freezes": delta(ls, le, "freezes"),
                "composite_freeze_s": delta(ls, le, "freeze_s"),
                "composite_lost": delta(ls, le, "lost"),
                "composite_retransmitted": delta(ls, le, "retransmitted_received"),
                "composite_jitter_buffer_ms": 1000.0 * delta(ls, le, "jb_delay") / delta(ls, le, "jb_emitted").max(1.0),
                "composite_jitter_target_ms": 1000.0 * delta(ls, le, "jb_target") / delta(ls, le, "jb_emitted").max(1.0),
                "composite_frames_dropped": delta(ls, le, "frames_dropped"),
                "composite_fec_received": delta(ls, le, "fec_received"),
                "composite_fec_discarded": delta(ls, le, "fec_discarded"),
                "composite_height": num(le, "height"),
                "nacks_sent": delta(ls, le, "nacks_sent"),
                "plis_sent": delta(ls, le, "plis_sent"),
                "camera_nacks_got": delta(ls, le, "nacks_got"),
                "camera_plis_got": delta(ls, le, "plis_got"),
                "camera_retransmitted": delta(ls, le, "retransmitted"),
                "seat_frames": self.lossy_seat_frames,
                "seat_max_age_ms": self.lossy_seat_max_age_ms,
            },
            "clean": {
                "composite_frames": delta(cs, ce, "frames_decoded"),
                "composite_freezes": delta(cs, ce, "freezes"),
                "composite_freeze_s": delta(cs, ce, "freeze_s"),
                "composite_height": num(ce, "height"),
                "composite_fec_received": delta(cs, ce, "fec_received"),
                "seat_max_age_ms": self.clean_seat_max_age_ms,
            },
        })
    }
}

struct Call {
    addr: String,
    token: String,
    lossy: Cdp,
    lossy_page: String,
    clean: Cdp,
    clean_page: String,
}

impl Call {
    async fn stats(&mut self) -> (Value, Value) {
        let l = self.lossy.eval(&self.lossy_page, STATS).await;
        let c = self.clean.eval(&self.clean_page, STATS).await;
        (l, c)
    }

    /// Runs the call for `seconds`, watching both seats on the server.
    async fn stretch(&mut self, name: &'static str, seconds: u64) -> Stretch {
        self.stretch_until(name, seconds, None).await
    }

    /// Runs the call for `seconds`, or until the lossy page's expression `until` is true.
    async fn stretch_until(
        &mut self,
        name: &'static str,
        seconds: u64,
        until: Option<&str>,
    ) -> Stretch {
        let (ls, cs) = self.stats().await;
        let made_before = compositor(&self.addr, &self.token).await;
        let start = Instant::now();
        let first = camera(&self.addr, &self.token, "plaintiff").await;
        let (mut lossy_age, mut clean_age, mut last) = (0f64, 0f64, first);
        let mut pace_min = made_before.map_or(5.0, |m| m.3);
        while start.elapsed() < Duration::from_secs(seconds) {
            if let Some(until) = until {
                if self.lossy.eval(&self.lossy_page, until).await == Value::Bool(true) {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
            if let Some(seat) = camera(&self.addr, &self.token, "plaintiff").await {
                lossy_age = lossy_age.max(seat.1);
                last = Some(seat);
            }
            if let Some((_, age)) = camera(&self.addr, &self.token, "defendant").await {
                clean_age = clean_age.max(age);
            }
            if let Some(m) = compositor(&self.addr, &self.token).await {
                pace_min = pace_min.min(m.3);
            }
        }
        let (le, ce) = self.stats().await;
        let made_after = compositor(&self.addr, &self.token).await;
        let server_pictures = match (made_before, made_after) {
            (Some(b), Some(a)) => (a.0 - b.0) - (a.1 - b.1) - (a.2 - b.2),
            _ => 0.0,
        };
        Stretch {
            name,
            seconds: start.elapsed().as_secs_f64(),
            lossy: (ls, le),
            clean: (cs, ce),
            lossy_seat_max_age_ms: lossy_age,
            lossy_seat_frames: last.map(|l| l.0).unwrap_or(0.0) - first.map(|f| f.0).unwrap_or(0.0),
            clean_seat_max_age_ms: clean_age,
            server_pictures,
            pace_min_of_5: pace_min,
        }
    }
}

#[test]
fn a_party_on_a_lossy_link_keeps_the_hearing_and_the_others_do_not_notice() {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(lossy_link());
}

async fn lossy_link() {
    let mut root = tempfile::Builder::new()
        .prefix("courtroom-lossy-")
        .tempdir()
        .unwrap();
    root.disable_cleanup(std::env::var_os("LOSSY_KEEP").is_some());
    let root = root.path();
    let fixture = |role: &str, color: [u8; 3], hz: f32| {
        let (y4m, wav) = (
            root.join(format!("{role}.y4m")),
            root.join(format!("{role}.wav")),
        );
        write_person_y4m(&y4m, color, 50);
        write_tone_wav(&wav, hz, 10.0);
        (y4m, wav)
    };
    let (py4m, pwav) = fixture("plaintiff", [40, 70, 220], 440.0);
    let (dy4m, dwav) = fixture("defendant", [200, 50, 200], 550.0);
    let _turn = one_at_a_time();
    let demo = DemoProcess::start(
        env!("CARGO_BIN_EXE_courtroom"),
        &root.join("data"),
        &root.join("server.log"),
        &[],
    );
    let relay = Relay::start();
    let lossy_browser = Chromium::launch_debuggable(&py4m, &pwav, (1280, 800));
    let clean_browser = Chromium::launch_debuggable(&dy4m, &dwav, (1280, 800));
    let mut call = Call {
        addr: demo.addr.clone(),
        token: demo.token("clerk"),
        lossy: Cdp::connect(&lossy_browser.devtools_url()).await,
        lossy_page: String::new(),
        clean: Cdp::connect(&clean_browser.devtools_url()).await,
        clean_page: String::new(),
    };
    call.lossy_page = call
        .lossy
        .open_with_script(
            &demo.join_url("plaintiff"),
            &format!("{KEEP_PC}\n{}", relay.page_script()),
        )
        .await;
    call.clean_page = call
        .clean
        .open_with_script(&demo.join_url("defendant"), KEEP_PC)
        .await;
    let decoding = "window.courtroomStats && window.courtroomStats.frames_decoded > 25";
    let secs = Duration::from_secs;
    call.lossy.wait(&call.lossy_page, decoding, secs(60)).await;
    call.clean.wait(&call.clean_page, decoding, secs(60)).await;
    assert!(
        call.lossy
            .eval(&call.lossy_page, "window.courtroomRelayed || 0")
            .await
            .as_u64()
            .unwrap_or(0)
            > 0,
        "the lossy page's media did not go through the relay"
    );
    let clean = call.stretch("clean", 10).await;
    // A slow link: 500 kbit/s towards the party behind a 300 ms queue (the way the composite
    // goes; the way up stays clean: with both ways at 500 kbit/s the page sometimes restarts
    // its connection before the switch, and the restart cannot get through).
    let slow = Shape {
        delay: Duration::from_millis(40),
        rate_bps: Some(500_000),
        ..Shape::CLEAN
    };
    relay.set(
        Shape {
            delay: Duration::from_millis(40),
            ..Shape::CLEAN
        },
        slow,
    );
    // Until the server switches the page to the reduced rendition (it says so); then 12 s in
    // which the picture comes back (the queue drains, the lost packets of the full picture are
    // asked for and resent, and the page may restart its connection: up to about 10 s); then
    // 6 s on the reduced picture. Its first try of the full picture comes 20 s after the losses
    // end at the earliest, so after these.
    let reduced = "(window.courtroom && window.courtroom.picture) === 'reduced'";
    let slowing = call.stretch_until("500 kbit/s", 20, Some(reduced)).await;
    let switching = call.stretch("500 kbit/s, switching", 12).await;
    let slowed = call.stretch("500 kbit/s, settled", 6).await;
    // What the page says of its picture (the server's `rendition` message).
    const PICTURE: &str = "JSON.stringify([window.courtroom.picture || null, document.getElementById('quality-text').textContent])";
    let said_slowed = call.lossy.eval(&call.lossy_page, PICTURE).await;
    // Back to a clean link: after a good spell it tries the full composite again, and keeps it.
    relay.set(Shape::CLEAN, Shape::CLEAN);
    let recovered = call.stretch("clean again", 25).await;
    let said_recovered = call.lossy.eval(&call.lossy_page, PICTURE).await;
    relay.set(Shape::lossy(0.05, 200, 30), Shape::lossy(0.05, 200, 30));
    let five = call.stretch("5 % loss, 200 ms, 30 ms jitter", 30).await;
    relay.set(Shape::lossy(0.15, 200, 30), Shape::lossy(0.15, 200, 30));
    let fifteen = call.stretch("15 % loss, 200 ms, 30 ms jitter", 20).await;
    // The probe's link (issue 16): 5 % loss with 20-50 ms of delay each way. Its composite
    // froze for 4.2-13.6 s of 40-46 s then; with NACKs answered in time it should hardly freeze.
    // (It comes after the long round trips, on the rendition they left: coming straight from a
    // clean link, the first reports of a loss this size once moved the page down, and the
    // switch's own few seconds were counted against it.)
    relay.set(Shape::lossy(0.05, 35, 15), Shape::lossy(0.05, 35, 15));
    let near = call.stretch("5 % loss, 35 ± 15 ms", 20).await;

    // A blackout, then a clean link: how long until the seat and the composite move again.
    relay.set(Shape::CLEAN, Shape::CLEAN);
    tokio::time::sleep(secs(5)).await;
    let blackout = Shape {
        loss: 1.0,
        ..Shape::CLEAN
    };
    relay.set(blackout, blackout);
    tokio::time::sleep(secs(2)).await;
    let before = camera(&call.addr, &call.token, "plaintiff")
        .await
        .map(|c| c.0)
        .unwrap_or(0.0);
    let (page_before, _) = call.stats().await;
    let plis_before = num(&page_before, "plis_got");
    relay.set(Shape::CLEAN, Shape::CLEAN);
    let back = Instant::now();
    let (mut seat_back, mut page_back) = (None, None);
    while back.elapsed() < secs(5) && (seat_back.is_none() || page_back.is_none()) {
        if seat_back.is_none()
            && camera(&call.addr, &call.token, "plaintiff")
                .await
                .is_some_and(|c| c.0 > before)
        {
            seat_back = Some(back.elapsed());
        }
        if page_back.is_none() {
            let now = call.lossy.eval(&call.lossy_page, STATS).await;
            if delta(&page_before, &now, "frames_decoded") > 0.0 {
                page_back = Some(back.elapsed());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after = call.stretch("after the blackout", 5).await;

    let summaries: Vec<Value> = [
        &clean, &slowing, &switching, &slowed, &recovered, &five, &fifteen, &near, &after,
    ]
    .iter()
    .map(|s| s.summary())
    .collect();
    let report = json!({
        "stretches": summaries,
        "page_says": { "slowed": said_slowed, "recovered": said_recovered },
        "blackout_recovery_ms": {
            "seat": seat_back.map(|d| d.as_millis() as u64),
            "composite": page_back.map(|d| d.as_millis() as u64),
        },
        "relay": {
            "up_forwarded": relay.up.forwarded.load(Relaxed),
            "up_lost": relay.up.lost.load(Relaxed),
            "down_forwarded": relay.down.forwarded.load(Relaxed),
            "down_lost": relay.down.lost.load(Relaxed),
            "down_queue_drops": relay.down.queue_drops.load(Relaxed),
        },
    });
    let repair_log: Vec<String> = std::fs::read_to_string(demo.server.log_path())
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("repair packets") || l.contains("rendition"))
        .map(str::to_owned)
        .collect();
    eprintln!(
        "the server's repair packets and rendition switches:\n{}",
        repair_log.join("\n")
    );
    eprintln!(
        "lossy link: {}",
        serde_json::to_string_pretty(&report).unwrap()
    );
    // The logs first, the verdicts last: CI keeps the tail of a long output, and a failed
    // run must say there which check failed and by how much.
    eprintln!(
        "server log:\n{}\nlossy chromium:\n{}",
        demo.server.log_tail(),
        lossy_browser.log_tail()
    );
    let mut failed: Vec<String> = Vec::new();
    let mut check = |ok: bool, what: String| {
        if !ok {
            failed.push(what);
        }
    };

    // The relay did lose packets, both ways.
    check(
        relay.up.lost.load(Relaxed) > 100 && relay.down.lost.load(Relaxed) > 100,
        format!(
            "the relay lost too little: up {}, down {}",
            relay.up.lost.load(Relaxed),
            relay.down.lost.load(Relaxed)
        ),
    );
    for s in [&clean, &slowed, &recovered, &five, &fifteen, &near, &after] {
        let (l, c) = (s.summary()["lossy"].clone(), s.summary()["clean"].clone());
        let name = s.name;
        // The clean party does not notice the other's link.
        check(
            num(&c, "composite_freeze_s") < 0.5 && num(&c, "seat_max_age_ms") < 500.0,
            format!(
                "{name}: the clean party was disturbed (frozen {} s, seat age {} ms)",
                num(&c, "composite_freeze_s"),
                num(&c, "seat_max_age_ms")
            ),
        );
        // It gets the pictures the server made. When two Chromiums and the server share two
        // cores, the node's frame pace may keep as few as 2 of every 5 ticks (10 fps) for
        // every hearing alike: that is the machine, not the other party's link.
        check(
            num(&c, "composite_frames") >= 0.85 * s.server_pictures
                && num(&c, "composite_frames") >= 0.9 * 10.0 * s.seconds,
            format!(
                "{name}: the clean party's composite slowed ({} frames in {:.1} s; the server \
                 made {}, its pace kept {} of 5 at least)",
                num(&c, "composite_frames"),
                s.seconds,
                s.server_pictures,
                s.pace_min_of_5
            ),
        );
        // The lossy party keeps receiving the composite, and its seat keeps moving.
        // (At 15 % loss a keyframe itself often loses a packet twice, and the seat waits for
        // the next; measured up to 3.7 s.)
        // After the blackout the seat is back within 1 s (asserted below), but the browser's
        // own sender is still climbing out of its bandwidth estimate: once it sent 12 fps
        // with one gap of 1.3 s.
        let (share, longest) = match s.name {
            n if n.starts_with("15") => (0.5, 5_000.0),
            // (Measured 3.3 s once, and 5.2 s once on 2026-12-05, the node shedding to 2 in 5
            // on two cores: the server asked the camera for 36 keyframes in the 20 s and the
            // browser resent 1,962 packets; the same commit passed at once on a rerun.)
            n if n.starts_with('5') => (0.7, 6_000.0),
            n if n.starts_with("after") => (0.7, 2_000.0),
            _ => (0.7, 1_000.0),
        };
        check(
            num(&l, "composite_frames") >= share * num(&c, "composite_frames"),
            format!(
                "{name}: the lossy party's composite stopped ({} frames, the clean party {})",
                num(&l, "composite_frames"),
                num(&c, "composite_frames")
            ),
        );
        check(
            num(&l, "seat_frames") >= 3.0 * s.seconds && num(&l, "seat_max_age_ms") < longest,
            format!(
                "{name}: the lossy party's seat froze ({} frames in {:.1} s, oldest {} ms)",
                num(&l, "seat_frames"),
                s.seconds,
                num(&l, "seat_max_age_ms")
            ),
        );
    }
    // On the probe's link the lossy party's picture hardly freezes: its losses are resent
    // in time.
    // A tenth of the time at most; three twentieths when the node's pace kept only some
    // pictures (at 10 fps each lost picture is a 100 ms gap or more, and Chromium counts a
    // freeze from 300 ms: measured 2.02 s of 20 once, the pace at 2 in 5 throughout).
    let l = near.summary()["lossy"].clone();
    let frozen_share = if near.pace_min_of_5 < 5.0 { 0.15 } else { 0.10 };
    check(
        num(&l, "composite_freeze_s") <= frozen_share * near.seconds,
        format!(
            "5 % loss with a short round trip: the composite froze for {} s of {:.0} \
             (the pace kept {} of 5 at least)",
            num(&l, "composite_freeze_s"),
            near.seconds,
            near.pace_min_of_5
        ),
    );
    // On the long round trip a resent packet comes 450 ms late, and each such wait was a
    // freeze (12.4-17.1 s of 30 without repair packets): FlexFEC rebuilds most losses with
    // the picture. Measured with them: 2.3-5.9 s (the node's pace varies on two cores). A
    // third of the time at most, and the browser must have received repair packets.
    let l = five.summary()["lossy"].clone();
    check(
        num(&l, "composite_fec_received") > 0.0
            && num(&l, "composite_freeze_s") <= five.seconds / 3.0,
        format!(
            "5 % loss with a 450 ms round trip: the composite froze for {} s of {:.0} \
             ({} repair packets received)",
            num(&l, "composite_freeze_s"),
            five.seconds,
            num(&l, "composite_fec_received")
        ),
    );
    for s in [&near, &five, &fifteen] {
        let l = s.summary()["lossy"].clone();
        let name = s.name;
        // NACKs both ways, answered: the server resends the composite from its history (on
        // its RTX stream), and asks for the camera's lost packets, which the browser resends.
        check(
            num(&l, "nacks_sent") > 0.0 && num(&l, "composite_retransmitted") > 0.0,
            format!(
                "{name}: the composite's losses were not resent ({} NACKs, {} resent)",
                num(&l, "nacks_sent"),
                num(&l, "composite_retransmitted")
            ),
        );
        check(
            num(&l, "camera_nacks_got") > 0.0 && num(&l, "camera_retransmitted") > 0.0,
            format!(
                "{name}: the server did not ask for the camera's losses ({} NACKs, {} resent)",
                num(&l, "camera_nacks_got"),
                num(&l, "camera_retransmitted")
            ),
        );
    }
    // The page says when it is sent the smaller picture, and when the full one is back.
    let said = |v: &Value| -> (String, String) {
        serde_json::from_str(v.as_str().unwrap_or("[]")).unwrap_or_default()
    };
    let (picture, text) = said(&said_slowed);
    check(
        picture == "reduced" && (text.contains("smaller picture") || text.contains("较小的画面")),
        format!("on the slow link the page said {picture:?}, {text:?}"),
    );
    let (picture, text) = said(&said_recovered);
    check(
        picture == "full" && !text.contains("smaller picture") && !text.contains("较小的画面"),
        format!("on the clean link again the page said {picture:?}, {text:?}"),
    );
    // A picture the server's decoder lost is asked for again (PLI), and the seat and the
    // composite move again within a second of the link's return.
    check(
        num(&after.lossy.1, "plis_got") > plis_before,
        format!(
            "no keyframe asked for after the blackout ({} PLIs before, {} after)",
            plis_before,
            num(&after.lossy.1, "plis_got")
        ),
    );
    // The packets lost in the blackout are asked for only while the server could still use
    // them, and a resent one is not asked for again (rtc::nack): before, the server asked for
    // them every 100 ms for 10 s, and the browser resent 612-1,123 packets in the 5 s after
    // the blackout, ahead of its new pictures (the seat showed 21-60 of them, once with a gap
    // of 4.1 s).
    let resent = num(&after.summary()["lossy"], "camera_retransmitted");
    check(
        resent < 300.0,
        format!("after the blackout the camera resent {resent} packets in 5 s"),
    );
    check(
        seat_back.is_some_and(|d| d < secs(1)),
        format!("the seat stayed frozen after the blackout ({seat_back:?})"),
    );
    check(
        page_back.is_some_and(|d| d < secs(1)),
        format!("the composite stayed frozen after the blackout ({page_back:?})"),
    );
    assert!(
        failed.is_empty(),
        "lossy link (the report is printed above): failed checks:\n- {}",
        failed.join("\n- ")
    );
}
