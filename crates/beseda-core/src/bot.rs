//! Bots (F37): a bot holds dialogs like a manager, reads and writes in them and hands them on,
//! through the bot API, and learns what happens by a signed webhook or a WebSocket. It serves
//! some channels: it sees the unassigned dialogs there and the dialogs it holds anywhere.

use crate::dialog::Responsible;
use crate::event::Audience;
use crate::ids::{BotId, ChannelId};
use crate::time::Timestamp;
use serde::Serialize;

/// The built-in distribution bot (F36) or one of the company's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BotKind {
    Distribution,
    External,
}

impl BotKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BotKind::Distribution => "distribution",
            BotKind::External => "external",
        }
    }

    pub fn parse(s: &str) -> Option<BotKind> {
        match s {
            "distribution" => Some(BotKind::Distribution),
            "external" => Some(BotKind::External),
            _ => None,
        }
    }
}

/// A bot as the settings show it. Its token and webhook secret are shown once, when made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Bot {
    pub id: BotId,
    pub kind: BotKind,
    pub name: String,
    /// An https:// picture shown beside its messages.
    pub avatar_url: Option<String>,
    /// The channels whose new dialogs it sees.
    pub channels: Vec<ChannelId>,
    /// Where its events are POSTed, signed; none when it takes them by WebSocket.
    pub webhook_url: Option<String>,
    pub active: bool,
    /// Its webhook has failed every try since then (the events wait; none is lost).
    pub failing_since: Option<Timestamp>,
    pub last_error: Option<String>,
    /// The last event its webhook took.
    pub delivered_up_to: i64,
    pub created_at: Timestamp,
}

impl Bot {
    pub fn scope(&self) -> BotScope {
        BotScope {
            bot: self.id,
            channels: self.channels.clone(),
        }
    }
}

/// What a bot may see: the dialogs it holds, and the unassigned ones on its channels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BotScope {
    pub bot: BotId,
    pub channels: Vec<ChannelId>,
}

impl BotScope {
    pub fn may_see(&self, responsible: Option<Responsible>, channel: ChannelId) -> bool {
        match responsible {
            Some(Responsible::Bot(b)) => b == self.bot,
            Some(Responsible::Manager(_)) => false,
            None => self.channels.contains(&channel),
        }
    }

    /// Whether an event of a dialog on `channel` reaches the bot: a dialog's events while it
    /// sees the dialog, and the notice that it no longer does. Personal events never.
    pub fn admits(&self, audience: &Audience, channel: ChannelId) -> bool {
        match audience {
            Audience::Dialog(r) => self.may_see(*r, channel),
            Audience::Left { before, after } => {
                self.may_see(*before, channel) && !self.may_see(*after, channel)
            }
            Audience::Manager(_) | Audience::Everyone | Audience::Audit => false,
        }
    }
}

/// A bot to store.
#[derive(Clone, Debug)]
pub struct NewBot {
    pub name: String,
    pub avatar_url: Option<String>,
    pub channels: Vec<ChannelId>,
    pub webhook_url: Option<String>,
    pub token_hash: crate::secret::TokenHash,
    pub webhook_secret: String,
    pub created_at: Timestamp,
}

/// A change to a bot; what is `None` stays.
#[derive(Clone, Debug, Default)]
pub struct BotChange {
    pub name: Option<String>,
    pub avatar_url: Option<Option<String>>,
    pub channels: Option<Vec<ChannelId>>,
    pub webhook_url: Option<Option<String>>,
    pub active: Option<bool>,
}

/// A bot's webhook, leased to one worker: where to POST, the secret to sign with.
#[derive(Clone, Debug)]
pub struct BotDelivery {
    pub bot: Bot,
    pub webhook_url: String,
    pub webhook_secret: String,
    /// Failed tries since its last success.
    pub attempts: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ManagerId;

    #[test]
    fn f37_a_bot_sees_its_own_dialogs_and_the_unassigned_ones_of_its_channels() {
        let scope = BotScope {
            bot: BotId(1),
            channels: vec![ChannelId(5)],
        };
        let mine = Some(Responsible::Bot(BotId(1)));
        let other_bot = Some(Responsible::Bot(BotId(2)));
        let anna = Some(Responsible::Manager(ManagerId(3)));
        assert!(scope.may_see(None, ChannelId(5)));
        assert!(!scope.may_see(None, ChannelId(6)), "another channel");
        assert!(scope.may_see(mine, ChannelId(6)), "its own anywhere");
        assert!(!scope.may_see(other_bot, ChannelId(5)));
        assert!(!scope.may_see(anna, ChannelId(5)));
        let handed_over = Audience::Left {
            before: mine,
            after: anna,
        };
        assert!(scope.admits(&handed_over, ChannelId(6)), "told it is gone");
        assert!(!scope.admits(&Audience::Dialog(anna), ChannelId(5)));
        assert!(!scope.admits(&Audience::Manager(ManagerId(3)), ChannelId(5)));
    }
}
