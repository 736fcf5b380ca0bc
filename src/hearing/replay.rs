//! The replay's files: with `broadcast.replays` on, each run of a public hearing's broadcast
//! is kept as it was aired (the slate wherever the judge cut it or the hearing paused: never
//! what the public did not see) in `DATA/replays/<hearing>/r<run>/`, and served after the
//! hearing ends as one VOD playlist ([`crate::broadcast::vod_playlist`]).
//!
//! The evidence recording is not used for it: it holds what the broadcast cut. The media are
//! the same H.264 frames and the same mix as the recording's, muxed once by the broadcast.
//!
//! I/O shell: [`ReplayArchive::take`] runs under the segmenter's lock and only clones what is
//! new and hands it to the run's writer thread, which does the disk I/O; a failed write is
//! logged and that segment is left out of the index (the live broadcast goes on). The readers
//! ([`replay_playlist`], [`replay_file`]) block: call them off the async runtime.
//!
//! With a bucket (a cluster, or one node with `storage.url`), the writer thread also copies
//! each kept file to `replays/<hearing>/r<run>/` in the bucket, create-only, and the run's
//! index after them, each version over the last (`If-Match`): the index never names a file
//! the bucket lacks. A node serves the runs of both copies ([`local_runs`], [`bucket_runs`],
//! merged by [`crate::broadcast::merge_runs`]): after a takeover the runs the dead node aired
//! come from the bucket, and the files from its own disk when it has them ([`bucket_file`]
//! otherwise). A bucket that fails is retried with the next
//! segment and at the run's end; what never reached it stays on the node's disk and is
//! served from there.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use bytes::Bytes;

use crate::broadcast::{
    index_line, parse_index, parse_segment_uri, segment_uri, vod_playlist, ReplayRun, Segmenter,
    INDEX_FILE, INIT_URI,
};
use crate::bucket::{Bucket, BucketError, Version};

/// The folder under `DATA` holding every hearing's replay.
pub const REPLAYS_DIR: &str = "replays";
/// The VOD playlist's URIs start with this (relative to `/live/{id}/replay.m3u8`).
pub const REPLAY_PREFIX: &str = "replay/";

/// A hearing's replay folder: `DATA/replays/<hearing>`.
pub fn hearing_dir(data_dir: &Path, hearing: &str) -> PathBuf {
    data_dir.join(REPLAYS_DIR).join(hearing)
}

/// Where each run is copied as well: the bucket, and the runtime its client runs on.
#[derive(Debug, Clone)]
pub struct ReplayBucket {
    /// The bucket (its keys under `replays/`).
    pub bucket: Bucket,
    /// The runtime the writer thread hands its uploads to.
    pub runtime: tokio::runtime::Handle,
}

/// Where a hearing's replay is kept: its folder, and the bucket it is copied to if any.
#[derive(Debug, Clone)]
pub struct ReplayPlace {
    /// `DATA/replays/<hearing>` ([`hearing_dir`]).
    pub dir: PathBuf,
    /// The bucket each run is copied to as well.
    pub bucket: Option<ReplayBucket>,
}

impl ReplayPlace {
    /// The archive of run `run`, in `r<run>/` under the folder.
    pub fn archive(&self, run: u64) -> ReplayArchive {
        ReplayArchive::start(self.dir.join(format!("r{run}")), self.bucket.clone())
    }
}

/// A run's folder in the bucket: `replays/<hearing>/r<run>/`.
fn bucket_prefix(hearing: &str, run: &str) -> String {
    format!("{REPLAYS_DIR}/{hearing}/{run}/")
}

/// What the writer thread is given.
enum Item {
    Init(Bytes),
    Segment(u64, Duration, Bytes),
}

/// One run's archive: hands each new init and media segment to its writer thread. The thread
/// ends once the archive is dropped and everything sent is written.
#[derive(Debug)]
pub struct ReplayArchive {
    tx: mpsc::Sender<Item>,
    init_sent: AtomicBool,
    /// The next segment sequence to hand over.
    next: AtomicU64,
}

impl ReplayArchive {
    /// An archive writing to `dir` (`DATA/replays/<hearing>/r<run>`, made on the first
    /// write), and copying to `bucket` as well when given.
    pub fn start(dir: PathBuf, bucket: Option<ReplayBucket>) -> Self {
        let (tx, rx) = mpsc::channel::<Item>();
        let span = tracing::Span::current();
        let spawned = std::thread::Builder::new()
            .name("replay-writer".into())
            .spawn(move || {
                let _in = span.entered();
                let upload = bucket.and_then(|to| Upload::new(to, &dir));
                write_run(&dir, rx, upload);
            });
        if let Err(e) = spawned {
            tracing::error!("replay: no writer thread ({e}); this run is not kept");
        }
        Self {
            tx,
            init_sent: AtomicBool::new(false),
            next: AtomicU64::new(0),
        }
    }

    /// Hands over what `segmenter` made since the last call: the init segment once, then
    /// each complete media segment once. No I/O: call it with the segmenter's lock held,
    /// after every change to it (so no segment leaves its window unseen).
    pub fn take(&self, segmenter: &Segmenter) {
        if !self.init_sent.load(Ordering::Relaxed) {
            let Some(init) = segmenter.init() else {
                return;
            };
            self.init_sent.store(true, Ordering::Relaxed);
            let _ = self.tx.send(Item::Init(init));
        }
        let next = self.next.load(Ordering::Relaxed);
        let mut upto = next;
        for info in segmenter.segments().filter(|s| s.sequence >= next) {
            if let Some(bytes) = segmenter.segment(info.sequence) {
                let _ = self
                    .tx
                    .send(Item::Segment(info.sequence, info.duration, bytes));
            }
            upto = info.sequence + 1;
        }
        self.next.store(upto, Ordering::Relaxed);
    }
}

/// The writer thread: each file written whole (to a temporary name, then renamed), then its
/// index line appended.
fn write_run(dir: &Path, rx: mpsc::Receiver<Item>, mut upload: Option<Upload>) {
    let mut failures = 0u64;
    for item in rx {
        let kept = match &item {
            Item::Init(_) => None,
            Item::Segment(seq, duration, _) => Some((*seq, *duration)),
        };
        let result = std::fs::create_dir_all(dir).and_then(|()| match &item {
            Item::Init(bytes) => write_whole(&dir.join(INIT_URI), bytes),
            Item::Segment(seq, duration, bytes) => {
                write_whole(&dir.join(segment_uri(*seq)), bytes)?;
                let mut index = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(dir.join(INDEX_FILE))?;
                index.write_all(index_line(*seq, *duration).as_bytes())
            }
        });
        if let Err(e) = result {
            failures += 1;
            if failures == 1 || failures.is_power_of_two() {
                tracing::warn!(
                    dir = %dir.display(),
                    failures,
                    "replay: a file was not kept ({e}); the live broadcast goes on"
                );
            }
            continue;
        }
        if let Some(up) = &mut upload {
            match kept {
                None => up.init_pending = true,
                Some(segment) => up.pending.push_back(segment),
            }
            up.flush(dir);
        }
    }
    // The run ended: a few more tries for what the bucket has not taken yet.
    if let Some(up) = &mut upload {
        for wait in [1, 2, 4] {
            if up.done() {
                break;
            }
            std::thread::sleep(Duration::from_secs(wait));
            up.flush(dir);
        }
        if !up.done() {
            tracing::warn!(
                dir = %dir.display(),
                "replay: not all of this run reached the bucket; this node's copy stays"
            );
        }
    }
}

/// The copy of one run to the bucket, in order: the init segment, then each segment and the
/// index naming it. Files are read back from the run's folder (nothing is held in memory
/// while the bucket is away).
struct Upload {
    to: ReplayBucket,
    prefix: String,
    init_pending: bool,
    /// Kept segments not yet in the bucket, oldest first.
    pending: std::collections::VecDeque<(u64, Duration)>,
    /// The index as the bucket should hold it, and whether it does.
    index: String,
    index_dirty: bool,
    version: Option<Version>,
    /// Another writer changed the run's index: this one stops.
    stopped: bool,
}

impl Upload {
    /// For the run in `dir` (`.../replays/<hearing>/r<run>`).
    fn new(to: ReplayBucket, dir: &Path) -> Option<Self> {
        let run = dir.file_name()?.to_str()?;
        let hearing = dir.parent()?.file_name()?.to_str()?;
        Some(Self {
            prefix: bucket_prefix(hearing, run),
            to,
            init_pending: false,
            pending: Default::default(),
            index: String::new(),
            index_dirty: false,
            version: None,
            stopped: false,
        })
    }

    fn done(&self) -> bool {
        self.stopped || (!self.init_pending && self.pending.is_empty() && !self.index_dirty)
    }

    /// Uploads what is pending, in order, up to the first failure.
    fn flush(&mut self, dir: &Path) {
        if self.stopped {
            return;
        }
        let (bucket, rt) = (&self.to.bucket, &self.to.runtime);
        let fail = |what: &str, e: &BucketError| {
            tracing::warn!(key = %what, "replay: the bucket did not take it ({e}); retried later");
        };
        if self.init_pending {
            let key = format!("{}{INIT_URI}", self.prefix);
            let Ok(bytes) = std::fs::read(dir.join(INIT_URI)) else {
                return;
            };
            if let Err(e) = rt.block_on(bucket.put_new(&key, bytes.into())) {
                return fail(&key, &e);
            }
            self.init_pending = false;
        }
        while let Some((seq, duration)) = self.pending.front().copied() {
            let key = format!("{}{}", self.prefix, segment_uri(seq));
            match std::fs::read(dir.join(segment_uri(seq))) {
                Ok(bytes) => {
                    if let Err(e) = rt.block_on(bucket.put_new(&key, bytes.into())) {
                        fail(&key, &e);
                        break;
                    }
                    self.index.push_str(&index_line(seq, duration));
                    self.index_dirty = true;
                }
                Err(e) => tracing::warn!(key = %key, "replay: not on disk to copy ({e})"),
            }
            self.pending.pop_front();
        }
        if self.index_dirty {
            let key = format!("{}{INDEX_FILE}", self.prefix);
            let body = Bytes::from(self.index.clone());
            match rt.block_on(bucket.put_over(&key, body, self.version.clone())) {
                Ok(v) => {
                    self.version = Some(v);
                    self.index_dirty = false;
                }
                Err(BucketError::Conflict(_)) => {
                    tracing::error!(key = %key, "replay: another writer changed this run's index; no more copies");
                    self.stopped = true;
                }
                Err(e) => fail(&key, &e),
            }
        }
    }
}

fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("part");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// The runs kept in `hearing_dir` (folders `r<digits>` in number order), each with the
/// segments its index lists. Blocking.
pub fn local_runs(hearing_dir: &Path) -> std::io::Result<Vec<ReplayRun>> {
    let mut runs = Vec::new();
    let entries = match std::fs::read_dir(hearing_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(runs),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let Some(run) = entry.file_name().to_str().and_then(run_number) else {
            continue;
        };
        let segments = match std::fs::read_to_string(entry.path().join(INDEX_FILE)) {
            Ok(text) => parse_index(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        if entry.path().join(INIT_URI).is_file() {
            runs.push(ReplayRun { run, segments });
        }
    }
    runs.sort_by_key(|r| r.run);
    Ok(runs)
}

/// `r<digits>` → the run's number.
fn run_number(name: &str) -> Option<u64> {
    let digits = name.strip_prefix('r')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The replay's VOD playlist of the hearing whose folder is `hearing_dir`; `None` when
/// nothing was kept. Blocking.
pub fn replay_playlist(hearing_dir: &Path) -> std::io::Result<Option<String>> {
    Ok(vod_playlist(&local_runs(hearing_dir)?, REPLAY_PREFIX))
}

/// The path of a replay file (`run`: `r<n>`; `file`: `init.mp4` or `seg-N.m4s`), only for
/// names this module makes and files the run's index lists (so nothing half-written and
/// nothing outside the folder). Blocking.
pub fn replay_file(hearing_dir: &Path, run: &str, file: &str) -> Option<PathBuf> {
    run_number(run)?;
    let dir = hearing_dir.join(run);
    if file == INIT_URI {
        let path = dir.join(INIT_URI);
        return path.is_file().then_some(path);
    }
    let seq = parse_segment_uri(file)?;
    let index = std::fs::read_to_string(dir.join(INDEX_FILE)).ok()?;
    parse_index(&index)
        .iter()
        .any(|(s, _)| *s == seq)
        .then(|| dir.join(segment_uri(seq)))
}

/// The runs of hearing `hearing` the bucket holds, in number order, each with the segments
/// its index there lists.
pub async fn bucket_runs(bucket: &Bucket, hearing: &str) -> Result<Vec<ReplayRun>, BucketError> {
    let under = format!("{REPLAYS_DIR}/{hearing}");
    let mut runs = Vec::new();
    for obj in bucket.list(&under).await? {
        let Some(rest) = obj.key.strip_prefix(&format!("{under}/")) else {
            continue;
        };
        let Some((run, INDEX_FILE)) = rest.split_once('/') else {
            continue;
        };
        let Some(number) = run_number(run) else {
            continue;
        };
        let (text, _) = bucket.get(&obj.key).await?;
        runs.push(ReplayRun {
            run: number,
            segments: parse_index(&String::from_utf8_lossy(&text)),
        });
    }
    runs.sort_by_key(|r| r.run);
    Ok(runs)
}

/// The replay's VOD playlist from the bucket alone; `None` when it holds no run of it.
pub async fn bucket_playlist(
    bucket: &Bucket,
    hearing: &str,
) -> Result<Option<String>, BucketError> {
    Ok(vod_playlist(
        &bucket_runs(bucket, hearing).await?,
        REPLAY_PREFIX,
    ))
}

/// A replay file from the bucket, only for names this module makes and segments the run's
/// index there lists; `None` for anything else.
pub async fn bucket_file(
    bucket: &Bucket,
    hearing: &str,
    run: &str,
    file: &str,
) -> Result<Option<Bytes>, BucketError> {
    if run_number(run).is_none() {
        return Ok(None);
    }
    let prefix = bucket_prefix(hearing, run);
    let key = if file == INIT_URI {
        format!("{prefix}{INIT_URI}")
    } else {
        let Some(seq) = parse_segment_uri(file) else {
            return Ok(None);
        };
        let index = match bucket.get(&format!("{prefix}{INDEX_FILE}")).await {
            Ok((text, _)) => text,
            Err(BucketError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        if !parse_index(&String::from_utf8_lossy(&index))
            .iter()
            .any(|(s, _)| *s == seq)
        {
            return Ok(None);
        }
        format!("{prefix}{}", segment_uri(seq))
    };
    match bucket.get(&key).await {
        Ok((bytes, _)) => Ok(Some(bytes)),
        Err(BucketError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests;
