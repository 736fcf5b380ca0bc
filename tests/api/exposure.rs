//! What the server shows and how its pages may be used (issue 16): the monitor never names
//! the server's folders, the participant's page (its URL holds the invitation token) is
//! served with a CSP, no framing, no sniffing and no referrer, and an oversized JSON body is
//! 413, not 400.

use axum::http::{header, Method, StatusCode};
use serde_json::json;

use crate::support::{TestApp, Who};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monitor_names_no_server_path() {
    let app = TestApp::demo().await;
    let id = app.demo_hearing_id();
    let live = app.state.hearing(&id).await.unwrap();
    let l = live.clone();
    let rec = tokio::task::spawn_blocking(move || l.start_recording())
        .await
        .unwrap()
        .unwrap();
    let judge = app.token("presiding_judge");
    let report = app.invitee_monitor(Who::Invitation(&judge)).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text());
    let text = report.text();
    let data = app.data_dir().to_string_lossy().into_owned();
    assert!(!text.contains(&data), "the data folder leaks: {text}");
    assert!(
        !text.contains("recordings/"),
        "a recordings path leaks: {text}"
    );
    assert_eq!(report.json()["recording"]["id"], rec.as_str());
    assert_eq!(report.json()["recording"]["state"], "recording");
    let cookie = app.login_clerk().await;
    let clerk = app.monitor(Who::Session(&cookie), &id).await.text();
    assert!(!clerk.contains(&data), "the data folder leaks: {clerk}");
    tokio::task::spawn_blocking(move || live.stop_recording())
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_with_the_token_is_not_framed_sniffed_or_referred() {
    let app = TestApp::demo().await;
    let token = app.token("plaintiff");
    let page = app.get(&format!("/join?t={token}"), Who::Stranger).await;
    assert_eq!(page.status, StatusCode::OK);
    let h = |name: header::HeaderName| {
        page.headers
            .get(&name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("no {name} on the page"))
    };
    let csp = h(header::CONTENT_SECURITY_POLICY);
    for part in [
        "default-src 'self'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(part), "{part} missing from {csp}");
    }
    assert_eq!(h(header::X_FRAME_OPTIONS), "DENY");
    assert_eq!(h(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert_eq!(h(header::REFERRER_POLICY), "no-referrer");
    let script = app.get("/web/join.js", Who::Stranger).await;
    assert_eq!(script.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let api = app.get("/api/permissions", Who::Stranger).await;
    assert_eq!(api.headers[header::X_FRAME_OPTIONS], "DENY");
}

#[tokio::test]
async fn oversized_json_is_413() {
    let app = TestApp::start().await;
    let cookie = app.login_clerk().await;
    let big = json!({ "case_number": "x".repeat(3 * 1024 * 1024), "title": "t" });
    let r = app
        .call(
            Method::POST,
            "/api/hearings",
            Who::Session(&cookie),
            Some(big),
            &[],
        )
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    let bad = app
        .post(
            "/api/hearings",
            Who::Session(&cookie),
            json!("not an object"),
        )
        .await;
    assert_eq!(
        (bad.status, bad.code().as_str()),
        (StatusCode::BAD_REQUEST, "bad_json")
    );
}
