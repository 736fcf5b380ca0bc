//! The signalling WebSocket: join with a token, offer/answer, stats, roster and recording
//! events, the waiting room before the clerk opens the hearing, closing and removal, and
//! judges' "please speak" cues. A malformed message gets an `error` reply and the socket stays
//! open; the server and the other participants are never affected.
//!
//! A connection that drops without `leave` keeps its seat for [`GRACE`], so a page that lost
//! its network can come back with the same invitation (the newest join wins) into the same
//! seat.
//!
//! Everything the session is told comes as typed [`HearingEvent`]s on its hearing's channel,
//! which it subscribes to at `join` from the [`crate::hearing::Docket`] (before reading the
//! hearing's state, so no change is missed), also while it waits for the hearing to open.
//! Nothing is polled; only a session that fell too far behind on the channel reads the
//! hearing's state from the store once to catch up.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use tokio::sync::broadcast;

use super::admission::{
    admit, check, closed_error, info, seat, summary, taken_over, Admit, Failure, Joined, Waiting,
};
use super::error::ApiError;
use super::signalling::{parse, ClientMessage, ErrorCode, ServerMessage};
use super::sockets;
use super::AppState;
use crate::hearing::{HearingEvent, Role};
use crate::store::hearings::HearingState;

/// How long a dropped connection (no `leave`) keeps its seat before it is emptied.
pub const GRACE: Duration = Duration::from_secs(30);

/// Upgrades `GET /ws`.
pub async fn upgrade(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    ws: WebSocketUpgrade,
) -> Response {
    let http = &state.settings().http;
    let client = super::throttle::client_address(
        &headers,
        peer.map(|axum::Extension(c)| c.0),
        &http.trusted_proxies,
    );
    let Some(slot) = state.sockets().open(&client, http.sockets_per_address) else {
        tracing::warn!(%client, limit = http.sockets_per_address, "a signalling socket refused: too many from one address");
        return axum::response::IntoResponse::into_response(ApiError::RateLimited(5));
    };
    // The session's span: filled in with the hearing and participant once it joins.
    let span = tracing::info_span!(
        "signalling",
        hearing = tracing::field::Empty,
        participant = tracing::field::Empty
    );
    ws.max_message_size(256 * 1024).on_upgrade(move |socket| {
        tracing::Instrument::instrument(
            async move {
                session(state, socket).await;
                drop(slot);
            },
            span,
        )
    })
}

/// Where one connection is.
#[derive(Default)]
struct Conn {
    waiting: Option<Waiting>,
    joined: Option<Joined>,
    /// The hearing's events, from `join` on (waiting or joined).
    events: Option<broadcast::Receiver<HearingEvent>>,
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
    /// The server is stopping.
    Stopping,
    /// The socket sent nothing for a while without joining.
    Idle,
    /// The socket sent messages faster than any page does ([`sockets::MessageBudget`]).
    Flooded,
}

async fn session(state: AppState, socket: WebSocket) {
    let (mut tx, mut rx) = socket.split();
    let mut conn = Conn::default();
    let mut stopping = state.stopping();
    // A socket that neither joins nor waits for its hearing is closed after a while without a
    // message; a page that only checked its invitation opens a new one when the person joins.
    let idle_for = Duration::from_millis(state.settings().http.unjoined_socket_timeout_ms);
    let mut idle_at = tokio::time::Instant::now() + idle_for;
    let mut budget = sockets::MessageBudget::new(std::time::Instant::now());
    let end = loop {
        let unjoined = conn.joined.is_none() && conn.waiting.is_none();
        let event = async {
            match conn.events.as_mut() {
                Some(events) => events.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = async { drop(stopping.wait_for(|s| *s).await) } => {
                let _ = send(&mut tx, &ServerMessage::Stopping).await;
                break End::Stopping;
            }
            () = tokio::time::sleep_until(idle_at), if unjoined => break End::Idle,
            incoming = rx.next() => {
                idle_at = tokio::time::Instant::now() + idle_for;
                let text = match incoming {
                    Some(Ok(Message::Text(t))) => t.to_string(),
                    Some(Ok(Message::Binary(_))) => {
                        let _ = send(&mut tx, &ServerMessage::error(ErrorCode::BadJson, "send JSON text frames, not binary")).await;
                        continue;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break End::Dropped,
                };
                if !budget.take(std::time::Instant::now()) {
                    let _ = send(&mut tx, &ServerMessage::error(ErrorCode::TooManyMessages, "this connection sent messages faster than any page does; it is closed")).await;
                    // Close properly, reading (and dropping) what the client already sent: a
                    // socket closed with unread data is reset, and the reset can destroy the
                    // reply before the client reads it.
                    let _ = tx.close().await;
                    let _ = tokio::time::timeout(Duration::from_secs(1), async {
                        while let Some(Ok(_)) = rx.next().await {}
                    })
                    .await;
                    break End::Flooded;
                }
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
            event = event => {
                let outcome = match event {
                    Ok(event) => react(&state, &mut conn, event).await,
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, "session fell behind its hearing's events");
                        catch_up(&state, &mut conn).await
                    }
                    // The channel outlives every hearing; a closed one means nothing more comes.
                    Err(broadcast::error::RecvError::Closed) => {
                        conn.events = None;
                        Ok(None)
                    }
                };
                match outcome {
                    Ok(Some(msg)) => { if send(&mut tx, &msg).await.is_err() { break End::Dropped } }
                    Ok(None) => {}
                    Err((msg, end)) => {
                        if let Some(msg) = msg {
                            let _ = send(&mut tx, &msg).await;
                        }
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
        // The aborted media task cannot close its connection: close it here, whatever the end
        // (a page that comes back after a drop makes a new one).
        if let Some(peer) = &j.peer {
            peer.close().await;
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
            End::Left | End::Closed | End::Stopping | End::Idle | End::Flooded => {
                j.hearing.leave(j.id);
                let why = match end {
                    End::Closed => "hearing closed",
                    End::Stopping => "server stopping",
                    End::Flooded => "too many messages",
                    _ => "left",
                };
                state.participant_left(&hearing_id, j.id, why);
            }
            End::Replaced => state.participant_left(&hearing_id, j.id, "replaced"),
            End::Removed => state.participant_left(&hearing_id, j.id, "removed"),
        }
    }
    let _ = tx.close().await;
}

/// What an event does to the session: a message to send, or `Err` to end it (after sending
/// the message, if any).
type Reaction = Result<Option<ServerMessage>, (Option<ServerMessage>, End)>;

/// Turns one of the hearing's events into what this connection is told.
async fn react(state: &AppState, conn: &mut Conn, event: HearingEvent) -> Reaction {
    if let HearingEvent::State(now) = event {
        return hearing_state(state, conn, now).await;
    }
    let Some(j) = conn.joined.as_mut() else {
        // Waiting: only the hearing's state matters.
        return Ok(None);
    };
    Ok(Some(match event {
        HearingEvent::State(_) => unreachable!("handled above"),
        HearingEvent::Roster(participants) => ServerMessage::Roster { participants },
        HearingEvent::Recording(on) => ServerMessage::Recording {
            state: if on { "recording" } else { "stopped" },
        },
        HearingEvent::RecordingPaused(p) => ServerMessage::Recording {
            state: if p { "paused" } else { "recording" },
        },
        HearingEvent::Gavel(act) => ServerMessage::Gavel { act: act.as_str() },
        HearingEvent::RecordingGap { segment, missing } => {
            ServerMessage::RecordingGap { segment, missing }
        }
        HearingEvent::Replaced(id) if id == j.id => {
            return Err(if taken_over(j) {
                (Some(ServerMessage::Replaced), End::Replaced)
            } else {
                (Some(ServerMessage::Removed), End::Removed)
            });
        }
        HearingEvent::ScreenHint { seat, warning } if seat == j.seat => ServerMessage::ScreenHint {
            hint: warning.map(|w| w.code()),
        },
        HearingEvent::Cue {
            to,
            from_name,
            from_role,
        } if to == j.id => ServerMessage::Cue {
            from_name,
            from_role,
        },
        HearingEvent::MediaTrouble(notice) if notice.participant == j.id => {
            ServerMessage::MediaProblem {
                track: notice.track.as_str(),
                action: notice.action.as_str(),
            }
        }
        HearingEvent::Rendition { to, reduced } if to == j.id => ServerMessage::Rendition {
            picture: if reduced { "reduced" } else { "full" },
        },
        HearingEvent::Relocate { url } => {
            let nodes = state.cluster().nodes().await;
            return Err((
                Some(ServerMessage::Moved {
                    url,
                    retry_after_ms: 500,
                    nodes,
                }),
                End::Left,
            ));
        }
        HearingEvent::Replaced(_)
        | HearingEvent::ScreenHint { .. }
        | HearingEvent::Cue { .. }
        | HearingEvent::Rendition { .. }
        | HearingEvent::MediaTrouble(_) => return Ok(None),
    }))
}

/// The hearing is now in state `now`: admits a waiting connection once it opens, tells a
/// joined one about pauses and closing.
async fn hearing_state(state: &AppState, conn: &mut Conn, now: HearingState) -> Reaction {
    if conn.waiting.is_some() {
        return match now {
            HearingState::Scheduled => Ok(None),
            HearingState::Closed => Err((Some(closed_error()), End::Left)),
            HearingState::Open | HearingState::Paused => {
                let w = conn.waiting.take().expect("waiting");
                let (j, welcome) = seat(state, w.claims, w.invitation, now)
                    .await
                    .map_err(|(m, _)| (Some(m), End::Left))?;
                note_in_span(&j);
                conn.joined = Some(j);
                Ok(Some(welcome))
            }
        };
    }
    let Some(j) = conn.joined.as_mut() else {
        return Ok(None);
    };
    match now {
        HearingState::Closed => Err((Some(ServerMessage::Closed), End::Closed)),
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

/// After missing events: reads the hearing's state from the store once and acts on it.
async fn catch_up(state: &AppState, conn: &mut Conn) -> Reaction {
    let id = match (&conn.waiting, &conn.joined) {
        (Some(w), _) => w.claims.hearing.clone(),
        (None, Some(j)) => j.hearing.record.id.clone(),
        (None, None) => return Ok(None),
    };
    match summary(state, &id).await {
        Ok(s) => hearing_state(state, conn, s.state).await,
        Err(_) => Ok(None),
    }
}

/// Names the hearing and participant in the session's span, so its logs say whose they are.
fn note_in_span(j: &Joined) {
    let span = tracing::Span::current();
    span.record("hearing", j.hearing.record.id.as_str());
    span.record("participant", j.id);
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
            let (admitted, events) = admit(state, &token).await?;
            conn.events = Some(events);
            match admitted {
                Admit::Now(j, welcome) => {
                    note_in_span(&j);
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
            let j = conn.joined.as_mut().ok_or_else(|| {
                (
                    ServerMessage::error(ErrorCode::NotJoined, "join before sending an offer"),
                    false,
                )
            })?;
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
                    tracing::info!(hearing = %j.hearing.record.id, participant = j.id, "offer refused: {e}");
                    (offer_refused(&e), false)
                })?;
            // A new offer replaces the previous media session of this connection.
            if let Some(old) = j.media.take() {
                old.abort();
            }
            if let Some(old) = j.peer.take() {
                tokio::spawn(async move { old.close().await });
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
            let j = conn.joined.as_ref().ok_or_else(|| {
                (
                    ServerMessage::error(ErrorCode::NotJoined, "join before sending stats"),
                    false,
                )
            })?;
            j.hearing
                .set_client_stats(j.id, serde_json::Value::Object(stats));
            Ok(None)
        }
        ClientMessage::Cue { to } => {
            let j = conn.joined.as_ref().ok_or_else(|| {
                (
                    ServerMessage::error(ErrorCode::NotJoined, "join before sending a cue"),
                    false,
                )
            })?;
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
            j.hearing.cue(to, &j.name, j.role);
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

/// The error a refused offer gets: one stable code per cause, so the page can tell a browser
/// that can never work here (`no_common_codec`: say so once, never retry) from a bad offer.
fn offer_refused(e: &crate::rtc::RtcError) -> ServerMessage {
    match e {
        crate::rtc::RtcError::NoCommonCodec(_) => ServerMessage::error(
            ErrorCode::NoCommonCodec,
            "This browser cannot play the courtroom video (it offers neither H.264 nor VP8); open the link in an up-to-date Chrome, Edge, Firefox or Safari.",
        ),
        other => ServerMessage::error(ErrorCode::BadSdp, other.to_string()),
    }
}

/// Sends one message; an error sent is a refusal counted in `/metrics`.
async fn send(tx: &mut (impl SinkExt<Message> + Unpin), msg: &ServerMessage) -> Result<(), ()> {
    if let ServerMessage::Error { code, .. } = msg {
        crate::metrics::refused(code.as_str());
    }
    tx.send(Message::Text(msg.to_json().into()))
        .await
        .map_err(|_| ())
}
