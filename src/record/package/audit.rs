//! The hearing's audit-trail excerpt in an evidence package: the trail's entries for one
//! hearing, one JSON object a line (`seq`, `at`, `actor`, `action`, `hearing_id`, `detail`,
//! `prev_hash`, `hash`), oldest first.
//!
//! The trail is one chain over every hearing, so an excerpt has gaps; what it proves is
//! checked here: every entry's `hash` is the hash of its own fields after its `prev_hash`
//! ([`AuditEntry::fields_hash`]), and an entry that directly follows another in the
//! excerpt (`seq` one more) names that entry's hash as its `prev_hash`.

use crate::store::audit::AuditEntry;

/// The excerpt's text: `entries` (any order) sorted by `seq`, one JSON line each.
pub fn excerpt(entries: &[AuditEntry]) -> String {
    let mut sorted: Vec<&AuditEntry> = entries.iter().collect();
    sorted.sort_by_key(|e| e.seq);
    let mut out = String::new();
    for e in sorted {
        out.push_str(&serde_json::to_string(e).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// What [`check_excerpt`] found in a good excerpt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// Entries.
    pub entries: usize,
    /// The first and last sequence numbers, if any.
    pub seqs: Option<(i64, i64)>,
    /// Links checked between consecutive entries.
    pub links: usize,
}

/// Checks an excerpt's text (module docs); the error names the line.
pub fn check_excerpt(text: &str) -> Result<Checked, String> {
    let mut prev: Option<AuditEntry> = None;
    let mut checked = Checked {
        entries: 0,
        seqs: None,
        links: 0,
    };
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let e: AuditEntry = serde_json::from_str(line)
            .map_err(|err| format!("line {}: not an audit entry: {err}", n + 1))?;
        if e.fields_hash() != e.hash {
            return Err(format!(
                "line {} (entry {}): its hash does not match its content: it was altered",
                n + 1,
                e.seq
            ));
        }
        if let Some(p) = &prev {
            if e.seq <= p.seq {
                return Err(format!(
                    "line {} (entry {}): out of order after entry {}",
                    n + 1,
                    e.seq,
                    p.seq
                ));
            }
            if e.seq == p.seq + 1 {
                if e.prev_hash != p.hash {
                    return Err(format!(
                        "line {} (entry {}): does not chain from entry {}",
                        n + 1,
                        e.seq,
                        p.seq
                    ));
                }
                checked.links += 1;
            }
        }
        checked.entries += 1;
        checked.seqs = Some((checked.seqs.map_or(e.seq, |s| s.0), e.seq));
        prev = Some(e);
    }
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::audit::{entry_hash, GENESIS_HASH};

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut out: Vec<AuditEntry> = Vec::new();
        for seq in 1..=n {
            let prev = out
                .last()
                .map_or(GENESIS_HASH.to_owned(), |e| e.hash.clone());
            let hearing = if seq == 3 { "other" } else { "h" };
            let hash = entry_hash(&prev, seq, "t", "user:li", "join", Some(hearing), "{}");
            out.push(AuditEntry {
                seq,
                at: "t".into(),
                actor: "user:li".into(),
                action: "join".into(),
                hearing_id: Some(hearing.into()),
                detail: "{}".into(),
                prev_hash: prev,
                hash,
            });
        }
        out
    }

    #[test]
    fn an_excerpt_with_gaps_checks_and_an_altered_line_does_not() {
        let all = chain(5);
        let mine: Vec<AuditEntry> = all
            .iter()
            .filter(|e| e.hearing_id.as_deref() == Some("h"))
            .cloned()
            .rev()
            .collect();
        let text = excerpt(&mine);
        assert_eq!(
            check_excerpt(&text),
            Ok(Checked {
                entries: 4,
                seqs: Some((1, 5)),
                links: 2
            })
        );
        let altered = text.replace("user:li", "user:wang");
        assert!(check_excerpt(&altered).unwrap_err().contains("altered"));
        let mut swapped = chain(2);
        swapped[1].prev_hash = "0".repeat(64);
        let s = &swapped[1];
        swapped[1].hash = entry_hash(&s.prev_hash, 2, "t", "user:li", "join", Some("h"), "{}");
        let err = check_excerpt(&excerpt(&swapped)).unwrap_err();
        assert!(err.contains("does not chain"), "{err}");
    }
}
