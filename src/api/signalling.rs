//! The versioned JSON messages spoken over the signalling WebSocket (see `docs/PROTOCOL.md`).
//! Parsing is pure, so every malformed input maps to one stable error code.

use serde::{Deserialize, Serialize};

use crate::hearing::{ParticipantId, Role, RosterEntry};

/// The protocol version this server speaks.
pub const VERSION: u32 = 1;

/// A message from the browser.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Join with an invitation token.
    Join {
        /// The signed invitation.
        token: String,
    },
    /// A complete SDP offer.
    Offer {
        /// The SDP.
        sdp: String,
    },
    /// The page's receive statistics.
    Stats(serde_json::Map<String, serde_json::Value>),
    /// Leaving on purpose.
    Leave,
    /// Looks an invitation up without taking the seat (the page's first message, so it can
    /// show the hearing, pick the language and explain a bad link before joining).
    Check {
        /// The signed invitation.
        token: String,
    },
    /// A judge asks a party to speak (see `docs/PROTOCOL.md`, "Cues").
    Cue {
        /// The participant asked to speak.
        to: ParticipantId,
    },
}

/// Hearing facts sent on join.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HearingInfo {
    /// Hearing id.
    pub id: String,
    /// Case number.
    pub case_number: String,
    /// Title.
    pub title: String,
    /// UI locale of the hearing (`en` or `zh`).
    pub locale: String,
}

/// A message to the browser.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Joined.
    Welcome {
        /// This connection's id.
        participant_id: ParticipantId,
        /// Role.
        role: Role,
        /// Seat id.
        seat: String,
        /// Display name.
        name: String,
        /// The hearing.
        hearing: HearingInfo,
        /// How many recvonly audio lines to offer.
        audio_slots: usize,
        /// Whether the hearing is being recorded (also while the recording is paused).
        recording: bool,
        /// Whether the recording is paused (nothing is being written).
        recording_paused: bool,
        /// Whether the hearing is paused right now.
        paused: bool,
    },
    /// The SDP answer.
    Answer {
        /// The SDP.
        sdp: String,
    },
    /// Who is seated.
    Roster {
        /// Everyone.
        participants: Vec<RosterEntry>,
    },
    /// Recording state.
    Recording {
        /// `recording`, `paused` or `stopped`.
        state: &'static str,
    },
    /// What the server's auto key finds wrong with this participant's green screen, so they
    /// can fix it: `too_dark` or `too_uneven`; `null` once it is fine again.
    ScreenHint {
        /// The problem, or `None`.
        hint: Option<&'static str>,
    },
    /// Decoding this participant's camera or microphone failed on the server: it was
    /// restarted (and, for the camera, a keyframe asked for), or it failed too often and was
    /// stopped until the page reconnects.
    MediaProblem {
        /// `camera` or `microphone`.
        track: &'static str,
        /// `restarted` or `stopped`.
        action: &'static str,
    },
    /// The recording sealed segment `segment` without `missing` (`video`, `audio`): that part
    /// of the record lacks it, and says so.
    RecordingGap {
        /// The segment's index.
        segment: u32,
        /// What it lacks.
        missing: Vec<&'static str>,
    },
    /// A newer join with the same invitation took over.
    Replaced,
    /// The answer to `check`: the invitation is good.
    Invitation {
        /// Invitee's role.
        role: Role,
        /// Display name.
        name: String,
        /// The hearing.
        hearing: HearingInfo,
        /// `scheduled`, `open` or `paused`.
        state: &'static str,
    },
    /// The hearing has not been opened yet; the server joins this connection by itself
    /// (a `welcome` follows) as soon as the clerk opens it.
    Waiting {
        /// Invitee's role.
        role: Role,
        /// Display name.
        name: String,
        /// The hearing.
        hearing: HearingInfo,
    },
    /// The hearing was paused (`paused`) or opened again (`open`).
    HearingState {
        /// `open` or `paused`.
        state: &'static str,
    },
    /// The clerk closed the hearing; the socket closes.
    Closed,
    /// The clerk removed this participant; the socket closes.
    Removed,
    /// The server is stopping (a restart, most often): recordings are being sealed and the
    /// socket closes; the page reconnects by itself once the server is back.
    Stopping,
    /// The presiding judge struck the gavel: the page plays it and says so.
    Gavel {
        /// `open` (the court is in session) or `close` (the court rises).
        act: &'static str,
    },
    /// A judge asks this participant to speak.
    Cue {
        /// Who asks (display name).
        from_name: String,
        /// Their role.
        from_role: Role,
    },
    /// Which picture of the courtroom this participant is now sent: `reduced` (half the size,
    /// for a link that could not take the full one) or `full` again.
    Rendition {
        /// `reduced` or `full`.
        picture: &'static str,
    },
    /// The cue was delivered (to the sender of a `cue`).
    CueSent {
        /// The participant it went to.
        to: ParticipantId,
    },
    /// The hearing runs on another node (or is moving to one): open the signalling socket
    /// at `url` (when given) and join again with the same invitation; with no `url`, join
    /// again here or at any of `nodes` after `retry_after_ms`. The socket closes.
    Moved {
        /// The owner node's public URL, when known.
        #[serde(skip_serializing_if = "Option::is_none")]
        url: Option<String>,
        /// How long to wait before joining again.
        retry_after_ms: u64,
        /// The cluster's serving nodes, to fall back on.
        nodes: Vec<String>,
    },
    /// Something was wrong.
    Error {
        /// Stable code.
        code: ErrorCode,
        /// One human sentence.
        message: String,
    },
}

/// Stable error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, or not an object.
    BadJson,
    /// Missing or unsupported `v`.
    UnsupportedVersion,
    /// Unknown `type`, or fields of the wrong shape.
    UnknownType,
    /// The token is forged, malformed, revoked or unknown.
    InvalidToken,
    /// The token has expired.
    ExpiredToken,
    /// An offer or stats before joining.
    NotJoined,
    /// A second join on the same socket.
    AlreadyJoined,
    /// The seat is held by someone else.
    SeatTaken,
    /// The offer could not be used.
    BadSdp,
    /// The offer's courtroom-video line offers no codec the server sends (neither H.264 nor
    /// VP8): this browser cannot take part; retrying cannot help.
    NoCommonCodec,
    /// The hearing is closed: nobody can join it any more.
    HearingClosed,
    /// This role may not do that (for example a `cue` from someone who is not a judge).
    NotAllowed,
    /// The participant named in a `cue` is not in the hearing.
    UnknownParticipant,
    /// A service the server needs cannot be reached (the database): try again later; the
    /// page does so by itself.
    Unavailable,
    /// This node, or every node of the cluster, serves as many hearings or people as it can
    /// (`[capacity]`): try again later; the page says so and retries by itself.
    NoCapacity,
    /// The socket sent messages faster than any page does; it is closed.
    TooManyMessages,
    /// A server fault.
    Internal,
}

impl ErrorCode {
    /// The code as it goes on the wire (`bad_json`, `seat_taken`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadJson => "bad_json",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::ExpiredToken => "expired_token",
            ErrorCode::NotJoined => "not_joined",
            ErrorCode::AlreadyJoined => "already_joined",
            ErrorCode::SeatTaken => "seat_taken",
            ErrorCode::BadSdp => "bad_sdp",
            ErrorCode::NoCommonCodec => "no_common_codec",
            ErrorCode::HearingClosed => "hearing_closed",
            ErrorCode::NotAllowed => "not_allowed",
            ErrorCode::UnknownParticipant => "unknown_participant",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::NoCapacity => "no_capacity",
            ErrorCode::TooManyMessages => "too_many_messages",
            ErrorCode::Internal => "internal",
        }
    }
}

/// Envelope written on the wire: the message plus `v`.
#[derive(Serialize)]
struct Envelope<'a> {
    v: u32,
    #[serde(flatten)]
    msg: &'a ServerMessage,
}

impl ServerMessage {
    /// JSON text with the protocol version.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&Envelope {
            v: VERSION,
            msg: self,
        })
        .expect("server messages serialise")
    }

    /// An error message.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        ServerMessage::Error {
            code,
            message: message.into(),
        }
    }
}

/// Parses one text frame.
pub fn parse(text: &str) -> Result<ClientMessage, (ErrorCode, String)> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        (
            ErrorCode::BadJson,
            format!("the message is not valid JSON: {e}"),
        )
    })?;
    let obj = value.as_object().ok_or((
        ErrorCode::BadJson,
        "the message must be a JSON object".to_owned(),
    ))?;
    match obj.get("v").and_then(|v| v.as_u64()) {
        Some(v) if v == VERSION as u64 => {}
        Some(v) => {
            return Err((
                ErrorCode::UnsupportedVersion,
                format!("protocol version {v} is not supported; use {VERSION}"),
            ))
        }
        None => {
            return Err((
                ErrorCode::UnsupportedVersion,
                format!("the message needs \"v\": {VERSION}"),
            ))
        }
    }
    let mut obj = obj.clone();
    obj.remove("v");
    serde_json::from_value(serde_json::Value::Object(obj)).map_err(|e| {
        (
            ErrorCode::UnknownType,
            format!("unknown message or wrong fields: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_codes_name_themselves_as_on_the_wire() {
        for code in [
            ErrorCode::BadJson,
            ErrorCode::UnsupportedVersion,
            ErrorCode::UnknownType,
            ErrorCode::InvalidToken,
            ErrorCode::ExpiredToken,
            ErrorCode::NotJoined,
            ErrorCode::AlreadyJoined,
            ErrorCode::SeatTaken,
            ErrorCode::BadSdp,
            ErrorCode::NoCommonCodec,
            ErrorCode::HearingClosed,
            ErrorCode::NotAllowed,
            ErrorCode::UnknownParticipant,
            ErrorCode::Unavailable,
            ErrorCode::NoCapacity,
            ErrorCode::TooManyMessages,
            ErrorCode::Internal,
        ] {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }

    #[test]
    fn parses_each_client_message() {
        assert_eq!(
            parse(r#"{"v":1,"type":"join","token":"t"}"#).unwrap(),
            ClientMessage::Join { token: "t".into() }
        );
        assert_eq!(
            parse(r#"{"v":1,"type":"offer","sdp":"x","extra":1}"#).unwrap(),
            ClientMessage::Offer { sdp: "x".into() }
        );
        assert_eq!(
            parse(r#"{"v":1,"type":"leave"}"#).unwrap(),
            ClientMessage::Leave
        );
        assert_eq!(
            parse(r#"{"v":1,"type":"cue","to":3}"#).unwrap(),
            ClientMessage::Cue { to: 3 }
        );
        match parse(r#"{"v":1,"type":"stats","frames_decoded":5}"#).unwrap() {
            ClientMessage::Stats(m) => assert_eq!(m["frames_decoded"], 5),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn malformed_messages_get_stable_codes() {
        let code = |s: &str| parse(s).unwrap_err().0;
        assert_eq!(code("not json"), ErrorCode::BadJson);
        assert_eq!(code("[1,2]"), ErrorCode::BadJson);
        assert_eq!(
            code(r#"{"type":"join","token":"t"}"#),
            ErrorCode::UnsupportedVersion
        );
        assert_eq!(
            code(r#"{"v":2,"type":"join","token":"t"}"#),
            ErrorCode::UnsupportedVersion
        );
        assert_eq!(code(r#"{"v":1,"type":"dance"}"#), ErrorCode::UnknownType);
        assert_eq!(code(r#"{"v":1,"type":"join"}"#), ErrorCode::UnknownType);
        assert_eq!(
            code(r#"{"v":1,"type":"offer","sdp":5}"#),
            ErrorCode::UnknownType
        );
    }

    #[test]
    fn server_messages_carry_version_and_type() {
        let j: serde_json::Value =
            serde_json::from_str(&ServerMessage::error(ErrorCode::BadSdp, "no").to_json()).unwrap();
        assert_eq!(j["v"], 1);
        assert_eq!(j["type"], "error");
        assert_eq!(j["code"], "bad_sdp");
        let j: serde_json::Value =
            serde_json::from_str(&ServerMessage::Recording { state: "recording" }.to_json())
                .unwrap();
        assert_eq!(j["state"], "recording");
        let j: serde_json::Value = serde_json::from_str(&ServerMessage::Removed.to_json()).unwrap();
        assert_eq!(j["type"], "removed");
        let j: serde_json::Value = serde_json::from_str(
            &ServerMessage::ScreenHint {
                hint: Some("too_dark"),
            }
            .to_json(),
        )
        .unwrap();
        assert_eq!(
            (&j["type"], &j["hint"]),
            (&json!("screen_hint"), &json!("too_dark"))
        );
        let j: serde_json::Value =
            serde_json::from_str(&ServerMessage::ScreenHint { hint: None }.to_json()).unwrap();
        assert!(j["hint"].is_null());
        let j: serde_json::Value = serde_json::from_str(
            &ServerMessage::RecordingGap {
                segment: 3,
                missing: vec!["video"],
            }
            .to_json(),
        )
        .unwrap();
        assert_eq!(
            (&j["type"], &j["segment"], &j["missing"]),
            (&json!("recording_gap"), &json!(3), &json!(["video"]))
        );
        let j: serde_json::Value = serde_json::from_str(
            &ServerMessage::MediaProblem {
                track: "camera",
                action: "restarted",
            }
            .to_json(),
        )
        .unwrap();
        assert_eq!(
            (&j["type"], &j["track"], &j["action"]),
            (
                &json!("media_problem"),
                &json!("camera"),
                &json!("restarted")
            )
        );
        let j: serde_json::Value =
            serde_json::from_str(&ServerMessage::HearingState { state: "paused" }.to_json())
                .unwrap();
        assert_eq!(
            (j["type"].as_str(), j["state"].as_str()),
            (Some("hearing_state"), Some("paused"))
        );
        let j: serde_json::Value = serde_json::from_str(
            &ServerMessage::error(ErrorCode::HearingClosed, "closed").to_json(),
        )
        .unwrap();
        assert_eq!(j["code"], "hearing_closed");
    }
}
