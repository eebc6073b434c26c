//! The distribution bot (F36), built in: its settings, and one round of its work — hand each
//! distributed channel's queue to present managers under their caps, then move the held
//! dialogs whose manager went away or did not answer in time. Every move is the bot's, with
//! its reason in the feed; a dialog someone took meanwhile is left to them.

use crate::dialog::{OutgoingMessage, Responsible};
use crate::distribution::{
    AssignReason, ChannelRule, Queued, ReassignRules, RuleSpec, choose, plan,
};
use crate::error::{CoreError, CoreResult};
use crate::event::EventBus;
use crate::ids::{ChannelId, ManagerId};
use crate::manager::Actor;
use crate::order::{Currency, NewOrder, OrderStatus};
use crate::store::{Guard, Store};
use crate::time::{Clock, Timestamp};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

/// How many queued or overdue dialogs one round looks at per channel.
const ROUND: u32 = 100;

/// The distribution settings, as the settings page and the API show them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DistributionSettings {
    /// One rule per distributed channel.
    pub rules: Vec<ChannelRule>,
    pub reassign: ReassignRules,
}

pub struct DistributionService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    bus: Arc<dyn EventBus>,
    /// A manager whose socket answered within this is connected.
    presence: Duration,
}

impl DistributionService {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        bus: Arc<dyn EventBus>,
        presence: Duration,
    ) -> Self {
        DistributionService {
            store,
            clock,
            bus,
            presence,
        }
    }

    pub async fn settings(&self, actor: &Actor) -> CoreResult<DistributionSettings> {
        actor.require_settings()?;
        Ok(DistributionSettings {
            rules: self.store.distribution_rules().await?,
            reassign: self.store.reassign_rules().await?,
        })
    }

    /// Sets how a channel's dialogs are distributed, or stops it (`None`). Everyone named must
    /// be an active manager or an existing group.
    pub async fn set_rule(
        &self,
        actor: &Actor,
        channel: ChannelId,
        spec: Option<RuleSpec>,
    ) -> CoreResult<()> {
        actor.require_settings()?;
        let Some(spec) = spec else {
            return self.store.set_distribution_rule(channel, None).await;
        };
        spec.validate()?;
        let rule = ChannelRule {
            channel_id: channel,
            since: self.clock.now(),
            spec,
        };
        let managers = self.store.list_managers().await?;
        for m in &rule.managers {
            if !managers.iter().any(|x| x.id == *m && !x.disabled) {
                return Err(CoreError::invalid(
                    "managers",
                    format!("manager {} is not an active manager", m.0),
                ));
            }
        }
        let groups = self.store.list_groups().await?;
        for g in &rule.groups {
            if !groups.iter().any(|x| x.id == *g) {
                return Err(CoreError::invalid(
                    "groups",
                    format!("there is no group {}", g.0),
                ));
            }
        }
        self.store.distribution_bot(self.clock.now()).await?;
        self.store.set_distribution_rule(channel, Some(&rule)).await
    }

    pub async fn set_reassign(&self, actor: &Actor, rules: ReassignRules) -> CoreResult<()> {
        actor.require_settings()?;
        rules.validate()?;
        self.store
            .set_reassign_rules(&rules, self.clock.now())
            .await
    }

    /// A manager's socket answered (`true`) or their last one closed (`false`).
    pub async fn presence(&self, manager: ManagerId, connected: bool) -> CoreResult<()> {
        let at = connected.then(|| self.clock.now());
        self.store.touch_manager(manager, at).await
    }

    /// One round; returns how many dialogs moved.
    pub async fn run_once(&self) -> CoreResult<usize> {
        let rules = self.store.distribution_rules().await?;
        if rules.is_empty() {
            return Ok(0);
        }
        let now = self.clock.now();
        let bot = self.store.distribution_bot(now).await?;
        let seen_since = now.minus(self.presence);
        let mut moved = 0;
        for rule in &rules {
            let queue = self.store.queue(rule.channel_id, ROUND).await?;
            if queue.is_empty() {
                continue;
            }
            let new = |q: &&Queued| q.created_at >= rule.since;
            if let Some(text) = &rule.greeting {
                for q in queue.iter().filter(new) {
                    self.notice(bot, q.dialog, text, "greeting", now).await?;
                }
            }
            let given = if rule.open_at(now) {
                let mut pool = self
                    .store
                    .candidates(&rule.managers, &rule.groups, seen_since, rule.count_up_to())
                    .await?;
                plan(&queue, &mut pool, rule, now)
            } else {
                Vec::new()
            };
            for (q, (dialog, manager)) in queue.iter().zip(&given) {
                let reason = AssignReason::Distributed;
                let done = self
                    .apply(*dialog, Some(*manager), bot, reason, Guard::Unassigned, now)
                    .await?;
                moved += done;
                if done > 0 && new(&q) {
                    self.order(rule, q, *manager, now).await?;
                }
            }
            // Those who must wait are told so, once.
            if let Some(text) = &rule.all_busy {
                for q in queue.iter().skip(given.len()).filter(new) {
                    self.notice(bot, q.dialog, text, "all_busy", now).await?;
                }
            }
        }
        moved += self.reassign(&rules, bot, now, seen_since).await?;
        Ok(moved)
    }

    /// Moves the held dialogs that must move: to another present manager, or back to the
    /// queue when their manager left and nobody else can take them.
    async fn reassign(
        &self,
        rules: &[ChannelRule],
        bot: crate::ids::BotId,
        now: Timestamp,
        seen_since: Timestamp,
    ) -> CoreResult<usize> {
        let conditions = self.store.reassign_rules().await?;
        let any = conditions.offline_after_secs.is_some()
            || conditions.not_free_after_secs.is_some()
            || conditions.no_answer_after_secs.is_some();
        if !any {
            return Ok(0);
        }
        let channels: Vec<ChannelId> = rules.iter().map(|r| r.channel_id).collect();
        let overdue = self
            .store
            .overdue(&channels, &conditions, now, ROUND)
            .await?;
        let mut moved = 0;
        for o in overdue {
            let Some(rule) = rules.iter().find(|r| r.channel_id == o.channel) else {
                continue;
            };
            let pool = self
                .store
                .candidates(&rule.managers, &rule.groups, seen_since, rule.count_up_to())
                .await?;
            let to = choose(&pool, rule.strategy, rule.max_open, None, Some(o.manager));
            // A late answer with nobody better to give it to stays where it is.
            if to.is_none() && o.reason == AssignReason::NoAnswer {
                continue;
            }
            let guard = Guard::ResponsibleIs(Responsible::Manager(o.manager));
            moved += self.apply(o.dialog, to, bot, o.reason, guard, now).await?;
        }
        Ok(moved)
    }

    /// Writes `text` to the client as the bot, once per dialog and `mark`; a notice is not an
    /// answer (F34). A client the company may not write to (blocked, the messenger's window
    /// closed) is not written to.
    async fn notice(
        &self,
        bot: crate::ids::BotId,
        dialog: crate::ids::DialogId,
        text: &str,
        mark: &str,
        now: Timestamp,
    ) -> CoreResult<()> {
        let Some(d) = self.store.dialog_access(dialog).await? else {
            return Ok(());
        };
        if super::dialogs::check_outgoing(&d, text, false, false, now).is_err()
            || !self.store.mark_once(dialog, mark).await?
        {
            return Ok(());
        }
        let m = OutgoingMessage {
            automatic: true,
            buttons: Vec::new(),
            dialog_id: dialog,
            author: Responsible::Bot(bot),
            body: text.to_owned(),
            quote: None,
            attachments: Vec::new(),
            template: None,
        };
        match self.store.append_company_message(&m, Guard::Any, now).await {
            Ok(written) => self.bus.publish(&written.events),
            Err(e) => {
                tracing::warn!(error = %e, dialog = dialog.0, "the distribution bot's notice failed")
            }
        }
        Ok(())
    }

    /// A new dialog's order, once, when the rule asks for one (F05): status "new", the manager
    /// it went to, the client's source.
    async fn order(
        &self,
        rule: &ChannelRule,
        q: &Queued,
        manager: ManagerId,
        now: Timestamp,
    ) -> CoreResult<()> {
        let (Some(currency), Some(client)) = (&rule.order_currency, q.client) else {
            return Ok(());
        };
        if !self.store.mark_once(q.dialog, "order").await? {
            return Ok(());
        }
        let new = NewOrder {
            number: None,
            client_id: client,
            dialog_id: Some(q.dialog),
            manager_id: Some(manager),
            status: OrderStatus::new_order(),
            items: Vec::new(),
            total_minor: 0,
            currency: Currency::parse(currency)?,
            with_source: true,
            created_at: now,
        };
        let written = self.store.create_order(&new).await?;
        self.bus.publish(&written.events);
        Ok(())
    }

    /// Hands one dialog on; 0 when someone changed it meanwhile.
    async fn apply(
        &self,
        dialog: crate::ids::DialogId,
        to: Option<ManagerId>,
        bot: crate::ids::BotId,
        reason: AssignReason,
        guard: Guard,
        now: Timestamp,
    ) -> CoreResult<usize> {
        match self
            .store
            .distribute(dialog, to, bot, reason, guard, now)
            .await
        {
            Ok(written) => {
                let changed = !written.events.is_empty();
                self.bus.publish(&written.events);
                Ok(usize::from(changed))
            }
            Err(CoreError::DialogNotYours | CoreError::NotFound(_)) => Ok(0),
            Err(e) => Err(e),
        }
    }
}
