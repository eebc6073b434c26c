//! The core layer's one error type. Each variant has a stable snake_case code that the HTTP
//! layer puts on the wire; the message is for people and may change.

use std::time::Duration;

pub type CoreResult<T> = Result<T, CoreError>;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("the email or the password is wrong")]
    InvalidCredentials,
    #[error("sign in first")]
    Unauthenticated,
    #[error("you lack the permission: {0}")]
    Forbidden(&'static str),
    #[error("{0} was not found")]
    NotFound(&'static str),
    #[error("{what} already exists")]
    Conflict { code: &'static str, what: String },
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    /// A well-formed request that the rules refuse (422), with its own code.
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    #[error(
        "the message has {count} characters (whitespace not counted); at most {limit} are allowed"
    )]
    MessageTooLong { count: usize, limit: usize },
    #[error(
        "this dialog is not yours: only its responsible manager or an administrator may do this"
    )]
    DialogNotYours,
    #[error("the {} is larger than this channel takes: at most {limit} bytes", kind.as_str())]
    AttachmentTooLarge {
        kind: crate::attachment::AttachmentKind,
        limit: u64,
    },
    #[error("the client is blocked: no message goes to or comes from them")]
    ClientBlocked,
    #[error("too many attempts; try again in {} s", retry_after.as_secs().max(1))]
    RateLimited { retry_after: Duration },
    /// The disk that keeps files is nearly full: refused before the database's disk fills.
    #[error("the server is short of disk space; ask its administrator")]
    InsufficientStorage,
    /// A list cursor from another query, or garbled.
    #[error("the cursor does not belong to this query; start from the first page")]
    InvalidCursor,
    #[error("storage failed: {0}")]
    Storage(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl CoreError {
    /// The stable code clients may match on.
    pub fn code(&self) -> &'static str {
        match self {
            CoreError::InvalidCredentials => "invalid_credentials",
            CoreError::Unauthenticated => "unauthenticated",
            CoreError::Forbidden(_) => "forbidden",
            CoreError::NotFound(_) => "not_found",
            CoreError::Conflict { code, .. } => code,
            CoreError::Invalid { .. } => "invalid_value",
            CoreError::Unprocessable { code, .. } => code,
            CoreError::MessageTooLong { .. } => "message_too_long",
            CoreError::DialogNotYours => "dialog_not_yours",
            CoreError::ClientBlocked => "client_blocked",
            CoreError::AttachmentTooLarge { .. } => "attachment_too_large",
            CoreError::RateLimited { .. } => "rate_limited",
            CoreError::InsufficientStorage => "insufficient_storage",
            CoreError::InvalidCursor => "invalid_cursor",
            CoreError::Storage(_) | CoreError::Internal(_) => "internal",
        }
    }

    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        CoreError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
