//! The dialogs' clocks (TimerStore): `next_waiting_change_at` says when a waiting dialog's mark
//! is due to be looked at. Starting to wait sets it to the first message's time (due at once,
//! so the timer computes the real moment under the channel's limits); an answer clears it.

use super::dialog_tx as dtx;
use super::dialogs::commit;
use super::{SqlStore, events, params};
use async_trait::async_trait;
use beseda_core::CoreResult;
use beseda_core::dialog::WaitingLevel;
use beseda_core::ids::DialogId;
use beseda_core::rules;
use beseda_core::store::{TimerStore, Written};
use beseda_core::time::Timestamp;

/// The columns an answer (or closing) resets: the client no longer waits (F34).
pub(super) const STOP_WAITING: &str =
    "waiting_since = NULL, waiting_level = 0, next_waiting_change_at = NULL";

/// Marks every waiting dialog due (of one channel, or all): its limits changed.
pub(super) const RESCHEDULE_WAITING: &str = "UPDATE dialogs SET next_waiting_change_at = waiting_since \
     WHERE waiting_since IS NOT NULL AND deleted_at IS NULL";

#[async_trait]
impl TimerStore for SqlStore {
    async fn claim_waiting(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> CoreResult<Vec<DialogId>> {
        // One statement: on PostgreSQL a second worker blocked on the same rows re-checks the
        // due time after the first commits, and skips them.
        let rows = self
            .db
            .fetch_all(
                "UPDATE dialogs SET next_waiting_change_at = $2 \
                 WHERE next_waiting_change_at <= $1 AND id IN ( \
                   SELECT id FROM dialogs WHERE next_waiting_change_at <= $1 \
                   ORDER BY next_waiting_change_at LIMIT $3) \
                 RETURNING id",
                params![now, lease_until, i64::from(limit)],
            )
            .await?;
        rows.iter().map(|r| Ok(DialogId(r.i64("id")?))).collect()
    }

    async fn settle_waiting(&self, id: DialogId, now: Timestamp) -> CoreResult<Written<()>> {
        let mut tx = self.db.begin().await?;
        let d = match dtx::lock(&mut tx, id).await {
            Ok(d) => d,
            // Deleted: nothing waits any more.
            Err(beseda_core::CoreError::NotFound(_)) => {
                tx.execute(
                    "UPDATE dialogs SET next_waiting_change_at = NULL WHERE id = $1",
                    params![id],
                )
                .await?;
                return commit(tx, (), Vec::new()).await;
            }
            Err(e) => return Err(e),
        };
        let r = tx
            .fetch_one(
                "SELECT d.waiting_level, c.warning_secs AS channel_warning, c.danger_secs AS channel_danger, \
                   s.warning_secs, s.danger_secs \
                 FROM dialogs d JOIN channels c ON c.id = d.channel_id CROSS JOIN chat_settings s WHERE d.id = $1",
                params![id],
            )
            .await?;
        let limits = super::feed::time_limits_of(&r)?;
        let recorded = WaitingLevel::from_rank(r.i64("waiting_level")?);
        let step = rules::waiting_step(&d.state(), recorded, limits, now);
        tx.execute(
            "UPDATE dialogs SET waiting_level = $2, next_waiting_change_at = $3 WHERE id = $1",
            params![id, step.level.rank(), step.next_at],
        )
        .await?;
        let events = events::append(&mut tx, step.changed.into_iter().collect(), now).await?;
        commit(tx, (), events).await
    }

    async fn next_waiting_due(&self) -> CoreResult<Option<Timestamp>> {
        let r = self
            .db
            .fetch_one(
                "SELECT MIN(next_waiting_change_at) AS due FROM dialogs WHERE next_waiting_change_at IS NOT NULL",
                &[],
            )
            .await?;
        Ok(r.opt_ts("due")?)
    }
}
