//! Fan-out of committed events to the connected managers. One task reads the bus; each event
//! is encoded once and its recipients are looked up from the audience (by manager, or the
//! administrators), never by asking every connection. A connection that cannot keep up is
//! dropped, never awaited: it reconnects and catches up from the log.

use axum::extract::ws::Utf8Bytes;
use beseda_core::dialog::{Responsible, Viewer};
use beseda_core::event::{Audience, Event, EventBus, EventId};
use beseda_core::ids::ManagerId;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// What a connection receives: an event's id and its wire form, shared by all recipients.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub id: EventId,
    pub text: Utf8Bytes,
}

/// How many events may wait for one connection before it counts as too slow.
pub const QUEUE: usize = 256;

#[derive(Default)]
struct Registry {
    next: u64,
    conns: HashMap<u64, (Viewer, mpsc::Sender<Outgoing>)>,
    by_manager: HashMap<ManagerId, HashSet<u64>>,
    sees_all: HashSet<u64>,
}

impl Registry {
    fn remove(&mut self, id: u64) {
        if let Some((viewer, _)) = self.conns.remove(&id) {
            if let Some(set) = self.by_manager.get_mut(&viewer.manager) {
                set.remove(&id);
                if set.is_empty() {
                    self.by_manager.remove(&viewer.manager);
                }
            }
            self.sees_all.remove(&id);
        }
    }

    /// The connections an event goes to.
    fn recipients(&self, audience: &Audience) -> Vec<u64> {
        let of = |m: &ManagerId| self.by_manager.get(m).into_iter().flatten().copied();
        match audience {
            Audience::Audit => Vec::new(),
            Audience::Manager(m) => of(m).collect(),
            Audience::Dialog(Some(Responsible::Manager(m))) => of(m)
                .chain(self.sees_all.iter().copied())
                .collect::<HashSet<_>>()
                .into_iter()
                .collect(),
            Audience::Dialog(Some(Responsible::Bot(_))) => self.sees_all.iter().copied().collect(),
            // Everyone sees an unassigned dialog; a "left" event may concern everyone too.
            Audience::Dialog(None) | Audience::Everyone | Audience::Left { .. } => self
                .conns
                .iter()
                .filter(|(_, (v, _))| audience.admits(v))
                .map(|(id, _)| *id)
                .collect(),
        }
    }
}

#[derive(Clone, Default)]
pub struct Hub {
    inner: Arc<Mutex<Registry>>,
}

/// A registered connection; unregisters when dropped.
pub struct Registration {
    hub: Hub,
    id: u64,
    pub events: mpsc::Receiver<Outgoing>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.lock().remove(self.id);
    }
}

impl Hub {
    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        // A panic while holding the lock cannot leave the maps half-changed in a way that
        // matters more than losing all connections, so a poisoned lock is used as it is.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn register(&self, viewer: Viewer) -> Registration {
        let (tx, rx) = mpsc::channel(QUEUE);
        let mut r = self.lock();
        r.next += 1;
        let id = r.next;
        r.conns.insert(id, (viewer, tx));
        r.by_manager.entry(viewer.manager).or_default().insert(id);
        if viewer.sees_all {
            r.sees_all.insert(id);
        }
        Registration {
            hub: self.clone(),
            id,
            events: rx,
        }
    }

    /// How many sockets one manager holds open.
    pub fn sockets_of(&self, manager: ManagerId) -> usize {
        self.lock().by_manager.get(&manager).map_or(0, HashSet::len)
    }

    pub fn connections(&self) -> usize {
        self.lock().conns.len()
    }

    /// Sends one event to its recipients; drops those whose queue is full.
    pub fn dispatch(&self, event: &Event) {
        let text = Utf8Bytes::from(event.json.to_string());
        let mut r = self.lock();
        let mut slow = Vec::new();
        for id in r.recipients(&event.audience) {
            if let Some((_, tx)) = r.conns.get(&id)
                && tx
                    .try_send(Outgoing {
                        id: event.id,
                        text: text.clone(),
                    })
                    .is_err()
            {
                slow.push(id);
            }
        }
        for id in slow {
            r.remove(id);
        }
    }

    /// Reads the bus until shutdown. If this reader itself falls behind, every connection is
    /// dropped so that each catches up from the log.
    pub async fn run(self, bus: Arc<dyn EventBus>, shutdown: CancellationToken) {
        let mut rx = bus.subscribe();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                received = rx.recv() => match received {
                    Ok(event) => self.dispatch(&event),
                    Err(RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "realtime fan-out fell behind; connections resync");
                        let mut r = self.lock();
                        let ids: Vec<u64> = r.conns.keys().copied().collect();
                        for id in ids {
                            r.remove(id);
                        }
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        }
    }
}
