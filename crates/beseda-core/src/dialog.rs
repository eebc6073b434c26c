//! Dialogs and messages as the services and the API see them (F07–F18, F29–F31, F33).

use crate::channel::ChannelKind;
use crate::ids::{BotId, ChannelId, ClientId, DialogId, ManagerId, MessageId};
use crate::manager::Actor;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Who answers for a dialog: a manager, a bot, or nobody yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Responsible {
    Manager(ManagerId),
    Bot(BotId),
}

impl Responsible {
    /// The manager, when it is one.
    pub fn manager(self) -> Option<ManagerId> {
        match self {
            Responsible::Manager(m) => Some(m),
            Responsible::Bot(_) => None,
        }
    }
}

/// Who did something to a dialog (a manager or a bot), as the log keeps it:
/// `{"type": "manager", "id": 5}`, or a bare manager id in events recorded before bots acted.
pub mod doer {
    use super::Responsible;
    use crate::ids::ManagerId;
    use serde::{Deserialize, Deserializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Wire {
        Manager(ManagerId),
        Either(Responsible),
    }

    impl From<Wire> for Responsible {
        fn from(w: Wire) -> Responsible {
            match w {
                Wire::Manager(m) => Responsible::Manager(m),
                Wire::Either(r) => r,
            }
        }
    }

    pub fn one<'de, D: Deserializer<'de>>(d: D) -> Result<Responsible, D::Error> {
        Wire::deserialize(d).map(Responsible::from)
    }

    pub fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Responsible>, D::Error> {
        Ok(Option::<Wire>::deserialize(d)?.map(Responsible::from))
    }
}

/// Who looks: a manager, and whether they see every dialog (administrators, F33).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Viewer {
    pub manager: ManagerId,
    pub sees_all: bool,
}

impl Viewer {
    pub fn of(actor: &Actor) -> Viewer {
        Viewer {
            manager: actor.id(),
            sees_all: actor.permissions.view_all_dialogs,
        }
    }

    /// F33: a manager sees the dialogs assigned to them and the unassigned ones;
    /// administrators see all. A dialog held by a bot is not "unassigned".
    pub fn may_see(&self, responsible: Option<Responsible>) -> bool {
        self.sees_all
            || responsible.is_none()
            || responsible == Some(Responsible::Manager(self.manager))
    }
}

/// The waiting mark of F13/F34.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum WaitingLevel {
    None,
    Warning,
    Danger,
}

impl WaitingLevel {
    /// The level as the stores keep it: 0, 1, 2.
    pub fn rank(self) -> i64 {
        self as i64
    }

    pub fn from_rank(rank: i64) -> WaitingLevel {
        match rank {
            0 => WaitingLevel::None,
            1 => WaitingLevel::Warning,
            _ => WaitingLevel::Danger,
        }
    }
}

/// One dialog as one manager sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DialogView {
    pub id: DialogId,
    pub channel: ChannelRef,
    /// The client card, unless detached (F14).
    pub client: Option<ClientRef>,
    /// The client's photo, or the messenger's avatar (F12).
    pub photo_url: Option<String>,
    pub contact_name: String,
    pub open: bool,
    pub responsible: Option<Responsible>,
    pub last_activity_at: Timestamp,
    pub last_message_preview: Option<String>,
    pub last_message_author: Option<AuthorKind>,
    /// Since when the client waits for an answer (F20, F34).
    pub waiting_since: Option<Timestamp>,
    /// The answer-time limits that apply to this dialog's channel (F34).
    pub time_limits: crate::library::TimeLimits,
    /// The waiting mark now (F13) and when it changes next.
    pub waiting_level: WaitingLevel,
    pub waiting_level_changes_at: Option<Timestamp>,
    /// The client's tags, pinned ones first (F12, F35).
    pub client_tags: Vec<crate::library::ClientTag>,
    /// Client messages this manager has not read (F03).
    pub unread_messages: i64,
    /// Marked unread by this manager (F09).
    pub marked_unread: bool,
    /// This manager's unsent reply (F18).
    pub draft: Option<String>,
    /// No message goes to or comes from a blocked client (F10).
    pub client_blocked: bool,
    /// When the channel's window for writing to the client closes (Meta's 24 hours after the
    /// client's latest message); `null` for a channel without one. Filled for one dialog's
    /// view, not for the list's rows.
    pub reply_window_closes_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ChannelRef {
    pub id: ChannelId,
    pub kind: ChannelKind,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ClientRef {
    pub id: ClientId,
    pub name: String,
}

/// Who wrote a message, with names for the feed (F17).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MessageAuthor {
    Client,
    Manager {
        id: ManagerId,
        name: String,
    },
    /// Someone of the company whose account is gone, or who wrote outside Beseda (history).
    Company,
    Bot {
        id: BotId,
        name: String,
    },
    System,
}

/// What a message is: text, a message of files of one kind (named by its first file), or a
/// system line of the feed (F17).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Text,
    Image,
    Audio,
    Video,
    File,
    Event,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Text => "text",
            MessageKind::Image => "image",
            MessageKind::Audio => "audio",
            MessageKind::Video => "video",
            MessageKind::File => "file",
            MessageKind::Event => "event",
        }
    }

    pub fn parse(raw: &str) -> Option<MessageKind> {
        [
            Self::Text,
            Self::Image,
            Self::Audio,
            Self::Video,
            Self::File,
            Self::Event,
        ]
        .into_iter()
        .find(|k| k.as_str() == raw)
    }
}

impl From<crate::attachment::AttachmentKind> for MessageKind {
    fn from(kind: crate::attachment::AttachmentKind) -> MessageKind {
        use crate::attachment::AttachmentKind as A;
        match kind {
            A::Image => MessageKind::Image,
            A::Audio => MessageKind::Audio,
            A::Video => MessageKind::Video,
            A::File => MessageKind::File,
        }
    }
}

/// Who wrote a dialog's last message, as its row and the "last message" filter see it (F12,
/// F21): the client, a manager (or the company in imported history), or a bot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthorKind {
    Client,
    Manager,
    Bot,
    System,
}

impl AuthorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorKind::Client => "client",
            AuthorKind::Manager => "manager",
            AuthorKind::Bot => "bot",
            AuthorKind::System => "system",
        }
    }

    pub fn parse(raw: &str) -> Option<AuthorKind> {
        [Self::Client, Self::Manager, Self::Bot, Self::System]
            .into_iter()
            .find(|k| k.as_str() == raw)
    }
}

/// The delivery status of a company message (F31); it only moves forward.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Queued,
    Sent,
    Delivered,
    Read,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Read => "read",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<DeliveryStatus> {
        [
            Self::Queued,
            Self::Sent,
            Self::Delivered,
            Self::Read,
            Self::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }
}

/// A message in the feed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MessageView {
    pub id: MessageId,
    pub dialog_id: DialogId,
    pub seq: i64,
    pub author: MessageAuthor,
    pub kind: MessageKind,
    pub body: String,
    /// For a system line: the dialog event it records (F17), e.g.
    /// `{"kind":"dialog_assigned","data":{"from":…,"to":…,"by":…}}`.
    #[schema(no_recursion)]
    pub event: Option<Box<crate::event::DomainEvent>>,
    pub quote: Option<QuoteRef>,
    pub status: Option<DeliveryStatus>,
    pub failure_reason: Option<String>,
    pub created_at: Timestamp,
    /// When the client edited it on their side (F16).
    pub edited_at: Option<Timestamp>,
    /// When the client deleted it on their side; the text is then withheld.
    pub deleted_at: Option<Timestamp>,
    /// Its files, in the order they were sent (F11, F25).
    pub attachments: Vec<crate::attachment::AttachmentView>,
    /// The channel's id of a client message (what made its push idempotent).
    #[serde(default)]
    pub external_id: Option<String>,
    /// Quick-reply buttons under a bot's message (F37): the client taps one to answer with its
    /// label.
    #[serde(default)]
    pub buttons: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QuoteRef {
    pub id: MessageId,
    pub body: String,
}

/// A client message coming in through a channel.
#[derive(Clone, Debug)]
pub struct InboundMessage {
    pub channel_id: ChannelId,
    pub contact_external_id: String,
    pub contact_name: String,
    /// The channel's id of the message: a repeat with the same id changes nothing.
    pub external_id: String,
    pub body: String,
    pub sent_at: Timestamp,
    /// Files the module uploaded for this message and not yet sent in another.
    pub attachments: Vec<crate::ids::AttachmentId>,
    /// The channel's id of the message it answers (F15), if the dialog has it.
    pub quote_external_id: Option<String>,
    /// What the channel tells about the client; used for a new contact's client card (F04).
    pub details: ContactDetails,
}

/// What a channel knows of a client besides their id and name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContactDetails {
    pub nickname: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub avatar_url: Option<String>,
    pub profile_url: Option<String>,
    pub language: Option<String>,
    /// For the website widget: the page the client wrote from.
    pub page: Option<String>,
    /// `utm_*` tags as a JSON object.
    pub utm: Option<String>,
    /// For the website widget: the page that led the client to the site.
    pub referrer: Option<String>,
    /// The client typed the phone and email themselves (the widget's pre-chat form), so they
    /// prove nothing: they never link the contact to an existing client card, whose owner
    /// anyone could claim to be; a card with the same phone or email is only suggested.
    pub self_declared: bool,
}

impl ContactDetails {
    /// Phones compare by their digits (and a leading +), whatever the formatting.
    pub fn normalized_phone(&self) -> Option<String> {
        let p = self.phone.as_deref()?.trim();
        let digits: String = p.chars().filter(char::is_ascii_digit).collect();
        (digits.len() >= 5).then(|| {
            if p.starts_with('+') {
                format!("+{digits}")
            } else {
                digits
            }
        })
    }

    pub fn normalized_email(&self) -> Option<String> {
        crate::values::Email::parse(self.email.as_deref()?)
            .ok()
            .map(|e| e.as_str().to_owned())
    }
}

/// What became of an inbound message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ingested {
    Accepted {
        dialog_id: DialogId,
        message_id: MessageId,
    },
    /// The same external id was seen before: the first result, nothing changed.
    Duplicate {
        dialog_id: DialogId,
        message_id: MessageId,
    },
    /// The client is blocked (F10): recorded in the audit log, nothing else kept.
    Refused,
}

/// A client's past conversation a module brings in (F38): shown as read, announced to nobody.
#[derive(Clone, Debug)]
pub struct HistoryImport {
    pub channel_id: ChannelId,
    pub contact_external_id: String,
    pub contact_name: String,
    pub details: ContactDetails,
    /// Whether the conversation is over; a closed dialog waits for no answer.
    pub closed: bool,
    /// Oldest first; `author` is `Client` or `Company`.
    pub messages: Vec<crate::company::ImportMessage>,
}

/// A manager's message to write.
#[derive(Clone, Debug)]
pub struct OutgoingMessage {
    pub dialog_id: DialogId,
    /// A manager or a bot.
    pub author: Responsible,
    pub body: String,
    pub quote: Option<MessageId>,
    /// Files uploaded into this dialog by the author and not yet sent.
    pub attachments: Vec<crate::ids::AttachmentId>,
    /// The platform's template the message is, filled in (its text is `body`).
    pub template: Option<crate::connector::TemplateUse>,
    /// An automatic notice (the distribution bot's greeting): not an answer, so the client
    /// still waits (F34).
    pub automatic: bool,
    /// Quick-reply labels under the message (a bot's, F37), checked against the channel.
    pub buttons: Vec<String>,
}

/// Where to read a dialog's feed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedPage {
    /// The newest messages.
    Latest,
    Before(MessageId),
    After(MessageId),
    /// Messages on both sides of one (a search hit, F06).
    Around(MessageId),
    /// From a moment on (the date filter, F23).
    Since(Timestamp),
}

/// The header's counters for one manager (F02).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Counters {
    pub unread_dialogs: i64,
}

/// At most this many characters, not counting whitespace (F30).
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// Counts a message's length as F30 does: Unicode scalar values, whitespace not counted.
pub fn counted_chars(text: &str) -> usize {
    text.chars().filter(|c| !c.is_whitespace()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_and_emails_are_compared_normalised() {
        let d = ContactDetails {
            phone: Some(" +7 (900) 123-45-67 ".into()),
            email: Some("Anna@Example.COM".into()),
            ..Default::default()
        };
        assert_eq!(d.normalized_phone().as_deref(), Some("+79001234567"));
        assert_eq!(d.normalized_email().as_deref(), Some("anna@example.com"));
        assert_eq!(
            ContactDetails {
                phone: Some("12".into()),
                ..Default::default()
            }
            .normalized_phone(),
            None
        );
    }

    #[test]
    fn f30_whitespace_does_not_count() {
        assert_eq!(counted_chars("a b\n\tc"), 3);
        assert_eq!(counted_chars("привет 👋"), 7);
        assert_eq!(counted_chars(&" ".repeat(5000)), 0);
    }

    #[test]
    fn f33_managers_see_their_own_and_unassigned_dialogs() {
        let me = Viewer {
            manager: ManagerId(1),
            sees_all: false,
        };
        assert!(me.may_see(None));
        assert!(me.may_see(Some(Responsible::Manager(ManagerId(1)))));
        assert!(!me.may_see(Some(Responsible::Manager(ManagerId(2)))));
        assert!(!me.may_see(Some(Responsible::Bot(BotId(1)))));
        let admin = Viewer {
            manager: ManagerId(1),
            sees_all: true,
        };
        assert!(admin.may_see(Some(Responsible::Manager(ManagerId(2)))));
    }
}
