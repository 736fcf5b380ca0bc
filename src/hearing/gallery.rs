//! The hearing's public broadcast: the composite the participants already receive, and the
//! mix the recorder already gets, muxed into HLS (CMAF segments) for the public gallery.
//!
//! Nothing is rendered or encoded twice for it: the H.264 encoder's frames come from the
//! output's fan-out ([`Broadcast::push_video`]), the tick's mix ([`Broadcast::push_audio`])
//! goes through one AAC encoder ([`crate::media::aac`]) while the broadcast runs, and
//! [`crate::broadcast::Segmenter`] (sans-I/O) cuts and muxes them. The slate that replaces the
//! court while the broadcast is cut or the hearing is paused is encoded once, when the
//! broadcast starts.
//!
//! Rules: only a public hearing is ever broadcast ([`Broadcast::start`] refuses a closed one);
//! while cut or paused, neither the court's picture nor its sound reaches a segment (the mix
//! is replaced by silence before it is encoded, the pictures by the slate).
//!
//! Low-latency HLS: the segmenter writes 0.5 s partial segments ([`PART_TARGET`]), and a
//! player's blocking playlist reload ([`Broadcast::playlist_when`]) waits, holding no lock,
//! on the run's `changed` signal, which the video feed bumps whenever a part or a segment
//! is made (and a cut, a resume or the end).
//!
//! Locks: `inner` is held only to read or change the state and clone an `Arc`; each run's
//! segmenter lock only for one push or one read of a playlist or segment. No lock is held
//! across a GStreamer call, except that the audio encoder is called with no lock but its own
//! `Arc`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::Serialize;

use super::replay::{ReplayArchive, ReplayPlace};
use crate::broadcast::{BroadcastConfig, Segmenter};
use crate::media::aac::AacEncoder;
use crate::media::encoder::{EncodedFrame, Encoder, EncoderConfig};
use crate::media::MediaError;
use crate::record::recorder::Callback;

mod viewers;
pub use viewers::Viewers;

/// Segments' target length: keyframes come every 2 s (`video.keyframe_interval_s`).
pub const SEGMENT_TARGET: Duration = Duration::from_secs(2);
/// LL-HLS partial segments' target length.
pub const PART_TARGET: Duration = Duration::from_millis(500);
/// Segments kept and listed in the live playlist.
pub const SEGMENT_WINDOW: usize = 6;
/// A viewer counts as watching this long after their player last fetched the playlist.
pub const VIEWER_WINDOW: Duration = Duration::from_secs(12);
/// At most this many viewers are told apart (beyond it, new ones are not counted).
pub(crate) const MAX_VIEWERS: usize = 200_000;
/// Keyframe requests for the segmenter at most this often.
const KEYFRAME_ASK_EVERY: Duration = Duration::from_millis(500);

/// Where the broadcast is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BroadcastState {
    /// Never started (or a closed hearing).
    Off,
    /// The court is on air.
    Live,
    /// On air, but the slate shows: cut by the judge or the hearing paused.
    Cut,
    /// Stopped by the clerk or ended with the hearing; the last playlist says so.
    Ended,
}

/// Why the broadcast cannot do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BroadcastError {
    /// The hearing is closed to the public.
    #[error("this hearing is closed to the public: it is never broadcast")]
    Closed,
    /// Not running.
    #[error("the broadcast is not running")]
    NotRunning,
    /// A pipeline failed to start.
    #[error(transparent)]
    Media(#[from] MediaError),
    /// The slate could not be drawn.
    #[error("the slate: {0}")]
    Slate(String),
}

/// What the monitor and the watch page show of the broadcast.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BroadcastStatus {
    /// Where it is.
    pub state: BroadcastState,
    /// Players that fetched the playlist in the last [`VIEWER_WINDOW`].
    pub viewers: usize,
    /// Segments made in this run.
    pub segments: u64,
    /// The cut by the presiding judge is on (the hearing's pause shows the slate as well).
    pub cut_by_judge: bool,
}

/// One run of the broadcast, from a start to a stop.
struct Run {
    id: u64,
    segmenter: Arc<Mutex<Segmenter>>,
    /// Taken out (stopping the pipeline) when the run ends.
    aac: Mutex<Option<Arc<AacEncoder>>>,
    /// The mix goes out as silence (cut or paused).
    silent: AtomicBool,
    /// Media time (ms) of the last keyframe request for the segmenter.
    last_ask_ms: AtomicU64,
    /// Bumped whenever the playlist may have grown (a part or segment made, a cut, the end):
    /// blocking playlist requests wait on it.
    changed: tokio::sync::watch::Sender<u64>,
    /// The replay's archive of this run (`broadcast.replays`); taken out when the run ends,
    /// which lets its writer thread finish.
    archive: Mutex<Option<ReplayArchive>>,
}

impl Run {
    /// Wakes the blocking playlist requests.
    fn bump(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Hands what the segmenter made to the replay's archive, if kept; call it with the
    /// segmenter's lock held, after each change to it.
    fn archive(&self, segmenter: &Segmenter) {
        if let Some(archive) = &*self.archive.lock().unwrap_or_else(|e| e.into_inner()) {
            archive.take(segmenter);
        }
    }
}

/// What a blocking playlist request ([`Broadcast::playlist_when`]) gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaylistWait {
    /// The playlist, holding what was asked for (or the broadcast ended meanwhile).
    Ready(String),
    /// No playlist: never started, or nothing made yet.
    NotFound,
    /// The segment asked for is more than two past the newest complete one (answer `400`).
    TooFar,
    /// It was not made within the time given (answer `503`).
    TimedOut,
}

struct Inner {
    state: BroadcastState,
    /// The run being fed (Live or Cut), or the last one (Ended: its final playlist).
    run: Option<Arc<Run>>,
    /// The last run's number: the Unix second it started (one more when that is not later),
    /// so a restarted node never reuses a run's segment names (a CDN keeps them a day).
    last_run: u64,
    cut_by_judge: bool,
    paused: bool,
    slate: Option<Bytes>,
}

/// The hearing's broadcast. Always there; [`Broadcast::start`] puts it on air.
pub struct Broadcast {
    encoder: EncoderConfig,
    locale: String,
    request_keyframe: Callback,
    /// Where each run is kept when the court keeps replays.
    replays: Option<ReplayPlace>,
    inner: Mutex<Inner>,
    viewers: Mutex<Viewers>,
}

impl std::fmt::Debug for Broadcast {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broadcast")
            .field("state", &self.status().state)
            .finish_non_exhaustive()
    }
}

impl Broadcast {
    /// A broadcast of a composite encoded as `encoder` says (the slate is encoded the same
    /// way); `request_keyframe` asks the hearing's encoder for a keyframe; `replays`: where
    /// each run is kept as aired ([`super::replay`]).
    pub fn new(
        encoder: EncoderConfig,
        locale: &str,
        request_keyframe: Callback,
        replays: Option<ReplayPlace>,
    ) -> Self {
        Self {
            encoder,
            locale: locale.to_owned(),
            request_keyframe,
            replays,
            inner: Mutex::new(Inner {
                state: BroadcastState::Off,
                run: None,
                last_run: 0,
                cut_by_judge: false,
                paused: false,
                slate: None,
            }),
            viewers: Mutex::default(),
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The run being fed, if on air.
    fn feeding(&self) -> Option<Arc<Run>> {
        let inner = self.inner();
        match inner.state {
            BroadcastState::Live | BroadcastState::Cut => inner.run.clone(),
            _ => None,
        }
    }

    /// Puts the broadcast on air (`public`: the hearing is held in public; a closed one is
    /// refused whatever else). Encodes the slate on the first start. Returns `false` when it
    /// was on air already. Blocking: builds pipelines.
    pub fn start(&self, public: bool) -> Result<bool, BroadcastError> {
        if !public {
            return Err(BroadcastError::Closed);
        }
        if self.feeding().is_some() {
            return Ok(false);
        }
        let cached = self.inner().slate.clone();
        let slate = match cached {
            Some(s) => s,
            None => {
                let s = encode_slate(self.encoder, &self.locale)?;
                self.inner().slate = Some(s.clone());
                s
            }
        };
        let segmenter = Arc::new(Mutex::new(Segmenter::new(BroadcastConfig {
            width: self.encoder.width,
            height: self.encoder.height,
            target: SEGMENT_TARGET,
            window: SEGMENT_WINDOW,
            part_target: Some(PART_TARGET),
        })));
        let sink = segmenter.clone();
        let aac = AacEncoder::start(
            move |frame| {
                sink.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push_audio(frame.pts, &frame.data)
            },
            None,
        )?;
        let mut inner = self.inner();
        if matches!(inner.state, BroadcastState::Live | BroadcastState::Cut) {
            return Ok(false); // another start won meanwhile; this one's pipeline is dropped
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        inner.last_run = now.max(inner.last_run + 1);
        let id = inner.last_run;
        let run = Arc::new(Run {
            id,
            segmenter,
            aac: Mutex::new(Some(Arc::new(aac))),
            silent: AtomicBool::new(false),
            last_ask_ms: AtomicU64::new(u64::MAX),
            changed: tokio::sync::watch::channel(0).0,
            archive: Mutex::new(self.replays.as_ref().map(|place| place.archive(id))),
        });
        inner.run = Some(run.clone());
        inner.state = BroadcastState::Live;
        let cut = inner.cut_by_judge || inner.paused;
        if cut {
            inner.state = BroadcastState::Cut;
            run.silent.store(true, Ordering::Relaxed);
            let mut segmenter = lock(&run.segmenter);
            let refused = segmenter.cut(&slate);
            run.archive(&segmenter);
            drop(segmenter);
            if let Err(e) = refused {
                // Fail closed: without its slate, a cut broadcast does not go on air.
                drop(inner);
                tracing::error!("broadcast: the slate was refused ({e}); not starting");
                self.stop();
                return Err(BroadcastError::Slate(e.to_string()));
            }
        }
        drop(inner);
        (self.request_keyframe)();
        tracing::info!(run = run.id, cut, "broadcast started");
        Ok(true)
    }

    /// Takes the broadcast off air: the playlist ends (`#EXT-X-ENDLIST`) and stays served.
    /// Returns `false` when it was not on air.
    pub fn stop(&self) -> bool {
        let run = {
            let mut inner = self.inner();
            if !matches!(inner.state, BroadcastState::Live | BroadcastState::Cut) {
                return false;
            }
            inner.state = BroadcastState::Ended;
            inner.run.clone()
        };
        if let Some(run) = run {
            let mut segmenter = lock(&run.segmenter);
            segmenter.end();
            run.archive(&segmenter);
            drop(segmenter);
            run.archive.lock().unwrap_or_else(|e| e.into_inner()).take();
            run.bump();
            // Dropped with no lock held: stopping the pipeline waits for its threads.
            let aac = run.aac.lock().unwrap_or_else(|e| e.into_inner()).take();
            drop(aac);
            tracing::info!(run = run.id, "broadcast stopped");
        }
        true
    }

    /// The presiding judge cuts the broadcast (`true`): the slate goes up at once, in place
    /// of the court's picture and sound, until the cut is lifted (`false`).
    pub fn set_cut(&self, cut: bool) {
        self.change(|inner| inner.cut_by_judge = cut);
    }

    /// The hearing paused (`true`) or went on (`false`): the slate shows meanwhile.
    pub fn set_paused(&self, paused: bool) {
        self.change(|inner| inner.paused = paused);
    }

    fn change(&self, f: impl FnOnce(&mut Inner)) {
        let mut inner = self.inner();
        let was = inner.cut_by_judge || inner.paused;
        f(&mut inner);
        let now = inner.cut_by_judge || inner.paused;
        if was == now || !matches!(inner.state, BroadcastState::Live | BroadcastState::Cut) {
            return;
        }
        let Some(run) = inner.run.clone() else {
            return;
        };
        inner.state = if now {
            BroadcastState::Cut
        } else {
            BroadcastState::Live
        };
        let slate = inner.slate.clone().unwrap_or_default();
        // Silent before anyone else can push a tick of the mix, and before the lock goes.
        run.silent.store(now, Ordering::Relaxed);
        drop(inner);
        let mut segmenter = lock(&run.segmenter);
        let refused = if now {
            segmenter.cut(&slate).err()
        } else {
            segmenter.resume();
            None
        };
        run.archive(&segmenter);
        drop(segmenter);
        if let Some(e) = refused {
            // Fail closed: a broadcast that cannot show its slate goes off air.
            tracing::error!("broadcast: the slate was refused ({e}); stopping the broadcast");
            self.stop();
            return;
        }
        run.bump();
        if !now {
            (self.request_keyframe)();
        }
        tracing::info!(cut = now, "broadcast slate");
    }

    /// The hearing ended: the broadcast ends with it.
    pub fn end(&self) {
        self.stop();
    }

    /// An encoded composite frame (from the output's fan-out).
    pub fn push_video(&self, frame: &EncodedFrame) {
        let Some(run) = self.feeding() else {
            return;
        };
        let (wants, grew) = {
            let mut segmenter = lock(&run.segmenter);
            let before = (segmenter.open_sequence(), segmenter.latest_part());
            segmenter.push_video(frame.pts, &frame.data, frame.keyframe);
            run.archive(&segmenter);
            let after = (segmenter.open_sequence(), segmenter.latest_part());
            (segmenter.wants_keyframe(), before != after)
        };
        if grew {
            run.bump();
        }
        if wants {
            let now = frame.pts.as_millis() as u64;
            let last = run.last_ask_ms.load(Ordering::Relaxed);
            if last == u64::MAX || now >= last + KEYFRAME_ASK_EVERY.as_millis() as u64 {
                run.last_ask_ms.store(now, Ordering::Relaxed);
                (self.request_keyframe)();
            }
        }
    }

    /// One tick of the mix at `pts` (from the tick): silence while the slate shows.
    pub fn push_audio(&self, samples: &[i16], pts: Duration) {
        let Some(run) = self.feeding() else {
            return;
        };
        let Some(aac) = run.aac.lock().unwrap_or_else(|e| e.into_inner()).clone() else {
            return;
        };
        let result = if run.silent.load(Ordering::Relaxed) {
            aac.push_silence(samples.len(), pts)
        } else {
            aac.push(samples, pts)
        };
        if let Err(e) = result {
            tracing::debug!("broadcast audio: {e}");
        }
    }

    /// Where it is, with this moment's viewer count.
    pub fn status(&self) -> BroadcastStatus {
        let (state, cut_by_judge, run) = {
            let inner = self.inner();
            (inner.state, inner.cut_by_judge, inner.run.clone())
        };
        BroadcastStatus {
            state,
            viewers: self
                .viewers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .count(Instant::now()),
            segments: run
                .map(|r| lock(&r.segmenter).latest_sequence().map_or(0, |s| s + 1))
                .unwrap_or(0),
            cut_by_judge,
        }
    }

    /// `viewer` (a player's own random id) is watching now: counted for
    /// [`VIEWER_WINDOW`].
    pub fn saw(&self, viewer: &str) {
        self.viewers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .saw(viewer, Instant::now());
    }

    /// The live playlist, its URIs under `r<run>/`; `viewer` (the player's own random id)
    /// is counted as watching. `None` before the first segment or when never started.
    pub fn playlist(&self, viewer: Option<&str>) -> Option<String> {
        let run = self.inner().run.clone()?;
        let text = lock(&run.segmenter).playlist()?;
        if let Some(v) = viewer {
            self.saw(v);
        }
        Some(prefix_uris(&text, &format!("r{}/", run.id)))
    }

    /// The live playlist once it holds part `part` of segment `msn` (segment `msn` complete
    /// when `part` is `None`): an LL-HLS blocking playlist reload (`_HLS_msn`, `_HLS_part`).
    /// Answers at once when it does already, or the broadcast ended; [`PlaylistWait::TooFar`]
    /// at once for a segment more than two past the newest complete one; otherwise waits (no
    /// lock held) for the feed to make it, at most `timeout`. `viewer` as for
    /// [`playlist`](Self::playlist).
    pub async fn playlist_when(
        &self,
        viewer: Option<&str>,
        msn: u64,
        part: Option<u64>,
        timeout: Duration,
    ) -> PlaylistWait {
        let Some(run) = self.inner().run.clone() else {
            return PlaylistWait::NotFound;
        };
        // Subscribed before the first look, so that no change after it is missed.
        let mut changed = run.changed.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            {
                let segmenter = lock(&run.segmenter);
                if segmenter.is_ended() || segmenter.is_available(msn, part) {
                    break;
                }
                if msn > segmenter.open_sequence().saturating_add(1) {
                    return PlaylistWait::TooFar;
                }
            }
            match tokio::time::timeout_at(deadline, changed.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => break, // the run is gone
                Err(_) => return PlaylistWait::TimedOut,
            }
        }
        match self.playlist(viewer) {
            Some(text) => PlaylistWait::Ready(text),
            None => PlaylistWait::NotFound,
        }
    }

    /// The init segment of run `run`.
    pub fn init(&self, run: u64) -> Option<Bytes> {
        let r = self.inner().run.clone().filter(|r| r.id == run)?;
        let init = lock(&r.segmenter).init();
        init
    }

    /// Part `index` of media segment `sequence` of run `run` (LL-HLS), while it is listed.
    pub fn part(&self, run: u64, sequence: u64, index: u64) -> Option<Bytes> {
        let r = self.inner().run.clone().filter(|r| r.id == run)?;
        let part = lock(&r.segmenter).part(sequence, index);
        part
    }

    /// Media segment `sequence` of run `run`, while it is in the window.
    pub fn segment(&self, run: u64, sequence: u64) -> Option<Bytes> {
        let r = self.inner().run.clone().filter(|r| r.id == run)?;
        let segment = lock(&r.segmenter).segment(sequence);
        segment
    }
}

fn lock(segmenter: &Mutex<Segmenter>) -> std::sync::MutexGuard<'_, Segmenter> {
    segmenter.lock().unwrap_or_else(|e| e.into_inner())
}

/// Puts `prefix` before every URI of a media playlist: each segment line and the `URI`
/// attribute of tags (`EXT-X-MAP`, `EXT-X-PART`, `EXT-X-PRELOAD-HINT`).
fn prefix_uris(playlist: &str, prefix: &str) -> String {
    let mut out = String::with_capacity(playlist.len() + 64);
    for line in playlist.lines() {
        if line.is_empty() {
            out.push('\n');
            continue;
        }
        if !line.starts_with('#') {
            out.push_str(prefix);
            out.push_str(line);
        } else if let Some(at) = line.find("URI=\"") {
            out.push_str(&line[..at + 5]);
            out.push_str(prefix);
            out.push_str(&line[at + 5..]);
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// The slate's lines in the hearing's language first.
fn slate_lines(locale: &str) -> [&'static str; 2] {
    if locale.starts_with("zh") {
        ["直播已暂停", "The broadcast is paused"]
    } else {
        ["The broadcast is paused", "直播已暂停"]
    }
}

/// Draws the slate and encodes it as one H.264 IDR access unit, as the composite is encoded.
fn encode_slate(cfg: EncoderConfig, locale: &str) -> Result<Bytes, BroadcastError> {
    let rgb = crate::render::slate::slate_rgb(cfg.width, cfg.height, &slate_lines(locale))
        .map_err(|e| BroadcastError::Slate(e.to_string()))?;
    let frame = crate::keying::picture::frame_from_rgb(cfg.width, cfg.height, &rgb);
    let i420 = [frame.y, frame.u, frame.v].concat();
    let (tx, rx) = std::sync::mpsc::sync_channel::<EncodedFrame>(8);
    let encoder = Encoder::new(cfg, move |f| {
        let _ = tx.try_send(f);
    })?;
    let period = Duration::from_secs(1) / cfg.fps.max(1);
    // x264 may hold a frame or two; the first out is the IDR.
    for n in 0..4u32 {
        encoder.push(i420.clone(), period * n)?;
        if let Ok(f) = rx.recv_timeout(Duration::from_millis(if n == 3 { 5000 } else { 300 })) {
            if f.keyframe {
                return Ok(f.data);
            }
        }
    }
    Err(BroadcastError::Slate("the encoder made no keyframe".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_playlists_uris_go_under_the_run() {
        let text = "#EXTM3U\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:2.000,\nseg-3.m4s\n";
        assert_eq!(
            prefix_uris(text, "r2/"),
            "#EXTM3U\n#EXT-X-MAP:URI=\"r2/init.mp4\"\n#EXTINF:2.000,\nr2/seg-3.m4s\n"
        );
    }
}
