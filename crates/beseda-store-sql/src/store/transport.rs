//! Integration modules, their channels and their delivery reports.

use super::dialog_tx as dtx;
use super::dialogs::{event, message_change};
use super::{SqlStore, events, params};
use crate::driver::SqlRow;
use async_trait::async_trait;
use beseda_core::channel::{Capabilities, ChannelKind};
use beseda_core::dialog::{DeliveryStatus, MessageView};
use beseda_core::event::DomainEvent;
use beseda_core::ids::{ChannelId, DeliveryJobId, DialogId, ManagerId, MessageId, ModuleId};
use beseda_core::secret::TokenHash;
use beseda_core::store::{TransportStore, Written};
use beseda_core::time::Timestamp;
use beseda_core::transport::{
    Channel, ChannelRegistration, DeliveryJob, DeliveryOutcome, DeliveryTarget, Failure,
    MessageRef, ReportOutcome, StatusReport, TransportModule, advances,
};
use beseda_core::{CoreError, CoreResult};

const MODULE_COLUMNS: &str = "id, name, webhook_url, active, created_at";
const CHANNEL_COLUMNS: &str = "id, kind, name, avatar_url, external_id, capabilities, active";

fn module_from(r: &SqlRow) -> CoreResult<TransportModule> {
    Ok(TransportModule {
        id: ModuleId(r.i64("id")?),
        name: r.text("name")?,
        webhook_url: r.text("webhook_url")?,
        active: r.bool("active")?,
        created_at: r.ts("created_at")?,
    })
}

pub(super) fn channel_from(r: &SqlRow) -> CoreResult<Channel> {
    let kind = r.text("kind")?;
    let caps: Capabilities = serde_json::from_str(&r.text("capabilities")?)
        .map_err(|e| CoreError::Storage(e.to_string()))?;
    Ok(Channel {
        id: ChannelId(r.i64("id")?),
        kind: ChannelKind::parse(&kind)
            .ok_or_else(|| CoreError::Storage(format!("channel kind {kind}")))?,
        name: r.text("name")?,
        avatar_url: r.opt_text("avatar_url")?,
        external_id: r.opt_text("external_id")?,
        capabilities: caps,
        active: r.bool("active")?,
    })
}

pub(super) fn caps_json(c: &Capabilities) -> CoreResult<String> {
    serde_json::to_string(c).map_err(|e| CoreError::Internal(e.to_string()))
}

#[async_trait]
impl TransportStore for SqlStore {
    async fn create_module(
        &self,
        name: &str,
        token_hash: &TokenHash,
        webhook_url: &str,
        webhook_secret: &str,
        now: Timestamp,
    ) -> CoreResult<TransportModule> {
        let sql = format!(
            "INSERT INTO transport_modules (name, token_hash, webhook_url, webhook_secret, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING {MODULE_COLUMNS}"
        );
        module_from(
            &self
                .db
                .fetch_one(
                    &sql,
                    params![
                        name,
                        token_hash.0.as_str(),
                        webhook_url,
                        webhook_secret,
                        now
                    ],
                )
                .await?,
        )
    }

    async fn list_modules(&self) -> CoreResult<Vec<TransportModule>> {
        let sql = format!("SELECT {MODULE_COLUMNS} FROM transport_modules ORDER BY name, id");
        self.db
            .fetch_all(&sql, &[])
            .await?
            .iter()
            .map(module_from)
            .collect()
    }

    async fn renew_module(
        &self,
        id: ModuleId,
        token_hash: &TokenHash,
        webhook_url: &str,
    ) -> CoreResult<TransportModule> {
        let sql = format!(
            "UPDATE transport_modules SET token_hash = $2, webhook_url = $3 WHERE id = $1 RETURNING {MODULE_COLUMNS}"
        );
        self.db
            .fetch_optional(&sql, params![id, token_hash.0.as_str(), webhook_url])
            .await?
            .as_ref()
            .map(module_from)
            .transpose()?
            .ok_or(CoreError::NotFound("module"))
    }

    async fn module_by_token(&self, token_hash: &TokenHash) -> CoreResult<Option<TransportModule>> {
        let sql = format!(
            "SELECT {MODULE_COLUMNS} FROM transport_modules WHERE token_hash = $1 AND active"
        );
        self.db
            .fetch_optional(&sql, params![token_hash.0.as_str()])
            .await?
            .as_ref()
            .map(module_from)
            .transpose()
    }

    async fn register_channel(
        &self,
        module: ModuleId,
        reg: &ChannelRegistration,
        now: Timestamp,
    ) -> CoreResult<Channel> {
        let sql = format!(
            "INSERT INTO channels (kind, name, avatar_url, external_id, capabilities, module_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {CHANNEL_COLUMNS}"
        );
        let row = self
            .db
            .fetch_one(
                &sql,
                params![
                    reg.kind.as_str(),
                    reg.name.as_str(),
                    reg.avatar_url.clone(),
                    reg.external_id.clone(),
                    caps_json(&reg.capabilities)?,
                    module,
                    now
                ],
            )
            .await?;
        channel_from(&row)
    }

    async fn update_channel(
        &self,
        module: ModuleId,
        id: ChannelId,
        reg: &ChannelRegistration,
        now: Timestamp,
    ) -> CoreResult<Channel> {
        let sql = format!(
            "UPDATE channels SET name = $3, avatar_url = $4, external_id = $5, capabilities = $6, updated_at = $7 \
             WHERE id = $1 AND module_id = $2 RETURNING {CHANNEL_COLUMNS}"
        );
        let row = self
            .db
            .fetch_optional(
                &sql,
                params![
                    id,
                    module,
                    reg.name.as_str(),
                    reg.avatar_url.clone(),
                    reg.external_id.clone(),
                    caps_json(&reg.capabilities)?,
                    now
                ],
            )
            .await?
            .ok_or(CoreError::NotFound("channel"))?;
        channel_from(&row)
    }

    async fn set_channel_active(
        &self,
        module: ModuleId,
        id: ChannelId,
        active: bool,
        now: Timestamp,
    ) -> CoreResult<Channel> {
        let sql = format!(
            "UPDATE channels SET active = $3, updated_at = $4 WHERE id = $1 AND module_id = $2 RETURNING {CHANNEL_COLUMNS}"
        );
        let row = self
            .db
            .fetch_optional(&sql, params![id, module, active, now])
            .await?
            .ok_or(CoreError::NotFound("channel"))?;
        channel_from(&row)
    }

    async fn module_channel(&self, module: ModuleId, id: ChannelId) -> CoreResult<Option<Channel>> {
        let sql =
            format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE id = $1 AND module_id = $2");
        self.db
            .fetch_optional(&sql, params![id, module])
            .await?
            .as_ref()
            .map(channel_from)
            .transpose()
    }

    async fn module_channels(&self, module: ModuleId) -> CoreResult<Vec<Channel>> {
        let sql =
            format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE module_id = $1 ORDER BY id");
        self.db
            .fetch_all(&sql, params![module])
            .await?
            .iter()
            .map(channel_from)
            .collect()
    }

    async fn report_status(
        &self,
        report: &StatusReport,
        now: Timestamp,
    ) -> CoreResult<Written<ReportOutcome>> {
        let mut tx = self.db.begin().await?;
        let found = match &report.message {
            MessageRef::Ours(id) => {
                tx.fetch_optional("SELECT id, dialog_id FROM messages WHERE id = $1 AND channel_id = $2 AND status IS NOT NULL", params![*id, report.channel_id])
                    .await?
            }
            MessageRef::External(t) => {
                tx.fetch_optional("SELECT id, dialog_id FROM messages WHERE transport_id = $1 AND channel_id = $2", params![t.as_str(), report.channel_id])
                    .await?
            }
        };
        let found = found.ok_or(CoreError::NotFound("message"))?;
        let (id, dialog) = (
            MessageId(found.i64("id")?),
            DialogId(found.i64("dialog_id")?),
        );
        let (value, events) = self
            .advance(
                &mut tx,
                id,
                dialog,
                report.status,
                report.external_id.as_deref(),
                report.failure.as_ref(),
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(Written { value, events })
    }

    async fn change_client_message(
        &self,
        channel: ChannelId,
        external_id: &str,
        text: Option<&str>,
        now: Timestamp,
    ) -> CoreResult<Written<MessageView>> {
        let mut tx = self.db.begin().await?;
        let found = tx
            .fetch_optional(
                "SELECT id, dialog_id FROM messages WHERE channel_id = $1 AND external_id = $2 AND author_kind = 'client'",
                params![channel, external_id],
            )
            .await?
            .ok_or(CoreError::NotFound("message"))?;
        let (id, dialog) = (
            MessageId(found.i64("id")?),
            DialogId(found.i64("dialog_id")?),
        );
        let d = dtx::lock(&mut tx, dialog).await?;
        // A deleted text is gone, not hidden: from quotes, search, quick replies made from it
        // and the dialog row's preview alike.
        let edited = match text {
            Some(t) => {
                tx.execute(
                    "UPDATE messages SET body = $2, edited_at = $3 WHERE id = $1",
                    params![id, t, now],
                )
                .await?;
                true
            }
            None => {
                tx.execute(
                    "UPDATE messages SET deleted_at = $2, body = '' WHERE id = $1",
                    params![id, now],
                )
                .await?;
                false
            }
        };
        let preview: String = text
            .unwrap_or_default()
            .chars()
            .take(beseda_core::company::PREVIEW_CHARS)
            .collect();
        tx.execute(
            "UPDATE dialogs SET last_message_preview = $2 WHERE id = $1 AND last_message_id = $3",
            params![dialog, preview, id],
        )
        .await?;
        let view = self.message_in_tx(&mut tx, id).await?;
        let change = message_change(&mut tx, &d, &view).await?;
        let e = event(
            &d,
            if edited {
                DomainEvent::MessageEdited(change)
            } else {
                DomainEvent::MessageDeleted(change)
            },
        );
        let events = events::append(&mut tx, vec![e], now).await?;
        tx.commit().await?;
        Ok(Written {
            value: view,
            events,
        })
    }

    async fn read_up_to(
        &self,
        channel: ChannelId,
        message: &MessageRef,
        now: Timestamp,
    ) -> CoreResult<Written<u64>> {
        let mut tx = self.db.begin().await?;
        let found = match message {
            MessageRef::Ours(id) => tx.fetch_optional("SELECT id, dialog_id, seq FROM messages WHERE id = $1 AND channel_id = $2 AND status IS NOT NULL", params![*id, channel]).await?,
            MessageRef::External(t) => tx.fetch_optional("SELECT id, dialog_id, seq FROM messages WHERE transport_id = $1 AND channel_id = $2", params![t.as_str(), channel]).await?,
        }
        .ok_or(CoreError::NotFound("message"))?;
        let dialog = DialogId(found.i64("dialog_id")?);
        let seq = found.i64("seq")?;
        dtx::lock(&mut tx, dialog).await?;
        let ids = tx
            .fetch_all(
                "SELECT id FROM messages WHERE dialog_id = $1 AND seq <= $2 AND status IN ('queued', 'sent', 'delivered') ORDER BY seq",
                params![dialog, seq],
            )
            .await?;
        self.advance_all(tx, dialog, ids, DeliveryStatus::Read, now)
            .await
    }

    async fn advance_until(
        &self,
        channel: ChannelId,
        contact: &str,
        at: Timestamp,
        status: DeliveryStatus,
        now: Timestamp,
    ) -> CoreResult<Written<u64>> {
        let mut tx = self.db.begin().await?;
        let dialog = super::connected::client_dialog(&mut tx, channel, contact)
            .await?
            .ok_or(CoreError::NotFound("dialog"))?;
        dtx::lock(&mut tx, dialog).await?;
        // A message still queued had not reached the platform by then.
        let ids = tx
            .fetch_all(
                "SELECT id FROM messages WHERE dialog_id = $1 AND created_at <= $2 AND status IN ('sent', 'delivered') ORDER BY seq",
                params![dialog, at],
            )
            .await?;
        self.advance_all(tx, dialog, ids, status, now).await
    }

    async fn claim_deliveries(
        &self,
        owner: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> CoreResult<Vec<DeliveryJob>> {
        let due = self
            .db
            .fetch_all(
                "SELECT j.id FROM delivery_jobs j \
                 WHERE j.state = 'pending' AND j.next_attempt_at <= $1 AND (j.lease_until IS NULL OR j.lease_until <= $1) \
                   AND NOT EXISTS (SELECT 1 FROM delivery_jobs e WHERE e.dialog_id = j.dialog_id AND e.state = 'pending' AND e.id < j.id) \
                 ORDER BY j.id LIMIT $2",
                params![now, i64::from(limit)],
            )
            .await?;
        let mut jobs = Vec::new();
        for r in due {
            let id = DeliveryJobId(r.i64("id")?);
            // Whoever updates the row first holds the lease; the others find it taken.
            let claimed = self
                .db
                .execute(
                    "UPDATE delivery_jobs SET lease_owner = $2, lease_until = $3, attempts = attempts + 1 \
                     WHERE id = $1 AND state = 'pending' AND (lease_until IS NULL OR lease_until <= $4)",
                    params![id, owner, lease_until, now],
                )
                .await?;
            if claimed == 0 {
                continue;
            }
            let j = self
                .db
                .fetch_one(
                    "SELECT j.id, j.attempts, j.message_id, j.dialog_id, j.channel_id, c.kind AS channel_kind, c.external_id AS channel_external_id, \
                       ct.external_id AS contact_external_id, m.body, m.template, m.buttons, COALESCE(q.transport_id, q.external_id) AS quote_external_id, COALESCE(mg.name, b.name) AS author_name, \
                       m.created_at, tm.webhook_url, tm.webhook_secret, c.hook_key, c.credentials \
                     FROM delivery_jobs j JOIN messages m ON m.id = j.message_id JOIN dialogs d ON d.id = j.dialog_id \
                       JOIN contacts ct ON ct.id = d.contact_id JOIN channels c ON c.id = j.channel_id \
                       LEFT JOIN transport_modules tm ON tm.id = c.module_id \
                       LEFT JOIN messages q ON q.id = m.quote_message_id LEFT JOIN managers mg ON mg.id = m.author_manager_id \
                       LEFT JOIN bots b ON b.id = m.author_bot_id \
                     WHERE j.id = $1",
                    params![id],
                )
                .await?;
            let target = match (j.opt_text("webhook_url")?, j.opt_text("webhook_secret")?) {
                (Some(webhook_url), Some(webhook_secret)) => DeliveryTarget::Module {
                    webhook_url,
                    webhook_secret,
                },
                _ if j.text("channel_kind")? == ChannelKind::Widget.as_str() => {
                    DeliveryTarget::Widget
                }
                _ if j.opt_text("hook_key")?.is_some() => match j.opt_text("credentials")? {
                    Some(sealed) => DeliveryTarget::Connector { sealed },
                    None => DeliveryTarget::Nowhere,
                },
                _ => DeliveryTarget::Nowhere,
            };
            jobs.push(DeliveryJob {
                id,
                attempts: j.i64("attempts")?,
                message_id: MessageId(j.i64("message_id")?),
                dialog_id: DialogId(j.i64("dialog_id")?),
                channel_id: ChannelId(j.i64("channel_id")?),
                channel_external_id: j.opt_text("channel_external_id")?,
                contact_external_id: j.text("contact_external_id")?,
                text: j.text("body")?,
                quote_external_id: j.opt_text("quote_external_id")?,
                author_name: j.opt_text("author_name")?,
                attachments: self.files_of(&[MessageId(j.i64("message_id")?)]).await?,
                template: j
                    .opt_text("template")?
                    .map(|t| serde_json::from_str(&t))
                    .transpose()
                    .map_err(|e| CoreError::Internal(e.to_string()))?,
                buttons: super::feed::buttons_of(j.opt_text("buttons")?)?,
                created_at: j.ts("created_at")?,
                target,
            });
        }
        Ok(jobs)
    }

    async fn finish_delivery(
        &self,
        job: DeliveryJobId,
        owner: &str,
        outcome: &DeliveryOutcome,
        now: Timestamp,
    ) -> CoreResult<Written<()>> {
        let mut tx = self.db.begin().await?;
        let Some(j) = tx
            .fetch_optional(
                "SELECT message_id, dialog_id FROM delivery_jobs WHERE id = $1 AND state = 'pending' AND lease_owner = $2",
                params![job, owner],
            )
            .await?
        else {
            // The lease ran out and another worker took the job: its result counts.
            return Ok(Written { value: (), events: Vec::new() });
        };
        let (message, dialog) = (
            MessageId(j.i64("message_id")?),
            DialogId(j.i64("dialog_id")?),
        );
        let (state, retry_at, error) = match outcome {
            DeliveryOutcome::Sent { .. }
            | DeliveryOutcome::Accepted
            | DeliveryOutcome::Reached(_) => ("done", None, None),
            DeliveryOutcome::Failed(f) => ("failed", None, Some(f.message.clone())),
            DeliveryOutcome::Retry { error, at } => ("pending", Some(*at), Some(error.clone())),
        };
        tx.execute(
            "UPDATE delivery_jobs SET state = $2, next_attempt_at = COALESCE($3, next_attempt_at), last_error = $4, \
               lease_owner = NULL, lease_until = NULL WHERE id = $1",
            params![job, state, retry_at, error],
        )
        .await?;
        let advanced = match outcome {
            DeliveryOutcome::Sent { external_id } => self
                .advance(
                    &mut tx,
                    message,
                    dialog,
                    DeliveryStatus::Sent,
                    external_id.as_deref(),
                    None,
                    now,
                )
                .await
                .map(|(_, events)| events),
            DeliveryOutcome::Reached(status) => self
                .advance(&mut tx, message, dialog, *status, None, None, now)
                .await
                .map(|(_, events)| events),
            DeliveryOutcome::Failed(f) => self
                .advance(
                    &mut tx,
                    message,
                    dialog,
                    DeliveryStatus::Failed,
                    None,
                    Some(f),
                    now,
                )
                .await
                .map(|(_, events)| events),
            DeliveryOutcome::Accepted | DeliveryOutcome::Retry { .. } => Ok(Vec::new()),
        };
        let events = match advanced {
            Ok(events) => events,
            // The dialog was deleted meanwhile: the job ends, and no screen shows its message.
            Err(CoreError::NotFound("dialog")) => Vec::new(),
            Err(e) => return Err(e),
        };
        tx.commit().await?;
        Ok(Written { value: (), events })
    }
}

impl SqlStore {
    /// The replies of `author` in a dialog just taken from them that still wait for the
    /// delivery worker: each job ends failed and its message says why (F29). A job a worker
    /// holds at this moment is in flight and is left to finish.
    pub(super) async fn withdraw_queued(
        &self,
        tx: &mut Box<dyn crate::driver::SqlTx>,
        d: &dtx::Locked,
        author: ManagerId,
        now: Timestamp,
    ) -> CoreResult<Vec<beseda_core::event::Event>> {
        let failure = Failure {
            code: "dialog_reassigned".into(),
            message: "the dialog is no longer assigned to you".into(),
        };
        let waiting = tx
            .fetch_all(
                "SELECT j.id, j.message_id FROM delivery_jobs j JOIN messages m ON m.id = j.message_id \
                 WHERE j.dialog_id = $1 AND j.state = 'pending' AND m.author_manager_id = $2 ORDER BY j.id",
                params![d.id, author],
            )
            .await?;
        let mut events = Vec::new();
        for job in waiting {
            // The same condition a worker claims by: whoever writes the row first wins.
            let withdrawn = tx
                .execute(
                    "UPDATE delivery_jobs SET state = 'failed', last_error = $2 \
                     WHERE id = $1 AND state = 'pending' AND (lease_until IS NULL OR lease_until <= $3)",
                    params![job.i64("id")?, failure.message.as_str(), now],
                )
                .await?;
            if withdrawn == 1 {
                let message = MessageId(job.i64("message_id")?);
                let failed = DeliveryStatus::Failed;
                let (_, e) = self
                    .advance_locked(tx, d, message, failed, None, Some(&failure), now)
                    .await?;
                events.extend(e);
            }
        }
        Ok(events)
    }

    /// Moves each of a locked dialog's messages (rows with their `id`) forward to `status`,
    /// and commits.
    async fn advance_all(
        &self,
        mut tx: Box<dyn crate::driver::SqlTx>,
        dialog: DialogId,
        ids: Vec<SqlRow>,
        status: DeliveryStatus,
        now: Timestamp,
    ) -> CoreResult<Written<u64>> {
        let mut all = Vec::new();
        let mut changed = 0;
        for r in ids {
            let (outcome, events) = self
                .advance(
                    &mut tx,
                    MessageId(r.i64("id")?),
                    dialog,
                    status,
                    None,
                    None,
                    now,
                )
                .await?;
            changed += u64::from(outcome.changed);
            all.extend(events);
        }
        tx.commit().await?;
        Ok(Written {
            value: changed,
            events: all,
        })
    }

    /// Moves a message's status forward under its dialog's lock, with a `message_status` event;
    /// a status that does not advance changes nothing (F31).
    #[expect(
        clippy::too_many_arguments,
        reason = "one step shared by reports and deliveries"
    )]
    async fn advance(
        &self,
        tx: &mut Box<dyn crate::driver::SqlTx>,
        id: MessageId,
        dialog: DialogId,
        status: DeliveryStatus,
        external_id: Option<&str>,
        failure: Option<&Failure>,
        now: Timestamp,
    ) -> CoreResult<(ReportOutcome, Vec<beseda_core::event::Event>)> {
        // Lock the dialog first, as every dialog write does, then read the status under it.
        let d = dtx::lock(tx, dialog).await?;
        self.advance_locked(tx, &d, id, status, external_id, failure, now)
            .await
    }

    /// [`SqlStore::advance`] for a caller that holds the dialog's lock already.
    #[expect(
        clippy::too_many_arguments,
        reason = "one step shared by reports, deliveries and reassignments"
    )]
    pub(super) async fn advance_locked(
        &self,
        tx: &mut Box<dyn crate::driver::SqlTx>,
        d: &dtx::Locked,
        id: MessageId,
        status: DeliveryStatus,
        external_id: Option<&str>,
        failure: Option<&Failure>,
        now: Timestamp,
    ) -> CoreResult<(ReportOutcome, Vec<beseda_core::event::Event>)> {
        let current = tx
            .fetch_one("SELECT status FROM messages WHERE id = $1", params![id])
            .await?
            .opt_text("status")?;
        let current = current
            .as_deref()
            .and_then(DeliveryStatus::parse)
            .unwrap_or(DeliveryStatus::Queued);
        if !advances(current, status) {
            return Ok((
                ReportOutcome {
                    changed: false,
                    status: current,
                },
                Vec::new(),
            ));
        }
        tx.execute(
            "UPDATE messages SET status = $2, transport_id = COALESCE($3, transport_id), failure_code = $4, failure_reason = $5 WHERE id = $1",
            params![id, status.as_str(), external_id, failure.map(|f| f.code.clone()), failure.map(|f| f.message.clone())],
        )
        .await?;
        let view = self.message_in_tx(tx, id).await?;
        let change = message_change(tx, d, &view).await?;
        let e = event(d, DomainEvent::MessageStatus(change));
        let events = events::append(tx, vec![e], now).await?;
        Ok((
            ReportOutcome {
                changed: true,
                status,
            },
            events,
        ))
    }
}
