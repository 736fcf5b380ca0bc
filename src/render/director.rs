//! The automatic director: picks the live view from each seat's audio level. It cuts to the
//! speaker's `speaker:SEAT` view when one voice clearly leads, back to `wide` after a stretch
//! of silence, never before the current shot has run its minimum length, and obeys a view
//! locked by the clerk at once.
//!
//! While an exhibit is on the evidence display, the room's `exhibit` view takes the place of
//! `wide`: a newly shown exhibit or a turned page cuts to it at once, the presenter's voice
//! keeps it (they are in its picture-in-picture), another voice that leads cuts to its speaker
//! as usual, and silence comes back to the exhibit. Taking the exhibit down returns to `wide`.
//!
//! Pure logic over (time, levels); the ticker feeds it once per tick and moves the
//! compositor's camera when it returns a new view.

use std::time::{Duration, Instant};

use super::layout::{Layout, EXHIBIT_VIEW, SPEAKER_PREFIX, WIDE_VIEW};

/// RMS level (0..1 of full scale) above which a seat counts as speaking (about −40 dBFS).
pub const SPEAKING_LEVEL: f32 = 0.01;
/// How much louder (ratio of held levels) a new voice must be than the current speaker's to
/// take the shot.
const TAKEOVER_RATIO: f32 = 1.5;
/// Per-second decay of the held level: a voice keeps the shot through short pauses.
const HOLD_DECAY_PER_S: f32 = 0.25;

/// Chooses the live view.
#[derive(Debug, Clone)]
pub struct Director {
    seat_views: Vec<String>,
    min_shot: Duration,
    back_to_wide_after: Duration,
    held: Vec<f32>,
    current: String,
    since: Instant,
    last_voice: Instant,
    last_update: Instant,
    locked: Option<String>,
    /// Whether the layout has an exhibit view to cut to.
    has_exhibit_view: bool,
    /// What the display shows, as [`Director::exhibit`] last said.
    exhibit: Option<ExhibitCue>,
    /// A new exhibit or page not yet cut to.
    exhibit_pending: bool,
}

/// What the evidence display shows, for the director.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExhibitCue {
    /// Changes with every exhibit shown and every page turned.
    pub serial: u64,
    /// The presenter's seat (layout index), if they are seated.
    pub presenter_seat: Option<usize>,
}

impl Director {
    /// A director for `layout`'s seats, starting on the wide view at `now`. `min_shot` is the
    /// shortest time a shot is held before an automatic cut.
    pub fn new(layout: &Layout, min_shot: Duration, now: Instant) -> Self {
        Self {
            seat_views: layout
                .seats
                .iter()
                .map(|s| format!("{SPEAKER_PREFIX}{}", s.id))
                .collect(),
            min_shot,
            back_to_wide_after: min_shot * 2,
            held: vec![0.0; layout.seats.len()],
            current: WIDE_VIEW.to_string(),
            since: now,
            last_voice: now,
            last_update: now,
            locked: None,
            has_exhibit_view: layout.display.is_some() && layout.camera_for(EXHIBIT_VIEW).is_some(),
            exhibit: None,
            exhibit_pending: false,
        }
    }

    /// Says what the evidence display shows (each tick; `None`: nothing). A new exhibit or
    /// page is cut to on the next update; taking the exhibit down leaves its view then.
    pub fn exhibit(&mut self, shown: Option<ExhibitCue>) {
        if !self.has_exhibit_view {
            return;
        }
        let new_picture = shown.map(|s| s.serial) != self.exhibit.map(|s| s.serial);
        if new_picture {
            self.exhibit_pending = shown.is_some();
        }
        self.exhibit = shown;
    }

    /// The view the director comes back to after silence: the exhibit while one is shown.
    fn home(&self) -> &'static str {
        if self.exhibit.is_some() {
            EXHIBIT_VIEW
        } else {
            WIDE_VIEW
        }
    }

    /// The view on air.
    pub fn current(&self) -> &str {
        &self.current
    }

    /// The view the clerk locked, if any.
    pub fn locked(&self) -> Option<&str> {
        self.locked.as_deref()
    }

    /// Locks a view (taking effect on the next update, without waiting for the minimum shot),
    /// or with `None` hands the choice back to the audio levels. The caller checks the name.
    pub fn lock(&mut self, view: Option<String>) {
        self.locked = view;
    }

    /// Feeds one tick's RMS level per seat (0..1, layout order; missing seats are silent).
    /// Returns the new view when the director cuts.
    pub fn update(&mut self, now: Instant, levels: &[f32]) -> Option<&str> {
        let dt = now
            .saturating_duration_since(self.last_update)
            .as_secs_f32();
        self.last_update = now;
        let decay = HOLD_DECAY_PER_S.powf(dt);
        for (i, held) in self.held.iter_mut().enumerate() {
            let level = levels.get(i).copied().unwrap_or(0.0);
            *held = (*held * decay).max(level);
        }
        if let Some(locked) = &self.locked {
            if *locked != self.current {
                return Some(self.cut(locked.clone(), now));
            }
            return None;
        }
        if std::mem::take(&mut self.exhibit_pending) && self.current != EXHIBIT_VIEW {
            // Everyone looks at a new exhibit or page at once; a voice takes the shot from it
            // only by speaking on.
            self.last_voice = now;
            self.held.iter_mut().for_each(|h| *h = 0.0);
            return Some(self.cut(EXHIBIT_VIEW.to_string(), now));
        }
        if self.exhibit.is_none() && self.current == EXHIBIT_VIEW {
            return Some(self.cut(WIDE_VIEW.to_string(), now));
        }
        // The presenter speaks over their exhibit: it keeps the shot (their picture is in it).
        let presenter = self.exhibit.and_then(|e| e.presenter_seat);
        let loudest = self
            .held
            .iter()
            .enumerate()
            .filter(|(seat, &l)| l >= SPEAKING_LEVEL && Some(*seat) != presenter)
            .max_by(|a, b| a.1.total_cmp(b.1));
        if loudest.is_some() {
            self.last_voice = now;
        }
        let target = match loudest {
            Some((seat, &level)) => {
                let current_level = self
                    .seat_views
                    .iter()
                    .position(|v| *v == self.current)
                    .map(|i| self.held[i]);
                match current_level {
                    // The current speaker keeps the shot unless clearly outspoken.
                    Some(cur) if cur >= SPEAKING_LEVEL && level < cur * TAKEOVER_RATIO => {
                        return None
                    }
                    _ => self.seat_views[seat].clone(),
                }
            }
            None if now.saturating_duration_since(self.last_voice) >= self.back_to_wide_after => {
                self.home().to_string()
            }
            None => return None,
        };
        if target == self.current || now.saturating_duration_since(self.since) < self.min_shot {
            return None;
        }
        Some(self.cut(target, now))
    }

    fn cut(&mut self, view: String, now: Instant) -> &str {
        self.current = view;
        self.since = now;
        &self.current
    }
}

/// RMS of 16-bit samples as a share of full scale (0..1): a cheap level meter.
pub fn rms_level(samples: &[i16]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|&s| (s as f64) * (s as f64)).sum();
    ((sum / samples.len() as f64).sqrt() / i16::MAX as f64) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout::load(&crate::config::default_assets_dir(), "courtroom").unwrap()
    }

    fn levels(l: &Layout, loud: &[(&str, f32)]) -> Vec<f32> {
        l.seats
            .iter()
            .map(|s| {
                loud.iter()
                    .find(|(id, _)| *id == s.id)
                    .map_or(0.0, |(_, v)| *v)
            })
            .collect()
    }

    /// Runs the director at 25 ticks a second for `secs`, returning every cut.
    fn run(d: &mut Director, t: &mut Instant, secs: f32, lv: &[f32]) -> Vec<(Duration, String)> {
        let start = *t;
        let mut cuts = Vec::new();
        for _ in 0..(secs * 25.0) as usize {
            *t += Duration::from_millis(40);
            if let Some(v) = d.update(*t, lv) {
                cuts.push((*t - start, v.to_string()));
            }
        }
        cuts
    }

    #[test]
    fn cuts_to_the_speaker_and_back_to_wide_after_silence() {
        let l = layout();
        let mut t = Instant::now();
        let mut d = Director::new(&l, Duration::from_secs(2), t);
        assert_eq!(d.current(), "wide");
        let cuts = run(&mut d, &mut t, 3.0, &levels(&l, &[("plaintiff", 0.2)]));
        assert_eq!(cuts.len(), 1);
        assert_eq!(cuts[0].1, "speaker:plaintiff");
        assert!(
            cuts[0].0 >= Duration::from_secs(2),
            "minimum shot on the opening wide"
        );
        let cuts = run(&mut d, &mut t, 10.0, &levels(&l, &[]));
        assert_eq!(cuts.len(), 1, "{cuts:?}");
        assert_eq!(cuts[0].1, "wide");
    }

    #[test]
    fn never_cuts_faster_than_the_minimum_shot_when_voices_alternate() {
        let l = layout();
        let mut t = Instant::now();
        let mut d = Director::new(&l, Duration::from_secs(3), t);
        let a = levels(&l, &[("plaintiff", 0.3)]);
        let b = levels(&l, &[("defendant", 0.9)]);
        let mut cuts = Vec::new();
        let start = t;
        for i in 0..500 {
            t += Duration::from_millis(40);
            // Voices swap every 0.4 s; the louder one would win every time.
            let lv = if (i / 10) % 2 == 0 { &a } else { &b };
            if let Some(v) = d.update(t, lv) {
                cuts.push((t - start, v.to_string()));
            }
        }
        assert!(!cuts.is_empty());
        for w in cuts.windows(2) {
            assert!(w[1].0 - w[0].0 >= Duration::from_secs(3), "{cuts:?}");
        }
    }

    #[test]
    fn the_current_speaker_keeps_the_shot_against_a_slightly_louder_voice() {
        let l = layout();
        let mut t = Instant::now();
        let mut d = Director::new(&l, Duration::from_secs(1), t);
        run(&mut d, &mut t, 2.0, &levels(&l, &[("witness", 0.2)]));
        assert_eq!(d.current(), "speaker:witness");
        let both = levels(&l, &[("witness", 0.2), ("clerk", 0.25)]);
        assert!(run(&mut d, &mut t, 5.0, &both).is_empty());
        let louder = levels(&l, &[("witness", 0.2), ("clerk", 0.5)]);
        assert_eq!(run(&mut d, &mut t, 5.0, &louder)[0].1, "speaker:clerk");
    }

    #[test]
    fn a_locked_view_wins_at_once_and_unlocking_returns_to_audio() {
        let l = layout();
        let mut t = Instant::now();
        let mut d = Director::new(&l, Duration::from_secs(2), t);
        let judge = levels(&l, &[("presiding_judge", 0.3)]);
        run(&mut d, &mut t, 3.0, &judge);
        assert_eq!(d.current(), "speaker:presiding_judge");
        d.lock(Some("bench".into()));
        t += Duration::from_millis(40);
        assert_eq!(
            d.update(t, &judge),
            Some("bench"),
            "lock ignores the minimum shot"
        );
        assert!(
            run(&mut d, &mut t, 5.0, &judge).is_empty(),
            "held while locked"
        );
        d.lock(None);
        let cuts = run(&mut d, &mut t, 1.0, &judge);
        assert_eq!(cuts[0].1, "speaker:presiding_judge");
    }

    #[test]
    fn an_exhibit_takes_the_shot_at_once_and_is_where_silence_returns() {
        let l = layout();
        let seat = |id: &str| l.seats.iter().position(|s| s.id == id).unwrap();
        let mut t = Instant::now();
        let mut d = Director::new(&l, Duration::from_secs(2), t);
        let judge = levels(&l, &[("presiding_judge", 0.3)]);
        run(&mut d, &mut t, 3.0, &judge);
        assert_eq!(d.current(), "speaker:presiding_judge");
        // The plaintiff shows an exhibit: cut at once, inside the judge's minimum shot.
        let cue = |serial| ExhibitCue {
            serial,
            presenter_seat: Some(seat("plaintiff")),
        };
        d.exhibit(Some(cue(1)));
        let cuts = run(&mut d, &mut t, 0.04, &judge);
        assert_eq!(cuts, [(Duration::from_millis(40), "exhibit".to_string())]);
        // The presenter talks about it: the exhibit keeps the shot.
        let plaintiff = levels(&l, &[("plaintiff", 0.5)]);
        assert!(run(&mut d, &mut t, 6.0, &plaintiff).is_empty());
        // The defendant answers: cut to them, and back to the exhibit after silence.
        let defendant = levels(&l, &[("defendant", 0.4)]);
        assert_eq!(
            run(&mut d, &mut t, 3.0, &defendant)[0].1,
            "speaker:defendant"
        );
        let cuts = run(&mut d, &mut t, 10.0, &levels(&l, &[]));
        assert_eq!(cuts.last().unwrap().1, "exhibit", "{cuts:?}");
        // A page turn while someone else has the shot cuts back to the exhibit at once.
        run(&mut d, &mut t, 3.0, &defendant);
        assert_eq!(d.current(), "speaker:defendant");
        d.exhibit(Some(cue(2)));
        assert_eq!(run(&mut d, &mut t, 0.04, &defendant)[0].1, "exhibit");
        // The same page again (every tick says it) is no new cut.
        d.exhibit(Some(cue(2)));
        assert!(run(&mut d, &mut t, 1.0, &levels(&l, &[])).is_empty());
        // Taken down: back to the wide view at once.
        d.exhibit(None);
        assert_eq!(run(&mut d, &mut t, 0.04, &plaintiff)[0].1, "wide");
    }

    #[test]
    fn a_locked_view_holds_over_a_new_exhibit_and_a_room_without_a_display_ignores_it() {
        let l = layout();
        let mut t = Instant::now();
        let mut d = Director::new(&l, Duration::from_secs(2), t);
        d.lock(Some("bench".into()));
        run(&mut d, &mut t, 0.1, &levels(&l, &[]));
        d.exhibit(Some(ExhibitCue {
            serial: 1,
            presenter_seat: None,
        }));
        assert!(run(&mut d, &mut t, 3.0, &levels(&l, &[])).is_empty());
        assert_eq!(d.current(), "bench");

        let mut bare = l.clone();
        bare.views.retain(|v| v.name != "exhibit");
        let mut d = Director::new(&bare, Duration::from_secs(2), t);
        d.exhibit(Some(ExhibitCue {
            serial: 1,
            presenter_seat: None,
        }));
        assert!(run(&mut d, &mut t, 3.0, &levels(&l, &[])).is_empty());
    }

    #[test]
    fn rms_level_of_full_scale_square_is_one_and_of_silence_zero() {
        assert!((rms_level(&[i16::MAX, -i16::MAX, i16::MAX]) - 1.0).abs() < 1e-4);
        assert_eq!(rms_level(&[0; 100]), 0.0);
        assert_eq!(rms_level(&[]), 0.0);
        let half = rms_level(&[16384; 10]);
        assert!((half - 0.5).abs() < 0.01);
    }
}
