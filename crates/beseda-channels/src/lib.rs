//! Built-in messenger connectors: each platform's webhook verified and parsed into the core's
//! inbound messages, and a reply sent the platform's way with its answer mapped for the
//! delivery worker. The core knows no messenger: [`Platforms`] fills its `Messengers` port,
//! and the server wires it to the webhook route and the delivery worker. Every platform's base
//! URL is configurable, so tests use fakes.

pub mod http;
pub mod messenger;
pub mod meta;
pub mod pace;
pub mod telegram;
pub mod vk;
pub mod whatsapp;

use async_trait::async_trait;
use beseda_core::channel::ChannelKind;
use beseda_core::connector::{
    Connection, Credentials, HookCall, HookState, Identity, Incoming, Messengers, OutgoingFile,
    Polled, Profile, RemoteFile, SendResult, Template,
};
use beseda_core::files::ByteStream;
use beseda_core::transport::{Channel, DeliveryJob};
use beseda_core::{CoreError, CoreResult};
use pace::Pace;

/// Why a connector could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The platform refused the credentials.
    #[error("the platform refused the credentials: {0}")]
    Credentials(String),
    /// The platform answered with an error.
    #[error("the platform answered {code}: {description}")]
    Platform { code: i64, description: String },
    /// The platform could not be reached, or answered something else than its API.
    #[error("the platform could not be reached: {0}")]
    Unreachable(String),
    /// A webhook body that is not the platform's.
    #[error("not an update of the platform: {0}")]
    Malformed(String),
}

impl From<ConnectorError> for CoreError {
    fn from(e: ConnectorError) -> CoreError {
        let code = match &e {
            ConnectorError::Credentials(_) => "credentials_refused",
            ConnectorError::Platform { .. } => "platform_refused",
            ConnectorError::Unreachable(_) => "platform_unreachable",
            ConnectorError::Malformed(_) => "malformed_update",
        };
        CoreError::Unprocessable {
            code,
            message: e.to_string(),
        }
    }
}

/// A shared location as words and a map link.
pub fn location_text(latitude: f64, longitude: f64) -> String {
    format!(
        "📍 {latitude:.6}, {longitude:.6} https://www.openstreetmap.org/?mlat={latitude:.6}&mlon={longitude:.6}"
    )
}

/// Where each platform's API is.
pub struct Apis {
    /// The Telegram Bot API (`https://api.telegram.org` unless configured).
    pub telegram: String,
    /// The VK API (`https://api.vk.com` unless configured).
    pub vk: String,
    /// Meta's Graph API, for WhatsApp, Messenger and Instagram
    /// (`https://graph.facebook.com` unless configured).
    pub graph: String,
}

impl Default for Apis {
    fn default() -> Self {
        Apis {
            telegram: telegram::DEFAULT_API.into(),
            vk: vk::DEFAULT_API.into(),
            graph: meta::DEFAULT_API.into(),
        }
    }
}

/// Each platform's API, and how fast each lets us send.
pub struct Platforms {
    apis: Apis,
    telegram_pace: Pace,
    vk_pace: Pace,
    whatsapp_pace: Pace,
    messenger_pace: Pace,
    /// One client for every API call, so that connections to a platform are reused.
    http: reqwest::Client,
    /// And one for the platforms' files.
    downloads: reqwest::Client,
}

/// A connected account, as its platform's client.
enum Account {
    Telegram(telegram::TelegramBot),
    Vk(vk::VkGroup),
    Whatsapp(whatsapp::WhatsappNumber),
    Page(messenger::Page),
}

impl Platforms {
    pub fn new(apis: Apis) -> Platforms {
        Platforms {
            apis,
            telegram_pace: telegram::pace(),
            vk_pace: vk::pace(),
            whatsapp_pace: whatsapp::pace(),
            messenger_pace: messenger::pace(),
            http: http::client(),
            downloads: http::download_client(),
        }
    }

    /// Waits for the account's turn to send to `chat`; when it would be too long, the answer
    /// that sends the delivery back to wait.
    async fn turn(&self, account: &Account, chat: &str) -> Result<(), SendResult> {
        let (pace, key) = match account {
            Account::Telegram(bot) => (&self.telegram_pace, bot.id().to_owned()),
            Account::Vk(group) => (&self.vk_pace, group.key()),
            Account::Whatsapp(number) => (&self.whatsapp_pace, number.key()),
            Account::Page(page) => (&self.messenger_pace, page.key()),
        };
        pace.wait_turn(&key, chat)
            .await
            .map_err(|wait| SendResult::RetryAfter(Some(wait), "the account's sending pace".into()))
    }

    fn account(&self, credentials: &Credentials) -> Account {
        match credentials {
            Credentials::Telegram { token } => Account::Telegram(
                telegram::TelegramBot::with_client(&self.apis.telegram, token, self.http.clone()),
            ),
            Credentials::Vk { token } => Account::Vk(vk::VkGroup::with_client(
                &self.apis.vk,
                token,
                self.http.clone(),
            )),
            Credentials::Whatsapp {
                phone_number_id,
                business_account_id,
                token,
                ..
            } => Account::Whatsapp(whatsapp::WhatsappNumber::new(
                self.graph(token),
                phone_number_id,
                business_account_id,
            )),
            Credentials::Facebook {
                page_id,
                token,
                human_agent,
                ..
            }
            | Credentials::Instagram {
                page_id,
                token,
                human_agent,
                ..
            } => Account::Page(messenger::Page::new(
                self.graph(token),
                page_id,
                matches!(credentials, Credentials::Instagram { .. }),
                *human_agent,
            )),
        }
    }

    fn graph(&self, token: &str) -> meta::Graph {
        meta::Graph::new(&self.apis.graph, token, self.http.clone())
    }
}

#[async_trait]
impl Messengers for Platforms {
    async fn check(&self, credentials: &Credentials) -> CoreResult<Identity> {
        Ok(match self.account(credentials) {
            Account::Telegram(bot) => bot.check().await?,
            Account::Vk(group) => group.check().await?,
            Account::Whatsapp(number) => number.check().await?,
            Account::Page(page) => page.check().await?,
        })
    }

    async fn set_webhook(&self, c: &Connection, url: &str) -> CoreResult<Option<String>> {
        Ok(match self.account(&c.credentials) {
            Account::Telegram(bot) => bot
                .set_webhook(url, &c.webhook_secret)
                .await
                .map(|()| None)?,
            Account::Vk(group) => Some(
                group
                    .add_callback_server(&c.account, url, &c.webhook_secret)
                    .await?,
            ),
            // Meta's callback URL is the app's, set in its dashboard: the account is
            // subscribed to the app.
            Account::Whatsapp(number) => number.subscribe().await.map(|()| None)?,
            Account::Page(page) => page.subscribe().await.map(|()| None)?,
        })
    }

    async fn remove_webhook(&self, c: &Connection) -> CoreResult<()> {
        match (self.account(&c.credentials), &c.hook_id) {
            (Account::Telegram(bot), _) => bot.delete_webhook().await?,
            (Account::Vk(group), Some(server)) => {
                group.delete_callback_server(&c.account, server).await?;
            }
            (Account::Vk(_), None) => {}
            (Account::Whatsapp(number), _) => number.unsubscribe().await?,
            (Account::Page(page), _) => page.unsubscribe().await?,
        }
        Ok(())
    }

    fn authentic(&self, channel: &Channel, c: &Connection, call: &HookCall<'_>) -> bool {
        match channel.kind {
            ChannelKind::Telegram => telegram::verify(
                &c.webhook_secret,
                (call.header)(telegram::SECRET_HEADER).as_deref(),
            ),
            ChannelKind::Vk => {
                vk::verify(channel.external_id.as_deref(), &c.webhook_secret, call.body)
            }
            ChannelKind::WhatsappBusiness | ChannelKind::FbInstagram => {
                c.credentials.signing_secret().is_some_and(|secret| {
                    meta::verify(
                        secret,
                        (call.header)(meta::SIGNATURE_HEADER).as_deref(),
                        call.body,
                    )
                })
            }
            _ => false,
        }
    }

    fn parse(&self, channel: &Channel, body: &[u8]) -> CoreResult<Vec<Incoming>> {
        let account = channel.external_id.as_deref().unwrap_or_default();
        match channel.kind {
            ChannelKind::Telegram => Ok(vec![telegram::parse(channel.id, body)?]),
            ChannelKind::Vk => Ok(vec![vk::parse(channel.id, body)?]),
            ChannelKind::WhatsappBusiness => Ok(whatsapp::parse(channel.id, account, body)?),
            ChannelKind::FbInstagram => Ok(messenger::parse(channel.id, account, body)?),
            _ => Err(CoreError::NotFound("connector")),
        }
    }

    fn addressees(&self, family: &str, body: &[u8]) -> CoreResult<Vec<(ChannelKind, String)>> {
        match family {
            "meta" => Ok(meta::addressees(body)?),
            _ => Err(CoreError::NotFound("webhook")),
        }
    }

    async fn poll(
        &self,
        c: &Connection,
        offset: Option<i64>,
        wait: std::time::Duration,
    ) -> CoreResult<Vec<Polled>> {
        match self.account(&c.credentials) {
            // The wait ends well within a call's time.
            Account::Telegram(bot) => Ok(bot
                .get_updates(offset, wait.min(http::CALL_TIMEOUT / 2))
                .await?),
            Account::Vk(_) | Account::Whatsapp(_) | Account::Page(_) => {
                Err(CoreError::NotFound("polling"))
            }
        }
    }

    async fn hook_state(&self, c: &Connection) -> CoreResult<HookState> {
        Ok(match (self.account(&c.credentials), &c.hook_id) {
            (Account::Telegram(bot), _) => bot.webhook_state().await?,
            (Account::Vk(group), Some(server)) => group.callback_state(&c.account, server).await?,
            (Account::Vk(_), None) => HookState {
                ok: false,
                error: Some("no callback server was added".into()),
                error_at: None,
            },
            (Account::Whatsapp(number), _) => number.hook_state().await?,
            (Account::Page(page), _) => page.hook_state().await?,
        })
    }

    async fn confirmation(&self, c: &Connection) -> CoreResult<String> {
        match self.account(&c.credentials) {
            Account::Vk(group) => Ok(group.confirmation_code(&c.account).await?),
            Account::Telegram(_) | Account::Whatsapp(_) | Account::Page(_) => {
                Err(CoreError::NotFound("confirmation"))
            }
        }
    }

    async fn profile(&self, c: &Connection, contact: &str) -> CoreResult<Option<Profile>> {
        Ok(match self.account(&c.credentials) {
            Account::Vk(group) => group.profile(contact).await?,
            Account::Telegram(bot) => bot.profile_photo(contact).await?.map(|photo| Profile {
                photo: Some(photo),
                ..Profile::default()
            }),
            Account::Page(page) => page.profile(contact).await?,
            // A WhatsApp client's name comes with each message.
            Account::Whatsapp(_) => None,
        })
    }

    async fn templates(&self, credentials: &Credentials) -> CoreResult<Vec<Template>> {
        match self.account(credentials) {
            Account::Whatsapp(number) => Ok(number.templates().await?),
            Account::Telegram(_) | Account::Vk(_) | Account::Page(_) => Ok(Vec::new()),
        }
    }

    async fn mark_read(
        &self,
        credentials: &Credentials,
        chat: &str,
        external_id: &str,
    ) -> CoreResult<()> {
        match self.account(credentials) {
            Account::Whatsapp(number) => Ok(number.mark_read(external_id).await?),
            Account::Page(page) => Ok(page.mark_read(chat).await?),
            Account::Telegram(_) | Account::Vk(_) => Ok(()),
        }
    }

    async fn send(
        &self,
        credentials: &Credentials,
        reply: &DeliveryJob,
        files: Vec<OutgoingFile>,
    ) -> SendResult {
        let account = self.account(credentials);
        if let Err(wait) = self.turn(&account, &reply.contact_external_id).await {
            return wait;
        }
        match account {
            Account::Telegram(bot) => bot.send(reply, files).await,
            Account::Vk(group) => group.send(reply, files).await,
            Account::Whatsapp(number) => number.send(reply, files).await,
            Account::Page(page) => page.send(reply, files).await,
        }
    }

    async fn change(
        &self,
        credentials: &Credentials,
        chat: &str,
        external_id: &str,
        text: Option<&str>,
    ) -> SendResult {
        let account = self.account(credentials);
        if let Err(wait) = self.turn(&account, chat).await {
            return wait;
        }
        match account {
            Account::Telegram(bot) => bot.change(external_id, text).await,
            Account::Vk(group) => group.change(chat, external_id, text).await,
            Account::Whatsapp(_) | Account::Page(_) => {
                SendResult::Failed(beseda_core::transport::Failure {
                    code: "not_supported_by_channel".into(),
                    message: "Meta's platforms do not let a business edit or delete a sent message"
                        .into(),
                })
            }
        }
    }

    async fn fetch_file(
        &self,
        credentials: &Credentials,
        file: &RemoteFile,
    ) -> CoreResult<ByteStream<'static>> {
        Ok(match self.account(credentials) {
            Account::Telegram(bot) => bot.download(&file.id).await?,
            // VK and Messenger give each file by its address.
            Account::Vk(_) | Account::Page(_) => http::stream(&self.downloads, &file.id).await?,
            Account::Whatsapp(number) => number.download(&self.downloads, &file.id).await?,
        })
    }
}
