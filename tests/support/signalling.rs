//! A participant's signalling WebSocket (`/ws`): JSON messages out, typed replies in.

use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// A client's WebSocket to the server.
pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long a test waits for the next message.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// One signalling connection.
pub struct Signalling {
    ws: Socket,
}

impl Signalling {
    /// Connects to `ws://addr/ws`.
    pub async fn connect(addr: SocketAddr) -> Self {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .unwrap();
        Self { ws }
    }

    /// Sends one JSON message.
    pub async fn send(&mut self, v: Value) {
        self.send_raw(Message::Text(v.to_string().into())).await;
    }

    /// Sends one frame as it is (junk included).
    pub async fn send_raw(&mut self, msg: Message) {
        self.ws.send(msg).await.unwrap();
    }

    /// Sends `join` with this invitation token.
    pub async fn send_join(&mut self, token: &str) {
        self.send(json!({"v": 1, "type": "join", "token": token}))
            .await;
    }

    /// Sends `check` with this invitation token.
    pub async fn send_check(&mut self, token: &str) {
        self.send(json!({"v": 1, "type": "check", "token": token}))
            .await;
    }

    /// Joins with `token`; returns the first reply that is not a broadcast (`welcome`, an
    /// error, ...).
    pub async fn join(&mut self, token: &str) -> Value {
        self.send_join(token).await;
        self.reply().await.expect("a reply to join")
    }

    /// The next JSON message, broadcasts (`roster`, `recording`) skipped; `None` once the
    /// socket closes. Panics if nothing comes within 10 s.
    pub async fn reply(&mut self) -> Option<Value> {
        self.next_where("reply in time", |v| {
            v["type"] != "roster" && v["type"] != "recording"
        })
        .await
    }

    /// The next message of type `want`, or any `error` (unless `want` is `roster`); others
    /// skipped. `None` once the socket closes. Panics if nothing fits within 10 s.
    pub async fn until(&mut self, want: &str) -> Option<Value> {
        let what = format!("no {want} in time");
        self.next_where(&what, |v| {
            v["type"] == want || (v["type"] == "error" && want != "roster")
        })
        .await
    }

    async fn next_where(&mut self, what: &str, fits: impl Fn(&Value) -> bool) -> Option<Value> {
        loop {
            let msg = tokio::time::timeout(REPLY_TIMEOUT, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("{what}"))?;
            match msg {
                Ok(Message::Text(t)) => {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    if fits(&v) {
                        return Some(v);
                    }
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }
}
