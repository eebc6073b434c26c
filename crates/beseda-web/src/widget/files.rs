//! A visitor's files (F39): uploaded before the message that sends them, within the widget
//! channel's limits (F26), and downloaded only from their own dialog.

use super::api::VisitorCaller;
use crate::app::AppState;
use crate::http::api_attachments::{UploadForm, receive_all, serve};
use crate::http::error::{ApiResult, ErrorBody};
use crate::http::json::{ApiForm, ApiPath};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use beseda_core::ids::AttachmentId;
use beseda_core::widget::VisitorFile;

/// POST /api/widget/v1/{key}/files: the visitor uploads files for their next message.
#[utoipa::path(post, path = "/api/widget/v1/{key}/files", tag = "widget",
    params(("key" = String, Path, description = "The widget's public key")),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = Vec<VisitorFile>, description = "Send their ids in `attachments` of the next message"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody, description = "`attachment_too_large`: over the widget channel's limit"),
        (status = 422, body = ErrorBody, description = "`upload_quota_exceeded`, `too_many_attachments`"),
        (status = 429, body = ErrorBody, description = "`rate_limited`, with `Retry-After`")),
    security(("visitor_token" = [])))]
pub async fn upload(
    State(state): State<AppState>,
    VisitorCaller(ctx): VisitorCaller,
    ApiForm(form): ApiForm,
) -> ApiResult<Response> {
    state.widget_limits.send(&ctx.visitor.external_id)?;
    let batch = state.attachments.visitor_uploads(
        ctx.capabilities.clone(),
        ctx.widget.channel_id,
        ctx.visitor.session,
    );
    let views = receive_all(batch, form).await?;
    let files: Vec<VisitorFile> = views.iter().map(VisitorFile::from).collect();
    Ok((StatusCode::CREATED, Json(files)).into_response())
}

/// GET /api/widget/v1/{key}/files/{id}: a file of the visitor's dialog, or their own upload.
#[utoipa::path(get, path = "/api/widget/v1/{key}/files/{id}", tag = "widget",
    params(("key" = String, Path, description = "The widget's public key"), ("id" = i64, Path)),
    responses((status = 200, description = "The file's bytes"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "`not_found`: not a file of this visitor's")),
    security(("visitor_token" = [])))]
pub async fn download(
    State(state): State<AppState>,
    ApiPath((_key, id)): ApiPath<(String, i64)>,
    VisitorCaller(ctx): VisitorCaller,
) -> ApiResult<Response> {
    let dialog = state.widget.dialog_of(&ctx.visitor).await?;
    let a = state
        .attachments
        .for_visitor(ctx.visitor.session, dialog, AttachmentId(id))
        .await?;
    serve(&state, &a, false).await
}
