//! Churn: synthetic participants (the load generator's WebRTC client, in this process) join,
//! publish for a moment and leave, three seats at a time, over and over during one recording.
//! Afterwards the process holds no more threads or file descriptors than after the first
//! cycles (within a small margin), its memory has not grown by more than 10 % since the
//! first tenth of the run (at least 10 cycles: glibc's arenas fill meanwhile), and the
//! recording seals and verifies, listing every original, also those closed when their sender
//! left.
//!
//! `CHURN_CYCLES` sets the number of cycles (default 30); `CHURN_CSV` names a file for the
//! curve (cycle, threads, fds, RSS).

use std::sync::Arc;
use std::time::{Duration, Instant};

use courtroom::loadgen::{client, clip::Clip};
use courtroom::record::RecordingState;

use crate::resources::{curve_csv, usage, Usage};
use crate::support::{self, TestApp};

/// The seats that come and go; each cycle seats all three at once.
const SEATS: [&str; 3] = ["plaintiff", "defendant", "assessor_left"];
/// How long each participant publishes before leaving.
const STAY: Duration = Duration::from_millis(800);
/// Cycles whose growth counts as warming up (thread pools, caches made on first use).
const WARM_UP: usize = 3;
/// Cycles after which memory is the baseline (or a tenth of the run, if more): the allocator's
/// arenas fill over the first ones.
const WARM_UP_RSS: usize = 10;
/// Threads and file descriptors allowed above the warmed-up baseline at the end.
const MARGIN: usize = 8;

fn cycles() -> usize {
    std::env::var("CHURN_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30)
        .max(WARM_UP_RSS + 1)
}

fn within(u: &Usage, base: &Usage) -> bool {
    u.threads <= base.threads + MARGIN && u.fds <= base.fds + MARGIN
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn churn_during_a_recording_gives_back_threads_fds_and_memory() {
    let _turn = support::one_at_a_time();
    // The allocator as the binary sets it up.
    courtroom::malloc::limit_arenas();
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .try_init();
    }
    let n = cycles();
    let app = TestApp::demo().await;
    let live = app.state.hearing(&app.demo_hearing_id()).await.unwrap();
    let l = live.clone();
    tokio::task::spawn_blocking(move || l.start_recording())
        .await
        .unwrap()
        .unwrap();
    let clip = Arc::new(
        tokio::task::spawn_blocking(|| Clip::synthetic(1, [200, 60, 40]))
            .await
            .unwrap()
            .unwrap(),
    );
    let ws = format!("ws://{}/ws", app.addr);
    let tokens: Vec<String> = SEATS.iter().map(|s| app.token(s)).collect();
    let started = Instant::now();
    let mut curve = vec![usage(None)];
    for cycle in 0..n {
        let mut clients = Vec::new();
        for token in &tokens {
            let (ws, token, clip) = (ws.clone(), token.clone(), clip.clone());
            clients.push(tokio::spawn(async move {
                client::run(&ws, &token, clip, STAY, [127, 0, 0, 1].into()).await
            }));
        }
        for c in clients {
            let report = c.await.unwrap();
            assert!(report.error.is_none(), "cycle {cycle}: {report:?}");
        }
        // The leaves have reached the server; let their sessions end.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !live.roster().is_empty() {
            assert!(
                Instant::now() < deadline,
                "cycle {cycle}: seats not emptied: {:?}; so far {curve:?}",
                live.roster()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        curve.push(usage(None));
    }
    let base = curve[WARM_UP];
    let rss_from = WARM_UP_RSS.max(n / 10);
    let heap_base = curve[rss_from].heap_mb;
    // 5 %, and 4 MB for the manifest and logs that grow with the recording.
    let heap_limit = heap_base * 1.05 + 4.0;
    let rss_plateau = curve[rss_from..=(n / 2).max(rss_from)]
        .iter()
        .map(|u| u.rss_mb)
        .fold(0.0, f64::max);
    let settled =
        |u: &Usage| within(u, &base) && u.heap_mb <= heap_limit && u.rss_mb <= rss_plateau * 1.10;
    // Closing is asynchronous (peer connections, pipelines, idle pool threads, the freed
    // memory given back after a quiet moment): give it time.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut end = usage(None);
    while !settled(&end) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        end = usage(None);
    }
    let took = started.elapsed();
    let rows = curve.iter().enumerate().map(|(i, u)| (i.to_string(), *u));
    let csv = curve_csv("cycle", rows, &end, "CHURN_CSV");
    println!("{n} cycles in {:.0} s\n{csv}", took.as_secs_f64());
    assert!(
        within(&end, &base),
        "after {n} cycles the process holds {end:?}, against {base:?} after {WARM_UP}:\n{csv}"
    );
    assert!(
        end.heap_mb <= heap_limit,
        "the heap grew by more than 5 % from cycle {rss_from} to {n}:\n{csv}"
    );
    assert!(
        end.rss_mb <= rss_plateau * 1.10,
        "memory grew by more than 10 % over the highest of cycles {rss_from} to {}:\n{csv}",
        (n / 2).max(rss_from)
    );

    let l = live.clone();
    let manifest = tokio::task::spawn_blocking(move || l.stop_recording())
        .await
        .unwrap()
        .unwrap()
        .expect("a recording ran");
    assert_eq!(manifest.state, RecordingState::Finalised);
    let sessions = n * SEATS.len();
    assert!(
        manifest.originals.len() >= sessions,
        "{} originals listed for {sessions} sessions",
        manifest.originals.len()
    );
    crate::assert_recording_verifies(&app, &manifest);
}
