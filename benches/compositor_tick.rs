//! One compositor tick: 5 participants at 640×480 in, 1280×720 I420 out, on whatever adapter is
//! present (lavapipe on CI). Each iteration uploads fresh frames, as a live hearing does.
//! The baseline, measured in the same run, is the same tick with empty seats: room, I420
//! conversion and readback only. Target on lavapipe, 2 cores: ≤ 10 ms per tick.

use std::sync::Arc;

use courtroom::keying::picture::synthetic_person;
use courtroom::render::{AdapterChoice, Compositor, Gpu, KeyParams, Layout, SeatView};
use criterion::{criterion_group, criterion_main, Criterion};

fn ticks(c: &mut Criterion) {
    let gpu = Gpu::open(AdapterChoice::Auto).expect("an adapter");
    eprintln!("adapter: {}", gpu.adapter_name);
    let layout = Layout::load(&courtroom::config::default_assets_dir(), "courtroom").unwrap();
    let mut compositor = Compositor::new(gpu, layout, 1280, 720).unwrap();
    let colours = [
        [210, 40, 40],
        [40, 70, 220],
        [200, 50, 200],
        [220, 160, 40],
        [120, 120, 120],
    ];
    let seats = [
        "presiding_judge",
        "assessor_left",
        "assessor_right",
        "plaintiff",
        "defendant",
    ];
    // Two frames per seat, alternated so every tick uploads new pixels.
    let frames: Vec<[Arc<_>; 2]> = colours
        .iter()
        .map(|&c| {
            [
                Arc::new(synthetic_person(640, 480, c, 0)),
                Arc::new(synthetic_person(640, 480, c, 6)),
            ]
        })
        .collect();
    let indices: Vec<usize> = seats
        .iter()
        .map(|s| compositor.layout().seat_index(s).unwrap())
        .collect();
    let n_seats = compositor.layout().seats.len();
    let mut seq = 0u64;
    let mut group = c.benchmark_group(format!("compositor tick on {}", compositor.adapter_name()));
    group.sample_size(40);
    group.bench_function("5 participants 640x480 -> 1280x720 I420", |b| {
        b.iter(|| {
            seq += 1;
            let mut views = vec![SeatView::default(); n_seats];
            for (k, &i) in indices.iter().enumerate() {
                views[i] = SeatView {
                    frame: Some((seq, frames[k][(seq % 2) as usize].clone())),
                    away: false,
                    key: KeyParams::default(),
                    nameplate: None,
                    crop: None,
                    gain: None,
                };
            }
            compositor.render_i420(&views).unwrap()
        })
    });
    group.bench_function("baseline: empty room, convert and read back", |b| {
        let views = vec![SeatView::default(); n_seats];
        b.iter(|| compositor.render_i420(&views).unwrap())
    });
    group.bench_function("empty room, RGBA read back (no I420 pass)", |b| {
        let views = vec![SeatView::default(); n_seats];
        b.iter(|| compositor.render_rgba(&views).unwrap())
    });
    group.finish();
}

criterion_group!(benches, ticks);
criterion_main!(benches);
