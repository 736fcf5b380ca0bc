//! Headless Chromium participants with a fake camera and microphone fed from files.
//! Plain `std` (plus `tempfile`): nothing here depends on the crate's own code.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::process::{log_tail, send_signal, wait_timeout};

/// Fixed Chromium flags: headless, no GPU, fake media devices fed from files, no autoplay gate.
/// (tests/browser/join.test.mjs uses the same, less `--headless`, which playwright adds.)
#[rustfmt::skip]
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required",
];

/// One headless Chromium with fake camera/microphone fed from files.
/// Runs in its own process group; the whole group is stopped on drop.
pub struct Chromium {
    child: Child,
    log: PathBuf,
    profile: tempfile::TempDir,
}

impl Chromium {
    /// Launches Chromium (`$CHROMIUM_BIN` or `/usr/bin/chromium`) on `url`.
    pub fn launch(url: &str, y4m: &Path, wav: &Path) -> Chromium {
        Self::launch_with(url, y4m, wav, &[])
    }

    /// Launches Chromium on `about:blank` with its DevTools protocol on a loopback port, for
    /// a test that drives pages itself (see [`Chromium::devtools_url`]).
    pub fn launch_debuggable(y4m: &Path, wav: &Path, window: (u32, u32)) -> Chromium {
        let size = format!("--window-size={},{}", window.0, window.1);
        Self::launch_with(
            "about:blank",
            y4m,
            wav,
            &[
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                &size,
            ],
        )
    }

    /// Launches Chromium on `url` with these flags besides the fixed ones.
    pub fn launch_with(url: &str, y4m: &Path, wav: &Path, extra: &[&str]) -> Chromium {
        let profile = tempfile::Builder::new()
            .prefix("courtroom-chromium-")
            .tempdir()
            .expect("tempdir");
        let log = profile.path().join("chromium.log");
        let log_file = File::create(&log).expect("create chromium log");
        let bin = std::env::var_os("CHROMIUM_BIN").unwrap_or_else(|| "/usr/bin/chromium".into());
        let child = Command::new(bin)
            .args(CHROMIUM_FLAGS)
            .args(extra)
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

    /// The browser's DevTools WebSocket (`ws://127.0.0.1:port/devtools/browser/...`), once
    /// Chromium has written its port (within 30 s). Needs [`Chromium::launch_debuggable`].
    pub fn devtools_url(&self) -> String {
        let port_file = self.profile.path().join("p").join("DevToolsActivePort");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(text) = std::fs::read_to_string(&port_file) {
                let mut lines = text.lines();
                if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                    return format!("ws://127.0.0.1:{port}{path}");
                }
            }
            assert!(
                Instant::now() < deadline,
                "Chromium did not open its DevTools port; log:\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Where Chromium's stdout/stderr go.
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
