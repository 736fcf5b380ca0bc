//! The hearing's state machine, without I/O: who is seated where, joins, replacements and
//! leaves. Time comes in as an argument; the actor around it does the I/O.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

pub use crate::ids::ParticipantId;
use crate::role::Role;

/// The `seat` of an observer's [`Admission`]: they watch and listen from no seat, so no
/// seat index ever matches it.
pub const NO_SEAT: usize = usize::MAX;

/// Someone admitted by an invitation.
#[derive(Debug, Clone, PartialEq)]
pub struct Admission {
    /// The invitation's id: one person.
    pub invitation_id: String,
    /// Role.
    pub role: Role,
    /// Seat index in the layout ([`NO_SEAT`] for an observer).
    pub seat: usize,
    /// Seat id in the layout (empty for an observer).
    pub seat_id: String,
    /// Display name.
    pub name: String,
}

/// One seated participant.
#[derive(Debug, Clone)]
pub struct Seated {
    /// Who.
    pub admission: Admission,
    /// When they joined.
    pub joined_at: Instant,
}

/// What a join did.
#[derive(Debug, Clone, PartialEq)]
pub struct Joined {
    /// The new participant's id.
    pub id: ParticipantId,
    /// An older connection with the same invitation, now replaced (newest join wins).
    pub replaced: Option<ParticipantId>,
}

/// Why a join was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JoinError {
    /// Another person's invitation holds the seat.
    #[error("seat {0} is taken by someone else")]
    SeatTaken(String),
}

/// A roster entry as sent to clients.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RosterEntry {
    /// Participant id.
    pub participant_id: ParticipantId,
    /// Role.
    pub role: Role,
    /// Seat id.
    pub seat: String,
    /// Display name.
    pub name: String,
    /// Camera silent for longer than the away timeout.
    pub away: bool,
}

/// The seated participants of one hearing.
#[derive(Debug, Default)]
pub struct HearingCore {
    next_id: ParticipantId,
    seated: BTreeMap<ParticipantId, Seated>,
}

impl HearingCore {
    /// Seats a participant. A second join with the same invitation replaces the first, so a
    /// person whose browser crashed can rejoin at once without waiting for a timeout.
    pub fn join(&mut self, admission: Admission, now: Instant) -> Result<Joined, JoinError> {
        let same_person = self
            .seated
            .iter()
            .find(|(_, s)| s.admission.invitation_id == admission.invitation_id)
            .map(|(id, _)| *id);
        let seat_holder = self
            .seated
            .iter()
            .filter(|_| admission.seat != NO_SEAT)
            .find(|(_, s)| s.admission.seat == admission.seat)
            .map(|(id, s)| (*id, s.admission.invitation_id.clone()));
        if let Some((_, holder)) = &seat_holder {
            if *holder != admission.invitation_id {
                return Err(JoinError::SeatTaken(admission.seat_id));
            }
        }
        if let Some(old) = same_person {
            self.seated.remove(&old);
        }
        self.next_id += 1;
        let id = self.next_id;
        self.seated.insert(
            id,
            Seated {
                admission,
                joined_at: now,
            },
        );
        Ok(Joined {
            id,
            replaced: same_person,
        })
    }

    /// Removes a participant; returns whether they were seated.
    pub fn leave(&mut self, id: ParticipantId) -> bool {
        self.seated.remove(&id).is_some()
    }

    /// A seated participant.
    pub fn get(&self, id: ParticipantId) -> Option<&Seated> {
        self.seated.get(&id)
    }

    /// Who sits in seat `seat`, if anyone.
    pub fn at_seat(&self, seat: usize) -> Option<(ParticipantId, &Seated)> {
        self.seated
            .iter()
            .find(|(_, s)| s.admission.seat == seat)
            .map(|(id, s)| (*id, s))
    }

    /// Everyone seated.
    pub fn seated(&self) -> impl Iterator<Item = (ParticipantId, &Seated)> {
        self.seated.iter().map(|(id, s)| (*id, s))
    }

    /// The roster, with `away` decided by `last_frame(seat)` against `away_after`.
    pub fn roster(
        &self,
        now: Instant,
        away_after: Duration,
        last_frame: impl Fn(usize) -> Option<Instant>,
    ) -> Vec<RosterEntry> {
        self.seated
            .iter()
            .map(|(id, s)| RosterEntry {
                participant_id: *id,
                role: s.admission.role,
                seat: s.admission.seat_id.clone(),
                name: s.admission.name.clone(),
                // An observer sends no camera, so is never away.
                away: s.admission.seat != NO_SEAT
                    && is_away(now, s.joined_at, last_frame(s.admission.seat), away_after),
            })
            .collect()
    }
}

/// A participant is away when their camera has sent nothing for `away_after`, counting from
/// their join if it never sent anything.
pub fn is_away(
    now: Instant,
    joined_at: Instant,
    last_frame: Option<Instant>,
    away_after: Duration,
) -> bool {
    let since = last_frame.map_or(joined_at, |t| t.max(joined_at));
    now.saturating_duration_since(since) > away_after
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission(inv: &str, role: Role, seat: usize) -> Admission {
        Admission {
            invitation_id: inv.into(),
            role,
            seat,
            seat_id: format!("seat{seat}"),
            name: inv.into(),
        }
    }

    #[test]
    fn newest_join_with_the_same_invitation_replaces_the_older() {
        let mut core = HearingCore::default();
        let t = Instant::now();
        let a = core
            .join(admission("judge", Role::PresidingJudge, 0), t)
            .unwrap();
        assert_eq!(a.replaced, None);
        let b = core
            .join(admission("judge", Role::PresidingJudge, 0), t)
            .unwrap();
        assert_eq!(b.replaced, Some(a.id));
        assert_ne!(a.id, b.id);
        assert_eq!(core.seated().count(), 1);
        assert_eq!(core.at_seat(0).unwrap().0, b.id);
    }

    #[test]
    fn another_persons_seat_is_refused() {
        let mut core = HearingCore::default();
        let t = Instant::now();
        core.join(admission("w1", Role::Witness, 6), t).unwrap();
        let err = core.join(admission("w2", Role::Witness, 6), t).unwrap_err();
        assert_eq!(err, JoinError::SeatTaken("seat6".into()));
    }

    #[test]
    fn observers_take_no_seat_and_are_in_the_roster() {
        let mut core = HearingCore::default();
        let t = Instant::now();
        let observer = |inv: &str| Admission {
            seat: NO_SEAT,
            seat_id: String::new(),
            ..admission(inv, Role::Observer, 0)
        };
        let a = core.join(observer("supervisor"), t).unwrap();
        let b = core.join(observer("trainee"), t).unwrap();
        assert_eq!(b.replaced, None, "two observers, no seat between them");
        let c = core.join(admission("w", Role::Witness, 6), t).unwrap();
        assert!((0..7).all(|s| core.at_seat(s).map(|(id, _)| id) != Some(a.id)));
        let roster = core.roster(
            t + Duration::from_secs(60),
            Duration::from_secs(3),
            |seat| {
                assert_ne!(seat, NO_SEAT, "an observer's seat is never looked at");
                None
            },
        );
        let obs: Vec<_> = roster.iter().filter(|e| e.role == Role::Observer).collect();
        assert_eq!(obs.len(), 2);
        assert!(obs.iter().all(|e| e.seat.is_empty() && !e.away));
        // Newest wins for an observer too; leaving works as for anyone.
        let a2 = core.join(observer("supervisor"), t).unwrap();
        assert_eq!(a2.replaced, Some(a.id));
        assert!(core.leave(b.id) && core.leave(c.id) && core.leave(a2.id));
    }

    #[test]
    fn leave_frees_the_seat() {
        let mut core = HearingCore::default();
        let t = Instant::now();
        let j = core.join(admission("p", Role::Plaintiff, 4), t).unwrap();
        assert!(core.leave(j.id));
        assert!(!core.leave(j.id));
        assert!(core.at_seat(4).is_none());
        core.join(admission("q", Role::Plaintiff, 4), t).unwrap();
    }

    #[test]
    fn away_after_the_camera_stalls_and_back_when_it_resumes() {
        let t0 = Instant::now();
        let away = Duration::from_secs(3);
        assert!(
            !is_away(t0 + Duration::from_secs(2), t0, None, away),
            "grace after joining"
        );
        assert!(
            is_away(t0 + Duration::from_secs(4), t0, None, away),
            "never sent a frame"
        );
        let last = t0 + Duration::from_secs(10);
        assert!(!is_away(
            last + Duration::from_secs(1),
            t0,
            Some(last),
            away
        ));
        assert!(is_away(last + Duration::from_secs(5), t0, Some(last), away));
        let mut core = HearingCore::default();
        core.join(admission("p", Role::Plaintiff, 4), t0).unwrap();
        let r = core.roster(t0 + Duration::from_secs(5), away, |_| {
            Some(t0 + Duration::from_secs(4))
        });
        assert_eq!(r.len(), 1);
        assert!(!r[0].away);
        assert_eq!(r[0].seat, "seat4");
    }
}
