//! Admission control (issue 16): past `capacity.hearings` a new hearing is refused with
//! `no_capacity` (503, `Retry-After`) for the clerk and for the page's socket; past
//! `capacity.participants` a new person is; someone taking back their own seat never is. The
//! refusals are counted in `/metrics`, which answers loopback and a bearer token only.

use axum::http::{Method, StatusCode};

use crate::support::{TestApp, Who};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hearing_past_the_capacity_is_refused_for_the_clerk_and_the_page() {
    let app = TestApp::builder()
        .demo()
        .set("capacity.hearings=1")
        .start()
        .await;
    // The demo hearing runs once someone joins.
    let mut plaintiff = app.signalling().await;
    let welcome = plaintiff.join(&app.token("plaintiff")).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");

    let cookie = app.login_clerk().await;
    let second = app.create_hearing(&cookie).await;
    assert_eq!(
        app.set_state(&cookie, &second, "open").await.status,
        StatusCode::OK
    );
    let r = app
        .post(
            &format!("/api/hearings/{second}/recording/start"),
            Who::Session(&cookie),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    assert_eq!(r.code(), "no_capacity");
    assert!(r.headers.contains_key("retry-after"));
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("as many hearings"),
        "{}",
        r.text()
    );

    let invited = app.invite(&cookie, &second, "plaintiff", "Ms Qian").await;
    let mut page = app.signalling().await;
    let refused = page.join(&invited.token).await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["code"], "no_capacity", "{refused}");
    assert!(app.state.running_hearing(&second).await.is_none());

    // The running hearing is untouched, and the refusals are counted.
    assert!(app
        .state
        .running_hearing(&app.demo_hearing_id())
        .await
        .is_some());
    let text = courtroom::api::metrics::scrape(&app.state).render();
    assert!(
        text.contains("courtroom_admissions_refused_total{what=\"hearing\"}"),
        "{text}"
    );
    assert!(text.contains("courtroom_capacity_hearings 1"), "{text}");
    // Both refusals, the portal's 503 and the page's signalling error, counted by their code.
    assert!(
        text.contains("courtroom_refusals_total{code=\"no_capacity\"}"),
        "{text}"
    );
    assert!(text.contains("courtroom_hearings 1"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_past_the_capacity_is_refused_but_a_seat_is_taken_back() {
    let app = TestApp::builder()
        .demo()
        .set("capacity.participants=2")
        .start()
        .await;
    let mut plaintiff = app.signalling().await;
    assert_eq!(
        plaintiff.join(&app.token("plaintiff")).await["type"],
        "welcome"
    );
    let mut defendant = app.signalling().await;
    assert_eq!(
        defendant.join(&app.token("defendant")).await["type"],
        "welcome"
    );

    let mut judge = app.signalling().await;
    let refused = judge.join(&app.token("presiding_judge")).await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["code"], "no_capacity", "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("as many people"),
        "{refused}"
    );

    // The plaintiff's page reconnects (a new socket for the same seat): not a new person.
    drop(plaintiff);
    let mut again = app.signalling().await;
    let back = again.join(&app.token("plaintiff")).await;
    assert_ne!(back["code"], "no_capacity", "{back}");

    let text = courtroom::api::metrics::scrape(&app.state).render();
    assert!(
        text.contains("courtroom_admissions_refused_total{what=\"participant\"}"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_answer_loopback_and_the_bearer_token_only() {
    let app = TestApp::builder()
        .set("http.metrics_token=\"scrape-me\"")
        .start()
        .await;
    // Through the router without a peer address: neither loopback nor a token.
    let r = app.get("/metrics", Who::Stranger).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.get("/metrics", Who::Invitation("wrong")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .call(
            Method::GET,
            "/metrics",
            Who::Invitation("scrape-me"),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let text = r.text();
    assert!(text.contains("courtroom_hearings 0"), "{text}");
    assert!(text.contains("# TYPE courtroom_ready gauge"), "{text}");
    // Over a real socket from 127.0.0.1: open without the token.
    let body = reqwest_free_get(app.addr, "/metrics").await;
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    assert!(body.contains("courtroom_ready 1"), "{body}");
}

/// A plain HTTP/1.1 GET over a loopback socket (no client crate needed).
async fn reqwest_free_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}
