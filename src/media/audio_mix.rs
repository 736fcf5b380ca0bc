//! The recording's audio mix, done on the compositor's clock.
//!
//! Each participant's decoded microphone lands in an [`AudioInput`]. Every compositor tick takes
//! exactly one tick's worth of samples from every input and sums them, so the mix is stamped
//! with the same clock as the video frame of that tick: that is what keeps audio and video in
//! sync in the recording.

use std::collections::VecDeque;
use std::sync::Mutex;

/// Sample rate of the mix.
pub const SAMPLE_RATE: u32 = 48_000;
/// Audio buffered before an input starts (or restarts) playing: absorbs network jitter.
const PREBUFFER_MS: u32 = 60;
/// How much later than the video of the same instant the mixed audio leaves its inputs: the
/// prebuffer each input holds. The mix is stamped this much earlier, so the recording lines
/// audio up with the picture instead of carrying the buffer as lateness.
pub const AUDIO_PATH_DELAY: std::time::Duration =
    std::time::Duration::from_millis(PREBUFFER_MS as u64);
/// Most audio an input may hold; beyond it the oldest is dropped, so a sender whose clock runs
/// fast cannot build up delay.
const MAX_BUFFER_MS: u32 = 300;
/// Backlog beyond one tick above which an input skips ahead to the prebuffer level. A burst
/// (a stalled network, a busy machine) would otherwise stay in the buffer as lasting delay and
/// push this person's voice out of sync with their picture.
const HIGH_WATER_MS: u32 = 80;

/// One participant's decoded microphone, 48 kHz mono.
#[derive(Debug, Default)]
pub struct AudioInput {
    state: Mutex<InputState>,
}

#[derive(Debug, Default)]
struct InputState {
    samples: VecDeque<i16>,
    playing: bool,
}

impl AudioInput {
    /// Appends decoded samples.
    pub fn push(&self, samples: &[i16]) {
        let mut s = self.state.lock().expect("audio input poisoned");
        s.samples.extend(samples);
        let max = (SAMPLE_RATE * MAX_BUFFER_MS / 1000) as usize;
        if s.samples.len() > max {
            let excess = s.samples.len() - max;
            s.samples.drain(..excess);
        }
    }

    /// Drops everything buffered: the seat's person has left.
    pub fn clear(&self) {
        let mut s = self.state.lock().expect("audio input poisoned");
        s.samples.clear();
        s.playing = false;
    }

    /// Takes `n` samples for one tick, or silence while prebuffering or after an underrun.
    pub fn take(&self, n: usize) -> Option<Vec<i16>> {
        let mut s = self.state.lock().expect("audio input poisoned");
        let prebuffer = (SAMPLE_RATE * PREBUFFER_MS / 1000) as usize;
        if !s.playing {
            if s.samples.len() < prebuffer.max(n) {
                return None;
            }
            s.playing = true;
        }
        let high_water = (SAMPLE_RATE * HIGH_WATER_MS / 1000) as usize;
        if s.samples.len() > n + high_water {
            let excess = s.samples.len() - (n + prebuffer);
            s.samples.drain(..excess);
        }
        if s.samples.len() < n {
            // Underrun: play what there is, then wait to prebuffer again.
            s.playing = false;
            let mut out: Vec<i16> = s.samples.drain(..).collect();
            out.resize(n, 0);
            return Some(out);
        }
        Some(s.samples.drain(..n).collect())
    }
}

/// Sums one tick of audio from every track that has some (each taken with
/// [`AudioInput::take`]), with saturation.
pub fn mix<'a>(tracks: impl IntoIterator<Item = &'a [i16]>, n: usize) -> Vec<i16> {
    let mut acc = vec![0i32; n];
    for samples in tracks {
        for (a, &s) in acc.iter_mut().zip(samples) {
            *a += s as i32;
        }
    }
    acc.into_iter()
        .map(|v| v.clamp(i16::MIN as i32, i16::MAX as i32) as i16)
        .collect()
}

/// Samples in one tick at `fps`, rounded so that ticks add up to the exact rate.
pub fn samples_for_tick(tick: u64, fps: u32) -> usize {
    let rate = SAMPLE_RATE as u64;
    let fps = fps as u64;
    ((tick + 1) * rate / fps - tick * rate / fps) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_prebuffers_then_plays_then_recovers_from_underrun() {
        let input = AudioInput::default();
        input.push(&[1; 1920]);
        assert!(
            input.take(1920).is_none(),
            "not enough for the prebuffer yet"
        );
        input.push(&[2; 1920]);
        assert_eq!(input.take(1920).unwrap()[0], 1);
        // 1920 left; take 1920 fine, then underrun.
        assert_eq!(input.take(1920).unwrap()[0], 2);
        input.push(&[3; 100]);
        let under = input.take(1920).unwrap();
        assert_eq!((under[0], under[99], under[100]), (3, 3, 0));
        assert!(
            input.take(1920).is_none(),
            "prebuffering again after an underrun"
        );
    }

    #[test]
    fn a_backlog_is_skipped_down_to_the_prebuffer() {
        let input = AudioInput::default();
        // 250 ms arrive at once (a burst), the newest last.
        let burst: Vec<i16> = (0..12_000).map(|i| (i / 48) as i16).collect();
        input.push(&burst);
        let out = input.take(1920).unwrap();
        // What plays is the newest audio, 60 ms of prebuffer behind the end of the burst.
        let held = input.state.lock().unwrap().samples.len();
        assert_eq!(held, (SAMPLE_RATE * PREBUFFER_MS / 1000) as usize);
        assert_eq!(out[0], burst[12_000 - 1920 - held]);
    }

    #[test]
    fn input_caps_its_delay() {
        let input = AudioInput::default();
        input.push(&vec![0; 48_000]);
        let held = input.state.lock().unwrap().samples.len();
        assert_eq!(held, (SAMPLE_RATE * MAX_BUFFER_MS / 1000) as usize);
    }

    #[test]
    fn mix_sums_and_saturates() {
        let a = AudioInput::default();
        let b = AudioInput::default();
        a.push(&[20_000; 4000]);
        b.push(&[20_000; 4000]);
        let idle = AudioInput::default();
        let taken: Vec<Vec<i16>> = [&a, &b, &idle]
            .iter()
            .filter_map(|i| i.take(1920))
            .collect();
        assert_eq!(taken.len(), 2, "the idle input contributes nothing");
        let out = mix(taken.iter().map(Vec::as_slice), 1920);
        assert_eq!(out.len(), 1920);
        assert!(out.iter().all(|&s| s == i16::MAX));
    }

    #[test]
    fn ticks_add_up_to_the_sample_rate() {
        let total: usize = (0..30).map(|t| samples_for_tick(t, 30)).sum();
        assert_eq!(total, 48_000);
        let total: usize = (0..7).map(|t| samples_for_tick(t, 7)).sum();
        assert_eq!(total, 48_000);
    }
}
