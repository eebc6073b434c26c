//! The website's visitors on this server: whose widget is connected (presence, F39) and the
//! fan-out of their dialogs' events. Events reach a visitor's connections by dialog, never by
//! asking every connection; a connection that cannot keep up is dropped and resumes from the log.

use beseda_core::event::{Event, EventBus};
use beseda_core::ids::{ChannelId, DialogId};
use beseda_core::services::widget::WidgetService;
use beseda_core::time::{Clock, Timestamp};
use beseda_core::widget::{Presence, PresencePort, Visitor};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How long a visitor may be gone (the next page of the site loading) before they count as
/// having left.
pub const GRACE: Duration = Duration::from_secs(15);
/// How many events may wait for one visitor connection.
const QUEUE: usize = 64;

type VisitorKey = (ChannelId, String);

fn key_of(v: &Visitor) -> VisitorKey {
    (v.channel_id, v.external_id.clone())
}

/// What a visitor connection is told.
pub enum Nudge {
    /// An event of their dialog, shared by all its connections.
    Event(Arc<Event>),
    /// Their first message started this dialog; its first events may have gone by before the
    /// connection followed it, so the connection reads them from the log.
    DialogStarted(DialogId),
}

struct Conn {
    visitor: Visitor,
    dialog: Option<DialogId>,
    tx: mpsc::Sender<Nudge>,
}

#[derive(Default)]
struct Registry {
    next: u64,
    conns: HashMap<u64, Conn>,
    by_dialog: HashMap<DialogId, HashSet<u64>>,
    by_visitor: HashMap<VisitorKey, HashSet<u64>>,
    /// Visitors whose last connection closed, and when; reported as gone after the grace.
    left: HashMap<VisitorKey, (Timestamp, Visitor)>,
}

impl Registry {
    fn unlink(&mut self, id: u64, dialog: Option<DialogId>) {
        if let Some(d) = dialog
            && let Some(set) = self.by_dialog.get_mut(&d)
        {
            set.remove(&id);
            if set.is_empty() {
                self.by_dialog.remove(&d);
            }
        }
    }
}

#[derive(Clone)]
pub struct Visitors {
    inner: Arc<Mutex<Registry>>,
    clock: Arc<dyn Clock>,
    grace: Duration,
}

/// A visitor's live connection; unregisters when dropped.
pub struct VisitorConnection {
    visitors: Visitors,
    id: u64,
    pub events: mpsc::Receiver<Nudge>,
}

impl Drop for VisitorConnection {
    fn drop(&mut self) {
        let now = self.visitors.clock.now();
        let mut r = self.visitors.lock();
        if let Some(conn) = r.conns.remove(&self.id) {
            r.unlink(self.id, conn.dialog);
            let key = key_of(&conn.visitor);
            let last = match r.by_visitor.get_mut(&key) {
                Some(set) => {
                    set.remove(&self.id);
                    set.is_empty()
                }
                None => true,
            };
            if last {
                r.by_visitor.remove(&key);
                r.left.insert(key, (now, conn.visitor));
            }
        }
    }
}

impl Visitors {
    pub fn new(clock: Arc<dyn Clock>, grace: Duration) -> Visitors {
        Visitors {
            inner: Arc::default(),
            clock,
            grace,
        }
    }

    pub fn grace(&self) -> Duration {
        self.grace
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        // The maps stay usable after a panic elsewhere: at worst a connection is forgotten.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A new connection of a visitor, following their dialog once they have one. Returns it
    /// and whether the visitor arrived (nobody of theirs was here a moment ago).
    pub fn connect(
        &self,
        visitor: &Visitor,
        dialog: Option<DialogId>,
    ) -> (VisitorConnection, bool) {
        let key = key_of(visitor);
        let (tx, rx) = mpsc::channel(QUEUE);
        let mut r = self.lock();
        r.next += 1;
        let id = r.next;
        let arrived = !r.by_visitor.contains_key(&key) && r.left.remove(&key).is_none();
        r.by_visitor.entry(key.clone()).or_default().insert(id);
        if let Some(d) = dialog {
            r.by_dialog.entry(d).or_default().insert(id);
        }
        r.conns.insert(
            id,
            Conn {
                visitor: visitor.clone(),
                dialog,
                tx,
            },
        );
        let conn = VisitorConnection {
            visitors: self.clone(),
            id,
            events: rx,
        };
        (conn, arrived)
    }

    /// The visitor wrote their first message: their open connections follow the new dialog.
    pub fn dialog_started(&self, visitor: &Visitor, dialog: DialogId) {
        let key = key_of(visitor);
        let mut r = self.lock();
        let ids: Vec<u64> = r
            .by_visitor
            .get(&key)
            .into_iter()
            .flatten()
            .copied()
            .collect();
        for id in ids {
            if let Some(c) = r.conns.get_mut(&id)
                && c.dialog.is_none()
            {
                c.dialog = Some(dialog);
                // A full queue means a slow connection, which resumes from the log anyway.
                let _ = c.tx.try_send(Nudge::DialogStarted(dialog));
                r.by_dialog.entry(dialog).or_default().insert(id);
            }
        }
    }

    pub fn connections(&self) -> usize {
        self.lock().conns.len()
    }

    /// Sends an event to the visitor connections of its dialog; drops those that lag.
    pub fn dispatch(&self, event: &Event) {
        let Some(dialog) = event.dialog_id else {
            return;
        };
        let mut r = self.lock();
        let Some(ids) = r.by_dialog.get(&dialog) else {
            return;
        };
        let event = Arc::new(event.clone());
        let slow: Vec<u64> = ids
            .iter()
            .filter(|id| {
                r.conns
                    .get(id)
                    .is_some_and(|c| c.tx.try_send(Nudge::Event(event.clone())).is_err())
            })
            .copied()
            .collect();
        for id in slow {
            // Its receiver sees the channel closed and ends; the visitor reconnects and replays.
            if let Some(c) = r.conns.get_mut(&id) {
                c.tx = mpsc::channel(1).0;
            }
            r.unlink(id, Some(dialog));
        }
    }

    /// The visitors gone for longer than the grace at `now`: they left the site.
    pub fn sweep(&self, now: Timestamp) -> Vec<Visitor> {
        let mut r = self.lock();
        let gone: Vec<VisitorKey> = r
            .left
            .iter()
            .filter(|(_, (at, _))| now >= at.plus(self.grace))
            .map(|(k, _)| k.clone())
            .collect();
        gone.iter()
            .filter_map(|k| r.left.remove(k).map(|(_, v)| v))
            .collect()
    }

    /// Reads the bus and records departures until shutdown.
    pub async fn run(
        self,
        widget: Arc<WidgetService>,
        bus: Arc<dyn EventBus>,
        shutdown: CancellationToken,
    ) {
        let mut rx = bus.subscribe();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = tick.tick() => {
                    for v in self.sweep(self.clock.now()) {
                        if let Err(e) = widget.presence(&v, false).await {
                            tracing::warn!(error = %e, "recording a visitor's departure failed");
                        }
                    }
                }
                received = rx.recv() => match received {
                    Ok(event) => self.dispatch(&event),
                    Err(RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "visitor fan-out fell behind; connections resume from the log");
                        let mut r = self.lock();
                        let ids: Vec<u64> = r.conns.keys().copied().collect();
                        for id in ids {
                            let dialog = r.conns.get(&id).and_then(|c| c.dialog);
                            if let Some(c) = r.conns.get_mut(&id) {
                                c.tx = mpsc::channel(1).0;
                            }
                            r.unlink(id, dialog);
                        }
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        }
    }
}

impl PresencePort for Visitors {
    fn presence(&self, channel: ChannelId, visitor: &str) -> Presence {
        let key = (channel, visitor.to_owned());
        let r = self.lock();
        if r.by_visitor.contains_key(&key) {
            Presence::Here
        } else if let Some((at, _)) = r.left.get(&key) {
            Presence::LeftAt(*at)
        } else {
            Presence::Unknown
        }
    }
}
