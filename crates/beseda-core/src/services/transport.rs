//! The transport API's rules (F38): modules authenticate with their token, act only on their
//! own channels, push client messages through the one inbound entry point, and report delivery.

use super::attachments::check_unsent;
use super::dialogs::DialogService;
use crate::attachment::Uploader;
use crate::channel::{Capabilities, ChannelKind};
use crate::company::Author;
use crate::dialog::{HistoryImport, InboundMessage, Ingested, MessageView, counted_chars};
use crate::error::{CoreError, CoreResult};
use crate::event::EventBus;
use crate::ids::DialogId;
use crate::ids::{ChannelId, ModuleId};
use crate::manager::Actor;
use crate::secret::{Token, TokenHasher};
use crate::store::Store;
use crate::time::Clock;
use crate::time::Timestamp;
use crate::transport::{
    Channel, ChannelRegistration, MessageRef, ReportOutcome, StatusReport, TransportModule,
};
use crate::values::{DisplayName, max_bytes, within_bytes};
use std::sync::Arc;

const MODULE_TOKEN_PREFIX: &str = "bm_";
/// At most this many messages per history import.
pub const MAX_HISTORY: usize = 1000;

/// A new module's secrets, shown once.
pub struct NewModule {
    pub module: TransportModule,
    /// Sent by the module as `X-Transport-Token`.
    pub token: Token,
    /// Signs our webhooks to the module (HMAC-SHA256 over `timestamp.body`).
    pub webhook_secret: String,
}

/// A channel as a module describes it.
pub struct ChannelSpec {
    pub kind: ChannelKind,
    pub name: String,
    pub avatar_url: Option<String>,
    pub external_id: Option<String>,
    /// Only for `custom` channels: the five messenger types have their limits built in (F26).
    pub capabilities: Option<Capabilities>,
}

pub struct TransportService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    bus: Arc<dyn EventBus>,
    hasher: TokenHasher,
    dialogs: Arc<DialogService>,
}

fn url(field: &str, raw: &str) -> CoreResult<String> {
    let ok = (raw.starts_with("http://") || raw.starts_with("https://"))
        && raw.len() <= 2000
        && !raw.chars().any(char::is_whitespace);
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(CoreError::invalid(
            field,
            "must be an http:// or https:// address",
        ))
    }
}

impl TransportService {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        bus: Arc<dyn EventBus>,
        hasher: TokenHasher,
        dialogs: Arc<DialogService>,
    ) -> Self {
        TransportService {
            store,
            clock,
            bus,
            hasher,
            dialogs,
        }
    }

    /// Connects an integration module (needs "manage settings").
    pub async fn create_module(
        &self,
        actor: &Actor,
        name: &str,
        webhook_url: &str,
    ) -> CoreResult<NewModule> {
        actor.require_settings()?;
        let name = DisplayName::parse("name", name)?;
        let webhook_url = url("webhook_url", webhook_url)?;
        let token = Token::generate(MODULE_TOKEN_PREFIX);
        let webhook_secret = crate::secret::random_password() + &crate::secret::random_password();
        let module = self
            .store
            .create_module(
                name.as_str(),
                &self.hasher.hash(&token),
                &webhook_url,
                &webhook_secret,
                self.clock.now(),
            )
            .await?;
        Ok(NewModule {
            module,
            token,
            webhook_secret,
        })
    }

    pub async fn list_modules(&self, actor: &Actor) -> CoreResult<Vec<TransportModule>> {
        actor.require_settings()?;
        self.store.list_modules().await
    }

    /// A new token for a module (the old one stops working at once) and, if given, a new
    /// webhook address (needs "manage settings"): for a leaked token or a module that moved.
    pub async fn renew_module(
        &self,
        actor: &Actor,
        id: ModuleId,
        webhook_url: Option<&str>,
    ) -> CoreResult<(TransportModule, Token)> {
        actor.require_settings()?;
        let current = self
            .store
            .list_modules()
            .await?
            .into_iter()
            .find(|m| m.id == id)
            .ok_or(CoreError::NotFound("module"))?;
        self.renew_own_module(id, webhook_url.unwrap_or(&current.webhook_url))
            .await
    }

    /// Gives a module a new token and webhook address, for the server's own modules (the
    /// living demo's) that keep no secret between starts.
    pub async fn renew_own_module(
        &self,
        id: ModuleId,
        webhook_url: &str,
    ) -> CoreResult<(TransportModule, Token)> {
        let webhook_url = url("webhook_url", webhook_url)?;
        let token = Token::generate(MODULE_TOKEN_PREFIX);
        let module = self
            .store
            .renew_module(id, &self.hasher.hash(&token), &webhook_url)
            .await?;
        Ok((module, token))
    }

    /// The module behind an `X-Transport-Token`.
    pub async fn authenticate(&self, token: &Token) -> CoreResult<TransportModule> {
        self.store
            .module_by_token(&self.hasher.hash(token))
            .await?
            .ok_or(CoreError::Unauthenticated)
    }

    fn registration(spec: ChannelSpec) -> CoreResult<ChannelRegistration> {
        let name = DisplayName::parse("name", &spec.name)?.as_str().to_owned();
        let capabilities = match (spec.kind, spec.capabilities) {
            (ChannelKind::Custom, Some(c)) => c,
            (ChannelKind::Custom, None) => {
                return Err(CoreError::invalid(
                    "capabilities",
                    "a custom channel declares what it can do",
                ));
            }
            (_, Some(_)) => {
                return Err(CoreError::invalid(
                    "capabilities",
                    "this channel type has its capabilities built in",
                ));
            }
            (kind, None) => kind.default_capabilities(),
        };
        if capabilities.text.max_chars == 0 {
            return Err(CoreError::invalid(
                "capabilities",
                "text.max_chars must be at least 1",
            ));
        }
        let avatar_url = spec.avatar_url.map(|u| url("avatar_url", &u)).transpose()?;
        if let Some(id) = &spec.external_id {
            within_bytes("external_id", id, max_bytes::NAME)?;
        }
        Ok(ChannelRegistration {
            kind: spec.kind,
            name,
            avatar_url,
            external_id: spec.external_id,
            capabilities,
        })
    }

    pub async fn register_channel(
        &self,
        module: &TransportModule,
        spec: ChannelSpec,
    ) -> CoreResult<Channel> {
        self.store
            .register_channel(module.id, &Self::registration(spec)?, self.clock.now())
            .await
    }

    pub async fn update_channel(
        &self,
        module: &TransportModule,
        id: ChannelId,
        spec: ChannelSpec,
    ) -> CoreResult<Channel> {
        let current = self.channel(module, id).await?;
        if current.kind != spec.kind {
            return Err(CoreError::invalid("type", "a channel keeps its type"));
        }
        self.store
            .update_channel(module.id, id, &Self::registration(spec)?, self.clock.now())
            .await
    }

    pub async fn set_channel_active(
        &self,
        module: &TransportModule,
        id: ChannelId,
        active: bool,
    ) -> CoreResult<Channel> {
        self.store
            .set_channel_active(module.id, id, active, self.clock.now())
            .await
    }

    pub async fn channels(&self, module: &TransportModule) -> CoreResult<Vec<Channel>> {
        self.store.module_channels(module.id).await
    }

    /// One of the module's channels; another module's is "not found".
    pub async fn channel(&self, module: &TransportModule, id: ChannelId) -> CoreResult<Channel> {
        self.store
            .module_channel(module.id, id)
            .await?
            .ok_or(CoreError::NotFound("channel"))
    }

    /// A client message from the module: idempotent by its external id.
    pub async fn push(&self, module: &TransportModule, m: InboundMessage) -> CoreResult<Ingested> {
        let channel = self.channel(module, m.channel_id).await?;
        inbound_within_bytes(&m)?;
        if !channel.active {
            return Err(CoreError::Unprocessable {
                code: "channel_inactive",
                message: "the channel is deactivated".into(),
            });
        }
        let uploader = Uploader::Channel(channel.id);
        check_unsent(
            self.store.as_ref(),
            &channel.capabilities,
            &m.attachments,
            uploader,
        )
        .await?;
        self.dialogs.receive(m).await
    }

    /// A client's past conversation (F38 history import): shown as read, announced to nobody.
    /// Messages come oldest first, from the client or the company, none in the future.
    pub async fn import_history(
        &self,
        module: &TransportModule,
        h: HistoryImport,
    ) -> CoreResult<(DialogId, bool)> {
        self.channel(module, h.channel_id).await?;
        if h.messages.is_empty() || h.messages.len() > MAX_HISTORY {
            return Err(CoreError::invalid(
                "messages",
                format!("an import has 1 to {MAX_HISTORY} messages"),
            ));
        }
        let now = self.clock.now();
        let mut seen = std::collections::HashSet::new();
        let mut last = Timestamp(i64::MIN);
        for (i, m) in h.messages.iter().enumerate() {
            let field = format!("messages[{i}]");
            let id_ok = m
                .external_id
                .as_ref()
                .is_some_and(|e| !e.is_empty() && e.len() <= 255 && seen.insert(e.clone()));
            if !id_ok {
                return Err(CoreError::invalid(
                    field,
                    "each message has its own external_id of 1 to 255 bytes",
                ));
            }
            if m.created_at < last || m.created_at > now {
                return Err(CoreError::invalid(
                    field,
                    "messages come oldest first, none in the future",
                ));
            }
            last = m.created_at;
            if !matches!(m.author, Author::Client | Author::Company) {
                return Err(CoreError::invalid(field, "from the client or the company"));
            }
            if counted_chars(&m.body) == 0 {
                return Err(CoreError::invalid(field, "text must not be empty"));
            }
            within_bytes(&field, &m.body, max_bytes::CLIENT_TEXT)?;
        }
        self.store.import_history(&h, now).await
    }

    /// The client edited (`Some(text)`) or deleted (`None`) a message on their side, where the
    /// channel can (F16).
    pub async fn change_client_message(
        &self,
        module: &TransportModule,
        channel: ChannelId,
        external_id: &str,
        text: Option<&str>,
    ) -> CoreResult<MessageView> {
        let ch = self.channel(module, channel).await?;
        let allowed = if text.is_some() {
            ch.capabilities.text.edit
        } else {
            ch.capabilities.text.delete
        };
        if !allowed {
            return Err(CoreError::Unprocessable {
                code: "not_supported_by_channel",
                message: "the channel's capabilities do not allow this".into(),
            });
        }
        if let Some(t) = text {
            if counted_chars(t) == 0 {
                return Err(CoreError::invalid("text", "must not be empty"));
            }
            within_bytes("text", t, max_bytes::CLIENT_TEXT)?;
        }
        let written = self
            .store
            .change_client_message(channel, external_id, text, self.clock.now())
            .await?;
        self.bus.publish(&written.events);
        Ok(written.value)
    }

    /// The client read everything up to a message: each earlier company message becomes `read`.
    pub async fn read_up_to(
        &self,
        module: &TransportModule,
        channel: ChannelId,
        message: MessageRef,
    ) -> CoreResult<u64> {
        self.channel(module, channel).await?;
        let written = self
            .store
            .read_up_to(channel, &message, self.clock.now())
            .await?;
        self.bus.publish(&written.events);
        Ok(written.value)
    }

    /// A delivery report: statuses only move forward (F31).
    pub async fn report(
        &self,
        module: &TransportModule,
        report: StatusReport,
    ) -> CoreResult<ReportOutcome> {
        self.channel(module, report.channel_id).await?;
        if let Some(f) = &report.failure {
            within_bytes("error.code", &f.code, max_bytes::NAME)?;
            within_bytes("error.message", &f.message, max_bytes::URL)?;
        }
        if let Some(id) = &report.external_id {
            within_bytes("external_id", id, max_bytes::NAME)?;
        }
        let written = self.store.report_status(&report, self.clock.now()).await?;
        self.bus.publish(&written.events);
        Ok(written.value)
    }
}

/// A pushed message's texts within their byte caps: the body, the ids and what the channel
/// tells about the client.
fn inbound_within_bytes(m: &InboundMessage) -> CoreResult<()> {
    within_bytes("text", &m.body, max_bytes::CLIENT_TEXT)?;
    within_bytes("external_id", &m.external_id, max_bytes::NAME)?;
    let d = &m.details;
    let names = [
        ("customer.external_id", Some(&m.contact_external_id)),
        ("customer.name", Some(&m.contact_name)),
        ("customer.nickname", d.nickname.as_ref()),
        ("customer.phone", d.phone.as_ref()),
        ("customer.email", d.email.as_ref()),
        ("customer.language", d.language.as_ref()),
        ("quote_external_id", m.quote_external_id.as_ref()),
    ];
    for (field, text) in names {
        within_bytes(field, text.map_or("", String::as_str), max_bytes::NAME)?;
    }
    let urls = [
        ("customer.avatar_url", d.avatar_url.as_ref()),
        ("customer.profile_url", d.profile_url.as_ref()),
        ("customer.page", d.page.as_ref()),
        ("customer.utm", d.utm.as_ref()),
    ];
    for (field, text) in urls {
        within_bytes(field, text.map_or("", String::as_str), max_bytes::URL)?;
    }
    Ok(())
}
