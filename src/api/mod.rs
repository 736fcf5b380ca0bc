//! The HTTP surface: the participant's page, the signalling WebSocket ([`ws`]), health and the
//! hearing monitor. Handlers are thin; auth is the [`auth::Invitee`] extractor; every failure is
//! an [`error::ApiError`].

pub mod auth;
pub mod error;
pub mod signalling;
pub mod ws;

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use self::auth::{unix_now, Claims, Invitee, TokenError, TokenKey};
use self::error::ApiError;
use crate::config::Settings;
use crate::hearing::{Hearing, HearingError};
use crate::render::Gpu;
use crate::store::Store;

/// Shared state of the server. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<StateInner>,
}

struct StateInner {
    settings: Arc<Settings>,
    store: Store,
    gpu: Arc<Gpu>,
    key: TokenKey,
    hearings: tokio::sync::Mutex<HashMap<String, Arc<Hearing>>>,
}

impl AppState {
    /// Builds the state.
    pub fn new(settings: Arc<Settings>, store: Store, gpu: Arc<Gpu>, key: TokenKey) -> Self {
        Self {
            inner: Arc::new(StateInner {
                settings,
                store,
                gpu,
                key,
                hearings: Default::default(),
            }),
        }
    }

    /// Settings.
    pub fn settings(&self) -> &Arc<Settings> {
        &self.inner.settings
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The render device's adapter name.
    pub fn adapter_name(&self) -> &str {
        &self.inner.gpu.adapter_name
    }

    /// The invitation signing key.
    pub fn key(&self) -> &TokenKey {
        &self.inner.key
    }

    /// Checks a token's signature and expiry, and that its invitation exists unrevoked.
    pub async fn check_token(&self, token: &str) -> Result<Claims, ApiError> {
        let claims = self.inner.key.verify(token, unix_now())?;
        match self.inner.store.invitation(&claims.inv).await? {
            Some(inv) if !inv.revoked && inv.hearing_id == claims.hearing => Ok(claims),
            _ => Err(ApiError::Token(TokenError::Invalid)),
        }
    }

    /// The live hearing with this id, started on first use.
    pub async fn hearing(&self, id: &str) -> Result<Arc<Hearing>, ApiError> {
        let mut hearings = self.inner.hearings.lock().await;
        if let Some(h) = hearings.get(id) {
            return Ok(h.clone());
        }
        let record = self
            .inner
            .store
            .hearing(id)
            .await?
            .ok_or(ApiError::NotFound)?;
        let (settings, gpu) = (self.inner.settings.clone(), self.inner.gpu.clone());
        let hearing = tokio::task::spawn_blocking(move || Hearing::start(record, settings, gpu))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .map_err(|e: HearingError| ApiError::Internal(e.to_string()))?;
        hearings.insert(id.to_owned(), hearing.clone());
        Ok(hearing)
    }

    /// The live hearing with this id, if running.
    pub async fn running_hearing(&self, id: &str) -> Option<Arc<Hearing>> {
        self.inner.hearings.lock().await.get(id).cloned()
    }

    /// Stops every hearing, finalising recordings. Blocking work runs off the async threads.
    pub async fn shutdown_hearings(&self) {
        let hearings: Vec<Arc<Hearing>> = self
            .inner
            .hearings
            .lock()
            .await
            .drain()
            .map(|(_, h)| h)
            .collect();
        for hearing in hearings {
            let id = hearing.record.id.clone();
            match tokio::task::spawn_blocking(move || hearing.shutdown()).await {
                Ok(Ok(Some(m))) => {
                    let state = m.state.clone();
                    if let Err(e) = self
                        .inner
                        .store
                        .recording_ended(&m.recording_id, &state)
                        .await
                    {
                        tracing::error!(hearing = %id, "cannot note recording end: {e}");
                    }
                }
                Ok(Ok(None)) => {}
                Ok(Err(e)) => {
                    tracing::error!(hearing = %id, "recording did not finalise cleanly: {e}")
                }
                Err(e) => tracing::error!(hearing = %id, "shutdown panicked: {e}"),
            }
        }
    }
}

/// The router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/", get(index))
        .route(
            "/join",
            get(|| async { Html(include_str!("../../web/join.html")) }),
        )
        .route(
            "/web/join.js",
            get(|| async { asset("text/javascript", include_str!("../../web/join.js")) }),
        )
        .route(
            "/web/style.css",
            get(|| async { asset("text/css", include_str!("../../web/style.css")) }),
        )
        .route("/ws", get(ws::upgrade))
        .route("/api/hearing/monitor", get(monitor))
        .with_state(state)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn index() -> impl IntoResponse {
    (
        StatusCode::OK,
        Html("<!doctype html><title>courtroom</title><p>This is a courtroom server. Open the invitation link your clerk sent you."),
    )
}

/// Who is connected, how well, and where each seat is on screen. Clerk and presiding judge only.
async fn monitor(
    State(state): State<AppState>,
    Invitee(claims): Invitee,
) -> Result<Json<serde_json::Value>, ApiError> {
    if !claims.role.may_monitor() {
        return Err(ApiError::Forbidden);
    }
    let record = state
        .store()
        .hearing(&claims.hearing)
        .await?
        .ok_or(ApiError::NotFound)?;
    let v = &state.settings().video;
    let Some(hearing) = state.running_hearing(&claims.hearing).await else {
        return Ok(Json(json!({
            "hearing": { "id": record.id, "case_number": record.case_number, "title": record.title },
            "running": false,
            "participants": [],
        })));
    };
    let stats = hearing.client_stats();
    let participants: Vec<serde_json::Value> = hearing
        .roster()
        .into_iter()
        .map(|p| {
            let s = stats.get(&p.participant_id).cloned();
            json!({
                "participant_id": p.participant_id,
                "role": p.role,
                "seat": p.seat,
                "name": p.name,
                "away": p.away,
                "connected": s.is_some(),
                "stats": s.unwrap_or_else(|| json!({})),
            })
        })
        .collect();
    let seats: Vec<serde_json::Value> = hearing
        .layout()
        .seats
        .iter()
        .zip(hearing.seat_boxes())
        .map(|(seat, b)| json!({ "seat": seat.id, "role": seat.role, "x": b.x, "y": b.y, "w": b.w, "h": b.h }))
        .collect();
    let ticks = hearing
        .tick_stats
        .ticks
        .load(std::sync::atomic::Ordering::Relaxed);
    let late = hearing
        .tick_stats
        .late
        .load(std::sync::atomic::Ordering::Relaxed);
    Ok(Json(json!({
        "hearing": { "id": record.id, "case_number": record.case_number, "title": record.title },
        "running": true,
        "adapter": state.adapter_name(),
        "recording": {
            "state": if hearing.is_recording() { "recording" } else { "stopped" },
            "dir": hearing.recording_dir(),
        },
        "output": { "width": v.width, "height": v.height, "fps": v.fps },
        "compositor": {
            "ticks": ticks,
            "late": late,
            "pipeline_latency_ms": hearing.tick_stats.latency.lock().expect("latency lock").percentiles(),
        },
        "participants": participants,
        "seats": seats,
    })))
}
