//! Logins and their rate limit, the session cookie, logout.

use axum::http::{header, StatusCode};

use crate::support::app::session_cookie;
use crate::support::{TestApp, Who, PASSWORD};

#[tokio::test]
async fn login_sets_a_strict_httponly_cookie_and_logout_ends_it() {
    let app = TestApp::start().await;
    let wrong = app.login("li", "wrong password!").await;
    assert_eq!(
        (wrong.status, wrong.code().as_str()),
        (StatusCode::UNAUTHORIZED, "bad_credentials")
    );
    let unknown = app.login("nobody", PASSWORD).await;
    assert_eq!(
        unknown.code(),
        "bad_credentials",
        "same answer for an unknown name"
    );

    let ok = app.login("li", PASSWORD).await;
    assert_eq!(ok.status, StatusCode::OK);
    let set = ok.headers[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    assert!(!set.contains("Secure"), "plain HTTP: no Secure flag: {set}");
    let cookie = session_cookie(&ok);

    assert_eq!(app.me(Who::Stranger).await.code(), "unauthenticated");
    assert_eq!(
        app.me(Who::Session("courtroom_session=forged"))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let me = app.me(Who::Session(&cookie)).await;
    assert_eq!(me.json()["user"]["username"], "li");

    let out = app.logout(Who::Session(&cookie)).await;
    assert_eq!(out.status, StatusCode::OK);
    assert!(out.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(
        app.me(Who::Session(&cookie)).await.status,
        StatusCode::UNAUTHORIZED
    );

    assert_eq!(
        app.audit_action_names().await,
        ["login_failed", "login_failed", "login", "logout"]
    );
}

#[tokio::test]
async fn cookie_is_secure_behind_tls() {
    let app = TestApp::builder()
        .set("public_url=\"https://court.example\"")
        .start()
        .await;
    let ok = app.login("li", PASSWORD).await;
    assert!(ok.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .ends_with("; Secure"));
}

#[tokio::test]
async fn repeated_failed_logins_are_rate_limited_even_with_the_right_password() {
    let app = TestApp::start().await;
    for _ in 0..courtroom::api::session::LoginLimiter::PER_NAME {
        assert_eq!(
            app.login("li", "guess guess guess").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let limited = app.login("li", PASSWORD).await;
    assert_eq!(
        (limited.status, limited.code().as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    let wait: i64 = limited.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 0 && wait <= courtroom::api::session::LoginLimiter::WINDOW_S);
    let (last, detail) = app.audit_actions().await.pop().unwrap();
    assert_eq!(
        (last.as_str(), detail["reason"].as_str()),
        ("login_failed", Some("rate_limited"))
    );
}
