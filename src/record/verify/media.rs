//! The media, not only the bytes: each segment must parse as MP4, hold the tracks its entry
//! names, and last as long as the entry says, within one fragment: its longest track fills
//! the entry's span and no track runs past it (video may start late in a first segment whose
//! first keyframe came late).

use std::path::Path;

use super::Report;
use crate::record::manifest::{Manifest, SegmentEntry};
use crate::record::mp4::{self, Mp4Info};

/// How far a segment's media may be from its entry's `media_end_ms - media_start_ms`: one
/// fragment.
pub const DURATION_TOLERANCE_MS: u64 = 1000;

/// The tracks an entry says its segment holds: its `tracks`, or, for a manifest written before
/// entries named them (version 3 and earlier), video and audio.
pub fn expected_tracks(entry: &SegmentEntry) -> Vec<String> {
    if entry.tracks.is_empty() {
        vec!["video".into(), "audio".into()]
    } else {
        entry.tracks.clone()
    }
}

/// Each segment whose file could be read: parsed, its tracks and its duration checked.
pub(super) fn check_media(manifest: &Manifest, dir: &Path, report: &mut Report) {
    for (i, e) in manifest.segments.iter().enumerate() {
        if e.file.contains('/') || e.file.contains('\\') || e.file.starts_with('.') {
            continue;
        }
        // A missing file is reported by the chain check.
        let Ok(bytes) = std::fs::read(dir.join(&e.file)) else {
            continue;
        };
        let who = format!("segment {i} ({})", e.file);
        match mp4::parse(&bytes) {
            Ok(info) => check_segment(&who, e, &info, report),
            Err(err) => report.error(format!("{who}: not a readable MP4: {err}")),
        }
    }
}

fn check_segment(who: &str, e: &SegmentEntry, info: &Mp4Info, report: &mut Report) {
    // A segment cut short (a crash, a failed disk, no video to write) may lack media: said,
    // but not failed. One listed as complete must hold all it names.
    let flag = |report: &mut Report, msg: String| {
        if e.complete {
            report.error(msg)
        } else {
            report.warn(msg)
        }
    };
    if info.truncated {
        let msg = format!("{who}: the file ends inside a box (a torn write)");
        if e.complete {
            report.error(format!("{msg}, yet field complete is true"));
        } else {
            report.warn(msg);
        }
    }
    let expected = expected_tracks(e);
    for kind in ["video", "audio"] {
        let wanted = expected.iter().any(|t| t == kind);
        let track = info.track(kind);
        let held = track.is_some_and(|t| t.holds_media());
        match (wanted, held) {
            (true, false) => {
                let why = match track {
                    None => "there is no such track".to_owned(),
                    Some(t) if t.sample_entries == 0 => {
                        "its track has no sample description (stsd holds 0 entries), so it cannot be decoded".to_owned()
                    }
                    Some(_) => "its track holds no sample".to_owned(),
                };
                let names = if e.tracks.is_empty() {
                    "every segment of this manifest version holds"
                } else {
                    "field tracks names"
                };
                flag(report, format!("{who}: {names} {kind}, but {why}"));
            }
            (false, true) => flag(
                report,
                format!("{who}: holds a {kind} track that field tracks does not name"),
            ),
            (false, false) if e.complete => flag(
                report,
                format!("{who}: has no {kind}, yet field complete is true"),
            ),
            (false, false) => report.warn(format!(
                "{who}: holds no {kind}, as field tracks says (the segment is incomplete)"
            )),
            (true, true) => {}
        }
    }
    if !e.complete {
        // Its end times are estimates (a crash) or it lacks a track: no duration to compare.
        return;
    }
    let listed = e.media_end_ms.saturating_sub(e.media_start_ms);
    let held: Vec<(&str, u64)> = ["video", "audio"]
        .iter()
        .filter_map(|k| {
            info.track(k)
                .filter(|t| t.holds_media())
                .map(|t| (*k, t.duration_ms()))
        })
        .collect();
    // No track may run past the entry's end...
    for (kind, ms) in &held {
        if *ms > listed + DURATION_TOLERANCE_MS {
            report.error(format!(
                "{who}: its {kind} lasts {ms} ms, fields media_start_ms..media_end_ms say {listed} ms (more than {DURATION_TOLERANCE_MS} ms apart)"
            ));
        }
    }
    // ...and the longest must fill it. Only that one: the first segment's video may start
    // late (its first keyframe came late, and audio before it is kept), so it is shorter.
    if let Some((kind, ms)) = held.iter().max_by_key(|(_, ms)| *ms) {
        if *ms + DURATION_TOLERANCE_MS < listed {
            report.error(format!(
                "{who}: its media lasts {ms} ms (its {kind}), fields media_start_ms..media_end_ms say {listed} ms (more than {DURATION_TOLERANCE_MS} ms apart)"
            ));
        }
    }
}
