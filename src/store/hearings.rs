//! Hearings, the invitations that let people into them, and their recordings.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;

use super::{int, now_text, opt_text, text, Store, StoreError};

/// A hearing as stored.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HearingRecord {
    /// Stable id, used in URLs and folder names.
    pub id: String,
    /// The court's case number.
    pub case_number: String,
    /// Human title.
    pub title: String,
    /// UI locale, `en` or `zh`.
    pub locale: String,
    /// Scene layout name.
    pub layout: String,
}

/// Where a hearing is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HearingState {
    /// Created, not yet opened.
    Scheduled,
    /// In session.
    Open,
    /// Adjourned for a while; may reopen.
    Paused,
    /// Over. Its recordings are sealed; nothing reopens it.
    Closed,
}

impl HearingState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            HearingState::Scheduled => "scheduled",
            HearingState::Open => "open",
            HearingState::Paused => "paused",
            HearingState::Closed => "closed",
        }
    }

    /// Whether the clerk may move a hearing from `self` to `to`.
    pub fn can_go_to(self, to: HearingState) -> bool {
        use HearingState::*;
        matches!(
            (self, to),
            (Scheduled, Open)
                | (Open, Paused)
                | (Paused, Open)
                | (Scheduled | Open | Paused, Closed)
        )
    }
}

impl fmt::Display for HearingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HearingState {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "scheduled" => HearingState::Scheduled,
            "open" => HearingState::Open,
            "paused" => HearingState::Paused,
            "closed" => HearingState::Closed,
            other => return Err(StoreError::Corrupt(format!("hearing state {other:?}"))),
        })
    }
}

/// What the portal adds when it creates a hearing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewHearing {
    /// When it is scheduled (RFC 3339), if known.
    pub scheduled_at: Option<String>,
    /// The account that created it.
    pub created_by: Option<String>,
    /// Held in public: its broadcast may run. `false`: closed, never broadcast.
    pub public: bool,
}

/// A hearing with its state, for lists.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HearingSummary {
    /// The hearing.
    #[serde(flatten)]
    pub record: HearingRecord,
    /// Its state.
    pub state: HearingState,
    /// When it is scheduled.
    pub scheduled_at: Option<String>,
    /// When it was created.
    pub created_at: String,
    /// Held in public (its broadcast may run); `false`: closed, never broadcast.
    pub public: bool,
}

/// An invitation as stored.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InvitationRecord {
    /// Stable id, carried in the signed token.
    pub id: String,
    /// The hearing it admits to.
    pub hearing_id: String,
    /// Role name, as the invitation token names it (`presiding_judge`, `witness`, ...).
    pub role: String,
    /// Seat id in the layout.
    pub seat: String,
    /// Display name.
    pub name: String,
    /// Expiry, Unix seconds.
    pub expires_at: i64,
    /// Revoked invitations no longer admit anyone.
    pub revoked: bool,
}

/// A recording as stored.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RecordingRecord {
    /// Recording id (also its folder name).
    pub id: String,
    /// Its hearing.
    pub hearing_id: String,
    /// Its folder.
    pub dir: String,
    /// `recording`, `finalised`, `failed`, ...
    pub state: String,
    /// Start time.
    pub started_at: String,
    /// End time.
    pub ended_at: Option<String>,
    /// When the hearing's closing sealed it.
    pub sealed_at: Option<String>,
}

const HEARING_COLUMNS: &str =
    "id, case_number, title, locale, layout, state, scheduled_at, created_at, public";

fn hearing_summary(r: &AnyRow) -> Result<HearingSummary, StoreError> {
    Ok(HearingSummary {
        record: HearingRecord {
            id: text(r, 0)?,
            case_number: text(r, 1)?,
            title: text(r, 2)?,
            locale: text(r, 3)?,
            layout: text(r, 4)?,
        },
        state: text(r, 5)?.parse()?,
        scheduled_at: opt_text(r, 6)?,
        created_at: text(r, 7)?,
        public: int(r, 8)? != 0,
    })
}

fn invitation(r: &AnyRow) -> Result<InvitationRecord, StoreError> {
    Ok(InvitationRecord {
        id: text(r, 0)?,
        hearing_id: text(r, 1)?,
        role: text(r, 2)?,
        seat: text(r, 3)?,
        name: text(r, 4)?,
        expires_at: int(r, 5)?,
        revoked: int(r, 6)? != 0,
    })
}

const RECORDING_COLUMNS: &str = "id, hearing_id, dir, state, started_at, ended_at, sealed_at";

fn recording(r: &AnyRow) -> Result<RecordingRecord, StoreError> {
    Ok(RecordingRecord {
        id: text(r, 0)?,
        hearing_id: text(r, 1)?,
        dir: text(r, 2)?,
        state: text(r, 3)?,
        started_at: text(r, 4)?,
        ended_at: opt_text(r, 5)?,
        sealed_at: opt_text(r, 6)?,
    })
}

impl Store {
    /// Creates a hearing, open at once (the demo and tests). The portal uses
    /// [`Store::create_scheduled_hearing`].
    pub async fn create_hearing(&self, h: &HearingRecord) -> Result<(), StoreError> {
        self.insert_hearing(h, HearingState::Open, &NewHearing::default())
            .await
    }

    /// Creates a hearing open at once, with `extra` (the demo: a public hearing).
    pub async fn create_open_hearing(
        &self,
        h: &HearingRecord,
        extra: &NewHearing,
    ) -> Result<(), StoreError> {
        self.insert_hearing(h, HearingState::Open, extra).await
    }

    /// Creates a hearing in the `scheduled` state.
    pub async fn create_scheduled_hearing(
        &self,
        h: &HearingRecord,
        extra: &NewHearing,
    ) -> Result<(), StoreError> {
        self.insert_hearing(h, HearingState::Scheduled, extra).await
    }

    async fn insert_hearing(
        &self,
        h: &HearingRecord,
        state: HearingState,
        extra: &NewHearing,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO hearings (id, case_number, title, locale, layout, state, created_at, scheduled_at, created_by, public)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&h.id)
        .bind(&h.case_number)
        .bind(&h.title)
        .bind(&h.locale)
        .bind(&h.layout)
        .bind(state.as_str())
        .bind(now_text())
        .bind(extra.scheduled_at.clone())
        .bind(extra.created_by.clone())
        .bind(extra.public as i64)
        .execute(self.pool())
        .await
        .map_err(|e| {
            if super::is_unique_violation(&e) {
                StoreError::Duplicate(format!("hearing {}", h.id))
            } else {
                e.into()
            }
        })?;
        Ok(())
    }

    /// Looks a hearing up by id.
    pub async fn hearing(&self, id: &str) -> Result<Option<HearingRecord>, StoreError> {
        Ok(self.hearing_summary(id).await?.map(|s| s.record))
    }

    /// Looks a hearing and its state up by id.
    pub async fn hearing_summary(&self, id: &str) -> Result<Option<HearingSummary>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {HEARING_COLUMNS} FROM hearings WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(hearing_summary).transpose()
    }

    /// Every hearing, newest first.
    pub async fn list_hearings(&self) -> Result<Vec<HearingSummary>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {HEARING_COLUMNS} FROM hearings ORDER BY created_at DESC, id"
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(hearing_summary).collect()
    }

    /// Moves a hearing from `from` to `to`, atomically: returns `false` (and changes nothing)
    /// when the hearing is not in `from` any more.
    pub async fn set_hearing_state(
        &self,
        id: &str,
        from: HearingState,
        to: HearingState,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE hearings SET state = $1 WHERE id = $2 AND state = $3")
            .bind(to.as_str())
            .bind(id)
            .bind(from.as_str())
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Makes a hearing public or closed while it is still `scheduled`: returns `false` (and
    /// changes nothing) once it has opened, or when there is no such hearing.
    pub async fn set_hearing_public(&self, id: &str, public: bool) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE hearings SET public = $1 WHERE id = $2 AND state = $3")
            .bind(public as i64)
            .bind(id)
            .bind(HearingState::Scheduled.as_str())
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Creates an invitation.
    pub async fn create_invitation(&self, inv: &InvitationRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO invitations (id, hearing_id, role, seat, name, expires_at, revoked, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&inv.id)
        .bind(&inv.hearing_id)
        .bind(&inv.role)
        .bind(&inv.seat)
        .bind(&inv.name)
        .bind(inv.expires_at)
        .bind(i64::from(inv.revoked))
        .bind(now_text())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Looks an invitation up by id.
    pub async fn invitation(&self, id: &str) -> Result<Option<InvitationRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id, hearing_id, role, seat, name, expires_at, revoked FROM invitations WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(invitation).transpose()
    }

    /// A hearing's invitations, oldest first.
    pub async fn invitations_for(
        &self,
        hearing_id: &str,
    ) -> Result<Vec<InvitationRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, hearing_id, role, seat, name, expires_at, revoked FROM invitations
             WHERE hearing_id = $1 ORDER BY created_at, id",
        )
        .bind(hearing_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(invitation).collect()
    }

    /// Revokes an invitation of a hearing. Returns whether it existed there.
    pub async fn revoke_invitation(&self, hearing_id: &str, id: &str) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE invitations SET revoked = 1 WHERE id = $1 AND hearing_id = $2")
                .bind(id)
                .bind(hearing_id)
                .execute(self.pool())
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records that a recording started.
    pub async fn recording_started(
        &self,
        id: &str,
        hearing_id: &str,
        dir: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO recordings (id, hearing_id, dir, state, started_at) VALUES ($1, $2, $3, 'recording', $4)",
        )
        .bind(id)
        .bind(hearing_id)
        .bind(dir)
        .bind(now_text())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Records how a recording ended (`finalised`, `failed`, ...).
    pub async fn recording_ended(&self, id: &str, state: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE recordings SET state = $1, ended_at = $2 WHERE id = $3")
            .bind(state)
            .bind(now_text())
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// A hearing's recordings, oldest first.
    pub async fn recordings_for(
        &self,
        hearing_id: &str,
    ) -> Result<Vec<RecordingRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {RECORDING_COLUMNS} FROM recordings WHERE hearing_id = $1 ORDER BY started_at, id"
        ))
        .bind(hearing_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(recording).collect()
    }

    /// One recording.
    pub async fn recording(&self, id: &str) -> Result<Option<RecordingRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {RECORDING_COLUMNS} FROM recordings WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(recording).transpose()
    }

    /// Seals every unsealed recording of a hearing (it closed). Returns how many.
    pub async fn seal_recordings(&self, hearing_id: &str) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE recordings SET sealed_at = $1 WHERE hearing_id = $2 AND sealed_at IS NULL",
        )
        .bind(now_text())
        .bind(hearing_id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_transitions_follow_the_hearing_life() {
        use HearingState::*;
        let all = [Scheduled, Open, Paused, Closed];
        let allowed: Vec<_> = all
            .iter()
            .flat_map(|a| all.iter().map(move |b| (*a, *b)))
            .filter(|(a, b)| a.can_go_to(*b))
            .collect();
        assert_eq!(
            allowed,
            vec![
                (Scheduled, Open),
                (Scheduled, Closed),
                (Open, Paused),
                (Open, Closed),
                (Paused, Open),
                (Paused, Closed)
            ]
        );
        for s in all {
            assert_eq!(s.as_str().parse::<HearingState>().unwrap(), s);
        }
        assert!("adjourned".parse::<HearingState>().is_err());
    }
}
