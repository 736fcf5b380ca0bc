//! The lifecycle events: `start`, `pause`/`resume`..., `stop`, in time order (with the court's
//! moments, `court_opened` and `court_closed`, anywhere between start and stop), and every gap
//! between segments explained by a pause.

use super::Report;
use crate::record::manifest::{Manifest, MANIFEST_FILE};

/// The lifecycle events: known kinds in a possible order, times that never go back, and every
/// gap between segments explained by a pause.
pub(super) fn check_events(manifest: &Manifest, report: &mut Report) {
    let events = &manifest.events;
    let mut phase = "new";
    let mut last_ms = 0u64;
    for (i, e) in events.iter().enumerate() {
        let field = format!("{MANIFEST_FILE}: field events[{i}] ({})", e.event);
        let next = match (phase, e.event.as_str()) {
            ("new", "start") => "running",
            ("running", "pause") => "paused",
            ("paused", "resume") => "running",
            ("running" | "paused", "stop") => "stopped",
            // The court's moments (the gavel, a shared screen shown and taken down) mark the
            // recording without changing it.
            (
                "running" | "paused",
                "court_opened" | "court_closed" | "screen_shown" | "screen_hidden",
            ) => phase,
            (
                _,
                "start" | "pause" | "resume" | "stop" | "court_opened" | "court_closed"
                | "screen_shown" | "screen_hidden",
            ) => {
                report.error(format!(
                    "{field}: cannot follow the recording being {phase}"
                ));
                phase
            }
            _ => {
                report.error(format!("{field}: unknown event"));
                phase
            }
        };
        phase = next;
        check_who_and_when(
            report,
            &field,
            ("actor", &e.actor),
            e.media_ms,
            &mut last_ms,
        );
    }
    const SLACK_MS: u64 = 1000;
    // The times are the manifest's, so anything up to u64::MAX: the sums saturate rather than
    // wrap (or panic, with overflow checks on).
    let near = |x: u64, y: u64| x.saturating_add(SLACK_MS) >= y && x <= y.saturating_add(SLACK_MS);
    for (i, w) in manifest.segments.windows(2).enumerate() {
        let (a, b) = (w[0].media_end_ms, w[1].media_start_ms);
        if b <= a.saturating_add(100) {
            continue;
        }
        let explained = events.iter().enumerate().any(|(k, p)| {
            p.event == "pause"
                && near(p.media_ms, a)
                && events[k + 1..]
                    .iter()
                    .find(|r| r.event == "resume")
                    .is_some_and(|r| near(r.media_ms, b))
        });
        if !explained {
            report.warn(format!(
                "segments {i} and {}: a gap from {a} ms to {b} ms that no pause explains",
                i + 1
            ));
        }
    }
}

/// One event of a list (`field` names it): someone did it (`who`: the field's name and its
/// value), and its media time does not go back from `last_ms`, which it then advances.
pub(super) fn check_who_and_when(
    report: &mut Report,
    field: &str,
    (who_field, who): (&str, &str),
    media_ms: u64,
    last_ms: &mut u64,
) {
    if who.trim().is_empty() {
        report.error(format!("{field}: no {who_field}"));
    }
    if media_ms < *last_ms {
        report.error(format!(
            "{field}: media_ms {media_ms} goes back (after {last_ms})"
        ));
    }
    *last_ms = (*last_ms).max(media_ms);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::manifest::{LifecycleEvent, RecordingState, SegmentEntry, VERSION};
    use crate::record::verify::Severity;
    use std::path::PathBuf;

    fn manifest(events: &[(&str, u64)], segments: &[(u64, u64)]) -> Manifest {
        let mut m = Manifest {
            version: VERSION,
            recording_id: "r".into(),
            hearing_id: "h".into(),
            case_number: "c".into(),
            started_at: "2026-01-01T00:00:00.000Z".into(),
            ended_at: None,
            state: RecordingState::Finalised,
            failure: None,
            segment_seconds: 10,
            key_id: None,
            segments: vec![],
            chain_head: String::new(),
            sha256sums: String::new(),
            participants: vec![],
            originals: vec![],
            exhibits: vec![],
            exhibit_events: vec![],
            events: events
                .iter()
                .map(|(e, ms)| LifecycleEvent {
                    event: (*e).into(),
                    actor: "user:li".into(),
                    at: "2026-01-01T00:00:01.000Z".into(),
                    media_ms: *ms,
                })
                .collect(),
            tsa_url: None,
            previous: None,
        };
        for (i, (start, end)) in segments.iter().enumerate() {
            m.append(SegmentEntry {
                index: 0,
                file: format!("composite-{i:05}.mp4"),
                size: 0,
                sha256: String::new(),
                prev_entry_hash: String::new(),
                entry_hash: String::new(),
                started_at: String::new(),
                ended_at: String::new(),
                media_start_ms: *start,
                media_end_ms: *end,
                complete: true,
                seated: vec![],
                tracks: vec![],
            });
        }
        m
    }

    fn findings(m: &Manifest) -> Vec<(Severity, String)> {
        let mut report = Report {
            dir: PathBuf::new(),
            findings: Vec::new(),
            segments: 0,
            state: None,
            chain_head: None,
            timestamps: 0,
        };
        check_events(m, &mut report);
        report
            .findings
            .into_iter()
            .map(|f| (f.severity, f.message))
            .collect()
    }

    #[test]
    fn lifecycle_order_and_gaps_are_checked() {
        let good = manifest(
            &[
                ("start", 0),
                ("pause", 2600),
                ("resume", 4000),
                ("stop", 6500),
            ],
            &[(0, 2000), (2000, 2600), (4000, 6000), (6000, 6500)],
        );
        assert!(findings(&good).is_empty(), "{:?}", findings(&good));
        // A resume without a pause, and time going back, are errors.
        let bad = manifest(&[("start", 0), ("resume", 4000), ("pause", 3000)], &[]);
        let f = findings(&bad);
        assert!(
            f.iter()
                .any(|(s, m)| *s == Severity::Error && m.contains("events[1] (resume)")),
            "{f:?}"
        );
        assert!(
            f.iter()
                .any(|(s, m)| *s == Severity::Error && m.contains("goes back")),
            "{f:?}"
        );
        let unknown = manifest(&[("start", 0), ("rewind", 10)], &[]);
        assert!(findings(&unknown)[0].1.contains("unknown event"));
        // A gap no pause explains is reported.
        let gap = manifest(&[("start", 0), ("stop", 9000)], &[(0, 2000), (5000, 9000)]);
        let f = findings(&gap);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].0, Severity::Warning);
        assert!(f[0].1.contains("segments 0 and 1"), "{f:?}");
    }

    #[test]
    fn the_gavel_marks_a_running_or_paused_recording_and_nothing_else() {
        let good = manifest(
            &[
                ("start", 0),
                ("court_opened", 500),
                ("screen_shown", 700),
                ("screen_hidden", 900),
                ("pause", 1000),
                ("court_closed", 1500),
                ("stop", 2000),
            ],
            &[(0, 1000)],
        );
        assert!(findings(&good).is_empty(), "{:?}", findings(&good));
        let after_stop = manifest(&[("start", 0), ("stop", 900), ("screen_hidden", 950)], &[]);
        assert!(
            findings(&after_stop)
                .iter()
                .any(|(_, m)| m
                    .contains("(screen_hidden): cannot follow the recording being stopped")),
            "{:?}",
            findings(&after_stop)
        );
        let before_start = manifest(&[("court_opened", 0), ("start", 0)], &[]);
        let f = findings(&before_start);
        assert!(
            f.iter()
                .any(|(_, m)| m.contains("events[0] (court_opened)")),
            "{f:?}"
        );
        let after_stop = manifest(&[("start", 0), ("stop", 10), ("court_closed", 20)], &[]);
        assert!(findings(&after_stop)[0].1.contains("cannot follow"));
    }

    /// Found while writing the `manifest` fuzz target (whose build has overflow checks on):
    /// times near `u64::MAX` overflowed the gap check, a panic with overflow checks and a wrong
    /// verdict without.
    #[test]
    fn times_at_the_end_of_the_range_do_not_overflow() {
        const MAX: u64 = u64::MAX;
        // No gap: the second segment starts where the first ends.
        let none = manifest(
            &[("start", 0), ("stop", MAX)],
            &[(0, MAX - 50), (MAX - 50, MAX)],
        );
        assert!(findings(&none).is_empty(), "{:?}", findings(&none));
        // A gap that a pause and resume at the very end explain.
        let paused = manifest(
            &[
                ("start", 0),
                ("pause", MAX - 2000),
                ("resume", MAX - 10),
                ("stop", MAX),
            ],
            &[(0, MAX - 2000), (MAX - 10, MAX)],
        );
        assert!(findings(&paused).is_empty(), "{:?}", findings(&paused));
        // The same gap unexplained is still reported.
        let gap = manifest(
            &[("start", 0), ("stop", MAX)],
            &[(0, MAX - 2000), (MAX - 10, MAX)],
        );
        let f = findings(&gap);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].1.contains("segments 0 and 1"), "{f:?}");
    }
}
