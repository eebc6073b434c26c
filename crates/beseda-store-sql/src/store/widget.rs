//! The website widget's channels, visitors and presence (F39).

use super::dialog_tx as dtx;
use super::dialogs::{commit, dialog_event};
use super::{SqlStore, events, params};
use crate::driver::SqlRow;
use async_trait::async_trait;
use beseda_core::channel::{Capabilities, ChannelKind};
use beseda_core::event::{DomainEvent, Event, EventId};
use beseda_core::ids::{ChannelId, DialogId, MessageId, VisitorSessionId};
use beseda_core::secret::TokenHash;
use beseda_core::store::{WidgetStore, Written};
use beseda_core::time::Timestamp;
use beseda_core::widget::{Visitor, WidgetChannel, WidgetSettings};
use beseda_core::{CoreError, CoreResult};

const WIDGET_COLUMNS: &str = "w.channel_id, c.name, c.active, c.capabilities, w.public_key, w.identity_secret, w.settings \
    FROM widget_channels w JOIN channels c ON c.id = w.channel_id";

fn json(settings: &WidgetSettings) -> CoreResult<String> {
    serde_json::to_string(settings).map_err(|e| CoreError::Internal(e.to_string()))
}

fn widget_from(r: &SqlRow) -> CoreResult<(WidgetChannel, Capabilities)> {
    let parse_err = |e: serde_json::Error| CoreError::Storage(e.to_string());
    let settings: WidgetSettings = serde_json::from_str(&r.text("settings")?).map_err(parse_err)?;
    let caps: Capabilities = serde_json::from_str(&r.text("capabilities")?).map_err(parse_err)?;
    Ok((
        WidgetChannel {
            channel_id: ChannelId(r.i64("channel_id")?),
            name: r.text("name")?,
            active: r.bool("active")?,
            key: r.text("public_key")?,
            identity_secret: r.text("identity_secret")?,
            settings,
        },
        caps,
    ))
}

impl SqlStore {
    async fn widget_where(
        &self,
        condition: &str,
        value: crate::driver::SqlValue,
    ) -> CoreResult<Option<(WidgetChannel, Capabilities)>> {
        let sql = format!("SELECT {WIDGET_COLUMNS} WHERE {condition}");
        self.db
            .fetch_optional(&sql, &[value])
            .await?
            .as_ref()
            .map(widget_from)
            .transpose()
    }
}

#[async_trait]
impl WidgetStore for SqlStore {
    async fn create_widget(
        &self,
        name: &str,
        key: &str,
        identity_secret: &str,
        settings: &WidgetSettings,
        now: Timestamp,
    ) -> CoreResult<WidgetChannel> {
        let caps = serde_json::to_string(&ChannelKind::Widget.default_capabilities())
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        let mut tx = self.db.begin().await?;
        let id = tx
            .fetch_one(
                "INSERT INTO channels (kind, name, capabilities, created_at, updated_at) VALUES ('widget', $1, $2, $3, $3) RETURNING id",
                params![name, caps, now],
            )
            .await?
            .i64("id")?;
        tx.execute(
            "INSERT INTO widget_channels (channel_id, public_key, settings, identity_secret) VALUES ($1, $2, $3, $4)",
            params![id, key, json(settings)?, identity_secret],
        )
        .await?;
        tx.commit().await?;
        self.widget(ChannelId(id))
            .await?
            .map(|(w, _)| w)
            .ok_or(CoreError::NotFound("channel"))
    }

    async fn update_widget(
        &self,
        id: ChannelId,
        name: &str,
        active: bool,
        settings: &WidgetSettings,
        now: Timestamp,
    ) -> CoreResult<WidgetChannel> {
        let mut tx = self.db.begin().await?;
        let changed = tx
            .execute(
                "UPDATE widget_channels SET settings = $2 WHERE channel_id = $1",
                params![id, json(settings)?],
            )
            .await?;
        if changed == 0 {
            return Err(CoreError::NotFound("channel"));
        }
        tx.execute(
            "UPDATE channels SET name = $2, active = $3, updated_at = $4 WHERE id = $1",
            params![id, name, active, now],
        )
        .await?;
        tx.commit().await?;
        self.widget(id)
            .await?
            .map(|(w, _)| w)
            .ok_or(CoreError::NotFound("channel"))
    }

    async fn widgets(&self) -> CoreResult<Vec<WidgetChannel>> {
        let sql = format!("SELECT {WIDGET_COLUMNS} ORDER BY c.name, c.id");
        self.db
            .fetch_all(&sql, &[])
            .await?
            .iter()
            .map(|r| widget_from(r).map(|(w, _)| w))
            .collect()
    }

    async fn widget(&self, id: ChannelId) -> CoreResult<Option<(WidgetChannel, Capabilities)>> {
        self.widget_where("w.channel_id = $1", id.into()).await
    }

    async fn widget_by_key(&self, key: &str) -> CoreResult<Option<(WidgetChannel, Capabilities)>> {
        self.widget_where("w.public_key = $1", key.into()).await
    }

    async fn create_visitor(
        &self,
        channel: ChannelId,
        token_hash: &TokenHash,
        external_id: &str,
        now: Timestamp,
    ) -> CoreResult<VisitorSessionId> {
        let r = self
            .db
            .fetch_one(
                "INSERT INTO widget_visitors (channel_id, token_hash, external_id, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                params![channel, token_hash.0.as_str(), external_id, now],
            )
            .await?;
        Ok(VisitorSessionId(r.i64("id")?))
    }

    async fn forget_quiet_visitors(&self, before: Timestamp) -> CoreResult<u64> {
        let mut gone = 0;
        loop {
            // In batches, each a short statement, however many there are.
            let batch = self
                .db
                .execute(
                    "DELETE FROM widget_visitors WHERE id IN (SELECT v.id FROM widget_visitors v WHERE v.created_at < $1 \
                       AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.channel_id = v.channel_id AND c.external_id = v.external_id) \
                       AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.visitor_id = v.id) LIMIT 10000)",
                    params![before],
                )
                .await?;
            gone += batch;
            if batch < 10_000 {
                return Ok(gone);
            }
        }
    }

    async fn visitor_by_token(
        &self,
        channel: ChannelId,
        token_hash: &TokenHash,
    ) -> CoreResult<Option<Visitor>> {
        let r = self
            .db
            .fetch_optional(
                "SELECT id, external_id FROM widget_visitors WHERE token_hash = $1 AND channel_id = $2",
                params![token_hash.0.as_str(), channel],
            )
            .await?;
        r.map(|r| {
            Ok(Visitor {
                channel_id: channel,
                external_id: r.text("external_id")?,
                session: VisitorSessionId(r.i64("id")?),
            })
        })
        .transpose()
    }

    async fn visitor_dialog(&self, visitor: &Visitor) -> CoreResult<Option<DialogId>> {
        let r = self
            .db
            .fetch_optional(
                "SELECT d.id FROM contacts ct JOIN dialogs d ON d.contact_id = ct.id \
                 WHERE ct.channel_id = $1 AND ct.external_id = $2 AND d.deleted_at IS NULL",
                params![visitor.channel_id, visitor.external_id.as_str()],
            )
            .await?;
        Ok(r.map(|r| r.i64("id").map(DialogId)).transpose()?)
    }

    async fn dialog_message(
        &self,
        dialog: DialogId,
        id: MessageId,
    ) -> CoreResult<Option<beseda_core::dialog::MessageView>> {
        let mut tx = self.db.begin().await?;
        let found = tx
            .fetch_optional(
                "SELECT id FROM messages WHERE id = $1 AND dialog_id = $2",
                params![id, dialog],
            )
            .await?;
        match found {
            Some(_) => Ok(Some(self.message_in_tx(&mut tx, id).await?)),
            None => Ok(None),
        }
    }

    async fn newest_event_id(&self) -> CoreResult<EventId> {
        let r = self
            .db
            .fetch_one("SELECT COALESCE(MAX(id), 0) AS id FROM events", &[])
            .await?;
        Ok(EventId(r.i64("id")?))
    }

    async fn client_read_up_to(&self, dialog: DialogId) -> CoreResult<Option<MessageId>> {
        // Each manager's read state counts the client messages they read; the company has read
        // as far as the one who read most.
        let read = self
            .db
            .fetch_one(
                "SELECT COALESCE(MAX(read_client_count), 0) AS n FROM read_states WHERE dialog_id = $1",
                params![dialog],
            )
            .await?
            .i64("n")?;
        if read == 0 {
            return Ok(None);
        }
        let r = self
            .db
            .fetch_optional(
                "SELECT id FROM messages WHERE dialog_id = $1 AND author_kind = 'client' ORDER BY seq LIMIT 1 OFFSET $2",
                params![dialog, read - 1],
            )
            .await?;
        Ok(r.map(|r| r.i64("id").map(MessageId)).transpose()?)
    }

    async fn dialog_events_after(
        &self,
        dialog: DialogId,
        after: EventId,
        limit: u32,
    ) -> CoreResult<Option<Vec<Event>>> {
        events::after(&*self.db, Some(dialog), after, limit).await
    }

    async fn set_visitor_presence(
        &self,
        visitor: &Visitor,
        here: bool,
        now: Timestamp,
    ) -> CoreResult<Written<bool>> {
        let unchanged = || Written {
            value: false,
            events: Vec::new(),
        };
        let mut tx = self.db.begin().await?;
        let Some(r) = tx
            .fetch_optional(
                "SELECT ct.id, ct.left_site_at, d.id AS dialog_id FROM contacts ct JOIN dialogs d ON d.contact_id = ct.id \
                 WHERE ct.channel_id = $1 AND ct.external_id = $2 AND d.deleted_at IS NULL",
                params![visitor.channel_id, visitor.external_id.as_str()],
            )
            .await?
        else {
            return Ok(unchanged());
        };
        let mut d = dtx::lock(&mut tx, DialogId(r.i64("dialog_id")?)).await?;
        // Read again under the dialog's lock: two nodes may report the same change.
        let left = tx
            .fetch_one(
                "SELECT left_site_at FROM contacts WHERE id = $1",
                params![r.i64("id")?],
            )
            .await?
            .opt_i64("left_site_at")?
            .is_some();
        if left != here {
            return Ok(unchanged());
        }
        tx.execute(
            "UPDATE contacts SET left_site_at = $2 WHERE id = $1",
            params![r.i64("id")?, (!here).then_some(now)],
        )
        .await?;
        let what = if here {
            DomainEvent::VisitorReturned {}
        } else {
            DomainEvent::VisitorLeft {}
        };
        let new_events = Vec::from(dialog_event(&mut tx, &mut d, what, now).await?);
        let events = events::append(&mut tx, new_events, now).await?;
        commit(tx, true, events).await
    }
}
