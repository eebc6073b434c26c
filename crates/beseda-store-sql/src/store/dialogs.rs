//! The dialog engine's writes (DialogStore), each one transaction that also appends its events.

use super::dialog_tx::{self as dtx, Locked, NewMessage};
use super::{SqlStore, events, params};
use crate::driver::SqlTx;
use async_trait::async_trait;
use beseda_core::attachment::Uploader;
use beseda_core::dialog::{
    Counters, DialogView, FeedPage, InboundMessage, Ingested, MessageView, OutgoingMessage,
    Responsible, Viewer,
};
use beseda_core::event::{Audience, Event, EventId, NewEvent};
use beseda_core::ids::{ClientId, DialogId, ManagerId, MessageId};
use beseda_core::store::{DialogAccess, DialogStore, Guard, Written};
use beseda_core::time::Timestamp;
use beseda_core::{CoreError, CoreResult};
use serde_json::json;

pub(super) fn event(kind: &'static str, d: &Locked, payload: serde_json::Value) -> NewEvent {
    NewEvent {
        kind,
        dialog_id: Some(d.id),
        audience: Audience::Dialog(d.responsible),
        payload,
    }
}

pub(super) fn personal(
    kind: &'static str,
    d: DialogId,
    manager: ManagerId,
    payload: serde_json::Value,
) -> NewEvent {
    NewEvent {
        kind,
        dialog_id: Some(d),
        audience: Audience::Manager(manager),
        payload,
    }
}

/// `message_new` with the dialog's keys after the change.
pub(super) async fn message_event(
    tx: &mut Box<dyn SqlTx>,
    d: &Locked,
    m: &MessageView,
) -> CoreResult<NewEvent> {
    let dialog = dtx::dialog_json(tx, d.id).await?;
    Ok(event(
        "message_new",
        d,
        json!({ "message": m, "dialog": dialog }),
    ))
}

/// Ends a change of a dialog: its event in the feed (F17), the events, the commit.
async fn record_change(
    mut tx: Box<dyn SqlTx>,
    d: &mut Locked,
    what: serde_json::Value,
    more: Vec<NewEvent>,
    now: Timestamp,
) -> CoreResult<Written<()>> {
    let m = dtx::add_system_message(&mut tx, d, what, now).await?;
    let mut new_events = vec![message_event(&mut tx, d, &m).await?];
    new_events.extend(more);
    let events = events::append(&mut tx, new_events, now).await?;
    commit(tx, (), events).await
}

pub(super) async fn commit<T>(
    tx: Box<dyn SqlTx>,
    value: T,
    events: Vec<Event>,
) -> CoreResult<Written<T>> {
    tx.commit().await?;
    Ok(Written { value, events })
}

#[async_trait]
impl DialogStore for SqlStore {
    async fn ingest_client_message(
        &self,
        m: &InboundMessage,
        now: Timestamp,
    ) -> CoreResult<Written<Ingested>> {
        self.ingest(m, now).await
    }

    async fn import_history(
        &self,
        h: &beseda_core::dialog::HistoryImport,
        now: Timestamp,
    ) -> CoreResult<(DialogId, bool)> {
        self.import_contact_history(h, now).await
    }

    async fn append_company_message(
        &self,
        m: &OutgoingMessage,
        guard: Guard,
        now: Timestamp,
    ) -> CoreResult<Written<MessageView>> {
        let mut tx = self.db.begin().await?;
        let mut d = dtx::lock(&mut tx, m.dialog_id).await?;
        dtx::check(&d, guard)?;
        if dtx::client_blocked(&mut tx, &d).await? {
            return Err(CoreError::ClientBlocked);
        }
        let mut new_events = self.reopen(&mut tx, &mut d, Some(m.author), now).await?;
        let author = dtx::manager_author(&mut tx, m.author).await?;
        let msg = NewMessage {
            author,
            kind: "text",
            body: &m.body,
            event: None,
            quote: m.quote,
            external_id: None,
            status: Some("queued"),
            created_at: now,
            files: &m.attachments,
            uploader: Some(Uploader::Manager {
                manager: m.author,
                dialog: d.id,
            }),
        };
        let view = dtx::add_message(&mut tx, &mut d, msg, now).await?;
        tx.execute(
            "INSERT INTO delivery_jobs (message_id, dialog_id, channel_id, state, next_attempt_at, created_at) VALUES ($1, $2, $3, 'pending', $4, $4)",
            params![view.id, d.id, d.channel_id, now],
        )
        .await?;
        // The company answered: the client no longer waits (F34).
        tx.execute(
            "UPDATE dialogs SET waiting_since = NULL WHERE id = $1",
            params![d.id],
        )
        .await?;
        if tx
            .execute(
                "DELETE FROM drafts WHERE manager_id = $1 AND dialog_id = $2",
                params![m.author, d.id],
            )
            .await?
            > 0
        {
            new_events.push(personal(
                "draft_saved",
                d.id,
                m.author,
                json!({ "draft": null }),
            ));
        }
        dtx::set_read_state(&mut tx, &d, m.author, true).await?;
        new_events.push(message_event(&mut tx, &d, &view).await?);
        let events = events::append(&mut tx, new_events, now).await?;
        commit(tx, view, events).await
    }

    async fn reassign(
        &self,
        id: DialogId,
        to: Option<Responsible>,
        by: ManagerId,
        guard: Guard,
        now: Timestamp,
    ) -> CoreResult<Written<()>> {
        let mut tx = self.db.begin().await?;
        let mut d = dtx::lock(&mut tx, id).await?;
        dtx::check(&d, guard)?;
        let before = d.responsible;
        if before == to {
            return commit(tx, (), Vec::new()).await;
        }
        let (manager, bot) = match to {
            Some(Responsible::Manager(m)) => (Some(m.0), None),
            Some(Responsible::Bot(b)) => (None, Some(b.0)),
            None => (None, None),
        };
        tx.execute(
            "UPDATE dialogs SET responsible_manager_id = $2, responsible_bot_id = $3 WHERE id = $1",
            params![id, manager, bot],
        )
        .await
        .map_err(|e| match e.kind {
            crate::driver::SqlErrorKind::ForeignKeyViolation => {
                CoreError::invalid("to", "no such manager or bot")
            }
            _ => e.into(),
        })?;
        d.responsible = to;
        let gone = NewEvent {
            kind: "dialog_gone",
            dialog_id: Some(id),
            audience: Audience::Left { before, after: to },
            payload: json!({}),
        };
        let what = json!({ "event": "reassigned", "from": before, "to": to, "by": by });
        record_change(tx, &mut d, what, vec![gone], now).await
    }

    async fn close_dialog(
        &self,
        id: DialogId,
        by: ManagerId,
        guard: Guard,
        now: Timestamp,
    ) -> CoreResult<Written<()>> {
        let mut tx = self.db.begin().await?;
        let mut d = dtx::lock(&mut tx, id).await?;
        dtx::check(&d, guard)?;
        if !d.open {
            return commit(tx, (), Vec::new()).await;
        }
        tx.execute("UPDATE dialogs SET status = 'closed', closed_at = $2, waiting_since = NULL WHERE id = $1", params![id, now]).await?;
        d.open = false;
        record_change(
            tx,
            &mut d,
            json!({ "event": "closed", "by": by }),
            Vec::new(),
            now,
        )
        .await
    }

    async fn mark_read(
        &self,
        id: DialogId,
        manager: ManagerId,
        now: Timestamp,
    ) -> CoreResult<Written<()>> {
        let mut tx = self.db.begin().await?;
        let d = dtx::lock(&mut tx, id).await?;
        dtx::set_read_state(&mut tx, &d, manager, true).await?;
        let e = personal(
            "read_state",
            id,
            manager,
            json!({ "unread_messages": 0, "marked_unread": false }),
        );
        let events = events::append(&mut tx, vec![e], now).await?;
        commit(tx, (), events).await
    }

    async fn mark_unread(
        &self,
        id: DialogId,
        manager: ManagerId,
        now: Timestamp,
    ) -> CoreResult<Written<()>> {
        let mut tx = self.db.begin().await?;
        let d = dtx::lock(&mut tx, id).await?;
        dtx::set_read_state(&mut tx, &d, manager, false).await?;
        let e = personal("read_state", id, manager, json!({ "marked_unread": true }));
        let events = events::append(&mut tx, vec![e], now).await?;
        commit(tx, (), events).await
    }

    async fn set_client_blocked(
        &self,
        client: ClientId,
        blocked: bool,
        by: ManagerId,
        now: Timestamp,
    ) -> CoreResult<Written<()>> {
        let mut tx = self.db.begin().await?;
        let changed = tx
            .execute(
                "UPDATE clients SET blocked_at = $2, blocked_by = $3, updated_at = $4 WHERE id = $1 AND (blocked_at IS NULL) = $5",
                params![client, blocked.then_some(now), blocked.then_some(by), now, blocked],
            )
            .await?;
        if changed == 0 {
            // Unknown, or already in that state: nothing to record.
            tx.fetch_optional("SELECT id FROM clients WHERE id = $1", params![client])
                .await?
                .ok_or(CoreError::NotFound("client"))?;
            return commit(tx, (), Vec::new()).await;
        }
        let dialogs = tx
            .fetch_all(
                "SELECT id FROM dialogs WHERE client_id = $1 AND deleted_at IS NULL ORDER BY id",
                params![client],
            )
            .await?;
        let mut new_events = Vec::new();
        for r in dialogs {
            let mut d = dtx::lock(&mut tx, DialogId(r.i64("id")?)).await?;
            let what = if blocked {
                "client_blocked"
            } else {
                "client_unblocked"
            };
            let m =
                dtx::add_system_message(&mut tx, &mut d, json!({ "event": what, "by": by }), now)
                    .await?;
            new_events.push(message_event(&mut tx, &d, &m).await?);
        }
        let events = events::append(&mut tx, new_events, now).await?;
        commit(tx, (), events).await
    }

    async fn detach_client(
        &self,
        id: DialogId,
        by: ManagerId,
        guard: Guard,
        now: Timestamp,
    ) -> CoreResult<Written<()>> {
        let mut tx = self.db.begin().await?;
        let mut d = dtx::lock(&mut tx, id).await?;
        dtx::check(&d, guard)?;
        let Some(client) = d.client_id else {
            return commit(tx, (), Vec::new()).await;
        };
        tx.execute(
            "UPDATE dialogs SET client_id = NULL WHERE id = $1",
            params![id],
        )
        .await?;
        d.client_id = None;
        let what = json!({ "event": "client_detached", "client_id": client, "by": by });
        record_change(tx, &mut d, what, Vec::new(), now).await
    }

    async fn save_draft(
        &self,
        id: DialogId,
        manager: ManagerId,
        body: Option<&str>,
        now: Timestamp,
    ) -> CoreResult<Written<()>> {
        let mut tx = self.db.begin().await?;
        dtx::lock(&mut tx, id).await?;
        match body {
            Some(text) => {
                tx.execute(
                    "INSERT INTO drafts (manager_id, dialog_id, body, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (manager_id, dialog_id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
                    params![manager, id, text, now],
                )
                .await?;
            }
            None => {
                tx.execute(
                    "DELETE FROM drafts WHERE manager_id = $1 AND dialog_id = $2",
                    params![manager, id],
                )
                .await?;
            }
        }
        let e = personal("draft_saved", id, manager, json!({ "draft": body }));
        let events = events::append(&mut tx, vec![e], now).await?;
        commit(tx, (), events).await
    }

    async fn dialog_access(&self, id: DialogId) -> CoreResult<Option<DialogAccess>> {
        self.read_dialog_access(id).await
    }

    async fn dialog_view(
        &self,
        id: DialogId,
        viewer: Viewer,
        now: Timestamp,
    ) -> CoreResult<Option<DialogView>> {
        self.read_dialog_view(id, viewer, now).await
    }

    async fn feed(&self, id: DialogId, page: FeedPage, limit: u32) -> CoreResult<Vec<MessageView>> {
        self.read_feed(id, page, limit).await
    }

    async fn message_dialog(&self, id: MessageId) -> CoreResult<Option<DialogId>> {
        let r = self
            .db
            .fetch_optional("SELECT dialog_id FROM messages WHERE id = $1", params![id])
            .await?;
        Ok(r.map(|r| r.i64("dialog_id")).transpose()?.map(DialogId))
    }

    async fn counters(&self, viewer: Viewer) -> CoreResult<Counters> {
        self.read_counters(viewer).await
    }

    async fn events_after(&self, after: EventId, limit: u32) -> CoreResult<Vec<Event>> {
        events::after(&*self.db, after, limit).await
    }
}
