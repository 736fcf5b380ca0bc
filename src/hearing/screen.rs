//! Shared screens: the decoded frames of the screen each person's page shares (one slot per
//! invitation, so a reconnection finds it again), and the painter that puts the newest frame on
//! the evidence display while it is shown there.
//!
//! A screen goes on the display like an exhibit ([`super::exhibits::Exhibits::show_screen`],
//! under the same rules of who may act over whose), with its own id
//! ([`super::exhibits::SCREEN_EXHIBIT`]). It is no file: the composite records it, and the
//! manifest marks when it was shown and taken down (`screen_shown`, `screen_hidden`). Its
//! painter, a thread of its own, turns at most [`SCREEN_FPS`] frames a second into display
//! pictures; the tick only swaps the `Arc`, and the room is redrawn once per new picture.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use super::exhibits::{DisplaySlot, ExhibitActError, OnDisplay, Presenter, SCREEN_SHOWN};
use super::feeds::{FeedTarget, TrackFeed};
use super::{HearingError, ParticipantId};
use crate::media::events::TrackKind;
use crate::media::frame::{FrameSlot, VideoFrame};
use crate::render::{ExhibitPicture, PageRegion};

/// Display pictures a second made from a shared screen, at most.
pub const SCREEN_FPS: u32 = 5;

/// Each person's shared screen, by invitation.
#[derive(Debug, Default)]
pub struct Screens {
    slots: Mutex<HashMap<String, Arc<FrameSlot>>>,
}

impl Screens {
    /// The screen slot of `invitation`, made on first use.
    pub fn slot(&self, invitation: &str) -> Arc<FrameSlot> {
        self.slots
            .lock()
            .expect("screens")
            .entry(invitation.to_owned())
            .or_default()
            .clone()
    }

    /// Forgets `invitation`'s screen (its sharing ended).
    pub fn forget(&self, invitation: &str) {
        if let Some(slot) = self.slots.lock().expect("screens").remove(invitation) {
            slot.clear();
        }
    }
}

/// The caption under a shared screen.
fn caption(presenter: &Presenter) -> String {
    format!("{} · {}", super::exhibits::SCREEN_TITLE, presenter.caption)
}

/// A display picture of `frame` (a blank 16:9 one while there is none yet) with `caption`.
pub fn screen_picture(
    frame: Option<&VideoFrame>,
    caption: &str,
) -> Result<ExhibitPicture, ExhibitActError> {
    let picture = match frame {
        Some(f) => {
            ExhibitPicture::compose(f.width, f.height, &f.to_rgb(), caption, PageRegion::Page)
        }
        None => ExhibitPicture::compose(16, 9, &[24; 16 * 9 * 3], caption, PageRegion::Page),
    };
    picture.map_err(|e| ExhibitActError::Caption(e.to_string()))
}

/// Repaints the display from `slot` while it shows `serial` (and the hearing lives): each new
/// frame, at most [`SCREEN_FPS`] a second.
fn paint(display: Weak<DisplaySlot>, slot: Arc<FrameSlot>, serial: u64, caption: String) {
    let mut painted = 0;
    loop {
        std::thread::sleep(Duration::from_millis(1000 / SCREEN_FPS as u64));
        let Some(display) = display.upgrade() else {
            return;
        };
        if !display.shows(serial) {
            return;
        }
        let Some((seq, frame)) = slot.latest() else {
            continue;
        };
        if seq == painted {
            continue;
        }
        painted = seq;
        match screen_picture(Some(&frame), &caption) {
            Ok(picture) => {
                if !display.repaint(serial, Arc::new(picture)) {
                    return;
                }
            }
            Err(e) => tracing::warn!("a shared screen's frame could not be drawn: {e}"),
        }
    }
}

impl super::Hearing {
    /// The screen slot of participant `id` (by their invitation): where their shared
    /// screen's decoder puts its frames.
    pub fn screen_slot(&self, id: ParticipantId) -> Arc<FrameSlot> {
        match self.admission(id) {
            Some(a) => self.screens.slot(&a.invitation_id),
            // Not seated (left meanwhile): frames go nowhere anyone looks.
            None => Arc::new(FrameSlot::default()),
        }
    }

    /// Opens the decoder of participant `id`'s shared screen (from seat `seat`, MIME type
    /// `mime`, negotiated as `payload_type`) into `slot` ([`Hearing::screen_slot`]).
    pub fn open_screen(
        &self,
        id: ParticipantId,
        seat: usize,
        slot: &Arc<FrameSlot>,
        mime: &str,
        payload_type: u8,
    ) -> Result<TrackFeed, HearingError> {
        let target = FeedTarget {
            seat,
            media: self.seats.media(seat),
            screen: Some(slot),
        };
        Ok(self
            .feeds
            .open(id, target, TrackKind::Screen, mime, payload_type)?)
    }

    /// Puts `presenter`'s shared screen on the evidence display (over another person's
    /// exhibit only when `manages`), noted in the running recording (`screen_shown`); its
    /// painter keeps it current while it is shown.
    pub fn show_screen(
        &self,
        presenter: Presenter,
        manages: bool,
    ) -> Result<OnDisplay, ExhibitActError> {
        let invitation = presenter
            .invitation
            .clone()
            .ok_or(ExhibitActError::NoScreen)?;
        let slot = self.screens.slot(&invitation);
        let seat = self.seat_of_invitation(&invitation);
        let caption = caption(&presenter);
        let first = screen_picture(slot.latest().map(|(_, f)| f).as_deref(), &caption)?;
        let actor = presenter.actor.clone();
        let (shown, serial) = self
            .exhibits
            .show_screen(presenter, seat, manages, first, |_| {
                self.note_moment(SCREEN_SHOWN, &actor)
            })?;
        let _span = self.span.enter();
        tracing::info!(%actor, "shared screen on the display");
        let display = Arc::downgrade(&self.exhibits.display());
        let spawned = std::thread::Builder::new()
            .name(format!("screen-{}", self.record.id))
            .spawn(move || paint(display, slot, serial, caption));
        if let Err(e) = spawned {
            tracing::error!("the shared screen's painter could not start: {e}");
        }
        Ok(shown)
    }

    /// The shared screen of the person invited by `invitation` stopped coming (they stopped
    /// sharing, or left): it leaves the display if it is there (noted as taken down by them)
    /// and is forgotten.
    pub fn screen_ended(&self, invitation: &str) {
        if let Some(shown) = self.exhibits.on_display() {
            if shown.exhibit == super::exhibits::SCREEN_EXHIBIT
                && shown.presenter.invitation.as_deref() == Some(invitation)
            {
                let _ = self.hide_exhibit(
                    Some(super::exhibits::SCREEN_EXHIBIT),
                    &shown.presenter.actor,
                    false,
                );
            }
        }
        self.screens.forget(invitation);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_screens_frame_fills_the_display_above_its_caption_and_a_blank_waits_for_it() {
        let frame = VideoFrame::solid(320, 180, [20, 200, 30]);
        let p = screen_picture(Some(&frame), "Shared screen · Li Hua, plaintiff").unwrap();
        let [r, g, b] = p.pixel(p.width / 2, p.height / 3);
        assert!(g > 170 && r < 60 && b < 70, "{:?}", [r, g, b]);
        let blank = screen_picture(None, "Shared screen").unwrap();
        let [r, g, b] = blank.pixel(blank.width / 2, blank.height / 3);
        assert!(r < 40 && g < 40 && b < 40, "{:?}", [r, g, b]);
    }

    #[test]
    fn a_slot_is_kept_per_invitation_and_forgotten_empty() {
        let screens = Screens::default();
        let a = screens.slot("inv-1");
        assert!(Arc::ptr_eq(&a, &screens.slot("inv-1")));
        a.put(VideoFrame::solid(16, 16, [0, 0, 0]));
        screens.forget("inv-1");
        assert!(a.latest().is_none(), "emptied");
        assert!(!Arc::ptr_eq(&a, &screens.slot("inv-1")));
    }
}
