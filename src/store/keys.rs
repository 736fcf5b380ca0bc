//! Signing keys shared by every node of a cluster (`signing_keys`): the invitation key
//! (HMAC-SHA256 secret) and the recording key (Ed25519 seed), each with a key id, so every
//! node signs and verifies the same way, and keys can be rotated.
//!
//! The newest key of a purpose that is not retired signs; retired keys still verify (tokens
//! signed before the rotation stay good until they expire; recordings keep their key). The
//! first node to start makes the keys; two nodes starting together may each make one, and
//! both keys then verify.

use super::{int, now_text, opt_text, text, Store, StoreError};

/// What a key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPurpose {
    /// Signs invitation links (HMAC-SHA256).
    Invitation,
    /// Signs recording manifests (Ed25519).
    Recording,
}

impl KeyPurpose {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyPurpose::Invitation => "invitation",
            KeyPurpose::Recording => "recording",
        }
    }
}

/// One stored key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// Key id.
    pub id: String,
    /// What it is for.
    pub purpose: String,
    /// The secret: 32 bytes as lowercase hex (an HMAC key, or an Ed25519 seed).
    pub secret: String,
    /// The public half (hex; empty for HMAC keys).
    pub public: String,
    /// When it was made, Unix milliseconds.
    pub created_ms: i64,
    /// When it was retired, if it was.
    pub retired_at: Option<String>,
}

impl Store {
    /// Every key of `purpose`, newest first.
    pub async fn signing_keys(&self, purpose: KeyPurpose) -> Result<Vec<KeyRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, purpose, secret, public, created_ms, retired_at FROM signing_keys \
             WHERE purpose = $1 ORDER BY created_ms DESC, id",
        )
        .bind(purpose.as_str().to_owned())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(KeyRecord {
                    id: text(r, 0)?,
                    purpose: text(r, 1)?,
                    secret: text(r, 2)?,
                    public: text(r, 3)?,
                    created_ms: int(r, 4)?,
                    retired_at: opt_text(r, 5)?,
                })
            })
            .collect()
    }

    /// Adds a key (a key id that exists already is left as it is).
    pub async fn add_signing_key(&self, key: &KeyRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO signing_keys (id, purpose, secret, public, created_ms) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
        )
        .bind(key.id.clone())
        .bind(key.purpose.clone())
        .bind(key.secret.clone())
        .bind(key.public.clone())
        .bind(key.created_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Retires every key of `purpose` that is not retired yet. Returns how many.
    pub async fn retire_signing_keys(&self, purpose: KeyPurpose) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE signing_keys SET retired_at = $1 WHERE purpose = $2 AND retired_at IS NULL",
        )
        .bind(now_text())
        .bind(purpose.as_str().to_owned())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }
}
