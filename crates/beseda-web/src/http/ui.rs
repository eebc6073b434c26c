//! The workspace's live fragments (DESIGN.md §3): the page asks for a dialog row, a page of
//! rows, a conversation or one message as HTML from the same auto-escaping templates, whenever
//! a WebSocket event says it changed. The data comes from the same services as the JSON API.

use super::api_inbox::{ListQuery, parse_list};
use super::auth::PageActor;
use super::error::ApiResult;
use super::json::{ApiPath, ApiQuery};
use crate::app::AppState;
use crate::i18n::{Tr, negotiate};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use beseda_core::CoreError;
use beseda_core::attachment::{AttachmentKind, MAX_MESSAGE_BYTES};
use beseda_core::channel::Capabilities;
use beseda_core::dialog::MAX_MESSAGE_CHARS;
use beseda_core::dialog::{
    DeliveryStatus, DialogView, FeedPage, MessageAuthor, MessageView, Responsible, WaitingLevel,
};
use beseda_core::event::DomainEvent;
use beseda_core::ids::{DialogId, ManagerId, MessageId};
use beseda_core::manager::Actor;
use beseda_core::time::Timestamp;
use serde::Deserialize;
use std::collections::HashMap;

/// The manager's language for a fragment: their setting, else the browser's.
pub fn tr_for(actor: &Actor, headers: &HeaderMap) -> Tr {
    Tr(negotiate(
        actor.manager.locale,
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    ))
}

/// Whether an address is a client's photo that Beseda keeps: `/api/v1/clients/<id>/photo`,
/// nothing else of this origin.
fn is_kept_photo(url: &str) -> bool {
    url.strip_prefix("/api/v1/clients/")
        .and_then(|rest| rest.strip_suffix("/photo"))
        .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

/// `HH:MM` (UTC) for the page without script; the script shows local time from `iso`.
pub struct When {
    pub iso: String,
    pub text: String,
}

impl When {
    pub fn of(t: Timestamp) -> When {
        let dt = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.0) * 1_000_000)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        When {
            iso: dt
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            text: format!("{:02}:{:02}", dt.hour(), dt.minute()),
        }
    }
}

/// A row of the list as the template shows it (F12, F13, F03, F18).
pub struct Row {
    pub id: i64,
    pub name: String,
    pub initial: String,
    /// The client's photo (F12), when it is an https:// address the page may load, or the one
    /// Beseda keeps.
    pub photo: Option<String>,
    pub channel_kind: &'static str,
    pub channel_name: String,
    pub preview: String,
    pub draft: bool,
    pub when: When,
    pub unread: i64,
    pub marked_unread: bool,
    pub waiting: &'static str,
    pub pinned: Vec<(String, &'static str)>,
}

impl Row {
    pub fn of(d: &DialogView) -> Row {
        let name = d
            .client
            .as_ref()
            .map(|c| c.name.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| d.contact_name.clone());
        let (preview, draft) = match &d.draft {
            Some(text) => (text.clone(), true),
            None => (d.last_message_preview.clone().unwrap_or_default(), false),
        };
        Row {
            id: d.id.0,
            photo: d
                .photo_url
                .clone()
                .filter(|u| u.starts_with("https://") || is_kept_photo(u)),
            initial: name
                .chars()
                .next()
                .map(|c| c.to_uppercase().collect())
                .unwrap_or_default(),
            name,
            channel_kind: d.channel.kind.as_str(),
            channel_name: d.channel.name.clone(),
            preview,
            draft,
            when: When::of(d.last_activity_at),
            unread: d.unread_messages,
            marked_unread: d.marked_unread,
            waiting: match d.waiting_level {
                WaitingLevel::None => "",
                WaitingLevel::Warning => "warning",
                WaitingLevel::Danger => "danger",
            },
            pinned: d
                .client_tags
                .iter()
                .filter(|t| t.pinned)
                .map(|t| (t.tag.name.clone(), t.tag.color.as_str()))
                .collect(),
        }
    }
}

/// A message of the feed as the template shows it (F17, F31).
pub struct Message {
    pub id: i64,
    pub side: &'static str,
    pub author: String,
    pub body: String,
    pub event: String,
    pub when: When,
    pub status: &'static str,
    pub status_label: String,
    pub failure: String,
    pub quote: String,
    pub files: Vec<(i64, String, bool)>,
    /// A bot's quick replies, as the client sees them (F37).
    pub buttons: Vec<String>,
}

/// The managers and bots a feed's system lines name, by id (disabled ones too: history keeps
/// them).
pub struct Names {
    managers: HashMap<ManagerId, String>,
    bots: HashMap<beseda_core::ids::BotId, String>,
}

impl Names {
    /// The names `feed`'s system lines need: none (and no query) when it has no such line, as
    /// most single-message refreshes do not.
    pub async fn for_feed(
        state: &AppState,
        actor: &Actor,
        feed: &[MessageView],
    ) -> ApiResult<Names> {
        if feed.iter().all(|m| m.event.is_none()) {
            return Ok(Names {
                managers: HashMap::new(),
                bots: HashMap::new(),
            });
        }
        let managers = state.managers.list(actor).await?;
        let bots = state.bots.list().await?;
        Ok(Names {
            managers: managers.into_iter().map(|m| (m.id, m.name)).collect(),
            bots: bots.into_iter().map(|b| (b.id, b.name)).collect(),
        })
    }

    fn manager(&self, id: ManagerId) -> String {
        self.managers
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("#{id}"))
    }

    fn responsible(&self, r: Option<Responsible>, tr: &Tr) -> String {
        match r {
            Some(Responsible::Manager(m)) => self.manager(m),
            Some(Responsible::Bot(b)) => self
                .bots
                .get(&b)
                .cloned()
                .unwrap_or_else(|| tr.t("event-a-bot")),
            None => tr.t("event-nobody"),
        }
    }

    /// A system line's text (F17): what happened, who did it, to whom.
    pub fn line(&self, e: &DomainEvent, tr: &Tr) -> String {
        let by = |who: Responsible| self.responsible(Some(who), tr);
        match e {
            DomainEvent::DialogReopened { by: None } => tr.t("event-dialog_reopened"),
            DomainEvent::DialogReopened { by: Some(m) } => {
                tr.t1("event-dialog_reopened-by", "by", &by(*m))
            }
            DomainEvent::DialogAssigned {
                from,
                to,
                by: m,
                reason,
            } => {
                let line = tr.ta(
                    "event-dialog_assigned",
                    &[
                        ("by", &by(*m)),
                        ("from", &self.responsible(*from, tr)),
                        ("to", &self.responsible(*to, tr)),
                    ],
                );
                // Why the distribution bot moved it (F36).
                match reason {
                    Some(r) => {
                        format!("{line}: {}", tr.t(&format!("assign-reason-{}", r.as_str())))
                    }
                    None => line,
                }
            }
            DomainEvent::DialogClosed { by: m } => tr.t1("event-dialog_closed", "by", &by(*m)),
            DomainEvent::ClientBlocked { by: m } => {
                tr.t1("event-client_blocked", "by", &self.manager(*m))
            }
            DomainEvent::ClientUnblocked { by: m } => {
                tr.t1("event-client_unblocked", "by", &self.manager(*m))
            }
            DomainEvent::ClientDetached { by: m, .. } => {
                tr.t1("event-client_detached", "by", &self.manager(*m))
            }
            DomainEvent::VisitorLeft {} => tr.t("event-visitor_left"),
            DomainEvent::VisitorReturned {} => tr.t("event-visitor_returned"),
            DomainEvent::ClientReacted { emoji, .. } if emoji.is_empty() => {
                tr.t("event-client_unreacted")
            }
            DomainEvent::ClientReacted { emoji, .. } => {
                tr.t1("event-client_reacted", "emoji", emoji)
            }
            other => other.kind(),
        }
    }
}

impl Message {
    pub fn of(m: &MessageView, tr: &Tr, names: &Names) -> Message {
        let (side, author) = match &m.author {
            MessageAuthor::Client => ("client", String::new()),
            MessageAuthor::Manager { name, .. } | MessageAuthor::Bot { name, .. } => {
                ("company", name.clone())
            }
            MessageAuthor::Company => ("company", String::new()),
            MessageAuthor::System => ("event", String::new()),
        };
        let event = m
            .event
            .as_ref()
            .map(|e| names.line(e, tr))
            .unwrap_or_default();
        Message {
            id: m.id.0,
            side,
            author,
            body: m.body.clone(),
            event,
            when: When::of(m.created_at),
            status: m.status.map_or("", DeliveryStatus::as_str),
            status_label: m
                .status
                .map(|s| tr.t(&format!("status-msg-{}", s.as_str())))
                .unwrap_or_default(),
            failure: m.failure_reason.clone().unwrap_or_default(),
            quote: m.quote.as_ref().map(|q| q.body.clone()).unwrap_or_default(),
            files: m
                .attachments
                .iter()
                .map(|a| (a.id.0, a.file_name.clone(), a.preview))
                .collect(),
            buttons: m.buttons.clone(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "ui/rows.html")]
pub struct RowsFragment {
    pub tr: Tr,
    pub rows: Vec<Row>,
    pub next: Option<String>,
    pub query: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "ui/row.html")]
pub struct RowFragment {
    pub tr: Tr,
    pub row: Row,
}

/// What the composer checks before sending (F25–F27, F30); the server checks again.
pub struct ComposerLimits {
    pub max_chars: usize,
    pub max_images: u32,
    pub max_files: u32,
    pub image: u64,
    pub audio: u64,
    pub video: u64,
    pub file: u64,
    pub total: u64,
}

impl ComposerLimits {
    fn of(caps: &Capabilities) -> ComposerLimits {
        ComposerLimits {
            max_chars: MAX_MESSAGE_CHARS.min(caps.text.max_chars as usize),
            max_images: caps.max_images,
            max_files: caps.max_files,
            image: AttachmentKind::Image.limit(caps),
            audio: AttachmentKind::Audio.limit(caps),
            video: AttachmentKind::Video.limit(caps),
            file: AttachmentKind::File.limit(caps),
            total: MAX_MESSAGE_BYTES,
        }
    }
}

/// The emoji picker's choice (F28): pictures every system draws.
const EMOJI: &[&str] = &[
    "😀", "😂", "😊", "😍", "😉", "😎", "🤔", "😅", "🙂", "🙃", "😢", "😡", "👍", "👎", "👌", "🙏",
    "👏", "💪", "🤝", "👋", "❤️", "🔥", "⭐", "🎉", "🎁", "✅", "❌", "⚠️", "📦", "🚚", "💳", "📞",
];

#[derive(Template, WebTemplate)]
#[template(path = "ui/conversation.html")]
pub struct ConversationFragment {
    pub tr: Tr,
    pub id: i64,
    pub row: Row,
    pub messages: Vec<Message>,
    pub has_older: bool,
    pub oldest: i64,
    /// Why the composer is not offered: a blocked client (F10) or someone else's dialog (F29).
    pub blocked: bool,
    pub not_yours: bool,
    pub open: bool,
    /// The client's id, 0 when the dialog has none (detached, F14).
    pub client: i64,
    /// Who holds it, as the reassign list names them: `manager:5`, `bot:2`, or empty.
    pub responsible: String,
    /// Whom to reassign to (F07): active managers (online ones marked) and bots, as
    /// `manager:<id>` / `bot:<id>` and a label.
    pub holders: Vec<(String, String)>,
    pub draft: String,
    pub quotable: bool,
    pub limits: ComposerLimits,
    pub emoji: &'static [&'static str],
    /// The messenger's window for writing to the client (Meta's 24 hours): when it closes
    /// (`YYYY-MM-DD HH:MM UTC`), and whether it has.
    pub window_closes: Option<String>,
    pub window_closed: bool,
    /// The messenger's approved templates may be sent (WhatsApp).
    pub templates: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "ui/message.html")]
pub struct MessageFragment {
    pub tr: Tr,
    pub m: Message,
    pub quotable: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "ui/messages.html")]
pub struct MessagesFragment {
    pub tr: Tr,
    pub messages: Vec<Message>,
    pub has_older: bool,
    pub oldest: i64,
    pub quotable: bool,
}

/// Messages per feed page; a full page shows the marker that loads older messages.
const FEED_PAGE: u32 = 50;

/// A feed page as the templates show it, and the oldest message's id (where older ones start).
fn feed_part(feed: &[MessageView], tr: &Tr, names: &Names) -> (Vec<Message>, i64) {
    let oldest = feed.first().map_or(0, |m| m.id.0);
    let messages = feed.iter().map(|m| Message::of(m, tr, names)).collect();
    (messages, oldest)
}

/// GET /ui/dialogs: a page of rows for the list, with the same parameters as the API.
pub async fn rows(
    State(state): State<AppState>,
    page: PageActor,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<RowsFragment> {
    let (filter, sort, cursor, limit, query) = parse_list(q)?;
    let list = state
        .inbox
        .list(&page.actor, filter, sort, cursor.as_deref(), limit)
        .await?;
    Ok(RowsFragment {
        tr: tr_for(&page.actor, &headers),
        rows: list.dialogs.iter().map(Row::of).collect(),
        next: list.next,
        query,
    })
}

/// GET /ui/dialogs/{id}/row: one row, after an event changed it.
pub async fn row(
    State(state): State<AppState>,
    page: PageActor,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<RowFragment> {
    let d = state.dialogs.view(&page.actor, DialogId(id)).await?;
    Ok(RowFragment {
        tr: tr_for(&page.actor, &headers),
        row: Row::of(&d),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenAt {
    /// A search hit to show (F06).
    around: Option<i64>,
    /// The start of the date filter's period (F23), epoch ms.
    since: Option<i64>,
}

/// GET /ui/dialogs/{id}: the conversation: its header with the actions, the latest messages
/// (or those around a search hit, or from a date), the composer.
pub async fn conversation(
    State(state): State<AppState>,
    page: PageActor,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(at): ApiQuery<OpenAt>,
) -> ApiResult<ConversationFragment> {
    let tr = tr_for(&page.actor, &headers);
    let actor = &page.actor;
    let d = state.dialogs.view(actor, DialogId(id)).await?;
    let which = match (at.around, at.since) {
        (Some(m), _) => FeedPage::Around(MessageId(m)),
        (None, Some(t)) => FeedPage::Since(Timestamp(t)),
        (None, None) => FeedPage::Latest,
    };
    let feed = state
        .dialogs
        .feed(actor, DialogId(id), which, FEED_PAGE)
        .await?;
    let caps = state.attachments.dialog_limits(actor, DialogId(id)).await?;
    let mine = d.responsible == Some(Responsible::Manager(actor.id()));
    let all = state.managers.list(actor).await?;
    let bots = state.bots.list().await?;
    let holders = all
        .iter()
        .filter(|m| !m.disabled)
        .map(|m| {
            let online = if m.online { " ●" } else { "" };
            (format!("manager:{}", m.id.0), format!("{}{online}", m.name))
        })
        .chain(bots.iter().filter(|b| b.active).map(|b| {
            (
                format!("bot:{}", b.id.0),
                tr.t1("assign-bot", "name", &b.name),
            )
        }))
        .collect();
    let names = Names {
        managers: all.into_iter().map(|m| (m.id, m.name)).collect(),
        bots: bots.into_iter().map(|b| (b.id, b.name)).collect(),
    };
    // Around a hit or from a date there may be older messages even on a short page.
    let has_older = feed.len() >= FEED_PAGE as usize || at.around.is_some() || at.since.is_some();
    let (messages, oldest) = feed_part(&feed, &tr, &names);
    Ok(ConversationFragment {
        id,
        row: Row::of(&d),
        messages,
        has_older,
        oldest,
        blocked: d.client_blocked,
        not_yours: !mine && d.responsible.is_some() && !actor.permissions.chats_admin,
        open: d.open,
        client: d.client.as_ref().map_or(0, |c| c.id.0),
        responsible: match d.responsible {
            Some(Responsible::Manager(m)) => format!("manager:{}", m.0),
            Some(Responsible::Bot(b)) => format!("bot:{}", b.0),
            None => String::new(),
        },
        holders,
        draft: d.draft.clone().unwrap_or_default(),
        quotable: caps.text.quote,
        limits: ComposerLimits::of(&caps),
        emoji: EMOJI,
        window_closes: d
            .reply_window_closes_at
            .map(super::settings_page::date_time),
        window_closed: d
            .reply_window_closes_at
            .is_some_and(|at| at <= state.clock.now()),
        templates: caps.templates,
        tr,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Before {
    before: i64,
}

/// GET /ui/dialogs/{id}/older?before=: the page of messages before one, as the feed scrolls up.
pub async fn older(
    State(state): State<AppState>,
    page: PageActor,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<Before>,
) -> ApiResult<MessagesFragment> {
    let tr = tr_for(&page.actor, &headers);
    let feed = state
        .dialogs
        .feed(
            &page.actor,
            DialogId(id),
            FeedPage::Before(MessageId(q.before)),
            FEED_PAGE,
        )
        .await?;
    let caps = state
        .attachments
        .dialog_limits(&page.actor, DialogId(id))
        .await?;
    let has_older = feed.len() >= FEED_PAGE as usize;
    let names = Names::for_feed(&state, &page.actor, &feed).await?;
    let (messages, oldest) = feed_part(&feed, &tr, &names);
    Ok(MessagesFragment {
        tr,
        messages,
        has_older,
        oldest,
        quotable: caps.text.quote,
    })
}

/// GET /ui/dialogs/{id}/messages/{message_id}: one message, after an event changed it.
pub async fn message(
    State(state): State<AppState>,
    page: PageActor,
    headers: HeaderMap,
    ApiPath((id, message)): ApiPath<(i64, i64)>,
) -> ApiResult<MessageFragment> {
    let tr = tr_for(&page.actor, &headers);
    let found = state
        .dialogs
        .feed(
            &page.actor,
            DialogId(id),
            FeedPage::Around(MessageId(message)),
            2,
        )
        .await?
        .into_iter()
        .find(|m| m.id.0 == message)
        .ok_or(CoreError::NotFound("message"))?;
    let caps = state
        .attachments
        .dialog_limits(&page.actor, DialogId(id))
        .await?;
    let names = Names::for_feed(&state, &page.actor, std::slice::from_ref(&found)).await?;
    Ok(MessageFragment {
        m: Message::of(&found, &tr, &names),
        tr,
        quotable: caps.text.quote,
    })
}

#[cfg(test)]
mod tests {
    use super::is_kept_photo;

    #[test]
    fn only_a_clients_kept_photo_of_this_origin_is_shown() {
        assert!(is_kept_photo("/api/v1/clients/42/photo"));
        assert!(!is_kept_photo("/api/v1/clients//photo"));
        assert!(!is_kept_photo("/api/v1/clients/42/../../auth/logout/photo"));
        assert!(!is_kept_photo("/api/v1/auth/logout"));
    }
}
