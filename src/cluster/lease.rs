//! The owner's side of a hearing's lease, as a sans-I/O state machine.
//!
//! A node runs a hearing only while it holds the hearing's lease in the database: an owner
//! node, an epoch (the fencing token) and an expiry on the database's clock. The owner renews
//! every [`LeaseTimes::renew_every`], each renewal conditioned on its epoch. This module decides
//! *when* to renew and *when to stop*; the shell ([`super::keeper`]) does the talking.
//!
//! The rule that makes a stale owner harmless: the lease is taken to end at the instant the
//! last *successful* renewal was **sent**, plus the TTL, minus a safety margin, measured on
//! this process's monotonic clock. The database set its expiry at some instant after the send,
//! so the local deadline always comes first (the margin absorbs clock-rate differences).
//! Past that deadline the owner stops every write to shared storage (it is *suspended*) even
//! when it cannot reach the database at all, and a node that was paused (SIGSTOP, a VM
//! freeze) finds the deadline passed on its first look after it resumes, before it writes
//! anything.
//!
//! A suspended owner keeps its participants' media running and keeps asking, conditioned on
//! its epoch. Every placement of an expired lease takes a new epoch, so the same epoch still
//! in the database means nobody took the hearing meanwhile: the lease is *resumed* and the
//! writes held back go out. A newer epoch means another node owns the hearing: the owner is
//! *fenced* and stops the hearing here for good. So a database that is down for a while stops
//! no hearing, and a stale owner still writes nothing.

use std::time::{Duration, Instant};

/// Timing of a lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTimes {
    /// How long a renewal keeps the lease, on the database's clock.
    pub ttl: Duration,
    /// How often the owner renews.
    pub renew_every: Duration,
    /// How long before the TTL runs out the owner stops by itself.
    pub margin: Duration,
    /// After a failed renewal (database unreachable), how soon to try again.
    pub retry_after: Duration,
}

impl LeaseTimes {
    /// Times for a TTL: renew every third of it, stop a fifth of it early, retry each second.
    pub fn for_ttl(ttl: Duration) -> Self {
        Self {
            ttl,
            renew_every: ttl / 3,
            margin: ttl / 5,
            retry_after: Duration::from_secs(1).min(ttl / 5),
        }
    }
}

/// What the shell should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseAction {
    /// Send a renewal conditioned on this epoch, then report it with [`Lease::renewed`],
    /// [`Lease::refused`] or [`Lease::unreachable`], passing the instant it was sent.
    Renew {
        /// The epoch to condition on.
        epoch: i64,
        /// When it was sent (the `now` given to [`Lease::poll`]).
        sent_at: Instant,
    },
    /// The lease ran out without an answer from the database: stop every write to shared
    /// storage now (the hearing itself goes on). Returned once per suspension.
    Suspend,
    /// The database renewed a suspended lease with the same epoch: writes may go again.
    Resume,
    /// The lease is lost: stop the hearing and every write, for good. Returned once.
    Fence(FenceReason),
    /// Nothing to do before this instant.
    WaitUntil(Instant),
    /// Fenced already; nothing more will happen.
    Done,
}

/// Why a lease ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FenceReason {
    /// The database refused the renewal: another node holds a newer epoch.
    Superseded,
    /// This node gave the lease up (the hearing ended, or the node handed it over).
    Released,
}

impl FenceReason {
    /// A short name for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            FenceReason::Superseded => "superseded",
            FenceReason::Released => "released",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Held: valid until `valid_until`; the next renewal is due at `next_renew`; a renewal
    /// sent at `in_flight` has not been answered yet.
    Held {
        valid_until: Instant,
        next_renew: Instant,
        in_flight: Option<Instant>,
    },
    /// The deadline passed without an answer: no writes; renewals go on every
    /// `retry_after`. `told`: the shell has been told to suspend.
    Suspended {
        next_renew: Instant,
        in_flight: Option<Instant>,
        told: bool,
    },
    /// Ended; the shell has been told (`told`) or not yet.
    Fenced { reason: FenceReason, told: bool },
}

/// One hearing's lease as its owner sees it.
#[derive(Debug, Clone)]
pub struct Lease {
    epoch: i64,
    times: LeaseTimes,
    state: State,
}

impl Lease {
    /// A lease just acquired with `epoch`, by a request sent at `sent_at`.
    pub fn acquired(epoch: i64, sent_at: Instant, times: LeaseTimes) -> Self {
        Self {
            epoch,
            times,
            state: State::Held {
                valid_until: sent_at + times.ttl.saturating_sub(times.margin),
                next_renew: sent_at + times.renew_every,
                in_flight: None,
            },
        }
    }

    /// The fencing token.
    pub fn epoch(&self) -> i64 {
        self.epoch
    }

    /// Whether the owner may still write (media, segments, manifests) at `now`.
    pub fn may_write(&self, now: Instant) -> bool {
        matches!(self.state, State::Held { valid_until, .. } if now < valid_until)
    }

    /// The end of the lease as this node counts it, while held.
    pub fn valid_until(&self) -> Option<Instant> {
        match self.state {
            State::Held { valid_until, .. } => Some(valid_until),
            State::Suspended { .. } | State::Fenced { .. } => None,
        }
    }

    /// Why the lease ended, once it has.
    pub fn fenced(&self) -> Option<FenceReason> {
        match self.state {
            State::Fenced { reason, .. } => Some(reason),
            State::Held { .. } | State::Suspended { .. } => None,
        }
    }

    /// Whether writes are held back until the database answers.
    pub fn is_suspended(&self) -> bool {
        matches!(self.state, State::Suspended { .. })
    }

    /// What to do at `now`.
    pub fn poll(&mut self, now: Instant) -> LeaseAction {
        match &mut self.state {
            State::Fenced { told: true, .. } => LeaseAction::Done,
            State::Fenced { reason, told } => {
                *told = true;
                LeaseAction::Fence(*reason)
            }
            State::Suspended {
                next_renew,
                in_flight,
                told,
            } => {
                if !*told {
                    *told = true;
                    return LeaseAction::Suspend;
                }
                if in_flight.is_none() && now >= *next_renew {
                    *in_flight = Some(now);
                    return LeaseAction::Renew {
                        epoch: self.epoch,
                        sent_at: now,
                    };
                }
                LeaseAction::WaitUntil(if in_flight.is_some() {
                    now + self.times.retry_after
                } else {
                    *next_renew
                })
            }
            State::Held {
                valid_until,
                next_renew,
                in_flight,
            } => {
                if now >= *valid_until {
                    self.state = State::Suspended {
                        next_renew: now,
                        in_flight: *in_flight,
                        told: true,
                    };
                    return LeaseAction::Suspend;
                }
                if in_flight.is_none() && now >= *next_renew {
                    *in_flight = Some(now);
                    return LeaseAction::Renew {
                        epoch: self.epoch,
                        sent_at: now,
                    };
                }
                let wake = if in_flight.is_some() {
                    *valid_until
                } else {
                    (*next_renew).min(*valid_until)
                };
                LeaseAction::WaitUntil(wake)
            }
        }
    }

    /// The renewal sent at `sent_at` succeeded: the database extended the lease (with the
    /// same epoch, so nobody took it meanwhile). Returns `true` when that resumed a suspended
    /// lease (the shell lets writes go again), unless its validity had already run out again.
    pub fn renewed(&mut self, sent_at: Instant) -> bool {
        if let State::Suspended { .. } = self.state {
            let until = sent_at + self.times.ttl.saturating_sub(self.times.margin);
            self.state = State::Held {
                valid_until: until,
                next_renew: sent_at + self.times.renew_every,
                in_flight: None,
            };
            return true;
        }
        if let State::Held {
            valid_until,
            next_renew,
            in_flight,
        } = &mut self.state
        {
            let until = sent_at + self.times.ttl.saturating_sub(self.times.margin);
            // An answer to an older request never shortens what a newer one gave.
            *valid_until = (*valid_until).max(until);
            *next_renew = sent_at + self.times.renew_every;
            if *in_flight == Some(sent_at) {
                *in_flight = None;
            }
        }
        false
    }

    /// The database refused the renewal: another node has a newer epoch. Fences at once.
    pub fn refused(&mut self) {
        if let State::Held { .. } | State::Suspended { .. } = self.state {
            self.state = State::Fenced {
                reason: FenceReason::Superseded,
                told: false,
            };
        }
    }

    /// The renewal sent at `sent_at` got no answer (database unreachable): try again soon.
    /// The lease stays valid until its deadline, which does not move.
    pub fn unreachable(&mut self, sent_at: Instant) {
        let retry = self.times.retry_after;
        match &mut self.state {
            State::Held {
                next_renew,
                in_flight,
                ..
            }
            | State::Suspended {
                next_renew,
                in_flight,
                ..
            } => {
                if *in_flight == Some(sent_at) {
                    *in_flight = None;
                }
                *next_renew = sent_at + retry;
            }
            State::Fenced { .. } => {}
        }
    }

    /// This node gives the lease up.
    pub fn release(&mut self) {
        if let State::Held { .. } | State::Suspended { .. } = self.state {
            self.state = State::Fenced {
                reason: FenceReason::Released,
                told: false,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times() -> LeaseTimes {
        LeaseTimes::for_ttl(Duration::from_secs(9))
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn renews_every_third_of_the_ttl_and_stays_valid() {
        let t0 = Instant::now();
        let mut lease = Lease::acquired(4, t0, times());
        assert_eq!(lease.poll(t0), LeaseAction::WaitUntil(t0 + ms(3000)));
        let at = t0 + ms(3000);
        assert_eq!(
            lease.poll(at),
            LeaseAction::Renew {
                epoch: 4,
                sent_at: at
            }
        );
        // While the renewal is in flight, nothing else is sent.
        assert!(matches!(lease.poll(at + ms(10)), LeaseAction::WaitUntil(_)));
        lease.renewed(at);
        // Valid until the renewal's send + TTL - margin (9 s - 1.8 s).
        assert!(lease.may_write(at + ms(7199)));
        assert!(!lease.may_write(at + ms(7200)));
        assert_eq!(
            lease.poll(at + ms(10)),
            LeaseAction::WaitUntil(at + ms(3000))
        );
        for k in 1..100 {
            let now = at + ms(3000 * k);
            assert_eq!(
                lease.poll(now),
                LeaseAction::Renew {
                    epoch: 4,
                    sent_at: now
                }
            );
            lease.renewed(now);
            assert!(lease.may_write(now + ms(5000)));
        }
    }

    #[test]
    fn unreachable_database_suspends_writes_before_the_ttl_runs_out_and_resumes() {
        let t0 = Instant::now();
        let mut lease = Lease::acquired(1, t0, times());
        let mut now = t0;
        let mut suspended_at = None;
        let mut renewals_while_suspended = 0;
        // The database is down for 20 s.
        while now < t0 + Duration::from_secs(20) {
            match lease.poll(now) {
                LeaseAction::Renew { sent_at, .. } => {
                    if suspended_at.is_some() {
                        renewals_while_suspended += 1;
                    }
                    lease.unreachable(sent_at)
                }
                LeaseAction::Suspend => {
                    assert!(suspended_at.is_none(), "told once");
                    suspended_at = Some(now);
                }
                LeaseAction::Fence(r) => panic!("an outage must not fence: {r:?}"),
                LeaseAction::Resume => panic!("nothing answered"),
                LeaseAction::WaitUntil(_) | LeaseAction::Done => {}
            }
            assert_eq!(lease.may_write(now), suspended_at.is_none());
            now += ms(100);
        }
        let suspended_at = suspended_at.expect("suspended");
        // Writes stopped before the database's expiry (sent at t0, so at least t0 + 9 s).
        assert!(suspended_at < t0 + Duration::from_secs(9));
        assert!(suspended_at >= t0 + ms(7200));
        assert!(renewals_while_suspended >= 10, "it keeps asking");
        // The database answers with the same epoch: writes go again.
        let sent_at = match lease.poll(now + ms(1000)) {
            LeaseAction::Renew { sent_at, .. } => sent_at,
            other => panic!("{other:?}"),
        };
        assert!(lease.renewed(sent_at));
        assert!(lease.may_write(sent_at + ms(1)));
        assert!(lease.fenced().is_none());
    }

    #[test]
    fn a_suspended_owner_superseded_by_another_node_is_fenced() {
        let t0 = Instant::now();
        let mut lease = Lease::acquired(1, t0, times());
        let later = t0 + Duration::from_secs(30);
        assert_eq!(lease.poll(later), LeaseAction::Suspend);
        assert!(matches!(lease.poll(later), LeaseAction::Renew { .. }));
        lease.refused();
        assert_eq!(
            lease.poll(later),
            LeaseAction::Fence(FenceReason::Superseded)
        );
        assert!(!lease.may_write(later));
    }

    #[test]
    fn retries_soon_after_a_failed_renewal() {
        let t0 = Instant::now();
        let mut lease = Lease::acquired(1, t0, times());
        let at = t0 + ms(3000);
        assert!(matches!(lease.poll(at), LeaseAction::Renew { .. }));
        lease.unreachable(at);
        assert_eq!(
            lease.poll(at + ms(1)),
            LeaseAction::WaitUntil(at + ms(1000))
        );
        assert!(matches!(
            lease.poll(at + ms(1000)),
            LeaseAction::Renew { .. }
        ));
        lease.renewed(at + ms(1000));
        assert!(lease.may_write(at + ms(8000)));
    }

    #[test]
    fn a_paused_owner_finds_the_lease_gone_before_writing() {
        let t0 = Instant::now();
        let mut lease = Lease::acquired(7, t0, times());
        // The process is stopped for 30 s; the monotonic clock went on.
        let resumed = t0 + Duration::from_secs(30);
        assert!(!lease.may_write(resumed));
        assert_eq!(lease.poll(resumed), LeaseAction::Suspend);
        // A late answer to a renewal sent before the pause gives no time back.
        lease.renewed(t0);
        assert!(!lease.may_write(resumed));
        assert_eq!(lease.poll(resumed), LeaseAction::Suspend);
        // It asks the database; another node took the hearing meanwhile (a newer epoch).
        assert!(matches!(lease.poll(resumed), LeaseAction::Renew { .. }));
        lease.refused();
        assert_eq!(
            lease.poll(resumed),
            LeaseAction::Fence(FenceReason::Superseded)
        );
        assert!(!lease.may_write(resumed));
    }

    #[test]
    fn refusal_fences_once() {
        let t0 = Instant::now();
        let mut lease = Lease::acquired(2, t0, times());
        lease.refused();
        assert!(!lease.may_write(t0));
        assert_eq!(lease.poll(t0), LeaseAction::Fence(FenceReason::Superseded));
        assert_eq!(lease.poll(t0), LeaseAction::Done);
        assert_eq!(lease.fenced(), Some(FenceReason::Superseded));
    }

    #[test]
    fn an_old_answer_never_shortens_the_lease() {
        let t0 = Instant::now();
        let mut lease = Lease::acquired(1, t0, times());
        lease.renewed(t0 + ms(6000));
        lease.renewed(t0 + ms(3000));
        assert!(lease.may_write(t0 + ms(13000)));
    }

    #[test]
    fn release_fences_with_its_reason() {
        let t0 = Instant::now();
        let mut lease = Lease::acquired(3, t0, times());
        lease.release();
        assert_eq!(lease.poll(t0), LeaseAction::Fence(FenceReason::Released));
        assert!(!lease.may_write(t0));
    }
}
