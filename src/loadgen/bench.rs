//! `courtroom bench hearing`: runs a real server as a child process (`courtroom demo` with H
//! hearings, recording on), loads each hearing with P synthetic participants for S seconds, and
//! reports CPU, memory, late ticks, pipeline latency and time to first frame as JSON.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use super::client::{self, ClientReport};
use super::clip::Clip;
use super::cores::{self, CorePlan};
use super::LoadgenError;

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// The `courtroom` executable to start.
    pub exe: PathBuf,
    /// Hearings at once.
    pub hearings: usize,
    /// Synthetic participants per hearing (at most 6: the demo's invitations; 0: idle).
    pub participants: usize,
    /// Hearings (the last ones) that get one participant instead: quiet hearings beside
    /// busy ones.
    pub light: usize,
    /// Seconds of load, after joining.
    pub seconds: u64,
    /// Output width.
    pub width: u32,
    /// Output height.
    pub height: u32,
    /// Output frame rate.
    pub fps: u32,
    /// The node sheds pictures evenly across its hearings when behind
    /// (`capacity.shed_evenly`); `false` for the comparison.
    pub shed_evenly: bool,
    /// More server settings, `KEY=VALUE` as `--set` takes them (for paired comparisons, such
    /// as `video.still_frame_ms=0`).
    pub settings: Vec<String>,
    /// Run the server and the clients on cores of their own where the machine has four or
    /// more ([`CorePlan`]); this pins every thread of the calling process.
    pub pin: bool,
}

/// Latency percentiles, milliseconds.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Spread {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
}

impl Spread {
    /// Widens each percentile to the one in `monitor` (the monitor's `{p50, p95, p99}`, or
    /// `null` before any sample): the worst hearing's.
    fn widen(&mut self, monitor: &Value) {
        let at = |k: &str| monitor[k].as_f64().unwrap_or(0.0);
        self.p50 = self.p50.max(at("p50"));
        self.p95 = self.p95.max(at("p95"));
        self.p99 = self.p99.max(at("p99"));
    }
}

/// The figures of one run.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Hearings at once.
    pub hearings: usize,
    /// Participants per hearing.
    pub participants_per_hearing: usize,
    /// `WxH@fps`.
    pub output: String,
    /// The server's render adapter.
    pub adapter: String,
    /// Server CPU seconds per wall second, divided by the hearings.
    pub cpu_cores_per_hearing: f64,
    /// Server resident memory divided by the hearings.
    pub rss_mb_per_hearing: f64,
    /// Compositor ticks that missed their deadline, over all ticks in the window.
    pub frames_late_ratio: f64,
    /// Camera frame arrival to encoded composite, worst hearing's percentiles.
    pub pipeline_latency_ms: Spread,
    /// Of it, from the tick's start to the encoded composite: drawing and encoding (the rest
    /// is the camera frame's wait for its tick and, for lip sync, its sound).
    pub tick_to_encoded_ms: Spread,
    /// Join to first composite packet, over all participants.
    pub first_frame_ms: Spread,
    /// Participants that failed to join or publish.
    pub clients_failed: usize,
    /// Composite frames received per participant per second (should be near the frame rate).
    pub received_fps: f64,
    /// Whether the node shed pictures evenly (`capacity.shed_evenly`).
    pub shed_evenly: bool,
    /// Pictures each hearing rendered per second (its ticks less those shed for the node's
    /// pace and those skipped when behind).
    pub rendered_fps: Vec<f64>,
    /// The best hearing's rendered rate over the worst's (1: even).
    pub rendered_fps_spread: f64,
    /// Ticks whose picture was shed for the node's pace, over all ticks.
    pub shed_ratio: f64,
    /// The slowest and the fastest participant's composite clock: seconds of RTP timestamps
    /// per second received (1: the timestamps follow real time, also while shedding).
    pub composite_clock_ratio: [f64; 2],
    /// CPU the synthetic clients took (this process), in cores, over the measured window: on
    /// a machine where they share the server's cores, that much was not the server's.
    pub clients_cpu_cores: f64,
    /// The machine's cores.
    pub machine_cores: usize,
    /// The cores the server and the clients ran on, when they were kept apart.
    pub cores: Option<CorePlan>,
}

/// Runs one measurement.
pub async fn run(cfg: &BenchConfig) -> Result<BenchReport, LoadgenError> {
    let dir = tempfile::tempdir().map_err(|e| LoadgenError::Server(e.to_string()))?;
    let port = free_port()?;
    let addr = format!("127.0.0.1:{port}");
    let plan = if cfg.pin {
        CorePlan::for_this_machine()
    } else {
        None
    };
    if let Some(plan) = &plan {
        plan.pin_clients()
            .map_err(|e| LoadgenError::Server(format!("cannot pin the clients: {e}")))?;
    }
    let mut server = Server::spawn(cfg, plan.as_ref(), dir.path(), &addr)?;
    server.wait_healthy(&addr).await?;
    let invitations: Vec<Value> = serde_json::from_slice(
        &std::fs::read(dir.path().join("demo-invitations.json"))
            .map_err(|e| LoadgenError::Server(e.to_string()))?,
    )
    .map_err(|e| LoadgenError::Server(e.to_string()))?;
    let mut by_hearing: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for inv in invitations.into_iter().filter(|i| i["role"] != "public") {
        by_hearing
            .entry(inv["hearing"].as_str().unwrap_or_default().to_owned())
            .or_default()
            .push(inv);
    }
    let clip = Arc::new(
        tokio::task::spawn_blocking(|| Clip::synthetic(4, [200, 60, 40]))
            .await
            .map_err(|e| LoadgenError::Clip(e.to_string()))??,
    );
    let ws_url = format!("ws://{addr}/ws");
    let token = |inv: &Value| {
        inv["url"]
            .as_str()
            .and_then(|u| u.split("t=").nth(1))
            .unwrap_or_default()
            .to_owned()
    };
    let clerk_tokens: Vec<String> = by_hearing
        .values()
        .filter_map(|invs| invs.iter().find(|i| i["role"] == "clerk").map(token))
        .collect();
    let mut clients = Vec::new();
    let busy = by_hearing.len().saturating_sub(cfg.light);
    for (n, invs) in by_hearing.values().enumerate() {
        // Bench and parties first; the clerk last.
        let mut ordered: Vec<&Value> = invs.iter().filter(|i| i["role"] != "clerk").collect();
        ordered.extend(invs.iter().filter(|i| i["role"] == "clerk"));
        let people = if n < busy {
            cfg.participants
        } else {
            cfg.participants.min(1)
        };
        for inv in ordered.into_iter().take(people) {
            let (ws_url, token, clip) = (ws_url.clone(), token(inv), clip.clone());
            let secs = cfg.seconds + 3;
            clients.push(tokio::spawn(async move {
                client::run(
                    &ws_url,
                    &token,
                    clip,
                    Duration::from_secs(secs),
                    IpAddr::from([127, 0, 0, 1]),
                )
                .await
            }));
        }
    }
    // Measure the steady state: from 3 s after the joins to the end.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let cpu0 = server.cpu_seconds()?;
    let me = std::process::id();
    let own0 = cores::cpu_seconds(me).unwrap_or(0.0);
    let mon0 = monitors(&addr, &clerk_tokens).await;
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(cfg.seconds)).await;
    let cpu1 = server.cpu_seconds()?;
    let own1 = cores::cpu_seconds(me).unwrap_or(0.0);
    let wall = t0.elapsed().as_secs_f64();
    let mon1 = monitors(&addr, &clerk_tokens).await;
    let rss_mb = server.rss_mb()?;
    let mut reports: Vec<ClientReport> = Vec::new();
    for c in clients {
        reports.push(c.await.unwrap_or_else(|e| ClientReport {
            error: Some(e.to_string()),
            ..Default::default()
        }));
    }
    server.stop();

    let (mut ticks, mut late, mut shed) = (0u64, 0u64, 0u64);
    let mut rendered_fps = Vec::new();
    let mut latency = Spread::default();
    let mut from_tick = Spread::default();
    let mut adapter = String::new();
    for (a, b) in mon0.iter().zip(&mon1) {
        let get = |m: &Value, k: &str| m["compositor"][k].as_u64().unwrap_or(0);
        let delta = |k: &str| get(b, k).saturating_sub(get(a, k));
        ticks += delta("ticks");
        late += delta("late");
        shed += delta("shed");
        rendered_fps.push(delta("ticks").saturating_sub(delta("shed")) as f64 / wall);
        latency.widen(&b["compositor"]["pipeline_latency_ms"]);
        from_tick.widen(&b["compositor"]["tick_to_encoded_ms"]);
        adapter = b["adapter"].as_str().unwrap_or_default().to_owned();
    }
    let mut firsts: Vec<f64> = reports.iter().filter_map(|r| r.first_frame_ms).collect();
    firsts.sort_by(f64::total_cmp);
    let pick = |v: &[f64], q: f64| {
        if v.is_empty() {
            0.0
        } else {
            v[((v.len() - 1) as f64 * q).round() as usize]
        }
    };
    let ok: Vec<&ClientReport> = reports.iter().filter(|r| r.error.is_none()).collect();
    let received_fps = if ok.is_empty() {
        0.0
    } else {
        ok.iter().map(|r| r.composite_frames as f64).sum::<f64>()
            / ok.len() as f64
            / (cfg.seconds + 3) as f64
    };
    let clocks: Vec<f64> = ok.iter().filter_map(|r| r.composite_clock_ratio).collect();
    let composite_clock_ratio = [
        clocks.iter().copied().fold(f64::NAN, f64::min),
        clocks.iter().copied().fold(f64::NAN, f64::max),
    ];
    for r in reports.iter().filter(|r| r.error.is_some()) {
        tracing::warn!(role = %r.role, "client failed: {}", r.error.as_deref().unwrap_or_default());
    }
    let h = cfg.hearings.max(1) as f64;
    Ok(BenchReport {
        hearings: cfg.hearings,
        participants_per_hearing: cfg.participants,
        output: format!("{}x{}@{}", cfg.width, cfg.height, cfg.fps),
        adapter,
        cpu_cores_per_hearing: (cpu1 - cpu0) / wall / h,
        rss_mb_per_hearing: rss_mb / h,
        frames_late_ratio: if ticks == 0 {
            1.0
        } else {
            late as f64 / ticks as f64
        },
        pipeline_latency_ms: latency,
        tick_to_encoded_ms: from_tick,
        first_frame_ms: Spread {
            p50: pick(&firsts, 0.5),
            p95: pick(&firsts, 0.95),
            p99: pick(&firsts, 0.99),
        },
        clients_failed: reports.len() - ok.len(),
        received_fps,
        shed_evenly: cfg.shed_evenly,
        rendered_fps_spread: spread_of(&rendered_fps),
        rendered_fps,
        shed_ratio: if ticks == 0 {
            0.0
        } else {
            shed as f64 / ticks as f64
        },
        composite_clock_ratio,
        clients_cpu_cores: (own1 - own0) / wall,
        machine_cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        cores: plan,
    })
}

/// The largest over the smallest (1 for fewer than two; infinite when one is 0).
fn spread_of(rates: &[f64]) -> f64 {
    let max = rates.iter().copied().fold(f64::MIN, f64::max);
    let min = rates.iter().copied().fold(f64::MAX, f64::min);
    if rates.len() < 2 {
        1.0
    } else if min <= 0.0 {
        f64::INFINITY
    } else {
        max / min
    }
}

impl BenchReport {
    /// Whether the node held this load: at most 1 % of ticks late, at most 1 % of pictures
    /// shed for the node's pace (a node that keeps its ticks on time by shedding pictures is
    /// not holding its hearings at full rate), and every client joined.
    pub fn holds(&self) -> bool {
        self.frames_late_ratio <= 0.01 && self.shed_ratio <= 0.01 && self.clients_failed == 0
    }
}

/// Runs with H = 1, 2, ... until a run does not hold ([`BenchReport::holds`]); returns every
/// run.
pub async fn find_max(cfg: &BenchConfig, limit: usize) -> Result<Vec<BenchReport>, LoadgenError> {
    let mut runs = Vec::new();
    for h in 1..=limit {
        let report = run(&BenchConfig {
            hearings: h,
            ..cfg.clone()
        })
        .await?;
        let over = !report.holds();
        runs.push(report);
        if over {
            break;
        }
    }
    Ok(runs)
}

async fn monitors(addr: &str, tokens: &[String]) -> Vec<Value> {
    let mut out = Vec::new();
    for t in tokens {
        out.push(
            http_get_json(addr, "/api/hearing/monitor", Some(t))
                .await
                .unwrap_or(Value::Null),
        );
    }
    out
}

async fn http_get_json(
    addr: &str,
    path: &str,
    bearer: Option<&str>,
) -> Result<Value, LoadgenError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let e = |e: &dyn std::fmt::Display| LoadgenError::Server(e.to_string());
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|x| e(&x))?;
    let auth = bearer
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n{auth}\r\n").as_bytes())
        .await
        .map_err(|x| e(&x))?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.map_err(|x| e(&x))?;
    let text = String::from_utf8_lossy(&buf);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    serde_json::from_str(body).map_err(|x| e(&x))
}

pub(super) fn free_port() -> Result<u16, LoadgenError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| LoadgenError::Server(e.to_string()))?;
    Ok(l.local_addr()
        .map_err(|e| LoadgenError::Server(e.to_string()))?
        .port())
}

pub(super) struct Server {
    child: Child,
}

impl Server {
    pub(super) fn spawn(
        cfg: &BenchConfig,
        plan: Option<&CorePlan>,
        data: &Path,
        addr: &str,
    ) -> Result<Self, LoadgenError> {
        let log = std::fs::File::create(data.join("server.log"))
            .map_err(|e| LoadgenError::Server(e.to_string()))?;
        let mut command = Command::new(&cfg.exe);
        command
            .args([
                "demo",
                "--hearings",
                &cfg.hearings.to_string(),
                "--listen",
                addr,
                "--data",
            ])
            .arg(data)
            .args(["--set", &format!("video.width={}", cfg.width)])
            .args(["--set", &format!("video.height={}", cfg.height)])
            .args(["--set", &format!("video.fps={}", cfg.fps)])
            // The hearings' own cost, comparable with runs before the public gallery: the
            // demo's broadcast is measured by `bench broadcast`.
            .args(["--set", "broadcast.demo_on_air=false"])
            // The bench looks for the node's limit itself: admission control must not.
            .args([
                "--set",
                &format!("capacity.hearings={}", cfg.hearings.max(1)),
            ])
            .args(["--set", "capacity.participants=1000"])
            .args([
                "--set",
                &format!("capacity.shed_evenly={}", cfg.shed_evenly),
            ])
            .args(cfg.settings.iter().flat_map(|s| ["--set", s.as_str()]))
            .stdin(Stdio::null())
            .stdout(
                log.try_clone()
                    .map_err(|e| LoadgenError::Server(e.to_string()))?,
            )
            .stderr(log);
        if let Some(plan) = plan {
            plan.pin_server(&mut command);
        }
        let child = command.spawn().map_err(|e| {
            LoadgenError::Server(format!("cannot start {}: {e}", cfg.exe.display()))
        })?;
        Ok(Self { child })
    }

    pub(super) async fn wait_healthy(&mut self, addr: &str) -> Result<(), LoadgenError> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(LoadgenError::Server(format!("server exited: {status}")));
            }
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(LoadgenError::Server(
            "server not listening within 60 s".into(),
        ))
    }

    /// User plus system CPU seconds of the server process.
    pub(super) fn cpu_seconds(&self) -> Result<f64, LoadgenError> {
        cores::cpu_seconds(self.child.id()).map_err(|e| LoadgenError::Server(e.to_string()))
    }

    pub(super) fn rss_mb(&self) -> Result<f64, LoadgenError> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .map_err(|e| LoadgenError::Server(e.to_string()))?;
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        Ok(kb / 1024.0)
    }

    pub(super) fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
