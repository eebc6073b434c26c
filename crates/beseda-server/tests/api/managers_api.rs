//! Managers, groups and permissions (F33) through the public HTTP API.

use crate::common::{ADMIN_EMAIL, TestApp, json_of};
use serde_json::json;

on_both_backends!(
    f33_a_plain_manager_cannot_use_an_admin_endpoint,
    f33_a_group_grants_manage_settings_to_its_members,
    f33_chats_administrators_see_all_and_delete_but_do_not_manage_settings,
    f33_only_a_system_administrator_makes_another,
    a_manager_sets_their_own_availability_and_language,
    a_disabled_manager_is_signed_out,
);

async fn f33_a_plain_manager_cannot_use_an_admin_endpoint(app: TestApp) {
    app.manager("anna@example.com", "Anna").await;
    let anna = app.login("anna@example.com").await;
    let (status, body) = json_of(
        anna.post(app.url("/api/v1/managers"))
            .json(&json!({"email": "b@example.com", "name": "B", "password": "long enough"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (403, Some("forbidden")));
    assert_eq!(
        anna.get(app.url("/api/v1/groups"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        anna.post(app.url("/api/v1/groups"))
            .json(&json!({"name": "Mine"}))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    // Everyone may read the list of managers: it is the reassignment list.
    let (status, list) = json_of(anna.get(app.url("/api/v1/managers")).send().await.unwrap()).await;
    assert_eq!(
        (status, list.as_array().unwrap().len()),
        (200, 2),
        "and nothing was created"
    );
}

async fn f33_a_group_grants_manage_settings_to_its_members(app: TestApp) {
    let anna = app.manager("anna@example.com", "Anna").await;
    let admin = app.login(ADMIN_EMAIL).await;
    let (status, group) = json_of(
        admin
            .post(app.url("/api/v1/groups"))
            .json(&json!({"name": "Settings", "grants": {"manage_settings": true}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201);
    let gid = group["id"].as_i64().unwrap();
    let (status, _) = json_of(
        admin
            .post(app.url("/api/v1/groups"))
            .json(&json!({"name": "Settings"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 409);
    let (status, group) = json_of(
        admin
            .put(app.url(&format!("/api/v1/groups/{gid}/members")))
            .json(&json!({"members": [anna.id]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, group["members"].clone()), (200, json!([anna.id])));
    let (status, body) = json_of(
        admin
            .put(app.url(&format!("/api/v1/groups/{gid}/members")))
            .json(&json!({"members": [anna.id, 424242]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("members")));

    let annas = app.login("anna@example.com").await;
    let (_, me) = json_of(annas.get(app.url("/api/v1/me")).send().await.unwrap()).await;
    assert_eq!(me["permissions"]["manage_settings"], true);
    assert_eq!(me["permissions"]["delete_dialogs"], false);
    let (status, created) = json_of(
        annas
            .post(app.url("/api/v1/managers"))
            .json(
                &json!({"email": "boris@example.com", "name": "Boris", "password": "long enough"}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, created["is_system_admin"].clone()),
        (201, json!(false))
    );
    let (status, body) = json_of(annas.post(app.url("/api/v1/managers")).json(&json!({"email": "BORIS@example.com", "name": "Boris 2", "password": "long enough"})).send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("email_taken")));

    // Taking the permission away takes effect at once.
    let r = admin
        .patch(app.url(&format!("/api/v1/groups/{gid}")))
        .json(&json!({"grants": {"manage_settings": false}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        annas
            .get(app.url("/api/v1/groups"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        admin
            .delete(app.url(&format!("/api/v1/groups/{gid}")))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        admin
            .delete(app.url(&format!("/api/v1/groups/{gid}")))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

async fn f33_chats_administrators_see_all_and_delete_but_do_not_manage_settings(app: TestApp) {
    let olga = app.manager("olga@example.com", "Olga").await;
    let admin = app.login(ADMIN_EMAIL).await;
    let (_, group) = json_of(
        admin
            .post(app.url("/api/v1/groups"))
            .json(&json!({"name": "Chat admins", "grants": {"chats_admin": true}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    admin
        .put(app.url(&format!("/api/v1/groups/{}/members", group["id"])))
        .json(&json!({"members": [olga.id]}))
        .send()
        .await
        .unwrap();
    let olgas = app.login("olga@example.com").await;
    let (_, me) = json_of(olgas.get(app.url("/api/v1/me")).send().await.unwrap()).await;
    let p = &me["permissions"];
    assert_eq!(
        (
            p["chats_admin"].clone(),
            p["view_all_dialogs"].clone(),
            p["delete_dialogs"].clone()
        ),
        (json!(true), json!(true), json!(true))
    );
    assert_eq!(
        (p["manage_settings"].clone(), p["system_admin"].clone()),
        (json!(false), json!(false))
    );
    assert_eq!(
        olgas
            .get(app.url("/api/v1/groups"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
}

async fn f33_only_a_system_administrator_makes_another(app: TestApp) {
    let anna = app.manager("anna@example.com", "Anna").await;
    let admin = app.login(ADMIN_EMAIL).await;
    let (_, group) = json_of(
        admin
            .post(app.url("/api/v1/groups"))
            .json(&json!({"name": "Settings", "grants": {"manage_settings": true}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    admin
        .put(app.url(&format!("/api/v1/groups/{}/members", group["id"])))
        .json(&json!({"members": [anna.id]}))
        .send()
        .await
        .unwrap();
    let annas = app.login("anna@example.com").await;
    let r = annas.post(app.url("/api/v1/managers")).json(&json!({"email": "root@example.com", "name": "Root", "password": "long enough", "is_system_admin": true})).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let r = annas
        .patch(app.url(&format!("/api/v1/managers/{}", anna.id)))
        .json(&json!({"is_system_admin": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = annas
        .patch(app.url(&format!("/api/v1/managers/{}", app.admin.id)))
        .json(&json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        403,
        "a settings manager cannot disable a system administrator"
    );

    let (status, promoted) = json_of(
        admin
            .patch(app.url(&format!("/api/v1/managers/{}", anna.id)))
            .json(&json!({"is_system_admin": true, "name": "Anna K."}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (
            status,
            promoted["is_system_admin"].clone(),
            promoted["name"].clone()
        ),
        (200, json!(true), json!("Anna K."))
    );
    let (status, body) = json_of(
        admin
            .patch(app.url(&format!("/api/v1/managers/{}", app.admin.id)))
            .json(&json!({"is_system_admin": false}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("is_system_admin")),
        "an administrator cannot demote themselves"
    );
    assert_eq!(
        admin
            .patch(app.url("/api/v1/managers/424242"))
            .json(&json!({"name": "X"}))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

async fn a_manager_sets_their_own_availability_and_language(app: TestApp) {
    app.manager("anna@example.com", "Anna").await;
    let anna = app.login("anna@example.com").await;
    let (status, m) = json_of(
        anna.put(app.url("/api/v1/me/availability"))
            .json(&json!({"online": true, "status": "lunch"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, m["online"].clone(), m["status"].clone()),
        (200, json!(true), json!("lunch"))
    );
    let (status, m) = json_of(
        anna.put(app.url("/api/v1/me/locale"))
            .json(&json!({"locale": "ru"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, m["locale"].clone()), (200, json!("ru")));
    let (_, list) = json_of(anna.get(app.url("/api/v1/managers")).send().await.unwrap()).await;
    let me = list
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == "anna@example.com")
        .unwrap()
        .clone();
    assert_eq!(
        (me["online"].clone(), me["status"].clone()),
        (json!(true), json!("lunch")),
        "others see the availability"
    );
    let (status, _) = json_of(
        anna.put(app.url("/api/v1/me/locale"))
            .json(&json!({"locale": "de"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
}

async fn a_disabled_manager_is_signed_out(app: TestApp) {
    let anna = app.manager("anna@example.com", "Anna").await;
    let annas = app.login("anna@example.com").await;
    let admin = app.login(ADMIN_EMAIL).await;
    let (status, m) = json_of(
        admin
            .patch(app.url(&format!("/api/v1/managers/{}", anna.id)))
            .json(&json!({"disabled": true}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, m["disabled"].clone()), (200, json!(true)));
    assert_eq!(
        annas
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let again = crate::common::browser()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "anna@example.com", "password": crate::common::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 401);
}
