//! The compositor tick: at a fixed rate, take each seat's newest frame, render the courtroom,
//! hand the frame to the encoder, and mix one tick of audio for the recording.
//!
//! Runs on its own thread so rendering never blocks the network tasks. Media time is
//! `tick × period`, the same for the video frame and the audio of that tick. The tick holds
//! the parts of the hearing it reads and feeds ([`Tick`]), not the hearing itself.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::audio::AudioForwarding;
use super::camera::Camera;
use super::core::is_away;
use super::monitor::Monitor;
use super::output::Output;
use super::recording::Recording;
use super::seats::Seats;
use super::workers::StopSignal;
use crate::framing::FramingService;
use crate::media::audio_mix::{mix, samples_for_tick};
use crate::render::director::rms_level;
use crate::render::{Compositor, Director, Layout, NameplateText, SeatView};

/// Shortest shot the automatic director holds before cutting again.
const MIN_SHOT: Duration = Duration::from_secs(3);

/// What the tick reads and feeds.
pub struct Tick {
    /// The hearing's id (for logs).
    pub hearing: String,
    /// The hearing's locale (for nameplates).
    pub locale: String,
    /// Output frames per second.
    pub fps: u32,
    /// A seat whose camera sent nothing this long is away.
    pub away_after: Duration,
    /// Media time zero.
    pub clock_start: Instant,
    /// The scene layout.
    pub layout: Layout,
    /// Seats and their media.
    pub seats: Arc<Seats>,
    /// Which seats are muted (left out of the mix).
    pub audio: Arc<AudioForwarding>,
    /// The camera's view lock and the view on air.
    pub camera: Arc<Camera>,
    /// Where the mixed audio goes.
    pub recording: Arc<Recording>,
    /// Where the composite goes.
    pub output: Arc<Output>,
    /// Tick counters and the monitor's picture.
    pub monitor: Arc<Monitor>,
    /// Face framing, if on.
    pub framing: Option<Arc<FramingService>>,
    /// When to stop.
    pub stop: Arc<StopSignal>,
}

/// Runs until the hearing is shut down.
pub fn run(t: Tick, mut compositor: Compositor) {
    let period = Duration::from_nanos(1_000_000_000 / t.fps as u64);
    let start = t.clock_start;
    let seats = t.seats.len();
    let mut tick: u64 = 0;
    let mut last_away: Vec<bool> = vec![false; seats];
    let mut last_seq: Vec<u64> = vec![0; seats];
    let mut director = Director::new(&t.layout, MIN_SHOT, Instant::now());
    let mut levels: Vec<f32> = vec![0.0; seats];
    while !t.stop.is_stopped() {
        let deadline = start + period * tick as u32;
        let now = Instant::now();
        if deadline > now {
            std::thread::sleep(deadline - now);
        }
        let now = Instant::now();
        let views = seat_views(&t, now);
        let pts = period * tick as u32;
        // The oldest camera frame that this tick shows for the first time.
        let newest_arrival = views
            .iter()
            .zip(last_seq.iter_mut())
            .filter_map(|(v, last)| {
                let (seq, frame) = v.frame.as_ref()?;
                (std::mem::replace(last, *seq) != *seq).then_some(frame.arrived)
            })
            .min();
        if let Some(arrived) = newest_arrival {
            t.monitor.ticks().composed(pts, arrived);
        }
        director.lock(t.camera.locked());
        if let Some(view) = director.update(now, &levels) {
            if let Some(camera) = t.layout.camera_for(view) {
                compositor.set_camera(camera);
            }
            tracing::debug!(hearing = %t.hearing, view, "camera cut");
            t.camera.cut_to(view);
        }
        match compositor.render_i420(&views) {
            Ok(frame) => {
                t.monitor.offer_composite(&frame, pts);
                if let Err(e) = t.output.push(frame, pts) {
                    tracing::warn!(hearing = %t.hearing, "encoder refused a frame: {e}");
                }
            }
            Err(e) => tracing::error!(hearing = %t.hearing, "render failed: {e}"),
        }
        // Audio is mixed for every tick, so the recording's audio has no gaps even when
        // video ticks are skipped below.
        levels = mix_tick(&t, tick, pts);
        t.monitor.ticks().tick();
        tick += 1;
        let next = start + period * tick as u32;
        let done = Instant::now();
        if done > next {
            t.monitor.ticks().late();
            // Too far behind: skip the video ticks that are already past, keep the audio.
            let behind = ((done - start).as_nanos() / period.as_nanos()) as u64;
            while tick < behind {
                mix_tick(&t, tick, period * tick as u32);
                tick += 1;
            }
        }
        let away: Vec<bool> = views.iter().map(|v| v.away).collect();
        if away != last_away {
            last_away = away;
            t.seats.publish_roster();
        }
    }
    tracing::info!(hearing = %t.hearing, ticks = tick, "compositor stopped");
}

fn seat_views(t: &Tick, now: Instant) -> Vec<SeatView> {
    t.seats
        .occupants()
        .into_iter()
        .enumerate()
        .map(|(i, seated)| {
            let Some(seated) = seated else {
                return SeatView::default();
            };
            let seat = t.seats.media(i);
            let frame = seat.frames().latest();
            let arrived = frame.as_ref().map(|(_, f)| f.arrived);
            SeatView {
                away: is_away(now, seated.joined_at, arrived, t.away_after),
                frame,
                key: seat.key(),
                nameplate: Some(NameplateText::new(
                    seated.admission.role,
                    &seated.admission.name,
                    &t.locale,
                )),
                crop: t.framing.as_ref().and_then(|f| f.crop(i, now)),
                gain: seat.gain(),
            }
        })
        .collect()
}

/// Mixes one tick for the recording and returns each seat's RMS level (for the director).
fn mix_tick(t: &Tick, tick: u64, pts: Duration) -> Vec<f32> {
    let n = samples_for_tick(tick, t.fps);
    // A muted seat's audio is still drained, so unmuting does not replay old speech, but it
    // is left out of the mix and the level meter.
    let taken: Vec<Option<Vec<i16>>> = t
        .seats
        .all_media()
        .iter()
        .enumerate()
        .map(|(i, s)| s.audio().take(n).filter(|_| !t.audio.is_muted(i)))
        .collect();
    let levels = taken
        .iter()
        .map(|t| t.as_deref().map_or(0.0, rms_level))
        .collect();
    let samples = mix(taken.iter().flatten().map(Vec::as_slice), n);
    if let Some(active) = t.recording.current() {
        // The first ticks of a hearing have no earlier instant to be stamped with: dropped.
        if let Some(heard_at) = pts.checked_sub(crate::media::audio_mix::AUDIO_PATH_DELAY) {
            active.recorder.push_audio(&samples, heard_at);
        }
    }
    levels
}
