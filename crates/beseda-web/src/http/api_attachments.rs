//! Files (F11, F25–F27): uploads into a dialog or a module's channel, downloads and previews
//! behind an access check, a dialog's files panel, and sending a file again.

use super::api_transport::ModuleCaller;
use super::auth::ApiActor;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::json::{ApiForm, ApiPath, ApiQuery, UPLOAD_BODY_LIMIT, body_too_large};
use crate::app::AppState;
use axum::Json;
use axum::body::Body;
use axum::extract::{Multipart, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use beseda_core::attachment::{AttachmentKind, AttachmentTab, AttachmentView, StoredAttachment};
use beseda_core::ids::{AttachmentId, ChannelId, DialogId};
use beseda_core::services::attachments::UploadBatch;
use futures_util::StreamExt;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

/// One or more files as `multipart/form-data`, each part a file; at most what one message
/// carries (10 images and 1 other file on most channels).
#[derive(ToSchema)]
#[allow(
    dead_code,
    reason = "describes the request body for the OpenAPI document"
)]
pub struct UploadForm {
    #[schema(value_type = Vec<String>, format = Binary)]
    file: Vec<u8>,
}

/// Streams every part of the form into the batch, then records them. A request that fails part
/// way keeps nothing: the batch deletes the files stored before the failure.
pub(crate) async fn receive_all(
    mut batch: UploadBatch<'_>,
    mut form: Multipart,
) -> ApiResult<Vec<AttachmentView>> {
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                batch.abort().await;
                return Err(form_error(e));
            }
        };
        let name = field.file_name().map(str::to_owned);
        let body = Box::pin(field.map(|r| r.map_err(|e| e.body_text())));
        batch.add(body, name.as_deref()).await?;
    }
    Ok(batch.finish().await?)
}

fn form_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => body_too_large(UPLOAD_BODY_LIMIT),
        _ => ApiError::bad_request("invalid_multipart", e.body_text()),
    }
}

/// POST /api/v1/dialogs/{id}/attachments: uploads files to send in this dialog (F25). Each
/// file's kind comes from its content; a file over the channel's limit for its kind is refused
/// with 413 before it is read to its end. The answer's ids go into `attachment_ids` of a message.
#[utoipa::path(post, path = "/api/v1/dialogs/{id}/attachments", tag = "attachments", params(("id" = i64, Path)),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = Vec<AttachmentView>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody, description = "`attachment_too_large` with `details.kind` and `details.limit_bytes`"),
        (status = 422, body = ErrorBody, description = "`too_many_attachments`, `attachments_too_large`, `upload_quota_exceeded`"),
        (status = 507, body = ErrorBody, description = "`insufficient_storage`: the server's disk is nearly full")))]
pub async fn upload(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
    ApiForm(form): ApiForm,
) -> ApiResult<impl IntoResponse> {
    let batch = state
        .attachments
        .manager_uploads(&caller.actor, DialogId(id))
        .await?;
    let views = receive_all(batch, form).await?;
    Ok((StatusCode::CREATED, Json(views)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `images` or `files` (everything that is not an image).
    tab: AttachmentTab,
    /// Only attachments older than this one (the last id of the previous page).
    before: Option<AttachmentId>,
    /// At most this many (1–100, default 50).
    limit: Option<u32>,
}

/// GET /api/v1/dialogs/{id}/attachments: the files sent in a dialog, newest first (F11).
#[utoipa::path(get, path = "/api/v1/dialogs/{id}/attachments", tag = "attachments", params(("id" = i64, Path), ListQuery),
    responses((status = 200, body = Vec<AttachmentView>), (status = 404, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<AttachmentView>>> {
    Ok(Json(
        state
            .attachments
            .list(
                &caller.actor,
                DialogId(id),
                q.tab,
                q.before,
                q.limit.unwrap_or(50),
            )
            .await?,
    ))
}

/// POST /api/v1/dialogs/{id}/attachments/{attachment_id}/copy: takes a file already sent in a
/// dialog the caller sees as a new upload into this dialog, to send it again (F11).
#[utoipa::path(post, path = "/api/v1/dialogs/{id}/attachments/{attachment_id}/copy", tag = "attachments",
    params(("id" = i64, Path), ("attachment_id" = i64, Path)),
    responses((status = 201, body = AttachmentView), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody, description = "the file is over this dialog's channel limit"),
        (status = 422, body = ErrorBody, description = "`attachment_unsent`")))]
pub async fn copy(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath((id, attachment)): ApiPath<(i64, i64)>,
) -> ApiResult<impl IntoResponse> {
    let copied = state
        .attachments
        .copy_into(&caller.actor, DialogId(id), AttachmentId(attachment))
        .await?;
    Ok((StatusCode::CREATED, Json(copied)))
}

/// The bytes of a file or its preview, as a download that a browser cannot run: never sniffed,
/// sandboxed, and anything but media saved rather than shown.
pub(crate) async fn serve(
    state: &AppState,
    a: &StoredAttachment,
    preview: bool,
) -> ApiResult<Response> {
    let stream = state.attachments.bytes(a, preview).await?;
    let mime = if preview {
        "image/jpeg"
    } else {
        a.view.mime.as_str()
    };
    let inline = preview || a.view.kind != AttachmentKind::File;
    let disposition = format!(
        "{}; filename*=UTF-8''{}",
        if inline { "inline" } else { "attachment" },
        percent_encode(&a.view.file_name)
    );
    let mut r = Body::from_stream(stream).into_response();
    let h = r.headers_mut();
    let value = |s: &str| {
        HeaderValue::from_str(s).unwrap_or(HeaderValue::from_static("application/octet-stream"))
    };
    h.insert(
        header::CONTENT_TYPE,
        value(if inline {
            mime
        } else {
            "application/octet-stream"
        }),
    );
    if !preview {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(a.view.size_bytes));
    }
    h.insert(header::CONTENT_DISPOSITION, value(&disposition));
    sandboxed(h);
    Ok(r)
}

/// A stored file's answer is never sniffed, runs nothing, and is cached by the caller alone.
pub(crate) fn sandboxed(h: &mut axum::http::HeaderMap) {
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
}

/// RFC 5987: every byte outside the unreserved set is %-encoded.
fn percent_encode(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// GET /api/v1/attachments/{id}: a file of a dialog the caller sees now (or their own unsent
/// upload). A manager who lost the dialog loses its files too: 404.
#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "attachments", params(("id" = i64, Path)),
    responses((status = 200, description = "the file's bytes"), (status = 404, body = ErrorBody)))]
pub async fn download(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    manager_file(&state, &caller, id, false).await
}

/// GET /api/v1/attachments/{id}/preview: an image's preview, a JPEG at most 320 px (F27).
#[utoipa::path(get, path = "/api/v1/attachments/{id}/preview", tag = "attachments", params(("id" = i64, Path)),
    responses((status = 200, description = "JPEG"), (status = 404, body = ErrorBody)))]
pub async fn preview(
    State(state): State<AppState>,
    caller: ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    manager_file(&state, &caller, id, true).await
}

async fn manager_file(
    state: &AppState,
    caller: &ApiActor,
    id: i64,
    preview: bool,
) -> ApiResult<Response> {
    let a = state
        .attachments
        .for_manager(&caller.actor, AttachmentId(id))
        .await?;
    serve(state, &a, preview).await
}

/// POST /api/transport/v1/channels/{id}/attachments: a module uploads a client's files before
/// pushing the message that carries them (`attachments: [{"id": …}]`).
#[utoipa::path(post, path = "/api/transport/v1/channels/{id}/attachments", tag = "transport",
    params(("id" = i64, Path), ("X-Transport-Token" = String, Header)),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = Vec<AttachmentView>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody, description = "`attachment_too_large`"), (status = 422, body = ErrorBody, description = "`upload_quota_exceeded`, ..."),
        (status = 507, body = ErrorBody, description = "`insufficient_storage`: the server's disk is nearly full")))]
pub async fn module_upload(
    State(state): State<AppState>,
    ModuleCaller(module): ModuleCaller,
    ApiPath(id): ApiPath<i64>,
    ApiForm(form): ApiForm,
) -> ApiResult<impl IntoResponse> {
    let channel = state.transport.channel(&module, ChannelId(id)).await?;
    let views = receive_all(state.attachments.channel_uploads(&channel), form).await?;
    Ok((StatusCode::CREATED, Json(views)))
}

/// GET /api/transport/v1/attachments/{id}: a file of one of the module's channels, e.g. one a
/// manager sent (its URL comes in the webhook).
#[utoipa::path(get, path = "/api/transport/v1/attachments/{id}", tag = "transport",
    params(("id" = i64, Path), ("X-Transport-Token" = String, Header)),
    responses((status = 200, description = "the file's bytes"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn module_download(
    State(state): State<AppState>,
    ModuleCaller(module): ModuleCaller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let a = state
        .attachments
        .for_module(&module, AttachmentId(id))
        .await?;
    serve(&state, &a, false).await
}
