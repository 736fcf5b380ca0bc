//! `courtroom bench broadcast`: runs a real server (`courtroom demo`: one public hearing,
//! broadcasting) and loads its broadcast with N simulated HLS players on loopback, as hls.js
//! plays a live stream and the watch page counts it: each fetches the playlist (the same URL
//! for all) about every half segment, then the init segment once and every new media segment,
//! and says it is watching (`POST /api/watch/{id}/watching`, its own viewer id) every 5 s as
//! the page does. For each N (0 first,
//! the baseline of the same run) it reports the server's CPU and memory, the requests served
//! and refused, whether every player kept up, and the viewers the server counted, as JSON.
//!
//! Loopback has no bandwidth limit, so this measures the server's cost per viewer, not a
//! network's; a CDN in front carries the bytes in production.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use super::bench::{free_port, BenchConfig, Server};
use super::LoadgenError;

/// What to run.
#[derive(Debug, Clone)]
pub struct BroadcastBenchConfig {
    /// The `courtroom` executable to start.
    pub exe: PathBuf,
    /// Player counts measured one after another (0, the baseline, is added first).
    pub viewers: Vec<usize>,
    /// Seconds measured per count (after the players' first fetches).
    pub seconds: u64,
    /// Output width.
    pub width: u32,
    /// Output height.
    pub height: u32,
    /// Output frame rate.
    pub fps: u32,
}

/// The figures for one number of players.
#[derive(Debug, Clone, Serialize)]
pub struct BroadcastLoad {
    /// Players.
    pub viewers: usize,
    /// Server CPU seconds per wall second over the window.
    pub cpu_cores: f64,
    /// Server CPU over the baseline's (no players) in the same run.
    pub cpu_vs_baseline: f64,
    /// Server resident memory at the end of the window.
    pub rss_mb: f64,
    /// Playlist requests per second served.
    pub playlists_per_s: f64,
    /// Segment requests per second served.
    pub segments_per_s: f64,
    /// Megabytes per second sent to the players.
    pub mb_per_s: f64,
    /// Requests that failed or were not 200.
    pub errors: u64,
    /// Players that got no new segment for more than three segment lengths at some point.
    pub players_stalled: usize,
    /// The viewers the server counted (`/api/watch`) at the end.
    pub server_counted: u64,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct BroadcastReport {
    /// `WxH@fps`.
    pub output: String,
    /// Seconds per count.
    pub seconds: u64,
    /// The machine's cores.
    pub machine_cores: usize,
    /// One entry per player count, the baseline first.
    pub loads: Vec<BroadcastLoad>,
}

#[derive(Default)]
struct Counters {
    playlists: AtomicU64,
    segments: AtomicU64,
    bytes: AtomicU64,
    errors: AtomicU64,
}

/// Runs the benchmark.
pub async fn run(cfg: &BroadcastBenchConfig) -> Result<BroadcastReport, LoadgenError> {
    let err = |e: &dyn std::fmt::Display| LoadgenError::Server(e.to_string());
    let dir = tempfile::tempdir().map_err(|e| err(&e))?;
    let addr = format!("127.0.0.1:{}", free_port()?);
    let bench = BenchConfig {
        exe: cfg.exe.clone(),
        hearings: 1,
        participants: 0,
        light: 0,
        seconds: cfg.seconds,
        width: cfg.width,
        height: cfg.height,
        fps: cfg.fps,
        shed_evenly: true,
        // The demo's public hearing on air at once (the hearing bench keeps it off).
        settings: vec!["broadcast.demo_on_air=true".into()],
        pin: false,
    };
    let mut server = Server::spawn(&bench, None, dir.path(), &addr)?;
    server.wait_healthy(&addr).await?;
    let invitations: Vec<Value> = serde_json::from_slice(
        &std::fs::read(dir.path().join("demo-invitations.json")).map_err(|e| err(&e))?,
    )
    .map_err(|e| err(&e))?;
    let hearing = invitations
        .iter()
        .find(|i| i["role"] == "public")
        .and_then(|i| i["hearing"].as_str())
        .ok_or_else(|| LoadgenError::Server("the demo has no public hearing".into()))?
        .to_owned();
    let base = format!("http://{addr}");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(usize::MAX)
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| err(&e))?;
    // The first segments take a few seconds.
    let playlist = format!("{base}/live/{hearing}/index.m3u8");
    let ready = Instant::now();
    while http
        .get(&playlist)
        .send()
        .await
        .map(|r| !r.status().is_success())
        .unwrap_or(true)
    {
        if ready.elapsed() > Duration::from_secs(60) {
            return Err(LoadgenError::Server(
                "no broadcast playlist within 60 s".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut counts = vec![0];
    counts.extend(cfg.viewers.iter().copied().filter(|&n| n > 0));
    let mut loads: Vec<BroadcastLoad> = Vec::new();
    for viewers in counts {
        // Let the viewer window forget the last count's players first.
        if loads.last().is_some_and(|l| l.viewers > 0) {
            tokio::time::sleep(crate::hearing::gallery::VIEWER_WINDOW).await;
        }
        let counters = Arc::new(Counters::default());
        let stop = Instant::now() + Duration::from_secs(cfg.seconds + 3);
        let players: Vec<_> = (0..viewers)
            .map(|n| {
                let http = http.clone();
                let base = base.clone();
                let hearing = hearing.clone();
                let counters = counters.clone();
                tokio::spawn(async move {
                    // Spread the players' phases over a second, as real viewers arrive.
                    tokio::time::sleep(Duration::from_millis((n as u64 * 997) % 1000)).await;
                    play(&http, &base, &hearing, n, stop, &counters).await
                })
            })
            .collect();
        // Measured after the players' first fetches.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let (cpu0, t0) = (server.cpu_seconds()?, Instant::now());
        let (p0, s0, b0) = (
            counters.playlists.load(Ordering::Relaxed),
            counters.segments.load(Ordering::Relaxed),
            counters.bytes.load(Ordering::Relaxed),
        );
        tokio::time::sleep(Duration::from_secs(cfg.seconds)).await;
        let wall = t0.elapsed().as_secs_f64();
        let cpu = (server.cpu_seconds()? - cpu0) / wall;
        let rss_mb = server.rss_mb()?;
        let watch = http
            .get(format!("{base}/api/watch/{hearing}"))
            .send()
            .await
            .map_err(|e| err(&e))?
            .bytes()
            .await
            .map_err(|e| err(&e))?;
        let counted = serde_json::from_slice::<Value>(&watch).map_err(|e| err(&e))?["viewers"]
            .as_u64()
            .unwrap_or(0);
        let mut stalled = 0;
        for p in players {
            if p.await.unwrap_or(true) {
                stalled += 1;
            }
        }
        let per_s = |now: u64, then: u64| (now - then) as f64 / wall;
        let baseline = loads.first().map_or(cpu, |l| l.cpu_cores);
        loads.push(BroadcastLoad {
            viewers,
            cpu_cores: round3(cpu),
            cpu_vs_baseline: round3(if baseline > 0.0 { cpu / baseline } else { 1.0 }),
            rss_mb: round3(rss_mb),
            playlists_per_s: round3(per_s(counters.playlists.load(Ordering::Relaxed), p0)),
            segments_per_s: round3(per_s(counters.segments.load(Ordering::Relaxed), s0)),
            mb_per_s: round3(per_s(counters.bytes.load(Ordering::Relaxed), b0) / 1e6),
            errors: counters.errors.load(Ordering::Relaxed),
            players_stalled: stalled,
            server_counted: counted,
        });
        tracing::info!(viewers, cpu, "broadcast load measured");
    }
    server.stop();
    Ok(BroadcastReport {
        output: format!("{}x{}@{}", cfg.width, cfg.height, cfg.fps),
        seconds: cfg.seconds,
        machine_cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        loads,
    })
}

/// How often a player says it is watching (as the watch page does).
const WATCHING_EVERY: Duration = Duration::from_secs(5);

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// One player until `stop`: returns whether it stalled (no new segment for more than three
/// segment lengths after its first one).
async fn play(
    http: &reqwest::Client,
    base: &str,
    hearing: &str,
    n: usize,
    stop: Instant,
    counters: &Counters,
) -> bool {
    let viewer = format!("bench{n:08x}");
    let playlist = format!("{base}/live/{hearing}/index.m3u8");
    let watching = format!("{base}/api/watch/{hearing}/watching");
    let mut said_at: Option<Instant> = None;
    let mut fetched: BTreeSet<String> = BTreeSet::new();
    let mut init_fetched = false;
    let mut last_new: Option<Instant> = None;
    let mut stalled = false;
    // A player reloads the playlist on a schedule (hls.js: about once per target duration
    // of a live window), not a second after its last fetch ended: on a loaded machine the
    // fetch's own time would otherwise lower the rate measured.
    let mut reload = tokio::time::interval(Duration::from_secs(1));
    reload.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while Instant::now() < stop {
        reload.tick().await;
        if Instant::now() >= stop {
            break;
        }
        if said_at.is_none_or(|t| t.elapsed() >= WATCHING_EVERY) {
            said_at = Some(Instant::now());
            let said = http
                .post(&watching)
                .header("content-type", "application/json")
                .body(format!("{{\"viewer\":\"{viewer}\"}}"))
                .send()
                .await;
            if !said.is_ok_and(|r| r.status().is_success()) {
                counters.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        let text = match get(http, &playlist, counters).await {
            Some(body) => {
                counters.playlists.fetch_add(1, Ordering::Relaxed);
                String::from_utf8_lossy(&body).into_owned()
            }
            None => continue,
        };
        let dir = format!("{base}/live/{hearing}/");
        if !init_fetched {
            if let Some(uri) = text
                .lines()
                .find_map(|l| l.split_once("URI=\"").map(|(_, r)| r.trim_end_matches('"')))
            {
                init_fetched = get(http, &format!("{dir}{uri}"), counters).await.is_some();
            }
        }
        // A live player starts near the end of the window: the last two segments.
        let uris: Vec<&str> = text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        let start = if fetched.is_empty() {
            uris.len().saturating_sub(2)
        } else {
            0
        };
        for uri in &uris[start..] {
            if fetched.insert((*uri).to_owned()) {
                if get(http, &format!("{dir}{uri}"), counters).await.is_some() {
                    counters.segments.fetch_add(1, Ordering::Relaxed);
                }
                last_new = Some(Instant::now());
            }
        }
        if last_new.is_some_and(|t| t.elapsed() > Duration::from_secs(6)) {
            stalled = true;
        }
    }
    stalled
}

/// `GET url`: the body, or `None` (counted as an error) for a failure or a status not 200.
async fn get(http: &reqwest::Client, url: &str, counters: &Counters) -> Option<Vec<u8>> {
    match http.get(url).send().await {
        Ok(r) if r.status().is_success() => match r.bytes().await {
            Ok(b) => {
                counters.bytes.fetch_add(b.len() as u64, Ordering::Relaxed);
                Some(b.to_vec())
            }
            Err(_) => {
                counters.errors.fetch_add(1, Ordering::Relaxed);
                None
            }
        },
        _ => {
            counters.errors.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}
