//! Face detection cost: one 640×480 camera frame (green screen with a real face, off-centre)
//! through [`FaceFinder::find`] (shrink to 320 wide, equalise, cascade), and one
//! [`Framer`] update and read, for comparison.
//!
//! `cargo bench --bench framing`. Framing runs this at 2 Hz per seat off the tick, so 9 seats
//! cost 18 detections a second.

use std::time::{Duration, Instant};

use courtroom::framing::{FaceFinder, Framer, NormRect, SeatTarget};
use courtroom::media::frame::VideoFrame;
use criterion::{criterion_group, criterion_main, Criterion};

/// A 640×480 green frame with the fixture face pasted at (400, 120).
fn frame_with_face() -> VideoFrame {
    let path = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
    .join("tests/data/faces/astronaut_head.png");
    let decoder = png::Decoder::new(std::fs::File::open(path).expect("face fixture"));
    let mut reader = decoder.read_info().expect("png header");
    let mut gray = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut gray).expect("png data");
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    let mut frame = VideoFrame::solid(640, 480, [0, 200, 0]);
    for y in 0..info.height as usize {
        for x in 0..info.width as usize {
            let g = gray[y * info.line_size + x] as f32;
            frame.y[(120 + y) * 640 + 400 + x] = (16.0 + 219.0 * g / 255.0).round() as u8;
        }
    }
    frame
}

fn bench(c: &mut Criterion) {
    let frame = frame_with_face();
    let mut finder = FaceFinder::new().expect("a face cascade (opencv-data)");
    eprintln!("cascade: {}", finder.cascade_path().display());
    assert!(
        finder.find(&frame.y, 640, 480).unwrap().is_some(),
        "the bench frame must hold a detectable face"
    );
    c.bench_function("detect_face_640x480", |b| {
        b.iter(|| finder.find(&frame.y, 640, 480).unwrap())
    });
    let blank = VideoFrame::solid(640, 480, [0, 200, 0]);
    c.bench_function("detect_no_face_640x480", |b| {
        b.iter(|| finder.find(&blank.y, 640, 480).unwrap())
    });
    let mut framer = Framer::new(SeatTarget::from_head_region(0.75));
    let face = NormRect {
        x: 0.6,
        y: 0.3,
        w: 0.15,
        h: 0.2,
    };
    let mut t = Instant::now();
    c.bench_function("framer_observe_and_crop", |b| {
        b.iter(|| {
            t += Duration::from_millis(33);
            framer.observe(Some(face), 4.0 / 3.0, t);
            framer.crop(t)
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
