//! The dialog engine's writes (DialogStore), each one transaction that also appends its events.

use super::dialog_tx::{self as dtx, Locked, NewMessage};
use super::{SqlStore, events, params};
use crate::driver::SqlTx;
use async_trait::async_trait;
use beseda_core::attachment::Uploader;
use beseda_core::dialog::{
    Counters, DialogView, FeedPage, InboundMessage, Ingested, MessageKind, MessageView,
    OutgoingMessage, Responsible, Viewer,
};
use beseda_core::event::{DomainEvent, Event, EventId, MessageChange, NewEvent};
use beseda_core::ids::{ClientId, DialogId, ManagerId, MessageId};
use beseda_core::rules;
use beseda_core::store::{DialogAccess, DialogStore, Guard, Written};
use beseda_core::time::Timestamp;
use beseda_core::{CoreError, CoreResult};

/// An event of the dialog for whoever may see it now.
pub(super) fn event(d: &Locked, event: DomainEvent) -> NewEvent {
    d.state().event(event)
}

/// A message and the dialog's keys after the change, for the message events.
pub(super) async fn message_change(
    tx: &mut Box<dyn SqlTx>,
    d: &Locked,
    m: &MessageView,
) -> CoreResult<MessageChange> {
    Ok(MessageChange {
        message: m.clone(),
        dialog: dtx::dialog_keys(tx, d.id).await?,
    })
}

/// `message_new` with the dialog's keys after the change.
pub(super) async fn message_event(
    tx: &mut Box<dyn SqlTx>,
    d: &Locked,
    m: &MessageView,
) -> CoreResult<NewEvent> {
    let change = message_change(tx, d, m).await?;
    Ok(event(d, DomainEvent::MessageNew(change)))
}

/// A dialog event with its line in the feed (F17): the line, announced as a new message, and
/// the event itself.
pub(super) async fn dialog_event(
    tx: &mut Box<dyn SqlTx>,
    d: &mut Locked,
    what: DomainEvent,
    now: Timestamp,
) -> CoreResult<[NewEvent; 2]> {
    let m = dtx::add_system_message(tx, d, what.clone(), now).await?;
    Ok([message_event(tx, d, &m).await?, event(d, what)])
}

/// Ends a change of a dialog: its event with its line in the feed, the events, the commit.
async fn record_change(
    mut tx: Box<dyn SqlTx>,
    d: &mut Locked,
    what: DomainEvent,
    more: Vec<NewEvent>,
    now: Timestamp,
) -> CoreResult<Written<()>> {
    let mut new_events = Vec::from(dialog_event(&mut tx, d, what, now).await?);
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

impl SqlStore {
    /// Reassigns a dialog (F07): by whom, and why when the distribution bot did it (F36).
    pub(super) async fn hand_over(
        &self,
        id: DialogId,
        to: Option<Responsible>,
        by: Responsible,
        reason: Option<beseda_core::distribution::AssignReason>,
        guard: Guard,
        now: Timestamp,
    ) -> CoreResult<Written<()>> {
        let mut tx = self.db.begin().await?;
        let mut d = dtx::lock(&mut tx, id).await?;
        let Some(plan) = rules::reassign(&d.state(), to, by, reason, guard)? else {
            return commit(tx, (), Vec::new()).await;
        };
        let (manager, bot) = match to {
            Some(Responsible::Manager(m)) => (Some(m.0), None),
            Some(Responsible::Bot(b)) => (None, Some(b.0)),
            None => (None, None),
        };
        tx.execute(
            "UPDATE dialogs SET responsible_manager_id = $2, responsible_bot_id = $3, assigned_at = $4 WHERE id = $1",
            params![id, manager, bot, now],
        )
        .await
        .map_err(|e| match e.kind {
            crate::driver::SqlErrorKind::ForeignKeyViolation => {
                CoreError::invalid("to", "no such manager or bot")
            }
            _ => e.into(),
        })?;
        d.responsible = to;
        let withdrawn = match plan.withdrawn_from {
            Some(author) => self.withdraw_queued(&mut tx, &d, author, now).await?,
            None => Vec::new(),
        };
        let mut written = record_change(tx, &mut d, plan.line, vec![plan.gone], now).await?;
        written.events.splice(0..0, withdrawn);
        Ok(written)
    }
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
        let blocked = dtx::client_blocked(&mut tx, &d).await?;
        let plan = rules::company_message(&d.state(), m.author, guard, blocked)?;
        let mut new_events = self.reopen(&mut tx, &mut d, plan.reopened, now).await?;
        let author = dtx::author(&mut tx, m.author).await?;
        let msg = NewMessage {
            author,
            kind: MessageKind::Text,
            body: &m.body,
            event: None,
            quote: m.quote,
            external_id: None,
            status: Some(plan.status),
            created_at: now,
            waiting_since: None,
            files: &m.attachments,
            uploader: Some(Uploader::author(m.author, d.id)),
            buttons: &m.buttons,
        };
        let view = dtx::add_message(&mut tx, &mut d, msg, now).await?;
        if let Some(t) = &m.template {
            let json = serde_json::to_string(t).map_err(|e| CoreError::Internal(e.to_string()))?;
            tx.execute(
                "UPDATE messages SET template = $2 WHERE id = $1",
                params![view.id, json],
            )
            .await?;
        }
        tx.execute(
            "INSERT INTO delivery_jobs (message_id, dialog_id, channel_id, state, next_attempt_at, created_at) VALUES ($1, $2, $3, 'pending', $4, $4)",
            params![view.id, d.id, d.channel_id, now],
        )
        .await?;
        // The company answered: the client no longer waits (F34); a notice is no answer.
        if !m.automatic {
            dtx::stop_waiting(&mut tx, &mut d).await?;
        }
        if let (Some(manager), Some(dropped)) = (plan.read_by, plan.draft_dropped) {
            let had_draft = tx
                .execute(
                    "DELETE FROM drafts WHERE manager_id = $1 AND dialog_id = $2",
                    params![manager, d.id],
                )
                .await?;
            if had_draft > 0 {
                new_events.push(dropped);
            }
            dtx::set_read_state(&mut tx, &d, manager, true).await?;
        }
        new_events.push(message_event(&mut tx, &d, &view).await?);
        let events = events::append(&mut tx, new_events, now).await?;
        commit(tx, view, events).await
    }

    async fn reassign(
        &self,
        id: DialogId,
        to: Option<Responsible>,
        by: Responsible,
        guard: Guard,
        now: Timestamp,
    ) -> CoreResult<Written<()>> {
        self.hand_over(id, to, by, None, guard, now).await
    }

    async fn close_dialog(
        &self,
        id: DialogId,
        by: Responsible,
        guard: Guard,
        now: Timestamp,
    ) -> CoreResult<Written<()>> {
        let mut tx = self.db.begin().await?;
        let mut d = dtx::lock(&mut tx, id).await?;
        let Some(line) = rules::close(&d.state(), by, guard)? else {
            return commit(tx, (), Vec::new()).await;
        };
        tx.execute(
            "UPDATE dialogs SET status = 'closed', closed_at = $2 WHERE id = $1",
            params![id, now],
        )
        .await?;
        dtx::stop_waiting(&mut tx, &mut d).await?;
        d.open = false;
        record_change(tx, &mut d, line, Vec::new(), now).await
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
        let e = rules::read_state(id, manager, true);
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
        let e = rules::read_state(id, manager, false);
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
            let line = rules::blocking(blocked, by);
            new_events.extend(dialog_event(&mut tx, &mut d, line, now).await?);
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
        let Some(line) = rules::detach(&d.state(), by, guard)? else {
            return commit(tx, (), Vec::new()).await;
        };
        tx.execute(
            "UPDATE dialogs SET client_id = NULL WHERE id = $1",
            params![id],
        )
        .await?;
        d.client_id = None;
        record_change(tx, &mut d, line, Vec::new(), now).await
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
        let e = rules::draft_changed(id, manager, body);
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

    async fn events_after(&self, after: EventId, limit: u32) -> CoreResult<Option<Vec<Event>>> {
        events::after(&*self.db, None, after, limit).await
    }

    async fn prune_events(&self, before: Timestamp) -> CoreResult<u64> {
        events::prune(&*self.db, before).await
    }
}
