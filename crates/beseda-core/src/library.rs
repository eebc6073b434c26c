//! The company's shared things around chats: client tags (F35), quick replies (F32) and the
//! answer-time limits (F34).

use crate::dialog::WaitingLevel;
use crate::error::{CoreError, CoreResult};
use crate::ids::{ChannelId, ManagerId, QuickReplyId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// A tag on a client, pinned or not (F35).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClientTag {
    pub tag: crate::company::Tag,
    pub pinned: bool,
}

/// A saved answer (F32): shared by the company, or one manager's own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct QuickReply {
    pub id: QuickReplyId,
    /// `null` for a shared reply.
    pub owner: Option<ManagerId>,
    pub title: String,
    pub body: String,
    pub updated_at: Timestamp,
}

/// Answer-time limits (F34), in seconds: past `warning_secs` a waiting dialog turns yellow,
/// past `danger_secs` red. Either may be unset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeLimits {
    pub warning_secs: Option<i64>,
    pub danger_secs: Option<i64>,
}

impl TimeLimits {
    /// Multiples of 10 s, at least 10 s, the warning before the danger.
    pub fn validate(self) -> CoreResult<TimeLimits> {
        for (field, v) in [
            ("warning_secs", self.warning_secs),
            ("danger_secs", self.danger_secs),
        ] {
            if let Some(v) = v
                && (v < 10 || v % 10 != 0 || v > 365 * 24 * 3600)
            {
                return Err(CoreError::invalid(
                    field,
                    "must be a multiple of 10 seconds, at least 10, at most a year",
                ));
            }
        }
        if let (Some(w), Some(d)) = (self.warning_secs, self.danger_secs)
            && w >= d
        {
            return Err(CoreError::invalid(
                "warning_secs",
                "the warning must come before the time to process",
            ));
        }
        Ok(self)
    }

    pub fn is_set(self) -> bool {
        self.warning_secs.is_some() || self.danger_secs.is_some()
    }

    /// Per-channel values win over the defaults, each limit on its own.
    pub fn over(self, defaults: TimeLimits) -> TimeLimits {
        TimeLimits {
            warning_secs: self.warning_secs.or(defaults.warning_secs),
            danger_secs: self.danger_secs.or(defaults.danger_secs),
        }
    }

    /// A waiting dialog's level at `now`, and when it moves to the next one (F13, F34). The
    /// clock runs from the first unanswered client message; only an answer stops it.
    pub fn waiting(
        self,
        waiting_since: Option<Timestamp>,
        now: Timestamp,
    ) -> (WaitingLevel, Option<Timestamp>) {
        let Some(since) = waiting_since else {
            return (WaitingLevel::None, None);
        };
        let at = |secs: Option<i64>| {
            secs.map(|s| Timestamp(since.0.saturating_add(s.saturating_mul(1000))))
        };
        let (warning, danger) = (at(self.warning_secs), at(self.danger_secs));
        match (warning, danger) {
            (_, Some(d)) if now >= d => (WaitingLevel::Danger, None),
            (Some(w), d) if now >= w => (WaitingLevel::Warning, d),
            (Some(w), _) => (WaitingLevel::None, Some(w)),
            (None, d) => (WaitingLevel::None, d),
        }
    }
}

/// The default limits and the channels that override them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TimeLimitSettings {
    pub default: TimeLimits,
    pub channels: Vec<ChannelTimeLimits>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ChannelTimeLimits {
    pub channel_id: ChannelId,
    pub limits: TimeLimits,
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn limits(w: Option<i64>, d: Option<i64>) -> TimeLimits {
        TimeLimits {
            warning_secs: w,
            danger_secs: d,
        }
    }

    #[test]
    fn f34_limits_are_multiples_of_ten_seconds_with_the_warning_first() {
        assert!(limits(Some(60), Some(300)).validate().is_ok());
        assert!(limits(None, Some(10)).validate().is_ok());
        for bad in [
            limits(Some(5), None),
            limits(Some(65), None),
            limits(Some(300), Some(60)),
            limits(Some(60), Some(60)),
            limits(Some(0), None),
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn f13_the_mark_turns_yellow_then_red_and_says_when() {
        let l = limits(Some(60), Some(300));
        let since = Some(Timestamp(1_000));
        assert_eq!(
            l.waiting(since, Timestamp(1_000)),
            (WaitingLevel::None, Some(Timestamp(61_000)))
        );
        assert_eq!(
            l.waiting(since, Timestamp(61_000)),
            (WaitingLevel::Warning, Some(Timestamp(301_000)))
        );
        assert_eq!(
            l.waiting(since, Timestamp(400_000)),
            (WaitingLevel::Danger, None)
        );
        assert_eq!(
            l.waiting(None, Timestamp(400_000)),
            (WaitingLevel::None, None)
        );
        assert_eq!(
            limits(None, None).waiting(since, Timestamp(9_999_999)),
            (WaitingLevel::None, None)
        );
        assert_eq!(
            limits(Some(10), None).waiting(since, Timestamp(20_000)),
            (WaitingLevel::Warning, None)
        );
    }

    #[test]
    fn channel_limits_override_each_default_on_its_own() {
        let d = limits(Some(60), Some(300));
        assert_eq!(limits(None, Some(600)).over(d), limits(Some(60), Some(600)));
    }
}

/// The client card (F14, F40): contacts, where the client came from (F04), tags, orders.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ClientCard {
    pub id: crate::ids::ClientId,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub photo_url: Option<String>,
    pub source: Option<ClientSourceView>,
    pub tags: Vec<ClientTag>,
    pub blocked: bool,
    pub created_at: Timestamp,
    /// The client's chats on every channel, newest first (F40); the service keeps those the
    /// reader may see.
    pub chats: Vec<ClientChat>,
    /// The client's orders, newest first (at most 20), and what they come to in each currency.
    pub orders: Vec<OrderSummary>,
    pub order_totals: Vec<OrderTotal>,
    /// An older card with the phone or email this client typed themselves: possibly the same
    /// person (a manager may merge the two), possibly someone using another's address.
    pub possibly_same_as: Option<ClientRefName>,
}

/// One of a client's chats, as the client card lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ClientChat {
    pub dialog_id: crate::ids::DialogId,
    pub channel_kind: String,
    pub channel_name: String,
    pub open: bool,
    pub last_activity_at: Timestamp,
    #[serde(skip)]
    pub responsible: Option<crate::dialog::Responsible>,
}

/// A client card named, for a link to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ClientRefName {
    pub id: crate::ids::ClientId,
    pub name: String,
}

/// An order as the client card lists it (F14).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OrderSummary {
    pub id: crate::ids::OrderId,
    pub number: String,
    pub status: String,
    /// In minor units (kopecks, cents).
    pub total_minor: i64,
    pub currency: String,
    pub created_at: Timestamp,
}

/// The sum of a client's orders in one currency, in minor units.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OrderTotal {
    pub currency: String,
    pub total_minor: i64,
    pub orders: i64,
}

/// Where a client first came from (F04).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClientSourceView {
    pub channel_type: Option<String>,
    pub channel_id: Option<ChannelId>,
    pub channel_name: Option<String>,
    pub first_contact_at: Option<Timestamp>,
    pub page: Option<String>,
    /// The page that led the client to the site (the website widget).
    pub referrer: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub utm: Option<serde_json::Value>,
}
