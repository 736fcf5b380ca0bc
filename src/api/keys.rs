//! `GET /api/keys`: the public half of the recording signing key, as PEM
//! (`-----BEGIN PUBLIC KEY-----`, an Ed25519 SubjectPublicKeyInfo that `openssl pkey -pubin`
//! reads). Anyone may fetch it: it is what a party checks `manifest.json.sig` against.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::record::RecordingKey;

/// Serves the recording public key; the key is made on first use if the server has not
/// made it yet.
pub async fn public_key(State(state): State<AppState>) -> Response {
    let dir = state.settings().data_dir.clone();
    match tokio::task::spawn_blocking(move || RecordingKey::load_or_create(&dir)).await {
        Ok(Ok(key)) => (
            [
                (header::CONTENT_TYPE, "application/x-pem-file"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            key.public().to_pem(),
        )
            .into_response(),
        Ok(Err(e)) => {
            tracing::error!("recording key: {e}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "recording key unavailable",
            )
                .into_response()
        }
        Err(e) => {
            tracing::error!("recording key task: {e}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "recording key unavailable",
            )
                .into_response()
        }
    }
}
