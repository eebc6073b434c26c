//! Integration modules ("transports") and the channels they register (F38).

use crate::channel::{Capabilities, ChannelKind};
use crate::dialog::DeliveryStatus;
use crate::ids::{ChannelId, DeliveryJobId, MessageId, ModuleId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// An integration module, as an administrator sees it (never its secrets).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TransportModule {
    pub id: ModuleId,
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
    External(String),
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
    pub external_id: Option<String>,
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

/// An outgoing message leased to one delivery worker.
#[derive(Clone, Debug)]
pub struct DeliveryJob {
    pub id: DeliveryJobId,
    pub attempts: i64,
    pub message_id: MessageId,
    pub dialog_id: crate::ids::DialogId,
    pub channel_id: ChannelId,
    pub channel_external_id: Option<String>,
    /// The client's id on the channel: where the message goes.
    pub contact_external_id: String,
    pub text: String,
    pub quote_external_id: Option<String>,
    pub author_name: Option<String>,
    pub attachments: Vec<crate::attachment::AttachmentView>,
    /// A template to send instead of the text, which is its rendering.
    pub template: Option<crate::connector::TemplateUse>,
    /// Quick-reply labels to show under the text (F37), within the channel's limits.
    pub buttons: Vec<String>,
    pub created_at: Timestamp,
    pub target: DeliveryTarget,
}

/// Where an outgoing message goes.
#[derive(Clone, Debug)]
pub enum DeliveryTarget {
    /// The channel's integration module, by a signed webhook.
    Module {
        webhook_url: String,
        webhook_secret: String,
    },
    /// The website widget's visitor, whom Beseda serves itself.
    Widget,
    /// A messenger Beseda connects to itself, with the channel's sealed connection.
    Connector { sealed: String },
    /// A channel without a module (the demo's, an old import): nowhere to send.
    Nowhere,
}

/// What became of one delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The module sent it; `sent` with the module's id.
    Sent { external_id: Option<String> },
    /// The module took it and will report later (F38 "acknowledge later").
    Accepted,
    /// A channel Beseda serves itself (the widget) put it in front of the client at once.
    Reached(DeliveryStatus),
    /// The module refused it: `failed` with the reason (F31).
    Failed(Failure),
    /// The module could not be reached: try again at `at`.
    Retry { error: String, at: Timestamp },
}

/// The signature of a webhook: `sha256=` and the hex HMAC-SHA256 of `"{timestamp}.{body}"`.
pub fn sign_webhook(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let stamp = timestamp.to_string();
    format!(
        "sha256={}",
        crate::secret::hmac_hex(secret.as_bytes(), &[stamp.as_bytes(), b".", body])
    )
}

/// Checks a webhook signature in constant time.
pub fn verify_webhook(secret: &str, timestamp: i64, body: &[u8], signature: &str) -> bool {
    use subtle::ConstantTimeEq;
    sign_webhook(secret, timestamp, body)
        .as_bytes()
        .ct_eq(signature.as_bytes())
        .into()
}

/// How a failed delivery is retried: waits doubling from `base`, at most `cap`, and after
/// `max_attempts` the message fails visibly.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub max_attempts: i64,
    pub base: std::time::Duration,
    pub cap: std::time::Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
            base: std::time::Duration::from_secs(1),
            cap: std::time::Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// The wait after attempt number `attempts` (1 for the first).
    pub fn backoff(&self, attempts: i64) -> std::time::Duration {
        let factor = 1u32 << u32::try_from((attempts - 1).clamp(0, 20)).unwrap_or(20);
        self.base.saturating_mul(factor).min(self.cap)
    }
}

#[cfg(test)]
mod delivery_tests {
    use super::*;

    #[test]
    fn signatures_cover_the_timestamp_and_the_body() {
        let s = sign_webhook("secret", 1700000000, b"{\"a\":1}");
        assert!(s.starts_with("sha256=") && s.len() == 7 + 64);
        assert!(verify_webhook("secret", 1700000000, b"{\"a\":1}", &s));
        assert!(!verify_webhook("secret", 1700000001, b"{\"a\":1}", &s));
        assert!(!verify_webhook("secret", 1700000000, b"{\"a\":2}", &s));
        assert!(!verify_webhook("other", 1700000000, b"{\"a\":1}", &s));
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(1).as_secs(), 1);
        assert_eq!(p.backoff(4).as_secs(), 8);
        assert_eq!(p.backoff(50).as_secs(), 300);
    }
}
