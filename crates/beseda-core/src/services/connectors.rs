//! The built-in connectors' rules: an administrator connects a messenger account by pasting
//! its credentials (checked with the platform, the webhook registered with a secret, the
//! credentials sealed); the platform's webhook calls come in verified and go through the same
//! inbound entry point as every channel's; replies go out through the platform.

use super::attachments::AttachmentService;
use super::dialogs::DialogService;
use crate::channel::ChannelKind;
use crate::connector::{CallbackSetup, Sealer, SendResult, Template, TemplateUse};
use crate::connector::{Connection, ConnectorOverview, Credentials, Incoming, Messengers};
use crate::connector::{HookCall, OutgoingFile, Polled, Profile, RemoteFile};
use crate::dialog::InboundMessage;
use crate::error::{CoreError, CoreResult};
use crate::event::{Event, EventBus};
use crate::ids::{ChannelId, DialogId, MessageId};
use crate::manager::Actor;
use crate::secret::random_hex;
use crate::secret::same_secret;
use crate::store::{ConnectedChannel, Store};
use crate::time::Clock;
use crate::transport::{Channel, ChannelRegistration, DeliveryJob, MessageRef, StatusReport};

/// How long a new client's photo may take to fetch, the message's acknowledgement waiting.
const PHOTO_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// How long the settings wait for a platform to say whether updates reach us.
const STATE_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// What a platform's webhook call is answered with when it is taken (VK wants exactly this).
const ACKNOWLEDGED: &str = "ok";
use std::sync::Arc;

pub struct ConnectorService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    bus: Arc<dyn EventBus>,
    messengers: Arc<dyn Messengers>,
    sealer: Sealer,
    dialogs: Arc<DialogService>,
    attachments: Arc<AttachmentService>,
}

impl ConnectorService {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        bus: Arc<dyn EventBus>,
        messengers: Arc<dyn Messengers>,
        sealer: Sealer,
        dialogs: Arc<DialogService>,
        attachments: Arc<AttachmentService>,
    ) -> Self {
        ConnectorService {
            store,
            clock,
            bus,
            messengers,
            sealer,
            dialogs,
            attachments,
        }
    }

    /// Connects a messenger account (needs "manage settings"): the platform checks the
    /// credentials and names the channel; its updates come to `public_url`'s
    /// `/hooks/{kind}/{key}` with a secret, or by long polling when `polling`. Refused
    /// credentials, or a webhook the platform would not take, leave nothing behind.
    pub async fn connect(
        &self,
        actor: &Actor,
        credentials: Credentials,
        polling: bool,
        public_url: &str,
    ) -> CoreResult<Channel> {
        actor.require_settings()?;
        let kind = credentials.kind();
        if polling && kind != ChannelKind::Telegram {
            return Err(CoreError::invalid(
                "updates",
                "only a Telegram bot takes its updates by long polling",
            ));
        }
        let identity = self.messengers.check(&credentials).await?;
        // A platform sends an account's updates to one address: a second channel would take
        // them from the first.
        let connected = self.store.connected_channels().await?;
        if connected.iter().any(|c| {
            c.channel.active
                && c.channel.kind == kind
                && c.channel.external_id.as_deref() == Some(identity.external_id.as_str())
        }) {
            return Err(CoreError::Conflict {
                code: "already_connected",
                what: format!("a channel for {}", identity.name),
            });
        }
        let hook_key = random_hex(16);
        let mut connection = Connection {
            credentials,
            webhook_secret: random_hex(32),
            account: identity.external_id.clone(),
            hook_id: None,
            polling,
        };
        let mut capabilities = kind.default_capabilities();
        capabilities.reply_window_secs = connection.credentials.reply_window().map(|w| w.as_secs());
        capabilities.templates = kind == ChannelKind::WhatsappBusiness;
        let reg = ChannelRegistration {
            kind,
            name: identity.name,
            avatar_url: None,
            external_id: Some(identity.external_id),
            capabilities,
        };
        // The channel exists before its webhook: a platform checks the address at once (VK's
        // confirmation), and the address must then answer.
        let now = self.clock.now();
        let channel = self
            .store
            .create_connected_channel(&reg, &hook_key, &self.sealer.seal(&connection)?, now)
            .await?;
        let url = format!(
            "{}/hooks/{}/{hook_key}",
            public_url.trim_end_matches('/'),
            kind.as_str()
        );
        let hooked = if polling {
            // A webhook set earlier would keep Telegram from answering the polls.
            self.messengers
                .remove_webhook(&connection)
                .await
                .map(|()| None)
        } else {
            self.messengers.set_webhook(&connection, &url).await
        };
        match hooked {
            Ok(None) => Ok(channel),
            Ok(Some(hook_id)) => {
                connection.hook_id = Some(hook_id);
                self.store
                    .reseal_channel(channel.id, &self.sealer.seal(&connection)?, now)
                    .await?;
                Ok(channel)
            }
            Err(e) => {
                self.store.forget_connected_channel(channel.id).await?;
                Err(e)
            }
        }
    }

    /// The connected channels with how their updates come, their latest activity and, asked of
    /// each platform at once (briefly), whether updates reach us.
    pub async fn list(
        &self,
        actor: &Actor,
        public_url: &str,
    ) -> CoreResult<Vec<ConnectorOverview>> {
        actor.require_settings()?;
        let mut asking = tokio::task::JoinSet::new();
        let mut out = Vec::new();
        for (i, c) in self
            .store
            .connected_channels()
            .await?
            .into_iter()
            .enumerate()
        {
            let connection = self.sealer.open(&c.sealed)?;
            let polling = connection.polling;
            if c.channel.active && !polling {
                let messengers = self.messengers.clone();
                asking.spawn(async move {
                    let asked =
                        tokio::time::timeout(STATE_WAIT, messengers.hook_state(&connection)).await;
                    (i, asked.ok().and_then(Result::ok))
                });
            }
            out.push(ConnectorOverview {
                updates: if polling { "polling" } else { "webhook" },
                last_activity_at: c.last_activity_at,
                callback: self.callback_setup(c.channel.kind, public_url),
                channel: c.channel,
                state: None,
            });
        }
        while let Some(Ok((i, state))) = asking.join_next().await {
            out[i].state = state;
        }
        Ok(out)
    }

    /// What an administrator enters in the platform's dashboard for a channel whose webhook is
    /// set there (Meta's apps share one per server).
    fn callback_setup(&self, kind: ChannelKind, public_url: &str) -> Option<CallbackSetup> {
        let fields = match kind {
            ChannelKind::WhatsappBusiness => vec!["messages"],
            ChannelKind::FbInstagram => vec![
                "messages",
                "message_echoes",
                "message_deliveries",
                "message_reads",
                "message_reactions",
            ],
            _ => return None,
        };
        Some(CallbackSetup {
            url: format!("{}/hooks/meta", public_url.trim_end_matches('/')),
            verify_token: self.shared_hook_token("meta"),
            fields,
        })
    }

    /// Turns a connected channel off and removes its webhook at the platform; its dialogs stay.
    pub async fn disconnect(&self, actor: &Actor, id: ChannelId) -> CoreResult<Channel> {
        actor.require_settings()?;
        let c = self
            .store
            .disconnect_channel(id, self.clock.now())
            .await?
            .ok_or(CoreError::NotFound("channel"))?;
        let connection = self.sealer.open(&c.sealed)?;
        if let Err(e) = self.messengers.remove_webhook(&connection).await {
            // The channel is off either way: its webhook's calls now find it inactive.
            tracing::warn!(channel = %id, error = %e, "removing a webhook at the platform failed");
        }
        Ok(c.channel)
    }

    /// One webhook call of a platform: the channel its key names, checked by the secret the
    /// platform sends back, then parsed and taken in; the answer's text for the platform.
    /// Anything the inbox does not take (an unknown kind of update, a body that is not an
    /// update) is acknowledged and logged, so the platform does not send it again and again.
    pub async fn receive(
        &self,
        kind: &str,
        hook_key: &str,
        call: &HookCall<'_>,
    ) -> CoreResult<String> {
        let c = self.hooked(kind, hook_key).await?;
        let connection = self.sealer.open(&c.sealed)?;
        if !self.messengers.authentic(&c.channel, &connection, call) {
            return Err(CoreError::Unauthenticated);
        }
        let updates = self.parsed(&c.channel, call.body);
        if updates.iter().any(|u| matches!(u, Incoming::Confirm)) {
            return self.messengers.confirmation(&connection).await;
        }
        for incoming in updates {
            self.take(&c.channel, &connection, incoming).await?;
        }
        Ok(ACKNOWLEDGED.into())
    }

    /// A channel's updates in a body; none, logged, for a body that is not the platform's.
    fn parsed(&self, channel: &Channel, body: &[u8]) -> Vec<Incoming> {
        self.messengers
            .parse(channel, body)
            .unwrap_or_else(|e| {
                tracing::warn!(channel = %channel.id, error = %e, "a webhook body that is not an update");
                Vec::new()
            })
    }

    /// The verify token of a webhook that several accounts share (`family` `meta`): derived
    /// from the server's secret, the same on every node and for every channel.
    pub fn shared_hook_token(&self, family: &str) -> String {
        self.sealer
            .derive(&format!("{family} webhook verify token"))
    }

    /// A platform's handshake for a shared webhook (Meta's `hub.*`): the challenge back when
    /// it brings our verify token, else `forbidden`.
    pub fn verify_shared_hook(
        &self,
        family: &str,
        mode: &str,
        token: &str,
        challenge: &str,
    ) -> CoreResult<String> {
        if mode == "subscribe" && same_secret(token, &self.shared_hook_token(family)) {
            Ok(challenge.to_owned())
        } else {
            Err(CoreError::Forbidden("verify the webhook"))
        }
    }

    /// One call of a webhook that several accounts share (Meta's: one app, many numbers and
    /// pages). Every connected channel it names must find the call signed with its secret,
    /// else nothing of it is taken (`unauthenticated`); then each channel's updates are taken
    /// in order. Accounts that are not connected here are left out.
    pub async fn receive_shared(&self, family: &str, call: &HookCall<'_>) -> CoreResult<()> {
        let addressees = match self.messengers.addressees(family, call.body) {
            Ok(a) => a,
            Err(e @ CoreError::NotFound(_)) => return Err(e),
            Err(e) => {
                tracing::warn!(family, error = %e, "a shared webhook's body that is not an update");
                return Ok(());
            }
        };
        let mut found = Vec::new();
        for (kind, account) in addressees {
            let Some(c) = self.store.connected_account(kind, &account).await? else {
                tracing::debug!(family, %account, "a webhook call for an account not connected here");
                continue;
            };
            let connection = self.sealer.open(&c.sealed)?;
            if !self.messengers.authentic(&c.channel, &connection, call) {
                return Err(CoreError::Unauthenticated);
            }
            found.push((c.channel, connection));
        }
        for (channel, connection) in found {
            for incoming in self.parsed(&channel, call.body) {
                self.take(&channel, &connection, incoming).await?;
            }
        }
        Ok(())
    }

    /// The active channels whose updates are polled for.
    pub async fn polled_channels(&self) -> CoreResult<Vec<ConnectedChannel>> {
        let mut out = Vec::new();
        for c in self.store.connected_channels().await? {
            if c.channel.active && self.sealer.open(&c.sealed)?.polling {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// The next updates of a polled channel, while `owner` holds its lease (taken or renewed
    /// here, for long enough to take what comes); `None` when another node polls it or it is
    /// off. Asks from the offset saved after the last update taken, so a restart neither loses
    /// nor repeats one.
    pub async fn fetch_polled(
        &self,
        c: &ConnectedChannel,
        owner: &str,
        wait: std::time::Duration,
    ) -> CoreResult<Option<(Connection, Vec<Polled>)>> {
        let now = self.clock.now();
        let until = now.plus(wait * 2 + std::time::Duration::from_secs(5));
        let Some(offset) = self
            .store
            .lease_polling(c.channel.id, owner, now, until)
            .await?
        else {
            return Ok(None);
        };
        let connection = self.sealer.open(&c.sealed)?;
        let updates = self.messengers.poll(&connection, offset, wait).await?;
        Ok(Some((connection, updates)))
    }

    /// Takes polled updates in order, saving the offset after each; stops when the lease has
    /// passed to another node (which asks again from the last offset saved). How many were
    /// taken.
    pub async fn take_polled(
        &self,
        c: &ConnectedChannel,
        connection: &Connection,
        owner: &str,
        updates: Vec<Polled>,
    ) -> CoreResult<usize> {
        let mut taken = 0;
        for u in updates {
            for incoming in self.parsed(&c.channel, &u.body) {
                self.take(&c.channel, connection, incoming).await?;
            }
            if !self
                .store
                .save_poll_offset(c.channel.id, owner, u.next_offset)
                .await?
            {
                break;
            }
            taken += 1;
        }
        Ok(taken)
    }

    /// Takes in one update of a channel, however it came (a webhook call, a poll).
    pub async fn take(
        &self,
        channel: &Channel,
        connection: &Connection,
        incoming: Incoming,
    ) -> CoreResult<()> {
        match incoming {
            Incoming::Message { message, files } => {
                let mut message = *message;
                let photo = self
                    .complete(channel, connection, &files, &mut message)
                    .await?;
                let contact = message.contact_external_id.clone();
                let ingested = self.dialogs.receive(message).await?;
                if let (Some(photo), crate::dialog::Ingested::Accepted { .. }) = (photo, ingested) {
                    self.keep_photo(channel, connection, &contact, &photo).await;
                }
                Ok(())
            }
            Incoming::Echo { message, ours } => {
                // A copy's client has a dialog already (or it is recorded nowhere): nothing to
                // complete.
                let written = self
                    .store
                    .record_echo(&message, ours.map(MessageId), self.clock.now())
                    .await?;
                self.bus.publish(&written.events);
                Ok(())
            }
            Incoming::Edited { external_id, text } => {
                let changed = self
                    .store
                    .change_client_message(channel.id, &external_id, Some(&text), self.clock.now())
                    .await;
                self.publish_unless_unknown(changed.map(|w| w.events))
            }
            Incoming::Read { external_id } => {
                let read = self
                    .store
                    .read_up_to(
                        channel.id,
                        &MessageRef::External(external_id),
                        self.clock.now(),
                    )
                    .await;
                self.publish_unless_unknown(read.map(|w| w.events))
            }
            Incoming::Status {
                external_id,
                status,
                failure,
            } => {
                let report = StatusReport {
                    channel_id: channel.id,
                    message: MessageRef::External(external_id),
                    status,
                    failure,
                    external_id: None,
                };
                let reported = self.store.report_status(&report, self.clock.now()).await;
                self.publish_unless_unknown(reported.map(|w| w.events))
            }
            Incoming::Watermark {
                contact,
                at,
                status,
            } => {
                let moved = self
                    .store
                    .advance_until(channel.id, &contact, at, status, self.clock.now())
                    .await;
                self.publish_unless_unknown(moved.map(|w| w.events))
            }
            Incoming::Reaction { contact, reaction } => {
                let written = self
                    .store
                    .record_reaction(channel.id, &contact, &reaction, self.clock.now())
                    .await?;
                self.bus.publish(&written.events);
                Ok(())
            }
            Incoming::Confirm | Incoming::Ignored(_) => {
                tracing::debug!(channel = %channel.id, update = ?incoming, "an update left out");
                Ok(())
            }
        }
    }

    /// An edit, a status or a read receipt about a message (or a client) we never had changes
    /// nothing.
    fn publish_unless_unknown(&self, written: CoreResult<Vec<Event>>) -> CoreResult<()> {
        match written {
            Ok(events) => {
                self.bus.publish(&events);
                Ok(())
            }
            Err(CoreError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// A message made whole before it is taken in: its files fetched (a note for each one over
    /// the limit) and, for a new client, what the platform tells of them; the client's photo
    /// to keep once the message is in.
    async fn complete(
        &self,
        channel: &Channel,
        connection: &Connection,
        files: &[RemoteFile],
        message: &mut InboundMessage,
    ) -> CoreResult<Option<RemoteFile>> {
        // A platform resending an update it thinks lost: its files are not fetched again (the
        // message itself is then found taken, and nothing changes).
        if !files.is_empty()
            && self
                .store
                .knows_message(channel.id, &message.external_id)
                .await?
        {
            return Ok(None);
        }
        let notes = self.take_files(channel, connection, files, message).await?;
        if !notes.is_empty() {
            let text = notes.join("\n");
            message.body = if message.body.is_empty() {
                text
            } else {
                format!("{}\n{text}", message.body)
            };
        }
        if self
            .store
            .knows_contact(channel.id, &message.contact_external_id)
            .await?
        {
            return Ok(None);
        }
        let profile = match self
            .messengers
            .profile(connection, &message.contact_external_id)
            .await
        {
            Ok(p) => p.unwrap_or_default(),
            Err(e) => {
                // The message matters more than the card: it comes in with what it has.
                tracing::warn!(channel = %channel.id, error = %e, "a client's profile could not be read");
                Profile::default()
            }
        };
        if message.contact_name.is_empty() {
            message.contact_name = profile
                .name
                .unwrap_or_else(|| message.contact_external_id.clone());
        }
        let d = &mut message.details;
        d.avatar_url = d.avatar_url.take().or(profile.avatar_url);
        d.profile_url = d.profile_url.take().or(profile.profile_url);
        d.nickname = d.nickname.take().or(profile.nickname);
        Ok(profile.photo)
    }

    /// Fetches a new client's photo from the platform and keeps it for their card. A photo
    /// that cannot be had is logged and left: the message is in.
    async fn keep_photo(
        &self,
        channel: &Channel,
        connection: &Connection,
        contact: &str,
        photo: &RemoteFile,
    ) {
        let kept = async {
            let body = self
                .messengers
                .fetch_file(&connection.credentials, photo)
                .await?;
            let key = self.attachments.put_photo(body).await?;
            self.store
                .set_contact_photo(channel.id, contact, &key)
                .await
        };
        if let Err(e) = tokio::time::timeout(PHOTO_WAIT, kept)
            .await
            .unwrap_or_else(|_| Err(CoreError::Internal("the platform took too long".into())))
        {
            tracing::warn!(channel = %channel.id, error = %e, "a client's photo could not be kept");
        }
    }

    /// Fetches a message's files from the platform into the file store, each within the
    /// channel's limits, and gives their ids to the message. A file over the limit is left
    /// where it is and named in a note, so the message itself is never lost; a platform that
    /// cannot be reached fails the whole call, which the platform then repeats.
    async fn take_files(
        &self,
        channel: &Channel,
        connection: &Connection,
        files: &[RemoteFile],
        message: &mut InboundMessage,
    ) -> CoreResult<Vec<String>> {
        let a = channel.capabilities.attachments;
        let largest = [a.image, a.audio, a.video, a.file]
            .into_iter()
            .flatten()
            .max();
        let mut notes = Vec::new();
        for f in files {
            let name = f.file_name.clone().unwrap_or_else(|| "file".into());
            let over = |limit: u64| {
                format!(
                    "[{name}: over this channel's limit of {} MB, not kept]",
                    limit / (1024 * 1024)
                )
            };
            if let (Some(size), Some(limit)) = (f.size, largest)
                && size > limit
            {
                notes.push(over(limit));
                continue;
            }
            let body = self
                .messengers
                .fetch_file(&connection.credentials, f)
                .await?;
            let mut batch = self.attachments.channel_uploads(channel);
            match batch.add(body, f.file_name.as_deref()).await {
                Ok(()) => message
                    .attachments
                    .extend(batch.finish().await?.iter().map(|v| v.id)),
                Err(CoreError::AttachmentTooLarge { limit, .. }) => notes.push(over(limit)),
                Err(e) => return Err(e),
            }
        }
        Ok(notes)
    }

    /// The active connected channel of `kind` that a webhook key names.
    async fn hooked(&self, kind: &str, hook_key: &str) -> CoreResult<ConnectedChannel> {
        match self.store.connected_channel(hook_key).await? {
            Some(c) if c.channel.active && c.channel.kind.as_str() == kind => Ok(c),
            _ => Err(CoreError::NotFound("channel")),
        }
    }

    /// The approved templates of a dialog's channel, asked of its platform; none for a channel
    /// without them. `not_found` for a dialog the actor may not see.
    pub async fn templates(&self, actor: &Actor, dialog: DialogId) -> CoreResult<Vec<Template>> {
        let d = self.dialogs.visible(actor, dialog).await?;
        if !d.capabilities.templates {
            return Ok(Vec::new());
        }
        let Some(c) = self.store.connected_channel_by_id(d.channel_id).await? else {
            return Ok(Vec::new());
        };
        if !c.channel.active {
            return Ok(Vec::new());
        }
        let connection = self.sealer.open(&c.sealed)?;
        self.messengers.templates(&connection.credentials).await
    }

    /// A template filled in, as the text the feed keeps: refused when the dialog's channel has
    /// no such approved template, or the values do not fit it (WhatsApp takes a value of one
    /// line, up to 1024 characters).
    pub async fn fill_template(
        &self,
        actor: &Actor,
        dialog: DialogId,
        used: &TemplateUse,
    ) -> CoreResult<String> {
        let templates = self.templates(actor, dialog).await?;
        let t = templates
            .iter()
            .find(|t| t.name == used.name && t.language == used.language)
            .ok_or_else(|| CoreError::Unprocessable {
                code: "unknown_template",
                message: format!(
                    "the channel has no approved template {} in {}",
                    used.name, used.language
                ),
            })?;
        if used.variables.len() != t.variables as usize {
            return Err(CoreError::invalid(
                "template.variables",
                format!("the template takes {} values", t.variables),
            ));
        }
        for v in &used.variables {
            if v.trim().is_empty() || v.chars().count() > 1024 || v.contains(['\n', '\t']) {
                return Err(CoreError::invalid(
                    "template.variables",
                    "each value is one line of 1 to 1024 characters",
                ));
            }
        }
        Ok(t.render(&used.variables))
    }

    /// Sends one reply, with its files, through its channel's platform.
    pub async fn send(&self, sealed: &str, reply: &DeliveryJob) -> CoreResult<SendResult> {
        let connection = self.sealer.open(sealed)?;
        let mut files = Vec::with_capacity(reply.attachments.len());
        for view in &reply.attachments {
            let stored = self
                .store
                .attachment(view.id)
                .await?
                .ok_or(CoreError::NotFound("attachment"))?;
            files.push(OutgoingFile {
                body: self.attachments.bytes(&stored, false).await?,
                view: view.clone(),
            });
        }
        // Answering a client shows them their messages were read, where the platform shows it.
        if let Some(last) = self.store.last_client_message(reply.dialog_id).await?
            && let Err(e) = self
                .messengers
                .mark_read(&connection.credentials, &reply.contact_external_id, &last)
                .await
        {
            tracing::debug!(channel = %reply.channel_id, error = %e, "marking the client's messages read failed");
        }
        Ok(self
            .messengers
            .send(&connection.credentials, reply, files)
            .await)
    }
}
