//! Signing keys: `GET /api/keys`, and a cluster's keys in its database.
//!
//! `GET /api/keys` serves the public half of the recording signing key as PEM
//! (`-----BEGIN PUBLIC KEY-----`, an Ed25519 SubjectPublicKeyInfo that `openssl pkey -pubin`
//! reads). Anyone may fetch it: it is what a party checks `manifest.json.sig` against. A
//! cluster serves every recording key it has (newest first, one PEM block each), so a
//! recording signed before a rotation still verifies; the manifest's `key_id` says which.
//!
//! A cluster's nodes share their keys through the database ([`crate::store::keys`]):
//! [`load_cluster_keys`] makes them on the first start and [`rotate_keys`] retires them.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::auth::TokenKey;
use super::AppState;
use crate::digest::{hex, unhex};
use crate::record::RecordingKey;
use crate::store::keys::{KeyPurpose, KeyRecord};
use crate::store::{Store, StoreError};

/// Serves the recording public keys; a single node's key is made on first use if the server
/// has not made it yet.
pub async fn public_key(State(state): State<AppState>) -> Response {
    let pem = if state.cluster().is_clustered() {
        match state.store().signing_keys(KeyPurpose::Recording).await {
            Ok(keys) => Ok(keys
                .iter()
                .filter_map(|k| seed(k).map(|s| RecordingKey::from_seed(s).public().to_pem()))
                .collect::<String>()),
            Err(e) => Err(e.to_string()),
        }
    } else {
        let dir = state.settings().data_dir.clone();
        match tokio::task::spawn_blocking(move || RecordingKey::load_or_create(&dir)).await {
            Ok(Ok(key)) => Ok(key.public().to_pem()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    };
    match pem {
        Ok(pem) if !pem.is_empty() => (
            [
                (header::CONTENT_TYPE, "application/x-pem-file"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            pem,
        )
            .into_response(),
        Ok(_) | Err(_) => {
            if let Err(e) = &pem {
                tracing::error!("recording key: {e}");
            }
            (StatusCode::SERVICE_UNAVAILABLE, "recording key unavailable").into_response()
        }
    }
}

/// Every recording key's public half in the cluster's database, newest first.
pub async fn recording_public_keys(
    store: &Store,
) -> Result<Vec<crate::record::PublicKey>, StoreError> {
    Ok(store
        .signing_keys(KeyPurpose::Recording)
        .await?
        .iter()
        .filter_map(|k| seed(k).map(|s| RecordingKey::from_seed(s).public()))
        .collect())
}

/// A cluster's keys, as one node uses them.
pub struct ClusterKeys {
    /// Signs invitation links (the newest key) and verifies them (every key).
    pub token: TokenKey,
    /// Signs recording manifests (the newest key).
    pub recording: Arc<RecordingKey>,
}

fn seed(k: &KeyRecord) -> Option<[u8; 32]> {
    unhex(&k.secret).and_then(|b| <[u8; 32]>::try_from(b).ok())
}

fn fresh(purpose: KeyPurpose) -> KeyRecord {
    let (id, secret, public) = match purpose {
        KeyPurpose::Invitation => {
            let secret: [u8; 32] = rand::random();
            let id = hex(&crate::digest::sha256(&secret)[..8]);
            (id, hex(&secret), String::new())
        }
        KeyPurpose::Recording => {
            let key = RecordingKey::generate();
            let public = key.public();
            (public.key_id(), hex(&key.seed()), hex(&public.to_bytes()))
        }
    };
    KeyRecord {
        id,
        purpose: purpose.as_str().into(),
        secret,
        public,
        created_ms: chrono::Utc::now().timestamp_millis(),
        retired_at: None,
    }
}

/// The keys of `purpose`, making one first if none is in use.
async fn keys_of(store: &Store, purpose: KeyPurpose) -> Result<Vec<KeyRecord>, StoreError> {
    let keys = store.signing_keys(purpose).await?;
    if keys.iter().any(|k| k.retired_at.is_none()) {
        return Ok(keys);
    }
    store.add_signing_key(&fresh(purpose)).await?;
    store.signing_keys(purpose).await
}

/// Loads the cluster's keys from the database, making them on the first start.
pub async fn load_cluster_keys(store: &Store) -> Result<ClusterKeys, StoreError> {
    let bad = |what: &str| StoreError::Corrupt(format!("a stored {what} key is not 32 bytes"));
    let invitation = keys_of(store, KeyPurpose::Invitation).await?;
    let active = invitation
        .iter()
        .find(|k| k.retired_at.is_none())
        .ok_or_else(|| bad("invitation"))?;
    let signing = (
        active.id.clone(),
        seed(active).ok_or_else(|| bad("invitation"))?,
    );
    let older = invitation
        .iter()
        .filter(|k| k.id != active.id)
        .filter_map(|k| seed(k).map(|s| (k.id.clone(), s)))
        .collect();
    let recording = keys_of(store, KeyPurpose::Recording).await?;
    let active = recording
        .iter()
        .find(|k| k.retired_at.is_none())
        .ok_or_else(|| bad("recording"))?;
    let key = RecordingKey::from_seed(seed(active).ok_or_else(|| bad("recording"))?);
    tracing::info!(invitation_key = %signing.0, recording_key = %key.public().key_id(), "cluster keys loaded");
    Ok(ClusterKeys {
        token: TokenKey::ring(signing, older),
        recording: Arc::new(key),
    })
}

/// Retires the cluster's keys and makes new ones. Nodes sign with the new keys after their
/// next start (a rolling restart); old invitations and recordings still verify.
pub async fn rotate_keys(store: &Store) -> Result<(String, String), StoreError> {
    let mut ids = Vec::new();
    for purpose in [KeyPurpose::Invitation, KeyPurpose::Recording] {
        store.retire_signing_keys(purpose).await?;
        let key = fresh(purpose);
        ids.push(key.id.clone());
        store.add_signing_key(&key).await?;
    }
    Ok((ids[0].clone(), ids[1].clone()))
}
