//! Every file in a recording folder must be covered by a hash that the signature covers.
//!
//! Covered: `manifest.json` (the signature), `SHA256SUMS` (the manifest's `sha256sums`), each
//! segment and each original the manifest lists (their `sha256`, checked elsewhere). Exempt:
//! the signature itself, the RFC 3161 time-stamp files (`manifest.json.tsr`,
//! `chain-NNNNN.tsr`, which carry their own signed proof, and `timestamps.json`, the log of
//! requests, written after the manifest is sealed), and the hidden bookkeeping files the
//! server never serves ([`BOOKKEEPING_FILES`]). Anything else is an error: a file someone
//! added, or one the server failed to list.
//!
//! A recording still `recording` (running, or never sealed after a crash) has files being
//! written: segments after the last listed one, original tracks not yet closed and the
//! temporary files of an atomic write (`.NAME.tmp`) are reported as warnings, as the
//! recording itself is. Sealing after a crash removes the temporary files.

use std::path::Path;

use super::Report;
use crate::record::manifest::{
    Manifest, RecordingState, BOOKKEEPING_FILES, MANIFEST_FILE, SIGNATURE_FILE, SUMS_FILE,
};
use crate::record::{originals, segment, timestamp};

/// Whether `name` is a file of a recording folder that no manifest hash needs to cover: the
/// signature, the time-stamp files, the bookkeeping files, and the temporary file an atomic
/// write of one of those leaves for a moment (`.NAME.tmp`, or `NAME.tmp` for the hidden ones).
pub fn is_exempt(name: &str) -> bool {
    if is_exempt_itself(name) {
        return true;
    }
    let Some(stem) = name.strip_suffix(".tmp") else {
        return false;
    };
    stem.strip_prefix('.')
        .is_some_and(|s| is_exempt_itself(s) && !s.starts_with('.'))
        || (stem.starts_with('.') && BOOKKEEPING_FILES.contains(&stem))
}

fn is_exempt_itself(name: &str) -> bool {
    name == SIGNATURE_FILE
        || name == timestamp::MANIFEST_TOKEN_FILE
        || name == timestamp::INDEX_FILE
        || timestamp::parse_chain_token_file(name).is_some()
        || BOOKKEEPING_FILES.contains(&name)
}

/// Reports every entry of `dir` that no hash the signature covers stands for.
pub(super) fn check_coverage(manifest: &Manifest, dir: &Path, report: &mut Report) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            report.error(format!("cannot list the recording's folder: {e}"));
            return;
        }
    };
    let last_listed = manifest.segments.iter().map(|s| s.index).max();
    let live = manifest.state == RecordingState::Recording;
    let mut found: Vec<(String, bool)> = entries
        .flatten()
        .map(|e| {
            let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
            (e.file_name().to_string_lossy().to_string(), is_dir)
        })
        .collect();
    found.sort();
    for (name, is_dir) in found {
        if is_dir {
            report.error(format!(
                "{name}/: a folder inside the recording; nothing in it is covered by any hash"
            ));
            continue;
        }
        if name == MANIFEST_FILE || name == SUMS_FILE || is_exempt(&name) {
            continue;
        }
        if manifest.segments.iter().any(|s| s.file == name)
            || manifest.originals.iter().any(|o| o.file == name)
            || manifest.exhibits.iter().any(|e| e.file == name)
        {
            continue;
        }
        let being_written = live
            && (segment::parse_file_name(&name).is_some_and(|i| last_listed.is_none_or(|l| i > l))
                || originals::parse_file_name(&name).is_some()
                || (name.starts_with('.') && name.ends_with(".tmp")));
        if being_written {
            report.warn(format!(
                "{name}: being written, not covered yet (the recording is not sealed)"
            ));
        } else {
            report.error(format!(
                "{name}: not covered by any hash the signature covers (the manifest does not list it)"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_signature_time_stamps_and_bookkeeping_are_exempt() {
        for name in [
            "manifest.json.sig",
            "manifest.json.tsr",
            "chain-00003.tsr",
            "timestamps.json",
            ".space-reserve",
            ".bucket.json",
            ".fenced",
            ".bucket.json.tmp",
            ".timestamps.json.tmp",
            ".manifest.json.sig.tmp",
            ".chain-00001.tsr.tmp",
        ] {
            assert!(is_exempt(name), "{name}");
        }
        for name in [
            "composite-00000.mp4",
            "original-witness-p1-video.webm",
            "notes.txt",
            "chain-1.tsr",
            "other.tsr",
            ".hidden",
            ".manifest.json.tmp",
            ".SHA256SUMS.tmp",
            "..fenced.tmp",
            ".composite-00000.mp4.tmp",
        ] {
            assert!(!is_exempt(name), "{name}");
        }
    }
}
