//! The `courtroom` binary: parses flags, loads settings, starts tracing, and runs a subcommand.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use courtroom::config::{Settings, Sources};

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
    Demo(Common),
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

/// Options of `courtroom render`.
#[derive(Args, Clone)]
struct RenderArgs {
    #[command(flatten)]
    common: Common,
    /// Scene layout in assets/layouts/ (default: the `hearing.layout` setting).
    #[arg(long)]
    layout: Option<String>,
    /// Output size, WxH.
    #[arg(long, default_value = "1280x720")]
    size: String,
    /// Who sits where: ROLE_OR_SEAT=IMAGE.png, or ROLE_OR_SEAT=#RRGGBB for a synthetic person
    /// of that colour on green. Repeatable.
    #[arg(long = "participant", value_name = "ROLE=IMAGE")]
    participants: Vec<String>,
    /// Output PNG.
    #[arg(long, value_name = "OUT.png")]
    out: PathBuf,
    /// Also write each placed participant's seat box (pixels) as JSON.
    #[arg(long, value_name = "SEATS.json")]
    seats_json: Option<PathBuf>,
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Admin(a) = &cli.command {
        return courtroom::api::admin::admin_command(a);
    }
    if let Command::Verify(v) = &cli.command {
        return courtroom::record::cli::verify_command(v);
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
        Command::Demo(c) => (c, true),
        Command::Render(r) => (&r.common, false),
        Command::Key(_) => unreachable!("handled above"),
        Command::Admin(_) => unreachable!("handled above"),
        Command::Verify(_) => unreachable!("handled above"),
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
    match runtime.block_on(courtroom::server::run(settings, demo)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("courtroom: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn render(settings: &Settings, args: &RenderArgs) -> anyhow::Result<()> {
    use courtroom::render::{still, AdapterChoice, Gpu, Layout};
    let (w, h) = args
        .size
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse::<u32>().ok()?, h.parse::<u32>().ok()?)))
        .ok_or_else(|| anyhow::anyhow!("--size must be WxH, e.g. 1280x720"))?;
    let layout = Layout::load(
        &settings.assets_dir(),
        args.layout.as_deref().unwrap_or(&settings.hearing.layout),
    )?;
    let mut people = Vec::new();
    for p in &args.participants {
        let (who, what) = p
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--participant {p:?}: expected ROLE=IMAGE"))?;
        let taken: Vec<usize> = people.iter().map(|(s, _)| *s).collect();
        let seat = layout
            .seat_index(who)
            .or_else(|| {
                layout
                    .seats
                    .iter()
                    .enumerate()
                    .find(|(i, s)| s.role == who && !taken.contains(i))
                    .map(|(i, _)| i)
            })
            .ok_or_else(|| anyhow::anyhow!("no free seat for {who:?} in layout {}", layout.name))?;
        let frame = match what.strip_prefix('#') {
            Some(hex) if hex.len() == 6 => {
                let c = u32::from_str_radix(hex, 16)?;
                still::synthetic_person(640, 480, [(c >> 16) as u8, (c >> 8) as u8, c as u8], 0)
            }
            _ => still::frame_from_png(std::path::Path::new(what))?,
        };
        people.push((seat, frame));
    }
    let gpu = Gpu::open(AdapterChoice::parse(&settings.render.adapter))?;
    let (rgba, placed) = still::render_still(gpu, layout, w, h, &people)?;
    still::write_png(&args.out, w, h, &rgba)?;
    if let Some(path) = &args.seats_json {
        std::fs::write(path, serde_json::to_vec_pretty(&placed)?)?;
    }
    Ok(())
}
