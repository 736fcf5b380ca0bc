//! Shared harness of the signalling tests (`bad_input`, `signalling_states`): a demo server
//! in-process on a free port with its invitations, and a WebSocket client to it.

#![allow(dead_code)]

use std::sync::Arc;

use courtroom::api::auth::unix_now;
use courtroom::api::{router, AppState};
use courtroom::config::{Settings, Sources};
use courtroom::store::HearingState;
use futures::SinkExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

/// A client's WebSocket to the server.
pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A demo server running in this process.
pub struct Server {
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    /// Its state (store, key, hearings).
    pub state: AppState,
    /// Each demo seat's invitation token.
    pub tokens: Vec<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Server {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sources = Sources {
            file: None,
            sets: vec![
                format!("data_dir=\"{}\"", dir.path().display()),
                "video.fps=10".into(),
            ],
        };
        let settings = Arc::new(Settings::load_with_env(&sources, Vec::new()).unwrap());
        let state = courtroom::server::prepare(settings).await.unwrap();
        let (_, invitations) = courtroom::server::create_demo(&state).await.unwrap();
        let tokens = invitations
            .iter()
            .map(|i| (i.seat.clone(), i.url.split("t=").nth(1).unwrap().to_owned()))
            .collect();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = router(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            addr,
            state,
            tokens,
            _dir: dir,
        }
    }

    pub fn token(&self, seat: &str) -> String {
        self.tokens
            .iter()
            .find(|(s, _)| s == seat)
            .unwrap()
            .1
            .clone()
    }

    pub async fn socket(&self) -> Socket {
        tokio_tungstenite::connect_async(format!("ws://{}/ws", self.addr))
            .await
            .unwrap()
            .0
    }

    pub fn hearing_id(&self) -> String {
        self.state
            .key()
            .verify(&self.token("clerk"), unix_now())
            .unwrap()
            .hearing
    }

    pub async fn set_state(&self, from: HearingState, to: HearingState) {
        assert!(self
            .state
            .set_hearing_state(&self.hearing_id(), from, to)
            .await
            .unwrap());
    }

    pub async fn healthy(&self) -> bool {
        let mut s = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out.starts_with("HTTP/1.1 200")
    }
}

/// Sends one JSON message.
pub async fn send(ws: &mut Socket, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}
