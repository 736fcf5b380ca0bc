//! Sealing recordings interrupted by a crash, at the next start.
//!
//! A manifest still marked `recording` when the server starts belongs to a process that died.
//! Its closed segments are already chained and signed. Each segment file the manifest does not
//! list (the one being written, torn after its last complete fragment) is hashed as it lies and
//! appended as `complete: false`, its end estimated from the file's modification time. Each
//! original track the manifest does not list (its participant was still there when the server
//! died) is hashed as it lies and listed as `complete: false`, so every file of the folder is
//! under the signature. The manifest becomes `interrupted`, with the reason, and is signed again.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::manifest::{
    find_recordings, Manifest, OriginalEntry, RecordingState, SeatedParticipant, SegmentEntry,
    MANIFEST_FILE, RESERVE_FILE, SIGNATURE_FILE,
};
use super::originals::{self, OriginalName};
use super::segment;
use super::sign::RecordingKey;
use super::RecordError;
use crate::digest::sha256_file;
use crate::timefmt::utc_text;

/// One recording sealed at start.
#[derive(Debug, Clone)]
pub struct Sealed {
    /// The folder.
    pub dir: PathBuf,
    /// Recording id.
    pub recording_id: String,
    /// Torn segments appended.
    pub appended: usize,
}

/// Seals every recording under `recordings_dir` left in state `recording`. Call at start,
/// before any hearing records.
pub fn seal_interrupted(recordings_dir: &Path, key: &RecordingKey) -> Vec<Sealed> {
    let mut out = Vec::new();
    for dir in find_recordings(recordings_dir) {
        match seal_one(&dir, key) {
            Ok(Some(s)) => {
                tracing::warn!(dir = %dir.display(), appended = s.appended, "sealed an interrupted recording");
                out.push(s);
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(dir = %dir.display(), "cannot seal an interrupted recording: {e}")
            }
        }
    }
    out
}

/// Seals one folder if it is unsealed; `None` if it was already sealed.
pub fn seal_one(dir: &Path, key: &RecordingKey) -> Result<Option<Sealed>, RecordError> {
    let why = format!(
        "the server stopped without finalising this recording; sealed at the next start ({})",
        utc_text(Utc::now())
    );
    seal_one_because(dir, key, &why)
}

/// [`seal_one`], giving `why` as the reason in the manifest.
pub fn seal_one_because(
    dir: &Path,
    key: &RecordingKey,
    why: &str,
) -> Result<Option<Sealed>, RecordError> {
    let mut manifest = Manifest::read(dir)?;
    if manifest.state != RecordingState::Recording {
        return Ok(None);
    }
    let signed_before = std::fs::read(dir.join(SIGNATURE_FILE))
        .ok()
        .zip(std::fs::read(dir.join(MANIFEST_FILE)).ok())
        .is_some_and(|(sig, bytes)| key.public().verify(&bytes, &sig));
    let started: DateTime<Utc> = DateTime::parse_from_rfc3339(&manifest.started_at)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|_| Utc::now());
    let mut torn: Vec<(u32, String)> = std::fs::read_dir(dir)?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            segment::parse_file_name(&name).map(|i| (i, name))
        })
        .filter(|(_, name)| !manifest.segments.iter().any(|s| &s.file == name))
        .collect();
    torn.sort();
    let mut last_end = manifest
        .segments
        .last()
        .map(|e| e.media_end_ms)
        .unwrap_or(0);
    let mut ended = manifest
        .segments
        .last()
        .map(|e| e.ended_at.clone())
        .unwrap_or_else(|| manifest.started_at.clone());
    let appended = torn.len();
    for (index, name) in torn {
        let path = dir.join(&name);
        let (size, sha256) = sha256_file(&path)?;
        let modified: DateTime<Utc> = std::fs::metadata(&path)?
            .modified()
            .map(DateTime::<Utc>::from)
            .unwrap_or_else(|_| Utc::now());
        let end_ms = (modified - started)
            .to_std()
            .unwrap_or(Duration::ZERO)
            .as_millis() as u64;
        let end_ms = end_ms.max(last_end);
        let seated = manifest
            .segments
            .last()
            .map(|e| e.seated.clone())
            .unwrap_or_else(|| manifest.participants.clone());
        manifest.append(SegmentEntry {
            index,
            file: name,
            size,
            sha256,
            prev_entry_hash: String::new(),
            entry_hash: String::new(),
            started_at: at(started, last_end),
            ended_at: at(started, end_ms),
            media_start_ms: last_end,
            media_end_ms: end_ms,
            complete: false,
            seated,
            tracks: super::mp4::tracks_in_file(&path),
        });
        ended = at(started, end_ms);
        last_end = end_ms;
    }
    let originals = list_torn_originals(dir, &mut manifest)?;
    // Temporary files of an atomic write the crash cut short.
    for e in std::fs::read_dir(dir)?.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with('.') && name.ends_with(".tmp") {
            let _ = std::fs::remove_file(e.path());
        }
    }
    let mut reason = why.to_owned();
    if originals > 0 {
        reason.push_str(&format!(
            "; {originals} original track(s) still being written are listed as they lie (complete: false)"
        ));
    }
    if appended > 0 {
        reason.push_str(
            "; the last segment is torn and plays up to its last complete fragment; its end time is its file's modification time",
        );
    }
    if !signed_before {
        reason.push_str("; the manifest's previous signature did not verify at sealing time");
    }
    manifest.state = RecordingState::Interrupted;
    manifest.failure = Some(reason);
    manifest.ended_at = Some(ended);
    manifest.write_signed(dir, Some(key))?;
    let _ = std::fs::remove_file(dir.join(RESERVE_FILE));
    Ok(Some(Sealed {
        dir: dir.to_owned(),
        recording_id: manifest.recording_id,
        appended,
    }))
}

/// Lists in `manifest` every original track file in `dir` it does not list yet, hashed as it
/// lies, `complete: false`; whose it is comes from its name and the manifest's participants.
/// Returns how many.
fn list_torn_originals(dir: &Path, manifest: &mut Manifest) -> std::io::Result<usize> {
    let mut torn: Vec<(String, OriginalName)> = std::fs::read_dir(dir)?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            originals::parse_file_name(&name).map(|parsed| (name, parsed))
        })
        .filter(|(name, _)| !manifest.originals.iter().any(|o| &o.file == name))
        .collect();
    torn.sort_by(|a, b| a.0.cmp(&b.0));
    let count = torn.len();
    for (file, parsed) in torn {
        let (size, sha256) = sha256_file(&dir.join(&file))?;
        let participant = manifest
            .participants
            .iter()
            .find(|p| originals::file_name(&p.seat, parsed.participant, parsed.codec) == file)
            .cloned()
            .unwrap_or(SeatedParticipant {
                role: String::new(),
                seat: parsed.seat.clone(),
                name: String::new(),
            });
        manifest.originals.push(OriginalEntry {
            file,
            size,
            sha256,
            kind: parsed.codec.kind().into(),
            codec: parsed.codec.mime().into(),
            participant,
            complete: false,
        });
    }
    Ok(count)
}

fn at(started: DateTime<Utc>, ms: u64) -> String {
    utc_text(started + chrono::Duration::milliseconds(ms as i64))
}
