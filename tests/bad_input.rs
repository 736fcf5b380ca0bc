//! Bad input over the signalling socket gets a clear error, and the server keeps serving:
//! non-JSON, unknown and forged and expired invitations, a malformed SDP, and a second join
//! with the same invitation (the newest join wins; the older connection is told `replaced`).

mod signalling_common;

use std::time::Duration;

use courtroom::api::auth::{unix_now, Claims};
use courtroom::hearing::Role;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use signalling_common::*;
use tokio_tungstenite::tungstenite::Message;

/// The next JSON message, skipping roster broadcasts unless asked for.
async fn recv(ws: &mut Socket) -> Option<Value> {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("reply in time")?;
        match msg {
            Ok(Message::Text(t)) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] != "roster" && v["type"] != "recording" {
                    return Some(v);
                }
            }
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

async fn join(ws: &mut Socket, token: &str) -> Value {
    send(ws, json!({"v": 1, "type": "join", "token": token})).await;
    recv(ws).await.expect("a reply to join")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_over_the_socket_is_answered_and_the_socket_stays_usable() {
    let server = Server::start().await;
    let mut ws = server.socket().await;
    ws.send(Message::Text("this is not json".into()))
        .await
        .unwrap();
    let reply = recv(&mut ws).await.unwrap();
    assert_eq!(
        (reply["type"].as_str(), reply["code"].as_str()),
        (Some("error"), Some("bad_json"))
    );
    assert!(reply["message"].as_str().unwrap().contains("JSON"));
    send(&mut ws, json!({"v": 7, "type": "join", "token": "x"})).await;
    assert_eq!(recv(&mut ws).await.unwrap()["code"], "unsupported_version");
    send(&mut ws, json!({"v": 1, "type": "offer", "sdp": "v=0"})).await;
    assert_eq!(recv(&mut ws).await.unwrap()["code"], "not_joined");
    ws.send(Message::Binary(vec![0, 1, 2].into()))
        .await
        .unwrap();
    assert_eq!(recv(&mut ws).await.unwrap()["code"], "bad_json");
    // Still usable: a real join works on the same socket.
    let welcome = join(&mut ws, &server.token("presiding_judge")).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    assert_eq!(welcome["role"], "presiding_judge");
    // One audio slot per seat of the hearing's layout.
    let layout =
        courtroom::render::Layout::load(&courtroom::config::default_assets_dir(), "courtroom")
            .unwrap();
    assert_eq!(welcome["audio_slots"], layout.seats.len());
    assert!(server.healthy().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_forged_and_expired_invitations_are_refused() {
    let server = Server::start().await;
    for (token, code) in [
        ("nonsense".to_owned(), "invalid_token"),
        // Valid shape, signed by another key.
        (
            courtroom::api::auth::TokenKey::from_bytes([9; 32]).sign(&Claims {
                inv: "x".into(),
                hearing: "x".into(),
                role: Role::PresidingJudge,
                seat: "presiding_judge".into(),
                exp: unix_now() + 60,
            }),
            "invalid_token",
        ),
        // Signed by the server, but for an invitation it never issued.
        (
            server.state.key().sign(&Claims {
                inv: "not-an-invitation".into(),
                hearing: "x".into(),
                role: Role::PresidingJudge,
                seat: "presiding_judge".into(),
                exp: unix_now() + 60,
            }),
            "invalid_token",
        ),
        // Signed by the server, expired.
        (
            server.state.key().sign(&Claims {
                inv: "x".into(),
                hearing: "x".into(),
                role: Role::Clerk,
                seat: "clerk".into(),
                exp: unix_now() - 1,
            }),
            "expired_token",
        ),
    ] {
        let mut ws = server.socket().await;
        let reply = join(&mut ws, &token).await;
        assert_eq!(reply["code"], code, "{reply}");
        assert!(
            recv(&mut ws).await.is_none(),
            "the socket closes after a bad invitation"
        );
    }
    // The monitor refuses them too, with JSON errors.
    assert!(server.healthy().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_sdp_gets_bad_sdp_and_others_are_unaffected() {
    let server = Server::start().await;
    let mut judge = server.socket().await;
    assert_eq!(
        join(&mut judge, &server.token("presiding_judge")).await["type"],
        "welcome"
    );
    let mut clerk = server.socket().await;
    assert_eq!(
        join(&mut clerk, &server.token("clerk")).await["type"],
        "welcome"
    );
    for sdp in [
        "",
        "v=0",
        "this is not sdp at all\r\n",
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n",
    ] {
        send(&mut judge, json!({"v": 1, "type": "offer", "sdp": sdp})).await;
        let reply = recv(&mut judge)
            .await
            .expect("socket stays open after a bad offer");
        assert_eq!(reply["code"], "bad_sdp", "offer {sdp:?} got {reply}");
    }
    // The other participant's connection still works, and so does the server.
    send(
        &mut clerk,
        json!({"v": 1, "type": "stats", "frames_decoded": 3}),
    )
    .await;
    send(&mut clerk, json!({"v": 1, "type": "dance"})).await;
    assert_eq!(recv(&mut clerk).await.unwrap()["code"], "unknown_type");
    let claims = server
        .state
        .key()
        .verify(&server.token("clerk"), unix_now())
        .unwrap();
    let hearing = server.state.running_hearing(&claims.hearing).await.unwrap();
    assert_eq!(hearing.roster().len(), 2, "both still seated");
    assert!(server.healthy().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_join_with_the_same_invitation_replaces_the_first() {
    let server = Server::start().await;
    let token = server.token("plaintiff");
    let mut first = server.socket().await;
    let w1 = join(&mut first, &token).await;
    assert_eq!(w1["type"], "welcome");
    let mut second = server.socket().await;
    let w2 = join(&mut second, &token).await;
    assert_eq!(w2["type"], "welcome");
    assert_ne!(w1["participant_id"], w2["participant_id"]);
    let told = recv(&mut first)
        .await
        .expect("the older connection is told");
    assert_eq!(told["type"], "replaced");
    assert!(recv(&mut first).await.is_none(), "and closed");
    // The seat is held by the newer connection: the roster shows exactly one plaintiff.
    let claims = server.state.key().verify(&token, unix_now()).unwrap();
    let hearing = server.state.running_hearing(&claims.hearing).await.unwrap();
    let roster = hearing.roster();
    assert_eq!(roster.len(), 1);
    assert_eq!(
        roster[0].participant_id.to_string(),
        w2["participant_id"].to_string()
    );
    // A second join on an already joined socket is refused without harm.
    let again = join(&mut second, &token).await;
    assert_eq!(again["code"], "already_joined");
}
