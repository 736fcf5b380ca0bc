//! The people in a hearing: each participant's [`Role`], a small shared type that every layer
//! may name (seating, permissions, nameplates, the API).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A participant's role. It decides their seat and what they may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Presides, in the middle of the bench.
    PresidingJudge,
    /// A people's assessor (lay judge), beside the presiding judge.
    Assessor,
    /// Runs the hearing, below the bench.
    Clerk,
    /// The party bringing the case.
    Plaintiff,
    /// The party answering it.
    Defendant,
    /// Gives evidence from the witness stand.
    Witness,
    /// Watches and listens in real time without a seat, a camera or a microphone (a people's
    /// supervisor, a trainee judge). Not in the picture, not in the recording.
    Observer,
}

impl Role {
    /// Every role, in bench-first order.
    pub const ALL: [Role; 7] = [
        Role::PresidingJudge,
        Role::Assessor,
        Role::Clerk,
        Role::Plaintiff,
        Role::Defendant,
        Role::Witness,
        Role::Observer,
    ];

    /// The wire name, e.g. `presiding_judge`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::PresidingJudge => "presiding_judge",
            Role::Assessor => "assessor",
            Role::Clerk => "clerk",
            Role::Plaintiff => "plaintiff",
            Role::Defendant => "defendant",
            Role::Witness => "witness",
            Role::Observer => "observer",
        }
    }

    /// Whether this role takes a seat (everyone but an observer).
    pub fn is_seated(self) -> bool {
        self != Role::Observer
    }

    /// Whether this role may watch the hearing's monitor (who is connected, seat regions).
    pub fn may_monitor(self) -> bool {
        matches!(self, Role::Clerk | Role::PresidingJudge)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of [`Role::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_is_refused() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
        assert!("judge".parse::<Role>().is_err());
        assert!(Role::Clerk.may_monitor() && !Role::Plaintiff.may_monitor());
        assert!(Role::Witness.is_seated() && !Role::Observer.is_seated());
    }
}
