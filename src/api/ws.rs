//! The signalling WebSocket: join with a token, offer/answer, stats, roster and recording
//! events. A malformed message gets an `error` reply and the socket stays open; the server and
//! the other participants are never affected.

use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use tokio::sync::broadcast;

use super::auth::TokenError;
use super::error::ApiError;
use super::signalling::{parse, ClientMessage, ErrorCode, HearingInfo, ServerMessage};
use super::AppState;
use crate::hearing::{Admission, Hearing, HearingError, HearingEvent, JoinError, ParticipantId};

/// Upgrades `GET /ws`.
pub async fn upgrade(State(state): State<AppState>, ws: WebSocketUpgrade) -> Response {
    ws.max_message_size(256 * 1024)
        .on_upgrade(move |socket| session(state, socket))
}

/// A joined participant's connection.
struct Joined {
    hearing: Arc<Hearing>,
    id: ParticipantId,
    seat: usize,
    events: broadcast::Receiver<HearingEvent>,
    media: Option<tokio::task::JoinHandle<()>>,
}

async fn session(state: AppState, socket: WebSocket) {
    let (mut tx, mut rx) = socket.split();
    let mut joined: Option<Joined> = None;
    loop {
        let event = async {
            match joined.as_mut() {
                Some(j) => j.events.recv().await.ok(),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            incoming = rx.next() => {
                let text = match incoming {
                    Some(Ok(Message::Text(t))) => t.to_string(),
                    Some(Ok(Message::Binary(_))) => {
                        let _ = send(&mut tx, &ServerMessage::error(ErrorCode::BadJson, "send JSON text frames, not binary")).await;
                        continue;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                };
                match handle(&state, &mut joined, &text).await {
                    Ok(Some(reply)) => { if send(&mut tx, &reply).await.is_err() { break } }
                    Ok(None) => {}
                    Err((reply, close)) => {
                        let _ = send(&mut tx, &reply).await;
                        if close { break }
                    }
                }
                if matches!(parse(&text), Ok(ClientMessage::Leave)) { break }
            }
            Some(event) = event => {
                let j = joined.as_ref().expect("events only when joined");
                let reply = match event {
                    HearingEvent::Roster(participants) => ServerMessage::Roster { participants },
                    HearingEvent::Recording(on) => ServerMessage::Recording { state: if on { "recording" } else { "stopped" } },
                    HearingEvent::Replaced(id) if id == j.id => {
                        let _ = send(&mut tx, &ServerMessage::Replaced).await;
                        break;
                    }
                    HearingEvent::Replaced(_) => continue,
                };
                if send(&mut tx, &reply).await.is_err() { break }
            }
        }
    }
    if let Some(j) = joined {
        if let Some(media) = j.media {
            media.abort();
        }
        j.hearing.leave(j.id);
        tracing::info!(hearing = %j.hearing.record.id, participant = j.id, "left");
    }
    let _ = tx.close().await;
}

type Failure = (ServerMessage, bool);

/// Handles one message. `Err((reply, close))` is an error reply, closing the socket if `close`.
async fn handle(
    state: &AppState,
    joined: &mut Option<Joined>,
    text: &str,
) -> Result<Option<ServerMessage>, Failure> {
    let msg =
        parse(text).map_err(|(code, message)| (ServerMessage::error(code, message), false))?;
    match msg {
        ClientMessage::Join { token } => {
            if joined.is_some() {
                return Err((
                    ServerMessage::error(
                        ErrorCode::AlreadyJoined,
                        "this connection has already joined",
                    ),
                    false,
                ));
            }
            let (j, welcome) = join(state, &token).await?;
            *joined = Some(j);
            Ok(Some(welcome))
        }
        ClientMessage::Offer { sdp } => {
            let j = joined.as_mut().ok_or((
                ServerMessage::error(ErrorCode::NotJoined, "join before sending an offer"),
                false,
            ))?;
            let udp_ip = state.settings().rtc.udp_ip;
            let (peer, answer) = crate::rtc::peer::answer(sdp, udp_ip, j.hearing.audio_slots())
                .await
                .map_err(|e| {
                    (
                        ServerMessage::error(ErrorCode::BadSdp, e.to_string()),
                        false,
                    )
                })?;
            // A new offer replaces the previous media session of this connection.
            if let Some(old) = j.media.take() {
                old.abort();
            }
            j.media = Some(tokio::spawn(crate::rtc::session::run(
                j.hearing.clone(),
                j.id,
                j.seat,
                peer,
            )));
            Ok(Some(ServerMessage::Answer { sdp: answer }))
        }
        ClientMessage::Stats(stats) => {
            let j = joined.as_ref().ok_or((
                ServerMessage::error(ErrorCode::NotJoined, "join before sending stats"),
                false,
            ))?;
            j.hearing
                .set_client_stats(j.id, serde_json::Value::Object(stats));
            Ok(None)
        }
        ClientMessage::Leave => Ok(None),
    }
}

async fn join(state: &AppState, token: &str) -> Result<(Joined, ServerMessage), Failure> {
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
            _ => (
                ErrorCode::Internal,
                "The server could not check the invitation. Try again shortly.",
            ),
        };
        (ServerMessage::error(code, message), true)
    })?;
    let internal = |e: &dyn std::fmt::Display| {
        tracing::error!("join failed: {e}");
        (
            ServerMessage::error(
                ErrorCode::Internal,
                "The hearing could not be opened. Try again shortly.",
            ),
            true,
        )
    };
    let inv = state
        .store()
        .invitation(&claims.inv)
        .await
        .map_err(|e| internal(&e))?
        .ok_or_else(|| {
            (
                ServerMessage::error(
                    ErrorCode::InvalidToken,
                    "This invitation is not valid. Ask the clerk for a new link.",
                ),
                true,
            )
        })?;
    let hearing = state
        .hearing(&claims.hearing)
        .await
        .map_err(|e| internal(&e))?;
    let seat = hearing
        .layout()
        .seat_index(&claims.seat)
        .ok_or_else(|| internal(&format!("seat {} not in layout", claims.seat)))?;
    let events = hearing.subscribe_events();
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
    let welcome = ServerMessage::Welcome {
        participant_id: joined.id,
        role: claims.role,
        seat: claims.seat,
        name: inv.name,
        hearing: HearingInfo {
            id: hearing.record.id.clone(),
            case_number: hearing.record.case_number.clone(),
            title: hearing.record.title.clone(),
        },
        audio_slots: hearing.audio_slots(),
        recording: hearing.is_recording(),
    };
    Ok((
        Joined {
            hearing,
            id: joined.id,
            seat,
            events,
            media: None,
        },
        welcome,
    ))
}

async fn send(tx: &mut (impl SinkExt<Message> + Unpin), msg: &ServerMessage) -> Result<(), ()> {
    tx.send(Message::Text(msg.to_json().into()))
        .await
        .map_err(|_| ())
}
