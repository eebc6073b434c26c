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
    /// The request itself could not be read (malformed JSON, a bad cookie...).
    BadRequest {
        code: &'static str,
        message: String,
    },
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
        CoreError::Storage(_) | CoreError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body, retry_after) = match self {
            ApiError::BadRequest { code, message } => (
                StatusCode::BAD_REQUEST,
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
                    CoreError::RateLimited { retry_after } => Some(retry_after.as_secs().max(1)),
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
