//! Synthetic camera and microphone files for the browser tests (a keyed person on chroma green,
//! a tone), and PPM pictures to look at after a failure.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// Fixture video size and rate (what the page asks `getUserMedia` for).
pub const FIXTURE_W: usize = 640;
pub const FIXTURE_H: usize = 480;
pub const FIXTURE_FPS: usize = 25;
/// Chroma-key green used as the fixture background.
pub const KEY_GREEN: [u8; 3] = [0, 177, 64];

/// BT.601 full-range RGB → YUV.
pub fn rgb_to_yuv([r, g, b]: [u8; 3]) -> [u8; 3] {
    let (r, g, b) = (r as f32, g as f32, b as f32);
    let y = 0.299 * r + 0.587 * g + 0.114 * b;
    let u = -0.168_736 * r - 0.331_264 * g + 0.5 * b + 128.0;
    let v = 0.5 * r - 0.418_688 * g - 0.081_312 * b + 128.0;
    let q = |x: f32| x.round().clamp(0.0, 255.0) as u8;
    [q(y), q(u), q(v)]
}

/// Whether pixel (x, y) belongs to the person silhouette whose centre line is at `cx`:
/// an elliptical head (~110 px tall, centred at y = 150), a neck, and a ~300 px wide torso with
/// rounded shoulders from y = 230 down to the bottom edge.
fn in_person(x: f32, y: f32, cx: f32) -> bool {
    // Head.
    let (hx, hy) = ((x - cx) / 42.0, (y - 150.0) / 55.0);
    if hx * hx + hy * hy <= 1.0 {
        return true;
    }
    // Neck.
    if (195.0..=240.0).contains(&y) && (x - cx).abs() <= 22.0 {
        return true;
    }
    // Torso with rounded top corners.
    const TOP: f32 = 230.0;
    const HALF_W: f32 = 150.0;
    const R: f32 = 60.0;
    let dx = (x - cx).abs();
    if y < TOP || dx > HALF_W {
        return false;
    }
    if y < TOP + R && dx > HALF_W - R {
        let (ex, ey) = (dx - (HALF_W - R), y - (TOP + R));
        return ex * ex + ey * ey <= R * R;
    }
    true
}

/// Writes a 640×480, 25 fps Y4M (`C420jpeg`) clip: chroma-green background with a person-like
/// shape in `color_rgb` that sways a little horizontally over the frames.
pub fn write_person_y4m(path: &Path, color_rgb: [u8; 3], frames: usize) {
    let (w, h) = (FIXTURE_W, FIXTURE_H);
    let bg = rgb_to_yuv(KEY_GREEN);
    let fg = rgb_to_yuv(color_rgb);
    let mut out = BufWriter::new(File::create(path).expect("create y4m"));
    writeln!(out, "YUV4MPEG2 W{w} H{h} F{FIXTURE_FPS}:1 Ip A1:1 C420jpeg").unwrap();
    let mut mask = vec![false; w * h];
    let mut y_plane = vec![0u8; w * h];
    let mut u_plane = vec![0u8; (w / 2) * (h / 2)];
    let mut v_plane = vec![0u8; (w / 2) * (h / 2)];
    for f in 0..frames {
        let phase = f as f32 / frames.max(1) as f32 * std::f32::consts::TAU;
        let cx = 320.0 + 14.0 * phase.sin();
        for y in 0..h {
            for x in 0..w {
                let inside = in_person(x as f32 + 0.5, y as f32 + 0.5, cx);
                mask[y * w + x] = inside;
                y_plane[y * w + x] = if inside { fg[0] } else { bg[0] };
            }
        }
        // 4:2:0 chroma: average the 2×2 block (JPEG-style centred siting).
        for cy in 0..h / 2 {
            for cxi in 0..w / 2 {
                let mut n_fg = 0u32;
                for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    n_fg += mask[(2 * cy + dy) * w + 2 * cxi + dx] as u32;
                }
                let mix = |a: u8, b: u8| ((a as u32 * n_fg + b as u32 * (4 - n_fg) + 2) / 4) as u8;
                u_plane[cy * (w / 2) + cxi] = mix(fg[1], bg[1]);
                v_plane[cy * (w / 2) + cxi] = mix(fg[2], bg[2]);
            }
        }
        out.write_all(b"FRAME\n").unwrap();
        out.write_all(&y_plane).unwrap();
        out.write_all(&u_plane).unwrap();
        out.write_all(&v_plane).unwrap();
    }
    out.flush().unwrap();
}

/// Writes a 48 kHz mono 16-bit PCM WAV with a sine at -12 dBFS (10 ms fades at both ends).
pub fn write_tone_wav(path: &Path, freq_hz: f32, seconds: f32) {
    const RATE: u32 = 48_000;
    let n = (seconds * RATE as f32).round() as u32;
    let amp = 10f32.powf(-12.0 / 20.0) * i16::MAX as f32;
    let fade = (RATE / 100).max(1);
    let data_len = n * 2;
    let mut out = BufWriter::new(File::create(path).expect("create wav"));
    let mut header = Vec::with_capacity(44);
    header.extend_from_slice(b"RIFF");
    header.extend_from_slice(&(36 + data_len).to_le_bytes());
    header.extend_from_slice(b"WAVEfmt ");
    // fmt chunk: size 16, PCM, mono, rate, byte rate, block align 2, 16 bits.
    for v in [16u32, 1 | (1 << 16), RATE, RATE * 2, 2 | (16 << 16)] {
        header.extend_from_slice(&v.to_le_bytes());
    }
    header.extend_from_slice(b"data");
    header.extend_from_slice(&data_len.to_le_bytes());
    out.write_all(&header).unwrap();
    for i in 0..n {
        let t = i as f32 / RATE as f32;
        let env = (i.min(n - 1 - i) as f32 / fade as f32).min(1.0);
        let s = (amp * env * (std::f32::consts::TAU * freq_hz * t).sin()).round() as i16;
        out.write_all(&s.to_le_bytes()).unwrap();
    }
    out.flush().unwrap();
}

/// Writes an RGB24 buffer as a binary PPM (P6), handy for looking at frames after a failure.
pub fn write_ppm(path: &Path, w: usize, h: usize, rgb: &[u8]) {
    let mut out = BufWriter::new(File::create(path).expect("create ppm"));
    write!(out, "P6\n{w} {h}\n255\n").unwrap();
    out.write_all(rgb).unwrap();
    out.flush().unwrap();
}
