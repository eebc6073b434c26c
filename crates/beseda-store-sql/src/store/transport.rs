//! Integration modules, their channels and their delivery reports.

use super::dialog_tx as dtx;
use super::dialogs::message_event;
use super::{SqlStore, events, params};
use crate::driver::SqlRow;
use async_trait::async_trait;
use beseda_core::channel::{Capabilities, ChannelKind};
use beseda_core::dialog::DeliveryStatus;
use beseda_core::ids::{ChannelId, DialogId, MessageId};
use beseda_core::secret::TokenHash;
use beseda_core::store::{TransportStore, Written};
use beseda_core::time::Timestamp;
use beseda_core::transport::{
    Channel, ChannelRegistration, MessageRef, ReportOutcome, StatusReport, TransportModule,
    advances,
};
use beseda_core::{CoreError, CoreResult};

const MODULE_COLUMNS: &str = "id, name, webhook_url, active, created_at";
const CHANNEL_COLUMNS: &str = "id, kind, name, avatar_url, external_id, capabilities, active";

fn module_from(r: &SqlRow) -> CoreResult<TransportModule> {
    Ok(TransportModule {
        id: r.i64("id")?,
        name: r.text("name")?,
        webhook_url: r.text("webhook_url")?,
        active: r.bool("active")?,
        created_at: r.ts("created_at")?,
    })
}

fn channel_from(r: &SqlRow) -> CoreResult<Channel> {
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

fn caps_json(c: &Capabilities) -> CoreResult<String> {
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
        module: i64,
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
        module: i64,
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
        module: i64,
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

    async fn module_channel(&self, module: i64, id: ChannelId) -> CoreResult<Option<Channel>> {
        let sql =
            format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE id = $1 AND module_id = $2");
        self.db
            .fetch_optional(&sql, params![id, module])
            .await?
            .as_ref()
            .map(channel_from)
            .transpose()
    }

    async fn module_channels(&self, module: i64) -> CoreResult<Vec<Channel>> {
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
            MessageRef::Transport(t) => {
                tx.fetch_optional("SELECT id, dialog_id FROM messages WHERE transport_id = $1 AND channel_id = $2", params![t.as_str(), report.channel_id])
                    .await?
            }
        };
        let found = found.ok_or(CoreError::NotFound("message"))?;
        let (id, dialog) = (
            MessageId(found.i64("id")?),
            DialogId(found.i64("dialog_id")?),
        );
        // Lock the dialog first, as every dialog write does, then read the status under it.
        let d = dtx::lock(&mut tx, dialog).await?;
        let current = tx
            .fetch_one("SELECT status FROM messages WHERE id = $1", params![id])
            .await?
            .opt_text("status")?;
        let current = current
            .as_deref()
            .and_then(DeliveryStatus::parse)
            .unwrap_or(DeliveryStatus::Queued);
        if !advances(current, report.status) {
            tx.commit().await?;
            return Ok(Written {
                value: ReportOutcome {
                    changed: false,
                    status: current,
                },
                events: Vec::new(),
            });
        }
        let failure = report.failure.as_ref();
        tx.execute(
            "UPDATE messages SET status = $2, transport_id = COALESCE($3, transport_id), failure_code = $4, failure_reason = $5 WHERE id = $1",
            params![id, report.status.as_str(), report.transport_id.clone(), failure.map(|f| f.code.clone()), failure.map(|f| f.message.clone())],
        )
        .await?;
        let view = self.message_in_tx(&mut tx, id).await?;
        let mut e = message_event(&mut tx, &d, &view).await?;
        e.kind = "message_status";
        let events = events::append(&mut tx, vec![e], now).await?;
        tx.commit().await?;
        Ok(Written {
            value: ReportOutcome {
                changed: true,
                status: report.status,
            },
            events,
        })
    }
}
