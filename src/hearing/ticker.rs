//! The compositor tick: at a fixed rate, take each seat's newest frame, render the courtroom,
//! hand the frame to the encoder, and mix one tick of audio for the recording.
//!
//! Runs on its own thread so rendering never blocks the network tasks. Media time is
//! `tick × period`, the same for the video frame and the audio of that tick.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::core::is_away;
use super::Hearing;
use crate::framing::{FramingService, SeatTarget};
use crate::keying::look::{measure, LookMatch};
use crate::keying::{KeyTracker, ScreenWarning};
use crate::media::audio_mix::{mix, samples_for_tick};
use crate::render::director::rms_level;
use crate::render::{Compositor, Director, NameplateText, SeatView};

/// Shortest shot the automatic director holds before cutting again.
const MIN_SHOT: Duration = Duration::from_secs(3);

/// Runs until the hearing is shut down.
pub fn run(hearing: Arc<Hearing>, mut compositor: Compositor) {
    let fps = hearing.settings.video.fps;
    let period = Duration::from_nanos(1_000_000_000 / fps as u64);
    let away_after = Duration::from_millis(hearing.settings.hearing.away_after_ms);
    let start = hearing.clock_start;
    let mut tick: u64 = 0;
    let mut last_away: Vec<bool> = vec![false; hearing.seats.len()];
    let mut last_seq: Vec<u64> = vec![0; hearing.seats.len()];
    // Key calibration fits a screen model over whole frames: seconds of CPU on a busy machine,
    // so it runs beside the tick, never in it.
    let calibrator = {
        let hearing = hearing.clone();
        std::thread::Builder::new()
            .name(format!("key-{}", hearing.record.id))
            .spawn(move || {
                let mut keys = KeyCalibration::new(hearing.seats.len());
                while !hearing.stopping() {
                    keys.update(&hearing);
                    std::thread::sleep(Duration::from_secs(1));
                }
            })
            .expect("spawn key calibration thread")
    };
    // Face framing finds faces at 2 Hz on its own thread; the tick only reads the smoothed crop.
    let framing = hearing.settings.hearing.face_framing.then(|| {
        FramingService::start(
            &hearing.record.id.to_string(),
            hearing.seats.iter().map(|s| s.frames.clone()).collect(),
            hearing
                .layout
                .seats
                .iter()
                .map(SeatTarget::for_seat)
                .collect(),
        )
    });
    let mut director = Director::new(&hearing.layout, MIN_SHOT, Instant::now());
    let mut levels: Vec<f32> = vec![0.0; hearing.seats.len()];
    while !hearing.stopping() {
        let deadline = start + period * tick as u32;
        let now = Instant::now();
        if deadline > now {
            std::thread::sleep(deadline - now);
        }
        let now = Instant::now();
        let views = seat_views(&hearing, now, away_after, framing.as_ref());
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
            hearing
                .tick_stats
                .latency
                .lock()
                .expect("latency lock")
                .composed(pts, arrived);
        }
        director.lock(hearing.view_lock.lock().expect("view lock").clone());
        if let Some(view) = director.update(now, &levels) {
            if let Some(camera) = hearing.layout.camera_for(view) {
                compositor.set_camera(camera);
            }
            tracing::debug!(hearing = %hearing.record.id, view, "camera cut");
            *hearing.view.lock().expect("view") = view.to_string();
        }
        match compositor.render_i420(&views) {
            Ok(frame) => {
                hearing.offer_composite(&frame, pts);
                if let Err(e) = hearing.encoder.push(frame, pts) {
                    tracing::warn!(hearing = %hearing.record.id, "encoder refused a frame: {e}");
                }
            }
            Err(e) => tracing::error!(hearing = %hearing.record.id, "render failed: {e}"),
        }
        // Audio is mixed for every tick, so the recording's audio has no gaps even when
        // video ticks are skipped below.
        levels = mix_tick(&hearing, tick, fps, pts);
        hearing.tick_stats.ticks.fetch_add(1, Ordering::Relaxed);
        tick += 1;
        let next = start + period * tick as u32;
        let done = Instant::now();
        if done > next {
            hearing.tick_stats.late.fetch_add(1, Ordering::Relaxed);
            // Too far behind: skip the video ticks that are already past, keep the audio.
            let behind = ((done - start).as_nanos() / period.as_nanos()) as u64;
            while tick < behind {
                mix_tick(&hearing, tick, fps, period * tick as u32);
                tick += 1;
            }
        }
        let away: Vec<bool> = views.iter().map(|v| v.away).collect();
        if away != last_away {
            last_away = away;
            hearing.publish_roster();
        }
    }
    let _ = calibrator.join();
    tracing::info!(hearing = %hearing.record.id, ticks = tick, "compositor stopped");
}

fn seat_views(
    hearing: &Hearing,
    now: Instant,
    away_after: Duration,
    framing: Option<&FramingService>,
) -> Vec<SeatView> {
    let core = hearing.core.lock().expect("core lock");
    (0..hearing.seats.len())
        .map(|i| {
            let seat = &hearing.seats[i];
            let Some((_, seated)) = core.at_seat(i) else {
                return SeatView::default();
            };
            let frame = seat.frames.latest();
            let arrived = frame.as_ref().map(|(_, f)| f.arrived);
            SeatView {
                away: is_away(now, seated.joined_at, arrived, away_after),
                frame,
                key: *seat.key.lock().expect("key lock"),
                nameplate: Some(NameplateText::new(
                    seated.admission.role,
                    &seated.admission.name,
                    &hearing.record.locale,
                )),
                crop: framing.and_then(|f| f.crop(i, now)),
                gain: *seat.gain.lock().expect("gain lock"),
            }
        })
        .collect()
}

/// Mixes one tick for the recording and returns each seat's RMS level (for the director).
fn mix_tick(hearing: &Hearing, tick: u64, fps: u32, pts: Duration) -> Vec<f32> {
    let n = samples_for_tick(tick, fps);
    // A muted seat's audio is still drained, so unmuting does not replay old speech, but it
    // is left out of the mix and the level meter.
    let taken: Vec<Option<Vec<i16>>> = hearing
        .seats
        .iter()
        .map(|s| {
            s.audio
                .take(n)
                .filter(|_| !s.muted.load(std::sync::atomic::Ordering::Relaxed))
        })
        .collect();
    let levels = taken
        .iter()
        .map(|t| t.as_deref().map_or(0.0, rms_level))
        .collect();
    let samples = mix(taken.iter().flatten().map(Vec::as_slice), n);
    if let Some(active) = hearing.recording.lock().expect("recording lock").as_ref() {
        // The first ticks of a hearing have no earlier instant to be stamped with: dropped.
        if let Some(heard_at) = pts.checked_sub(crate::media::audio_mix::AUDIO_PATH_DELAY) {
            active.recorder.push_audio(&samples, heard_at);
        }
    }
    levels
}

/// Auto key per seat: about once a second each seat's newest frame refines its screen model
/// (the first seconds set it; later it moves slowly), unless the seat's key is manual; and the
/// person's brightness and white balance are measured against the room's
/// ([`crate::keying::look`]).
struct KeyCalibration {
    trackers: Vec<KeyTracker>,
    warned: Vec<Option<ScreenWarning>>,
    looks: Vec<LookMatch>,
}

impl KeyCalibration {
    fn new(seats: usize) -> Self {
        Self {
            trackers: vec![KeyTracker::default(); seats],
            warned: vec![None; seats],
            looks: vec![LookMatch::default(); seats],
        }
    }

    fn update(&mut self, hearing: &Hearing) {
        for (i, seat) in hearing.seats.iter().enumerate() {
            let Some((_, frame)) = seat.frames.latest() else {
                self.trackers[i].reset();
                self.looks[i].reset();
                *seat.gain.lock().expect("gain lock") = None;
                if self.warned[i].take().is_some() {
                    hearing.report_screen(i, None);
                }
                continue;
            };
            let params = *seat.key.lock().expect("key lock");
            // Brightness and white balance are matched whether the key is auto or manual.
            if let Some(subject) = measure(&frame, &params.model()) {
                let gain = self.looks[i].update(&subject);
                *seat.gain.lock().expect("gain lock") = Some(gain);
            }
            if !params.auto {
                continue;
            }
            // Only what lies inside the seat's garbage matte is screen to fit.
            let model = self.trackers[i].update_within(&frame, params.garbage);
            seat.key.lock().expect("key lock").screen = model;
            let warning = self.trackers[i].warning();
            if warning != self.warned[i] {
                self.warned[i] = warning;
                if let Some(w) = warning {
                    tracing::warn!(hearing = %hearing.record.id, seat = i, "{}", w.hint());
                }
                hearing.report_screen(i, warning);
            }
        }
    }
}
