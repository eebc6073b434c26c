//! Managers, groups and permissions (F33) through the public HTTP API.

use crate::common::{ADMIN_EMAIL, TestApp};
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
    let anna = app.as_("anna@example.com").await;
    anna.post(
        "/api/v1/managers",
        json!({"email": "b@example.com", "name": "B", "password": "long enough"}),
    )
    .refused(403, "forbidden")
    .await;
    assert_eq!(anna.get("/api/v1/groups").await.0, 403);
    assert_eq!(
        anna.post("/api/v1/groups", json!({"name": "Mine"})).await.0,
        403
    );
    // Everyone may read the list of managers: it is the reassignment list.
    let (status, list) = anna.get("/api/v1/managers").await;
    assert_eq!(
        (status, list.as_array().unwrap().len()),
        (200, 2),
        "and nothing was created"
    );
}

async fn f33_a_group_grants_manage_settings_to_its_members(app: TestApp) {
    let anna = app.manager("anna@example.com", "Anna").await;
    let admin = app.as_(ADMIN_EMAIL).await;
    let group = admin
        .post(
            "/api/v1/groups",
            json!({"name": "Settings", "grants": {"manage_settings": true}}),
        )
        .expect(201)
        .await;
    let gid = group["id"].as_i64().unwrap();
    let _ = admin
        .post("/api/v1/groups", json!({"name": "Settings"}))
        .expect(409)
        .await;
    let (status, group) = admin
        .put(
            &format!("/api/v1/groups/{gid}/members"),
            json!({"members": [anna.id]}),
        )
        .await;
    assert_eq!((status, group["members"].clone()), (200, json!([anna.id])));
    let (status, body) = admin
        .put(
            &format!("/api/v1/groups/{gid}/members"),
            json!({"members": [anna.id, 424242]}),
        )
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("members")));

    let annas = app.as_("anna@example.com").await;
    let (_, me) = annas.get("/api/v1/me").await;
    assert_eq!(me["permissions"]["manage_settings"], true);
    assert_eq!(me["permissions"]["delete_dialogs"], false);
    let (status, created) = annas
        .post(
            "/api/v1/managers",
            json!({"email": "boris@example.com", "name": "Boris", "password": "long enough"}),
        )
        .await;
    assert_eq!(
        (status, created["is_system_admin"].clone()),
        (201, json!(false))
    );
    annas
        .post(
            "/api/v1/managers",
            json!({"email": "BORIS@example.com", "name": "Boris 2", "password": "long enough"}),
        )
        .refused(409, "email_taken")
        .await;

    // Taking the permission away takes effect at once.
    let r = admin
        .patch(
            &format!("/api/v1/groups/{gid}"),
            json!({"grants": {"manage_settings": false}}),
        )
        .await;
    assert_eq!(r.0, 200);
    assert_eq!(annas.get("/api/v1/groups").await.0, 403);
    assert_eq!(admin.delete(&format!("/api/v1/groups/{gid}")).await.0, 204);
    assert_eq!(admin.delete(&format!("/api/v1/groups/{gid}")).await.0, 404);
}

async fn f33_chats_administrators_see_all_and_delete_but_do_not_manage_settings(app: TestApp) {
    let olga = app.manager("olga@example.com", "Olga").await;
    let admin = app.as_(ADMIN_EMAIL).await;
    let (_, group) = admin
        .post(
            "/api/v1/groups",
            json!({"name": "Chat admins", "grants": {"chats_admin": true}}),
        )
        .await;
    admin
        .put(
            &format!("/api/v1/groups/{}/members", group["id"]),
            json!({"members": [olga.id]}),
        )
        .await;
    let olgas = app.as_("olga@example.com").await;
    let (_, me) = olgas.get("/api/v1/me").await;
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
    assert_eq!(olgas.get("/api/v1/groups").await.0, 403);
}

async fn f33_only_a_system_administrator_makes_another(app: TestApp) {
    let anna = app.manager("anna@example.com", "Anna").await;
    let admin = app.as_(ADMIN_EMAIL).await;
    let (_, group) = admin
        .post(
            "/api/v1/groups",
            json!({"name": "Settings", "grants": {"manage_settings": true}}),
        )
        .await;
    admin
        .put(
            &format!("/api/v1/groups/{}/members", group["id"]),
            json!({"members": [anna.id]}),
        )
        .await;
    let annas = app.as_("anna@example.com").await;
    let r = annas.post("/api/v1/managers", json!({"email": "root@example.com", "name": "Root", "password": "long enough", "is_system_admin": true})).await;
    assert_eq!(r.0, 403);
    let r = annas
        .patch(
            &format!("/api/v1/managers/{}", anna.id),
            json!({"is_system_admin": true}),
        )
        .await;
    assert_eq!(r.0, 403);
    let r = annas
        .patch(
            &format!("/api/v1/managers/{}", app.admin.id),
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(
        r.0, 403,
        "a settings manager cannot disable a system administrator"
    );

    let (status, promoted) = admin
        .patch(
            &format!("/api/v1/managers/{}", anna.id),
            json!({"is_system_admin": true, "name": "Anna K."}),
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
    let (status, body) = admin
        .patch(
            &format!("/api/v1/managers/{}", app.admin.id),
            json!({"is_system_admin": false}),
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("is_system_admin")),
        "an administrator cannot demote themselves"
    );
    assert_eq!(
        admin
            .patch("/api/v1/managers/424242", json!({"name": "X"}))
            .await
            .0,
        404
    );
}

async fn a_manager_sets_their_own_availability_and_language(app: TestApp) {
    app.manager("anna@example.com", "Anna").await;
    let anna = app.as_("anna@example.com").await;
    let (status, m) = anna
        .put(
            "/api/v1/me/availability",
            json!({"online": true, "status": "lunch"}),
        )
        .await;
    assert_eq!(
        (status, m["online"].clone(), m["status"].clone()),
        (200, json!(true), json!("lunch"))
    );
    let (status, m) = anna.put("/api/v1/me/locale", json!({"locale": "ru"})).await;
    assert_eq!((status, m["locale"].clone()), (200, json!("ru")));
    let (_, list) = anna.get("/api/v1/managers").await;
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
    let _ = anna
        .put("/api/v1/me/locale", json!({"locale": "de"}))
        .expect(422)
        .await;
}

async fn a_disabled_manager_is_signed_out(app: TestApp) {
    let anna = app.manager("anna@example.com", "Anna").await;
    let annas = app.as_("anna@example.com").await;
    let admin = app.as_(ADMIN_EMAIL).await;
    let (status, m) = admin
        .patch(
            &format!("/api/v1/managers/{}", anna.id),
            json!({"disabled": true}),
        )
        .await;
    assert_eq!((status, m["disabled"].clone()), (200, json!(true)));
    assert_eq!(annas.get("/api/v1/me").await.0, 401);
    let again = crate::common::browser()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "anna@example.com", "password": crate::common::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 401);
}
