//! Managers and user groups.

use super::{SqlStore, conflict_on_unique, params};
use crate::driver::{SqlErrorKind, SqlRow};
use async_trait::async_trait;
use beseda_core::ids::{GroupId, ManagerId};
use beseda_core::manager::{Grants, Group, Manager, ManagerCredentials, NewGroup, NewManager};
use beseda_core::store::{ManagerStore, ManagerUpdate};
use beseda_core::time::Timestamp;
use beseda_core::values::{Email, Locale, ManagerStatus};
use beseda_core::{CoreError, CoreResult};

const MANAGER_COLUMNS: &str =
    "id, email, name, locale, is_system_admin, online, status, disabled_at, created_at";
const GROUP_COLUMNS: &str =
    "id, name, chats_admin, view_all_dialogs, delete_dialogs, manage_settings";

fn manager_from(r: &SqlRow) -> CoreResult<Manager> {
    Ok(Manager {
        id: ManagerId(r.i64("id")?),
        email: Email::parse(&r.text("email")?)?,
        name: r.text("name")?,
        locale: r
            .opt_text("locale")?
            .as_deref()
            .map(Locale::parse)
            .transpose()?,
        is_system_admin: r.bool("is_system_admin")?,
        online: r.bool("online")?,
        status: ManagerStatus::parse(&r.text("status")?)?,
        disabled: r.opt_i64("disabled_at")?.is_some(),
        created_at: r.ts("created_at")?,
    })
}

fn grants_from(r: &SqlRow) -> CoreResult<Grants> {
    Ok(Grants {
        chats_admin: r.bool("chats_admin")?,
        view_all_dialogs: r.bool("view_all_dialogs")?,
        delete_dialogs: r.bool("delete_dialogs")?,
        manage_settings: r.bool("manage_settings")?,
    })
}

fn group_from(r: &SqlRow, members: Vec<ManagerId>) -> CoreResult<Group> {
    Ok(Group {
        id: GroupId(r.i64("id")?),
        name: r.text("name")?,
        grants: grants_from(r)?,
        members,
    })
}

impl SqlStore {
    async fn group(&self, id: GroupId) -> CoreResult<Group> {
        let row = self
            .db
            .fetch_optional(
                &format!("SELECT {GROUP_COLUMNS} FROM user_groups WHERE id = $1"),
                params![id],
            )
            .await?
            .ok_or(CoreError::NotFound("group"))?;
        let members = self
            .db
            .fetch_all(
                "SELECT manager_id FROM group_members WHERE group_id = $1 ORDER BY manager_id",
                params![id],
            )
            .await?
            .iter()
            .map(|r| r.i64("manager_id").map(ManagerId))
            .collect::<Result<_, _>>()?;
        group_from(&row, members)
    }

    async fn required_manager(&self, id: ManagerId) -> CoreResult<Manager> {
        self.manager(id)
            .await?
            .ok_or(CoreError::NotFound("manager"))
    }
}

#[async_trait]
impl ManagerStore for SqlStore {
    async fn create_manager(&self, new: &NewManager) -> CoreResult<Manager> {
        let row = self
            .db
            .fetch_one(
                "INSERT INTO managers (email, name, password_hash, locale, is_system_admin, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
                params![new.email.as_str(), new.name.as_str(), new.password_hash.as_str(), new.locale.map(Locale::as_str), new.is_system_admin, new.created_at],
            )
            .await
            .map_err(conflict_on_unique("email_taken", "a manager with this email"))?;
        self.required_manager(ManagerId(row.i64("id")?)).await
    }

    async fn manager(&self, id: ManagerId) -> CoreResult<Option<Manager>> {
        let sql = format!("SELECT {MANAGER_COLUMNS} FROM managers WHERE id = $1");
        self.db
            .fetch_optional(&sql, params![id])
            .await?
            .as_ref()
            .map(manager_from)
            .transpose()
    }

    async fn manager_credentials(&self, email: &Email) -> CoreResult<Option<ManagerCredentials>> {
        let sql = format!("SELECT {MANAGER_COLUMNS}, password_hash FROM managers WHERE email = $1");
        let Some(row) = self
            .db
            .fetch_optional(&sql, params![email.as_str()])
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(ManagerCredentials {
            manager: manager_from(&row)?,
            password_hash: row.text("password_hash")?,
        }))
    }

    async fn list_managers(&self) -> CoreResult<Vec<Manager>> {
        let sql = format!("SELECT {MANAGER_COLUMNS} FROM managers ORDER BY name, id");
        self.db
            .fetch_all(&sql, &[])
            .await?
            .iter()
            .map(manager_from)
            .collect()
    }

    async fn update_manager(
        &self,
        id: ManagerId,
        u: &ManagerUpdate,
        now: Timestamp,
    ) -> CoreResult<Manager> {
        let locale = u.locale.map(|l| l.map(Locale::as_str));
        let changed = self
            .db
            .execute(
                "UPDATE managers SET \
                   name = COALESCE($2, name), \
                   locale = CASE WHEN $3 THEN $4 ELSE locale END, \
                   is_system_admin = COALESCE($5, is_system_admin), \
                   disabled_at = CASE WHEN $6 IS NULL THEN disabled_at WHEN $6 THEN COALESCE(disabled_at, $7) ELSE NULL END, \
                   updated_at = $7 \
                 WHERE id = $1",
                params![id, u.name.clone(), locale.is_some(), locale.flatten(), u.is_system_admin, u.disabled, now],
            )
            .await?;
        if changed == 0 {
            return Err(CoreError::NotFound("manager"));
        }
        self.required_manager(id).await
    }

    async fn set_availability(
        &self,
        id: ManagerId,
        online: bool,
        status: ManagerStatus,
        now: Timestamp,
    ) -> CoreResult<Manager> {
        let changed = self
            .db
            .execute(
                "UPDATE managers SET online = $2, status_since = CASE WHEN status = $3 THEN status_since ELSE $4 END, \
                   status = $3, updated_at = $4 WHERE id = $1",
                params![id, online, status.as_str(), now],
            )
            .await?;
        if changed == 0 {
            return Err(CoreError::NotFound("manager"));
        }
        self.required_manager(id).await
    }

    async fn set_password(
        &self,
        id: ManagerId,
        password_hash: &str,
        now: Timestamp,
    ) -> CoreResult<()> {
        let mut tx = self.db.begin().await?;
        let changed = tx
            .execute(
                "UPDATE managers SET password_hash = $2, updated_at = $3 WHERE id = $1",
                params![id, password_hash, now],
            )
            .await?;
        if changed == 0 {
            return Err(CoreError::NotFound("manager"));
        }
        // A new password ends every way in that the old one opened: sessions and API tokens.
        tx.execute("DELETE FROM sessions WHERE manager_id = $1", params![id])
            .await?;
        tx.execute("DELETE FROM api_tokens WHERE manager_id = $1", params![id])
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_group(&self, new: &NewGroup) -> CoreResult<Group> {
        let g = new.grants;
        let row = self
            .db
            .fetch_one(
                "INSERT INTO user_groups (name, chats_admin, view_all_dialogs, delete_dialogs, manage_settings, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                params![new.name.as_str(), g.chats_admin, g.view_all_dialogs, g.delete_dialogs, g.manage_settings, new.created_at],
            )
            .await
            .map_err(conflict_on_unique("group_name_taken", "a group with this name"))?;
        self.group(GroupId(row.i64("id")?)).await
    }

    async fn update_group(
        &self,
        id: GroupId,
        name: Option<&str>,
        grants: Option<Grants>,
    ) -> CoreResult<Group> {
        let changed = self
            .db
            .execute(
                "UPDATE user_groups SET name = COALESCE($2, name), \
                   chats_admin = COALESCE($3, chats_admin), view_all_dialogs = COALESCE($4, view_all_dialogs), \
                   delete_dialogs = COALESCE($5, delete_dialogs), manage_settings = COALESCE($6, manage_settings) \
                 WHERE id = $1",
                params![
                    id,
                    name,
                    grants.map(|g| g.chats_admin),
                    grants.map(|g| g.view_all_dialogs),
                    grants.map(|g| g.delete_dialogs),
                    grants.map(|g| g.manage_settings)
                ],
            )
            .await
            .map_err(conflict_on_unique("group_name_taken", "a group with this name"))?;
        if changed == 0 {
            return Err(CoreError::NotFound("group"));
        }
        self.group(id).await
    }

    async fn delete_group(&self, id: GroupId) -> CoreResult<()> {
        let mut tx = self.db.begin().await?;
        tx.execute("DELETE FROM group_members WHERE group_id = $1", params![id])
            .await?;
        if tx
            .execute("DELETE FROM user_groups WHERE id = $1", params![id])
            .await?
            == 0
        {
            return Err(CoreError::NotFound("group"));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn set_group_members(&self, id: GroupId, members: &[ManagerId]) -> CoreResult<Group> {
        let mut members = members.to_vec();
        members.sort();
        members.dedup();
        let mut tx = self.db.begin().await?;
        if tx
            .fetch_optional("SELECT id FROM user_groups WHERE id = $1", params![id])
            .await?
            .is_none()
        {
            return Err(CoreError::NotFound("group"));
        }
        tx.execute("DELETE FROM group_members WHERE group_id = $1", params![id])
            .await?;
        for m in &members {
            tx.execute(
                "INSERT INTO group_members (group_id, manager_id) VALUES ($1, $2)",
                params![id, *m],
            )
            .await
            .map_err(|e| match e.kind {
                SqlErrorKind::ForeignKeyViolation => {
                    CoreError::invalid("members", format!("no manager has id {m}"))
                }
                _ => e.into(),
            })?;
        }
        tx.commit().await?;
        self.group(id).await
    }

    async fn list_groups(&self) -> CoreResult<Vec<Group>> {
        let groups = self
            .db
            .fetch_all(
                &format!("SELECT {GROUP_COLUMNS} FROM user_groups ORDER BY name, id"),
                &[],
            )
            .await?;
        let links = self
            .db
            .fetch_all(
                "SELECT group_id, manager_id FROM group_members ORDER BY manager_id",
                &[],
            )
            .await?;
        groups
            .iter()
            .map(|g| {
                let gid = g.i64("id")?;
                let mut members = Vec::new();
                for l in &links {
                    if l.i64("group_id")? == gid {
                        members.push(ManagerId(l.i64("manager_id")?));
                    }
                }
                group_from(g, members)
            })
            .collect()
    }

    async fn grants_of(&self, manager: ManagerId) -> CoreResult<Grants> {
        let rows = self
            .db
            .fetch_all(
                "SELECT g.chats_admin, g.view_all_dialogs, g.delete_dialogs, g.manage_settings \
                 FROM group_members m JOIN user_groups g ON g.id = m.group_id WHERE m.manager_id = $1",
                params![manager],
            )
            .await?;
        rows.iter()
            .try_fold(Grants::default(), |acc, r| Ok(acc.union(grants_from(r)?)))
    }
}
