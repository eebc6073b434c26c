//! The storage port. Each method is one use case, atomic inside its backend; transactions never
//! cross this trait. Both backends pass the same conformance suite (beseda-testkit).

use crate::channel::Capabilities;
use crate::company::TagColor;
use crate::company::{DataCounts, DialogSummary, ImportDialog, NewChannel, NewClient, NewTag, Tag};
use crate::dialog::{
    Counters, DialogView, FeedPage, InboundMessage, Ingested, MessageView, OutgoingMessage,
    Responsible, Viewer,
};
use crate::error::CoreResult;
use crate::event::{Event, EventId};
use crate::ids::{
    ApiTokenId, BotId, ChannelId, ClientId, DeliveryJobId, DialogId, GroupId, ManagerId, MessageId,
    ModuleId, OrderId, QuickReplyId, TagId,
};
use crate::library::{ClientCard, ClientTag, QuickReply, TimeLimitSettings, TimeLimits};
use crate::manager::{Grants, Group, Manager, ManagerCredentials, NewGroup, NewManager};
use crate::secret::TokenHash;
use crate::time::Timestamp;
use crate::transport::{
    Channel, ChannelRegistration, DeliveryJob, DeliveryOutcome, MessageRef, ReportOutcome,
    StatusReport, TransportModule,
};
use crate::values::{Email, Locale, ManagerStatus};
use async_trait::async_trait;
use serde::Serialize;

/// Everything the services need from storage.
pub trait Store:
    HealthStore
    + ManagerStore
    + AuthStore
    + CompanyStore
    + DialogStore
    + LibraryStore
    + TransportStore
    + AttachmentStore
    + InboxStore
    + WidgetStore
    + ConnectorStore
    + TimerStore
    + OrderStore
    + BotStore
    + DistributionStore
{
}
impl<T> Store for T where
    T: HealthStore
        + ManagerStore
        + AuthStore
        + CompanyStore
        + DialogStore
        + LibraryStore
        + TransportStore
        + AttachmentStore
        + InboxStore
        + WidgetStore
        + ConnectorStore
        + TimerStore
        + OrderStore
        + BotStore
        + DistributionStore
{
}

#[async_trait]
pub trait HealthStore: Send + Sync + 'static {
    /// Which backend this is, for logs and the health report.
    fn backend(&self) -> &'static str;
    /// Answers when the database is reachable.
    async fn ping(&self) -> CoreResult<()>;
}

/// Changes to a manager; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct ManagerUpdate {
    pub name: Option<String>,
    pub locale: Option<Option<Locale>>,
    pub is_system_admin: Option<bool>,
    pub disabled: Option<bool>,
}

#[async_trait]
pub trait ManagerStore: Send + Sync + 'static {
    /// Fails with `email_taken` when the email is in use.
    async fn create_manager(&self, new: &NewManager) -> CoreResult<Manager>;
    async fn manager(&self, id: ManagerId) -> CoreResult<Option<Manager>>;
    async fn manager_credentials(&self, email: &Email) -> CoreResult<Option<ManagerCredentials>>;
    /// All managers, by name.
    async fn list_managers(&self) -> CoreResult<Vec<Manager>>;
    async fn update_manager(
        &self,
        id: ManagerId,
        update: &ManagerUpdate,
        now: Timestamp,
    ) -> CoreResult<Manager>;
    async fn set_availability(
        &self,
        id: ManagerId,
        online: bool,
        status: ManagerStatus,
        now: Timestamp,
    ) -> CoreResult<Manager>;
    /// Replaces the password hash and ends every session and API token of the manager, in one
    /// transaction.
    async fn set_password(
        &self,
        id: ManagerId,
        password_hash: &str,
        now: Timestamp,
    ) -> CoreResult<()>;

    /// Fails with `group_name_taken` when the name is in use.
    async fn create_group(&self, new: &NewGroup) -> CoreResult<Group>;
    async fn update_group(
        &self,
        id: GroupId,
        name: Option<&str>,
        grants: Option<Grants>,
    ) -> CoreResult<Group>;
    async fn delete_group(&self, id: GroupId) -> CoreResult<()>;
    /// Replaces the members of a group; every manager must exist.
    async fn set_group_members(&self, id: GroupId, members: &[ManagerId]) -> CoreResult<Group>;
    /// All groups, by name, with their members.
    async fn list_groups(&self) -> CoreResult<Vec<Group>>;
    /// The union of the grants of the manager's groups.
    async fn grants_of(&self, manager: ManagerId) -> CoreResult<Grants>;
}

#[derive(Clone, Debug)]
pub struct NewSession {
    pub token_hash: TokenHash,
    pub manager_id: ManagerId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A personal API token as its owner sees it (never the secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: ApiTokenId,
    pub name: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    /// After this it no longer signs anyone in.
    pub expires_at: Timestamp,
}

#[async_trait]
pub trait AuthStore: Send + Sync + 'static {
    async fn create_session(&self, new: &NewSession) -> CoreResult<()>;
    /// The manager of a session that has not expired at `now`.
    async fn session_manager(
        &self,
        token_hash: &TokenHash,
        now: Timestamp,
    ) -> CoreResult<Option<ManagerId>>;
    async fn delete_session(&self, token_hash: &TokenHash) -> CoreResult<()>;
    /// Removes sessions that expired before `now`; returns how many.
    async fn delete_expired_sessions(&self, now: Timestamp) -> CoreResult<u64>;

    async fn create_api_token(
        &self,
        manager: ManagerId,
        name: &str,
        token_hash: &TokenHash,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> CoreResult<ApiToken>;
    /// The owner of a token, marking it used at `now`.
    async fn api_token_manager(
        &self,
        token_hash: &TokenHash,
        now: Timestamp,
    ) -> CoreResult<Option<ManagerId>>;
    async fn list_api_tokens(&self, manager: ManagerId) -> CoreResult<Vec<ApiToken>>;
    /// Deletes one of the manager's tokens; `false` when the manager has no such token.
    async fn delete_api_token(&self, manager: ManagerId, id: ApiTokenId) -> CoreResult<bool>;
}

#[async_trait]
pub trait CompanyStore: Send + Sync + 'static {
    async fn data_counts(&self) -> CoreResult<DataCounts>;
    async fn create_channel(&self, new: &NewChannel) -> CoreResult<ChannelId>;
    /// Fails with `tag_name_taken` when the name is in use.
    async fn create_tag(&self, new: &NewTag) -> CoreResult<TagId>;
    /// All client tags, by name.
    async fn list_tags(&self) -> CoreResult<Vec<Tag>>;
    async fn create_client(&self, new: &NewClient) -> CoreResult<ClientId>;
    /// Creates the contact, its dialog and the history in one transaction, with the dialog's
    /// sort keys, preview and waiting time computed from the history. Fails with
    /// `contact_exists` when the channel already has this contact.
    async fn import_dialog(&self, dialog: &ImportDialog) -> CoreResult<DialogId>;
    async fn dialog_summary(&self, id: DialogId) -> CoreResult<Option<DialogSummary>>;
}

/// A write's answer and the events it appended, to publish once it is committed.
#[derive(Debug)]
pub struct Written<T> {
    pub value: T,
    pub events: Vec<Event>,
}

/// What the rules need to know of a dialog before acting on it.
#[derive(Clone, Debug)]
pub struct DialogAccess {
    pub id: DialogId,
    pub channel_id: ChannelId,
    pub responsible: Option<Responsible>,
    pub open: bool,
    pub client_id: Option<ClientId>,
    pub client_blocked: bool,
    pub capabilities: Capabilities,
    /// When the client's latest message came.
    pub last_client_at: Option<Timestamp>,
}

impl DialogAccess {
    /// When the channel's window for writing to the client closes, where it has one: that
    /// long after the client's latest message (closed already without one).
    pub fn reply_window_closes_at(&self) -> Option<Timestamp> {
        let window = self.capabilities.reply_window_secs?;
        let millis = i64::try_from(window.saturating_mul(1000)).unwrap_or(i64::MAX);
        Some(
            self.last_client_at
                .map_or(Timestamp(0), |at| Timestamp(at.0.saturating_add(millis))),
        )
    }
}

/// A right the service checked, checked again inside the write's transaction, so that a
/// reassignment racing with the write cannot slip between the check and the write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Guard {
    /// The actor may act on any dialog (an administrator).
    Any,
    /// The dialog must still be this manager's or this bot's.
    ResponsibleIs(Responsible),
    /// The dialog must still have nobody responsible (a manager takes it).
    Unassigned,
}

#[async_trait]
pub trait DialogStore: Send + Sync + 'static {
    /// A client message: dedupe on (channel, external id), find or create the contact, its
    /// client card and the dialog, reopen a closed dialog (F08), refuse a blocked client (F10),
    /// move the sort keys, the waiting time and the unread counters, append the events.
    async fn ingest_client_message(
        &self,
        m: &InboundMessage,
        now: Timestamp,
    ) -> CoreResult<Written<Ingested>>;
    /// A client's past conversation: a new contact (and client card, F04) with its dialog and
    /// history, read by everyone, no events. A contact with a dialog keeps it: `(it, false)`.
    async fn import_history(
        &self,
        h: &crate::dialog::HistoryImport,
        now: Timestamp,
    ) -> CoreResult<(DialogId, bool)>;
    /// A dialog that is not deleted, for the rules.
    async fn dialog_access(&self, id: DialogId) -> CoreResult<Option<DialogAccess>>;
    /// A dialog as `viewer` sees it at `now`, or `None` when they may not see it (F33).
    async fn dialog_view(
        &self,
        id: DialogId,
        viewer: Viewer,
        now: Timestamp,
    ) -> CoreResult<Option<DialogView>>;
    /// A page of the feed, oldest first.
    async fn feed(&self, id: DialogId, page: FeedPage, limit: u32) -> CoreResult<Vec<MessageView>>;
    /// The dialog a message belongs to.
    async fn message_dialog(&self, id: MessageId) -> CoreResult<Option<DialogId>>;
    /// A manager's message, `queued` with its delivery job; reopens a closed dialog (F08, F29),
    /// clears the author's draft, ends the wait, marks the dialog read for the author.
    async fn append_company_message(
        &self,
        m: &OutgoingMessage,
        guard: Guard,
        now: Timestamp,
    ) -> CoreResult<Written<MessageView>>;
    /// Hands the dialog to a manager, a bot or nobody; it stays open or closed (F07).
    async fn reassign(
        &self,
        id: DialogId,
        to: Option<Responsible>,
        by: Responsible,
        guard: Guard,
        now: Timestamp,
    ) -> CoreResult<Written<()>>;
    async fn close_dialog(
        &self,
        id: DialogId,
        by: Responsible,
        guard: Guard,
        now: Timestamp,
    ) -> CoreResult<Written<()>>;
    /// The manager has read every message of the dialog.
    async fn mark_read(
        &self,
        id: DialogId,
        manager: ManagerId,
        now: Timestamp,
    ) -> CoreResult<Written<()>>;
    /// F09: unread for this manager only.
    async fn mark_unread(
        &self,
        id: DialogId,
        manager: ManagerId,
        now: Timestamp,
    ) -> CoreResult<Written<()>>;
    /// F10: blocks or unblocks a client, with an event in the feed of each of their dialogs.
    async fn set_client_blocked(
        &self,
        client: ClientId,
        blocked: bool,
        by: ManagerId,
        now: Timestamp,
    ) -> CoreResult<Written<()>>;
    /// F14: the dialog forgets its client card; the card stays.
    async fn detach_client(
        &self,
        id: DialogId,
        by: ManagerId,
        guard: Guard,
        now: Timestamp,
    ) -> CoreResult<Written<()>>;
    /// F18: saves (or with `None` clears) the manager's draft.
    async fn save_draft(
        &self,
        id: DialogId,
        manager: ManagerId,
        body: Option<&str>,
        now: Timestamp,
    ) -> CoreResult<Written<()>>;
    /// F02: the header's counters.
    async fn counters(&self, viewer: Viewer) -> CoreResult<Counters>;
    /// Events after `after`, oldest first, at most `limit`; `None` when some of them were
    /// pruned already (the reader must resync).
    async fn events_after(&self, after: EventId, limit: u32) -> CoreResult<Option<Vec<Event>>>;
    /// Deletes the events made before `before`; returns how many.
    async fn prune_events(&self, before: Timestamp) -> CoreResult<u64>;
}

/// Tags, quick replies and time limits.
#[async_trait]
pub trait LibraryStore: Send + Sync + 'static {
    /// Renames or recolours a tag; `tag_name_taken` when the name is in use.
    async fn update_tag(
        &self,
        id: TagId,
        name: Option<&str>,
        color: Option<TagColor>,
    ) -> CoreResult<Tag>;
    /// Deletes a tag and takes it off every client.
    async fn delete_tag(&self, id: TagId) -> CoreResult<()>;
    /// Puts a tag on a client, or changes whether it is pinned.
    async fn set_client_tag(
        &self,
        client: ClientId,
        tag: TagId,
        pinned: bool,
        now: Timestamp,
    ) -> CoreResult<Written<Vec<ClientTag>>>;
    async fn remove_client_tag(
        &self,
        client: ClientId,
        tag: TagId,
        now: Timestamp,
    ) -> CoreResult<Written<Vec<ClientTag>>>;
    async fn client_tags(&self, client: ClientId) -> CoreResult<Vec<ClientTag>>;
    /// Two cards of one person become one: `from`'s dialogs, contacts, orders and tags go to
    /// `into`, which keeps its own fields and takes `from`'s phone, email and photo where it
    /// has none; `from` is gone. The events are `into`'s tags on each of its dialogs.
    async fn merge_clients(
        &self,
        from: ClientId,
        into: ClientId,
        now: Timestamp,
    ) -> CoreResult<Written<Vec<ClientTag>>>;
    async fn client_card(&self, client: ClientId) -> CoreResult<Option<ClientCard>>;
    /// Who answers for each of the client's dialogs: whoever may see one may tag the client.
    async fn client_dialog_responsibles(
        &self,
        client: ClientId,
    ) -> CoreResult<Vec<Option<Responsible>>>;

    /// Shared replies and the manager's own, by title.
    async fn quick_replies(&self, manager: ManagerId) -> CoreResult<Vec<QuickReply>>;
    async fn quick_reply(&self, id: QuickReplyId) -> CoreResult<Option<QuickReply>>;
    async fn create_quick_reply(
        &self,
        owner: Option<ManagerId>,
        title: &str,
        body: &str,
        now: Timestamp,
    ) -> CoreResult<QuickReply>;
    async fn update_quick_reply(
        &self,
        id: QuickReplyId,
        title: Option<&str>,
        body: Option<&str>,
        now: Timestamp,
    ) -> CoreResult<QuickReply>;
    async fn delete_quick_reply(&self, id: QuickReplyId) -> CoreResult<()>;
    /// A message's text, for a quick reply made from it; none once the client deleted it.
    async fn message_body(&self, id: MessageId) -> CoreResult<Option<String>>;

    async fn time_limits(&self) -> CoreResult<TimeLimitSettings>;
    async fn set_default_time_limits(&self, limits: TimeLimits) -> CoreResult<()>;
    /// Overrides a channel's limits; unset values fall back to the defaults.
    async fn set_channel_time_limits(
        &self,
        channel: ChannelId,
        limits: TimeLimits,
    ) -> CoreResult<()>;
}

/// Integration modules, their channels and their delivery reports (F38, F31).
#[async_trait]
pub trait TransportStore: Send + Sync + 'static {
    async fn create_module(
        &self,
        name: &str,
        token_hash: &TokenHash,
        webhook_url: &str,
        webhook_secret: &str,
        now: Timestamp,
    ) -> CoreResult<TransportModule>;
    async fn list_modules(&self) -> CoreResult<Vec<TransportModule>>;
    /// Gives a module a new token and webhook address; the old token stops working.
    async fn renew_module(
        &self,
        id: ModuleId,
        token_hash: &TokenHash,
        webhook_url: &str,
    ) -> CoreResult<TransportModule>;
    /// The active module holding this token.
    async fn module_by_token(&self, token_hash: &TokenHash) -> CoreResult<Option<TransportModule>>;
    async fn register_channel(
        &self,
        module: ModuleId,
        reg: &ChannelRegistration,
        now: Timestamp,
    ) -> CoreResult<Channel>;
    /// Changes one of the module's channels; `not_found` for another module's.
    async fn update_channel(
        &self,
        module: ModuleId,
        id: ChannelId,
        reg: &ChannelRegistration,
        now: Timestamp,
    ) -> CoreResult<Channel>;
    async fn set_channel_active(
        &self,
        module: ModuleId,
        id: ChannelId,
        active: bool,
        now: Timestamp,
    ) -> CoreResult<Channel>;
    /// One of the module's channels, active or not.
    async fn module_channel(&self, module: ModuleId, id: ChannelId) -> CoreResult<Option<Channel>>;
    async fn module_channels(&self, module: ModuleId) -> CoreResult<Vec<Channel>>;
    /// Moves an outgoing message's status forward; late and repeated reports change nothing.
    async fn report_status(
        &self,
        report: &StatusReport,
        now: Timestamp,
    ) -> CoreResult<Written<ReportOutcome>>;
    /// Edits (`Some(text)`) or deletes (`None`) a client message the channel pushed earlier.
    async fn change_client_message(
        &self,
        channel: ChannelId,
        external_id: &str,
        text: Option<&str>,
        now: Timestamp,
    ) -> CoreResult<Written<MessageView>>;
    /// Marks every company message of the dialog up to `message` read (the client read them).
    async fn read_up_to(
        &self,
        channel: ChannelId,
        message: &MessageRef,
        now: Timestamp,
    ) -> CoreResult<Written<u64>>;
    /// Moves every company message to the client `contact` created up to `at` and already sent
    /// forward to `status` (a platform's delivery or read watermark); `not_found` when the
    /// client has no dialog.
    async fn advance_until(
        &self,
        channel: ChannelId,
        contact: &str,
        at: Timestamp,
        status: crate::dialog::DeliveryStatus,
        now: Timestamp,
    ) -> CoreResult<Written<u64>>;
    /// Leases up to `limit` due delivery jobs to `owner` until `lease_until`: within a dialog only
    /// the oldest unfinished job, so messages leave in order; a job whose lease ran out (its
    /// worker died) is due again.
    async fn claim_deliveries(
        &self,
        owner: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> CoreResult<Vec<DeliveryJob>>;
    /// Records an attempt's outcome, if `owner` still holds the lease.
    async fn finish_delivery(
        &self,
        job: DeliveryJobId,
        owner: &str,
        outcome: &DeliveryOutcome,
        now: Timestamp,
    ) -> CoreResult<Written<()>>;
}

/// Stored files (F11, F25–F27). An upload waits, unsent, until a message takes it: binding it
/// happens in the message's own transaction (see `OutgoingMessage::attachments`).
#[async_trait]
pub trait AttachmentStore: Send + Sync + 'static {
    async fn add_attachment(
        &self,
        new: &crate::attachment::NewAttachment,
        now: Timestamp,
    ) -> CoreResult<crate::attachment::AttachmentView>;
    async fn attachment(
        &self,
        id: crate::ids::AttachmentId,
    ) -> CoreResult<Option<crate::attachment::StoredAttachment>>;
    /// A dialog's sent images or other files, newest first, before `before` (keyset).
    async fn dialog_attachments(
        &self,
        dialog: DialogId,
        tab: crate::attachment::AttachmentTab,
        before: Option<crate::ids::AttachmentId>,
        limit: u32,
    ) -> CoreResult<Vec<crate::attachment::AttachmentView>>;
    /// Uploads no message took, made before `before`: for housekeeping.
    async fn unsent_attachments(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> CoreResult<Vec<crate::attachment::StoredAttachment>>;
    /// Forgets an upload no message took; false when a message took it meanwhile.
    async fn delete_unsent_attachment(&self, id: crate::ids::AttachmentId) -> CoreResult<bool>;
    /// Of `keys`, those no attachment names as its file or its preview.
    async fn unknown_object_keys(&self, keys: &[String]) -> CoreResult<Vec<String>>;
    /// The bytes of the files one uploader (a manager, in any dialog, or a channel) stored
    /// and no message took yet.
    async fn unsent_bytes(&self, uploader: crate::attachment::Uploader) -> CoreResult<u64>;
}

/// The dialog list (F06, F12, F19–F24). Every query answers only what the viewer may see, and
/// never a deleted dialog.
#[async_trait]
pub trait InboxStore: Send + Sync + 'static {
    /// A page of the list and the cursor of the next page (none after the last).
    async fn list_dialogs(
        &self,
        q: &crate::inbox::DialogQuery,
        viewer: Viewer,
        now: Timestamp,
    ) -> CoreResult<(Vec<DialogView>, Option<crate::inbox::Cursor>)>;
    /// The ids of the dialogs a filter matches, in id order after `after`: for bulk actions.
    async fn matching_dialogs(
        &self,
        filter: &crate::inbox::DialogFilter,
        viewer: Viewer,
        after: Option<DialogId>,
        limit: u32,
    ) -> CoreResult<Vec<DialogId>>;
    /// Each tag with the number of visible dialogs whose client carries it (pinned, if asked).
    async fn tag_counts(
        &self,
        viewer: Viewer,
        pinned: bool,
    ) -> CoreResult<Vec<crate::inbox::TagCount>>;
    /// Every channel, active or not (old dialogs keep theirs), by name.
    async fn channel_options(&self) -> CoreResult<Vec<crate::inbox::ChannelOption>>;
    /// Dialogs whose contact or client matches `text` by name, nickname, phone or email, or
    /// whose channel's name holds it; newest activity first.
    async fn search_dialogs(
        &self,
        viewer: Viewer,
        text: &str,
        limit: u32,
        now: Timestamp,
    ) -> CoreResult<Vec<DialogView>>;
    /// Messages holding `text` (3+ characters, any case), newest first, before `before`.
    async fn search_messages(
        &self,
        viewer: Viewer,
        text: &str,
        before: Option<MessageId>,
        limit: u32,
    ) -> CoreResult<Vec<crate::inbox::MessageHit>>;
    /// F19: the dialogs leave every list, search and counter; who and when are kept.
    async fn delete_dialogs(
        &self,
        ids: &[DialogId],
        by: ManagerId,
        now: Timestamp,
    ) -> CoreResult<Written<u64>>;
}

/// The website widget: its channels, its visitors and where they are (F39).
#[async_trait]
pub trait WidgetStore: Send + Sync + 'static {
    /// A new channel of kind `widget` with its settings and secrets.
    async fn create_widget(
        &self,
        name: &str,
        key: &str,
        identity_secret: &str,
        settings: &crate::widget::WidgetSettings,
        now: Timestamp,
    ) -> CoreResult<crate::widget::WidgetChannel>;
    async fn update_widget(
        &self,
        id: ChannelId,
        name: &str,
        active: bool,
        settings: &crate::widget::WidgetSettings,
        now: Timestamp,
    ) -> CoreResult<crate::widget::WidgetChannel>;
    /// Every widget channel, by name.
    async fn widgets(&self) -> CoreResult<Vec<crate::widget::WidgetChannel>>;
    /// A widget channel, active or not, with its channel's capabilities.
    async fn widget(
        &self,
        id: ChannelId,
    ) -> CoreResult<Option<(crate::widget::WidgetChannel, Capabilities)>>;
    async fn widget_by_key(
        &self,
        key: &str,
    ) -> CoreResult<Option<(crate::widget::WidgetChannel, Capabilities)>>;
    /// A visitor session: the token (hashed) names the visitor's contact on the channel.
    async fn create_visitor(
        &self,
        channel: ChannelId,
        token_hash: &TokenHash,
        external_id: &str,
        now: Timestamp,
    ) -> CoreResult<crate::ids::VisitorSessionId>;
    /// Forgets the sessions made before `before` of visitors who never wrote (a page view that
    /// stayed a page view); returns how many went.
    async fn forget_quiet_visitors(&self, before: Timestamp) -> CoreResult<u64>;
    /// The visitor holding this token on this channel.
    async fn visitor_by_token(
        &self,
        channel: ChannelId,
        token_hash: &TokenHash,
    ) -> CoreResult<Option<crate::widget::Visitor>>;
    /// The visitor's dialog, once they wrote, unless it was deleted.
    async fn visitor_dialog(
        &self,
        visitor: &crate::widget::Visitor,
    ) -> CoreResult<Option<DialogId>>;
    /// One message of a dialog as the feed shows it.
    async fn dialog_message(
        &self,
        dialog: DialogId,
        id: MessageId,
    ) -> CoreResult<Option<MessageView>>;
    /// The newest event's id: a screen that loads now replays from it.
    async fn newest_event_id(&self) -> CoreResult<EventId>;
    /// The newest client message of the dialog that a manager has read.
    async fn client_read_up_to(&self, dialog: DialogId) -> CoreResult<Option<MessageId>>;
    /// One dialog's events after `after`, oldest first; `None` when some were pruned.
    async fn dialog_events_after(
        &self,
        dialog: DialogId,
        after: EventId,
        limit: u32,
    ) -> CoreResult<Option<Vec<Event>>>;
    /// Records that a visitor left the site (`here` false) or came back, with a line in their
    /// dialog's feed; `false` when they have no dialog or it was so already.
    async fn set_visitor_presence(
        &self,
        visitor: &crate::widget::Visitor,
        here: bool,
        now: Timestamp,
    ) -> CoreResult<Written<bool>>;
}

/// A channel Beseda connects to its messenger itself, as its webhook finds it.
#[derive(Clone, Debug)]
pub struct ConnectedChannel {
    pub channel: Channel,
    /// The key in its webhook's address: `/hooks/{kind}/{key}`.
    pub hook_key: String,
    /// Its sealed `Connection` (credentials and webhook secret).
    pub sealed: String,
    /// When its latest dialog moved.
    pub last_activity_at: Option<Timestamp>,
}

/// Channels connected to their messengers by Beseda itself (the built-in connectors).
#[async_trait]
pub trait ConnectorStore: Send + Sync + 'static {
    async fn create_connected_channel(
        &self,
        reg: &ChannelRegistration,
        hook_key: &str,
        sealed: &str,
        now: Timestamp,
    ) -> CoreResult<Channel>;
    /// A connected channel by its id, active or not.
    async fn connected_channel_by_id(&self, id: ChannelId) -> CoreResult<Option<ConnectedChannel>>;
    /// The channel a webhook's key names, active or not.
    async fn connected_channel(&self, hook_key: &str) -> CoreResult<Option<ConnectedChannel>>;
    /// Every connected channel, by name.
    async fn connected_channels(&self) -> CoreResult<Vec<ConnectedChannel>>;
    /// Turns a connected channel off; its dialogs stay. `None` for a channel that is not one.
    async fn disconnect_channel(
        &self,
        id: ChannelId,
        now: Timestamp,
    ) -> CoreResult<Option<ConnectedChannel>>;
    /// Replaces a connected channel's sealed connection.
    async fn reseal_channel(&self, id: ChannelId, sealed: &str, now: Timestamp) -> CoreResult<()>;
    /// Removes a connected channel that has no dialog yet: its connection failed half-way.
    async fn forget_connected_channel(&self, id: ChannelId) -> CoreResult<()>;
    /// The active connected channel of `kind` for this platform account.
    async fn connected_account(
        &self,
        kind: crate::channel::ChannelKind,
        external_id: &str,
    ) -> CoreResult<Option<ConnectedChannel>>;
    /// A client's reaction to a message of their dialog (known by its id on the platform,
    /// theirs or ours), as a line in the feed; `None` when the reaction was recorded already
    /// (by its own id) or the client has no dialog.
    async fn record_reaction(
        &self,
        channel: ChannelId,
        contact: &str,
        reaction: &crate::connector::Reaction,
        now: Timestamp,
    ) -> CoreResult<Written<Option<MessageView>>>;
    /// The platform's id of the client's latest message in a dialog.
    async fn last_client_message(&self, dialog: DialogId) -> CoreResult<Option<String>>;
    /// Whether the channel has taken a client's message with this id already.
    async fn knows_message(&self, channel: ChannelId, external_id: &str) -> CoreResult<bool>;
    /// Keeps the photo stored under `key` for a contact; its client card shows it unless it has
    /// a photo already.
    async fn set_contact_photo(
        &self,
        channel: ChannelId,
        external_id: &str,
        key: &str,
    ) -> CoreResult<()>;
    /// The stored photo of one of a client's contacts.
    async fn client_photo_key(&self, client: ClientId) -> CoreResult<Option<String>>;
    /// Whether the channel has this client already.
    async fn knows_contact(&self, channel: ChannelId, external_id: &str) -> CoreResult<bool>;
    /// A company message written to the client on the platform itself, `sent`, ending the
    /// client's wait; `None` when it is one of ours (`ours`, or the same platform id seen
    /// before) or the client has no dialog.
    async fn record_echo(
        &self,
        m: &InboundMessage,
        ours: Option<MessageId>,
        now: Timestamp,
    ) -> CoreResult<Written<Option<MessageView>>>;
    /// Takes a channel's long polling for `owner` until `until`, when nobody else holds it
    /// then; the update offset to poll from (`Some(None)`: from the first), `None` when
    /// another node polls it.
    async fn lease_polling(
        &self,
        id: ChannelId,
        owner: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> CoreResult<Option<Option<i64>>>;
    /// Keeps the next update offset of a channel that `owner` polls; `false` when the lease
    /// has passed to another node, whose offset stays.
    async fn save_poll_offset(&self, id: ChannelId, owner: &str, offset: i64) -> CoreResult<bool>;
}

/// The dialogs' clocks (F13, F34): each waiting dialog keeps when its mark is due to be looked
/// at next, so a timer wakes for due dialogs only and an idle one costs nothing.
#[async_trait]
pub trait TimerStore: Send + Sync + 'static {
    /// Up to `limit` dialogs due by `now`, each put off until `lease_until` so that other
    /// workers leave it alone meanwhile (a worker that dies leaves it due again then).
    async fn claim_waiting(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> CoreResult<Vec<DialogId>>;
    /// Records a dialog's waiting level at `now` under its channel's limits, announces a
    /// change of level, and sets when to look again.
    async fn settle_waiting(&self, id: DialogId, now: Timestamp) -> CoreResult<Written<()>>;
    /// When the earliest waiting mark is due to be looked at.
    async fn next_waiting_due(&self) -> CoreResult<Option<Timestamp>>;
}

/// Orders (F05, F40). A change is announced to the dialog that produced the order, if any.
#[async_trait]
pub trait OrderStore: Send + Sync + 'static {
    /// `order_number_taken` when the number is someone else's.
    async fn create_order(
        &self,
        new: &crate::order::NewOrder,
    ) -> CoreResult<Written<crate::order::Order>>;
    async fn order(&self, id: OrderId) -> CoreResult<Option<crate::order::Order>>;
    /// A client's orders, newest first.
    async fn client_orders(
        &self,
        client: ClientId,
        limit: u32,
    ) -> CoreResult<Vec<crate::order::Order>>;
    async fn change_order(
        &self,
        id: OrderId,
        change: &crate::order::OrderChange,
        now: Timestamp,
    ) -> CoreResult<Written<crate::order::Order>>;
}

/// The events a bot may see after a point of the log, and how far the log was read.
#[derive(Clone, Debug)]
pub struct BotEvents {
    pub events: Vec<Event>,
    /// The last event looked at (seen or not): the next read starts after it.
    pub read_up_to: EventId,
}

/// Bots (F37) and their webhooks' progress through the event log.
#[async_trait]
pub trait BotStore: Send + Sync + 'static {
    /// A bot whose webhook starts after the events logged so far. `not_found` for a channel
    /// that does not exist.
    async fn create_bot(&self, new: &crate::bot::NewBot) -> CoreResult<crate::bot::Bot>;
    /// Every bot, by name.
    async fn bots(&self) -> CoreResult<Vec<crate::bot::Bot>>;
    async fn bot(&self, id: BotId) -> CoreResult<Option<crate::bot::Bot>>;
    /// An active external bot by its token.
    async fn bot_by_token(&self, hash: &TokenHash) -> CoreResult<Option<crate::bot::Bot>>;
    async fn update_bot(
        &self,
        id: BotId,
        change: &crate::bot::BotChange,
    ) -> CoreResult<crate::bot::Bot>;
    /// A new token (the old one stops working) and webhook secret.
    async fn renew_bot(
        &self,
        id: BotId,
        hash: &TokenHash,
        webhook_secret: &str,
    ) -> CoreResult<crate::bot::Bot>;
    /// Up to `limit` events after `after` that reach the bot, oldest first.
    async fn bot_events_after(
        &self,
        scope: &crate::bot::BotScope,
        after: EventId,
        limit: u32,
    ) -> CoreResult<BotEvents>;
    /// Takes, for `owner` until `until`, the webhook of one active bot that has events after
    /// its cursor and is due to be tried.
    async fn lease_bot_webhook(
        &self,
        owner: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> CoreResult<Option<crate::bot::BotDelivery>>;
    /// The webhook took everything up to `up_to`; it is well again.
    async fn bot_delivered(&self, id: BotId, owner: &str, up_to: EventId) -> CoreResult<()>;
    /// The webhook failed: try again at `retry_at`; `failing` marks it failing in settings.
    async fn bot_webhook_failed(
        &self,
        id: BotId,
        owner: &str,
        error: &str,
        retry_at: Timestamp,
        failing: Option<Timestamp>,
    ) -> CoreResult<()>;
}

/// The distribution bot's view of the inbox (F36): presence, its rules, the queue, and the held
/// dialogs that must move.
#[async_trait]
pub trait DistributionStore: Send + Sync + 'static {
    /// The manager's socket answered at `at`; `None`: their last socket closed.
    async fn touch_manager(&self, id: ManagerId, at: Option<Timestamp>) -> CoreResult<()>;
    /// The built-in distribution bot, made the first time it is asked for.
    async fn distribution_bot(&self, now: Timestamp) -> CoreResult<BotId>;
    async fn distribution_rules(&self) -> CoreResult<Vec<crate::distribution::ChannelRule>>;
    /// A channel's rule, or none (its dialogs are no longer distributed). A rule changed keeps
    /// the moment it first applied.
    async fn set_distribution_rule(
        &self,
        channel: ChannelId,
        rule: Option<&crate::distribution::ChannelRule>,
    ) -> CoreResult<()>;
    /// Records that the bot did `mark` for the dialog; `false` when it had already.
    async fn mark_once(&self, dialog: DialogId, mark: &str) -> CoreResult<bool>;
    async fn reassign_rules(&self) -> CoreResult<crate::distribution::ReassignRules>;
    async fn set_reassign_rules(
        &self,
        rules: &crate::distribution::ReassignRules,
        now: Timestamp,
    ) -> CoreResult<()>;
    /// The managers named and the active members of the groups named, each as a candidate:
    /// present when seen since `seen_since` and "free". Open dialogs are counted only for the
    /// present ones, up to `count_up_to` (a cap needs no more), and not at all without it.
    async fn candidates(
        &self,
        managers: &[ManagerId],
        groups: &[GroupId],
        seen_since: Timestamp,
        count_up_to: Option<u32>,
    ) -> CoreResult<Vec<crate::distribution::Candidate>>;
    /// A channel's unassigned open dialogs, longest waiting first, with the client's own
    /// manager (of their latest other dialog).
    async fn queue(
        &self,
        channel: ChannelId,
        limit: u32,
    ) -> CoreResult<Vec<crate::distribution::Queued>>;
    /// Open dialogs of `channels` held by managers that must move, and why: their manager
    /// away or not free for too long, or the client waiting too long.
    async fn overdue(
        &self,
        channels: &[ChannelId],
        rules: &crate::distribution::ReassignRules,
        now: Timestamp,
        limit: u32,
    ) -> CoreResult<Vec<Overdue>>;
    /// Hands a dialog on as the distribution bot, with the reason, if it is still as the bot
    /// saw it (`guard`); the manager given it counts as given one now (round robin).
    async fn distribute(
        &self,
        id: DialogId,
        to: Option<ManagerId>,
        bot: BotId,
        reason: crate::distribution::AssignReason,
        guard: Guard,
        now: Timestamp,
    ) -> CoreResult<Written<()>>;
}

/// A held dialog that must move, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overdue {
    pub dialog: DialogId,
    pub channel: ChannelId,
    pub manager: ManagerId,
    pub reason: crate::distribution::AssignReason,
}
