//! A minimal client of Chromium's DevTools protocol, on the browser's loopback WebSocket (see
//! [`super::chromium::Chromium::launch_debuggable`]): open pages, run scripts in them, wait for a
//! condition, take screenshots. No npm.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::signalling::Socket;

/// A minimal DevTools protocol client on the browser's WebSocket (flattened sessions).
pub struct Cdp {
    ws: Socket,
    next: u64,
}

impl Cdp {
    pub async fn connect(url: &str) -> Self {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        Self { ws, next: 0 }
    }

    pub async fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.ws
            .send(Message::Text(msg.to_string().into()))
            .await
            .unwrap();
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(60), self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("no answer to {method}"))
                .unwrap()
                .unwrap();
            let Message::Text(text) = frame else { continue };
            let v: Value = serde_json::from_str(&text).unwrap();
            if v["id"] == id {
                if let Some(e) = v.get("error") {
                    panic!("{method} failed: {e}");
                }
                return v["result"].clone();
            }
        }
    }

    /// Opens a page on `url`; returns its session id.
    pub async fn open(&mut self, url: &str) -> String {
        let target = self
            .call(None, "Target.createTarget", json!({ "url": url }))
            .await["targetId"]
            .clone();
        let session = self
            .call(
                None,
                "Target.attachToTarget",
                json!({ "targetId": target, "flatten": true }),
            )
            .await["sessionId"]
            .as_str()
            .unwrap()
            .to_owned();
        session
    }

    /// Opens a page that runs `script` before any of its own scripts (on every document it
    /// loads), then goes to `url`; returns its session id. The page's Content-Security-Policy
    /// is bypassed.
    pub async fn open_with_script(&mut self, url: &str, script: &str) -> String {
        let session = self.open("about:blank").await;
        self.call(Some(&session), "Page.enable", json!({})).await;
        // The script may talk to the test (the relay's control port), which the page's
        // Content-Security-Policy would refuse.
        self.call(
            Some(&session),
            "Page.setBypassCSP",
            json!({ "enabled": true }),
        )
        .await;
        self.call(
            Some(&session),
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": script }),
        )
        .await;
        self.call(Some(&session), "Page.navigate", json!({ "url": url }))
            .await;
        session
    }

    /// Evaluates `expr` in the page (awaiting promises); returns its JSON value.
    pub async fn eval(&mut self, session: &str, expr: &str) -> Value {
        let r = self
            .call(
                Some(session),
                "Runtime.evaluate",
                json!({ "expression": expr, "awaitPromise": true, "returnByValue": true }),
            )
            .await;
        if let Some(e) = r.get("exceptionDetails") {
            panic!("page threw on {expr}: {e}");
        }
        r["result"]["value"].clone()
    }

    /// Polls `expr` until it is truthy; returns its value.
    pub async fn wait(&mut self, session: &str, expr: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let v = self
                .call(
                    Some(session),
                    "Runtime.evaluate",
                    json!({ "expression": expr, "awaitPromise": true, "returnByValue": true }),
                )
                .await;
            let value = v["result"]["value"].clone();
            let truthy = !matches!(value, Value::Null | Value::Bool(false))
                && value != json!("")
                && value != json!(0);
            if truthy && v.get("exceptionDetails").is_none() {
                return value;
            }
            if Instant::now() > deadline {
                let page = self
                    .eval(session, "document.body ? document.body.innerText : ''")
                    .await;
                panic!("timed out waiting for {expr}; page shows:\n{page}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn screenshot(&mut self, session: &str, name: &str) {
        let Some(dir) = std::env::var_os("PORTAL_SCREENSHOT_DIR") else {
            return;
        };
        use base64::Engine;
        let shot = self
            .call(
                Some(session),
                "Page.captureScreenshot",
                json!({ "format": "png" }),
            )
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        std::fs::write(PathBuf::from(dir).join(name), png).unwrap();
    }
}
