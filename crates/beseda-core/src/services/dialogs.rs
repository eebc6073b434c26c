//! The chat rules (F07–F10, F14, F18, F29–F31, F33): who may see and do what in a dialog.
//! Every write re-checks its right inside the store's transaction ([`Guard`]) and publishes
//! its events once committed.

use super::attachments::check_unsent;
use crate::attachment::Uploader;
use crate::connector::TemplateUse;
use crate::dialog::{
    Counters, DialogView, FeedPage, InboundMessage, Ingested, MAX_MESSAGE_CHARS, MessageView,
    OutgoingMessage, Responsible, Viewer, counted_chars,
};
use crate::error::{CoreError, CoreResult};
use crate::event::EventBus;
use crate::ids::{AttachmentId, DialogId, MessageId};
use crate::manager::Actor;
use crate::store::{DialogAccess, Guard, Store, Written};
use crate::time::Clock;
use crate::values::{max_bytes, within_bytes};
use std::sync::Arc;

/// How much of the feed one request may read.
pub const MAX_FEED_PAGE: u32 = 200;

/// What every company message must pass, whoever writes it: its length (F30), what the
/// channel can send (F16), a blocked client (F10), and the messenger's reply window.
/// Quick-reply buttons (F37): as many and as long as the channel shows, each label once, under
/// a text (every messenger hangs them on one).
pub(crate) fn check_buttons(d: &DialogAccess, body: &str, buttons: &[String]) -> CoreResult<()> {
    if buttons.is_empty() {
        return Ok(());
    }
    let limits = d.capabilities.buttons;
    let refuse =
        |code: &'static str, message: String| Err(CoreError::Unprocessable { code, message });
    if limits.max == 0 {
        return refuse(
            "buttons_not_supported",
            "this channel shows no quick-reply buttons".into(),
        );
    }
    if buttons.len() > usize::try_from(limits.max).unwrap_or(usize::MAX) {
        return refuse(
            "too_many_buttons",
            format!("this channel shows at most {} buttons", limits.max),
        );
    }
    if body.trim().is_empty() {
        return Err(CoreError::invalid(
            "body",
            "buttons need a text to hang under",
        ));
    }
    for (i, label) in buttons.iter().enumerate() {
        let chars = label.chars().count();
        if label.trim().is_empty() || label.chars().any(char::is_control) {
            return Err(CoreError::invalid(
                format!("buttons[{i}]"),
                "a label is one line of visible text",
            ));
        }
        if chars > usize::try_from(limits.max_chars).unwrap_or(usize::MAX) {
            return Err(CoreError::invalid(
                format!("buttons[{i}]"),
                format!(
                    "this channel shows labels of at most {} characters",
                    limits.max_chars
                ),
            ));
        }
        if buttons[..i].contains(label) {
            return Err(CoreError::invalid(
                format!("buttons[{i}]"),
                "each label once: a tap answers with the label",
            ));
        }
    }
    Ok(())
}

pub(crate) fn check_outgoing(
    d: &DialogAccess,
    body: &str,
    files: bool,
    template: bool,
    now: crate::time::Timestamp,
) -> CoreResult<()> {
    within_bytes("body", body, max_bytes::COMPANY_TEXT)?;
    let count = counted_chars(body);
    let limit =
        MAX_MESSAGE_CHARS.min(usize::try_from(d.capabilities.text.max_chars).unwrap_or(usize::MAX));
    if count == 0 && !files {
        return Err(CoreError::invalid("body", "must not be empty"));
    }
    if count > limit {
        return Err(CoreError::MessageTooLong { count, limit });
    }
    if count > 0 && !d.capabilities.text.create {
        return Err(CoreError::Unprocessable {
            code: "not_supported_by_channel",
            message: "this channel cannot send text".into(),
        });
    }
    if d.client_blocked {
        return Err(CoreError::ClientBlocked);
    }
    if template && !d.capabilities.templates {
        return Err(CoreError::Unprocessable {
            code: "not_supported_by_channel",
            message: "this channel has no message templates".into(),
        });
    }
    if !template
        && d.reply_window_closes_at()
            .is_some_and(|closes| closes <= now)
    {
        let message = if d.capabilities.templates {
            "the messenger lets the company write only within 24 hours of the client's latest \
             message, and they have passed: only an approved template can be sent, or the \
             client must write first"
        } else {
            "the messenger lets the company write only within its window after the client's \
             latest message, and it has closed: the client must write first"
        };
        return Err(CoreError::Unprocessable {
            code: "reply_window_closed",
            message: message.into(),
        });
    }
    Ok(())
}

pub struct DialogService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    bus: Arc<dyn EventBus>,
}

impl DialogService {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, bus: Arc<dyn EventBus>) -> Self {
        DialogService { store, clock, bus }
    }

    fn publish<T>(&self, written: Written<T>) -> CoreResult<T> {
        self.bus.publish(&written.events);
        Ok(written.value)
    }

    /// The entry point for every client message: transports, connectors and the widget.
    pub async fn receive(&self, m: InboundMessage) -> CoreResult<Ingested> {
        if m.external_id.is_empty() || m.external_id.len() > 255 {
            return Err(CoreError::invalid(
                "external_id",
                "must have 1 to 255 bytes",
            ));
        }
        let written = self
            .store
            .ingest_client_message(&m, self.clock.now())
            .await?;
        self.publish(written)
    }

    /// The dialog, if the actor may see it; otherwise "not found", never "forbidden", so that
    /// its existence is not revealed.
    pub async fn visible(&self, actor: &Actor, id: DialogId) -> CoreResult<DialogAccess> {
        match self.store.dialog_access(id).await? {
            Some(d) if Viewer::of(actor).may_see(d.responsible) => Ok(d),
            _ => Err(CoreError::NotFound("dialog")),
        }
    }

    /// The guard for acting on a dialog: administrators anywhere, others only on their own.
    fn guard(actor: &Actor, d: &DialogAccess) -> CoreResult<Guard> {
        if actor.permissions.chats_admin {
            Ok(Guard::Any)
        } else if d.responsible == Some(Responsible::Manager(actor.id())) {
            Ok(Guard::ResponsibleIs(actor.party()))
        } else {
            Err(CoreError::DialogNotYours)
        }
    }

    pub async fn view(&self, actor: &Actor, id: DialogId) -> CoreResult<DialogView> {
        let mut view = self
            .store
            .dialog_view(id, Viewer::of(actor), self.clock.now())
            .await?
            .ok_or(CoreError::NotFound("dialog"))?;
        if let Some(d) = self.store.dialog_access(id).await? {
            view.reply_window_closes_at = d.reply_window_closes_at();
        }
        Ok(view)
    }

    pub async fn feed(
        &self,
        actor: &Actor,
        id: DialogId,
        page: FeedPage,
        limit: u32,
    ) -> CoreResult<Vec<MessageView>> {
        self.visible(actor, id).await?;
        if let FeedPage::Before(m) | FeedPage::After(m) | FeedPage::Around(m) = page
            && self.store.message_dialog(m).await? != Some(id)
        {
            return Err(CoreError::NotFound("message"));
        }
        self.store
            .feed(id, page, limit.clamp(1, MAX_FEED_PAGE))
            .await
    }

    /// F29, F30, F15/F16: writes a message. An unassigned dialog is taken by the manager who
    /// answers it.
    pub async fn send(
        &self,
        actor: &Actor,
        id: DialogId,
        body: &str,
        quote: Option<MessageId>,
        attachments: &[AttachmentId],
    ) -> CoreResult<MessageView> {
        self.write(actor, id, body, quote, attachments, None).await
    }

    /// Writes one of the channel's approved templates, filled in (`text` is how it reads):
    /// also after the reply window, which a template opens again.
    pub async fn send_template(
        &self,
        actor: &Actor,
        id: DialogId,
        template: TemplateUse,
        text: &str,
    ) -> CoreResult<MessageView> {
        self.write(actor, id, text, None, &[], Some(template)).await
    }

    async fn write(
        &self,
        actor: &Actor,
        id: DialogId,
        body: &str,
        quote: Option<MessageId>,
        attachments: &[AttachmentId],
        template: Option<TemplateUse>,
    ) -> CoreResult<MessageView> {
        let d = self.visible(actor, id).await?;
        check_outgoing(
            &d,
            body,
            !attachments.is_empty(),
            template.is_some(),
            self.clock.now(),
        )?;
        if let Some(q) = quote {
            if !d.capabilities.text.quote {
                return Err(CoreError::Unprocessable {
                    code: "quote_not_supported",
                    message: "this channel cannot quote messages".into(),
                });
            }
            if self.store.message_dialog(q).await? != Some(id) {
                return Err(CoreError::Unprocessable {
                    code: "invalid_quote",
                    message: "the quoted message is not in this dialog".into(),
                });
            }
        }
        let uploader = Uploader::Manager {
            manager: actor.id(),
            dialog: id,
        };
        check_unsent(self.store.as_ref(), &d.capabilities, attachments, uploader).await?;
        let guard = if d.responsible.is_none() && !actor.permissions.chats_admin {
            self.take(actor, id).await?
        } else {
            Self::guard(actor, &d)?
        };
        let message = OutgoingMessage {
            automatic: false,
            buttons: Vec::new(),
            dialog_id: id,
            author: actor.party(),
            body: body.to_owned(),
            quote,
            attachments: attachments.to_vec(),
            template,
        };
        let written = self
            .store
            .append_company_message(&message, guard, self.clock.now())
            .await?;
        self.publish(written)
    }

    /// Assigns an unassigned dialog to the actor; fails if someone took it first.
    async fn take(&self, actor: &Actor, id: DialogId) -> CoreResult<Guard> {
        let me = actor.party();
        let written = self
            .store
            .reassign(id, Some(me), me, Guard::Unassigned, self.clock.now())
            .await?;
        self.publish(written)?;
        Ok(Guard::ResponsibleIs(actor.party()))
    }

    /// F07: only an administrator or the responsible manager reassigns; a plain manager may
    /// take an unassigned dialog for themselves. The dialog stays open or closed.
    pub async fn assign(
        &self,
        actor: &Actor,
        id: DialogId,
        to: Option<Responsible>,
    ) -> CoreResult<()> {
        let d = self.visible(actor, id).await?;
        let guard = if d.responsible.is_none()
            && !actor.permissions.chats_admin
            && to == Some(Responsible::Manager(actor.id()))
        {
            Guard::Unassigned
        } else {
            Self::guard(actor, &d)?
        };
        if let Some(Responsible::Manager(m)) = to {
            match self.store.manager(m).await? {
                Some(target) if !target.disabled => {}
                _ => return Err(CoreError::invalid("to", "no active manager has this id")),
            }
        }
        let written = self
            .store
            .reassign(id, to, actor.party(), guard, self.clock.now())
            .await?;
        self.publish(written)
    }

    /// F08: closes the dialog by hand; a new message reopens it.
    pub async fn close(&self, actor: &Actor, id: DialogId) -> CoreResult<()> {
        let d = self.visible(actor, id).await?;
        let guard = Self::guard(actor, &d)?;
        let written = self
            .store
            .close_dialog(id, actor.party(), guard, self.clock.now())
            .await?;
        self.publish(written)
    }

    pub async fn read(&self, actor: &Actor, id: DialogId) -> CoreResult<()> {
        self.visible(actor, id).await?;
        let written = self
            .store
            .mark_read(id, actor.id(), self.clock.now())
            .await?;
        self.publish(written)
    }

    /// F09: for the calling manager only.
    pub async fn mark_unread(&self, actor: &Actor, id: DialogId) -> CoreResult<()> {
        self.visible(actor, id).await?;
        let written = self
            .store
            .mark_unread(id, actor.id(), self.clock.now())
            .await?;
        self.publish(written)
    }

    /// F10: blocks or unblocks the dialog's client, in all of their dialogs.
    pub async fn set_client_blocked(
        &self,
        actor: &Actor,
        id: DialogId,
        blocked: bool,
    ) -> CoreResult<()> {
        let d = self.visible(actor, id).await?;
        Self::guard(actor, &d)?;
        let client = d.client_id.ok_or(CoreError::Unprocessable {
            code: "no_client",
            message: "the dialog has no client card".into(),
        })?;
        let written = self
            .store
            .set_client_blocked(client, blocked, actor.id(), self.clock.now())
            .await?;
        self.publish(written)
    }

    /// F14: unlinks the client card from the dialog; the client stays.
    pub async fn detach_client(&self, actor: &Actor, id: DialogId) -> CoreResult<()> {
        let d = self.visible(actor, id).await?;
        let guard = Self::guard(actor, &d)?;
        if d.client_id.is_none() {
            return Err(CoreError::Unprocessable {
                code: "no_client",
                message: "the dialog has no client card".into(),
            });
        }
        let written = self
            .store
            .detach_client(id, actor.id(), guard, self.clock.now())
            .await?;
        self.publish(written)
    }

    /// F18: the draft lives on the server, per manager per dialog; an empty one is removed.
    pub async fn save_draft(&self, actor: &Actor, id: DialogId, body: &str) -> CoreResult<()> {
        self.visible(actor, id).await?;
        within_bytes("body", body, max_bytes::COMPANY_TEXT)?;
        if counted_chars(body) > MAX_MESSAGE_CHARS * 2 {
            return Err(CoreError::invalid("body", "the draft is too long"));
        }
        let body = (!body.trim().is_empty()).then_some(body);
        let written = self
            .store
            .save_draft(id, actor.id(), body, self.clock.now())
            .await?;
        self.publish(written)
    }

    pub async fn counters(&self, actor: &Actor) -> CoreResult<Counters> {
        self.store.counters(Viewer::of(actor)).await
    }
}
