//! The live monitor: who is connected, how well, where each seat is, and the recording state.

use axum::extract::{Path, State};
use axum::Json;
use serde_json::json;

use crate::api::auth::Invitee;
use crate::api::error::ApiError;
use crate::api::session::Clerk;
use crate::api::AppState;
use crate::permissions::{Action, Principal};

/// `GET /api/hearing/monitor` with an invitation token: who is connected, how well, and where
/// each seat is on screen. Roles the permission table lets [`Action::Monitor`] only.
pub async fn invitee_monitor(
    State(state): State<AppState>,
    Invitee(claims): Invitee,
) -> Result<Json<serde_json::Value>, ApiError> {
    let who = Principal::Invitee {
        role: claims.role,
        hearing: &claims.hearing,
    };
    state
        .authorize(
            &who,
            &format!("invitee:{}", claims.inv),
            Action::Monitor,
            Some(&claims.hearing),
        )
        .await?;
    monitor_json(&state, &claims.hearing).await.map(Json)
}

/// `GET /api/hearings/{id}/monitor` for a portal account: the same report.
pub async fn clerk_monitor(
    State(state): State<AppState>,
    clerk: Clerk,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    state
        .authorize(
            &clerk.principal(),
            &clerk.actor(),
            Action::Monitor,
            Some(&id),
        )
        .await?;
    monitor_json(&state, &id).await.map(Json)
}

/// The monitor report of one hearing.
pub async fn monitor_json(state: &AppState, id: &str) -> Result<serde_json::Value, ApiError> {
    let summary = state
        .store()
        .hearing_summary(id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let record = &summary.record;
    let v = &state.settings().video;
    let Some(hearing) = state.running_hearing(id).await else {
        return Ok(json!({
            "hearing": { "id": record.id, "case_number": record.case_number, "title": record.title, "state": summary.state },
            "running": false,
            "recording": { "state": "stopped", "dir": null },
            "participants": [],
        }));
    };
    let stats = hearing.client_stats();
    let participants: Vec<serde_json::Value> = hearing
        .roster()
        .into_iter()
        .map(|p| {
            let s = stats.get(&p.participant_id).cloned();
            let muted = hearing.admission(p.participant_id).is_some_and(|a| {
                hearing
                    .seat(a.seat)
                    .muted
                    .load(std::sync::atomic::Ordering::Relaxed)
            });
            json!({
                "participant_id": p.participant_id,
                "role": p.role,
                "seat": p.seat,
                "name": p.name,
                "away": p.away,
                "muted": muted,
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
    Ok(json!({
        "hearing": { "id": record.id, "case_number": record.case_number, "title": record.title, "state": summary.state },
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
    }))
}
