//! Managers and user groups.

use super::{assert_code, new_manager};
use beseda_core::ids::{GroupId, ManagerId};
use beseda_core::manager::{Grants, NewGroup, NewManager};
use beseda_core::store::{ManagerUpdate, Store};
use beseda_core::time::Timestamp;
use beseda_core::values::{Email, Locale, ManagerStatus};

pub async fn health_answers(store: &dyn Store) {
    store.ping().await.expect("ping");
    assert!(["sqlite", "postgres"].contains(&store.backend()));
}

pub async fn managers_are_created_found_and_listed(store: &dyn Store) {
    let anna = store
        .create_manager(&new_manager("anna@example.com", "Анна"))
        .await
        .unwrap();
    let boris = store
        .create_manager(&NewManager {
            is_system_admin: true,
            locale: Some(Locale::Ru),
            ..new_manager("boris@example.com", "Boris")
        })
        .await
        .unwrap();
    assert_ne!(anna.id, boris.id);
    assert_eq!(anna.email.as_str(), "anna@example.com");
    assert_eq!(
        (
            anna.is_system_admin,
            anna.online,
            anna.status,
            anna.disabled
        ),
        (false, false, ManagerStatus::Free, false)
    );
    assert_eq!(
        (boris.is_system_admin, boris.locale),
        (true, Some(Locale::Ru))
    );
    assert_eq!(store.manager(anna.id).await.unwrap(), Some(anna.clone()));
    assert_eq!(store.manager(ManagerId(999_999)).await.unwrap(), None);

    let creds = store
        .manager_credentials(&anna.email)
        .await
        .unwrap()
        .expect("credentials");
    assert_eq!(
        (creds.manager, creds.password_hash.as_str()),
        (anna.clone(), "hash-of-anna@example.com")
    );
    assert!(
        store
            .manager_credentials(&Email::parse("nobody@example.com").unwrap())
            .await
            .unwrap()
            .is_none()
    );

    let names: Vec<_> = store
        .list_managers()
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(names, ["Boris", "Анна"]);
}

pub async fn a_taken_email_is_a_conflict(store: &dyn Store) {
    store
        .create_manager(&new_manager("anna@example.com", "Anna"))
        .await
        .unwrap();
    assert_code(
        store
            .create_manager(&new_manager("anna@example.com", "Other"))
            .await,
        "email_taken",
    );
    assert_eq!(store.list_managers().await.unwrap().len(), 1);
}

pub async fn managers_are_updated_field_by_field(store: &dyn Store) {
    let m = store
        .create_manager(&new_manager("anna@example.com", "Anna"))
        .await
        .unwrap();
    let u = store
        .update_manager(
            m.id,
            &ManagerUpdate {
                name: Some("Anna K.".into()),
                locale: Some(Some(Locale::Ru)),
                ..Default::default()
            },
            Timestamp(2_000),
        )
        .await
        .unwrap();
    assert_eq!(
        (u.name.as_str(), u.locale, u.is_system_admin),
        ("Anna K.", Some(Locale::Ru), false)
    );
    let u = store
        .update_manager(
            m.id,
            &ManagerUpdate {
                is_system_admin: Some(true),
                disabled: Some(true),
                ..Default::default()
            },
            Timestamp(3_000),
        )
        .await
        .unwrap();
    assert_eq!(
        (u.name.as_str(), u.locale, u.is_system_admin, u.disabled),
        ("Anna K.", Some(Locale::Ru), true, true)
    );
    let u = store
        .update_manager(
            m.id,
            &ManagerUpdate {
                locale: Some(None),
                disabled: Some(false),
                ..Default::default()
            },
            Timestamp(4_000),
        )
        .await
        .unwrap();
    assert_eq!(
        (u.locale, u.disabled, u.is_system_admin),
        (None, false, true)
    );
    assert_code(
        store
            .update_manager(
                ManagerId(999_999),
                &ManagerUpdate::default(),
                Timestamp(5_000),
            )
            .await,
        "not_found",
    );

    let a = store
        .set_availability(m.id, true, ManagerStatus::Lunch, Timestamp(6_000))
        .await
        .unwrap();
    assert_eq!((a.online, a.status), (true, ManagerStatus::Lunch));
    assert_code(
        store
            .set_availability(
                ManagerId(999_999),
                true,
                ManagerStatus::Free,
                Timestamp(6_000),
            )
            .await,
        "not_found",
    );
}

fn grants(chats_admin: bool, delete_dialogs: bool, manage_settings: bool) -> Grants {
    Grants {
        chats_admin,
        view_all_dialogs: false,
        delete_dialogs,
        manage_settings,
    }
}

pub async fn groups_grant_their_members(store: &dyn Store) {
    let anna = store
        .create_manager(&new_manager("anna@example.com", "Anna"))
        .await
        .unwrap();
    let boris = store
        .create_manager(&new_manager("boris@example.com", "Boris"))
        .await
        .unwrap();
    let seniors = store
        .create_group(&NewGroup {
            name: "Seniors".into(),
            grants: grants(false, true, false),
            created_at: Timestamp(1),
        })
        .await
        .unwrap();
    let admins = store
        .create_group(&NewGroup {
            name: "Admins".into(),
            grants: grants(false, false, true),
            created_at: Timestamp(1),
        })
        .await
        .unwrap();
    assert!(seniors.members.is_empty());
    assert_code(
        store
            .create_group(&NewGroup {
                name: "Seniors".into(),
                grants: Grants::default(),
                created_at: Timestamp(1),
            })
            .await,
        "group_name_taken",
    );

    let s = store
        .set_group_members(seniors.id, &[boris.id, anna.id, anna.id])
        .await
        .unwrap();
    assert_eq!(s.members, vec![anna.id, boris.id]);
    store
        .set_group_members(admins.id, &[anna.id])
        .await
        .unwrap();
    assert_eq!(
        store.grants_of(anna.id).await.unwrap(),
        grants(false, true, true)
    );
    assert_eq!(
        store.grants_of(boris.id).await.unwrap(),
        grants(false, true, false)
    );

    // A member that does not exist refuses the whole change.
    let r = store
        .set_group_members(seniors.id, &[boris.id, ManagerId(999_999)])
        .await;
    assert_code(r, "invalid_value");
    let groups = store.list_groups().await.unwrap();
    assert_eq!(
        groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(),
        ["Admins", "Seniors"]
    );
    assert_eq!(
        groups[1].members,
        vec![anna.id, boris.id],
        "nothing changed on refusal"
    );
    assert_code(
        store.set_group_members(GroupId(999_999), &[anna.id]).await,
        "not_found",
    );

    let u = store
        .update_group(seniors.id, Some("Leads"), Some(grants(true, false, false)))
        .await
        .unwrap();
    assert_eq!(
        (u.name.as_str(), u.grants, u.members.len()),
        ("Leads", grants(true, false, false), 2)
    );
    let u = store.update_group(seniors.id, None, None).await.unwrap();
    assert_eq!(u.name, "Leads");
    assert_code(
        store.update_group(seniors.id, Some("Admins"), None).await,
        "group_name_taken",
    );
    assert_code(
        store.update_group(GroupId(999_999), None, None).await,
        "not_found",
    );

    store.delete_group(admins.id).await.unwrap();
    assert_eq!(
        store.grants_of(anna.id).await.unwrap(),
        grants(true, false, false)
    );
    assert_code(store.delete_group(admins.id).await, "not_found");
}
