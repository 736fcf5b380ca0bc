//! A/V sync read back from a recording: the instants a seat's picture flashes and a tone of
//! its own frequency starts (ffmpeg decodes; the arithmetic is here), paired into offsets and
//! held against ITU-R BT.1359 (audio at most 45 ms early and at most 125 ms late).

use std::path::Path;
use std::process::Command;

use super::probe::run_capture;

/// BT.1359's window for audio minus video, in milliseconds.
pub fn in_bt1359(offset_ms: f64) -> bool {
    (-EARLY_MS..=LATE_MS).contains(&offset_ms)
}

/// The region of a seat box `(x, y, w, h)` a flash is looked for in: the middle of its upper
/// half, inside the person and above any furniture.
pub fn flash_region(x: u64, y: u64, w: u64, h: u64) -> (u64, u64, u64, u64) {
    (
        x + w * 3 / 8,
        y + h / 8,
        (w / 4).max(4) & !1,
        (h / 4).max(4) & !1,
    )
}

/// Early limit of BT.1359's window (ms): audio at most this much before its picture.
const EARLY_MS: f64 = 45.0;
/// Late limit of BT.1359's window (ms): audio at most this much after its picture.
const LATE_MS: f64 = 125.0;

/// One flash paired with its beep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyncPair {
    /// Audio minus video, ms (audio late > 0), taking the first picture that shows the flash.
    pub offset_ms: f64,
    /// How long before that picture the recording's previous picture is (ms). The flash
    /// reached the compositor somewhere in this gap, so the picture can show it up to this
    /// much late: the recording is variable-rate, and a node that sheds ticks leaves gaps.
    pub frame_gap_ms: f64,
}

impl SyncPair {
    /// Whether the pair is inside BT.1359 allowing for the recording's frame grid: the audio
    /// no later than the window allows against the picture that shows the flash, and no
    /// earlier than it allows against the instant just after the previous picture, the
    /// earliest the flash could have been shown (that gap counted up to `max_gap_ms`).
    pub fn in_bt1359_on_frame_grid(&self, max_gap_ms: f64) -> bool {
        let gap = self.frame_gap_ms.clamp(0.0, max_gap_ms);
        (-(EARLY_MS + gap)..=LATE_MS).contains(&self.offset_ms)
    }
}

/// Audio-minus-video offsets (ms, audio late > 0) of each flash in `region` of `mp4` and the
/// nearest onset of the tone at `hz` within 0.6 s; and how many flashes and beeps were found.
pub fn offsets_ms(mp4: &Path, region: (u64, u64, u64, u64), hz: f32) -> (Vec<f64>, usize, usize) {
    let (pairs, flashes, beeps) = sync_pairs(mp4, region, hz);
    (pairs.iter().map(|p| p.offset_ms).collect(), flashes, beeps)
}

/// Each flash in `region` of `mp4` paired with the nearest onset of the tone at `hz` within
/// 0.6 s, with the gap before the picture that shows it; and how many flashes and beeps were
/// found.
pub fn sync_pairs(
    mp4: &Path,
    region: (u64, u64, u64, u64),
    hz: f32,
) -> (Vec<SyncPair>, usize, usize) {
    let flashes = flash_onsets(mp4, region);
    let beeps = beep_onsets(mp4, hz);
    let pairs = flashes
        .iter()
        .filter_map(|f| {
            let offset = beeps
                .iter()
                .map(|&b| b - f.at)
                .filter(|d| d.abs() < 0.6)
                .min_by(|a, b| a.abs().total_cmp(&b.abs()))?;
            Some(SyncPair {
                offset_ms: offset * 1000.0,
                frame_gap_ms: f.after_gap * 1000.0,
            })
        })
        .collect();
    (pairs, flashes.len(), beeps.len())
}

/// The median of `values` (0 for none).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
}

/// A flash as the recording shows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlashOnset {
    /// Time (s) of the first picture that shows it.
    pub at: f64,
    /// Seconds since the picture before that one.
    pub after_gap: f64,
}

/// The pictures at which the mean luma of a region rises above the midpoint between its quiet
/// level and its brightest.
pub fn flash_onsets(mp4: &Path, region: (u64, u64, u64, u64)) -> Vec<FlashOnset> {
    let (x, y, w, h) = region;
    let times: Vec<f64> = String::from_utf8(run_capture(
        Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-select_streams",
                "v",
                "-show_entries",
                "frame=pts_time",
                "-of",
                "csv=p=0",
            ])
            .arg(mp4),
    ))
    .unwrap()
    .lines()
    .filter_map(|l| l.trim().trim_end_matches(',').parse().ok())
    .collect();
    let raw = run_capture(
        Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(mp4)
            .args([
                "-fps_mode",
                "passthrough",
                "-vf",
                &format!("crop={w}:{h}:{x}:{y},scale=4:4"),
                "-f",
                "rawvideo",
                "-pix_fmt",
                "gray",
                "pipe:1",
            ]),
    );
    let luma: Vec<f64> = raw
        .chunks_exact(16)
        .map(|c| c.iter().map(|&v| v as f64).sum::<f64>() / 16.0)
        .collect();
    assert_eq!(luma.len(), times.len(), "one luma value per video frame");
    let (lo, hi) = (
        luma.iter().cloned().fold(f64::MAX, f64::min),
        luma.iter().cloned().fold(0.0, f64::max),
    );
    let mid = (lo + hi) / 2.0;
    let mut onsets = Vec::new();
    for i in 1..luma.len() {
        if luma[i] > mid && luma[i - 1] <= mid && hi - lo > 60.0 {
            onsets.push(FlashOnset {
                at: times[i],
                after_gap: times[i] - times[i - 1],
            });
        }
    }
    onsets
}

/// Times (s) at which the energy at `hz` (Goertzel over 5 ms windows) rises above a third of
/// its peak.
pub fn beep_onsets(mp4: &Path, hz: f32) -> Vec<f64> {
    let start: f64 = String::from_utf8(run_capture(
        Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-select_streams",
                "a",
                "-show_entries",
                "stream=start_time",
                "-of",
                "csv=p=0",
            ])
            .arg(mp4),
    ))
    .unwrap()
    .trim()
    .parse()
    .unwrap_or(0.0);
    let pcm = run_capture(
        Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(mp4)
            .args(["-f", "s16le", "-ac", "1", "-ar", "48000", "pipe:1"]),
    );
    let samples: Vec<f32> = pcm
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]) as f32)
        .collect();
    const WIN: usize = 240;
    let k = 2.0 * (std::f32::consts::TAU * hz / 48_000.0).cos();
    let energy: Vec<f32> = samples
        .chunks_exact(WIN)
        .map(|w| {
            let (mut s1, mut s2) = (0f32, 0f32);
            for &x in w {
                let s0 = x + k * s1 - s2;
                s2 = s1;
                s1 = s0;
            }
            s1 * s1 + s2 * s2 - k * s1 * s2
        })
        .collect();
    let peak = energy.iter().cloned().fold(0.0, f32::max);
    let mut onsets = Vec::new();
    let mut quiet_for = usize::MAX;
    for (i, &e) in energy.iter().enumerate() {
        if e > peak / 3.0 {
            // A new beep only after 0.5 s of quiet.
            if quiet_for > 100 {
                onsets.push(start + (i * WIN) as f64 / 48_000.0);
            }
            quiet_for = 0;
        } else {
            quiet_for = quiet_for.saturating_add(1);
        }
    }
    onsets
}
