//! The distribution bot's rules (F36) as pure functions: who may receive a channel's dialogs,
//! who is chosen for the next one, and which held dialogs must move. The service feeds them
//! what the store knows now; they need no database to test.

use crate::error::{CoreError, CoreResult};
use crate::ids::{ChannelId, DialogId, GroupId, ManagerId};
use crate::time::Timestamp;
use crate::widget::WorkingHours;
use serde::{Deserialize, Serialize};

/// How the next manager is chosen among those present and under the cap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Whoever was given a dialog longest ago.
    #[default]
    RoundRobin,
    /// Whoever holds the fewest open dialogs (then longest ago).
    FewestOpen,
    /// The client's own manager when present, else round robin.
    OwnManagerFirst,
}

/// One channel's distribution (F36): who receives its new dialogs and how.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ChannelRule {
    pub channel_id: ChannelId,
    /// Since when it applies: dialogs that came before are given out but not greeted.
    pub since: Timestamp,
    #[serde(flatten)]
    pub spec: RuleSpec,
}

/// Who receives a channel's new dialogs and how.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Managers who receive, and groups whose members do.
    #[serde(default)]
    pub managers: Vec<ManagerId>,
    #[serde(default)]
    pub groups: Vec<GroupId>,
    #[serde(default)]
    pub strategy: Strategy,
    /// At most this many open dialogs per manager; none: no cap.
    pub max_open: Option<u32>,
    /// Outside these hours dialogs wait in the queue.
    pub hours: Option<WorkingHours>,
    /// Sent to the client of a new dialog as the bot.
    #[serde(default)]
    pub greeting: Option<String>,
    /// Sent to the client of a new dialog that must wait: nobody present has room, or it is
    /// outside the hours.
    #[serde(default)]
    pub all_busy: Option<String>,
    /// When set, a new dialog gets an order in this currency (status "new", the manager it
    /// goes to, the client's source: F05).
    #[serde(default)]
    pub order_currency: Option<String>,
}

impl RuleSpec {
    pub fn validate(&self) -> CoreResult<()> {
        if self.managers.is_empty() && self.groups.is_empty() {
            return Err(CoreError::invalid(
                "managers",
                "name at least one manager or group who receives",
            ));
        }
        if self.max_open == Some(0) {
            return Err(CoreError::invalid("max_open", "must be at least 1"));
        }
        if let Some(h) = &self.hours {
            h.check()?;
        }
        for (field, text) in [("greeting", &self.greeting), ("all_busy", &self.all_busy)] {
            if let Some(t) = text {
                crate::values::within_bytes(field, t, crate::values::max_bytes::COMPANY_TEXT)?;
                let n = crate::dialog::counted_chars(t);
                if n == 0 || n > crate::dialog::MAX_MESSAGE_CHARS {
                    return Err(CoreError::invalid(field, "must have 1 to 2000 characters"));
                }
            }
        }
        if let Some(c) = &self.order_currency {
            crate::order::Currency::parse(c)
                .map_err(|_| CoreError::invalid("order_currency", "an ISO 4217 code"))?;
        }
        Ok(())
    }

    /// How far the open dialogs of a present candidate need counting: to the cap, or (to rank
    /// by them) to a thousand; not at all for plain turns without a cap.
    pub fn count_up_to(&self) -> Option<u32> {
        match (self.strategy, self.max_open) {
            (_, Some(cap)) => Some(cap),
            (Strategy::FewestOpen, None) => Some(1000),
            _ => None,
        }
    }

    pub fn open_at(&self, now: Timestamp) -> bool {
        self.hours.as_ref().is_none_or(|h| h.open_at(now))
    }
}

impl std::ops::Deref for ChannelRule {
    type Target = RuleSpec;

    fn deref(&self) -> &RuleSpec {
        &self.spec
    }
}

/// When held dialogs move on by themselves (F36, F07).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReassignRules {
    /// The manager has had no connection for this long.
    pub offline_after_secs: Option<i64>,
    /// The manager's status has not been "free" for this long.
    pub not_free_after_secs: Option<i64>,
    /// The client has waited this long for an answer.
    pub no_answer_after_secs: Option<i64>,
    /// Only dialogs waiting for an answer move when their manager leaves (otherwise every
    /// open one does).
    #[serde(default)]
    pub only_unanswered: bool,
}

impl ReassignRules {
    pub fn validate(&self) -> CoreResult<()> {
        for (field, v) in [
            ("offline_after_secs", self.offline_after_secs),
            ("not_free_after_secs", self.not_free_after_secs),
            ("no_answer_after_secs", self.no_answer_after_secs),
        ] {
            if v.is_some_and(|s| !(10..=7 * 86_400).contains(&s) || s % 10 != 0) {
                return Err(CoreError::invalid(
                    field,
                    "must be a multiple of 10 seconds, from 10 s to 7 days",
                ));
            }
        }
        Ok(())
    }
}

/// Why the bot moved a dialog; the feed's line says it (F17).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssignReason {
    /// A new dialog, or one from the queue.
    Distributed,
    ManagerOffline,
    ManagerNotFree,
    NoAnswer,
}

impl AssignReason {
    pub fn as_str(self) -> &'static str {
        match self {
            AssignReason::Distributed => "distributed",
            AssignReason::ManagerOffline => "manager_offline",
            AssignReason::ManagerNotFree => "manager_not_free",
            AssignReason::NoAnswer => "no_answer",
        }
    }
}

/// A manager who may receive, as things stand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub manager: ManagerId,
    /// Connected and "free".
    pub present: bool,
    pub open: i64,
    pub last_assigned_at: Timestamp,
}

/// The manager the next dialog goes to: present, under the cap, not `except`; by the strategy
/// (`own`: the client's own manager, for [`Strategy::OwnManagerFirst`]).
pub fn choose(
    pool: &[Candidate],
    strategy: Strategy,
    max_open: Option<u32>,
    own: Option<ManagerId>,
    except: Option<ManagerId>,
) -> Option<ManagerId> {
    let eligible = |c: &&Candidate| {
        c.present && Some(c.manager) != except && max_open.is_none_or(|cap| c.open < i64::from(cap))
    };
    let open = pool.iter().filter(eligible);
    if strategy == Strategy::OwnManagerFirst
        && let Some(own) = own
        && let Some(c) = open.clone().find(|c| c.manager == own)
    {
        return Some(c.manager);
    }
    match strategy {
        Strategy::FewestOpen => open.min_by_key(|c| (c.open, c.last_assigned_at, c.manager)),
        Strategy::RoundRobin | Strategy::OwnManagerFirst => {
            open.min_by_key(|c| (c.last_assigned_at, c.manager))
        }
    }
    .map(|c| c.manager)
}

/// A dialog waiting in a channel's queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Queued {
    pub dialog: DialogId,
    /// The client's own manager, if they have one.
    pub own: Option<ManagerId>,
    pub client: Option<crate::ids::ClientId>,
    pub created_at: Timestamp,
}

/// Hands out a channel's queue in order while someone can take the next dialog: the first
/// that finds nobody stops it (later ones must not jump the queue). The pool is updated as it
/// goes.
pub fn plan(
    queue: &[Queued],
    pool: &mut [Candidate],
    rule: &ChannelRule,
    now: Timestamp,
) -> Vec<(DialogId, ManagerId)> {
    let mut out = Vec::new();
    for q in queue {
        let Some(m) = choose(pool, rule.strategy, rule.max_open, q.own, None) else {
            break;
        };
        if let Some(c) = pool.iter_mut().find(|c| c.manager == m) {
            c.open += 1;
            c.last_assigned_at = now;
        }
        out.push((q.dialog, m));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn candidate(id: i64, present: bool, open: i64, last: i64) -> Candidate {
        Candidate {
            manager: ManagerId(id),
            present,
            open,
            last_assigned_at: Timestamp(last),
        }
    }

    #[test]
    fn f36_only_present_managers_under_the_cap_receive() {
        let pool = [
            candidate(1, false, 0, 0),
            candidate(2, true, 3, 0),
            candidate(3, true, 1, 5),
        ];
        assert_eq!(
            choose(&pool, Strategy::RoundRobin, Some(3), None, None),
            Some(ManagerId(3)),
            "1 is away, 2 is full"
        );
        assert_eq!(
            choose(&pool, Strategy::RoundRobin, Some(1), None, None),
            None
        );
        assert_eq!(
            choose(&pool, Strategy::RoundRobin, None, None, None),
            Some(ManagerId(2)),
            "longest ago"
        );
        assert_eq!(
            choose(&pool, Strategy::FewestOpen, None, None, None),
            Some(ManagerId(3))
        );
        assert_eq!(
            choose(
                &pool,
                Strategy::OwnManagerFirst,
                None,
                Some(ManagerId(3)),
                None
            ),
            Some(ManagerId(3))
        );
        assert_eq!(
            choose(
                &pool,
                Strategy::OwnManagerFirst,
                None,
                Some(ManagerId(1)),
                None
            ),
            Some(ManagerId(2)),
            "the own manager is away: round robin"
        );
        assert_eq!(
            choose(&pool, Strategy::RoundRobin, None, None, Some(ManagerId(2))),
            Some(ManagerId(3)),
            "never back to the one it is taken from"
        );
    }

    fn four_managers(max_open: Option<u32>) -> ChannelRule {
        ChannelRule {
            channel_id: ChannelId(1),
            since: Timestamp(0),
            spec: RuleSpec {
                managers: (1..=4).map(ManagerId).collect(),
                groups: Vec::new(),
                strategy: Strategy::RoundRobin,
                max_open,
                hours: None,
                greeting: None,
                all_busy: None,
                order_currency: None,
            },
        }
    }

    /// What happens to the inbox, step by step.
    #[derive(Clone, Copy, Debug)]
    enum Step {
        Arrive,
        Presence(usize, bool),
        Answer(usize),
    }

    fn life(rng: &mut StdRng, len: usize) -> Vec<Step> {
        (0..len)
            .map(|_| match rng.random_range(0..6) {
                0..3 => Step::Arrive,
                3..5 => Step::Presence(rng.random_range(0..4), rng.random_bool(0.6)),
                _ => Step::Answer(rng.random_range(0..4)),
            })
            .collect()
    }

    /// F36 against a model, over many random lives of arrivals, presence changes and closed
    /// dialogs; after each step the queue is handed out. No dialog goes to an absent manager,
    /// no one goes past the cap, the queue is handed out first come first served, and it
    /// stops only when nobody present has room.
    #[test]
    fn f36_distribution_keeps_its_promises() {
        for seed in 0..400 {
            let mut rng = StdRng::seed_from_u64(seed);
            let cap = rng.random_range(1u32..4);
            let rule = four_managers(Some(cap));
            let mut pool: Vec<Candidate> = (1..=4).map(|m| candidate(m, true, 0, 0)).collect();
            let mut queue: Vec<Queued> = Vec::new();
            let mut next = 0;
            let len = rng.random_range(1..80);
            for (clock, s) in life(&mut rng, len).into_iter().enumerate() {
                match s {
                    Step::Arrive => {
                        next += 1;
                        queue.push(Queued {
                            dialog: DialogId(next),
                            own: None,
                            client: None,
                            created_at: Timestamp(0),
                        });
                    }
                    Step::Presence(m, p) => pool[m].present = p,
                    Step::Answer(m) => pool[m].open = (pool[m].open - 1).max(0),
                }
                let before = pool.clone();
                let planned = plan(&queue, &mut pool, &rule, Timestamp(clock as i64 + 1));
                let heads: Vec<DialogId> =
                    queue.iter().take(planned.len()).map(|q| q.dialog).collect();
                let given: Vec<DialogId> = planned.iter().map(|p| p.0).collect();
                assert_eq!(given, heads, "seed {seed}: first come, first served");
                for (_, m) in &planned {
                    let i = usize::try_from(m.0 - 1).unwrap();
                    assert!(before[i].present, "seed {seed}: given to an absent manager");
                }
                assert!(
                    pool.iter().all(|c| c.open <= i64::from(cap)),
                    "seed {seed}: over the cap"
                );
                if planned.len() < queue.len() {
                    assert!(
                        pool.iter().all(|c| !c.present || c.open >= i64::from(cap)),
                        "seed {seed}: someone present had room"
                    );
                }
                queue.drain(..planned.len());
            }
        }
    }

    /// Round robin is fair within one: two managers present throughout get as many dialogs,
    /// give or take one, however the others come and go.
    #[test]
    fn f36_round_robin_is_fair_within_one() {
        for seed in 0..400 {
            let mut rng = StdRng::seed_from_u64(seed);
            let rule = four_managers(None);
            let mut pool: Vec<Candidate> = (1..=4).map(|m| candidate(m, true, 0, 0)).collect();
            let mut given = [0i64; 4];
            let len = rng.random_range(1..120);
            for (clock, s) in life(&mut rng, len).into_iter().enumerate() {
                let clock = clock as i64;
                let arrivals = match s {
                    Step::Arrive => vec![Queued {
                        dialog: DialogId(clock),
                        own: None,
                        client: None,
                        created_at: Timestamp(0),
                    }],
                    // Managers 3 and 4 come and go; 1 and 2 stay.
                    Step::Presence(m, p) => {
                        pool[2 + m % 2].present = p;
                        Vec::new()
                    }
                    Step::Answer(_) => Vec::new(),
                };
                for (_, m) in plan(&arrivals, &mut pool, &rule, Timestamp(clock + 1)) {
                    given[usize::try_from(m.0 - 1).unwrap()] += 1;
                }
                assert!(
                    (given[0] - given[1]).abs() <= 1,
                    "seed {seed}: unfair: {given:?}"
                );
            }
        }
    }
}
