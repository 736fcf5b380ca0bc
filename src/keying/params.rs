//! Per-seat key parameters and their packing into the shader's [`KeyUniform`].
//!
//! A seat keys against a [`ScreenModel`]: the bare screen's Y, Cb and Cr as smooth cubic
//! surfaces over the frame, plus how much it deviates from them (hue noise, shade). Calibration
//! ([`super::calibrate`]) fits one from the participant's video; without one, a flat model is
//! made from the manual key colour.

use serde::{Deserialize, Serialize};

use super::residual::ResidualMap;
use crate::gpu::types::KeyUniform;

/// Number of polynomial terms in a screen surface: 1, x, y, x², xy, y², x³, x²y, xy², y³.
pub const PLATE_TERMS: usize = 10;

/// The bare screen as seen by the camera: smooth surfaces over uv in [-1, 1], in full-range
/// BT.601 (Y 0..1, Cb and Cr centred on 0), and its measured unevenness.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScreenModel {
    /// Luma surface coefficients.
    pub y: [f32; PLATE_TERMS],
    /// Cb surface coefficients.
    pub cb: [f32; PLATE_TERMS],
    /// Cr surface coefficients.
    pub cr: [f32; PLATE_TERMS],
    /// Hue deviation of the screen from the surface (relative to the key's saturation) that
    /// is still screen: the 97th percentile measured.
    pub noise: f32,
    /// How much darker than the surface the screen gets in folds and shadows (fraction), the
    /// 97th percentile measured.
    pub shade: f32,
    /// What the surfaces miss, per coarse cell (hue patches, sags, hot spots).
    #[serde(skip)]
    pub residual: ResidualMap,
}

impl ScreenModel {
    /// A flat screen of one colour, with typical noise and shade.
    pub fn flat(rgb: [u8; 3]) -> Self {
        let [y, cb, cr] = rgb_to_ycc(rgb.map(|c| c as f32 / 255.0));
        let mut m = Self {
            y: [0.0; PLATE_TERMS],
            cb: [0.0; PLATE_TERMS],
            cr: [0.0; PLATE_TERMS],
            noise: 0.08,
            shade: 0.15,
            residual: ResidualMap::default(),
        };
        m.y[0] = y;
        m.cb[0] = cb;
        m.cr[0] = cr;
        m
    }

    /// The model's (Y, Cb, Cr) at `uv` (0..1 over the frame): the surfaces plus the residual.
    pub fn at(&self, uv: [f32; 2]) -> [f32; 3] {
        let [y, cb, cr] = self.smooth_at(uv);
        let [ry, rcb, rcr] = self.residual.at(uv);
        [y + ry, cb + rcb, cr + rcr]
    }

    /// The smooth surfaces alone at `uv`, without the residual map.
    pub fn smooth_at(&self, uv: [f32; 2]) -> [f32; 3] {
        let t = terms(uv[0] * 2.0 - 1.0, uv[1] * 2.0 - 1.0);
        let dot = |c: &[f32; PLATE_TERMS]| c.iter().zip(t.iter()).map(|(a, b)| a * b).sum();
        [dot(&self.y), dot(&self.cb), dot(&self.cr)]
    }

    /// The model's colour at the frame's centre, as 8-bit RGB (for display).
    pub fn centre_rgb(&self) -> [u8; 3] {
        let [y, cb, cr] = self.at([0.5, 0.5]);
        ycc_to_rgb([y, cb, cr]).map(|c| (c.clamp(0.0, 1.0) * 255.0).round() as u8)
    }

    /// Moves this model a fraction `rate` (0..1) towards `other` (slow tracking).
    pub fn blend_towards(&mut self, other: &ScreenModel, rate: f32) {
        let mix = |a: &mut f32, b: f32| *a += (b - *a) * rate;
        for i in 0..PLATE_TERMS {
            mix(&mut self.y[i], other.y[i]);
            mix(&mut self.cb[i], other.cb[i]);
            mix(&mut self.cr[i], other.cr[i]);
        }
        mix(&mut self.noise, other.noise);
        mix(&mut self.shade, other.shade);
        self.residual.blend_towards(&other.residual, rate);
    }
}

/// The polynomial terms at (x, y) in [-1, 1].
pub fn terms(x: f32, y: f32) -> [f32; PLATE_TERMS] {
    [
        1.0,
        x,
        y,
        x * x,
        x * y,
        y * y,
        x * x * x,
        x * x * y,
        x * y * y,
        y * y * y,
    ]
}

/// Full-range BT.601 RGB (0..1) → (Y, Cb, Cr), chroma centred on 0; the shader's convention.
pub fn rgb_to_ycc([r, g, b]: [f32; 3]) -> [f32; 3] {
    [
        0.299 * r + 0.587 * g + 0.114 * b,
        -0.168736 * r - 0.331264 * g + 0.5 * b,
        0.5 * r - 0.418688 * g - 0.081312 * b,
    ]
}

/// The inverse of [`rgb_to_ycc`].
pub fn ycc_to_rgb([y, cb, cr]: [f32; 3]) -> [f32; 3] {
    [
        y + 1.402 * cr,
        y - 0.344136 * cb - 0.714136 * cr,
        y + 1.772 * cb,
    ]
}

/// Keying parameters for one seat. Every field has a default that works for a typical home
/// green screen; `--params FILE` (TOML) and the hearing's per-seat settings override them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeyParams {
    /// The screen colour when there is no fitted screen model (manual key, or before
    /// calibration has seen a frame).
    pub key_rgb: [u8; 3],
    /// Whether calibration may fit the screen model from the participant's video.
    pub auto: bool,
    /// The fitted screen model; `None` keys against a flat `key_rgb`.
    #[serde(skip)]
    pub screen: Option<ScreenModel>,
    /// Distance from the screen under which a pixel is fully transparent.
    pub inner: f32,
    /// Multiplier on the measured hue noise tolerated as screen.
    pub noise_scale: f32,
    /// Multiplier on the measured shade (darkening in folds) tolerated as screen.
    pub shade_scale: f32,
    /// Upper bound on the shade tolerance: darker folds than this key as subject.
    pub shade_max: f32,
    /// How much more saturated than the model the screen may be and still be screen.
    pub oversaturation: f32,
    /// Radius in source pixels of the ring that finds the nearby subject and screen.
    pub edge_radius: f32,
    /// Smallest distance taken as the subject's own (green-ish clothing is close to the key).
    pub edge_span_min: f32,
    /// Largest distance taken as the subject's own.
    pub edge_span_max: f32,
    /// Luma difference (0..1) over which chroma upsampling stops mixing across an edge.
    pub guide_sigma: f32,
    /// Spill suppression strength 0..1.
    pub spill: f32,
    /// How much chroma along the key a subject's colour keeps, per unit of its chroma across
    /// the key. Teal and yellow-green cloth lie off the key's hue and keep their green; spill
    /// on a neutral shirt or skin lies along it and is removed. 0 removes all green.
    pub spill_hue_keep: f32,
    /// Luma residual (luma that the chroma does not explain, relative to the screen's) still
    /// taken as screen: sensor noise and hotspots beyond the screen model.
    pub luma_tolerance: f32,
    /// Smallest luma residual taken as the subject's own.
    pub luma_span_min: f32,
    /// Largest luma residual taken as the subject's own.
    pub luma_span_max: f32,
    /// Garbage matte `[x0, y0, x1, y1]` in the camera frame's uv (0..1): everything outside
    /// this rectangle is transparent whatever its colour (the edge of a sheet that does not
    /// fill the camera, a door frame, a lamp). The default, the whole frame, keeps everything.
    pub garbage: [f32; 4],
}

impl Default for KeyParams {
    fn default() -> Self {
        Self {
            key_rgb: [0, 177, 64],
            auto: true,
            screen: None,
            inner: 0.04,
            noise_scale: 1.0,
            shade_scale: 1.0,
            shade_max: 0.35,
            oversaturation: 0.3,
            edge_radius: 5.0,
            edge_span_min: 0.45,
            edge_span_max: 1.0,
            guide_sigma: 0.06,
            spill: 1.0,
            spill_hue_keep: 1.5,
            luma_tolerance: 0.2,
            luma_span_min: 0.6,
            luma_span_max: 1.2,
            garbage: [0.0, 0.0, 1.0, 1.0],
        }
    }
}

impl KeyParams {
    /// The key colour's chroma `(Cb, Cr)`, full range, centred on 0.
    pub fn key_cbcr(&self) -> [f32; 2] {
        let [_, cb, cr] = rgb_to_ycc(self.key_rgb.map(|c| c as f32 / 255.0));
        [cb, cr]
    }

    /// The screen model in use: the fitted one, else a flat one of `key_rgb`.
    pub fn model(&self) -> ScreenModel {
        self.screen
            .unwrap_or_else(|| ScreenModel::flat(self.key_rgb))
    }

    /// Whether the garbage matte is a proper rectangle in the frame:
    /// 0 ≤ x0 < x1 ≤ 1 and 0 ≤ y0 < y1 ≤ 1.
    pub fn garbage_is_valid(&self) -> bool {
        let [x0, y0, x1, y1] = self.garbage;
        (0.0..x1).contains(&x0) && x1 <= 1.0 && (0.0..y1).contains(&y0) && y1 <= 1.0
    }

    /// Whether `uv` (0..1 over the frame) lies inside the garbage matte.
    pub fn in_garbage_matte(&self, uv: [f32; 2]) -> bool {
        let [x0, y0, x1, y1] = self.garbage;
        uv[0] >= x0 && uv[0] <= x1 && uv[1] >= y0 && uv[1] <= y1
    }

    /// Packs these parameters for the shader.
    pub fn uniform(&self) -> KeyUniform {
        let m = self.model();
        let pack = |c: &[f32; PLATE_TERMS]| {
            let mut out = [[0.0f32; 4]; 3];
            for (i, v) in c.iter().enumerate() {
                out[i / 4][i % 4] = *v;
            }
            out
        };
        KeyUniform {
            plate_y: pack(&m.y),
            plate_cb: pack(&m.cb),
            plate_cr: pack(&m.cr),
            matte: [
                self.inner,
                (m.shade * self.shade_scale).min(self.shade_max).max(0.0),
                m.noise * self.noise_scale,
                self.oversaturation,
            ],
            edge: [
                self.edge_radius,
                self.edge_span_min,
                self.edge_span_max,
                self.guide_sigma.max(1e-3),
            ],
            spill: [self.spill, self.spill_hue_keep, 0.0, 0.0],
            garbage: self.garbage,
            luma: [
                self.luma_tolerance,
                self.luma_span_min,
                self.luma_span_max,
                0.0,
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_chroma_of_screen_green_is_negative() {
        let [cb, cr] = KeyParams::default().key_cbcr();
        assert!(cb < -0.05 && cr < -0.2, "{cb} {cr}");
    }

    #[test]
    fn flat_model_is_the_key_colour_everywhere() {
        let m = ScreenModel::flat([10, 200, 60]);
        for uv in [[0.0, 0.0], [0.5, 0.5], [1.0, 0.3]] {
            let rgb = ycc_to_rgb(m.at(uv));
            assert!((rgb[1] - 200.0 / 255.0).abs() < 1e-4, "{rgb:?}");
        }
        assert_eq!(m.centre_rgb(), [10, 200, 60]);
    }

    #[test]
    fn uniform_packs_terms_in_order_and_caps_shade() {
        let mut m = ScreenModel::flat([0, 180, 60]);
        m.y[9] = 0.5;
        m.shade = 0.9;
        let p = KeyParams {
            screen: Some(m),
            ..Default::default()
        };
        let u = p.uniform();
        assert_eq!(u.plate_y[2][1], 0.5);
        assert_eq!(u.matte[1], p.shade_max);
    }

    #[test]
    fn params_file_overrides_only_what_it_names() {
        let p: KeyParams = toml::from_str("spill = 0.5\nkey_rgb = [1, 2, 3]").unwrap();
        assert_eq!(p.spill, 0.5);
        assert_eq!(p.key_rgb, [1, 2, 3]);
        assert_eq!(p.inner, KeyParams::default().inner);
        assert_eq!(p.garbage, KeyParams::default().garbage);
        let g: KeyParams = toml::from_str("garbage = [0.1, 0.0, 0.9, 1.0]").unwrap();
        assert_eq!(g.garbage, [0.1, 0.0, 0.9, 1.0]);
        assert_eq!(g.uniform().garbage, [0.1, 0.0, 0.9, 1.0]);
    }

    #[test]
    fn garbage_matte_is_checked() {
        assert!(KeyParams::default().garbage_is_valid());
        for g in [
            [0.5, 0.0, 0.5, 1.0],
            [0.0, 0.6, 1.0, 0.4],
            [-0.1, 0.0, 1.0, 1.0],
            [0.0, 0.0, 1.0, 1.1],
            [f32::NAN, 0.0, 1.0, 1.0],
        ] {
            let p = KeyParams {
                garbage: g,
                ..Default::default()
            };
            assert!(!p.garbage_is_valid(), "{g:?}");
        }
    }
}
