//! Built-in messenger connectors over HTTP: an administrator connects an account by its
//! credentials, and the platform's webhook calls come in at `/hooks/{kind}/{key}`.

use super::auth::ApiActor;
use super::error::{ApiResult, ErrorBody};
use super::json::{ApiJson, ApiPath};
use crate::app::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use beseda_core::connector::{ConnectorOverview, Credentials, HookCall};
use beseda_core::ids::ChannelId;
use beseda_core::transport::Channel;
use serde::Deserialize;
use utoipa::ToSchema;

/// The messenger an account is on.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorKind {
    Telegram,
    Vk,
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
    /// rights to messages, photos, documents and community management.
    token: String,
    /// Telegram only; by default a webhook when this server's public address is HTTPS
    /// (Telegram calls no other), long polling otherwise.
    updates: Option<Updates>,
}

impl From<ConnectRequest> for Credentials {
    fn from(r: ConnectRequest) -> Credentials {
        match r.kind {
            ConnectorKind::Telegram => Credentials::Telegram { token: r.token },
            ConnectorKind::Vk => Credentials::Vk { token: r.token },
        }
    }
}

impl ConnectRequest {
    /// Whether the account's updates are polled for.
    fn polling(&self, public_url: &str) -> bool {
        match (&self.kind, self.updates) {
            (_, Some(u)) => u == Updates::Polling,
            (ConnectorKind::Telegram, None) => !public_url.starts_with("https://"),
            (ConnectorKind::Vk, None) => false,
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
    Ok(Json(state.connectors.list(&caller.actor).await?))
}

/// POST /api/v1/connectors: connects a messenger account (needs "manage settings"). The
/// platform checks the credentials (Telegram: `getMe`; VK: `groups.getById`) and names the
/// channel; its webhook is set to this server's public address with a secret (VK: a callback
/// server, confirmed at once), or a Telegram bot's updates are polled for. Credentials are
/// stored sealed and never shown again.
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
        .connect(&caller.actor, req.into(), polling, &state.public_url)
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
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let call = HookCall {
        header: &header,
        body: &body,
    };
    Ok(state.connectors.receive(&kind, &key, &call).await?)
}
