//! Wall-clock times as the evidence files write them.
//!
//! A base-layer module, so that the recorder, the sealing at start and the time-stamper agree
//! on one format without importing each other.

use chrono::{DateTime, SecondsFormat, Utc};

/// RFC 3339 UTC with milliseconds (`2026-01-01T09:30:00.000Z`), as the manifest writes times.
pub fn utc_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `t` plus a media offset, as [`utc_text`] writes it (an offset too large for chrono adds
/// nothing).
pub fn utc_text_after(t: DateTime<Utc>, offset: std::time::Duration) -> String {
    utc_text(t + chrono::Duration::from_std(offset).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_and_a_z() {
        let t = DateTime::parse_from_rfc3339("2026-01-01T09:30:00.1234+00:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(utc_text(t), "2026-01-01T09:30:00.123Z");
        assert_eq!(
            utc_text_after(t, std::time::Duration::from_millis(1500)),
            "2026-01-01T09:30:01.623Z"
        );
    }
}
