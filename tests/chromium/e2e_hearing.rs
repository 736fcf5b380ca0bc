//! End to end: `courtroom demo` + three headless Chromium participants with synthetic keyed
//! cameras. Checks that every browser decodes the composite, that SIGTERM finalises a recording
//! of the right length, and that each participant appears (keyed, in their colour) in their seat.

use crate::support::process::DemoProcess;
use crate::support::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct Party {
    role: &'static str,
    color: [u8; 3],
    freq_hz: f32,
}

const PARTIES: [Party; 3] = [
    Party {
        role: "presiding_judge",
        color: [210, 40, 40],
        freq_hz: 330.0,
    },
    Party {
        role: "plaintiff",
        color: [40, 70, 220],
        freq_hz: 440.0,
    },
    Party {
        role: "defendant",
        color: [200, 50, 200],
        freq_hz: 550.0,
    },
];

const MIN_SESSION: Duration = Duration::from_secs(12);

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

/// The monitor's entry for `role` that is connected and decoding video, if any.
fn ready_participant<'a>(monitor: &'a Value, role: &str) -> Option<&'a Value> {
    monitor["participants"].as_array()?.iter().find(|p| {
        p["role"] == role
            && p["connected"] == true
            && num(&p["stats"]["frames_decoded"]) > 0.0
            && num(&p["stats"]["frame_width"]) > 0.0
    })
}

/// `GET /api/hearing/monitor`: (raw text for messages, parsed JSON or `Null`).
fn get_monitor(addr: &str, token: &str) -> (String, Value) {
    match try_http_get(addr, "/api/hearing/monitor", Some(token)) {
        Ok((200, body)) => {
            let value = serde_json::from_str(&body).unwrap_or(Value::Null);
            (body, value)
        }
        Ok((status, body)) => (format!("HTTP {status}: {body}"), Value::Null),
        Err(e) => (format!("request failed: {e}"), Value::Null),
    }
}

/// Single `recordings/<hearing>/<recording>/` folder under `data`.
fn recording_dir(data: &Path) -> PathBuf {
    let subdirs = |p: &Path| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(p)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    let hearings = subdirs(data.join("recordings").as_path());
    let dirs: Vec<PathBuf> = hearings.iter().flat_map(|h| subdirs(h.as_path())).collect();
    assert_eq!(
        dirs.len(),
        1,
        "expected exactly one recordings/<hearing>/<recording>/ dir, found {dirs:?}"
    );
    dirs.into_iter().next().unwrap()
}

fn close(a: &[u8], b: [u8; 3]) -> bool {
    (0..3).all(|i| (a[i] as i32 - b[i] as i32).abs() <= 60)
}

fn pure_green(p: &[u8]) -> bool {
    let (r, g, b) = (p[0] as i32, p[1] as i32, p[2] as i32);
    g > 140 && r < 90 && b < 110 && g > r + 60 && g > b + 50
}

#[test]
fn three_chromium_participants_see_the_composite_and_are_recorded() {
    let mut tmp = tempfile::Builder::new()
        .prefix("courtroom-e2e-")
        .tempdir()
        .unwrap();
    tmp.disable_cleanup(true); // kept for debugging unless the test gets to the end
    let root = tmp.path().to_path_buf();
    eprintln!("e2e working dir (kept on failure): {}", root.display());
    let data = root.join("data");
    let fixtures = root.join("fixtures");
    std::fs::create_dir_all(&fixtures).unwrap();

    for p in &PARTIES {
        write_person_y4m(&fixtures.join(format!("{}.y4m", p.role)), p.color, 50);
        write_tone_wav(&fixtures.join(format!("{}.wav", p.role)), p.freq_hz, 10.0);
    }

    let _turn = one_at_a_time();
    let mut demo = DemoProcess::start(
        env!("CARGO_BIN_EXE_courtroom"),
        &data,
        &root.join("server.log"),
        &[],
    );
    let (addr, healthy_at) = (demo.addr.clone(), demo.healthy_at);
    let clerk_token = demo.token("clerk");

    let browsers: Vec<Chromium> = PARTIES
        .iter()
        .map(|p| {
            Chromium::launch(
                &demo.join_url(p.role),
                &fixtures.join(format!("{}.y4m", p.role)),
                &fixtures.join(format!("{}.wav", p.role)),
            )
        })
        .collect();

    let diagnostics = |server: &ServerProcess, browsers: &[Chromium], last: &str| -> String {
        let mut s = format!(
            "last monitor JSON:\n{last}\n\nserver log tail:\n{}\n",
            server.log_tail()
        );
        for (p, b) in PARTIES.iter().zip(browsers) {
            s += &format!(
                "\n--- chromium {} ({}):\n{}\n",
                p.role,
                b.log_path().display(),
                b.log_tail()
            );
        }
        s + &format!("\nworking dir: {}", root.display())
    };

    // Wait until every browser is connected and decoding the composite.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last_text: String;
    let mut monitor = Value::Null;
    loop {
        let (text, value) = get_monitor(&addr, &clerk_token);
        last_text = text;
        if !value.is_null() {
            monitor = value;
        }
        if PARTIES
            .iter()
            .all(|p| ready_participant(&monitor, p.role).is_some())
        {
            break;
        }
        assert!(
            demo.server.is_running(),
            "server exited early\n{}",
            diagnostics(&demo.server, &browsers, &last_text)
        );
        assert!(
            Instant::now() < deadline,
            "not all participants connected and decoding video within 60 s\n{}",
            diagnostics(&demo.server, &browsers, &last_text)
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    // Let the hearing run (and be recorded) for a while.
    if let Some(rest) = MIN_SESSION.checked_sub(healthy_at.elapsed()) {
        std::thread::sleep(rest);
    }
    let (text, value) = get_monitor(&addr, &clerk_token);
    if PARTIES
        .iter()
        .all(|p| ready_participant(&value, p.role).is_some())
    {
        (last_text, monitor) = (text, value);
    }
    let session_secs = healthy_at.elapsed().as_secs_f64();
    let diag = diagnostics(&demo.server, &browsers, &last_text);
    drop(browsers);
    let status = demo.server.terminate();
    assert!(
        status.success(),
        "server exited with {status} after SIGTERM\n{diag}\n{}",
        demo.server.log_tail()
    );

    // The recording: segments composite-00000.mp4, composite-00001.mp4, ... and a manifest.
    let rec = recording_dir(&data);
    let manifest = rec.join("manifest.json");
    assert!(manifest.is_file(), "missing {}", manifest.display());
    let manifest_text = std::fs::read_to_string(&manifest).unwrap();
    serde_json::from_str::<Value>(&manifest_text)
        .unwrap_or_else(|e| panic!("manifest.json is not JSON ({e}):\n{manifest_text}"));
    let segments = composite_segments(&rec);
    assert!(
        !segments.is_empty(),
        "no composite segments in {}",
        rec.display()
    );
    let durations: Vec<f64> = segments.iter().map(|s| ffprobe_duration(s)).collect();
    let duration: f64 = durations.iter().sum();
    assert!(
        duration >= 0.8 * session_secs,
        "the composite segments last {duration:.2} s in all ({durations:?}) but the session lasted {session_secs:.2} s"
    );

    // Each participant is visible, keyed, in their seat: 1 s before the end of the video of the
    // last segment that holds at least 3 s of it.
    let (mp4, seg_video) = segments
        .iter()
        .map(|s| (s, video_stream_duration(s)))
        .rev()
        .find(|(_, d)| *d >= 3.0)
        .expect("a segment with at least 3 s of video");
    let at = seg_video - 1.0;
    let (w, h, rgb) = ffmpeg_frame_rgb(mp4, at);
    let ppm = root.join("frame.ppm");
    write_ppm(&ppm, w, h, &rgb);
    let out_w = num(&monitor["output"]["width"]).max(1.0);
    let out_h = num(&monitor["output"]["height"]).max(1.0);
    let (sx, sy) = (w as f64 / out_w, h as f64 / out_h);
    for p in &PARTIES {
        let seat = ready_participant(&monitor, p.role)
            .and_then(|m| m["seat"].as_str())
            .or_else(|| demo.invitation(p.role)["seat"].as_str())
            .unwrap_or(p.role);
        let seat_box = monitor["seats"]
            .as_array()
            .and_then(|s| s.iter().find(|b| b["seat"] == seat))
            .unwrap_or_else(|| panic!("no seat box for {seat} in monitor JSON:\n{last_text}"));
        let x0 = (num(&seat_box["x"]) * sx).round().clamp(0.0, w as f64) as usize;
        let y0 = (num(&seat_box["y"]) * sy).round().clamp(0.0, h as f64) as usize;
        let x1 = ((num(&seat_box["x"]) + num(&seat_box["w"])) * sx)
            .round()
            .clamp(0.0, w as f64) as usize;
        let y_h = num(&seat_box["h"]) * 0.6;
        let y1 = ((num(&seat_box["y"]) + y_h) * sy)
            .round()
            .clamp(0.0, h as f64) as usize;
        let (mut total, mut hits) = (0usize, 0usize);
        for y in y0..y1 {
            for x in x0..x1 {
                let i = (y * w + x) * 3;
                total += 1;
                hits += close(&rgb[i..i + 3], p.color) as usize;
            }
        }
        let share = hits as f64 / total.max(1) as f64;
        assert!(
            total > 0 && share >= 0.03,
            "{} (seat {seat}, box {seat_box}) covers only {:.2} % of its seat's upper 60 % in the frame \
             at {at:.2} s (saved as {}); monitor:\n{last_text}",
            p.role,
            share * 100.0,
            ppm.display()
        );
    }
    let green = rgb.chunks_exact(3).filter(|p| pure_green(p)).count();
    let green_share = green as f64 / (w * h) as f64;
    assert!(
        green_share < 0.005,
        "{:.2} % of the frame at {at:.2} s is chroma green (keying failed?); saved as {}",
        green_share * 100.0,
        ppm.display()
    );

    // KEEP_E2E_DIR=1 keeps the folder (frame, recording, logs) to look at.
    tmp.disable_cleanup(std::env::var_os("KEEP_E2E_DIR").is_some());
}
