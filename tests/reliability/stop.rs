//! Graceful stop: `courtroom demo --hearings 3` recording three hearings, with 20 half-open
//! HTTP requests (a header line every second, never finished), idle WebSockets that never
//! join, and one joined participant's socket. SIGTERM must end the process within 5 s with
//! every recording sealed as `finalised`, and the participant's page must be told.

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::support::{self, process::DemoProcess};

/// A request whose head never ends: one header line a second, until `stop`.
fn half_open(addr: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let Ok(mut s) = TcpStream::connect(&addr) else {
            return;
        };
        let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: courtroom\r\n");
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_secs(1));
            if s.write_all(b"X-Slow: 1\r\n").is_err() {
                return;
            }
        }
    })
}

/// Every recording's manifest under `data`: (path, state).
fn manifests(data: &std::path::Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for hearing in std::fs::read_dir(data.join("recordings"))
        .unwrap()
        .flatten()
    {
        for rec in std::fs::read_dir(hearing.path()).unwrap().flatten() {
            let path = rec.path().join("manifest.json");
            let state = std::fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .and_then(|v| v["state"].as_str().map(str::to_owned))
                .unwrap_or_default();
            out.push((path.display().to_string(), state));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_seals_three_recordings_within_5_s_whatever_the_clients_do() {
    let _turn = support::one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("server.log");
    let mut demo = DemoProcess::start(
        env!("CARGO_BIN_EXE_courtroom"),
        &data,
        &log,
        &[
            "--hearings",
            "3",
            "--set",
            "capacity.hearings=3",
            "--set",
            "video.width=640",
            "--set",
            "video.height=360",
            "--set",
            "video.fps=10",
        ],
    );
    let hearings: std::collections::HashSet<&str> = demo
        .invites
        .iter()
        .filter_map(|i| i["hearing"].as_str())
        .collect();
    assert_eq!(hearings.len(), 3, "three demo hearings");

    // A participant's socket (joined, no media), and idle sockets that never join.
    let ws_url = format!("ws://{}/ws", demo.addr);
    let (mut joined, _) = tokio_tungstenite::connect_async(&ws_url).await.unwrap();
    let join = json!({"v": 1, "type": "join", "token": demo.token("plaintiff")});
    joined
        .send(Message::Text(join.to_string().into()))
        .await
        .unwrap();
    let mut idle = Vec::new();
    for _ in 0..5 {
        idle.push(tokio_tungstenite::connect_async(&ws_url).await.unwrap().0);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let slow: Vec<_> = (0..20)
        .map(|_| half_open(demo.addr.clone(), stop.clone()))
        .collect();
    // Let the recordings get going and the half-open requests send a few lines.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(demo.server.is_running());

    let asked = Instant::now();
    let status = tokio::task::block_in_place(|| demo.server.terminate());
    let took = asked.elapsed();
    stop.store(true, Ordering::Relaxed);
    let log_tail = support::log_tail(&log, 6000);
    assert!(status.success(), "exit status {status:?}; log:\n{log_tail}");
    assert!(
        took < Duration::from_secs(5),
        "{:.1} s from SIGTERM to exit; log:\n{log_tail}",
        took.as_secs_f64()
    );
    let sealed = manifests(&data);
    assert_eq!(sealed.len(), 3, "{sealed:?}");
    for (path, state) in &sealed {
        assert_eq!(state, "finalised", "{path}");
    }
    println!(
        "SIGTERM to exit: {:.2} s, {} recordings finalised",
        took.as_secs_f64(),
        sealed.len()
    );

    // The participant's page was told before its socket closed.
    let mut told = false;
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_secs(2), joined.next()).await
    {
        if let Message::Text(t) = msg {
            told |= serde_json::from_str::<Value>(&t).unwrap()["type"] == "stopping";
        }
    }
    assert!(told, "the joined socket got no `stopping`");
    for t in slow {
        t.join().unwrap();
    }
}
