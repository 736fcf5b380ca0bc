//! Prometheus metrics: the process-wide counters that lower layers bump as things happen
//! (refusals, recording bytes and segments), and [`Scrape`], which a `/metrics` request fills
//! with this moment's gauges (hearings, participants, ticks, spool) and renders as the text
//! exposition format.
//!
//! Counters live for the process. Gauges and per-hearing figures are read fresh on each scrape
//! from their owners, so a hearing that ended leaves no stale series behind.

use std::sync::LazyLock;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Label pairs of one series, e.g. `[("hearing", "demo-1")]`.
pub type Labels = Vec<(String, String)>;

/// The counters that last as long as the process.
struct Counters {
    refusals: Family<Labels, Counter>,
    recording_bytes: Counter,
    segments: Family<Labels, Counter>,
    admissions_refused: Family<Labels, Counter>,
}

static COUNTERS: LazyLock<Counters> = LazyLock::new(|| Counters {
    refusals: Family::default(),
    recording_bytes: Counter::default(),
    segments: Family::default(),
    admissions_refused: Family::default(),
});

/// Counts one request or signalling message refused with error `code` (the API's error codes:
/// `forbidden`, `not_found`, `at_capacity`, ...).
pub fn refused(code: &str) {
    COUNTERS
        .refusals
        .get_or_create(&vec![("code".into(), code.into())])
        .inc();
}

/// Counts one recording segment closed with `bytes` on disk; `complete` as the manifest says.
pub fn segment_closed(bytes: u64, complete: bool) {
    COUNTERS.recording_bytes.inc_by(bytes);
    COUNTERS
        .segments
        .get_or_create(&vec![("complete".into(), complete.to_string())])
        .inc();
}

/// Counts one hearing or participant turned away because the node is at capacity; `what` is
/// `hearing` or `participant`.
pub fn admission_refused(what: &str) {
    COUNTERS
        .admissions_refused
        .get_or_create(&vec![("what".into(), what.into())])
        .inc();
}

/// The metrics of one scrape: the process counters plus whatever the caller adds.
pub struct Scrape {
    registry: Registry,
}

impl Default for Scrape {
    fn default() -> Self {
        Self::new()
    }
}

impl Scrape {
    /// A scrape holding the process counters, named with the `courtroom_` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("courtroom");
        let c = &*COUNTERS;
        registry.register(
            "refusals",
            "Requests and signalling messages refused, by error code",
            c.refusals.clone(),
        );
        registry.register(
            "recording_bytes",
            "Bytes of recording segments closed by this process",
            c.recording_bytes.clone(),
        );
        registry.register(
            "recording_segments",
            "Recording segments closed by this process, by whether the manifest lists them complete",
            c.segments.clone(),
        );
        registry.register(
            "admissions_refused",
            "Hearings and participants turned away at capacity",
            c.admissions_refused.clone(),
        );
        Self { registry }
    }

    /// Adds a gauge family with one value per label set.
    pub fn gauge(&mut self, name: &str, help: &str, values: Vec<(Labels, i64)>) {
        let family = Family::<Labels, Gauge>::default();
        for (labels, v) in values {
            family.get_or_create(&labels).set(v);
        }
        self.registry.register(name, help, family);
    }

    /// Adds a counter family whose totals another owner keeps (a hearing's tick count).
    pub fn counter(&mut self, name: &str, help: &str, values: Vec<(Labels, u64)>) {
        let family = Family::<Labels, Counter>::default();
        for (labels, v) in values {
            family.get_or_create(&labels).inc_by(v);
        }
        self.registry.register(name, help, family);
    }

    /// The text exposition format (`text/plain; version=0.0.4` compatible OpenMetrics).
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// One label pair.
pub fn label(name: &str, value: impl Into<String>) -> (String, String) {
    (name.into(), value.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_gauges_render_with_labels() {
        refused("test_only_code");
        segment_closed(1234, true);
        let mut scrape = Scrape::new();
        scrape.gauge(
            "participants",
            "Seated participants",
            vec![(vec![label("hearing", "h1")], 3)],
        );
        scrape.counter("ticks", "Ticks", vec![(vec![label("hearing", "h1")], 250)]);
        let text = scrape.render();
        assert!(
            text.contains("courtroom_refusals_total{code=\"test_only_code\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("courtroom_participants{hearing=\"h1\"} 3"),
            "{text}"
        );
        assert!(
            text.contains("courtroom_ticks_total{hearing=\"h1\"} 250"),
            "{text}"
        );
        assert!(text.contains("courtroom_recording_segments_total{complete=\"true\"}"));
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
