//! The `courtroom` binary as a child process, for the tests that need the real server (browsers,
//! SIGTERM, the command line). Plain `std`: nothing here depends on the crate's own code.

use std::ffi::OsStr;
use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::http::try_http_get;

/// The last `max_bytes` of a (log) file, lossily decoded; empty if unreadable.
pub fn log_tail(path: &Path, max_bytes: usize) -> String {
    let bytes = std::fs::read(path).unwrap_or_default();
    let start = bytes.len().saturating_sub(max_bytes);
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

/// Sends `kill -SIG target` (target may be `-PGID`), ignoring failures.
pub(crate) fn send_signal(sig: &str, target: &str) {
    let _ = Command::new("kill")
        .args([sig, "--", target])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Waits for `child` to exit for at most `timeout`.
pub(crate) fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => return None,
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

/// The server binary under test, with stdout/stderr captured to a log file. Killed on drop.
pub struct ServerProcess {
    child: Option<Child>,
    pid: u32,
    log: PathBuf,
}

impl ServerProcess {
    /// Spawns `bin args...`; output goes to `log` (`RUST_LOG` defaults to `info,c2pa=warn`: the server's own default, at info).
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
            cmd.env("RUST_LOG", "info,c2pa=warn");
        }
        let child = cmd.spawn().expect("spawn server");
        ServerProcess {
            pid: child.id(),
            child: Some(child),
            log: log.to_path_buf(),
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Where its output goes.
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

/// `courtroom demo` as a child process: healthy on a free port, with its invitations read
/// from `demo-invitations.json`.
pub struct DemoProcess {
    /// The process.
    pub server: ServerProcess,
    /// `127.0.0.1:port`.
    pub addr: String,
    /// The demo invitations (`role`, `seat`, `url`, ...).
    pub invites: Vec<Value>,
    /// When it first answered `/healthz`.
    pub healthy_at: Instant,
}

impl DemoProcess {
    /// Starts `bin demo --data data` with `extra` arguments, output to `log`; waits up to 60 s
    /// for it to be healthy and 10 s more for its invitations.
    pub fn start(bin: &str, data: &Path, log: &Path, extra: &[&str]) -> Self {
        let addr = format!("127.0.0.1:{}", free_port());
        let mut args = vec!["demo", "--data", data.to_str().unwrap(), "--listen", &addr];
        args.extend_from_slice(extra);
        let mut server = ServerProcess::spawn(bin, args, log);
        server
            .wait_healthy(&addr, Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("{e}"));
        let healthy_at = Instant::now();
        let invites_path = data.join("demo-invitations.json");
        let invites: Vec<Value> = loop {
            if let Ok(text) = std::fs::read_to_string(&invites_path) {
                if let Ok(v) = serde_json::from_str(&text) {
                    break v;
                }
            }
            assert!(
                healthy_at.elapsed() < Duration::from_secs(10),
                "{} missing or not a JSON list; server log:\n{}",
                invites_path.display(),
                server.log_tail()
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        Self {
            server,
            addr,
            invites,
            healthy_at,
        }
    }

    /// The demo invitation for `role`.
    pub fn invitation(&self, role: &str) -> &Value {
        self.invites
            .iter()
            .find(|i| i["role"] == role)
            .unwrap_or_else(|| panic!("no {role} in demo-invitations.json: {:?}", self.invites))
    }

    /// The invitation token of `role` (the link's `t`).
    pub fn token(&self, role: &str) -> String {
        token_of(self.invitation(role)["url"].as_str().expect("url"))
    }

    /// The invitation link of `role`, on this loopback origin (so getUserMedia is allowed),
    /// with `autojoin=1`: the page joins as soon as camera and microphone are ready, as a
    /// person clicking "Join" would.
    pub fn join_url(&self, role: &str) -> String {
        let url = self.invitation(role)["url"].as_str().expect("url");
        let after_scheme = url.split_once("://").map(|(_, rest)| rest).unwrap_or(url);
        let path = after_scheme
            .find('/')
            .map(|i| &after_scheme[i..])
            .unwrap_or("/");
        format!("http://{}{path}&autojoin=1", self.addr)
    }
}

/// Decodes `%XX` escapes (tokens are normally URL-safe already).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `t` query parameter of an invitation URL.
pub fn token_of(url: &str) -> String {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    let query = query.split('#').next().unwrap_or("");
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("t="))
        .map(percent_decode)
        .unwrap_or_else(|| panic!("no t= parameter in invitation URL {url}"))
}
