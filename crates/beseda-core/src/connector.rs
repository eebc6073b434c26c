//! Built-in messenger connectors as the core sees them: a port that the server fills with the
//! platforms' own code (the `beseda-channels` crate). A connected account's secrets are sealed
//! at rest; a platform's webhook is verified and parsed into the core's inbound messages; a
//! reply's delivery asks the platform and maps its answer.

use crate::channel::ChannelKind;
use crate::dialog::InboundMessage;
use crate::error::{CoreError, CoreResult};
use crate::transport::{Channel, DeliveryJob, Failure};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A connected account's credentials, as an administrator pastes them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Credentials {
    /// A bot's token from @BotFather.
    Telegram { token: String },
    /// A community's access token, with the rights to its messages, photos, documents and
    /// management (for the callback server).
    Vk { token: String },
    /// A phone number on WhatsApp's Cloud API: its id, its business account's (templates and
    /// the webhook's subscription live there), a system user's token, and the secret of the
    /// Meta app that signs the webhook's calls.
    Whatsapp {
        phone_number_id: String,
        business_account_id: String,
        token: String,
        app_secret: String,
    },
    /// A Facebook page's Messenger conversations: the page's id and access token, and the
    /// Meta app's secret. `human_agent`: the app has Meta's Human Agent permission, so a
    /// manager may answer for 7 days after the client's last message instead of 24 hours.
    Facebook {
        page_id: String,
        token: String,
        app_secret: String,
        #[serde(default)]
        human_agent: bool,
    },
    /// The Instagram professional account linked to a Facebook page, through that page (the
    /// Messenger Platform for Instagram): the same fields as a page's.
    Instagram {
        page_id: String,
        token: String,
        app_secret: String,
        #[serde(default)]
        human_agent: bool,
    },
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credentials({:?}, ***)", self.kind())
    }
}

impl Credentials {
    pub fn kind(&self) -> ChannelKind {
        match self {
            Credentials::Telegram { .. } => ChannelKind::Telegram,
            Credentials::Vk { .. } => ChannelKind::Vk,
            Credentials::Whatsapp { .. } => ChannelKind::WhatsappBusiness,
            Credentials::Facebook { .. } | Credentials::Instagram { .. } => {
                ChannelKind::FbInstagram
            }
        }
    }

    /// The secret a platform signs its webhook's calls with, where it signs them (Meta).
    pub fn signing_secret(&self) -> Option<&str> {
        match self {
            Credentials::Whatsapp { app_secret, .. }
            | Credentials::Facebook { app_secret, .. }
            | Credentials::Instagram { app_secret, .. } => Some(app_secret),
            Credentials::Telegram { .. } | Credentials::Vk { .. } => None,
        }
    }

    /// How long after the client's last message a manager may still write to them, where the
    /// platform bounds it (Meta's customer-service window).
    pub fn reply_window(&self) -> Option<std::time::Duration> {
        const DAY: u64 = 24 * 3600;
        let days = match self {
            Credentials::Whatsapp { .. } => 1,
            Credentials::Facebook { human_agent, .. }
            | Credentials::Instagram { human_agent, .. } => {
                if *human_agent {
                    7
                } else {
                    1
                }
            }
            Credentials::Telegram { .. } | Credentials::Vk { .. } => return None,
        };
        Some(std::time::Duration::from_secs(days * DAY))
    }
}

/// What a connected channel keeps sealed: its credentials and the secret its platform sends
/// back with each webhook call.
#[derive(Clone, Serialize, Deserialize)]
pub struct Connection {
    pub credentials: Credentials,
    pub webhook_secret: String,
    /// The platform's id of the bot or group.
    #[serde(default)]
    pub account: String,
    /// The platform's id of our webhook's registration (VK's callback server), to remove it.
    #[serde(default)]
    pub hook_id: Option<String>,
    /// Updates are fetched by long polling instead of a webhook (Telegram, for a server
    /// without a public HTTPS address).
    #[serde(default)]
    pub polling: bool,
}

/// Who a connected account is on its platform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The platform's id of the bot or group.
    pub external_id: String,
    /// Its name, for the channel's.
    pub name: String,
}

/// A file the platform holds for a client's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteFile {
    /// The platform's id of the file.
    pub id: String,
    pub file_name: Option<String>,
    /// What the platform says it weighs, when it says.
    pub size: Option<u64>,
}

/// What one webhook call brought.
#[derive(Clone, Debug)]
pub enum Incoming {
    /// A client's message, with the files the platform holds for it.
    Message {
        message: Box<InboundMessage>,
        files: Vec<RemoteFile>,
    },
    /// The client edited a message on their side.
    Edited { external_id: String, text: String },
    /// A message the company wrote to the client from the platform's own interface, or the
    /// platform's copy of one of ours (`ours`: the id we gave it when sending).
    Echo {
        message: Box<InboundMessage>,
        ours: Option<i64>,
    },
    /// The client read the company's messages up to this one (the platform's id of it).
    Read { external_id: String },
    /// One of the company's messages moved on (the platform's id of it): delivered, read, or
    /// failed with the platform's reason.
    Status {
        external_id: String,
        status: crate::dialog::DeliveryStatus,
        failure: Option<Failure>,
    },
    /// Every company message to the client sent up to this moment reached `status` (Messenger's
    /// delivery and read watermarks).
    Watermark {
        contact: String,
        at: crate::time::Timestamp,
        status: crate::dialog::DeliveryStatus,
    },
    /// The client reacted to a message of their dialog.
    Reaction { contact: String, reaction: Reaction },
    /// The platform checks that the address is ours: it is answered with the account's code.
    Confirm,
    /// Nothing for the inbox (a service update, a kind not handled): acknowledged, so the
    /// platform does not send it again, and logged with the reason.
    Ignored(String),
}

/// A message template the platform approved for the account (WhatsApp's): the only message
/// a business may send once the reply window has closed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Template {
    pub name: String,
    /// Its language's code (`ru`, `en_US`): a template is approved per language.
    pub language: String,
    pub category: Option<String>,
    pub header: Option<String>,
    /// The body, its variables written `{{1}}`, `{{2}}`…
    pub body: String,
    pub footer: Option<String>,
    /// How many variables the body has.
    pub variables: u32,
}

impl Template {
    /// The body with its variables filled in, as the client reads it.
    pub fn render(&self, values: &[String]) -> String {
        let mut out = self.body.clone();
        for (i, v) in values.iter().enumerate() {
            out = out.replace(&format!("{{{{{}}}}}", i + 1), v);
        }
        out
    }

    /// How many distinct variables `{{n}}` a body has (the highest `n`).
    pub fn count_variables(body: &str) -> u32 {
        let mut highest = 0;
        let mut rest = body;
        while let Some(start) = rest.find("{{") {
            rest = &rest[start + 2..];
            if let Some(end) = rest.find("}}")
                && let Ok(n) = rest[..end].trim().parse::<u32>()
            {
                highest = highest.max(n);
            }
        }
        highest
    }
}

/// A template as a manager fills it in to send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateUse {
    pub name: String,
    pub language: String,
    /// The body's variables in order, `{{1}}` first.
    #[serde(default)]
    pub variables: Vec<String>,
}

/// A client's reaction to a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reaction {
    /// The reaction's own id on the platform: a repeat of it changes nothing.
    pub external_id: String,
    /// The platform's id of the message reacted to, the client's or ours.
    pub message: String,
    /// The emoji; empty when the client took their reaction back.
    pub emoji: String,
}

/// What the platform said to a reply; the delivery worker turns it into a status or a retry
/// under its own policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendResult {
    /// Sent: the platform's id of the message.
    Sent { external_id: String },
    /// Refused for good, with the reason the manager sees (F31).
    Failed(Failure),
    /// Not now: after this long when the platform says, else by the worker's backoff; with
    /// what went wrong.
    RetryAfter(Option<std::time::Duration>, String),
}

/// One webhook call as it came: its headers and its body.
pub struct HookCall<'a> {
    pub header: &'a (dyn Fn(&str) -> Option<String> + Sync),
    pub body: &'a [u8],
}

/// One update fetched by polling: its body, as a webhook call would bring it, and the offset
/// that asks for the updates after it.
#[derive(Clone, Debug)]
pub struct Polled {
    pub body: Vec<u8>,
    pub next_offset: i64,
}

/// What the platform says of the account's updates reaching us.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct HookState {
    /// Whether updates reach us as far as the platform knows.
    pub ok: bool,
    /// The platform's last complaint about our address, in its words.
    pub error: Option<String>,
    /// When it made it, when it says.
    #[schema(value_type = Option<i64>)]
    pub error_at: Option<crate::time::Timestamp>,
}

/// A connected channel as its settings show it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ConnectorOverview {
    pub channel: Channel,
    /// `webhook` or `polling`.
    pub updates: &'static str,
    /// When its latest dialog moved (a message either way).
    #[schema(value_type = Option<i64>)]
    pub last_activity_at: Option<crate::time::Timestamp>,
    /// The platform's word on the channel's updates; `None` for a channel turned off, or a
    /// platform that did not answer in time.
    pub state: Option<HookState>,
    /// For a platform whose webhook is set in its own dashboard (Meta's apps): what to enter
    /// there.
    pub callback: Option<CallbackSetup>,
}

/// A webhook an administrator sets in a platform's dashboard.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CallbackSetup {
    /// The callback URL.
    pub url: String,
    /// The verify token the platform's handshake must bring.
    pub verify_token: String,
    /// The webhook fields to subscribe the app to.
    pub fields: Vec<&'static str>,
}

/// What a platform tells of a client on request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    /// For a platform whose updates carry no name.
    pub name: Option<String>,
    /// A photo browsers may load from the platform.
    pub avatar_url: Option<String>,
    /// A photo to fetch and keep, for a platform whose files need our credentials.
    pub photo: Option<RemoteFile>,
    pub profile_url: Option<String>,
    pub nickname: Option<String>,
}

/// A file of a reply, with its bytes from our file store.
pub struct OutgoingFile {
    pub view: crate::attachment::AttachmentView,
    pub body: crate::files::ByteStream<'static>,
}

/// The platforms, as the server wired them.
#[async_trait]
pub trait Messengers: Send + Sync + 'static {
    /// The account behind the credentials; refused credentials are `credentials_refused`.
    async fn check(&self, credentials: &Credentials) -> CoreResult<Identity>;
    /// Points the account's updates at `url`, with the connection's secret that the platform
    /// sends back; the platform's id of the registration when it gives one.
    async fn set_webhook(&self, connection: &Connection, url: &str) -> CoreResult<Option<String>>;
    async fn remove_webhook(&self, connection: &Connection) -> CoreResult<()>;
    /// Whether a webhook call comes from the platform: it carries the connection's secret
    /// (in a header or in the body, as the platform does).
    fn authentic(&self, channel: &Channel, connection: &Connection, call: &HookCall<'_>) -> bool;
    /// One webhook body of a channel: the updates in it for this channel, in order.
    fn parse(&self, channel: &Channel, body: &[u8]) -> CoreResult<Vec<Incoming>>;
    /// The accounts a call to a webhook that several accounts share (Meta's, `family`
    /// `meta`) carries updates for: each one's channel kind and platform id.
    fn addressees(&self, family: &str, body: &[u8]) -> CoreResult<Vec<(ChannelKind, String)>>;
    /// The account's next updates from `offset` on (from the first not yet confirmed when
    /// `None`), waiting up to `wait` for one (Telegram's `getUpdates`).
    async fn poll(
        &self,
        connection: &Connection,
        offset: Option<i64>,
        wait: std::time::Duration,
    ) -> CoreResult<Vec<Polled>>;
    /// Whether the platform reaches our webhook (Telegram's `getWebhookInfo`, VK's callback
    /// server's status).
    async fn hook_state(&self, connection: &Connection) -> CoreResult<HookState>;
    /// The code a platform's [`Incoming::Confirm`] is answered with.
    async fn confirmation(&self, connection: &Connection) -> CoreResult<String>;
    /// What the platform tells of a new client beyond its updates: their name, if these carry
    /// none, and photo.
    async fn profile(
        &self,
        connection: &Connection,
        contact_external_id: &str,
    ) -> CoreResult<Option<Profile>>;
    /// The account's approved message templates, where the platform has them (WhatsApp);
    /// none elsewhere.
    async fn templates(&self, credentials: &Credentials) -> CoreResult<Vec<Template>>;
    /// Tells the platform the company read the client's messages up to this one (the
    /// platform's id of it), where it shows the client that; a no-op elsewhere.
    async fn mark_read(
        &self,
        credentials: &Credentials,
        chat: &str,
        external_id: &str,
    ) -> CoreResult<()>;
    /// Sends one reply with its files.
    async fn send(
        &self,
        credentials: &Credentials,
        reply: &DeliveryJob,
        files: Vec<OutgoingFile>,
    ) -> SendResult;
    /// Edits (`Some(text)`) or deletes (`None`) for everyone a message the company sent to
    /// the client `chat`, known by the platform's id, where the platform allows it.
    async fn change(
        &self,
        credentials: &Credentials,
        chat: &str,
        external_id: &str,
        text: Option<&str>,
    ) -> SendResult;
    /// The bytes of a file the platform holds for a client's message.
    async fn fetch_file(
        &self,
        credentials: &Credentials,
        file: &RemoteFile,
    ) -> CoreResult<crate::files::ByteStream<'static>>;
}

/// Seals connections at rest: ChaCha20-Poly1305 under a key derived from the server's secret
/// (kept in the data directory, or given to every node alike), so a copy of the database alone
/// gives no platform's token away.
#[derive(Clone)]
pub struct Sealer {
    key: [u8; 32],
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer(***)")
    }
}

impl Sealer {
    /// A sealer whose key is derived from the server's secret, for this use alone.
    pub fn new(server_secret: &[u8]) -> Sealer {
        use hmac::{Hmac, KeyInit, Mac};
        let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(server_secret)
            .expect("HMAC takes a key of any length");
        mac.update(b"beseda connector credentials v1");
        Sealer {
            key: mac.finalize().into_bytes().into(),
        }
    }

    pub fn seal(&self, connection: &Connection) -> CoreResult<String> {
        use base64::Engine;
        use chacha20poly1305::aead::{Aead, AeadCore, KeyInit};
        let plain =
            serde_json::to_vec(connection).map_err(|e| CoreError::Internal(e.to_string()))?;
        let cipher = chacha20poly1305::ChaCha20Poly1305::new(&self.key.into());
        let nonce =
            chacha20poly1305::ChaCha20Poly1305::generate_nonce(&mut chacha20poly1305::aead::OsRng);
        let sealed = cipher
            .encrypt(&nonce, plain.as_slice())
            .map_err(|_| CoreError::Internal("sealing failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(base64::engine::general_purpose::STANDARD_NO_PAD.encode(out))
    }

    pub fn open(&self, sealed: &str) -> CoreResult<Connection> {
        use base64::Engine;
        use chacha20poly1305::aead::{Aead, KeyInit};
        let broken = || CoreError::Internal("a channel's sealed credentials do not open".into());
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(sealed)
            .map_err(|_| broken())?;
        if bytes.len() < 12 {
            return Err(broken());
        }
        let (nonce, body) = bytes.split_at(12);
        let cipher = chacha20poly1305::ChaCha20Poly1305::new(&self.key.into());
        let plain = cipher.decrypt(nonce.into(), body).map_err(|_| broken())?;
        serde_json::from_slice(&plain).map_err(|_| broken())
    }

    /// A stable secret for `label`, derived from the server's and the same on every node: a
    /// token the server gives out without keeping it (the verify token of Meta's webhook).
    pub fn derive(&self, label: &str) -> String {
        let mut hex = crate::secret::hmac_hex(&self.key, &[label.as_bytes()]);
        hex.truncate(32);
        hex
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_counts_and_fills_its_variables() {
        let body = "Здравствуйте, {{1}}! Заказ {{2}} готов. {{1}}, ждём вас.";
        assert_eq!(Template::count_variables(body), 2);
        assert_eq!(Template::count_variables("Hello {{ x }} {{"), 0);
        let t = Template {
            name: "order_ready".into(),
            language: "ru".into(),
            category: None,
            header: None,
            body: body.into(),
            footer: None,
            variables: 2,
        };
        assert_eq!(
            t.render(&["Анна".into(), "№5".into()]),
            "Здравствуйте, Анна! Заказ №5 готов. Анна, ждём вас."
        );
    }

    #[test]
    fn sealed_credentials_open_only_under_the_same_secret() {
        let c = Connection {
            credentials: Credentials::Telegram {
                token: "123:abc".into(),
            },
            webhook_secret: "s".into(),
            account: "1".into(),
            hook_id: None,
            polling: false,
        };
        let sealer = Sealer::new(b"server secret");
        let sealed = sealer.seal(&c).unwrap();
        assert!(!sealed.contains("123:abc"));
        assert_ne!(sealed, sealer.seal(&c).unwrap(), "a fresh nonce each time");
        assert_eq!(sealer.open(&sealed).unwrap().credentials, c.credentials);
        assert!(Sealer::new(b"another").open(&sealed).is_err());
        assert!(!format!("{:?}", c.credentials).contains("abc"));
    }
}
