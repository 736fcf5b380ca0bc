//! The exhibits: each file kept beside the recording with the size and SHA-256 the manifest
//! gives it, and each time one was shown, turned or taken down naming a listed exhibit and one
//! of its pages, in time order.

use std::path::Path;

use super::chain::check_kept_file;
use super::events::check_who_and_when;
use super::Report;
use crate::record::manifest::{Manifest, MANIFEST_FILE};

/// The exhibit files and the exhibit events.
pub(super) fn check_exhibits(manifest: &Manifest, dir: &Path, report: &mut Report) {
    for e in &manifest.exhibits {
        let who = format!("exhibit {} ({:?})", e.file, e.title);
        check_kept_file(&who, &e.file, e.size, &e.sha256, dir, report);
    }
    let mut last_ms = 0u64;
    let mut on_display: Option<&str> = None;
    for (i, ev) in manifest.exhibit_events.iter().enumerate() {
        let field = format!("{MANIFEST_FILE}: field exhibit_events[{i}] ({})", ev.event);
        match manifest.exhibits.iter().find(|e| e.sha256 == ev.sha256) {
            None => report.error(format!(
                "{field}: names exhibit {}, which field exhibits does not list",
                ev.sha256
            )),
            Some(e) if ev.page == 0 || ev.page > e.pages => report.error(format!(
                "{field}: page {} of an exhibit with {} page(s)",
                ev.page, e.pages
            )),
            Some(_) => {}
        }
        match ev.event.as_str() {
            "shown" => on_display = Some(&ev.sha256),
            "turned" | "hidden" if on_display != Some(ev.sha256.as_str()) => {
                report.error(format!("{field}: the exhibit was not on the display"))
            }
            "turned" => {}
            "hidden" => on_display = None,
            _ => report.error(format!("{field}: unknown event")),
        }
        check_who_and_when(
            report,
            &field,
            ("presenter", &ev.presenter),
            ev.media_ms,
            &mut last_ms,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::sha256_hex;
    use crate::record::manifest::{ExhibitEntry, ExhibitEvent, RecordingState, VERSION};
    use crate::record::verify::Severity;

    fn manifest(dir: &Path, events: &[(&str, u32, u64)]) -> Manifest {
        std::fs::write(dir.join("exhibit-a.pdf"), b"%PDF-1.4 two pages").unwrap();
        Manifest {
            version: VERSION,
            recording_id: "r".into(),
            hearing_id: "h".into(),
            case_number: "c".into(),
            started_at: "2026-01-01T00:00:00Z".into(),
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
            events: vec![],
            exhibits: vec![ExhibitEntry {
                file: "exhibit-a.pdf".into(),
                size: 18,
                sha256: sha256_hex(b"%PDF-1.4 two pages"),
                title: "Contract".into(),
                content_type: "application/pdf".into(),
                pages: 2,
            }],
            exhibit_events: events
                .iter()
                .map(|&(event, page, media_ms)| ExhibitEvent {
                    event: event.into(),
                    sha256: sha256_hex(b"%PDF-1.4 two pages"),
                    title: "Contract".into(),
                    page,
                    presenter: "invitee:1 (plaintiff)".into(),
                    at: "2026-01-01T00:00:01Z".into(),
                    media_ms,
                })
                .collect(),
            tsa_url: None,
            previous: None,
        }
    }

    fn errors(m: &Manifest, dir: &Path) -> Vec<String> {
        let mut report = Report {
            dir: dir.to_path_buf(),
            ..Default::default()
        };
        check_exhibits(m, dir, &mut report);
        report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| f.message.clone())
            .collect()
    }

    #[test]
    fn shown_turned_hidden_in_order_with_the_file_intact_is_clean() {
        let dir = tempfile::tempdir().unwrap();
        let m = manifest(
            dir.path(),
            &[("shown", 1, 100), ("turned", 2, 900), ("hidden", 2, 1500)],
        );
        assert_eq!(errors(&m, dir.path()), Vec::<String>::new());
    }

    #[test]
    fn a_changed_file_a_missing_page_and_events_out_of_order_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let m = manifest(
            dir.path(),
            &[("shown", 3, 100), ("turned", 1, 50), ("waved", 1, 60)],
        );
        std::fs::write(dir.path().join("exhibit-a.pdf"), b"%PDF-1.4 two pageS").unwrap();
        let errs = errors(&m, dir.path()).join("\n");
        assert!(errs.contains("SHA-256 is"), "{errs}");
        assert!(errs.contains("page 3 of an exhibit with 2"), "{errs}");
        assert!(errs.contains("goes back"), "{errs}");
        assert!(errs.contains("unknown event"), "{errs}");
        let hidden_first = manifest(dir.path(), &[("hidden", 1, 0)]);
        assert!(errors(&hidden_first, dir.path())
            .join("\n")
            .contains("was not on the display"));
    }
}
