//! Audio forwarding: each participant's microphone packets go, unchanged, to everyone else's
//! audio slot for the speaker's seat; a seat muted by the clerk or the presiding judge is
//! not forwarded (and is left out of the recording's mix by the tick).
//!
//! Locks: `listeners`, held only to look the senders up and `try_send` to each (never waits).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use tokio::sync::mpsc;

use crate::ids::ParticipantId;

/// One participant's microphone packet, forwarded unchanged to the others.
#[derive(Debug, Clone)]
pub struct ForwardedAudio {
    /// The speaker's seat index: the listener plays it on that audio slot.
    pub seat: usize,
    /// The RTP packet as received.
    pub packet: rtc::rtp::Packet,
}

/// Who hears whom, and which seats are muted.
#[derive(Debug)]
pub struct AudioForwarding {
    listeners: Mutex<HashMap<ParticipantId, mpsc::Sender<ForwardedAudio>>>,
    muted: Vec<AtomicBool>,
}

impl AudioForwarding {
    /// Forwarding for `seats` seats, nobody listening, nobody muted.
    pub fn new(seats: usize) -> Self {
        Self {
            listeners: Mutex::default(),
            muted: (0..seats).map(|_| AtomicBool::new(false)).collect(),
        }
    }

    /// Registers where forwarded audio for this participant goes.
    pub fn add_listener(&self, id: ParticipantId, tx: mpsc::Sender<ForwardedAudio>) {
        self.listeners
            .lock()
            .expect("listeners lock")
            .insert(id, tx);
    }

    /// Stops forwarding to this participant.
    pub fn remove_listener(&self, id: ParticipantId) {
        self.listeners.lock().expect("listeners lock").remove(&id);
    }

    /// Forwards one microphone packet from `from` (seated at `seat`) to everyone else.
    /// Never waits: a listener that cannot keep up loses the packet, not the speaker.
    pub fn forward(&self, from: ParticipantId, seat: usize, packet: rtc::rtp::Packet) {
        if self.is_muted(seat) {
            return;
        }
        let listeners = self.listeners.lock().expect("listeners lock");
        for (id, tx) in listeners.iter() {
            if *id != from {
                let _ = tx.try_send(ForwardedAudio {
                    seat,
                    packet: packet.clone(),
                });
            }
        }
    }

    /// Whether seat `seat` is muted (a seat outside the layout is not).
    pub fn is_muted(&self, seat: usize) -> bool {
        self.muted
            .get(seat)
            .is_some_and(|m| m.load(Ordering::Relaxed))
    }

    /// Mutes or unmutes seat `seat` for everyone else.
    pub fn set_muted(&self, seat: usize, muted: bool) {
        if let Some(m) = self.muted.get(seat) {
            m.store(muted, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packet_reaches_everyone_but_the_speaker_unless_muted() {
        let fwd = AudioForwarding::new(2);
        let (a_tx, mut a_rx) = mpsc::channel(4);
        let (b_tx, mut b_rx) = mpsc::channel(4);
        fwd.add_listener(1, a_tx);
        fwd.add_listener(2, b_tx);
        fwd.forward(1, 0, rtc::rtp::Packet::default());
        assert!(a_rx.try_recv().is_err(), "not back to the speaker");
        assert_eq!(b_rx.try_recv().unwrap().seat, 0);
        fwd.set_muted(0, true);
        fwd.forward(1, 0, rtc::rtp::Packet::default());
        assert!(b_rx.try_recv().is_err(), "muted");
        fwd.remove_listener(2);
        fwd.set_muted(0, false);
        fwd.forward(1, 0, rtc::rtp::Packet::default());
        assert!(b_rx.try_recv().is_err(), "no longer listening");
    }
}
