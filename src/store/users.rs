//! Portal accounts (clerks and administrators) and their login sessions.
//!
//! The store keeps what it is given: password hashing and session tokens are made by the
//! HTTP layer above it. Only a session token's SHA-256 is stored, so a copy of the database
//! does not let anyone log in.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;

use super::{int, now_text, text, Store, StoreError};

/// What a portal account may do (the permission table above the store decides).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountRole {
    /// Runs hearings: creates, invites, records, downloads.
    Clerk,
    /// A clerk who also manages accounts.
    Admin,
}

impl AccountRole {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountRole::Clerk => "clerk",
            AccountRole::Admin => "admin",
        }
    }
}

impl fmt::Display for AccountRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AccountRole {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "clerk" => Ok(AccountRole::Clerk),
            "admin" => Ok(AccountRole::Admin),
            other => Err(StoreError::Corrupt(format!("account role {other:?}"))),
        }
    }
}

/// A portal account.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UserRecord {
    /// Stable id.
    pub id: String,
    /// Login name, unique.
    pub username: String,
    /// Name shown in the portal and the audit trail.
    pub display_name: String,
    /// What the account may do.
    pub role: AccountRole,
    /// Disabled accounts cannot log in.
    pub disabled: bool,
}

/// A login session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    /// The account.
    pub user: UserRecord,
    /// Expiry, Unix seconds.
    pub expires_at: i64,
}

const USER_COLUMNS: &str = "u.id, u.username, u.display_name, u.role, u.disabled";

fn user(r: &AnyRow) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        id: text(r, 0)?,
        username: text(r, 1)?,
        display_name: text(r, 2)?,
        role: text(r, 3)?.parse()?,
        disabled: int(r, 4)? != 0,
    })
}

impl Store {
    /// Creates an account. Fails with [`StoreError::Duplicate`] when the name is taken.
    pub async fn create_user(
        &self,
        user: &UserRecord,
        password_hash: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (id, username, display_name, role, password_hash, disabled, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&user.id)
        .bind(&user.username)
        .bind(&user.display_name)
        .bind(user.role.as_str())
        .bind(password_hash)
        .bind(i64::from(user.disabled))
        .bind(now_text())
        .execute(self.pool())
        .await
        .map_err(|e| {
            if super::is_unique_violation(&e) {
                StoreError::Duplicate(format!("user {:?}", user.username))
            } else {
                e.into()
            }
        })?;
        Ok(())
    }

    /// An account and its password hash, by login name.
    pub async fn user_by_name(
        &self,
        username: &str,
    ) -> Result<Option<(UserRecord, String)>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.username = $1"
        ))
        .bind(username)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| Ok((user(&r)?, text(&r, 5)?))).transpose()
    }

    /// Every account, by name.
    pub async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users u ORDER BY u.username"
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(user).collect()
    }

    /// Stores a new session under the SHA-256 (hex) of its token.
    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(now_text())
        .bind(expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The live session with this token hash at `now` (Unix seconds), with its account,
    /// unless expired or the account is disabled.
    pub async fn session(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = 0"
        ))
        .bind(token_hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(SessionRecord {
                user: user(&r)?,
                expires_at: int(&r, 5)?,
            })
        })
        .transpose()
    }

    /// Ends a session (logout), and drops every expired one.
    pub async fn delete_session(&self, token_hash: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1 OR expires_at <= $2")
            .bind(token_hash)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
