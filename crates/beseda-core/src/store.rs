//! The storage port. Each method is one use case, atomic inside its backend; transactions never
//! cross this trait. Both backends pass the same conformance suite (beseda-testkit).

use crate::company::{
    DataCounts, DialogSummary, ImportDialog, NewChannel, NewClient, NewOrder, NewTag, Tag,
};
use crate::error::CoreResult;
use crate::ids::{ApiTokenId, ChannelId, ClientId, DialogId, GroupId, ManagerId, OrderId, TagId};
use crate::manager::{Grants, Group, Manager, ManagerCredentials, NewGroup, NewManager};
use crate::secret::TokenHash;
use crate::time::Timestamp;
use crate::values::{Email, Locale, ManagerStatus};
use async_trait::async_trait;
use serde::Serialize;

/// Everything the services need from storage.
pub trait Store: HealthStore + ManagerStore + AuthStore + CompanyStore {}
impl<T: HealthStore + ManagerStore + AuthStore + CompanyStore> Store for T {}

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
    /// Replaces the password hash and ends every session of the manager, in one transaction.
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
    /// Fails with `order_number_taken` when the number is in use.
    async fn create_order(&self, new: &NewOrder) -> CoreResult<OrderId>;
}
