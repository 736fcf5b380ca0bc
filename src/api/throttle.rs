//! Throttling password guesses without locking the owner out, and knowing who the client is
//! behind a proxy.
//!
//! The policy ([`LoginLimiter`]; time is an input):
//! - **Per account and address, an exponential delay.** The first [`LoginLimiter::FREE`]
//!   failures for one user name from one address cost nothing; each one after that doubles
//!   the wait before the next try from there (1 s, 2 s, 4 s, ... at most
//!   [`LoginLimiter::MAX_DELAY_S`]). A success, or [`LoginLimiter::FORGET_S`] without a
//!   failure, clears it. Someone guessing one account gets about one try a minute; the owner,
//!   from any other address, is never held up, and from the same one waits a minute at most.
//! - **Per address, a budget of other accounts.** A try at a name from an address is refused
//!   while that address has failed, within [`LoginLimiter::WINDOW_S`], against
//!   [`LoginLimiter::PER_CLIENT`] *other* names (unknown ones included), unless the address
//!   has logged in to this name before. Spraying many accounts from one address stops there;
//!   guessing one account is left to the delay (it never spends the budget, so it cannot
//!   block the other people behind the same address), and the people who work from an
//!   address where someone sprays keep their way in to the accounts they used there.
//! - **The address is the peer's**, or, when the peer is one of `http.trusted_proxies`, the
//!   right-most `X-Forwarded-For` entry that is not a trusted proxy ([`client_address`]).
//!   Without trusted proxies, a reverse proxy makes everyone one address: the delays are then
//!   per account (still no lock-out beyond a minute), and the budget blocks only names nobody
//!   has logged in to from behind it.
//!
//! Nothing here is stored: a restart forgets it. Memory is bounded by pruning what has
//! expired once the tables grow past [`LoginLimiter::MAX_ENTRIES`].

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

use axum::http::HeaderMap;

/// What the limiter remembers.
#[derive(Debug, Default)]
struct State {
    /// Consecutive failures per (user name, address), and when the last one was.
    strikes: HashMap<(String, String), (u32, i64)>,
    /// Per address: its latest failures (when, and for which name), at most
    /// [`LoginLimiter::KEPT_PER_CLIENT`].
    spray: HashMap<String, VecDeque<(i64, String)>>,
    /// Per address: the user names it has logged in to.
    known: HashMap<String, HashSet<String>>,
}

/// Throttles failed logins (see the module docs).
#[derive(Debug, Default)]
pub struct LoginLimiter {
    state: Mutex<State>,
}

fn name_key(username: &str) -> String {
    username.trim().to_lowercase()
}

impl LoginLimiter {
    /// Failures per user name and address before any delay.
    pub const FREE: u32 = 3;
    /// The longest delay between tries at one name from one address, seconds.
    pub const MAX_DELAY_S: i64 = 60;
    /// A name and address with no failure for this long start afresh, seconds.
    pub const FORGET_S: i64 = 900;
    /// The window of the per-address budget, seconds.
    pub const WINDOW_S: i64 = 300;
    /// Failures an address may have against names it has not logged in to, per window.
    pub const PER_CLIENT: usize = 20;
    /// Past this many entries, expired ones are pruned.
    pub const MAX_ENTRIES: usize = 100_000;
    /// Failures remembered per address.
    pub const KEPT_PER_CLIENT: usize = 256;

    /// How long to wait after `strikes` consecutive failures, seconds.
    pub fn delay_after(strikes: u32) -> i64 {
        if strikes < Self::FREE {
            return 0;
        }
        let exp = (strikes - Self::FREE).min(16);
        (1i64 << exp).min(Self::MAX_DELAY_S)
    }

    /// `Err(seconds to wait)` when `client` may not try `username` now.
    pub fn check(&self, username: &str, client: &str, now: i64) -> Result<(), i64> {
        let name = name_key(username);
        let mut state = self.state.lock().expect("limiter lock");
        let mut wait = 0;
        if let Some(&(strikes, last)) = state.strikes.get(&(name.clone(), client.to_owned())) {
            if now - last < Self::FORGET_S {
                wait = wait.max(last + Self::delay_after(strikes) - now);
            }
        }
        let known = state
            .known
            .get(client)
            .is_some_and(|names| names.contains(&name));
        if !known {
            if let Some(failures) = state.spray.get_mut(client) {
                while failures
                    .front()
                    .is_some_and(|(t, _)| now - t >= Self::WINDOW_S)
                {
                    failures.pop_front();
                }
                // How many other names it failed against, each at its latest failure: guessing
                // one account is the delay's job, spraying many is this budget's.
                let mut latest: HashMap<&str, i64> = HashMap::new();
                for (t, n) in failures.iter().filter(|(_, n)| *n != name) {
                    latest.insert(n, *t);
                }
                if latest.len() >= Self::PER_CLIENT {
                    let mut times: Vec<i64> = latest.into_values().collect();
                    times.sort_unstable_by(|a, b| b.cmp(a));
                    // Below the budget once all but PER_CLIENT - 1 of these names have expired.
                    wait = wait.max(times[Self::PER_CLIENT - 1] + Self::WINDOW_S - now);
                }
            }
        }
        if wait > 0 {
            Err(wait)
        } else {
            Ok(())
        }
    }

    /// Notes a failed login of `client` as `username`.
    pub fn failed(&self, username: &str, client: &str, now: i64) {
        let name = name_key(username);
        let mut state = self.state.lock().expect("limiter lock");
        if state.strikes.len() + state.spray.len() > Self::MAX_ENTRIES {
            state
                .strikes
                .retain(|_, (_, last)| now - *last < Self::FORGET_S);
            state
                .spray
                .retain(|_, f| f.back().is_some_and(|(t, _)| now - t < Self::WINDOW_S));
        }
        let entry = state
            .strikes
            .entry((name.clone(), client.to_owned()))
            .or_insert((0, now));
        if now - entry.1 >= Self::FORGET_S {
            entry.0 = 0;
        }
        entry.0 = entry.0.saturating_add(1);
        entry.1 = now;
        let failures = state.spray.entry(client.to_owned()).or_default();
        if failures.len() >= Self::KEPT_PER_CLIENT {
            failures.pop_front();
        }
        failures.push_back((now, name));
    }

    /// Notes that `client` logged in as `username`: its delay there ends, and the name is one
    /// this address may keep trying past its budget.
    pub fn succeeded(&self, username: &str, client: &str) {
        let name = name_key(username);
        let mut state = self.state.lock().expect("limiter lock");
        state.strikes.remove(&(name.clone(), client.to_owned()));
        if state.known.len() > Self::MAX_ENTRIES {
            state.known.clear();
        }
        let names = state.known.entry(client.to_owned()).or_default();
        if names.len() < 1000 {
            names.insert(name);
        }
    }
}

/// The client's address: the peer's, or for a peer in `trusted` (reverse proxies), the
/// right-most `X-Forwarded-For` entry that is not itself trusted. `unknown` without a peer.
pub fn client_address(headers: &HeaderMap, peer: Option<SocketAddr>, trusted: &[IpAddr]) -> String {
    let Some(peer) = peer.map(|p| p.ip()) else {
        return "unknown".into();
    };
    if !trusted.contains(&peer) {
        return peer.to_string();
    }
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .collect();
    // Each proxy appends the address it heard from: read from the right, past our own.
    for entry in forwarded.iter().rev() {
        match entry.parse::<IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => continue,
            _ => return (*entry).to_owned(),
        }
    }
    forwarded
        .first()
        .map(|a| (*a).to_owned())
        .unwrap_or_else(|| peer.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guessing_one_account_is_slowed_exponentially_but_the_owner_gets_in() {
        let l = LoginLimiter::default();
        let t = 1000;
        for i in 0..LoginLimiter::FREE {
            assert_eq!(l.check("clerk", "6.6.6.6", t), Ok(()), "free try {i}");
            l.failed("clerk", "6.6.6.6", t);
        }
        assert_eq!(l.check("Clerk", "6.6.6.6", t), Err(1));
        l.failed("clerk", "6.6.6.6", t + 1);
        assert_eq!(l.check("clerk", "6.6.6.6", t + 1), Err(2));
        for _ in 0..20 {
            l.failed("clerk", "6.6.6.6", t + 2);
        }
        assert_eq!(
            l.check("clerk", "6.6.6.6", t + 2),
            Err(LoginLimiter::MAX_DELAY_S),
            "capped: never a lock-out"
        );
        assert_eq!(l.check("clerk", "6.6.6.6", t + 2 + 60), Ok(()));
        assert_eq!(
            l.check("clerk", "1.2.3.4", t + 2),
            Ok(()),
            "the owner elsewhere"
        );
        assert_eq!(
            l.check("clerk", "6.6.6.6", t + 2 + LoginLimiter::FORGET_S),
            Ok(())
        );
        l.succeeded("clerk", "6.6.6.6");
        assert_eq!(
            l.check("clerk", "6.6.6.6", t + 3),
            Ok(()),
            "a success clears it"
        );
        assert_eq!(LoginLimiter::delay_after(0), 0);
        assert_eq!(LoginLimiter::delay_after(40), LoginLimiter::MAX_DELAY_S);
    }

    #[test]
    fn spraying_many_names_spends_the_address_budget_but_not_its_known_accounts() {
        let l = LoginLimiter::default();
        l.succeeded("li", "9.9.9.9");
        for i in 0..LoginLimiter::PER_CLIENT {
            assert_eq!(l.check(&format!("user{i}"), "9.9.9.9", 50), Ok(()));
            l.failed(&format!("user{i}"), "9.9.9.9", 50);
        }
        assert_eq!(
            l.check("fresh", "9.9.9.9", 51),
            Err(LoginLimiter::WINDOW_S - 1)
        );
        assert_eq!(l.check("li", "9.9.9.9", 51), Ok(()), "a known account");
        assert_eq!(l.check("fresh", "8.8.8.8", 51), Ok(()), "another address");
        assert_eq!(
            l.check("fresh", "9.9.9.9", 50 + LoginLimiter::WINDOW_S),
            Ok(())
        );
        // Failures against one name do not spend the budget of the others.
        let k = LoginLimiter::default();
        for _ in 0..LoginLimiter::PER_CLIENT {
            k.failed("target", "7.7.7.7", 10);
        }
        assert_eq!(k.check("other", "7.7.7.7", 10), Ok(()));
        assert_eq!(
            k.check("target", "7.7.7.7", 10),
            Err(LoginLimiter::MAX_DELAY_S)
        );
    }

    #[test]
    fn forwarded_for_counts_only_from_trusted_proxies() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "203.0.113.9, 10.0.0.2".parse().unwrap());
        let proxy: SocketAddr = "10.0.0.1:5555".parse().unwrap();
        let trusted: Vec<IpAddr> = vec!["10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap()];
        assert_eq!(client_address(&h, Some(proxy), &trusted), "203.0.113.9");
        assert_eq!(
            client_address(&h, Some(proxy), &[]),
            "10.0.0.1",
            "not trusted"
        );
        let stranger: SocketAddr = "198.51.100.7:1".parse().unwrap();
        assert_eq!(client_address(&h, Some(stranger), &trusted), "198.51.100.7");
        h.insert("x-forwarded-for", "1.1.1.1, 6.6.6.6".parse().unwrap());
        assert_eq!(
            client_address(&h, Some(proxy), &trusted),
            "6.6.6.6",
            "the left entries are the client's to forge"
        );
        assert_eq!(client_address(&HeaderMap::new(), None, &trusted), "unknown");
    }
}
