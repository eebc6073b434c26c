//! The order API (F40): a manager or a CRM (with a manager's API token) makes and changes a
//! client's orders; bad amounts and currencies are refused and change nothing; a manager who
//! may not see the client cannot see their orders.

use crate::common::{ADMIN_EMAIL, PASSWORD, TestApp, client::Caller};
use beseda_core::channel::ChannelKind;
use beseda_core::dialog::Responsible;
use beseda_core::ids::DialogId;
use serde_json::{Value, json};

on_both_backends!(
    f40_an_order_is_made_from_a_dialog_with_the_clients_source,
    f40_bad_orders_are_refused_and_change_nothing,
    f40_a_crm_pushes_and_updates_orders_with_an_api_token,
    f40_orders_are_seen_only_by_who_sees_the_client,
);

/// A client's dialog and the client's id.
async fn buyer(app: &TestApp, admin: &Caller) -> (i64, i64) {
    let tg = app.channel(ChannelKind::Telegram).await;
    let d = app.new_dialog(tg, "buyer").await;
    let view = admin.get(&format!("/api/v1/dialogs/{d}")).expect(200).await;
    (d, view["client"]["id"].as_i64().unwrap())
}

async fn f40_an_order_is_made_from_a_dialog_with_the_clients_source(app: TestApp) {
    let admin = app.as_(ADMIN_EMAIL).await;
    let (d, client) = buyer(&app, &admin).await;
    let order = admin
        .post(
            "/api/v1/orders",
            json!({"client_id": client, "dialog_id": d, "currency": "rub", "items": [
                {"name": "Green tea, 100 g", "quantity": 3, "price_minor": 45_000},
                {"name": "Teapot", "quantity": 1, "price_minor": 120_000},
            ]}),
        )
        .expect(201)
        .await;
    assert_eq!(order["status"], "new");
    assert_eq!(order["currency"], "RUB");
    assert_eq!(order["total_minor"], 255_000, "the sum of the items");
    assert_eq!(order["dialog_id"], d);
    assert_eq!(
        order["manager_id"], app.admin.id.0,
        "the caller is in charge"
    );
    assert_eq!(
        order["number"],
        order["id"].to_string(),
        "numbered by Beseda"
    );
    assert_eq!(order["source"]["channel_type"], "telegram", "F05");
    let id = order["id"].as_i64().unwrap();
    assert_eq!(
        admin.get(&format!("/api/v1/orders/{id}")).expect(200).await,
        order
    );

    let paid = admin
        .patch(&format!("/api/v1/orders/{id}"), json!({"status": "paid"}))
        .expect(200)
        .await;
    assert_eq!(
        (paid["status"].as_str(), &paid["items"]),
        (Some("paid"), &order["items"])
    );
    let listed = admin
        .get(&format!("/api/v1/orders?client_id={client}"))
        .expect(200)
        .await;
    assert_eq!(listed, json!([paid]));
    // The client card lists it, and the chat it came from.
    let card = admin
        .get(&format!("/api/v1/clients/{client}"))
        .expect(200)
        .await;
    assert_eq!(card["orders"][0]["id"], id);
    assert_eq!(card["chats"][0]["dialog_id"], d);
}

async fn f40_bad_orders_are_refused_and_change_nothing(app: TestApp) {
    let admin = app.as_(ADMIN_EMAIL).await;
    let (d, client) = buyer(&app, &admin).await;
    let base = json!({"client_id": client, "currency": "EUR", "total_minor": 100});
    let with = |patch: Value| {
        let mut body = base.clone();
        body.as_object_mut()
            .unwrap()
            .extend(patch.as_object().unwrap().clone());
        body
    };
    for (bad, field) in [
        (json!({"total_minor": -1}), "total_minor"),
        (json!({"currency": "XYZ"}), "currency"),
        (json!({"currency": ""}), "currency"),
        (json!({"status": ""}), "status"),
        (json!({"number": " "}), "number"),
        (
            json!({"total_minor": 5, "items": [{"name": "Tea", "quantity": 1, "price_minor": 4}]}),
            "total_minor",
        ),
        (
            json!({"total_minor": null, "items": [{"name": "Tea", "quantity": 1, "price_minor": -4}]}),
            "items[0].price_minor",
        ),
        (
            json!({"total_minor": null, "items": [{"name": "Tea", "quantity": 0, "price_minor": 4}]}),
            "items[0].quantity",
        ),
    ] {
        let e = admin
            .post("/api/v1/orders", with(bad.clone()))
            .refused(422, "invalid_value")
            .await;
        assert_eq!(e["field"], field, "{bad}");
    }
    admin
        .post("/api/v1/orders", with(json!({"extra": 1})))
        .refused(422, "invalid_value")
        .await;
    admin
        .post("/api/v1/orders", with(json!({"client_id": 999_999})))
        .refused(404, "not_found")
        .await;
    assert_eq!(
        admin
            .get(&format!("/api/v1/orders?client_id={client}"))
            .expect(200)
            .await,
        json!([]),
        "nothing was made"
    );

    let order = admin
        .post("/api/v1/orders", with(json!({"number": "A-1"})))
        .expect(201)
        .await;
    admin
        .post("/api/v1/orders", with(json!({"number": "A-1"})))
        .refused(409, "order_number_taken")
        .await;
    let id = order["id"].as_i64().unwrap();
    let tg = app.channel(ChannelKind::Vk).await;
    let other = app.new_dialog(tg, "someone else").await;
    admin
        .patch(&format!("/api/v1/orders/{id}"), json!({"dialog_id": other}))
        .refused(422, "dialog_of_another_client")
        .await;
    admin
        .patch(
            &format!("/api/v1/orders/{id}"),
            json!({"status": "paid", "currency": "ZZZ"}),
        )
        .refused(422, "invalid_value")
        .await;
    assert_eq!(
        admin.get(&format!("/api/v1/orders/{id}")).expect(200).await,
        order,
        "refused changes change nothing"
    );
    admin
        .patch(
            &format!("/api/v1/orders/{id}"),
            json!({"dialog_id": d, "total_minor": 250}),
        )
        .expect(200)
        .await;
}

async fn f40_a_crm_pushes_and_updates_orders_with_an_api_token(app: TestApp) {
    let admin = app.as_(ADMIN_EMAIL).await;
    let (_, client) = buyer(&app, &admin).await;
    let token = admin
        .post(
            "/api/v1/me/tokens",
            json!({"name": "CRM", "password": PASSWORD}),
        )
        .expect(201)
        .await;
    let crm = Caller::bearer_at(&app.base, token["secret"].as_str().unwrap());
    let order = crm
        .post(
            "/api/v1/orders",
            json!({"client_id": client, "number": "CRM-1042", "status": "Awaiting payment",
                   "currency": "USD", "total_minor": 4_999}),
        )
        .expect(201)
        .await;
    assert_eq!(order["number"], "CRM-1042");
    assert_eq!(order["source"], Value::Null, "no dialog: no source");
    let id = order["id"].as_i64().unwrap();
    let shipped = crm
        .patch(
            &format!("/api/v1/orders/{id}"),
            json!({"status": "Shipped", "items": [{"name": "Kettle", "quantity": 1, "price_minor": 4_999}]}),
        )
        .expect(200)
        .await;
    assert_eq!(shipped["status"], "Shipped");
    assert_eq!(shipped["total_minor"], 4_999);
    // With lines, the total follows them.
    crm.patch(&format!("/api/v1/orders/{id}"), json!({"total_minor": 1}))
        .refused(422, "invalid_value")
        .await;
}

async fn f40_orders_are_seen_only_by_who_sees_the_client(app: TestApp) {
    let admin = app.as_(ADMIN_EMAIL).await;
    let (d, client) = buyer(&app, &admin).await;
    let anna = app.manager("anna@example.com", "Anna").await;
    app.manager("boris@example.com", "Boris").await;
    let order = admin
        .post(
            "/api/v1/orders",
            json!({"client_id": client, "currency": "RUB", "total_minor": 100}),
        )
        .expect(201)
        .await;
    let id = order["id"].as_i64().unwrap();
    app.state
        .dialogs
        .assign(
            &app.managers_actor(app.admin.id).await,
            DialogId(d),
            Some(Responsible::Manager(anna.id)),
        )
        .await
        .unwrap();
    let anna = app.as_("anna@example.com").await;
    anna.get(&format!("/api/v1/orders/{id}")).expect(200).await;
    let boris = app.as_("boris@example.com").await;
    boris
        .get(&format!("/api/v1/orders/{id}"))
        .refused(404, "not_found")
        .await;
    boris
        .get(&format!("/api/v1/orders?client_id={client}"))
        .refused(404, "not_found")
        .await;
    boris
        .patch(&format!("/api/v1/orders/{id}"), json!({"status": "mine"}))
        .refused(404, "not_found")
        .await;
    boris
        .post(
            "/api/v1/orders",
            json!({"client_id": client, "currency": "RUB"}),
        )
        .refused(404, "not_found")
        .await;
}
