//! The replay: a broadcast as it was aired (slates included), kept run by run, and listed
//! after the end as one video-on-demand playlist.
//!
//! Sans-I/O: this module owns the text of a run's index (one line per kept segment) and of
//! the VOD playlist; the shell (`hearing::replay`) writes the files and reads them back.
//!
//! A run's folder holds its init segment ([`INIT_URI`](super::INIT_URI)), its media segments
//! ([`segment_uri`](super::segment_uri)) and [`INDEX_FILE`], to which a segment's line is
//! appended only once the segment's file is complete; a torn last line (a crash while
//! appending) is ignored. The playlist joins the runs with `#EXT-X-DISCONTINUITY` and each
//! run's own `#EXT-X-MAP`; a segment missing inside a run (a failed write) is skipped with a
//! discontinuity as well.

use std::fmt::Write as _;
use std::time::Duration;

use super::playlist::segment_uri;
use super::INIT_URI;

/// The index of a run's kept segments, in the run's folder.
pub const INDEX_FILE: &str = "index.txt";

/// One run of the broadcast as kept: its number and its segments (sequence, duration), in
/// the order they were made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayRun {
    /// The run's number (its folder is `r<run>`).
    pub run: u64,
    /// Its kept segments: sequence number and duration.
    pub segments: Vec<(u64, Duration)>,
}

/// The index line of segment `sequence` lasting `duration`: `"<sequence> <microseconds>\n"`.
pub fn index_line(sequence: u64, duration: Duration) -> String {
    format!("{sequence} {}\n", duration.as_micros())
}

/// The segments an index lists, in order. Lines that do not parse (a torn last line) are
/// skipped, and so is a sequence number not above the one before it.
pub fn parse_index(text: &str) -> Vec<(u64, Duration)> {
    let mut out: Vec<(u64, Duration)> = Vec::new();
    for line in text.split_inclusive('\n') {
        let Some(line) = line.strip_suffix('\n') else {
            continue; // torn: no newline yet
        };
        let mut fields = line.split(' ');
        let (Some(seq), Some(us), None) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        let (Ok(seq), Ok(us)) = (seq.parse::<u64>(), us.parse::<u64>()) else {
            continue;
        };
        if out.last().is_some_and(|(last, _)| seq <= *last) {
            continue;
        }
        out.push((seq, Duration::from_micros(us)));
    }
    out
}

/// The runs of two copies of a replay (this node's disk and the bucket) as one list, in run
/// order: a run in both is taken from the copy whose index lists more segments (the bucket
/// lags the disk while it uploads; the disk lacks the runs another node aired).
pub fn merge_runs(a: Vec<ReplayRun>, b: Vec<ReplayRun>) -> Vec<ReplayRun> {
    let mut by_run: std::collections::BTreeMap<u64, ReplayRun> = std::collections::BTreeMap::new();
    for run in a.into_iter().chain(b) {
        match by_run.get(&run.run) {
            Some(kept) if kept.segments.len() >= run.segments.len() => {}
            _ => {
                by_run.insert(run.run, run);
            }
        }
    }
    by_run.into_values().collect()
}

/// Seconds with three decimals, rounded to the nearest millisecond.
fn seconds(d: Duration) -> String {
    let ms = (d.as_micros() + 500) / 1000;
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// The VOD playlist of `runs` (oldest first), its URIs under `prefix` (`replay/`): each run's
/// files under `<prefix>r<run>/`. `None` when no run kept a segment.
pub fn vod_playlist(runs: &[ReplayRun], prefix: &str) -> Option<String> {
    let listed: Vec<&ReplayRun> = runs.iter().filter(|r| !r.segments.is_empty()).collect();
    if listed.is_empty() {
        return None;
    }
    let longest = listed
        .iter()
        .flat_map(|r| r.segments.iter().map(|(_, d)| *d))
        .max()
        .unwrap_or_default();
    let target = longest.as_micros().div_ceil(1_000_000).max(1);
    let mut out =
        String::with_capacity(200 + 40 * listed.iter().map(|r| r.segments.len()).sum::<usize>());
    let _ = write!(
        out,
        "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:{target}\n#EXT-X-PLAYLIST-TYPE:VOD\n\
         #EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MEDIA-SEQUENCE:0\n"
    );
    for (i, run) in listed.iter().enumerate() {
        if i > 0 {
            out.push_str("#EXT-X-DISCONTINUITY\n");
        }
        let dir = format!("{prefix}r{}/", run.run);
        let _ = writeln!(out, "#EXT-X-MAP:URI=\"{dir}{INIT_URI}\"");
        let mut last: Option<u64> = None;
        for (seq, duration) in &run.segments {
            if last.is_some_and(|l| *seq != l + 1) {
                out.push_str("#EXT-X-DISCONTINUITY\n");
            }
            last = Some(*seq);
            let _ = writeln!(
                out,
                "#EXTINF:{},\n{dir}{}",
                seconds(*duration),
                segment_uri(*seq)
            );
        }
    }
    out.push_str("#EXT-X-ENDLIST\n");
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn an_index_reads_back_what_was_written_and_skips_a_torn_line() {
        let mut text = index_line(0, ms(2040)) + &index_line(1, ms(1960));
        text.push_str("2 20"); // torn while appending
        assert_eq!(parse_index(&text), vec![(0, ms(2040)), (1, ms(1960))]);
        // Junk and a sequence going backwards are skipped, not trusted.
        let junk = "x y\n5 1000000\n3 1000000\n6 2000000 extra\n7 500000\n";
        assert_eq!(
            parse_index(junk),
            vec![(5, Duration::from_secs(1)), (7, ms(500))]
        );
    }

    #[test]
    fn the_vod_playlist_joins_runs_with_discontinuities_and_ends() {
        let runs = [
            ReplayRun {
                run: 1_700_000_000,
                segments: vec![(0, ms(2040)), (1, ms(2000)), (3, ms(2960))],
            },
            ReplayRun {
                run: 1_700_000_100,
                segments: vec![],
            },
            ReplayRun {
                run: 1_700_000_200,
                segments: vec![(0, ms(1000))],
            },
        ];
        let text = vod_playlist(&runs, "replay/").expect("segments kept");
        assert_eq!(
            text,
            "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:3\n#EXT-X-PLAYLIST-TYPE:VOD\n\
             #EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MEDIA-SEQUENCE:0\n\
             #EXT-X-MAP:URI=\"replay/r1700000000/init.mp4\"\n\
             #EXTINF:2.040,\nreplay/r1700000000/seg-0.m4s\n\
             #EXTINF:2.000,\nreplay/r1700000000/seg-1.m4s\n\
             #EXT-X-DISCONTINUITY\n\
             #EXTINF:2.960,\nreplay/r1700000000/seg-3.m4s\n\
             #EXT-X-DISCONTINUITY\n\
             #EXT-X-MAP:URI=\"replay/r1700000200/init.mp4\"\n\
             #EXTINF:1.000,\nreplay/r1700000200/seg-0.m4s\n\
             #EXT-X-ENDLIST\n"
        );
    }

    #[test]
    fn two_copies_merge_run_by_run_the_longer_index_winning() {
        let run = |run: u64, n: u64| ReplayRun {
            run,
            segments: (0..n).map(|s| (s, ms(2000))).collect(),
        };
        // Disk: this node's run 30 (whole), run 10 (part of it); bucket: run 10 whole (the
        // node that aired it died) and run 30 still uploading.
        let merged = merge_runs(vec![run(30, 5), run(10, 1)], vec![run(10, 4), run(30, 2)]);
        assert_eq!(merged, vec![run(10, 4), run(30, 5)]);
        assert_eq!(merge_runs(vec![], vec![run(7, 1)]), vec![run(7, 1)]);
        assert_eq!(merge_runs(vec![], vec![]), vec![]);
    }

    #[test]
    fn nothing_kept_is_no_playlist() {
        assert_eq!(vod_playlist(&[], "replay/"), None);
        let empty = [ReplayRun {
            run: 1,
            segments: vec![],
        }];
        assert_eq!(vod_playlist(&empty, "replay/"), None);
    }
}
