//! The ordered event log and the bus that carries it to screens and bots. Every change appends
//! its events in the same transaction; after the commit the service publishes them.

use crate::dialog::{Responsible, Viewer};
use crate::ids::{DialogId, ManagerId};
use crate::time::Timestamp;
use serde::Serialize;
use std::sync::Arc;

/// The position of an event in the log; clients resume after the last one they saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, utoipa::ToSchema)]
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

/// An event to append: its kind, what it is about, who may see it, and its data.
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub kind: &'static str,
    pub dialog_id: Option<DialogId>,
    pub audience: Audience,
    pub payload: serde_json::Value,
}

/// An event as stored, with its id. `json` is the wire form, encoded once for every recipient.
#[derive(Clone, Debug)]
pub struct Event {
    pub id: EventId,
    pub kind: String,
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
    fn the_wire_form_is_valid_json() {
        let json = Event::encode(EventId(7), "message_new", Some(DialogId(3)), r#"{"a":1}"#);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["id"], 7);
        assert_eq!(v["kind"], "message_new");
        assert_eq!(v["dialog_id"], 3);
        assert_eq!(v["data"]["a"], 1);
    }
}
