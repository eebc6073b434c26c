//! The ordered event log and the bus that carries it to screens and bots. Every change appends
//! its events in the same transaction; after the commit the service publishes them.

use crate::dialog::{MessageView, Responsible, Viewer, WaitingLevel};
use crate::ids::{ClientId, DialogId, ManagerId, MessageId, OrderId};
use crate::library::ClientTag;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Everything that happens to a dialog, in one vocabulary: the event log keeps it, the WebSocket
/// sends it, a feed's system line records it (F17), and bots and outgoing webhooks receive it.
/// On the wire an event is `{"kind": "<snake_case variant>", "data": {…}}`; the socket adds the
/// log position (`id`) and the dialog (`dialog_id`) beside them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum DomainEvent {
    /// A message entered the feed: the client's, a manager's, a bot's, or a system line that
    /// records one of the dialog events below (its `event` field).
    MessageNew(MessageChange),
    /// The client edited a message on their side (F16).
    MessageEdited(MessageChange),
    /// The client deleted a message on their side; its text is withheld.
    MessageDeleted(MessageChange),
    /// A company message moved on: sent, delivered, read or failed with a reason (F31).
    MessageStatus(MessageChange),
    /// A closed dialog opened again on a new message (F08); `by` is the manager or bot who
    /// wrote, or nobody when the client did.
    DialogReopened {
        #[serde(deserialize_with = "crate::dialog::doer::optional")]
        by: Option<Responsible>,
    },
    /// The responsible changed (F07): from whom, to whom (`null` is nobody), by whom (a
    /// manager or a bot).
    DialogAssigned {
        from: Option<Responsible>,
        to: Option<Responsible>,
        #[serde(deserialize_with = "crate::dialog::doer::one")]
        by: Responsible,
        /// Why the distribution bot moved it (F36); absent when someone chose to.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<crate::distribution::AssignReason>,
    },
    /// Closed by hand (F08), by a manager or a bot.
    DialogClosed {
        #[serde(deserialize_with = "crate::dialog::doer::one")]
        by: Responsible,
    },
    /// This manager read the dialog up to its end (F03); sent to them only.
    DialogRead {
        unread_messages: i64,
    },
    /// This manager marked the dialog unread (F09); sent to them only.
    DialogUnread {},
    /// Deleted (F19): it leaves every list.
    DialogDeleted {
        by: ManagerId,
    },
    /// The dialog left this recipient's sight (reassigned away from them, F07).
    DialogGone {},
    /// No message goes to or comes from the client any more (F10).
    ClientBlocked {
        by: ManagerId,
    },
    ClientUnblocked {
        by: ManagerId,
    },
    /// The client card was unlinked from the dialog (F14); the client stays.
    ClientDetached {
        client_id: ClientId,
        by: ManagerId,
    },
    /// The client's tags changed (F35): all of them now, pinned ones first.
    ClientTagged {
        client_id: ClientId,
        tags: Vec<ClientTag>,
    },
    /// This manager's unsent reply changed (F18); `null` when it was dropped or sent.
    DraftChanged {
        draft: Option<String>,
    },
    /// A blocked client's message was refused (F10): kept for the audit trail, never sent.
    InboundRefused {
        external_id: String,
        body: String,
        reason: String,
    },
    /// The website visitor closed the site's last page with the widget (F39): replies fail
    /// with "the visitor left the site" until they come back.
    VisitorLeft {},
    /// The website visitor is on the site again.
    VisitorReturned {},
    /// The client reacted to a message with an emoji (`message_id`: the one reacted to, when
    /// the dialog has it), or took their reaction back (an empty `emoji`).
    ClientReacted {
        message_id: Option<MessageId>,
        emoji: String,
    },
    /// An order of the dialog's client was made or changed (F40): the client card shows it.
    OrderChanged {
        order_id: OrderId,
        client_id: ClientId,
    },
    /// The client has waited long enough for the row's mark to change (F13, F34): its `level`
    /// now, and when it moves next (`null`: not unless the client waits again).
    WaitingLevelChanged {
        level: WaitingLevel,
        next_change_at: Option<Timestamp>,
    },
    /// Sent on the socket only: the client missed more than the log keeps and must reload.
    Resync {},
}

impl DomainEvent {
    /// The event's `kind`, as the wire and the log name it.
    pub fn kind(&self) -> String {
        self.to_parts().0
    }

    /// Reads an event back from its kind and its data, as the log keeps them.
    pub fn from_parts(kind: &str, data: &str) -> Result<DomainEvent, serde_json::Error> {
        let data: serde_json::Value = serde_json::from_str(data)?;
        serde_json::from_value(serde_json::json!({ "kind": kind, "data": data }))
    }

    /// The wire form split into its kind and its data (`{}` when it has none), as the log keeps it.
    pub fn to_parts(&self) -> (String, String) {
        let mut wire = serde_json::to_value(self).unwrap_or_default();
        let kind = wire["kind"].as_str().unwrap_or_default().to_owned();
        let data = wire
            .get_mut("data")
            .map_or_else(|| "{}".to_owned(), |d| d.take().to_string());
        (kind, data)
    }
}

/// A frame of the event stream (`GET /api/v1/ws`): an event with its position in the log (resume
/// after it with `?after=`) and the dialog it is about. `resync` has neither.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventFrame {
    pub id: Option<EventId>,
    pub dialog_id: Option<DialogId>,
    #[serde(flatten)]
    pub event: DomainEvent,
}

/// A message and its dialog's keys after the change, so a screen updates the row without asking.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MessageChange {
    #[schema(no_recursion)]
    pub message: MessageView,
    pub dialog: DialogKeys,
}

/// What a dialog's row is sorted and drawn by, as it is after a change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DialogKeys {
    pub id: DialogId,
    pub open: bool,
    pub responsible: Option<Responsible>,
    pub client_id: Option<ClientId>,
    pub last_activity_at: Timestamp,
    pub last_message_preview: Option<String>,
    pub last_message_author: Option<crate::dialog::AuthorKind>,
    pub waiting_since: Option<Timestamp>,
}

/// The position of an event in the log; clients resume after the last one they saw.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(transparent)]
pub struct EventId(pub i64);

/// Who may receive an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// One manager only (their read state, draft, a dialog taken from them).
    Manager(ManagerId),
    /// Whoever may see the dialog, given its responsible at the time (F33).
    Dialog(Option<Responsible>),
    /// Whoever could see the dialog before a reassignment and no longer can (F07).
    Left {
        before: Option<Responsible>,
        after: Option<Responsible>,
    },
    /// Every signed-in manager (tags, settings, a client blocked).
    Everyone,
    /// Recorded for the audit trail, never sent (a blocked client's refused message, F10).
    Audit,
}

impl Audience {
    pub fn admits(&self, viewer: &Viewer) -> bool {
        match self {
            Audience::Manager(m) => *m == viewer.manager,
            Audience::Dialog(responsible) => viewer.may_see(*responsible),
            Audience::Left { before, after } => viewer.may_see(*before) && !viewer.may_see(*after),
            Audience::Everyone => true,
            Audience::Audit => false,
        }
    }
}

/// An event to append: what happened, what it is about, and who may see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    pub event: DomainEvent,
    pub dialog_id: Option<DialogId>,
    pub audience: Audience,
}

impl NewEvent {
    /// An event of one dialog for whoever may see it, given its responsible now.
    pub fn dialog(id: DialogId, responsible: Option<Responsible>, event: DomainEvent) -> NewEvent {
        NewEvent {
            event,
            dialog_id: Some(id),
            audience: Audience::Dialog(responsible),
        }
    }

    /// An event of one dialog for one manager only.
    pub fn personal(id: DialogId, manager: ManagerId, event: DomainEvent) -> NewEvent {
        NewEvent {
            event,
            dialog_id: Some(id),
            audience: Audience::Manager(manager),
        }
    }
}

/// An event as stored, with its id. `json` is the wire form, encoded once for every recipient.
#[derive(Clone, Debug)]
pub struct Event {
    pub id: EventId,
    pub event: DomainEvent,
    pub dialog_id: Option<DialogId>,
    pub audience: Audience,
    pub created_at: Timestamp,
    pub json: Arc<str>,
}

impl Event {
    /// The wire form: `{"id":…,"kind":"…","dialog_id":…,"data":{…}}`.
    pub fn encode(id: EventId, kind: &str, dialog_id: Option<DialogId>, payload: &str) -> Arc<str> {
        let dialog = dialog_id.map_or_else(|| "null".to_owned(), |d| d.0.to_string());
        let kind = serde_json::to_string(kind).unwrap_or_else(|_| "\"\"".into());
        format!(
            "{{\"id\":{},\"kind\":{kind},\"dialog_id\":{dialog},\"data\":{payload}}}",
            id.0
        )
        .into()
    }
}

/// Carries committed events to every listener in this process (and, behind the same port, to
/// other nodes).
pub trait EventBus: Send + Sync + 'static {
    fn publish(&self, events: &[Event]);
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Event>;
}

/// The bus of one process: a broadcast channel. A listener that falls too far behind is told
/// so by the channel (it lagged) and resynchronises from the log.
pub struct LocalBus {
    tx: tokio::sync::broadcast::Sender<Event>,
}

impl LocalBus {
    pub fn new(capacity: usize) -> LocalBus {
        LocalBus {
            tx: tokio::sync::broadcast::channel(capacity).0,
        }
    }
}

impl EventBus for LocalBus {
    fn publish(&self, events: &[Event]) {
        for e in events {
            // No listener is not an error: the log keeps the event.
            let _ = self.tx.send(e.clone());
        }
    }

    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Event> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::BotId;

    #[test]
    fn events_reach_exactly_who_may_see_them() {
        let anna = Viewer {
            manager: ManagerId(1),
            sees_all: false,
        };
        let boris = Viewer {
            manager: ManagerId(2),
            sees_all: false,
        };
        let admin = Viewer {
            manager: ManagerId(3),
            sees_all: true,
        };
        let annas = Audience::Dialog(Some(Responsible::Manager(ManagerId(1))));
        assert!(annas.admits(&anna) && !annas.admits(&boris) && annas.admits(&admin));
        let unassigned = Audience::Dialog(None);
        assert!(unassigned.admits(&anna) && unassigned.admits(&boris));
        let bots = Audience::Dialog(Some(Responsible::Bot(BotId(1))));
        assert!(!bots.admits(&anna) && bots.admits(&admin));
        assert!(
            Audience::Manager(ManagerId(2)).admits(&boris)
                && !Audience::Manager(ManagerId(2)).admits(&admin)
        );
        let taken = Audience::Left {
            before: None,
            after: Some(Responsible::Manager(ManagerId(1))),
        };
        assert!(
            !taken.admits(&anna) && taken.admits(&boris) && !taken.admits(&admin),
            "the others lose an unassigned dialog"
        );
        assert!(!Audience::Audit.admits(&admin));
    }

    #[test]
    fn the_wire_form_is_the_domain_event_with_its_position() {
        let closed = DomainEvent::DialogClosed {
            by: Responsible::Manager(ManagerId(4)),
        };
        let (kind, data) = closed.to_parts();
        let json = Event::encode(EventId(7), &kind, Some(DialogId(3)), &data);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["id"], 7);
        assert_eq!(v["kind"], "dialog_closed");
        assert_eq!(v["dialog_id"], 3);
        assert_eq!(
            v["data"]["by"],
            serde_json::json!({"type": "manager", "id": 4})
        );
        let back: EventFrame = serde_json::from_value(v).unwrap();
        assert_eq!(
            back,
            EventFrame {
                id: Some(EventId(7)),
                dialog_id: Some(DialogId(3)),
                event: closed
            },
            "the socket's frame reads back as the event"
        );
    }

    #[test]
    fn an_event_without_data_keeps_an_empty_object() {
        assert_eq!(
            DomainEvent::Resync {}.to_parts(),
            ("resync".into(), "{}".into())
        );
        assert_eq!(
            DomainEvent::DialogGone {}.to_parts(),
            ("dialog_gone".into(), "{}".into())
        );
        for e in [
            DomainEvent::Resync {},
            DomainEvent::DialogGone {},
            DomainEvent::DialogUnread {},
        ] {
            let (kind, data) = e.to_parts();
            assert_eq!(
                DomainEvent::from_parts(&kind, &data).unwrap(),
                e,
                "{kind} reads back"
            );
        }
    }
}
