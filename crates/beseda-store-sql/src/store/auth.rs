//! Sessions and personal API tokens, stored by the keyed hash of their secret.

use super::{SqlStore, params};
use crate::driver::SqlRow;
use async_trait::async_trait;
use beseda_core::CoreResult;
use beseda_core::ids::{ApiTokenId, ManagerId};
use beseda_core::secret::TokenHash;
use beseda_core::store::{ApiToken, AuthStore, NewSession};
use beseda_core::time::Timestamp;

fn api_token_from(r: &SqlRow) -> CoreResult<ApiToken> {
    Ok(ApiToken {
        id: ApiTokenId(r.i64("id")?),
        name: r.text("name")?,
        created_at: r.ts("created_at")?,
        last_used_at: r.opt_ts("last_used_at")?,
        expires_at: r.ts("expires_at")?,
    })
}

#[async_trait]
impl AuthStore for SqlStore {
    async fn create_session(&self, s: &NewSession) -> CoreResult<()> {
        self.db
            .execute(
                "INSERT INTO sessions (token_hash, manager_id, created_at, expires_at, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6)",
                params![s.token_hash.0.as_str(), s.manager_id, s.created_at, s.expires_at, s.ip.clone(), s.user_agent.clone()],
            )
            .await?;
        Ok(())
    }

    async fn session_manager(
        &self,
        token_hash: &TokenHash,
        now: Timestamp,
    ) -> CoreResult<Option<ManagerId>> {
        let row = self
            .db
            .fetch_optional(
                "SELECT manager_id FROM sessions WHERE token_hash = $1 AND expires_at > $2",
                params![token_hash.0.as_str(), now],
            )
            .await?;
        Ok(row.map(|r| r.i64("manager_id")).transpose()?.map(ManagerId))
    }

    async fn delete_session(&self, token_hash: &TokenHash) -> CoreResult<()> {
        self.db
            .execute(
                "DELETE FROM sessions WHERE token_hash = $1",
                params![token_hash.0.as_str()],
            )
            .await?;
        Ok(())
    }

    async fn delete_expired_sessions(&self, now: Timestamp) -> CoreResult<u64> {
        Ok(self
            .db
            .execute("DELETE FROM sessions WHERE expires_at <= $1", params![now])
            .await?)
    }

    async fn create_api_token(
        &self,
        manager: ManagerId,
        name: &str,
        token_hash: &TokenHash,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> CoreResult<ApiToken> {
        let row = self
            .db
            .fetch_one(
                "INSERT INTO api_tokens (manager_id, name, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) \
                 RETURNING id, name, created_at, last_used_at, expires_at",
                params![manager, name, token_hash.0.as_str(), now, expires_at],
            )
            .await?;
        api_token_from(&row)
    }

    async fn api_token_manager(
        &self,
        token_hash: &TokenHash,
        now: Timestamp,
    ) -> CoreResult<Option<ManagerId>> {
        let row = self
            .db
            .fetch_optional(
                "UPDATE api_tokens SET last_used_at = $2 WHERE token_hash = $1 AND expires_at > $2 RETURNING manager_id",
                params![token_hash.0.as_str(), now],
            )
            .await?;
        Ok(row.map(|r| r.i64("manager_id")).transpose()?.map(ManagerId))
    }

    async fn list_api_tokens(&self, manager: ManagerId) -> CoreResult<Vec<ApiToken>> {
        let rows = self
            .db
            .fetch_all("SELECT id, name, created_at, last_used_at, expires_at FROM api_tokens WHERE manager_id = $1 ORDER BY id", params![manager])
            .await?;
        rows.iter().map(api_token_from).collect()
    }

    async fn delete_api_token(&self, manager: ManagerId, id: ApiTokenId) -> CoreResult<bool> {
        let n = self
            .db
            .execute(
                "DELETE FROM api_tokens WHERE id = $1 AND manager_id = $2",
                params![id, manager],
            )
            .await?;
        Ok(n > 0)
    }
}
