//! `GET /metrics`: this node in Prometheus's text format. The process counters come from
//! [`crate::metrics`]; the gauges are read at the moment of the scrape from their owners (the
//! docket's hearings, the spool, the admission limits), so an ended hearing leaves no series.
//!
//! Open to the node's own loopback address, and to anyone with `Authorization: Bearer` and
//! the configured `http.metrics_token`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::AppState;
use crate::metrics::{label, Labels, Scrape};

/// `GET /metrics`.
pub async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
    req: axum::extract::Request,
) -> Result<Response, ApiError> {
    let loopback = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(a)| a.ip().is_loopback());
    if !loopback && !bearer_matches(&headers, &state.settings().http.metrics_token) {
        return Err(ApiError::Forbidden);
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        scrape(&state).render(),
    )
        .into_response())
}

/// Whether the request carries `Bearer TOKEN` for a configured, non-empty token.
fn bearer_matches(headers: &HeaderMap, token: &str) -> bool {
    if token.is_empty() {
        return false;
    }
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| constant_time_eq(given.trim().as_bytes(), token.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// This moment's figures of the node.
pub fn scrape(state: &AppState) -> Scrape {
    let mut s = Scrape::new();
    let hearings = state.docket().hearings();
    let one = |id: &str| -> Labels { vec![label("hearing", id)] };
    let per = |f: &dyn Fn(&crate::hearing::Hearing) -> i64| -> Vec<(Labels, i64)> {
        hearings.iter().map(|h| (one(&h.record.id), f(h))).collect()
    };
    s.gauge(
        "hearings",
        "Hearings running on this node",
        vec![(vec![], hearings.len() as i64)],
    );
    s.gauge(
        "participants",
        "People connected to each hearing (seated, watching or publishing)",
        per(&|h| h.roster().len() as i64),
    );
    s.gauge(
        "participants_away",
        "Seated people whose camera has gone silent",
        per(&|h| h.roster().iter().filter(|p| p.away).count() as i64),
    );
    s.gauge(
        "frame_pace_keep",
        "Ticks of every five whose picture each hearing on this node renders (5: all; fewer when the node is behind)",
        vec![(vec![], i64::from(state.frame_pace().keep()))],
    );
    s.counter(
        "ticks_shed",
        "Compositor ticks whose picture was shed for the node's frame pace (audio still mixed)",
        hearings
            .iter()
            .map(|h| (one(&h.record.id), h.tick_stats().shed_ticks()))
            .collect(),
    );
    s.counter(
        "ticks_still",
        "Compositor ticks whose picture had not changed and was not encoded (a still picture is encoded twice a second)",
        hearings
            .iter()
            .map(|h| (one(&h.record.id), h.tick_stats().still_ticks()))
            .collect(),
    );
    s.counter(
        "ticks",
        "Compositor ticks per hearing (audio mixed; picture rendered unless shed)",
        hearings
            .iter()
            .map(|h| (one(&h.record.id), h.tick_stats().ticks()))
            .collect(),
    );
    s.counter(
        "ticks_late",
        "Compositor ticks that finished after their deadline (their late share is the frame rate lost)",
        hearings
            .iter()
            .map(|h| (one(&h.record.id), h.tick_stats().late_ticks()))
            .collect(),
    );
    s.gauge(
        "latency_p95_ms",
        "Camera frame arrival to encoded composite, 95th percentile, milliseconds",
        hearings
            .iter()
            .filter_map(|h| {
                let p = h.tick_stats().latency()?;
                Some((one(&h.record.id), p.p95.round() as i64))
            })
            .collect(),
    );
    s.gauge(
        "encoder_queue",
        "Composite frames waiting at the H.264 encoder's input",
        per(&|h| h.encoder_queue() as i64),
    );
    s.counter(
        "media_restarts",
        "Media pipelines rebuilt after a failure, per hearing",
        hearings
            .iter()
            .map(|h| (one(&h.record.id), h.media_log().restarts))
            .collect(),
    );
    s.gauge(
        "recording",
        "Whether each hearing records (1), paused (2) or not (0)",
        per(&|h| match (h.is_recording(), h.recording_paused()) {
            (false, _) => 0,
            (true, false) => 1,
            (true, true) => 2,
        }),
    );
    let mut lost = Vec::new();
    for h in &hearings {
        for (participant, stats) in h.client_stats() {
            if let Some(n) = stats.get("packets_lost").and_then(|v| v.as_i64()) {
                lost.push((
                    vec![
                        label("hearing", h.record.id.as_str()),
                        label("participant", participant.to_string()),
                    ],
                    n,
                ));
            }
        }
    }
    s.gauge(
        "composite_packets_lost",
        "Composite packets each participant's browser reports lost (cumulative, from its stats)",
        lost,
    );
    let capacity = &state.settings().capacity;
    s.gauge(
        "capacity_hearings",
        "Hearings this node takes at most",
        vec![(vec![], capacity.hearings() as i64)],
    );
    s.gauge(
        "capacity_participants",
        "People this node serves at most",
        vec![(vec![], capacity.participants() as i64)],
    );
    let ready = state.cluster().ready().is_ok() && !*state.stopping().borrow();
    s.gauge(
        "ready",
        "Whether the node takes new hearings (0 while draining or stopping)",
        vec![(vec![], ready as i64)],
    );
    if let Some(spool) = state.cluster().spool_status() {
        s.gauge(
            "spool_pending_files",
            "Sealed recording files waiting for the bucket",
            vec![(vec![], spool.pending_files as i64)],
        );
        s.gauge(
            "spool_pending_bytes",
            "Bytes of sealed recording files waiting for the bucket",
            vec![(vec![], spool.pending_bytes as i64)],
        );
        s.counter(
            "spool_uploaded_bytes",
            "Bytes uploaded to the bucket since start",
            vec![(vec![], spool.uploaded_bytes)],
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_token_must_match_exactly_and_be_set() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, "Bearer s3cret".parse().unwrap());
        assert!(bearer_matches(&h, "s3cret"));
        assert!(!bearer_matches(&h, "s3cre"));
        assert!(!bearer_matches(&h, ""));
        assert!(!bearer_matches(&HeaderMap::new(), "s3cret"));
    }
}
