//! The recording's audio mix, done on the compositor's clock.
//!
//! Each participant's decoded microphone lands in an [`AudioInput`]. Every compositor tick takes
//! exactly one tick's worth of samples from every input and sums them, so the mix is stamped
//! with the same clock as the video frame of that tick: that is what keeps audio and video in
//! sync in the recording.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Sample rate of the mix.
pub const SAMPLE_RATE: u32 = 48_000;
/// Audio buffered before an input starts (or restarts) playing: absorbs network jitter.
const PREBUFFER_MS: u32 = 60;
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
    /// Samples ever appended.
    pushed: u64,
    /// When each appended chunk was captured: the number of samples appended before it, and
    /// its capture time (`media::capture`). Only chunks still (partly) buffered are kept.
    captured: VecDeque<(u64, Instant)>,
}

impl InputState {
    /// The capture time of the oldest buffered sample.
    fn front_capture(&mut self) -> Option<Instant> {
        let consumed = self.pushed - self.samples.len() as u64;
        while self.captured.len() > 1 && self.captured[1].0 <= consumed {
            self.captured.pop_front();
        }
        let &(first, at) = self.captured.front()?;
        let into = consumed.saturating_sub(first);
        Some(at + Duration::from_nanos(into * 1_000_000_000 / SAMPLE_RATE as u64))
    }
}

/// One tick of a participant's audio, taken with [`AudioInput::take`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    /// The samples, 48 kHz mono (silence where the input ran dry).
    pub samples: Vec<i16>,
    /// When the first of them was captured, on the participant's capture clock.
    pub captured: Option<Instant>,
}

impl AudioInput {
    /// Appends decoded samples, the first of which was captured at `captured`.
    pub fn push(&self, samples: &[i16], captured: Instant) {
        let mut s = self.state.lock().expect("audio input poisoned");
        let at = s.pushed;
        s.captured.push_back((at, captured));
        s.pushed += samples.len() as u64;
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
        s.captured.clear();
        s.playing = false;
    }

    /// Takes `n` samples for one tick, or `None` while prebuffering.
    pub fn take(&self, n: usize) -> Option<Taken> {
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
        let captured = s.front_capture();
        if s.samples.len() < n {
            // Underrun: play what there is, then wait to prebuffer again.
            s.playing = false;
            let mut samples: Vec<i16> = s.samples.drain(..).collect();
            samples.resize(n, 0);
            return Some(Taken { samples, captured });
        }
        let samples = s.samples.drain(..n).collect();
        Some(Taken { samples, captured })
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

    fn at(ms: u64) -> Instant {
        T0.with(|t0| *t0 + Duration::from_millis(ms))
    }

    thread_local! {
        static T0: Instant = Instant::now();
    }

    #[test]
    fn input_prebuffers_then_plays_then_recovers_from_underrun() {
        let input = AudioInput::default();
        input.push(&[1; 1920], at(0));
        assert!(
            input.take(1920).is_none(),
            "not enough for the prebuffer yet"
        );
        input.push(&[2; 1920], at(0));
        assert_eq!(input.take(1920).unwrap().samples[0], 1);
        // 1920 left; take 1920 fine, then underrun.
        assert_eq!(input.take(1920).unwrap().samples[0], 2);
        input.push(&[3; 100], at(0));
        let under = input.take(1920).unwrap().samples;
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
        input.push(&burst, at(0));
        let out = input.take(1920).unwrap().samples;
        // What plays is the newest audio, 60 ms of prebuffer behind the end of the burst.
        let held = input.state.lock().unwrap().samples.len();
        assert_eq!(held, (SAMPLE_RATE * PREBUFFER_MS / 1000) as usize);
        assert_eq!(out[0], burst[12_000 - 1920 - held]);
    }

    /// Chunks captured 20 ms apart: what a tick takes starts at the capture time of its first
    /// sample, wherever that lies in a chunk, also after a backlog was skipped.
    #[test]
    fn each_tick_knows_when_its_first_sample_was_captured() {
        let input = AudioInput::default();
        for c in 0..5u64 {
            input.push(&[c as i16; 960], at(c * 20));
        }
        let first = input.take(1440).unwrap();
        assert_eq!(first.captured, Some(at(0)));
        // 1440 samples in: halfway into the second chunk (captured at 20 ms): 30 ms.
        assert_eq!(input.take(960).unwrap().captured, Some(at(30)));
        // A burst far past the high-water mark: the skip lands on newer audio, and its time.
        for c in 5..20u64 {
            input.push(&[c as i16; 960], at(c * 20));
        }
        let after_skip = input.take(960).unwrap();
        let held = input.state.lock().unwrap().samples.len() as u64;
        // Everything left plus this tick ends at the end of the last chunk (400 ms).
        let expected = 400 - (held + 960) * 1000 / 48_000;
        assert_eq!(after_skip.captured, Some(at(expected)));
        assert_eq!(after_skip.samples[0], (expected / 20) as i16);
        input.clear();
        input.push(&[1; 4000], at(1000));
        assert_eq!(input.take(960).unwrap().captured, Some(at(1000)));
    }

    #[test]
    fn input_caps_its_delay() {
        let input = AudioInput::default();
        input.push(&vec![0; 48_000], at(0));
        let held = input.state.lock().unwrap().samples.len();
        assert_eq!(held, (SAMPLE_RATE * MAX_BUFFER_MS / 1000) as usize);
    }

    #[test]
    fn mix_sums_and_saturates() {
        let a = AudioInput::default();
        let b = AudioInput::default();
        a.push(&[20_000; 4000], at(0));
        b.push(&[20_000; 4000], at(0));
        let idle = AudioInput::default();
        let taken: Vec<Vec<i16>> = [&a, &b, &idle]
            .iter()
            .filter_map(|i| i.take(1920).map(|t| t.samples))
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
