//! How often a seat's camera is searched for a face: [`Cadence`], sans-I/O (what each search
//! gave and when in, whether the seat is due out), tested on made-up time.
//!
//! A search costs about 3 to 6 ms of CPU (OpenCV's LBP cascade on a 320-pixel-wide picture),
//! and a hearing searches every seat. While a seat's framing moves it is searched every
//! [`PERIOD`](super::PERIOD); once its face has stayed inside the crop's dead zone for a few
//! searches, or no face has been found for a few, it is searched less often. Any search that
//! moves the crop, or finds a face again, brings it back to every period.

use std::time::{Duration, Instant};

use super::crop::{Search, LOST_AFTER};
use super::PERIOD;

/// Searches in a row with the same outcome before a seat is searched less often.
pub const SETTLES_AFTER: u32 = 3;

/// How often a seat whose face stays put is searched. A search that misses it brings the seat
/// back to every [`PERIOD`], so a face that is still there, missed by two searches in a row,
/// is found again within [`LOST_AFTER`] and the crop does not let go of it.
pub const STEADY_PERIOD: Duration = Duration::from_millis(1500);

/// How often a seat where no face has been found lately is searched: a person who turns back
/// to the camera is framed again within about a second more than before.
pub const MISSED_PERIOD: Duration = Duration::from_millis(1000);

const _: () = assert!(STEADY_PERIOD.as_millis() + 2 * PERIOD.as_millis() < LOST_AFTER.as_millis());

/// When one seat is searched next.
#[derive(Debug, Clone, Default)]
pub struct Cadence {
    /// The last outcome and how many searches in a row gave it.
    run: Option<(Search, u32)>,
    /// When the seat is next due; `None`: at once.
    due: Option<Instant>,
}

impl Cadence {
    /// Whether the seat is due for a search at `now`.
    pub fn due(&self, now: Instant) -> bool {
        self.due.is_none_or(|due| now >= due)
    }

    /// Notes a search at `now` that gave `outcome`.
    pub fn searched(&mut self, outcome: Search, now: Instant) {
        let count = match self.run {
            Some((last, n)) if last == outcome => n.saturating_add(1),
            _ => 1,
        };
        self.run = Some((outcome, count));
        self.due = Some(now + self.period());
    }

    /// The wait before the next search, from what the last ones gave.
    pub fn period(&self) -> Duration {
        match self.run {
            Some((Search::Steady, n)) if n >= SETTLES_AFTER => STEADY_PERIOD,
            Some((Search::Missed, n)) if n >= SETTLES_AFTER => MISSED_PERIOD,
            _ => PERIOD,
        }
    }

    /// Starts over (the seat's person left): the next frame is searched at once.
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `outcomes` through a cadence whose loop wakes every [`PERIOD`] from `t0`, and
    /// gives the milliseconds after `t0` at which each search ran.
    fn search_times(outcomes: &[Search]) -> Vec<u64> {
        let t0 = Instant::now();
        let mut cadence = Cadence::default();
        let mut times = Vec::new();
        let mut next = outcomes.iter();
        for tick in 0..200u64 {
            let now = t0 + PERIOD * tick as u32;
            if cadence.due(now) {
                let Some(&outcome) = next.next() else { break };
                cadence.searched(outcome, now);
                times.push(now.duration_since(t0).as_millis() as u64);
            }
        }
        times
    }

    #[test]
    fn a_face_that_stays_put_is_searched_less_often_and_a_move_brings_it_back() {
        use Search::*;
        let times = search_times(&[Moved, Steady, Steady, Steady, Steady, Steady, Moved, Steady]);
        assert_eq!(
            times,
            vec![0, 500, 1000, 1500, 3000, 4500, 6000, 6500],
            "every period until three steady searches, then every 1.5 s, every period after a move"
        );
    }

    #[test]
    fn a_seat_with_no_face_is_searched_every_second_and_a_face_brings_it_back() {
        use Search::*;
        let times = search_times(&[Missed, Missed, Missed, Missed, Missed, Moved, Steady]);
        assert_eq!(times, vec![0, 500, 1000, 2000, 3000, 4000, 4500]);
    }

    #[test]
    fn a_reset_seat_is_due_at_once() {
        let t0 = Instant::now();
        let mut cadence = Cadence::default();
        assert!(cadence.due(t0), "a new seat");
        for _ in 0..SETTLES_AFTER {
            cadence.searched(Search::Steady, t0);
        }
        assert_eq!(cadence.period(), STEADY_PERIOD);
        assert!(!cadence.due(t0 + PERIOD));
        cadence.reset();
        assert!(cadence.due(t0 + PERIOD));
        assert_eq!(cadence.period(), PERIOD);
    }
}
