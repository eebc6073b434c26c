//! The waiting timer (F13, F34): wakes for the dialogs whose waiting mark is due, moves the
//! mark, and announces it, so rows turn yellow and red on screen without a reload. Leases keep
//! two workers (or nodes) off the same dialog; a dialog that no one waits on costs nothing.

use crate::error::{CoreError, CoreResult};
use crate::event::EventBus;
use crate::store::Store;
use crate::time::{Clock, Timestamp};
use std::sync::Arc;
use std::time::Duration;

/// How long a claimed dialog is left to its worker before another may take it.
const LEASE: Duration = Duration::from_secs(30);

pub struct WaitingTimer {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    bus: Arc<dyn EventBus>,
}

impl WaitingTimer {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, bus: Arc<dyn EventBus>) -> Self {
        WaitingTimer { store, clock, bus }
    }

    /// One round: settles up to `limit` due dialogs and publishes what changed. Returns how
    /// many it looked at.
    pub async fn run_once(&self, limit: u32) -> CoreResult<usize> {
        let now = self.clock.now();
        let due = self
            .store
            .claim_waiting(now, now.plus(LEASE), limit)
            .await?;
        for id in &due {
            match self.store.settle_waiting(*id, self.clock.now()).await {
                Ok(written) => self.bus.publish(&written.events),
                // The dialog was deleted meanwhile.
                Err(CoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(due.len())
    }

    /// How long until the earliest mark is due, at most `cap`.
    pub async fn idle_for(&self, cap: Duration) -> CoreResult<Duration> {
        let now = self.clock.now();
        Ok(match self.store.next_waiting_due().await? {
            Some(Timestamp(due)) => {
                Duration::from_millis(u64::try_from(due - now.0).unwrap_or(0)).min(cap)
            }
            None => cap,
        })
    }
}
