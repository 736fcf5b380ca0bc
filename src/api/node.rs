//! This node's health for orchestrators: `GET /readyz` (whether to send it new hearings) and
//! `POST /internal/drain` (from the node itself only: the pre-stop hook starts the drain).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::error::ApiError;
use super::AppState;

/// `GET /readyz`: 200 while the node takes new hearings; 503 while it drains, cannot reach
/// the cluster's database, or its upload spool is over its bound. Running hearings go on
/// either way (liveness is `/healthz`).
pub async fn readyz(State(state): State<AppState>) -> Response {
    let cluster = state.cluster();
    let hearings = state.docket().running_ids().len();
    let spool = cluster.spool_status();
    let capacity = &state.settings().capacity;
    let room = json!({
        "hearings": capacity.hearings(),
        "participants": capacity.participants(),
        "connected": state.connected_participants(),
    });
    let stopping = *state.stopping().borrow();
    let ready = if stopping {
        Err("stopping")
    } else {
        cluster.ready()
    };
    match ready {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({ "state": "ready", "node": cluster.id(), "hearings": hearings, "capacity": room, "spool": spool })),
        )
            .into_response(),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "state": if stopping || cluster.is_draining() { "draining" } else { "unready" },
                "reason": why,
                "node": cluster.id(),
                "hearings": hearings,
                "capacity": room,
                "spool": spool,
            })),
        )
            .into_response(),
    }
}

/// `POST /internal/drain`: starts draining (as SIGTERM does in a cluster). Only from the
/// node's own loopback address.
pub async fn drain(
    State(state): State<AppState>,
    req: axum::extract::Request,
) -> Result<Response, ApiError> {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>();
    if !peer.is_some_and(|ConnectInfo(a)| a.ip().is_loopback()) {
        return Err(ApiError::Forbidden);
    }
    let draining = state.clone();
    tokio::spawn(async move { draining.drain().await });
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "state": "draining", "node": state.cluster().id() })),
    )
        .into_response())
}
