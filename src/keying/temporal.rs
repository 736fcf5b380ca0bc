//! Motion-adaptive temporal smoothing of a seat's camera frames before they are keyed, so
//! the key does not flicker with sensor and coding noise.
//!
//! The keyer works on one frame at a time, and a decoded webcam frame carries fresh noise in
//! every frame: at a person's soft edges and hair that noise moves alpha by a level or two
//! from frame to frame, which reads as a shimmering outline. Here each byte of the key's input
//! (the luma plane and the packed chroma sites, see [`super::planes`]) is averaged with the
//! smoothed value of the frame before when the two differ by no more than noise does, and
//! taken as it is when they differ by more (motion), so still parts settle and moving parts
//! do not smear. The filter is recursive, so a still region averages over the last few frames.
//! It runs on the CPU at upload, at most about 0.15 ms per 640×480 frame, byte-wise
//! (vectorised by the compiler).

/// Largest difference (8-bit levels) from the previous smoothed value that still counts as
/// noise: about three times the noise of a typical webcam after VP8 at 1 Mbit/s.
pub const NOISE_LEVELS: u8 = 6;

/// The smoothed previous frame of one plane (a seat's luma or its packed chroma sites).
#[derive(Debug, Default, Clone)]
pub struct PlaneHistory {
    smoothed: Vec<u8>,
}

impl PlaneHistory {
    /// Smooths `plane` in place against the history, and keeps the result as the new history.
    /// The first plane, or one of another size, is taken as it is.
    pub fn smooth(&mut self, plane: &mut [u8]) {
        if self.smoothed.len() != plane.len() {
            self.smoothed = plane.to_vec();
            return;
        }
        for (now, before) in plane.iter_mut().zip(self.smoothed.iter_mut()) {
            let mean = ((*now as u16 + *before as u16 + 1) >> 1) as u8;
            let still = now.abs_diff(*before) <= NOISE_LEVELS;
            *now = if still { mean } else { *now };
            *before = *now;
        }
    }

    /// Forgets the history (a new person, or a new frame size).
    pub fn reset(&mut self) {
        self.smoothed.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic noise sequence in -3..=3.
    fn noise(i: usize, frame: usize) -> i16 {
        let h = (i as u32)
            .wrapping_mul(2_654_435_761)
            .wrapping_add((frame as u32).wrapping_mul(40_503));
        ((h >> 13) % 7) as i16 - 3
    }

    #[test]
    fn a_still_noisy_plane_settles() {
        let truth = |i: usize| 60 + (i % 100) as i16;
        let mut history = PlaneHistory::default();
        let (mut raw_change, mut smooth_change) = (0u64, 0u64);
        let (mut prev_raw, mut prev_smooth): (Vec<u8>, Vec<u8>) = (Vec::new(), Vec::new());
        for frame in 0..20 {
            let raw: Vec<u8> = (0..4000)
                .map(|i| (truth(i) + noise(i, frame)) as u8)
                .collect();
            let mut smooth = raw.clone();
            history.smooth(&mut smooth);
            if frame >= 10 {
                let diff = |a: &[u8], b: &[u8]| {
                    a.iter()
                        .zip(b)
                        .map(|(x, y)| x.abs_diff(*y) as u64)
                        .sum::<u64>()
                };
                raw_change += diff(&raw, &prev_raw);
                smooth_change += diff(&smooth, &prev_smooth);
                // Smoothing never moves a value further from the truth than noise allows.
                for (i, v) in smooth.iter().enumerate() {
                    assert!((*v as i16 - truth(i)).abs() <= 3, "at {i}: {v}");
                }
            }
            (prev_raw, prev_smooth) = (raw, smooth);
        }
        assert!(
            smooth_change * 2 < raw_change,
            "frame-to-frame change {smooth_change} smoothed against {raw_change} raw"
        );
    }

    #[test]
    fn motion_passes_through_at_once() {
        let mut history = PlaneHistory::default();
        let mut dark = vec![20u8; 64];
        history.smooth(&mut dark);
        // An edge moves in: the changed half is taken as it is, the rest averaged.
        let mut moved: Vec<u8> = (0..64).map(|i| if i < 32 { 220 } else { 22 }).collect();
        history.smooth(&mut moved);
        assert!(moved[..32].iter().all(|v| *v == 220), "{moved:?}");
        assert!(moved[32..].iter().all(|v| *v == 21), "{moved:?}");
    }

    #[test]
    fn a_new_size_starts_afresh() {
        let mut history = PlaneHistory::default();
        history.smooth(&mut [10u8; 8]);
        let mut other = [14u8; 6];
        history.smooth(&mut other);
        assert_eq!(other, [14; 6]);
        history.reset();
        let mut again = [12u8; 6];
        history.smooth(&mut again);
        assert_eq!(again, [12; 6]);
    }
}
