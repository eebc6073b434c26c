//! Integration modules ("transports") and the channels they register (F38).

use crate::channel::{Capabilities, ChannelKind};
use crate::dialog::DeliveryStatus;
use crate::ids::{ChannelId, MessageId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// An integration module, as an administrator sees it (never its secrets).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TransportModule {
    pub id: i64,
    pub name: String,
    /// Outgoing messages are POSTed here, signed.
    pub webhook_url: String,
    pub active: bool,
    pub created_at: Timestamp,
}

/// A channel as its module and the settings see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Channel {
    pub id: ChannelId,
    #[serde(rename = "type")]
    pub kind: ChannelKind,
    pub name: String,
    pub avatar_url: Option<String>,
    /// The module's own id for the channel.
    pub external_id: Option<String>,
    pub capabilities: Capabilities,
    pub active: bool,
}

/// A channel to register or change.
#[derive(Clone, Debug)]
pub struct ChannelRegistration {
    pub kind: ChannelKind,
    pub name: String,
    pub avatar_url: Option<String>,
    pub external_id: Option<String>,
    pub capabilities: Capabilities,
}

/// Which message a report is about: ours, or the module's id for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageRef {
    Ours(MessageId),
    Transport(String),
}

/// A delivery report from a module (F31): statuses only move forward.
#[derive(Clone, Debug)]
pub struct StatusReport {
    pub channel_id: ChannelId,
    pub message: MessageRef,
    pub status: DeliveryStatus,
    /// For `failed`: a code and text the manager sees.
    pub failure: Option<Failure>,
    /// For `sent`: the module's id of the message.
    pub transport_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Failure {
    pub code: String,
    pub message: String,
}

/// Whether a report changed anything: late and repeated reports are no-ops.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReportOutcome {
    pub changed: bool,
    pub status: DeliveryStatus,
}

/// The forward-only order of statuses: queued → sent → delivered → read. `failed` can end a
/// message the channel has not delivered; nothing comes back from `failed`.
pub fn advances(from: DeliveryStatus, to: DeliveryStatus) -> bool {
    use DeliveryStatus::{Delivered, Failed, Queued, Read, Sent};
    let rank = |s| match s {
        Queued => 0,
        Sent => 1,
        Delivered => 2,
        Read | Failed => 3,
    };
    match (from, to) {
        (Failed, _) => false,
        (Queued | Sent, Failed) => true,
        (_, Failed) => false,
        (a, b) => rank(b) > rank(a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeliveryStatus::{Delivered, Failed, Queued, Read, Sent};

    #[test]
    fn f31_statuses_only_move_forward() {
        assert!(
            advances(Queued, Sent)
                && advances(Sent, Delivered)
                && advances(Delivered, Read)
                && advances(Queued, Read)
        );
        assert!(!advances(Read, Delivered) && !advances(Delivered, Sent) && !advances(Sent, Sent));
        assert!(advances(Queued, Failed) && advances(Sent, Failed));
        assert!(!advances(Delivered, Failed) && !advances(Read, Failed));
        assert!(
            !advances(Failed, Sent) && !advances(Failed, Read),
            "a late report cannot resurrect a failed message"
        );
    }
}
