//! Auto key: fits a [`ScreenModel`] to a frame, tracks it slowly over time, and says when the
//! screen is too dark or too uneven for a clean key.
//!
//! The fit samples the frame on a coarse grid. The key's hue comes from the frame's border
//! (top and sides, where the screen nearly always shows); every sample whose chroma points the
//! same way is a screen candidate. Cubic surfaces for Y, Cb and Cr are fitted by least squares
//! and refitted without outliers (the subject, green-ish clothing); a coarse residual map
//! ([`super::residual`]) adds what the surfaces miss. What neither explains is measured as the
//! screen's hue noise and its shade (folds, shadows); the shader tolerates exactly that much.

use super::params::{terms, ScreenModel, PLATE_TERMS};
use super::residual::ResidualMap;
use super::KeyError;
use crate::media::frame::VideoFrame;

/// Grid step in luma pixels between samples.
const STEP: u32 = 8;
/// Hue window (radians) around the border's key hue that counts as screen.
const HUE_WINDOW: f32 = 0.45;
/// How far a screen sample's luma (relative to the model's) may stray from its chroma (along the
/// model's) and still feed the residual map.
const LUMA_AGREEMENT: f32 = 0.2;
/// Distance from the surfaces (relative to the key's chroma) within which a candidate feeds the
/// residual map; green-ish cloth lies further out.
const MAP_REACH: f32 = 0.3;
/// Shade above which the screen is too uneven.
const UNEVEN_SHADE: f32 = 0.35;
/// Median screen luma under which the screen is too dark.
const DARK_LUMA: f32 = 0.2;
/// Median screen chroma magnitude under which the screen is too dull.
const DULL_CHROMA: f32 = 0.07;

/// Why a screen will not key cleanly; shown on the participant's page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScreenWarning {
    /// The screen is dark or dull: too little colour to separate from the subject.
    TooDark,
    /// The screen has strong folds, shadows or hot spots.
    TooUneven,
}

impl ScreenWarning {
    /// The stable code the signalling and the API use: `too_dark` or `too_uneven`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooDark => "too_dark",
            Self::TooUneven => "too_uneven",
        }
    }

    /// A one-line hint for the participant.
    pub fn hint(&self) -> &'static str {
        match self {
            Self::TooDark => "Your green screen is too dark: light it more evenly and brightly.",
            Self::TooUneven => {
                "Your green screen is uneven: smooth out folds and light it from both sides."
            }
        }
    }
}

/// The result of fitting one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    /// The fitted screen.
    pub model: ScreenModel,
    /// Share of the sampled frame that is screen.
    pub screen_share: f32,
    /// Median screen luma (0..1).
    pub screen_luma: f32,
    /// Median screen chroma magnitude.
    pub screen_chroma: f32,
    /// A warning, when the screen will not key cleanly.
    pub warning: Option<ScreenWarning>,
}

struct Sample {
    x: f32,
    y: f32,
    luma: f32,
    cb: f32,
    cr: f32,
}

/// Fits the screen model to one frame.
pub fn estimate(frame: &VideoFrame) -> Result<Calibration, KeyError> {
    estimate_within(frame, [0.0, 0.0, 1.0, 1.0])
}

/// Fits the screen model to the part of a frame inside a garbage matte `[x0, y0, x1, y1]` (frame
/// uv, as [`super::KeyParams::garbage`]): what lies outside it (the floor past the sheet, a
/// lamp) is not sampled, and the key's hue is read from the matte's border, not the frame's.
pub fn estimate_within(frame: &VideoFrame, garbage: [f32; 4]) -> Result<Calibration, KeyError> {
    let (w, h) = (frame.width, frame.height);
    let [gx0, gy0, gx1, gy1] = garbage;
    let (cw, _) = frame.chroma_size();
    let mut samples = Vec::new();
    let mut border = Vec::new();
    let mut y = STEP / 2;
    while y < h {
        let mut x = STEP / 2;
        while x < w {
            let (u, v) = (x as f32 / w as f32, y as f32 / h as f32);
            if u < gx0 || u > gx1 || v < gy0 || v > gy1 {
                x += STEP;
                continue;
            }
            let ci = ((y / 2) * cw + x / 2) as usize;
            let s = Sample {
                x: x as f32 / w as f32 * 2.0 - 1.0,
                y: y as f32 / h as f32 * 2.0 - 1.0,
                luma: norm_y(frame.y[(y * w + x) as usize]),
                cb: norm_c(frame.u[ci]),
                cr: norm_c(frame.v[ci]),
            };
            // Green-ish: Cr negative and below Cb.
            let greenish = s.cr < -0.02 && s.cr < s.cb + 0.02;
            // Near the matte's sides or top (the whole frame's by default).
            let mx = (u - gx0) / (gx1 - gx0) * 2.0 - 1.0;
            let my = (v - gy0) / (gy1 - gy0) * 2.0 - 1.0;
            let edge = mx.abs() > 0.84 || my < -0.84;
            if greenish && edge {
                border.push((s.cb, s.cr));
            }
            samples.push(s);
            x += STEP;
        }
        y += STEP;
    }
    if border.len() < 20 {
        border = samples
            .iter()
            .filter(|s| s.cr < -0.02 && s.cr < s.cb + 0.02)
            .map(|s| (s.cb, s.cr))
            .collect();
    }
    if border.len() < 20 {
        return Err(KeyError::NoScreen);
    }
    let kcb = median(border.iter().map(|p| p.0).collect());
    let kcr = median(border.iter().map(|p| p.1).collect());
    let key_angle = kcr.atan2(kcb);
    let key_sat = kcb.hypot(kcr);
    let cand: Vec<&Sample> = samples
        .iter()
        .filter(|s| {
            let da = wrap_angle(s.cr.atan2(s.cb) - key_angle).abs();
            da < HUE_WINDOW && s.cb.hypot(s.cr) > 0.25 * key_sat
        })
        .collect();
    if cand.len() < 4 * PLATE_TERMS {
        return Err(KeyError::NoScreen);
    }
    let rows: Vec<[f32; PLATE_TERMS]> = cand.iter().map(|s| terms(s.x, s.y)).collect();
    let mut inlier = vec![true; cand.len()];
    let mut model = ScreenModel::flat([0, 0, 0]);
    let mut par = vec![0.0f32; cand.len()];
    let mut perp = vec![0.0f32; cand.len()];
    let mut dist = Vec::new();
    for _ in 0..4 {
        let chans = [
            cand.iter().map(|s| s.luma).collect::<Vec<_>>(),
            cand.iter().map(|s| s.cb).collect(),
            cand.iter().map(|s| s.cr).collect(),
        ];
        let fits: Vec<[f32; PLATE_TERMS]> = chans
            .iter()
            .map(|c| least_squares(&rows, c, &inlier))
            .collect::<Option<_>>()
            .ok_or(KeyError::NoScreen)?;
        model.y = fits[0];
        model.cb = fits[1];
        model.cr = fits[2];
        dist.clear();
        for (i, s) in cand.iter().enumerate() {
            let t = &rows[i];
            let pcb: f32 = model.cb.iter().zip(t).map(|(a, b)| a * b).sum();
            let pcr: f32 = model.cr.iter().zip(t).map(|(a, b)| a * b).sum();
            let n2 = (pcb * pcb + pcr * pcr).max(1e-6);
            par[i] = (s.cb * pcb + s.cr * pcr) / n2;
            perp[i] = (s.cb * pcr - s.cr * pcb) / n2;
            dist.push((par[i] - 1.0).hypot(perp[i]));
        }
        let inl: Vec<f32> = dist
            .iter()
            .zip(&inlier)
            .filter(|(_, k)| **k)
            .map(|(d, _)| *d)
            .collect();
        let limit = (3.0 * 1.4826 * median(inl)).max(0.1);
        for (k, d) in inlier.iter_mut().zip(&dist) {
            *k = *d < limit;
        }
    }
    let kept = inlier.iter().filter(|k| **k).count();
    if kept < 4 * PLATE_TERMS {
        return Err(KeyError::NoScreen);
    }
    // What the surfaces miss, per cell, from the inliers; then the tolerances are measured
    // against surfaces and map together, so they hold only what neither explains.
    // The map takes candidates somewhat beyond the surfaces' inliers (a hue patch is what the
    // surfaces could not fit), but not one whose luma the chroma does not explain: spill makes
    // a bright shirt's edge screen-coloured, but not screen-bright (the shader's luma residual).
    let uv = |s: &Sample| [(s.x + 1.0) * 0.5, (s.y + 1.0) * 0.5];
    model.residual = ResidualMap::fit(
        cand.iter()
            .zip(&dist)
            .zip(&par)
            .filter(|((_, d), _)| **d < MAP_REACH)
            .filter_map(|((s, _), p)| {
                let [y, cb, cr] = model.smooth_at(uv(s));
                ((s.luma / y.max(1e-3) - p).abs() < LUMA_AGREEMENT)
                    .then(|| (uv(s), [s.luma - y, s.cb - cb, s.cr - cr]))
            }),
    );
    for (i, s) in cand.iter().enumerate() {
        let [_, pcb, pcr] = model.at(uv(s));
        let n2 = (pcb * pcb + pcr * pcr).max(1e-6);
        par[i] = (s.cb * pcb + s.cr * pcr) / n2;
        perp[i] = (s.cb * pcr - s.cr * pcb) / n2;
    }
    let pick = |v: &[f32], only_inliers: bool| -> Vec<f32> {
        v.iter()
            .zip(&inlier)
            .filter(|(_, k)| !only_inliers || **k)
            .map(|(x, _)| *x)
            .collect()
    };
    model.noise = percentile(pick(&perp, true).iter().map(|p| p.abs()).collect(), 0.97);
    // Shade over every candidate, outliers included: folds are what the fit rejects.
    model.shade = percentile(
        pick(&par, false)
            .iter()
            .map(|p| (1.0 - p).max(0.0))
            .collect(),
        0.97,
    );
    let screen_luma = median(
        cand.iter()
            .zip(&inlier)
            .filter(|(_, k)| **k)
            .map(|(s, _)| s.luma)
            .collect(),
    );
    let screen_chroma = median(
        cand.iter()
            .zip(&inlier)
            .filter(|(_, k)| **k)
            .map(|(s, _)| s.cb.hypot(s.cr))
            .collect(),
    );
    let warning = if screen_luma < DARK_LUMA || screen_chroma < DULL_CHROMA {
        Some(ScreenWarning::TooDark)
    } else if model.shade > UNEVEN_SHADE {
        Some(ScreenWarning::TooUneven)
    } else {
        None
    };
    Ok(Calibration {
        model,
        screen_share: kept as f32 / samples.len() as f32,
        screen_luma,
        screen_chroma,
        warning,
    })
}

/// Follows a seat's screen over time: the first fit is taken whole, later ones move the model
/// only a little, so the key does not jump when someone walks past or the light flickers.
#[derive(Debug, Clone, Default)]
pub struct KeyTracker {
    model: Option<ScreenModel>,
    warning: Option<ScreenWarning>,
    fits: u32,
}

impl KeyTracker {
    /// The share a new fit moves the model once tracking has settled.
    pub const RATE: f32 = 0.1;
    /// Fits taken at a higher rate at the start (the first seconds set the key).
    pub const WARMUP: u32 = 5;

    /// Feeds one frame; returns the current model (unchanged when the frame has no screen).
    pub fn update(&mut self, frame: &VideoFrame) -> Option<ScreenModel> {
        self.update_within(frame, [0.0, 0.0, 1.0, 1.0])
    }

    /// [`Self::update`], fitting only inside the seat's garbage matte (see [`estimate_within`]).
    pub fn update_within(&mut self, frame: &VideoFrame, garbage: [f32; 4]) -> Option<ScreenModel> {
        if let Ok(cal) = estimate_within(frame, garbage) {
            self.warning = cal.warning;
            self.fits += 1;
            match &mut self.model {
                None => self.model = Some(cal.model),
                Some(m) => {
                    let rate = if self.fits <= Self::WARMUP {
                        0.5
                    } else {
                        Self::RATE
                    };
                    m.blend_towards(&cal.model, rate);
                }
            }
        }
        self.model
    }

    /// The current model.
    pub fn model(&self) -> Option<ScreenModel> {
        self.model
    }

    /// The latest warning about the screen.
    pub fn warning(&self) -> Option<ScreenWarning> {
        self.warning
    }

    /// Forgets everything (a new person took the seat).
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

fn norm_y(v: u8) -> f32 {
    (v as f32 / 255.0 - 16.0 / 255.0) * (255.0 / 219.0)
}

fn norm_c(v: u8) -> f32 {
    (v as f32 / 255.0 - 128.0 / 255.0) * (255.0 / 224.0)
}

fn wrap_angle(a: f32) -> f32 {
    use std::f32::consts::PI;
    (a + PI).rem_euclid(2.0 * PI) - PI
}

fn median(v: Vec<f32>) -> f32 {
    percentile(v, 0.5)
}

fn percentile(mut v: Vec<f32>, q: f32) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f32::total_cmp);
    let i = ((v.len() - 1) as f32 * q).round() as usize;
    v[i]
}

/// Least squares over the rows marked in `use_row`: solves the normal equations.
fn least_squares(
    rows: &[[f32; PLATE_TERMS]],
    target: &[f32],
    use_row: &[bool],
) -> Option<[f32; PLATE_TERMS]> {
    const N: usize = PLATE_TERMS;
    let mut a = [[0.0f64; N + 1]; N];
    for ((r, t), u) in rows.iter().zip(target).zip(use_row) {
        if !*u {
            continue;
        }
        for i in 0..N {
            for j in 0..N {
                a[i][j] += r[i] as f64 * r[j] as f64;
            }
            a[i][N] += r[i] as f64 * *t as f64;
        }
    }
    for (i, row) in a.iter_mut().enumerate() {
        row[i] += 1e-6;
    }
    // Gaussian elimination with partial pivoting.
    for c in 0..N {
        let p = (c..N).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
        if a[p][c].abs() < 1e-12 {
            return None;
        }
        a.swap(c, p);
        for r in 0..N {
            if r != c {
                let f = a[r][c] / a[c][c];
                for k in c..=N {
                    a[r][k] -= f * a[c][k];
                }
            }
        }
    }
    let mut out = [0.0f32; N];
    for i in 0..N {
        out[i] = (a[i][N] / a[i][i]) as f32;
    }
    Some(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::keying::params::{rgb_to_ycc, ycc_to_rgb};
    use crate::keying::picture::frame_from_rgb;

    /// A generated scene: a screen of `screen` RGB lit with a horizontal gradient (`gradient`
    /// = relative change across the frame) and a vertical fold, with a neutral-grey subject
    /// (a disc) in the middle.
    pub(crate) fn scene(w: u32, h: u32, screen: [u8; 3], gradient: f32) -> (Vec<u8>, Vec<bool>) {
        let mut rgb = vec![0u8; (w * h * 3) as usize];
        let mut subject = vec![false; (w * h) as usize];
        for y in 0..h {
            for x in 0..w {
                let u = x as f32 / w as f32 - 0.5;
                let light = 1.0 + gradient * u;
                let dx = x as f32 - w as f32 * 0.5;
                let dy = y as f32 - h as f32 * 0.55;
                let inside = dx.hypot(dy) < h as f32 * 0.3;
                let c = if inside {
                    [128, 120, 115]
                } else {
                    screen.map(|c| (c as f32 * light).clamp(0.0, 255.0) as u8)
                };
                let i = ((y * w + x) * 3) as usize;
                rgb[i..i + 3].copy_from_slice(&c);
                subject[(y * w + x) as usize] = inside;
            }
        }
        (rgb, subject)
    }

    fn check(screen: [u8; 3], gradient: f32) -> Calibration {
        let (w, h) = (320, 240);
        let (rgb, _) = scene(w, h, screen, gradient);
        let cal = estimate(&frame_from_rgb(w, h, &rgb)).expect("a screen is there");
        // The model at the left and right edges, against the true lit screen colour there.
        for (u, light) in [
            (0.05f32, 1.0 - gradient * 0.45),
            (0.95, 1.0 + gradient * 0.45),
        ] {
            let truth = rgb_to_ycc(screen.map(|c| c as f32 / 255.0 * light));
            let got = cal.model.at([u, 0.1]);
            for k in 0..3 {
                assert!(
                    (got[k] - truth[k]).abs() < 0.03,
                    "screen {screen:?} at u={u}: channel {k} model {got:?} truth {truth:?}"
                );
            }
        }
        cal
    }

    #[test]
    fn the_residual_map_follows_a_hue_patch_the_surfaces_cannot() {
        // A screen with a small, sharp patch of yellower green in the top-left: too local for
        // cubic surfaces, well inside a few map cells.
        let (w, h) = (320u32, 240u32);
        let (mut rgb, _) = scene(w, h, [30, 170, 60], 0.0);
        let patch = |x: u32, y: u32| (40..100).contains(&x) && (20..70).contains(&y);
        for y in 0..h {
            for x in 0..w {
                if patch(x, y) {
                    let i = ((y * w + x) * 3) as usize;
                    rgb[i..i + 3].copy_from_slice(&[50, 172, 52]);
                }
            }
        }
        let cal = estimate(&frame_from_rgb(w, h, &rgb)).expect("a screen is there");
        let truth = rgb_to_ycc([50.0 / 255.0, 172.0 / 255.0, 52.0 / 255.0]);
        let at = [70.0 / w as f32, 45.0 / h as f32];
        let (full, smooth) = (cal.model.at(at), cal.model.smooth_at(at));
        let err = |m: [f32; 3]| (m[1] - truth[1]).abs().max((m[2] - truth[2]).abs());
        assert!(err(full) < 0.012, "model {full:?}, truth {truth:?}");
        assert!(err(smooth) > 2.0 * err(full), "surfaces alone {smooth:?}");
    }

    #[test]
    fn finds_a_bright_green_screen_with_a_gradient() {
        let cal = check([30, 190, 70], 0.4);
        assert_eq!(cal.warning, None);
        assert!(cal.screen_share > 0.5 && cal.screen_share < 0.9);
    }

    #[test]
    fn finds_a_blue_green_screen() {
        let cal = check([20, 160, 130], 0.2);
        let rgb = ycc_to_rgb(cal.model.at([0.5, 0.5]));
        assert!(rgb[2] > rgb[0] + 0.2, "blue-green keeps its blue: {rgb:?}");
    }

    #[test]
    fn finds_a_dim_screen_and_warns() {
        let cal = check([12, 50, 20], 0.3);
        assert_eq!(cal.warning, Some(ScreenWarning::TooDark));
    }

    #[test]
    fn refuses_a_frame_without_a_screen() {
        let frame = VideoFrame::solid(64, 48, [120, 110, 100]);
        assert!(matches!(estimate(&frame), Err(KeyError::NoScreen)));
    }

    #[test]
    fn ignores_what_lies_outside_the_garbage_matte() {
        // The sheet does not fill the camera: the left quarter is the same green in shadow (a
        // wall beyond the sheet), which the whole-frame fit takes for a badly uneven screen.
        let (w, h) = (320, 240);
        let screen = [30u8, 190, 70];
        let (mut rgb, _) = scene(w, h, screen, 0.0);
        for y in 0..h {
            for x in 0..w / 4 {
                let i = ((y * w + x) * 3) as usize;
                rgb[i..i + 3].copy_from_slice(&[15, 95, 35]);
            }
        }
        let frame = frame_from_rgb(w, h, &rgb);
        let matted = estimate_within(&frame, [0.26, 0.0, 1.0, 1.0]).unwrap();
        let whole = estimate(&frame).unwrap();
        assert_eq!(matted.warning, None);
        assert!(
            matted.model.shade < 0.1,
            "with the matte: {}",
            matted.model.shade
        );
        assert!(
            whole.model.shade > 2.0 * matted.model.shade + 0.1,
            "without: {}, with: {}",
            whole.model.shade,
            matted.model.shade
        );
        let truth = rgb_to_ycc(screen.map(|c| c as f32 / 255.0));
        let got = matted.model.at([0.6, 0.1]);
        for k in 0..3 {
            assert!((got[k] - truth[k]).abs() < 0.03, "{got:?} {truth:?}");
        }
    }

    #[test]
    fn tracker_moves_slowly_after_warmup() {
        let (w, h) = (160, 120);
        let a = frame_from_rgb(w, h, &scene(w, h, [30, 190, 70], 0.0).0);
        let b = frame_from_rgb(w, h, &scene(w, h, [30, 120, 70], 0.0).0);
        let mut t = KeyTracker::default();
        for _ in 0..=KeyTracker::WARMUP {
            t.update(&a);
        }
        let before = t.model().unwrap().y[0];
        let after = t.update(&b).unwrap().y[0];
        let target = estimate(&b).unwrap().model.y[0];
        let moved = (after - before) / (target - before);
        assert!(
            (moved - KeyTracker::RATE).abs() < 1e-3,
            "moved {moved} of the way"
        );
    }
}
