//! Pipeline latency: from a camera frame's arrival (decoded) to the encoded composite that
//! first contains it leaving the encoder, and the part of it from the tick's start (drawing
//! and encoding; the rest is the frame's wait for its tick and its sound). Pure bookkeeping;
//! times come in as arguments.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde::Serialize;

/// How many recent samples the percentiles are computed over.
const WINDOW: usize = 4096;
/// Ticks awaiting their encoded frame; older ones are dropped (the encoder skipped them).
const MAX_PENDING: usize = 256;

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Samples the figures are based on.
    pub samples: usize,
}

/// Tracks ticks from composition to encoder output.
#[derive(Debug, Default)]
pub struct LatencyTracker {
    /// Composed ticks: media time, the frame's arrival, the tick's start.
    pending: VecDeque<(Duration, Instant, Instant)>,
    /// Arrival to encoded, ms.
    samples: Window,
    /// The tick's start to encoded, ms.
    from_tick: Window,
}

/// The newest [`WINDOW`] samples, in milliseconds.
#[derive(Debug, Default)]
struct Window(VecDeque<f64>);

impl Window {
    fn push(&mut self, since: Instant, now: Instant) {
        if self.0.len() == WINDOW {
            self.0.pop_front();
        }
        self.0
            .push_back(now.saturating_duration_since(since).as_secs_f64() * 1000.0);
    }

    fn percentiles(&self) -> Option<Percentiles> {
        if self.0.is_empty() {
            return None;
        }
        let mut sorted: Vec<f64> = self.0.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
        Some(Percentiles {
            p50: at(0.5),
            p95: at(0.95),
            p99: at(0.99),
            samples: sorted.len(),
        })
    }
}

impl LatencyTracker {
    /// A tick that began at `began`, at media time `pts`, composed a new frame that arrived at
    /// `arrived`.
    pub fn composed(&mut self, pts: Duration, arrived: Instant, began: Instant) {
        if self.pending.len() == MAX_PENDING {
            self.pending.pop_front();
        }
        self.pending.push_back((pts, arrived, began));
    }

    /// The encoded frame for media time `pts` left the encoder at `now`.
    pub fn encoded(&mut self, pts: Duration, now: Instant) {
        while let Some(&(p, arrived, began)) = self.pending.front() {
            if p > pts {
                break;
            }
            self.pending.pop_front();
            if p == pts {
                self.samples.push(arrived, now);
                self.from_tick.push(began, now);
            }
        }
    }

    /// Arrival to encoded: percentiles over the recent window, if there are samples.
    pub fn percentiles(&self) -> Option<Percentiles> {
        self.samples.percentiles()
    }

    /// The tick's start to encoded (drawing, handing over, encoding): percentiles over the
    /// same ticks as [`LatencyTracker::percentiles`].
    pub fn from_tick(&self) -> Option<Percentiles> {
        self.from_tick.percentiles()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_is_measured_from_arrival_to_the_matching_encoded_frame() {
        let t0 = Instant::now();
        let mut l = LatencyTracker::default();
        assert!(l.percentiles().is_none());
        for i in 0..100u32 {
            let pts = Duration::from_millis(40) * i;
            l.composed(pts, t0 + pts, t0 + pts + Duration::from_millis(5));
            // Encoded 10..=19 ms after arrival, rising with i.
            l.encoded(pts, t0 + pts + Duration::from_millis(10 + (i % 10) as u64));
        }
        let p = l.percentiles().unwrap();
        assert_eq!(p.samples, 100);
        assert!((p.p50 - 14.5).abs() <= 0.6, "{p:?}");
        assert!((p.p99 - 19.0).abs() < 0.01, "{p:?}");
        // The ticks began 5 ms after the arrivals: 5 ms less from the tick.
        let t = l.from_tick().unwrap();
        assert_eq!(t.samples, 100);
        assert!((t.p50 - 9.5).abs() <= 0.6, "{t:?}");
        assert!((t.p99 - 14.0).abs() < 0.01, "{t:?}");
    }

    #[test]
    fn skipped_frames_are_dropped_not_mismatched() {
        let t0 = Instant::now();
        let mut l = LatencyTracker::default();
        l.composed(Duration::from_millis(0), t0, t0);
        let at40 = t0 + Duration::from_millis(40);
        l.composed(Duration::from_millis(40), at40, at40);
        // The encoder never emitted pts 0; pts 40 comes out 5 ms after its arrival.
        l.encoded(Duration::from_millis(40), t0 + Duration::from_millis(45));
        let p = l.percentiles().unwrap();
        assert_eq!(p.samples, 1);
        assert!((p.p50 - 5.0).abs() < 0.01);
        assert_eq!(l.from_tick().unwrap().samples, 1);
    }
}
