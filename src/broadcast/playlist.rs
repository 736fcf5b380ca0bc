//! The HLS media playlist (RFC 8216) text, and the names it gives the init and media segments.
//!
//! Owns only text: which segments are listed, how long each is and whether the stream ended
//! come from the [`Segmenter`](super::Segmenter).

use std::fmt::Write as _;

/// The URI of the init segment in the playlist's `#EXT-X-MAP`.
pub const INIT_URI: &str = "init.mp4";

/// Units per second of segment durations given to [`render`] (the video timescale).
const TICKS_PER_SECOND: u64 = super::fmp4::VIDEO_TIMESCALE as u64;

/// The URI of media segment `sequence`: `seg-<sequence>.m4s`.
pub fn segment_uri(sequence: u64) -> String {
    format!("seg-{sequence}.m4s")
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Media sequence number.
    pub sequence: u64,
    /// Duration in 90 kHz ticks.
    pub duration: u64,
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
pub(crate) fn render(entries: &[Entry], target_duration: u64, ended: bool) -> String {
    let longest = entries
        .iter()
        .map(|e| ceil_seconds(e.duration))
        .max()
        .unwrap_or(0);
    let target_duration = target_duration.max(longest).max(1);
    let first = entries.first().map_or(0, |e| e.sequence);
    let mut out = String::with_capacity(200 + 40 * entries.len());
    out.push_str("#EXTM3U\n#EXT-X-VERSION:7\n");
    let _ = writeln!(out, "#EXT-X-TARGETDURATION:{target_duration}");
    let _ = writeln!(out, "#EXT-X-MEDIA-SEQUENCE:{first}");
    out.push_str("#EXT-X-INDEPENDENT-SEGMENTS\n");
    let _ = writeln!(out, "#EXT-X-MAP:URI=\"{INIT_URI}\"");
    for e in entries {
        let _ = writeln!(out, "#EXTINF:{},", seconds(e.duration));
        let _ = writeln!(out, "{}", segment_uri(e.sequence));
    }
    if ended {
        out.push_str("#EXT-X-ENDLIST\n");
    }
    out
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
            },
            Entry {
                sequence: 5,
                duration: 183_600,
            },
            Entry {
                sequence: 6,
                duration: 1,
            },
        ];
        let text = render(&entries, 2, false);
        assert_eq!(
            text,
            "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:3\n#EXT-X-MEDIA-SEQUENCE:4\n\
             #EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"init.mp4\"\n\
             #EXTINF:2.000,\nseg-4.m4s\n#EXTINF:2.040,\nseg-5.m4s\n#EXTINF:0.000,\nseg-6.m4s\n"
        );
        assert!(render(&entries, 2, true).ends_with("seg-6.m4s\n#EXT-X-ENDLIST\n"));
        // A larger floor stays.
        assert!(render(&entries, 6, false).contains("#EXT-X-TARGETDURATION:6\n"));
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
