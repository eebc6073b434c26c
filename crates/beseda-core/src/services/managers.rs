//! Managers, groups and availability (F33): who may create and change whom.

use crate::error::{CoreError, CoreResult};
use crate::ids::{ApiTokenId, GroupId, ManagerId};
use crate::manager::{Actor, Grants, Group, Manager, NewGroup, NewManager};
use crate::secret::{self, Passwords};
use crate::store::{ApiToken, ManagerUpdate, Store};
use crate::time::Clock;
use crate::values::{DisplayName, Email, Locale, ManagerStatus, Password};
use std::sync::Arc;

/// A manager to create, as parsed from a request or the command line.
#[derive(Clone, Debug)]
pub struct CreateManager {
    pub email: Email,
    pub name: DisplayName,
    pub password: Password,
    pub locale: Option<Locale>,
    pub is_system_admin: bool,
}

/// The administrator made on the first start of an empty database.
#[derive(Clone, Debug)]
pub struct FirstAdmin {
    pub manager: Manager,
    /// The password, when it was generated (and must be shown once).
    pub generated_password: Option<String>,
}

pub struct ManagerService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    passwords: Passwords,
}

impl ManagerService {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, passwords: Passwords) -> Self {
        ManagerService {
            store,
            clock,
            passwords,
        }
    }

    /// On an empty database, creates the system administrator: with the given email and
    /// password, or `admin@beseda.local` and a random password.
    pub async fn ensure_first_admin(
        &self,
        email: Option<&str>,
        password: Option<&str>,
    ) -> CoreResult<Option<FirstAdmin>> {
        if !self.store.list_managers().await?.is_empty() {
            return Ok(None);
        }
        let email = Email::parse(email.unwrap_or("admin@beseda.local"))?;
        let (password, generated_password) = match password {
            Some(p) => (Password::parse(p)?, None),
            None => {
                let p = secret::random_password();
                (Password::parse(&p)?, Some(p))
            }
        };
        let manager = self
            .register(CreateManager {
                email,
                name: DisplayName::parse("name", "Administrator")?,
                password,
                locale: None,
                is_system_admin: true,
            })
            .await?;
        Ok(Some(FirstAdmin {
            manager,
            generated_password,
        }))
    }

    /// Creates a manager without a permission check: for the operator's command line.
    pub async fn register(&self, new: CreateManager) -> CoreResult<Manager> {
        let password = new.password.clone();
        let password_hash = self.passwords.hash(password.expose()).await?;
        self.store
            .create_manager(&NewManager {
                email: new.email,
                name: new.name.as_str().to_owned(),
                password_hash,
                locale: new.locale,
                is_system_admin: new.is_system_admin,
                created_at: self.clock.now(),
            })
            .await
    }

    /// Creates a manager: needs "manage settings"; only a system administrator makes another.
    pub async fn create(&self, actor: &Actor, new: CreateManager) -> CoreResult<Manager> {
        actor.require_settings()?;
        if new.is_system_admin && !actor.permissions.system_admin {
            return Err(CoreError::Forbidden("system administrator"));
        }
        self.register(new).await
    }

    /// Everyone signed in may see the list of managers (it is the reassignment list).
    pub async fn list(&self, _actor: &Actor) -> CoreResult<Vec<Manager>> {
        self.store.list_managers().await
    }

    /// Changes another manager (or oneself, as an administrator).
    pub async fn update(
        &self,
        actor: &Actor,
        id: ManagerId,
        mut update: ManagerUpdate,
    ) -> CoreResult<Manager> {
        actor.require_settings()?;
        let target = self.get(id).await?;
        let touches_admin = target.is_system_admin || update.is_system_admin.is_some();
        if touches_admin && !actor.permissions.system_admin {
            return Err(CoreError::Forbidden("system administrator"));
        }
        if id == actor.id()
            && (update.is_system_admin == Some(false) || update.disabled == Some(true))
        {
            return Err(CoreError::invalid(
                "is_system_admin",
                "you cannot remove your own administrator rights or disable yourself",
            ));
        }
        update.name = update
            .name
            .map(|n| DisplayName::parse("name", &n).map(|n| n.as_str().to_owned()))
            .transpose()?;
        self.store
            .update_manager(id, &update, self.clock.now())
            .await
    }

    /// Sets another manager's password and ends all their sessions.
    pub async fn reset_password(
        &self,
        actor: &Actor,
        id: ManagerId,
        password: Password,
    ) -> CoreResult<()> {
        self.managed(actor, id).await?;
        self.set_password(id, password).await
    }

    /// A manager whose account the actor may manage: with the settings right, and a system
    /// administrator only by another.
    async fn managed(&self, actor: &Actor, id: ManagerId) -> CoreResult<Manager> {
        actor.require_settings()?;
        let target = self.get(id).await?;
        if target.is_system_admin && !actor.permissions.system_admin {
            return Err(CoreError::Forbidden("system administrator"));
        }
        Ok(target)
    }

    /// A manager's personal API tokens, for an administrator to review.
    pub async fn tokens_of(&self, actor: &Actor, id: ManagerId) -> CoreResult<Vec<ApiToken>> {
        self.managed(actor, id).await?;
        self.store.list_api_tokens(id).await
    }

    /// Revokes one of a manager's personal API tokens.
    pub async fn revoke_token_of(
        &self,
        actor: &Actor,
        id: ManagerId,
        token: ApiTokenId,
    ) -> CoreResult<()> {
        self.managed(actor, id).await?;
        if self.store.delete_api_token(id, token).await? {
            Ok(())
        } else {
            Err(CoreError::NotFound("api token"))
        }
    }

    /// Sets a password without a permission check: for the operator's command line.
    pub async fn set_password(&self, id: ManagerId, password: Password) -> CoreResult<()> {
        let hash = self.passwords.hash(password.expose()).await?;
        self.store.set_password(id, &hash, self.clock.now()).await
    }

    /// Changes one's own password after checking the current one; every session ends.
    pub async fn change_own_password(
        &self,
        actor: &Actor,
        current: &str,
        new: Password,
    ) -> CoreResult<()> {
        let creds = self
            .store
            .manager_credentials(&actor.manager.email)
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        if !self.passwords.verify(current, &creds.password_hash).await? {
            return Err(CoreError::invalid("current_password", "is wrong"));
        }
        self.set_password(actor.id(), new).await
    }

    pub async fn find_by_email(&self, email: &Email) -> CoreResult<Manager> {
        self.store
            .manager_credentials(email)
            .await?
            .map(|c| c.manager)
            .ok_or(CoreError::NotFound("manager"))
    }

    /// One's own availability: online, and free / busy / lunch / break.
    pub async fn set_availability(
        &self,
        actor: &Actor,
        online: bool,
        status: ManagerStatus,
    ) -> CoreResult<Manager> {
        self.store
            .set_availability(actor.id(), online, status, self.clock.now())
            .await
    }

    /// One's own interface language; `None` follows the browser.
    pub async fn set_locale(&self, actor: &Actor, locale: Option<Locale>) -> CoreResult<Manager> {
        let update = ManagerUpdate {
            locale: Some(locale),
            ..ManagerUpdate::default()
        };
        self.store
            .update_manager(actor.id(), &update, self.clock.now())
            .await
    }

    async fn get(&self, id: ManagerId) -> CoreResult<Manager> {
        self.store
            .manager(id)
            .await?
            .ok_or(CoreError::NotFound("manager"))
    }

    pub async fn list_groups(&self, actor: &Actor) -> CoreResult<Vec<Group>> {
        actor.require_settings()?;
        self.store.list_groups().await
    }

    pub async fn create_group(
        &self,
        actor: &Actor,
        name: &str,
        grants: Grants,
    ) -> CoreResult<Group> {
        actor.require_settings()?;
        let name = DisplayName::parse("name", name)?;
        self.store
            .create_group(&NewGroup {
                name: name.as_str().to_owned(),
                grants,
                created_at: self.clock.now(),
            })
            .await
    }

    pub async fn update_group(
        &self,
        actor: &Actor,
        id: GroupId,
        name: Option<&str>,
        grants: Option<Grants>,
    ) -> CoreResult<Group> {
        actor.require_settings()?;
        let name = name.map(|n| DisplayName::parse("name", n)).transpose()?;
        self.store
            .update_group(id, name.as_ref().map(DisplayName::as_str), grants)
            .await
    }

    pub async fn delete_group(&self, actor: &Actor, id: GroupId) -> CoreResult<()> {
        actor.require_settings()?;
        self.store.delete_group(id).await
    }

    pub async fn set_group_members(
        &self,
        actor: &Actor,
        id: GroupId,
        members: &[ManagerId],
    ) -> CoreResult<Group> {
        actor.require_settings()?;
        self.store.set_group_members(id, members).await
    }
}
