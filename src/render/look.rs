//! Matching a keyed person's brightness to the room.
//!
//! Webcams expose for whatever is in front of them: one person sits in a dark study, another
//! by a bright window, and pasted side by side on one bench they look like cut-outs. About once
//! a second (beside the key calibration, never in the tick) each seat's subject — the pixels
//! the screen model does not explain — is measured, and a gain brings its mean luma towards
//! the room's, within limits, moving slowly so nobody visibly pulses.

use crate::keying::ScreenModel;
use crate::media::frame::VideoFrame;

/// Mean luma (full range, 0..1) a seated person is brought towards: a mid-tone that reads well
/// against the courtroom's wood and wall under its light.
pub const ROOM_SUBJECT_LUMA: f32 = 0.46;
/// The gain never goes beyond these: a dim camera is lifted, not made into a different one.
pub const GAIN_RANGE: (f32, f32) = (0.7, 1.5);
/// Share of the way a new measurement moves the gain (about a 5 s settle at one per second).
pub const RATE: f32 = 0.2;

/// Mean luma (full range, 0..1) of the frame's subject: sampled pixels whose chroma is far
/// from the screen model's there. `None` when too little of the frame is subject to judge.
pub fn subject_luma(frame: &VideoFrame, screen: &ScreenModel) -> Option<f32> {
    const STEP: u32 = 8;
    let (w, h) = (frame.width, frame.height);
    let (cw, _) = frame.chroma_size();
    let (mut sum, mut n, mut all) = (0.0f32, 0u32, 0u32);
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
                let luma = (frame.y[(y * w + x) as usize] as f32 - 16.0) / 219.0;
                sum += luma.clamp(0.0, 1.0);
                n += 1;
            }
            x += STEP;
        }
        y += STEP;
    }
    (n >= 20 && n * 20 >= all).then(|| sum / n as f32)
}

/// One seat's brightness gain, eased towards the room's target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LookMatch {
    gain: f32,
}

impl Default for LookMatch {
    fn default() -> Self {
        Self { gain: 1.0 }
    }
}

impl LookMatch {
    /// Takes one measurement of the subject's mean luma; returns the gain to draw with.
    pub fn update(&mut self, subject_luma: f32) -> f32 {
        let want = (ROOM_SUBJECT_LUMA / subject_luma.max(1e-3)).clamp(GAIN_RANGE.0, GAIN_RANGE.1);
        self.gain += (want - self.gain) * RATE;
        self.gain
    }

    /// The current gain.
    pub fn gain(&self) -> f32 {
        self.gain
    }

    /// Back to no change (a new person took the seat).
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::still::{synthetic_person, SCREEN_GREEN};

    #[test]
    fn the_subject_is_measured_apart_from_the_screen() {
        let screen = ScreenModel::flat(SCREEN_GREEN);
        let dark = subject_luma(&synthetic_person(320, 240, [40, 40, 40], 0), &screen).unwrap();
        let light = subject_luma(&synthetic_person(320, 240, [200, 200, 200], 0), &screen).unwrap();
        // The green around the person (luma about 0.45) must not pull either towards it.
        assert!((dark - 40.0 / 255.0).abs() < 0.04, "{dark}");
        assert!((light - 200.0 / 255.0).abs() < 0.04, "{light}");
        let bare = VideoFrame::solid(320, 240, SCREEN_GREEN);
        assert_eq!(
            subject_luma(&bare, &screen),
            None,
            "a bare screen has no subject"
        );
    }

    #[test]
    fn the_gain_lifts_a_dim_person_and_tames_a_bright_one_slowly_and_within_limits() {
        let mut dim = LookMatch::default();
        let first = dim.update(0.2);
        assert!(
            first > 1.0 && first < 1.2,
            "one step moves only part way: {first}"
        );
        for _ in 0..60 {
            dim.update(0.2);
        }
        assert!(
            (dim.gain() - GAIN_RANGE.1).abs() < 0.01,
            "capped: {}",
            dim.gain()
        );
        let mut bright = LookMatch::default();
        for _ in 0..60 {
            bright.update(0.6);
        }
        assert!((bright.gain() - ROOM_SUBJECT_LUMA / 0.6).abs() < 0.01);
        let mut glaring = LookMatch::default();
        for _ in 0..60 {
            glaring.update(0.95);
        }
        assert!(
            (glaring.gain() - GAIN_RANGE.0).abs() < 0.01,
            "capped: {}",
            glaring.gain()
        );
        let mut right = LookMatch::default();
        right.update(ROOM_SUBJECT_LUMA);
        assert!(
            (right.gain() - 1.0).abs() < 1e-6,
            "a well exposed person is left alone"
        );
    }
}
