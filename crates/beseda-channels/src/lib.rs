//! Built-in messenger connectors: each platform's webhook verified and parsed into the core's
//! inbound messages, and a reply sent the platform's way with its answer mapped to the core's
//! delivery outcome. The core knows no messenger; the server wires these to the webhook route
//! and the delivery worker. Every platform's base URL is configurable, so tests use fakes.

pub mod http;
pub mod telegram;

use beseda_core::dialog::InboundMessage;

/// A file the platform holds for a client's message: fetched into our file store before the
/// message is announced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteFile {
    /// The platform's id of the file.
    pub id: String,
    pub file_name: Option<String>,
    /// What the platform says it weighs, when it says.
    pub size: Option<u64>,
}

/// What one webhook call brought.
#[derive(Clone, Debug)]
pub enum Incoming {
    /// A client's message, with the files to fetch before it is ingested.
    Message {
        message: Box<InboundMessage>,
        files: Vec<RemoteFile>,
    },
    /// The client edited a message on their side.
    Edited { external_id: String, text: String },
    /// Nothing for the inbox (a service update, a kind not handled): acknowledged, so the
    /// platform does not send it again, and logged with the reason.
    Ignored(String),
}

/// Why a connector could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The platform refused the credentials.
    #[error("the platform refused the credentials: {0}")]
    Credentials(String),
    /// The platform answered with an error.
    #[error("the platform answered {code}: {description}")]
    Platform { code: i64, description: String },
    /// The platform could not be reached, or answered something else than its API.
    #[error("the platform could not be reached: {0}")]
    Unreachable(String),
    /// A webhook body that is not the platform's.
    #[error("not an update of the platform: {0}")]
    Malformed(String),
}

/// Who a connected account is on its platform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The platform's id of the bot or group.
    pub external_id: String,
    /// Its name, for the channel's.
    pub name: String,
}

/// What the platform said to a reply; the delivery worker turns it into a status or a retry
/// under its own policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendResult {
    /// Sent: the platform's id of the message.
    Sent { external_id: String },
    /// Refused for good, with the reason the manager sees (F31).
    Failed(beseda_core::transport::Failure),
    /// Not now: after this long when the platform says, else by the worker's backoff; with
    /// what went wrong.
    RetryAfter(Option<std::time::Duration>, String),
}
