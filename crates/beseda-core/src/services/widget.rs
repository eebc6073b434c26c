//! The website widget's rules (F39): administrators set widgets up; visitors start a session
//! with the public key alone, then write, read and follow their one dialog with the token they
//! got. A visitor reaches nothing but their own dialog.

use super::attachments::check_unsent;
use super::dialogs::DialogService;
use crate::channel::Capabilities;
use crate::dialog::{ContactDetails, FeedPage, InboundMessage, Ingested, counted_chars};
use crate::error::{CoreError, CoreResult};
use crate::event::{DomainEvent, Event, EventBus, EventId};
use crate::ids::{AttachmentId, ChannelId, DialogId, MessageId};
use crate::manager::Actor;
use crate::secret::{Token, TokenHasher, random_hex};
use crate::store::Store;
use crate::time::Clock;
use crate::values::{DisplayName, Email, max_bytes, within_bytes};
use crate::widget::{
    FieldRule, Visitor, VisitorMessage, WidgetChannel, WidgetConfig, WidgetLimits, WidgetSettings,
    signed_visitor_id, verify_identity, visitor_message_external_id,
};
use serde::Serialize;
use std::sync::Arc;

const VISITOR_TOKEN_PREFIX: &str = "bv_";
/// How many of a dialog's events one replay returns before the widget must reload.
pub const VISITOR_REPLAY_LIMIT: u32 = 200;
/// How many messages one page of a visitor's history holds at most.
pub const VISITOR_PAGE: u32 = 100;

/// A widget channel as an administrator writes it.
pub struct WidgetSetup {
    pub name: String,
    pub active: bool,
    pub settings: WidgetSettings,
}

/// A site's customer as its backend vouches for them.
pub struct SignedUser {
    pub id: String,
    pub signature: String,
}

/// The page a visitor writes from (F04).
#[derive(Default)]
pub struct PageInfo {
    pub url: Option<String>,
    pub referrer: Option<String>,
}

/// What the pre-chat form asked.
#[derive(Default)]
pub struct PrechatFields {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// A visitor's message.
pub struct VisitorSend {
    /// The widget's own id of the message: a retry with the same id changes nothing.
    pub client_id: String,
    pub text: String,
    pub attachments: Vec<AttachmentId>,
    pub page: PageInfo,
    pub fields: PrechatFields,
}

/// A visitor in a request: their channel and who they are.
#[derive(Clone)]
pub struct VisitorContext {
    pub widget: WidgetChannel,
    pub capabilities: Capabilities,
    pub visitor: Visitor,
    /// Signed in by the site (a signed identity), not anonymous.
    pub signed: bool,
}

/// One frame of a visitor's live stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct VisitorFrame {
    /// The event's position: resume after the last one seen.
    pub id: Option<EventId>,
    #[serde(flatten)]
    pub event: VisitorEvent,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VisitorEvent {
    /// The socket took the token; live frames follow.
    Ready {},
    /// A new or changed message: replace the one with the same id.
    Message { message: VisitorMessage },
    /// The company has read the visitor's messages up to this one.
    Read { up_to: MessageId },
    /// More was missed than a replay holds: load the history again.
    Resync {},
}

/// A page of a visitor's history.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct VisitorHistory {
    /// Oldest first.
    pub messages: Vec<VisitorMessage>,
    /// Live frames after this id complete the picture.
    pub last_event_id: EventId,
}

pub struct WidgetService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    bus: Arc<dyn EventBus>,
    hasher: TokenHasher,
    dialogs: Arc<DialogService>,
}

/// A pre-chat field as the form asked for it: required ones must be there, and an email or
/// phone must look like one.
fn field(
    name: &str,
    rule: FieldRule,
    value: Option<String>,
    first: bool,
) -> CoreResult<Option<String>> {
    let value = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    if rule == FieldRule::Off {
        return Ok(None);
    }
    if first && rule == FieldRule::Required && value.is_none() {
        return Err(CoreError::invalid(
            format!("fields.{name}"),
            "this widget asks for it",
        ));
    }
    if let Some(v) = &value {
        within_bytes(&format!("fields.{name}"), v, max_bytes::NAME)?;
        let ok = match name {
            "email" => Email::parse(v).is_ok(),
            "phone" => v.chars().filter(char::is_ascii_digit).count() >= 5,
            _ => true,
        };
        if !ok {
            return Err(CoreError::invalid(
                format!("fields.{name}"),
                format!("not a valid {name}"),
            ));
        }
    }
    Ok(value)
}

/// The `utm_*` parameters of a page address, as a JSON object (F04).
fn utm_of(url: &str) -> Option<String> {
    let query = url.split_once('?')?.1.split('#').next()?;
    let tags: serde_json::Map<String, serde_json::Value> = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(k, _)| k.starts_with("utm_") && k.len() <= 32)
        .map(|(k, v)| (k.to_owned(), serde_json::Value::String(v.to_owned())))
        .collect();
    (!tags.is_empty()).then(|| serde_json::Value::Object(tags).to_string())
}

fn page_url(field: &str, raw: Option<String>) -> CoreResult<Option<String>> {
    match raw.filter(|u| !u.is_empty()) {
        Some(u) if u.starts_with("https://") || u.starts_with("http://") => {
            within_bytes(field, &u, max_bytes::URL)?;
            Ok(Some(u))
        }
        Some(_) => Err(CoreError::invalid(field, "an http:// or https:// address")),
        None => Ok(None),
    }
}

impl WidgetService {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        bus: Arc<dyn EventBus>,
        hasher: TokenHasher,
        dialogs: Arc<DialogService>,
    ) -> Self {
        WidgetService {
            store,
            clock,
            bus,
            hasher,
            dialogs,
        }
    }

    fn checked(setup: WidgetSetup) -> CoreResult<(String, bool, WidgetSettings)> {
        let name = DisplayName::parse("name", &setup.name)?.as_str().to_owned();
        Ok((name, setup.active, setup.settings.parse()?))
    }

    /// Sets up a new widget (needs "manage settings").
    pub async fn create(&self, actor: &Actor, setup: WidgetSetup) -> CoreResult<WidgetChannel> {
        actor.require_settings()?;
        self.create_own(setup).await
    }

    /// Sets up a widget for the server itself (the demo's), with no administrator behind it.
    pub async fn create_own(&self, setup: WidgetSetup) -> CoreResult<WidgetChannel> {
        let (name, active, settings) = Self::checked(setup)?;
        let key = format!("wk_{}", random_hex(12));
        let w = self
            .store
            .create_widget(&name, &key, &random_hex(32), &settings, self.clock.now())
            .await?;
        if active {
            Ok(w)
        } else {
            self.store
                .update_widget(w.channel_id, &name, false, &settings, self.clock.now())
                .await
        }
    }

    pub async fn update(
        &self,
        actor: &Actor,
        id: ChannelId,
        setup: WidgetSetup,
    ) -> CoreResult<WidgetChannel> {
        actor.require_settings()?;
        let (name, active, settings) = Self::checked(setup)?;
        self.store
            .update_widget(id, &name, active, &settings, self.clock.now())
            .await
    }

    pub async fn list(&self, actor: &Actor) -> CoreResult<Vec<WidgetChannel>> {
        actor.require_settings()?;
        self.store.widgets().await
    }

    /// The active widget behind a public key; an unknown or disabled one is "not found".
    pub async fn by_key(&self, key: &str) -> CoreResult<(WidgetChannel, Capabilities)> {
        if key.len() > 64 {
            return Err(CoreError::NotFound("channel"));
        }
        match self.store.widget_by_key(key).await? {
            Some((w, caps)) if w.active => Ok((w, caps)),
            _ => Err(CoreError::NotFound("channel")),
        }
    }

    /// What a visitor's widget shows before anyone writes.
    pub fn config(&self, w: &WidgetChannel, caps: &Capabilities) -> WidgetConfig {
        let s = &w.settings;
        let a = caps.attachments;
        WidgetConfig {
            title: s.title.clone(),
            avatar_url: s.avatar_url.clone(),
            color: s.color.clone(),
            position: s.position,
            greeting: s.greeting.clone(),
            languages: s.languages.clone(),
            online: s.hours.as_ref().is_none_or(|h| h.open_at(self.clock.now())),
            away_text: s.away_text.clone(),
            prechat: s.prechat,
            limits: WidgetLimits {
                max_chars: caps.text.max_chars,
                max_file_bytes: [a.image, a.audio, a.video, a.file]
                    .into_iter()
                    .flatten()
                    .max(),
            },
        }
    }

    /// Starts a visitor session or resumes the one a token names. A signed customer always
    /// comes back as the same visitor, on any device; a token of another visitor or channel
    /// starts a new session, if `may_start` lets it (the per-address limit: a made-up token
    /// must not make sessions for free). Returns the token to keep and whether the visitor has
    /// a dialog.
    pub async fn start_session(
        &self,
        key: &str,
        token: Option<&str>,
        user: Option<SignedUser>,
        may_start: &(dyn Fn() -> CoreResult<()> + Sync),
    ) -> CoreResult<(Token, bool)> {
        let (w, _) = self.by_key(key).await?;
        let signed = match &user {
            Some(u) => {
                let ok = !u.id.is_empty()
                    && u.id.len() <= 200
                    && verify_identity(&w.identity_secret, &u.id, &u.signature);
                if !ok {
                    return Err(CoreError::Unprocessable {
                        code: "identity_invalid",
                        message: "the customer's signature does not match".into(),
                    });
                }
                Some(signed_visitor_id(&u.id))
            }
            None => None,
        };
        if let Some(raw) = token.filter(|t| t.starts_with(VISITOR_TOKEN_PREFIX)) {
            let token = Token::from_client(raw);
            let known = self
                .store
                .visitor_by_token(w.channel_id, &self.hasher.hash(&token))
                .await?;
            if let Some(v) = known
                && signed.as_ref().is_none_or(|s| *s == v.external_id)
            {
                let has_dialog = self.store.visitor_dialog(&v).await?.is_some();
                return Ok((token, has_dialog));
            }
        }
        may_start()?;
        let external_id = signed.unwrap_or_else(|| format!("v_{}", random_hex(12)));
        let token = Token::generate(VISITOR_TOKEN_PREFIX);
        let session = self
            .store
            .create_visitor(
                w.channel_id,
                &self.hasher.hash(&token),
                &external_id,
                self.clock.now(),
            )
            .await?;
        let visitor = Visitor {
            channel_id: w.channel_id,
            external_id,
            session,
        };
        let has_dialog = self.store.visitor_dialog(&visitor).await?.is_some();
        Ok((token, has_dialog))
    }

    /// Forgets the sessions of visitors who never wrote and came more than `age` ago: every
    /// page view of every site makes one, and nothing else would ever end them.
    pub async fn forget_quiet_visitors(&self, age: std::time::Duration) -> CoreResult<u64> {
        self.store
            .forget_quiet_visitors(self.clock.now().minus(age))
            .await
    }

    /// The visitor a token names on the widget of `key`.
    pub async fn visitor(&self, key: &str, token: &str) -> CoreResult<VisitorContext> {
        let (widget, capabilities) = self.by_key(key).await?;
        self.visitor_on(widget, capabilities, token).await
    }

    /// The visitor a token names on a widget already found (by the origin check).
    pub async fn visitor_on(
        &self,
        widget: WidgetChannel,
        capabilities: Capabilities,
        token: &str,
    ) -> CoreResult<VisitorContext> {
        if token.is_empty() {
            return Err(CoreError::Unauthenticated);
        }
        let token = Token::from_client(token);
        let visitor = self
            .store
            .visitor_by_token(widget.channel_id, &self.hasher.hash(&token))
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        let signed = visitor.external_id.starts_with("user:");
        Ok(VisitorContext {
            widget,
            capabilities,
            visitor,
            signed,
        })
    }

    /// A visitor's message: idempotent by the widget's id. The first one writes where the
    /// visitor came from and what the form asked into the new client card (F04). Returns the
    /// message, whether it is new, and the visitor's dialog.
    pub async fn send(
        &self,
        ctx: &VisitorContext,
        m: VisitorSend,
    ) -> CoreResult<(VisitorMessage, bool, DialogId)> {
        let id_ok = !m.client_id.is_empty()
            && m.client_id.len() <= 64
            && m.client_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !id_ok {
            return Err(CoreError::invalid(
                "client_id",
                "1 to 64 letters, digits, - or _",
            ));
        }
        within_bytes("text", &m.text, max_bytes::CLIENT_TEXT)?;
        let count = counted_chars(&m.text);
        let limit = ctx.capabilities.text.max_chars as usize;
        if count > limit {
            return Err(CoreError::MessageTooLong { count, limit });
        }
        if count == 0 && m.attachments.is_empty() {
            return Err(CoreError::invalid("text", "must not be empty"));
        }
        let uploader = crate::attachment::Uploader::Visitor {
            channel: ctx.widget.channel_id,
            session: ctx.visitor.session,
        };
        check_unsent(
            self.store.as_ref(),
            &ctx.capabilities,
            &m.attachments,
            uploader,
        )
        .await?;
        let first = self.store.visitor_dialog(&ctx.visitor).await?.is_none();
        let rules = ctx.widget.settings.prechat;
        let name = field("name", rules.name, m.fields.name, first)?;
        let phone = field("phone", rules.phone, m.fields.phone, first)?;
        let email = field("email", rules.email, m.fields.email, first)?;
        let url = page_url("page.url", m.page.url)?;
        let referrer = page_url("page.referrer", m.page.referrer)?;
        let short = ctx
            .visitor
            .external_id
            .chars()
            .rev()
            .take(4)
            .collect::<String>();
        let contact_name = name.unwrap_or_else(|| format!("Visitor {short}"));
        let inbound = InboundMessage {
            channel_id: ctx.widget.channel_id,
            contact_external_id: ctx.visitor.external_id.clone(),
            contact_name,
            external_id: visitor_message_external_id(&ctx.visitor, &m.client_id),
            body: m.text,
            sent_at: self.clock.now(),
            attachments: m.attachments,
            quote_external_id: None,
            details: ContactDetails {
                phone,
                email,
                utm: url.as_deref().and_then(utm_of),
                page: url,
                referrer,
                self_declared: !ctx.signed,
                ..ContactDetails::default()
            },
        };
        let (dialog, message, created) = match self.dialogs.receive(inbound).await? {
            Ingested::Accepted {
                dialog_id,
                message_id,
            } => (dialog_id, message_id, true),
            Ingested::Duplicate {
                dialog_id,
                message_id,
            } => (dialog_id, message_id, false),
            Ingested::Refused => return Err(CoreError::ClientBlocked),
        };
        let view = self
            .store
            .dialog_message(dialog, message)
            .await?
            .ok_or(CoreError::NotFound("message"))?;
        let read = self.store.client_read_up_to(dialog).await?;
        let shown =
            VisitorMessage::from_view(&view, &ctx.visitor, read, &ctx.widget.settings.title)
                .ok_or(CoreError::NotFound("message"))?;
        Ok((shown, created, dialog))
    }

    /// A page of the visitor's conversation, oldest first, and where live frames resume.
    pub async fn history(
        &self,
        ctx: &VisitorContext,
        before: Option<MessageId>,
        limit: u32,
    ) -> CoreResult<VisitorHistory> {
        // Taken first: whatever happens while the page is read comes again as a live frame.
        let last_event_id = self.store.newest_event_id().await?;
        let Some(dialog) = self.store.visitor_dialog(&ctx.visitor).await? else {
            return Ok(VisitorHistory {
                messages: Vec::new(),
                last_event_id,
            });
        };
        let page = before.map_or(FeedPage::Latest, FeedPage::Before);
        let feed = self
            .store
            .feed(dialog, page, limit.clamp(1, VISITOR_PAGE))
            .await?;
        let read = self.store.client_read_up_to(dialog).await?;
        let title = &ctx.widget.settings.title;
        Ok(VisitorHistory {
            messages: feed
                .iter()
                .filter_map(|m| VisitorMessage::from_view(m, &ctx.visitor, read, title))
                .collect(),
            last_event_id,
        })
    }

    /// The visitor has seen the company's messages up to `up_to`: they become `read` (F31).
    pub async fn read(&self, ctx: &VisitorContext, up_to: MessageId) -> CoreResult<()> {
        let dialog = self.store.visitor_dialog(&ctx.visitor).await?;
        if dialog.is_none() || self.store.message_dialog(up_to).await? != dialog {
            return Err(CoreError::NotFound("message"));
        }
        let written = self
            .store
            .read_up_to(
                ctx.widget.channel_id,
                &crate::transport::MessageRef::Ours(up_to),
                self.clock.now(),
            )
            .await?;
        self.bus.publish(&written.events);
        Ok(())
    }

    /// The visitor's dialog, once they wrote.
    pub async fn dialog_of(&self, visitor: &Visitor) -> CoreResult<Option<DialogId>> {
        self.store.visitor_dialog(visitor).await
    }

    /// What the visitor missed since `after`; `None` when more than a replay holds.
    pub async fn missed(
        &self,
        ctx: &VisitorContext,
        dialog: DialogId,
        after: EventId,
    ) -> CoreResult<Option<Vec<VisitorFrame>>> {
        match self
            .store
            .dialog_events_after(dialog, after, VISITOR_REPLAY_LIMIT + 1)
            .await?
        {
            Some(events) if events.len() <= VISITOR_REPLAY_LIMIT as usize => {
                self.frames(ctx, &events).await.map(Some)
            }
            _ => Ok(None),
        }
    }

    /// The frames a visitor sees of their dialog's events: the messages of both sides and the
    /// company's reading, never the company's own workings.
    pub async fn frames(
        &self,
        ctx: &VisitorContext,
        events: &[Event],
    ) -> CoreResult<Vec<VisitorFrame>> {
        let mut frames = Vec::new();
        let mut read = None;
        for e in events {
            let event = match &e.event {
                DomainEvent::MessageNew(c)
                | DomainEvent::MessageEdited(c)
                | DomainEvent::MessageDeleted(c) => {
                    let read = match read {
                        Some(r) => r,
                        None => *read.insert(self.store.client_read_up_to(c.dialog.id).await?),
                    };
                    let title = &ctx.widget.settings.title;
                    match VisitorMessage::from_view(&c.message, &ctx.visitor, read, title) {
                        Some(message) => VisitorEvent::Message { message },
                        None => continue,
                    }
                }
                DomainEvent::DialogRead { .. } => {
                    let Some(dialog) = e.dialog_id else { continue };
                    let now = self.store.client_read_up_to(dialog).await?;
                    read = Some(now);
                    match now {
                        Some(up_to) => VisitorEvent::Read { up_to },
                        None => continue,
                    }
                }
                _ => continue,
            };
            frames.push(VisitorFrame {
                id: Some(e.id),
                event,
            });
        }
        Ok(frames)
    }

    /// The visitor left the site (`here` false) or is back: their dialog's feed says so.
    pub async fn presence(&self, visitor: &Visitor, here: bool) -> CoreResult<()> {
        let written = self
            .store
            .set_visitor_presence(visitor, here, self.clock.now())
            .await?;
        self.bus.publish(&written.events);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f04_utm_tags_come_from_the_page_address() {
        let u = utm_of("https://shop.example/sofa?utm_source=ya&x=1&utm_campaign=winter#top");
        let v: serde_json::Value = serde_json::from_str(&u.unwrap()).unwrap();
        assert_eq!(v["utm_source"], "ya");
        assert_eq!(v["utm_campaign"], "winter");
        assert!(v.get("x").is_none());
        assert_eq!(utm_of("https://shop.example/"), None);
    }

    #[test]
    fn f39_the_prechat_form_is_checked_on_the_first_message() {
        assert!(field("email", FieldRule::Required, None, true).is_err());
        assert!(field("email", FieldRule::Required, None, false).is_ok());
        assert!(field("email", FieldRule::Optional, Some("nope".into()), true).is_err());
        assert!(field("phone", FieldRule::Optional, Some("12".into()), true).is_err());
        assert_eq!(
            field("name", FieldRule::Off, Some("Anna".into()), true).unwrap(),
            None
        );
    }
}
