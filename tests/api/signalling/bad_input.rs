//! Bad input over the signalling socket gets a clear error, and the server keeps serving:
//! non-JSON, unknown and forged and expired invitations, a malformed SDP, and a second join
//! with the same invitation (the newest join wins; the older connection is told `replaced`).

use courtroom::api::auth::{unix_now, Claims};
use courtroom::hearing::Role;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::support::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_over_the_socket_is_answered_and_the_socket_stays_usable() {
    let app = TestApp::demo().await;
    let mut ws = app.signalling().await;
    ws.send_raw(Message::Text("this is not json".into())).await;
    let reply = ws.reply().await.unwrap();
    assert_eq!(
        (reply["type"].as_str(), reply["code"].as_str()),
        (Some("error"), Some("bad_json"))
    );
    assert!(reply["message"].as_str().unwrap().contains("JSON"));
    ws.send(json!({"v": 7, "type": "join", "token": "x"})).await;
    assert_eq!(ws.reply().await.unwrap()["code"], "unsupported_version");
    ws.send(json!({"v": 1, "type": "offer", "sdp": "v=0"}))
        .await;
    assert_eq!(ws.reply().await.unwrap()["code"], "not_joined");
    ws.send_raw(Message::Binary(vec![0, 1, 2].into())).await;
    assert_eq!(ws.reply().await.unwrap()["code"], "bad_json");
    // Still usable: a real join works on the same socket.
    let welcome = ws.join(&app.token("presiding_judge")).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    assert_eq!(welcome["role"], "presiding_judge");
    // One audio slot per seat of the hearing's layout.
    let layout =
        courtroom::render::Layout::load(&courtroom::config::default_assets_dir(), "courtroom")
            .unwrap();
    assert_eq!(welcome["audio_slots"], layout.seats.len());
    assert!(app.healthy().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_forged_and_expired_invitations_are_refused() {
    let app = TestApp::demo().await;
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
            app.state.key().sign(&Claims {
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
            app.state.key().sign(&Claims {
                inv: "x".into(),
                hearing: "x".into(),
                role: Role::Clerk,
                seat: "clerk".into(),
                exp: unix_now() - 1,
            }),
            "expired_token",
        ),
    ] {
        let mut ws = app.signalling().await;
        let reply = ws.join(&token).await;
        assert_eq!(reply["code"], code, "{reply}");
        assert!(
            ws.reply().await.is_none(),
            "the socket closes after a bad invitation"
        );
    }
    // The monitor refuses them too, with JSON errors.
    assert!(app.healthy().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_sdp_gets_bad_sdp_and_others_are_unaffected() {
    let app = TestApp::demo().await;
    let mut judge = app.signalling().await;
    assert_eq!(
        judge.join(&app.token("presiding_judge")).await["type"],
        "welcome"
    );
    let mut clerk = app.signalling().await;
    assert_eq!(clerk.join(&app.token("clerk")).await["type"], "welcome");
    for sdp in [
        "",
        "v=0",
        "this is not sdp at all\r\n",
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n",
    ] {
        judge
            .send(json!({"v": 1, "type": "offer", "sdp": sdp}))
            .await;
        let reply = judge
            .reply()
            .await
            .expect("socket stays open after a bad offer");
        assert_eq!(reply["code"], "bad_sdp", "offer {sdp:?} got {reply}");
    }
    // The other participant's connection still works, and so does the server.
    clerk
        .send(json!({"v": 1, "type": "stats", "frames_decoded": 3}))
        .await;
    clerk.send(json!({"v": 1, "type": "dance"})).await;
    assert_eq!(clerk.reply().await.unwrap()["code"], "unknown_type");
    let hearing = app
        .state
        .running_hearing(&app.hearing_of(&app.token("clerk")))
        .await
        .unwrap();
    assert_eq!(hearing.roster().len(), 2, "both still seated");
    assert!(app.healthy().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_join_with_the_same_invitation_replaces_the_first() {
    let app = TestApp::demo().await;
    let token = app.token("plaintiff");
    let mut first = app.signalling().await;
    let w1 = first.join(&token).await;
    assert_eq!(w1["type"], "welcome");
    let mut second = app.signalling().await;
    let w2 = second.join(&token).await;
    assert_eq!(w2["type"], "welcome");
    assert_ne!(w1["participant_id"], w2["participant_id"]);
    let told = first.reply().await.expect("the older connection is told");
    assert_eq!(told["type"], "replaced");
    assert!(first.reply().await.is_none(), "and closed");
    // The seat is held by the newer connection: the roster shows exactly one plaintiff.
    let hearing = app
        .state
        .running_hearing(&app.hearing_of(&token))
        .await
        .unwrap();
    let roster = hearing.roster();
    assert_eq!(roster.len(), 1);
    assert_eq!(
        roster[0].participant_id.to_string(),
        w2["participant_id"].to_string()
    );
    // A second join on an already joined socket is refused without harm.
    let again = second.join(&token).await;
    assert_eq!(again["code"], "already_joined");
}
