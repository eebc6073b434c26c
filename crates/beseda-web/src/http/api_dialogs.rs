//! The manager API for one dialog: view, feed, write, reassign, close, read state, draft,
//! block and detach (F07–F10, F14, F15, F17, F18, F29, F30, F33).

use super::auth::ApiActor;
use super::error::{ApiResult, ErrorBody};
use super::json::{ApiJson, ApiPath, ApiQuery};
use crate::app::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use beseda_core::CoreError;
use beseda_core::connector::{Template, TemplateUse};
use beseda_core::dialog::{Counters, DialogView, FeedPage, MessageView, Responsible};
use beseda_core::ids::{AttachmentId, DialogId, MessageId};
use beseda_core::time::Timestamp;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

/// GET /api/v1/dialogs/{id}: the dialog as the caller sees it; 404 if they may not see it.
#[utoipa::path(get, path = "/api/v1/dialogs/{id}", tag = "dialogs", params(("id" = i64, Path)),
    responses((status = 200, body = DialogView), (status = 404, body = ErrorBody)))]
pub async fn get_dialog(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<DialogView>> {
    Ok(Json(state.dialogs.view(&caller.actor, DialogId(id)).await?))
}

/// Which part of the feed: at most one of `before`, `after`, `around` (message ids) or `since`
/// (epoch ms); none gives the newest messages.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    before: Option<i64>,
    after: Option<i64>,
    around: Option<i64>,
    since: Option<i64>,
    /// 1 to 200, default 50.
    limit: Option<u32>,
}

impl FeedQuery {
    /// The page asked for and its size.
    pub fn page(&self) -> Result<(FeedPage, u32), CoreError> {
        let page = match (self.before, self.after, self.around, self.since) {
            (None, None, None, None) => FeedPage::Latest,
            (Some(m), None, None, None) => FeedPage::Before(MessageId(m)),
            (None, Some(m), None, None) => FeedPage::After(MessageId(m)),
            (None, None, Some(m), None) => FeedPage::Around(MessageId(m)),
            (None, None, None, Some(t)) => FeedPage::Since(Timestamp(t)),
            _ => {
                return Err(CoreError::invalid(
                    "before",
                    "give at most one of before, after, around, since",
                ));
            }
        };
        let limit = self.limit.unwrap_or(50);
        if !(1..=beseda_core::services::dialogs::MAX_FEED_PAGE).contains(&limit) {
            return Err(CoreError::invalid("limit", "must be 1 to 200"));
        }
        Ok((page, limit))
    }
}

/// GET /api/v1/dialogs/{id}/messages: a page of the feed, oldest first.
#[utoipa::path(get, path = "/api/v1/dialogs/{id}/messages", tag = "dialogs", params(("id" = i64, Path), FeedQuery),
    responses((status = 200, body = Vec<MessageView>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn get_messages(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<FeedQuery>,
) -> ApiResult<Json<Vec<MessageView>>> {
    let (page, limit) = q.page()?;
    Ok(Json(
        state
            .dialogs
            .feed(&caller.actor, DialogId(id), page, limit)
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    /// At most 2000 characters, whitespace not counted (Unicode scalar values), and not more
    /// than the channel allows.
    #[serde(default)]
    body: String,
    /// Answers this message of the same dialog (F15), where the channel can quote.
    quote_id: Option<MessageId>,
    /// Files uploaded into this dialog (`POST /api/v1/dialogs/{id}/attachments`) and not yet
    /// sent: at most 10 images and 1 other file, 500 MB in all, within the channel's limits.
    #[serde(default)]
    attachment_ids: Vec<AttachmentId>,
    /// One of the channel's approved templates (`GET /api/v1/dialogs/{id}/templates`) with its
    /// variables filled in, sent alone (no body, quote or files): also after the messenger's
    /// reply window.
    template: Option<TemplateUse>,
}

/// POST /api/v1/dialogs/{id}/messages: writes to the client. The message is `queued` until the
/// channel takes it. Writing reopens a closed dialog; an unassigned dialog becomes the writer's.
#[utoipa::path(post, path = "/api/v1/dialogs/{id}/messages", tag = "dialogs", params(("id" = i64, Path)), request_body = NewMessage,
    responses((status = 201, body = MessageView), (status = 403, body = ErrorBody, description = "`dialog_not_yours`"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "`client_blocked`"),
        (status = 422, body = ErrorBody, description = "`message_too_long` (with `details.count` and `details.limit`), `invalid_quote`, `quote_not_supported`, `invalid_attachment`, `too_many_attachments`, `attachments_too_large`, `reply_window_closed` (the messenger's window after the client's latest message has closed), `unknown_template`, `not_supported_by_channel`, `invalid_value`"),
        (status = 413, body = ErrorBody, description = "`attachment_too_large`")))]
pub async fn post_message(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<NewMessage>,
) -> ApiResult<impl IntoResponse> {
    let (actor, id) = (&caller.actor, DialogId(id));
    let m = match req.template {
        Some(template) => {
            if !req.body.is_empty() || req.quote_id.is_some() || !req.attachment_ids.is_empty() {
                return Err(CoreError::invalid(
                    "template",
                    "a template is sent alone: no body, quote or files",
                )
                .into());
            }
            let text = state.connectors.fill_template(actor, id, &template).await?;
            state
                .dialogs
                .send_template(actor, id, template, &text)
                .await?
        }
        None => {
            state
                .dialogs
                .send(actor, id, &req.body, req.quote_id, &req.attachment_ids)
                .await?
        }
    };
    Ok((StatusCode::CREATED, Json(m)))
}

/// GET /api/v1/dialogs/{id}/templates: the approved message templates of the dialog's channel,
/// asked of its messenger (WhatsApp's); empty for a channel without them.
#[utoipa::path(get, path = "/api/v1/dialogs/{id}/templates", tag = "dialogs", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Template>), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`platform_refused`, `platform_unreachable`, `credentials_refused`: the messenger did not list them")))]
pub async fn templates(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<Template>>> {
    Ok(Json(
        state
            .connectors
            .templates(&caller.actor, DialogId(id))
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assign {
    /// `{"type": "manager", "id": 5}`, `{"type": "bot", "id": 1}`, or `null` for nobody.
    to: Option<Responsible>,
}

/// POST /api/v1/dialogs/{id}/assign: reassigns (F07); the previous manager loses the dialog.
#[utoipa::path(post, path = "/api/v1/dialogs/{id}/assign", tag = "dialogs", params(("id" = i64, Path)), request_body = Assign,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn assign(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<Assign>,
) -> ApiResult<StatusCode> {
    state
        .dialogs
        .assign(&caller.actor, DialogId(id), req.to)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// POST /api/v1/dialogs/{id}/close: closes the dialog (F08).
#[utoipa::path(post, path = "/api/v1/dialogs/{id}/close", tag = "dialogs", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn close(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state.dialogs.close(&caller.actor, DialogId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// POST /api/v1/dialogs/{id}/read: the caller has read the whole dialog.
#[utoipa::path(post, path = "/api/v1/dialogs/{id}/read", tag = "dialogs", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn read(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state.dialogs.read(&caller.actor, DialogId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// POST /api/v1/dialogs/{id}/unread: marks the dialog unread for the caller only (F09).
#[utoipa::path(post, path = "/api/v1/dialogs/{id}/unread", tag = "dialogs", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn unread(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state
        .dialogs
        .mark_unread(&caller.actor, DialogId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Draft {
    /// The unsent reply; empty removes the draft.
    body: String,
}

/// PUT /api/v1/dialogs/{id}/draft: keeps the caller's unsent reply on the server (F18).
#[utoipa::path(put, path = "/api/v1/dialogs/{id}/draft", tag = "dialogs", params(("id" = i64, Path)), request_body = Draft,
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn put_draft(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<Draft>,
) -> ApiResult<StatusCode> {
    state
        .dialogs
        .save_draft(&caller.actor, DialogId(id), &req.body)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// POST /api/v1/dialogs/{id}/client/block: blocks the dialog's client in all their dialogs (F10).
#[utoipa::path(post, path = "/api/v1/dialogs/{id}/client/block", tag = "dialogs", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn block_client(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state
        .dialogs
        .set_client_blocked(&caller.actor, DialogId(id), true)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// DELETE /api/v1/dialogs/{id}/client/block: unblocks the dialog's client (F10).
#[utoipa::path(delete, path = "/api/v1/dialogs/{id}/client/block", tag = "dialogs", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unblock_client(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state
        .dialogs
        .set_client_blocked(&caller.actor, DialogId(id), false)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// POST /api/v1/dialogs/{id}/client/detach: unlinks the client card from the dialog (F14).
#[utoipa::path(post, path = "/api/v1/dialogs/{id}/client/detach", tag = "dialogs", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn detach_client(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state
        .dialogs
        .detach_client(&caller.actor, DialogId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// GET /api/v1/me/counters: the header's unread-dialogs count (F02).
#[utoipa::path(get, path = "/api/v1/me/counters", tag = "me", responses((status = 200, body = Counters)))]
pub async fn counters(
    State(state): State<AppState>,
    caller: ApiActor,
) -> ApiResult<Json<Counters>> {
    Ok(Json(state.dialogs.counters(&caller.actor).await?))
}
