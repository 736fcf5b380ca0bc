//! What a hearing tells the sessions attached to it, as typed [`HearingEvent`]s on one
//! broadcast channel per hearing ([`EventChannel`]).
//!
//! The channel exists before the live hearing does: the [`super::docket::Docket`] makes one
//! per hearing id, so a page waiting for the clerk to open the hearing hears the opening on
//! the same channel that later carries the roster, the recording state, cues and hints.

use tokio::sync::broadcast;

use super::core::RosterEntry;
use crate::ids::ParticipantId;
use crate::keying::ScreenWarning;
use crate::media::events::TrackKind;
use crate::role::Role;
use crate::store::HearingState;

/// How many events a slow session may fall behind before it misses some (it is told, and
/// catches up from the store).
const CAPACITY: usize = 64;

/// The presiding judge's two acts with the gavel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gavel {
    /// "现在开庭": the court is now in session.
    Open,
    /// "闭庭": the court rises.
    Close,
}

impl Gavel {
    /// `open` or `close`.
    pub fn as_str(self) -> &'static str {
        match self {
            Gavel::Open => "open",
            Gavel::Close => "close",
        }
    }

    /// The act named `open` or `close`.
    pub fn parse(text: &str) -> Option<Self> {
        [Gavel::Open, Gavel::Close]
            .into_iter()
            .find(|g| g.as_str() == text)
    }

    /// The manifest's event for it: `court_opened` or `court_closed`.
    pub fn manifest_event(self) -> &'static str {
        match self {
            Gavel::Open => "court_opened",
            Gavel::Close => "court_closed",
        }
    }
}

/// What a hearing tells the sessions attached to it.
#[derive(Debug, Clone)]
pub enum HearingEvent {
    /// The clerk opened, paused, resumed or closed the hearing (as now written in the store).
    State(HearingState),
    /// Who is seated changed, or someone went away or came back.
    Roster(Vec<RosterEntry>),
    /// Recording started (`true`) or stopped.
    Recording(bool),
    /// The running recording was paused (`true`) or resumed (`false`).
    RecordingPaused(bool),
    /// This participant's connection was replaced by a newer join with the same invitation,
    /// or removed by the clerk.
    Replaced(ParticipantId),
    /// The auto key found a problem with a seat's green screen (too dark, uneven), or with
    /// `None` that it is fine again: the person in that seat is told how to fix it.
    ScreenHint {
        /// The seat's index.
        seat: usize,
        /// What is wrong, if anything.
        warning: Option<ScreenWarning>,
    },
    /// The presiding judge struck the gavel: every page plays it.
    Gavel(Gavel),
    /// A judge asks participant `to` to speak.
    Cue {
        /// Who is asked.
        to: ParticipantId,
        /// Who asks (display name).
        from_name: String,
        /// Their role.
        from_role: Role,
    },
    /// The recording sealed a segment without video or audio (never as complete): everyone is
    /// told, so the court knows that part of the record lacks it.
    RecordingGap {
        /// The segment's index.
        segment: u32,
        /// What it lacks: `video`, `audio`.
        missing: Vec<&'static str>,
    },
    /// Decoding a participant's camera or microphone failed; the hearing restarted it (and
    /// asked for a keyframe) or gave up after repeated failures.
    MediaTrouble(MediaNotice),
    /// Participant `to` is now sent the reduced rendition of the composite (`reduced`), for
    /// a link that could not take the full one, or the full one again.
    Rendition {
        /// Who receives it.
        to: ParticipantId,
        /// The reduced rendition (`true`) or the full one.
        reduced: bool,
    },
    /// The hearing leaves this node (its lease ended, or the node drains and hands it over):
    /// every participant joins again, at `url` when known, otherwise wherever it is placed.
    Relocate {
        /// The node that takes it, when known.
        url: Option<String>,
    },
}

/// A failed inbound track, as its sender is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaNotice {
    /// The seat the track feeds.
    pub seat: usize,
    /// Whose track.
    pub participant: ParticipantId,
    /// Camera or microphone.
    pub track: TrackKind,
    /// What the hearing did about it.
    pub action: MediaAction,
}

/// What the hearing did about a failed pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaAction {
    /// Built it again (and, for a camera, asked the sender for a keyframe).
    Restarted,
    /// Failed too often in a short time: left stopped until the sender reconnects.
    GaveUp,
}

impl MediaAction {
    /// `restarted` or `stopped`, as the protocol and the monitor name it.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaAction::Restarted => "restarted",
            MediaAction::GaveUp => "stopped",
        }
    }
}

/// One hearing's event channel. Cheap to clone; every clone sends on the same channel.
#[derive(Debug, Clone)]
pub struct EventChannel(broadcast::Sender<HearingEvent>);

impl Default for EventChannel {
    fn default() -> Self {
        Self(broadcast::channel(CAPACITY).0)
    }
}

impl EventChannel {
    /// Sends to every session subscribed now; nobody listening is fine.
    pub fn send(&self, event: HearingEvent) {
        let _ = self.0.send(event);
    }

    /// Subscribes to the events sent from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<HearingEvent> {
        self.0.subscribe()
    }

    /// How many sessions listen.
    pub fn listeners(&self) -> usize {
        self.0.receiver_count()
    }
}
