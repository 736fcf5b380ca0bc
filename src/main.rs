//! The `courtroom` binary: parses flags, loads settings, starts tracing, and runs a subcommand.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use courtroom::config::{Settings, Sources};

#[path = "main/render.rs"]
mod render_command;

use render_command::{render, RenderArgs};

/// A virtual courtroom media server: keyed participants in a rendered 3D courtroom, encoded
/// once, sent to everyone and recorded as evidence.
#[derive(Parser)]
#[command(name = "courtroom", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve hearings over HTTP, WebSocket signalling and WebRTC.
    Serve(Common),
    /// Serve, and create a demo hearing with one invitation per role, recording from the start.
    Demo(DemoArgs),
    /// Publish synthetic participants over real WebRTC to a running server (load testing).
    Loadgen(LoadgenArgs),
    /// Benchmarks that print their figures as JSON.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Render a still of the courtroom with given people, to a PNG.
    Render(RenderArgs),
    /// Key a green-screen picture with the compositor's keyer: RGB PNG in, RGBA PNG out
    /// (straight alpha, despilled colour).
    Key(KeyArgs),
    /// Portal accounts: `admin create-user NAME` (password on standard input), `list-users`,
    /// `verify-audit`.
    Admin(courtroom::api::admin::AdminArgs),
    /// Check recordings: every segment's hash, the hash chain and the manifest signature.
    Verify(courtroom::record::cli::VerifyArgs),
    /// Write one recording's evidence package: its files, the court's public key, the
    /// hearing's audit trail and VERIFY.txt, in one zip that `verify` accepts.
    Export(courtroom::record::package::ExportArgs),
    /// Drain a running node (the Kubernetes pre-stop hook): it takes no new hearings, lets its
    /// hearings finish or hands them over; with `--wait`, returns once it holds none.
    Drain(DrainArgs),
}

/// Options of `courtroom drain`.
#[derive(Args, Clone)]
struct DrainArgs {
    /// The node's own address.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Wait until the node holds no hearing.
    #[arg(long)]
    wait: bool,
}

/// Options of `courtroom key`.
#[derive(Args, Clone)]
struct KeyArgs {
    /// Input picture (8-bit RGB PNG).
    #[arg(value_name = "IN.png")]
    input: PathBuf,
    /// Output picture (RGBA PNG).
    #[arg(value_name = "OUT.png")]
    output: PathBuf,
    /// Key colour: `auto` (fit the screen from the picture) or `#RRGGBB`.
    #[arg(long, default_value = "auto")]
    key: courtroom::keying::cli::KeySpec,
    /// Key parameters (TOML, fields of `KeyParams`); unnamed fields keep their defaults.
    #[arg(long, value_name = "FILE")]
    params: Option<PathBuf>,
}

/// Options of `courtroom demo`.
#[derive(Args, Clone)]
struct DemoArgs {
    #[command(flatten)]
    common: Common,
    /// How many demo hearings to create.
    #[arg(long, default_value_t = 1)]
    hearings: usize,
}

/// Options of `courtroom loadgen`.
#[derive(Args, Clone)]
struct LoadgenArgs {
    /// Server base URL, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    url: String,
    /// Invitations JSON (as `demo-invitations.json`): a list of objects with a `url`.
    #[arg(long, value_name = "FILE")]
    invitations: PathBuf,
    /// How many participants to publish (the first N invitations).
    #[arg(long, default_value_t = 5)]
    participants: usize,
    /// `synthetic` (a person on green, made at start) or a VP8 IVF file.
    #[arg(long, default_value = "synthetic")]
    media: String,
    /// Seconds to publish.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
}

/// Benchmarks.
#[derive(Subcommand, Clone)]
enum BenchCommand {
    /// Run a server with H hearings of P synthetic participants for S seconds; print JSON.
    Hearing(BenchHearingArgs),
    /// Run a local cluster (PostgreSQL, an S3 server, N nodes), kill and pause the node that
    /// owns a recorded hearing, and print what survived as JSON.
    Failover(BenchFailoverArgs),
    /// Run a server with one public, broadcasting hearing and load its broadcast with N
    /// simulated HLS players on loopback; print the server's CPU and memory per N as JSON.
    Broadcast(BenchBroadcastArgs),
}

/// Options of `courtroom bench broadcast`.
#[derive(Args, Clone)]
struct BenchBroadcastArgs {
    /// Player counts, measured one after another after a baseline without players.
    #[arg(long, value_delimiter = ',', default_value = "100,1000")]
    viewers: Vec<usize>,
    /// Seconds measured per count.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Output size WxH.
    #[arg(long, default_value = "1280x720")]
    size: String,
    /// Output frame rate.
    #[arg(long, default_value_t = 25)]
    fps: u32,
}

/// Options of `courtroom bench failover`.
#[derive(Args, Clone)]
struct BenchFailoverArgs {
    /// Nodes (at least 3).
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Lease TTL, seconds.
    #[arg(long, default_value_t = 6)]
    lease_ttl: u32,
    /// Segment length, seconds.
    #[arg(long, default_value_t = 2)]
    segment: u32,
    /// Synthetic participants in the hearing.
    #[arg(long, default_value_t = 3)]
    participants: usize,
}

/// Options of `courtroom bench hearing`.
#[derive(Args, Clone)]
struct BenchHearingArgs {
    /// Hearings at once.
    #[arg(long, default_value_t = 1)]
    hearings: usize,
    /// Participants per hearing (0 to 6; 0 measures an idle hearing, recording on).
    #[arg(long, default_value_t = 5)]
    participants: usize,
    /// Seconds measured (after 3 s of joining).
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Output size WxH.
    #[arg(long, default_value = "1280x720")]
    size: String,
    /// Output frame rate.
    #[arg(long, default_value_t = 25)]
    fps: u32,
    /// Find the largest number of hearings the node holds: at most 1 % of ticks late and 1 %
    /// of pictures shed, every client joined (tries 1, 2, ... up to --hearings).
    #[arg(long)]
    find_max: bool,
    /// Hearings (the last ones) that get one participant instead of --participants: quiet
    /// hearings beside busy ones.
    #[arg(long, default_value_t = 0)]
    light: usize,
    /// Let each hearing drop the ticks it misses by itself (capacity.shed_evenly=false), to
    /// compare with the node's even frame pace.
    #[arg(long)]
    shed_unevenly: bool,
    /// Let the clients share the server's cores even on a machine of four cores or more
    /// (by default they get a quarter of them, and the server the rest).
    #[arg(long)]
    no_pin: bool,
    /// A server setting for the run, `KEY=VALUE` (repeatable), e.g. `video.still_frame_ms=0`
    /// to compare with every tick encoded.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    settings: Vec<String>,
}

/// Options every server command takes.
#[derive(Args, Clone)]
struct Common {
    /// TOML configuration file. Every key can also be set by COURTROOM_SECTION__KEY variables.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on (key `listen`; default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Data folder for the database, keys and recordings (key `data_dir`; default ./data).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Override any configuration key, e.g. `--set video.fps=30`. Repeatable; wins over file and environment.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
}

impl Common {
    fn sources(&self) -> Sources {
        let mut sets = Vec::new();
        if let Some(listen) = &self.listen {
            sets.push(format!("listen=\"{listen}\""));
        }
        if let Some(data) = &self.data {
            sets.push(format!("data_dir=\"{}\"", data.display()));
        }
        sets.extend(self.sets.iter().cloned());
        Sources {
            file: self.config.clone(),
            sets,
        }
    }
}

/// `courtroom drain`: asks the node to drain, and with `--wait` waits until it holds no
/// hearing (polling `/readyz`).
async fn drain(args: &DrainArgs) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let base = args.url.trim_end_matches('/');
    let r = client.post(format!("{base}/internal/drain")).send().await?;
    if !r.status().is_success() {
        anyhow::bail!("{base} refused to drain: {}", r.status());
    }
    println!("draining {base}");
    if !args.wait {
        return Ok(());
    }
    loop {
        let body = client
            .get(format!("{base}/readyz"))
            .send()
            .await?
            .bytes()
            .await?;
        let ready: serde_json::Value = serde_json::from_slice(&body)?;
        if ready["hearings"].as_u64() == Some(0) {
            println!("drained: no hearing left on {base}");
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

fn main() -> ExitCode {
    courtroom::malloc::limit_arenas();
    let cli = Cli::parse();
    // Client-side tools need no server settings.
    let tool = match &cli.command {
        Command::Loadgen(args) => Some(runtime_block_on(loadgen(args))),
        Command::Bench(BenchCommand::Hearing(args)) => Some(runtime_block_on(bench_hearing(args))),
        Command::Drain(args) => Some(runtime_block_on(drain(args))),
        Command::Bench(BenchCommand::Failover(args)) => {
            Some(runtime_block_on(bench_failover(args)))
        }
        Command::Bench(BenchCommand::Broadcast(args)) => {
            Some(runtime_block_on(bench_broadcast(args)))
        }
        _ => None,
    };
    if let Some(result) = tool {
        return exit(result);
    }
    if let Command::Admin(a) = &cli.command {
        return courtroom::api::admin::admin_command(a);
    }
    if let Command::Verify(v) = &cli.command {
        return courtroom::record::cli::verify_command(v);
    }
    if let Command::Export(e) = &cli.command {
        return courtroom::record::package::export_command(e);
    }
    if let Command::Key(k) = &cli.command {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
        return match courtroom::keying::cli::run(&k.input, &k.output, k.key, k.params.as_deref()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("courtroom key: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let (common, demo) = match &cli.command {
        Command::Serve(c) => (c, false),
        Command::Demo(d) => (&d.common, true),
        Command::Render(r) => (&r.common, false),
        Command::Loadgen(_) | Command::Bench(_) | Command::Drain(_) => {
            unreachable!("handled above")
        }
        Command::Key(_) => unreachable!("handled above"),
        Command::Admin(_) => unreachable!("handled above"),
        Command::Verify(_) | Command::Export(_) => unreachable!("handled above"),
    };
    let settings = match Settings::load(&common.sources()) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("courtroom: {e}");
            return ExitCode::from(2);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&settings.log));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    if let Command::Render(args) = &cli.command {
        return match render(&settings, args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("courtroom render: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("courtroom: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let demo_hearings = match &cli.command {
        Command::Demo(d) if demo => d.hearings.max(1),
        _ => 0,
    };
    let result = runtime.block_on(courtroom::server::run(settings, demo_hearings));
    // Recordings are sealed by now; a blocking task still running (a socket's, a hearing
    // starting) must not keep the process alive.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("courtroom: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn exit(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("courtroom: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn runtime_block_on<F: std::future::Future<Output = anyhow::Result<()>>>(
    f: F,
) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    tokio::runtime::Runtime::new()?.block_on(f)
}

fn parse_size(size: &str) -> anyhow::Result<(u32, u32)> {
    size.split_once('x')
        .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
        .ok_or_else(|| anyhow::anyhow!("size must be WxH, e.g. 1280x720"))
}

async fn loadgen(args: &LoadgenArgs) -> anyhow::Result<()> {
    use courtroom::loadgen::{client, clip::Clip};
    let media = args.media.clone();
    let clip = std::sync::Arc::new(
        tokio::task::spawn_blocking(move || match media.as_str() {
            "synthetic" => Clip::synthetic(4, [200, 60, 40]),
            path => Clip::from_ivf(std::path::Path::new(path)),
        })
        .await??,
    );
    let invitations: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(&args.invitations)?)?;
    let ws_url = format!(
        "{}/ws",
        args.url.trim_end_matches('/').replacen("http", "ws", 1)
    );
    let mut tasks = Vec::new();
    // The public gallery's entry (role `public`) is a watch page, not a seat.
    for inv in invitations
        .iter()
        .filter(|i| i["role"] != "public")
        .take(args.participants)
    {
        let token = inv["url"]
            .as_str()
            .and_then(|u| u.split("t=").nth(1))
            .unwrap_or_default()
            .to_owned();
        let (ws_url, clip, secs) = (ws_url.clone(), clip.clone(), args.seconds);
        tasks.push(tokio::spawn(async move {
            client::run(
                &ws_url,
                &token,
                clip,
                std::time::Duration::from_secs(secs),
                std::net::IpAddr::from([127, 0, 0, 1]),
            )
            .await
        }));
    }
    let mut reports = Vec::new();
    for t in tasks {
        reports.push(t.await?);
    }
    println!("{}", serde_json::to_string_pretty(&reports)?);
    Ok(())
}

async fn bench_failover(args: &BenchFailoverArgs) -> anyhow::Result<()> {
    use courtroom::loadgen::failover::{run, FailoverConfig};
    let report = run(&FailoverConfig {
        exe: std::env::current_exe()?,
        repo: courtroom::config::source_tree()
            .ok_or_else(|| anyhow::anyhow!("the failover bench runs from the source tree"))?,
        nodes: args.nodes,
        lease_ttl_s: args.lease_ttl,
        segment_s: args.segment,
        participants: args.participants,
    })
    .await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

async fn bench_broadcast(args: &BenchBroadcastArgs) -> anyhow::Result<()> {
    use courtroom::loadgen::broadcast::{self, BroadcastBenchConfig};
    let (width, height) = parse_size(&args.size)?;
    let cfg = BroadcastBenchConfig {
        exe: std::env::current_exe()?,
        viewers: args.viewers.clone(),
        seconds: args.seconds,
        width,
        height,
        fps: args.fps,
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&broadcast::run(&cfg).await?)?
    );
    Ok(())
}

async fn bench_hearing(args: &BenchHearingArgs) -> anyhow::Result<()> {
    use courtroom::loadgen::bench::{self, BenchConfig};
    let (width, height) = parse_size(&args.size)?;
    let cfg = BenchConfig {
        exe: std::env::current_exe()?,
        hearings: args.hearings,
        participants: args.participants.min(6),
        light: args.light,
        seconds: args.seconds,
        width,
        height,
        fps: args.fps,
        shed_evenly: !args.shed_unevenly,
        settings: args.settings.clone(),
        pin: !args.no_pin,
    };
    if args.find_max {
        let runs = bench::find_max(&cfg, args.hearings.max(1)).await?;
        let max = runs
            .iter()
            .filter(|r| r.holds())
            .map(|r| r.hearings)
            .max()
            .unwrap_or(0);
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "max_hearings": max, "runs": runs })
            )?
        );
    } else {
        println!(
            "{}",
            serde_json::to_string_pretty(&bench::run(&cfg).await?)?
        );
    }
    Ok(())
}
