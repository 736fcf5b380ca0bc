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

/// `POST /api/login` over a real connection (so the server sees a peer address), as if
/// forwarded for `client` by a proxy on 127.0.0.1: (status, `Retry-After`).
async fn login_from(app: &TestApp, client: &str, user: &str, password: &str) -> (u16, Option<i64>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = serde_json::json!({ "username": user, "password": password }).to_string();
    let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let req = format!(
        "POST /api/login HTTP/1.1\r\nHost: court\r\nX-Forwarded-For: {client}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let status = out[9..12].parse().unwrap();
    let retry = out.lines().find_map(|l| {
        l.to_ascii_lowercase()
            .strip_prefix("retry-after:")
            .map(|v| v.trim().parse().unwrap())
    });
    (status, retry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_is_slowed_but_never_locks_the_owner_out() {
    use courtroom::api::session::LoginLimiter;
    let app = TestApp::builder()
        .set("http.trusted_proxies=[\"127.0.0.1\"]")
        .start()
        .await;
    // Wrong passwords from one address: free tries, then a short, growing wait there. (Each
    // try hashes a password; on a slow machine a guess may come after its wait has passed,
    // fail like the free ones and earn a longer wait.)
    let free = LoginLimiter::FREE as usize;
    let mut statuses = Vec::new();
    for _ in 0..free {
        statuses.push(login_from(&app, "6.6.6.6", "li", "guess guess guess").await);
    }
    assert!(statuses.iter().all(|s| s.0 == 401), "{statuses:?}");
    let mut strikes = LoginLimiter::FREE;
    let refused = loop {
        let s = login_from(&app, "6.6.6.6", "li", "guess guess guess").await;
        statuses.push(s);
        if s.0 == 429 {
            break s;
        }
        assert_eq!(s.0, 401, "{statuses:?}");
        strikes += 1;
        assert!(
            strikes < LoginLimiter::FREE + 4,
            "never refused: {statuses:?}"
        );
    };
    let owed = LoginLimiter::delay_after(strikes);
    let wait = refused.1.expect("Retry-After");
    assert!((1..=owed).contains(&wait), "owed {owed} s: {statuses:?}");
    // The owner, elsewhere, gets in at once; and from that address after the short wait.
    assert_eq!(login_from(&app, "1.2.3.4", "li", PASSWORD).await.0, 200);
    tokio::time::sleep(std::time::Duration::from_millis(wait as u64 * 1000 + 100)).await;
    assert_eq!(login_from(&app, "6.6.6.6", "li", PASSWORD).await.0, 200);
    let (last, detail) = app.audit_actions().await.pop().unwrap();
    assert_eq!(last, "login");
    assert_eq!(detail["client"], "6.6.6.6", "the forwarded client");
    assert!(app
        .audit_details("login_failed")
        .await
        .iter()
        .any(|d| d["reason"] == "rate_limited"));

    // Spraying names from one address spends its budget, but not the accounts known there.
    assert_eq!(login_from(&app, "9.9.9.9", "li", PASSWORD).await.0, 200);
    for i in 0..LoginLimiter::PER_CLIENT {
        let name = format!("user{i}");
        assert_eq!(
            login_from(&app, "9.9.9.9", &name, "guess guess guess")
                .await
                .0,
            401
        );
    }
    let (status, retry) = login_from(&app, "9.9.9.9", "fresh", "guess guess guess").await;
    assert_eq!(status, 429);
    assert!(retry.unwrap() <= LoginLimiter::WINDOW_S);
    assert_eq!(login_from(&app, "9.9.9.9", "li", PASSWORD).await.0, 200);
    assert_eq!(
        login_from(&app, "8.8.8.8", "fresh", "guess guess guess")
            .await
            .0,
        401
    );
}
