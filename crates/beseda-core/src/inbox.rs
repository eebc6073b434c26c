//! The dialog list (F12, F13, F19–F24, F06): what a query asks for, parsed once into typed
//! filters, and the keyset cursor that pages through it.

use crate::channel::ChannelKind;
use crate::company::TagColor;
use crate::error::{CoreError, CoreResult};
use crate::ids::{BotId, ChannelId, DialogId, ManagerId, MessageId, TagId};
use crate::time::Timestamp;
use serde::Serialize;

/// F20: the order of the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DialogSort {
    /// The newest message in either direction first (default).
    Activity,
    /// Waiting longest for an answer first, then the rest by activity.
    Processing,
}

/// F21: whose dialogs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Holder {
    Manager(ManagerId),
    /// Nobody answers for it yet.
    Nobody,
}

/// F22: dialogs a bot holds.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum BotFilter {
    Any,
    Some(Vec<BotId>),
}

/// F21: who wrote the last message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LastFrom {
    Client,
    Company,
}

/// F24: the client tag filter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum TagFilter {
    /// Nothing chosen.
    #[default]
    All,
    /// Clients without any tag.
    NoTags,
    /// Clients with every one of these tags.
    AllOf(Vec<TagId>),
}

/// Every filter of the list, combined with AND (F21–F24). Empty lists mean "any".
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct DialogFilter {
    pub holders: Vec<Holder>,
    pub bots: Option<BotFilter>,
    pub channels: Vec<ChannelId>,
    /// `Some(true)`: open dialogs only; `Some(false)`: closed only.
    pub open: Option<bool>,
    pub last_from: Option<LastFrom>,
    /// F23: dialogs with a message in `[from, to)`.
    pub period: Option<(Timestamp, Timestamp)>,
    pub tags: TagFilter,
    /// F24 "Pinned": clients with pinned tags; with a tag list, those tags pinned.
    pub pinned: bool,
}

/// Where a page starts: after the last row of the previous page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// For processing order: 0 while in the waiting dialogs, 1 in the rest.
    pub segment: u8,
    pub key: i64,
    pub id: DialogId,
    /// Which query the cursor belongs to.
    pub fingerprint: u64,
}

impl Cursor {
    pub fn encode(&self) -> String {
        format!(
            "{}.{}.{}.{:x}",
            self.segment, self.key, self.id.0, self.fingerprint
        )
    }

    /// A cursor of this query, or 400 `invalid_cursor`.
    pub fn decode(raw: &str, fingerprint: u64) -> CoreResult<Cursor> {
        let bad = || CoreError::InvalidCursor;
        let parts: Vec<&str> = raw.split('.').collect();
        let [segment, key, id, fp] = parts.as_slice() else {
            return Err(bad());
        };
        let c = Cursor {
            segment: segment.parse().map_err(|_| bad())?,
            key: key.parse().map_err(|_| bad())?,
            id: DialogId(id.parse().map_err(|_| bad())?),
            fingerprint: u64::from_str_radix(fp, 16).map_err(|_| bad())?,
        };
        if c.fingerprint != fingerprint || c.segment > 1 {
            return Err(bad());
        }
        Ok(c)
    }
}

/// A page of the list as the store reads it.
#[derive(Clone, Debug)]
pub struct DialogQuery {
    pub filter: DialogFilter,
    pub sort: DialogSort,
    pub after: Option<Cursor>,
    pub limit: u32,
}

impl DialogQuery {
    /// Identifies the filter and sort, so that a cursor is only used with its own query.
    pub fn fingerprint(filter: &DialogFilter, sort: DialogSort) -> u64 {
        use std::hash::{Hash, Hasher};
        // FNV-1a: stable across processes and versions, unlike the std hasher's keys.
        struct Fnv(u64);
        impl Hasher for Fnv {
            fn finish(&self) -> u64 {
                self.0
            }
            fn write(&mut self, bytes: &[u8]) {
                for b in bytes {
                    self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
                }
            }
        }
        let mut h = Fnv(0xcbf2_9ce4_8422_2325);
        filter.hash(&mut h);
        sort.hash(&mut h);
        h.finish()
    }
}

/// The tag filter's panel (F24): each tag with how many visible dialogs carry it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TagCount {
    pub id: TagId,
    pub name: String,
    pub color: TagColor,
    pub dialogs: i64,
}

/// What the "Filters and sorting" panel offers (F20, F22, F24).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FilterPanel {
    /// Tags, most used first.
    pub tags: Vec<TagCount>,
    /// F22: offered only when a bot exists.
    pub bot_filter: bool,
    /// F22: the bots to choose from, by name.
    pub bots: Vec<BotOption>,
    /// F20: offered only when time limits are set.
    pub processing_order: bool,
    /// F21: the channels to choose from, by name.
    pub channels: Vec<ChannelOption>,
}

/// A bot as the bot filter offers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BotOption {
    pub id: BotId,
    pub name: String,
}

/// A channel as the channel filter offers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ChannelOption {
    pub id: ChannelId,
    pub name: String,
    pub kind: ChannelKind,
}

/// A search hit in a message (F06).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MessageHit {
    pub dialog_id: DialogId,
    pub message_id: MessageId,
    /// The message's text around the match.
    pub context: String,
    pub created_at: Timestamp,
    pub contact_name: String,
    pub channel_name: String,
}

/// Search needs this many characters for message text (shorter queries search dialogs only).
pub const MIN_TEXT_SEARCH_CHARS: usize = 3;

/// The text around the first case-insensitive occurrence of `needle`, at most `width`
/// characters on each side.
pub fn context_of(text: &str, needle: &str, width: usize) -> String {
    let hay: Vec<char> = text.chars().collect();
    let low: Vec<char> = hay.iter().flat_map(|c| c.to_lowercase()).collect();
    let n: Vec<char> = needle.chars().flat_map(char::to_lowercase).collect();
    // Lower-casing keeps the length for the scripts we search; where it does not, start at 0.
    let at = if low.len() == hay.len() && !n.is_empty() {
        low.windows(n.len())
            .position(|w| w == n.as_slice())
            .unwrap_or(0)
    } else {
        0
    };
    let start = at.saturating_sub(width);
    let end = (at + n.len() + width).min(hay.len());
    let mut out: String = hay[start..end].iter().collect();
    if start > 0 {
        out.insert(0, '…');
    }
    if end < hay.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_belong_to_their_query() {
        let f = DialogFilter::default();
        let fp = DialogQuery::fingerprint(&f, DialogSort::Activity);
        let c = Cursor {
            segment: 0,
            key: 1_700_000_000_000,
            id: DialogId(42),
            fingerprint: fp,
        };
        assert_eq!(Cursor::decode(&c.encode(), fp).unwrap(), c);
        let other = DialogQuery::fingerprint(
            &DialogFilter {
                open: Some(true),
                ..f.clone()
            },
            DialogSort::Activity,
        );
        assert_ne!(fp, other);
        assert_eq!(
            Cursor::decode(&c.encode(), other).unwrap_err().code(),
            "invalid_cursor"
        );
        assert!(Cursor::decode("garbage", fp).is_err());
        assert_ne!(fp, DialogQuery::fingerprint(&f, DialogSort::Processing));
    }

    #[test]
    fn context_surrounds_the_match_in_any_case() {
        let text = "Добрый день! Подскажите, пожалуйста, когда будет ДОСТАВКА дивана?";
        let c = context_of(text, "доставка", 5);
        assert!(
            c.contains("ДОСТАВКА") && c.starts_with('…') && c.ends_with('…'),
            "{c}"
        );
        assert_eq!(context_of("short", "zzz", 10), "short");
    }
}
