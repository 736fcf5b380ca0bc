//! Which rendition of the composite a receiver gets: the full one, or the reduced one (half the
//! size, a fraction of the bitrate) that the hearing encodes once for every receiver whose link
//! cannot take the full one. Decided from what the browser reports ([`LinkReport`]: loss and
//! its bandwidth estimate), as a state machine that takes time as input (sans-I/O, tested on
//! made-up times below); the sending task (`rtc::session`) feeds it and switches feeds, and
//! the hearing keeps one per participant, so a reconnection starts where the last one was.
//!
//! Down: the link has looked bad (a tenth of the packets lost, or an estimate under half the
//! full bitrate) for [`DOWN_AFTER`], or has just lost half or more. Up: it has looked good (under 2 %
//! lost) for a while that starts at
//! [`FIRST_TRY_UP`] and doubles, up to [`LONGEST_TRY_UP`], each time a try up went bad again
//! within [`TRY_UP_PROVEN`].

use std::time::{Duration, Instant};

/// What the browser last said of how the composite reaches it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LinkReport {
    /// The share of the composite's packets lost since its previous report (0.0–1.0).
    pub loss: Option<f32>,
    /// The bitrate the browser estimates its link takes (REMB), in kbit/s.
    pub estimate_kbps: Option<u32>,
}

/// How long a link must look bad before its receiver is moved down.
pub const DOWN_AFTER: Duration = Duration::from_secs(2);
/// How long a link must look good before the first try up.
pub const FIRST_TRY_UP: Duration = Duration::from_secs(20);
/// The longest wait before a try up.
pub const LONGEST_TRY_UP: Duration = Duration::from_secs(120);
/// A try up that stays good this long has worked: the next wait starts again from the first.
pub const TRY_UP_PROVEN: Duration = Duration::from_secs(30);

/// Loss at or above which a link looks bad.
const BAD_LOSS: f32 = 0.10;
/// Loss at or above which a receiver is moved down at once: its picture is gone already, and
/// a page that sees no picture for a few seconds restarts its connection.
const SEVERE_LOSS: f32 = 0.5;
/// Loss under which a link looks good.
const GOOD_LOSS: f32 = 0.02;

/// A rendition of the composite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rendition {
    /// The output size and bitrate.
    Full,
    /// Half the size, a fraction of the bitrate.
    Reduced,
}

/// The choice for one receiver.
#[derive(Debug)]
pub struct RenditionChoice {
    full_kbps: u32,
    now: Rendition,
    bad_since: Option<Instant>,
    good_since: Option<Instant>,
    try_up_after: Duration,
    went_up_at: Option<Instant>,
    started: Option<Instant>,
}

impl RenditionChoice {
    /// Starts on the full rendition, whose bitrate is `full_kbps`.
    pub fn new(full_kbps: u32) -> Self {
        Self {
            full_kbps,
            now: Rendition::Full,
            bad_since: None,
            good_since: None,
            try_up_after: FIRST_TRY_UP,
            went_up_at: None,
            started: None,
        }
    }

    /// A new connection starts (the first, or a reconnection): its estimate climbs from low
    /// again, so it is not trusted for a while, as after a try up; what the last connection
    /// saw of good or bad spells is forgotten.
    pub fn connection_started(&mut self, now: Instant) {
        self.started = Some(now);
        if self.now == Rendition::Full {
            self.went_up_at = Some(now);
        }
        self.bad_since = None;
        self.good_since = None;
    }

    /// The rendition now.
    pub fn rendition(&self) -> Rendition {
        self.now
    }

    /// Bad: much loss, or an estimate under half the full bitrate (a browser on a clean link
    /// but a busy machine was measured estimating 1.4 of 2.5 Mbit/s: between half and all of
    /// it, only loss decides). The estimate is not asked
    /// in the first [`TRY_UP_PROVEN`] on the full rendition (of the connection, or of a try
    /// up): a receiver's estimate starts low and climbs only as it receives more.
    fn looks_bad(&self, now: Instant, r: &LinkReport) -> bool {
        let settling = self
            .went_up_at
            .is_some_and(|up| now.saturating_duration_since(up) < TRY_UP_PROVEN);
        r.loss.is_some_and(|l| l >= BAD_LOSS)
            || (!settling
                && r.estimate_kbps
                    .is_some_and(|e| (e as u64) * 2 < self.full_kbps as u64))
    }

    /// Good: little loss. The estimate is not asked: a receiver's estimate (REMB) grows only
    /// to about one and a half times what it receives, so on the reduced rendition it would
    /// never vouch for the full one. Trying up, and backing off when that fails, finds out.
    fn looks_good(&self, r: &LinkReport) -> bool {
        r.loss.is_some_and(|l| l < GOOD_LOSS)
    }

    /// Takes the report seen at `now`; returns the new rendition when it changes.
    pub fn observe(&mut self, now: Instant, report: LinkReport) -> Option<Rendition> {
        if self.started.is_none() {
            // The connection's start counts as a try up: its estimate is still climbing.
            self.started = Some(now);
            if self.now == Rendition::Full {
                self.went_up_at = Some(now);
            }
        }
        let (bad, good) = (self.looks_bad(now, &report), self.looks_good(&report));
        self.bad_since = if bad {
            self.bad_since.or(Some(now))
        } else {
            None
        };
        self.good_since = if good {
            self.good_since.or(Some(now))
        } else {
            None
        };
        match self.now {
            Rendition::Full => {
                if let Some(up) = self.went_up_at {
                    // A try up is proven once it has held, its estimate settled, and the link
                    // looks well.
                    if now.saturating_duration_since(up) >= TRY_UP_PROVEN && !bad {
                        self.went_up_at = None;
                        self.try_up_after = FIRST_TRY_UP;
                    }
                }
                let since = self.bad_since?;
                let severe = report.loss.is_some_and(|l| l >= SEVERE_LOSS);
                if !severe && now.saturating_duration_since(since) < DOWN_AFTER {
                    return None;
                }
                let tried = self.went_up_at.take();
                if tried.is_some_and(|t| Some(t) != self.started) {
                    // The try up failed: wait longer before the next.
                    self.try_up_after = (self.try_up_after * 2).min(LONGEST_TRY_UP);
                }
                self.now = Rendition::Reduced;
                self.good_since = None;
            }
            Rendition::Reduced => {
                let since = self.good_since?;
                if now.saturating_duration_since(since) < self.try_up_after {
                    return None;
                }
                self.now = Rendition::Full;
                self.went_up_at = Some(now);
                self.bad_since = None;
            }
        }
        Some(self.now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: u32 = 1500;

    fn report(loss: f32, estimate_kbps: Option<u32>) -> LinkReport {
        LinkReport {
            loss: Some(loss),
            estimate_kbps,
        }
    }

    /// Feeds one report a second from `from` for `seconds`; returns the changes with their
    /// second.
    fn feed(
        choice: &mut RenditionChoice,
        t0: Instant,
        from: u64,
        seconds: u64,
        r: LinkReport,
    ) -> Vec<(u64, Rendition)> {
        (from..from + seconds)
            .filter_map(|s| {
                choice
                    .observe(t0 + Duration::from_secs(s), r)
                    .map(|c| (s, c))
            })
            .collect()
    }

    #[test]
    fn a_lossy_link_moves_down_after_a_few_seconds_and_a_blip_does_not() {
        let t0 = Instant::now();
        let mut c = RenditionChoice::new(FULL);
        assert_eq!(feed(&mut c, t0, 0, 10, report(0.0, None)), vec![]);
        // Two bad seconds, then good: a blip.
        assert_eq!(feed(&mut c, t0, 10, 2, report(0.3, None)), vec![]);
        assert_eq!(feed(&mut c, t0, 12, 5, report(0.0, None)), vec![]);
        // Bad for good: down once it has lasted.
        assert_eq!(
            feed(&mut c, t0, 17, 10, report(0.15, None)),
            vec![(17 + DOWN_AFTER.as_secs(), Rendition::Reduced)]
        );
        assert_eq!(c.rendition(), Rendition::Reduced);
    }

    #[test]
    fn half_the_packets_lost_moves_down_at_once() {
        let t0 = Instant::now();
        let mut c = RenditionChoice::new(FULL);
        assert_eq!(feed(&mut c, t0, 0, 5, report(0.0, None)), vec![]);
        assert_eq!(
            feed(&mut c, t0, 5, 2, report(0.85, None)),
            vec![(5, Rendition::Reduced)]
        );
    }

    #[test]
    fn a_low_estimate_moves_down_once_it_has_had_time_to_climb() {
        let t0 = Instant::now();
        let mut c = RenditionChoice::new(FULL);
        // 500 kbit/s of a 1500 kbit/s composite, nothing lost (the queue grows instead). The
        // estimate is not trusted while it climbs after the connection starts.
        let settled = TRY_UP_PROVEN.as_secs();
        let down = settled + DOWN_AFTER.as_secs();
        let up = down + 1 + FIRST_TRY_UP.as_secs();
        // Nothing lost on the reduced rendition: it tries up, and the estimate is again not
        // trusted until it has had time to climb; it stays low, so down, and the next wait is
        // twice as long.
        let down_again = up + settled + DOWN_AFTER.as_secs();
        let up_again = down_again + 1 + 2 * FIRST_TRY_UP.as_secs();
        assert_eq!(
            feed(&mut c, t0, 0, up_again + 1, report(0.0, Some(500))),
            vec![
                (down, Rendition::Reduced),
                (up, Rendition::Full),
                (down_again, Rendition::Reduced),
                (up_again, Rendition::Full),
            ]
        );
    }

    #[test]
    fn a_reconnection_gets_time_for_its_estimate_and_is_not_a_failed_try() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut c = RenditionChoice::new(FULL);
        c.connection_started(at(0));
        assert_eq!(feed(&mut c, t0, 0, 40, report(0.0, Some(2000))), vec![]);
        // A reconnection: the new browser's estimate starts low and climbs.
        c.connection_started(at(40));
        for s in 40..100 {
            let climbing = (300 + (s - 40) * 100).min(2000) as u32;
            assert_eq!(c.observe(at(s), report(0.0, Some(climbing))), None, "{s}");
        }
        // On the reduced rendition, a reconnection keeps it, and a loss-driven fall right
        // after a reconnection does not double the wait.
        assert_eq!(
            feed(&mut c, t0, 100, 3, report(0.4, None)),
            vec![(100 + DOWN_AFTER.as_secs(), Rendition::Reduced)]
        );
        c.connection_started(at(103));
        assert_eq!(c.rendition(), Rendition::Reduced);
        assert_eq!(
            feed(
                &mut c,
                t0,
                103,
                FIRST_TRY_UP.as_secs() + 1,
                report(0.0, None)
            ),
            vec![(103 + FIRST_TRY_UP.as_secs(), Rendition::Full)]
        );
    }

    #[test]
    fn a_climbing_estimate_after_a_try_up_is_not_a_failure() {
        let t0 = Instant::now();
        let mut c = RenditionChoice::new(FULL);
        assert_eq!(
            feed(&mut c, t0, 0, 4, report(0.3, None)),
            vec![(DOWN_AFTER.as_secs(), Rendition::Reduced)]
        );
        let up = 4 + FIRST_TRY_UP.as_secs();
        assert_eq!(
            feed(&mut c, t0, 4, up - 3, report(0.0, Some(300))),
            vec![(up, Rendition::Full)]
        );
        // The estimate climbs from what the reduced rendition needed to the full bitrate.
        for s in up + 1..up + 60 {
            let climbing = (300 + (s - up) * 100).min(3000) as u32;
            assert_eq!(
                c.observe(t0 + Duration::from_secs(s), report(0.0, Some(climbing))),
                None,
                "{s}"
            );
        }
    }

    #[test]
    fn tries_up_after_a_good_spell_and_waits_longer_after_each_failed_try() {
        let t0 = Instant::now();
        let mut c = RenditionChoice::new(FULL);
        assert_eq!(
            feed(&mut c, t0, 0, 4, report(0.2, None)),
            vec![(DOWN_AFTER.as_secs(), Rendition::Reduced)]
        );
        // Good from second 4: up after the first wait.
        let up = 4 + FIRST_TRY_UP.as_secs();
        assert_eq!(
            feed(
                &mut c,
                t0,
                4,
                FIRST_TRY_UP.as_secs() + 1,
                report(0.0, Some(3000))
            ),
            vec![(up, Rendition::Full)]
        );
        // The full rendition is too much again: down, and the next wait is twice as long.
        let bad_from = up + 1;
        let down = bad_from + DOWN_AFTER.as_secs();
        assert_eq!(
            feed(&mut c, t0, bad_from, 4, report(0.2, None)),
            vec![(down, Rendition::Reduced)]
        );
        let good_from = bad_from + 4;
        let changes = feed(&mut c, t0, good_from, 60, report(0.0, None));
        assert_eq!(
            changes,
            vec![(good_from + 2 * FIRST_TRY_UP.as_secs(), Rendition::Full)]
        );
        // This try holds: after it is proven, a later fall waits only the first wait again.
        let held_to = good_from + 2 * FIRST_TRY_UP.as_secs() + TRY_UP_PROVEN.as_secs() + 1;
        assert_eq!(
            feed(
                &mut c,
                t0,
                good_from + 60,
                held_to - good_from - 60,
                report(0.0, None)
            ),
            vec![]
        );
        assert_eq!(
            feed(&mut c, t0, held_to, 4, report(0.2, None)),
            vec![(held_to + DOWN_AFTER.as_secs(), Rendition::Reduced)]
        );
        let again = held_to + 4;
        assert_eq!(
            feed(
                &mut c,
                t0,
                again,
                FIRST_TRY_UP.as_secs() + 1,
                report(0.0, None)
            ),
            vec![(again + FIRST_TRY_UP.as_secs(), Rendition::Full)]
        );
    }

    #[test]
    fn the_wait_before_a_try_up_has_a_ceiling() {
        let t0 = Instant::now();
        let mut c = RenditionChoice::new(FULL);
        let mut s = 0;
        for _ in 0..8 {
            // Down, then good until it tries up (and no longer), then bad at once.
            feed(&mut c, t0, s, 4, report(0.4, None));
            s += 4;
            let start = s;
            while c
                .observe(t0 + Duration::from_secs(s), report(0.0, None))
                .is_none()
            {
                s += 1;
            }
            assert!(s - start <= LONGEST_TRY_UP.as_secs());
            s += 1;
        }
        assert_eq!(c.try_up_after, LONGEST_TRY_UP);
    }
}
