#![allow(dead_code)]
//! Shared helpers for the integration tests: synthetic camera/microphone fixtures, a headless
//! Chromium participant, the server process under test, and tiny blocking HTTP/ffmpeg helpers.
//!
//! Plain `std` (plus `tempfile`) on purpose: these helpers must not depend on the crate's own code.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Fixture video size and rate (what the page asks `getUserMedia` for).
pub const FIXTURE_W: usize = 640;
pub const FIXTURE_H: usize = 480;
pub const FIXTURE_FPS: usize = 25;
/// Chroma-key green used as the fixture background.
pub const KEY_GREEN: [u8; 3] = [0, 177, 64];

/// BT.601 full-range RGB → YUV.
pub fn rgb_to_yuv([r, g, b]: [u8; 3]) -> [u8; 3] {
    let (r, g, b) = (r as f32, g as f32, b as f32);
    let y = 0.299 * r + 0.587 * g + 0.114 * b;
    let u = -0.168_736 * r - 0.331_264 * g + 0.5 * b + 128.0;
    let v = 0.5 * r - 0.418_688 * g - 0.081_312 * b + 128.0;
    let q = |x: f32| x.round().clamp(0.0, 255.0) as u8;
    [q(y), q(u), q(v)]
}

/// Whether pixel (x, y) belongs to the person silhouette whose centre line is at `cx`:
/// an elliptical head (~110 px tall, centred at y = 150), a neck, and a ~300 px wide torso with
/// rounded shoulders from y = 230 down to the bottom edge.
fn in_person(x: f32, y: f32, cx: f32) -> bool {
    // Head.
    let (hx, hy) = ((x - cx) / 42.0, (y - 150.0) / 55.0);
    if hx * hx + hy * hy <= 1.0 {
        return true;
    }
    // Neck.
    if (195.0..=240.0).contains(&y) && (x - cx).abs() <= 22.0 {
        return true;
    }
    // Torso with rounded top corners.
    const TOP: f32 = 230.0;
    const HALF_W: f32 = 150.0;
    const R: f32 = 60.0;
    let dx = (x - cx).abs();
    if y < TOP || dx > HALF_W {
        return false;
    }
    if y < TOP + R && dx > HALF_W - R {
        let (ex, ey) = (dx - (HALF_W - R), y - (TOP + R));
        return ex * ex + ey * ey <= R * R;
    }
    true
}

/// Writes a 640×480, 25 fps Y4M (`C420jpeg`) clip: chroma-green background with a person-like
/// shape in `color_rgb` that sways a little horizontally over the frames.
pub fn write_person_y4m(path: &Path, color_rgb: [u8; 3], frames: usize) {
    let (w, h) = (FIXTURE_W, FIXTURE_H);
    let bg = rgb_to_yuv(KEY_GREEN);
    let fg = rgb_to_yuv(color_rgb);
    let mut out = BufWriter::new(File::create(path).expect("create y4m"));
    writeln!(out, "YUV4MPEG2 W{w} H{h} F{FIXTURE_FPS}:1 Ip A1:1 C420jpeg").unwrap();
    let mut mask = vec![false; w * h];
    let mut y_plane = vec![0u8; w * h];
    let mut u_plane = vec![0u8; (w / 2) * (h / 2)];
    let mut v_plane = vec![0u8; (w / 2) * (h / 2)];
    for f in 0..frames {
        let phase = f as f32 / frames.max(1) as f32 * std::f32::consts::TAU;
        let cx = 320.0 + 14.0 * phase.sin();
        for y in 0..h {
            for x in 0..w {
                let inside = in_person(x as f32 + 0.5, y as f32 + 0.5, cx);
                mask[y * w + x] = inside;
                y_plane[y * w + x] = if inside { fg[0] } else { bg[0] };
            }
        }
        // 4:2:0 chroma: average the 2×2 block (JPEG-style centred siting).
        for cy in 0..h / 2 {
            for cxi in 0..w / 2 {
                let mut n_fg = 0u32;
                for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    n_fg += mask[(2 * cy + dy) * w + 2 * cxi + dx] as u32;
                }
                let mix = |a: u8, b: u8| ((a as u32 * n_fg + b as u32 * (4 - n_fg) + 2) / 4) as u8;
                u_plane[cy * (w / 2) + cxi] = mix(fg[1], bg[1]);
                v_plane[cy * (w / 2) + cxi] = mix(fg[2], bg[2]);
            }
        }
        out.write_all(b"FRAME\n").unwrap();
        out.write_all(&y_plane).unwrap();
        out.write_all(&u_plane).unwrap();
        out.write_all(&v_plane).unwrap();
    }
    out.flush().unwrap();
}

/// Writes a 48 kHz mono 16-bit PCM WAV with a sine at -12 dBFS (10 ms fades at both ends).
pub fn write_tone_wav(path: &Path, freq_hz: f32, seconds: f32) {
    const RATE: u32 = 48_000;
    let n = (seconds * RATE as f32).round() as u32;
    let amp = 10f32.powf(-12.0 / 20.0) * i16::MAX as f32;
    let fade = (RATE / 100).max(1);
    let data_len = n * 2;
    let mut out = BufWriter::new(File::create(path).expect("create wav"));
    let mut header = Vec::with_capacity(44);
    header.extend_from_slice(b"RIFF");
    header.extend_from_slice(&(36 + data_len).to_le_bytes());
    header.extend_from_slice(b"WAVEfmt ");
    // fmt chunk: size 16, PCM, mono, rate, byte rate, block align 2, 16 bits.
    for v in [16u32, 1 | (1 << 16), RATE, RATE * 2, 2 | (16 << 16)] {
        header.extend_from_slice(&v.to_le_bytes());
    }
    header.extend_from_slice(b"data");
    header.extend_from_slice(&data_len.to_le_bytes());
    out.write_all(&header).unwrap();
    for i in 0..n {
        let t = i as f32 / RATE as f32;
        let env = (i.min(n - 1 - i) as f32 / fade as f32).min(1.0);
        let s = (amp * env * (std::f32::consts::TAU * freq_hz * t).sin()).round() as i16;
        out.write_all(&s.to_le_bytes()).unwrap();
    }
    out.flush().unwrap();
}

/// Writes an RGB24 buffer as a binary PPM (P6), handy for looking at frames after a failure.
pub fn write_ppm(path: &Path, w: usize, h: usize, rgb: &[u8]) {
    let mut out = BufWriter::new(File::create(path).expect("create ppm"));
    write!(out, "P6\n{w} {h}\n255\n").unwrap();
    out.write_all(rgb).unwrap();
    out.flush().unwrap();
}

/// The last `max_bytes` of a (log) file, lossily decoded; empty if unreadable.
pub fn log_tail(path: &Path, max_bytes: usize) -> String {
    let bytes = std::fs::read(path).unwrap_or_default();
    let start = bytes.len().saturating_sub(max_bytes);
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

/// Sends `kill -SIG target` (target may be `-PGID`), ignoring failures.
fn send_signal(sig: &str, target: &str) {
    let _ = Command::new("kill")
        .args([sig, "--", target])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Waits for `child` to exit for at most `timeout`.
fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => return None,
        }
    }
}

/// Fixed Chromium flags: headless, no GPU, fake media devices fed from files, no autoplay gate.
#[rustfmt::skip]
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required",
];

/// One headless Chromium participant with fake camera/microphone fed from files.
/// Runs in its own process group; the whole group is stopped on drop.
pub struct Chromium {
    child: Child,
    log: PathBuf,
    profile: tempfile::TempDir,
}

impl Chromium {
    /// Launches Chromium (`$CHROMIUM_BIN` or `/usr/bin/chromium`) on `url`.
    pub fn launch(url: &str, y4m: &Path, wav: &Path) -> Chromium {
        let profile = tempfile::Builder::new()
            .prefix("courtroom-chromium-")
            .tempdir()
            .expect("tempdir");
        let log = profile.path().join("chromium.log");
        let log_file = File::create(&log).expect("create chromium log");
        let bin = std::env::var_os("CHROMIUM_BIN").unwrap_or_else(|| "/usr/bin/chromium".into());
        let child = Command::new(bin)
            .args(CHROMIUM_FLAGS)
            .arg(format!(
                "--user-data-dir={}",
                profile.path().join("p").display()
            ))
            .arg(format!(
                "--use-file-for-fake-video-capture={}",
                y4m.display()
            ))
            .arg(format!(
                "--use-file-for-fake-audio-capture={}",
                wav.display()
            ))
            .arg(url)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("clone log"))
            .stderr(log_file)
            .process_group(0)
            .spawn()
            .expect("spawn chromium (is it installed? run scripts/install-deps.sh)");
        Chromium {
            child,
            log,
            profile,
        }
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The last few KiB of Chromium's stdout/stderr.
    pub fn log_tail(&self) -> String {
        log_tail(&self.log, 4096)
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        if let Ok(None) = self.child.try_wait() {
            send_signal("-TERM", &group);
            if wait_timeout(&mut self.child, Duration::from_secs(3)).is_none() {
                let _ = self.child.kill();
            }
        }
        send_signal("-KILL", &group); // helpers (renderer, GPU, zygote) that outlived the browser
        let _ = self.child.wait();
    }
}

/// The server binary under test, with stdout/stderr captured to a log file. Killed on drop.
pub struct ServerProcess {
    child: Option<Child>,
    pid: u32,
    log: PathBuf,
}

impl ServerProcess {
    /// Spawns `bin args...`; output goes to `log` (`RUST_LOG` defaults to `info`).
    pub fn spawn<I, S>(bin: impl AsRef<OsStr>, args: I, log: &Path) -> ServerProcess
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let log_file = File::create(log).expect("create server log");
        let mut cmd = Command::new(bin);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("clone log"))
            .stderr(log_file);
        if std::env::var_os("RUST_LOG").is_none() {
            cmd.env("RUST_LOG", "info");
        }
        let child = cmd.spawn().expect("spawn server");
        ServerProcess {
            pid: child.id(),
            child: Some(child),
            log: log.to_path_buf(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The last few KiB of the server's output.
    pub fn log_tail(&self) -> String {
        log_tail(&self.log, 8192)
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// Polls `GET /healthz` on `addr` until it answers 200, the process exits, or `timeout`.
    pub fn wait_healthy(&mut self, addr: &str, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if !self.is_running() {
                return Err(format!(
                    "server exited before becoming healthy; log:\n{}",
                    self.log_tail()
                ));
            }
            if let Ok((200, _)) = try_http_get(addr, "/healthz", None) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "server not healthy on {addr} after {timeout:?}; log:\n{}",
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Sends SIGTERM and waits up to 30 s for exit; returns the exit status.
    /// Panics (after killing it) if the process does not exit in time.
    pub fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("server already terminated");
        if let Ok(Some(status)) = child.try_wait() {
            return status;
        }
        send_signal("-TERM", &child.id().to_string());
        match wait_timeout(&mut child, Duration::from_secs(30)) {
            Some(status) => status,
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "server did not exit within 30 s of SIGTERM; log:\n{}",
                    self.log_tail()
                );
            }
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A currently free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// Blocking `GET http://addr{path}`; panics on I/O errors. Returns (status, body).
pub fn http_get(addr: &str, path: &str, bearer: Option<&str>) -> (u16, String) {
    try_http_get(addr, path, bearer).unwrap_or_else(|e| panic!("GET http://{addr}{path}: {e}"))
}

/// Blocking HTTP/1.1 GET with `Connection: close`; understands Content-Length and chunked bodies.
pub fn try_http_get(
    addr: &str,
    path: &str,
    bearer: Option<&str>,
) -> std::io::Result<(u16, String)> {
    use std::io::{Error, ErrorKind};
    let bad = |m: &str| Error::new(ErrorKind::InvalidData, m.to_string());
    let sock = addr
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| bad("address did not resolve"))?;
    let mut stream = TcpStream::connect_timeout(&sock, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(15)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut req =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: */*\r\nConnection: close\r\n");
    if let Some(token) = bearer {
        req.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;

    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no header end"))?;
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let mut body = &raw[head_end + 4..];
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let (mut chunked, mut length) = (false, None);
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            if k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked") {
                chunked = true;
            } else if k == "content-length" {
                length = v.parse::<usize>().ok();
            }
        }
    }
    let body = if chunked {
        let mut out = Vec::new();
        loop {
            let eol = body
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or_else(|| bad("bad chunk"))?;
            let size_str = String::from_utf8_lossy(&body[..eol]);
            let size_hex = size_str.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_hex, 16).map_err(|_| bad("bad chunk size"))?;
            body = &body[eol + 2..];
            if size == 0 {
                break;
            }
            if body.len() < size {
                return Err(bad("truncated chunk"));
            }
            out.extend_from_slice(&body[..size]);
            body = body.get(size + 2..).unwrap_or(&[]);
        }
        out
    } else {
        match length {
            Some(n) if n <= body.len() => body[..n].to_vec(),
            Some(_) => return Err(bad("truncated body")),
            None => body.to_vec(),
        }
    };
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// Runs a command and returns its stdout, panicking with stderr on failure.
fn run_capture(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Container duration in seconds, from `ffprobe -show_entries format=duration`.
pub fn ffprobe_duration(path: &Path) -> f64 {
    let out = run_capture(
        Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-show_entries",
                "format=duration",
                "-of",
                "csv=p=0",
            ])
            .arg(path),
    );
    let text = String::from_utf8_lossy(&out);
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("ffprobe duration of {}: {text:?}", path.display()))
}

/// Decodes one video frame at `at_seconds` as RGB24; returns (width, height, pixels).
pub fn ffmpeg_frame_rgb(path: &Path, at_seconds: f64) -> (usize, usize, Vec<u8>) {
    let dims = run_capture(
        Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", "v:0"])
            .args(["-show_entries", "stream=width,height", "-of", "csv=p=0:s=x"])
            .arg(path),
    );
    let dims = String::from_utf8_lossy(&dims);
    let (w, h) = dims
        .trim()
        .lines()
        .next()
        .and_then(|l| l.split_once('x'))
        .and_then(|(w, h)| {
            Some((
                w.trim().parse::<usize>().ok()?,
                h.trim().parse::<usize>().ok()?,
            ))
        })
        .unwrap_or_else(|| panic!("ffprobe size of {}: {dims:?}", path.display()));
    let seek = format!("{:.3}", at_seconds.max(0.0));
    let rgb = run_capture(
        Command::new("ffmpeg")
            .args(["-v", "error", "-nostdin", "-ss", seek.as_str(), "-i"])
            .arg(path)
            .args([
                "-frames:v",
                "1",
                "-f",
                "rawvideo",
                "-pix_fmt",
                "rgb24",
                "pipe:1",
            ]),
    );
    assert_eq!(
        rgb.len(),
        w * h * 3,
        "frame at {at_seconds}s of {}: unexpected size",
        path.display()
    );
    (w, h, rgb)
}
