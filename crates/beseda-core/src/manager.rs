//! Managers, user groups and what they may do (F33).

use crate::ids::{GroupId, ManagerId};
use crate::time::Timestamp;
use crate::values::{Email, Locale, ManagerStatus};
use serde::Serialize;

/// A user of the system, as everyone may see it (no secrets).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Manager {
    pub id: ManagerId,
    #[schema(value_type = String)]
    pub email: Email,
    pub name: String,
    /// The interface language the manager chose; `null` follows the browser.
    pub locale: Option<Locale>,
    pub is_system_admin: bool,
    pub online: bool,
    pub status: ManagerStatus,
    pub disabled: bool,
    pub created_at: Timestamp,
}

/// A manager with the hash of their password, for signing in only.
#[derive(Clone, Debug)]
pub struct ManagerCredentials {
    pub manager: Manager,
    pub password_hash: String,
}

/// A user group and the permissions it grants to its members.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Group {
    pub id: GroupId,
    pub name: String,
    pub grants: Grants,
    pub members: Vec<ManagerId>,
}

/// The permissions a group can grant.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Grants {
    /// Sees and may do everything in chats.
    #[serde(default)]
    pub chats_admin: bool,
    /// Sees every dialog, not only their own and the unassigned ones.
    #[serde(default)]
    pub view_all_dialogs: bool,
    /// May delete dialogs (F19).
    #[serde(default)]
    pub delete_dialogs: bool,
    /// May change the chat settings, channels, tags, managers and groups.
    #[serde(default)]
    pub manage_settings: bool,
}

impl Grants {
    pub fn union(self, other: Grants) -> Grants {
        Grants {
            chats_admin: self.chats_admin || other.chats_admin,
            view_all_dialogs: self.view_all_dialogs || other.view_all_dialogs,
            delete_dialogs: self.delete_dialogs || other.delete_dialogs,
            manage_settings: self.manage_settings || other.manage_settings,
        }
    }
}

/// What one manager may do: the union of their groups' grants, and the system administrator
/// flag, which implies everything.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Permissions {
    pub system_admin: bool,
    pub chats_admin: bool,
    pub view_all_dialogs: bool,
    pub delete_dialogs: bool,
    pub manage_settings: bool,
}

impl Permissions {
    pub fn new(system_admin: bool, grants: Grants) -> Permissions {
        // A chats administrator may do everything in chats; a system administrator everything.
        let chats_admin = system_admin || grants.chats_admin;
        Permissions {
            system_admin,
            chats_admin,
            view_all_dialogs: chats_admin || grants.view_all_dialogs,
            delete_dialogs: chats_admin || grants.delete_dialogs,
            manage_settings: system_admin || grants.manage_settings,
        }
    }
}

/// A manager acting, with their permissions resolved.
#[derive(Clone, Debug)]
pub struct Actor {
    pub manager: Manager,
    pub permissions: Permissions,
}

impl Actor {
    pub fn id(&self) -> ManagerId {
        self.manager.id
    }

    /// Changing the company's settings needs the "manage settings" right.
    pub fn require_settings(&self) -> crate::CoreResult<()> {
        if self.permissions.manage_settings {
            Ok(())
        } else {
            Err(crate::CoreError::Forbidden("manage settings"))
        }
    }

    /// The manager as the one who holds a dialog or did something to it.
    pub fn party(&self) -> crate::dialog::Responsible {
        crate::dialog::Responsible::Manager(self.manager.id)
    }
}

/// What the store needs to create a manager.
#[derive(Clone, Debug)]
pub struct NewManager {
    pub email: Email,
    pub name: String,
    pub password_hash: String,
    pub locale: Option<Locale>,
    pub is_system_admin: bool,
    pub created_at: Timestamp,
}

/// What the store needs to create a group.
#[derive(Clone, Debug)]
pub struct NewGroup {
    pub name: String,
    pub grants: Grants,
    pub created_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_admin_implies_every_permission() {
        let p = Permissions::new(true, Grants::default());
        assert!(p.chats_admin && p.view_all_dialogs && p.delete_dialogs && p.manage_settings);
    }

    #[test]
    fn chats_admin_sees_and_deletes_but_does_not_manage_settings() {
        let p = Permissions::new(
            false,
            Grants {
                chats_admin: true,
                ..Grants::default()
            },
        );
        assert!(p.view_all_dialogs && p.delete_dialogs);
        assert!(!p.manage_settings && !p.system_admin);
    }

    #[test]
    fn grants_of_several_groups_add_up() {
        let a = Grants {
            delete_dialogs: true,
            ..Grants::default()
        };
        let b = Grants {
            manage_settings: true,
            ..Grants::default()
        };
        let p = Permissions::new(false, a.union(b));
        assert!(p.delete_dialogs && p.manage_settings && !p.view_all_dialogs);
    }
}
