//! The HTTP server's limits towards clients (issue 16): a request head that never ends is cut
//! off, a signalling socket that never joins is closed, a stopping server tells every
//! socket before it closes it, a socket that floods or sends a message over 256 KiB is closed,
//! and one address holds a bounded number of sockets.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_head_that_never_ends_is_cut_off() {
    let app = TestApp::builder()
        .set("http.header_read_timeout_ms=500")
        .start()
        .await;
    let stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    write
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: courtroom\r\n")
        .await
        .unwrap();
    // A header line every 200 ms: the head never ends.
    let trickle = tokio::spawn(async move {
        while write.write_all(b"X-Slow: 1\r\n").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let started = Instant::now();
    let mut buf = [0u8; 256];
    let ended = tokio::time::timeout(Duration::from_secs(5), read.read(&mut buf)).await;
    trickle.abort();
    assert!(
        matches!(ended, Ok(Ok(0)) | Ok(Err(_))),
        "the connection is still open {:?} after a head began",
        started.elapsed()
    );
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "not before the timeout"
    );
    assert!(app.healthy().await, "a whole request is still answered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_that_never_join_are_closed_and_stopping_is_told() {
    let app = TestApp::builder()
        .demo()
        .set("http.unjoined_socket_timeout_ms=500")
        .start()
        .await;
    let token = app.token("plaintiff");
    let mut idle = app.signalling().await;
    let mut checked = app.signalling().await;
    checked.send_check(&token).await;
    assert_eq!(
        checked.until("invitation").await.unwrap()["type"],
        "invitation"
    );
    let mut joined = app.signalling().await;
    assert_eq!(joined.join(&token).await["type"], "welcome");

    let started = Instant::now();
    assert_eq!(
        idle.until("nothing").await,
        None,
        "an idle socket is closed"
    );
    assert_eq!(
        checked.until("nothing").await,
        None,
        "so is one that only checked"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    // A joined socket is kept however quiet it is.
    tokio::time::sleep(Duration::from_millis(800)).await;
    joined.send_check(&token).await;
    assert_eq!(
        joined.until("invitation").await.unwrap()["type"],
        "invitation"
    );

    app.state.begin_stop();
    assert_eq!(joined.until("stopping").await.unwrap()["type"], "stopping");
    assert_eq!(
        joined.until("nothing").await,
        None,
        "then the socket closes"
    );
    let mut late = app.signalling().await;
    assert_eq!(
        late.until("stopping").await.unwrap()["type"],
        "stopping",
        "a socket opened while stopping is told at once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_that_floods_is_closed_and_others_go_on() {
    let app = TestApp::demo().await;
    let token = app.token("plaintiff");
    let mut calm = app.signalling().await;
    assert_eq!(calm.join(&token).await["type"], "welcome");
    let mut flood = app.signalling().await;
    for _ in 0..200 {
        flood
            .send(serde_json::json!({"v": 1, "type": "no_such_message"}))
            .await;
    }
    let mut refused = None;
    while let Some(v) = flood.until("nothing").await {
        if v["code"] == "too_many_messages" {
            refused = Some(v);
        }
    }
    assert!(refused.is_some(), "the flood is told why, then closed");
    // The calm socket is still served.
    calm.send_check(&token).await;
    assert_eq!(
        calm.until("invitation").await.unwrap()["type"],
        "invitation"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_holds_a_bounded_number_of_sockets() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let app = TestApp::builder()
        .set("http.trusted_proxies=[\"127.0.0.1\"]")
        .set("http.sockets_per_address=3")
        .start()
        .await;
    let open_from = |client: &'static str| {
        let url = format!("ws://{}/ws", app.addr);
        async move {
            let mut req = url.into_client_request().unwrap();
            req.headers_mut()
                .insert("x-forwarded-for", client.parse().unwrap());
            tokio_tungstenite::connect_async(req).await
        }
    };
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(open_from("198.51.100.9").await.expect("within the bound"));
    }
    match open_from("198.51.100.9").await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 429),
        other => panic!("a fourth socket from one address must get 429: {other:?}"),
    }
    assert!(
        open_from("198.51.100.10").await.is_ok(),
        "another address is not held to the first one's count"
    );
    // Closing gives the places back.
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.state.sockets().held_by("198.51.100.9") > 0 {
        assert!(Instant::now() < deadline, "places not given back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(open_from("198.51.100.9").await.is_ok());
}
