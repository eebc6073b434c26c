//! Bots (F37): administrators register them and hand out their tokens; a bot, with its token,
//! reads the dialogs it may see and acts on those it holds: writes, hands them on, closes
//! them, tags their clients. Every write goes through the same store rules as a manager's.

use super::attachments::check_unsent;
use crate::attachment::{StoredAttachment, Uploader};
use crate::bot::{Bot, BotChange, NewBot};
use crate::channel::Capabilities;
use crate::dialog::{DialogView, FeedPage, MessageView, OutgoingMessage, Responsible, Viewer};
use crate::error::{CoreError, CoreResult};
use crate::event::{EventBus, EventId};
use crate::ids::{AttachmentId, BotId, ChannelId, DialogId, ManagerId, TagId};
use crate::library::{ClientCard, ClientTag};
use crate::manager::Actor;
use crate::secret::{Token, TokenHasher};
use crate::store::{BotEvents, DialogAccess, Guard, Store, Written};
use crate::time::Clock;
use crate::values::DisplayName;
use std::sync::Arc;

const BOT_TOKEN_PREFIX: &str = "bb_";
/// How many events one poll returns at most.
pub const MAX_EVENTS: u32 = 500;

/// A bot as an administrator describes it.
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BotSpec {
    pub name: Option<String>,
    /// An https:// picture; `null` removes it.
    #[serde(default, deserialize_with = "crate::values::present")]
    #[schema(value_type = Option<String>)]
    pub avatar_url: Option<Option<String>>,
    /// The channels whose unassigned dialogs it sees.
    pub channels: Option<Vec<ChannelId>>,
    /// Where its events are POSTed, signed; `null` for none (it reads them by WebSocket or
    /// polling).
    #[serde(default, deserialize_with = "crate::values::present")]
    #[schema(value_type = Option<String>)]
    pub webhook_url: Option<Option<String>>,
    pub active: Option<bool>,
}

/// A bot's secrets, shown once.
pub struct BotSecrets {
    pub bot: Bot,
    /// Sent by the bot as `X-Bot-Token`.
    pub token: Token,
    /// Signs the events POSTed to its webhook.
    pub webhook_secret: String,
}

/// What a bot writes to a client.
#[derive(Clone, Debug, Default)]
pub struct BotReply {
    pub body: String,
    /// The bot's own unsent uploads into the dialog.
    pub attachments: Vec<AttachmentId>,
    /// Quick-reply labels.
    pub buttons: Vec<String>,
}

/// Whom a bot hands a dialog to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum HandTo {
    Manager(ManagerId),
    Bot(BotId),
    /// The group's present member whose turn it is (F36's round robin).
    Group(crate::ids::GroupId),
}

fn web_url(field: &str, raw: &str) -> CoreResult<String> {
    let ok = (raw.starts_with("https://") || raw.starts_with("http://"))
        && raw.len() <= 2000
        && !raw.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(CoreError::invalid(
            field,
            "must be an http:// or https:// address",
        ))
    }
}

fn checked(spec: &BotSpec) -> CoreResult<BotChange> {
    Ok(BotChange {
        name: spec
            .name
            .as_deref()
            .map(|n| DisplayName::parse("name", n).map(|n| n.as_str().to_owned()))
            .transpose()?,
        avatar_url: match &spec.avatar_url {
            Some(Some(u)) if !u.starts_with("https://") => {
                return Err(CoreError::invalid(
                    "avatar_url",
                    "must be an https:// address",
                ));
            }
            Some(Some(u)) => Some(Some(web_url("avatar_url", u)?)),
            Some(None) => Some(None),
            None => None,
        },
        channels: spec.channels.clone(),
        webhook_url: match &spec.webhook_url {
            Some(Some(u)) => Some(Some(web_url("webhook_url", u)?)),
            Some(None) => Some(None),
            None => None,
        },
        active: spec.active,
    })
}

pub struct BotService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    bus: Arc<dyn EventBus>,
    hasher: TokenHasher,
    /// A manager whose socket answered within this is connected (F36).
    presence: std::time::Duration,
}

/// A bot reads what it may see as someone who sees every dialog and has no read state or
/// draft of their own (no manager has id 0).
const BOT_READER: Viewer = Viewer {
    manager: ManagerId(0),
    sees_all: true,
};

impl BotService {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        bus: Arc<dyn EventBus>,
        hasher: TokenHasher,
        presence: std::time::Duration,
    ) -> Self {
        BotService {
            store,
            clock,
            bus,
            hasher,
            presence,
        }
    }

    fn publish<T>(&self, written: Written<T>) -> T {
        self.bus.publish(&written.events);
        written.value
    }

    /// Registers a bot (needs "manage settings"): its token and webhook secret come once.
    pub async fn create(&self, actor: &Actor, spec: &BotSpec) -> CoreResult<BotSecrets> {
        actor.require_settings()?;
        let c = checked(spec)?;
        let name = c
            .name
            .ok_or_else(|| CoreError::invalid("name", "must not be empty"))?;
        let token = Token::generate(BOT_TOKEN_PREFIX);
        let webhook_secret = crate::secret::random_password() + &crate::secret::random_password();
        let bot = self
            .store
            .create_bot(&NewBot {
                name,
                avatar_url: c.avatar_url.flatten(),
                channels: c.channels.unwrap_or_default(),
                webhook_url: c.webhook_url.flatten(),
                token_hash: self.hasher.hash(&token),
                webhook_secret: webhook_secret.clone(),
                created_at: self.clock.now(),
            })
            .await?;
        Ok(BotSecrets {
            bot,
            token,
            webhook_secret,
        })
    }

    /// Every bot, for the settings and the bot filter (F22).
    pub async fn list(&self) -> CoreResult<Vec<Bot>> {
        self.store.bots().await
    }

    pub async fn update(&self, actor: &Actor, id: BotId, spec: &BotSpec) -> CoreResult<Bot> {
        actor.require_settings()?;
        let c = checked(spec)?;
        self.store.update_bot(id, &c).await
    }

    /// A new token and webhook secret; the old ones stop working at once.
    pub async fn renew(&self, actor: &Actor, id: BotId) -> CoreResult<BotSecrets> {
        actor.require_settings()?;
        let token = Token::generate(BOT_TOKEN_PREFIX);
        let webhook_secret = crate::secret::random_password() + &crate::secret::random_password();
        let bot = self
            .store
            .renew_bot(id, &self.hasher.hash(&token), &webhook_secret)
            .await?;
        Ok(BotSecrets {
            bot,
            token,
            webhook_secret,
        })
    }

    /// The active bot behind an `X-Bot-Token`.
    pub async fn authenticate(&self, token: &Token) -> CoreResult<Bot> {
        self.store
            .bot_by_token(&self.hasher.hash(token))
            .await?
            .ok_or(CoreError::Unauthenticated)
    }

    /// The dialog, if the bot may see it; otherwise "not found".
    async fn seen(&self, bot: &Bot, id: DialogId) -> CoreResult<DialogAccess> {
        match self.store.dialog_access(id).await? {
            Some(d) if bot.scope().may_see(d.responsible, d.channel_id) => Ok(d),
            _ => Err(CoreError::NotFound("dialog")),
        }
    }

    /// The limits files uploaded into a dialog the bot holds must keep: its channel's.
    pub async fn upload_limits(&self, bot: &Bot, id: DialogId) -> CoreResult<Capabilities> {
        Ok(self.held(bot, id).await?.capabilities)
    }

    /// A file the bot may download: one sent in a dialog it sees, or its own unsent upload.
    /// Anything else is "not found", so its existence is not revealed.
    pub async fn attachment(&self, bot: &Bot, id: AttachmentId) -> CoreResult<StoredAttachment> {
        let a = self
            .store
            .attachment(id)
            .await?
            .ok_or(CoreError::NotFound("attachment"))?;
        let visible = match (a.view.message_id, a.dialog_id) {
            (None, _) => a.uploaded_by == Some(Responsible::Bot(bot.id)),
            (Some(_), Some(dialog)) => self.seen(bot, dialog).await.is_ok(),
            (Some(_), None) => false,
        };
        if visible {
            Ok(a)
        } else {
            Err(CoreError::NotFound("attachment"))
        }
    }

    /// The dialog, if the bot holds it; one it does not is refused (`dialog_not_yours`).
    async fn held(&self, bot: &Bot, id: DialogId) -> CoreResult<DialogAccess> {
        let d = self
            .store
            .dialog_access(id)
            .await?
            .ok_or(CoreError::NotFound("dialog"))?;
        if d.responsible == Some(Responsible::Bot(bot.id)) {
            Ok(d)
        } else {
            Err(CoreError::DialogNotYours)
        }
    }

    /// A dialog it sees, and what its channel can carry.
    pub async fn dialog(&self, bot: &Bot, id: DialogId) -> CoreResult<(DialogView, Capabilities)> {
        let access = self.seen(bot, id).await?;
        let view = self
            .store
            .dialog_view(id, BOT_READER, self.clock.now())
            .await?
            .ok_or(CoreError::NotFound("dialog"))?;
        Ok((view, access.capabilities))
    }

    pub async fn feed(
        &self,
        bot: &Bot,
        id: DialogId,
        page: FeedPage,
        limit: u32,
    ) -> CoreResult<Vec<MessageView>> {
        self.seen(bot, id).await?;
        self.store
            .feed(id, page, limit.clamp(1, super::dialogs::MAX_FEED_PAGE))
            .await
    }

    /// A message as the bot, in a dialog it holds (F37): text, its own uploads into the
    /// dialog, quick-reply buttons; the same checks as a manager's, and the channel's limits.
    pub async fn send(&self, bot: &Bot, id: DialogId, reply: BotReply) -> CoreResult<MessageView> {
        let d = self.held(bot, id).await?;
        let files = !reply.attachments.is_empty();
        super::dialogs::check_outgoing(&d, &reply.body, files, false, self.clock.now())?;
        super::dialogs::check_buttons(&d, &reply.body, &reply.buttons)?;
        let uploader = Uploader::Bot {
            bot: bot.id,
            dialog: id,
        };
        check_unsent(
            self.store.as_ref(),
            &d.capabilities,
            &reply.attachments,
            uploader,
        )
        .await?;
        let m = OutgoingMessage {
            automatic: false,
            buttons: reply.buttons,
            dialog_id: id,
            author: Responsible::Bot(bot.id),
            body: reply.body,
            quote: None,
            attachments: reply.attachments,
            template: None,
        };
        let guard = Guard::ResponsibleIs(Responsible::Bot(bot.id));
        let written = self
            .store
            .append_company_message(&m, guard, self.clock.now())
            .await?;
        Ok(self.publish(written))
    }

    /// Takes an unassigned dialog it sees, or hands one it holds to a manager or another bot,
    /// or releases it (`None`).
    pub async fn assign(&self, bot: &Bot, id: DialogId, to: Option<HandTo>) -> CoreResult<()> {
        let me = Responsible::Bot(bot.id);
        let d = self
            .store
            .dialog_access(id)
            .await?
            .ok_or(CoreError::NotFound("dialog"))?;
        // Someone else's dialog, or one of another channel: not the bot's to move.
        if !bot.scope().may_see(d.responsible, d.channel_id) {
            return Err(CoreError::DialogNotYours);
        }
        let guard = match d.responsible {
            Some(r) if r == me => Guard::ResponsibleIs(me),
            _ => Guard::Unassigned,
        };
        let to = match to {
            Some(HandTo::Manager(m)) => {
                let manager = self.store.manager(m).await?;
                if manager.is_none_or(|m| m.disabled) {
                    return Err(CoreError::invalid("to", "no such active manager"));
                }
                Some(Responsible::Manager(m))
            }
            Some(HandTo::Bot(b)) => {
                if !self.store.bot(b).await?.is_some_and(|b| b.active) {
                    return Err(CoreError::invalid("to", "no such active bot"));
                }
                Some(Responsible::Bot(b))
            }
            Some(HandTo::Group(g)) => {
                if !self.store.list_groups().await?.iter().any(|x| x.id == g) {
                    return Err(CoreError::invalid("to", "no such group"));
                }
                let seen_since = self.clock.now().minus(self.presence);
                let pool = self.store.candidates(&[], &[g], seen_since, None).await?;
                let strategy = crate::distribution::Strategy::RoundRobin;
                let m = crate::distribution::choose(&pool, strategy, None, None, None).ok_or_else(
                    || CoreError::Unprocessable {
                        code: "nobody_present",
                        message: "no member of the group is present and free".into(),
                    },
                )?;
                Some(Responsible::Manager(m))
            }
            None => None,
        };
        let written = self
            .store
            .reassign(id, to, me, guard, self.clock.now())
            .await?;
        self.publish(written);
        Ok(())
    }

    pub async fn close(&self, bot: &Bot, id: DialogId) -> CoreResult<()> {
        self.held(bot, id).await?;
        let me = Responsible::Bot(bot.id);
        let written = self
            .store
            .close_dialog(id, me, Guard::ResponsibleIs(me), self.clock.now())
            .await?;
        self.publish(written);
        Ok(())
    }

    /// The card of the client of a dialog the bot sees.
    pub async fn client_card(&self, bot: &Bot, id: DialogId) -> CoreResult<ClientCard> {
        let d = self.seen(bot, id).await?;
        let client = d.client_id.ok_or(CoreError::NotFound("client"))?;
        let mut card = self
            .store
            .client_card(client)
            .await?
            .ok_or(CoreError::NotFound("client"))?;
        card.chats.retain(|c| c.dialog_id == id);
        Ok(card)
    }

    /// Puts a tag on the client of a dialog the bot holds (`Some(pinned)`) or takes it off.
    pub async fn tag_client(
        &self,
        bot: &Bot,
        id: DialogId,
        tag: TagId,
        pinned: Option<bool>,
    ) -> CoreResult<Vec<ClientTag>> {
        let d = self.held(bot, id).await?;
        let client = d.client_id.ok_or(CoreError::NotFound("client"))?;
        let now = self.clock.now();
        let written = match pinned {
            Some(pinned) => self.store.set_client_tag(client, tag, pinned, now).await?,
            None => self.store.remove_client_tag(client, tag, now).await?,
        };
        Ok(self.publish(written))
    }

    /// The events after `after` that reach the bot, oldest first, and where to go on from.
    pub async fn events(&self, bot: &Bot, after: EventId, limit: u32) -> CoreResult<BotEvents> {
        self.store
            .bot_events_after(&bot.scope(), after, limit.clamp(1, MAX_EVENTS))
            .await
    }
}
