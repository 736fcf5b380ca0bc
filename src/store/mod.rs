//! Persistent state: hearings, invitations and recordings, in SQLite through sqlx.
//!
//! Migrations are the SQL files in `migrations/`, embedded at build time and applied in order
//! at start; applied versions are remembered in `schema_migrations`.

use std::str::FromStr;

use serde::Serialize;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Row, SqlitePool};

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database reported an error.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// The database URL names a database this build cannot use.
    #[error("unsupported database URL {0:?}: use sqlite://PATH")]
    UnsupportedUrl(String),
}

/// Embedded migrations, in the order they apply.
const MIGRATIONS: &[(i64, &str)] = &[(1, include_str!("../../migrations/0001_init.sql"))];

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

/// An invitation as stored.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InvitationRecord {
    /// Stable id, carried in the signed token.
    pub id: String,
    /// The hearing it admits to.
    pub hearing_id: String,
    /// Role name, as in [`crate::hearing::Role`].
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

/// The database handle. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) the database and applies migrations.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        if !url.starts_with("sqlite:") {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        }
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)")
            .execute(&self.pool)
            .await?;
        for (version, sql) in MIGRATIONS {
            let done: Option<i64> =
                sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = ?")
                    .bind(version)
                    .fetch_optional(&self.pool)
                    .await?;
            if done.is_some() {
                continue;
            }
            let mut tx = self.pool.begin().await?;
            sqlx::raw_sql(sql).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO schema_migrations (version) VALUES (?)")
                .bind(version)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// Creates a hearing.
    pub async fn create_hearing(&self, h: &HearingRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO hearings (id, case_number, title, locale, layout, created_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&h.id)
        .bind(&h.case_number)
        .bind(&h.title)
        .bind(&h.locale)
        .bind(&h.layout)
        .bind(chrono::Utc::now().to_rfc3339())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Looks a hearing up by id.
    pub async fn hearing(&self, id: &str) -> Result<Option<HearingRecord>, StoreError> {
        let row =
            sqlx::query("SELECT id, case_number, title, locale, layout FROM hearings WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|r| HearingRecord {
            id: r.get(0),
            case_number: r.get(1),
            title: r.get(2),
            locale: r.get(3),
            layout: r.get(4),
        }))
    }

    /// Creates an invitation.
    pub async fn create_invitation(&self, inv: &InvitationRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO invitations (id, hearing_id, role, seat, name, expires_at, revoked, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&inv.id)
        .bind(&inv.hearing_id)
        .bind(&inv.role)
        .bind(&inv.seat)
        .bind(&inv.name)
        .bind(inv.expires_at)
        .bind(inv.revoked)
        .bind(chrono::Utc::now().to_rfc3339())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Looks an invitation up by id.
    pub async fn invitation(&self, id: &str) -> Result<Option<InvitationRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id, hearing_id, role, seat, name, expires_at, revoked FROM invitations WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| InvitationRecord {
            id: r.get(0),
            hearing_id: r.get(1),
            role: r.get(2),
            seat: r.get(3),
            name: r.get(4),
            expires_at: r.get(5),
            revoked: r.get::<i64, _>(6) != 0,
        }))
    }

    /// Records that a recording started.
    pub async fn recording_started(
        &self,
        id: &str,
        hearing_id: &str,
        dir: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO recordings (id, hearing_id, dir, state, started_at) VALUES (?, ?, ?, 'recording', ?)",
        )
        .bind(id)
        .bind(hearing_id)
        .bind(dir)
        .bind(chrono::Utc::now().to_rfc3339())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records how a recording ended (`finalised`, `failed`, ...).
    pub async fn recording_ended(&self, id: &str, state: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE recordings SET state = ?, ended_at = ? WHERE id = ?")
            .bind(state)
            .bind(chrono::Utc::now().to_rfc3339())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hearing_and_invitation_round_trip_and_migrations_are_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let store = Store::open(&url).await.unwrap();
        let h = HearingRecord {
            id: "h1".into(),
            case_number: "(2026) Yue 0192 Min Chu 1".into(),
            title: "Demo".into(),
            locale: "en".into(),
            layout: "courtroom".into(),
        };
        store.create_hearing(&h).await.unwrap();
        assert_eq!(store.hearing("h1").await.unwrap(), Some(h));
        assert_eq!(store.hearing("nope").await.unwrap(), None);
        let inv = InvitationRecord {
            id: "i1".into(),
            hearing_id: "h1".into(),
            role: "clerk".into(),
            seat: "clerk".into(),
            name: "Clerk Li".into(),
            expires_at: 42,
            revoked: false,
        };
        store.create_invitation(&inv).await.unwrap();
        assert_eq!(store.invitation("i1").await.unwrap(), Some(inv));
        drop(store);
        // Reopening applies no migration twice.
        Store::open(&url).await.unwrap();
    }

    #[tokio::test]
    async fn invitation_for_unknown_hearing_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let store = Store::open(&url).await.unwrap();
        let inv = InvitationRecord {
            id: "i1".into(),
            hearing_id: "missing".into(),
            role: "clerk".into(),
            seat: "clerk".into(),
            name: "x".into(),
            expires_at: 0,
            revoked: false,
        };
        assert!(store.create_invitation(&inv).await.is_err());
    }
}
