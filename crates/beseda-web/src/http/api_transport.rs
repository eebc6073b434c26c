//! The transport API for integration modules (F38), under `/api/transport/v1`, authenticated by
//! the module's `X-Transport-Token`; and the settings endpoints that connect a module.

use super::auth::ApiActor;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::json::{ApiJson, ApiPath};
use crate::app::AppState;
use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use beseda_core::CoreError;
use beseda_core::channel::{Capabilities, ChannelKind};
use beseda_core::company::{Author, ImportMessage};
use beseda_core::dialog::{
    ContactDetails, DeliveryStatus, HistoryImport, InboundMessage, Ingested,
};
use beseda_core::ids::{AttachmentId, ChannelId, DialogId, MessageId, ModuleId};
use beseda_core::services::transport::ChannelSpec;
use beseda_core::time::{Clock, SystemClock, Timestamp};
use beseda_core::transport::{
    Channel, Failure, MessageRef, ReportOutcome, StatusReport, TransportModule,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The module calling, proved by `X-Transport-Token`.
pub struct ModuleCaller(pub TransportModule);

impl FromRequestParts<AppState> for ModuleCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = super::auth::header_token(parts, "x-transport-token")?;
        Ok(ModuleCaller(state.transport.authenticate(&token).await?))
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewModuleRequest {
    name: String,
    /// Where outgoing messages are POSTed.
    webhook_url: String,
}

/// A connected module with its secrets, shown this once.
#[derive(Serialize, ToSchema)]
pub struct NewModuleResponse {
    module: TransportModule,
    /// The module sends it as `X-Transport-Token`.
    token: String,
    /// Verifies our webhooks: `X-Beseda-Signature: sha256=HMAC-SHA256(secret, "<X-Beseda-Timestamp>.<body>")`.
    webhook_secret: String,
}

/// POST /api/v1/transport-modules: connects an integration module (needs "manage settings").
#[utoipa::path(post, path = "/api/v1/transport-modules", tag = "settings", request_body = NewModuleRequest,
    responses((status = 201, body = NewModuleResponse), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_module(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiJson(req): ApiJson<NewModuleRequest>,
) -> ApiResult<impl IntoResponse> {
    let new = state
        .transport
        .create_module(&caller.actor, &req.name, &req.webhook_url)
        .await?;
    let body = NewModuleResponse {
        module: new.module,
        token: new.token.expose().to_owned(),
        webhook_secret: new.webhook_secret,
    };
    Ok((StatusCode::CREATED, Json(body)))
}

/// GET /api/v1/transport-modules: the connected modules.
#[utoipa::path(get, path = "/api/v1/transport-modules", tag = "settings", responses((status = 200, body = Vec<TransportModule>), (status = 403, body = ErrorBody)))]
pub async fn list_modules(
    State(state): State<AppState>,
    caller: ApiActor,
) -> ApiResult<Json<Vec<TransportModule>>> {
    Ok(Json(state.transport.list_modules(&caller.actor).await?))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct RenewModule {
    /// A new webhook address; the current one stays when absent.
    webhook_url: Option<String>,
}

/// What a renewed module must be given, shown this once.
#[derive(Serialize, ToSchema)]
pub struct RenewedModule {
    module: TransportModule,
    /// The new `X-Transport-Token`; the old one no longer works.
    token: String,
}

/// POST /api/v1/transport-modules/{id}/renew: a new token for the module (needs "manage
/// settings"), and a new webhook address if given.
#[utoipa::path(post, path = "/api/v1/transport-modules/{id}/renew", tag = "settings", params(("id" = i64, Path)), request_body = RenewModule,
    responses((status = 200, body = RenewedModule), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn renew_module(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<ModuleId>,
    ApiJson(req): ApiJson<RenewModule>,
) -> ApiResult<Json<RenewedModule>> {
    let webhook = req.webhook_url.filter(|u| !u.is_empty());
    let (module, token) = state
        .transport
        .renew_module(&caller.actor, id, webhook.as_deref())
        .await?;
    Ok(Json(RenewedModule {
        module,
        token: token.expose().to_owned(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelRequest {
    #[serde(rename = "type")]
    kind: ChannelKind,
    name: String,
    avatar_url: Option<String>,
    /// The module's own id for the channel.
    external_id: Option<String>,
    /// Required for `custom` channels; the messenger types have theirs built in (F26).
    capabilities: Option<Capabilities>,
}

impl From<ChannelRequest> for ChannelSpec {
    fn from(r: ChannelRequest) -> Self {
        ChannelSpec {
            kind: r.kind,
            name: r.name,
            avatar_url: r.avatar_url,
            external_id: r.external_id,
            capabilities: r.capabilities,
        }
    }
}

/// POST /api/transport/v1/channels: registers a channel with its capabilities.
#[utoipa::path(post, path = "/api/transport/v1/channels", tag = "transport", request_body = ChannelRequest,
    responses((status = 201, body = Channel), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    params(("X-Transport-Token" = String, Header)))]
pub async fn register_channel(
    State(state): State<AppState>,
    ModuleCaller(module): ModuleCaller,
    ApiJson(req): ApiJson<ChannelRequest>,
) -> ApiResult<impl IntoResponse> {
    Ok((
        StatusCode::CREATED,
        Json(
            state
                .transport
                .register_channel(&module, req.into())
                .await?,
        ),
    ))
}

/// GET /api/transport/v1/channels: the module's channels.
#[utoipa::path(get, path = "/api/transport/v1/channels", tag = "transport", responses((status = 200, body = Vec<Channel>), (status = 401, body = ErrorBody)),
    params(("X-Transport-Token" = String, Header)))]
pub async fn list_channels(
    State(state): State<AppState>,
    ModuleCaller(module): ModuleCaller,
) -> ApiResult<Json<Vec<Channel>>> {
    Ok(Json(state.transport.channels(&module).await?))
}

/// PUT /api/transport/v1/channels/{id}: changes a channel's name, avatar or capabilities.
#[utoipa::path(put, path = "/api/transport/v1/channels/{id}", tag = "transport", request_body = ChannelRequest,
    params(("id" = i64, Path), ("X-Transport-Token" = String, Header)),
    responses((status = 200, body = Channel), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_channel(
    State(state): State<AppState>,
    ModuleCaller(module): ModuleCaller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<ChannelRequest>,
) -> ApiResult<Json<Channel>> {
    Ok(Json(
        state
            .transport
            .update_channel(&module, ChannelId(id), req.into())
            .await?,
    ))
}

/// DELETE /api/transport/v1/channels/{id}: deactivates a channel; its dialogs stay.
#[utoipa::path(delete, path = "/api/transport/v1/channels/{id}", tag = "transport", params(("id" = i64, Path), ("X-Transport-Token" = String, Header)),
    responses((status = 200, body = Channel), (status = 404, body = ErrorBody)))]
pub async fn deactivate_channel(
    State(state): State<AppState>,
    ModuleCaller(module): ModuleCaller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Channel>> {
    Ok(Json(
        state
            .transport
            .set_channel_active(&module, ChannelId(id), false)
            .await?,
    ))
}

/// The client who wrote, as the messenger knows them.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    /// The client's id on the channel (1 to 255 bytes).
    external_id: String,
    nickname: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    /// A phone or an email links the client to an existing client card (F04).
    phone: Option<String>,
    email: Option<String>,
    avatar_url: Option<String>,
    profile_url: Option<String>,
    language: Option<String>,
    /// `utm_source`, `utm_medium`, … as the client arrived with them.
    #[schema(value_type = Option<Object>)]
    utm: Option<std::collections::BTreeMap<String, String>>,
}

impl Customer {
    /// The client's id on the channel, the name to show, and the rest of what is known.
    fn parse(self, page: Option<String>) -> Result<(String, String, ContactDetails), CoreError> {
        if self.external_id.is_empty() || self.external_id.len() > 255 {
            return Err(CoreError::invalid(
                "customer.external_id",
                "must have 1 to 255 bytes",
            ));
        }
        let full = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let name = if full.trim().is_empty() {
            self.nickname
                .clone()
                .unwrap_or_else(|| self.external_id.clone())
        } else {
            full
        };
        let details = ContactDetails {
            nickname: self.nickname,
            phone: self.phone,
            email: self.email,
            avatar_url: self.avatar_url,
            profile_url: self.profile_url,
            language: self.language,
            page,
            utm: self
                .utm
                .filter(|u| !u.is_empty())
                .map(|u| serde_json::to_string(&u).unwrap_or_default()),
            referrer: None,
            self_declared: false,
        };
        Ok((self.external_id, name, details))
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushMessage {
    channel_id: ChannelId,
    customer: Customer,
    /// The module's id of the message: a repeat with the same id changes nothing and gets the
    /// first answer.
    external_id: String,
    text: String,
    /// When the client wrote it, epoch milliseconds; now when absent.
    sent_at: Option<i64>,
    /// For a website widget: the page the client wrote from.
    page_link: Option<String>,
    /// The client's files: uploaded first (`{"id": …}` from
    /// `POST /api/transport/v1/channels/{id}/attachments`) or fetched by us from a URL
    /// (`{"url": …, "file_name": …}`). The message is announced only once they are stored.
    #[serde(default)]
    attachments: Vec<PushAttachment>,
    /// The channel's id of the message this one answers (F15).
    quote_external_id: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushAttachment {
    id: Option<AttachmentId>,
    /// An http(s) address we download the file from, within the channel's limits.
    url: Option<String>,
    file_name: Option<String>,
}

/// The ids of a push's files, downloading those given by URL into storage first.
async fn push_files(
    state: &AppState,
    module: &TransportModule,
    channel: ChannelId,
    files: Vec<PushAttachment>,
) -> ApiResult<Vec<AttachmentId>> {
    let mut ids = Vec::with_capacity(files.len());
    // The channel, read once for all the files given by URL.
    let mut found = None;
    for (i, f) in files.into_iter().enumerate() {
        let field = format!("attachments[{i}]");
        match (f.id, f.url) {
            (Some(id), None) => ids.push(id),
            (None, Some(url)) => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(CoreError::invalid(field, "url must be http:// or https://").into());
                }
                if found.is_none() {
                    found = Some(state.transport.channel(module, channel).await?);
                }
                let on = found.as_ref().expect("read above");
                let id = state
                    .attachments
                    .fetch_for_channel(on, &url, f.file_name.as_deref(), &field)
                    .await?;
                ids.push(id);
            }
            _ => return Err(CoreError::invalid(field, "give either id or url").into()),
        }
    }
    Ok(ids)
}

#[derive(Serialize, ToSchema)]
pub struct PushResult {
    message_id: MessageId,
    dialog_id: DialogId,
    /// The same external id was pushed before; nothing changed.
    duplicate: bool,
}

/// POST /api/transport/v1/messages: a client message comes in (F38). A blocked client's message
/// is refused with 409 `client_blocked` and recorded, not shown (F10).
#[utoipa::path(post, path = "/api/transport/v1/messages", tag = "transport", request_body = PushMessage, params(("X-Transport-Token" = String, Header)),
    responses((status = 200, body = PushResult), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn push_message(
    State(state): State<AppState>,
    ModuleCaller(module): ModuleCaller,
    ApiJson(req): ApiJson<PushMessage>,
) -> ApiResult<Json<PushResult>> {
    let (contact_external_id, contact_name, details) = req.customer.parse(req.page_link)?;
    let attachments = push_files(&state, &module, req.channel_id, req.attachments).await?;
    let m = InboundMessage {
        attachments,
        quote_external_id: req.quote_external_id,
        channel_id: req.channel_id,
        contact_external_id,
        contact_name,
        external_id: req.external_id,
        body: req.text,
        sent_at: req.sent_at.map_or_else(|| SystemClock.now(), Timestamp),
        details,
    };
    match state.transport.push(&module, m).await? {
        Ingested::Accepted {
            dialog_id,
            message_id,
        } => Ok(Json(PushResult {
            message_id,
            dialog_id,
            duplicate: false,
        })),
        Ingested::Duplicate {
            dialog_id,
            message_id,
        } => Ok(Json(PushResult {
            message_id,
            dialog_id,
            duplicate: true,
        })),
        Ingested::Refused => Err(CoreError::ClientBlocked.into()),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    channel_id: ChannelId,
    /// Our id of the message (sent in the webhook); with it, `external_id` (if given) is
    /// recorded as the module's id of the message.
    message_id: Option<MessageId>,
    /// The module's id of the message: names it when `message_id` is absent. The same word as
    /// a push's `external_id`, a quote's `quote_external_id` and the webhook answer's.
    external_id: Option<String>,
    /// `sent`, `delivered`, `read` or `failed`.
    status: DeliveryStatus,
    /// With `failed`: why, as the manager will read it.
    error: Option<Failure>,
    /// With `read`: every company message of the dialog up to this one is read.
    #[serde(default)]
    up_to: bool,
}

/// POST /api/transport/v1/messages/status: a delivery report (F31). Statuses only move forward;
/// a late or repeated report answers `changed: false`.
#[utoipa::path(post, path = "/api/transport/v1/messages/status", tag = "transport", request_body = StatusRequest, params(("X-Transport-Token" = String, Header)),
    responses((status = 200, body = ReportOutcome), (status = 404, body = ErrorBody, description = "unknown channel or message; nothing changes"), (status = 422, body = ErrorBody)))]
pub async fn report_status(
    State(state): State<AppState>,
    ModuleCaller(module): ModuleCaller,
    ApiJson(req): ApiJson<StatusRequest>,
) -> ApiResult<Json<ReportOutcome>> {
    let (message, external_id) = match (req.message_id, req.external_id) {
        (Some(id), external) => (MessageRef::Ours(id), external),
        (None, Some(t)) => (MessageRef::External(t), None),
        (None, None) => {
            return Err(CoreError::invalid("message_id", "give message_id or external_id").into());
        }
    };
    if req.status == DeliveryStatus::Queued {
        return Err(
            CoreError::invalid("status", "a report is sent, delivered, read or failed").into(),
        );
    }
    if req.status == DeliveryStatus::Failed && req.error.is_none() {
        return Err(CoreError::invalid("error", "a failure says why").into());
    }
    if req.up_to {
        if req.status != DeliveryStatus::Read {
            return Err(
                CoreError::invalid("up_to", "only a read report covers earlier messages").into(),
            );
        }
        let changed = state
            .transport
            .read_up_to(&module, req.channel_id, message)
            .await?;
        return Ok(Json(ReportOutcome {
            changed: changed > 0,
            status: DeliveryStatus::Read,
        }));
    }
    let report = StatusReport {
        channel_id: req.channel_id,
        message,
        status: req.status,
        failure: req.error,
        external_id,
    };
    Ok(Json(state.transport.report(&module, report).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientMessageChange {
    channel_id: ChannelId,
    /// The module's id of the client's message, as pushed.
    external_id: String,
    /// The new text; absent to delete the message.
    text: Option<String>,
}

/// PUT /api/transport/v1/messages: the client edited a message on their side (where the channel
/// can edit text).
#[utoipa::path(put, path = "/api/transport/v1/messages", tag = "transport", request_body = ClientMessageChange, params(("X-Transport-Token" = String, Header)),
    responses((status = 200, body = beseda_core::dialog::MessageView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn edit_message(
    State(state): State<AppState>,
    ModuleCaller(module): ModuleCaller,
    ApiJson(req): ApiJson<ClientMessageChange>,
) -> ApiResult<Json<beseda_core::dialog::MessageView>> {
    let text = req
        .text
        .ok_or_else(|| CoreError::invalid("text", "an edit has a text"))?;
    Ok(Json(
        state
            .transport
            .change_client_message(&module, req.channel_id, &req.external_id, Some(&text))
            .await?,
    ))
}

/// DELETE /api/transport/v1/messages: the client deleted a message on their side (where the
/// channel can delete); its text is withheld from then on.
#[utoipa::path(delete, path = "/api/transport/v1/messages", tag = "transport", request_body = ClientMessageChange, params(("X-Transport-Token" = String, Header)),
    responses((status = 200, body = beseda_core::dialog::MessageView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn delete_message(
    State(state): State<AppState>,
    ModuleCaller(module): ModuleCaller,
    ApiJson(req): ApiJson<ClientMessageChange>,
) -> ApiResult<Json<beseda_core::dialog::MessageView>> {
    Ok(Json(
        state
            .transport
            .change_client_message(&module, req.channel_id, &req.external_id, None)
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HistoryAuthor {
    Client,
    Company,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryMessage {
    /// The channel's id of the message.
    external_id: String,
    from: HistoryAuthor,
    text: String,
    /// When it was written, epoch milliseconds.
    sent_at: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryRequest {
    channel_id: ChannelId,
    customer: Customer,
    /// Oldest first, at most 1000.
    messages: Vec<HistoryMessage>,
    /// Whether the conversation is over (default): a closed dialog waits for no answer.
    #[serde(default = "yes")]
    closed: bool,
}

fn yes() -> bool {
    true
}

#[derive(Serialize, ToSchema)]
pub struct HistoryResult {
    dialog_id: DialogId,
    /// `false`: the client already had a dialog, which stays as it was.
    imported: bool,
}

/// POST /api/transport/v1/history: brings in a client's past conversation when a channel is
/// connected: a new dialog with its messages, read by everyone, with no notification. A client
/// who already has a dialog keeps it (`imported: false`), so a repeat changes nothing.
#[utoipa::path(post, path = "/api/transport/v1/history", tag = "transport", request_body = HistoryRequest, params(("X-Transport-Token" = String, Header)),
    responses((status = 200, body = HistoryResult), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn import_history(
    State(state): State<AppState>,
    ModuleCaller(module): ModuleCaller,
    ApiJson(req): ApiJson<HistoryRequest>,
) -> ApiResult<Json<HistoryResult>> {
    let (contact_external_id, contact_name, details) = req.customer.parse(None)?;
    let messages = req
        .messages
        .into_iter()
        .map(|m| ImportMessage {
            author: match m.from {
                HistoryAuthor::Client => Author::Client,
                HistoryAuthor::Company => Author::Company,
            },
            body: m.text,
            external_id: Some(m.external_id),
            created_at: Timestamp(m.sent_at),
        })
        .collect();
    let h = HistoryImport {
        channel_id: req.channel_id,
        contact_external_id,
        contact_name,
        details,
        closed: req.closed,
        messages,
    };
    let (dialog_id, imported) = state.transport.import_history(&module, h).await?;
    Ok(Json(HistoryResult {
        dialog_id,
        imported,
    }))
}
