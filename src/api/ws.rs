//! The signalling WebSocket: join with a token, offer/answer, stats, roster and recording
//! events, the waiting room before the clerk opens the hearing, closing and removal, and
//! judges' "please speak" cues. A malformed message gets an `error` reply and the socket stays
//! open; the server and the other participants are never affected.
//!
//! A connection that drops without `leave` keeps its seat for [`GRACE`], so a page that lost
//! its network can come back with the same invitation (the newest join wins) into the same
//! seat.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use tokio::sync::broadcast;

use super::auth::{Claims, TokenError};
use super::error::ApiError;
use super::signalling::{parse, ClientMessage, ErrorCode, HearingInfo, ServerMessage};
use super::AppState;
use crate::hearing::{
    Admission, Hearing, HearingError, HearingEvent, JoinError, ParticipantId, Role,
};
use crate::store::hearings::{HearingState, HearingSummary, InvitationRecord};

/// How long a dropped connection (no `leave`) keeps its seat before it is emptied.
pub const GRACE: Duration = Duration::from_secs(30);

/// How often a waiting or joined session looks at the hearing's state in the store.
const STATE_POLL: Duration = Duration::from_secs(1);

/// A judge's cue on its way to one participant.
#[derive(Debug, Clone)]
struct Cue {
    hearing: String,
    to: ParticipantId,
    from_name: String,
    from_role: Role,
}

/// Cues travel between the sessions of this process on one channel; each session keeps those
/// addressed to it.
static CUES: LazyLock<broadcast::Sender<Cue>> = LazyLock::new(|| broadcast::channel(64).0);

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
    invitation: String,
    name: String,
    role: Role,
    paused: bool,
    events: broadcast::Receiver<HearingEvent>,
    cues: broadcast::Receiver<Cue>,
    media: Option<tokio::task::JoinHandle<()>>,
    /// The current media session's connection, for re-offers (ICE restart) from the same
    /// browser connection.
    peer: Option<crate::rtc::peer::PeerLink>,
}

/// A connection whose invitation is good but whose hearing has not been opened yet.
struct Waiting {
    claims: Claims,
    invitation: InvitationRecord,
}

/// Where one connection is.
#[derive(Default)]
struct Conn {
    waiting: Option<Waiting>,
    joined: Option<Joined>,
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq)]
enum End {
    /// `leave`, or an error that closes the socket.
    Left,
    /// The socket went away without `leave`: the seat is kept for [`GRACE`].
    Dropped,
    /// A newer join with the same invitation.
    Replaced,
    /// The clerk removed this participant (or revoked the invitation).
    Removed,
    /// The hearing was closed.
    Closed,
}

async fn session(state: AppState, socket: WebSocket) {
    let (mut tx, mut rx) = socket.split();
    let mut conn = Conn::default();
    let mut tick = tokio::time::interval(STATE_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let end = loop {
        let (event, cue) = match conn.joined.as_mut() {
            Some(j) => (
                futures::future::Either::Left(j.events.recv()),
                futures::future::Either::Left(j.cues.recv()),
            ),
            None => (
                futures::future::Either::Right(std::future::pending()),
                futures::future::Either::Right(std::future::pending()),
            ),
        };
        let event = async { event.await.ok() };
        let cue = async { cue.await.ok() };
        tokio::select! {
            incoming = rx.next() => {
                let text = match incoming {
                    Some(Ok(Message::Text(t))) => t.to_string(),
                    Some(Ok(Message::Binary(_))) => {
                        let _ = send(&mut tx, &ServerMessage::error(ErrorCode::BadJson, "send JSON text frames, not binary")).await;
                        continue;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break End::Dropped,
                };
                match handle(&state, &mut conn, &text).await {
                    Ok(Some(reply)) => { if send(&mut tx, &reply).await.is_err() { break End::Dropped } }
                    Ok(None) => {}
                    Err((reply, close)) => {
                        let _ = send(&mut tx, &reply).await;
                        if close { break End::Left }
                    }
                }
                if matches!(parse(&text), Ok(ClientMessage::Leave)) { break End::Left }
            }
            Some(event) = event => {
                let j = conn.joined.as_ref().expect("events only when joined");
                let reply = match event {
                    HearingEvent::Roster(participants) => ServerMessage::Roster { participants },
                    HearingEvent::Recording(on) => ServerMessage::Recording { state: if on { "recording" } else { "stopped" } },
                    HearingEvent::RecordingPaused(p) => ServerMessage::Recording { state: if p { "paused" } else { "recording" } },
                    HearingEvent::Replaced(id) if id == j.id => {
                        if taken_over(j) {
                            let _ = send(&mut tx, &ServerMessage::Replaced).await;
                            break End::Replaced;
                        }
                        let _ = send(&mut tx, &ServerMessage::Removed).await;
                        break End::Removed;
                    }
                    HearingEvent::Replaced(_) => continue,
                    HearingEvent::ScreenHint { seat, warning } if seat == j.seat => {
                        ServerMessage::ScreenHint { hint: warning.map(|w| w.code()) }
                    }
                    HearingEvent::ScreenHint { .. } => continue,
                };
                if send(&mut tx, &reply).await.is_err() { break End::Dropped }
            }
            Some(cue) = cue => {
                let j = conn.joined.as_ref().expect("cues only when joined");
                if cue.hearing == j.hearing.record.id && cue.to == j.id {
                    let msg = ServerMessage::Cue { from_name: cue.from_name, from_role: cue.from_role };
                    if send(&mut tx, &msg).await.is_err() { break End::Dropped }
                }
            }
            _ = tick.tick() => {
                match poll_state(&state, &mut conn).await {
                    Ok(Some(msg)) => { if send(&mut tx, &msg).await.is_err() { break End::Dropped } }
                    Ok(None) => {}
                    Err((msg, end)) => {
                        let _ = send(&mut tx, &msg).await;
                        break end;
                    }
                }
            }
        }
    };
    if let Some(j) = conn.joined {
        if let Some(media) = j.media {
            media.abort();
        }
        let hearing_id = j.hearing.record.id.clone();
        tracing::info!(hearing = %hearing_id, participant = j.id, ?end, "session ended");
        match end {
            End::Dropped => {
                // Keep the seat a while: the page reconnects with the same invitation.
                let (state, hearing, id) = (state.clone(), j.hearing, j.id);
                tokio::spawn(async move {
                    tokio::time::sleep(GRACE).await;
                    if hearing.is_seated(id) {
                        hearing.leave(id);
                        state.participant_left(&hearing.record.id, id, "connection lost");
                    }
                });
            }
            End::Left | End::Closed => {
                j.hearing.leave(j.id);
                let why = if end == End::Left {
                    "left"
                } else {
                    "hearing closed"
                };
                state.participant_left(&hearing_id, j.id, why);
            }
            End::Replaced => state.participant_left(&hearing_id, j.id, "replaced"),
            End::Removed => state.participant_left(&hearing_id, j.id, "removed"),
        }
    }
    let _ = tx.close().await;
}

/// Whether a newer connection with the same invitation holds the seat (a replacement rather
/// than a removal).
fn taken_over(j: &Joined) -> bool {
    j.hearing.roster().iter().any(|e| {
        e.participant_id != j.id
            && j.hearing
                .admission(e.participant_id)
                .is_some_and(|a| a.invitation_id == j.invitation)
    })
}

type Failure = (ServerMessage, bool);

/// Looks at the hearing's state: admits a waiting connection once it opens, tells a joined one
/// about pauses and closing. `Err` ends the session.
async fn poll_state(
    state: &AppState,
    conn: &mut Conn,
) -> Result<Option<ServerMessage>, (ServerMessage, End)> {
    if let Some(w) = &conn.waiting {
        let now = match summary(state, &w.claims.hearing).await {
            Ok(s) => s.state,
            Err(_) => return Ok(None), // try again on the next tick
        };
        return match now {
            HearingState::Scheduled => Ok(None),
            HearingState::Closed => Err((closed_error(), End::Left)),
            HearingState::Open | HearingState::Paused => {
                let w = conn.waiting.take().expect("waiting");
                let (j, welcome) = seat(state, w.claims, w.invitation, now)
                    .await
                    .map_err(|(m, _)| (m, End::Left))?;
                conn.joined = Some(j);
                Ok(Some(welcome))
            }
        };
    }
    let Some(j) = conn.joined.as_mut() else {
        return Ok(None);
    };
    let now = match summary(state, &j.hearing.record.id).await {
        Ok(s) => s.state,
        Err(_) => return Ok(None),
    };
    match now {
        HearingState::Closed => Err((ServerMessage::Closed, End::Closed)),
        HearingState::Paused if !j.paused => {
            j.paused = true;
            Ok(Some(ServerMessage::HearingState { state: "paused" }))
        }
        HearingState::Open if j.paused => {
            j.paused = false;
            Ok(Some(ServerMessage::HearingState { state: "open" }))
        }
        _ => Ok(None),
    }
}

/// Handles one message. `Err((reply, close))` is an error reply, closing the socket if `close`.
async fn handle(
    state: &AppState,
    conn: &mut Conn,
    text: &str,
) -> Result<Option<ServerMessage>, Failure> {
    let msg =
        parse(text).map_err(|(code, message)| (ServerMessage::error(code, message), false))?;
    match msg {
        ClientMessage::Join { token } => {
            if conn.joined.is_some() || conn.waiting.is_some() {
                return Err((
                    ServerMessage::error(
                        ErrorCode::AlreadyJoined,
                        "this connection has already joined",
                    ),
                    false,
                ));
            }
            match admit(state, &token).await? {
                Admit::Now(j, welcome) => {
                    conn.joined = Some(*j);
                    Ok(Some(welcome))
                }
                Admit::Wait(w, msg) => {
                    conn.waiting = Some(w);
                    Ok(Some(msg))
                }
            }
        }
        ClientMessage::Offer { sdp } => {
            let j = conn.joined.as_mut().ok_or((
                ServerMessage::error(ErrorCode::NotJoined, "join before sending an offer"),
                false,
            ))?;
            // A re-offer from the browser connection we already answered (an ICE restart after a
            // network drop): answer it on the same connection, keeping the media session.
            let live = j.media.as_ref().is_some_and(|m| !m.is_finished());
            if let Some(link) = j
                .peer
                .as_ref()
                .filter(|l| live && !l.is_closed() && l.same_browser_connection(&sdp))
            {
                let answer = link.reanswer(sdp).await.map_err(|e| {
                    tracing::warn!(hearing = %j.hearing.record.id, participant = j.id, "re-offer refused: {e}");
                    (
                        ServerMessage::error(ErrorCode::BadSdp, e.to_string()),
                        false,
                    )
                })?;
                tracing::info!(hearing = %j.hearing.record.id, participant = j.id, "re-offer answered on the same peer connection");
                return Ok(Some(ServerMessage::Answer { sdp: answer }));
            }
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
            j.peer = Some(peer.link.clone());
            j.media = Some(tokio::spawn(crate::rtc::session::run(
                j.hearing.clone(),
                j.id,
                j.seat,
                peer,
            )));
            Ok(Some(ServerMessage::Answer { sdp: answer }))
        }
        ClientMessage::Stats(stats) => {
            let j = conn.joined.as_ref().ok_or((
                ServerMessage::error(ErrorCode::NotJoined, "join before sending stats"),
                false,
            ))?;
            j.hearing
                .set_client_stats(j.id, serde_json::Value::Object(stats));
            Ok(None)
        }
        ClientMessage::Cue { to } => {
            let j = conn.joined.as_ref().ok_or((
                ServerMessage::error(ErrorCode::NotJoined, "join before sending a cue"),
                false,
            ))?;
            if !matches!(j.role, Role::PresidingJudge | Role::Assessor) {
                return Err((
                    ServerMessage::error(
                        ErrorCode::NotAllowed,
                        "only the judges can ask someone to speak",
                    ),
                    false,
                ));
            }
            if to == j.id || !j.hearing.is_seated(to) {
                return Err((
                    ServerMessage::error(
                        ErrorCode::UnknownParticipant,
                        "that participant is not in the hearing",
                    ),
                    false,
                ));
            }
            let _ = CUES.send(Cue {
                hearing: j.hearing.record.id.clone(),
                to,
                from_name: j.name.clone(),
                from_role: j.role,
            });
            Ok(Some(ServerMessage::CueSent { to }))
        }
        ClientMessage::Check { token } => {
            let (claims, inv, hearing) = check(state, &token).await?;
            Ok(Some(ServerMessage::Invitation {
                role: claims.role,
                name: inv.name,
                hearing: info(&hearing.record),
                state: hearing.state.as_str(),
            }))
        }
        ClientMessage::Leave => Ok(None),
    }
}

/// The outcome of a good `join`.
enum Admit {
    /// Seated; send the `welcome`.
    Now(Box<Joined>, ServerMessage),
    /// The hearing is not open yet; send `waiting`.
    Wait(Waiting, ServerMessage),
}

fn internal(e: &dyn std::fmt::Display) -> Failure {
    tracing::error!("join failed: {e}");
    (
        ServerMessage::error(
            ErrorCode::Internal,
            "The hearing could not be opened. Try again shortly.",
        ),
        true,
    )
}

fn closed_error() -> ServerMessage {
    ServerMessage::error(
        ErrorCode::HearingClosed,
        "This hearing has been closed. Contact the court if you think it should still be open.",
    )
}

async fn summary(state: &AppState, hearing: &str) -> Result<HearingSummary, Failure> {
    state
        .store()
        .hearing_summary(hearing)
        .await
        .map_err(|e| internal(&e))?
        .ok_or_else(|| internal(&format!("hearing {hearing} not in the store")))
}

fn info(record: &crate::store::hearings::HearingRecord) -> HearingInfo {
    HearingInfo {
        id: record.id.clone(),
        case_number: record.case_number.clone(),
        title: record.title.clone(),
        locale: record.locale.clone(),
    }
}

/// Checks a token, its invitation and its hearing's state (a closed hearing is an error).
async fn check(
    state: &AppState,
    token: &str,
) -> Result<(Claims, InvitationRecord, HearingSummary), Failure> {
    // `check_token` refuses a closed hearing's links as invalid; tell the person what happened.
    if let Ok(c) = state.key().verify(token, super::auth::unix_now()) {
        if let Ok(Some(h)) = state.store().hearing_summary(&c.hearing).await {
            if h.state == HearingState::Closed {
                return Err((closed_error(), true));
            }
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
    let hearing = summary(state, &claims.hearing).await?;
    if hearing.state == HearingState::Closed {
        return Err((closed_error(), true));
    }
    Ok((claims, inv, hearing))
}

async fn admit(state: &AppState, token: &str) -> Result<Admit, Failure> {
    let (claims, inv, hearing) = check(state, token).await?;
    match hearing.state {
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
    }
}

/// Seats an admitted invitee in the live hearing.
async fn seat(
    state: &AppState,
    claims: Claims,
    inv: InvitationRecord,
    now: HearingState,
) -> Result<(Joined, ServerMessage), Failure> {
    let hearing = state
        .hearing(&claims.hearing)
        .await
        .map_err(|e| internal(&e))?;
    let seat = hearing
        .layout()
        .seat_index(&claims.seat)
        .ok_or_else(|| internal(&format!("seat {} not in layout", claims.seat)))?;
    let events = hearing.subscribe_events();
    let cues = CUES.subscribe();
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
            events,
            cues,
            media: None,
            peer: None,
        },
        welcome,
    ))
}

async fn send(tx: &mut (impl SinkExt<Message> + Unpin), msg: &ServerMessage) -> Result<(), ()> {
    tx.send(Message::Text(msg.to_json().into()))
        .await
        .map_err(|_| ())
}
