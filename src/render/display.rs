//! The evidence display: the screen on the courtroom's wall where an exhibit is shown
//! (the layout's `display`). The exhibit's page is fitted onto a picture of the display's
//! shape, with a caption band naming the exhibit and its presenter ([`ExhibitPicture`], on the
//! CPU, once per page), and drawn as a panel into the compositor's cached room
//! ([`EvidenceDisplay`]): a still exhibit costs nothing per tick, and the room is redrawn
//! only when the picture changes. Nothing is drawn while no exhibit is shown.

use std::sync::Arc;

use super::layout::Layout;
use super::nameplate::NameplateError;
use super::panel::{mip_chain, Panel, PanelPipeline};
use super::text;
use crate::gpu::Gpu;

/// The display picture's size: the full-frame exhibit view shows it at the output's 720 lines.
pub const DISPLAY_PIXELS: (u32, u32) = (1280, 720);
/// Share of the display's height the caption band takes.
const CAPTION_SHARE: f32 = 0.075;
/// The display's surround, behind a page that does not fill it (near black).
pub const DISPLAY_BACKGROUND: [u8; 3] = [22, 24, 28];
/// The caption band (dark navy, as the slate).
pub const CAPTION_BACKGROUND: [u8; 3] = [18, 28, 48];
/// The caption's text (warm white).
pub const CAPTION_TEXT: [u8; 3] = [246, 242, 232];

/// What part of a page the display shows: the whole page, or its width across the display and
/// the top, middle or bottom of its height (an A4 page's 11-point text is about 12 pixels
/// high there, against 4 or 5 for the whole page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PageRegion {
    /// The whole page.
    #[default]
    Page,
    /// The page's width, from its top.
    Top,
    /// The page's width, its middle.
    Middle,
    /// The page's width, down to its bottom.
    Bottom,
}

impl PageRegion {
    /// How far down the part of the page that does not fit the region starts (0 to 1).
    fn offset(self) -> f32 {
        match self {
            PageRegion::Page | PageRegion::Top => 0.0,
            PageRegion::Middle => 0.5,
            PageRegion::Bottom => 1.0,
        }
    }
}

/// An exhibit's page as the display shows it: RGBA of [`DISPLAY_PIXELS`], rows top first.
#[derive(Debug, Clone, PartialEq)]
pub struct ExhibitPicture {
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
    /// RGBA rows, top first (opaque).
    pub rgba: Vec<u8>,
}

impl ExhibitPicture {
    /// Fits a page (`page_width × page_height`, packed RGB) into the display above a caption
    /// band saying `caption`, keeping the page's aspect (bilinear scaling, centred): the whole
    /// page, or for a `region` its width across the display and that part of its height.
    pub fn compose(
        page_width: u32,
        page_height: u32,
        page_rgb: &[u8],
        caption: &str,
        region: PageRegion,
    ) -> Result<Self, NameplateError> {
        let (width, height) = DISPLAY_PIXELS;
        let mut rgb: Vec<u8> = std::iter::repeat_n(DISPLAY_BACKGROUND, (width * height) as usize)
            .flatten()
            .collect();
        let band = (height as f32 * CAPTION_SHARE).round() as u32;
        let (area_w, area_h) = (width, height - band);
        if page_width > 0 && page_height > 0 {
            let whole = (area_w as f32 / page_width as f32).min(area_h as f32 / page_height as f32);
            let scale = match region {
                PageRegion::Page => whole,
                _ => area_w as f32 / page_width as f32,
            };
            let (w, h) = (
                ((page_width as f32 * scale).round() as u32).clamp(1, area_w),
                ((page_height as f32 * scale).round() as u32).clamp(1, area_h),
            );
            let (x0, y0) = ((area_w - w) / 2, (area_h - h) / 2);
            // The rows of the scaled page above what is shown.
            let skipped = (page_height as f32 * scale - h as f32).max(0.0) * region.offset();
            for y in 0..h {
                let sy =
                    ((y as f32 + skipped + 0.5) / scale - 0.5).clamp(0.0, (page_height - 1) as f32);
                for x in 0..w {
                    let sx = ((x as f32 + 0.5) / scale - 0.5).clamp(0.0, (page_width - 1) as f32);
                    let px = bilinear(page_width, page_height, page_rgb, sx, sy);
                    let i = (((y0 + y) * width + x0 + x) * 3) as usize;
                    rgb[i..i + 3].copy_from_slice(&px);
                }
            }
        }
        for y in (height - band)..height {
            for x in 0..width {
                let i = ((y * width + x) * 3) as usize;
                rgb[i..i + 3].copy_from_slice(&CAPTION_BACKGROUND);
            }
        }
        let em = band as f32 * 0.62;
        let left = (width as f32 - text::line_width(caption, em)?).max(0.0) / 2.0;
        let baseline = (height - band) as f32 + band as f32 / 2.0 + text::ascent(em)? * 0.4;
        text::draw_line(
            &mut rgb,
            width,
            height,
            caption,
            em,
            CAPTION_TEXT,
            left,
            baseline,
        )?;
        Ok(Self {
            width,
            height,
            rgba: rgb
                .chunks_exact(3)
                .flat_map(|p| [p[0], p[1], p[2], 255])
                .collect(),
        })
    }

    /// The pixel at `(x, y)`, RGB.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = ((y * self.width + x) * 4) as usize;
        [self.rgba[i], self.rgba[i + 1], self.rgba[i + 2]]
    }
}

/// The page's colour at `(x, y)` (pixel centres at integers), interpolated.
fn bilinear(width: u32, height: u32, rgb: &[u8], x: f32, y: f32) -> [u8; 3] {
    let (x0, y0) = (x.floor() as u32, y.floor() as u32);
    let (x1, y1) = ((x0 + 1).min(width - 1), (y0 + 1).min(height - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let at = |x: u32, y: u32, k: usize| rgb[((y * width + x) * 3) as usize + k] as f32;
    [0, 1, 2].map(|k| {
        let top = at(x0, y0, k) * (1.0 - fx) + at(x1, y0, k) * fx;
        let bottom = at(x0, y1, k) * (1.0 - fx) + at(x1, y1, k) * fx;
        (top * (1.0 - fy) + bottom * fy).round() as u8
    })
}

/// The display on the device: the picture shown, and its panel.
pub struct EvidenceDisplay {
    panels: PanelPipeline,
    shown: Option<Arc<ExhibitPicture>>,
    panel: Option<Panel>,
}

impl EvidenceDisplay {
    /// A display showing nothing.
    pub fn new(device: &wgpu::Device) -> Self {
        Self {
            panels: PanelPipeline::new(device, "evidence display"),
            shown: None,
            panel: None,
        }
    }

    /// Shows `picture` (or nothing) on `layout`'s display. Returns true when that changes
    /// what the display shows (the cached room must be redrawn); the same picture again
    /// (the same `Arc`) costs nothing.
    pub fn show(
        &mut self,
        gpu: &Gpu,
        layout: &Layout,
        picture: Option<&Arc<ExhibitPicture>>,
    ) -> bool {
        let same = match (&self.shown, picture) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        if same {
            return false;
        }
        self.shown = picture.cloned();
        self.panel = match (picture, &layout.display) {
            (Some(p), Some(spec)) => {
                let mips = mip_chain(p.width, p.height, p.rgba.clone());
                Some(self.panels.panel(gpu, &mips, spec.corners()))
            }
            _ => None,
        };
        true
    }

    /// Draws the display into `pass` (the room pass) from the camera `view_proj`.
    pub fn draw(
        &self,
        queue: &wgpu::Queue,
        pass: &mut wgpu::RenderPass<'_>,
        view_proj: glam::Mat4,
    ) {
        self.panels.draw(queue, pass, self.panel.iter(), view_proj);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_fitted_above_the_caption_keeping_its_aspect() {
        // A portrait page, red, 100 × 200.
        let page: Vec<u8> = (0..100 * 200).flat_map(|_| [200u8, 30, 30]).collect();
        let p =
            ExhibitPicture::compose(100, 200, &page, "Exhibit P-1 · plaintiff", PageRegion::Page)
                .unwrap();
        assert_eq!((p.width, p.height), DISPLAY_PIXELS);
        let band = (720.0 * CAPTION_SHARE).round() as u32;
        let area = 720 - band;
        // The page fills the height above the band and is centred: area/2 wide.
        assert_eq!(p.pixel(640, area / 2), [200, 30, 30]);
        assert_eq!(p.pixel(640, 2), [200, 30, 30]);
        let half = area / 4;
        assert_eq!(p.pixel(640 - half + 3, area / 2), [200, 30, 30]);
        assert_eq!(p.pixel(640 - half - 3, area / 2), DISPLAY_BACKGROUND);
        assert_eq!(p.pixel(640 + half + 3, area / 2), DISPLAY_BACKGROUND);
        // The caption band, with text in it.
        assert_eq!(p.pixel(2, 718), CAPTION_BACKGROUND);
        let lit = (area..720)
            .flat_map(|y| (0..1280).map(move |x| (x, y)))
            .filter(|&(x, y)| p.pixel(x, y) == CAPTION_TEXT)
            .count();
        assert!(lit > 100, "caption text pixels: {lit}");
    }

    #[test]
    fn a_region_shows_the_pages_width_and_that_part_of_its_height() {
        // A portrait page 100 × 400: red top 20 rows, green middle, blue bottom 20 rows. Its
        // width across the display, it is 5,120 pixels tall: 666 of them show.
        let page: Vec<u8> = (0..400)
            .flat_map(|y| {
                let c = match y {
                    0..20 => [250u8, 0, 0],
                    380..400 => [0, 0, 250],
                    _ => [0, 250, 0],
                };
                (0..100).flat_map(move |_| c)
            })
            .collect();
        let at = |region| {
            let p = ExhibitPicture::compose(100, 400, &page, "x", region).unwrap();
            // The width fills the display; the top row and the row just above the band.
            (p.pixel(5, 0), p.pixel(1275, 600), p.pixel(640, 0))
        };
        let (left, right, top) = at(PageRegion::Top);
        assert_eq!((left, right, top), ([250, 0, 0], [0, 250, 0], [250, 0, 0]));
        let (_, _, top) = at(PageRegion::Middle);
        assert_eq!(top, [0, 250, 0]);
        let p = ExhibitPicture::compose(100, 400, &page, "x", PageRegion::Bottom).unwrap();
        assert_eq!(p.pixel(640, 600), [0, 0, 250]);
        let whole = ExhibitPicture::compose(100, 400, &page, "x", PageRegion::Page).unwrap();
        assert_eq!(
            whole.pixel(5, 300),
            DISPLAY_BACKGROUND,
            "the whole page leaves the sides"
        );
    }

    #[test]
    fn scaling_keeps_a_pattern_and_an_empty_page_draws_only_the_surround() {
        // A 2 × 1 page: black left, white right; scaled up, the halves stay apart.
        let p = ExhibitPicture::compose(2, 1, &[0, 0, 0, 255, 255, 255], "x", PageRegion::Page)
            .unwrap();
        let y = 300;
        assert_eq!(p.pixel(100, y), [0, 0, 0]);
        assert_eq!(p.pixel(1180, y), [255, 255, 255]);
        let empty = ExhibitPicture::compose(0, 0, &[], "", PageRegion::Page).unwrap();
        assert_eq!(empty.pixel(640, 300), DISPLAY_BACKGROUND);
    }
}
