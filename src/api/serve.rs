//! Serving the router over HTTP/1.1 with the limits a public server needs, and a stop that
//! cannot be held up by a client.
//!
//! `axum::serve` gives hyper no timer, so a request's head may arrive as slowly as a client
//! likes (a header line every few seconds kept a server alive a minute after SIGTERM), and its
//! graceful shutdown waits for every connection without a deadline. Here each connection is
//! served by hyper's HTTP/1 builder with a timer: a request head (and an idle keep-alive
//! connection waiting for the next one) must arrive within [`Limits::header_read`], or the
//! connection is closed. On stop the listener closes at once, open connections are asked to
//! finish the request in hand ([`hyper::server::conn::http1::Connection::graceful_shutdown`]),
//! and whatever is still open after [`Limits::drain`] is dropped. Upgraded WebSockets are not
//! connections here any more: their sessions watch [`super::AppState::stopping`].

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower_http::add_extension::AddExtension;

/// How long clients get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A request head must arrive within this (also the longest idle keep-alive).
    pub header_read: Duration,
    /// On stop, how long open requests may take to finish before their connections close.
    pub drain: Duration,
}

impl Limits {
    /// From the settings' `[http]` section.
    pub fn from_settings(settings: &crate::config::Settings) -> Self {
        Self {
            header_read: Duration::from_millis(settings.http.header_read_timeout_ms),
            drain: Duration::from_millis(settings.http.stop_drain_ms),
        }
    }
}

/// Serves `app` on `listener` until `stop` resolves, then drains (see the module docs).
/// Handlers see the client's address as `ConnectInfo<SocketAddr>`. Returns once every
/// connection has closed, at most [`Limits::drain`] after `stop`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    stop: impl Future<Output = ()>,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .keep_alive(true);
    let (drain_tx, drain_rx) = watch::channel(false);
    let mut conns = JoinSet::new();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    conns.spawn(connection(stream, peer, app.clone(), http.clone(), drain_rx.clone()));
                }
                Err(e) => {
                    // Out of descriptors or a connection reset before accept: keep serving.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    let _ = drain_tx.send(true);
    let open = conns.len();
    let drained = tokio::time::timeout(limits.drain, async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open,
            left = conns.len(),
            "closing connections still open after the drain"
        );
        conns.shutdown().await;
    }
}

/// Serves one connection until it closes, or finishes its request in hand once `drain` is
/// set.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    http: http1::Builder,
    mut drain: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let service = TowerToHyperService::new(AddExtension::new(app, ConnectInfo(peer)));
    let conn = http
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(conn);
    let mut draining = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%peer, "connection ended: {e}");
                }
                return;
            }
            _ = drain.wait_for(|d| *d), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}
