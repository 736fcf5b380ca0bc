//! Bounds on signalling sockets (issue 16): how many one client address may hold open at once
//! ([`SocketsPerAddress`]), and how fast one socket may send messages ([`MessageBudget`], a
//! token bucket that takes time as input, tested on fake time).
//!
//! Loopback addresses are not counted: they are this machine's own tools and proxies (a
//! reverse proxy not listed in `http.trusted_proxies` makes every client look like it).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Messages a socket may send in a burst.
pub const MESSAGE_BURST: f64 = 60.0;
/// Messages a socket may send per second, sustained (a page sends about one a second).
pub const MESSAGES_PER_SECOND: f64 = 20.0;

/// Open signalling sockets per client address, bounded.
#[derive(Debug, Default)]
pub struct SocketsPerAddress {
    open: Mutex<HashMap<String, usize>>,
}

/// One counted socket; dropping it gives its place back.
#[derive(Debug)]
pub struct SocketSlot {
    owner: Option<(Arc<SocketsPerAddress>, String)>,
}

impl SocketsPerAddress {
    /// Takes a place for one more socket from `client` (an address as
    /// [`client_address`](super::throttle::client_address) gives it), or `None` if it already
    /// holds `limit`. Loopback and unknown addresses always get one, uncounted.
    pub fn open(self: &Arc<Self>, client: &str, limit: usize) -> Option<SocketSlot> {
        let counted = client
            .parse::<IpAddr>()
            .is_ok_and(|ip| !ip.to_canonical().is_loopback());
        if !counted {
            return Some(SocketSlot { owner: None });
        }
        let mut open = self.open.lock().expect("sockets lock");
        let n = open.entry(client.to_owned()).or_default();
        if *n >= limit {
            return None;
        }
        *n += 1;
        Some(SocketSlot {
            owner: Some((self.clone(), client.to_owned())),
        })
    }

    /// Sockets `client` holds now.
    pub fn held_by(&self, client: &str) -> usize {
        self.open
            .lock()
            .expect("sockets lock")
            .get(client)
            .copied()
            .unwrap_or(0)
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        if let Some((sockets, client)) = self.owner.take() {
            let mut open = sockets.open.lock().expect("sockets lock");
            if let Some(n) = open.get_mut(&client) {
                *n -= 1;
                if *n == 0 {
                    open.remove(&client);
                }
            }
        }
    }
}

/// A token bucket for one socket's messages: [`MESSAGE_BURST`] at once, refilled at
/// [`MESSAGES_PER_SECOND`].
#[derive(Debug, Clone)]
pub struct MessageBudget {
    tokens: f64,
    at: Instant,
}

impl MessageBudget {
    /// A full bucket at `now`.
    pub fn new(now: Instant) -> Self {
        Self {
            tokens: MESSAGE_BURST,
            at: now,
        }
    }

    /// Spends one message at `now`; `false` if the socket has none left.
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at);
        self.at = now.max(self.at);
        self.tokens =
            (self.tokens + elapsed.as_secs_f64() * MESSAGES_PER_SECOND).min(MESSAGE_BURST);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_address_holds_at_most_its_limit_and_gets_places_back() {
        let sockets = Arc::new(SocketsPerAddress::default());
        let a: Vec<_> = (0..3)
            .map(|_| sockets.open("203.0.113.7", 3).expect("within the limit"))
            .collect();
        assert!(
            sockets.open("203.0.113.7", 3).is_none(),
            "a fourth is refused"
        );
        assert!(
            sockets.open("203.0.113.8", 3).is_some(),
            "another address is not"
        );
        drop(a);
        assert_eq!(sockets.held_by("203.0.113.7"), 0);
        assert!(sockets.open("203.0.113.7", 3).is_some());
    }

    #[test]
    fn loopback_and_unknown_addresses_are_not_counted() {
        let sockets = Arc::new(SocketsPerAddress::default());
        let held: Vec<_> = (0..10)
            .filter_map(|_| sockets.open("127.0.0.1", 1))
            .chain((0..10).filter_map(|_| sockets.open("::1", 1)))
            .chain((0..10).filter_map(|_| sockets.open("unknown", 1)))
            .collect();
        assert_eq!(held.len(), 30);
        assert_eq!(sockets.held_by("127.0.0.1"), 0);
    }

    #[test]
    fn the_budget_allows_a_burst_then_the_sustained_rate() {
        let t0 = Instant::now();
        let mut budget = MessageBudget::new(t0);
        let burst = (0..1000).take_while(|_| budget.take(t0)).count();
        assert_eq!(burst, MESSAGE_BURST as usize);
        assert!(!budget.take(t0));
        // One second later: the sustained rate's worth, no more.
        let t1 = t0 + Duration::from_secs(1);
        let more = (0..1000).take_while(|_| budget.take(t1)).count();
        assert_eq!(more, MESSAGES_PER_SECOND as usize);
        // A page's one message a second never runs out.
        let mut page = MessageBudget::new(t0);
        assert!((0..3600).all(|s| page.take(t0 + Duration::from_secs(s))));
    }
}
