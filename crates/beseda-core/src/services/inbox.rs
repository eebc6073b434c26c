//! The dialog list's rules (F06, F19–F24, F33): pages of what the caller may see, the filter
//! panel, search from one field, and deleting dialogs with the permission.

use crate::dialog::{DialogView, Viewer};
use crate::error::{CoreError, CoreResult};
use crate::event::EventBus;
use crate::ids::{DialogId, MessageId};
use crate::inbox::{
    Cursor, DialogFilter, DialogQuery, DialogSort, FilterPanel, MIN_TEXT_SEARCH_CHARS, MessageHit,
};
use crate::manager::Actor;
use crate::store::Store;
use crate::time::Clock;
use std::sync::Arc;

/// At most this many rows per page.
pub const MAX_PAGE: u32 = 100;
/// Dialogs deleted per transaction when deleting all that match a filter.
const DELETE_BATCH: u32 = 500;

pub struct InboxService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    bus: Arc<dyn EventBus>,
}

/// A page of the list.
pub struct DialogPage {
    pub dialogs: Vec<DialogView>,
    pub next: Option<String>,
}

/// What one search field finds (F06).
pub struct SearchResult {
    pub dialogs: Vec<DialogView>,
    pub messages: Vec<MessageHit>,
    /// False when the text was too short to search message text.
    pub messages_searched: bool,
}

/// Which dialogs to delete (F19).
pub enum Deletion {
    These(Vec<DialogId>),
    Matching(DialogFilter),
}

impl InboxService {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, bus: Arc<dyn EventBus>) -> Self {
        InboxService { store, clock, bus }
    }

    pub async fn list(
        &self,
        actor: &Actor,
        filter: DialogFilter,
        sort: DialogSort,
        cursor: Option<&str>,
        limit: u32,
    ) -> CoreResult<DialogPage> {
        let fingerprint = DialogQuery::fingerprint(&filter, sort);
        let after = cursor.map(|c| Cursor::decode(c, fingerprint)).transpose()?;
        let q = DialogQuery {
            filter,
            sort,
            after,
            limit: limit.clamp(1, MAX_PAGE),
        };
        let (dialogs, next) = self
            .store
            .list_dialogs(&q, Viewer::of(actor), self.clock.now())
            .await?;
        Ok(DialogPage {
            dialogs,
            next: next.map(|c| c.encode()),
        })
    }

    /// The "Filters and sorting" panel: tags with their dialog counts, most first (those whose
    /// name holds `tag_search`, in any case), and which filters and sorts to offer.
    pub async fn panel(
        &self,
        actor: &Actor,
        pinned: bool,
        tag_search: Option<&str>,
    ) -> CoreResult<FilterPanel> {
        let needle = tag_search
            .map(|s| s.trim().to_lowercase())
            .unwrap_or_default();
        let tags = self
            .store
            .tag_counts(Viewer::of(actor), pinned)
            .await?
            .into_iter()
            .filter(|t| t.name.to_lowercase().contains(&needle))
            .collect();
        let limits = self.store.time_limits().await?;
        let set =
            |l: &crate::library::TimeLimits| l.warning_secs.is_some() || l.danger_secs.is_some();
        let bots: Vec<crate::inbox::BotOption> = self
            .store
            .bots()
            .await?
            .into_iter()
            .map(|b| crate::inbox::BotOption {
                id: b.id,
                name: b.name,
            })
            .collect();
        Ok(FilterPanel {
            tags,
            bot_filter: !bots.is_empty(),
            bots,
            processing_order: set(&limits.default)
                || limits.channels.iter().any(|c| set(&c.limits)),
            channels: self.channels().await?,
        })
    }

    /// Every channel, by name: what the channel filter and the settings offer.
    pub async fn channels(&self) -> CoreResult<Vec<crate::inbox::ChannelOption>> {
        self.store.channel_options().await
    }

    /// F06: dialogs by client name, phone, email or channel name; and, from three characters,
    /// messages by their text. Newest first; only what the caller may see.
    pub async fn search(
        &self,
        actor: &Actor,
        text: &str,
        before: Option<MessageId>,
        limit: u32,
    ) -> CoreResult<SearchResult> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > 200 {
            return Err(CoreError::invalid("q", "search for 1 to 200 characters"));
        }
        let viewer = Viewer::of(actor);
        let limit = limit.clamp(1, MAX_PAGE);
        let messages_searched = text.chars().count() >= MIN_TEXT_SEARCH_CHARS;
        // A next page of message hits ("before") needs no dialogs again.
        let dialogs = if before.is_none() {
            self.store
                .search_dialogs(viewer, text, limit, self.clock.now())
                .await?
        } else {
            Vec::new()
        };
        let messages = if messages_searched {
            self.store
                .search_messages(viewer, text, before, limit)
                .await?
        } else {
            Vec::new()
        };
        Ok(SearchResult {
            dialogs,
            messages,
            messages_searched,
        })
    }

    /// F19: needs the "delete dialogs" permission; deletes the given dialogs the caller sees
    /// (others are left alone), or every one a filter matches. Returns how many went.
    pub async fn delete(&self, actor: &Actor, what: Deletion) -> CoreResult<u64> {
        if !actor.permissions.delete_dialogs {
            return Err(CoreError::Forbidden("delete dialogs"));
        }
        let viewer = Viewer::of(actor);
        let mut deleted = 0;
        match what {
            Deletion::These(ids) => {
                if ids.is_empty() || ids.len() > 1000 {
                    return Err(CoreError::invalid("ids", "give 1 to 1000 dialogs"));
                }
                let mut mine = Vec::with_capacity(ids.len());
                for id in ids {
                    if let Some(d) = self.store.dialog_access(id).await?
                        && viewer.may_see(d.responsible)
                    {
                        mine.push(id);
                    }
                }
                deleted += self.delete_batch(actor, &mine).await?;
            }
            Deletion::Matching(filter) => loop {
                // Each round takes the first matching ids: the deleted ones no longer match.
                let ids = self
                    .store
                    .matching_dialogs(&filter, viewer, None, DELETE_BATCH)
                    .await?;
                if ids.is_empty() {
                    break;
                }
                let n = self.delete_batch(actor, &ids).await?;
                deleted += n;
                if n == 0 {
                    break;
                }
            },
        }
        Ok(deleted)
    }

    async fn delete_batch(&self, actor: &Actor, ids: &[DialogId]) -> CoreResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let written = self
            .store
            .delete_dialogs(ids, actor.id(), self.clock.now())
            .await?;
        self.bus.publish(&written.events);
        Ok(written.value)
    }
}
