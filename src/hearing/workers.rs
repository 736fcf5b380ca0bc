//! The hearing's background workers, beside the tick: key calibration with the brightness
//! match (one thread, about once a second), face framing (`framing::FramingService`, its own
//! thread at 2 Hz), and media repair (one thread that reacts to failed pipelines,
//! [`super::repair`]). The hearing starts them, and stops and joins them on shutdown.
//!
//! Locks: `threads` and `framing`, held only to add or take a handle. A worker waits on the
//! [`StopSignal`] between rounds, so shutdown does not wait out a sleep.

use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::repair::MediaRepair;
use super::seats::Seats;
use crate::framing::FramingService;
use crate::keying::look::{measure, LookMatch};
use crate::keying::{KeyTracker, ScreenWarning};
use crate::media::events::{MediaEvent, MediaEventSink};

/// How often each seat's key and brightness are refined.
const CALIBRATION_PERIOD: Duration = Duration::from_secs(1);

/// Tells workers to stop, and wakes them if they wait.
#[derive(Debug, Default)]
pub struct StopSignal {
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl StopSignal {
    /// Asks every worker to stop.
    pub fn stop(&self) {
        *self.stopped.lock().expect("stop lock") = true;
        self.wake.notify_all();
    }

    /// Whether [`StopSignal::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        *self.stopped.lock().expect("stop lock")
    }

    /// Waits up to `timeout`; returns whether to stop.
    pub fn wait(&self, timeout: Duration) -> bool {
        let stopped = self.stopped.lock().expect("stop lock");
        let (stopped, _) = self
            .wake
            .wait_timeout_while(stopped, timeout, |s| !*s)
            .expect("stop lock");
        *stopped
    }
}

/// What the media-repair thread receives.
enum RepairMessage {
    Media(MediaEvent),
    Stop,
}

/// The channel that media events reach the media-repair thread on.
pub struct RepairQueue {
    tx: Sender<RepairMessage>,
    rx: Receiver<RepairMessage>,
}

impl Default for RepairQueue {
    fn default() -> Self {
        let (tx, rx) = std::sync::mpsc::channel();
        Self { tx, rx }
    }
}

impl RepairQueue {
    /// The sink pipelines report to (never blocks).
    pub fn sink(&self) -> MediaEventSink {
        let tx = self.tx.clone();
        Arc::new(move |event| {
            // After shutdown nobody repairs: the event is dropped.
            let _ = tx.send(RepairMessage::Media(event));
        })
    }
}

/// The background workers of one hearing.
#[derive(Debug)]
pub struct Workers {
    hearing: String,
    stop: Arc<StopSignal>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    framing: Mutex<Option<Arc<FramingService>>>,
    repair: Mutex<Option<Sender<RepairMessage>>>,
}

impl Workers {
    /// No workers yet, for hearing `hearing` (names the threads).
    pub fn new(hearing: &str) -> Self {
        Self {
            hearing: hearing.to_owned(),
            stop: Arc::default(),
            threads: Mutex::default(),
            framing: Mutex::default(),
            repair: Mutex::default(),
        }
    }

    /// The signal the tick also stops on.
    pub fn stop_signal(&self) -> Arc<StopSignal> {
        self.stop.clone()
    }

    fn spawn(&self, name: String, run: impl FnOnce() + Send + 'static) {
        // In the hearing's span, as the rest of its work.
        let span = tracing::Span::current();
        let handle = std::thread::Builder::new()
            .name(name)
            .spawn(move || span.in_scope(run))
            .expect("spawn hearing worker");
        self.threads.lock().expect("threads lock").push(handle);
    }

    /// Starts key calibration and the brightness match: about once a second each seat's newest
    /// frame refines its screen model (the first seconds set it; later it moves slowly),
    /// unless the seat's key is manual; and the person's brightness and white balance are
    /// measured against the room's (`keying::look`).
    pub fn start_calibration(&self, seats: Arc<Seats>) {
        let stop = self.stop.clone();
        let hearing = self.hearing.clone();
        self.spawn(format!("key-{hearing}"), move || {
            let mut keys = KeyCalibration::new(seats.len());
            while !stop.is_stopped() {
                keys.update(&hearing, &seats);
                if stop.wait(CALIBRATION_PERIOD) {
                    break;
                }
            }
        });
    }

    /// Starts face framing; the tick reads each seat's crop from the returned service.
    pub fn start_framing(
        &self,
        frames: Vec<Arc<crate::media::frame::FrameSlot>>,
        targets: Vec<crate::framing::SeatTarget>,
    ) -> Arc<FramingService> {
        let service = Arc::new(FramingService::start(&self.hearing, frames, targets));
        *self.framing.lock().expect("framing lock") = Some(service.clone());
        service
    }

    /// Starts the media-repair thread on `queue`.
    pub fn start_repair(&self, queue: RepairQueue, mut repair: MediaRepair) {
        *self.repair.lock().expect("repair lock") = Some(queue.tx.clone());
        let rx = queue.rx;
        self.spawn(format!("repair-{}", self.hearing), move || {
            while let Ok(RepairMessage::Media(event)) = rx.recv() {
                repair.handle(event);
            }
        });
    }

    /// Asks every worker (and the tick) to stop, without waiting.
    pub fn signal_stop(&self) {
        self.stop.stop();
        if let Some(repair) = self.repair.lock().expect("repair lock").take() {
            let _ = repair.send(RepairMessage::Stop);
        }
    }

    /// Stops every worker and waits for each. The tick, which holds the framing service too,
    /// must have stopped first, so that dropping the service here joins its thread.
    pub fn shutdown(&self) {
        self.signal_stop();
        let threads = std::mem::take(&mut *self.threads.lock().expect("threads lock"));
        for thread in threads {
            let _ = thread.join();
        }
        let framing = self.framing.lock().expect("framing lock").take();
        drop(framing);
    }
}

/// Per seat: the key's screen tracker, the last warning told, and the brightness match.
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

    fn update(&mut self, hearing: &str, seats: &Seats) {
        for (i, seat) in seats.all_media().iter().enumerate() {
            let Some((_, frame)) = seat.frames().latest() else {
                self.trackers[i].reset();
                self.looks[i].reset();
                seat.set_gain(None);
                if self.warned[i].take().is_some() {
                    seats.report_screen(i, None);
                }
                continue;
            };
            let params = seat.key();
            // Brightness and white balance are matched whether the key is auto or manual.
            if let Some(subject) = measure(&frame, &params.model()) {
                seat.set_gain(Some(self.looks[i].update(&subject)));
            }
            if !params.auto {
                continue;
            }
            // Only what lies inside the seat's garbage matte is screen to fit.
            let model = self.trackers[i].update_within(&frame, params.garbage);
            seat.fit_screen(model);
            let warning = self.trackers[i].warning();
            if warning != self.warned[i] {
                self.warned[i] = warning;
                if let Some(w) = warning {
                    tracing::warn!(%hearing, seat = i, "{}", w.hint());
                }
                seats.report_screen(i, warning);
            }
        }
    }
}
