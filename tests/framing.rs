//! Face framing on a real face: the public-domain astronaut photo in `tests/data/faces/` is
//! pasted, small and off-centre, into a 640×480 green camera frame. The OpenCV cascade from
//! Debian's `opencv-data` must find it where it was put, and the crop must put it on the
//! seat's head box, both directly and through [`FramingService`] reading a frame slot.

use std::sync::Arc;
use std::time::{Duration, Instant};

use courtroom::framing::crop::{HEAD_PER_FACE, HEAD_RISE};
use courtroom::framing::{
    crop_for_face, FaceFinder, FramingError, FramingService, NormRect, SeatTarget,
};
use courtroom::media::frame::{FrameSlot, VideoFrame};
use courtroom::render::layout::fit_crop;
use courtroom::render::Layout;

/// The fixture: a 170×220 grayscale head-and-shoulders crop.
struct Gray {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

/// Where the face (brows to chin, cheek to cheek) sits in the fixture, pixels: measured by eye
/// on the picture, so the checks below allow a generous tolerance.
const FACE_CENTRE_IN_FIXTURE: (f32, f32) = (85.0, 125.0);

fn fixture() -> Gray {
    let path = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
    .join("tests/data/faces/astronaut_head.png");
    let decoder = png::Decoder::new(std::fs::File::open(path).expect("face fixture"));
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("png data");
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let (width, height) = (info.width as usize, info.height as usize);
    let pixels = (0..height)
        .flat_map(|y| buf[y * info.line_size..][..width].to_vec())
        .collect();
    Gray {
        width,
        height,
        pixels,
    }
}

/// A 640×480 green frame with the fixture scaled by `scale` (bilinear) and pasted with its
/// top-left corner at `at`; returns the frame and the pasted face's centre in pixels.
fn frame_with_face(face: &Gray, scale: f32, at: (usize, usize)) -> (VideoFrame, (f32, f32)) {
    let mut frame = VideoFrame::solid(640, 480, [0, 200, 0]);
    let (w, h) = (
        (face.width as f32 * scale) as usize,
        (face.height as f32 * scale) as usize,
    );
    assert!(at.0 + w <= 640 && at.1 + h <= 480, "paste inside the frame");
    let px = |x: usize, y: usize| {
        face.pixels[y.min(face.height - 1) * face.width + x.min(face.width - 1)] as f32
    };
    for y in 0..h {
        for x in 0..w {
            let (sx, sy) = (
                (x as f32 + 0.5) / scale - 0.5,
                (y as f32 + 0.5) / scale - 0.5,
            );
            let (x0, y0) = (sx.max(0.0) as usize, sy.max(0.0) as usize);
            let (fx, fy) = (sx.max(0.0).fract(), sy.max(0.0).fract());
            let g = px(x0, y0) * (1.0 - fx) * (1.0 - fy)
                + px(x0 + 1, y0) * fx * (1.0 - fy)
                + px(x0, y0 + 1) * (1.0 - fx) * fy
                + px(x0 + 1, y0 + 1) * fx * fy;
            // Full-range gray → the limited-range luma a camera decoder gives.
            frame.y[(at.1 + y) * 640 + at.0 + x] = (16.0 + 219.0 * g / 255.0).round() as u8;
        }
    }
    let centre = (
        at.0 as f32 + FACE_CENTRE_IN_FIXTURE.0 * scale,
        at.1 as f32 + FACE_CENTRE_IN_FIXTURE.1 * scale,
    );
    (frame, centre)
}

fn seat_target() -> SeatTarget {
    let layout = Layout::load(&courtroom::config::default_assets_dir(), "courtroom")
        .expect("shipped courtroom layout");
    SeatTarget::for_seat(&layout.seats[0])
}

fn px_centre(face: NormRect) -> (f32, f32) {
    let [x, y] = face.centre();
    (x * 640.0, y * 480.0)
}

#[test]
fn the_face_is_found_where_it_was_put() {
    let face = fixture();
    let mut finder = FaceFinder::new().expect("a face cascade (opencv-data)");
    for (scale, at) in [
        (1.0, (420, 150)),
        (1.0, (60, 40)),
        (0.7, (480, 250)),
        (0.7, (30, 300)),
    ] {
        let (frame, want) = frame_with_face(&face, scale, at);
        let found = finder
            .find(&frame.y, 640, 480)
            .unwrap()
            .unwrap_or_else(|| panic!("no face at scale {scale} at {at:?}"));
        let got = px_centre(found);
        let tolerance = 20.0 * scale;
        assert!(
            (got.0 - want.0).abs() < tolerance && (got.1 - want.1).abs() < tolerance,
            "scale {scale} at {at:?}: face centre {got:?}, put at {want:?}"
        );
        // A face box about as tall as the pasted face (roughly 110 px at full size).
        let height = found.h * 480.0;
        assert!(
            (60.0 * scale..160.0 * scale).contains(&height),
            "scale {scale}: face box {height} px tall"
        );
    }
}

#[test]
fn moving_the_face_moves_the_box_by_as_much() {
    let face = fixture();
    let mut finder = FaceFinder::new().expect("a face cascade (opencv-data)");
    let (a, _) = frame_with_face(&face, 0.8, (100, 60));
    let (b, _) = frame_with_face(&face, 0.8, (380, 240));
    let fa = px_centre(finder.find(&a.y, 640, 480).unwrap().expect("face in a"));
    let fb = px_centre(finder.find(&b.y, 640, 480).unwrap().expect("face in b"));
    // Detection runs at half size, and a cascade's boxes wobble by a few pixels.
    assert!((fb.0 - fa.0 - 280.0).abs() < 8.0, "{fa:?} → {fb:?}");
    assert!((fb.1 - fa.1 - 180.0).abs() < 8.0, "{fa:?} → {fb:?}");
}

/// Where `face`'s head lands in billboard uv under `crop`.
fn head_in_billboard(face: NormRect, crop: [f32; 4]) -> ([f32; 2], f32) {
    let [hx, fy] = face.centre();
    let hy = fy - HEAD_RISE * face.h;
    (
        [(hx - crop[0]) / crop[2], (hy - crop[1]) / crop[3]],
        face.h * HEAD_PER_FACE / crop[3],
    )
}

#[test]
fn the_crop_puts_the_found_face_on_the_seat_target() {
    let face = fixture();
    let target = seat_target();
    let mut finder = FaceFinder::new().expect("a face cascade (opencv-data)");
    let (frame, put_at) = frame_with_face(&face, 0.7, (300, 80));
    let found = finder.find(&frame.y, 640, 480).unwrap().expect("a face");
    let crop = crop_for_face(found, 640.0 / 480.0, &target);
    // Placed where the crop need not clamp at a frame edge.
    assert!(crop[0] > 0.0 && crop[1] > 0.0, "{crop:?}");
    assert!(
        crop[0] + crop[2] < 1.0 && crop[1] + crop[3] < 1.0,
        "{crop:?}"
    );
    let (centre, height) = head_in_billboard(found, crop);
    assert!(
        (centre[0] - target.head_centre[0]).abs() < 1e-3,
        "{centre:?}"
    );
    assert!(
        (centre[1] - target.head_centre[1]).abs() < 1e-3,
        "{centre:?}"
    );
    assert!((height - target.head_height).abs() < 1e-3, "{height}");
    // The face as pasted lands near the head box's centre, a little below it (the head box
    // includes the hair above the face).
    let u = (put_at.0 / 640.0 - crop[0]) / crop[2];
    let v = (put_at.1 / 480.0 - crop[1]) / crop[3];
    assert!((u - target.head_centre[0]).abs() < 0.06, "face at u {u}");
    let below = v - target.head_centre[1];
    assert!(
        (0.0..0.1).contains(&below),
        "face {below} below the head centre"
    );
    // The crop zooms in on the small face: less than the default crop.
    assert!(
        crop[3] < fit_crop(640.0 / 480.0, target.aspect)[3] * 0.9,
        "{crop:?}"
    );
}

fn wait_for<T>(mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some(v) = f() {
            return Some(v);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[test]
fn the_service_frames_each_seat_from_its_slot() {
    let face = fixture();
    let target = seat_target();
    let slots: Vec<Arc<FrameSlot>> = (0..2).map(|_| Arc::default()).collect();
    let (frame, _) = frame_with_face(&face, 0.8, (400, 180));
    slots[0].put(frame);
    let service = FramingService::start("test", slots.clone(), vec![target; 2]);
    let found = wait_for(|| service.face(0, Instant::now())).expect("seat 0's face found");
    // Smoothed: long after the detection the crop has arrived at the face's crop.
    let settled = service
        .crop(0, Instant::now() + Duration::from_secs(30))
        .unwrap();
    let want = crop_for_face(found, 640.0 / 480.0, &target);
    for k in 0..4 {
        assert!(
            (settled[k] - want[k]).abs() < 1e-3,
            "{settled:?} vs {want:?}"
        );
    }
    // Seat 1 has no frame: no crop (the compositor's default); no seat 2 at all.
    assert_eq!(service.crop(1, Instant::now()), None);
    assert_eq!(service.crop(2, Instant::now()), None);
    // The person leaves: the seat forgets the crop.
    slots[0].clear();
    assert!(wait_for(|| service.crop(0, Instant::now()).is_none().then_some(())).is_some());
}

#[test]
fn without_a_cascade_framing_stays_off() {
    let face = fixture();
    let slot: Arc<FrameSlot> = Arc::default();
    slot.put(frame_with_face(&face, 0.8, (400, 180)).0);
    let missing = Err(FramingError::NoCascade {
        looked: "/nowhere".into(),
    });
    let service = FramingService::start_with("off", missing, vec![slot], vec![seat_target()]);
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(service.crop(0, Instant::now()), None);
    assert_eq!(service.face(0, Instant::now()), None);
    drop(service); // joins the (already finished) thread without hanging
}
