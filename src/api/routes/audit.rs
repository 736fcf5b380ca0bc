//! The audit trail, for portal accounts: read it and check its chain.

use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::api::error::ApiError;
use crate::api::session::Clerk;
use crate::api::AppState;
use crate::permissions::Action;
use crate::store::audit::VerifyError;

/// `GET /api/audit` query.
#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    /// Only this hearing's entries.
    #[serde(default)]
    pub hearing: Option<String>,
    /// Only entries before this sequence number (paging).
    #[serde(default)]
    pub before: Option<i64>,
    /// At most this many (default 100, at most 1000).
    #[serde(default)]
    pub limit: Option<i64>,
}

/// `GET /api/audit?hearing=&before=&limit=` → entries, newest first.
pub async fn list(
    State(state): State<AppState>,
    clerk: Clerk,
    Query(q): Query<AuditQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    clerk
        .authorize(&state, Action::ViewAudit, q.hearing.as_deref())
        .await?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let entries = state
        .store()
        .audit_entries(q.hearing.as_deref(), q.before, limit)
        .await?;
    Ok(Json(json!({ "entries": entries })))
}

/// `GET /api/audit/verify` → `{ok: true, entries}` or `{ok: false, error}`.
pub async fn verify(
    State(state): State<AppState>,
    clerk: Clerk,
) -> Result<Json<serde_json::Value>, ApiError> {
    clerk.authorize(&state, Action::ViewAudit, None).await?;
    match state.store().verify_audit_chain().await {
        Ok(n) => Ok(Json(json!({ "ok": true, "entries": n }))),
        Err(VerifyError::Chain(e)) => Ok(Json(json!({ "ok": false, "error": e.to_string() }))),
        Err(VerifyError::Store(e)) => Err(e.into()),
    }
}
