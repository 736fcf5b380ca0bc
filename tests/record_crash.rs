//! Crash safety: `courtroom demo` records (no participants needed: the compositor and the
//! recorder run anyway) and is killed with SIGKILL after about 12 s. Every closed segment then
//! verifies, and the torn open segment plays up to its last fragment. After a restart the server
//! has sealed the recording as `interrupted` with the reason, and the whole recording verifies
//! against the key the server serves at `GET /api/keys`.

mod record_common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use courtroom::record::verify::{find_recordings, verify_dir, Severity};
use courtroom::record::RecordingState;
use courtroom::record::{Manifest, PublicKey};
use record_common::{decoded_video_seconds, ffprobe};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn(cmd: &str, data: &Path, port: u16) -> Server {
    let log = std::fs::File::create(data.with_extension(format!("{cmd}.log"))).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_courtroom"))
        .arg(cmd)
        .arg("--data")
        .arg(data)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .args([
            "--set",
            "record.segment_seconds=4",
            "--set",
            "video.width=640",
            "--set",
            "video.height=360",
        ])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("courtroom starts");
    Server(child)
}

fn wait_healthy(port: u16, server: &mut Server) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        if let Some(status) = server.0.try_wait().unwrap() {
            panic!("server exited early: {status}");
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("server did not start listening");
}

fn recording_dir(data: &Path) -> Option<PathBuf> {
    find_recordings(&data.join("recordings")).into_iter().next()
}

#[test]
fn sigkill_leaves_verifiable_segments_and_restart_seals_them() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let port = free_port();
    let mut server = spawn("demo", &data, port);
    wait_healthy(port, &mut server);
    let key = PublicKey::fetch(&format!("http://127.0.0.1:{port}")).expect("GET /api/keys");

    // Run until two 4 s segments are closed and a few fragments of the third are written.
    let deadline = Instant::now() + Duration::from_secs(60);
    let rec = loop {
        assert!(Instant::now() < deadline, "two segments never closed");
        if let Some(dir) = recording_dir(&data) {
            if Manifest::read(&dir)
                .map(|m| m.segments.len() >= 2)
                .unwrap_or(false)
            {
                break dir;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    std::thread::sleep(Duration::from_millis(3500));
    server.0.kill().expect("SIGKILL");
    server.0.wait().unwrap();

    // Before any restart: what was closed verifies; the open segment is listed nowhere yet.
    let m = Manifest::read(&rec).unwrap();
    assert_eq!(m.state, RecordingState::Recording);
    let report = verify_dir(&rec, Some(&key));
    assert!(report.ok(), "{}", report.render());
    let open = rec.join(format!("composite-{:05}.mp4", m.segments.len()));
    assert!(open.exists(), "the open segment {}", open.display());
    assert!(report
        .findings
        .iter()
        .any(|f| f.severity == Severity::Warning
            && f.message
                .contains(open.file_name().unwrap().to_str().unwrap())));
    // The open segment plays up to its last fragment (about 3 s in; at least 1 s decodes).
    let seconds = decoded_video_seconds(&open);
    assert!(
        seconds >= 1.0,
        "torn segment decodes {seconds:.2} s of video (1 s at least)"
    );
    for seg in &m.segments {
        let d: f64 = ffprobe(&rec.join(&seg.file), "format=duration")
            .trim()
            .parse()
            .unwrap();
        assert!((d - 4.0).abs() < 0.5, "{}: {d} s", seg.file);
    }

    // Restart: the server seals it as interrupted.
    let port = free_port();
    let mut server = spawn("serve", &data, port);
    wait_healthy(port, &mut server);
    let m = Manifest::read(&rec).unwrap();
    assert_eq!(m.state, RecordingState::Interrupted);
    assert!(
        m.failure
            .as_deref()
            .unwrap_or("")
            .contains("without finalising"),
        "{:?}",
        m.failure
    );
    let last = m.segments.last().unwrap();
    assert_eq!(last.file, open.file_name().unwrap().to_str().unwrap());
    assert!(!last.complete);
    assert!(m.ended_at.is_some());
    let out = Command::new(env!("CARGO_BIN_EXE_courtroom"))
        .arg("verify")
        .arg(&data.join("recordings"))
        .arg("--server")
        .arg(format!("http://127.0.0.1:{port}"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("OK ") && text.contains("interrupted"),
        "{text}"
    );
}
