//! ffprobe and ffmpeg, to read recordings back.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs a command and returns its stdout, panicking with stderr on failure.
pub fn run_capture(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs `ffprobe -show_entries entries -of csv=p=0` on `path`; returns its output.
pub fn ffprobe(path: &Path, entries: &str) -> String {
    let out = run_capture(
        Command::new("ffprobe")
            .args(["-v", "error", "-show_entries", entries, "-of", "csv=p=0"])
            .arg(path),
    );
    String::from_utf8(out).unwrap()
}

/// Container duration in seconds, from `ffprobe -show_entries format=duration`.
pub fn ffprobe_duration(path: &Path) -> f64 {
    let text = ffprobe(path, "format=duration");
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("ffprobe duration of {}: {text:?}", path.display()))
}

/// Duration of the first video stream in seconds; 0 if ffprobe cannot tell.
pub fn video_stream_duration(path: &Path) -> f64 {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=duration", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0.0)
}

/// Video frames ffprobe decodes from a file (0 if it cannot read it).
pub fn count_video_frames(path: &Path) -> u64 {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v", "-count_frames"])
        .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

/// Every composite segment (`composite-*.mp4`) anywhere under `dir`, in path order.
pub fn composite_segments(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                stack.push(p);
            } else if name.starts_with("composite-") && name.ends_with(".mp4") {
                found.push(p);
            }
        }
    }
    found.sort();
    found
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
