//! Pictures in and out of the keyer: packed RGB to an I420 [`VideoFrame`] and PNG files to and
//! from RGB(A), for `courtroom key`, `courtroom render`, the tests and the benches; and a
//! synthetic person on a green screen ([`synthetic_person`]) to key where no photo is given,
//! with a sensor's noise where wanted ([`with_sensor_noise`]).

use std::path::Path;

use super::KeyError;
use crate::media::frame::{rgb_to_yuv, VideoFrame};

/// The green of a typical chroma-key sheet, as a webcam sees it.
pub const SCREEN_GREEN: [u8; 3] = [0, 177, 64];

/// A person-like shape in `rgb` on a green screen: an ellipse head above a rounded torso.
/// `sway` shifts it horizontally in pixels.
pub fn synthetic_person(width: u32, height: u32, rgb: [u8; 3], sway: i32) -> VideoFrame {
    let mut rgb_pixels = vec![0u8; (width * height * 3) as usize];
    let (w, h) = (width as f32, height as f32);
    let cx = w * 0.5 + sway as f32;
    for y in 0..height {
        for x in 0..width {
            let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
            // Head: ellipse centred at 31% height, 23% tall.
            let hx = (fx - cx) / (w * 0.085);
            let hy = (fy - h * 0.31) / (h * 0.115);
            let head = hx * hx + hy * hy <= 1.0;
            // Torso: from 48% height down, 47% wide, rounded shoulders.
            let tx = (fx - cx).abs() - w * 0.235;
            let ty = h * 0.48 - fy;
            let r = w * 0.08;
            let torso = fy >= h * 0.48 - r
                && if tx > -r && ty > -r {
                    (tx + r).powi(2) + (ty + r).powi(2) <= r * r
                } else {
                    tx <= 0.0
                };
            let c = if head || torso { rgb } else { SCREEN_GREEN };
            let i = ((y * width + x) * 3) as usize;
            rgb_pixels[i..i + 3].copy_from_slice(&c);
        }
    }
    frame_from_rgb(width, height, &rgb_pixels)
}

/// `frame` with up to ±`amount` levels of uniform noise added to every plane, as a webcam's
/// sensor adds it; `seed` picks the sequence, so each frame of a still camera can have its
/// own.
pub fn with_sensor_noise(mut frame: VideoFrame, amount: i32, seed: u32) -> VideoFrame {
    let mut state = seed;
    for v in frame.y.iter_mut().chain(&mut frame.u).chain(&mut frame.v) {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let n = ((state >> 16) % (2 * amount as u32 + 1)) as i32 - amount;
        *v = (*v as i32 + n).clamp(0, 255) as u8;
    }
    frame
}

/// Converts packed RGB to an I420 frame (BT.601 limited range), averaging chroma over 2×2.
pub fn frame_from_rgb(width: u32, height: u32, rgb: &[u8]) -> VideoFrame {
    let mut frame = VideoFrame::solid(width, height, [0, 0, 0]);
    let (cw, ch) = frame.chroma_size();
    for y in 0..height {
        for x in 0..width {
            let i = ((y * width + x) * 3) as usize;
            frame.y[(y * width + x) as usize] = rgb_to_yuv([rgb[i], rgb[i + 1], rgb[i + 2]]).0;
        }
    }
    for cy in 0..ch {
        for cx in 0..cw {
            let (mut r, mut g, mut b, mut n) = (0u32, 0u32, 0u32, 0u32);
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let (x, y) = ((cx * 2 + dx).min(width - 1), (cy * 2 + dy).min(height - 1));
                let i = ((y * width + x) * 3) as usize;
                r += rgb[i] as u32;
                g += rgb[i + 1] as u32;
                b += rgb[i + 2] as u32;
                n += 1;
            }
            let (_, u, v) = rgb_to_yuv([(r / n) as u8, (g / n) as u8, (b / n) as u8]);
            frame.u[(cy * cw + cx) as usize] = u;
            frame.v[(cy * cw + cx) as usize] = v;
        }
    }
    frame
}

/// The most pixels a picture read from a file may have (64 megapixels, 8192 x 8192): a PNG's
/// header states its size before any pixel, so a few hundred bytes could otherwise ask for
/// gigabytes.
pub const MAX_PICTURE_PIXELS: u64 = 8192 * 8192;

/// Opens a PNG and reads its header, refusing one that claims more than
/// [`MAX_PICTURE_PIXELS`] before a pixel buffer is allocated. The decoder's own allocation
/// limit is set to match. Errors are messages naming the file.
pub fn open_png(
    path: &Path,
    transformations: png::Transformations,
) -> Result<png::Reader<std::io::BufReader<std::fs::File>>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let limits = png::Limits {
        bytes: (MAX_PICTURE_PIXELS * 8) as usize,
    };
    let mut decoder = png::Decoder::new_with_limits(std::io::BufReader::new(file), limits);
    decoder.set_transformations(transformations);
    let reader = decoder
        .read_info()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let (w, h) = (reader.info().width, reader.info().height);
    if w as u64 * h as u64 > MAX_PICTURE_PIXELS {
        return Err(format!(
            "{}: the picture claims {w}x{h} pixels; at most {MAX_PICTURE_PIXELS} are read",
            path.display()
        ));
    }
    Ok(reader)
}

/// Reads an 8-bit RGB, RGBA, grey or grey-alpha PNG as packed RGB.
pub fn read_rgb_png(path: &Path) -> Result<(u32, u32, Vec<u8>), KeyError> {
    let bad = |e: &dyn std::fmt::Display| KeyError::Png(format!("{}: {e}", path.display()));
    let mut reader = open_png(
        path,
        png::Transformations::EXPAND | png::Transformations::STRIP_16,
    )
    .map_err(KeyError::Png)?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).map_err(|e| bad(&e))?;
    let data = &buf[..info.buffer_size()];
    let rgb: Vec<u8> = match info.color_type {
        png::ColorType::Rgb => data.to_vec(),
        png::ColorType::Rgba => data
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect(),
        png::ColorType::Grayscale => data.iter().flat_map(|&g| [g, g, g]).collect(),
        png::ColorType::GrayscaleAlpha => data.chunks_exact(2).flat_map(|p| [p[0]; 3]).collect(),
        other => return Err(bad(&format!("unsupported PNG colour type {other:?}"))),
    };
    if info.width == 0 || info.height == 0 {
        return Err(bad(&"empty image"));
    }
    Ok((info.width, info.height, rgb))
}

/// Writes packed RGBA as a PNG.
pub fn write_png(path: &Path, width: u32, height: u32, rgba: &[u8]) -> std::io::Result<()> {
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut enc = png::Encoder::new(file, width, height);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(std::io::Error::other)?;
    writer
        .write_image_data(rgba)
        .map_err(std::io::Error::other)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_person_is_coloured_in_the_middle_and_green_at_the_edge() {
        let f = synthetic_person(64, 48, [210, 40, 40], 0);
        let y_at = |x: u32, y: u32| f.y[(y * 64 + x) as usize];
        assert_eq!(y_at(32, 40), rgb_to_yuv([210, 40, 40]).0, "torso");
        assert_eq!(y_at(32, 15), rgb_to_yuv([210, 40, 40]).0, "head");
        assert_eq!(y_at(1, 1), rgb_to_yuv(SCREEN_GREEN).0, "screen");
    }

    use crate::exhibit::testing::png_claiming;

    #[test]
    fn a_tiny_png_claiming_ten_gigapixels_is_refused_before_allocating() {
        let dir = tempfile::tempdir().unwrap();
        let huge = dir.path().join("huge.png");
        std::fs::write(&huge, png_claiming(100_000, 100_000)).unwrap();
        assert!(std::fs::metadata(&huge).unwrap().len() < 100);
        let err = read_rgb_png(&huge).unwrap_err().to_string();
        assert!(err.contains("100000x100000"), "{err}");
        let err = crate::render::still::frame_from_png(&huge)
            .unwrap_err()
            .to_string();
        assert!(err.contains("100000x100000"), "{err}");
        // A small picture with the same bytes otherwise gets past the size check (and then
        // fails on its truncated pixels, not on its size).
        let small = dir.path().join("small.png");
        std::fs::write(&small, png_claiming(4, 4)).unwrap();
        let err = read_rgb_png(&small).unwrap_err().to_string();
        assert!(!err.contains("pixels; at most"), "{err}");
    }
}
