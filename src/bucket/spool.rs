//! The upload spool: sealed recording files leave the node for the bucket as they are made.
//!
//! The spool is the node's recording folders themselves (`DATA/recordings/<hearing>/<rec>/`),
//! so it survives a storage outage and a restart with nothing to replay. A file is sealed once
//! the recording's `manifest.json` lists it (a segment, an original); the open segment is
//! never touched. For each folder, one pass:
//!
//! 1. uploads each sealed media file create-only (`If-None-Match: *`), then deletes the local
//!    copy, only once the bucket confirmed it;
//! 2. uploads the time-stamp tokens (`*.tsr`) create-only, keeping them locally (small);
//! 3. when `manifest.json` changed since its last upload: the signature and the other
//!    manifest files, then `manifest.json` itself, each conditioned on the version this node
//!    last wrote (`If-Match`), kept in `.bucket.json` beside them.
//!
//! A [`WriteGate`] is asked before every write: a node whose lease on the hearing ended (a
//! stale owner) writes nothing more, and a conditional write refused by the bucket (another
//! writer, such as the node that took the hearing over and sealed it) stops the folder for good.
//! Failures back off (1 s doubling to 30 s) and are reported in [`SpoolStatus`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{Bucket, BucketError, Version};

/// The file in each recording folder that remembers what the bucket holds.
pub const STATE_FILE: &str = ".bucket.json";
/// The manifest.
const MANIFEST: &str = "manifest.json";
/// Files that change with the manifest, written before it (the manifest goes last).
const MANIFEST_COMPANIONS: [&str; 3] = ["manifest.json.sig", "SHA256SUMS", "timestamps.json"];
/// Longest wait between attempts while the bucket fails.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Decides whether this node may still write a recording to the bucket.
pub trait WriteGate: Send + Sync + 'static {
    /// Whether files of `hearing`'s recording `recording`, in folder `dir`, may be written now.
    fn may_write(&self, hearing: &str, recording: &str, dir: &Path) -> bool;
}

/// A gate that always opens: a single node.
#[derive(Debug, Clone, Copy, Default)]
pub struct AlwaysOpen;

impl WriteGate for AlwaysOpen {
    fn may_write(&self, _: &str, _: &str, _: &Path) -> bool {
        true
    }
}

/// What the spool holds and how its uploads go.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SpoolStatus {
    /// Sealed files waiting to be uploaded.
    pub pending_files: u64,
    /// Their bytes.
    pub pending_bytes: u64,
    /// Files uploaded since start.
    pub uploaded_files: u64,
    /// Bytes uploaded since start.
    pub uploaded_bytes: u64,
    /// The bound on pending bytes.
    pub limit_bytes: u64,
    /// Whether the pending bytes passed the bound (the node takes no new hearings).
    pub over_limit: bool,
    /// The last failure, while the bucket fails.
    pub last_error: Option<String>,
    /// Recordings whose writes were refused (fenced or superseded): nothing more is sent.
    pub refused_recordings: Vec<String>,
}

/// What `.bucket.json` holds: the version of each mutable file this node last wrote, and the
/// SHA-256 of the manifest it last uploaded.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct FolderState {
    #[serde(default)]
    versions: BTreeMap<String, StoredVersion>,
    #[serde(default)]
    manifest_sha256: Option<String>,
    /// Set once a conditional write was refused: another writer owns this recording now.
    #[serde(default)]
    refused: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct StoredVersion {
    e_tag: Option<String>,
    version: Option<String>,
}

impl From<Version> for StoredVersion {
    fn from(v: Version) -> Self {
        Self {
            e_tag: v.e_tag,
            version: v.version,
        }
    }
}

impl From<StoredVersion> for Version {
    fn from(v: StoredVersion) -> Self {
        Version {
            e_tag: v.e_tag,
            version: v.version,
        }
    }
}

/// One step of a folder's upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Upload a sealed media file create-only, then delete it locally.
    Media(String),
    /// Upload a small immutable file create-only and keep it.
    Token(String),
    /// Upload the manifest's companions and then the manifest, conditionally.
    Manifest {
        /// The SHA-256 of the local manifest.
        sha256: String,
    },
}

/// What one recording folder needs, from what is on disk: pure, so it is tested without a
/// bucket. `listed` are the files the manifest names as sealed; `present` every file name in
/// the folder; `manifest_sha256` the local manifest's hash; `uploaded_sha256` the hash of the
/// manifest last uploaded.
pub fn plan(
    listed: &[String],
    present: &[String],
    manifest_sha256: Option<&str>,
    uploaded_sha256: Option<&str>,
) -> Vec<Step> {
    let mut steps: Vec<Step> = listed
        .iter()
        .filter(|f| present.contains(f))
        .map(|f| Step::Media(f.clone()))
        .collect();
    steps.extend(
        present
            .iter()
            .filter(|f| f.ends_with(".tsr"))
            .map(|f| Step::Token(f.clone())),
    );
    if let Some(sha) = manifest_sha256 {
        if Some(sha) != uploaded_sha256 {
            steps.push(Step::Manifest {
                sha256: sha.to_owned(),
            });
        }
    }
    steps
}

/// The files a manifest names as sealed: its segments', originals' and exhibits' `file` fields.
pub fn sealed_files(manifest: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    for list in ["segments", "originals", "exhibits"] {
        if let Some(items) = manifest.get(list).and_then(|v| v.as_array()) {
            for item in items {
                if let Some(f) = item.get("file").and_then(|f| f.as_str()) {
                    if is_plain_name(f) {
                        out.push(f.to_owned());
                    }
                }
            }
        }
    }
    out
}

fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.contains('/')
        && !name.contains('\\')
        && name != ".."
}

/// The node's upload spool. Cheap to clone.
#[derive(Clone)]
pub struct Spool {
    inner: Arc<Inner>,
}

struct Inner {
    bucket: Bucket,
    root: PathBuf,
    gate: Arc<dyn WriteGate>,
    status: Mutex<SpoolStatus>,
    wake: tokio::sync::Notify,
    /// The folder lock: one pass at a time (the loop, or a flush).
    pass: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Spool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spool")
            .field("bucket", &self.inner.bucket)
            .field("root", &self.inner.root)
            .finish()
    }
}

impl Spool {
    /// A spool over the recording folders under `root` (`DATA/recordings`), uploading to
    /// `bucket`, with pending bytes bounded by `limit_bytes`. Call [`Spool::run`] to start it.
    pub fn new(bucket: Bucket, root: PathBuf, gate: Arc<dyn WriteGate>, limit_bytes: u64) -> Self {
        Self {
            inner: Arc::new(Inner {
                bucket,
                root,
                gate,
                status: Mutex::new(SpoolStatus {
                    limit_bytes,
                    ..Default::default()
                }),
                wake: tokio::sync::Notify::new(),
                pass: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The bucket.
    pub fn bucket(&self) -> &Bucket {
        &self.inner.bucket
    }

    /// Starts the upload loop on the tokio runtime: a pass at every [`Spool::poke`], and every
    /// `every` in any case (catching up after an outage).
    pub fn run(&self, every: Duration) {
        let spool = self.clone();
        tokio::spawn(async move {
            let mut backoff = Duration::from_secs(1);
            loop {
                let ok = spool.pass().await;
                let wait = if ok {
                    backoff = Duration::from_secs(1);
                    every
                } else {
                    let w = backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    w
                };
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = spool.inner.wake.notified(), if ok => {}
                }
            }
        });
    }

    /// Asks for a pass soon (a segment was sealed).
    pub fn poke(&self) {
        self.inner.wake.notify_one();
    }

    /// The spool's figures.
    pub fn status(&self) -> SpoolStatus {
        self.inner.status.lock().expect("spool status").clone()
    }

    /// Uploads what `dir` (one recording folder) needs now, within `timeout`. `Ok(true)`: the
    /// folder has nothing left to upload.
    pub async fn flush(&self, dir: &Path, timeout: Duration) -> Result<bool, BucketError> {
        let _pass = self.inner.pass.lock().await;
        match tokio::time::timeout(timeout, self.folder(dir)).await {
            Ok(r) => r,
            Err(_) => Err(BucketError::Unavailable(format!(
                "upload of {} did not finish within {timeout:?}",
                dir.display()
            ))),
        }
    }

    /// One pass over every folder. `false` when the bucket failed.
    pub async fn pass(&self) -> bool {
        let _pass = self.inner.pass.lock().await;
        let folders = match recording_folders(&self.inner.root) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(root = %self.inner.root.display(), "cannot list the spool: {e}");
                return true;
            }
        };
        let mut ok = true;
        let mut last_error = None;
        for dir in &folders {
            if let Err(e) = self.folder(dir).await {
                if matches!(e, BucketError::Unavailable(_)) {
                    ok = false;
                }
                tracing::warn!(dir = %dir.display(), "upload: {e}");
                last_error = Some(e.to_string());
                if !ok {
                    break;
                }
            }
        }
        let (files, bytes, refused) = pending(&folders);
        let mut st = self.inner.status.lock().expect("spool status");
        st.pending_files = files;
        st.pending_bytes = bytes;
        st.over_limit = bytes > st.limit_bytes;
        st.refused_recordings = refused;
        st.last_error = if ok { None } else { last_error };
        ok
    }

    /// Uploads one folder's pending steps. `Ok(true)` when nothing is left.
    async fn folder(&self, dir: &Path) -> Result<bool, BucketError> {
        let Some((hearing, recording)) = ids_of(&self.inner.root, dir) else {
            return Ok(true);
        };
        let mut state = read_state(dir);
        if state.refused {
            return Ok(true);
        }
        let manifest_bytes = match std::fs::read(dir.join(MANIFEST)) {
            Ok(b) => b,
            Err(_) => return Ok(true),
        };
        let manifest: serde_json::Value = match serde_json::from_slice(&manifest_bytes) {
            Ok(v) => v,
            // Half written (never: it is written atomically) or not ours.
            Err(_) => return Ok(true),
        };
        let present = file_names(dir);
        let sha = crate::digest::sha256_hex(&manifest_bytes);
        let steps = plan(
            &sealed_files(&manifest),
            &present,
            Some(&sha),
            state.manifest_sha256.as_deref(),
        );
        let key = |f: &str| format!("recordings/{hearing}/{recording}/{f}");
        for step in steps {
            if !self.inner.gate.may_write(&hearing, &recording, dir) {
                tracing::debug!(%hearing, %recording, "not the owner any more: upload stops");
                return Ok(false);
            }
            match step {
                Step::Media(f) | Step::Token(f) => {
                    let path = dir.join(&f);
                    let body = read_bytes(&path).await?;
                    let len = body.len() as u64;
                    self.inner.bucket.put_new(&key(&f), body).await?;
                    if f.ends_with(".tsr") {
                        // Kept: small, and verify reads it beside the manifest. Uploading it
                        // again is a no-op (same size), so it is remembered as done.
                        state
                            .versions
                            .entry(format!("token:{f}"))
                            .or_insert_with(StoredVersion::default);
                    } else {
                        tokio::fs::remove_file(&path)
                            .await
                            .map_err(|e| BucketError::Unavailable(format!("{f}: {e}")))?;
                    }
                    self.counted(len);
                }
                Step::Manifest { sha256 } => {
                    for name in MANIFEST_COMPANIONS.iter().copied().chain([MANIFEST]) {
                        let path = dir.join(name);
                        if !path.exists() {
                            continue;
                        }
                        let body = if name == MANIFEST {
                            Bytes::from(manifest_bytes.clone())
                        } else {
                            read_bytes(&path).await?
                        };
                        let len = body.len() as u64;
                        let seen = state.versions.get(name).cloned().map(Version::from);
                        match self.inner.bucket.put_over(&key(name), body, seen).await {
                            Ok(v) => {
                                state.versions.insert(name.to_owned(), v.into());
                                write_state(dir, &state);
                                self.counted(len);
                            }
                            Err(BucketError::Conflict(k)) => {
                                tracing::warn!(%hearing, %recording, key = %k, "the bucket's copy was changed by another writer: this node sends nothing more for this recording");
                                state.refused = true;
                                write_state(dir, &state);
                                return Err(BucketError::Conflict(k));
                            }
                            Err(e) => return Err(e),
                        }
                    }
                    state.manifest_sha256 = Some(sha256);
                    write_state(dir, &state);
                }
            }
        }
        // Tokens are skipped next time.
        write_state(dir, &state);
        Ok(true)
    }

    fn counted(&self, bytes: u64) {
        let mut st = self.inner.status.lock().expect("spool status");
        st.uploaded_files += 1;
        st.uploaded_bytes += bytes;
    }
}

async fn read_bytes(path: &Path) -> Result<Bytes, BucketError> {
    tokio::fs::read(path)
        .await
        .map(Bytes::from)
        .map_err(|e| BucketError::Unavailable(format!("{}: {e}", path.display())))
}

/// `(hearing, recording)` of a folder `root/<hearing>/<recording>`.
fn ids_of(root: &Path, dir: &Path) -> Option<(String, String)> {
    let rel = dir.strip_prefix(root).ok()?;
    let mut parts = rel.components();
    let hearing = parts.next()?.as_os_str().to_str()?.to_owned();
    let recording = parts.next()?.as_os_str().to_str()?.to_owned();
    parts.next().is_none().then_some((hearing, recording))
}

/// Every `root/<hearing>/<recording>` folder.
fn recording_folders(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let Ok(hearings) = std::fs::read_dir(root) else {
        return Ok(out);
    };
    for h in hearings.flatten() {
        if !h.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            continue;
        }
        for r in std::fs::read_dir(h.path())?.flatten() {
            if r.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                out.push(r.path());
            }
        }
    }
    out.sort();
    Ok(out)
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
                .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn read_state(dir: &Path) -> FolderState {
    std::fs::read(dir.join(STATE_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn write_state(dir: &Path, state: &FolderState) {
    let tmp = dir.join(format!("{STATE_FILE}.tmp"));
    let body = serde_json::to_vec_pretty(state).expect("state serialises");
    if let Err(e) =
        std::fs::write(&tmp, body).and_then(|()| std::fs::rename(&tmp, dir.join(STATE_FILE)))
    {
        tracing::warn!(dir = %dir.display(), "cannot note the upload state: {e}");
    }
}

/// Sealed files not yet uploaded, their bytes, and the recordings refused for good.
fn pending(folders: &[PathBuf]) -> (u64, u64, Vec<String>) {
    let (mut files, mut bytes, mut refused) = (0, 0, Vec::new());
    for dir in folders {
        let state = read_state(dir);
        if state.refused {
            refused.push(dir.file_name().unwrap_or_default().to_string_lossy().into());
            continue;
        }
        let Ok(m) = std::fs::read(dir.join(MANIFEST)) else {
            continue;
        };
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&m) else {
            continue;
        };
        for f in sealed_files(&v) {
            if let Ok(meta) = std::fs::metadata(dir.join(&f)) {
                files += 1;
                bytes += meta.len();
            }
        }
    }
    (files, bytes, refused)
}

/// How long ago `t` was, for logs.
#[allow(dead_code)]
fn age(t: Instant) -> Duration {
    t.elapsed()
}

#[cfg(test)]
mod tests;
