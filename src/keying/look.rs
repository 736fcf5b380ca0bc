//! Matching a keyed person's brightness and white balance to the room.
//!
//! Webcams expose and white-balance for whatever is in front of them: one person sits in a
//! dark study under a tungsten lamp, another by a bright window in cold daylight, and pasted
//! side by side on one bench they look like cut-outs. About once a second (beside the key
//! calibration, never in the tick) each seat's subject — the pixels the screen model does not
//! explain — is measured ([`measure`]). [`LookMatch`] turns that into per-channel gains: a
//! brightness gain bringing the subject's mean luma towards the room's, and a
//! [`WhiteBalance`] bringing the subject's near-neutral pixels towards the room's white light.
//! Both stay within limits and move slowly, so nobody visibly pulses or changes colour.

use super::params::ScreenModel;
use crate::media::frame::VideoFrame;

/// Mean luma (full range, 0..1) a seated person is brought towards: a mid-tone that reads well
/// against the courtroom's wood and wall under its light.
pub const ROOM_SUBJECT_LUMA: f32 = 0.46;
/// The gain never goes beyond these: a dim camera is lifted, not made into a different one.
pub const GAIN_RANGE: (f32, f32) = (0.7, 1.5);
/// Share of the way a new measurement moves a gain (about a 5 s settle at one per second).
pub const RATE: f32 = 0.2;
/// Most a white-balance gain moves one channel either way (0.15: 0.85..1.15), so a wrong
/// guess — a beige shirt taken for a tinted grey one — still leaves skin looking like skin.
pub const BALANCE_LIMIT: f32 = 0.15;
/// Chroma magnitude (Cb, Cr in ±0.5) at which a subject pixel stops counting as near-neutral
/// for white balance. Saturated clothing (a red jumper: about 0.3) and most skin (0.15 and
/// more) are left out, so their colour is not taken for the light's; a tinted grey (0.05–0.1)
/// is in.
pub const NEUTRAL_CHROMA: f32 = 0.15;
/// Luma (0..1) below which a subject pixel is too dark to say anything about the light (hair,
/// shadows, sensor noise), and above which it may be clipped.
const BALANCE_LUMA: (f32, f32) = (0.2, 0.95);
/// The colour of the room's light, per channel: `shaders/room.wgsl` lights the courtroom with
/// white light, so a near-neutral surface is brought towards grey.
const ROOM_WHITE: [f32; 3] = [1.0, 1.0, 1.0];
/// BT.601 luma weights.
const LUMA: [f32; 3] = [0.299, 0.587, 0.114];

/// What one look at a seat's subject found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SubjectStats {
    /// Mean luma (full range, 0..1) of the subject.
    pub luma: f32,
    /// Mean RGB (0..1) of the subject's near-neutral, not-too-dark pixels, weighted towards
    /// the brighter and less saturated ones; `None` when too few such pixels were seen to
    /// judge the light by.
    pub neutral: Option<[f32; 3]>,
}

/// Measures the frame's subject: sampled pixels whose chroma is far from the screen model's
/// there. `None` when too little of the frame is subject to judge.
pub fn measure(frame: &VideoFrame, screen: &ScreenModel) -> Option<SubjectStats> {
    const STEP: u32 = 8;
    let (w, h) = (frame.width, frame.height);
    let (cw, _) = frame.chroma_size();
    let (mut sum, mut n, mut all) = (0.0f32, 0u32, 0u32);
    let (mut rgb_sum, mut weight, mut neutral_n) = ([0.0f32; 3], 0.0f32, 0u32);
    let mut y = STEP / 2;
    while y < h {
        let mut x = STEP / 2;
        while x < w {
            all += 1;
            let [_, pcb, pcr] = screen.at([x as f32 / w as f32, y as f32 / h as f32]);
            let ci = ((y / 2) * cw + x / 2) as usize;
            let cb = (frame.u[ci] as f32 - 128.0) / 224.0;
            let cr = (frame.v[ci] as f32 - 128.0) / 224.0;
            // Along the screen's chroma axis: 1 on the screen, about 0 for a neutral subject.
            let norm = (pcb * pcb + pcr * pcr).max(1e-6);
            let along = (cb * pcb + cr * pcr) / norm;
            if along < 0.5 {
                let luma = ((frame.y[(y * w + x) as usize] as f32 - 16.0) / 219.0).clamp(0.0, 1.0);
                sum += luma;
                n += 1;
                // Grey world over the brighter, less saturated subject pixels.
                let chroma = (cb * cb + cr * cr).sqrt();
                if chroma < NEUTRAL_CHROMA && (BALANCE_LUMA.0..BALANCE_LUMA.1).contains(&luma) {
                    let wgt = luma * (1.0 - chroma / NEUTRAL_CHROMA);
                    let rgb = [
                        luma + 1.402 * cr,
                        luma - 0.344_136 * cb - 0.714_136 * cr,
                        luma + 1.772 * cb,
                    ];
                    for (s, c) in rgb_sum.iter_mut().zip(rgb) {
                        *s += wgt * c.clamp(0.0, 1.0);
                    }
                    weight += wgt;
                    neutral_n += 1;
                }
            }
            x += STEP;
        }
        y += STEP;
    }
    (n >= 20 && n * 20 >= all).then(|| SubjectStats {
        luma: sum / n as f32,
        neutral: (neutral_n >= 20 && weight > 1e-3).then(|| rgb_sum.map(|s| s / weight)),
    })
}

/// One seat's white balance: per-channel gains, eased towards those that would turn the
/// subject's near-neutral mean into the room's white at the same luma, within
/// [`BALANCE_LIMIT`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WhiteBalance {
    gains: [f32; 3],
}

impl Default for WhiteBalance {
    fn default() -> Self {
        Self { gains: [1.0; 3] }
    }
}

impl WhiteBalance {
    /// Takes one measurement of the subject's near-neutral mean RGB; returns the gains.
    pub fn update(&mut self, neutral: [f32; 3]) -> [f32; 3] {
        let luma = dot(LUMA, neutral);
        let white = dot(LUMA, ROOM_WHITE);
        for c in 0..3 {
            // The gain that makes this channel the room white's share of the same luma.
            let want = (ROOM_WHITE[c] / white * luma / neutral[c].max(1e-3))
                .clamp(1.0 - BALANCE_LIMIT, 1.0 + BALANCE_LIMIT);
            self.gains[c] += (want - self.gains[c]) * RATE;
        }
        self.gains
    }

    /// The current gains, red, green, blue.
    pub fn gains(&self) -> [f32; 3] {
        self.gains
    }
}

fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// One seat's look: a brightness gain eased towards the room's target, and its
/// [`WhiteBalance`]. The shader multiplies the keyed colour by [`LookMatch::gains`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LookMatch {
    gain: f32,
    balance: WhiteBalance,
}

impl Default for LookMatch {
    fn default() -> Self {
        Self {
            gain: 1.0,
            balance: WhiteBalance::default(),
        }
    }
}

impl LookMatch {
    /// Takes one measurement of the subject; returns the per-channel gains to draw with.
    /// Without near-neutral pixels to judge by, the white balance stays where it was.
    pub fn update(&mut self, subject: &SubjectStats) -> [f32; 3] {
        let want = (ROOM_SUBJECT_LUMA / subject.luma.max(1e-3)).clamp(GAIN_RANGE.0, GAIN_RANGE.1);
        self.gain += (want - self.gain) * RATE;
        if let Some(neutral) = subject.neutral {
            self.balance.update(neutral);
        }
        self.gains()
    }

    /// The current brightness gain.
    pub fn gain(&self) -> f32 {
        self.gain
    }

    /// The current per-channel gains: brightness times white balance, red, green, blue.
    pub fn gains(&self) -> [f32; 3] {
        self.balance.gains().map(|b| b * self.gain)
    }

    /// Back to no change (a new person took the seat).
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keying::picture::{frame_from_rgb, synthetic_person, SCREEN_GREEN};
    use crate::media::frame::rgb_to_yuv;

    fn luma_of(luma: f32) -> SubjectStats {
        SubjectStats {
            luma,
            neutral: None,
        }
    }

    /// `rgb` scaled per channel by `tint`.
    fn tinted(rgb: [u8; 3], tint: [f32; 3]) -> [u8; 3] {
        [0, 1, 2].map(|c| (rgb[c] as f32 * tint[c]).round().clamp(0.0, 255.0) as u8)
    }

    /// Red minus blue, relative to green: how warm a colour is.
    fn warmth(rgb: [f32; 3]) -> f32 {
        (rgb[0] - rgb[2]) / rgb[1]
    }

    fn neutral_of(frame: &VideoFrame) -> [f32; 3] {
        measure(frame, &ScreenModel::flat(SCREEN_GREEN))
            .expect("a subject")
            .neutral
            .expect("near-neutral pixels")
    }

    #[test]
    fn the_subject_is_measured_apart_from_the_screen() {
        let screen = ScreenModel::flat(SCREEN_GREEN);
        let dark = measure(&synthetic_person(320, 240, [40, 40, 40], 0), &screen).unwrap();
        let light = measure(&synthetic_person(320, 240, [200, 200, 200], 0), &screen).unwrap();
        // The green around the person (luma about 0.45) must not pull either towards it.
        assert!((dark.luma - 40.0 / 255.0).abs() < 0.04, "{dark:?}");
        assert!((light.luma - 200.0 / 255.0).abs() < 0.04, "{light:?}");
        assert_eq!(dark.neutral, None, "too dark to judge the light by");
        let grey = light.neutral.expect("a grey person is near-neutral");
        for c in grey {
            assert!((c - 200.0 / 255.0).abs() < 0.03, "{grey:?}");
        }
        let bare = VideoFrame::solid(320, 240, SCREEN_GREEN);
        assert_eq!(
            measure(&bare, &screen),
            None,
            "a bare screen has no subject"
        );
    }

    #[test]
    fn the_gain_lifts_a_dim_person_and_tames_a_bright_one_slowly_and_within_limits() {
        let mut dim = LookMatch::default();
        let first = dim.update(&luma_of(0.2))[1];
        assert!(
            first > 1.0 && first < 1.2,
            "one step moves only part way: {first}"
        );
        for _ in 0..60 {
            dim.update(&luma_of(0.2));
        }
        assert!(
            (dim.gain() - GAIN_RANGE.1).abs() < 0.01,
            "capped: {}",
            dim.gain()
        );
        let mut bright = LookMatch::default();
        for _ in 0..60 {
            bright.update(&luma_of(0.6));
        }
        assert!((bright.gain() - ROOM_SUBJECT_LUMA / 0.6).abs() < 0.01);
        let mut glaring = LookMatch::default();
        for _ in 0..60 {
            glaring.update(&luma_of(0.95));
        }
        assert!(
            (glaring.gain() - GAIN_RANGE.0).abs() < 0.01,
            "capped: {}",
            glaring.gain()
        );
        let mut right = LookMatch::default();
        right.update(&luma_of(ROOM_SUBJECT_LUMA));
        assert!(
            (right.gain() - 1.0).abs() < 1e-6,
            "a well exposed person is left alone"
        );
        assert_eq!(right.gains(), [right.gain(); 3], "no colour to balance");
    }

    #[test]
    fn a_warm_person_is_cooled_and_a_cold_one_warmed() {
        let grey = [150, 150, 150];
        for (tint, cast) in [
            ([1.12, 1.0, 0.85], "tungsten"),
            ([0.9, 1.0, 1.12], "daylight"),
        ] {
            let neutral = neutral_of(&synthetic_person(320, 240, tinted(grey, tint), 0));
            let mut look = LookMatch::default();
            for _ in 0..60 {
                look.update(&SubjectStats {
                    luma: ROOM_SUBJECT_LUMA,
                    neutral: Some(neutral),
                });
            }
            let gains = look.gains();
            let corrected = [0, 1, 2].map(|c| neutral[c] * gains[c]);
            assert!(
                warmth(corrected).abs() < warmth(neutral).abs() / 3.0,
                "{cast}: {neutral:?} × {gains:?} = {corrected:?} is still tinted"
            );
            let (luma_before, luma_after) = (dot(LUMA, neutral), dot(LUMA, corrected));
            assert!(
                (luma_after - luma_before).abs() < 0.02,
                "{cast}: balance leaves brightness to the brightness gain ({luma_before} → {luma_after})"
            );
        }
    }

    #[test]
    fn a_neutral_person_keeps_their_colour() {
        let neutral = neutral_of(&synthetic_person(320, 240, [150, 150, 150], 0));
        let mut balance = WhiteBalance::default();
        for _ in 0..60 {
            balance.update(neutral);
        }
        for g in balance.gains() {
            assert!((g - 1.0).abs() < 0.02, "{:?}", balance.gains());
        }
    }

    #[test]
    fn a_red_jumper_is_not_taken_for_warm_light() {
        // A neutral face above a saturated red torso: only the face speaks for the light.
        let (w, h) = (320u32, 240u32);
        let person = synthetic_person(w, h, [0, 0, 0], 0);
        let screen_y = rgb_to_yuv(SCREEN_GREEN).0;
        let mut rgb = Vec::with_capacity((w * h * 3) as usize);
        for y in 0..h {
            for x in 0..w {
                let inside = person.y[(y * w + x) as usize] != screen_y;
                rgb.extend_from_slice(&match (inside, y < h * 45 / 100) {
                    (false, _) => SCREEN_GREEN,
                    (true, true) => [170, 170, 170],
                    (true, false) => [200, 30, 35],
                });
            }
        }
        let neutral = neutral_of(&frame_from_rgb(w, h, &rgb));
        let mut balance = WhiteBalance::default();
        for _ in 0..60 {
            balance.update(neutral);
        }
        for g in balance.gains() {
            assert!(
                (g - 1.0).abs() < 0.03,
                "{neutral:?} → {:?}",
                balance.gains()
            );
        }
    }

    #[test]
    fn white_balance_stays_within_its_limits_and_moves_gradually() {
        let mut balance = WhiteBalance::default();
        let first = balance.update([0.9, 0.5, 0.2]);
        assert!(first[0] < 1.0 && first[2] > 1.0, "{first:?}");
        for g in first {
            // One step moves a fifth of the way at most: 0.2 × the limit.
            assert!((g - 1.0).abs() <= RATE * BALANCE_LIMIT + 1e-6, "{first:?}");
        }
        let second = balance.update([0.9, 0.5, 0.2]);
        assert!(second[0] < first[0] && second[2] > first[2], "keeps moving");
        for _ in 0..100 {
            balance.update([0.9, 0.5, 0.2]);
        }
        let settled = balance.gains();
        assert!(
            (settled[0] - (1.0 - BALANCE_LIMIT)).abs() < 1e-3,
            "{settled:?}"
        );
        assert!(
            (settled[2] - (1.0 + BALANCE_LIMIT)).abs() < 1e-3,
            "{settled:?}"
        );
        for g in settled {
            assert!((1.0 - BALANCE_LIMIT - 1e-6..=1.0 + BALANCE_LIMIT + 1e-6).contains(&g));
        }
    }
}
