//! `courtroom verify`: checks a recording folder against its manifest, the hash chain and the
//! signature, and says exactly what is wrong.
//!
//! Errors (any one fails the check): a missing or unreadable manifest or signature, a signature
//! that does not verify under the given key, a segment whose file is missing or whose size or
//! SHA-256 differs, an entry whose index, `prev_entry_hash` or `entry_hash` is wrong, times
//! that go backwards, a `chain_head` or `SHA256SUMS` that does not match.
//! Time-stamp tokens (`chain-NNNNN.tsr`, `manifest.json.tsr`): each must be a granted RFC 3161
//! token (`TimeStampToken`) whose message imprint is the SHA-256 it stands for (the segment's `entry_hash`, the
//! SHA-256 of `manifest.json`) and whose CMS signature `openssl` accepts (against the TSA's CA
//! with `--tsa-ca-file`); a token that fails is named. The lifecycle `events` must run
//! `start`, `pause`/`resume`..., `stop`, in time order.
//! Warnings (reported, not failing): a recording still marked `recording` (not sealed),
//! segment files the manifest does not list, tokens missing where a TSA was configured (with
//! the failure `timestamps.json` recorded), tokens whose chain was not checked against a CA,
//! and a gap between segments that no pause explains.

use std::path::{Path, PathBuf};

use super::manifest::{
    sha256_file, sha256_hex, Manifest, MANIFEST_FILE, SIGNATURE_FILE, SUMS_FILE,
};
use super::segment;
use super::sign::PublicKey;
use super::timestamp;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The recording does not verify.
    Error,
    /// Worth knowing; the recording still verifies.
    Warning,
}

/// One thing found wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// How bad.
    pub severity: Severity,
    /// What, naming the segment and field.
    pub message: String,
}

/// The result of checking one recording folder.
#[derive(Debug, Clone)]
pub struct Report {
    /// The folder.
    pub dir: PathBuf,
    /// Everything found wrong.
    pub findings: Vec<Finding>,
    /// Segments listed in the manifest.
    pub segments: usize,
    /// The manifest's state, if it could be read.
    pub state: Option<String>,
    /// The manifest's chain head, if it could be read.
    pub chain_head: Option<String>,
    /// Time-stamp tokens that verified.
    pub timestamps: usize,
}

/// What besides the recording `verify` needs.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// The TSA's CA certificate (PEM): time-stamp tokens are checked against it with
    /// `openssl ts -verify`. Without it only their signatures are checked.
    pub tsa_ca_file: Option<PathBuf>,
}

impl Report {
    /// Whether nothing failed.
    pub fn ok(&self) -> bool {
        !self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    fn error(&mut self, message: impl Into<String>) {
        self.findings.push(Finding {
            severity: Severity::Error,
            message: message.into(),
        });
    }

    fn warn(&mut self, message: impl Into<String>) {
        self.findings.push(Finding {
            severity: Severity::Warning,
            message: message.into(),
        });
    }

    /// Human-readable lines: `OK ...` or `FAIL ...`, then one line per finding.
    pub fn render(&self) -> String {
        let mut out = if self.ok() {
            format!(
                "OK {}: {} segments, state {}, chain head {}{}\n",
                self.dir.display(),
                self.segments,
                self.state.as_deref().unwrap_or("?"),
                self.chain_head.as_deref().unwrap_or("?"),
                if self.timestamps > 0 {
                    format!(", {} time-stamp tokens", self.timestamps)
                } else {
                    String::new()
                }
            )
        } else {
            format!("FAIL {}\n", self.dir.display())
        };
        for f in &self.findings {
            let tag = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            out.push_str(&format!("  {tag}: {}\n", f.message));
        }
        out
    }
}

/// Every recording folder (one holding `manifest.json`) at or under `dir`, sorted.
pub fn find_recordings(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        if d.join(MANIFEST_FILE).is_file() {
            found.push(d);
            continue;
        }
        if let Ok(entries) = std::fs::read_dir(&d) {
            for e in entries.flatten() {
                if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    stack.push(e.path());
                }
            }
        }
    }
    found.sort();
    found
}

/// Checks one recording folder. Without a key, the signature is reported as not checked,
/// which fails.
pub fn verify_dir(dir: &Path, key: Option<&PublicKey>) -> Report {
    verify_dir_with(dir, key, &VerifyOptions::default())
}

/// [`verify_dir`] with options (the TSA's CA).
pub fn verify_dir_with(dir: &Path, key: Option<&PublicKey>, options: &VerifyOptions) -> Report {
    let mut report = Report {
        dir: dir.to_owned(),
        findings: Vec::new(),
        segments: 0,
        state: None,
        chain_head: None,
        timestamps: 0,
    };
    let bytes = match std::fs::read(dir.join(MANIFEST_FILE)) {
        Ok(b) => b,
        Err(e) => {
            report.error(format!("{MANIFEST_FILE}: cannot read: {e}"));
            return report;
        }
    };
    match (std::fs::read(dir.join(SIGNATURE_FILE)), key) {
        (Err(e), _) => report.error(format!("{SIGNATURE_FILE}: cannot read: {e}")),
        (Ok(_), None) => report.error(format!(
            "{SIGNATURE_FILE}: not checked: no public key given (use --public-key or --server)"
        )),
        (Ok(sig), Some(key)) => {
            if sig.len() != 64 {
                report.error(format!(
                    "{SIGNATURE_FILE}: {} bytes, an Ed25519 signature has 64",
                    sig.len()
                ));
            } else if !key.verify(&bytes, &sig) {
                report.error(format!(
                    "{SIGNATURE_FILE}: the signature does not match {MANIFEST_FILE} under key {}",
                    key.key_id()
                ));
            }
        }
    }
    let manifest: Manifest = match serde_json::from_slice(&bytes) {
        Ok(m) => m,
        Err(e) => {
            report.error(format!("{MANIFEST_FILE}: not a valid manifest: {e}"));
            return report;
        }
    };
    report.segments = manifest.segments.len();
    report.state = Some(manifest.state.clone());
    report.chain_head = Some(manifest.chain_head.clone());
    if let (Some(key), Some(id)) = (key, manifest.key_id.as_deref()) {
        if id != key.key_id() {
            report.error(format!(
                "{MANIFEST_FILE}: field key_id says {id}, the given key is {}",
                key.key_id()
            ));
        }
    }
    check_chain(&manifest, dir, &mut report);
    check_events(&manifest, &mut report);
    check_timestamps(&manifest, &bytes, dir, options, &mut report);
    for o in &manifest.originals {
        let who = format!("original {}", o.file);
        if o.file.contains('/') || o.file.contains('\\') || o.file.starts_with('.') {
            report.error(format!("{who}: field file is not a plain file name"));
            continue;
        }
        match sha256_file(&dir.join(&o.file)) {
            Ok((size, hash)) => {
                if size != o.size {
                    report.error(format!(
                        "{who}: size is {size} bytes, field size says {}",
                        o.size
                    ));
                }
                if hash != o.sha256 {
                    report.error(format!(
                        "{who}: SHA-256 is {hash}, field sha256 says {}",
                        o.sha256
                    ));
                }
            }
            Err(err) => report.error(format!("{who}: cannot read the file: {err}")),
        }
    }
    let sums = manifest.sums_text();
    match std::fs::read(dir.join(SUMS_FILE)) {
        Ok(on_disk) => {
            if sha256_hex(&on_disk) != manifest.sha256sums {
                report.error(format!(
                    "{SUMS_FILE}: its SHA-256 differs from the manifest's field sha256sums"
                ));
            } else if on_disk != sums.as_bytes() {
                report.error(format!(
                    "{SUMS_FILE}: does not list the manifest's segments"
                ));
            }
        }
        Err(e) => report.error(format!("{SUMS_FILE}: cannot read: {e}")),
    }
    match manifest.state.as_str() {
        "finalised" => {}
        "recording" => report.warn(
            "state is `recording`: not sealed (still running, or the server has not restarted since a crash)",
        ),
        "failed" | "interrupted" => report.warn(format!(
            "state is `{}`: {}",
            manifest.state,
            manifest.failure.as_deref().unwrap_or("no reason given")
        )),
        other => report.error(format!("{MANIFEST_FILE}: field state has unknown value {other:?}")),
    }
    // Segment files the manifest does not list.
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut extra: Vec<String> = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| segment::parse_file_name(n).is_some() || n.starts_with("original-"))
            .filter(|n| !manifest.segments.iter().any(|s| &s.file == n))
            .filter(|n| !manifest.originals.iter().any(|o| &o.file == n))
            .collect();
        extra.sort();
        for n in extra {
            report.warn(format!(
                "{n}: not listed in the manifest (not covered by any hash)"
            ));
        }
    }
    report
}

fn check_chain(manifest: &Manifest, dir: &Path, report: &mut Report) {
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

/// The lifecycle events: known kinds in a possible order, times that never go back, and every
/// gap between segments explained by a pause.
fn check_events(manifest: &Manifest, report: &mut Report) {
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
            (_, "start" | "pause" | "resume" | "stop") => {
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
        if e.actor.trim().is_empty() {
            report.error(format!("{field}: no actor"));
        }
        if e.media_ms < last_ms {
            report.error(format!(
                "{field}: media_ms {} goes back (after {last_ms})",
                e.media_ms
            ));
        }
        last_ms = last_ms.max(e.media_ms);
    }
    const SLACK_MS: u64 = 1000;
    for (i, w) in manifest.segments.windows(2).enumerate() {
        let (a, b) = (w[0].media_end_ms, w[1].media_start_ms);
        if b <= a + 100 {
            continue;
        }
        let explained = events.iter().enumerate().any(|(k, p)| {
            p.event == "pause"
                && p.media_ms + SLACK_MS >= a
                && p.media_ms <= a + SLACK_MS
                && events[k + 1..]
                    .iter()
                    .find(|r| r.event == "resume")
                    .is_some_and(|r| r.media_ms <= b + SLACK_MS && r.media_ms + SLACK_MS >= b)
        });
        if !explained {
            report.warn(format!(
                "segments {i} and {}: a gap from {a} ms to {b} ms that no pause explains",
                i + 1
            ));
        }
    }
}

/// Every time-stamp token in the folder, and those a configured TSA should have given.
fn check_timestamps(
    manifest: &Manifest,
    manifest_bytes: &[u8],
    dir: &Path,
    options: &VerifyOptions,
    report: &mut Report,
) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| n.ends_with(".tsr") && !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut unchained = 0;
    for name in &names {
        let who = format!("time-stamp token {name}");
        let (target, expected) = if name == timestamp::MANIFEST_TOKEN_FILE {
            (MANIFEST_FILE.to_owned(), sha256_hex(manifest_bytes))
        } else if let Some(i) = timestamp::parse_chain_token_file(name) {
            match manifest.segments.get(i as usize) {
                Some(e) => (format!("segment {i}'s entry_hash"), e.entry_hash.clone()),
                None => {
                    report.error(format!(
                        "{who}: stamps segment {i}, which the manifest does not list"
                    ));
                    continue;
                }
            }
        } else {
            report.warn(format!(
                "{who}: not a token name the server writes; not checked"
            ));
            continue;
        };
        let path = dir.join(name);
        let reply = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                report.error(format!("{who}: cannot read: {e}"));
                continue;
            }
        };
        let info = match timestamp::token_info(&reply) {
            Ok(info) => info,
            Err(e) => {
                report.error(format!("{who}: {e}"));
                continue;
            }
        };
        if !info.sha256 {
            report.error(format!("{who}: its message imprint is not a SHA-256"));
            continue;
        }
        let imprint = super::manifest::hex(&info.imprint);
        if imprint != expected {
            report.error(format!(
                "{who}: its message imprint {imprint} does not match {target} ({expected})"
            ));
            continue;
        }
        if let Err(e) = timestamp::openssl_check(&path, &expected, options.tsa_ca_file.as_deref()) {
            report.error(format!("{who}: the TSA's signature does not verify: {e}"));
            continue;
        }
        if options.tsa_ca_file.is_none() {
            unchained += 1;
        }
        report.timestamps += 1;
    }
    if unchained > 0 {
        report.warn(format!(
            "{unchained} time-stamp tokens: signatures checked, but not the TSA's certificate (give --tsa-ca-file)"
        ));
    }
    if manifest.tsa_url.is_none() {
        return;
    }
    let index = timestamp::read_index(dir);
    let missing = |token: &str, what: String, report: &mut Report| {
        if names.iter().any(|n| n == token) {
            return;
        }
        let why = index
            .iter()
            .rev()
            .find(|e| e.token == token && e.outcome != "ok")
            .map(|e| {
                format!(
                    ": the request of {} failed: {}",
                    e.requested_at,
                    e.error.as_deref().unwrap_or("no reason given")
                )
            })
            .unwrap_or_default();
        report.warn(format!("{what}: no time-stamp token {token}{why}"));
    };
    for e in &manifest.segments {
        let token = timestamp::chain_token_file(e.index);
        missing(&token, format!("segment {} ({})", e.index, e.file), report);
    }
    if manifest.state != "recording" {
        missing(
            timestamp::MANIFEST_TOKEN_FILE,
            MANIFEST_FILE.to_owned(),
            report,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::manifest::{LifecycleEvent, SegmentEntry, VERSION};

    fn manifest(events: &[(&str, u64)], segments: &[(u64, u64)]) -> Manifest {
        let mut m = Manifest {
            version: VERSION,
            recording_id: "r".into(),
            hearing_id: "h".into(),
            case_number: "c".into(),
            started_at: "2026-01-01T00:00:00.000Z".into(),
            ended_at: None,
            state: "finalised".into(),
            failure: None,
            segment_seconds: 10,
            key_id: None,
            segments: vec![],
            chain_head: String::new(),
            sha256sums: String::new(),
            participants: vec![],
            originals: vec![],
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
}
