//! Built-in messenger connectors: each platform's webhook verified and parsed into the core's
//! inbound messages, and a reply sent the platform's way with its answer mapped for the
//! delivery worker. The core knows no messenger: [`Platforms`] fills its `Messengers` port,
//! and the server wires it to the webhook route and the delivery worker. Every platform's base
//! URL is configurable, so tests use fakes.

pub mod http;
pub mod telegram;

use async_trait::async_trait;
use beseda_core::channel::ChannelKind;
use beseda_core::connector::{
    Credentials, Identity, Incoming, Messengers, OutgoingFile, RemoteFile, SendResult,
};
use beseda_core::files::ByteStream;
use beseda_core::ids::ChannelId;
use beseda_core::transport::DeliveryJob;
use beseda_core::{CoreError, CoreResult};

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

/// Where each platform's API is, and how fast each lets us send.
pub struct Platforms {
    /// The Telegram Bot API (`https://api.telegram.org` unless configured).
    telegram_api: String,
    telegram_pace: telegram::Pace,
    /// One client for every call, so that connections to a platform are reused.
    http: reqwest::Client,
}

impl Platforms {
    pub fn new(telegram_api: &str) -> Platforms {
        Platforms {
            telegram_api: telegram_api.to_owned(),
            telegram_pace: telegram::Pace::default(),
            http: http::client(),
        }
    }

    fn telegram(&self, credentials: &Credentials) -> telegram::TelegramBot {
        match credentials {
            Credentials::Telegram { token } => {
                telegram::TelegramBot::with_client(&self.telegram_api, token, self.http.clone())
            }
        }
    }
}

#[async_trait]
impl Messengers for Platforms {
    async fn check(&self, credentials: &Credentials) -> CoreResult<Identity> {
        Ok(self.telegram(credentials).check().await?)
    }

    async fn set_webhook(
        &self,
        credentials: &Credentials,
        url: &str,
        secret: &str,
    ) -> CoreResult<()> {
        Ok(self.telegram(credentials).set_webhook(url, secret).await?)
    }

    async fn remove_webhook(&self, credentials: &Credentials) -> CoreResult<()> {
        Ok(self.telegram(credentials).delete_webhook().await?)
    }

    fn secret_header(&self, _kind: ChannelKind) -> &'static str {
        telegram::SECRET_HEADER
    }

    fn parse(&self, kind: ChannelKind, channel: ChannelId, body: &[u8]) -> CoreResult<Incoming> {
        match kind {
            ChannelKind::Telegram => Ok(telegram::parse(channel, body)?),
            _ => Err(CoreError::NotFound("connector")),
        }
    }

    async fn send(
        &self,
        credentials: &Credentials,
        reply: &DeliveryJob,
        files: Vec<OutgoingFile>,
    ) -> SendResult {
        let bot = self.telegram(credentials);
        if let Err(wait) = self
            .telegram_pace
            .wait_turn(&bot, &reply.contact_external_id)
            .await
        {
            return SendResult::RetryAfter(Some(wait), "the bot's sending pace".into());
        }
        bot.send(reply, files).await
    }

    async fn fetch_file(
        &self,
        credentials: &Credentials,
        file: &RemoteFile,
    ) -> CoreResult<ByteStream<'static>> {
        Ok(self.telegram(credentials).download(&file.id).await?)
    }
}
