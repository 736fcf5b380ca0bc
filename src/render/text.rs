//! Lines of text drawn into packed RGB pictures on the CPU, with the nameplates' font: the
//! broadcast's slate and the evidence display's caption.

use ab_glyph::{point, Font, PxScale, ScaleFont};

use super::nameplate::{font, NameplateError};

/// How wide `line` is at `em` pixels, in pixels.
pub fn line_width(line: &str, em: f32) -> Result<f32, NameplateError> {
    let font = font()?;
    let scaled = font.as_scaled(PxScale::from(em));
    Ok(line
        .chars()
        .map(|c| scaled.h_advance(font.glyph_id(c)))
        .sum())
}

/// The font's ascent at `em` pixels.
pub fn ascent(em: f32) -> Result<f32, NameplateError> {
    Ok(font()?.as_scaled(PxScale::from(em)).ascent())
}

/// Draws `line` at `em` pixels into `rgb` (`width × height`, packed RGB) in `color`, starting
/// at `left` on the baseline `baseline`, blending by coverage; what falls outside is clipped.
#[allow(clippy::too_many_arguments)]
pub fn draw_line(
    rgb: &mut [u8],
    width: u32,
    height: u32,
    line: &str,
    em: f32,
    color: [u8; 3],
    left: f32,
    baseline: f32,
) -> Result<(), NameplateError> {
    let font = font()?;
    let scaled = font.as_scaled(PxScale::from(em));
    let mut x = left;
    for c in line.chars() {
        let id = font.glyph_id(c);
        let glyph = id.with_scale_and_position(PxScale::from(em), point(x, baseline));
        if let Some(outlined) = font.outline_glyph(glyph) {
            let b = outlined.px_bounds();
            outlined.draw(|gx, gy, coverage| {
                let px = b.min.x as i64 + gx as i64;
                let py = b.min.y as i64 + gy as i64;
                if px < 0 || py < 0 || px >= width as i64 || py >= height as i64 {
                    return;
                }
                let i = ((py as u32 * width + px as u32) * 3) as usize;
                for k in 0..3 {
                    let under = rgb[i + k] as f32;
                    rgb[i + k] =
                        (under + (color[k] as f32 - under) * coverage.min(1.0)).round() as u8;
                }
            });
        }
        x += scaled.h_advance(id);
    }
    Ok(())
}
