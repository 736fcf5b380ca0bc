//! A synthetic participant that stays in its hearing whatever happens to the node it is on,
//! as the page does: it follows `moved`, and when its node stops answering (the socket drops,
//! the media path fails, or the composite stops for a few seconds) it joins again through the
//! cluster's other nodes. Every media session is logged, so a benchmark can tell when the
//! participant was decoding the composite again after a failure.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::client::{Opened, Session, SessionEnd};
use super::clip::Clip;

/// One media session of a roaming participant.
#[derive(Debug, Clone)]
pub struct SessionLog {
    /// The node's public URL.
    pub node: String,
    /// When the join was sent.
    pub joined_at: Instant,
    /// When the first composite packet arrived.
    pub first_frame_at: Option<Instant>,
    /// When it ended, and why.
    pub ended: Option<(Instant, String)>,
}

/// What a roaming participant lived through.
#[derive(Debug, Default)]
pub struct RoamLog {
    /// Its sessions, in order.
    pub sessions: Vec<SessionLog>,
    /// `moved` answers followed.
    pub moves: u32,
    /// Joins that failed outright (node down, refused).
    pub failed_joins: u32,
}

impl RoamLog {
    /// The first composite packet of a session that started after `t`.
    pub fn first_frame_after(&self, t: Instant) -> Option<Instant> {
        self.sessions
            .iter()
            .filter(|s| s.joined_at >= t)
            .filter_map(|s| s.first_frame_at)
            .min()
    }
}

/// Roams until `until`: joins at `nodes[0]` (public URLs), follows the cluster, logs into `log`.
pub async fn roam(
    nodes: Vec<String>,
    token: String,
    clip: Arc<Clip>,
    until: Instant,
    udp_ip: IpAddr,
    log: Arc<Mutex<RoamLog>>,
) {
    let mut known = nodes;
    let mut at = known.first().cloned().unwrap_or_default();
    while Instant::now() < until {
        let ws = format!("{}/ws", at.replacen("http", "ws", 1));
        let joined_at = Instant::now();
        match Session::open(&ws, &token, udp_ip, joined_at).await {
            Ok(Opened::Seated(mut session)) => {
                let index = {
                    let mut l = log.lock().expect("roam log");
                    l.sessions.push(SessionLog {
                        node: at.clone(),
                        joined_at,
                        first_frame_at: None,
                        ended: None,
                    });
                    l.sessions.len() - 1
                };
                // The first frame is noted as soon as it comes, not only at the end.
                let watcher = {
                    let (log, first) = (log.clone(), session.first_frame.clone());
                    tokio::spawn(async move {
                        loop {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            if let Some(ms) = *first.lock().expect("first frame") {
                                log.lock().expect("roam log").sessions[index].first_frame_at =
                                    Some(joined_at + Duration::from_secs_f64(ms / 1000.0));
                                return;
                            }
                        }
                    })
                };
                let end = session
                    .publish(&clip, until, Some(Duration::from_secs(3)))
                    .await;
                watcher.abort();
                if let Some(ms) = *session.first_frame.lock().expect("first frame") {
                    log.lock().expect("roam log").sessions[index].first_frame_at =
                        Some(joined_at + Duration::from_secs_f64(ms / 1000.0));
                }
                let why = match &end {
                    Ok(e) => format!("{e:?}"),
                    Err(e) => e.to_string(),
                };
                log.lock().expect("roam log").sessions[index].ended = Some((Instant::now(), why));
                match end {
                    Ok(SessionEnd::Done) => {
                        session.close().await;
                        return;
                    }
                    Ok(SessionEnd::Moved {
                        url,
                        retry_after_ms,
                    }) => {
                        session.abandon().await;
                        log.lock().expect("roam log").moves += 1;
                        if let Some(u) = url {
                            at = u;
                        }
                        tokio::time::sleep(Duration::from_millis(retry_after_ms)).await;
                    }
                    Ok(SessionEnd::Lost(_)) | Err(_) => {
                        session.abandon().await;
                        at = next(&known, &at);
                        tokio::time::sleep(Duration::from_millis(300)).await;
                    }
                }
            }
            Ok(Opened::Moved {
                url,
                retry_after_ms,
                nodes,
            }) => {
                log.lock().expect("roam log").moves += 1;
                for n in nodes {
                    if !known.contains(&n) {
                        known.push(n);
                    }
                }
                if let Some(u) = url {
                    at = u;
                }
                tokio::time::sleep(Duration::from_millis(retry_after_ms.max(100))).await;
            }
            Err(e) => {
                tracing::debug!(node = %at, "join failed: {e}");
                log.lock().expect("roam log").failed_joins += 1;
                at = next(&known, &at);
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
    }
}

/// The node after `at` in `known`, round robin.
fn next(known: &[String], at: &str) -> String {
    match known.iter().position(|n| n == at) {
        Some(i) => known[(i + 1) % known.len()].clone(),
        None => known.first().cloned().unwrap_or_else(|| at.to_owned()),
    }
}
