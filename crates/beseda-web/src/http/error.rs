//! The one error boundary of the HTTP layer: every failure leaves as JSON with a stable
//! snake_case code, `{"error": "...", "message": "...", "field": "..."}`. A 500 never shows
//! internals; they go to the log.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use beseda_core::CoreError;
use serde::Serialize;

#[derive(Debug)]
pub enum ApiError {
    Core(CoreError),
    /// The request itself could not be read (malformed JSON, a path that does not parse, a
    /// body over the limit, a wrong content type...).
    Request {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
}

impl ApiError {
    /// A request that cannot be read: 400.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::Request {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
        }
    }
}

/// The stable code of an answer the framework gives by itself, by its status.
fn code_of_status(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthenticated",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_value",
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::REQUEST_TIMEOUT => "timed_out",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    }
}

/// The framework's own refusals (a method a route lacks, a timeout, a rejection no extractor
/// of ours made) leave in the same JSON form as every other error, with a code by status.
pub async fn json_errors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let message = match text.trim() {
        "" => status
            .canonical_reason()
            .unwrap_or("refused")
            .to_lowercase(),
        t => t.to_owned(),
    };
    let mut out = error_response(status, code_of_status(status), &message);
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

/// The body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable code to match on, e.g. `invalid_credentials`.
    pub error: String,
    /// What went wrong, for people.
    pub message: String,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Numbers behind the refusal, e.g. `{"count": 2100, "limit": 2000}` for `message_too_long`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

/// An error response with no field, for the router's own refusals.
pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = ErrorBody {
        error: code.into(),
        message: message.into(),
        field: None,
        details: None,
    };
    (status, axum::Json(body)).into_response()
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        ApiError::Core(e)
    }
}

pub fn status_of(e: &CoreError) -> StatusCode {
    match e {
        CoreError::InvalidCredentials | CoreError::Unauthenticated => StatusCode::UNAUTHORIZED,
        CoreError::Forbidden(_) | CoreError::DialogNotYours => StatusCode::FORBIDDEN,
        CoreError::NotFound(_) => StatusCode::NOT_FOUND,
        CoreError::Conflict { .. } | CoreError::ClientBlocked => StatusCode::CONFLICT,
        CoreError::Invalid { .. }
        | CoreError::Unprocessable { .. }
        | CoreError::MessageTooLong { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        CoreError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        CoreError::AttachmentTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        CoreError::InvalidCursor => StatusCode::BAD_REQUEST,
        CoreError::InsufficientStorage => StatusCode::INSUFFICIENT_STORAGE,
        CoreError::Storage(_) | CoreError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body, retry_after) = match self {
            ApiError::Request {
                status,
                code,
                message,
            } => (
                status,
                ErrorBody {
                    error: code.into(),
                    message,
                    field: None,
                    details: None,
                },
                None,
            ),
            ApiError::Core(e) => {
                let status = status_of(&e);
                let field = match &e {
                    CoreError::Invalid { field, .. } => Some(field.clone()),
                    _ => None,
                };
                let details = match &e {
                    CoreError::MessageTooLong { count, limit } => {
                        Some(serde_json::json!({"count": count, "limit": limit}))
                    }
                    CoreError::AttachmentTooLarge { kind, limit } => {
                        Some(serde_json::json!({"kind": kind, "limit_bytes": limit}))
                    }
                    _ => None,
                };
                let retry_after = match &e {
                    // Whole seconds, rounded up: a client that waits that long is let in.
                    CoreError::RateLimited { retry_after } => Some(
                        (retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0)).max(1),
                    ),
                    _ => None,
                };
                let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
                    tracing::error!(error = %e, "request failed");
                    "internal error; the server log has the details".to_owned()
                } else {
                    e.to_string()
                };
                (
                    status,
                    ErrorBody {
                        error: e.code().into(),
                        message,
                        field,
                        details,
                    },
                    retry_after,
                )
            }
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
