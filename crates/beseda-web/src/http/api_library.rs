//! The manager API for tags and client tags (F35), quick replies (F32) and time limits (F34).

use super::auth::ApiActor;
use super::error::{ApiResult, ErrorBody};
use super::json::{ApiJson, ApiPath, ApiQuery};
use crate::app::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use beseda_core::company::{Tag, TagColor};
use beseda_core::ids::{ChannelId, ClientId, MessageId, QuickReplyId, TagId};
use beseda_core::library::{ClientCard, ClientTag, QuickReply, TimeLimitSettings, TimeLimits};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

/// GET /api/v1/tags: every client tag.
#[utoipa::path(get, path = "/api/v1/tags", tag = "tags", responses((status = 200, body = Vec<Tag>)))]
pub async fn list_tags(
    State(state): State<AppState>,
    _caller: ApiActor,
) -> ApiResult<Json<Vec<Tag>>> {
    Ok(Json(state.library.tags().await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTagRequest {
    name: String,
    color: TagColor,
}

/// POST /api/v1/tags: creates a tag (needs "manage settings").
#[utoipa::path(post, path = "/api/v1/tags", tag = "tags", request_body = NewTagRequest,
    responses((status = 201, body = Tag), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody, description = "`tag_name_taken`")))]
pub async fn create_tag(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiJson(req): ApiJson<NewTagRequest>,
) -> ApiResult<impl IntoResponse> {
    Ok((
        StatusCode::CREATED,
        Json(
            state
                .library
                .create_tag(&caller.actor, &req.name, req.color)
                .await?,
        ),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagChange {
    name: Option<String>,
    color: Option<TagColor>,
}

/// PATCH /api/v1/tags/{id}: renames or recolours a tag.
#[utoipa::path(patch, path = "/api/v1/tags/{id}", tag = "tags", params(("id" = i64, Path)), request_body = TagChange,
    responses((status = 200, body = Tag), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_tag(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<TagChange>,
) -> ApiResult<Json<Tag>> {
    Ok(Json(
        state
            .library
            .update_tag(&caller.actor, TagId(id), req.name.as_deref(), req.color)
            .await?,
    ))
}

/// DELETE /api/v1/tags/{id}: deletes a tag and takes it off every client.
#[utoipa::path(delete, path = "/api/v1/tags/{id}", tag = "tags", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_tag(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state.library.delete_tag(&caller.actor, TagId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// GET /api/v1/clients/{id}: the client card with its source and tags (F04, F14, F40).
#[utoipa::path(get, path = "/api/v1/clients/{id}", tag = "clients", params(("id" = i64, Path)),
    responses((status = 200, body = ClientCard), (status = 404, body = ErrorBody)))]
pub async fn client_card(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ClientCard>> {
    Ok(Json(
        state
            .library
            .client_card(&caller.actor, ClientId(id))
            .await?,
    ))
}

/// GET /api/v1/clients/{id}/photo: the client's photo that their messenger gave (a JPEG),
/// for whoever may see the card; the card's `photo_url` names it.
#[utoipa::path(get, path = "/api/v1/clients/{id}/photo", tag = "clients", params(("id" = i64, Path)),
    responses((status = 200, description = "JPEG", content_type = "image/jpeg"), (status = 404, body = ErrorBody)))]
pub async fn client_photo(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<axum::response::Response> {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;
    let key = state
        .library
        .client_photo_key(&caller.actor, ClientId(id))
        .await?;
    let body = state.attachments.photo(&key).await?;
    let mut r = axum::body::Body::from_stream(body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    super::api_attachments::sandboxed(h);
    Ok(r)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The card that stays.
    into: i64,
}

/// POST /api/v1/clients/{id}/merge: this card and another are one person's: this one's
/// dialogs, contacts, orders and tags move to `into`, and this card is gone (F04, F40).
#[utoipa::path(post, path = "/api/v1/clients/{id}/merge", tag = "clients", params(("id" = i64, Path, description = "The card that goes")),
    request_body = MergeRequest,
    responses((status = 200, body = ClientCard, description = "The card that stays, with all of both"),
        (status = 404, body = ErrorBody, description = "`not_found`: a card the caller sees no dialog of"),
        (status = 422, body = ErrorBody, description = "`invalid_value`: a card into itself")))]
pub async fn merge_client(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<MergeRequest>,
) -> ApiResult<Json<ClientCard>> {
    let card = state
        .library
        .merge_clients(&caller.actor, ClientId(id), ClientId(req.into))
        .await?;
    Ok(Json(card))
}

/// GET /api/v1/clients/{id}/tags: a client's tags, pinned first.
#[utoipa::path(get, path = "/api/v1/clients/{id}/tags", tag = "tags", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<ClientTag>), (status = 404, body = ErrorBody)))]
pub async fn client_tags(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<ClientTag>>> {
    Ok(Json(
        state
            .library
            .client_tags(&caller.actor, ClientId(id))
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientTagRequest {
    #[serde(default)]
    pinned: bool,
}

/// PUT /api/v1/clients/{id}/tags/{tag_id}: puts a tag on the client, pinned or not.
#[utoipa::path(put, path = "/api/v1/clients/{id}/tags/{tag_id}", tag = "tags", params(("id" = i64, Path), ("tag_id" = i64, Path)),
    request_body = ClientTagRequest, responses((status = 200, body = Vec<ClientTag>), (status = 404, body = ErrorBody)))]
pub async fn put_client_tag(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath((id, tag)): ApiPath<(i64, i64)>,
    ApiJson(req): ApiJson<ClientTagRequest>,
) -> ApiResult<Json<Vec<ClientTag>>> {
    Ok(Json(
        state
            .library
            .tag_client(&caller.actor, ClientId(id), TagId(tag), req.pinned)
            .await?,
    ))
}

/// DELETE /api/v1/clients/{id}/tags/{tag_id}: takes a tag off the client.
#[utoipa::path(delete, path = "/api/v1/clients/{id}/tags/{tag_id}", tag = "tags", params(("id" = i64, Path), ("tag_id" = i64, Path)),
    responses((status = 200, body = Vec<ClientTag>), (status = 404, body = ErrorBody)))]
pub async fn delete_client_tag(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath((id, tag)): ApiPath<(i64, i64)>,
) -> ApiResult<Json<Vec<ClientTag>>> {
    Ok(Json(
        state
            .library
            .untag_client(&caller.actor, ClientId(id), TagId(tag))
            .await?,
    ))
}

#[derive(Deserialize, IntoParams)]
pub struct QuickReplyQuery {
    /// Finds replies whose title or text contains this, in any case.
    q: Option<String>,
}

/// GET /api/v1/quick-replies: the shared replies and the caller's own.
#[utoipa::path(get, path = "/api/v1/quick-replies", tag = "quick replies", params(QuickReplyQuery), responses((status = 200, body = Vec<QuickReply>)))]
pub async fn list_quick_replies(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiQuery(q): ApiQuery<QuickReplyQuery>,
) -> ApiResult<Json<Vec<QuickReply>>> {
    Ok(Json(
        state
            .library
            .quick_replies(&caller.actor, q.q.as_deref())
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewQuickReply {
    title: Option<String>,
    body: Option<String>,
    /// Makes the reply from this message's text (F15); `body` is then not given.
    from_message_id: Option<MessageId>,
    /// A reply for everyone (needs "manage settings"); otherwise the caller's own.
    #[serde(default)]
    shared: bool,
}

/// POST /api/v1/quick-replies: saves a reply, from a text or from a message.
#[utoipa::path(post, path = "/api/v1/quick-replies", tag = "quick replies", request_body = NewQuickReply,
    responses((status = 201, body = QuickReply), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_quick_reply(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiJson(req): ApiJson<NewQuickReply>,
) -> ApiResult<impl IntoResponse> {
    let reply = match (req.from_message_id, req.body) {
        (Some(m), None) => {
            state
                .library
                .quick_reply_from_message(&caller.actor, m, req.title.as_deref())
                .await?
        }
        (None, Some(body)) => {
            let title = req.title.unwrap_or_default();
            state
                .library
                .create_quick_reply(&caller.actor, req.shared, &title, &body)
                .await?
        }
        _ => {
            return Err(beseda_core::CoreError::invalid(
                "body",
                "give either body or from_message_id",
            )
            .into());
        }
    };
    Ok((StatusCode::CREATED, Json(reply)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuickReplyChange {
    title: Option<String>,
    body: Option<String>,
}

/// PATCH /api/v1/quick-replies/{id}: edits a reply (shared ones need "manage settings").
#[utoipa::path(patch, path = "/api/v1/quick-replies/{id}", tag = "quick replies", params(("id" = i64, Path)), request_body = QuickReplyChange,
    responses((status = 200, body = QuickReply), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_quick_reply(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<QuickReplyId>,
    ApiJson(req): ApiJson<QuickReplyChange>,
) -> ApiResult<Json<QuickReply>> {
    Ok(Json(
        state
            .library
            .update_quick_reply(&caller.actor, id, req.title.as_deref(), req.body.as_deref())
            .await?,
    ))
}

/// DELETE /api/v1/quick-replies/{id}: deletes a reply.
#[utoipa::path(delete, path = "/api/v1/quick-replies/{id}", tag = "quick replies", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_quick_reply(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<QuickReplyId>,
) -> ApiResult<StatusCode> {
    state.library.delete_quick_reply(&caller.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// GET /api/v1/settings/time-limits: the default limits and the channels' overrides.
#[utoipa::path(get, path = "/api/v1/settings/time-limits", tag = "settings", responses((status = 200, body = TimeLimitSettings)))]
pub async fn get_time_limits(
    State(state): State<AppState>,
    _caller: ApiActor,
) -> ApiResult<Json<TimeLimitSettings>> {
    Ok(Json(state.library.time_limits().await?))
}

/// PUT /api/v1/settings/time-limits: the default limits (multiples of 10 s, at least 10 s,
/// warning before the time to process).
#[utoipa::path(put, path = "/api/v1/settings/time-limits", tag = "settings", request_body = TimeLimits,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_time_limits(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiJson(limits): ApiJson<TimeLimits>,
) -> ApiResult<StatusCode> {
    state
        .library
        .set_default_time_limits(&caller.actor, limits)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// PUT /api/v1/settings/time-limits/channels/{id}: one channel's limits; unset values follow
/// the defaults.
#[utoipa::path(put, path = "/api/v1/settings/time-limits/channels/{id}", tag = "settings", params(("id" = i64, Path)), request_body = TimeLimits,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_channel_time_limits(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(limits): ApiJson<TimeLimits>,
) -> ApiResult<StatusCode> {
    state
        .library
        .set_channel_time_limits(&caller.actor, ChannelId(id), limits)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
