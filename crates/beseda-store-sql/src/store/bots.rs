//! Bots (BotStore): their settings, their channels, and each webhook's cursor in the event log.

use super::{SqlStore, events, params};
use crate::driver::{SqlErrorKind, SqlRow, SqlTx};
use async_trait::async_trait;
use beseda_core::bot::{Bot, BotChange, BotDelivery, BotKind, BotScope, NewBot};
use beseda_core::event::EventId;
use beseda_core::ids::{BotId, ChannelId};
use beseda_core::secret::TokenHash;
use beseda_core::store::{BotEvents, BotStore};
use beseda_core::time::Timestamp;
use beseda_core::{CoreError, CoreResult};

const COLUMNS: &str = "id, kind, name, avatar_url, webhook_url, webhook_secret, active, failing_since, last_error, \
     delivered_up_to, attempts, created_at";

async fn channels_of(tx: &mut Box<dyn SqlTx>, id: BotId) -> CoreResult<Vec<ChannelId>> {
    tx.fetch_all(
        "SELECT channel_id FROM bot_channels WHERE bot_id = $1 ORDER BY channel_id",
        params![id],
    )
    .await?
    .iter()
    .map(|r| Ok(ChannelId(r.i64("channel_id")?)))
    .collect()
}

fn bot_from(r: &SqlRow, channels: Vec<ChannelId>) -> CoreResult<Bot> {
    Ok(Bot {
        id: BotId(r.i64("id")?),
        kind: r.parsed("kind", BotKind::parse)?,
        name: r.text("name")?,
        avatar_url: r.opt_text("avatar_url")?,
        channels,
        webhook_url: r.opt_text("webhook_url")?,
        active: r.bool("active")?,
        failing_since: r.opt_ts("failing_since")?,
        last_error: r.opt_text("last_error")?,
        delivered_up_to: r.i64("delivered_up_to")?,
        created_at: r.ts("created_at")?,
    })
}

async fn read(tx: &mut Box<dyn SqlTx>, id: BotId) -> CoreResult<Option<Bot>> {
    let Some(r) = tx
        .fetch_optional(
            &format!("SELECT {COLUMNS} FROM bots WHERE id = $1"),
            params![id],
        )
        .await?
    else {
        return Ok(None);
    };
    let channels = channels_of(tx, id).await?;
    bot_from(&r, channels).map(Some)
}

async fn set_channels(
    tx: &mut Box<dyn SqlTx>,
    id: BotId,
    channels: &[ChannelId],
) -> CoreResult<()> {
    tx.execute("DELETE FROM bot_channels WHERE bot_id = $1", params![id])
        .await?;
    for c in channels {
        tx.execute(
            "INSERT INTO bot_channels (bot_id, channel_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            params![id, *c],
        )
        .await
        .map_err(|e| match e.kind {
            SqlErrorKind::ForeignKeyViolation => CoreError::NotFound("channel"),
            _ => e.into(),
        })?;
    }
    Ok(())
}

#[async_trait]
impl BotStore for SqlStore {
    async fn create_bot(&self, b: &NewBot) -> CoreResult<Bot> {
        let mut tx = self.db.begin().await?;
        // It hears what happens from now on, not the past.
        let newest = tx
            .fetch_one("SELECT COALESCE(MAX(id), 0) AS id FROM events", &[])
            .await?
            .i64("id")?;
        let row = tx
            .fetch_one(
                "INSERT INTO bots (kind, name, avatar_url, token_hash, webhook_url, webhook_secret, active, delivered_up_to, created_at) \
                 VALUES ('external', $1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                params![b.name.as_str(), b.avatar_url.as_deref(), b.token_hash.0.as_str(), b.webhook_url.as_deref(),
                    b.webhook_secret.as_str(), true, newest, b.created_at],
            )
            .await?;
        let id = BotId(row.i64("id")?);
        set_channels(&mut tx, id, &b.channels).await?;
        let bot = read(&mut tx, id).await?.ok_or(CoreError::NotFound("bot"))?;
        tx.commit().await?;
        Ok(bot)
    }

    async fn bots(&self) -> CoreResult<Vec<Bot>> {
        let rows = self
            .db
            .fetch_all(
                &format!("SELECT {COLUMNS} FROM bots ORDER BY name, id"),
                &[],
            )
            .await?;
        let links = self
            .db
            .fetch_all(
                "SELECT bot_id, channel_id FROM bot_channels ORDER BY channel_id",
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let id = r.i64("id")?;
                let mut channels = Vec::new();
                for l in &links {
                    if l.i64("bot_id")? == id {
                        channels.push(ChannelId(l.i64("channel_id")?));
                    }
                }
                bot_from(r, channels)
            })
            .collect()
    }

    async fn bot(&self, id: BotId) -> CoreResult<Option<Bot>> {
        let mut tx = self.db.begin().await?;
        let bot = read(&mut tx, id).await?;
        tx.commit().await?;
        Ok(bot)
    }

    async fn bot_by_token(&self, hash: &TokenHash) -> CoreResult<Option<Bot>> {
        let Some(r) = self
            .db
            .fetch_optional(
                "SELECT id FROM bots WHERE token_hash = $1 AND active AND kind = 'external'",
                params![hash.0.as_str()],
            )
            .await?
        else {
            return Ok(None);
        };
        self.bot(BotId(r.i64("id")?)).await
    }

    async fn update_bot(&self, id: BotId, c: &BotChange) -> CoreResult<Bot> {
        let mut tx = self.db.begin().await?;
        let before = read(&mut tx, id).await?.ok_or(CoreError::NotFound("bot"))?;
        let webhook = c.webhook_url.clone().unwrap_or(before.webhook_url.clone());
        // A new webhook address starts well: its past failures were the old one's.
        let fresh = webhook != before.webhook_url;
        tx.execute(
            "UPDATE bots SET name = $2, avatar_url = $3, webhook_url = $4, active = $5, \
               attempts = CASE WHEN $6 THEN 0 ELSE attempts END, next_attempt_at = CASE WHEN $6 THEN 0 ELSE next_attempt_at END, \
               failing_since = CASE WHEN $6 THEN NULL ELSE failing_since END, last_error = CASE WHEN $6 THEN NULL ELSE last_error END \
             WHERE id = $1",
            params![
                id,
                c.name.as_deref().unwrap_or(&before.name),
                c.avatar_url.clone().unwrap_or(before.avatar_url.clone()),
                webhook,
                c.active.unwrap_or(before.active),
                fresh
            ],
        )
        .await?;
        if let Some(channels) = &c.channels {
            set_channels(&mut tx, id, channels).await?;
        }
        let bot = read(&mut tx, id).await?.ok_or(CoreError::NotFound("bot"))?;
        tx.commit().await?;
        Ok(bot)
    }

    async fn renew_bot(&self, id: BotId, hash: &TokenHash, secret: &str) -> CoreResult<Bot> {
        let mut tx = self.db.begin().await?;
        let n = tx
            .execute(
                "UPDATE bots SET token_hash = $2, webhook_secret = $3 WHERE id = $1 AND kind = 'external'",
                params![id, hash.0.as_str(), secret],
            )
            .await?;
        if n == 0 {
            return Err(CoreError::NotFound("bot"));
        }
        let bot = read(&mut tx, id).await?.ok_or(CoreError::NotFound("bot"))?;
        tx.commit().await?;
        Ok(bot)
    }

    async fn bot_events_after(
        &self,
        scope: &BotScope,
        after: EventId,
        limit: u32,
    ) -> CoreResult<BotEvents> {
        let rows = self
            .db
            .fetch_all(
                "SELECT e.id, e.kind, e.dialog_id, e.audience, e.audience_manager_id, e.responsible_manager_id, \
                   e.responsible_bot_id, e.previous_manager_id, e.previous_bot_id, e.payload, e.created_at, d.channel_id \
                 FROM events e JOIN dialogs d ON d.id = e.dialog_id \
                 WHERE e.id > $1 AND e.audience IN ('dialog', 'left') ORDER BY e.id LIMIT $2",
                params![after.0, i64::from(limit)],
            )
            .await?;
        let mut read_up_to = after;
        let mut out = Vec::new();
        for r in &rows {
            let e = events::event_from(r)?;
            read_up_to = e.id;
            if scope.admits(&e.audience, ChannelId(r.i64("channel_id")?)) {
                out.push(e);
            }
        }
        Ok(BotEvents {
            events: out,
            read_up_to,
        })
    }

    async fn lease_bot_webhook(
        &self,
        owner: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> CoreResult<Option<BotDelivery>> {
        let Some(r) = self
            .db
            .fetch_optional(
                "UPDATE bots SET lease_owner = $1, lease_until = $3 WHERE id = ( \
                   SELECT b.id FROM bots b WHERE b.active AND b.webhook_url IS NOT NULL AND b.next_attempt_at <= $2 \
                     AND (b.lease_until IS NULL OR b.lease_until <= $2 OR b.lease_owner = $1) \
                     AND EXISTS (SELECT 1 FROM events e WHERE e.id > b.delivered_up_to) \
                   ORDER BY b.next_attempt_at, b.id LIMIT 1) \
                 AND (lease_until IS NULL OR lease_until <= $2 OR lease_owner = $1) \
                 RETURNING id, webhook_url, webhook_secret, attempts",
                params![owner, now, until],
            )
            .await?
        else {
            return Ok(None);
        };
        let id = BotId(r.i64("id")?);
        let bot = self.bot(id).await?.ok_or(CoreError::NotFound("bot"))?;
        Ok(Some(BotDelivery {
            bot,
            webhook_url: r.text("webhook_url")?,
            webhook_secret: r.opt_text("webhook_secret")?.unwrap_or_default(),
            attempts: r.i64("attempts")?,
        }))
    }

    async fn bot_delivered(&self, id: BotId, owner: &str, up_to: EventId) -> CoreResult<()> {
        self.db
            .execute(
                "UPDATE bots SET delivered_up_to = $3, attempts = 0, next_attempt_at = 0, failing_since = NULL, last_error = NULL \
                 WHERE id = $1 AND lease_owner = $2 AND delivered_up_to < $3",
                params![id, owner, up_to.0],
            )
            .await?;
        Ok(())
    }

    async fn bot_webhook_failed(
        &self,
        id: BotId,
        owner: &str,
        error: &str,
        retry_at: Timestamp,
        failing: Option<Timestamp>,
    ) -> CoreResult<()> {
        self.db
            .execute(
                "UPDATE bots SET attempts = attempts + 1, next_attempt_at = $4, last_error = $3, \
                   failing_since = COALESCE(failing_since, $5), lease_until = NULL \
                 WHERE id = $1 AND lease_owner = $2",
                params![id, owner, error, retry_at, failing],
            )
            .await?;
        Ok(())
    }
}
