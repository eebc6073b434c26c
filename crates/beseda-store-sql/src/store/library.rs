//! Tags on clients, quick replies and time limits (LibraryStore).

use super::events::join;
use super::{SqlStore, conflict_on_unique, events, params};
use crate::driver::SqlRow;
use async_trait::async_trait;
use beseda_core::company::{Tag, TagColor};
use beseda_core::dialog::Responsible;
use beseda_core::event::{DomainEvent, NewEvent};
use beseda_core::ids::{
    ChannelId, ClientId, DialogId, ManagerId, MessageId, OrderId, QuickReplyId, TagId,
};
use beseda_core::library::{
    ChannelTimeLimits, ClientCard, ClientChat, ClientRefName, ClientSourceView, ClientTag,
    OrderSummary, OrderTotal, QuickReply, TimeLimitSettings, TimeLimits,
};
use beseda_core::store::{LibraryStore, Written};
use beseda_core::time::Timestamp;
use beseda_core::{CoreError, CoreResult};

pub(super) fn tag_from(r: &SqlRow) -> CoreResult<Tag> {
    let color = r.text("color")?;
    Ok(Tag {
        id: TagId(r.i64("id")?),
        name: r.text("name")?,
        color: TagColor::parse(&color)
            .ok_or_else(|| CoreError::Storage(format!("unknown tag colour {color}")))?,
    })
}

fn quick_reply_from(r: &SqlRow) -> CoreResult<QuickReply> {
    Ok(QuickReply {
        id: QuickReplyId(r.i64("id")?),
        owner: r.opt_i64("owner_manager_id")?.map(ManagerId),
        title: r.text("title")?,
        body: r.text("body")?,
        updated_at: r.ts("updated_at")?,
    })
}

const QUICK_REPLY_COLUMNS: &str = "id, owner_manager_id, title, body, updated_at";

/// A client's tags, pinned first, then by name.
const CLIENT_TAGS: &str = "SELECT t.id, t.name, t.color, ct.pinned FROM client_tags ct JOIN tags t ON t.id = ct.tag_id \
    WHERE ct.client_id = $1 ORDER BY ct.pinned DESC, t.name";

pub(super) fn client_tags_from(rows: &[SqlRow]) -> CoreResult<Vec<ClientTag>> {
    rows.iter()
        .map(|r| {
            Ok(ClientTag {
                tag: tag_from(r)?,
                pinned: r.bool("pinned")?,
            })
        })
        .collect()
}

impl SqlStore {
    /// A client's tags, pinned first, then by name.
    pub(super) async fn read_client_tags(&self, client: ClientId) -> CoreResult<Vec<ClientTag>> {
        client_tags_from(&self.db.fetch_all(CLIENT_TAGS, params![client]).await?)
    }

    /// `client_updated` for every dialog of the client, so the rows showing its tags refresh.
    async fn client_tags_changed(
        &self,
        mut tx: Box<dyn crate::driver::SqlTx>,
        client: ClientId,
        now: Timestamp,
    ) -> CoreResult<Written<Vec<ClientTag>>> {
        let dialogs = tx
            .fetch_all("SELECT id, responsible_manager_id, responsible_bot_id FROM dialogs WHERE client_id = $1 AND deleted_at IS NULL", params![client])
            .await?;
        let tags = client_tags_from(&tx.fetch_all(CLIENT_TAGS, params![client]).await?)?;
        let mut new_events = Vec::new();
        for d in &dialogs {
            new_events.push(NewEvent::dialog(
                DialogId(d.i64("id")?),
                join(
                    d.opt_i64("responsible_manager_id")?,
                    d.opt_i64("responsible_bot_id")?,
                ),
                DomainEvent::ClientTagged {
                    client_id: client,
                    tags: tags.clone(),
                },
            ));
        }
        let events = events::append(&mut tx, new_events, now).await?;
        tx.commit().await?;
        Ok(Written {
            value: tags,
            events,
        })
    }
}

#[async_trait]
impl LibraryStore for SqlStore {
    async fn update_tag(
        &self,
        id: TagId,
        name: Option<&str>,
        color: Option<TagColor>,
    ) -> CoreResult<Tag> {
        let row = self
            .db
            .fetch_optional(
                "UPDATE tags SET name = COALESCE($2, name), color = COALESCE($3, color) WHERE id = $1 RETURNING id, name, color",
                params![id, name, color.map(TagColor::as_str)],
            )
            .await
            .map_err(conflict_on_unique("tag_name_taken", "a tag with this name"))?
            .ok_or(CoreError::NotFound("tag"))?;
        tag_from(&row)
    }

    async fn delete_tag(&self, id: TagId) -> CoreResult<()> {
        let mut tx = self.db.begin().await?;
        tx.execute("DELETE FROM client_tags WHERE tag_id = $1", params![id])
            .await?;
        if tx
            .execute("DELETE FROM tags WHERE id = $1", params![id])
            .await?
            == 0
        {
            return Err(CoreError::NotFound("tag"));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn set_client_tag(
        &self,
        client: ClientId,
        tag: TagId,
        pinned: bool,
        now: Timestamp,
    ) -> CoreResult<Written<Vec<ClientTag>>> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "INSERT INTO client_tags (client_id, tag_id, pinned, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (client_id, tag_id) DO UPDATE SET pinned = excluded.pinned",
            params![client, tag, pinned, now],
        )
        .await
        .map_err(|e| match e.kind {
            crate::driver::SqlErrorKind::ForeignKeyViolation => CoreError::NotFound("tag"),
            _ => e.into(),
        })?;
        self.client_tags_changed(tx, client, now).await
    }

    async fn remove_client_tag(
        &self,
        client: ClientId,
        tag: TagId,
        now: Timestamp,
    ) -> CoreResult<Written<Vec<ClientTag>>> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "DELETE FROM client_tags WHERE client_id = $1 AND tag_id = $2",
            params![client, tag],
        )
        .await?;
        self.client_tags_changed(tx, client, now).await
    }

    async fn merge_clients(
        &self,
        from: ClientId,
        into: ClientId,
        now: Timestamp,
    ) -> CoreResult<Written<Vec<ClientTag>>> {
        let mut tx = self.db.begin().await?;
        // Both cards, locked in id order so that two merges of one pair cannot deadlock.
        let (first, second) = if from.0 < into.0 {
            (from, into)
        } else {
            (into, from)
        };
        for id in [first, second] {
            let found = tx
                .execute(
                    "UPDATE clients SET updated_at = $2 WHERE id = $1",
                    params![id, now],
                )
                .await?;
            if found == 0 {
                return Err(CoreError::NotFound("client"));
            }
        }
        // Tags first, so the moving dialogs find them on their new card (the triggers keep the
        // tag filter's rows).
        tx.execute(
            "INSERT INTO client_tags (client_id, tag_id, pinned, created_at) \
             SELECT $2, tag_id, pinned, created_at FROM client_tags WHERE client_id = $1 \
             ON CONFLICT (client_id, tag_id) DO NOTHING",
            params![from, into],
        )
        .await?;
        for sql in [
            "UPDATE dialogs SET client_id = $2 WHERE client_id = $1",
            "UPDATE contacts SET client_id = $2 WHERE client_id = $1",
            "UPDATE orders SET client_id = $2 WHERE client_id = $1",
            "UPDATE clients SET possibly_same_as = NULL WHERE possibly_same_as = $1 OR (id = $2 AND possibly_same_as = $1)",
            "UPDATE clients SET phone = COALESCE(phone, (SELECT f.phone FROM clients f WHERE f.id = $1)), \
               email = COALESCE(email, (SELECT f.email FROM clients f WHERE f.id = $1)), \
               photo_url = COALESCE(photo_url, (SELECT f.photo_url FROM clients f WHERE f.id = $1)) WHERE id = $2",
            "DELETE FROM client_tags WHERE client_id = $1",
        ] {
            tx.execute(sql, params![from, into]).await?;
        }
        tx.execute("DELETE FROM clients WHERE id = $1", params![from])
            .await?;
        self.client_tags_changed(tx, into, now).await
    }

    async fn client_tags(&self, client: ClientId) -> CoreResult<Vec<ClientTag>> {
        self.read_client_tags(client).await
    }

    async fn client_card(&self, client: ClientId) -> CoreResult<Option<ClientCard>> {
        let Some(r) = self
            .db
            .fetch_optional(
                "SELECT id, name, phone, email, photo_url, source_channel_kind, source_channel_id, source_channel_name, \
                   source_first_contact_at, source_page, source_utm, source_referrer, blocked_at, created_at, \
                   (SELECT s.id FROM clients s WHERE s.id = clients.possibly_same_as) AS same_id, \
                   (SELECT s.name FROM clients s WHERE s.id = clients.possibly_same_as) AS same_name \
                 FROM clients WHERE id = $1",
                params![client],
            )
            .await?
        else {
            return Ok(None);
        };
        let utm = r
            .opt_text("source_utm")?
            .and_then(|u| serde_json::from_str(&u).ok());
        let source = ClientSourceView {
            channel_type: r.opt_text("source_channel_kind")?,
            channel_id: r.opt_i64("source_channel_id")?.map(ChannelId),
            channel_name: r.opt_text("source_channel_name")?,
            first_contact_at: r.opt_ts("source_first_contact_at")?,
            page: r.opt_text("source_page")?,
            referrer: r.opt_text("source_referrer")?,
            utm,
        };
        Ok(Some(ClientCard {
            id: client,
            name: r.text("name")?,
            phone: r.opt_text("phone")?,
            email: r.opt_text("email")?,
            photo_url: r.opt_text("photo_url")?,
            source: (source.channel_type.is_some() || source.first_contact_at.is_some())
                .then_some(source),
            tags: self.read_client_tags(client).await?,
            blocked: r.opt_i64("blocked_at")?.is_some(),
            created_at: r.ts("created_at")?,
            chats: self
                .db
                .fetch_all(
                    "SELECT d.id, d.status, d.last_activity_at, d.responsible_manager_id, d.responsible_bot_id, \
                       c.kind, c.name FROM dialogs d JOIN channels c ON c.id = d.channel_id \
                     WHERE d.client_id = $1 AND d.deleted_at IS NULL ORDER BY d.last_activity_at DESC, d.id DESC LIMIT 50",
                    params![client],
                )
                .await?
                .iter()
                .map(|d| {
                    Ok(ClientChat {
                        dialog_id: DialogId(d.i64("id")?),
                        channel_kind: d.text("kind")?,
                        channel_name: d.text("name")?,
                        open: d.text("status")? == "open",
                        last_activity_at: d.ts("last_activity_at")?,
                        responsible: join(
                            d.opt_i64("responsible_manager_id")?,
                            d.opt_i64("responsible_bot_id")?,
                        ),
                    })
                })
                .collect::<CoreResult<_>>()?,
            orders: self
                .db
                .fetch_all(
                    "SELECT id, number, status, total_minor, currency, created_at FROM orders \
                     WHERE client_id = $1 ORDER BY created_at DESC, id DESC LIMIT 20",
                    params![client],
                )
                .await?
                .iter()
                .map(|o| {
                    Ok(OrderSummary {
                        id: OrderId(o.i64("id")?),
                        number: o.text("number")?,
                        status: o.text("status")?,
                        total_minor: o.i64("total_minor")?,
                        currency: o.text("currency")?,
                        created_at: o.ts("created_at")?,
                    })
                })
                .collect::<CoreResult<_>>()?,
            order_totals: self
                .db
                .fetch_all(
                    "SELECT currency, CAST(SUM(total_minor) AS BIGINT) AS total_minor, COUNT(*) AS orders \
                     FROM orders WHERE client_id = $1 GROUP BY currency ORDER BY currency",
                    params![client],
                )
                .await?
                .iter()
                .map(|o| {
                    Ok(OrderTotal {
                        currency: o.text("currency")?,
                        total_minor: o.i64("total_minor")?,
                        orders: o.i64("orders")?,
                    })
                })
                .collect::<CoreResult<_>>()?,
            possibly_same_as: match r.opt_i64("same_id")? {
                Some(id) => Some(ClientRefName {
                    id: ClientId(id),
                    name: r.opt_text("same_name")?.unwrap_or_default(),
                }),
                None => None,
            },
        }))
    }

    async fn client_dialog_responsibles(
        &self,
        client: ClientId,
    ) -> CoreResult<Vec<Option<Responsible>>> {
        let rows = self
            .db
            .fetch_all("SELECT responsible_manager_id, responsible_bot_id FROM dialogs WHERE client_id = $1 AND deleted_at IS NULL", params![client])
            .await?;
        rows.iter()
            .map(|r| {
                Ok(join(
                    r.opt_i64("responsible_manager_id")?,
                    r.opt_i64("responsible_bot_id")?,
                ))
            })
            .collect()
    }

    async fn quick_replies(&self, manager: ManagerId) -> CoreResult<Vec<QuickReply>> {
        let sql = format!(
            "SELECT {QUICK_REPLY_COLUMNS} FROM quick_replies WHERE owner_manager_id IS NULL OR owner_manager_id = $1 ORDER BY title, id"
        );
        self.db
            .fetch_all(&sql, params![manager])
            .await?
            .iter()
            .map(quick_reply_from)
            .collect()
    }

    async fn quick_reply(&self, id: QuickReplyId) -> CoreResult<Option<QuickReply>> {
        let sql = format!("SELECT {QUICK_REPLY_COLUMNS} FROM quick_replies WHERE id = $1");
        self.db
            .fetch_optional(&sql, params![id])
            .await?
            .as_ref()
            .map(quick_reply_from)
            .transpose()
    }

    async fn create_quick_reply(
        &self,
        owner: Option<ManagerId>,
        title: &str,
        body: &str,
        now: Timestamp,
    ) -> CoreResult<QuickReply> {
        let sql = format!(
            "INSERT INTO quick_replies (owner_manager_id, title, body, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING {QUICK_REPLY_COLUMNS}"
        );
        quick_reply_from(
            &self
                .db
                .fetch_one(&sql, params![owner, title, body, now])
                .await?,
        )
    }

    async fn update_quick_reply(
        &self,
        id: QuickReplyId,
        title: Option<&str>,
        body: Option<&str>,
        now: Timestamp,
    ) -> CoreResult<QuickReply> {
        let sql = format!(
            "UPDATE quick_replies SET title = COALESCE($2, title), body = COALESCE($3, body), updated_at = $4 WHERE id = $1 RETURNING {QUICK_REPLY_COLUMNS}"
        );
        let row = self
            .db
            .fetch_optional(&sql, params![id, title, body, now])
            .await?
            .ok_or(CoreError::NotFound("quick reply"))?;
        quick_reply_from(&row)
    }

    async fn delete_quick_reply(&self, id: QuickReplyId) -> CoreResult<()> {
        if self
            .db
            .execute("DELETE FROM quick_replies WHERE id = $1", params![id])
            .await?
            == 0
        {
            return Err(CoreError::NotFound("quick reply"));
        }
        Ok(())
    }

    async fn message_body(&self, id: MessageId) -> CoreResult<Option<String>> {
        let r = self
            .db
            .fetch_optional(
                "SELECT body FROM messages WHERE id = $1 AND deleted_at IS NULL",
                params![id],
            )
            .await?;
        Ok(r.map(|r| r.text("body")).transpose()?)
    }

    async fn time_limits(&self) -> CoreResult<TimeLimitSettings> {
        let d = self
            .db
            .fetch_one(
                "SELECT warning_secs, danger_secs FROM chat_settings WHERE id = 1",
                &[],
            )
            .await?;
        let rows = self
            .db
            .fetch_all(
                "SELECT id, warning_secs, danger_secs FROM channels WHERE warning_secs IS NOT NULL OR danger_secs IS NOT NULL ORDER BY id",
                &[],
            )
            .await?;
        let limits = |r: &SqlRow| -> CoreResult<TimeLimits> {
            Ok(TimeLimits {
                warning_secs: r.opt_i64("warning_secs")?,
                danger_secs: r.opt_i64("danger_secs")?,
            })
        };
        Ok(TimeLimitSettings {
            default: limits(&d)?,
            channels: rows
                .iter()
                .map(|r| {
                    Ok(ChannelTimeLimits {
                        channel_id: ChannelId(r.i64("id")?),
                        limits: limits(r)?,
                    })
                })
                .collect::<CoreResult<_>>()?,
        })
    }

    async fn set_default_time_limits(&self, l: TimeLimits) -> CoreResult<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "UPDATE chat_settings SET warning_secs = $1, danger_secs = $2 WHERE id = 1",
            params![l.warning_secs, l.danger_secs],
        )
        .await?;
        // Every waiting mark is looked at again under the new limits (F13).
        tx.execute(super::timers::RESCHEDULE_WAITING, &[]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_channel_time_limits(&self, channel: ChannelId, l: TimeLimits) -> CoreResult<()> {
        let mut tx = self.db.begin().await?;
        let n = tx
            .execute(
                "UPDATE channels SET warning_secs = $2, danger_secs = $3 WHERE id = $1",
                params![channel, l.warning_secs, l.danger_secs],
            )
            .await?;
        if n == 0 {
            return Err(CoreError::NotFound("channel"));
        }
        tx.execute(
            &format!("{} AND channel_id = $1", super::timers::RESCHEDULE_WAITING),
            params![channel],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
