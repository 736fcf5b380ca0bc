//! Shared screens: the decoded frames of the screen each person's page shares (one slot per
//! invitation, so a reconnection finds it again), and the painter that puts the newest frame on
//! the evidence display while it is shown there.
//!
//! A screen goes on the display like an exhibit ([`super::exhibits::Exhibits::show_screen`],
//! under the same rules of who may act over whose), with its own id
//! ([`SCREEN_EXHIBIT`]). It is no file: the composite records it, and the
//! manifest marks when it was shown and taken down (`screen_shown`, `screen_hidden`). Its
//! painter, a thread of its own, turns at most [`SCREEN_FPS`] frames a second into display
//! pictures; the tick only swaps the `Arc`, and the room is redrawn once per new picture.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use super::exhibits::{
    DisplaySlot, ExhibitActError, OnDisplay, Presenter, SCREEN_EXHIBIT, SCREEN_SHOWN,
};
use super::ParticipantId;
use crate::media::frame::{FrameSlot, VideoFrame};
use crate::render::{ExhibitPicture, PageRegion};

/// Display pictures a second made from a shared screen, at most.
pub const SCREEN_FPS: u32 = 5;

/// Each person's shared screen, by invitation: its slot, and the screen track feeding it now.
#[derive(Debug, Default)]
pub struct Screens {
    shares: Mutex<HashMap<String, Share>>,
    next_token: AtomicU64,
}

#[derive(Debug)]
struct Share {
    slot: Arc<FrameSlot>,
    /// The token of the track that feeds it.
    token: u64,
}

impl Screens {
    /// A screen track of `invitation` opened: its slot (empty, whatever an earlier track left)
    /// and the token that names this track to [`Screens::ended`].
    pub fn opened(&self, invitation: &str) -> (Arc<FrameSlot>, u64) {
        let token = self.next_token.fetch_add(1, Ordering::Relaxed) + 1;
        let slot = Arc::new(FrameSlot::default());
        self.shares.lock().expect("screens").insert(
            invitation.to_owned(),
            Share {
                slot: slot.clone(),
                token,
            },
        );
        (slot, token)
    }

    /// The slot of `invitation`'s screen track, while one is open.
    pub fn slot(&self, invitation: &str) -> Option<Arc<FrameSlot>> {
        let shares = self.shares.lock().expect("screens");
        shares.get(invitation).map(|s| s.slot.clone())
    }

    /// The screen track `token` of `invitation` ended. Returns whether it was the one feeding
    /// the person's screen (then it is forgotten); a later track's share is left alone.
    pub fn ended(&self, invitation: &str, token: u64) -> bool {
        let mut shares = self.shares.lock().expect("screens");
        if shares.get(invitation).is_some_and(|s| s.token == token) {
            if let Some(share) = shares.remove(invitation) {
                share.slot.clear();
            }
            true
        } else {
            false
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
    /// A shared screen's track of participant `id` arrived: the slot its decoder fills, the
    /// token naming it, and their invitation (for [`Hearing::screen_ended`]). `None` when they
    /// are no longer seated.
    pub fn screen_opened(&self, id: ParticipantId) -> Option<(Arc<FrameSlot>, u64, String)> {
        let invitation = self.admission(id)?.invitation_id;
        let (slot, token) = self.screens.opened(&invitation);
        Some((slot, token, invitation))
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
        // Shown once the page's screen track has come (its first packet opens it).
        let slot = self
            .screens
            .slot(&invitation)
            .ok_or(ExhibitActError::NoScreen)?;
        let seat = self.seat_of_invitation(&invitation);
        let caption = caption(&presenter);
        let first = screen_picture(slot.latest().map(|(_, f)| f).as_deref(), &caption)?;
        let actor = presenter.actor.clone();
        let (shown, serial) =
            self.exhibits
                .show_screen(presenter, seat, manages, first, |_, previous| {
                    self.screen_replaced(previous, &actor);
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

    /// The shared screen track `token` of the person invited by `invitation` ended (they left,
    /// or their connection closed): if it still fed their screen, the screen leaves the
    /// display (noted as taken down by them) and is forgotten. A later track's share is left
    /// alone.
    pub fn screen_ended(&self, invitation: &str, token: u64) {
        if !self.screens.ended(invitation, token) {
            return;
        }
        if let Some(shown) = self.exhibits.on_display() {
            if shown.exhibit == SCREEN_EXHIBIT
                && shown.presenter.invitation.as_deref() == Some(invitation)
            {
                // Decided again under the exhibits' lock: only this person's screen goes.
                let _ = self.hide_exhibit(Some(SCREEN_EXHIBIT), &shown.presenter.actor, false);
            }
        }
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
    fn a_screen_is_fed_by_its_newest_track_and_only_that_track_ending_forgets_it() {
        let screens = Screens::default();
        assert!(screens.slot("inv-1").is_none(), "no track, no screen");
        let (old, first) = screens.opened("inv-1");
        old.put(VideoFrame::solid(16, 16, [0, 0, 0]));
        // A second track (a reloaded page) takes over with an empty slot.
        let (new, second) = screens.opened("inv-1");
        assert!(new.latest().is_none());
        assert!(Arc::ptr_eq(&new, &screens.slot("inv-1").unwrap()));
        assert!(
            !screens.ended("inv-1", first),
            "the old track's end leaves the new share"
        );
        assert!(screens.slot("inv-1").is_some());
        new.put(VideoFrame::solid(16, 16, [0, 0, 0]));
        assert!(screens.ended("inv-1", second));
        assert!(new.latest().is_none(), "emptied");
        assert!(screens.slot("inv-1").is_none());
    }
}
