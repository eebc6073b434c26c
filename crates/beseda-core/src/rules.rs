//! The dialog's rules as pure functions: given what a write read of the dialog under its lock,
//! they decide what the change does — reopen, the waiting mark, the author's draft and read
//! state, the feed's line, and which events go to whom. The stores carry the decision out and
//! decide nothing themselves; these functions need no database to test.

use crate::dialog::{DeliveryStatus, Responsible, WaitingLevel};
use crate::error::{CoreError, CoreResult};
use crate::event::{Audience, DomainEvent, NewEvent};
use crate::ids::{ClientId, DialogId, ManagerId};
use crate::library::TimeLimits;
use crate::store::Guard;
use crate::time::Timestamp;

/// What a write knows of a dialog, read under its lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DialogState {
    pub id: DialogId,
    pub open: bool,
    pub responsible: Option<Responsible>,
    pub client_id: Option<ClientId>,
    /// Since when the client waits for an answer (F20, F34).
    pub waiting_since: Option<Timestamp>,
}

impl DialogState {
    /// An event of this dialog for whoever may see it.
    pub fn event(&self, event: DomainEvent) -> NewEvent {
        NewEvent::dialog(self.id, self.responsible, event)
    }
}

/// F29, F07: the right the service checked still holds under the lock, or the write is refused
/// (a reassignment raced with it).
pub fn check(d: &DialogState, guard: Guard) -> CoreResult<()> {
    let holds = match guard {
        Guard::Any => true,
        Guard::ResponsibleIs(r) => d.responsible == Some(r),
        Guard::Unassigned => d.responsible.is_none(),
    };
    if holds {
        Ok(())
    } else {
        Err(CoreError::DialogNotYours)
    }
}

/// A closed dialog opens again on a new message, the client's (`by` nobody), a manager's or a
/// bot's (F08).
pub fn reopening(d: &DialogState, by: Option<Responsible>) -> Option<DomainEvent> {
    (!d.open).then_some(DomainEvent::DialogReopened { by })
}

/// What a client's message does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientMessage {
    /// F10: the client is blocked; the message stays out of the inbox and only the audit trail
    /// keeps it.
    Refused(DomainEvent),
    Accepted {
        /// F08: the dialog's reopening, with its line in the feed.
        reopened: Option<DomainEvent>,
        /// F34: the first unanswered client message starts the clock; later ones keep it.
        waiting_since: Timestamp,
    },
}

pub fn client_message(
    d: &DialogState,
    client_blocked: bool,
    external_id: &str,
    body: &str,
    now: Timestamp,
) -> ClientMessage {
    if client_blocked {
        return ClientMessage::Refused(DomainEvent::InboundRefused {
            external_id: external_id.to_owned(),
            body: body.to_owned(),
            reason: CoreError::ClientBlocked.code().to_owned(),
        });
    }
    ClientMessage::Accepted {
        reopened: reopening(d, None),
        waiting_since: d.waiting_since.unwrap_or(now),
    }
}

/// What a manager's message does (F08, F18, F29, F31). It answers the client, so the store
/// also ends their wait (F34).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompanyMessage {
    /// The dialog's reopening by the author, with its line in the feed.
    pub reopened: Option<DomainEvent>,
    /// It waits in the delivery queue until the channel takes it (F31).
    pub status: DeliveryStatus,
    /// A manager's draft is sent: it goes, and the author's screens learn it (F18).
    pub draft_dropped: Option<NewEvent>,
    /// A manager has read the dialog up to their own message (F03).
    pub read_by: Option<ManagerId>,
}

pub fn company_message(
    d: &DialogState,
    author: Responsible,
    guard: Guard,
    client_blocked: bool,
) -> CoreResult<CompanyMessage> {
    check(d, guard)?;
    if client_blocked {
        return Err(CoreError::ClientBlocked);
    }
    let manager = author.manager();
    Ok(CompanyMessage {
        reopened: reopening(d, Some(author)),
        status: DeliveryStatus::Queued,
        draft_dropped: manager.map(|m| draft_changed(d.id, m, None)),
        read_by: manager,
    })
}

/// What a reassignment does (F07).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reassignment {
    /// The line in the feed: from whom, to whom, by whom; seen by the new audience.
    pub line: DomainEvent,
    /// Those who could see the dialog and no longer can learn it is gone from their sight.
    pub gone: NewEvent,
    /// The manager it is taken from: their replies still waiting in the queue are not sent,
    /// as they may no longer write here (F29).
    pub withdrawn_from: Option<ManagerId>,
}

/// `None` when the dialog already is `to`'s. A closed dialog stays closed and the waiting mark
/// stays: reassigning is not answering (F07, F34).
pub fn reassign(
    d: &DialogState,
    to: Option<Responsible>,
    by: Responsible,
    reason: Option<crate::distribution::AssignReason>,
    guard: Guard,
) -> CoreResult<Option<Reassignment>> {
    check(d, guard)?;
    if d.responsible == to {
        return Ok(None);
    }
    Ok(Some(Reassignment {
        line: DomainEvent::DialogAssigned {
            from: d.responsible,
            to,
            by,
            reason,
        },
        gone: NewEvent {
            event: DomainEvent::DialogGone {},
            dialog_id: Some(d.id),
            audience: Audience::Left {
                before: d.responsible,
                after: to,
            },
        },
        withdrawn_from: match d.responsible {
            Some(Responsible::Manager(m)) => Some(m),
            _ => None,
        },
    }))
}

/// Closing by hand (F08): `None` when it is closed already. A closed dialog waits for no answer
/// (F34), so the waiting mark goes with it.
pub fn close(d: &DialogState, by: Responsible, guard: Guard) -> CoreResult<Option<DomainEvent>> {
    check(d, guard)?;
    Ok(d.open.then_some(DomainEvent::DialogClosed { by }))
}

/// What the waiting timer makes of a dialog it looked at (F13, F34): the level now, when to
/// look again, and the event when the level moved since it was last recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitingStep {
    pub level: WaitingLevel,
    pub next_at: Option<Timestamp>,
    pub changed: Option<NewEvent>,
}

pub fn waiting_step(
    d: &DialogState,
    recorded: WaitingLevel,
    limits: TimeLimits,
    now: Timestamp,
) -> WaitingStep {
    let (level, next_at) = limits.waiting(d.waiting_since, now);
    WaitingStep {
        level,
        next_at,
        changed: (level != recorded).then(|| {
            d.event(DomainEvent::WaitingLevelChanged {
                level,
                next_change_at: next_at,
            })
        }),
    }
}

/// Detaching the client card (F14): `None` when no client is linked.
pub fn detach(d: &DialogState, by: ManagerId, guard: Guard) -> CoreResult<Option<DomainEvent>> {
    check(d, guard)?;
    Ok(d.client_id
        .map(|client_id| DomainEvent::ClientDetached { client_id, by }))
}

/// The line each of a client's dialogs gets when the client is blocked or unblocked (F10).
pub fn blocking(blocked: bool, by: ManagerId) -> DomainEvent {
    if blocked {
        DomainEvent::ClientBlocked { by }
    } else {
        DomainEvent::ClientUnblocked { by }
    }
}

/// Reading and marking unread are the reader's own (F03, F09): only they hear of it.
pub fn read_state(dialog: DialogId, manager: ManagerId, read: bool) -> NewEvent {
    let event = if read {
        DomainEvent::DialogRead { unread_messages: 0 }
    } else {
        DomainEvent::DialogUnread {}
    };
    NewEvent::personal(dialog, manager, event)
}

/// A draft is its author's alone (F18).
pub fn draft_changed(dialog: DialogId, manager: ManagerId, draft: Option<&str>) -> NewEvent {
    let draft = draft.map(str::to_owned);
    NewEvent::personal(dialog, manager, DomainEvent::DraftChanged { draft })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialog::Viewer;

    const ANNA: ManagerId = ManagerId(1);
    const BORIS: ManagerId = ManagerId(2);
    const ADMIN: ManagerId = ManagerId(9);

    fn dialog() -> DialogState {
        DialogState {
            id: DialogId(7),
            open: true,
            responsible: Some(Responsible::Manager(ANNA)),
            client_id: Some(ClientId(3)),
            waiting_since: None,
        }
    }

    fn closed() -> DialogState {
        DialogState {
            open: false,
            ..dialog()
        }
    }

    fn viewer(manager: ManagerId) -> Viewer {
        Viewer {
            manager,
            sees_all: manager == ADMIN,
        }
    }

    #[test]
    fn f13_the_timer_moves_the_mark_once_per_level_and_says_when_it_moves_next() {
        let limits = TimeLimits {
            warning_secs: Some(60),
            danger_secs: Some(300),
        };
        let waiting = DialogState {
            waiting_since: Some(Timestamp(1_000)),
            ..dialog()
        };
        let early = waiting_step(&waiting, WaitingLevel::None, limits, Timestamp(2_000));
        assert_eq!(early.level, WaitingLevel::None);
        assert_eq!(early.next_at, Some(Timestamp(61_000)));
        assert_eq!(early.changed, None);
        let yellow = waiting_step(&waiting, WaitingLevel::None, limits, Timestamp(61_000));
        assert_eq!(yellow.next_at, Some(Timestamp(301_000)));
        assert_eq!(
            yellow.changed.map(|e| e.event),
            Some(DomainEvent::WaitingLevelChanged {
                level: WaitingLevel::Warning,
                next_change_at: Some(Timestamp(301_000)),
            })
        );
        let again = waiting_step(&waiting, WaitingLevel::Warning, limits, Timestamp(62_000));
        assert_eq!(again.changed, None);
        let answered = waiting_step(&dialog(), WaitingLevel::Danger, limits, Timestamp(62_000));
        assert_eq!(
            (answered.level, answered.next_at),
            (WaitingLevel::None, None)
        );
        assert!(answered.changed.is_some());
    }

    #[test]
    fn f07_reassigning_tells_the_previous_manager_it_is_gone_and_records_who_did_it() {
        let to = Some(Responsible::Manager(BORIS));
        let r = reassign(
            &dialog(),
            to,
            Responsible::Manager(ANNA),
            None,
            Guard::ResponsibleIs(Responsible::Manager(ANNA)),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            r.line,
            DomainEvent::DialogAssigned {
                reason: None,
                from: Some(Responsible::Manager(ANNA)),
                to,
                by: Responsible::Manager(ANNA)
            }
        );
        assert!(r.gone.audience.admits(&viewer(ANNA)), "Anna loses it");
        assert!(!r.gone.audience.admits(&viewer(BORIS)), "Boris gains it");
        assert!(
            !r.gone.audience.admits(&viewer(ADMIN)),
            "an administrator keeps it"
        );
    }

    #[test]
    fn f07_reassigning_to_the_same_responsible_changes_nothing() {
        let same = Some(Responsible::Manager(ANNA));
        assert_eq!(
            reassign(
                &dialog(),
                same,
                Responsible::Manager(ADMIN),
                None,
                Guard::Any
            )
            .unwrap(),
            None
        );
    }

    #[test]
    fn f07_f29_only_the_responsible_or_an_administrator_reassigns() {
        let to = Some(Responsible::Manager(BORIS));
        let refused = reassign(
            &dialog(),
            to,
            Responsible::Manager(BORIS),
            None,
            Guard::ResponsibleIs(Responsible::Manager(BORIS)),
        );
        assert_eq!(refused.unwrap_err().code(), "dialog_not_yours");
        assert!(reassign(&dialog(), to, Responsible::Manager(ADMIN), None, Guard::Any).is_ok());
    }

    #[test]
    fn f07_a_closed_dialog_stays_closed_when_reassigned() {
        let to = Some(Responsible::Manager(BORIS));
        let r = reassign(&closed(), to, Responsible::Manager(ADMIN), None, Guard::Any)
            .unwrap()
            .unwrap();
        assert!(!matches!(r.line, DomainEvent::DialogReopened { .. }));
    }

    #[test]
    fn f08_a_client_message_reopens_a_closed_dialog() {
        let ClientMessage::Accepted { reopened, .. } =
            client_message(&closed(), false, "e1", "hi", Timestamp(5))
        else {
            panic!("accepted")
        };
        assert_eq!(reopened, Some(DomainEvent::DialogReopened { by: None }));
        let ClientMessage::Accepted { reopened, .. } =
            client_message(&dialog(), false, "e2", "hi", Timestamp(5))
        else {
            panic!("accepted")
        };
        assert_eq!(reopened, None, "an open dialog is not reopened");
    }

    #[test]
    fn f08_f29_a_managers_message_reopens_a_closed_dialog_in_their_name() {
        let m = company_message(
            &closed(),
            Responsible::Manager(ANNA),
            Guard::ResponsibleIs(Responsible::Manager(ANNA)),
            false,
        )
        .unwrap();
        assert_eq!(
            m.reopened,
            Some(DomainEvent::DialogReopened {
                by: Some(Responsible::Manager(ANNA))
            })
        );
    }

    #[test]
    fn f08_closing_a_closed_dialog_changes_nothing() {
        assert_eq!(
            close(
                &dialog(),
                Responsible::Manager(ANNA),
                Guard::ResponsibleIs(Responsible::Manager(ANNA))
            )
            .unwrap(),
            Some(DomainEvent::DialogClosed {
                by: Responsible::Manager(ANNA)
            })
        );
        assert_eq!(
            close(&closed(), Responsible::Manager(ANNA), Guard::Any).unwrap(),
            None
        );
    }

    #[test]
    fn f09_marking_unread_is_heard_by_the_manager_alone() {
        let e = read_state(DialogId(7), BORIS, false);
        assert_eq!(e.event, DomainEvent::DialogUnread {});
        assert!(e.audience.admits(&viewer(BORIS)));
        assert!(!e.audience.admits(&viewer(ANNA)) && !e.audience.admits(&viewer(ADMIN)));
    }

    #[test]
    fn f10_a_blocked_clients_message_is_refused_for_the_audit_trail_only() {
        let refused = client_message(&dialog(), true, "e1", "let me in", Timestamp(5));
        assert!(matches!(
            refused,
            ClientMessage::Refused(DomainEvent::InboundRefused { ref body, .. }) if body == "let me in"
        ));
        let written = company_message(
            &dialog(),
            Responsible::Manager(ANNA),
            Guard::ResponsibleIs(Responsible::Manager(ANNA)),
            true,
        );
        assert_eq!(written.unwrap_err().code(), "client_blocked");
        assert_eq!(
            blocking(true, ANNA),
            DomainEvent::ClientBlocked { by: ANNA }
        );
    }

    #[test]
    fn f14_detaching_names_the_client_and_needs_one() {
        assert_eq!(
            detach(
                &dialog(),
                ANNA,
                Guard::ResponsibleIs(Responsible::Manager(ANNA))
            )
            .unwrap(),
            Some(DomainEvent::ClientDetached {
                client_id: ClientId(3),
                by: ANNA
            })
        );
        let without = DialogState {
            client_id: None,
            ..dialog()
        };
        assert_eq!(detach(&without, ANNA, Guard::Any).unwrap(), None);
    }

    #[test]
    fn f18_sending_drops_the_authors_draft_and_tells_only_them() {
        let m = company_message(
            &dialog(),
            Responsible::Manager(ANNA),
            Guard::ResponsibleIs(Responsible::Manager(ANNA)),
            false,
        )
        .unwrap();
        let dropped = m.draft_dropped.unwrap();
        assert_eq!(dropped.event, DomainEvent::DraftChanged { draft: None });
        assert!(dropped.audience.admits(&viewer(ANNA)));
        assert!(!dropped.audience.admits(&viewer(ADMIN)));
        assert_eq!(
            m.read_by,
            Some(ANNA),
            "the author has read up to their message"
        );
        // A bot has no draft and no read state.
        let by_bot = company_message(
            &dialog(),
            Responsible::Bot(crate::ids::BotId(1)),
            Guard::Any,
            false,
        )
        .unwrap();
        assert_eq!((by_bot.draft_dropped, by_bot.read_by), (None, None));
    }

    #[test]
    fn who_did_it_reads_back_from_old_and_new_events() {
        let old: DomainEvent = DomainEvent::from_parts("dialog_closed", r#"{"by": 4}"#).unwrap();
        let new: DomainEvent =
            DomainEvent::from_parts("dialog_closed", r#"{"by": {"type": "bot", "id": 2}}"#)
                .unwrap();
        assert_eq!(
            old,
            DomainEvent::DialogClosed {
                by: Responsible::Manager(ManagerId(4))
            }
        );
        assert_eq!(
            new,
            DomainEvent::DialogClosed {
                by: Responsible::Bot(crate::ids::BotId(2))
            }
        );
        let reopened: DomainEvent =
            DomainEvent::from_parts("dialog_reopened", r#"{"by": 7}"#).unwrap();
        assert_eq!(
            reopened,
            DomainEvent::DialogReopened {
                by: Some(Responsible::Manager(ManagerId(7)))
            }
        );
        let by_client: DomainEvent =
            DomainEvent::from_parts("dialog_reopened", r#"{"by": null}"#).unwrap();
        assert_eq!(by_client, DomainEvent::DialogReopened { by: None });
    }

    #[test]
    fn f29_a_manager_from_whom_the_dialog_was_taken_cannot_write() {
        let taken = DialogState {
            responsible: Some(Responsible::Manager(BORIS)),
            ..dialog()
        };
        let refused = company_message(
            &taken,
            Responsible::Manager(ANNA),
            Guard::ResponsibleIs(Responsible::Manager(ANNA)),
            false,
        );
        assert_eq!(refused.unwrap_err().code(), "dialog_not_yours");
        let to_bot = DialogState {
            responsible: Some(Responsible::Bot(crate::ids::BotId(1))),
            ..dialog()
        };
        assert!(check(&to_bot, Guard::Unassigned).is_err());
        assert!(check(&to_bot, Guard::Any).is_ok());
    }

    #[test]
    fn f31_a_managers_message_starts_queued() {
        let m = company_message(&dialog(), Responsible::Manager(ANNA), Guard::Any, false).unwrap();
        assert_eq!(m.status, DeliveryStatus::Queued);
    }

    #[test]
    fn f34_the_first_unanswered_client_message_starts_the_clock_and_an_answer_stops_it() {
        let ClientMessage::Accepted { waiting_since, .. } =
            client_message(&dialog(), false, "e1", "?", Timestamp(100))
        else {
            panic!("accepted")
        };
        assert_eq!(waiting_since, Timestamp(100));
        let waiting = DialogState {
            waiting_since: Some(Timestamp(50)),
            ..dialog()
        };
        let ClientMessage::Accepted { waiting_since, .. } =
            client_message(&waiting, false, "e2", "??", Timestamp(100))
        else {
            panic!("accepted")
        };
        assert_eq!(
            waiting_since,
            Timestamp(50),
            "a second message keeps the clock"
        );
    }

    #[test]
    fn f33_a_dialogs_events_reach_who_may_see_it() {
        let d = dialog();
        let e = d.event(DomainEvent::DialogClosed {
            by: Responsible::Manager(ANNA),
        });
        assert!(e.audience.admits(&viewer(ANNA)) && e.audience.admits(&viewer(ADMIN)));
        assert!(!e.audience.admits(&viewer(BORIS)));
    }
}
