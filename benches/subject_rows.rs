//! The rows' own cost (`keying::coverage::subject_rows`, issue 18): once per new camera frame,
//! on the tick's thread, the rows of tiles a seat draws. A synthetic person before a green
//! screen at 640×480 and 1280×720, clean and with ±1 and ±3 levels of sensor noise on every
//! plane (the same sequence as the rows' unit test adds), and, as a live seat's planes are,
//! after ten noisy frames of smoothing over time (coverage printed, not timed). The screen
//! model is the auto key's estimate of each frame, as a seat's would be. Each case also
//! prints how much of the frame the rows cover, and in how many 16-pixel tiles the key pass
//! itself (on whatever adapter is present) keeps a pixel the seat shader draws: the rows can
//! be no smaller than those.

use courtroom::gpu::{AdapterChoice, Gpu};
use courtroom::keying::coverage::{subject_rows, TILE};
use courtroom::keying::picture::{synthetic_person, with_sensor_noise};
use courtroom::keying::planes::pack_sites;
use courtroom::keying::temporal::PlaneHistory;
use courtroom::keying::{estimate, KeyParams, KeyPass};
use criterion::{criterion_group, criterion_main, Criterion};

/// The share of `TILE`-pixel tiles in which the keyed RGBA frame has a pixel the seat shader
/// draws (alpha of at least 0.02).
fn keyed_tiles(rgba: &[u8], w: u32, h: u32) -> f32 {
    let (cols, rows) = (w.div_ceil(TILE), h.div_ceil(TILE));
    let mut kept = vec![false; (cols * rows) as usize];
    for y in 0..h {
        for x in 0..w {
            if rgba[((y * w + x) * 4 + 3) as usize] >= 5 {
                kept[((y / TILE) * cols + x / TILE) as usize] = true;
            }
        }
    }
    kept.iter().filter(|k| **k).count() as f32 / kept.len() as f32
}

fn rows(c: &mut Criterion) {
    let gpu = Gpu::open(AdapterChoice::Auto).expect("an adapter");
    eprintln!("adapter: {}", gpu.adapter_name);
    let mut pass = KeyPass::new(gpu);
    for (w, h) in [(640, 480), (1280, 720)] {
        let clean = synthetic_person(w, h, [200, 150, 120], 0);
        let cases = [
            ("clean", clean.clone()),
            ("noise1", with_sensor_noise(clean.clone(), 1, 7)),
            ("noise3", with_sensor_noise(clean, 3, 7)),
        ];
        for (name, frame) in cases {
            // The auto key's estimate of this frame, as a seat's would be.
            let key = KeyParams {
                screen: Some(estimate(&frame).expect("a screen").model),
                ..Default::default()
            };
            let mut sites = Vec::new();
            pack_sites(&frame, &mut sites);
            let found = subject_rows(&frame.y, &sites, (w, h), &key);
            let covered: f32 = found.iter().map(|r| (r[2] - r[0]) * (r[3] - r[1])).sum();
            let keyed = keyed_tiles(&pass.key(&frame, &key).expect("key pass"), w, h);
            eprintln!(
                "{w}x{h} {name}: rows cover {:.0} % of the frame ({} rects); the key pass keeps \
                 pixels in {:.0} % of its tiles",
                covered * 100.0,
                found.len(),
                keyed * 100.0
            );
            c.bench_function(&format!("subject_rows_{w}x{h}_{name}"), |b| {
                b.iter(|| subject_rows(&frame.y, &sites, (w, h), &key))
            });
        }
        // A live seat's planes are smoothed over time before the rows are found: the same
        // still person, each frame with its own noise, after ten frames of smoothing.
        let clean = synthetic_person(w, h, [200, 150, 120], 0);
        for amount in [1, 3] {
            let (mut luma_history, mut sites_history) =
                (PlaneHistory::default(), PlaneHistory::default());
            let (mut luma, mut sites) = (Vec::new(), Vec::new());
            let mut key = KeyParams::default();
            for seed in 0..10u32 {
                let frame = with_sensor_noise(clean.clone(), amount, 1 + seed * 7919);
                key.screen = Some(estimate(&frame).expect("a screen").model);
                pack_sites(&frame, &mut sites);
                luma.clear();
                luma.extend_from_slice(&frame.y);
                luma_history.smooth(&mut luma);
                sites_history.smooth(&mut sites);
            }
            let found = subject_rows(&luma, &sites, (w, h), &key);
            let covered: f32 = found.iter().map(|r| (r[2] - r[0]) * (r[3] - r[1])).sum();
            eprintln!(
                "{w}x{h} noise{amount}, smoothed over ten frames: rows cover {:.0} % of the frame \
                 ({} rects)",
                covered * 100.0,
                found.len()
            );
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = rows
}
criterion_main!(benches);
