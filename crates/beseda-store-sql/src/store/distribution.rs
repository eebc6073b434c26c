//! The distribution bot's reads and writes (DistributionStore): presence, its rules, the queue,
//! the held dialogs that must move, and handing dialogs on in its name.

use super::{SqlStore, params};
use crate::driver::SqlErrorKind;
use async_trait::async_trait;
use beseda_core::dialog::Responsible;
use beseda_core::distribution::{AssignReason, Candidate, ChannelRule, Queued, ReassignRules};
use beseda_core::ids::{BotId, ChannelId, DialogId, GroupId, ManagerId};
use beseda_core::store::{DistributionStore, Guard, Overdue, Written};
use beseda_core::time::Timestamp;
use beseda_core::{CoreError, CoreResult};

fn json<T: serde::Serialize>(v: &T) -> CoreResult<String> {
    serde_json::to_string(v).map_err(|e| CoreError::Internal(e.to_string()))
}

/// `(1, 2, 3)` for an `IN` list of ids (typed ids only: nothing a user typed).
fn id_list(ids: impl Iterator<Item = i64>) -> String {
    let list: Vec<String> = ids.map(|i| i.to_string()).collect();
    if list.is_empty() {
        "(NULL)".into()
    } else {
        format!("({})", list.join(", "))
    }
}

#[async_trait]
impl DistributionStore for SqlStore {
    async fn touch_manager(&self, id: ManagerId, at: Option<Timestamp>) -> CoreResult<()> {
        self.db
            .execute(
                "UPDATE managers SET seen_at = $2 WHERE id = $1",
                params![id, at],
            )
            .await?;
        Ok(())
    }

    async fn distribution_bot(&self, now: Timestamp) -> CoreResult<BotId> {
        let found = self
            .db
            .fetch_optional(
                "SELECT id FROM bots WHERE kind = 'distribution' ORDER BY id LIMIT 1",
                &[],
            )
            .await?;
        if let Some(r) = found {
            return Ok(BotId(r.i64("id")?));
        }
        let r = self
            .db
            .fetch_one(
                "INSERT INTO bots (kind, name, active, created_at) VALUES ('distribution', 'Distribution bot', $1, $2) RETURNING id",
                params![true, now],
            )
            .await?;
        Ok(BotId(r.i64("id")?))
    }

    async fn distribution_rules(&self) -> CoreResult<Vec<ChannelRule>> {
        self.db
            .fetch_all(
                "SELECT channel_id, config, since FROM distribution_rules ORDER BY channel_id",
                &[],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(ChannelRule {
                    channel_id: ChannelId(r.i64("channel_id")?),
                    since: r.ts("since")?,
                    spec: serde_json::from_str(&r.text("config")?)
                        .map_err(|e| CoreError::Storage(format!("a distribution rule: {e}")))?,
                })
            })
            .collect()
    }

    async fn set_distribution_rule(
        &self,
        channel: ChannelId,
        rule: Option<&ChannelRule>,
    ) -> CoreResult<()> {
        match rule {
            None => {
                self.db
                    .execute(
                        "DELETE FROM distribution_rules WHERE channel_id = $1",
                        params![channel],
                    )
                    .await?;
            }
            Some(rule) => {
                self.db
                    .execute(
                        "INSERT INTO distribution_rules (channel_id, config, since) VALUES ($1, $2, $3) \
                         ON CONFLICT (channel_id) DO UPDATE SET config = excluded.config",
                        params![channel, json(&rule.spec)?, rule.since],
                    )
                    .await
                    .map_err(|e| match e.kind {
                        SqlErrorKind::ForeignKeyViolation => CoreError::NotFound("channel"),
                        _ => e.into(),
                    })?;
            }
        }
        Ok(())
    }

    async fn mark_once(&self, dialog: DialogId, mark: &str) -> CoreResult<bool> {
        let n = self
            .db
            .execute(
                "INSERT INTO distribution_marks (dialog_id, mark) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                params![dialog, mark],
            )
            .await?;
        Ok(n == 1)
    }

    async fn reassign_rules(&self) -> CoreResult<ReassignRules> {
        let r = self
            .db
            .fetch_optional(
                "SELECT config FROM bots WHERE kind = 'distribution' ORDER BY id LIMIT 1",
                &[],
            )
            .await?;
        match r {
            Some(r) => Ok(serde_json::from_str(&r.text("config")?).unwrap_or_default()),
            None => Ok(ReassignRules::default()),
        }
    }

    async fn set_reassign_rules(&self, rules: &ReassignRules, now: Timestamp) -> CoreResult<()> {
        let bot = self.distribution_bot(now).await?;
        self.db
            .execute(
                "UPDATE bots SET config = $2 WHERE id = $1",
                params![bot, json(rules)?],
            )
            .await?;
        Ok(())
    }

    async fn candidates(
        &self,
        managers: &[ManagerId],
        groups: &[GroupId],
        seen_since: Timestamp,
        count_up_to: Option<u32>,
    ) -> CoreResult<Vec<Candidate>> {
        // Open dialogs are counted for the present only, and the count stops at the cap: a
        // manager with thousands of open dialogs costs no more than one with as many as the cap.
        let sql = format!(
            "SELECT m.id, m.seen_at, m.status, m.last_assigned_at, \
               CASE WHEN $2 > 0 AND m.seen_at >= $1 AND m.status = 'free' THEN \
                 (SELECT COUNT(*) FROM (SELECT 1 FROM dialogs d WHERE d.responsible_manager_id = m.id \
                    AND d.status = 'open' AND d.deleted_at IS NULL LIMIT $2) c) \
               ELSE 0 END AS open_dialogs \
             FROM managers m WHERE m.disabled_at IS NULL AND (m.id IN {} OR m.id IN \
               (SELECT gm.manager_id FROM group_members gm WHERE gm.group_id IN {})) ORDER BY m.id",
            id_list(managers.iter().map(|m| m.0)),
            id_list(groups.iter().map(|g| g.0)),
        );
        let limit = i64::from(count_up_to.unwrap_or(0));
        self.db
            .fetch_all(&sql, params![seen_since, limit])
            .await?
            .iter()
            .map(|r| {
                let seen = r.opt_ts("seen_at")?;
                Ok(Candidate {
                    manager: ManagerId(r.i64("id")?),
                    present: seen.is_some_and(|s| s >= seen_since) && r.text("status")? == "free",
                    open: r.i64("open_dialogs")?,
                    last_assigned_at: r.ts("last_assigned_at")?,
                })
            })
            .collect()
    }

    async fn queue(&self, channel: ChannelId, limit: u32) -> CoreResult<Vec<Queued>> {
        self.db
            .fetch_all(
                "SELECT d.id, d.client_id, d.created_at, (SELECT o.responsible_manager_id FROM dialogs o WHERE o.client_id = d.client_id AND o.id <> d.id \
                   AND o.responsible_manager_id IS NOT NULL AND o.deleted_at IS NULL \
                   ORDER BY o.last_activity_at DESC LIMIT 1) AS own \
                 FROM dialogs d WHERE d.channel_id = $1 AND d.responsible_manager_id IS NULL AND d.responsible_bot_id IS NULL \
                   AND d.status = 'open' AND d.deleted_at IS NULL \
                 ORDER BY COALESCE(d.waiting_since, d.last_activity_at), d.id LIMIT $2",
                params![channel, i64::from(limit)],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(Queued {
                    dialog: DialogId(r.i64("id")?),
                    own: r.opt_i64("own")?.map(ManagerId),
                    client: r.opt_i64("client_id")?.map(beseda_core::ids::ClientId),
                    created_at: r.ts("created_at")?,
                })
            })
            .collect()
    }

    async fn overdue(
        &self,
        channels: &[ChannelId],
        rules: &ReassignRules,
        now: Timestamp,
        limit: u32,
    ) -> CoreResult<Vec<Overdue>> {
        let ago = |secs: Option<i64>| secs.map(|s| now.0 - s * 1000);
        // Each condition off is a moment no row is before.
        let (offline, not_free, no_answer) = (
            ago(rules.offline_after_secs).unwrap_or(i64::MIN),
            ago(rules.not_free_after_secs).unwrap_or(i64::MIN),
            ago(rules.no_answer_after_secs).unwrap_or(i64::MIN),
        );
        let sql = format!(
            "SELECT d.id, d.channel_id, d.responsible_manager_id, d.waiting_since, d.assigned_at, m.seen_at, m.status, m.status_since \
             FROM dialogs d JOIN managers m ON m.id = d.responsible_manager_id \
             WHERE d.channel_id IN {} AND d.status = 'open' AND d.deleted_at IS NULL \
               AND (COALESCE(m.seen_at, 0) < $1 OR (m.status <> 'free' AND m.status_since < $2) \
                 OR (d.waiting_since < $3 AND COALESCE(d.assigned_at, 0) < $3)) \
             ORDER BY d.waiting_since, d.id LIMIT $4",
            id_list(channels.iter().map(|c| c.0))
        );
        let rows = self
            .db
            .fetch_all(
                &sql,
                params![offline, not_free, no_answer, i64::from(limit)],
            )
            .await?;
        let mut out = Vec::new();
        for r in &rows {
            let waiting = r.opt_ts("waiting_since")?;
            let away = r.opt_i64("seen_at")?.unwrap_or(0) < offline;
            let busy = r.text("status")? != "free" && r.i64("status_since")? < not_free;
            // Reassigning does not reset the client's clock (F34), but the new manager gets
            // the whole limit before the dialog moves again.
            let late = waiting.is_some_and(|w| w.0 < no_answer)
                && r.opt_i64("assigned_at")?.unwrap_or(0) < no_answer;
            let reason = if away {
                AssignReason::ManagerOffline
            } else if busy {
                AssignReason::ManagerNotFree
            } else if late {
                AssignReason::NoAnswer
            } else {
                continue;
            };
            // When only unanswered dialogs move, one the manager answered stays with them.
            if rules.only_unanswered && waiting.is_none() {
                continue;
            }
            out.push(Overdue {
                dialog: DialogId(r.i64("id")?),
                channel: ChannelId(r.i64("channel_id")?),
                manager: ManagerId(r.i64("responsible_manager_id")?),
                reason,
            });
        }
        Ok(out)
    }

    async fn distribute(
        &self,
        id: DialogId,
        to: Option<ManagerId>,
        bot: BotId,
        reason: AssignReason,
        guard: Guard,
        now: Timestamp,
    ) -> CoreResult<Written<()>> {
        let written = self
            .hand_over(
                id,
                to.map(Responsible::Manager),
                Responsible::Bot(bot),
                Some(reason),
                guard,
                now,
            )
            .await?;
        if let Some(m) = to {
            self.db
                .execute(
                    "UPDATE managers SET last_assigned_at = $2 WHERE id = $1",
                    params![m, now],
                )
                .await?;
        }
        Ok(written)
    }
}
