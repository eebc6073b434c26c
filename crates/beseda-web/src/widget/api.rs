//! The visitor API, `/api/widget/v1/{key}/…` (F39): what the widget on a company's website
//! calls. The key alone starts a session; everything else takes the visitor's token as
//! `Authorization: Bearer`.

use super::cors::LoadedWidget;
use crate::app::AppState;
use crate::http::auth::ClientOrigin;
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::json::{ApiJson, ApiPath, ApiQuery};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use beseda_core::ids::{AttachmentId, MessageId};
use beseda_core::services::widget::{
    PageInfo, PrechatFields, SignedUser, VisitorContext, VisitorHistory, VisitorSend,
};
use beseda_core::widget::{VisitorMessage, WidgetConfig};
use serde::{Deserialize, Serialize};

/// The visitor behind the request's bearer token, on the widget of `key`.
pub(super) async fn visitor(
    state: &AppState,
    key: &str,
    headers: &HeaderMap,
) -> ApiResult<VisitorContext> {
    // No token is an unknown one: a disabled widget still answers "not found" first.
    Ok(state.widget.visitor(key, bearer(headers)).await?)
}

/// The `Authorization: Bearer` token, or nothing.
fn bearer(headers: &HeaderMap) -> &str {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .trim()
}

/// The visitor calling, from their `Authorization: Bearer` token on the widget the path names;
/// checked before the body is read.
pub struct VisitorCaller(pub VisitorContext);

impl axum::extract::FromRequestParts<AppState> for VisitorCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // The origin check found the widget already when a browser calls.
        if let Some(LoadedWidget(widget, caps)) = parts.extensions.get::<LoadedWidget>().cloned() {
            let token = bearer(&parts.headers);
            let ctx = state.widget.visitor_on(widget, caps, token).await?;
            return Ok(VisitorCaller(ctx));
        }
        let key = super::cors::key_of(parts.uri.path()).unwrap_or_default();
        visitor(state, key, &parts.headers).await.map(VisitorCaller)
    }
}

/// GET /api/widget/v1/{key}/config: how the widget looks and whether anyone answers now.
#[utoipa::path(get, path = "/api/widget/v1/{key}/config", tag = "widget",
    params(("key" = String, Path, description = "The widget's public key, from its embed snippet")),
    responses((status = 200, body = WidgetConfig),
        (status = 403, body = ErrorBody, description = "`origin_not_allowed`: the page's origin is not on the widget's list"),
        (status = 404, body = ErrorBody, description = "`not_found`: no active widget has this key"),
        (status = 429, body = ErrorBody, description = "`rate_limited`, with `Retry-After`")))]
pub async fn config(
    State(state): State<AppState>,
    loaded: Option<axum::Extension<LoadedWidget>>,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Response> {
    let (w, caps) = match loaded {
        Some(axum::Extension(LoadedWidget(w, caps))) => (w, caps),
        None => state.widget.by_key(&key).await?,
    };
    let config = state.widget.config(&w, &caps);
    Ok(([(header::CACHE_CONTROL, "no-cache")], axum::Json(config)).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionRequest {
    /// The token the widget kept from an earlier session, if any.
    token: Option<String>,
    /// The site's logged-in customer, signed by the site's backend.
    user: Option<SignedUserBody>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignedUserBody {
    /// The customer's id on the site.
    id: String,
    /// Hex HMAC-SHA256 of `id` under the widget's identity secret.
    signature: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionAnswer {
    /// Keep it (the widget uses `localStorage`) and send it as `Authorization: Bearer`.
    token: String,
    /// The visitor wrote before: their history is there.
    has_dialog: bool,
}

/// POST /api/widget/v1/{key}/sessions: starts a visitor session, or resumes the one a kept
/// token names.
#[utoipa::path(post, path = "/api/widget/v1/{key}/sessions", tag = "widget",
    description = "Starts a visitor session with the public key alone, or resumes the one `token` names (the same \
    token comes back). A token of another channel or visitor starts a new session. With `user`, a site's \
    logged-in customer comes back as the same visitor on any device, and their card is theirs; without it, \
    what a visitor types about themselves never joins them to an existing client card.",
    params(("key" = String, Path, description = "The widget's public key")),
    request_body = SessionRequest,
    responses((status = 200, body = SessionAnswer),
        (status = 403, body = ErrorBody, description = "`origin_not_allowed`"),
        (status = 404, body = ErrorBody, description = "`not_found`: no active widget has this key"),
        (status = 422, body = ErrorBody, description = "`identity_invalid`: the signature does not match"),
        (status = 429, body = ErrorBody, description = "`rate_limited`, with `Retry-After`")))]
pub async fn start_session(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    ApiPath(key): ApiPath<String>,
    ApiJson(body): ApiJson<SessionRequest>,
) -> ApiResult<axum::Json<SessionAnswer>> {
    let user = body.user.map(|u| SignedUser {
        id: u.id,
        signature: u.signature,
    });
    let limits = state.widget_limits.clone();
    let may_start = move || limits.session(origin.ip);
    let (token, has_dialog) = state
        .widget
        .start_session(&key, body.token.as_deref(), user, &may_start)
        .await?;
    Ok(axum::Json(SessionAnswer {
        token: token.expose().to_owned(),
        has_dialog,
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Messages before this one (older pages).
    before: Option<i64>,
    /// At most this many (1–100, 50 by default).
    limit: Option<u32>,
}

/// GET /api/widget/v1/{key}/messages: the visitor's conversation, newest page first.
#[utoipa::path(get, path = "/api/widget/v1/{key}/messages", tag = "widget",
    params(("key" = String, Path, description = "The widget's public key"), HistoryQuery),
    responses((status = 200, body = VisitorHistory),
        (status = 401, body = ErrorBody, description = "`unauthenticated`: no or an unknown visitor token"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("visitor_token" = [])))]
pub async fn history(
    State(state): State<AppState>,
    VisitorCaller(ctx): VisitorCaller,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<axum::Json<VisitorHistory>> {
    let page = state
        .widget
        .history(&ctx, q.before.map(MessageId), q.limit.unwrap_or(50))
        .await?;
    Ok(axum::Json(page))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageBody {
    url: Option<String>,
    referrer: Option<String>,
    /// The page's title: taken, not kept (the card keeps the address).
    #[serde(default, rename = "title")]
    _title: Option<String>,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldsBody {
    name: Option<String>,
    phone: Option<String>,
    email: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    /// The widget's own id of the message (1–64 of `A-Za-z0-9_-`): a retry with the same id
    /// returns the first message and changes nothing.
    client_id: String,
    #[serde(default)]
    text: String,
    /// Files uploaded by this visitor and not sent yet.
    #[serde(default)]
    #[schema(value_type = Vec<i64>)]
    attachments: Vec<AttachmentId>,
    /// Where the visitor writes from: kept in a new client card (F04).
    #[serde(default)]
    page: PageBody,
    /// The pre-chat form's answers, with the first message.
    #[serde(default)]
    fields: FieldsBody,
}

/// POST /api/widget/v1/{key}/messages: the visitor writes.
#[utoipa::path(post, path = "/api/widget/v1/{key}/messages", tag = "widget",
    params(("key" = String, Path, description = "The widget's public key")),
    request_body = SendRequest,
    responses((status = 201, body = VisitorMessage, description = "A new message"),
        (status = 200, body = VisitorMessage, description = "A repeat of `client_id`: the first message"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "`client_blocked` or `origin_not_allowed`"),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`invalid_value` (an empty text, a required pre-chat field missing, a bad email or phone, with `field`), `message_too_long`, `invalid_attachment`"),
        (status = 429, body = ErrorBody, description = "`rate_limited`, with `Retry-After`")),
    security(("visitor_token" = [])))]
pub async fn send(
    State(state): State<AppState>,
    VisitorCaller(ctx): VisitorCaller,
    ApiJson(body): ApiJson<SendRequest>,
) -> ApiResult<Response> {
    state.widget_limits.send(&ctx.visitor.external_id)?;
    let (message, created, dialog) = state
        .widget
        .send(
            &ctx,
            VisitorSend {
                client_id: body.client_id,
                text: body.text,
                attachments: body.attachments,
                page: PageInfo {
                    url: body.page.url,
                    referrer: body.page.referrer,
                },
                fields: PrechatFields {
                    name: body.fields.name,
                    phone: body.fields.phone,
                    email: body.fields.email,
                },
            },
        )
        .await?;
    if created {
        state.visitors.dialog_started(&ctx.visitor, dialog);
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(message)).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadRequest {
    /// The newest company message the visitor has seen.
    #[schema(value_type = i64)]
    up_to: MessageId,
}

/// POST /api/widget/v1/{key}/read: the visitor has seen the company's messages up to one.
#[utoipa::path(post, path = "/api/widget/v1/{key}/read", tag = "widget",
    params(("key" = String, Path, description = "The widget's public key")),
    request_body = ReadRequest,
    responses((status = 204, description = "Those messages are `read` now (F31)"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "`not_found`: not a message of this visitor's dialog"),
        (status = 429, body = ErrorBody)),
    security(("visitor_token" = [])))]
pub async fn read(
    State(state): State<AppState>,
    VisitorCaller(ctx): VisitorCaller,
    ApiJson(body): ApiJson<ReadRequest>,
) -> ApiResult<StatusCode> {
    state.widget.read(&ctx, body.up_to).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A visitor API refusal that is not the core's.
pub(super) fn refused(status: StatusCode, code: &'static str, message: &str) -> ApiError {
    ApiError::Request {
        status,
        code,
        message: message.into(),
    }
}
