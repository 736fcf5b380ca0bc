//! Cross-site request forgery (issue 16): body-less POSTs with the session cookie, a foreign
//! `Origin` and a form content type are refused (403 `cross_origin`) on every state-changing
//! route, and change nothing; the court's own pages (same origin) and invitation tokens pass.

use axum::http::{Method, StatusCode};

use crate::support::{TestApp, Who};

/// A cross-site form's headers.
const FORGED: &[(&str, &str)] = &[
    ("origin", "https://evil.example"),
    ("content-type", "application/x-www-form-urlencoded"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_borne_changes_from_another_origin_are_refused() {
    let app = TestApp::demo().await;
    let cookie = app.login_clerk().await;
    let clerk = Who::Session(&cookie);
    let id = app.demo_hearing_id();
    let live = app.state.hearing(&id).await.unwrap();
    let seated = app
        .seat_invitee(&live, &app.token("plaintiff"), "Sun")
        .await;
    let pid = seated.id;
    let routes = [
        format!("/api/hearings/{id}/recording/start"),
        format!("/api/hearings/{id}/recording/pause"),
        format!("/api/hearings/{id}/recording/resume"),
        format!("/api/hearings/{id}/recording/stop"),
        format!("/api/hearings/{id}/participants/{pid}/mute"),
        format!("/api/hearings/{id}/participants/{pid}/remove"),
        format!("/api/hearings/{id}/state"),
        "/api/logout".to_owned(),
    ];
    for uri in &routes {
        let r = app.call(Method::POST, uri, clerk, None, FORGED).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (StatusCode::FORBIDDEN, "cross_origin"),
            "{uri}"
        );
        let site = app
            .call(
                Method::POST,
                uri,
                clerk,
                None,
                &[("sec-fetch-site", "cross-site")],
            )
            .await;
        assert_eq!(site.code(), "cross_origin", "{uri} (Sec-Fetch-Site)");
    }
    let forged_put = app
        .call(
            Method::PUT,
            &format!("/api/hearings/{id}/view"),
            clerk,
            None,
            FORGED,
        )
        .await;
    assert_eq!(forged_put.code(), "cross_origin");
    assert!(!live.is_recording(), "nothing was started");
    assert!(live.is_seated(pid), "nobody was removed");
    assert_eq!(
        app.me(clerk).await.status,
        StatusCode::OK,
        "still logged in"
    );

    // The court's own pages: same origin as the request's host, or Sec-Fetch-Site.
    let own = [
        ("origin", "http://court.test:8080"),
        ("host", "court.test:8080"),
    ];
    let start = app
        .call(
            Method::POST,
            &format!("/api/hearings/{id}/recording/start"),
            clerk,
            None,
            &own,
        )
        .await;
    assert_eq!(start.status, StatusCode::OK, "{}", start.text());
    let stop = app
        .call(
            Method::POST,
            &format!("/api/hearings/{id}/recording/stop"),
            clerk,
            None,
            &[("sec-fetch-site", "same-origin")],
        )
        .await;
    assert_eq!(stop.status, StatusCode::OK, "{}", stop.text());
    // An invitation token is not cookie-borne: no origin check (the permission table decides).
    let judge = app.token("presiding_judge");
    let pause = app
        .call(
            Method::POST,
            &format!("/api/hearings/{id}/recording/pause"),
            Who::Invitation(&judge),
            None,
            FORGED,
        )
        .await;
    assert_ne!(pause.code(), "cross_origin");
    let out = app
        .call(Method::POST, "/api/logout", clerk, None, &own)
        .await;
    assert_eq!(out.status, StatusCode::OK);
}
