//! Built-in messenger connectors over HTTP: an administrator connects an account by its
//! credentials, and the platform's webhook calls come in at `/hooks/{kind}/{key}`.

use super::auth::ApiActor;
use super::error::{ApiResult, ErrorBody};
use super::json::{ApiJson, ApiPath, ApiQuery};
use crate::app::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use beseda_core::CoreError;
use beseda_core::connector::{ConnectorOverview, Credentials, HookCall};
use beseda_core::ids::ChannelId;
use beseda_core::transport::Channel;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

/// The messenger an account is on.
#[derive(Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorKind {
    Telegram,
    Vk,
    /// A phone number on WhatsApp's Cloud API.
    Whatsapp,
    /// A Facebook page's Messenger conversations.
    Facebook,
    /// The Instagram professional account linked to a Facebook page.
    Instagram,
}

/// How the platform's updates reach Beseda.
#[derive(Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Updates {
    /// The platform calls `/hooks/…` at this server's public address.
    Webhook,
    /// Beseda asks the platform (Telegram's `getUpdates`), for a server without a public
    /// HTTPS address.
    Polling,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectRequest {
    #[serde(rename = "type")]
    kind: ConnectorKind,
    /// Telegram: the bot's token from @BotFather. VK: a community's access token with the
    /// rights to messages, photos, documents and community management. WhatsApp: a system
    /// user's token with `whatsapp_business_messaging` and `whatsapp_business_management`.
    /// Facebook and Instagram: the page's access token with `pages_messaging` (and
    /// `instagram_manage_messages`).
    token: String,
    /// Telegram only; by default a webhook when this server's public address is HTTPS
    /// (Telegram calls no other), long polling otherwise.
    updates: Option<Updates>,
    /// WhatsApp: the phone number's id (the app's WhatsApp → API Setup).
    phone_number_id: Option<String>,
    /// WhatsApp: the WhatsApp Business account's id.
    business_account_id: Option<String>,
    /// Facebook and Instagram: the page's id.
    page_id: Option<String>,
    /// WhatsApp, Facebook and Instagram: the Meta app's secret, which signs its webhook.
    app_secret: Option<String>,
    /// Facebook and Instagram: the app has Meta's Human Agent permission, so replies may go
    /// out for 7 days after the client's last message instead of 24 hours.
    human_agent: Option<bool>,
}

impl ConnectRequest {
    /// The credentials, each field where its messenger needs it and nowhere else.
    fn credentials(self) -> Result<Credentials, CoreError> {
        let ConnectRequest {
            kind,
            token,
            phone_number_id,
            business_account_id,
            page_id,
            app_secret,
            human_agent,
            ..
        } = self;
        let needed = |field: &'static str, value: Option<String>| match value
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
        {
            Some(v) if v.len() <= 512 => Ok(v),
            Some(_) => Err(CoreError::invalid(field, "must have at most 512 bytes")),
            None => Err(CoreError::invalid(field, "is needed for this messenger")),
        };
        let unused = |field: &'static str, given: bool| {
            if given {
                Err(CoreError::invalid(field, "is not for this messenger"))
            } else {
                Ok(())
            }
        };
        let meta = matches!(
            kind,
            ConnectorKind::Whatsapp | ConnectorKind::Facebook | ConnectorKind::Instagram
        );
        let page = matches!(kind, ConnectorKind::Facebook | ConnectorKind::Instagram);
        if kind != ConnectorKind::Whatsapp {
            unused("phone_number_id", phone_number_id.is_some())?;
            unused("business_account_id", business_account_id.is_some())?;
        }
        if !page {
            unused("page_id", page_id.is_some())?;
            unused("human_agent", human_agent.is_some())?;
        }
        if !meta {
            unused("app_secret", app_secret.is_some())?;
        }
        let human_agent = human_agent.unwrap_or(false);
        Ok(match kind {
            ConnectorKind::Telegram => Credentials::Telegram { token },
            ConnectorKind::Vk => Credentials::Vk { token },
            ConnectorKind::Whatsapp => Credentials::Whatsapp {
                phone_number_id: needed("phone_number_id", phone_number_id)?,
                business_account_id: needed("business_account_id", business_account_id)?,
                token,
                app_secret: needed("app_secret", app_secret)?,
            },
            ConnectorKind::Facebook => Credentials::Facebook {
                page_id: needed("page_id", page_id)?,
                token,
                app_secret: needed("app_secret", app_secret)?,
                human_agent,
            },
            ConnectorKind::Instagram => Credentials::Instagram {
                page_id: needed("page_id", page_id)?,
                token,
                app_secret: needed("app_secret", app_secret)?,
                human_agent,
            },
        })
    }

    /// Whether the account's updates are polled for.
    fn polling(&self, public_url: &str) -> bool {
        match (&self.kind, self.updates) {
            (_, Some(u)) => u == Updates::Polling,
            (ConnectorKind::Telegram, None) => !public_url.starts_with("https://"),
            (_, None) => false,
        }
    }
}

/// GET /api/v1/connectors: the messenger accounts Beseda connects itself, with how their
/// updates come, their latest activity and what each platform says of its webhook (asked at
/// once, for a few seconds at most).
#[utoipa::path(get, path = "/api/v1/connectors", tag = "connectors",
    responses((status = 200, body = Vec<ConnectorOverview>), (status = 403, body = ErrorBody)))]
pub async fn list_connectors(
    State(state): State<AppState>,
    caller: ApiActor,
) -> ApiResult<Json<Vec<ConnectorOverview>>> {
    Ok(Json(
        state
            .connectors
            .list(&caller.actor, &state.public_url)
            .await?,
    ))
}

/// POST /api/v1/connectors: connects a messenger account (needs "manage settings"). The
/// platform checks the credentials (Telegram: `getMe`; VK: `groups.getById`; Meta: the phone
/// number or the page by its id) and names the channel; its webhook is set to this server's
/// public address with a secret (VK: a callback server, confirmed at once), a Telegram bot's
/// updates are polled for, or (Meta) the business account or page is subscribed to the app,
/// whose callback URL and verify token `GET /api/v1/connectors` shows for the app's dashboard.
/// Credentials are stored sealed and never shown again.
#[utoipa::path(post, path = "/api/v1/connectors", tag = "connectors", request_body = ConnectRequest,
    responses((status = 201, body = Channel), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`already_connected`: the account is connected already"),
        (status = 422, body = ErrorBody, description = "`credentials_refused`, `platform_refused`, `platform_unreachable`, `invalid_value`: nothing was created")))]
pub async fn connect(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiJson(req): ApiJson<ConnectRequest>,
) -> ApiResult<impl IntoResponse> {
    let polling = req.polling(&state.public_url);
    let channel = state
        .connectors
        .connect(
            &caller.actor,
            req.credentials()?,
            polling,
            &state.public_url,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(channel)))
}

/// DELETE /api/v1/connectors/{id}: turns the channel off and removes its webhook at the
/// platform; its dialogs stay.
#[utoipa::path(delete, path = "/api/v1/connectors/{id}", tag = "connectors", params(("id" = i64, Path)),
    responses((status = 200, body = Channel), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn disconnect(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Channel>> {
    Ok(Json(
        state
            .connectors
            .disconnect(&caller.actor, ChannelId(id))
            .await?,
    ))
}

/// POST /hooks/{kind}/{key}: a platform's webhook call for a connected channel.
#[utoipa::path(post, path = "/hooks/{kind}/{key}", tag = "connectors",
    description = "Called by the messenger platform, not by people: the body is the platform's update, the \
    secret travels as the platform sends it (Telegram: the `X-Telegram-Bot-Api-Secret-Token` header; VK: the \
    body's `secret`). An update the inbox does not take is acknowledged all the same, so the platform does not \
    resend it. The answer is `ok`, or VK's confirmation code to its `confirmation` call.",
    params(("kind" = String, Path, description = "`telegram` or `vk`"), ("key" = String, Path, description = "The channel's webhook key")),
    request_body(content = Object, content_type = "application/json"),
    responses((status = 200, body = String, content_type = "text/plain"), (status = 401, body = ErrorBody, description = "`unauthenticated`: the secret is wrong or missing"),
        (status = 404, body = ErrorBody, description = "`not_found`: no connected channel has this key")))]
pub async fn hook(
    State(state): State<AppState>,
    ApiPath((kind, key)): ApiPath<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<String> {
    let header = header_of(&headers);
    let call = HookCall {
        header: &header,
        body: &body,
    };
    Ok(state.connectors.receive(&kind, &key, &call).await?)
}

fn header_of(headers: &HeaderMap) -> impl Fn(&str) -> Option<String> + Sync + '_ {
    |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

/// Meta's webhook handshake, as its app dashboard makes it.
#[derive(Deserialize, IntoParams)]
pub struct MetaHandshake {
    #[serde(rename = "hub.mode", default)]
    #[param(rename = "hub.mode")]
    mode: String,
    #[serde(rename = "hub.verify_token", default)]
    #[param(rename = "hub.verify_token")]
    verify_token: String,
    #[serde(rename = "hub.challenge", default)]
    #[param(rename = "hub.challenge")]
    challenge: String,
}

/// GET /hooks/meta: Meta's verification of the callback URL (WhatsApp, Messenger, Instagram).
#[utoipa::path(get, path = "/hooks/meta", tag = "connectors",
    description = "Called by Meta when an administrator sets the callback URL in the app's dashboard: \
    `hub.challenge` is answered back when `hub.verify_token` is this server's (shown with each Meta channel \
    in `GET /api/v1/connectors`).",
    params(MetaHandshake),
    responses((status = 200, body = String, content_type = "text/plain"),
        (status = 403, body = ErrorBody, description = "`forbidden`: not a subscription, or another verify token"),
        (status = 422, body = ErrorBody, description = "`invalid_value`: a query that is not the handshake's")))]
pub async fn meta_handshake(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<MetaHandshake>,
) -> ApiResult<String> {
    Ok(state
        .connectors
        .verify_shared_hook("meta", &q.mode, &q.verify_token, &q.challenge)?)
}

/// POST /hooks/meta: Meta's webhook calls for every WhatsApp number, Facebook page and
/// Instagram account connected here.
#[utoipa::path(post, path = "/hooks/meta", tag = "connectors",
    description = "Called by Meta, not by people. One call may carry updates of several connected channels; \
    `X-Hub-Signature-256` must be the HMAC-SHA256 of the raw body under the app secret of every channel named \
    in it, else nothing is taken. Updates for accounts not connected here, and kinds the inbox does not take, \
    are acknowledged and left out; a repeated update changes nothing.",
    request_body(content = Object, content_type = "application/json"),
    responses((status = 200, body = String, content_type = "text/plain"),
        (status = 401, body = ErrorBody, description = "`unauthenticated`: the signature is wrong or missing")))]
pub async fn meta_hook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<&'static str> {
    let header = header_of(&headers);
    let call = HookCall {
        header: &header,
        body: &body,
    };
    state.connectors.receive_shared("meta", &call).await?;
    Ok("ok")
}
