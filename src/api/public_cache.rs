//! The public routes' view of a hearing (whether it is public, its state, its record), kept
//! for a second: a thousand players asking for playlists and saying they watch must not each
//! read the database. A change of publicity or state forgets the hearing at once, so a
//! hearing made closed is refused from the next request. Sans-I/O: time is an input.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::store::HearingSummary;

/// How long a reading is used.
pub const PUBLIC_TTL: Duration = Duration::from_secs(1);
/// Hearings remembered at most (unknown ids included: a stranger's guesses are bounded).
const MAX_ENTRIES: usize = 10_000;

/// Hearing id → when it was read, and what was read (`None`: no such hearing).
#[derive(Debug, Default)]
pub struct PublicHearings {
    entries: Mutex<HashMap<String, (Instant, Option<HearingSummary>)>>,
}

impl PublicHearings {
    fn entries(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Option<HearingSummary>)>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What was read of `id` less than [`PUBLIC_TTL`] before `now`, if anything.
    pub fn get(&self, id: &str, now: Instant) -> Option<Option<HearingSummary>> {
        let entries = self.entries();
        let (at, summary) = entries.get(id)?;
        (now.saturating_duration_since(*at) < PUBLIC_TTL).then(|| summary.clone())
    }

    /// `summary` was read of `id` at `now`. When full, stale readings go first; if all are
    /// fresh, this one is not kept.
    pub fn put(&self, id: &str, summary: Option<HearingSummary>, now: Instant) {
        let mut entries = self.entries();
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(id) {
            entries.retain(|_, (at, _)| now.saturating_duration_since(*at) < PUBLIC_TTL);
            if entries.len() >= MAX_ENTRIES {
                return;
            }
        }
        entries.insert(id.to_owned(), (now, summary));
    }

    /// `id` changed (made public or closed, opened, paused, ended): read it again next time.
    pub fn forget(&self, id: &str) {
        self.entries().remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reading_is_used_for_a_second_and_forgotten_on_a_change() {
        let cache = PublicHearings::default();
        let t0 = Instant::now();
        assert_eq!(cache.get("h1", t0), None, "never read");
        cache.put("h1", None, t0);
        assert_eq!(cache.get("h1", t0 + Duration::from_millis(999)), Some(None));
        assert_eq!(cache.get("h1", t0 + PUBLIC_TTL), None, "stale");
        cache.put("h1", None, t0);
        cache.forget("h1");
        assert_eq!(cache.get("h1", t0), None, "forgotten");
    }

    #[test]
    fn strangers_guesses_are_bounded() {
        let cache = PublicHearings::default();
        let t0 = Instant::now();
        for n in 0..MAX_ENTRIES + 50 {
            cache.put(&format!("guess-{n}"), None, t0);
        }
        assert_eq!(
            cache.entries().len(),
            MAX_ENTRIES,
            "full, all fresh: no more kept"
        );
        // A second on, the stale ones make room.
        let later = t0 + PUBLIC_TTL;
        cache.put("h-new", None, later);
        assert_eq!(cache.get("h-new", later), Some(None));
        assert_eq!(cache.entries().len(), 1);
    }
}
