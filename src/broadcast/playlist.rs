//! The HLS media playlist (RFC 8216) text, and the names it gives the init and media segments.
//!
//! Owns only text: which segments are listed, how long each is and whether the stream ended
//! come from the [`Segmenter`](super::Segmenter).
//!
//! LL-HLS (RFC 8216bis): with partial segments the playlist is version 9 and says so with
//! `#EXT-X-SERVER-CONTROL` (blocking reload, `PART-HOLD-BACK` of three part targets) and
//! `#EXT-X-PART-INF`; the newest segments' parts (`#EXT-X-PART`, [`part_uri`]) come before
//! their `#EXTINF`, the open segment's after the last complete one, then an
//! `#EXT-X-PRELOAD-HINT` for the next part.

use std::fmt::Write as _;

/// The URI of the init segment in the playlist's `#EXT-X-MAP`.
pub const INIT_URI: &str = "init.mp4";

/// Units per second of segment durations given to [`render`] (the video timescale).
const TICKS_PER_SECOND: u64 = super::fmp4::VIDEO_TIMESCALE as u64;

/// The URI of media segment `sequence`: `seg-<sequence>.m4s`.
pub fn segment_uri(sequence: u64) -> String {
    format!("seg-{sequence}.m4s")
}

/// The URI of part `index` (from 0) of media segment `sequence`: `seg-<sequence>.<index>.m4s`.
pub fn part_uri(sequence: u64, index: u64) -> String {
    format!("seg-{sequence}.{index}.m4s")
}

/// The segment and part numbers in a part URI made by [`part_uri`]; `None` for any other name.
pub fn parse_part_uri(uri: &str) -> Option<(u64, u64)> {
    let (seq, index) = uri
        .strip_prefix("seg-")?
        .strip_suffix(".m4s")?
        .split_once('.')?;
    let number = |d: &str| {
        if d.is_empty() || !d.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        d.parse().ok()
    };
    Some((number(seq)?, number(index)?))
}

/// The sequence number in a media segment URI made by [`segment_uri`]; `None` for any other
/// name (so a server can route `seg-*.m4s` requests without string juggling).
pub fn parse_segment_uri(uri: &str) -> Option<u64> {
    let digits = uri.strip_prefix("seg-")?.strip_suffix(".m4s")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// One listed media segment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Entry {
    /// Media sequence number.
    pub sequence: u64,
    /// Duration in 90 kHz ticks.
    pub duration: u64,
    /// Its parts to list (LL-HLS), empty for none.
    pub parts: Vec<PartEntry>,
}

/// One listed partial segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PartEntry {
    /// Duration in 90 kHz ticks.
    pub duration: u64,
    /// It starts with a keyframe.
    pub independent: bool,
}

/// What an LL-HLS playlist says beyond the complete segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LowLatency {
    /// `PART-TARGET`, 90 kHz ticks.
    pub part_target: u64,
    /// The open segment's number and its parts so far; `None` once ended (no preload hint).
    pub open: Option<(u64, Vec<PartEntry>)>,
}

/// Seconds with exactly three decimals, rounded to the nearest millisecond: `2.040`.
fn seconds(ticks: u64) -> String {
    let ms = (ticks * 1000 + TICKS_PER_SECOND / 2) / TICKS_PER_SECOND;
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// Whole seconds, rounded up: the smallest `#EXT-X-TARGETDURATION` a duration fits under.
pub(crate) fn ceil_seconds(ticks: u64) -> u64 {
    ticks.div_ceil(TICKS_PER_SECOND)
}

/// The media playlist listing `entries` (consecutive sequence numbers, oldest first).
///
/// `target_duration` is in whole seconds; it is raised to the longest listed segment's
/// duration rounded up if that is longer, so it always holds. `ended` adds `#EXT-X-ENDLIST`.
///
/// `ll` makes it an LL-HLS playlist (see the module's docs).
pub(crate) fn render(
    entries: &[Entry],
    target_duration: u64,
    ended: bool,
    ll: Option<&LowLatency>,
) -> String {
    let longest = entries
        .iter()
        .map(|e| ceil_seconds(e.duration))
        .max()
        .unwrap_or(0);
    let target_duration = target_duration.max(longest).max(1);
    let first = entries.first().map_or(0, |e| e.sequence);
    let mut out = String::with_capacity(200 + 40 * entries.len());
    let version = if ll.is_some() { 9 } else { 7 };
    let _ = writeln!(out, "#EXTM3U\n#EXT-X-VERSION:{version}");
    let _ = writeln!(out, "#EXT-X-TARGETDURATION:{target_duration}");
    if let Some(ll) = ll {
        let _ = writeln!(
            out,
            "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK={}",
            seconds(3 * ll.part_target)
        );
        let _ = writeln!(
            out,
            "#EXT-X-PART-INF:PART-TARGET={}",
            seconds(ll.part_target)
        );
    }
    let _ = writeln!(out, "#EXT-X-MEDIA-SEQUENCE:{first}");
    out.push_str("#EXT-X-INDEPENDENT-SEGMENTS\n");
    let _ = writeln!(out, "#EXT-X-MAP:URI=\"{INIT_URI}\"");
    for e in entries {
        write_parts(&mut out, e.sequence, &e.parts);
        let _ = writeln!(out, "#EXTINF:{},", seconds(e.duration));
        let _ = writeln!(out, "{}", segment_uri(e.sequence));
    }
    if let Some((sequence, parts)) = ll.and_then(|ll| ll.open.as_ref()) {
        write_parts(&mut out, *sequence, parts);
        let _ = writeln!(
            out,
            "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"{}\"",
            part_uri(*sequence, parts.len() as u64)
        );
    }
    if ended {
        out.push_str("#EXT-X-ENDLIST\n");
    }
    out
}

/// `#EXT-X-PART` lines for the parts of segment `sequence`.
fn write_parts(out: &mut String, sequence: u64, parts: &[PartEntry]) {
    for (i, p) in parts.iter().enumerate() {
        let _ = writeln!(
            out,
            "#EXT-X-PART:DURATION={},URI=\"{}\"{}",
            seconds(p.duration),
            part_uri(sequence, i as u64),
            if p.independent {
                ",INDEPENDENT=YES"
            } else {
                ""
            }
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_live_window() {
        let entries = [
            Entry {
                sequence: 4,
                duration: 180_000,
                ..Entry::default()
            },
            Entry {
                sequence: 5,
                duration: 183_600,
                ..Entry::default()
            },
            Entry {
                sequence: 6,
                duration: 1,
                ..Entry::default()
            },
        ];
        let text = render(&entries, 2, false, None);
        assert_eq!(
            text,
            "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:3\n#EXT-X-MEDIA-SEQUENCE:4\n\
             #EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"init.mp4\"\n\
             #EXTINF:2.000,\nseg-4.m4s\n#EXTINF:2.040,\nseg-5.m4s\n#EXTINF:0.000,\nseg-6.m4s\n"
        );
        assert!(render(&entries, 2, true, None).ends_with("seg-6.m4s\n#EXT-X-ENDLIST\n"));
        // A larger floor stays.
        assert!(render(&entries, 6, false, None).contains("#EXT-X-TARGETDURATION:6\n"));
    }

    #[test]
    fn durations_round_to_milliseconds_and_targets_round_up() {
        assert_eq!(seconds(90_000), "1.000");
        assert_eq!(seconds(45), "0.001"); // 0.5 ms rounds up
        assert_eq!(seconds(44), "0.000");
        assert_eq!(seconds(12 * 90_000 + 3_003), "12.033");
        assert_eq!(ceil_seconds(180_000), 2);
        assert_eq!(ceil_seconds(180_001), 3);
        assert_eq!(ceil_seconds(0), 0);
    }

    #[test]
    fn part_uris_round_trip() {
        assert_eq!(part_uri(12, 3), "seg-12.3.m4s");
        assert_eq!(parse_part_uri("seg-12.3.m4s"), Some((12, 3)));
        assert_eq!(parse_segment_uri("seg-12.3.m4s"), None);
        for bad in [
            "seg-12.m4s",
            "seg-1..m4s",
            "seg-.1.m4s",
            "seg-1.2.3.m4s",
            "seg-1.x.m4s",
        ] {
            assert_eq!(parse_part_uri(bad), None, "{bad}");
        }
    }

    #[test]
    fn segment_uris_round_trip() {
        assert_eq!(segment_uri(12), "seg-12.m4s");
        assert_eq!(parse_segment_uri("seg-12.m4s"), Some(12));
        assert_eq!(parse_segment_uri(&segment_uri(u64::MAX)), Some(u64::MAX));
        for bad in [
            "seg-.m4s",
            "seg-1x.m4s",
            "seg-+1.m4s",
            "init.mp4",
            "seg-1.m4s.tmp",
            "seg-99999999999999999999.m4s",
        ] {
            assert_eq!(parse_segment_uri(bad), None, "{bad}");
        }
    }
}
