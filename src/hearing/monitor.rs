//! The live monitor: what the clerk's monitor shows of a running hearing besides the roster.
//! The compositor's counters and pipeline latency ([`TickStats`]), each participant's latest
//! client statistics, the media pipelines that failed and what was done about it
//! ([`MediaLog`]), and the newest composite picture, kept only while someone watches.
//!
//! Locks: `latency`, `client_stats`, `media` and `composite`, each held only to read or write
//! its value; the composite is copied outside its lock.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::latency::{LatencyTracker, Percentiles};
use crate::ids::ParticipantId;

/// Counters of the compositor tick, for the monitor and benchmarks.
#[derive(Debug, Default)]
pub struct TickStats {
    ticks: AtomicU64,
    late: AtomicU64,
    shed: AtomicU64,
    still: AtomicU64,
    latency: Mutex<LatencyTracker>,
}

impl TickStats {
    /// Counts one tick (its audio mixed; its picture rendered unless shed).
    pub fn tick(&self) {
        self.ticks.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one tick that finished after its deadline.
    pub fn late(&self) {
        self.late.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one tick whose picture was shed for the node's frame pace.
    pub fn shed(&self) {
        self.shed.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one tick whose picture did not change and was not encoded (`hearing::still`).
    pub fn still(&self) {
        self.still.fetch_add(1, Ordering::Relaxed);
    }

    /// Ticks whose unchanged picture was not encoded.
    pub fn still_ticks(&self) -> u64 {
        self.still.load(Ordering::Relaxed)
    }

    /// Ticks so far (not counting those skipped when the tick fell behind).
    pub fn ticks(&self) -> u64 {
        self.ticks.load(Ordering::Relaxed)
    }

    /// Ticks whose picture was shed for the node's frame pace.
    pub fn shed_ticks(&self) -> u64 {
        self.shed.load(Ordering::Relaxed)
    }

    /// Ticks that finished after their deadline.
    pub fn late_ticks(&self) -> u64 {
        self.late.load(Ordering::Relaxed)
    }

    /// A tick that began at `began`, at media time `pts`, composed a camera frame that
    /// arrived at `arrived`.
    pub fn composed(&self, pts: Duration, arrived: Instant, began: Instant) {
        self.latency
            .lock()
            .expect("latency lock")
            .composed(pts, arrived, began);
    }

    /// The composite of media time `pts` left the encoder at `at`.
    pub fn encoded(&self, pts: Duration, at: Instant) {
        self.latency.lock().expect("latency lock").encoded(pts, at);
    }

    /// Frame arrival → encoded composite, in milliseconds.
    pub fn latency(&self) -> Option<Percentiles> {
        self.latency.lock().expect("latency lock").percentiles()
    }

    /// The tick's start → encoded composite, in milliseconds: the part of [`Self::latency`]
    /// that is drawing and encoding (the rest is the frame's wait for its tick and its sound).
    pub fn latency_from_tick(&self) -> Option<Percentiles> {
        self.latency.lock().expect("latency lock").from_tick()
    }
}

/// One failed pipeline, as the monitor lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MediaIncident {
    /// Unix time, seconds.
    pub at: i64,
    /// `camera`, `microphone` or `encoder`.
    pub pipeline: &'static str,
    /// The seat of a failed decoder.
    pub seat: Option<String>,
    /// The participant of a failed decoder.
    pub participant_id: Option<ParticipantId>,
    /// GStreamer's error.
    pub error: String,
    /// `restarted` or `stopped`.
    pub action: &'static str,
}

/// The recent pipeline failures of a hearing.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MediaLog {
    /// Pipelines rebuilt since the hearing started.
    pub restarts: u64,
    /// The most recent failures, oldest first (at most [`MediaLog::KEPT`]).
    pub incidents: VecDeque<MediaIncident>,
}

impl MediaLog {
    /// How many incidents are kept.
    pub const KEPT: usize = 20;

    fn note(&mut self, incident: MediaIncident) {
        if incident.action == "restarted" {
            self.restarts += 1;
        }
        if self.incidents.len() == Self::KEPT {
            self.incidents.pop_front();
        }
        self.incidents.push_back(incident);
    }
}

/// One composite picture as the compositor drew it, kept for the clerk's live monitor.
#[derive(Debug)]
pub struct CompositeFrame {
    /// Rises with every kept picture, so a reader can tell a new picture from one it has seen.
    pub seq: u64,
    /// Width in pixels (the output width).
    pub width: u32,
    /// Height in pixels (the output height).
    pub height: u32,
    /// I420, tightly packed: the Y plane, then U, then V (each `width/2 × height/2`).
    pub i420: Vec<u8>,
    /// Media time of the tick that drew it.
    pub pts: Duration,
    /// When it was kept.
    pub kept_at: Instant,
}

/// What [`Monitor::offer_composite`] and [`Monitor::latest_composite`] share.
#[derive(Debug, Default)]
struct CompositeKeeper {
    /// Until when a monitor is watching: set by every [`Monitor::latest_composite`].
    wanted_until: Option<Instant>,
    seq: u64,
    latest: Option<Arc<CompositeFrame>>,
}

/// What the monitor shows of one hearing.
#[derive(Debug)]
pub struct Monitor {
    hearing: String,
    width: u32,
    height: u32,
    ticks: TickStats,
    client_stats: Mutex<HashMap<ParticipantId, serde_json::Value>>,
    media: Mutex<MediaLog>,
    composite: Mutex<CompositeKeeper>,
}

impl Monitor {
    /// How often, at most, the tick copies its picture for the monitor.
    pub const COMPOSITE_EVERY: Duration = Duration::from_millis(200);
    /// How long one [`Monitor::latest_composite`] call keeps pictures coming.
    pub const COMPOSITE_WANTED_FOR: Duration = Duration::from_secs(3);

    /// The monitor of hearing `hearing`, whose composite is `width × height`.
    pub fn new(hearing: &str, width: u32, height: u32) -> Self {
        Self {
            hearing: hearing.to_owned(),
            width,
            height,
            ticks: TickStats::default(),
            client_stats: Mutex::default(),
            media: Mutex::default(),
            composite: Mutex::default(),
        }
    }

    /// The tick's counters and latency.
    pub fn ticks(&self) -> &TickStats {
        &self.ticks
    }

    /// Stores a participant's latest client statistics (from their page).
    pub fn set_client_stats(&self, id: ParticipantId, stats: serde_json::Value) {
        self.client_stats
            .lock()
            .expect("stats lock")
            .insert(id, stats);
    }

    /// Forgets a participant's statistics (they left).
    pub fn forget(&self, id: ParticipantId) {
        self.client_stats.lock().expect("stats lock").remove(&id);
    }

    /// Latest client statistics per participant.
    pub fn client_stats(&self) -> HashMap<ParticipantId, serde_json::Value> {
        self.client_stats.lock().expect("stats lock").clone()
    }

    /// The round trip `id`'s page last reported (its ICE candidate pair's, in ms).
    pub fn client_rtt_ms(&self, id: ParticipantId) -> Option<f64> {
        self.client_stats
            .lock()
            .expect("stats lock")
            .get(&id)
            .and_then(|s| s["rtt_ms"].as_f64())
    }

    /// Notes a failed pipeline and what was done about it.
    pub fn note_media(&self, incident: MediaIncident) {
        self.media.lock().expect("media log lock").note(incident);
    }

    /// The recent pipeline failures.
    pub fn media(&self) -> MediaLog {
        self.media.lock().expect("media log lock").clone()
    }

    /// Offers the compositor's newest I420 picture (output size) to the live monitor. The
    /// ticker calls it with every rendered frame, before handing the frame to the encoder.
    /// Costs a lock and a comparison unless a monitor asked within
    /// [`Monitor::COMPOSITE_WANTED_FOR`]; then it copies at most one picture per
    /// [`Monitor::COMPOSITE_EVERY`]. Once nobody watches, the kept picture is dropped.
    pub fn offer_composite(&self, i420: &[u8], pts: Duration) {
        let now = Instant::now();
        {
            let mut keeper = self.composite.lock().expect("composite lock");
            if keeper.wanted_until.is_none_or(|until| now >= until) {
                keeper.wanted_until = None;
                keeper.latest = None;
                return;
            }
            if keeper
                .latest
                .as_ref()
                .is_some_and(|f| now.duration_since(f.kept_at) < Self::COMPOSITE_EVERY)
            {
                return;
            }
        }
        let (width, height) = (self.width, self.height);
        if i420.len() != (width * height * 3 / 2) as usize {
            tracing::warn!(hearing = %self.hearing, len = i420.len(), "composite of an unexpected size; not kept");
            return;
        }
        let mut frame = CompositeFrame {
            seq: 0,
            width,
            height,
            i420: i420.to_vec(),
            pts,
            kept_at: now,
        };
        let mut keeper = self.composite.lock().expect("composite lock");
        keeper.seq += 1;
        frame.seq = keeper.seq;
        keeper.latest = Some(Arc::new(frame));
    }

    /// The newest composite picture kept for the monitor, if any. Each call also asks the
    /// tick to keep pictures for the next [`Monitor::COMPOSITE_WANTED_FOR`], so the first call
    /// after a quiet spell returns `None` and the picture arrives within a tick or two.
    pub fn latest_composite(&self) -> Option<Arc<CompositeFrame>> {
        let mut keeper = self.composite.lock().expect("composite lock");
        keeper.wanted_until = Some(Instant::now() + Self::COMPOSITE_WANTED_FOR);
        keeper.latest.clone()
    }
}

/// The monitor's side of the [`Hearing`](super::Hearing) facade.
impl super::Hearing {
    /// Stores a participant's latest client statistics (from their page).
    pub fn set_client_stats(&self, id: ParticipantId, stats: serde_json::Value) {
        self.monitor.set_client_stats(id, stats);
    }

    /// The round trip `id`'s page last reported, in ms.
    pub fn client_rtt_ms(&self, id: ParticipantId) -> Option<f64> {
        self.monitor.client_rtt_ms(id)
    }

    /// Latest client statistics per participant.
    pub fn client_stats(&self) -> HashMap<ParticipantId, serde_json::Value> {
        self.monitor.client_stats()
    }

    /// The compositor's counters and pipeline latency.
    pub fn tick_stats(&self) -> &TickStats {
        self.monitor.ticks()
    }

    /// The media pipelines that failed lately and what was done about each.
    pub fn media_log(&self) -> MediaLog {
        self.monitor.media()
    }

    /// How often, at most, the tick copies its picture for the monitor.
    pub const COMPOSITE_EVERY: Duration = Monitor::COMPOSITE_EVERY;
    /// How long one [`super::Hearing::latest_composite`] call keeps pictures coming.
    pub const COMPOSITE_WANTED_FOR: Duration = Monitor::COMPOSITE_WANTED_FOR;

    /// The newest composite picture kept for the monitor, if any; see
    /// [`Monitor::latest_composite`].
    pub fn latest_composite(&self) -> Option<Arc<CompositeFrame>> {
        self.monitor.latest_composite()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_composite_is_kept_only_while_watched() {
        let m = Monitor::new("h", 4, 2);
        let picture = vec![7u8; 12];
        m.offer_composite(&picture, Duration::ZERO);
        assert!(m.latest_composite().is_none(), "nobody asked before");
        m.offer_composite(&picture, Duration::from_millis(40));
        let kept = m.latest_composite().expect("kept once asked");
        assert_eq!((kept.seq, kept.pts), (1, Duration::from_millis(40)));
        m.offer_composite(&picture, Duration::from_millis(80));
        assert_eq!(
            m.latest_composite().unwrap().seq,
            1,
            "at most one per 200 ms"
        );
        m.offer_composite(&[1, 2, 3], Duration::from_millis(400));
        assert_eq!(
            m.latest_composite().unwrap().seq,
            1,
            "a wrong size is refused"
        );
    }

    #[test]
    fn the_media_log_keeps_the_latest_incidents_and_counts_restarts() {
        let m = Monitor::new("h", 4, 2);
        for i in 0..(MediaLog::KEPT + 5) {
            m.note_media(MediaIncident {
                at: i as i64,
                pipeline: "camera",
                seat: Some("witness".into()),
                participant_id: Some(3),
                error: "bad".into(),
                action: if i % 2 == 0 { "restarted" } else { "stopped" },
            });
        }
        let log = m.media();
        assert_eq!(log.incidents.len(), MediaLog::KEPT);
        assert_eq!(log.incidents.front().unwrap().at, 5);
        assert_eq!(log.restarts, 13);
    }
}
