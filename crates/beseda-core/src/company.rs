//! What the store needs to bring a company's data in at once: channels, clients, tags,
//! dialogs with their history, orders. The demo company and history imports use it.

use crate::channel::{Capabilities, ChannelKind};
use crate::ids::{ChannelId, ClientId, ManagerId, TagId};
use crate::time::Timestamp;

#[derive(Clone, Debug)]
pub struct NewChannel {
    pub kind: ChannelKind,
    pub name: String,
    pub capabilities: Capabilities,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct NewTag {
    pub name: String,
    pub color: TagColor,
    pub created_at: Timestamp,
}

/// A client tag (F35).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Tag {
    pub id: TagId,
    pub name: String,
    pub color: TagColor,
}

/// The fixed palette of twelve tag colours (DESIGN.md §5a).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TagColor {
    Red,
    Blue,
    Green,
    Orange,
    Gray,
    GrayBlue,
    LightRed,
    LightBlue,
    LightGreen,
    LightOrange,
    LightGray,
    LightGrayBlue,
}

impl TagColor {
    pub const ALL: [TagColor; 12] = [
        TagColor::Red,
        TagColor::Blue,
        TagColor::Green,
        TagColor::Orange,
        TagColor::Gray,
        TagColor::GrayBlue,
        TagColor::LightRed,
        TagColor::LightBlue,
        TagColor::LightGreen,
        TagColor::LightOrange,
        TagColor::LightGray,
        TagColor::LightGrayBlue,
    ];

    pub fn parse(raw: &str) -> Option<TagColor> {
        TagColor::ALL.into_iter().find(|c| c.as_str() == raw)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TagColor::Red => "red",
            TagColor::Blue => "blue",
            TagColor::Green => "green",
            TagColor::Orange => "orange",
            TagColor::Gray => "gray",
            TagColor::GrayBlue => "gray_blue",
            TagColor::LightRed => "light_red",
            TagColor::LightBlue => "light_blue",
            TagColor::LightGreen => "light_green",
            TagColor::LightOrange => "light_orange",
            TagColor::LightGray => "light_gray",
            TagColor::LightGrayBlue => "light_gray_blue",
        }
    }
}

/// A client card with the source of its first contact (F04) and its tags (F35).
#[derive(Clone, Debug)]
pub struct NewClient {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub source: Option<ClientSource>,
    /// Tags on the client, each with whether it is pinned.
    pub tags: Vec<(TagId, bool)>,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct ClientSource {
    pub channel_id: ChannelId,
    pub channel_kind: ChannelKind,
    pub channel_name: String,
    pub first_contact_at: Timestamp,
    pub page: Option<String>,
    /// `utm_*` tags as a JSON object.
    pub utm: Option<String>,
}

/// Who wrote a message.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    Client,
    Manager(ManagerId),
    /// Someone of the company, written outside Beseda (imported history).
    Company,
    System,
}

impl Author {
    pub fn kind(self) -> crate::dialog::AuthorKind {
        use crate::dialog::AuthorKind as K;
        match self {
            Author::Client => K::Client,
            Author::Manager(_) | Author::Company => K::Manager,
            Author::System => K::System,
        }
    }
}

/// A past message brought in with its dialog: no notification, no unread mark for anyone.
#[derive(Clone, Debug)]
pub struct ImportMessage {
    pub author: Author,
    pub body: String,
    pub external_id: Option<String>,
    pub created_at: Timestamp,
}

/// A contact on a channel and its dialog with the whole history, written in one transaction.
#[derive(Clone, Debug)]
pub struct ImportDialog {
    pub channel_id: ChannelId,
    pub client_id: Option<ClientId>,
    pub contact_external_id: String,
    pub contact_name: String,
    pub responsible: Option<ManagerId>,
    pub closed: bool,
    /// Oldest first.
    pub messages: Vec<ImportMessage>,
}

/// How much data a database holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DataCounts {
    pub managers: i64,
    pub channels: i64,
    pub clients: i64,
    pub dialogs: i64,
    pub messages: i64,
}

impl DataCounts {
    /// A database that holds a company's data, beyond its managers.
    pub fn has_company_data(&self) -> bool {
        self.channels > 0 || self.clients > 0 || self.dialogs > 0
    }
}

/// A dialog's row as the store keeps it: the denormalized sort keys and preview.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DialogSummary {
    pub id: crate::ids::DialogId,
    pub channel_id: ChannelId,
    pub client_id: Option<ClientId>,
    pub open: bool,
    pub responsible: Option<ManagerId>,
    pub last_seq: i64,
    pub last_client_seq: i64,
    pub last_message_author: Option<crate::dialog::AuthorKind>,
    pub last_message_preview: Option<String>,
    pub last_activity_at: Timestamp,
    /// The first client message that has no answer yet (F20, F34).
    pub waiting_since: Option<Timestamp>,
    pub opened_at: Timestamp,
}

/// The denormalized keys of a dialog, derived from its history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryKeys {
    pub last_seq: i64,
    pub last_client_seq: i64,
    /// How many of the messages are the client's.
    pub client_count: i64,
    pub last_author: Author,
    pub preview: String,
    pub last_activity_at: Timestamp,
    pub waiting_since: Option<Timestamp>,
    pub opened_at: Timestamp,
}

/// How much of the last message the inbox row keeps.
pub const PREVIEW_CHARS: usize = 200;

impl ImportDialog {
    /// Sort keys, preview and waiting time from the history: the dialog waits from its first
    /// client message that no company message followed (F20, F34); a closed dialog waits for
    /// nothing.
    pub fn history_keys(&self) -> crate::CoreResult<HistoryKeys> {
        let last = self.messages.last().ok_or_else(|| {
            crate::CoreError::invalid("messages", "a dialog needs at least one message")
        })?;
        let mut waiting_since = None;
        let mut last_client_seq = 0;
        let mut client_count = 0;
        for (seq, m) in (1..).zip(&self.messages) {
            match m.author {
                Author::Client => {
                    last_client_seq = seq;
                    client_count += 1;
                    waiting_since = waiting_since.or(Some(m.created_at));
                }
                Author::Manager(_) | Author::Company => waiting_since = None,
                Author::System => {}
            }
        }
        Ok(HistoryKeys {
            last_seq: i64::try_from(self.messages.len()).unwrap_or(i64::MAX),
            last_client_seq,
            client_count,
            last_author: last.author,
            preview: last.body.chars().take(PREVIEW_CHARS).collect(),
            last_activity_at: last.created_at,
            waiting_since: if self.closed { None } else { waiting_since },
            opened_at: self.messages[0].created_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(author: Author, at: i64) -> ImportMessage {
        ImportMessage {
            author,
            body: format!("m{at}"),
            external_id: None,
            created_at: Timestamp(at),
        }
    }

    fn dialog(messages: Vec<ImportMessage>, closed: bool) -> ImportDialog {
        ImportDialog {
            channel_id: ChannelId(1),
            client_id: None,
            contact_external_id: "x".into(),
            contact_name: "X".into(),
            responsible: None,
            closed,
            messages,
        }
    }

    #[test]
    fn waiting_starts_at_the_first_unanswered_client_message() {
        let m = ManagerId(1);
        let d = dialog(
            vec![
                msg(Author::Client, 1),
                msg(Author::Manager(m), 2),
                msg(Author::Client, 3),
                msg(Author::Client, 4),
            ],
            false,
        );
        let k = d.history_keys().unwrap();
        assert_eq!(k.waiting_since, Some(Timestamp(3)));
        assert_eq!((k.last_seq, k.last_client_seq, k.client_count), (4, 4, 3));
        assert_eq!(k.last_activity_at, Timestamp(4));
        assert_eq!(k.preview, "m4");
    }

    #[test]
    fn an_answer_or_closing_ends_the_wait() {
        let m = ManagerId(1);
        let answered = dialog(
            vec![
                msg(Author::Client, 1),
                msg(Author::Manager(m), 2),
                msg(Author::System, 3),
            ],
            false,
        );
        assert_eq!(answered.history_keys().unwrap().waiting_since, None);
        assert_eq!(answered.history_keys().unwrap().last_client_seq, 1);
        let closed = dialog(vec![msg(Author::Client, 1)], true);
        assert_eq!(closed.history_keys().unwrap().waiting_since, None);
        assert!(dialog(vec![], false).history_keys().is_err());
    }
}
