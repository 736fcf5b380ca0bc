//! How fast the composite's RTP timestamps run against the clock on the wall, as a receiver
//! sees them: 1.0 when its timestamps follow real time. A sender whose timestamps run slow
//! (frames shed but each still stamped one frame time apart) shows here as well under 1.

use std::time::Instant;

/// The composite's video clock (H.264 and VP8 both run at 90 kHz).
const CLOCK_RATE: f64 = 90_000.0;

/// Frames seen for less than this say too little to weigh.
const SHORTEST_SPAN_S: f64 = 2.0;

/// The first and the latest frame (RTP marker) of the composite a receiver got.
#[derive(Debug, Default)]
pub struct CompositeClock {
    first: Option<(Instant, u64)>,
    last: Option<(Instant, u64)>,
    last_raw: u32,
}

impl CompositeClock {
    /// Notes a frame's last packet, with RTP timestamp `timestamp`, arriving `at`.
    pub fn frame(&mut self, timestamp: u32, at: Instant) {
        let unwrapped = match self.last {
            None => u64::from(timestamp),
            // Timestamps wrap at 2^32; a frame's is never more than half of that on.
            Some((_, t)) => t.wrapping_add(u64::from(timestamp.wrapping_sub(self.last_raw))),
        };
        self.last_raw = timestamp;
        self.first.get_or_insert((at, unwrapped));
        self.last = Some((at, unwrapped));
    }

    /// Seconds of timestamps per second on the wall between the first frame and the latest,
    /// or `None` for frames that span less than two seconds.
    pub fn ratio(&self) -> Option<f64> {
        let ((t0, ts0), (t1, ts1)) = (self.first?, self.last?);
        let wall = t1.duration_since(t0).as_secs_f64();
        (wall >= SHORTEST_SPAN_S).then(|| (ts1 - ts0) as f64 / CLOCK_RATE / wall)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn run(start_ts: u32, step_ts: u32, step_ms: u64, frames: u64) -> Option<f64> {
        let t0 = Instant::now();
        let mut clock = CompositeClock::default();
        for i in 0..frames {
            clock.frame(
                start_ts.wrapping_add(step_ts.wrapping_mul(i as u32)),
                t0 + Duration::from_millis(step_ms * i),
            );
        }
        clock.ratio()
    }

    #[test]
    fn timestamps_on_time_read_one_across_a_wrap() {
        let r = run(u32::MAX - 90_000, 3_600, 40, 100).unwrap();
        assert!((r - 1.0).abs() < 1e-9, "{r}");
    }

    #[test]
    fn frames_fifty_ms_apart_stamped_forty_read_slow() {
        let r = run(7, 3_600, 50, 100).unwrap();
        assert!((r - 0.8).abs() < 1e-9, "{r}");
    }

    #[test]
    fn a_short_span_says_nothing() {
        assert_eq!(run(0, 3_600, 40, 40), None);
    }
}
