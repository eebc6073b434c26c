//! Channels Beseda connects to their messengers itself: their webhook key and sealed
//! credentials beside the channel's row.

use super::transport::{caps_json, channel_from};
use super::{SqlStore, params};
use crate::driver::SqlRow;
use async_trait::async_trait;
use beseda_core::ids::ChannelId;
use beseda_core::store::{ConnectedChannel, ConnectorStore};
use beseda_core::time::Timestamp;
use beseda_core::transport::{Channel, ChannelRegistration};
use beseda_core::{CoreError, CoreResult};

const COLUMNS: &str =
    "id, kind, name, avatar_url, external_id, capabilities, active, hook_key, credentials";

fn connected_from(r: &SqlRow) -> CoreResult<ConnectedChannel> {
    Ok(ConnectedChannel {
        channel: channel_from(r)?,
        hook_key: r.text("hook_key")?,
        sealed: r.text("credentials")?,
    })
}

impl SqlStore {
    async fn connected_where(
        &self,
        condition: &str,
        value: crate::driver::SqlValue,
    ) -> CoreResult<Option<ConnectedChannel>> {
        let sql =
            format!("SELECT {COLUMNS} FROM channels WHERE hook_key IS NOT NULL AND {condition}");
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

    async fn connected_channel(&self, hook_key: &str) -> CoreResult<Option<ConnectedChannel>> {
        self.connected_where("hook_key = $1", hook_key.into()).await
    }

    async fn connected_channels(&self) -> CoreResult<Vec<ConnectedChannel>> {
        let sql =
            format!("SELECT {COLUMNS} FROM channels WHERE hook_key IS NOT NULL ORDER BY name, id");
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
}
