//! The durations the composite's samples carry, so that the RTP timestamps a receiver sees
//! follow the frames' presentation times.
//!
//! webrtc-rs advances a track's RTP timestamp by each sample's duration *after* sending it.
//! Every encoded frame says it lasts one frame time (40 ms at 25 fps), but the frames a
//! receiver gets are not always one frame time apart: a node that is behind renders only some
//! of its ticks (`hearing::pace`), and the sending task skips frames while it waits for a
//! keyframe or after it lagged. With the nominal duration the timestamps then ran slower than
//! the pictures (at 3 of 5 ticks, 24 s of timestamps a minute), and the receiver's jitter
//! buffer and lip sync saw a drifting clock. [`SampleClock`] gives each sample its nominal
//! duration plus however far the timestamp has fallen behind the frame's presentation time,
//! so the drift is made up at the next frame and never adds up. Sans-I/O: it sees only
//! presentation times.

use std::time::Duration;

/// A jump between a frame's presentation time and the timestamp larger than this is a new
/// timeline (another feed on another clock), not lateness to make up.
const NEW_TIMELINE: Duration = Duration::from_secs(2);

/// The shortest duration a sample is given, so that two frames never share a timestamp.
const SHORTEST: Duration = Duration::from_millis(1);

/// Tracks, for one sending track, where its RTP timestamp stands on the frames' timeline.
#[derive(Debug, Default)]
pub struct SampleClock {
    /// The timestamp's position, in nanoseconds of samples handed out so far.
    stamped: i128,
    /// Presentation time plus this is where the timestamp should stand for that frame; set by
    /// the first frame and again when the timeline jumps.
    offset: Option<i128>,
}

impl SampleClock {
    /// The duration to give the sample of a frame presented at `pts` whose own duration is
    /// `nominal`: `nominal`, plus the time by which this frame's timestamp lags its
    /// presentation time (less, if it runs ahead), at least [`SHORTEST`].
    pub fn duration(&mut self, pts: Duration, nominal: Duration) -> Duration {
        let pts = pts.as_nanos() as i128;
        let offset = *self.offset.get_or_insert(self.stamped - pts);
        let mut behind = pts + offset - self.stamped;
        if behind.unsigned_abs() > NEW_TIMELINE.as_nanos() {
            self.offset = Some(self.stamped - pts);
            behind = 0;
        }
        let nanos = (nominal.as_nanos() as i128 + behind).max(SHORTEST.as_nanos() as i128);
        self.stamped += nanos;
        Duration::from_nanos(nanos as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: Duration = Duration::from_millis(40);

    /// Sends frames presented at `pts_ms` and returns the timestamp (ms on the track's own
    /// timeline) each went out with.
    fn stamps(pts_ms: &[u64]) -> Vec<u64> {
        let mut clock = SampleClock::default();
        let mut at = Duration::ZERO;
        pts_ms
            .iter()
            .map(|&p| {
                let stamp = at.as_millis() as u64;
                at += clock.duration(Duration::from_millis(p), FRAME);
                stamp
            })
            .collect()
    }

    #[test]
    fn every_tick_rendered_keeps_the_nominal_duration() {
        assert_eq!(stamps(&[1000, 1040, 1080, 1120]), [0, 40, 80, 120]);
    }

    #[test]
    fn shed_ticks_do_not_slow_the_timestamps_down() {
        // 3 of 5 ticks rendered for two seconds: the timestamps end where the pictures do.
        let pts: Vec<u64> = (0..50u64).filter(|t| t % 5 < 3).map(|t| t * 40).collect();
        let got = stamps(&pts);
        let last = *pts.last().unwrap();
        // Each frame is at most one frame's gap away from its presentation time (the gap is
        // made up at the next frame) and the drift never adds up.
        for (s, p) in got.iter().zip(&pts) {
            assert!(
                s.abs_diff(*p) <= 80,
                "stamp {s} for a frame presented at {p}"
            );
        }
        assert!(got.last().unwrap().abs_diff(last) <= 80);
        // The fixed duration would have put the last frame at 29 × 40 ms = 1160 ms, not 1880.
        assert!(*got.last().unwrap() > 1800, "{got:?}");
    }

    #[test]
    fn frames_skipped_while_waiting_for_a_keyframe_are_made_up() {
        assert_eq!(stamps(&[0, 40, 400, 440, 480]), [0, 40, 80, 440, 480]);
    }

    #[test]
    fn a_jump_to_another_timeline_starts_afresh_without_a_long_gap() {
        assert_eq!(stamps(&[0, 40, 600_000, 600_040]), [0, 40, 80, 120]);
        assert_eq!(stamps(&[600_000, 600_040, 0, 40]), [0, 40, 80, 120]);
    }

    #[test]
    fn a_frame_early_on_its_timeline_gets_a_shorter_duration_never_none() {
        let mut clock = SampleClock::default();
        assert_eq!(clock.duration(Duration::from_millis(0), FRAME), FRAME);
        // Presented 10 ms after the last one although that one claimed 40 ms.
        assert_eq!(
            clock.duration(Duration::from_millis(10), FRAME),
            Duration::from_millis(10)
        );
        // And one presented at the same time as the previous still moves the timestamp on.
        assert_eq!(
            clock.duration(Duration::from_millis(10), Duration::ZERO),
            SHORTEST
        );
    }
}
