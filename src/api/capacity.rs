//! Admission control: a node takes on only what it can serve (`[capacity]`). A hearing or a
//! person past it is refused with `no_capacity` (503, `Retry-After`), which the clerk's portal
//! shows and the participant's page explains and retries, rather than accepted only to make
//! every hearing on the node stutter.
//!
//! In a cluster the placement already counts hearings per node (the database's `capacity`);
//! here the count is this node's own: its running hearings, and the people connected to them.

use super::error::ApiError;
use super::AppState;
use crate::hearing::Hearing;

/// The message a person or clerk sees when this node has no room for another hearing.
const NO_HEARING_ROOM: &str = "This courtroom server is already running as many hearings as it can serve well. This page tries again by itself; the clerk can end another hearing or ask the court's operators for room.";

/// The message a person sees when this node has no room for another participant.
const NO_PARTICIPANT_ROOM: &str = "This courtroom server is serving as many people as it can right now. This page tries again by itself; tell the clerk if it goes on.";

/// The refusal for a hearing or participant past this node's capacity.
fn full(message: &str) -> ApiError {
    ApiError::unavailable("no_capacity", message)
}

impl AppState {
    /// Whether this node may start one more hearing: fewer run than `capacity.hearings`. A
    /// cluster's placement decides for itself (it already counts each node's hearings).
    pub(super) fn room_for_hearing(&self) -> Result<(), ApiError> {
        if self.cluster().is_clustered() {
            return Ok(());
        }
        let limit = self.settings().capacity.hearings();
        let running = self.docket().running_ids().len();
        if running >= limit {
            crate::metrics::admission_refused("hearing");
            tracing::warn!(
                running,
                limit,
                "a hearing refused: this node is at capacity"
            );
            return Err(full(NO_HEARING_ROOM));
        }
        Ok(())
    }

    /// Whether `hearing` may seat one more person in seat `seat` (`None`: an observer, or a
    /// WHIP encoder, who takes no seat of a person already there). Someone taking back a seat
    /// that is held for them is not a new person, so is never refused.
    pub fn room_for_participant(
        &self,
        hearing: &Hearing,
        seat: Option<&str>,
    ) -> Result<(), ApiError> {
        if let Some(seat) = seat {
            if hearing.roster().iter().any(|p| p.seat == seat) {
                return Ok(());
            }
        }
        let limit = self.settings().capacity.participants();
        let connected = self.connected_participants();
        if connected >= limit {
            crate::metrics::admission_refused("participant");
            tracing::warn!(connected, limit, hearing = %hearing.record.id, "a participant refused: this node is at capacity");
            return Err(full(NO_PARTICIPANT_ROOM));
        }
        Ok(())
    }

    /// People seated or watching in this node's running hearings.
    pub fn connected_participants(&self) -> usize {
        self.docket()
            .hearings()
            .iter()
            .map(|h| h.roster().len())
            .sum()
    }
}
