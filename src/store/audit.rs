//! The audit trail: an append-only, hash-chained table of every significant act.
//!
//! Entry `n` stores `hash = SHA-256(prev_hash, seq, at, actor, action, hearing_id, detail)`,
//! each field length-prefixed, where `prev_hash` is entry `n-1`'s hash (64 zeros for the first).
//! Sequence numbers start at 1 without gaps. Rewriting, removing or reordering any entry
//! breaks the chain from that entry on, which [`Store::verify_audit_chain`] finds. The
//! database refuses `UPDATE` and `DELETE` on the table (triggers, migration 3), so only
//! someone who drops the triggers can even try.
//!
//! Action names are stable strings, listed in [`actions`].

use futures::TryStreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;

use super::{int, now_text, opt_text, text, Store, StoreError};
use crate::digest::hex;

/// The stable action names written to the trail.
pub mod actions {
    /// A portal account logged in.
    pub const LOGIN: &str = "login";
    /// A portal login was refused (bad password, unknown name, rate limit).
    pub const LOGIN_FAILED: &str = "login_failed";
    /// A portal account logged out.
    pub const LOGOUT: &str = "logout";
    /// A portal account was created.
    pub const USER_CREATED: &str = "user_created";
    /// A hearing was created.
    pub const HEARING_CREATED: &str = "hearing_created";
    /// A hearing changed state (detail: `from`, `to`).
    pub const HEARING_STATE: &str = "hearing_state";
    /// An invitation was issued (detail: invitation, role, seat, name).
    pub const INVITATION_CREATED: &str = "invitation_created";
    /// An invitation was revoked.
    pub const INVITATION_REVOKED: &str = "invitation_revoked";
    /// A participant joined (detail: participant, role, seat).
    pub const JOIN: &str = "join";
    /// A participant left.
    pub const LEAVE: &str = "leave";
    /// A participant was muted or unmuted by someone else.
    pub const MUTE: &str = "mute";
    /// A participant was removed from the hearing.
    pub const REMOVE: &str = "remove";
    /// Recording started (detail: recording).
    pub const RECORDING_STARTED: &str = "recording_started";
    /// Recording stopped (detail: recording, state).
    pub const RECORDING_STOPPED: &str = "recording_stopped";
    /// A recording file or bundle was downloaded (detail: recording, file, range).
    pub const DOWNLOAD: &str = "download";
    /// Someone was refused an action by the permission table (detail: action, reason).
    pub const PERMISSION_DENIED: &str = "permission_denied";
    /// The camera view was locked, or handed back to the director (detail: view or null).
    pub const VIEW_LOCKED: &str = "view_locked";
    /// A seat's key settings were changed (detail: seat, the fields changed).
    pub const KEY_ADJUSTED: &str = "key_adjusted";
    /// A hearing was made public or closed after its creation (detail: `public`, `was`; the
    /// choice at creation is in `hearing_created`'s detail).
    pub const HEARING_PUBLICITY: &str = "hearing_publicity";
    /// The public broadcast started, stopped, was cut or resumed (detail: `act`).
    pub const BROADCAST: &str = "broadcast";
    /// An exhibit was uploaded, shown, turned or taken down, or the witness allowed or
    /// forbidden to present (detail: `act`, and `exhibit`, `sha256`, `page` as they apply).
    pub const EXHIBIT: &str = "exhibit";
    /// The presiding judge struck the gavel (detail: `act`, `open` or `close`).
    pub const GAVEL: &str = "gavel";
}

/// The hash that the first entry chains from.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Something to write to the trail.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// Who: `user:NAME`, `invitee:INVITATION`, `system`, `ip:ADDR` (failed logins).
    pub actor: String,
    /// What: one of [`actions`].
    pub action: String,
    /// The hearing it concerns, if any.
    pub hearing_id: Option<String>,
    /// Details, a JSON object.
    pub detail: serde_json::Value,
}

impl AuditEvent {
    /// An event with the given actor, action and hearing, and details.
    pub fn new(
        actor: impl Into<String>,
        action: &str,
        hearing_id: Option<&str>,
        detail: serde_json::Value,
    ) -> Self {
        Self {
            actor: actor.into(),
            action: action.to_owned(),
            hearing_id: hearing_id.map(str::to_owned),
            detail,
        }
    }
}

/// One entry of the trail, as stored.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct AuditEntry {
    /// Position, from 1, without gaps.
    pub seq: i64,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// Which hearing.
    pub hearing_id: Option<String>,
    /// Details, JSON text exactly as hashed.
    pub detail: String,
    /// The previous entry's hash.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

impl AuditEntry {
    /// The hash of this entry's own fields after its `prev_hash` ([`entry_hash`]): what its
    /// `hash` must be if nobody altered it.
    pub fn fields_hash(&self) -> String {
        entry_hash(
            &self.prev_hash,
            self.seq,
            &self.at,
            &self.actor,
            &self.action,
            self.hearing_id.as_deref(),
            &self.detail,
        )
    }
}

/// Why the chain does not check.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// A sequence number is missing or out of order.
    #[error("audit entry {found} follows {expected_previous}: entries are missing or reordered")]
    Gap {
        /// The sequence number before it.
        expected_previous: i64,
        /// The sequence number found.
        found: i64,
    },
    /// An entry does not name its predecessor's hash.
    #[error("audit entry {0} does not chain from the entry before it")]
    BrokenLink(i64),
    /// An entry's content does not match its hash: it was rewritten.
    #[error("audit entry {0} was altered: its hash does not match its content")]
    Altered(i64),
}

/// Errors of [`Store::verify_audit_chain`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The chain is broken.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The hash of an entry's content after `prev_hash`.
pub fn entry_hash(
    prev_hash: &str,
    seq: i64,
    at: &str,
    actor: &str,
    action: &str,
    hearing_id: Option<&str>,
    detail: &str,
) -> String {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(bytes);
    };
    field(prev_hash.as_bytes());
    field(seq.to_string().as_bytes());
    field(at.as_bytes());
    field(actor.as_bytes());
    field(action.as_bytes());
    match hearing_id {
        Some(id) => {
            field(b"1");
            field(id.as_bytes());
        }
        None => field(b"0"),
    }
    field(detail.as_bytes());
    hex(&h.finalize())
}

/// Checks that `entry` follows an entry with sequence `prev_seq` and hash `prev_hash`
/// (`0` and [`GENESIS_HASH`] for the first).
pub fn check_link(prev_seq: i64, prev_hash: &str, entry: &AuditEntry) -> Result<(), ChainError> {
    if entry.seq != prev_seq + 1 {
        return Err(ChainError::Gap {
            expected_previous: prev_seq,
            found: entry.seq,
        });
    }
    if entry.prev_hash != prev_hash {
        return Err(ChainError::BrokenLink(entry.seq));
    }
    if entry.fields_hash() != entry.hash {
        return Err(ChainError::Altered(entry.seq));
    }
    Ok(())
}

/// Checks a whole chain, in order from the first entry. Returns its length.
pub fn check_chain<'a>(
    entries: impl IntoIterator<Item = &'a AuditEntry>,
) -> Result<i64, ChainError> {
    let (mut seq, mut hash) = (0, GENESIS_HASH.to_owned());
    for e in entries {
        check_link(seq, &hash, e)?;
        seq = e.seq;
        hash.clone_from(&e.hash);
    }
    Ok(seq)
}

const AUDIT_COLUMNS: &str = "seq, at, actor, action, hearing_id, detail, prev_hash, hash";

fn entry(r: &AnyRow) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        seq: int(r, 0)?,
        at: text(r, 1)?,
        actor: text(r, 2)?,
        action: text(r, 3)?,
        hearing_id: opt_text(r, 4)?,
        detail: text(r, 5)?,
        prev_hash: text(r, 6)?,
        hash: text(r, 7)?,
    })
}

impl Store {
    /// Appends an event to the trail and returns the stored entry. Appends are serialised in
    /// this process; a concurrent append from another server (PostgreSQL) makes the
    /// sequence number collide, and the append is retried on the new tail.
    pub async fn append_audit(&self, event: &AuditEvent) -> Result<AuditEntry, StoreError> {
        let _serial = self.audit_lock.lock().await;
        let detail = if event.detail.is_null() {
            "{}".to_owned()
        } else {
            event.detail.to_string()
        };
        let mut tries = 0;
        loop {
            tries += 1;
            let mut tx = self.pool().begin().await?;
            let last = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&mut *tx)
                .await?;
            let (prev_seq, prev_hash) = match &last {
                Some(r) => (int(r, 0)?, text(r, 1)?),
                None => (0, GENESIS_HASH.to_owned()),
            };
            let seq = prev_seq + 1;
            let at = now_text();
            let hash = entry_hash(
                &prev_hash,
                seq,
                &at,
                &event.actor,
                &event.action,
                event.hearing_id.as_deref(),
                &detail,
            );
            let inserted = sqlx::query(&format!(
                "INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ))
            .bind(seq)
            .bind(&at)
            .bind(&event.actor)
            .bind(&event.action)
            .bind(event.hearing_id.clone())
            .bind(&detail)
            .bind(&prev_hash)
            .bind(&hash)
            .execute(&mut *tx)
            .await;
            match inserted {
                Ok(_) => {
                    tx.commit().await?;
                    return Ok(AuditEntry {
                        seq,
                        at,
                        actor: event.actor.clone(),
                        action: event.action.clone(),
                        hearing_id: event.hearing_id.clone(),
                        detail,
                        prev_hash,
                        hash,
                    });
                }
                Err(e) if super::is_unique_violation(&e) && tries < 10 => {
                    drop(tx);
                    tracing::debug!(seq, "audit append raced another writer; retrying");
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Entries, newest first: all of them, or one hearing's; at most `limit`, and only those
    /// before `before_seq` when given (paging).
    pub async fn audit_entries(
        &self,
        hearing_id: Option<&str>,
        before_seq: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log
             WHERE ($1 = '' OR hearing_id = $1) AND seq < $2
             ORDER BY seq DESC LIMIT $3"
        ))
        .bind(hearing_id.unwrap_or(""))
        .bind(before_seq.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(entry).collect()
    }

    /// Walks the whole trail in order and checks every link. Returns the number of entries.
    pub async fn verify_audit_chain(&self) -> Result<i64, VerifyError> {
        let sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY seq");
        let mut rows = sqlx::query(&sql).fetch(self.pool());
        let (mut seq, mut hash) = (0, GENESIS_HASH.to_owned());
        while let Some(r) = rows.try_next().await.map_err(StoreError::from)? {
            let e = entry(&r)?;
            check_link(seq, &hash, &e)?;
            seq = e.seq;
            hash = e.hash;
        }
        Ok(seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut out: Vec<AuditEntry> = Vec::new();
        for seq in 1..=n {
            let prev = out
                .last()
                .map(|e| e.hash.clone())
                .unwrap_or_else(|| GENESIS_HASH.into());
            let (at, actor, action, detail) = ("2026-01-01T00:00:00Z", "system", "join", "{}");
            let hash = entry_hash(&prev, seq, at, actor, action, Some("h"), detail);
            out.push(AuditEntry {
                seq,
                at: at.into(),
                actor: actor.into(),
                action: action.into(),
                hearing_id: Some("h".into()),
                detail: detail.into(),
                prev_hash: prev,
                hash,
            });
        }
        out
    }

    #[test]
    fn an_intact_chain_checks_and_every_kind_of_tampering_is_found() {
        let good = chain(4);
        assert_eq!(check_chain(&good), Ok(4));

        let mut altered = good.clone();
        altered[2].actor = "someone else".into();
        assert_eq!(check_chain(&altered), Err(ChainError::Altered(3)));

        let mut removed = good.clone();
        removed.remove(1);
        assert_eq!(
            check_chain(&removed),
            Err(ChainError::Gap {
                expected_previous: 1,
                found: 3
            })
        );

        // Rewritten and re-hashed in place: the next entry no longer chains from it.
        let mut rehashed = good.clone();
        rehashed[1].detail = r#"{"forged":true}"#.into();
        let e = &rehashed[1];
        rehashed[1].hash = entry_hash(
            &e.prev_hash,
            e.seq,
            &e.at,
            &e.actor,
            &e.action,
            e.hearing_id.as_deref(),
            &e.detail,
        );
        assert_eq!(check_chain(&rehashed), Err(ChainError::BrokenLink(3)));
    }

    #[test]
    fn field_boundaries_matter() {
        // Moving text between fields changes the hash (length prefixes).
        let a = entry_hash(GENESIS_HASH, 1, "t", "ab", "c", None, "{}");
        let b = entry_hash(GENESIS_HASH, 1, "t", "a", "bc", None, "{}");
        assert_ne!(a, b);
        let none = entry_hash(GENESIS_HASH, 1, "t", "a", "b", None, "{}");
        let empty = entry_hash(GENESIS_HASH, 1, "t", "a", "b", Some(""), "{}");
        assert_ne!(none, empty);
    }
}
