//! CPU cost of a compositor tick, as JSON: process CPU milliseconds (user + system, from
//! /proc/self/stat) per tick, for five 640×480 people into 1280×720 I420 (drawn as the rows of
//! their frames they are in, and as whole billboards, the same picture: the baseline) and for
//! the empty room, measured in interleaved rounds in the same run. CPU time, not wall time, because lavapipe
//! renders on every core and the machine is shared: a busy neighbour stretches wall time but
//! barely changes the CPU a tick costs, and CPU per hearing is what issue 8 is about.
//!
//! With `NOISE=n`, every camera frame carries up to ±n levels of sensor noise on every plane
//! (eight frames per seat in turn, each with its own), as a live webcam's does, and the rows
//! are found after the seat's smoothing over time, as in a hearing.
//!
//! `cargo bench --bench compositor_cpu` (`ROUNDS`, `TICKS`, `NOISE` override the defaults).

use std::sync::Arc;
use std::time::Instant;

use courtroom::keying::picture::{synthetic_person, with_sensor_noise};
use courtroom::render::{
    AdapterChoice, Compositor, Gpu, KeyParams, Lang, Layout, NameplateText, SeatView,
};

fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<f64> = rest
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    // utime and stime, in clock ticks (100 Hz on Linux).
    (fields[11] + fields[12]) * 10.0
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run briefly.
    let quick = !std::env::args().any(|a| a == "--bench");
    let rounds = env_or("ROUNDS", if quick { 1 } else { 4 });
    let ticks = env_or("TICKS", if quick { 3 } else { 50 });
    let noise = env_or("NOISE", 0) as i32;
    let camera = |c, sway, seed| match noise {
        0 => synthetic_person(640, 480, c, sway),
        n => with_sensor_noise(synthetic_person(640, 480, c, sway), n, seed),
    };
    let gpu = Gpu::open(AdapterChoice::Auto).expect("an adapter");
    let layout = Layout::load(&courtroom::config::default_assets_dir(), "courtroom").unwrap();
    let mut compositor = Compositor::new(gpu, layout, 1280, 720).unwrap();
    let people = [
        ("presiding_judge", [210, 40, 40]),
        ("assessor_left", [40, 70, 220]),
        ("assessor_right", [200, 50, 200]),
        ("plaintiff", [220, 160, 40]),
        ("defendant", [120, 120, 120]),
    ];
    let n_seats = compositor.layout().seats.len();
    let roles: Vec<String> = compositor
        .layout()
        .seats
        .iter()
        .map(|s| s.role.clone())
        .collect();
    // Frames per seat, taken in turn so every tick uploads and keys new pixels: two (the
    // person swayed, alternately), or with noise eight, each with noise of its own (a live
    // camera's noise changes every frame, and the seat smooths it over time).
    let frames_per_seat = if noise > 0 { 8 } else { 2 };
    let seated: Vec<(usize, Vec<Arc<_>>)> = people
        .iter()
        .enumerate()
        .map(|(k, &(seat, c))| {
            let frames = (0..frames_per_seat)
                .map(|f| {
                    let seed = 1 + (k * frames_per_seat + f) as u32;
                    Arc::new(camera(c, 6 * (f % 2) as i32, seed))
                })
                .collect();
            (compositor.layout().seat_index(seat).unwrap(), frames)
        })
        .collect();
    let mut seq = 0u64;
    let mut people_views = move || {
        seq += 1;
        let mut views = vec![SeatView::default(); n_seats];
        for (i, frames) in &seated {
            views[*i] = SeatView {
                frame: Some((seq, frames[seq as usize % frames.len()].clone())),
                away: false,
                key: KeyParams::default(),
                // Unchanged from tick to tick, as in a hearing: drawn into the cached room once.
                nameplate: Some(NameplateText::for_role(&roles[*i], "Zhang Wei", Lang::Zh)),
                crop: None,
                gain: None,
            };
        }
        views
    };
    let empty = vec![SeatView::default(); n_seats];
    // Warm-up: pipelines, textures, lavapipe's shader JIT.
    for _ in 0..3 {
        compositor.render_i420(&people_views()).unwrap();
        compositor.render_i420(&empty).unwrap();
    }
    // Each round measures the five people drawn as the rows they are in (the compositor's
    // way), then as whole billboards (the baseline, the same picture), then the empty room.
    let mut cpu = [0.0f64; 3];
    let mut wall = [0.0f64; 3];
    for _ in 0..rounds {
        for (k, whole) in [(0, false), (1, true)] {
            compositor.draw_whole_frames(whole);
            let (c0, w0) = (cpu_ms(), Instant::now());
            for _ in 0..ticks {
                compositor.render_i420(&people_views()).unwrap();
            }
            cpu[k] += cpu_ms() - c0;
            wall[k] += w0.elapsed().as_secs_f64() * 1e3;
        }
        compositor.draw_whole_frames(false);
        let (c0, w0) = (cpu_ms(), Instant::now());
        for _ in 0..ticks {
            compositor.render_i420(&empty).unwrap();
        }
        cpu[2] += cpu_ms() - c0;
        wall[2] += w0.elapsed().as_secs_f64() * 1e3;
    }
    let n = (rounds * ticks) as f64;
    let report = serde_json::json!({
        "bench": "compositor_cpu",
        "adapter": compositor.adapter_name(),
        "output": "1280x720 I420",
        "ticks": rounds * ticks,
        "noise": noise,
        "five_people": { "cpu_ms_per_tick": cpu[0] / n, "wall_ms_per_tick": wall[0] / n },
        "five_people_whole_frames": { "cpu_ms_per_tick": cpu[1] / n, "wall_ms_per_tick": wall[1] / n },
        "empty_room": { "cpu_ms_per_tick": cpu[2] / n, "wall_ms_per_tick": wall[2] / n },
        "cpu_ratio_rows_to_whole_frames": cpu[0] / cpu[1].max(1e-9),
        "cpu_ratio_people_to_empty": cpu[0] / cpu[2].max(1e-9),
    });
    println!("{report}");
}
