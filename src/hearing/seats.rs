//! Seats and roster: who sits where ([`HearingCore`], the sans-I/O state machine, behind one
//! short lock) and the media each seat feeds into the tick: its newest camera frame, its
//! decoded microphone, its key settings, what the auto key found wrong with its screen, and
//! its brightness match.
//!
//! Locks: `core` (seating), and per seat `key`, `screen_warning` and `gain`. Each is held only
//! to read or write the value, never across other work.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::core::{Admission, HearingCore, JoinError, Joined, ParticipantId, RosterEntry, Seated};
use super::events::{EventChannel, HearingEvent};
use crate::keying::{KeyParams, ScreenModel, ScreenWarning};
use crate::media::audio_mix::AudioInput;
use crate::media::capture::CaptureClock;
use crate::media::events::TrackKind;
use crate::media::frame::FrameSlot;
use crate::record::SeatedParticipant;

/// The media one seat feeds into the compositor and the mix.
#[derive(Debug, Default)]
pub struct SeatMedia {
    frames: Arc<FrameSlot>,
    audio: Arc<AudioInput>,
    capture: Arc<CaptureClock>,
    key: Mutex<KeyParams>,
    screen_warning: Mutex<Option<ScreenWarning>>,
    gain: Mutex<Option<[f32; 3]>>,
}

impl SeatMedia {
    /// The newest decoded camera frame (the decoder writes it, the tick reads it).
    pub fn frames(&self) -> &Arc<FrameSlot> {
        &self.frames
    }

    /// The decoded microphone (the decoder appends, the tick's mix takes).
    pub fn audio(&self) -> &Arc<AudioInput> {
        &self.audio
    }

    /// The seated person's capture clock, shared by the decoders of their camera and
    /// microphone, so the tick can match the two.
    pub fn capture(&self) -> &Arc<CaptureClock> {
        &self.capture
    }

    /// The seat's key settings now.
    pub fn key(&self) -> KeyParams {
        *self.key.lock().expect("key lock")
    }

    /// Changes the key settings in one step (so a screen model the calibration fits meanwhile
    /// is not lost): `change` gets the current settings and returns the new ones, or an error
    /// that leaves them as they were. Returns the new settings.
    pub fn update_key<E>(
        &self,
        change: impl FnOnce(&KeyParams) -> Result<KeyParams, E>,
    ) -> Result<KeyParams, E> {
        let mut key = self.key.lock().expect("key lock");
        *key = change(&key)?;
        Ok(*key)
    }

    /// Stores the screen model the auto key fitted.
    pub fn fit_screen(&self, model: Option<ScreenModel>) {
        self.key.lock().expect("key lock").screen = model;
    }

    /// What the auto key last found wrong with this seat's green screen.
    pub fn screen_warning(&self) -> Option<ScreenWarning> {
        *self.screen_warning.lock().expect("screen warning lock")
    }

    /// Per-channel gain (brightness times white balance) matching this seat's person to the
    /// room (`keying::look`), once measured.
    pub fn gain(&self) -> Option<[f32; 3]> {
        *self.gain.lock().expect("gain lock")
    }

    /// Stores the measured gain, or forgets it (`None`: nobody to measure).
    pub fn set_gain(&self, gain: Option<[f32; 3]>) {
        *self.gain.lock().expect("gain lock") = gain;
    }
}

/// Who sits where, and each seat's media.
#[derive(Debug)]
pub struct Seats {
    core: Mutex<HearingCore>,
    media: Vec<SeatMedia>,
    away_after: Duration,
    events: EventChannel,
}

impl Seats {
    /// `count` empty seats; a seat whose camera sent nothing for `away_after` shows as away.
    /// Roster changes go out on `events`.
    pub fn new(count: usize, away_after: Duration, events: EventChannel) -> Self {
        Self {
            core: Mutex::default(),
            media: (0..count).map(|_| SeatMedia::default()).collect(),
            away_after,
            events,
        }
    }

    /// Number of seats.
    pub fn len(&self) -> usize {
        self.media.len()
    }

    /// Whether the layout has no seats.
    pub fn is_empty(&self) -> bool {
        self.media.is_empty()
    }

    /// Seat `index`'s media. Panics on an index outside the layout.
    pub fn media(&self, index: usize) -> &SeatMedia {
        &self.media[index]
    }

    /// Every seat's media, in seat order.
    pub fn all_media(&self) -> &[SeatMedia] {
        &self.media
    }

    /// Seats a participant (see [`HearingCore::join`]).
    pub fn join(&self, admission: Admission) -> Result<Joined, JoinError> {
        self.core
            .lock()
            .expect("core lock")
            .join(admission, Instant::now())
    }

    /// Removes a participant and empties their seat's media. Returns whether they were
    /// seated (`false` also when someone newer holds the seat).
    pub fn leave(&self, id: ParticipantId) -> bool {
        let seat = {
            let mut core = self.core.lock().expect("core lock");
            let seat = core.get(id).map(|s| s.admission.seat);
            if !core.leave(id) {
                return false;
            }
            seat
        };
        // An observer (NO_SEAT) has no seat media to clear.
        if let Some(media) = seat.and_then(|s| self.media.get(s)) {
            media.frames.clear();
            media.audio.clear();
            media.capture.restart(TrackKind::Camera);
            media.capture.restart(TrackKind::Microphone);
        }
        true
    }

    /// Whether `id` is still the seated connection (not replaced, not left).
    pub fn is_seated(&self, id: ParticipantId) -> bool {
        self.core.lock().expect("core lock").get(id).is_some()
    }

    /// The seated participant's admission.
    pub fn admission(&self, id: ParticipantId) -> Option<Admission> {
        self.core
            .lock()
            .expect("core lock")
            .get(id)
            .map(|s| s.admission.clone())
    }

    /// Who sits in each seat now (a copy, so the caller holds no lock).
    pub fn occupants(&self) -> Vec<Option<Seated>> {
        let core = self.core.lock().expect("core lock");
        (0..self.media.len())
            .map(|i| core.at_seat(i).map(|(_, s)| s.clone()))
            .collect()
    }

    /// The current roster.
    pub fn roster(&self) -> Vec<RosterEntry> {
        let core = self.core.lock().expect("core lock");
        core.roster(Instant::now(), self.away_after, |seat| {
            self.media[seat].frames.latest().map(|(_, f)| f.arrived)
        })
    }

    /// Sends the roster to every session.
    pub fn publish_roster(&self) {
        self.events.send(HearingEvent::Roster(self.roster()));
    }

    /// Who is seated now, as the recording lists them.
    pub fn seated_now(&self) -> Vec<SeatedParticipant> {
        self.core
            .lock()
            .expect("core lock")
            .seated()
            .map(|(_, s)| SeatedParticipant {
                role: s.admission.role.to_string(),
                seat: s.admission.seat_id.clone(),
                name: s.admission.name.clone(),
            })
            .collect()
    }

    /// Records what the auto key found wrong with seat `seat`'s green screen (or that it is
    /// fine) and tells that seat's participant; the clerk sees it with the seat's key settings.
    pub fn report_screen(&self, seat: usize, warning: Option<ScreenWarning>) {
        if let Some(media) = self.media.get(seat) {
            *media.screen_warning.lock().expect("screen warning lock") = warning;
        }
        self.events.send(HearingEvent::ScreenHint { seat, warning });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hearing::Role;
    use crate::media::frame::VideoFrame;

    fn admission(inv: &str, seat: usize) -> Admission {
        Admission {
            invitation_id: inv.into(),
            role: Role::Plaintiff,
            seat,
            seat_id: format!("seat{seat}"),
            name: inv.into(),
        }
    }

    #[test]
    fn leaving_empties_the_seat_and_the_roster_follows() {
        let events = EventChannel::default();
        let mut rx = events.subscribe();
        let seats = Seats::new(3, Duration::from_secs(3), events);
        let j = seats.join(admission("p", 2)).unwrap();
        seats
            .media(2)
            .frames()
            .put(VideoFrame::solid(4, 4, [0, 0, 0]));
        seats.publish_roster();
        match rx.try_recv() {
            Ok(HearingEvent::Roster(r)) => {
                assert_eq!(r.len(), 1);
                assert!(!r[0].away, "a fresh frame");
            }
            other => panic!("{other:?}"),
        }
        assert!(seats.occupants()[2].is_some());
        assert!(seats.leave(j.id));
        assert!(!seats.leave(j.id));
        assert!(seats.media(2).frames().latest().is_none());
        assert!(seats.occupants()[2].is_none());
        assert!(seats.roster().is_empty());
    }
}
