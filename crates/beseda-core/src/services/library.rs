//! Tags (F35), quick replies (F32) and time limits (F34): shared settings are changed with
//! "manage settings"; a manager's own quick replies by that manager.

use crate::company::{NewTag, Tag, TagColor};
use crate::dialog::{MAX_MESSAGE_CHARS, Viewer, counted_chars};
use crate::error::{CoreError, CoreResult};
use crate::event::EventBus;
use crate::ids::{ChannelId, ClientId, MessageId, QuickReplyId, TagId};
use crate::library::{ClientCard, ClientTag, QuickReply, TimeLimitSettings, TimeLimits};
use crate::manager::Actor;
use crate::store::Store;
use crate::time::Clock;
use crate::values::{DisplayName, max_bytes, within_bytes};
use std::sync::Arc;

pub struct LibraryService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    bus: Arc<dyn EventBus>,
}

fn reply_body(body: &str) -> CoreResult<&str> {
    within_bytes("body", body, max_bytes::COMPANY_TEXT)?;
    match counted_chars(body) {
        0 => Err(CoreError::invalid("body", "must not be empty")),
        n if n > MAX_MESSAGE_CHARS => Err(CoreError::MessageTooLong {
            count: n,
            limit: MAX_MESSAGE_CHARS,
        }),
        _ => Ok(body),
    }
}

/// The client, if the actor may see one of their dialogs; otherwise "not found".
pub(crate) async fn visible_client(
    store: &dyn Store,
    actor: &Actor,
    client: ClientId,
) -> CoreResult<()> {
    let viewer = Viewer::of(actor);
    let dialogs = store.client_dialog_responsibles(client).await?;
    if dialogs.into_iter().any(|r| viewer.may_see(r)) {
        Ok(())
    } else {
        Err(CoreError::NotFound("client"))
    }
}

impl LibraryService {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, bus: Arc<dyn EventBus>) -> Self {
        LibraryService { store, clock, bus }
    }

    pub async fn tags(&self) -> CoreResult<Vec<Tag>> {
        self.store.list_tags().await
    }

    pub async fn create_tag(&self, actor: &Actor, name: &str, color: TagColor) -> CoreResult<Tag> {
        actor.require_settings()?;
        let name = DisplayName::parse("name", name)?.as_str().to_owned();
        let id = self
            .store
            .create_tag(&NewTag {
                name: name.clone(),
                color,
                created_at: self.clock.now(),
            })
            .await?;
        Ok(Tag { id, name, color })
    }

    pub async fn update_tag(
        &self,
        actor: &Actor,
        id: TagId,
        name: Option<&str>,
        color: Option<TagColor>,
    ) -> CoreResult<Tag> {
        actor.require_settings()?;
        let name = name.map(|n| DisplayName::parse("name", n)).transpose()?;
        self.store
            .update_tag(id, name.as_ref().map(DisplayName::as_str), color)
            .await
    }

    pub async fn delete_tag(&self, actor: &Actor, id: TagId) -> CoreResult<()> {
        actor.require_settings()?;
        self.store.delete_tag(id).await
    }

    /// A client is the actor's to tag when they may see one of the client's dialogs.
    async fn visible_client(&self, actor: &Actor, client: ClientId) -> CoreResult<()> {
        visible_client(&*self.store, actor, client).await
    }

    /// The client card, for whoever may see one of the client's dialogs (F14, F40).
    pub async fn client_card(&self, actor: &Actor, client: ClientId) -> CoreResult<ClientCard> {
        self.visible_client(actor, client).await?;
        let mut card = self
            .store
            .client_card(client)
            .await?
            .ok_or(CoreError::NotFound("client"))?;
        // Only the chats the reader may open (F07: a reassigned dialog's history is gone).
        let viewer = Viewer::of(actor);
        card.chats.retain(|c| viewer.may_see(c.responsible));
        Ok(card)
    }

    /// The key of the client's stored photo, for whoever may see the card.
    pub async fn client_photo_key(&self, actor: &Actor, client: ClientId) -> CoreResult<String> {
        self.visible_client(actor, client).await?;
        self.store
            .client_photo_key(client)
            .await?
            .ok_or(CoreError::NotFound("photo"))
    }

    /// Merges the card `from` into `into` (F04: a visitor's card that is possibly the same
    /// client as an older one), for whoever may see a dialog of each.
    pub async fn merge_clients(
        &self,
        actor: &Actor,
        from: ClientId,
        into: ClientId,
    ) -> CoreResult<ClientCard> {
        if from == into {
            return Err(CoreError::invalid(
                "into",
                "a card cannot merge into itself",
            ));
        }
        self.visible_client(actor, from).await?;
        self.visible_client(actor, into).await?;
        let written = self
            .store
            .merge_clients(from, into, self.clock.now())
            .await?;
        self.bus.publish(&written.events);
        self.client_card(actor, into).await
    }

    pub async fn client_tags(&self, actor: &Actor, client: ClientId) -> CoreResult<Vec<ClientTag>> {
        self.visible_client(actor, client).await?;
        self.store.client_tags(client).await
    }

    /// F35: puts a tag on a client, or pins / unpins it.
    pub async fn tag_client(
        &self,
        actor: &Actor,
        client: ClientId,
        tag: TagId,
        pinned: bool,
    ) -> CoreResult<Vec<ClientTag>> {
        self.visible_client(actor, client).await?;
        let written = self
            .store
            .set_client_tag(client, tag, pinned, self.clock.now())
            .await?;
        self.bus.publish(&written.events);
        Ok(written.value)
    }

    pub async fn untag_client(
        &self,
        actor: &Actor,
        client: ClientId,
        tag: TagId,
    ) -> CoreResult<Vec<ClientTag>> {
        self.visible_client(actor, client).await?;
        let written = self
            .store
            .remove_client_tag(client, tag, self.clock.now())
            .await?;
        self.bus.publish(&written.events);
        Ok(written.value)
    }

    /// F32: the shared replies and the actor's own, optionally those whose title or text
    /// contains `query` (any case, any language).
    pub async fn quick_replies(
        &self,
        actor: &Actor,
        query: Option<&str>,
    ) -> CoreResult<Vec<QuickReply>> {
        let all = self.store.quick_replies(actor.id()).await?;
        let Some(q) = query
            .map(str::to_lowercase)
            .filter(|q| !q.trim().is_empty())
        else {
            return Ok(all);
        };
        Ok(all
            .into_iter()
            .filter(|r| r.title.to_lowercase().contains(&q) || r.body.to_lowercase().contains(&q))
            .collect())
    }

    pub async fn create_quick_reply(
        &self,
        actor: &Actor,
        shared: bool,
        title: &str,
        body: &str,
    ) -> CoreResult<QuickReply> {
        if shared {
            actor.require_settings()?;
        }
        let title = DisplayName::parse("title", title)?;
        let owner = (!shared).then(|| actor.id());
        self.store
            .create_quick_reply(owner, title.as_str(), reply_body(body)?, self.clock.now())
            .await
    }

    /// F15: the lightning on a message: a personal quick reply with its text.
    pub async fn quick_reply_from_message(
        &self,
        actor: &Actor,
        message: MessageId,
        title: Option<&str>,
    ) -> CoreResult<QuickReply> {
        let dialog = self
            .store
            .message_dialog(message)
            .await?
            .ok_or(CoreError::NotFound("message"))?;
        match self.store.dialog_access(dialog).await? {
            Some(d) if Viewer::of(actor).may_see(d.responsible) => {}
            _ => return Err(CoreError::NotFound("message")),
        }
        let body = self
            .store
            .message_body(message)
            .await?
            .ok_or(CoreError::NotFound("message"))?;
        let title = match title {
            Some(t) => t.to_owned(),
            None => body.chars().take(40).collect::<String>(),
        };
        self.create_quick_reply(actor, false, &title, &body).await
    }

    /// A reply the actor may change: a shared one with "manage settings", their own always.
    async fn changeable(&self, actor: &Actor, id: QuickReplyId) -> CoreResult<QuickReply> {
        let reply = self
            .store
            .quick_reply(id)
            .await?
            .ok_or(CoreError::NotFound("quick reply"))?;
        match reply.owner {
            None => actor.require_settings().map(|()| reply),
            Some(owner) if owner == actor.id() => Ok(reply),
            Some(_) => Err(CoreError::NotFound("quick reply")),
        }
    }

    pub async fn update_quick_reply(
        &self,
        actor: &Actor,
        id: QuickReplyId,
        title: Option<&str>,
        body: Option<&str>,
    ) -> CoreResult<QuickReply> {
        self.changeable(actor, id).await?;
        let title = title.map(|t| DisplayName::parse("title", t)).transpose()?;
        let body = body.map(reply_body).transpose()?;
        self.store
            .update_quick_reply(
                id,
                title.as_ref().map(DisplayName::as_str),
                body,
                self.clock.now(),
            )
            .await
    }

    pub async fn delete_quick_reply(&self, actor: &Actor, id: QuickReplyId) -> CoreResult<()> {
        self.changeable(actor, id).await?;
        self.store.delete_quick_reply(id).await
    }

    pub async fn time_limits(&self) -> CoreResult<TimeLimitSettings> {
        self.store.time_limits().await
    }

    pub async fn set_default_time_limits(
        &self,
        actor: &Actor,
        limits: TimeLimits,
    ) -> CoreResult<()> {
        actor.require_settings()?;
        self.store.set_default_time_limits(limits.validate()?).await
    }

    pub async fn set_channel_time_limits(
        &self,
        actor: &Actor,
        channel: ChannelId,
        limits: TimeLimits,
    ) -> CoreResult<()> {
        actor.require_settings()?;
        self.store
            .set_channel_time_limits(channel, limits.validate()?)
            .await
    }
}
