//! The docket: the live hearings of this server, and one event channel per hearing id that
//! exists before and after its live hearing does.
//!
//! A page that joined before the clerk opened the hearing subscribes to the hearing's channel
//! and waits; the route that opens, pauses or closes the hearing publishes the new state on
//! it ([`Docket::publish`]). When the hearing starts it sends on the same channel, so the
//! page's one subscription carries everything from the waiting room to the closing.
//!
//! Locks: `rooms`, held only to look up, insert or remove an entry, never across `.await`.
//! Starting a hearing waits on the hearing's own once-cell, so two joins that arrive together
//! start it once and other hearings are not held up meanwhile.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, OnceCell};

use super::events::{EventChannel, HearingEvent};
use super::Hearing;

/// One hearing id's entry.
#[derive(Debug, Default)]
struct Room {
    events: EventChannel,
    live: Arc<OnceCell<Arc<Hearing>>>,
}

impl Room {
    /// Whether anything keeps the entry worth having.
    fn in_use(&self) -> bool {
        self.events.listeners() > 0 || self.live.initialized() || Arc::strong_count(&self.live) > 1
    }
}

/// The live hearings and their event channels.
#[derive(Debug, Default)]
pub struct Docket {
    rooms: Mutex<HashMap<String, Room>>,
}

impl Docket {
    fn rooms(&self) -> std::sync::MutexGuard<'_, HashMap<String, Room>> {
        self.rooms.lock().expect("docket lock")
    }

    /// The event channel of hearing `id` (made on first use).
    pub fn channel(&self, id: &str) -> EventChannel {
        self.rooms()
            .entry(id.to_owned())
            .or_default()
            .events
            .clone()
    }

    /// Subscribes to hearing `id`'s events, whether or not it is live. Subscribe before
    /// reading the hearing's state from the store, so no change in between is missed.
    pub fn subscribe(&self, id: &str) -> broadcast::Receiver<HearingEvent> {
        let mut rooms = self.rooms();
        rooms.retain(|_, r| r.in_use());
        rooms.entry(id.to_owned()).or_default().events.subscribe()
    }

    /// Sends `event` to every session of hearing `id` (nobody listening is fine).
    pub fn publish(&self, id: &str, event: HearingEvent) {
        let events = self.rooms().get(id).map(|r| r.events.clone());
        if let Some(events) = events {
            events.send(event);
        }
    }

    /// The live hearing `id`, if it runs.
    pub fn running(&self, id: &str) -> Option<Arc<Hearing>> {
        self.rooms().get(id).and_then(|r| r.live.get().cloned())
    }

    /// The live hearing `id`, started with `start` (given the hearing's event channel) if it
    /// does not run yet. Concurrent callers share one start; a failed start is tried again by
    /// the next caller. A hearing [`Docket::remove`]d while it was starting is shut down
    /// again, and `gone` is returned.
    pub async fn get_or_start<F, Fut, E>(
        &self,
        id: &str,
        start: F,
        gone: E,
    ) -> Result<Arc<Hearing>, E>
    where
        F: FnOnce(EventChannel) -> Fut,
        Fut: Future<Output = Result<Arc<Hearing>, E>>,
    {
        let (cell, events) = {
            let mut rooms = self.rooms();
            let room = rooms.entry(id.to_owned()).or_default();
            (room.live.clone(), room.events.clone())
        };
        let hearing = cell.get_or_try_init(|| start(events)).await?.clone();
        let still_listed = self
            .rooms()
            .get(id)
            .is_some_and(|r| Arc::ptr_eq(&r.live, &cell));
        if !still_listed {
            // Closed while it started: nobody will shut it down but us.
            let orphan = hearing.clone();
            let _ = tokio::task::spawn_blocking(move || orphan.shutdown()).await;
            return Err(gone);
        }
        Ok(hearing)
    }

    /// The hearings live here, in id order.
    pub fn hearings(&self) -> Vec<Arc<Hearing>> {
        let rooms = self.rooms();
        let mut live: Vec<(&String, Arc<Hearing>)> = rooms
            .iter()
            .filter_map(|(id, r)| Some((id, r.live.get()?.clone())))
            .collect();
        live.sort_by(|a, b| a.0.cmp(b.0));
        live.into_iter().map(|(_, h)| h).collect()
    }

    /// The ids of the hearings live here.
    pub fn running_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .rooms()
            .iter()
            .filter(|(_, r)| r.live.initialized())
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// Takes hearing `id` off the docket (it closed) and returns it, if it ran. Its event
    /// channel stays while sessions listen.
    pub fn remove(&self, id: &str) -> Option<Arc<Hearing>> {
        let mut rooms = self.rooms();
        let room = rooms.get_mut(id)?;
        let live = std::mem::take(&mut room.live);
        if !room.in_use() {
            rooms.remove(id);
        }
        live.get().cloned()
    }

    /// Takes every live hearing off the docket (the server stops).
    pub fn drain(&self) -> Vec<Arc<Hearing>> {
        let mut rooms = self.rooms();
        let live: Vec<Arc<Hearing>> = rooms
            .values_mut()
            .filter_map(|r| std::mem::take(&mut r.live).get().cloned())
            .collect();
        rooms.retain(|_, r| r.in_use());
        live
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::HearingState;

    #[test]
    fn a_waiting_page_hears_the_opening_and_entries_go_when_unused() {
        let docket = Docket::default();
        let mut rx = docket.subscribe("h1");
        docket.publish("h1", HearingEvent::State(HearingState::Open));
        docket.publish("h2", HearingEvent::State(HearingState::Open));
        assert!(matches!(
            rx.try_recv(),
            Ok(HearingEvent::State(HearingState::Open))
        ));
        assert!(docket.running("h1").is_none());
        assert_eq!(docket.rooms().len(), 1, "nobody listens to h2: no entry");
        drop(rx);
        let _other = docket.subscribe("h3");
        assert_eq!(docket.rooms().len(), 1, "h1's unused entry is gone");
        assert!(docket.remove("h1").is_none());
    }
}
