//! [`SqlStore`]: the storage port over any [`SqlDb`]. One file per area.

mod attachments;
mod auth;
mod bots;
pub mod bulk;
mod company;
mod connected;
mod dialog_tx;
mod dialogs;
mod distribution;
mod events;
mod feed;
mod inbound;
mod inbox;
mod library;
mod managers;
mod orders;
mod search;
mod timers;
mod transport;
mod visibility;
mod widget;

use crate::driver::{SqlDb, SqlError, SqlErrorKind};
use async_trait::async_trait;
use beseda_core::store::HealthStore;
use beseda_core::{CoreError, CoreResult};
use std::sync::Arc;

/// The store both backends share; each backend hands it its driver.
#[derive(Clone)]
pub struct SqlStore {
    db: Arc<dyn SqlDb>,
    search: search::Search,
}

impl SqlStore {
    pub fn new(db: Arc<dyn SqlDb>) -> Self {
        let search = search::Search::for_backend(db.backend());
        SqlStore { db, search }
    }
}

/// Statement parameters: `params![a, b]` is `&[SqlValue::from(a), SqlValue::from(b)]`.
macro_rules! params {
    ($($v:expr),* $(,)?) => { &[$($crate::driver::SqlValue::from($v)),*] };
}
pub(crate) use params;

/// Maps a unique-constraint failure to a domain conflict with a stable code.
fn conflict_on_unique(
    code: &'static str,
    what: impl Into<String>,
) -> impl FnOnce(SqlError) -> CoreError {
    let what = what.into();
    move |e| match e.kind {
        SqlErrorKind::UniqueViolation => CoreError::Conflict { code, what },
        _ => e.into(),
    }
}

#[async_trait]
impl HealthStore for SqlStore {
    fn backend(&self) -> &'static str {
        self.db.backend()
    }

    async fn ping(&self) -> CoreResult<()> {
        self.db.fetch_one("SELECT 1 AS one", &[]).await?;
        Ok(())
    }
}
