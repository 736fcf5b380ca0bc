//! The CPU's part of uploading a camera frame: packing each 4:2:0 chroma site as (block-mean
//! luma, Cb, Cr, 255) for the seat shader (`keying::planes::pack_sites`), at 640×480 and
//! 1280×720, against the site-by-site loop it replaced, in the same run. Every seat's frame goes
//! through it once per camera frame on the tick's thread.

use courtroom::keying::picture::synthetic_person;
use courtroom::keying::planes::pack_sites;
use courtroom::media::frame::VideoFrame;
use criterion::{criterion_group, criterion_main, Criterion};

/// The loop before: one site at a time, clamped indices, four bytes appended per site.
fn site_by_site(frame: &VideoFrame, out: &mut Vec<u8>) {
    let (w, h) = (frame.width as usize, frame.height as usize);
    let (cw, ch) = frame.chroma_size();
    let (cw, ch) = (cw as usize, ch as usize);
    out.clear();
    out.reserve(cw * ch * 4);
    for j in 0..ch {
        let (y0, y1) = (2 * j, (2 * j + 1).min(h - 1));
        let (r0, r1) = (&frame.y[y0 * w..y0 * w + w], &frame.y[y1 * w..y1 * w + w]);
        for i in 0..cw {
            let (x0, x1) = (2 * i, (2 * i + 1).min(w - 1));
            let sum = r0[x0] as u32 + r0[x1] as u32 + r1[x0] as u32 + r1[x1] as u32;
            let c = j * cw + i;
            out.extend_from_slice(&[((sum + 2) / 4) as u8, frame.u[c], frame.v[c], 255]);
        }
    }
}

fn packing(c: &mut Criterion) {
    for (w, h) in [(640, 480), (1280, 720)] {
        let frame = synthetic_person(w, h, [200, 150, 120], 0);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        pack_sites(&frame, &mut a);
        site_by_site(&frame, &mut b);
        assert!(a == b, "the two agree at {w}x{h}");
        let mut group = c.benchmark_group(format!("pack_sites {w}x{h}"));
        group.bench_function("lock step (now)", |bench| {
            bench.iter(|| pack_sites(std::hint::black_box(&frame), &mut a))
        });
        group.bench_function("site by site (before)", |bench| {
            bench.iter(|| site_by_site(std::hint::black_box(&frame), &mut b))
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = packing
}
criterion_main!(benches);
