//! The broadcast's slate: the picture the public sees instead of the court while the
//! broadcast is cut or the hearing is paused (never the last frame of the court). A plain
//! card in the room's colours with centred lines of text (English and Chinese), drawn on the
//! CPU with the nameplates' font, once per broadcast.

use super::nameplate::{font, NameplateError};
use super::text;

/// The card's background (dark navy).
pub const SLATE_BACKGROUND: [u8; 3] = [18, 28, 48];
/// The rule and the first line (gold, as the plaques' titles).
pub const SLATE_ACCENT: [u8; 3] = [226, 186, 96];
/// The other lines (warm white).
pub const SLATE_TEXT: [u8; 3] = [246, 242, 232];

/// Draws the slate, `width × height` RGB: `lines` centred, the first one larger and gold.
pub fn slate_rgb(width: u32, height: u32, lines: &[&str]) -> Result<Vec<u8>, NameplateError> {
    font()?;
    let mut rgb: Vec<u8> = std::iter::repeat(SLATE_BACKGROUND)
        .take((width * height) as usize)
        .flatten()
        .collect();
    let (w, h) = (width as f32, height as f32);
    let sizes: Vec<f32> = (0..lines.len())
        .map(|i| if i == 0 { h / 11.0 } else { h / 18.0 })
        .collect();
    let total: f32 = sizes.iter().map(|s| s * 1.5).sum();
    let mut top = (h - total) / 2.0;
    // A gold rule above the text.
    let rule_y = (top - h / 20.0).max(0.0) as u32;
    for y in rule_y..(rule_y + (height / 180).max(2)).min(height) {
        for x in (width / 3)..(2 * width / 3) {
            let i = ((y * width + x) * 3) as usize;
            rgb[i..i + 3].copy_from_slice(&SLATE_ACCENT);
        }
    }
    for (i, line) in lines.iter().enumerate() {
        let em = sizes[i];
        let color = if i == 0 { SLATE_ACCENT } else { SLATE_TEXT };
        let baseline = top + em * 1.5 * 0.5 + text::ascent(em)? * 0.5;
        let left = (w - text::line_width(line, em)?) / 2.0;
        text::draw_line(&mut rgb, width, height, line, em, color, left, baseline)?;
        top += em * 1.5;
    }
    Ok(rgb)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text is drawn (gold and white pixels appear on the navy card) and stays inside the
    /// picture, in both scripts.
    #[test]
    fn the_slate_draws_its_lines_on_the_card() {
        let (w, h) = (640u32, 360u32);
        let rgb = slate_rgb(w, h, &["直播已暂停", "The broadcast is paused"]).unwrap();
        assert_eq!(rgb.len(), (w * h * 3) as usize);
        let px: Vec<[u8; 3]> = rgb.chunks(3).map(|c| [c[0], c[1], c[2]]).collect();
        let background = px.iter().filter(|p| **p == SLATE_BACKGROUND).count();
        let gold = px.iter().filter(|p| **p == SLATE_ACCENT).count();
        let white = px.iter().filter(|p| **p == SLATE_TEXT).count();
        assert!(background > px.len() * 8 / 10, "mostly card: {background}");
        assert!(
            gold > 500,
            "the rule and the first line: {gold} gold pixels"
        );
        assert!(white > 200, "the second line: {white} white pixels");
        // Nothing but background in the outer margins: the text is centred.
        for y in 0..h {
            for x in (0..20).chain(w - 20..w) {
                assert_eq!(px[(y * w + x) as usize], SLATE_BACKGROUND, "at {x},{y}");
            }
        }
    }
}
