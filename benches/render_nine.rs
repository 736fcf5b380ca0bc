//! A full compositor tick with 9 participants (every seat of the courtroom layout), 640×480
//! camera frames in, I420 out, at 1280×720 and 1920×1080, on whatever adapter is present
//! (lavapipe on CI). Every iteration uploads fresh frames, as a live hearing does. Each size's
//! baselines, measured in the same run, are the same people drawn as whole billboards
//! (`Compositor::draw_whole_frames`) and the empty room. Targets on lavapipe, 2 cores:
//! 720p ≤ 12 ms, 1080p ≤ 25 ms.

use std::sync::Arc;

use courtroom::keying::picture::synthetic_person;
use courtroom::render::{AdapterChoice, Compositor, Gpu, KeyParams, Layout, SeatView};
use criterion::{criterion_group, criterion_main, Criterion};

fn nine(c: &mut Criterion) {
    let gpu = Gpu::open(AdapterChoice::Auto).expect("an adapter");
    eprintln!("adapter: {}", gpu.adapter_name);
    // This bench's own tree's assets (the target dir may be shared with other checkouts).
    let assets = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
    .join("assets");
    let layout = Layout::load(&assets, "courtroom").unwrap();
    assert_eq!(layout.seats.len(), 9, "the courtroom layout seats nine");
    // Two frames per seat, alternated so every tick uploads new pixels.
    let frames: Vec<[Arc<_>; 2]> = (0..9u8)
        .map(|i| {
            let c = [40 + i * 20, 200 - i * 15, 60 + i * 10];
            [
                Arc::new(synthetic_person(640, 480, c, 0)),
                Arc::new(synthetic_person(640, 480, c, 6)),
            ]
        })
        .collect();
    for (w, h) in [(1280, 720), (1920, 1080)] {
        let mut compositor = Compositor::new(gpu.clone(), layout.clone(), w, h).unwrap();
        let mut group = c.benchmark_group(format!("tick {w}x{h} on {}", compositor.adapter_name()));
        group.sample_size(30);
        let mut seq = 0u64;
        // Each person's rows (the compositor's way), then whole billboards (the same picture;
        // the rows' baseline in the same run).
        for (name, whole) in [
            ("9 participants 640x480 -> I420", false),
            ("9 participants, whole billboards", true),
        ] {
            compositor.draw_whole_frames(whole);
            group.bench_function(name, |b| {
                b.iter(|| {
                    seq += 1;
                    let views: Vec<SeatView> = frames
                        .iter()
                        .map(|f| SeatView {
                            frame: Some((seq, f[(seq % 2) as usize].clone())),
                            away: false,
                            key: KeyParams::default(),
                            nameplate: None,
                            crop: None,
                            gain: None,
                        })
                        .collect();
                    compositor.render_i420(&views).unwrap()
                })
            });
        }
        compositor.draw_whole_frames(false);
        group.bench_function("baseline: empty room", |b| {
            let views = vec![SeatView::default(); 9];
            b.iter(|| compositor.render_i420(&views).unwrap())
        });
        group.finish();
    }
}

criterion_group!(benches, nine);
criterion_main!(benches);
