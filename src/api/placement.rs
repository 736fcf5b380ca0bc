//! Where a hearing runs: starting it on this node under a lease, sending joins to the node
//! that owns it, stopping it here when the lease ends, and continuing the record of a hearing
//! that another node lost: its recording (chained to the last) and its public broadcast (on
//! air again if the audit trail says the clerk had it on air, cut if the judge had cut it).
//!
//! The rules live in [`crate::cluster`] (the lease, the placement); this is the shell that
//! applies them to live hearings and their recordings.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::error::ApiError;
use super::AppState;
use crate::cluster::{FenceReason, Whereabouts};
use crate::hearing::{EventChannel, Hearing, HearingError, HearingEvent};
use crate::record::handover;
use crate::record::RecordingState;

/// How long the end of a hearing waits for its recording to reach the bucket before the
/// lease is given back (what is left goes later, from the spool).
const FINAL_UPLOAD: Duration = Duration::from_secs(20);

impl AppState {
    /// Starts hearing `id` on this node if the cluster places it here, holding its lease.
    pub(super) async fn start_here(
        &self,
        id: &str,
        events: EventChannel,
    ) -> Result<Arc<Hearing>, ApiError> {
        let record = self.store().hearing(id).await?.ok_or(ApiError::NotFound)?;
        self.room_for_hearing()?;
        let sent_at = Instant::now();
        let epoch = match self.cluster().place(id).await {
            Ok(Whereabouts::Here { epoch }) => epoch,
            Ok(Whereabouts::Elsewhere { url, .. }) => return Err(ApiError::Moved { url }),
            Ok(Whereabouts::Moving { retry_after_ms }) => {
                return Err(ApiError::Moving { retry_after_ms })
            }
            Ok(Whereabouts::Full) => {
                return Err(ApiError::unavailable(
                    "no_capacity",
                    "Every courtroom server is busy with other hearings. This page tries again by itself; the clerk can also ask the court's operators for room.",
                ))
            }
            Ok(Whereabouts::Unknown) => return Err(ApiError::NotFound),
            Err(e) => {
                tracing::warn!(hearing = %id, "placement failed: {e}");
                return Err(ApiError::database_unavailable());
            }
        };
        let (settings, node) = (self.settings().clone(), self.inner.node.clone());
        let env = self.inner.recording_env.clone();
        let hearing = tokio::task::spawn_blocking(move || {
            Hearing::start_in(record, settings, node, events, env)
        })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e: HearingError| ApiError::Internal(e.to_string()))?;
        let state = self.clone();
        let fenced_id = id.to_owned();
        self.cluster().hold(id, epoch, sent_at, move |reason| {
            state.fenced(&fenced_id, reason)
        });
        tracing::info!(hearing = %id, epoch, node = %self.cluster().id(), "hearing placed here");
        if self.cluster().is_clustered() {
            self.continue_record(&hearing).await;
            self.continue_broadcast(&hearing).await;
        }
        Ok(hearing)
    }

    /// The lease on hearing `id` ended (another node holds it, or the database could not be
    /// reached in time): stop it here at once, writing nothing more to shared storage, and
    /// send its participants on.
    fn fenced(&self, id: &str, reason: FenceReason) {
        let cluster = self.cluster();
        cluster.mark_fenced(id);
        cluster.forget(id);
        let Some(hearing) = self.docket().remove(id) else {
            return;
        };
        tracing::warn!(hearing = %id, reason = reason.as_str(), "stopping the hearing here: its lease ended");
        self.docket()
            .publish(id, HearingEvent::Relocate { url: None });
        let id = id.to_owned();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = hearing.shutdown() {
                tracing::warn!(hearing = %id, "fenced hearing stopped with: {e}");
            }
        });
    }

    /// After a hearing ended here (closed, or the node stops): its recording goes to the
    /// bucket (within a bound), then the lease is given back.
    pub(super) async fn ended_here(&self, id: &str) {
        let cluster = self.cluster().clone();
        if let Some(spool) = cluster.spool() {
            let dir = self.settings().recordings_dir().join(id);
            if let Ok(entries) = std::fs::read_dir(&dir) {
                for e in entries.flatten().filter(|e| e.path().is_dir()) {
                    if let Err(err) = spool.flush(&e.path(), FINAL_UPLOAD).await {
                        tracing::warn!(hearing = %id, dir = %e.path().display(), "recording not all uploaded yet (the spool keeps it): {err}");
                    }
                }
            }
        }
        cluster.release(id);
    }

    /// A public hearing just placed here whose broadcast another node had on air (the last
    /// start in its audit trail not followed by a stop): on air again here, cut if the judge's
    /// last word was a cut, the slate up while the hearing is paused.
    async fn continue_broadcast(&self, hearing: &Arc<Hearing>) {
        let id = hearing.record.id.clone();
        let (summary, trail) = match (
            self.store().hearing_summary(&id).await,
            self.store().audit_entries(Some(&id), None, 1000).await,
        ) {
            (Ok(Some(s)), Ok(t)) => (s, t),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(hearing = %id, "cannot read whether the broadcast was on air: {e}");
                return;
            }
            (Ok(None), _) => return,
        };
        if !summary.public || summary.state == crate::store::HearingState::Closed {
            return;
        }
        let acts: Vec<String> = trail
            .iter()
            .filter(|e| e.action == crate::store::audit::actions::BROADCAST)
            .filter_map(|e| {
                serde_json::from_str::<serde_json::Value>(&e.detail)
                    .ok()
                    .and_then(|d| d["act"].as_str().map(str::to_owned))
            })
            .collect();
        let Some(cut) = broadcast_left_on_air(acts.iter().map(String::as_str)) else {
            return;
        };
        let paused = summary.state != crate::store::HearingState::Open;
        let live = hearing.clone();
        let started = tokio::task::spawn_blocking(move || {
            let broadcast = live.broadcast();
            broadcast.set_cut(cut);
            broadcast.set_paused(paused);
            broadcast.start(true)
        })
        .await;
        match started {
            Ok(Ok(_)) => tracing::info!(hearing = %id, cut, paused, "broadcast continues here"),
            Ok(Err(e)) => tracing::error!(hearing = %id, "cannot continue the broadcast: {e}"),
            Err(e) => tracing::error!(hearing = %id, "continuing the broadcast panicked: {e}"),
        }
    }

    /// A hearing just placed here whose last recording was cut off on another node (it died:
    /// the recording is still `recording`) or handed over (it drained): seal the old one from
    /// the bucket as `interrupted` when needed, and start a new recording that continues its
    /// chain.
    async fn continue_record(&self, hearing: &Arc<Hearing>) {
        let id = hearing.record.id.clone();
        let last = match self.store().recordings_for(&id).await {
            Ok(recs) => recs.into_iter().last(),
            Err(e) => {
                tracing::warn!(hearing = %id, "cannot read the hearing's recordings: {e}");
                return;
            }
        };
        let Some(last) = last else { return };
        let cut_off = last.state == RecordingState::Recording.as_str();
        let handed_over = last.state == handover::HANDED_OVER;
        if !cut_off && !handed_over {
            return;
        }
        let previous = match (self.cluster().bucket(), &self.inner.recording_env.key) {
            (Some(bucket), Some(key)) => {
                match handover::seal_in_bucket(bucket, &id, &last.id, key).await {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::error!(hearing = %id, recording = %last.id, "cannot seal the previous recording in the bucket: {e}");
                        None
                    }
                }
            }
            _ => None,
        };
        let state_now = previous
            .as_ref()
            .map(|p| p.state)
            .unwrap_or(RecordingState::Interrupted);
        if let Err(e) = self
            .store()
            .recording_ended(&last.id, state_now.as_str())
            .await
        {
            tracing::warn!(recording = %last.id, "cannot note the previous recording's end: {e}");
        }
        let live = hearing.clone();
        let started = tokio::task::spawn_blocking(move || match previous {
            Some(p) => live.continue_recording(handover::TAKEOVER_ACTOR, p),
            None => live.start_recording_by(handover::TAKEOVER_ACTOR),
        })
        .await;
        match started {
            Ok(Ok(rec)) => {
                let dir = hearing.recording_dir().unwrap_or_default();
                if let Err(e) = self
                    .store()
                    .recording_started(&rec, &id, &dir.to_string_lossy())
                    .await
                {
                    tracing::warn!(recording = %rec, "cannot note the continued recording: {e}");
                }
                tracing::info!(hearing = %id, recording = %rec, previous = %last.id, "recording continues here");
            }
            Ok(Err(e)) => tracing::error!(hearing = %id, "cannot continue the recording: {e}"),
            Err(e) => tracing::error!(hearing = %id, "continuing the recording panicked: {e}"),
        }
    }
}

impl AppState {
    /// Tells the other nodes that hearing `id` is now in state `to` (a cluster only).
    pub(super) async fn tell_other_nodes(&self, id: &str, to: crate::store::HearingState) {
        if !self.cluster().is_clustered() {
            return;
        }
        if let Err(e) = self.store().notify_hearing_state(id, to.as_str()).await {
            tracing::warn!(hearing = %id, "cannot tell the other nodes of the new state: {e}");
        }
    }

    /// Listens for hearing-state changes made on other nodes (`LISTEN`), and acts on them here
    /// as on a local change: waiting pages hear the opening, and a hearing closed elsewhere
    /// ends here if it runs here. Reconnects by itself after the database comes back.
    pub fn listen_to_other_nodes(&self) {
        if !self.cluster().is_clustered() {
            return;
        }
        let state = self.clone();
        let url = self.settings().database_url();
        tokio::spawn(async move {
            loop {
                match listen_once(&state, &url).await {
                    Ok(()) => {}
                    Err(e) => {
                        tracing::warn!("hearing-state listener: {e}; listening again shortly")
                    }
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }
}

async fn listen_once(state: &AppState, url: &str) -> Result<(), sqlx::Error> {
    let mut listener = sqlx::postgres::PgListener::connect(url).await?;
    listener
        .listen(crate::store::placement::STATE_CHANNEL)
        .await?;
    loop {
        let note = listener.recv().await?;
        let Some((id, text)) = note.payload().split_once('|') else {
            continue;
        };
        let Ok(now) = text.parse::<crate::store::HearingState>() else {
            continue;
        };
        state.docket().publish(id, HearingEvent::State(now));
        if now == crate::store::HearingState::Closed && state.docket().running(id).is_some() {
            if let Err(e) = state.end_hearing(id).await {
                tracing::error!(hearing = %id, "cannot end the hearing closed on another node: {e}");
            }
        }
    }
}

impl AppState {
    /// Drains this node (SIGTERM in a cluster): it takes no new hearings at once, lets the
    /// ones it has go on until they end or the drain deadline passes, then hands each one
    /// left to another node: its recording is stopped and uploaded, the lease given back, and
    /// its participants sent on; the node that takes it continues the recording, chained.
    pub async fn drain(&self) {
        let cluster = self.cluster().clone();
        cluster.drain();
        let deadline = Instant::now() + cluster.drain_deadline();
        tracing::info!(
            hearings = self.docket().running_ids().len(),
            deadline_s = cluster.drain_deadline().as_secs(),
            "draining: no new hearings here"
        );
        while !self.docket().running_ids().is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        for id in self.docket().running_ids() {
            self.hand_over(&id).await;
        }
    }

    /// Hands hearing `id` to whichever node the cluster places it on next.
    async fn hand_over(&self, id: &str) {
        let Some(hearing) = self.docket().remove(id) else {
            return;
        };
        tracing::info!(hearing = %id, "handing the hearing over");
        match tokio::task::spawn_blocking(move || hearing.shutdown()).await {
            Ok(Ok(Some(m))) => {
                if let Err(e) = self
                    .store()
                    .recording_ended(&m.recording_id, handover::HANDED_OVER)
                    .await
                {
                    tracing::error!(hearing = %id, "cannot note the handover: {e}");
                }
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) => tracing::error!(hearing = %id, "recording did not stop cleanly: {e}"),
            Err(e) => tracing::error!(hearing = %id, "handover panicked: {e}"),
        }
        self.ended_here(id).await;
        self.docket()
            .publish(id, HearingEvent::Relocate { url: None });
    }
}

/// Whether the broadcast was left on air, from its acts in the audit trail newest first
/// (`start`, `stop`, `cut`, `resume`): `Some(cut)` when the newest `start` or `stop` is a
/// start, `cut` being whether the newest `cut` or `resume` is a cut (the judge's cut outlasts
/// a stop and a start, as it does on the node that ran it); `None` when it was stopped or
/// never started.
fn broadcast_left_on_air<'a>(newest_first: impl IntoIterator<Item = &'a str>) -> Option<bool> {
    let (mut on_air, mut cut) = (None, None);
    for act in newest_first {
        match act {
            "stop" => {
                on_air.get_or_insert(false);
            }
            "start" => {
                on_air.get_or_insert(true);
            }
            "cut" => {
                cut.get_or_insert(true);
            }
            "resume" => {
                cut.get_or_insert(false);
            }
            _ => {}
        }
        if on_air.is_some() && cut.is_some() {
            break;
        }
    }
    on_air.unwrap_or(false).then(|| cut.unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::broadcast_left_on_air as on_air;

    #[test]
    fn the_trail_says_whether_the_broadcast_was_left_on_air_and_cut() {
        // Newest first.
        assert_eq!(on_air([]), None, "never started");
        assert_eq!(on_air(["start"]), Some(false));
        assert_eq!(on_air(["stop", "start"]), None, "stopped");
        assert_eq!(on_air(["cut", "start"]), Some(true));
        assert_eq!(on_air(["resume", "cut", "start"]), Some(false));
        assert_eq!(on_air(["cut", "resume", "cut", "start"]), Some(true));
        // The judge's cut outlasts a stop and a new start, as on the node that ran it.
        assert_eq!(on_air(["start", "stop", "cut", "start"]), Some(true));
        assert_eq!(
            on_air(["start", "stop", "resume", "cut", "start"]),
            Some(false)
        );
        assert_eq!(on_air(["stop", "cut", "start"]), None);
        assert_eq!(on_air(["cut", "start", "stop"]), Some(true));
        assert_eq!(on_air(["dance", "start"]), Some(false));
    }
}
