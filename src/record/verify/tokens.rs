//! The time-stamp tokens in the folder, and those a configured TSA should have given.

use std::path::Path;

use super::{Report, VerifyOptions};
use crate::digest::{hex, sha256_hex};
use crate::record::manifest::{Manifest, RecordingState, MANIFEST_FILE};
use crate::record::timestamp;

/// Every time-stamp token in the folder, and those a configured TSA should have given.
pub(super) fn check_timestamps(
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
        let imprint = hex(&info.imprint);
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
    if manifest.state != RecordingState::Recording {
        missing(
            timestamp::MANIFEST_TOKEN_FILE,
            MANIFEST_FILE.to_owned(),
            report,
        );
    }
}
