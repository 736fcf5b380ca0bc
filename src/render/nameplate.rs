//! Nameplates: each occupied seat shows a plaque with the role's title in the hearing's
//! language (审判长 / Presiding Judge) and the person's display name, rasterised on the CPU
//! into an RGBA texture with `ab_glyph` from the font shipped in `assets/fonts/`.
//!
//! The font is a subset of Noto Sans CJK SC Bold (SIL OFL 1.1, `assets/fonts/OFL.txt`) made by
//! `scripts/make-font-subset.sh`: ASCII, Latin-1, punctuation and the 3755 level-1 characters
//! of GB2312. A character outside it is drawn as a visible replacement box, never an error.
//! Plaques are rasterised only when a seat's occupant or the locale changes
//! ([`super::plates`] compares [`NameplateText`]s), never per tick.

use std::sync::OnceLock;

use ab_glyph::{point, Font, FontRef, GlyphId, PxScale, ScaleFont};

use crate::role::Role;

/// Path of the shipped font, relative to the assets folder.
pub const FONT_FILE: &str = "fonts/NotoSansSC-Bold-subset.otf";

/// The shipped font, built into the binary so a plaque never depends on the working folder.
static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/NotoSansSC-Bold-subset.otf");

/// Texture height of a plaque, pixels; the width follows the plaque's aspect. Mipmapped, so
/// the wide view samples a level near its on-screen size and a speaker view stays sharp.
pub const PLAQUE_TEXTURE_HEIGHT: u32 = 128;

/// The plaque's background (dark lacquer).
pub const PLAQUE_COLOR: [u8; 3] = [30, 25, 22];
/// The border and the role title (gold).
pub const TITLE_COLOR: [u8; 3] = [226, 186, 96];
/// The display name (warm white).
pub const NAME_COLOR: [u8; 3] = [246, 242, 232];

/// Errors from nameplates.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NameplateError {
    /// The shipped font could not be parsed.
    #[error("nameplate font {FONT_FILE}: {0}")]
    Font(String),
    /// A plaque size that cannot hold text.
    #[error("nameplate size {0}x{1} is too small")]
    Size(u32, u32),
}

/// The language a plaque is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Simplified Chinese.
    Zh,
}

impl Lang {
    /// The language of a hearing's locale: `zh`, `zh-CN`, `zh_Hans`… are Chinese, anything
    /// else English.
    pub fn from_locale(locale: &str) -> Lang {
        let l = locale.trim().to_ascii_lowercase();
        if l == "zh" || l.starts_with("zh-") || l.starts_with("zh_") {
            Lang::Zh
        } else {
            Lang::En
        }
    }
}

/// A role's title on a plaque. `role` is a wire name ([`Role::as_str`]) or a layout's seat
/// role; an unknown one is shown as written, underscores as spaces.
pub fn role_title(role: &str, lang: Lang) -> String {
    let known = match (role, lang) {
        ("presiding_judge", Lang::Zh) => "审判长",
        ("presiding_judge", Lang::En) => "Presiding Judge",
        ("judge", Lang::Zh) => "审判员",
        ("judge", Lang::En) => "Judge",
        ("assessor", Lang::Zh) => "人民陪审员",
        ("assessor", Lang::En) => "People's Assessor",
        ("clerk", Lang::Zh) => "书记员",
        ("clerk", Lang::En) => "Clerk",
        ("plaintiff", Lang::Zh) => "原告",
        ("plaintiff", Lang::En) => "Plaintiff",
        ("defendant", Lang::Zh) => "被告",
        ("defendant", Lang::En) => "Defendant",
        ("witness", Lang::Zh) => "证人",
        ("witness", Lang::En) => "Witness",
        ("mediator", Lang::Zh) => "调解员",
        ("mediator", Lang::En) => "Mediator",
        _ => return role.replace('_', " "),
    };
    known.to_owned()
}

/// What one plaque says. Cheap to compare: the compositor re-rasterises a seat's plaque only
/// when this changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameplateText {
    /// Role wire name, e.g. `presiding_judge`.
    pub role: String,
    /// The person's display name (may be empty: the plaque then shows the title alone).
    pub name: String,
    /// The plaque's language.
    pub lang: Lang,
}

impl NameplateText {
    /// A plaque for `role` held by `name`, in the language of `locale`.
    pub fn new(role: Role, name: &str, locale: &str) -> Self {
        Self::for_role(role.as_str(), name, Lang::from_locale(locale))
    }

    /// A plaque for a role given by wire name (layout seats name roles as text).
    pub fn for_role(role: &str, name: &str, lang: Lang) -> Self {
        Self {
            role: role.to_owned(),
            name: name.to_owned(),
            lang,
        }
    }

    /// The title line.
    pub fn title(&self) -> String {
        role_title(&self.role, self.lang)
    }
}

/// A rasterised plaque: tightly packed RGBA, alpha 0 outside its rounded corners.
#[derive(Debug, Clone)]
pub struct Plaque {
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
    /// RGBA rows, top first.
    pub rgba: Vec<u8>,
}

impl Plaque {
    /// The pixel at `(x, y)`.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 4] {
        let i = ((y * self.width + x) * 4) as usize;
        [
            self.rgba[i],
            self.rgba[i + 1],
            self.rgba[i + 2],
            self.rgba[i + 3],
        ]
    }

    /// This image and its mip chain (2×2 box filter) down to the first level with a side
    /// under 16 or odd, largest first.
    pub fn mip_chain(&self) -> Vec<(u32, u32, Vec<u8>)> {
        super::panel::mip_chain(self.width, self.height, self.rgba.clone())
    }
}

/// The shipped font, parsed once per process (parsing is lazy: outlines are read per glyph).
pub fn font() -> Result<&'static FontRef<'static>, NameplateError> {
    static FONT: OnceLock<Result<FontRef<'static>, String>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(FONT_BYTES).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| NameplateError::Font(e.clone()))
}

/// Whether the shipped font has a glyph for `c` (otherwise it is drawn as a replacement box).
pub fn has_glyph(c: char) -> bool {
    font().is_ok_and(|f| f.glyph_id(c).0 != 0)
}

/// Texture width for a plaque of world aspect `width / height` at [`PLAQUE_TEXTURE_HEIGHT`]:
/// a multiple of 32 so the mip chain halves evenly.
pub fn texture_width(aspect: f32) -> u32 {
    let w = (PLAQUE_TEXTURE_HEIGHT as f32 * aspect.clamp(1.0, 8.0) / 32.0).round() as u32;
    w.max(1) * 32
}

/// Rasterises a plaque of `width × height` pixels: a dark rounded plaque with a gold border,
/// the title in gold on the first line and the name in white on the second, each centred and
/// shrunk to fit the width.
pub fn rasterise(text: &NameplateText, width: u32, height: u32) -> Result<Plaque, NameplateError> {
    if width < 16 || height < 16 {
        return Err(NameplateError::Size(width, height));
    }
    let font = font()?;
    let mut canvas = Canvas::new(width, height);
    canvas.plaque();
    let h = height as f32;
    let max_w = width as f32 - 0.22 * h;
    let title = text.title();
    let name: String = text.name.chars().filter(|c| !c.is_control()).collect();
    let name = name.trim();
    if name.is_empty() {
        canvas.line(font, &title, 0.5 * h, 0.42 * h, max_w, TITLE_COLOR);
    } else {
        canvas.line(font, &title, 0.31 * h, 0.34 * h, max_w, TITLE_COLOR);
        canvas.line(font, name, 0.70 * h, 0.31 * h, max_w, NAME_COLOR);
    }
    Ok(Plaque {
        width,
        height,
        rgba: canvas.rgba,
    })
}

struct Canvas {
    width: u32,
    height: u32,
    rgba: Vec<u8>,
}

/// One laid-out glyph: a font glyph, or a replacement box for a character the font lacks.
enum Laid {
    Glyph(GlyphId, f32),
    Missing(f32),
}

impl Canvas {
    fn new(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            rgba: vec![0; (width * height * 4) as usize],
        }
    }

    /// Fills the rounded plaque with its gold border; outside the corners stays transparent
    /// (with the border colour, so filtering leaves no dark fringe).
    fn plaque(&mut self) {
        let (w, h) = (self.width as f32, self.height as f32);
        let radius = 0.14 * h;
        let border = 0.045 * h;
        for y in 0..self.height {
            for x in 0..self.width {
                let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
                // Signed distance to the rounded rectangle (negative inside).
                let qx = (px - w / 2.0).abs() - (w / 2.0 - radius);
                let qy = (py - h / 2.0).abs() - (h / 2.0 - radius);
                let outside = qx.max(0.0).hypot(qy.max(0.0));
                let d = outside + qx.max(qy).min(0.0) - radius;
                let alpha = (0.5 - d).clamp(0.0, 1.0);
                // The border band is gold, with a thin gap inside it, then the dark field.
                let inner = -d;
                let c = if inner < border {
                    TITLE_COLOR
                } else if inner < border * 1.6 {
                    mix(
                        TITLE_COLOR,
                        PLAQUE_COLOR,
                        ((inner - border) / (border * 0.6)).min(1.0),
                    )
                } else {
                    PLAQUE_COLOR
                };
                let i = ((y * self.width + x) * 4) as usize;
                self.rgba[i..i + 3].copy_from_slice(&c);
                self.rgba[i + 3] = (alpha * 255.0).round() as u8;
            }
        }
    }

    /// Draws `text` centred horizontally with its em box centred on `centre_y`, `em` pixels
    /// high, shrunk to fit `max_w`.
    fn line(
        &mut self,
        font: &FontRef<'static>,
        text: &str,
        centre_y: f32,
        em: f32,
        max_w: f32,
        color: [u8; 3],
    ) {
        let (mut laid, mut width, mut em) = layout_line(font, text, em);
        if width > max_w {
            em *= max_w / width;
            (laid, width, _) = layout_line(font, text, em);
        }
        // Ideographs span about -0.12..0.88 em around the baseline, capitals 0..0.72: centre
        // the line on 0.37 em above the baseline.
        let baseline = centre_y + 0.37 * em;
        let mut x = (self.width as f32 - width) / 2.0;
        let scale = px_scale(font, em);
        for item in laid {
            match item {
                Laid::Glyph(id, advance) => {
                    let glyph = id.with_scale_and_position(scale, point(x, baseline));
                    if let Some(outlined) = font.outline_glyph(glyph) {
                        let b = outlined.px_bounds();
                        outlined.draw(|gx, gy, coverage| {
                            let px = b.min.x as i32 + gx as i32;
                            let py = b.min.y as i32 + gy as i32;
                            self.blend(px, py, color, coverage);
                        });
                    }
                    x += advance;
                }
                Laid::Missing(advance) => {
                    self.replacement_box(x + 0.08 * em, baseline, em, color);
                    x += advance;
                }
            }
        }
    }

    /// An outlined box 0.56 em wide and 0.76 em tall standing on the baseline: the visible
    /// stand-in for a character the font lacks.
    fn replacement_box(&mut self, left: f32, baseline: f32, em: f32, color: [u8; 3]) {
        let (x0, x1) = (left, left + 0.56 * em);
        let (y0, y1) = (baseline - 0.8 * em, baseline - 0.04 * em);
        let stroke = (0.08 * em).max(1.5);
        for py in y0.floor() as i32..y1.ceil() as i32 {
            for px in x0.floor() as i32..x1.ceil() as i32 {
                let (fx, fy) = (px as f32 + 0.5, py as f32 + 0.5);
                let edge = (fx - x0).min(x1 - fx).min(fy - y0).min(y1 - fy);
                if (0.0..stroke).contains(&edge) {
                    self.blend(px, py, color, 1.0);
                }
            }
        }
    }

    fn blend(&mut self, x: i32, y: i32, color: [u8; 3], coverage: f32) {
        if x < 0 || y < 0 || x >= self.width as i32 || y >= self.height as i32 {
            return;
        }
        let i = ((y as u32 * self.width + x as u32) * 4) as usize;
        let under = [self.rgba[i], self.rgba[i + 1], self.rgba[i + 2]];
        self.rgba[i..i + 3].copy_from_slice(&mix(under, color, coverage.clamp(0.0, 1.0)));
    }
}

/// The `PxScale` whose em is `em` pixels (ab_glyph's scale is ascent − descent).
fn px_scale(font: &FontRef<'static>, em: f32) -> PxScale {
    let upem = font.units_per_em().unwrap_or(1000.0);
    PxScale::from(em * font.height_unscaled() / upem)
}

/// Lays out one line at `em`: each glyph with its advance (kerning included), total width.
fn layout_line(font: &FontRef<'static>, text: &str, em: f32) -> (Vec<Laid>, f32, f32) {
    let scaled = font.as_scaled(px_scale(font, em));
    let mut laid = Vec::new();
    let mut width = 0.0;
    let mut prev: Option<GlyphId> = None;
    for c in text.chars().filter(|c| !c.is_control()) {
        let id = font.glyph_id(c);
        if id.0 == 0 && !c.is_whitespace() {
            laid.push(Laid::Missing(0.72 * em));
            width += 0.72 * em;
            prev = None;
            continue;
        }
        let kern = prev.map_or(0.0, |p| scaled.kern(p, id));
        if let Some(Laid::Glyph(_, a)) = laid.last_mut() {
            *a += kern;
        }
        let advance = scaled.h_advance(id);
        width += kern + advance;
        laid.push(Laid::Glyph(id, advance));
        prev = Some(id);
    }
    (laid, width, em)
}

fn mix(a: [u8; 3], b: [u8; 3], t: f32) -> [u8; 3] {
    [0, 1, 2].map(|i| (a[i] as f32 + (b[i] as f32 - a[i] as f32) * t).round() as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: u32 = 384;
    const H: u32 = PLAQUE_TEXTURE_HEIGHT;

    fn near(a: [u8; 4], c: [u8; 3], tol: i32) -> bool {
        (0..3).all(|i| (a[i] as i32 - c[i] as i32).abs() <= tol)
    }

    /// Pixels of `color` strictly inside the plaque's field (inside the border band), within
    /// rows `y0..y1`.
    fn ink(p: &Plaque, color: [u8; 3], y0: u32, y1: u32) -> usize {
        let inset = (0.1 * H as f32) as u32;
        (y0.max(inset)..y1.min(H - inset))
            .flat_map(|y| (inset..W - inset).map(move |x| (x, y)))
            .filter(|&(x, y)| near(p.pixel(x, y), color, 30))
            .count()
    }

    #[test]
    fn the_shipped_font_covers_both_languages() {
        for c in "审判长人民陪审员书记员原告被告证人调解员张伟Presiding Judge People's".chars()
        {
            assert!(has_glyph(c), "no glyph for {c:?}");
        }
        // A rare character outside GB2312 level 1 is not in the subset.
        assert!(!has_glyph('䶮'));
    }

    #[test]
    fn chinese_and_english_titles_draw_ink_inside_the_plaque() {
        for (lang, title) in [(Lang::Zh, "审判长"), (Lang::En, "Presiding Judge")] {
            let text = NameplateText::for_role("presiding_judge", "", lang);
            assert_eq!(text.title(), title);
            let p = rasterise(&text, W, H).unwrap();
            let gold = ink(&p, TITLE_COLOR, 0, H);
            assert!(gold > 400, "{title}: only {gold} gold text pixels");
            // The ink is text, not a filled plaque: most of the field stays dark.
            let dark = ink(&p, PLAQUE_COLOR, 0, H);
            assert!(dark > gold, "{title}: {dark} dark vs {gold} gold");
            // Corners are transparent, the centre opaque.
            assert_eq!(p.pixel(0, 0)[3], 0);
            assert_eq!(p.pixel(W / 2, H / 2)[3], 255);
        }
    }

    #[test]
    fn name_goes_on_the_second_line_in_white() {
        let text = NameplateText::new(Role::PresidingJudge, "张伟", "zh-CN");
        let p = rasterise(&text, W, H).unwrap();
        let white_top = ink(&p, NAME_COLOR, 0, H / 2);
        let white_bottom = ink(&p, NAME_COLOR, H / 2, H);
        let gold_top = ink(&p, TITLE_COLOR, 0, H / 2);
        assert!(
            white_bottom > 200 && white_top < white_bottom / 4,
            "{white_top}/{white_bottom}"
        );
        assert!(gold_top > 200, "title above: {gold_top}");
    }

    #[test]
    fn a_character_outside_the_subset_draws_a_replacement_box() {
        let missing = NameplateText::for_role("clerk", "䶮", Lang::Zh);
        let p = rasterise(&missing, W, H).unwrap();
        // The box's outline: a full row of name-coloured pixels near its top edge and a column
        // at its left edge, in the lower half of the plaque.
        let rows = (H / 2..H)
            .filter(|&y| {
                (0..W)
                    .filter(|&x| near(p.pixel(x, y), NAME_COLOR, 30))
                    .count()
                    > 20
            })
            .count();
        let cols = (0..W)
            .filter(|&x| {
                (H / 2..H)
                    .filter(|&y| near(p.pixel(x, y), NAME_COLOR, 30))
                    .count()
                    > 25
            })
            .count();
        assert!(rows >= 2 && cols >= 2, "box: {rows} rows, {cols} columns");
        let blank = NameplateText::for_role("clerk", " ", Lang::Zh);
        let q = rasterise(&blank, W, H).unwrap();
        assert_eq!(ink(&q, NAME_COLOR, H / 2, H), 0);
    }

    #[test]
    fn long_lines_shrink_to_fit_and_locales_map_to_languages() {
        let long = NameplateText::for_role("assessor", &"M".repeat(60), Lang::En);
        let p = rasterise(&long, W, H).unwrap();
        // Nothing drawn over the left and right border bands.
        for y in H / 2..H - 10 {
            for x in (0..6).chain(W - 6..W) {
                assert!(
                    !near(p.pixel(x, y), NAME_COLOR, 20),
                    "ink at the edge ({x}, {y})"
                );
            }
        }
        assert_eq!(Lang::from_locale("zh-CN"), Lang::Zh);
        assert_eq!(Lang::from_locale("zh"), Lang::Zh);
        assert_eq!(Lang::from_locale("en"), Lang::En);
        assert_eq!(Lang::from_locale("zhx"), Lang::En);
        assert_eq!(role_title("assessor", Lang::Zh), "人民陪审员");
        assert_eq!(role_title("plaintiff_agent", Lang::En), "plaintiff agent");
        assert!(rasterise(&long, 8, 8).is_err());
    }

    #[test]
    fn mip_chain_halves_to_a_small_level() {
        let p = rasterise(&NameplateText::for_role("witness", "Li", Lang::En), W, H).unwrap();
        let mips = p.mip_chain();
        assert_eq!(mips[0].0, W);
        assert_eq!(mips[1], (W / 2, H / 2, mips[1].2.clone()));
        let last = mips.last().unwrap();
        assert!(last.1 < 16 && last.2.len() == (last.0 * last.1 * 4) as usize);
    }
}
