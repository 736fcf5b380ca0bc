//! Admission to a hearing over the signalling socket: checking an invitation (`check`,
//! `join`), the waiting room before the clerk opens the hearing, and taking the seat. The
//! socket loop ([`super::ws`]) calls these; they never touch the socket.

use std::sync::Arc;

use tokio::sync::broadcast;

use super::auth::{Claims, TokenError};
use super::error::ApiError;
use super::signalling::{ErrorCode, HearingInfo, ServerMessage};
use super::AppState;
use crate::hearing::{
    Admission, Hearing, HearingError, HearingEvent, JoinError, ParticipantId, Role,
};
use crate::store::hearings::{HearingState, HearingSummary, InvitationRecord};

/// An error reply, and whether the socket closes after it.
pub(super) type Failure = (ServerMessage, bool);

/// A joined participant's connection.
pub(super) struct Joined {
    pub(super) hearing: Arc<Hearing>,
    pub(super) id: ParticipantId,
    pub(super) seat: usize,
    pub(super) invitation: String,
    pub(super) name: String,
    pub(super) role: Role,
    pub(super) paused: bool,
    pub(super) media: Option<tokio::task::JoinHandle<()>>,
    /// The current media session's connection, for re-offers (ICE restart) from the same
    /// browser connection.
    pub(super) peer: Option<crate::rtc::peer::PeerLink>,
}

/// A connection whose invitation is good but whose hearing has not been opened yet.
pub(super) struct Waiting {
    pub(super) claims: Claims,
    pub(super) invitation: InvitationRecord,
}

/// Whether a newer connection with the same invitation holds the seat (a replacement rather
/// than a removal).
pub(super) fn taken_over(j: &Joined) -> bool {
    j.hearing.roster().iter().any(|e| {
        e.participant_id != j.id
            && j.hearing
                .admission(e.participant_id)
                .is_some_and(|a| a.invitation_id == j.invitation)
    })
}

/// The outcome of a good `join`.
pub(super) enum Admit {
    /// Seated; send the `welcome`.
    Now(Box<Joined>, ServerMessage),
    /// The hearing is not open yet; send `waiting`.
    Wait(Waiting, ServerMessage),
}

/// A server fault during admission: logged, and told as `internal` (the socket closes).
pub(super) fn internal(e: &dyn std::fmt::Display) -> Failure {
    tracing::error!("join failed: {e}");
    (
        ServerMessage::error(
            ErrorCode::Internal,
            "The hearing could not be opened. Try again shortly.",
        ),
        true,
    )
}

/// The reply when the hearing cannot be had here: it runs on another node (`moved`, with the
/// owner's URL), it is moving (`moved` without a URL, join again shortly), or a service is
/// down (`unavailable`, the page tries again by itself). Anything else is a server fault.
pub(super) fn elsewhere(state: &AppState, e: ApiError) -> Failure {
    let nodes = vec![state.settings().public_url()];
    match e {
        ApiError::Moved { url } => (
            ServerMessage::Moved {
                url: Some(url),
                retry_after_ms: 0,
                nodes,
            },
            true,
        ),
        ApiError::Moving { retry_after_ms } => (
            ServerMessage::Moved {
                url: None,
                retry_after_ms,
                nodes,
            },
            true,
        ),
        ApiError::Unavailable {
            code: "database_unavailable",
            ..
        } => (
            ServerMessage::error(
                ErrorCode::Unavailable,
                "The court's system cannot be reached right now. This page tries again by itself.",
            ),
            true,
        ),
        e @ ApiError::Unavailable {
            code: "no_capacity",
            ..
        } => (
            ServerMessage::error(ErrorCode::NoCapacity, e.to_string()),
            true,
        ),
        e @ ApiError::Unavailable { .. } => (
            ServerMessage::error(ErrorCode::Unavailable, e.to_string()),
            true,
        ),
        other => internal(&other),
    }
}

/// The error for a hearing that has been closed.
pub(super) fn closed_error() -> ServerMessage {
    ServerMessage::error(
        ErrorCode::HearingClosed,
        "This hearing has been closed. Contact the court if you think it should still be open.",
    )
}

/// The hearing's summary from the store (an unknown hearing is a server fault here).
pub(super) async fn summary(state: &AppState, hearing: &str) -> Result<HearingSummary, Failure> {
    state
        .store()
        .hearing_summary(hearing)
        .await
        .map_err(|e| elsewhere(state, e.into()))?
        .ok_or_else(|| internal(&format!("hearing {hearing} not in the store")))
}

/// The hearing facts a page is sent.
pub(super) fn info(record: &crate::store::hearings::HearingRecord) -> HearingInfo {
    HearingInfo {
        id: record.id.clone(),
        case_number: record.case_number.clone(),
        title: record.title.clone(),
        locale: record.locale.clone(),
    }
}

/// Checks a token, its invitation and its hearing's state (a closed hearing is an error).
pub(super) async fn check(
    state: &AppState,
    token: &str,
) -> Result<(Claims, InvitationRecord, HearingSummary), Failure> {
    // `check_token` refuses a closed hearing's links as invalid; tell the person what happened.
    if let Ok(c) = state.key().verify(token, super::auth::unix_now()) {
        match state.store().hearing_summary(&c.hearing).await {
            Ok(Some(h)) if h.state == HearingState::Closed => return Err((closed_error(), true)),
            Err(e) if e.is_unavailable() => return Err(elsewhere(state, e.into())),
            _ => {}
        }
    }
    let claims = state.check_token(token).await.map_err(|e| {
        let (code, message) = match e {
            ApiError::Token(TokenError::Expired) => (
                ErrorCode::ExpiredToken,
                "This invitation has expired. Ask the clerk for a new link.",
            ),
            ApiError::Token(_) => (
                ErrorCode::InvalidToken,
                "This invitation is not valid. Ask the clerk for a new link.",
            ),
            ApiError::Unavailable { .. } => (
                ErrorCode::Unavailable,
                "The court's system cannot be reached right now. This page tries again by itself.",
            ),
            _ => (
                ErrorCode::Internal,
                "The server could not check the invitation. Try again shortly.",
            ),
        };
        (ServerMessage::error(code, message), true)
    })?;
    let inv = state
        .store()
        .invitation(&claims.inv)
        .await
        .map_err(|e| elsewhere(state, e.into()))?
        .ok_or_else(|| {
            (
                ServerMessage::error(
                    ErrorCode::InvalidToken,
                    "This invitation is not valid. Ask the clerk for a new link.",
                ),
                true,
            )
        })?;
    let hearing = summary(state, &claims.hearing).await?;
    if hearing.state == HearingState::Closed {
        return Err((closed_error(), true));
    }
    Ok((claims, inv, hearing))
}

/// Checks a `join`'s token and admits it now or to the waiting room. Returns the hearing's
/// events too, subscribed before its state was read.
pub(super) async fn admit(
    state: &AppState,
    token: &str,
) -> Result<(Admit, broadcast::Receiver<HearingEvent>), Failure> {
    let (claims, inv, _) = check(state, token).await?;
    let events = state.docket().subscribe(&claims.hearing);
    let hearing = summary(state, &claims.hearing).await?;
    let admitted = match hearing.state {
        HearingState::Closed => Err((closed_error(), true)),
        HearingState::Scheduled => {
            let msg = ServerMessage::Waiting {
                role: claims.role,
                name: inv.name.clone(),
                hearing: info(&hearing.record),
            };
            Ok(Admit::Wait(
                Waiting {
                    claims,
                    invitation: inv,
                },
                msg,
            ))
        }
        now @ (HearingState::Open | HearingState::Paused) => {
            let (j, welcome) = seat(state, claims, inv, now).await?;
            Ok(Admit::Now(Box::new(j), welcome))
        }
    }?;
    Ok((admitted, events))
}

/// Seats an admitted invitee in the live hearing.
pub(super) async fn seat(
    state: &AppState,
    claims: Claims,
    inv: InvitationRecord,
    now: HearingState,
) -> Result<(Joined, ServerMessage), Failure> {
    let hearing = state
        .hearing(&claims.hearing)
        .await
        .map_err(|e| elsewhere(state, e))?;
    let seat = if claims.role.is_seated() {
        hearing
            .layout()
            .seat_index(&claims.seat)
            .ok_or_else(|| internal(&format!("seat {} not in layout", claims.seat)))?
    } else {
        // An observer watches and listens from no seat.
        crate::hearing::NO_SEAT
    };
    let own_seat = claims.role.is_seated().then_some(claims.seat.as_str());
    state
        .room_for_participant(&hearing, own_seat)
        .map_err(|e| elsewhere(state, e))?;
    let joined = hearing
        .join(Admission {
            invitation_id: claims.inv.clone(),
            role: claims.role,
            seat,
            seat_id: claims.seat.clone(),
            name: inv.name.clone(),
        })
        .map_err(|e| match e {
            HearingError::Join(JoinError::SeatTaken(s)) => (
                ServerMessage::error(
                    ErrorCode::SeatTaken,
                    format!("Seat {s} is taken by someone else. Ask the clerk."),
                ),
                true,
            ),
            other => internal(&other),
        })?;
    tracing::info!(hearing = %hearing.record.id, participant = joined.id, role = %claims.role, "joined");
    state.participant_joined(&claims, joined.id, &inv.name);
    let welcome = ServerMessage::Welcome {
        participant_id: joined.id,
        role: claims.role,
        seat: claims.seat,
        name: inv.name.clone(),
        hearing: info(&hearing.record),
        audio_slots: hearing.audio_slots(),
        recording: hearing.is_recording(),
        recording_paused: hearing.recording_paused(),
        paused: now == HearingState::Paused,
    };
    Ok((
        Joined {
            hearing,
            id: joined.id,
            seat,
            invitation: claims.inv,
            name: inv.name,
            role: claims.role,
            paused: now == HearingState::Paused,
            media: None,
            peer: None,
        },
        welcome,
    ))
}
