//! Audio/video sync of the recording, measured with real browsers (ITU-R BT.1359: audio at most
//! 45 ms early and at most 125 ms late).
//!
//! Two Chromium participants whose fake camera flashes white and whose fake microphone beeps at
//! the same instants, every two seconds; the second joins five seconds after the first (the
//! late join). From the recorded MP4, each flash is found in that participant's seat region and
//! each beep by its own frequency in the mixed audio. Every pair must lie in the window, the
//! first ones after each join included: on a quiet machine, and with a CPU hog on every core
//! for the whole test. With the hog, the node sheds ticks and the variable-rate recording's
//! pictures come up to 200 ms apart: a flash shows at the first picture after it, so each pair
//! is held to the window on that frame grid (the audio may lead the picture by 45 ms plus the
//! gap before it), and the median pair to the window itself. The fixtures are longer than the test, because Chromium's fake camera
//! drifts by one frame per loop (../shared/notes/media-stack-facts.md).

use crate::support::process::DemoProcess;
use crate::support::*;
use serde_json::Value;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

const W: usize = 320;
const H: usize = 240;
const FPS: usize = 25;
/// A flash and a beep every this many frames (2 s), lasting FLASH_FRAMES frames.
const PERIOD_FRAMES: usize = 50;
const FLASH_FRAMES: usize = 3;
const FIRST_FLASH_FRAME: usize = 25;
/// With every core busy, the most of the gap before a flash's picture that counts as the
/// recording's frame grid: two pictures at the node pace's floor (10 fps).
const MAX_FRAME_GAP_MS: f64 = 200.0;

struct Sender {
    role: &'static str,
    color: [u8; 3],
    beep_hz: f32,
    join_after: Duration,
}

const SENDERS: [Sender; 2] = [
    Sender {
        role: "presiding_judge",
        color: [210, 40, 40],
        beep_hz: 1300.0,
        join_after: Duration::ZERO,
    },
    Sender {
        role: "plaintiff",
        color: [40, 70, 220],
        beep_hz: 2900.0,
        join_after: Duration::from_secs(5),
    },
];

/// A person on green that turns into a white frame for FLASH_FRAMES frames every 2 s.
fn write_flash_y4m(path: &Path, color: [u8; 3], seconds: usize) {
    let mut out = BufWriter::new(std::fs::File::create(path).unwrap());
    write!(out, "YUV4MPEG2 W{W} H{H} F{FPS}:1 Ip A1:1 C420jpeg\n").unwrap();
    let plane = |rgb: [u8; 3]| rgb_to_yuv(rgb);
    let (bg, fg, white) = (plane(KEY_GREEN), plane(color), plane([255, 255, 255]));
    for f in 0..seconds * FPS {
        let flash =
            f >= FIRST_FLASH_FRAME && (f - FIRST_FLASH_FRAME) % PERIOD_FRAMES < FLASH_FRAMES;
        let pix = |x: usize, y: usize| -> [u8; 3] {
            if flash {
                return white;
            }
            let (dx, dy) = (x as f32 - W as f32 / 2.0, y as f32 - H as f32 * 0.45);
            if dx.abs() < W as f32 * 0.22 && dy > -(H as f32) * 0.3 {
                fg
            } else {
                bg
            }
        };
        out.write_all(b"FRAME\n").unwrap();
        let mut y_plane = Vec::with_capacity(W * H);
        for y in 0..H {
            for x in 0..W {
                y_plane.push(pix(x, y)[0]);
            }
        }
        out.write_all(&y_plane).unwrap();
        for c in [1, 2] {
            let mut p = Vec::with_capacity(W * H / 4);
            for y in 0..H / 2 {
                for x in 0..W / 2 {
                    p.push(pix(x * 2, y * 2)[c]);
                }
            }
            out.write_all(&p).unwrap();
        }
    }
    out.flush().unwrap();
}

/// Silence with a beep of `hz` at each flash instant, as long as the flash.
fn write_beep_wav(path: &Path, hz: f32, seconds: usize) {
    const RATE: usize = 48_000;
    let n = seconds * RATE;
    let mut samples = vec![0i16; n];
    let first = FIRST_FLASH_FRAME * RATE / FPS;
    let period = PERIOD_FRAMES * RATE / FPS;
    let len = FLASH_FRAMES * RATE / FPS;
    let mut start = first;
    while start + len < n {
        for i in 0..len {
            let t = i as f32 / RATE as f32;
            samples[start + i] =
                (0.5 * i16::MAX as f32 * (std::f32::consts::TAU * hz * t).sin()) as i16;
        }
        start += period;
    }
    let mut out = BufWriter::new(std::fs::File::create(path).unwrap());
    let data_len = (n * 2) as u32;
    out.write_all(b"RIFF").unwrap();
    out.write_all(&(36 + data_len).to_le_bytes()).unwrap();
    out.write_all(b"WAVEfmt ").unwrap();
    for v in [
        16u32,
        1 | (1 << 16),
        RATE as u32,
        RATE as u32 * 2,
        2 | (16 << 16),
    ] {
        out.write_all(&v.to_le_bytes()).unwrap();
    }
    out.write_all(b"data").unwrap();
    out.write_all(&data_len.to_le_bytes()).unwrap();
    for s in samples {
        out.write_all(&s.to_le_bytes()).unwrap();
    }
    out.flush().unwrap();
}

/// A quiet machine; the plaintiff joins 5 s after the judge.
#[test]
fn recording_keeps_each_participants_audio_in_sync_with_their_video() {
    record_and_check_sync(false);
}

/// The same with every core busy for the whole test: the compositor misses ticks, and the
/// recording repeats or drops frames to stay in step with the sound.
#[test]
fn recording_stays_in_sync_with_every_core_busy() {
    record_and_check_sync(true);
}

fn record_and_check_sync(hog: bool) {
    let root = tempfile::Builder::new()
        .prefix("courtroom-sync-")
        .tempdir()
        .unwrap();
    let root = root.path();
    let data = root.join("data");
    for s in &SENDERS {
        write_flash_y4m(&root.join(format!("{}.y4m", s.role)), s.color, 40);
        write_beep_wav(&root.join(format!("{}.wav", s.role)), s.beep_hz, 40);
    }
    let _turn = one_at_a_time();
    let mut demo = DemoProcess::start(
        env!("CARGO_BIN_EXE_courtroom"),
        &data,
        &root.join("server.log"),
        &[],
    );
    let clerk_token = demo.token("clerk");

    let load = hog.then(load::CpuHog::every_core);
    let t0 = Instant::now();
    let mut browsers = Vec::new();
    for s in &SENDERS {
        while t0.elapsed() < s.join_after {
            std::thread::sleep(Duration::from_millis(50));
        }
        browsers.push(Chromium::launch(
            &demo.join_url(s.role),
            &root.join(format!("{}.y4m", s.role)),
            &root.join(format!("{}.wav", s.role)),
        ));
    }
    while t0.elapsed() < Duration::from_secs(22) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let (status, monitor) = http_get(&demo.addr, "/api/hearing/monitor", Some(&clerk_token));
    assert_eq!(status, 200, "{monitor}");
    let monitor: Value = serde_json::from_str(&monitor).unwrap();
    drop(browsers);
    drop(load);
    assert!(
        demo.server.terminate().success(),
        "server log:\n{}",
        demo.server.log_tail()
    );

    // Each segment restarts its timestamps at zero, so flashes and beeps are paired within a
    // segment.
    let segments = composite_segments(&data.join("recordings"));
    assert!(!segments.is_empty(), "no composite segments recorded");
    let mut report = String::new();
    for s in &SENDERS {
        let seat = monitor["seats"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["seat"] == s.role)
            .unwrap();
        let (x, y, w, h) = (
            seat["x"].as_u64().unwrap(),
            seat["y"].as_u64().unwrap(),
            seat["w"].as_u64().unwrap(),
            seat["h"].as_u64().unwrap(),
        );
        let region = avsync::flash_region(x, y, w, h);
        let (mut n_flashes, mut n_beeps, mut pairs) = (0, 0, Vec::new());
        for mp4 in &segments {
            let (found, flashes, beeps) = avsync::sync_pairs(mp4, region, s.beep_hz);
            n_flashes += flashes;
            n_beeps += beeps;
            pairs.extend(found);
        }
        let offsets: Vec<f64> = pairs.iter().map(|p| p.offset_ms).collect();
        report += &format!(
            "{}: {n_flashes} flashes, {n_beeps} beeps, offsets ms (audio late > 0): {:?}, \
             gap before each flash's picture ms: {:?}\n",
            s.role,
            offsets.iter().map(|o| o.round() as i64).collect::<Vec<_>>(),
            pairs
                .iter()
                .map(|p| p.frame_gap_ms.round() as i64)
                .collect::<Vec<_>>()
        );
        assert!(
            pairs.len() >= 3,
            "too few flash/beep pairs for {}:\n{report}",
            s.role
        );
        // Every pair, from the first after the join on.
        let outside = if hog {
            // The node sheds ticks, so the recording's pictures come 80-200 ms apart and a
            // flash shows at the first picture after it arrived: each pair is held to the
            // window on that frame grid, and the median to the window itself.
            assert!(
                avsync::in_bt1359(avsync::median(&offsets)),
                "median offset outside BT.1359 for {}:\n{report}",
                s.role
            );
            pairs
                .iter()
                .filter(|p| !p.in_bt1359_on_frame_grid(MAX_FRAME_GAP_MS))
                .count()
        } else {
            offsets.iter().filter(|o| !avsync::in_bt1359(**o)).count()
        };
        assert!(
            outside == 0,
            "{outside} of {} offsets outside BT.1359 for {}:\n{report}",
            offsets.len(),
            s.role
        );
    }
    eprintln!("{report}");
}
