//! The compositor tick: at a fixed rate, mix one tick of audio for the recording, take each
//! seat's frame captured when that seat's audio was, render the courtroom, and hand the frame
//! to the encoder.
//!
//! Runs on its own thread so rendering never blocks the network tasks. Media time is
//! `tick × period`, the same for the video frame and the audio of that tick. Audio sets the
//! pace: it is mixed for every tick, late or not, and never moved; for each seat the picture
//! follows it, by capture time (`media::capture`: the sender's RTCP reports put camera and
//! microphone on one clock), so a person's lips match their voice however late their audio
//! arrives (a picture later than its sound is shown as it comes), and a tick that runs late
//! repeats or drops frames, never audio. When the node as a whole falls behind, every hearing
//! on it renders the same share of its ticks (`pace`: the others only mix their audio). The
//! tick holds the parts of the hearing it reads and feeds ([`Tick`]), not the hearing itself.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::audio::AudioForwarding;
use super::camera::Camera;
use super::core::is_away;
use super::exhibits::DisplaySlot;
use super::gallery::Broadcast;
use super::monitor::Monitor;
use super::output::Output;
use super::pace::FramePace;
use super::recording::Recording;
use super::seats::Seats;
use super::sounds::CourtSounds;
use super::still::StillCadence;
use super::workers::StopSignal;
use crate::framing::FramingService;
use crate::media::audio_mix::{mix, samples_for_tick};
use crate::render::director::{rms_level, ExhibitCue};
use crate::render::layout::EXHIBIT_VIEW;
use crate::render::{Compositor, Director, Layout, NameplateText, SeatView};

/// Shortest shot the automatic director holds before cutting again.
const MIN_SHOT: Duration = Duration::from_secs(3);
/// How much later than a tick's first sound a frame may have been captured and still be shown
/// with it. A sound then plays up to 40 ms after its picture, and at most one camera frame
/// less than that (0 ms at 25 fps, −27 ms at 15 fps): inside BT.1359, which allows sound 45 ms
/// early and 125 ms late.
const PICTURE_LEAD: Duration = Duration::from_millis(40);

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
    /// The public broadcast (the mix goes to it too).
    pub broadcast: Arc<Broadcast>,
    /// The evidence display's picture.
    pub display: Arc<DisplaySlot>,
    /// The court's own sounds (the gavel), mixed in.
    pub sounds: Arc<CourtSounds>,
    /// Tick counters and the monitor's picture.
    pub monitor: Arc<Monitor>,
    /// Face framing, if on.
    pub framing: Option<Arc<FramingService>>,
    /// When to stop.
    pub stop: Arc<StopSignal>,
    /// The node's frame pace, shared with its other hearings: which ticks render a picture.
    pub pace: Arc<FramePace>,
    /// How often a picture that does not change is encoded (`video.still_frame_ms`).
    pub still_frame_every: Duration,
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
    let mut still = StillCadence::new(t.still_frame_every);
    while !t.stop.is_stopped() {
        let deadline = start + period * tick as u32;
        let now = Instant::now();
        if deadline > now {
            std::thread::sleep(deadline - now);
        }
        let now = Instant::now();
        let pts = period * tick as u32;
        // Audio first: what each seat's voice of this tick was captured at picks its frame.
        let mixed = mix_tick(&t, tick, pts);
        if t.pace.renders(tick) {
            let views = seat_views(&t, now, &mixed.captured);
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
                t.monitor.ticks().composed(pts, arrived, now);
            }
            let on_air = t.display.current();
            director.lock(t.camera.locked());
            director.exhibit(on_air.as_ref().map(|a| ExhibitCue {
                serial: a.serial,
                presenter_seat: a.presenter_seat,
            }));
            if let Some(view) = director.update(now, &mixed.levels) {
                if let Some(camera) = t.layout.camera_for(view) {
                    compositor.set_camera(camera);
                }
                tracing::debug!(hearing = %t.hearing, view, "camera cut");
                t.camera.cut_to(view);
            }
            compositor.show_exhibit(on_air.as_ref().map(|a| &a.picture));
            // The presenter, picture-in-picture, while the exhibit fills the frame.
            compositor.set_inset(
                on_air
                    .and_then(|a| a.presenter_seat)
                    .filter(|_| director.current() == EXHIBIT_VIEW),
            );
            match compositor.compose_i420(&views) {
                Ok(frame) => {
                    t.monitor.offer_composite(frame.i420, pts);
                    // A still picture goes to the encoders only now and then.
                    let wanted = t.output.take_frame_wanted();
                    if still.sends(pts, frame.drawn, wanted) {
                        if let Err(e) = t.output.push(frame.i420.to_vec(), pts) {
                            tracing::warn!(hearing = %t.hearing, "encoder refused a frame: {e}");
                        }
                    } else {
                        t.monitor.ticks().still();
                    }
                }
                Err(e) => tracing::error!(hearing = %t.hearing, "render failed: {e}"),
            }
            let away: Vec<bool> = views.iter().map(|v| v.away).collect();
            if away != last_away {
                last_away = away;
                t.seats.publish_roster();
            }
        } else {
            // The node is behind: this tick's picture is shed, as in every hearing on it.
            t.monitor.ticks().shed();
        }
        t.monitor.ticks().tick();
        tick += 1;
        let next = start + period * tick as u32;
        let done = Instant::now();
        t.pace.note(&t.hearing, done > next);
        if done > next {
            t.monitor.ticks().late();
            // Too far behind: skip the video ticks that are already past; audio is mixed for
            // every one of them, so the recording's audio has no gaps.
            let behind = ((done - start).as_nanos() / period.as_nanos()) as u64;
            while tick < behind {
                mix_tick(&t, tick, period * tick as u32);
                tick += 1;
            }
        }
    }
    tracing::info!(hearing = %t.hearing, ticks = tick, "compositor stopped");
}

/// Each seat's view: the newest frame captured no later than [`PICTURE_LEAD`] after the first
/// sound of this tick (`captured`), or the newest frame for a seat with no audio playing.
fn seat_views(t: &Tick, now: Instant, captured: &[Option<Instant>]) -> Vec<SeatView> {
    t.seats
        .occupants()
        .into_iter()
        .enumerate()
        .map(|(i, seated)| {
            let Some(seated) = seated else {
                return SeatView::default();
            };
            let seat = t.seats.media(i);
            let arrived = seat.frames().latest().map(|(_, f)| f.arrived);
            let heard = captured.get(i).copied().flatten();
            let frame = match heard {
                // Frames before the one shown are let go only on the sender's clock: until both
                // tracks are mapped, the sound's capture time can jump back when they are.
                Some(heard) if seat.capture().is_mapped() => {
                    seat.frames().shown_with(heard + PICTURE_LEAD)
                }
                Some(heard) => seat.frames().captured_by(heard + PICTURE_LEAD),
                None => seat.frames().latest(),
            };
            if tracing::enabled!(tracing::Level::TRACE) {
                trace_sync(i, now, heard, frame.as_ref(), seat);
            }
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

/// Logs (at trace level) how old, against `now`, the seat's sound of this tick, the frame
/// shown with it and the newest frame are (by their capture), and how long ago the frame shown
/// was decoded: the way to see sync work in a live hearing, and how long a picture waits for
/// its tick and its sound (`scripts/profile-hearing.sh` reads it).
fn trace_sync(
    seat: usize,
    now: Instant,
    sound: Option<Instant>,
    shown: Option<&(u64, Arc<crate::media::frame::VideoFrame>)>,
    media: &super::seats::SeatMedia,
) {
    let age_ms = |t: Instant| now.saturating_duration_since(t).as_millis() as u64;
    let newest = media.frames().latest();
    tracing::trace!(
        seat,
        sound_age_ms = sound.map(age_ms),
        shown_age_ms = shown.map(|(_, f)| age_ms(f.captured)),
        shown_decoded_ms = shown.map(|(_, f)| age_ms(f.arrived)),
        newest_age_ms = newest.as_ref().map(|(_, f)| age_ms(f.captured)),
        on_sender_clock = media.capture().is_mapped(),
        "sync"
    );
}

/// One tick of the mix, as the rest of the tick needs it.
struct Mixed {
    /// Each seat's RMS level (for the director).
    levels: Vec<f32>,
    /// When each seat's first sample of this tick was captured (`None`: no audio playing).
    captured: Vec<Option<Instant>>,
}

/// Mixes one tick for the recording, stamped with the tick's media time.
fn mix_tick(t: &Tick, tick: u64, pts: Duration) -> Mixed {
    let n = samples_for_tick(tick, t.fps);
    let taken: Vec<_> = t
        .seats
        .all_media()
        .iter()
        .map(|s| s.audio().take(n))
        .collect();
    let captured = taken.iter().map(|a| a.as_ref()?.captured).collect();
    // A muted seat's audio is still drained, so unmuting does not replay old speech, and still
    // keeps its picture in step, but it is left out of the mix and the level meter.
    let heard: Vec<Option<&[i16]>> = taken
        .iter()
        .enumerate()
        .map(|(i, a)| {
            a.as_ref()
                .filter(|_| !t.audio.is_muted(i))
                .map(|a| a.samples.as_slice())
        })
        .collect();
    let levels = heard.iter().map(|h| h.map_or(0.0, rms_level)).collect();
    let court = t.sounds.take(n);
    let samples = mix(heard.iter().flatten().copied().chain(court.as_deref()), n);
    if let Some(active) = t.recording.current() {
        active.recorder.push_audio(&samples, pts);
    }
    t.broadcast.push_audio(&samples, pts);
    Mixed { levels, captured }
}
