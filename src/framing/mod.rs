//! Face framing: remote people sit at different distances from their cameras, so each seat's
//! camera frame is cropped and scaled to put the head at the seat's head box.
//!
//! - [`detect`]: [`FaceFinder`], an OpenCV cascade (Debian's `opencv-data`) over the Y plane.
//! - [`crop`]: [`Framer`], pure arithmetic from a face to a smoothed crop.
//! - [`cadence`]: [`Cadence`], when each seat is searched: every [`PERIOD`] while its crop moves,
//!   less often once its face stays put or no face is found.
//! - [`FramingService`]: one thread per hearing that wakes every [`PERIOD`], runs the finder on
//!   the newest frame of each seat that is due (off the compositor's hot path) and feeds that
//!   seat's framer; the compositor reads [`FramingService::crop`] each tick, which evaluates the
//!   smoothing at the tick's instant, so the crop moves every tick although faces are found at
//!   2 Hz at most.
//!
//! Without a cascade on the machine framing stays off (logged once) and every crop is `None`,
//! meaning the default [`fit_crop`](crate::render::layout::fit_crop).

pub mod cadence;
pub mod crop;
pub mod detect;
mod error;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use cadence::Cadence;
pub use crop::{crop_for_face, Framer, NormRect, Search, SeatTarget};
pub use detect::{find_cascade, FaceFinder};
pub use error::FramingError;

use crate::media::frame::FrameSlot;

/// How often each seat's newest frame is searched for a face at most (while its crop moves).
pub const PERIOD: Duration = Duration::from_millis(500);

/// Set once the "framing is off" warning has been logged in this process.
static WARNED_OFF: AtomicBool = AtomicBool::new(false);

struct Shared {
    framers: Vec<Mutex<Framer>>,
    stop: AtomicBool,
}

/// Finds faces for a hearing's seats on its own thread and serves each seat's smoothed crop.
/// Dropping it stops the thread.
pub struct FramingService {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for FramingService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FramingService")
            .field("seats", &self.shared.framers.len())
            .finish()
    }
}

impl FramingService {
    /// Starts framing seat `i`'s frames `frames[i]` onto `targets[i]` with the best cascade on
    /// this machine. `name` (e.g. the hearing id) names the thread and its log lines.
    pub fn start(name: &str, frames: Vec<Arc<FrameSlot>>, targets: Vec<SeatTarget>) -> Self {
        Self::start_with(name, find_cascade(), frames, targets)
    }

    /// As [`FramingService::start`], with a given cascade (or the error that finding one gave).
    pub fn start_with(
        name: &str,
        cascade: Result<std::path::PathBuf, FramingError>,
        frames: Vec<Arc<FrameSlot>>,
        targets: Vec<SeatTarget>,
    ) -> Self {
        assert_eq!(frames.len(), targets.len(), "one target per seat");
        let shared = Arc::new(Shared {
            framers: targets
                .into_iter()
                .map(|t| Mutex::new(Framer::new(t)))
                .collect(),
            stop: AtomicBool::new(false),
        });
        let thread = {
            let shared = shared.clone();
            let name = name.to_string();
            std::thread::Builder::new()
                .name(format!("framing-{name}"))
                .spawn(move || {
                    let finder = cascade.and_then(|path| FaceFinder::from_file(&path));
                    match finder {
                        Ok(finder) => {
                            tracing::debug!(hearing = %name, cascade = %finder.cascade_path().display(), "face framing on");
                            run(&shared, finder, &frames, &name);
                        }
                        Err(e) => {
                            if !WARNED_OFF.swap(true, Ordering::Relaxed) {
                                tracing::warn!(hearing = %name, "face framing off: {e}");
                            }
                        }
                    }
                })
                .expect("spawn framing thread")
        };
        Self {
            shared,
            thread: Some(thread),
        }
    }

    /// Seat `seat`'s crop `[x, y, w, h]` in frame uv at `now`; `None` while the seat has had no
    /// frame (or framing is off): show the default crop.
    pub fn crop(&self, seat: usize, now: Instant) -> Option<[f32; 4]> {
        self.shared
            .framers
            .get(seat)?
            .lock()
            .expect("framer lock")
            .crop(now)
    }

    /// The face last found at `seat`, if it was seen within [`crop::LOST_AFTER`] of `now`.
    pub fn face(&self, seat: usize, now: Instant) -> Option<NormRect> {
        self.shared
            .framers
            .get(seat)?
            .lock()
            .expect("framer lock")
            .face(now)
    }
}

impl Drop for FramingService {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

/// The framing thread: each period, each seat with a new frame that its [`Cadence`] says is
/// due gets one detection.
fn run(shared: &Shared, mut finder: FaceFinder, frames: &[Arc<FrameSlot>], name: &str) {
    let mut last_seq: Vec<Option<u64>> = vec![None; frames.len()];
    let mut failed = vec![false; frames.len()];
    let mut cadences = vec![Cadence::default(); frames.len()];
    while !shared.stop.load(Ordering::SeqCst) {
        let began = Instant::now();
        for (i, slot) in frames.iter().enumerate() {
            let Some((seq, frame)) = slot.latest() else {
                if last_seq[i].take().is_some() {
                    // The person left: the next one starts on the default crop.
                    let mut framer = shared.framers[i].lock().expect("framer lock");
                    *framer = Framer::new(*framer.target());
                    cadences[i].reset();
                }
                continue;
            };
            if last_seq[i] == Some(seq) {
                continue; // a stalled camera keeps its crop
            }
            // Due times count from the wake-up, so a seat due every third period is searched
            // on the third, however long the seats before it took.
            if !cadences[i].due(began) {
                continue;
            }
            last_seq[i] = Some(seq);
            let face = match finder.find(&frame.y, frame.width, frame.height) {
                Ok(face) => face,
                Err(e) => {
                    if !std::mem::replace(&mut failed[i], true) {
                        tracing::warn!(hearing = %name, seat = i, "face detection failed: {e}");
                    }
                    None
                }
            };
            let aspect = frame.width as f32 / frame.height as f32;
            let seen = shared.framers[i].lock().expect("framer lock").observe(
                face,
                aspect,
                Instant::now(),
            );
            cadences[i].searched(seen, began);
        }
        let rest = PERIOD.saturating_sub(began.elapsed());
        if !shared.stop.load(Ordering::SeqCst) {
            std::thread::park_timeout(rest.max(Duration::from_millis(50)));
        }
    }
}
