//! Who may do what: one table, checked in one place ([`check`]).
//!
//! The rows are [`Action`]s, the columns are the people: the seven hearing roles (who act with
//! an invitation to one hearing; an observer joins to watch and listen, with no seat, camera or
//! microphone) and the two portal accounts (clerks and administrators, who log
//! in and act on any hearing). An invitee may act only on the hearing their invitation names,
//! whatever the table says.
//!
//! | action | presiding judge | assessor | clerk | plaintiff | defendant | witness | observer | clerk account | admin account |
//! |---|---|---|---|---|---|---|---|---|---|
//! | join | ✓ | ✓ | ✓ | ✓ | ✓ | ✓ | ✓ | · | · |
//! | publish | ✓ | ✓ | ✓ | ✓ | ✓ | ✓ | · | · | · |
//! | see composite | ✓ | ✓ | ✓ | ✓ | ✓ | ✓ | ✓ | ✓ | ✓ |
//! | mute others | ✓ | · | ✓ | · | · | · | · | ✓ | ✓ |
//! | remove participant | ✓ | · | ✓ | · | · | · | · | ✓ | ✓ |
//! | start/stop recording | ✓ | · | ✓ | · | · | · | · | ✓ | ✓ |
//! | download | · | · | · | · | · | · | · | ✓ | ✓ |
//! | adjust key settings | · | · | ✓ | · | · | · | · | ✓ | ✓ |
//! | lock camera view | ✓ | · | ✓ | · | · | · | · | ✓ | ✓ |
//! | monitor | ✓ | · | ✓ | · | · | · | · | ✓ | ✓ |
//! | manage hearings | · | · | · | · | · | · | · | ✓ | ✓ |
//! | view audit trail | · | · | · | · | · | · | · | ✓ | ✓ |
//! | manage accounts | · | · | · | · | · | · | · | · | ✓ |
//! | start/stop broadcast | · | · | ✓ | · | · | · | · | ✓ | ✓ |
//! | cut broadcast | ✓ | · | ✓ | · | · | · | · | ✓ | ✓ |
//! | present exhibit | ✓ | · | ✓ | ✓ | ✓ | · | · | ✓ | ✓ |
//! | manage exhibits | ✓ | · | ✓ | · | · | · | · | ✓ | ✓ |
//! | strike gavel | ✓ | · | · | · | · | · | · | · | · |
//!
//! (Joining is by invitation only: a clerk with an account invites themself to sit in the
//! hearing. Downloads need an account, never a link: invitation links travel by mail and chat.
//! A witness presents an exhibit only while the presiding judge allows it, which the hearing
//! holds, not the table.)
//! [`markdown_table`] prints this table from [`TABLE`]; a test keeps the two equal.

use std::fmt;

use serde::Serialize;

use crate::role::Role;
use crate::store::AccountRole;

/// Something a person may or may not do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Take their seat in the hearing.
    Join,
    /// Send camera and microphone.
    Publish,
    /// Receive the composite courtroom picture.
    SeeComposite,
    /// Mute someone else's microphone.
    MuteOthers,
    /// Remove someone from the hearing.
    RemoveParticipant,
    /// Start, pause, resume or stop the recording.
    Record,
    /// Download a recording's files.
    Download,
    /// Change a seat's key settings.
    AdjustKey,
    /// Lock the camera view of the courtroom.
    LockCameraView,
    /// Watch the live monitor (who is connected, quality, recording state).
    Monitor,
    /// Create hearings, invite, open, pause and close them.
    ManageHearings,
    /// Read the audit trail.
    ViewAudit,
    /// Create and disable portal accounts.
    ManageAccounts,
    /// Start and stop a public hearing's live broadcast.
    Broadcast,
    /// Cut the live broadcast at once (a slate instead of the court), and lift the cut.
    CutBroadcast,
    /// Upload an exhibit, show it on the courtroom's display and turn its pages.
    PresentExhibit,
    /// Take any exhibit down, and allow or forbid the witness to present.
    ManageExhibits,
    /// Open and close the court with the gavel.
    Gavel,
}

impl Action {
    /// Every action, in table order.
    pub const ALL: [Action; 18] = [
        Action::Join,
        Action::Publish,
        Action::SeeComposite,
        Action::MuteOthers,
        Action::RemoveParticipant,
        Action::Record,
        Action::Download,
        Action::AdjustKey,
        Action::LockCameraView,
        Action::Monitor,
        Action::ManageHearings,
        Action::ViewAudit,
        Action::ManageAccounts,
        Action::Broadcast,
        Action::CutBroadcast,
        Action::PresentExhibit,
        Action::ManageExhibits,
        Action::Gavel,
    ];

    /// The stable name, e.g. `start_stop_recording` for [`Action::Record`].
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Join => "join",
            Action::Publish => "publish",
            Action::SeeComposite => "see_composite",
            Action::MuteOthers => "mute_others",
            Action::RemoveParticipant => "remove_participant",
            Action::Record => "start_stop_recording",
            Action::Download => "download",
            Action::AdjustKey => "adjust_key_settings",
            Action::LockCameraView => "lock_camera_view",
            Action::Monitor => "monitor",
            Action::ManageHearings => "manage_hearings",
            Action::ViewAudit => "view_audit_trail",
            Action::ManageAccounts => "manage_accounts",
            Action::Broadcast => "start_stop_broadcast",
            Action::CutBroadcast => "cut_broadcast",
            Action::PresentExhibit => "present_exhibit",
            Action::ManageExhibits => "manage_exhibits",
            Action::Gavel => "strike_gavel",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Action::Join => "join",
            Action::Publish => "publish",
            Action::SeeComposite => "see composite",
            Action::MuteOthers => "mute others",
            Action::RemoveParticipant => "remove participant",
            Action::Record => "start/stop recording",
            Action::Download => "download",
            Action::AdjustKey => "adjust key settings",
            Action::LockCameraView => "lock camera view",
            Action::Monitor => "monitor",
            Action::ManageHearings => "manage hearings",
            Action::ViewAudit => "view audit trail",
            Action::ManageAccounts => "manage accounts",
            Action::Broadcast => "start/stop broadcast",
            Action::CutBroadcast => "cut broadcast",
            Action::PresentExhibit => "present exhibit",
            Action::ManageExhibits => "manage exhibits",
            Action::Gavel => "strike gavel",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A column of the table: a hearing role or a portal account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    /// Someone invited to a hearing in this role.
    Role(Role),
    /// A logged-in portal account.
    Account(AccountRole),
}

impl Subject {
    /// Every column, in table order.
    pub const ALL: [Subject; 9] = [
        Subject::Role(Role::PresidingJudge),
        Subject::Role(Role::Assessor),
        Subject::Role(Role::Clerk),
        Subject::Role(Role::Plaintiff),
        Subject::Role(Role::Defendant),
        Subject::Role(Role::Witness),
        Subject::Role(Role::Observer),
        Subject::Account(AccountRole::Clerk),
        Subject::Account(AccountRole::Admin),
    ];

    fn column(self) -> usize {
        Subject::ALL
            .iter()
            .position(|s| *s == self)
            .expect("every subject has a column")
    }

    fn label(self) -> String {
        match self {
            Subject::Role(r) => r.as_str().replace('_', " "),
            Subject::Account(a) => format!("{a} account"),
        }
    }
}

const Y: bool = true;
const N: bool = false;

/// The table. Columns: presiding judge, assessor, clerk, plaintiff, defendant, witness,
/// observer, clerk account, admin account.
pub const TABLE: [(Action, [bool; 9]); 18] = [
    (Action::Join, [Y, Y, Y, Y, Y, Y, Y, N, N]),
    (Action::Publish, [Y, Y, Y, Y, Y, Y, N, N, N]),
    (Action::SeeComposite, [Y, Y, Y, Y, Y, Y, Y, Y, Y]),
    (Action::MuteOthers, [Y, N, Y, N, N, N, N, Y, Y]),
    (Action::RemoveParticipant, [Y, N, Y, N, N, N, N, Y, Y]),
    (Action::Record, [Y, N, Y, N, N, N, N, Y, Y]),
    (Action::Download, [N, N, N, N, N, N, N, Y, Y]),
    (Action::AdjustKey, [N, N, Y, N, N, N, N, Y, Y]),
    (Action::LockCameraView, [Y, N, Y, N, N, N, N, Y, Y]),
    (Action::Monitor, [Y, N, Y, N, N, N, N, Y, Y]),
    (Action::ManageHearings, [N, N, N, N, N, N, N, Y, Y]),
    (Action::ViewAudit, [N, N, N, N, N, N, N, Y, Y]),
    (Action::ManageAccounts, [N, N, N, N, N, N, N, N, Y]),
    (Action::Broadcast, [N, N, Y, N, N, N, N, Y, Y]),
    (Action::CutBroadcast, [Y, N, Y, N, N, N, N, Y, Y]),
    (Action::PresentExhibit, [Y, N, Y, Y, Y, N, N, Y, Y]),
    (Action::ManageExhibits, [Y, N, Y, N, N, N, N, Y, Y]),
    (Action::Gavel, [Y, N, N, N, N, N, N, N, N]),
];

/// Whether the table lets `subject` do `action` (ignoring which hearing).
pub fn allowed(subject: Subject, action: Action) -> bool {
    TABLE
        .iter()
        .find(|(a, _)| *a == action)
        .map(|(_, row)| row[subject.column()])
        .unwrap_or(false)
}

/// Someone asking to act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal<'a> {
    /// Holds an invitation to `hearing` in `role`.
    Invitee {
        /// Their role.
        role: Role,
        /// The one hearing their invitation admits to.
        hearing: &'a str,
    },
    /// A logged-in portal account.
    Account(AccountRole),
}

impl Principal<'_> {
    /// The table column.
    pub fn subject(&self) -> Subject {
        match self {
            Principal::Invitee { role, .. } => Subject::Role(*role),
            Principal::Account(a) => Subject::Account(*a),
        }
    }
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The table says no.
    #[error("a {subject} may not {action}")]
    NotPermitted {
        /// Who asked, as the table names them.
        subject: String,
        /// What they asked.
        action: Action,
    },
    /// An invitee asked to act on a hearing other than theirs (or on no hearing at all).
    #[error("this invitation is for another hearing")]
    OtherHearing,
}

/// The one check: may `who` do `action`, on `hearing` when the action concerns one?
pub fn check(who: &Principal<'_>, action: Action, hearing: Option<&str>) -> Result<(), Refusal> {
    if let Principal::Invitee {
        hearing: theirs, ..
    } = who
    {
        if hearing != Some(*theirs) {
            return Err(Refusal::OtherHearing);
        }
    }
    if allowed(who.subject(), action) {
        Ok(())
    } else {
        Err(Refusal::NotPermitted {
            subject: who.subject().label(),
            action,
        })
    }
}

/// The table as Markdown (for the README and the module docs).
pub fn markdown_table() -> String {
    let mut out = String::from("| action |");
    for s in Subject::ALL {
        out.push_str(&format!(" {} |", s.label()));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(Subject::ALL.len()));
    out.push('\n');
    for (action, row) in TABLE {
        out.push_str(&format!("| {} |", action.label()));
        for cell in row {
            out.push_str(if cell { " ✓ |" } else { " · |" });
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every cell, written out a second time by hand: (action, subjects allowed).
    fn expected(action: Action, subject: Subject) -> bool {
        use AccountRole as A;
        use Role::*;
        let bench_clerk = [
            Subject::Role(PresidingJudge),
            Subject::Role(Clerk),
            Subject::Account(A::Clerk),
            Subject::Account(A::Admin),
        ];
        let accounts = [Subject::Account(A::Clerk), Subject::Account(A::Admin)];
        match action {
            Action::Join => matches!(subject, Subject::Role(_)),
            Action::Publish => {
                matches!(subject, Subject::Role(r) if r != Observer)
            }
            Action::SeeComposite => true,
            Action::MuteOthers
            | Action::RemoveParticipant
            | Action::Record
            | Action::LockCameraView
            | Action::Monitor => bench_clerk.contains(&subject),
            Action::AdjustKey => subject == Subject::Role(Clerk) || accounts.contains(&subject),
            Action::Download | Action::ManageHearings | Action::ViewAudit => {
                accounts.contains(&subject)
            }
            Action::ManageAccounts => subject == Subject::Account(A::Admin),
            // The clerk runs the broadcast; the presiding judge can only cut it.
            Action::Broadcast => subject == Subject::Role(Clerk) || accounts.contains(&subject),
            Action::CutBroadcast => bench_clerk.contains(&subject),
            // The parties present; the witness only when allowed (held by the hearing).
            Action::PresentExhibit => {
                bench_clerk.contains(&subject)
                    || matches!(subject, Subject::Role(Plaintiff | Defendant))
            }
            Action::ManageExhibits => bench_clerk.contains(&subject),
            // Only the presiding judge opens and closes the court.
            Action::Gavel => subject == Subject::Role(PresidingJudge),
        }
    }

    #[test]
    fn every_cell_of_the_table_is_as_specified_on_the_own_hearing() {
        let mut checked = 0;
        for action in Action::ALL {
            for subject in Subject::ALL {
                let who = match subject {
                    Subject::Role(role) => Principal::Invitee {
                        role,
                        hearing: "h1",
                    },
                    Subject::Account(a) => Principal::Account(a),
                };
                let got = check(&who, action, Some("h1"));
                assert_eq!(
                    got.is_ok(),
                    expected(action, subject),
                    "{subject:?} {action}: {got:?}"
                );
                if let Err(refusal) = got {
                    assert!(
                        matches!(refusal, Refusal::NotPermitted { action: a, .. } if a == action)
                    );
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 18 * 9);
    }

    #[test]
    fn no_invitee_may_act_on_another_hearing_whatever_the_role() {
        for action in Action::ALL {
            for role in Role::ALL {
                let who = Principal::Invitee {
                    role,
                    hearing: "h1",
                };
                assert_eq!(check(&who, action, Some("h2")), Err(Refusal::OtherHearing));
                assert_eq!(check(&who, action, None), Err(Refusal::OtherHearing));
            }
        }
    }

    #[test]
    fn a_party_can_neither_download_nor_record() {
        for role in [Role::Plaintiff, Role::Defendant, Role::Witness] {
            let who = Principal::Invitee { role, hearing: "h" };
            assert!(check(&who, Action::Download, Some("h")).is_err());
            assert!(check(&who, Action::Record, Some("h")).is_err());
            assert!(check(&who, Action::Join, Some("h")).is_ok());
        }
    }

    #[test]
    fn an_observer_watches_and_listens_and_does_nothing_else() {
        let who = Principal::Invitee {
            role: Role::Observer,
            hearing: "h",
        };
        for action in Action::ALL {
            let ok = check(&who, action, Some("h")).is_ok();
            assert_eq!(
                ok,
                matches!(action, Action::Join | Action::SeeComposite),
                "{action}"
            );
        }
    }

    #[test]
    fn the_documented_table_is_the_table() {
        let doc = include_str!("permissions.rs");
        let readme = include_str!("../README.md");
        for line in markdown_table().lines() {
            assert!(
                doc.contains(&format!("//! {line}")),
                "module docs lack {line:?}"
            );
            assert!(
                readme.contains(&format!("\n{line}\n")),
                "README lacks {line:?}"
            );
        }
        assert_eq!(Action::ALL.len(), TABLE.len());
        for (i, (a, _)) in TABLE.iter().enumerate() {
            assert_eq!(*a, Action::ALL[i]);
        }
    }
}
