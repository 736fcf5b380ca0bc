//! The court's own sounds, mixed into the hearing's audio by the tick (`ticker::mix_tick`): the
//! gavel when the presiding judge opens or closes the court. The pages play the same sound
//! when told (`HearingEvent::Gavel`), so everyone hears it and the recording and broadcast
//! carry it.

use std::collections::VecDeque;
use std::sync::Mutex;

pub use super::events::Gavel;
use super::events::HearingEvent;
use crate::media::gavel::gavel;

/// Samples waiting to be mixed in, 48 kHz mono.
#[derive(Debug, Default)]
pub struct CourtSounds {
    queue: Mutex<VecDeque<i16>>,
}

impl CourtSounds {
    /// Queues `samples` to be mixed in from the next tick on (after anything still queued).
    pub fn play(&self, samples: &[i16]) {
        self.queue.lock().expect("court sounds").extend(samples);
    }

    /// The next `n` samples (silence-padded at the end), or `None` when nothing is queued.
    pub fn take(&self, n: usize) -> Option<Vec<i16>> {
        let mut q = self.queue.lock().expect("court sounds");
        if q.is_empty() {
            return None;
        }
        let take = n.min(q.len());
        let mut out: Vec<i16> = q.drain(..take).collect();
        out.resize(n, 0);
        Some(out)
    }
}

impl super::Hearing {
    /// The presiding judge strikes the gavel to open or close the court: the sound goes into
    /// the hearing's audio (the recording and the broadcast) and every page plays it, and the
    /// running recording's manifest marks the moment (`court_opened`, `court_closed`) for
    /// `actor`.
    pub fn strike_gavel(&self, act: Gavel, actor: &str) {
        let _span = self.span.enter();
        self.sounds.play(&gavel());
        self.events.send(HearingEvent::Gavel(act));
        tracing::info!(act = act.as_str(), %actor, "gavel");
        self.note_moment(act.manifest_event(), actor);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sounds_play_in_order_padded_and_then_nothing() {
        let s = CourtSounds::default();
        assert_eq!(s.take(4), None);
        s.play(&[1, 2, 3]);
        s.play(&[4, 5]);
        assert_eq!(s.take(4), Some(vec![1, 2, 3, 4]));
        assert_eq!(s.take(4), Some(vec![5, 0, 0, 0]));
        assert_eq!(s.take(4), None);
        assert_eq!(Gavel::parse("open"), Some(Gavel::Open));
        assert_eq!(Gavel::parse("bang"), None);
        assert_eq!(Gavel::Close.manifest_event(), "court_closed");
    }
}
