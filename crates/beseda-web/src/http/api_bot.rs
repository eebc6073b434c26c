//! The bot API (F37) under `/api/bot/v1`, authenticated by the bot's `X-Bot-Token`: the events
//! of the dialogs it sees (polled here, by WebSocket, or POSTed to its webhook), and its acts on
//! the dialogs it holds.

use super::api_attachments::{UploadForm, receive_all, serve};
use super::api_dialogs::FeedQuery;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::json::{ApiForm, ApiJson, ApiPath, ApiQuery};
use crate::app::AppState;
use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use beseda_core::CoreError;
use beseda_core::attachment::AttachmentView;
use beseda_core::bot::Bot;
use beseda_core::channel::Capabilities;
use beseda_core::company::Tag;
use beseda_core::dialog::{DialogView, MessageView};
use beseda_core::event::{EventFrame, EventId};
use beseda_core::ids::{AttachmentId, DialogId, TagId};
use beseda_core::library::{ClientCard, ClientTag};
use beseda_core::services::bots::{BotReply, HandTo};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The bot calling, proved by `X-Bot-Token`.
pub struct BotCaller(pub Bot);

impl FromRequestParts<AppState> for BotCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = super::auth::header_token(parts, "x-bot-token")?;
        Ok(BotCaller(state.bots.authenticate(&token).await?))
    }
}

/// GET /api/bot/v1/me: the bot itself, with the channels it serves.
#[utoipa::path(get, path = "/api/bot/v1/me", tag = "bot API", responses((status = 200, body = Bot), (status = 401, body = ErrorBody)))]
pub async fn me(BotCaller(bot): BotCaller) -> Json<Bot> {
    Json(bot)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// The last event id seen; 0 for the oldest the log keeps.
    after: Option<i64>,
    /// 1 to 500, default 100.
    limit: Option<u32>,
}

/// A page of a bot's events.
#[derive(Serialize, ToSchema)]
pub struct BotEventsPage {
    events: Vec<EventFrame>,
    /// Ask again with `after` set to this.
    next_after: i64,
}

/// GET /api/bot/v1/events: the events of the dialogs the bot sees, oldest first: the
/// unassigned dialogs of its channels and the dialogs it holds; when one leaves its sight it
/// gets `dialog_gone`. The same frames as the WebSocket and the webhook.
#[utoipa::path(get, path = "/api/bot/v1/events", tag = "bot API", params(EventsQuery),
    responses((status = 200, body = BotEventsPage), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn events(
    State(state): State<AppState>,
    BotCaller(bot): BotCaller,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> ApiResult<Response> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=beseda_core::services::bots::MAX_EVENTS).contains(&limit) {
        return Err(CoreError::invalid("limit", "must be 1 to 500").into());
    }
    let page = state
        .bots
        .events(&bot, EventId(q.after.unwrap_or(0).max(0)), limit)
        .await?;
    // Each frame is encoded once already: the page is put together from them.
    let frames: Vec<&str> = page.events.iter().map(|e| &*e.json).collect();
    let body = format!(
        "{{\"events\":[{}],\"next_after\":{}}}",
        frames.join(","),
        page.read_up_to.0
    );
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// A dialog as a bot sees it: the row managers see, and what its channel can carry.
#[derive(Serialize, ToSchema)]
pub struct BotDialog {
    #[serde(flatten)]
    dialog: DialogView,
    /// What a message in this dialog may hold: text length, files, quick-reply buttons.
    capabilities: Capabilities,
}

/// GET /api/bot/v1/dialogs/{id}: a dialog the bot sees, with its channel's capabilities.
#[utoipa::path(get, path = "/api/bot/v1/dialogs/{id}", tag = "bot API", params(("id" = i64, Path)),
    responses((status = 200, body = BotDialog), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn dialog(
    State(state): State<AppState>,
    BotCaller(bot): BotCaller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<BotDialog>> {
    let (dialog, capabilities) = state.bots.dialog(&bot, DialogId(id)).await?;
    Ok(Json(BotDialog {
        dialog,
        capabilities,
    }))
}

/// GET /api/bot/v1/dialogs/{id}/messages: the history of a dialog the bot sees, as for
/// managers.
#[utoipa::path(get, path = "/api/bot/v1/dialogs/{id}/messages", tag = "bot API", params(("id" = i64, Path), FeedQuery),
    responses((status = 200, body = Vec<MessageView>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn messages(
    State(state): State<AppState>,
    BotCaller(bot): BotCaller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<FeedQuery>,
) -> ApiResult<Json<Vec<MessageView>>> {
    let (page, limit) = q.page()?;
    Ok(Json(
        state.bots.feed(&bot, DialogId(id), page, limit).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BotMessage {
    /// At most 2000 characters, not counting whitespace, and what the channel takes; may be
    /// empty when files are sent.
    #[serde(default)]
    body: String,
    /// Files the bot uploaded into this dialog (`POST /api/bot/v1/dialogs/{id}/attachments`)
    /// and has not sent yet, within the channel's limits.
    #[serde(default)]
    attachment_ids: Vec<AttachmentId>,
    /// Quick-reply buttons under the text: the client taps one to answer with its label. How
    /// many and how long each may be is the dialog's `capabilities.buttons` (the widget, Telegram,
    /// VK, WhatsApp Business, Messenger and Instagram show them; a module declares its own).
    #[serde(default)]
    buttons: Vec<String>,
}

/// POST /api/bot/v1/dialogs/{id}/messages: writes to the client as the bot, in a dialog it
/// holds; the feed shows the bot's name. Delivered like a manager's message; a module's
/// webhook receives the buttons as `message.buttons`.
#[utoipa::path(post, path = "/api/bot/v1/dialogs/{id}/messages", tag = "bot API", params(("id" = i64, Path)), request_body = BotMessage,
    responses((status = 201, body = MessageView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "`dialog_not_yours`: the bot does not hold it"),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`message_too_long`, `invalid_attachment`, `too_many_attachments`, `attachments_too_large`, `buttons_not_supported` (the channel shows none), `too_many_buttons`, `invalid_value` (an empty, multi-line, too long or repeated label; buttons without text), `reply_window_closed`, `client_blocked`")))]
pub async fn send(
    State(state): State<AppState>,
    BotCaller(bot): BotCaller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(m): ApiJson<BotMessage>,
) -> ApiResult<impl IntoResponse> {
    let reply = BotReply {
        body: m.body,
        attachments: m.attachment_ids,
        buttons: m.buttons,
    };
    let sent = state.bots.send(&bot, DialogId(id), reply).await?;
    Ok((StatusCode::CREATED, Json(sent)))
}

/// POST /api/bot/v1/dialogs/{id}/attachments: uploads files to send in a dialog the bot holds,
/// as a manager's upload (`multipart/form-data`, each part a file, within the channel's limits).
/// The answer's ids go into `attachment_ids` of the bot's message.
#[utoipa::path(post, path = "/api/bot/v1/dialogs/{id}/attachments", tag = "bot API", params(("id" = i64, Path)),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = Vec<AttachmentView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "`dialog_not_yours`: the bot does not hold it"),
        (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody, description = "`attachment_too_large` with `details.kind` and `details.limit_bytes`"),
        (status = 422, body = ErrorBody, description = "`too_many_attachments`, `attachments_too_large`, `upload_quota_exceeded`"),
        (status = 507, body = ErrorBody, description = "`insufficient_storage`")))]
pub async fn upload(
    State(state): State<AppState>,
    BotCaller(bot): BotCaller,
    ApiPath(id): ApiPath<i64>,
    ApiForm(form): ApiForm,
) -> ApiResult<impl IntoResponse> {
    let caps = state.bots.upload_limits(&bot, DialogId(id)).await?;
    let batch = state.attachments.bot_uploads(caps, bot.id, DialogId(id));
    let views = receive_all(batch, form).await?;
    Ok((StatusCode::CREATED, Json(views)))
}

/// GET /api/bot/v1/attachments/{id}: a file of a dialog the bot sees (a client's photo or
/// document, say), or its own upload not yet sent.
#[utoipa::path(get, path = "/api/bot/v1/attachments/{id}", tag = "bot API", params(("id" = i64, Path)),
    responses((status = 200, description = "the file's bytes"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn download(
    State(state): State<AppState>,
    BotCaller(bot): BotCaller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let a = state.bots.attachment(&bot, AttachmentId(id)).await?;
    serve(&state, &a, false).await
}

/// GET /api/bot/v1/attachments/{id}/preview: an image's preview, a JPEG at most 320 px.
#[utoipa::path(get, path = "/api/bot/v1/attachments/{id}/preview", tag = "bot API", params(("id" = i64, Path)),
    responses((status = 200, description = "JPEG"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn preview(
    State(state): State<AppState>,
    BotCaller(bot): BotCaller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let a = state.bots.attachment(&bot, AttachmentId(id)).await?;
    serve(&state, &a, true).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BotAssign {
    /// `{"type": "manager", "id": …}`, `{"type": "group", "id": …}` (its present member whose
    /// turn it is), `{"type": "bot", "id": …}` (itself, to take an unassigned dialog), or
    /// `null` to release it.
    to: Option<HandTo>,
}

/// POST /api/bot/v1/dialogs/{id}/assign: takes an unassigned dialog of its channels, or hands
/// one it holds to a manager or another bot, or releases it. The feed records it (F17).
#[utoipa::path(post, path = "/api/bot/v1/dialogs/{id}/assign", tag = "bot API", params(("id" = i64, Path)), request_body = BotAssign,
    responses((status = 204), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "`dialog_not_yours`: held by someone else, or not its channel's"),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`invalid_value`: no such active manager, bot or group; `nobody_present`: no member of the group is present")))]
pub async fn assign(
    State(state): State<AppState>,
    BotCaller(bot): BotCaller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(a): ApiJson<BotAssign>,
) -> ApiResult<StatusCode> {
    state.bots.assign(&bot, DialogId(id), a.to).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// POST /api/bot/v1/dialogs/{id}/close: closes a dialog the bot holds (F08).
#[utoipa::path(post, path = "/api/bot/v1/dialogs/{id}/close", tag = "bot API", params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn close(
    State(state): State<AppState>,
    BotCaller(bot): BotCaller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state.bots.close(&bot, DialogId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// GET /api/bot/v1/dialogs/{id}/client: the card of a seen dialog's client.
#[utoipa::path(get, path = "/api/bot/v1/dialogs/{id}/client", tag = "bot API", params(("id" = i64, Path)),
    responses((status = 200, body = ClientCard), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn client(
    State(state): State<AppState>,
    BotCaller(bot): BotCaller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ClientCard>> {
    Ok(Json(state.bots.client_card(&bot, DialogId(id)).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BotTagging {
    #[serde(default)]
    pinned: bool,
}

/// PUT /api/bot/v1/dialogs/{id}/client/tags/{tag_id}: tags the client of a dialog the bot holds.
#[utoipa::path(put, path = "/api/bot/v1/dialogs/{id}/client/tags/{tag_id}", tag = "bot API",
    params(("id" = i64, Path), ("tag_id" = i64, Path)), request_body = BotTagging,
    responses((status = 200, body = Vec<ClientTag>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn put_tag(
    State(state): State<AppState>,
    BotCaller(bot): BotCaller,
    ApiPath((id, tag)): ApiPath<(i64, i64)>,
    ApiJson(t): ApiJson<BotTagging>,
) -> ApiResult<Json<Vec<ClientTag>>> {
    Ok(Json(
        state
            .bots
            .tag_client(&bot, DialogId(id), TagId(tag), Some(t.pinned))
            .await?,
    ))
}

/// DELETE /api/bot/v1/dialogs/{id}/client/tags/{tag_id}: takes the tag off.
#[utoipa::path(delete, path = "/api/bot/v1/dialogs/{id}/client/tags/{tag_id}", tag = "bot API",
    params(("id" = i64, Path), ("tag_id" = i64, Path)),
    responses((status = 200, body = Vec<ClientTag>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_tag(
    State(state): State<AppState>,
    BotCaller(bot): BotCaller,
    ApiPath((id, tag)): ApiPath<(i64, i64)>,
) -> ApiResult<Json<Vec<ClientTag>>> {
    Ok(Json(
        state
            .bots
            .tag_client(&bot, DialogId(id), TagId(tag), None)
            .await?,
    ))
}

/// GET /api/bot/v1/tags: the company's client tags, to tag with.
#[utoipa::path(get, path = "/api/bot/v1/tags", tag = "bot API", responses((status = 200, body = Vec<Tag>), (status = 401, body = ErrorBody)))]
pub async fn tags(State(state): State<AppState>, _bot: BotCaller) -> ApiResult<Json<Vec<Tag>>> {
    Ok(Json(state.library.tags().await?))
}
