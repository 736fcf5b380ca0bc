//! The node's frame pace: when the machine cannot render every hearing's every tick, all of
//! its hearings give up the same share of pictures, evenly spread, instead of each hearing
//! missing whatever ticks it happens to miss (the busiest or unluckiest hearing dropping to a
//! few frames a second while another keeps its full rate). Audio and the recording's audio
//! are never shed: a tick whose picture is shed still mixes its sound.
//!
//! [`PaceCore`] holds the rule, sans-I/O: the ticks of every hearing on the node, and whether
//! each was late, go in with the time they finished; out comes the share of ticks to render,
//! in fifths ([`PaceCore::keep`]), and for each tick whether it renders
//! ([`PaceCore::renders`]). Every [`WINDOW`] it weighs the late share: over [`SHED_AT`] it sheds
//! one more fifth (down to [`MIN_KEEP`] of five); under [`CALM_UNDER`] for a while it gives one
//! back. A step back up that brings the lateness back doubles the wait before the next try
//! (from [`FIRST_WAIT`] to [`MAX_WAIT`]), so a node on the edge does not swing. [`FramePace`]
//! is the shell the tickers share, reading the clock.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often the late share is weighed.
pub const WINDOW: Duration = Duration::from_secs(2);
/// A late share over this sheds one more fifth of the pictures.
pub const SHED_AT: f64 = 0.10;
/// A late share under this is calm: after a while, a fifth is given back.
pub const CALM_UNDER: f64 = 0.02;
/// The fewest ticks of every five that are rendered (10 fps at 25).
pub const MIN_KEEP: u32 = 2;
/// How long the node must be calm before it gives back a fifth, at first.
pub const FIRST_WAIT: Duration = Duration::from_secs(10);
/// The longest wait before giving back a fifth, after failed tries.
pub const MAX_WAIT: Duration = Duration::from_secs(160);
/// A shed that follows a step up within this was a failed try.
const TRY_WITHIN: Duration = Duration::from_secs(6);
/// A step up that held this long resets the wait to [`FIRST_WAIT`].
const HELD: Duration = Duration::from_secs(60);
/// Fewer ticks than this in a window are not weighed (a node that just started).
const MIN_TICKS: u32 = 10;
/// No tick from any hearing for this long: the node was idle, and its next hearing starts
/// at the full rate with the first wait.
const IDLE_RESET: Duration = Duration::from_secs(30);

/// What changed at a weighing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PaceChange {
    /// One more fifth of the pictures is shed; now `keep` of five are rendered.
    Shed {
        /// Ticks of five rendered from now on.
        keep: u32,
        /// The late share that caused it.
        late_share: f64,
    },
    /// A fifth is given back; now `keep` of five are rendered.
    Restored {
        /// Ticks of five rendered from now on.
        keep: u32,
    },
}

/// The rule of the node's frame pace, on times given to it (see the module's docs).
#[derive(Debug, Clone)]
pub struct PaceCore {
    keep: u32,
    window_start: Option<Instant>,
    ticks: u32,
    late: u32,
    calm_since: Option<Instant>,
    wait: Duration,
    last_up: Option<Instant>,
    last_tick: Option<Instant>,
}

impl Default for PaceCore {
    fn default() -> Self {
        Self {
            keep: 5,
            window_start: None,
            ticks: 0,
            late: 0,
            calm_since: None,
            wait: FIRST_WAIT,
            last_up: None,
            last_tick: None,
        }
    }
}

impl PaceCore {
    /// Ticks rendered of every five.
    pub fn keep(&self) -> u32 {
        self.keep
    }

    /// Whether tick number `tick` of a hearing renders its picture: `keep` of every five,
    /// spread out (4: one of five shed; 3: two shed, never side by side; 2: three shed, at
    /// most two in a row).
    pub fn renders(&self, tick: u64) -> bool {
        let keep = u64::from(self.keep);
        (tick * keep) % 5 < keep
    }

    /// One tick of some hearing finished at `now`, `late` or not. Returns what changed, if
    /// the window closed and the share moved.
    pub fn note(&mut self, now: Instant, late: bool) -> Option<PaceChange> {
        if self
            .last_tick
            .is_some_and(|last| now.saturating_duration_since(last) >= IDLE_RESET)
        {
            *self = Self::default();
        }
        self.last_tick = Some(now);
        let start = *self.window_start.get_or_insert(now);
        self.ticks += 1;
        self.late += u32::from(late);
        if now.saturating_duration_since(start) < WINDOW {
            return None;
        }
        let (ticks, late) = (self.ticks, self.late);
        self.window_start = Some(now);
        self.ticks = 0;
        self.late = 0;
        if ticks < MIN_TICKS {
            return None;
        }
        let share = f64::from(late) / f64::from(ticks);
        if self.last_up.is_some_and(|up| now - up >= HELD) {
            self.wait = FIRST_WAIT;
            self.last_up = None;
        }
        if share > SHED_AT {
            self.calm_since = None;
            if self
                .last_up
                .is_some_and(|up| now.saturating_duration_since(up) <= TRY_WITHIN)
            {
                self.wait = (self.wait * 2).min(MAX_WAIT);
            }
            // Soon after a step up or later, that step did not hold: the wait is not reset
            // as if it had.
            self.last_up = None;
            if self.keep > MIN_KEEP {
                self.keep -= 1;
                return Some(PaceChange::Shed {
                    keep: self.keep,
                    late_share: share,
                });
            }
            return None;
        }
        if share >= CALM_UNDER {
            self.calm_since = None;
            return None;
        }
        let calm = *self.calm_since.get_or_insert(start);
        if self.keep < 5 && now.saturating_duration_since(calm) >= self.wait {
            self.keep += 1;
            self.last_up = Some(now);
            self.calm_since = Some(now);
            return Some(PaceChange::Restored { keep: self.keep });
        }
        None
    }
}

/// The node's frame pace, shared by every hearing's ticker on the node (see the module's
/// docs). The lock is held only to note a tick or read the share.
#[derive(Debug)]
pub struct FramePace {
    core: Mutex<PaceCore>,
    /// `false`: nothing is ever shed (each hearing drops what it misses by itself).
    evenly: bool,
}

impl Default for FramePace {
    fn default() -> Self {
        Self::new(true)
    }
}

impl FramePace {
    /// A pace at the full rate; `evenly` false keeps it there (`capacity.shed_evenly`).
    pub fn new(evenly: bool) -> Self {
        Self {
            core: Mutex::default(),
            evenly,
        }
    }

    /// Whether tick number `tick` of a hearing renders its picture.
    pub fn renders(&self, tick: u64) -> bool {
        !self.evenly || self.core.lock().expect("pace lock").renders(tick)
    }

    /// Ticks rendered of every five, now.
    pub fn keep(&self) -> u32 {
        self.core.lock().expect("pace lock").keep()
    }

    /// A tick of `hearing` finished now, `late` or not.
    pub fn note(&self, hearing: &str, late: bool) {
        if !self.evenly {
            return;
        }
        let change = self
            .core
            .lock()
            .expect("pace lock")
            .note(Instant::now(), late);
        match change {
            Some(PaceChange::Shed { keep, late_share }) => tracing::warn!(
                %hearing,
                keep_of_5 = keep,
                late_share = format!("{:.0} %", late_share * 100.0),
                "the node is behind: every hearing now renders fewer pictures (audio and the recording's sound go on)"
            ),
            Some(PaceChange::Restored { keep }) => tracing::info!(
                %hearing,
                keep_of_5 = keep,
                "the node has room again: every hearing renders more pictures"
            ),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `secs` seconds of ticks at 25 a second from `hearings` hearings, a share `late`
    /// of them late, the last at `from + secs`; returns the changes and that time.
    fn run(
        core: &mut PaceCore,
        from: Instant,
        secs: u64,
        hearings: u32,
        late: f64,
    ) -> (Vec<PaceChange>, Instant) {
        let mut changes = Vec::new();
        let ticks = secs * 25;
        let mut owed = 0.0;
        for i in 0..=ticks {
            let now = from + Duration::from_millis(i * 40);
            for _ in 0..hearings {
                owed += late;
                let is_late = owed >= 1.0;
                if is_late {
                    owed -= 1.0;
                }
                changes.extend(core.note(now, is_late));
            }
        }
        (changes, from + Duration::from_secs(secs))
    }

    #[test]
    fn every_tick_renders_at_the_full_rate_and_the_shed_ones_are_spread_out() {
        let mut core = PaceCore::default();
        assert!((0..50).all(|t| core.renders(t)));
        for keep in [4, 3, 2] {
            core.keep = keep;
            let rendered: Vec<bool> = (0..10).map(|t| core.renders(t)).collect();
            assert_eq!(
                rendered.iter().filter(|r| **r).count() as u32,
                keep * 2,
                "{keep}: {rendered:?}"
            );
            // Never more than two pictures shed in a row.
            assert!(
                !rendered.windows(3).any(|w| w.iter().all(|r| !r)),
                "{keep}: {rendered:?}"
            );
        }
    }

    #[test]
    fn a_late_node_sheds_a_fifth_a_window_down_to_the_floor() {
        let mut core = PaceCore::default();
        let t0 = Instant::now();
        let (changes, _) = run(&mut core, t0, 20, 3, 0.5);
        let keeps: Vec<u32> = changes
            .iter()
            .map(|c| match c {
                PaceChange::Shed { keep, .. } => *keep,
                PaceChange::Restored { keep } => panic!("restored to {keep} while late"),
            })
            .collect();
        assert_eq!(keeps, [4, 3, MIN_KEEP]);
        assert_eq!(core.keep(), MIN_KEEP);
    }

    #[test]
    fn a_few_late_ticks_shed_nothing() {
        let mut core = PaceCore::default();
        let (changes, _) = run(&mut core, Instant::now(), 60, 4, 0.05);
        assert!(changes.is_empty(), "{changes:?}");
        assert_eq!(core.keep(), 5);
    }

    #[test]
    fn a_calm_node_gives_back_a_fifth_after_the_wait() {
        let mut core = PaceCore::default();
        let t0 = Instant::now();
        let (changes, t) = run(&mut core, t0, 4, 2, 0.5);
        assert!(
            matches!(
                changes[..],
                [
                    PaceChange::Shed { keep: 4, .. },
                    PaceChange::Shed { keep: 3, .. }
                ]
            ),
            "{changes:?}"
        );
        // Calm, but not yet for long enough.
        let (changes, t) = run(&mut core, t, 8, 2, 0.0);
        assert!(changes.is_empty(), "{changes:?}");
        let (changes, t) = run(&mut core, t, 4, 2, 0.0);
        assert_eq!(changes, [PaceChange::Restored { keep: 4 }]);
        // The next fifth needs another calm wait.
        let (changes, _) = run(&mut core, t, 12, 2, 0.0);
        assert_eq!(changes, [PaceChange::Restored { keep: 5 }]);
    }

    #[test]
    fn a_step_up_that_fails_doubles_the_wait_and_one_that_holds_resets_it() {
        let mut core = PaceCore::default();
        let t0 = Instant::now();
        let (_, t) = run(&mut core, t0, 2, 2, 0.5);
        assert_eq!(core.keep(), 4);
        let (changes, t) = run(&mut core, t, 12, 2, 0.0);
        assert_eq!(changes, [PaceChange::Restored { keep: 5 }]);
        // Back at full rate the node is late again at once: a failed try.
        let (_, t) = run(&mut core, t, 2, 2, 0.5);
        assert_eq!(core.keep(), 4);
        assert_eq!(core.wait, FIRST_WAIT * 2);
        let (changes, t) = run(&mut core, t, 12, 2, 0.0);
        assert!(changes.is_empty(), "the wait doubled: {changes:?}");
        let (changes, t) = run(&mut core, t, 10, 2, 0.0);
        assert_eq!(changes, [PaceChange::Restored { keep: 5 }]);
        // This time it holds: after a minute the wait is the first one again.
        let _ = run(&mut core, t, 62, 2, 0.0);
        assert_eq!(core.wait, FIRST_WAIT);
        // Failing again and again, the wait stops at its ceiling.
        let mut t = t + Duration::from_secs(62);
        for _ in 0..8 {
            let (_, after) = run(&mut core, t, 2, 2, 0.5);
            let calm = core.wait.as_secs() + 4;
            let (_, after) = run(&mut core, after, calm, 2, 0.0);
            t = after;
        }
        assert_eq!(core.wait, MAX_WAIT);
    }

    #[test]
    fn a_step_up_shed_again_later_does_not_reset_the_wait_as_if_it_held() {
        let mut core = PaceCore::default();
        let t0 = Instant::now();
        // A failed try doubles the wait to 20 s.
        let (_, t) = run(&mut core, t0, 2, 2, 0.5);
        let (_, t) = run(&mut core, t, 12, 2, 0.0);
        let (_, t) = run(&mut core, t, 2, 2, 0.5);
        assert_eq!(core.wait, FIRST_WAIT * 2);
        let (changes, t) = run(&mut core, t, 22, 2, 0.0);
        assert_eq!(changes, [PaceChange::Restored { keep: 5 }]);
        // Late again 45 s after that step up (too late to count as a failed try), then calm
        // until past a minute after it: the step did not hold, so the wait stays 20 s and
        // the fifth is not given back after 10 s.
        let (_, t) = run(&mut core, t, 41, 2, 0.0);
        let (_, t) = run(&mut core, t, 2, 2, 0.5);
        assert!(core.keep() < 5);
        let (changes, _) = run(&mut core, t, 18, 2, 0.0);
        assert!(
            !changes
                .iter()
                .any(|c| matches!(c, PaceChange::Restored { .. })),
            "{changes:?}"
        );
        assert_eq!(core.wait, FIRST_WAIT * 2);
    }

    #[test]
    fn an_idle_node_starts_its_next_hearing_at_the_full_rate() {
        let mut core = PaceCore::default();
        let t0 = Instant::now();
        let (_, t) = run(&mut core, t0, 8, 2, 0.5);
        assert_eq!(core.keep(), MIN_KEEP);
        // Every hearing closed; a minute later a new one ticks.
        let (changes, _) = run(&mut core, t + Duration::from_secs(60), 1, 1, 0.0);
        assert!(changes.is_empty(), "{changes:?}");
        assert_eq!(core.keep(), 5);
        assert_eq!(core.wait, FIRST_WAIT);
    }
}
