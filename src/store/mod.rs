//! Persistent state: hearings, invitations, recordings ([`hearings`]), accounts and sessions
//! ([`users`]) and the append-only audit trail ([`audit`]), through sqlx.
//!
//! One code path serves SQLite (the default: a file in the data folder, WAL mode) and
//! PostgreSQL (`database_url = "postgres://..."`), through sqlx's `Any` driver. Every query is
//! written once, with `$N` placeholders (both databases accept them) and only the column types
//! both share: `TEXT` and `BIGINT`. Times are RFC 3339 text in UTC; flags are `0`/`1`.
//!
//! Migrations are the SQL files in `migrations/`, embedded at build time and applied in order
//! at start; applied versions are remembered in `schema_migrations`. A migration is portable
//! SQL unless it has one variant per database (`NNNN_name.sqlite.sql` /
//! `NNNN_name.postgres.sql`), used where the dialects differ (triggers).

pub mod audit;
pub mod hearings;
pub mod keys;
pub mod placement;
pub mod testing;
pub mod users;

use std::sync::Arc;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor};

pub use self::audit::{AuditEntry, AuditEvent, ChainError};
pub use self::hearings::{
    HearingRecord, HearingState, HearingSummary, InvitationRecord, NewHearing, RecordingRecord,
};
pub use self::users::{AccountRole, SessionRecord, UserRecord};

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database reported an error.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// The database URL names a database this build cannot use.
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    /// A row holds a value this code does not understand (e.g. an unknown state name).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// A unique name (user name, ...) is already taken.
    #[error("{0} already exists")]
    Duplicate(String),
}

impl StoreError {
    /// Whether the database could not be reached (a connection refused, reset or timed out,
    /// the pool out of connections), as opposed to a query it refused.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Db(
                sqlx::Error::Io(_)
                    | sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::Tls(_)
                    | sqlx::Error::WorkerCrashed
            )
        ) || matches!(self, StoreError::Db(sqlx::Error::Database(d)) if d.code().is_some_and(|c| c.starts_with("57P") || c.starts_with("08")))
    }
}

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, a file (or memory).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Backend {
    /// The backend a URL selects, if any.
    pub fn of_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// One embedded migration.
struct Migration {
    version: i64,
    /// Portable SQL, or the SQLite variant.
    sqlite: &'static str,
    /// The PostgreSQL variant (the same text when portable).
    postgres: &'static str,
}

/// Embedded migrations, in the order they apply.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sqlite: include_str!("../../migrations/0001_init.sql"),
        postgres: include_str!("../../migrations/0001_init.sql"),
    },
    Migration {
        version: 2,
        sqlite: include_str!("../../migrations/0002_accounts_audit.sql"),
        postgres: include_str!("../../migrations/0002_accounts_audit.sql"),
    },
    Migration {
        version: 3,
        sqlite: include_str!("../../migrations/0003_audit_append_only.sqlite.sql"),
        postgres: include_str!("../../migrations/0003_audit_append_only.postgres.sql"),
    },
    Migration {
        version: 4,
        sqlite: include_str!("../../migrations/0004_cluster.sql"),
        postgres: include_str!("../../migrations/0004_cluster.sql"),
    },
    Migration {
        version: 5,
        sqlite: include_str!("../../migrations/0005_public.sql"),
        postgres: include_str!("../../migrations/0005_public.sql"),
    },
];

/// The database handle. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Serialises audit appends from this process (the chain needs the previous hash).
    audit_lock: Arc<tokio::sync::Mutex<()>>,
}

impl Store {
    /// Opens (creating if needed) the database and applies migrations. `sqlite://PATH` or
    /// `postgres://USER@HOST:PORT/DB`.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let backend =
            Backend::of_url(url).ok_or_else(|| StoreError::UnsupportedUrl(url.to_owned()))?;
        sqlx::any::install_default_drivers();
        let url = match backend {
            // Create the file unless the URL says otherwise.
            Backend::Sqlite if !url.contains("mode=") && !url.contains(":memory:") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_owned(),
        };
        let pool = AnyPoolOptions::new()
            // An unreachable database fails a request within seconds (a clear 503), rather
            // than holding it for sqlx's default 30 s.
            .acquire_timeout(std::time::Duration::from_secs(3))
            .max_connections(match backend {
                Backend::Sqlite => 4,
                Backend::Postgres => 8,
            })
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        let store = Self {
            pool,
            backend,
            audit_lock: Arc::default(),
        };
        store.migrate().await?;
        tracing::debug!(?backend, "store open");
        Ok(store)
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::query("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)")
            .execute(&self.pool)
            .await?;
        for m in MIGRATIONS {
            let done: Option<i64> =
                sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                    .bind(m.version)
                    .fetch_optional(&self.pool)
                    .await?;
            if done.is_some() {
                continue;
            }
            let sql = match self.backend {
                Backend::Sqlite => m.sqlite,
                Backend::Postgres => m.postgres,
            };
            let mut tx = self.pool.begin().await?;
            sqlx::raw_sql(sql).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO schema_migrations (version) VALUES ($1)")
                .bind(m.version)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            tracing::info!(version = m.version, "migration applied");
        }
        Ok(())
    }
}

/// Current time as stored: RFC 3339, UTC, seconds.
pub(crate) fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Reads column `i` as text, or fails with [`StoreError::Db`].
pub(crate) fn text(r: &AnyRow, i: usize) -> Result<String, StoreError> {
    use sqlx::Row;
    Ok(r.try_get::<String, _>(i)?)
}

/// Reads column `i` as optional text.
pub(crate) fn opt_text(r: &AnyRow, i: usize) -> Result<Option<String>, StoreError> {
    use sqlx::Row;
    Ok(r.try_get::<Option<String>, _>(i)?)
}

/// Reads column `i` as an integer.
pub(crate) fn int(r: &AnyRow, i: usize) -> Result<i64, StoreError> {
    use sqlx::Row;
    Ok(r.try_get::<i64, _>(i)?)
}

/// Whether a database error is a unique-constraint violation.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            d.is_unique_violation() || {
                let m = d.message();
                m.contains("UNIQUE constraint failed") || m.contains("duplicate key")
            }
        }
        _ => false,
    }
}
