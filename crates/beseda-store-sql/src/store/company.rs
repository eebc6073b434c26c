//! Bringing a company's data in: channels, tags, clients, dialogs with history, orders.

use super::{SqlStore, conflict_on_unique, params};
use crate::driver::SqlTx;
use async_trait::async_trait;
use beseda_core::company::{
    Author, DataCounts, DialogSummary, ImportDialog, NewChannel, NewClient, NewTag, Tag, TagColor,
};
use beseda_core::dialog::{AuthorKind, DeliveryStatus, MessageKind};
use beseda_core::ids::{ChannelId, ClientId, DialogId, ManagerId, TagId};
use beseda_core::store::CompanyStore;
use beseda_core::{CoreError, CoreResult};

fn author_manager(a: Author) -> Option<ManagerId> {
    match a {
        Author::Manager(m) => Some(m),
        Author::Client | Author::Company | Author::System => None,
    }
}

#[async_trait]
impl CompanyStore for SqlStore {
    async fn data_counts(&self) -> CoreResult<DataCounts> {
        let r = self
            .db
            .fetch_one(
                "SELECT (SELECT COUNT(*) FROM managers) AS managers, (SELECT COUNT(*) FROM channels) AS channels, \
                 (SELECT COUNT(*) FROM clients) AS clients, (SELECT COUNT(*) FROM dialogs) AS dialogs, \
                 (SELECT COUNT(*) FROM messages) AS messages",
                &[],
            )
            .await?;
        Ok(DataCounts {
            managers: r.i64("managers")?,
            channels: r.i64("channels")?,
            clients: r.i64("clients")?,
            dialogs: r.i64("dialogs")?,
            messages: r.i64("messages")?,
        })
    }

    async fn create_channel(&self, new: &NewChannel) -> CoreResult<ChannelId> {
        let caps = serde_json::to_string(&new.capabilities)
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        let row = self
            .db
            .fetch_one(
                "INSERT INTO channels (kind, name, capabilities, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id",
                params![new.kind.as_str(), new.name.as_str(), caps, new.created_at],
            )
            .await?;
        Ok(ChannelId(row.i64("id")?))
    }

    async fn create_tag(&self, new: &NewTag) -> CoreResult<TagId> {
        let row = self
            .db
            .fetch_one(
                "INSERT INTO tags (name, color, created_at) VALUES ($1, $2, $3) RETURNING id",
                params![new.name.as_str(), new.color.as_str(), new.created_at],
            )
            .await
            .map_err(conflict_on_unique("tag_name_taken", "a tag with this name"))?;
        Ok(TagId(row.i64("id")?))
    }

    async fn list_tags(&self) -> CoreResult<Vec<Tag>> {
        let rows = self
            .db
            .fetch_all("SELECT id, name, color FROM tags ORDER BY name, id", &[])
            .await?;
        rows.iter()
            .map(|r| {
                let color = r.text("color")?;
                Ok(Tag {
                    id: TagId(r.i64("id")?),
                    name: r.text("name")?,
                    color: TagColor::parse(&color)
                        .ok_or_else(|| CoreError::Storage(format!("unknown tag colour {color}")))?,
                })
            })
            .collect()
    }

    async fn create_client(&self, new: &NewClient) -> CoreResult<ClientId> {
        let s = new.source.as_ref();
        let mut tx = self.db.begin().await?;
        let row = tx
            .fetch_one(
                "INSERT INTO clients (name, phone, email, source_channel_kind, source_channel_id, source_channel_name, \
                   source_first_contact_at, source_page, source_utm, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
                params![
                    new.name.as_str(),
                    new.phone.clone(),
                    new.email.clone(),
                    s.map(|s| s.channel_kind.as_str()),
                    s.map(|s| s.channel_id),
                    s.map(|s| s.channel_name.clone()),
                    s.map(|s| s.first_contact_at),
                    s.and_then(|s| s.page.clone()),
                    s.and_then(|s| s.utm.clone()),
                    new.created_at
                ],
            )
            .await?;
        let id = ClientId(row.i64("id")?);
        for (tag, pinned) in &new.tags {
            tx.execute(
                "INSERT INTO client_tags (client_id, tag_id, pinned, created_at) VALUES ($1, $2, $3, $4)",
                params![id, *tag, *pinned, new.created_at],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    async fn import_dialog(&self, d: &ImportDialog) -> CoreResult<DialogId> {
        let mut tx = self.db.begin().await?;
        let contact = tx
            .fetch_one(
                "INSERT INTO contacts (channel_id, external_id, client_id, name, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                params![d.channel_id, d.contact_external_id.as_str(), d.client_id, d.contact_name.as_str(), d.history_keys()?.opened_at],
            )
            .await
            .map_err(conflict_on_unique("contact_exists", "this contact on this channel"))?
            .i64("id")?;
        let dialog = insert_history(&mut tx, d, contact).await?;
        tx.commit().await?;
        Ok(dialog)
    }

    async fn dialog_summary(&self, id: DialogId) -> CoreResult<Option<DialogSummary>> {
        let Some(r) = self
            .db
            .fetch_optional(
                "SELECT id, channel_id, client_id, status, responsible_manager_id, last_seq, last_client_seq, last_message_author, \
                   last_message_preview, last_activity_at, waiting_since, opened_at FROM dialogs WHERE id = $1 AND deleted_at IS NULL",
                params![id],
            )
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(DialogSummary {
            id: DialogId(r.i64("id")?),
            channel_id: ChannelId(r.i64("channel_id")?),
            client_id: r.opt_i64("client_id")?.map(ClientId),
            open: r.text("status")? == "open",
            responsible: r.opt_i64("responsible_manager_id")?.map(ManagerId),
            last_seq: r.i64("last_seq")?,
            last_client_seq: r.i64("last_client_seq")?,
            last_message_author: r.opt_parsed("last_message_author", AuthorKind::parse)?,
            last_message_preview: r.opt_text("last_message_preview")?,
            last_activity_at: r.ts("last_activity_at")?,
            waiting_since: r.opt_ts("waiting_since")?,
            opened_at: r.ts("opened_at")?,
        }))
    }
}

/// Writes a contact's dialog with its whole past, oldest first, as read by everyone (the read
/// baseline covers it) and with no events: history is not news.
pub(super) async fn insert_history(
    tx: &mut Box<dyn SqlTx>,
    d: &ImportDialog,
    contact: i64,
) -> CoreResult<DialogId> {
    let keys = d.history_keys()?;
    let dialog = DialogId(
        tx.fetch_one(
            "INSERT INTO dialogs (channel_id, contact_id, client_id, status, responsible_manager_id, last_seq, last_client_seq, \
               last_message_author, last_message_preview, last_activity_at, waiting_since, opened_at, closed_at, created_at, \
               client_count, read_baseline_client_count, next_waiting_change_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $12, $14, $14, $11) RETURNING id",
            params![
                d.channel_id,
                contact,
                d.client_id,
                if d.closed { "closed" } else { "open" },
                d.responsible,
                keys.last_seq,
                keys.last_client_seq,
                keys.last_author.kind(),
                keys.preview.as_str(),
                keys.last_activity_at,
                keys.waiting_since,
                keys.opened_at,
                d.closed.then_some(keys.last_activity_at),
                // Imported history is read by everyone: the baseline covers it.
                keys.client_count
            ],
        )
        .await?
        .i64("id")?,
    );
    let mut last_id = None;
    for (seq, m) in (1_i64..).zip(&d.messages) {
        // Imported company messages were delivered long ago; client messages have no status.
        let status = matches!(m.author, Author::Manager(_) | Author::Company)
            .then_some(DeliveryStatus::Delivered);
        let kind = if m.author == Author::System {
            MessageKind::Event
        } else {
            MessageKind::Text
        };
        let row = tx
            .fetch_one(
                "INSERT INTO messages (dialog_id, channel_id, seq, author_kind, author_manager_id, kind, body, external_id, status, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                params![dialog, d.channel_id, seq, m.author.kind(), author_manager(m.author), kind, m.body.as_str(), m.external_id.clone(), status, m.created_at],
            )
            .await
            .map_err(conflict_on_unique("message_exists", "a message with this external id on this channel"))?;
        last_id = Some(row.i64("id")?);
    }
    tx.execute(
        "UPDATE dialogs SET last_message_id = $2 WHERE id = $1",
        params![dialog, last_id],
    )
    .await?;
    Ok(dialog)
}
