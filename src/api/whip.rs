//! WHIP ingest (RFC 9725): a studio encoder (OBS ≥ 30, GStreamer's `whipclientsink`, FFmpeg's
//! WHIP muxer, a hardware encoder in a courtroom) takes an invitation's seat with one HTTP
//! request, and is composited, recorded and listed in the roster like a browser.
//!
//! - `POST /whip/{hearing}` with `Authorization: Bearer <invitation token>` and
//!   `Content-Type: application/sdp`: the offer. `201 Created` with the answer SDP and a
//!   `Location: /whip/{hearing}/{session}` for the session.
//! - `DELETE /whip/{hearing}/{session}` with the same token: leaves; the seat empties.
//! - `OPTIONS` on either: CORS for browser WHIP clients; `PATCH` (trickle ICE, ICE restart) is
//!   not supported: `405` (the offer must carry its candidates, as RFC 9725 allows).
//!
//! Errors, each with the API's JSON body (`{"error": {"code", "message"}}`): `401` no or bad
//! token, `403` a token of another hearing or a role that may not publish, `415` not
//! `application/sdp`, `400 bad_sdp`, `409 seat_taken`, `409 hearing_not_open`.
//!
//! Seating is the signalling session's: the same [`Hearing::join`] (the newest join with an
//! invitation wins, so a browser with the same invitation replaces the encoder and the other
//! way round), the same audit entries, and [`crate::rtc::session::run`] for the media. A WHIP
//! client only sends: it gets no composite and no voices. The session ends on `DELETE`, when
//! its connection closes, when the clerk removes it, when someone takes its invitation over,
//! or when the hearing closes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use tokio::sync::{broadcast, oneshot};

use super::error::ApiError;
use super::session::Invitee;
use super::AppState;
use crate::hearing::{Admission, Hearing, HearingError, HearingEvent, JoinError, ParticipantId};
use crate::ids::random_id;
use crate::permissions::Action;
use crate::rtc::peer::ParticipantPeer;
use crate::store::HearingState;

/// The live WHIP sessions, by session id.
#[derive(Default)]
pub struct WhipSessions {
    live: Mutex<HashMap<String, Live>>,
}

struct Live {
    hearing: String,
    invitation: String,
    participant: ParticipantId,
    stop: oneshot::Sender<()>,
}

impl WhipSessions {
    /// How many WHIP sessions are live.
    pub fn len(&self) -> usize {
        self.live.lock().expect("whip lock").len()
    }

    /// Whether no WHIP session is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn insert(&self, id: String, live: Live) {
        self.live.lock().expect("whip lock").insert(id, live);
    }

    fn remove(&self, id: &str) -> Option<Live> {
        self.live.lock().expect("whip lock").remove(id)
    }
}

/// The CORS headers a browser WHIP client needs to read the answer and its `Location`.
fn cors(headers: &mut HeaderMap) {
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, DELETE, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Authorization, Content-Type"),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Location"),
    );
}

/// An [`ApiError`] with the CORS headers, so a browser client can read it.
fn error(e: ApiError) -> Response {
    let mut r = e.into_response();
    cors(r.headers_mut());
    r
}

/// `OPTIONS /whip/...`: CORS preflight; says which methods there are (no `PATCH`: no trickle).
pub async fn options() -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    cors(r.headers_mut());
    r
}

/// `PATCH /whip/...`: trickle ICE and ICE restarts are not supported.
pub async fn patch() -> Response {
    let mut r = (
        StatusCode::METHOD_NOT_ALLOWED,
        Json(serde_json::json!({ "error": { "code": "method_not_allowed",
            "message": "trickle ICE and ICE restarts are not supported: send a complete offer" } })),
    )
        .into_response();
    cors(r.headers_mut());
    r
}

/// The offer in a `POST /whip/{hearing}` request: its `Content-Type` (the header's text, empty
/// when absent) must be `application/sdp` (`415` otherwise), and its body UTF-8 text that
/// starts with `v=0` (`400 bad_sdp` otherwise). Pure, so that hostile bodies can be fuzzed.
pub fn offer_from_body(content_type: &str, body: &[u8]) -> Result<String, ApiError> {
    if !content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/sdp"))
    {
        return Err(ApiError::UnsupportedMediaType(
            "send the offer as Content-Type: application/sdp".into(),
        ));
    }
    String::from_utf8(body.to_vec())
        .ok()
        .filter(|s| s.trim_start().starts_with("v=0"))
        .ok_or_else(|| ApiError::invalid("bad_sdp", "the body is not an SDP offer"))
}

/// `POST /whip/{hearing}`: seats the invitation's encoder and answers its offer.
pub async fn publish(
    State(state): State<AppState>,
    Path(hearing): Path<String>,
    invitee: Result<Invitee, ApiError>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match publish_inner(state, hearing, invitee, headers, body).await {
        Ok(r) => r,
        Err(e) => error(e),
    }
}

async fn publish_inner(
    state: AppState,
    hearing_id: String,
    invitee: Result<Invitee, ApiError>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let invitee = invitee?;
    let claims = invitee.0.clone();
    if claims.hearing != hearing_id {
        return Err(ApiError::Forbidden);
    }
    invitee
        .authorize(&state, Action::Publish, &hearing_id)
        .await?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let sdp = offer_from_body(content_type, &body)?;
    let summary = state
        .store()
        .hearing_summary(&hearing_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !matches!(summary.state, HearingState::Open | HearingState::Paused) {
        return Err(ApiError::conflict(
            "hearing_not_open",
            "the hearing is not open; publish once the clerk has opened it",
        ));
    }
    let inv = state
        .store()
        .invitation(&claims.inv)
        .await?
        .ok_or(ApiError::Token(super::auth::TokenError::Invalid))?;
    let live = state.hearing(&hearing_id).await?;
    let seat = live
        .layout()
        .seat_index(&claims.seat)
        .ok_or_else(|| ApiError::Internal(format!("seat {} not in layout", claims.seat)))?;
    state.room_for_participant(&live, Some(&claims.seat))?;
    let joined = live
        .join(Admission {
            invitation_id: claims.inv.clone(),
            role: claims.role,
            seat,
            seat_id: claims.seat.clone(),
            name: inv.name.clone(),
        })
        .map_err(|e| match e {
            HearingError::Join(JoinError::SeatTaken(s)) => {
                ApiError::conflict("seat_taken", format!("seat {s} is taken by someone else"))
            }
            other => ApiError::Internal(other.to_string()),
        })?;
    let udp_ip = state.settings().rtc.udp_ip;
    let (peer, answer) = match crate::rtc::peer::answer_ingest(sdp, udp_ip).await {
        Ok(ok) => ok,
        Err(e) => {
            live.leave(joined.id);
            return Err(ApiError::invalid("bad_sdp", e.to_string()));
        }
    };
    tracing::info!(hearing = %hearing_id, participant = joined.id, role = %claims.role, "joined over WHIP");
    state.participant_joined(&claims, joined.id, &inv.name);
    let session = random_id();
    let (stop_tx, stop_rx) = oneshot::channel();
    state.whip().insert(
        session.clone(),
        Live {
            hearing: hearing_id.clone(),
            invitation: claims.inv.clone(),
            participant: joined.id,
            stop: stop_tx,
        },
    );
    tokio::spawn(supervise(
        state.clone(),
        session.clone(),
        claims.inv.clone(),
        live,
        joined.id,
        seat,
        peer,
        stop_rx,
    ));
    let mut r = (StatusCode::CREATED, answer).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/sdp"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("/whip/{hearing_id}/{session}")) {
        h.insert(header::LOCATION, v);
    }
    cors(h);
    Ok(r)
}

/// `DELETE /whip/{hearing}/{session}`: the encoder leaves; its seat empties at once.
pub async fn leave(
    State(state): State<AppState>,
    Path((hearing, session)): Path<(String, String)>,
    invitee: Result<Invitee, ApiError>,
) -> Response {
    let result = async {
        let invitee = invitee?;
        let known = {
            let live = state.whip().live.lock().expect("whip lock");
            live.get(&session)
                .map(|l| (l.hearing.clone(), l.invitation.clone()))
        };
        let Some((h, inv)) = known.filter(|(h, _)| *h == hearing) else {
            return Err(ApiError::NotFound);
        };
        if invitee.0.inv != inv || invitee.0.hearing != h {
            return Err(ApiError::Forbidden);
        }
        if let Some(live) = state.whip().remove(&session) {
            tracing::info!(hearing = %h, participant = live.participant, "WHIP session deleted");
            let _ = live.stop.send(());
        }
        Ok(StatusCode::OK.into_response())
    }
    .await;
    match result {
        Ok(mut r) => {
            cors(r.headers_mut());
            r
        }
        Err(e) => error(e),
    }
}

/// Runs one WHIP session's media until it is deleted, its connection closes, the clerk removes
/// it, a newer join takes its invitation over, or the hearing closes; then empties its seat
/// (unless someone newer holds it) and notes the leave in the audit trail.
async fn supervise(
    state: AppState,
    session: String,
    invitation: String,
    hearing: Arc<Hearing>,
    id: ParticipantId,
    seat: usize,
    peer: ParticipantPeer,
    mut stop: oneshot::Receiver<()>,
) {
    let mut events = hearing.subscribe_events();
    let mut media = tokio::spawn(crate::rtc::session::run(hearing.clone(), id, seat, peer));
    let why = loop {
        tokio::select! {
            _ = &mut stop => break "left",
            _ = &mut media => break "connection closed",
            event = events.recv() => match event {
                Ok(HearingEvent::Replaced(p)) if p == id => {
                    let taken_over = hearing.roster().iter().any(|e| {
                        e.participant_id != id
                            && hearing
                                .admission(e.participant_id)
                                .is_some_and(|a| a.invitation_id == invitation)
                    });
                    break if taken_over { "replaced" } else { "removed" };
                }
                Ok(HearingEvent::State(HearingState::Closed))
                | Err(broadcast::error::RecvError::Closed) => break "hearing closed",
                _ => continue,
            },
        }
    };
    media.abort();
    state.whip().remove(&session);
    hearing.leave(id);
    tracing::info!(hearing = %hearing.record.id, participant = id, why, "WHIP session ended");
    state.participant_left(&hearing.record.id, id, why);
}
