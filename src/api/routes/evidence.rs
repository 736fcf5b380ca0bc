//! `GET /api/recordings/{rid}/evidence.zip`: the recording's evidence package
//! ([`crate::record::package`]), the same as `courtroom export` writes, streamed as it is
//! read. Who may download the recording's bundle may download this; it is written to the
//! audit trail first, so the package's audit excerpt includes its own download.

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::json;

use super::recordings::{downloadable, zip_download};
use crate::api::error::ApiError;
use crate::api::session::Clerk;
use crate::api::AppState;
use crate::record::package;
use crate::store::audit::actions;
use crate::store::AuditEvent;

/// `GET /api/recordings/{rid}/evidence.zip` → the evidence package: the recording's files,
/// the court's public key its manifest names, the hearing's audit trail and `VERIFY.txt`.
/// `409 key_unknown` when this server does not hold the key that signed it.
pub async fn evidence(
    State(state): State<AppState>,
    clerk: Clerk,
    Path(rid): Path<String>,
) -> Result<Response, ApiError> {
    let (rec, dir) = downloadable(&state, &clerk, &rid).await?;
    let keys = if state.cluster().is_clustered() {
        crate::api::keys::recording_public_keys(state.store()).await?
    } else {
        let data = state.settings().data_dir.clone();
        crate::record::RecordingKey::load_or_create(&data)
            .map(|k| vec![k.public()])
            .map_err(|e| ApiError::Internal(e.to_string()))?
    };
    let named = crate::record::Manifest::read(&dir)
        .map_err(|e| ApiError::Internal(format!("{}: {e}", dir.display())))?
        .key_id;
    let key = keys
        .into_iter()
        .find(|k| named.is_none() || Some(k.key_id()) == named)
        .ok_or_else(|| {
            ApiError::conflict(
                "key_unknown",
                "this server does not hold the key that signed the recording",
            )
        })?;
    state
        .audit(AuditEvent::new(
            clerk.actor(),
            actions::DOWNLOAD,
            Some(&rec.hearing_id),
            json!({ "recording": rec.id, "evidence": true }),
        ))
        .await;
    let trail = state
        .store()
        .audit_entries(Some(&rec.hearing_id), None, i64::MAX)
        .await?;
    let made = crate::timefmt::utc_text(chrono::Utc::now());
    let entries = tokio::task::spawn_blocking(move || package::entries(&dir, &key, &trail, &made))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(zip_download(entries, &package::top_folder(&rec.id)))
}
