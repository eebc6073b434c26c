//! Channels Beseda connects to their messengers itself: their webhook key and sealed
//! credentials beside the channel's row.

use super::dialog_tx::{self as dtx, NewMessage};
use super::dialogs::{commit, message_event};
use super::transport::{caps_json, channel_from};
use super::{SqlStore, events, params};
use crate::driver::SqlRow;
use async_trait::async_trait;
use beseda_core::attachment::Uploader;
use beseda_core::channel::ChannelKind;
use beseda_core::connector::Reaction;
use beseda_core::dialog::{
    DeliveryStatus, InboundMessage, MessageAuthor, MessageKind, MessageView,
};
use beseda_core::event::DomainEvent;
use beseda_core::ids::{ChannelId, ClientId, DialogId, MessageId};
use beseda_core::store::Written;
use beseda_core::store::{ConnectedChannel, ConnectorStore};
use beseda_core::time::Timestamp;
use beseda_core::transport::{Channel, ChannelRegistration};
use beseda_core::{CoreError, CoreResult};

const COLUMNS: &str =
    "id, kind, name, avatar_url, external_id, capabilities, active, hook_key, credentials";
/// The latest activity is for the settings' list; a webhook's call does without it.
const ACTIVITY: &str = "(SELECT MAX(last_activity_at) FROM dialogs d \
    WHERE d.channel_id = channels.id AND d.deleted_at IS NULL) AS last_activity_at";

fn connected_from(r: &SqlRow) -> CoreResult<ConnectedChannel> {
    Ok(ConnectedChannel {
        channel: channel_from(r)?,
        hook_key: r.text("hook_key")?,
        sealed: r.text("credentials")?,
        last_activity_at: r.opt_ts("last_activity_at")?,
    })
}

/// The dialog of a channel's client, known by their id on the platform.
pub(super) async fn client_dialog(
    tx: &mut Box<dyn crate::driver::SqlTx>,
    channel: ChannelId,
    contact: &str,
) -> CoreResult<Option<DialogId>> {
    let r = tx
        .fetch_optional(
            "SELECT d.id FROM contacts ct JOIN dialogs d ON d.contact_id = ct.id \
             WHERE ct.channel_id = $1 AND ct.external_id = $2 AND d.deleted_at IS NULL",
            params![channel, contact],
        )
        .await?;
    Ok(r.map(|r| r.i64("id")).transpose()?.map(DialogId))
}

impl SqlStore {
    async fn connected_where(
        &self,
        condition: &str,
        value: crate::driver::SqlValue,
    ) -> CoreResult<Option<ConnectedChannel>> {
        let sql = format!(
            "SELECT {COLUMNS}, CAST(NULL AS BIGINT) AS last_activity_at FROM channels WHERE hook_key IS NOT NULL AND {condition}"
        );
        self.db
            .fetch_optional(&sql, &[value])
            .await?
            .as_ref()
            .map(connected_from)
            .transpose()
    }
}

#[async_trait]
impl ConnectorStore for SqlStore {
    async fn create_connected_channel(
        &self,
        reg: &ChannelRegistration,
        hook_key: &str,
        sealed: &str,
        now: Timestamp,
    ) -> CoreResult<Channel> {
        let r = self
            .db
            .fetch_one(
                "INSERT INTO channels (kind, name, avatar_url, external_id, capabilities, hook_key, credentials, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
                params![
                    reg.kind.as_str(),
                    reg.name.as_str(),
                    reg.avatar_url.clone(),
                    reg.external_id.clone(),
                    caps_json(&reg.capabilities)?,
                    hook_key,
                    sealed,
                    now
                ],
            )
            .await?;
        let id = ChannelId(r.i64("id")?);
        self.connected_where("id = $1", id.into())
            .await?
            .map(|c| c.channel)
            .ok_or(CoreError::NotFound("channel"))
    }

    async fn connected_channel_by_id(&self, id: ChannelId) -> CoreResult<Option<ConnectedChannel>> {
        self.connected_where("id = $1", id.into()).await
    }

    async fn connected_channel(&self, hook_key: &str) -> CoreResult<Option<ConnectedChannel>> {
        self.connected_where("hook_key = $1", hook_key.into()).await
    }

    async fn connected_channels(&self) -> CoreResult<Vec<ConnectedChannel>> {
        let sql = format!(
            "SELECT {COLUMNS}, {ACTIVITY} FROM channels WHERE hook_key IS NOT NULL ORDER BY name, id"
        );
        self.db
            .fetch_all(&sql, &[])
            .await?
            .iter()
            .map(connected_from)
            .collect()
    }

    async fn disconnect_channel(
        &self,
        id: ChannelId,
        now: Timestamp,
    ) -> CoreResult<Option<ConnectedChannel>> {
        let changed = self
            .db
            .execute(
                "UPDATE channels SET active = $3, updated_at = $2 WHERE id = $1 AND hook_key IS NOT NULL",
                params![id, now, false],
            )
            .await?;
        if changed == 0 {
            return Ok(None);
        }
        self.connected_where("id = $1", id.into()).await
    }

    async fn reseal_channel(&self, id: ChannelId, sealed: &str, now: Timestamp) -> CoreResult<()> {
        self.db
            .execute(
                "UPDATE channels SET credentials = $2, updated_at = $3 WHERE id = $1 AND hook_key IS NOT NULL",
                params![id, sealed, now],
            )
            .await?;
        Ok(())
    }

    async fn forget_connected_channel(&self, id: ChannelId) -> CoreResult<()> {
        self.db
            .execute(
                "DELETE FROM channels WHERE id = $1 AND hook_key IS NOT NULL \
                 AND NOT EXISTS (SELECT 1 FROM contacts WHERE channel_id = $1)",
                params![id],
            )
            .await?;
        Ok(())
    }

    async fn connected_account(
        &self,
        kind: ChannelKind,
        external_id: &str,
    ) -> CoreResult<Option<ConnectedChannel>> {
        let sql = format!(
            "SELECT {COLUMNS}, CAST(NULL AS BIGINT) AS last_activity_at FROM channels \
             WHERE hook_key IS NOT NULL AND active = $3 AND kind = $1 AND external_id = $2 ORDER BY id DESC"
        );
        self.db
            .fetch_optional(&sql, params![kind.as_str(), external_id, true])
            .await?
            .as_ref()
            .map(connected_from)
            .transpose()
    }

    async fn record_reaction(
        &self,
        channel: ChannelId,
        contact: &str,
        reaction: &Reaction,
        now: Timestamp,
    ) -> CoreResult<Written<Option<MessageView>>> {
        let mut tx = self.db.begin().await?;
        let nothing = Written {
            value: None,
            events: Vec::new(),
        };
        let Some(dialog) = client_dialog(&mut tx, channel, contact).await? else {
            return Ok(nothing);
        };
        let mut d = dtx::lock(&mut tx, dialog).await?;
        // The line keeps the reaction's own id, so a platform's repeat finds it.
        let seen = tx
            .fetch_optional(
                "SELECT 1 AS one FROM messages WHERE channel_id = $1 AND external_id = $2",
                params![channel, reaction.external_id.as_str()],
            )
            .await?
            .is_some();
        if seen {
            return Ok(nothing);
        }
        let reacted = tx
            .fetch_optional(
                "SELECT id FROM messages WHERE dialog_id = $1 AND (external_id = $2 OR transport_id = $2)",
                params![d.id, reaction.message.as_str()],
            )
            .await?
            .map(|r| r.i64("id"))
            .transpose()?
            .map(MessageId);
        let event = DomainEvent::ClientReacted {
            message_id: reacted,
            emoji: reaction.emoji.clone(),
        };
        let msg = NewMessage {
            author: MessageAuthor::System,
            kind: MessageKind::Event,
            body: "",
            event: Some(event),
            quote: reacted,
            external_id: Some(&reaction.external_id),
            status: None,
            created_at: now,
            waiting_since: None,
            files: &[],
            uploader: None,
            buttons: &[],
        };
        let view = dtx::add_message(&mut tx, &mut d, msg, now).await?;
        let new_events = vec![message_event(&mut tx, &d, &view).await?];
        let events = events::append(&mut tx, new_events, now).await?;
        commit(tx, Some(view), events).await
    }

    async fn last_client_message(&self, dialog: DialogId) -> CoreResult<Option<String>> {
        let r = self
            .db
            .fetch_optional(
                "SELECT m.external_id FROM dialogs d JOIN messages m ON m.dialog_id = d.id AND m.seq = d.last_client_seq \
                 WHERE d.id = $1",
                params![dialog],
            )
            .await?;
        Ok(r.map(|r| r.opt_text("external_id")).transpose()?.flatten())
    }

    async fn knows_message(&self, channel: ChannelId, external_id: &str) -> CoreResult<bool> {
        Ok(self
            .db
            .fetch_optional(
                "SELECT 1 AS one FROM messages WHERE channel_id = $1 AND external_id = $2",
                params![channel, external_id],
            )
            .await?
            .is_some())
    }

    async fn set_contact_photo(
        &self,
        channel: ChannelId,
        external_id: &str,
        key: &str,
    ) -> CoreResult<()> {
        let mut tx = self.db.begin().await?;
        let client = tx
            .fetch_optional(
                "UPDATE contacts SET photo_key = $3 WHERE channel_id = $1 AND external_id = $2 RETURNING client_id",
                params![channel, external_id, key],
            )
            .await?
            .map(|r| r.opt_i64("client_id"))
            .transpose()?
            .flatten();
        if let Some(client) = client {
            tx.execute(
                "UPDATE clients SET photo_url = $2 WHERE id = $1 AND photo_url IS NULL",
                params![client, format!("/api/v1/clients/{client}/photo")],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn client_photo_key(&self, client: ClientId) -> CoreResult<Option<String>> {
        Ok(self
            .db
            .fetch_optional(
                "SELECT photo_key FROM contacts WHERE client_id = $1 AND photo_key IS NOT NULL ORDER BY id LIMIT 1",
                params![client],
            )
            .await?
            .map(|r| r.text("photo_key"))
            .transpose()?)
    }

    async fn knows_contact(&self, channel: ChannelId, external_id: &str) -> CoreResult<bool> {
        Ok(self
            .db
            .fetch_optional(
                "SELECT 1 AS one FROM contacts WHERE channel_id = $1 AND external_id = $2",
                params![channel, external_id],
            )
            .await?
            .is_some())
    }

    async fn record_echo(
        &self,
        m: &InboundMessage,
        ours: Option<MessageId>,
        now: Timestamp,
    ) -> CoreResult<Written<Option<MessageView>>> {
        let mut tx = self.db.begin().await?;
        let nothing = Written {
            value: None,
            events: Vec::new(),
        };
        let Some(dialog) = client_dialog(&mut tx, m.channel_id, &m.contact_external_id).await?
        else {
            return Ok(nothing);
        };
        let mut d = dtx::lock(&mut tx, dialog).await?;
        // Under the dialog's lock, so a copy and a repeat of it cannot both pass.
        let ours_here = match ours {
            Some(id) => tx
                .fetch_optional(
                    "SELECT 1 AS one FROM messages WHERE id = $1 AND dialog_id = $2 AND status IS NOT NULL",
                    params![id, d.id],
                )
                .await?
                .is_some(),
            None => false,
        };
        let seen = tx
            .fetch_optional(
                "SELECT 1 AS one FROM messages WHERE channel_id = $1 AND transport_id = $2",
                params![m.channel_id, m.external_id.as_str()],
            )
            .await?
            .is_some();
        if ours_here || seen {
            return Ok(nothing);
        }
        let msg = NewMessage {
            author: MessageAuthor::Company,
            kind: MessageKind::Text,
            body: &m.body,
            event: None,
            quote: None,
            external_id: None,
            status: Some(DeliveryStatus::Sent),
            created_at: m.sent_at,
            waiting_since: None,
            files: &m.attachments,
            uploader: Some(Uploader::Channel(m.channel_id)),
            buttons: &[],
        };
        let view = dtx::add_message(&mut tx, &mut d, msg, now).await?;
        tx.execute(
            "UPDATE messages SET transport_id = $2 WHERE id = $1",
            params![view.id, m.external_id.as_str()],
        )
        .await?;
        // The company answered, wherever from: the client no longer waits (F34).
        dtx::stop_waiting(&mut tx, &mut d).await?;
        let new_events = vec![message_event(&mut tx, &d, &view).await?];
        let events = events::append(&mut tx, new_events, now).await?;
        commit(tx, Some(view), events).await
    }

    async fn lease_polling(
        &self,
        id: ChannelId,
        owner: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> CoreResult<Option<Option<i64>>> {
        let taken = self
            .db
            .fetch_optional(
                "UPDATE channels SET poll_owner = $2, poll_until = $4 \
                 WHERE id = $1 AND hook_key IS NOT NULL AND active = $5 \
                   AND (poll_owner IS NULL OR poll_owner = $2 OR poll_until < $3) \
                 RETURNING poll_offset",
                params![id, owner, now, until, true],
            )
            .await?;
        Ok(taken.map(|r| r.opt_i64("poll_offset")).transpose()?)
    }

    async fn save_poll_offset(&self, id: ChannelId, owner: &str, offset: i64) -> CoreResult<bool> {
        let changed = self
            .db
            .execute(
                "UPDATE channels SET poll_offset = $3 WHERE id = $1 AND poll_owner = $2",
                params![id, owner, offset],
            )
            .await?;
        Ok(changed > 0)
    }
}
