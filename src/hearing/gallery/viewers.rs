//! Who is watching the broadcast: the viewer count the monitor and the watch page show.

use std::collections::HashMap;
use std::time::Instant;

use super::{MAX_VIEWERS, VIEWER_WINDOW};

/// Who is watching: each player's random id and when it last fetched the playlist (sans-I/O:
/// time is an input).
#[derive(Debug, Default)]
pub struct Viewers {
    seen: HashMap<u64, Instant>,
}

impl Viewers {
    /// `viewer` fetched the playlist at `now`.
    pub fn saw(&mut self, viewer: &str, now: Instant) {
        let id = crate::digest::sha256(viewer.as_bytes());
        let key = u64::from_le_bytes(id[..8].try_into().expect("8 bytes"));
        if self.seen.len() >= MAX_VIEWERS && !self.seen.contains_key(&key) {
            self.seen
                .retain(|_, at| now.saturating_duration_since(*at) < VIEWER_WINDOW);
            if self.seen.len() >= MAX_VIEWERS {
                return;
            }
        }
        self.seen.insert(key, now);
    }

    /// Players seen in the last [`VIEWER_WINDOW`] before `now`.
    pub fn count(&mut self, now: Instant) -> usize {
        self.seen
            .retain(|_, at| now.saturating_duration_since(*at) < VIEWER_WINDOW);
        self.seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn viewers_are_counted_once_each_and_forgotten_after_the_window() {
        let mut v = Viewers::default();
        let t0 = Instant::now();
        v.saw("a", t0);
        v.saw("a", t0 + Duration::from_secs(1));
        v.saw("b", t0 + Duration::from_secs(2));
        assert_eq!(v.count(t0 + Duration::from_secs(3)), 2);
        assert_eq!(v.count(t0 + Duration::from_secs(13)), 1, "a left");
        assert_eq!(v.count(t0 + Duration::from_secs(15)), 0);
    }
}
