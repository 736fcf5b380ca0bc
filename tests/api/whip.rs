//! WHIP ingest (RFC 9725): each error with its status and JSON body, and an offer that takes
//! the invitation's seat, is listed in the roster, and leaves with `DELETE`. (A real WHIP
//! client that this project did not write publishes in `tests/browser/clients.test.mjs`.)

use axum::http::{header, Method, StatusCode};
use serde_json::json;

use courtroom::store::audit::actions::JOIN;

use crate::support::{TestApp, Who};

/// A complete send-only offer as a WHIP encoder makes it: VP8 and Opus, candidates inline.
fn offer() -> String {
    let fp = (0..32)
        .map(|i| format!("{:02X}", i * 7 % 256))
        .collect::<Vec<_>>()
        .join(":");
    [
        "v=0",
        "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0 1",
        "m=video 50000 UDP/TLS/RTP/SAVPF 96",
        "c=IN IP4 127.0.0.1",
        "a=mid:0",
        "a=sendonly",
        "a=rtcp-mux",
        "a=setup:actpass",
        "a=ice-ufrag:abcd",
        "a=ice-pwd:abcdefghijklmnopqrstuvwx",
        &format!("a=fingerprint:sha-256 {fp}"),
        "a=rtpmap:96 VP8/90000",
        "a=ssrc:1111 cname:encoder",
        "a=candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host",
        "m=audio 50000 UDP/TLS/RTP/SAVPF 111",
        "c=IN IP4 127.0.0.1",
        "a=mid:1",
        "a=sendonly",
        "a=rtcp-mux",
        "a=setup:actpass",
        "a=ice-ufrag:abcd",
        "a=ice-pwd:abcdefghijklmnopqrstuvwx",
        &format!("a=fingerprint:sha-256 {fp}"),
        "a=rtpmap:111 opus/48000/2",
        "a=ssrc:2222 cname:encoder",
        "",
    ]
    .join("\r\n")
}

#[tokio::test]
async fn whip_errors_each_have_their_status_and_json_code() {
    let app = TestApp::demo().await;
    let id = app.demo_hearing_id();
    let token = app.token("defendant");
    let sdp = offer();
    let post = |who, content_type: &'static str, body: String, path: String| {
        let app = &app;
        async move {
            app.call_raw(Method::POST, &path, who, content_type, &body)
                .await
        }
    };
    let whip = format!("/whip/{id}");
    let cases = [
        (
            post(Who::Stranger, "application/sdp", sdp.clone(), whip.clone()).await,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        ),
        (
            post(
                Who::Invitation("forged.token"),
                "application/sdp",
                sdp.clone(),
                whip.clone(),
            )
            .await,
            StatusCode::UNAUTHORIZED,
            "invalid_token",
        ),
        (
            post(
                Who::Invitation(&token),
                "application/sdp",
                sdp.clone(),
                "/whip/another-hearing".into(),
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            post(
                Who::Invitation(&token),
                "application/json",
                "{}".into(),
                whip.clone(),
            )
            .await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            post(
                Who::Invitation(&token),
                "application/sdp",
                "hello".into(),
                whip.clone(),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "bad_sdp",
        ),
    ];
    for (reply, status, code) in cases {
        assert_eq!(reply.status, status, "{}", reply.text());
        assert_eq!(reply.code(), code, "{}", reply.text());
        assert!(reply.json()["error"]["message"].as_str().unwrap().len() > 5);
    }
    // No trickle: PATCH is refused; OPTIONS is a CORS preflight without PATCH.
    let r = app
        .call_raw(
            Method::PATCH,
            &whip,
            Who::Invitation(&token),
            "application/trickle-ice-sdpfrag",
            "a=x",
        )
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    let r = app
        .call(Method::OPTIONS, &whip, Who::Stranger, None, &[])
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let methods = r.headers["access-control-allow-methods"].to_str().unwrap();
    assert!(
        methods.contains("POST") && !methods.contains("PATCH"),
        "{methods}"
    );
    // Nobody was seated by any of it.
    let live = app.state.hearing(&id).await.unwrap();
    assert!(live.roster().iter().all(|e| e.seat != "defendant"));
}

#[tokio::test]
async fn a_whip_encoder_takes_its_seat_is_in_the_roster_and_leaves_with_delete() {
    let app = TestApp::demo().await;
    let id = app.demo_hearing_id();
    let token = app.token("defendant");
    let r = app
        .call_raw(
            Method::POST,
            &format!("/whip/{id}"),
            Who::Invitation(&token),
            "application/sdp",
            &offer(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.headers[header::CONTENT_TYPE], "application/sdp");
    let answer = r.text();
    assert!(
        answer.starts_with("v=0") && answer.contains("a=recvonly"),
        "{answer}"
    );
    assert!(
        !answer.contains("a=sendrecv") && !answer.contains("a=sendonly"),
        "a WHIP client receives nothing"
    );
    let location = r.headers[header::LOCATION].to_str().unwrap().to_owned();
    assert!(location.starts_with(&format!("/whip/{id}/")), "{location}");

    let live = app.state.hearing(&id).await.unwrap();
    let seated = live
        .roster()
        .into_iter()
        .find(|e| e.seat == "defendant")
        .expect("in the roster");
    assert_eq!(seated.role.as_str(), "defendant");
    assert_eq!(app.state.whip().len(), 1);
    // Audited as a join, like a browser's (written without waiting).
    let mut joins = Vec::new();
    for _ in 0..50 {
        joins = app.audit_details(JOIN).await;
        if !joins.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(joins.iter().any(|d| d["seat"] == "defendant"), "{joins:?}");

    // Another invitation for the same seat: 409.
    let cookie = app.login_clerk().await;
    let other = app
        .post_invitation(
            &cookie,
            &id,
            json!({ "role": "defendant", "name": "Someone Else", "seat": "defendant" }),
        )
        .await;
    assert_eq!(other.status, StatusCode::CREATED, "{}", other.text());
    let other_token = other.json()["token"].as_str().unwrap().to_owned();
    let r = app
        .call_raw(
            Method::POST,
            &format!("/whip/{id}"),
            Who::Invitation(&other_token),
            "application/sdp",
            &offer(),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "seat_taken".into()),
        "{}",
        r.text()
    );

    // DELETE with another invitation is refused; with its own, it leaves.
    let r = app
        .call(
            Method::DELETE,
            &location,
            Who::Invitation(&app.token("clerk")),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let r = app
        .call(
            Method::DELETE,
            &location,
            Who::Invitation(&token),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    for _ in 0..50 {
        if live.roster().iter().all(|e| e.seat != "defendant") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        live.roster().iter().all(|e| e.seat != "defendant"),
        "the seat emptied"
    );
    assert_eq!(app.state.whip().len(), 0);
    let r = app
        .call(
            Method::DELETE,
            &location,
            Who::Invitation(&token),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
