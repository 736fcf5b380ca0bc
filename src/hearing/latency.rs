//! Pipeline latency: from a camera frame's arrival (decoded) to the encoded composite that
//! first contains it leaving the encoder. Pure bookkeeping; times come in as arguments.

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
    pending: VecDeque<(Duration, Instant)>,
    samples: VecDeque<f64>,
}

impl LatencyTracker {
    /// A tick at media time `pts` composed a new frame that arrived at `arrived`.
    pub fn composed(&mut self, pts: Duration, arrived: Instant) {
        if self.pending.len() == MAX_PENDING {
            self.pending.pop_front();
        }
        self.pending.push_back((pts, arrived));
    }

    /// The encoded frame for media time `pts` left the encoder at `now`.
    pub fn encoded(&mut self, pts: Duration, now: Instant) {
        while let Some(&(p, arrived)) = self.pending.front() {
            if p > pts {
                break;
            }
            self.pending.pop_front();
            if p == pts {
                if self.samples.len() == WINDOW {
                    self.samples.pop_front();
                }
                self.samples
                    .push_back(now.saturating_duration_since(arrived).as_secs_f64() * 1000.0);
            }
        }
    }

    /// Percentiles over the recent window, if there are samples.
    pub fn percentiles(&self) -> Option<Percentiles> {
        if self.samples.is_empty() {
            return None;
        }
        let mut sorted: Vec<f64> = self.samples.iter().copied().collect();
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
            l.composed(pts, t0 + pts);
            // Encoded 10..=19 ms after arrival, rising with i.
            l.encoded(pts, t0 + pts + Duration::from_millis(10 + (i % 10) as u64));
        }
        let p = l.percentiles().unwrap();
        assert_eq!(p.samples, 100);
        assert!((p.p50 - 14.5).abs() <= 0.6, "{p:?}");
        assert!((p.p99 - 19.0).abs() < 0.01, "{p:?}");
    }

    #[test]
    fn skipped_frames_are_dropped_not_mismatched() {
        let t0 = Instant::now();
        let mut l = LatencyTracker::default();
        l.composed(Duration::from_millis(0), t0);
        l.composed(Duration::from_millis(40), t0 + Duration::from_millis(40));
        // The encoder never emitted pts 0; pts 40 comes out 5 ms after its arrival.
        l.encoded(Duration::from_millis(40), t0 + Duration::from_millis(45));
        let p = l.percentiles().unwrap();
        assert_eq!(p.samples, 1);
        assert!((p.p50 - 5.0).abs() < 0.01);
    }
}
