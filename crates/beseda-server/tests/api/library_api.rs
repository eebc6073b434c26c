//! Tags (F35), quick replies (F32) and time limits with waiting marks (F13, F34) through the
//! public HTTP API, on both stores.

use crate::common::{ADMIN_EMAIL, TestApp};
use beseda_core::channel::ChannelKind;
use serde_json::{Value, json};

on_both_backends!(
    f35_administrators_manage_tags,
    f35_managers_tag_the_clients_they_see,
    f32_quick_replies_shared_and_personal_searchable,
    f15_f32_a_quick_reply_is_made_from_a_message,
    f34_time_limits_are_validated_and_set_by_administrators_only,
    f13_f34_a_waiting_dialog_turns_yellow_then_red_as_time_passes,
    f34_a_channels_own_limit_wins_and_an_answer_ends_the_mark,
    f14_the_client_card_lists_orders_with_their_totals,
);

/// F14: the client card carries the client's orders, newest first, and their total per currency.
async fn f14_the_client_card_lists_orders_with_their_totals(app: TestApp) {
    let ch = app.channel(ChannelKind::Telegram).await;
    let dialog = app.new_dialog(ch, "buyer").await;
    let admin = app.as_(ADMIN_EMAIL).await;
    let (_, d) = admin.get(&format!("/api/v1/dialogs/{dialog}")).await;
    let client = beseda_core::ids::ClientId(d["client"]["id"].as_i64().unwrap());
    for (number, total, currency) in [
        ("B-1", 150_000, "RUB"),
        ("B-2", 250_050, "rub"),
        ("B-3", 1_999, "EUR"),
    ] {
        admin
            .post(
                "/api/v1/orders",
                json!({"client_id": client.0, "number": number, "total_minor": total, "currency": currency}),
            )
            .expect(201)
            .await;
    }
    let card = admin
        .get(&format!("/api/v1/clients/{}", client.0))
        .expect(200)
        .await;
    let numbers: Vec<&str> = card["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["B-3", "B-2", "B-1"]);
    assert_eq!(
        card["order_totals"],
        json!([
            {"currency": "EUR", "total_minor": 1_999, "orders": 1},
            {"currency": "RUB", "total_minor": 400_050, "orders": 2},
        ])
    );
}

/// F35: administrators create, rename and recolour tags from the palette of twelve; names are
/// unique; managers cannot.
async fn f35_administrators_manage_tags(app: TestApp) {
    let admin = app.as_(ADMIN_EMAIL).await;
    app.manager("anna@example.com", "Anna").await;
    let annas = app.as_("anna@example.com").await;
    let (status, vip) = admin
        .post("/api/v1/tags", json!({"name": "VIP", "color": "red"}))
        .await;
    assert_eq!((status, vip["color"].as_str()), (201, Some("red")));
    assert_eq!(
        admin
            .post("/api/v1/tags", json!({"name": "VIP", "color": "blue"}))
            .await
            .0,
        409
    );
    assert_eq!(
        admin
            .post("/api/v1/tags", json!({"name": "X", "color": "purple"}))
            .await
            .0,
        422,
        "twelve colours only"
    );
    assert_eq!(
        annas
            .post("/api/v1/tags", json!({"name": "Mine", "color": "red"}))
            .await
            .0,
        403
    );
    let (status, renamed) = admin
        .patch(
            &format!("/api/v1/tags/{}", vip["id"]),
            json!({"name": "VIP+", "color": "light_red"}),
        )
        .await;
    assert_eq!(
        (status, renamed["name"].as_str(), renamed["color"].as_str()),
        (200, Some("VIP+"), Some("light_red"))
    );
}

/// F35, F12: a manager tags and pins the clients of the dialogs they see (pinned first, on the
/// row too), not once the dialog is another's; a deleted tag leaves every client.
async fn f35_managers_tag_the_clients_they_see(app: TestApp) {
    let admin = app.as_(ADMIN_EMAIL).await;
    app.manager("anna@example.com", "Anna").await;
    let annas = app.as_("anna@example.com").await;
    let vip = admin
        .post(
            "/api/v1/tags",
            json!({"name": "VIP+", "color": "light_red"}),
        )
        .expect(201)
        .await;
    let (_, opt) = admin
        .post("/api/v1/tags", json!({"name": "Опт", "color": "green"}))
        .await;

    let tg = app.channel(ChannelKind::Telegram).await;
    let d = app.new_dialog(tg, "1").await;
    let (_, view) = admin.get(&format!("/api/v1/dialogs/{d}")).await;
    let client = view["client"]["id"].as_i64().unwrap();
    let path = |tag: &Value| format!("/api/v1/clients/{client}/tags/{}", tag["id"]);
    let (status, tags) = annas.put(&path(&opt), json!({"pinned": false})).await;
    assert_eq!(
        (status, tags.as_array().unwrap().len()),
        (200, 1),
        "the dialog is unassigned: Anna sees the client"
    );
    let (_, tags) = annas.put(&path(&vip), json!({"pinned": true})).await;
    assert_eq!(
        tags.as_array()
            .unwrap()
            .iter()
            .map(|t| (
                t["tag"]["name"].as_str().unwrap(),
                t["pinned"].as_bool().unwrap()
            ))
            .collect::<Vec<_>>(),
        [("VIP+", true), ("Опт", false)],
        "pinned first"
    );
    let (_, view) = annas.get(&format!("/api/v1/dialogs/{d}")).await;
    assert_eq!(
        view["client_tags"][0]["tag"]["name"], "VIP+",
        "F12: the row shows the client's tags"
    );

    // Once the dialog is someone else's, Anna cannot touch the client.
    let boris = app.manager("boris@example.com", "Boris").await;
    admin
        .post(
            &format!("/api/v1/dialogs/{d}/assign"),
            json!({"to": {"type": "manager", "id": boris.id}}),
        )
        .await;
    assert_eq!(annas.delete(&path(&opt)).await.0, 404);
    let (status, tags) = admin.delete(&path(&opt)).await;
    assert_eq!((status, tags.as_array().unwrap().len()), (200, 1));
    assert_eq!(
        admin.delete(&format!("/api/v1/tags/{}", vip["id"])).await.0,
        204
    );
    assert_eq!(
        admin.get(&format!("/api/v1/clients/{client}/tags")).await.1,
        json!([]),
        "a deleted tag leaves every client"
    );
}

async fn f32_quick_replies_shared_and_personal_searchable(app: TestApp) {
    let admin = app.as_(ADMIN_EMAIL).await;
    app.manager("anna@example.com", "Anna").await;
    let anna = app.as_("anna@example.com").await;
    app.manager("boris@example.com", "Boris").await;
    let boris = app.as_("boris@example.com").await;
    let (status, shared) = admin
        .post(
            "/api/v1/quick-replies",
            json!({"title": "Доставка", "body": "Доставка занимает 2–3 дня.", "shared": true}),
        )
        .await;
    assert_eq!((status, shared["owner"].clone()), (201, Value::Null));
    assert_eq!(
        anna.post(
            "/api/v1/quick-replies",
            json!({"title": "x", "body": "y", "shared": true})
        )
        .await
        .0,
        403
    );
    let own = anna
        .post(
            "/api/v1/quick-replies",
            json!({"title": "Привет", "body": "Здравствуйте! Чем помочь?"}),
        )
        .expect(201)
        .await;

    let titles = |v: &Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["title"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        titles(&anna.get("/api/v1/quick-replies").await.1),
        ["Доставка", "Привет"]
    );
    assert_eq!(
        titles(&boris.get("/api/v1/quick-replies").await.1),
        ["Доставка"],
        "personal replies are personal"
    );
    assert_eq!(
        titles(
            &anna
                .get("/api/v1/quick-replies?q=%D0%94%D0%9E%D0%A1%D0%A2")
                .await
                .1
        ),
        ["Доставка"],
        "search ignores case, in Russian too"
    );
    assert_eq!(
        titles(&anna.get("/api/v1/quick-replies?q=помочь").await.1),
        ["Привет"]
    );

    assert_eq!(
        boris
            .patch(
                &format!("/api/v1/quick-replies/{}", own["id"]),
                json!({"body": "hijacked"})
            )
            .await
            .0,
        404
    );
    assert_eq!(
        anna.delete(&format!("/api/v1/quick-replies/{}", shared["id"]))
            .await
            .0,
        403
    );
    let (status, edited) = anna
        .patch(
            &format!("/api/v1/quick-replies/{}", own["id"]),
            json!({"body": "Добрый день!"}),
        )
        .await;
    assert_eq!(
        (status, edited["body"].as_str()),
        (200, Some("Добрый день!"))
    );
}

/// F15, F32: the lightning on a message makes a quick reply of its text, only from a dialog
/// the manager sees; a reply needs a text.
async fn f15_f32_a_quick_reply_is_made_from_a_message(app: TestApp) {
    let admin = app.as_(ADMIN_EMAIL).await;
    app.manager("anna@example.com", "Anna").await;
    let anna = app.as_("anna@example.com").await;
    let tg = app.channel(ChannelKind::Telegram).await;
    let d = app.new_dialog(tg, "1").await;
    let (_, feed) = anna.get(&format!("/api/v1/dialogs/{d}/messages")).await;
    let (status, from) = anna
        .post(
            "/api/v1/quick-replies",
            json!({"from_message_id": feed[0]["id"]}),
        )
        .await;
    assert_eq!(
        (status, from["body"].as_str(), from["title"].as_str()),
        (201, Some("Здравствуйте!"), Some("Здравствуйте!"))
    );
    admin
        .post(
            &format!("/api/v1/dialogs/{d}/assign"),
            json!({"to": {"type": "manager", "id": app.admin.id}}),
        )
        .await;
    assert_eq!(
        anna.post(
            "/api/v1/quick-replies",
            json!({"from_message_id": feed[0]["id"]})
        )
        .await
        .0,
        404,
        "only from a dialog she sees"
    );
    assert_eq!(
        anna.post("/api/v1/quick-replies", json!({"title": "t"}))
            .await
            .0,
        422
    );
}

/// F34: limits are multiples of 10 s, at least 10 s, the red after the yellow; only those who
/// manage settings set them.
async fn f34_time_limits_are_validated_and_set_by_administrators_only(app: TestApp) {
    let admin = app.as_(ADMIN_EMAIL).await;
    app.manager("anna@example.com", "Anna").await;
    let anna = app.as_("anna@example.com").await;
    for bad in [
        json!({"warning_secs": 15}),
        json!({"warning_secs": 300, "danger_secs": 60}),
        json!({"danger_secs": 0}),
    ] {
        let (status, body) = admin.put("/api/v1/settings/time-limits", bad.clone()).await;
        assert_eq!(status, 422, "{bad} → {body}");
    }
    assert_eq!(
        anna.put("/api/v1/settings/time-limits", json!({"warning_secs": 60}))
            .await
            .0,
        403
    );
}

/// F13, F34: with limits set, a waiting dialog has no mark, then yellow past the first limit and
/// red past the second; the test moves the clock instead of waiting.
async fn f13_f34_a_waiting_dialog_turns_yellow_then_red_as_time_passes(app: TestApp) {
    let admin = app.as_(ADMIN_EMAIL).await;
    let tg = app.channel(ChannelKind::Telegram).await;
    let d = app.new_dialog(tg, "1").await;
    let (_, view) = admin.get(&format!("/api/v1/dialogs/{d}")).await;
    assert_eq!(
        (
            view["waiting_level"].as_str(),
            view["waiting_level_changes_at"].clone()
        ),
        (Some("none"), Value::Null),
        "no limits, no marks"
    );

    assert_eq!(
        admin
            .put(
                "/api/v1/settings/time-limits",
                json!({"warning_secs": 10, "danger_secs": 3600})
            )
            .await
            .0,
        204
    );
    let (_, view) = admin.get(&format!("/api/v1/dialogs/{d}")).await;
    let since = view["waiting_since"].as_i64().unwrap();
    assert_eq!(
        view["time_limits"],
        json!({"warning_secs": 10, "danger_secs": 3600})
    );
    let level = |view: &Value| {
        (
            view["waiting_level"].as_str().map(str::to_owned),
            view["waiting_level_changes_at"].as_i64(),
        )
    };
    assert_eq!(level(&view), (Some("none".into()), Some(since + 10_000)));
    // F13: yellow past the first limit, red past the second; the clock moves, nobody waits.
    app.clock.advance(std::time::Duration::from_secs(11));
    let path = format!("/api/v1/dialogs/{d}");
    let (_, view) = admin.get(&path).await;
    assert_eq!(
        level(&view),
        (Some("warning".into()), Some(since + 3_600_000))
    );
    app.clock.advance(std::time::Duration::from_secs(3600));
    let (_, view) = admin.get(&path).await;
    assert_eq!(level(&view), (Some("danger".into()), None));
}

/// F34: a channel's own limit wins over the default (the other default stays), and the
/// company's answer ends the wait and the mark.
async fn f34_a_channels_own_limit_wins_and_an_answer_ends_the_mark(app: TestApp) {
    let admin = app.as_(ADMIN_EMAIL).await;
    app.manager("anna@example.com", "Anna").await;
    let anna = app.as_("anna@example.com").await;
    let tg = app.channel(ChannelKind::Telegram).await;
    let d = app.new_dialog(tg, "1").await;
    admin
        .put(
            "/api/v1/settings/time-limits",
            json!({"warning_secs": 10, "danger_secs": 3600}),
        )
        .expect(204)
        .await;
    assert_eq!(
        admin
            .put(
                &format!("/api/v1/settings/time-limits/channels/{}", tg.0),
                json!({"danger_secs": 600})
            )
            .await
            .0,
        204
    );
    let (_, view) = admin.get(&format!("/api/v1/dialogs/{d}")).await;
    assert_eq!(
        view["time_limits"],
        json!({"warning_secs": 10, "danger_secs": 600})
    );
    let (_, settings) = anna.get("/api/v1/settings/time-limits").await;
    assert_eq!(
        settings["channels"],
        json!([{"channel_id": tg.0, "limits": {"warning_secs": null, "danger_secs": 600}}])
    );

    // The answer ends the wait and the mark.
    admin
        .post(
            &format!("/api/v1/dialogs/{d}/messages"),
            json!({"body": "Ответ"}),
        )
        .await;
    let (_, view) = admin.get(&format!("/api/v1/dialogs/{d}")).await;
    assert_eq!(
        (
            view["waiting_level"].as_str(),
            view["waiting_since"].clone()
        ),
        (Some("none"), Value::Null)
    );
    assert_eq!(
        admin
            .put(
                "/api/v1/settings/time-limits/channels/424242",
                json!({"danger_secs": 600})
            )
            .await
            .0,
        404
    );
}
