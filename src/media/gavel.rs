//! The gavel, made by the project (no recording of anyone's, so no licence to keep): three
//! strikes of a wooden gavel on its block, synthesised at 48 kHz. Each strike is a click of
//! noise, a low thump and the block's ring at [`GAVEL_RING_HZ`], which is the sound's own
//! spectral signature: a test finds the gavel in a recording by it. The participant's page
//! plays the same recipe (`web/join.js`, `playGavel`).

use super::audio_mix::SAMPLE_RATE;

/// The block's ring, Hz.
pub const GAVEL_RING_HZ: f32 = 740.0;
/// The second partial of the ring, Hz.
const OVERTONE_HZ: f32 = 1_910.0;
/// The thump of the strike, Hz.
const THUMP_HZ: f32 = 170.0;
/// How many strikes, and how far apart.
pub const STRIKES: usize = 3;
/// Time between strikes, seconds.
pub const STRIKE_SPACING_S: f32 = 0.32;
/// How long each strike rings, seconds.
const RING_S: f32 = 0.25;

/// The gavel's three strikes, 48 kHz mono, peaking at about half of full scale.
pub fn gavel() -> Vec<i16> {
    let rate = SAMPLE_RATE as f32;
    let len = ((STRIKE_SPACING_S * (STRIKES - 1) as f32 + RING_S) * rate) as usize;
    let mut out = vec![0f32; len];
    // A fixed generator, so the sound is the same every time.
    let mut seed = 0x2545_f491_u32;
    let mut noise = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed as f32 / u32::MAX as f32 * 2.0 - 1.0
    };
    for strike in 0..STRIKES {
        let start = (strike as f32 * STRIKE_SPACING_S * rate) as usize;
        for i in 0..(RING_S * rate) as usize {
            let t = i as f32 / rate;
            let tau = std::f32::consts::TAU;
            let ring = 0.55 * (-t / 0.060).exp() * (tau * GAVEL_RING_HZ * t).sin();
            let overtone = 0.20 * (-t / 0.020).exp() * (tau * OVERTONE_HZ * t).sin();
            let thump = 0.35 * (-t / 0.030).exp() * (tau * THUMP_HZ * t).sin();
            let click = if t < 0.004 {
                0.4 * noise() * (1.0 - t / 0.004)
            } else {
                0.0
            };
            if let Some(s) = out.get_mut(start + i) {
                *s += ring + overtone + thump + click;
            }
        }
    }
    let peak = out.iter().fold(0f32, |m, s| m.max(s.abs())).max(1e-6);
    out.iter()
        .map(|s| (s / peak * 0.5 * i16::MAX as f32) as i16)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Energy of `samples` at `hz` (Goertzel).
    fn energy(samples: &[i16], hz: f32) -> f32 {
        let k = 2.0 * (std::f32::consts::TAU * hz / SAMPLE_RATE as f32).cos();
        let (mut s1, mut s2) = (0f32, 0f32);
        for &x in samples {
            let s0 = x as f32 + k * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        s1 * s1 + s2 * s2 - k * s1 * s2
    }

    #[test]
    fn three_strikes_ring_at_the_signature_and_are_the_same_every_time() {
        let g = gavel();
        assert_eq!(g, gavel(), "deterministic");
        let rate = SAMPLE_RATE as f32;
        assert_eq!(g.len(), ((STRIKE_SPACING_S * 2.0 + RING_S) * rate) as usize);
        let peak = g.iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert!((16_000..=16_400).contains(&peak), "{peak}");
        // Each strike's first 50 ms: the ring dominates a neighbouring frequency tenfold.
        for strike in 0..STRIKES {
            let at = (strike as f32 * STRIKE_SPACING_S * rate) as usize;
            let window = &g[at..at + 2400];
            let ring = energy(window, GAVEL_RING_HZ);
            assert!(ring > 10.0 * energy(window, 1_300.0), "strike {strike}");
            assert!(ring > 10.0 * energy(window, 440.0), "strike {strike}");
        }
        // Between strikes it has died away.
        let quiet = (0.29 * rate) as usize;
        assert!(g[quiet..quiet + 480].iter().all(|s| s.unsigned_abs() < 800));
    }
}
