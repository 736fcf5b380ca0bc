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
//! Every file in the folder must be covered by a hash the signature covers ([`coverage`]): a
//! file the manifest does not list is an error (except the signature, the time-stamp files
//! and the hidden bookkeeping files).
//! Warnings (reported, not failing): a recording still marked `recording` (not sealed), and
//! the files it is still writing, tokens missing where a TSA was configured (with
//! the failure `timestamps.json` recorded), tokens whose chain was not checked against a CA,
//! and a gap between segments that no pause explains.

use std::path::{Path, PathBuf};

use super::manifest::{Manifest, RecordingState, MANIFEST_FILE, SIGNATURE_FILE, SUMS_FILE};
use super::sign::PublicKey;
use crate::digest::sha256_hex;

mod chain;
pub mod coverage;
mod events;
mod exhibits;
pub mod media;
mod tokens;

pub use super::manifest::find_recordings;

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
#[derive(Debug, Clone, Default)]
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

/// Checks one recording folder. Without a key, the signature is reported as not checked,
/// which fails.
pub fn verify_dir(dir: &Path, key: Option<&PublicKey>) -> Report {
    verify_dir_with(dir, key, &VerifyOptions::default())
}

/// [`verify_dir`] with options (the TSA's CA).
pub fn verify_dir_with(dir: &Path, key: Option<&PublicKey>, options: &VerifyOptions) -> Report {
    let key = key.ok_or_else(|| {
        "no public key given (use --public-key, --server, --trusted-keys or --data)".to_owned()
    });
    verify_dir_keyed(dir, key, options)
}

/// [`verify_dir_with`], with the key or why there is none (an unknown key: the reason, which
/// says what to pass, is the signature's error).
pub fn verify_dir_keyed(
    dir: &Path,
    key: Result<&PublicKey, String>,
    options: &VerifyOptions,
) -> Report {
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
    match (std::fs::read(dir.join(SIGNATURE_FILE)), &key) {
        (Err(e), _) => report.error(format!("{SIGNATURE_FILE}: cannot read: {e}")),
        (Ok(_), Err(why)) => report.error(format!("{SIGNATURE_FILE}: not checked: {why}")),
        (Ok(sig), Ok(key)) => {
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
    let (manifest, unknown_state) = match parse_manifest(&bytes) {
        Ok(m) => m,
        Err(e) => {
            report.error(format!("{MANIFEST_FILE}: not a valid manifest: {e}"));
            return report;
        }
    };
    report.segments = manifest.segments.len();
    report.state = Some(
        unknown_state
            .clone()
            .unwrap_or_else(|| manifest.state.to_string()),
    );
    report.chain_head = Some(manifest.chain_head.clone());
    if let (Ok(key), Some(id)) = (&key, manifest.key_id.as_deref()) {
        if id != key.key_id() {
            report.error(format!(
                "{MANIFEST_FILE}: field key_id says {id}, the given key is {}",
                key.key_id()
            ));
        }
    }
    chain::check_chain(&manifest, dir, &mut report);
    events::check_events(&manifest, &mut report);
    tokens::check_timestamps(&manifest, &bytes, dir, options, &mut report);
    chain::check_originals(&manifest, dir, &mut report);
    exhibits::check_exhibits(&manifest, dir, &mut report);
    media::check_media(&manifest, dir, &mut report);
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
    match (unknown_state, manifest.state) {
        (Some(other), _) => {
            report.error(format!("{MANIFEST_FILE}: field state has unknown value {other:?}"))
        }
        (None, RecordingState::Finalised) => {}
        (None, RecordingState::Recording) => report.warn(
            "state is `recording`: not sealed (still running, or the server has not restarted since a crash)",
        ),
        (None, state @ (RecordingState::Failed | RecordingState::Interrupted)) => {
            report.warn(format!(
                "state is `{state}`: {}",
                manifest.failure.as_deref().unwrap_or("no reason given")
            ))
        }
    }
    coverage::check_coverage(&manifest, dir, &mut report);
    report
}

/// Parses the manifest. One whose `state` is not a word the server writes is still read (as
/// if `finalised`), so that the rest of it is checked too; the word is returned beside it.
fn parse_manifest(bytes: &[u8]) -> Result<(Manifest, Option<String>), serde_json::Error> {
    let strict = serde_json::from_slice::<Manifest>(bytes);
    let Err(e) = strict else {
        return strict.map(|m| (m, None));
    };
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Err(e);
    };
    let Some(state) = value
        .get("state")
        .and_then(|s| s.as_str())
        .map(str::to_owned)
    else {
        return Err(e);
    };
    if RecordingState::parse(&state).is_some() {
        return Err(e);
    }
    value["state"] = RecordingState::Finalised.as_str().into();
    match serde_json::from_value(value) {
        Ok(m) => Ok((m, Some(state))),
        Err(_) => Err(e),
    }
}
