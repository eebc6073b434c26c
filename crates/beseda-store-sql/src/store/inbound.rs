//! Client messages coming in: dedupe, the contact and its client card, the dialog, reopening,
//! a blocked client's refusal, the keys and counters (F04, F08, F10, F38).

use super::company::insert_history;
use super::dialog_tx::{self as dtx, Locked, NewMessage};
use super::dialogs::{commit, dialog_event, message_event};
use super::{SqlStore, events, params};
use crate::driver::SqlTx;
use beseda_core::attachment::Uploader;
use beseda_core::company::ImportDialog;
use beseda_core::dialog::{
    ContactDetails, HistoryImport, InboundMessage, Ingested, MessageAuthor, MessageKind,
};
use beseda_core::event::{Audience, DomainEvent, NewEvent};
use beseda_core::ids::{ChannelId, ClientId, DialogId, MessageId};
use beseda_core::rules::{self, ClientMessage};
use beseda_core::store::Written;
use beseda_core::time::Timestamp;
use beseda_core::{CoreError, CoreResult};

/// The first result for a message pushed before (dedupe on the channel and its external id).
async fn seen_before(tx: &mut Box<dyn SqlTx>, m: &InboundMessage) -> CoreResult<Option<Ingested>> {
    let r = tx
        .fetch_optional(
            "SELECT id, dialog_id FROM messages WHERE channel_id = $1 AND external_id = $2",
            params![m.channel_id, m.external_id.as_str()],
        )
        .await?;
    r.map(|r| {
        Ok(Ingested::Duplicate {
            dialog_id: DialogId(r.i64("dialog_id")?),
            message_id: MessageId(r.i64("id")?),
        })
    })
    .transpose()
}

/// An existing client card with this phone or, failing that, this email (F04).
async fn known_client(
    tx: &mut Box<dyn SqlTx>,
    phone: Option<&str>,
    email: Option<&str>,
) -> CoreResult<Option<i64>> {
    for (sql, value) in [
        (
            "SELECT id FROM clients WHERE phone = $1 ORDER BY id LIMIT 1",
            phone,
        ),
        (
            "SELECT id FROM clients WHERE email = $1 ORDER BY id LIMIT 1",
            email,
        ),
    ] {
        let Some(value) = value else { continue };
        if let Some(r) = tx.fetch_optional(sql, params![value]).await? {
            return Ok(Some(r.i64("id")?));
        }
    }
    Ok(None)
}

impl SqlStore {
    /// Finds the contact and its dialog, creating them (with a client card) for a new client.
    async fn contact_dialog(
        &self,
        tx: &mut Box<dyn SqlTx>,
        m: &InboundMessage,
        now: Timestamp,
    ) -> CoreResult<DialogId> {
        // The usual case, a client who wrote before: one lookup.
        let known = tx
            .fetch_optional(
                "SELECT d.id, d.deleted_at FROM contacts ct JOIN dialogs d ON d.contact_id = ct.id \
                 WHERE ct.channel_id = $1 AND ct.external_id = $2",
                params![m.channel_id, m.contact_external_id.as_str()],
            )
            .await?;
        if let Some(r) = known
            && r.opt_i64("deleted_at")?.is_none()
        {
            return Ok(DialogId(r.i64("id")?));
        }
        let contact = self
            .contact(
                tx,
                m.channel_id,
                &m.contact_external_id,
                &m.contact_name,
                &m.details,
                now,
            )
            .await?;
        if let Some(r) = tx
            .fetch_optional(
                "SELECT id, deleted_at FROM dialogs WHERE contact_id = $1",
                params![contact],
            )
            .await?
        {
            let id = DialogId(r.i64("id")?);
            if r.opt_i64("deleted_at")?.is_some() {
                // A deleted dialog comes back with its next message; what was before counts as read.
                tx.execute(
                    "UPDATE dialogs SET deleted_at = NULL, deleted_by = NULL, read_baseline_client_count = client_count WHERE id = $1",
                    params![id],
                )
                .await?;
            }
            return Ok(id);
        }
        let client = tx
            .fetch_one(
                "SELECT client_id FROM contacts WHERE id = $1",
                params![contact],
            )
            .await?
            .opt_i64("client_id")?;
        let row = tx
            .fetch_optional(
                "INSERT INTO dialogs (channel_id, contact_id, client_id, status, last_activity_at, opened_at, created_at) \
                 VALUES ($1, $2, $3, 'open', $4, $4, $4) ON CONFLICT (contact_id) DO NOTHING RETURNING id",
                params![m.channel_id, contact, client, now],
            )
            .await?;
        let row = match row {
            Some(r) => r,
            None => {
                tx.fetch_one(
                    "SELECT id FROM dialogs WHERE contact_id = $1",
                    params![contact],
                )
                .await?
            }
        };
        Ok(DialogId(row.i64("id")?))
    }

    /// The contact of a client on a channel, created with its client card when new: an
    /// existing card with the same phone or email, or a new one that remembers where the client
    /// first came from (F04).
    async fn contact(
        &self,
        tx: &mut Box<dyn SqlTx>,
        channel_id: ChannelId,
        external_id: &str,
        name: &str,
        details: &ContactDetails,
        now: Timestamp,
    ) -> CoreResult<i64> {
        let channel = tx
            .fetch_optional(
                "SELECT kind, name FROM channels WHERE id = $1 AND active",
                params![channel_id],
            )
            .await?
            .ok_or(CoreError::NotFound("channel"))?;
        // Concurrent first messages of one new client race here: the unique keys decide, and
        // whoever loses finds the winner's rows once it has committed.
        let det = details;
        let (phone, email) = (det.normalized_phone(), det.normalized_email());
        let inserted = tx
            .fetch_optional(
                "INSERT INTO contacts (channel_id, external_id, name, nickname, phone, email, avatar_url, profile_url, language, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (channel_id, external_id) DO NOTHING RETURNING id",
                params![
                    channel_id,
                    external_id,
                    name,
                    det.nickname.clone(),
                    phone.clone(),
                    email.clone(),
                    det.avatar_url.clone(),
                    det.profile_url.clone(),
                    det.language.clone(),
                    now
                ],
            )
            .await?;
        let contact = match inserted {
            Some(r) => {
                let contact = r.i64("id")?;
                let known = known_client(tx, phone.as_deref(), email.as_deref()).await?;
                let client = match known {
                    Some(existing) if !det.self_declared => existing,
                    // F04: a new client card remembers where the client first came from; a
                    // card matched only by what the client typed is a suggestion, not a link.
                    suggested => tx
                        .fetch_one(
                            "INSERT INTO clients (name, phone, email, photo_url, source_channel_kind, source_channel_id, source_channel_name, \
                               source_first_contact_at, source_page, source_utm, source_referrer, possibly_same_as, created_at, updated_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $8, $8) RETURNING id",
                            params![
                                name,
                                phone,
                                email,
                                det.avatar_url.clone(),
                                channel.text("kind")?,
                                channel_id,
                                channel.text("name")?,
                                now,
                                det.page.clone(),
                                det.utm.clone(),
                                det.referrer.clone(),
                                suggested
                            ],
                        )
                        .await?
                        .i64("id")?,
                };
                tx.execute(
                    "UPDATE contacts SET client_id = $2 WHERE id = $1",
                    params![contact, client],
                )
                .await?;
                contact
            }
            None => tx
                .fetch_one(
                    "SELECT id FROM contacts WHERE channel_id = $1 AND external_id = $2",
                    params![channel_id, external_id],
                )
                .await?
                .i64("id")?,
        };
        Ok(contact)
    }

    /// Reopens a closed dialog with an event in the feed (F08).
    /// Carries out a reopening the rules decided (F08), with its line in the feed.
    pub(super) async fn reopen(
        &self,
        tx: &mut Box<dyn SqlTx>,
        d: &mut Locked,
        reopening: Option<DomainEvent>,
        now: Timestamp,
    ) -> CoreResult<Vec<NewEvent>> {
        let Some(line) = reopening else {
            return Ok(Vec::new());
        };
        tx.execute(
            "UPDATE dialogs SET status = 'open', opened_at = $2, closed_at = NULL WHERE id = $1",
            params![d.id, now],
        )
        .await?;
        d.open = true;
        Ok(Vec::from(dialog_event(tx, d, line, now).await?))
    }

    /// The audit entry of a refused push, on its dialog when that dialog existed before.
    async fn record_refusal(
        &self,
        audit: DomainEvent,
        dialog: DialogId,
        now: Timestamp,
    ) -> CoreResult<Written<Ingested>> {
        let mut tx = self.db.begin().await?;
        let existed = tx
            .fetch_optional("SELECT id FROM dialogs WHERE id = $1", params![dialog])
            .await?
            .is_some();
        let audit = NewEvent {
            event: audit,
            dialog_id: existed.then_some(dialog),
            audience: Audience::Audit,
        };
        events::append(&mut tx, vec![audit], now).await?;
        commit(tx, Ingested::Refused, Vec::new()).await
    }

    pub(super) async fn ingest(
        &self,
        m: &InboundMessage,
        now: Timestamp,
    ) -> CoreResult<Written<Ingested>> {
        let mut tx = self.db.begin().await?;
        if let Some(first) = seen_before(&mut tx, m).await? {
            return Ok(Written {
                value: first,
                events: Vec::new(),
            });
        }
        let id = self.contact_dialog(&mut tx, m, now).await?;
        let mut d = dtx::lock(&mut tx, id).await?;
        // A concurrent push of the same message committed while this one waited for the lock.
        if let Some(first) = seen_before(&mut tx, m).await? {
            tx.commit().await?;
            return Ok(Written {
                value: first,
                events: Vec::new(),
            });
        }
        let blocked = dtx::client_blocked(&mut tx, &d).await?;
        let (reopened, waiting_since) =
            match rules::client_message(&d.state(), blocked, &m.external_id, &m.body, now) {
                ClientMessage::Refused(audit) => {
                    // A refusal leaves nothing behind: the contact, the dialog (or a deleted
                    // dialog's return) made for this push are rolled back with it.
                    drop(tx);
                    return self.record_refusal(audit, id, now).await;
                }
                ClientMessage::Accepted {
                    reopened,
                    waiting_since,
                } => (reopened, waiting_since),
            };
        let mut new_events = self.reopen(&mut tx, &mut d, reopened, now).await?;
        // A quote of a message the dialog does not have is dropped, not the message (F15).
        let quote = match &m.quote_external_id {
            Some(q) => tx
                .fetch_optional(
                    "SELECT id FROM messages WHERE dialog_id = $1 AND (external_id = $2 OR transport_id = $2) ORDER BY id LIMIT 1",
                    params![id, q.as_str()],
                )
                .await?
                .map(|r| r.i64("id").map(MessageId))
                .transpose()?,
            None => None,
        };
        let msg = NewMessage {
            author: MessageAuthor::Client,
            kind: MessageKind::Text,
            body: &m.body,
            event: None,
            quote,
            external_id: Some(&m.external_id),
            status: None,
            created_at: m.sent_at,
            waiting_since: Some(waiting_since),
            files: &m.attachments,
            uploader: Some(Uploader::Channel(m.channel_id)),
            buttons: &[],
        };
        let unread_before = d.unread_by_default();
        let view = dtx::add_message(&mut tx, &mut d, msg, now).await?;
        if !unread_before {
            tx.execute(
                "UPDATE counters SET value = value + 1 WHERE name = 'dialogs_unread_by_default'",
                &[],
            )
            .await?;
        }
        dtx::nobody_caught_up(&mut tx, &d).await?;
        new_events.push(message_event(&mut tx, &d, &view).await?);
        let events = events::append(&mut tx, new_events, now).await?;
        commit(
            tx,
            Ingested::Accepted {
                dialog_id: id,
                message_id: view.id,
            },
            events,
        )
        .await
    }
}

impl SqlStore {
    /// A client's past conversation (F38): a new contact's dialog with its history, read by
    /// everyone and announced to nobody. A contact who already has a dialog keeps it as it is;
    /// the answer is then that dialog and `false`.
    pub(super) async fn import_contact_history(
        &self,
        h: &HistoryImport,
        now: Timestamp,
    ) -> CoreResult<(DialogId, bool)> {
        let mut tx = self.db.begin().await?;
        let existing = tx
            .fetch_optional(
                "SELECT d.id FROM contacts ct JOIN dialogs d ON d.contact_id = ct.id WHERE ct.channel_id = $1 AND ct.external_id = $2",
                params![h.channel_id, h.contact_external_id.as_str()],
            )
            .await?;
        if let Some(r) = existing {
            return Ok((DialogId(r.i64("id")?), false));
        }
        let contact = self
            .contact(
                &mut tx,
                h.channel_id,
                &h.contact_external_id,
                &h.contact_name,
                &h.details,
                now,
            )
            .await?;
        let client = tx
            .fetch_one(
                "SELECT client_id FROM contacts WHERE id = $1",
                params![contact],
            )
            .await?
            .opt_i64("client_id")?
            .map(ClientId);
        let d = ImportDialog {
            channel_id: h.channel_id,
            client_id: client,
            contact_external_id: h.contact_external_id.clone(),
            contact_name: h.contact_name.clone(),
            responsible: None,
            closed: h.closed,
            messages: h.messages.clone(),
        };
        let dialog = insert_history(&mut tx, &d, contact).await?;
        tx.commit().await?;
        Ok((dialog, true))
    }
}
