//! The segments' hash chain and the files it covers.

use std::path::Path;

use super::Report;
use crate::digest::sha256_file;
use crate::record::manifest::{Manifest, MANIFEST_FILE};

/// Each segment: its index, its link to the one before, its hash, its times, and its file.
pub(super) fn check_chain(manifest: &Manifest, dir: &Path, report: &mut Report) {
    let mut prev = manifest.genesis();
    let mut last_end = 0u64;
    for (i, e) in manifest.segments.iter().enumerate() {
        let who = format!("segment {i} ({})", e.file);
        if e.index as usize != i {
            report.error(format!("{who}: field index is {}, expected {i}", e.index));
        }
        if e.prev_entry_hash != prev {
            report.error(format!(
                "{who}: field prev_entry_hash does not match the previous entry's hash (chain broken)"
            ));
        }
        let computed = e.compute_hash();
        if e.entry_hash != computed {
            report.error(format!(
                "{who}: field entry_hash does not match the entry's fields"
            ));
        }
        prev = e.entry_hash.clone();
        if e.media_end_ms < e.media_start_ms || e.media_start_ms < last_end {
            report.error(format!(
                "{who}: fields media_start_ms/media_end_ms go backwards ({}..{} after {last_end})",
                e.media_start_ms, e.media_end_ms
            ));
        }
        last_end = e.media_end_ms;
        if e.file.contains('/') || e.file.contains('\\') || e.file.starts_with('.') {
            report.error(format!("{who}: field file is not a plain file name"));
            continue;
        }
        match sha256_file(&dir.join(&e.file)) {
            Ok((size, hash)) => {
                if size != e.size {
                    report.error(format!(
                        "{who}: size is {size} bytes, field size says {}",
                        e.size
                    ));
                }
                if hash != e.sha256 {
                    report.error(format!(
                        "{who}: SHA-256 is {hash}, field sha256 says {}",
                        e.sha256
                    ));
                }
            }
            Err(err) => report.error(format!("{who}: cannot read the file: {err}")),
        }
        if !e.complete {
            report.warn(format!(
                "{who}: cut short (complete: false); it plays up to its last complete fragment"
            ));
        }
    }
    if manifest.chain_head != prev {
        report.error(format!(
            "{MANIFEST_FILE}: field chain_head does not match the last entry's hash"
        ));
    }
}

/// Each original track: a plain file name, and the size and SHA-256 the manifest says.
pub(super) fn check_originals(manifest: &Manifest, dir: &Path, report: &mut Report) {
    for o in &manifest.originals {
        check_kept_file(
            &format!("original {}", o.file),
            &o.file,
            o.size,
            &o.sha256,
            dir,
            report,
        );
    }
}

/// A file kept beside the segments (an original, an exhibit): a plain file name, with the
/// size and SHA-256 the manifest gives it.
pub(super) fn check_kept_file(
    who: &str,
    file: &str,
    size: u64,
    sha256: &str,
    dir: &Path,
    report: &mut Report,
) {
    if file.contains('/') || file.contains('\\') || file.starts_with('.') {
        report.error(format!("{who}: field file is not a plain file name"));
        return;
    }
    match sha256_file(&dir.join(file)) {
        Ok((actual_size, hash)) => {
            if actual_size != size {
                report.error(format!(
                    "{who}: size is {actual_size} bytes, field size says {size}"
                ));
            }
            if hash != sha256 {
                report.error(format!(
                    "{who}: SHA-256 is {hash}, field sha256 says {sha256}"
                ));
            }
        }
        Err(err) => report.error(format!("{who}: cannot read the file: {err}")),
    }
}
