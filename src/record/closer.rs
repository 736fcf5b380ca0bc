//! The closer: a thread per recording that finalises closed segments in order (end of
//! stream, wait for the muxer), hashes them into the manifest's chain, signs the manifest, asks
//! for time-stamps, and seals the manifest at the end. The streaming threads hand it work
//! through a channel ([`Job`]) and never wait on the disk.
//!
//! If the manifest cannot be written (a full disk), the small file reserved at the start
//! ([`RESERVE_FILE`]) is given up so that the manifest can still be sealed as `failed`, and the
//! recording's `on_failure` callback runs once.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::credentials::{SegmentClaim, SegmentCredentials};
use super::manifest::{
    ExhibitEntry, ExhibitEvent, LifecycleEvent, Manifest, OriginalEntry, RecordingState,
    SeatedParticipant, SegmentEntry, MANIFEST_FILE, RESERVE_FILE,
};
use super::segment::Segment;
use super::sign::RecordingKey;
use super::timestamp::{self, Pending, Stamp, Stamper, TsaOptions};
use crate::digest::{sha256, sha256_file, unhex};
use crate::timefmt::{utc_text, utc_text_after};

/// Longest time a segment finalisation may take.
const FINISH_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest time the finalisation of a segment cut short by a failure may take.
const FAILED_FINISH_TIMEOUT: Duration = Duration::from_millis(500);

/// A callback told why the recording failed.
pub type FailureCallback = Arc<dyn Fn(String) + Send + Sync>;

/// A segment sealed without one of its tracks (never as complete): which, and what it lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentGap {
    /// The segment's index.
    pub index: u32,
    /// The tracks it lacks (`video`, `audio`).
    pub missing: Vec<&'static str>,
}

/// A callback told of each [`SegmentGap`], so the hearing can say so while it goes on.
pub type GapCallback = Arc<dyn Fn(SegmentGap) + Send + Sync>;

/// Work for the closer, in the order it must be done.
pub enum Job {
    /// A segment closed: finalise it, hash it into the chain, write the manifest.
    Close {
        /// The segment, still to be finalised.
        seg: Segment,
        /// Its index.
        index: u32,
        /// Recording time of its start.
        media_start: Duration,
        /// Recording time of its end.
        media_end: Duration,
        /// Everyone seated at any time during it.
        seated: Vec<SeatedParticipant>,
        /// The tracks written into it (`video`, `audio`): a segment missing one is sealed as
        /// incomplete, never as complete with an empty track.
        tracks: Vec<String>,
        /// Set when the recording failed in it: it is incomplete.
        failure: Option<String>,
    },
    /// Seal the manifest and end.
    Finish {
        /// `finalised` or `failed` (a manifest already `failed` stays so).
        state: RecordingState,
        /// Why it failed.
        failure: Option<String>,
    },
    /// Participants' original tracks, closed and hashed: listed and signed into the manifest
    /// at once.
    Originals(Vec<OriginalEntry>),
    /// A lifecycle event, written into the manifest now.
    Event(LifecycleEvent),
    /// An exhibit file to keep beside the recording: copied from `source` into the folder
    /// (unless the manifest lists it already), checked against its SHA-256, and listed.
    Exhibit {
        /// Its entry, `file` being the name to copy it to.
        entry: ExhibitEntry,
        /// Where the hearing keeps it.
        source: PathBuf,
    },
    /// An exhibit shown, turned or taken down, written into the manifest now.
    ExhibitEvent(ExhibitEvent),
}

/// Copies an exhibit into the recording's folder (a temporary file, synced, then renamed), and
/// checks that the copy has the SHA-256 it was presented with.
/// Nothing is left behind when it fails (a full disk): the temporary copy is removed.
fn keep_exhibit(source: &Path, to: &Path, sha256: &str) -> std::io::Result<()> {
    let tmp = to.with_file_name(format!(
        ".{}.tmp",
        to.file_name().and_then(|n| n.to_str()).unwrap_or("exhibit")
    ));
    let copied = (|| {
        std::fs::copy(source, &tmp)?;
        std::fs::File::open(&tmp)?.sync_all()?;
        let (_, hash) = sha256_file(&tmp)?;
        if hash != sha256 {
            return Err(std::io::Error::other(format!(
                "the stored exhibit's SHA-256 is {hash}, not {sha256}"
            )));
        }
        std::fs::rename(&tmp, to)
    })();
    if copied.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    copied
}

/// A segment being closed: where it sits and what it holds.
struct Closing {
    index: u32,
    media_start: Duration,
    media_end: Duration,
    seated: Vec<SeatedParticipant>,
    tracks: Vec<String>,
}

/// A callback without arguments.
pub type Callback = Arc<dyn Fn() + Send + Sync>;

/// What the closer is started with.
pub struct CloserSetup {
    /// The recording's folder.
    pub dir: PathBuf,
    /// The manifest as first written.
    pub manifest: Manifest,
    /// Signs each manifest written.
    pub key: Option<Arc<RecordingKey>>,
    /// Wall-clock time of media time zero.
    pub started_at: DateTime<Utc>,
    /// Runs once when the recording fails for good.
    pub on_failure: Option<FailureCallback>,
    /// RFC 3161 time-stamping, if any.
    pub tsa: Option<TsaOptions>,
    /// Runs after each manifest written (the upload spool picks the files up).
    pub on_sealed: Option<Callback>,
    /// Runs for each segment sealed without video or audio.
    pub on_gap: Option<GapCallback>,
    /// Content credentials (C2PA) embedded in each segment before it is hashed.
    pub credentials: Option<SegmentCredentials>,
}

/// Starts the closer's thread. It ends after a [`Job::Finish`] (or when every sender is gone)
/// and returns the sealed manifest and the time-stamps still under way.
pub fn spawn(
    setup: CloserSetup,
    jobs: mpsc::Receiver<Job>,
) -> std::io::Result<JoinHandle<(Manifest, Pending)>> {
    let stamper = setup.tsa.clone().map(|t| Stamper::start(&setup.dir, t));
    let closer = Closer {
        dir: setup.dir,
        manifest: setup.manifest,
        key: setup.key,
        started_at: setup.started_at,
        on_failure: setup.on_failure,
        on_sealed: setup.on_sealed,
        on_gap: setup.on_gap,
        credentials: setup.credentials,
        stamper,
        told: false,
    };
    // In the span of whoever started the recording (the hearing's).
    let span = tracing::Span::current();
    std::thread::Builder::new()
        .name("rec-closer".into())
        .spawn(move || span.in_scope(|| closer.run(jobs)))
}

/// The background thread's state: the manifest as it grows.
struct Closer {
    dir: PathBuf,
    manifest: Manifest,
    key: Option<Arc<RecordingKey>>,
    started_at: DateTime<Utc>,
    on_failure: Option<FailureCallback>,
    on_sealed: Option<Callback>,
    on_gap: Option<GapCallback>,
    credentials: Option<SegmentCredentials>,
    stamper: Option<Stamper>,
    /// Whether `on_failure` has run.
    told: bool,
}

impl Closer {
    fn run(mut self, rx: mpsc::Receiver<Job>) -> (Manifest, Pending) {
        while let Ok(job) = rx.recv() {
            match job {
                Job::Close {
                    seg,
                    index,
                    media_start,
                    media_end,
                    seated,
                    tracks,
                    failure,
                } => self.close(
                    seg,
                    Closing {
                        index,
                        media_start,
                        media_end,
                        seated,
                        tracks,
                    },
                    failure,
                ),
                Job::Originals(list) => {
                    if list.is_empty() {
                        continue;
                    }
                    for entry in list {
                        self.manifest.originals.retain(|o| o.file != entry.file);
                        self.manifest.originals.push(entry);
                    }
                    if let Err(reason) = self.write() {
                        tracing::error!(dir = %self.dir.display(), "cannot list closed originals: {reason}");
                    }
                }
                Job::Event(event) => {
                    self.manifest.events.push(event);
                    if let Err(reason) = self.write() {
                        tracing::error!(dir = %self.dir.display(), "cannot note a lifecycle event: {reason}");
                    }
                }
                Job::Exhibit { entry, source } => {
                    if self
                        .manifest
                        .exhibits
                        .iter()
                        .any(|e| e.sha256 == entry.sha256)
                    {
                        continue;
                    }
                    match keep_exhibit(&source, &self.dir.join(&entry.file), &entry.sha256) {
                        Ok(()) => {
                            self.manifest.exhibits.push(entry);
                            if let Err(reason) = self.write() {
                                tracing::error!(dir = %self.dir.display(), "cannot list an exhibit: {reason}");
                            }
                        }
                        Err(reason) => {
                            tracing::error!(dir = %self.dir.display(), file = %entry.file, "exhibit not kept with the recording: {reason}");
                        }
                    }
                }
                Job::ExhibitEvent(event) => {
                    self.manifest.exhibit_events.push(event);
                    if let Err(reason) = self.write() {
                        tracing::error!(dir = %self.dir.display(), "cannot note an exhibit event: {reason}");
                    }
                }
                Job::Finish { state, failure } => {
                    self.seal(state, failure);
                    break;
                }
            }
        }
        let pending = self.stamper.take().map(Stamper::close).unwrap_or_default();
        (self.manifest, pending)
    }

    /// Finalises a closed segment, chains it, writes the manifest and asks for its stamp.
    fn close(&mut self, seg: Segment, closing: Closing, failure: Option<String>) {
        let path = seg.path().to_owned();
        let outcome = match failure {
            Some(f) => {
                let _ = seg.finish(FAILED_FINISH_TIMEOUT);
                Err(f)
            }
            None => seg.finish(FINISH_TIMEOUT),
        };
        let added = self.add(&path, closing, outcome.is_ok());
        let failure = match outcome {
            Err(reason) => {
                self.manifest.state = RecordingState::Failed;
                self.manifest.failure = Some(reason.clone());
                let _ = self.write();
                Some(reason)
            }
            Ok(()) => self.write().err(),
        };
        if let (Some(entry), Some(stamper)) = (added, &self.stamper) {
            stamper.stamp(Stamp {
                token: timestamp::chain_token_file(entry.index),
                target: format!("segment {} chain entry", entry.index),
                imprint: hash_bytes(&entry.entry_hash),
                of_manifest: false,
            });
        }
        if let Some(reason) = failure {
            self.tell(reason);
        }
        // The segment's muxer and buffers are gone: let the allocator give that memory back
        // (once a segment, a few milliseconds on a thread of its own).
        crate::malloc::give_back_soon();
    }

    /// Seals the manifest (`state`, unless it already failed), gives up the reserve, and asks
    /// for the manifest's stamp.
    fn seal(&mut self, state: RecordingState, failure: Option<String>) {
        if self.manifest.state != RecordingState::Failed {
            self.manifest.state = state;
        }
        if failure.is_some() {
            self.manifest.failure = failure;
        }
        self.manifest.ended_at = Some(utc_text(Utc::now()));
        let written = self.write();
        let _ = std::fs::remove_file(self.dir.join(RESERVE_FILE));
        if let (Ok(()), Some(stamper)) = (written, &self.stamper) {
            match std::fs::read(self.dir.join(MANIFEST_FILE)) {
                Ok(bytes) => stamper.stamp(Stamp {
                    token: timestamp::MANIFEST_TOKEN_FILE.into(),
                    target: MANIFEST_FILE.into(),
                    imprint: sha256(&bytes),
                    of_manifest: true,
                }),
                Err(e) => {
                    tracing::warn!(dir = %self.dir.display(), "cannot read the manifest to time-stamp it: {e}")
                }
            }
        }
        tracing::info!(dir = %self.dir.display(), state = %self.manifest.state, segments = self.manifest.segments.len(), "recording sealed");
    }

    /// Embeds the segment's content credentials (C2PA), naming the chain's head before it. A
    /// failure is logged and the segment kept as it is: evidence is never lost for its label.
    fn credential(&self, path: &Path, index: u32, media_start: Duration) {
        let Some(c) = &self.credentials else { return };
        let m = &self.manifest;
        let chain_head = m
            .segments
            .last()
            .map_or_else(|| m.genesis(), |s| s.entry_hash.clone());
        let claim = SegmentClaim {
            court: c.court.clone(),
            hearing_id: m.hearing_id.clone(),
            case_number: m.case_number.clone(),
            recording_id: m.recording_id.clone(),
            index,
            chain_head,
            recorder: c.recorder.clone(),
            started_at: utc_text_after(self.started_at, media_start),
        };
        if let Err(e) = c.chain.sign_segment(path, &claim) {
            tracing::error!(file = %path.display(), index, "segment kept without content credentials: {e}");
        }
    }

    fn tell(&mut self, reason: String) {
        if self.told {
            return;
        }
        self.told = true;
        if let Some(cb) = &self.on_failure {
            cb(reason);
        }
    }

    /// Hashes the segment at `path` into the chain. It is `complete` only when it finished
    /// cleanly and holds both video and audio: a track the segment lacks (no keyframe ever
    /// came, so the muxer wrote a video track with no sample description) is said in its
    /// `tracks`, and it is never sealed as complete.
    fn add(&mut self, path: &Path, closing: Closing, finished: bool) -> Option<SegmentEntry> {
        let Closing {
            index,
            media_start,
            media_end,
            seated,
            tracks,
        } = closing;
        let missing: Vec<&'static str> = ["video", "audio"]
            .into_iter()
            .filter(|k| !tracks.iter().any(|t| t == k))
            .collect();
        let whole = missing.is_empty();
        if !whole {
            tracing::error!(file = %path.display(), index, ?tracks, "segment closes without video or audio: sealed as incomplete");
            if let Some(cb) = &self.on_gap {
                cb(SegmentGap { index, missing });
            }
        }
        let complete = finished && whole;
        if finished {
            self.credential(path, index, media_start);
        }
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let (size, sha256) = match sha256_file(path) {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(file = %path.display(), "cannot hash segment {index}: {e}");
                return None;
            }
        };
        for p in &seated {
            if !self.manifest.participants.contains(p) {
                self.manifest.participants.push(p.clone());
            }
        }
        self.manifest.append(SegmentEntry {
            index,
            file,
            size,
            sha256,
            prev_entry_hash: String::new(),
            entry_hash: String::new(),
            started_at: utc_text_after(self.started_at, media_start),
            ended_at: utc_text_after(self.started_at, media_end),
            media_start_ms: media_start.as_millis() as u64,
            media_end_ms: media_end.as_millis() as u64,
            complete,
            seated,
            tracks,
        });
        tracing::info!(file = %path.display(), size, complete, "segment closed");
        crate::metrics::segment_closed(size, complete);
        self.manifest.segments.last().cloned()
    }

    /// Writes and signs the manifest. If that fails (a full disk), the recording cannot go on:
    /// gives up the reserve, marks the manifest `failed`, writes it again, and returns why.
    fn write(&mut self) -> Result<(), String> {
        let Err(e) = self.manifest.write_signed(&self.dir, self.key.as_deref()) else {
            if let Some(cb) = &self.on_sealed {
                cb();
            }
            return Ok(());
        };
        let reason = format!("cannot write the manifest: {e}");
        let _ = std::fs::remove_file(self.dir.join(RESERVE_FILE));
        self.manifest.state = RecordingState::Failed;
        if self.manifest.failure.is_none() {
            self.manifest.failure = Some(reason.clone());
        }
        match self.manifest.write_signed(&self.dir, self.key.as_deref()) {
            Ok(()) => {
                tracing::warn!(dir = %self.dir.display(), "manifest sealed as failed after releasing the reserve ({e})")
            }
            Err(e2) => {
                tracing::error!(dir = %self.dir.display(), "cannot write the manifest even after releasing the reserve: {e2}")
            }
        }
        Err(reason)
    }
}

/// The 32 bytes of a lowercase hex SHA-256 (zeros where it is not one).
fn hash_bytes(hex: &str) -> [u8; 32] {
    unhex(hex)
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .unwrap_or([0; 32])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_bytes_reads_hex() {
        let h = crate::digest::sha256_hex(b"abc");
        assert_eq!(crate::digest::hex(&hash_bytes(&h)), h);
        assert_eq!(hash_bytes("zz"), [0u8; 32]);
    }
}
