//! The built-in connectors' rules: an administrator connects a messenger account by pasting
//! its credentials (checked with the platform, the webhook registered with a secret, the
//! credentials sealed); the platform's webhook calls come in verified and go through the same
//! inbound entry point as every channel's; replies go out through the platform.

use super::attachments::AttachmentService;
use super::dialogs::DialogService;
use crate::connector::{Connection, Credentials, Incoming, Messengers, Sealer, SendResult};
use crate::connector::{OutgoingFile, RemoteFile};
use crate::dialog::InboundMessage;
use crate::error::{CoreError, CoreResult};
use crate::event::EventBus;
use crate::ids::ChannelId;
use crate::manager::Actor;
use crate::secret::{random_hex, same_secret};
use crate::store::{ConnectedChannel, Store};
use crate::time::Clock;
use crate::transport::{Channel, ChannelRegistration, DeliveryJob};
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

fn may_manage(actor: &Actor) -> CoreResult<()> {
    if actor.permissions.manage_settings {
        Ok(())
    } else {
        Err(CoreError::Forbidden("manage settings"))
    }
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
    /// credentials and names the channel; its webhook is set to `public_url`'s
    /// `/hooks/{kind}/{key}` with a secret. Refused credentials create nothing.
    pub async fn connect(
        &self,
        actor: &Actor,
        credentials: Credentials,
        public_url: &str,
    ) -> CoreResult<Channel> {
        may_manage(actor)?;
        let identity = self.messengers.check(&credentials).await?;
        let kind = credentials.kind();
        let hook_key = random_hex(16);
        let webhook_secret = random_hex(32);
        let url = format!(
            "{}/hooks/{}/{hook_key}",
            public_url.trim_end_matches('/'),
            kind.as_str()
        );
        self.messengers
            .set_webhook(&credentials, &url, &webhook_secret)
            .await?;
        let sealed = self.sealer.seal(&Connection {
            credentials,
            webhook_secret,
        })?;
        let reg = ChannelRegistration {
            kind,
            name: identity.name,
            avatar_url: None,
            external_id: Some(identity.external_id),
            capabilities: kind.default_capabilities(),
        };
        self.store
            .create_connected_channel(&reg, &hook_key, &sealed, self.clock.now())
            .await
    }

    pub async fn list(&self, actor: &Actor) -> CoreResult<Vec<Channel>> {
        may_manage(actor)?;
        Ok(self
            .store
            .connected_channels()
            .await?
            .into_iter()
            .map(|c| c.channel)
            .collect())
    }

    /// Turns a connected channel off and removes its webhook at the platform; its dialogs stay.
    pub async fn disconnect(&self, actor: &Actor, id: ChannelId) -> CoreResult<Channel> {
        may_manage(actor)?;
        let c = self
            .store
            .disconnect_channel(id, self.clock.now())
            .await?
            .ok_or(CoreError::NotFound("channel"))?;
        let connection = self.sealer.open(&c.sealed)?;
        if let Err(e) = self
            .messengers
            .remove_webhook(&connection.credentials)
            .await
        {
            // The channel is off either way: its webhook's calls now find it inactive.
            tracing::warn!(channel = %id, error = %e, "removing a webhook at the platform failed");
        }
        Ok(c.channel)
    }

    /// One webhook call of a platform: the channel its key names, checked by the secret the
    /// platform sends back, then parsed and taken in. Anything the inbox does not take (an
    /// unknown kind of update, a body that is not an update) is acknowledged and logged, so
    /// the platform does not send it again and again.
    pub async fn receive(
        &self,
        kind: &str,
        hook_key: &str,
        header: impl Fn(&str) -> Option<String>,
        body: &[u8],
    ) -> CoreResult<()> {
        let c = self.hooked(kind, hook_key).await?;
        let connection = self.sealer.open(&c.sealed)?;
        let secret = header(self.messengers.secret_header(c.channel.kind));
        if !secret.is_some_and(|s| same_secret(&s, &connection.webhook_secret)) {
            return Err(CoreError::Unauthenticated);
        }
        let incoming = match self.messengers.parse(c.channel.kind, c.channel.id, body) {
            Ok(incoming) => incoming,
            Err(e) => {
                tracing::warn!(channel = %c.channel.id, error = %e, "a webhook call that is not an update");
                return Ok(());
            }
        };
        match incoming {
            Incoming::Message { message, files } => {
                let mut message = *message;
                let notes = self
                    .take_files(&c.channel, &connection, &files, &mut message)
                    .await?;
                if !notes.is_empty() {
                    let text = notes.join("\n");
                    message.body = if message.body.is_empty() {
                        text
                    } else {
                        format!("{}\n{text}", message.body)
                    };
                }
                self.dialogs.receive(message).await.map(drop)
            }
            Incoming::Edited { external_id, text } => {
                let changed = self
                    .store
                    .change_client_message(
                        c.channel.id,
                        &external_id,
                        Some(&text),
                        self.clock.now(),
                    )
                    .await;
                match changed {
                    Ok(written) => {
                        self.bus.publish(&written.events);
                        Ok(())
                    }
                    // An edit of a message we never had: nothing to change.
                    Err(CoreError::NotFound(_)) => Ok(()),
                    Err(e) => Err(e),
                }
            }
            Incoming::Ignored(why) => {
                tracing::debug!(channel = %c.channel.id, why, "an update left out");
                Ok(())
            }
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
        Ok(self
            .messengers
            .send(&connection.credentials, reply, files)
            .await)
    }
}
