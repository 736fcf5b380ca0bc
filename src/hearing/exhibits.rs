//! The hearing's exhibits: the files presented (kept byte for byte under
//! `DATA/exhibits/HEARING/`, with an index, so they outlive the hearing's process), which one
//! is on the courtroom's display and at which page, and the display's picture, which the tick
//! hands to the compositor ([`DisplaySlot`]). Whether the witness may present is held here too:
//! the presiding judge allows it during a hearing.
//!
//! Reading a page (a PDF through poppler) and composing the display's picture are slow, so
//! [`Exhibits::show`] runs them with no lock held, on the caller's thread (the API runs it on a
//! blocking one). Putting the exhibit and the event into the recording is the facade's
//! (`Hearing::show_exhibit`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::digest::sha256_hex;
use crate::exhibit::{self, ExhibitError, ExhibitKind};
use crate::record::manifest::ExhibitEntry;
use crate::render::{ExhibitPicture, PageRegion};
use crate::timefmt::utc_text;

/// The folder under the data directory that holds every hearing's exhibits.
pub const EXHIBITS_DIR: &str = "exhibits";
/// The index of a hearing's exhibits, in its folder.
const INDEX_FILE: &str = "index.json";
/// The longest title taken, in characters.
pub const MAX_TITLE_CHARS: usize = 120;

/// Where hearing `hearing`'s exhibits are kept.
pub fn hearing_dir(data_dir: &Path, hearing: &str) -> PathBuf {
    data_dir.join(EXHIBITS_DIR).join(hearing)
}

/// One exhibit of the hearing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exhibit {
    /// Its id: the first 16 hex digits of its SHA-256 (the same file twice is one exhibit).
    pub id: String,
    /// Lowercase hex SHA-256 of the file.
    pub sha256: String,
    /// Its title.
    pub title: String,
    /// PNG, JPEG or PDF.
    pub kind: ExhibitKind,
    /// Size in bytes.
    pub size: u64,
    /// Pages (1 for a picture).
    pub pages: u32,
    /// Who uploaded it (`user:NAME` or `invitee:ID`).
    pub uploaded_by: String,
    /// When, RFC 3339 UTC.
    pub uploaded_at: String,
}

impl Exhibit {
    /// The file's name in the hearing's folder and beside a recording.
    pub fn file_name(&self) -> String {
        format!("exhibit-{}.{}", self.id, self.kind.extension())
    }

    /// Its entry in a recording's manifest.
    pub fn manifest_entry(&self) -> ExhibitEntry {
        ExhibitEntry {
            file: self.file_name(),
            size: self.size,
            sha256: self.sha256.clone(),
            title: self.title.clone(),
            content_type: self.kind.content_type().into(),
            pages: self.pages,
        }
    }
}

/// Who presents: as the manifest names them, and as the caption does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Presenter {
    /// `user:NAME` or `invitee:ID (ROLE)`.
    pub actor: String,
    /// Their name and role for the caption, e.g. `Li Hua, plaintiff`.
    pub caption: String,
    /// Their invitation, when they were invited (an account has none): how the hearing finds
    /// their seat for the picture-in-picture.
    #[serde(skip)]
    pub invitation: Option<String>,
}

/// What the display shows now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OnDisplay {
    /// The exhibit's id.
    pub exhibit: String,
    /// Its title.
    pub title: String,
    /// The page, from 1.
    pub page: u32,
    /// What part of it.
    pub region: PageRegion,
    /// Of how many.
    pub pages: u32,
    /// Who shows it.
    pub presenter: Presenter,
}

/// The display's id for a shared screen (exhibit ids are SHA-256 prefixes, never this).
pub const SCREEN_EXHIBIT: &str = "screen";
/// The display's title for a shared screen.
pub const SCREEN_TITLE: &str = "Shared screen";
/// The manifest's moment when a shared screen goes on the display.
pub const SCREEN_SHOWN: &str = "screen_shown";
/// The manifest's moment when it is taken down (or its sharing ends).
pub const SCREEN_HIDDEN: &str = "screen_hidden";

/// What the display shows, as the tick takes it.
#[derive(Debug, Clone)]
pub struct OnAir {
    /// The picture.
    pub picture: Arc<ExhibitPicture>,
    /// Counts every picture put up (a new exhibit, a turned page): the director cuts on it.
    pub serial: u64,
    /// The presenter's seat, if they are seated: shown picture-in-picture in the exhibit view.
    pub presenter_seat: Option<usize>,
}

/// The display's picture, shared with the tick.
#[derive(Debug, Default)]
pub struct DisplaySlot(Mutex<(u64, Option<OnAir>)>);

impl DisplaySlot {
    /// What the display shows, if anything (cheap clones).
    pub fn current(&self) -> Option<OnAir> {
        self.0.lock().expect("display slot").1.clone()
    }

    fn set(&self, shown: Option<(Arc<ExhibitPicture>, Option<usize>)>) -> u64 {
        let mut slot = self.0.lock().expect("display slot");
        slot.0 += 1;
        let serial = slot.0;
        slot.1 = shown.map(|(picture, presenter_seat)| OnAir {
            picture,
            serial,
            presenter_seat,
        });
        serial
    }

    /// Whether the display still shows what was put up as `serial`.
    pub fn shows(&self, serial: u64) -> bool {
        let slot = self.0.lock().expect("display slot");
        slot.1.as_ref().is_some_and(|a| a.serial == serial)
    }

    /// A new picture of what was put up as `serial` (a shared screen's newest frame), without
    /// counting it as a new exhibit; nothing when the display shows something else now.
    pub fn repaint(&self, serial: u64, picture: Arc<ExhibitPicture>) -> bool {
        let mut slot = self.0.lock().expect("display slot");
        match slot.1.as_mut() {
            Some(a) if a.serial == serial => {
                a.picture = picture;
                true
            }
            _ => false,
        }
    }
}

/// Why an exhibit act was refused.
#[derive(Debug, thiserror::Error)]
pub enum ExhibitActError {
    /// The file was refused, or its page could not be read.
    #[error(transparent)]
    File(#[from] ExhibitError),
    /// No exhibit with that id in this hearing.
    #[error("no exhibit {0} in this hearing")]
    NotFound(String),
    /// The title is empty, too long or has control characters.
    #[error(
        "an exhibit needs a title of 1 to {MAX_TITLE_CHARS} characters, without control characters"
    )]
    BadTitle,
    /// The exhibit could not be stored.
    #[error("the exhibit could not be stored: {0}")]
    Storage(String),
    /// The caption could not be drawn.
    #[error("the display's caption could not be drawn: {0}")]
    Caption(String),
    /// Another person's exhibit is on the display, and the one asking does not manage
    /// exhibits.
    #[error("another person presents an exhibit now; they, the presiding judge or the clerk take it down first")]
    PresentedByAnother,
    /// The exhibit named is not the one on the display (or nothing is shown).
    #[error("exhibit {0} is not on the display")]
    NotOnDisplay(String),
    /// Only a person in the hearing, from their page, shares a screen.
    #[error("a screen is shared from the participant's page")]
    NoScreen,
}

#[derive(Debug, Default)]
struct State {
    list: Vec<Exhibit>,
    /// Counts the changes to `list`.
    version: u64,
    shown: Option<OnDisplay>,
    witness_may_present: bool,
}

/// The hearing's exhibits.
#[derive(Debug)]
pub struct Exhibits {
    dir: PathBuf,
    state: Mutex<State>,
    display: Arc<DisplaySlot>,
    /// The index's version last written to disk. Held only by uploads, around the index
    /// file's write: a newer list is never overwritten by an older one.
    index_written: Mutex<u64>,
}

impl Exhibits {
    /// The exhibits kept in `dir` (none if it does not exist yet; an unreadable index is
    /// logged and started afresh: the files stay).
    pub fn open(dir: PathBuf) -> Self {
        let list = match std::fs::read(dir.join(INDEX_FILE)) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::error!(dir = %dir.display(), "exhibit index unreadable: {e}");
                Vec::new()
            }),
            Err(_) => Vec::new(),
        };
        Self {
            dir,
            state: Mutex::new(State {
                list,
                ..State::default()
            }),
            display: Arc::default(),
            index_written: Mutex::new(0),
        }
    }

    /// The display's picture, for the tick.
    pub fn display(&self) -> Arc<DisplaySlot> {
        self.display.clone()
    }

    /// Every exhibit, in upload order.
    pub fn list(&self) -> Vec<Exhibit> {
        self.lock().list.clone()
    }

    /// The exhibit `id`, if the hearing has it.
    pub fn get(&self, id: &str) -> Option<Exhibit> {
        self.lock().list.iter().find(|e| e.id == id).cloned()
    }

    /// Where the file of `exhibit` is kept.
    pub fn path(&self, exhibit: &Exhibit) -> PathBuf {
        self.dir.join(exhibit.file_name())
    }

    /// What the display shows.
    pub fn on_display(&self) -> Option<OnDisplay> {
        self.lock().shown.clone()
    }

    /// Whether the witness may present now.
    pub fn witness_may_present(&self) -> bool {
        self.lock().witness_may_present
    }

    /// Allows or forbids the witness to present.
    pub fn allow_witness(&self, allowed: bool) {
        self.lock().witness_may_present = allowed;
    }

    /// Checks and keeps a file of `kind` titled `title`, uploaded by `by`. Blocking: writes
    /// the file and may run poppler. The same file again is the same exhibit (returned as it
    /// was first kept).
    pub fn add(
        &self,
        bytes: &[u8],
        kind: ExhibitKind,
        title: &str,
        by: &str,
    ) -> Result<Exhibit, ExhibitActError> {
        let title = title.trim();
        if title.is_empty()
            || title.chars().count() > MAX_TITLE_CHARS
            || title.chars().any(char::is_control)
        {
            return Err(ExhibitActError::BadTitle);
        }
        if bytes.len() > exhibit::MAX_EXHIBIT_BYTES {
            return Err(ExhibitError::TooLarge(format!(
                "{} bytes; at most {}",
                bytes.len(),
                exhibit::MAX_EXHIBIT_BYTES
            ))
            .into());
        }
        let sha256 = sha256_hex(bytes);
        let id = sha256[..16].to_string();
        if let Some(existing) = self.get(&id) {
            return Ok(existing);
        }
        let storage = |e: std::io::Error| ExhibitActError::Storage(e.to_string());
        std::fs::create_dir_all(&self.dir).map_err(storage)?;
        let mut exhibit = Exhibit {
            id,
            sha256,
            title: title.to_string(),
            kind,
            size: bytes.len() as u64,
            pages: 0,
            uploaded_by: by.to_string(),
            uploaded_at: utc_text(chrono::Utc::now()),
        };
        let path = self.path(&exhibit);
        // A name of its own: the same file uploaded twice at once must not share it.
        let tmp = self.dir.join(format!(
            ".{}.{:016x}.tmp",
            exhibit.file_name(),
            rand::random::<u64>()
        ));
        std::fs::write(&tmp, bytes).map_err(storage)?;
        match exhibit::inspect(bytes, kind, &tmp) {
            Ok(pages) => exhibit.pages = pages,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e.into());
            }
        }
        if let Err(e) = std::fs::rename(&tmp, &path) {
            let _ = std::fs::remove_file(&tmp);
            return Err(storage(e));
        }
        let (version, index) = {
            let mut s = self.lock();
            if let Some(existing) = s.list.iter().find(|e| e.id == exhibit.id) {
                return Ok(existing.clone());
            }
            s.list.push(exhibit.clone());
            s.version += 1;
            (
                s.version,
                serde_json::to_vec_pretty(&s.list).expect("exhibits serialise"),
            )
        };
        let mut written = self.index_written.lock().expect("exhibit index");
        if version > *written {
            crate::record::manifest::write_atomic(&self.dir.join(INDEX_FILE), &index)
                .map_err(storage)?;
            *written = version;
        }
        Ok(exhibit)
    }

    /// Puts page `page` of exhibit `id` on the display, captioned with its title and
    /// `presenter` (seated at `presenter_seat`, if anywhere). Blocking (reads the page). Returns the exhibit and whether it was already
    /// on the display (a page turn) or newly shown.
    ///
    /// Another person's exhibit on the display is theirs: unless `manages` (the bench, the
    /// clerk), it is refused with [`ExhibitActError::PresentedByAnother`]. The check, the change
    /// and `note` (given the exhibit, whether it was a page turn, and what it replaced: the
    /// record of the act) run under one lock, so two people's acts are decided and recorded in
    /// one order.
    #[allow(clippy::too_many_arguments)] // one act: what, which page, by whom, and its record
    pub fn show(
        &self,
        id: &str,
        page: u32,
        region: PageRegion,
        presenter: Presenter,
        presenter_seat: Option<usize>,
        manages: bool,
        note: impl FnOnce(&Exhibit, bool, Option<&OnDisplay>),
    ) -> Result<(Exhibit, bool), ExhibitActError> {
        let exhibit = self
            .get(id)
            .ok_or_else(|| ExhibitActError::NotFound(id.to_string()))?;
        // Asked before the page is read too, so a refused act costs no rendering.
        self.check_presenter(&self.lock(), &presenter.actor, manages)?;
        let read = exhibit::read_page(&self.path(&exhibit), exhibit.kind, page, exhibit.pages)?;
        let caption = if exhibit.pages > 1 {
            format!(
                "{} · {}/{} · {}",
                exhibit.title, page, exhibit.pages, presenter.caption
            )
        } else {
            format!("{} · {}", exhibit.title, presenter.caption)
        };
        let picture = ExhibitPicture::compose(read.width, read.height, &read.rgb, &caption, region)
            .map_err(|e| ExhibitActError::Caption(e.to_string()))?;
        let turned = {
            let mut s = self.lock();
            self.check_presenter(&s, &presenter.actor, manages)?;
            let turned = s.shown.as_ref().is_some_and(|d| d.exhibit == exhibit.id);
            let previous = s.shown.replace(OnDisplay {
                exhibit: exhibit.id.clone(),
                title: exhibit.title.clone(),
                page,
                region,
                pages: exhibit.pages,
                presenter,
            });
            self.display.set(Some((Arc::new(picture), presenter_seat)));
            note(&exhibit, turned, previous.as_ref());
            turned
        };
        Ok((exhibit, turned))
    }

    /// Refuses `actor` while another person's exhibit is on the display, unless `manages`.
    fn check_presenter(
        &self,
        s: &State,
        actor: &str,
        manages: bool,
    ) -> Result<(), ExhibitActError> {
        match &s.shown {
            Some(d) if d.presenter.actor != actor && !manages => {
                Err(ExhibitActError::PresentedByAnother)
            }
            _ => Ok(()),
        }
    }

    /// Puts `presenter`'s shared screen on the display (seated at `presenter_seat`), first as
    /// `first` (its newest frame, or a blank until one comes), under the same rules and lock
    /// as [`Exhibits::show`]. Returns what the display shows and the picture's serial, which
    /// the screen's painter repaints ([`DisplaySlot::repaint`]).
    pub fn show_screen(
        &self,
        presenter: Presenter,
        presenter_seat: Option<usize>,
        manages: bool,
        first: ExhibitPicture,
        note: impl FnOnce(&OnDisplay, Option<&OnDisplay>),
    ) -> Result<(OnDisplay, u64), ExhibitActError> {
        let mut s = self.lock();
        self.check_presenter(&s, &presenter.actor, manages)?;
        let shown = OnDisplay {
            exhibit: SCREEN_EXHIBIT.into(),
            title: SCREEN_TITLE.into(),
            page: 1,
            region: PageRegion::Page,
            pages: 1,
            presenter,
        };
        let previous = s.shown.replace(shown.clone());
        let serial = self.display.set(Some((Arc::new(first), presenter_seat)));
        note(&shown, previous.as_ref());
        Ok((shown, serial))
    }

    /// Takes exhibit `id` down from the display (any exhibit when `id` is `None`) for `actor`:
    /// its presenter, or anyone when `manages`. Returns what was shown, with its exhibit
    /// (none for a shared screen). As in [`Exhibits::show`], the check, the change and `note`
    /// run under one lock.
    pub fn hide(
        &self,
        id: Option<&str>,
        actor: &str,
        manages: bool,
        note: impl FnOnce(Option<&Exhibit>, &OnDisplay),
    ) -> Result<(Option<Exhibit>, OnDisplay), ExhibitActError> {
        let mut s = self.lock();
        let not_shown = || ExhibitActError::NotOnDisplay(id.unwrap_or("any").to_string());
        let shown = s.shown.as_ref().ok_or_else(not_shown)?;
        if id.is_some_and(|id| id != shown.exhibit) {
            return Err(not_shown());
        }
        self.check_presenter(&s, actor, manages)?;
        let shown = s.shown.take().ok_or_else(not_shown)?;
        self.display.set(None);
        let exhibit = s.list.iter().find(|e| e.id == shown.exhibit).cloned();
        note(exhibit.as_ref(), &shown);
        Ok((exhibit, shown))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("exhibits")
    }
}

// --- the facade: what the hearing does with its exhibits, the recording included ---------

impl super::Hearing {
    /// The hearing's exhibits.
    pub fn exhibits(&self) -> &Exhibits {
        &self.exhibits
    }

    /// Shows page `page` (`region` of it) of exhibit `id` on the evidence display (blocking:
    /// reads the page),
    /// and notes it in the running recording: the file is kept beside it and the event goes
    /// into its manifest (`shown`, or `turned` when the exhibit was already on the display).
    ///
    /// Over another person's exhibit only when `manages` ([`Exhibits::show`]).
    pub fn show_exhibit(
        &self,
        id: &str,
        page: u32,
        region: PageRegion,
        presenter: Presenter,
        manages: bool,
    ) -> Result<OnDisplay, ExhibitActError> {
        let actor = presenter.actor.clone();
        let seat = presenter
            .invitation
            .as_ref()
            .and_then(|inv| self.seat_of_invitation(inv));
        let (exhibit, turned) = self.exhibits.show(
            id,
            page,
            region,
            presenter,
            seat,
            manages,
            |exhibit, turned, previous| {
                self.screen_replaced(previous, &actor);
                let event = if turned { "turned" } else { "shown" };
                self.note_exhibit(event, exhibit, page, &actor);
            },
        )?;
        let _span = self.span.enter();
        tracing::info!(exhibit = %exhibit.id, page, %actor, turned, "exhibit on the display");
        self.exhibits
            .on_display()
            .ok_or_else(|| ExhibitActError::NotFound(id.to_string()))
    }

    /// Takes exhibit `id` (any, for `None`) down from the display for `actor`, its presenter
    /// or, when `manages`, anyone (noted in the running recording); returns what was shown.
    pub fn hide_exhibit(
        &self,
        id: Option<&str>,
        actor: &str,
        manages: bool,
    ) -> Result<OnDisplay, ExhibitActError> {
        let (_, shown) =
            self.exhibits
                .hide(id, actor, manages, |exhibit, shown| match exhibit {
                    Some(exhibit) => self.note_exhibit("hidden", exhibit, shown.page, actor),
                    None => self.screen_replaced(Some(shown), actor),
                })?;
        let _span = self.span.enter();
        tracing::info!(exhibit = %shown.exhibit, %actor, "exhibit taken down");
        Ok(shown)
    }

    /// A recording that starts while an exhibit is on the display notes it as shown.
    pub(super) fn note_display_at_start(&self) {
        let Some(shown) = self.exhibits.on_display() else {
            return;
        };
        if let Some(exhibit) = self.exhibits.get(&shown.exhibit) {
            self.note_exhibit("shown", &exhibit, shown.page, &shown.presenter.actor);
        } else if shown.exhibit == SCREEN_EXHIBIT {
            self.note_moment(SCREEN_SHOWN, &shown.presenter.actor);
        }
    }

    /// What left the display (`previous`, by `actor`'s act) was a shared screen: the manifest
    /// marks it taken down, and its last frames are dropped, so that sharing again starts
    /// from the new screen's first picture.
    pub(super) fn screen_replaced(&self, previous: Option<&OnDisplay>, actor: &str) {
        let Some(previous) = previous.filter(|p| p.exhibit == SCREEN_EXHIBIT) else {
            return;
        };
        self.note_moment(SCREEN_HIDDEN, actor);
        if let Some(slot) = previous
            .presenter
            .invitation
            .as_deref()
            .and_then(|inv| self.screens.slot(inv))
        {
            slot.clear();
        }
    }

    fn note_exhibit(&self, event: &str, exhibit: &Exhibit, page: u32, actor: &str) {
        let Some(active) = self.recording.current() else {
            return;
        };
        let entry = exhibit.manifest_entry();
        active
            .recorder
            .add_exhibit(entry.clone(), self.exhibits.path(exhibit));
        active
            .recorder
            .exhibit_event(event, &entry, page, actor, self.recording.media_time());
    }
}

#[cfg(test)]
mod tests;
