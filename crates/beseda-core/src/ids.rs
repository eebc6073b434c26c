//! Typed ids: a manager id can never be passed where a dialog id is expected.

use serde::{Deserialize, Serialize};

macro_rules! typed_id {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

typed_id!(
    /// A user of the system.
    ManagerId,
    /// A user group that grants permissions.
    GroupId,
    /// A personal API token of a manager.
    ApiTokenId,
    /// A connected messenger account or website widget.
    ChannelId,
    /// The CRM's client card.
    ClientId,
    /// A client's identity on one channel.
    ContactId,
    /// One row of the inbox.
    DialogId,
    /// A message in a dialog.
    MessageId,
    /// A client tag.
    TagId,
    /// A bot.
    BotId,
    /// A file in a message.
    AttachmentId,
        /// An order.
    OrderId,
    /// An integration module (a transport).
    ModuleId,
    /// A saved answer (F32).
    QuickReplyId,
    /// An outgoing message's delivery to its module.
    DeliveryJobId,
    /// A website visitor's session (one browser of one visitor).
    VisitorSessionId,
);
