//! Hearings and invitations: create and list hearings, invite people (each link also as a QR
//! code), open, pause and close a hearing, revoke an invitation, remove a participant.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::Body;
use crate::api::auth::{unix_now, Claims};
use crate::api::error::ApiError;
use crate::api::session::{Clerk, Operator};
use crate::api::AppState;
use crate::hearing::Role;
use crate::ids::random_id;
use crate::permissions::Action;
use crate::render::Layout;
use crate::store::audit::actions;
use crate::store::{AuditEvent, HearingRecord, HearingState, InvitationRecord, NewHearing};

/// `POST /api/hearings` body.
#[derive(Debug, Deserialize)]
pub struct CreateHearing {
    /// The court's case number.
    pub case_number: String,
    /// Title.
    pub title: String,
    /// When (RFC 3339), optional.
    #[serde(default)]
    pub scheduled_at: Option<String>,
    /// `en` or `zh` (default `en`).
    #[serde(default)]
    pub locale: Option<String>,
    /// Scene layout (default: the server's `hearing.layout`).
    #[serde(default)]
    pub layout: Option<String>,
    /// Held in public, so its broadcast may run (default `false`: closed to the public).
    #[serde(default)]
    pub public: bool,
}

/// Supported interface languages.
pub const LOCALES: [&str; 2] = ["en", "zh"];

fn required(value: &str, code: &'static str, what: &str) -> Result<String, ApiError> {
    let v = value.trim();
    if v.is_empty() || v.len() > 200 {
        return Err(ApiError::invalid(
            code,
            format!("{what} must be 1 to 200 characters"),
        ));
    }
    Ok(v.to_owned())
}

fn layout(state: &AppState, name: &str) -> Result<Layout, ApiError> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(ApiError::invalid(
            "bad_layout",
            format!("no layout {name:?}"),
        ));
    }
    Layout::load(&state.settings().assets_dir(), name)
        .map_err(|_| ApiError::invalid("bad_layout", format!("no layout {name:?}")))
}

/// `POST /api/hearings` → `201` with the hearing (state `scheduled`).
pub async fn create(
    State(state): State<AppState>,
    clerk: Clerk,
    Body(req): Body<CreateHearing>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    clerk
        .authorize(&state, Action::ManageHearings, None)
        .await?;
    let case_number = required(&req.case_number, "bad_case_number", "the case number")?;
    let title = required(&req.title, "bad_title", "the title")?;
    let locale = req.locale.unwrap_or_else(|| "en".into());
    if !LOCALES.contains(&locale.as_str()) {
        return Err(ApiError::invalid(
            "bad_locale",
            format!("locale must be one of {LOCALES:?}"),
        ));
    }
    if let Some(at) = &req.scheduled_at {
        chrono::DateTime::parse_from_rfc3339(at).map_err(|_| {
            ApiError::invalid(
                "bad_time",
                "scheduled_at must be an RFC 3339 time, e.g. 2026-03-01T09:30:00+08:00",
            )
        })?;
    }
    let layout_name = req
        .layout
        .unwrap_or_else(|| state.settings().hearing.layout.clone());
    let layout = layout(&state, &layout_name)?;
    let record = HearingRecord {
        id: format!("h-{}", &random_id()[..12]),
        case_number,
        title,
        locale,
        layout: layout.name.clone(),
    };
    state
        .store()
        .create_scheduled_hearing(
            &record,
            &NewHearing {
                scheduled_at: req.scheduled_at,
                created_by: Some(clerk.0.username.clone()),
                public: req.public,
            },
        )
        .await?;
    state
        .audit(AuditEvent::new(
            clerk.actor(),
            actions::HEARING_CREATED,
            Some(&record.id),
            // Public or closed is settled here first; each later change is audited on its own.
            json!({ "case_number": record.case_number, "title": record.title, "public": req.public }),
        ))
        .await;
    let summary = state
        .store()
        .hearing_summary(&record.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok((StatusCode::CREATED, Json(json!({ "hearing": summary }))))
}

/// `GET /api/hearings` → every hearing, newest first, with whether it is live.
pub async fn list(
    State(state): State<AppState>,
    clerk: Clerk,
) -> Result<Json<serde_json::Value>, ApiError> {
    clerk
        .authorize(&state, Action::ManageHearings, None)
        .await?;
    let hearings = state.store().list_hearings().await?;
    Ok(Json(json!({ "hearings": hearings })))
}

/// `GET /api/hearings/{id}` → the hearing, its seats, invitations and recordings.
pub async fn show(
    State(state): State<AppState>,
    clerk: Clerk,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    clerk
        .authorize(&state, Action::ManageHearings, Some(&id))
        .await?;
    let hearing = state
        .store()
        .hearing_summary(&id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let seats: Vec<serde_json::Value> = layout(&state, &hearing.record.layout)
        .map(|l| {
            l.seats
                .iter()
                .map(|s| json!({ "seat": s.id, "role": s.role }))
                .collect()
        })
        .unwrap_or_default();
    let invitations = state.store().invitations_for(&id).await?;
    let recordings = state.store().recordings_for(&id).await?;
    let live = state.running_hearing(&id).await;
    Ok(Json(json!({
        "hearing": hearing,
        "seats": seats,
        "invitations": invitations,
        "recordings": recordings,
        "running": live.is_some(),
        "recording": live.map(|h| h.is_recording()).unwrap_or(false),
    })))
}

/// `POST /api/hearings/{id}/state` body.
#[derive(Debug, Deserialize)]
pub struct SetState {
    /// `open`, `paused` or `closed`.
    pub state: HearingState,
}

/// `POST /api/hearings/{id}/state` `{state}` → opens, pauses or closes. Closing stops the
/// recording, ends the live hearing, revokes nothing (links stop working because the hearing
/// is closed) and seals the hearing's recordings. `409 bad_transition` when not allowed.
pub async fn set_state(
    State(state): State<AppState>,
    clerk: Clerk,
    Path(id): Path<String>,
    Body(req): Body<SetState>,
) -> Result<Json<serde_json::Value>, ApiError> {
    clerk
        .authorize(&state, Action::ManageHearings, Some(&id))
        .await?;
    let current = state
        .store()
        .hearing_summary(&id)
        .await?
        .ok_or(ApiError::NotFound)?
        .state;
    if !current.can_go_to(req.state) {
        return Err(ApiError::conflict(
            "bad_transition",
            format!("a {current} hearing cannot become {}", req.state),
        ));
    }
    if !state.set_hearing_state(&id, current, req.state).await? {
        return Err(ApiError::conflict(
            "bad_transition",
            "the hearing changed meanwhile; reload",
        ));
    }
    state
        .audit(AuditEvent::new(
            clerk.actor(),
            actions::HEARING_STATE,
            Some(&id),
            json!({ "from": current, "to": req.state }),
        ))
        .await;
    let mut sealed = 0;
    if req.state == HearingState::Closed {
        if let Some(m) = state.end_hearing(&id).await? {
            state
                .audit(AuditEvent::new(
                    clerk.actor(),
                    actions::RECORDING_STOPPED,
                    Some(&id),
                    json!({ "recording": m.recording_id, "state": m.state, "why": "hearing closed" }),
                ))
                .await;
        }
        sealed = state.store().seal_recordings(&id).await?;
    }
    Ok(Json(
        json!({ "id": id, "state": req.state, "sealed_recordings": sealed }),
    ))
}

/// `POST /api/hearings/{id}/invitations` body.
#[derive(Debug, Deserialize)]
pub struct Invite {
    /// Role.
    pub role: Role,
    /// Display name.
    pub name: String,
    /// Seat id; default: the first seat of that role without a live invitation.
    #[serde(default)]
    pub seat: Option<String>,
    /// Validity in hours; default: the server's `hearing.invitation_ttl_hours`.
    #[serde(default)]
    pub ttl_hours: Option<u64>,
}

/// `POST /api/hearings/{id}/invitations` → `201` `{invitation, token, url}`: a signed,
/// expiring link to this hearing only.
pub async fn invite(
    State(state): State<AppState>,
    clerk: Clerk,
    Path(id): Path<String>,
    Body(req): Body<Invite>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    clerk
        .authorize(&state, Action::ManageHearings, Some(&id))
        .await?;
    let hearing = state
        .store()
        .hearing_summary(&id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if hearing.state == HearingState::Closed {
        return Err(ApiError::conflict(
            "hearing_closed",
            "this hearing is closed",
        ));
    }
    let name = required(&req.name, "bad_name", "the display name")?;
    let layout = layout(&state, &hearing.record.layout)?;
    let now = unix_now();
    let live: Vec<InvitationRecord> = state
        .store()
        .invitations_for(&id)
        .await?
        .into_iter()
        .filter(|i| !i.revoked && i.expires_at > now)
        .collect();
    let seat = match req.seat {
        // An observer has no seat.
        _ if !req.role.is_seated() => {
            if req.seat.as_deref().is_some_and(|s| !s.is_empty()) {
                return Err(ApiError::invalid("bad_seat", "an observer has no seat"));
            }
            String::new()
        }
        Some(seat) => {
            let s = layout
                .seats
                .iter()
                .find(|s| s.id == seat)
                .ok_or_else(|| ApiError::invalid("bad_seat", format!("no seat {seat:?}")))?;
            if s.role != req.role.as_str() {
                return Err(ApiError::invalid(
                    "bad_seat",
                    format!("seat {seat:?} is for a {}", s.role),
                ));
            }
            seat
        }
        None => layout
            .seats_for_role(req.role.as_str())
            .find(|s| !live.iter().any(|i| i.seat == s.id))
            .or_else(|| layout.seats_for_role(req.role.as_str()).next())
            .map(|s| s.id.clone())
            .ok_or_else(|| {
                ApiError::invalid(
                    "bad_seat",
                    format!("layout {} has no seat for a {}", layout.name, req.role),
                )
            })?,
    };
    let ttl = req
        .ttl_hours
        .unwrap_or(state.settings().hearing.invitation_ttl_hours)
        .clamp(1, 24 * 90);
    let inv = InvitationRecord {
        id: random_id(),
        hearing_id: id.clone(),
        role: req.role.to_string(),
        seat: seat.clone(),
        name,
        expires_at: now + ttl as i64 * 3600,
        revoked: false,
    };
    state.store().create_invitation(&inv).await?;
    let token = invitation_token(&state, &inv, req.role);
    state
        .audit(AuditEvent::new(
            clerk.actor(),
            actions::INVITATION_CREATED,
            Some(&id),
            json!({ "invitation": inv.id, "role": inv.role, "seat": inv.seat, "name": inv.name, "expires_at": inv.expires_at }),
        ))
        .await;
    let url = join_url(&state, &token);
    let qr = format!("/api/hearings/{id}/invitations/{}/qr.svg", inv.id);
    Ok((
        StatusCode::CREATED,
        Json(json!({ "invitation": inv, "token": token, "url": url, "qr": qr })),
    ))
}

/// The signed token of a stored invitation. Signing is deterministic, so the same invitation
/// always yields the same token, and so the same link.
fn invitation_token(state: &AppState, inv: &InvitationRecord, role: Role) -> String {
    state.key().sign(&Claims {
        inv: inv.id.clone(),
        hearing: inv.hearing_id.clone(),
        role,
        seat: inv.seat.clone(),
        exp: inv.expires_at,
    })
}

fn join_url(state: &AppState, token: &str) -> String {
    format!("{}/join?t={token}", state.settings().public_url())
}

/// Size of one QR module in SVG units (the portal scales the picture).
const QR_MODULE: u32 = 4;

/// `text` as a QR code in SVG: black modules on white, with the standard quiet zone.
pub fn qr_svg(text: &str) -> Result<String, qrcode::types::QrError> {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M)?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .quiet_zone(true)
        .module_dimensions(QR_MODULE, QR_MODULE)
        .build())
}

/// `GET /api/hearings/{id}/invitations/{inv}/qr.svg` → the invitation's link as a QR code
/// (`image/svg+xml`), to show on a screen or print for someone to scan with a phone. The same
/// link as the invitation answered with; `409 invitation_inactive` once revoked or expired.
pub async fn invitation_qr(
    State(state): State<AppState>,
    clerk: Clerk,
    Path((id, inv)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    clerk
        .authorize(&state, Action::ManageHearings, Some(&id))
        .await?;
    let record = state
        .store()
        .invitation(&inv)
        .await?
        .filter(|i| i.hearing_id == id)
        .ok_or(ApiError::NotFound)?;
    if record.revoked || record.expires_at <= unix_now() {
        return Err(ApiError::conflict(
            "invitation_inactive",
            "this invitation was revoked or has expired",
        ));
    }
    let role: Role = record
        .role
        .parse()
        .map_err(|_| ApiError::Internal(format!("stored role {:?}", record.role)))?;
    let url = join_url(&state, &invitation_token(&state, &record, role));
    let svg = qr_svg(&url).map_err(|e| ApiError::Internal(format!("QR code: {e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            // The picture carries a live link: never kept by a cache.
            (header::CACHE_CONTROL, "no-store"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        svg,
    )
        .into_response())
}

/// `GET /api/hearings/{id}/invitations` → the hearing's invitations (without tokens).
pub async fn invitations(
    State(state): State<AppState>,
    clerk: Clerk,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    clerk
        .authorize(&state, Action::ManageHearings, Some(&id))
        .await?;
    state
        .store()
        .hearing(&id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let list = state.store().invitations_for(&id).await?;
    Ok(Json(json!({ "invitations": list })))
}

/// `DELETE /api/hearings/{id}/invitations/{inv}` → revokes the link. Whoever joined with it
/// is removed from the live hearing.
pub async fn revoke(
    State(state): State<AppState>,
    clerk: Clerk,
    Path((id, inv)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    clerk
        .authorize(&state, Action::ManageHearings, Some(&id))
        .await?;
    if !state.store().revoke_invitation(&id, &inv).await? {
        return Err(ApiError::NotFound);
    }
    state
        .audit(AuditEvent::new(
            clerk.actor(),
            actions::INVITATION_REVOKED,
            Some(&id),
            json!({ "invitation": inv }),
        ))
        .await;
    let mut removed = Vec::new();
    if let Some(live) = state.running_hearing(&id).await {
        for p in live.roster() {
            if live
                .admission(p.participant_id)
                .is_some_and(|a| a.invitation_id == inv)
            {
                live.remove(p.participant_id);
                removed.push(p.participant_id);
            }
        }
    }
    Ok(Json(json!({ "revoked": inv, "removed": removed })))
}

/// `POST /api/hearings/{id}/participants/{pid}/remove` → takes a participant out of the live
/// hearing and revokes their invitation so the link cannot bring them back.
pub async fn remove_participant(
    State(state): State<AppState>,
    who: Operator,
    Path((id, pid)): Path<(String, u64)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.authorize(&state, Action::RemoveParticipant, &id)
        .await?;
    let live = state.running_hearing(&id).await.ok_or(ApiError::NotFound)?;
    let admission = live.admission(pid).ok_or(ApiError::NotFound)?;
    state
        .store()
        .revoke_invitation(&id, &admission.invitation_id)
        .await?;
    live.remove(pid);
    state
        .audit(AuditEvent::new(
            who.actor(),
            actions::REMOVE,
            Some(&id),
            json!({ "participant": pid, "invitation": admission.invitation_id, "name": admission.name }),
        ))
        .await;
    Ok(Json(json!({ "removed": pid })))
}

/// `POST /api/hearings/{id}/participants/{pid}/mute` body.
#[derive(Debug, Deserialize)]
pub struct Mute {
    /// `true` to mute, `false` to unmute.
    pub muted: bool,
}

/// `POST /api/hearings/{id}/participants/{pid}/mute` `{muted}` → the others stop (or start
/// again) hearing this participant.
pub async fn mute_participant(
    State(state): State<AppState>,
    who: Operator,
    Path((id, pid)): Path<(String, u64)>,
    Body(req): Body<Mute>,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.authorize(&state, Action::MuteOthers, &id).await?;
    let live = state.running_hearing(&id).await.ok_or(ApiError::NotFound)?;
    if !live.set_muted(pid, req.muted) {
        return Err(ApiError::NotFound);
    }
    state
        .audit(AuditEvent::new(
            who.actor(),
            actions::MUTE,
            Some(&id),
            json!({ "participant": pid, "muted": req.muted }),
        ))
        .await;
    Ok(Json(json!({ "participant": pid, "muted": req.muted })))
}
