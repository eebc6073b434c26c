//! The transport API as an integration module uses it (F38, F31), on both stores.

use crate::common::client::Caller;
use crate::common::{ADMIN_EMAIL, TestApp};
use serde_json::{Value, json};
use std::sync::Arc;

on_both_backends!(
    f38_a_module_registers_channels_with_built_in_or_declared_capabilities,
    f38_a_pushed_message_opens_a_dialog_and_a_repeat_changes_nothing,
    f38_a_module_pushes_only_into_its_own_active_channels,
    a_nul_character_in_any_text_is_dropped_never_a_server_error,
    f38_the_same_external_id_pushed_50_times_concurrently_makes_one_message,
    f31_delivery_reports_only_move_statuses_forward,
    f31_a_failure_is_shown_with_its_reason_and_bad_reports_are_refused,
    f04_the_first_message_writes_the_source_and_a_phone_finds_the_client,
    f16_client_edits_and_deletions_where_the_channel_allows,
    f31_read_up_to_reads_every_reply_up_to_that_one,
    f38_history_is_imported_read_and_silent_once,
    f38_a_bad_history_is_refused_with_the_message_it_names,
    f10_a_refused_push_leaves_nothing_behind,
);

/// F10: a blocked client writing from another channel, or into a dialog deleted meanwhile, is
/// refused, and the refusal makes nothing: no client, no dialog, no deleted dialog back.
async fn f10_a_refused_push_leaves_nothing_behind(app: TestApp) {
    let token = module(&app, "Two channels").await;
    let module = app.as_module(&token);
    let mut channels = Vec::new();
    for kind in ["telegram", "whatsapp_business"] {
        let ch = module
            .post(
                "/api/transport/v1/channels",
                json!({"type": kind, "name": kind}),
            )
            .expect(201)
            .await;
        channels.push(ch["id"].as_i64().unwrap());
    }
    let from = |channel: i64, contact: &str, id: &str| {
        json!({"channel_id": channel, "external_id": id, "text": "Привет",
            "customer": {"external_id": contact, "phone": "+7 900 123-45-67"}})
    };
    let first = module
        .post(
            "/api/transport/v1/messages",
            from(channels[0], "tg-1", "m1"),
        )
        .expect(200)
        .await;
    let dialog = first["dialog_id"].as_i64().unwrap();
    let admin = app.as_(ADMIN_EMAIL).await;
    admin
        .post_empty(&format!("/api/v1/dialogs/{dialog}/client/block"))
        .expect(204)
        .await;
    let before = app.store.data_counts().await.unwrap();

    module
        .post(
            "/api/transport/v1/messages",
            from(channels[1], "wa-1", "m2"),
        )
        .refused(409, "client_blocked")
        .await;
    assert_eq!(
        admin.dialog_ids("").await,
        [dialog],
        "no dialog from the other channel"
    );
    let after = app.store.data_counts().await.unwrap();
    assert_eq!(
        (after.clients, after.dialogs, after.messages),
        (before.clients, before.dialogs, before.messages)
    );

    // Unblocked, the same push is taken: the refusal held nothing that now gets in the way.
    admin
        .delete(&format!("/api/v1/dialogs/{dialog}/client/block"))
        .expect(204)
        .await;
    let again = module
        .post(
            "/api/transport/v1/messages",
            from(channels[1], "wa-1", "m2"),
        )
        .expect(200)
        .await;
    assert_eq!(again["duplicate"], false, "{again}");
    let whatsapp = again["dialog_id"].as_i64().unwrap();

    // Blocked again, with the Telegram dialog deleted: a message there is refused and the
    // dialog stays deleted.
    admin
        .post_empty(&format!("/api/v1/dialogs/{whatsapp}/client/block"))
        .expect(204)
        .await;
    admin
        .post("/api/v1/dialogs/delete", json!({"ids": [dialog]}))
        .expect(200)
        .await;
    module
        .post(
            "/api/transport/v1/messages",
            from(channels[0], "tg-1", "m3"),
        )
        .refused(409, "client_blocked")
        .await;
    assert_eq!(
        admin.dialog_ids("").await,
        [whatsapp],
        "the deleted dialog stays deleted"
    );
}

/// Connects a module through the settings API; returns its token.
async fn module(app: &TestApp, name: &str) -> String {
    let admin = app.as_(ADMIN_EMAIL).await;
    let body = admin
        .post(
            "/api/v1/transport-modules",
            json!({"name": name, "webhook_url": "http://127.0.0.1:9/hook"}),
        )
        .expect(201)
        .await;
    assert!(body["webhook_secret"].as_str().unwrap().len() >= 32);
    body["token"].as_str().unwrap().to_owned()
}

fn push(channel: i64, customer: &str, external_id: &str, text: &str) -> Value {
    json!({"channel_id": channel, "customer": {"external_id": customer, "first_name": "Мария", "last_name": "Иванова"}, "external_id": external_id, "text": text})
}

use reqwest::Method;

/// F38, F26: a module registers channels of the built-in types with their built-in limits, or
/// custom channels that declare their own; only its own token works.
async fn f38_a_module_registers_channels_with_built_in_or_declared_capabilities(app: TestApp) {
    let token = module(&app, "Telegram module").await;
    assert_eq!(
        app.as_module("bm_wrong")
            .get("/api/transport/v1/channels")
            .await
            .0,
        401
    );
    let ch = app
        .as_module(&token)
        .post(
            "/api/transport/v1/channels",
            json!({"type": "telegram", "name": "Shop bot"}),
        )
        .expect(201)
        .await;
    assert_eq!(
        ch["capabilities"]["attachments"]["image"],
        10 * 1024 * 1024,
        "F26: built in"
    );
    let own_caps = json!({"type": "telegram", "name": "x", "capabilities": ch["capabilities"]});
    assert_eq!(
        app.as_module(&token)
            .post("/api/transport/v1/channels", own_caps)
            .await
            .0,
        422
    );
    assert_eq!(
        app.as_module(&token)
            .post(
                "/api/transport/v1/channels",
                json!({"type": "custom", "name": "Avito"})
            )
            .await
            .0,
        422
    );
    let mut caps = ch["capabilities"].clone();
    caps["text"]["quote"] = json!(false);
    let (status, custom) = app
        .as_module(&token)
        .post(
            "/api/transport/v1/channels",
            json!({"type": "custom", "name": "Avito", "capabilities": caps}),
        )
        .await;
    assert_eq!(
        (status, custom["capabilities"]["text"]["quote"].clone()),
        (201, json!(false))
    );
    let (_, list) = app
        .as_module(&token)
        .get("/api/transport/v1/channels")
        .await;
    assert_eq!(list.as_array().unwrap().len(), 2);
}

/// A module with one Telegram channel: its token and the channel's id.
async fn shop_bot(app: &TestApp) -> (String, i64) {
    let token = module(app, "Telegram module").await;
    let ch = app
        .as_module(&token)
        .post(
            "/api/transport/v1/channels",
            json!({"type": "telegram", "name": "Shop bot"}),
        )
        .expect(201)
        .await;
    (token, ch["id"].as_i64().unwrap())
}

/// F38: a client's message pushed by a module opens a dialog with the contact's name on the
/// channel; the same external id again answers the first result and changes nothing.
async fn f38_a_pushed_message_opens_a_dialog_and_a_repeat_changes_nothing(app: TestApp) {
    let (token, channel) = shop_bot(&app).await;
    let (status, pushed) = app
        .as_module(&token)
        .post(
            "/api/transport/v1/messages",
            push(channel, "u1", "m1", "Здравствуйте!"),
        )
        .await;
    assert_eq!(
        (status, pushed["duplicate"].clone()),
        (200, json!(false)),
        "{pushed}"
    );
    let admin = app.as_(ADMIN_EMAIL).await;
    let (_, view) = admin
        .get(&format!("/api/v1/dialogs/{}", pushed["dialog_id"]))
        .await;
    assert_eq!(
        (
            view["contact_name"].as_str(),
            view["channel"]["name"].as_str()
        ),
        (Some("Мария Иванова"), Some("Shop bot"))
    );
    let (_, again) = app
        .as_module(&token)
        .post(
            "/api/transport/v1/messages",
            push(channel, "u1", "m1", "Здравствуйте!"),
        )
        .await;
    assert_eq!(
        (again["duplicate"].clone(), again["message_id"].clone()),
        (json!(true), pushed["message_id"].clone())
    );
}

/// F38: a module pushes only into its own channels, and a deactivated channel takes nothing; a
/// push without its customer is refused naming the field.
async fn f38_a_module_pushes_only_into_its_own_active_channels(app: TestApp) {
    let (token, channel) = shop_bot(&app).await;
    let other = module(&app, "Other").await;
    assert_eq!(
        app.as_module(&other)
            .post("/api/transport/v1/messages", push(channel, "u2", "x", "hi"))
            .await
            .0,
        404
    );
    assert_eq!(
        app.as_module(&other)
            .delete(&format!("/api/transport/v1/channels/{channel}"))
            .await
            .0,
        404
    );
    let (status, off) = app
        .as_module(&token)
        .delete(&format!("/api/transport/v1/channels/{channel}"))
        .await;
    assert_eq!((status, off["active"].clone()), (200, json!(false)));
    assert_eq!(
        app.as_module(&token)
            .post(
                "/api/transport/v1/messages",
                push(channel, "u2", "m2", "hi")
            )
            .await
            .0,
        422
    );
    let (status, body) = app
        .as_module(&token)
        .post("/api/transport/v1/messages", json!({"channel_id": channel}))
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("customer")));
}

async fn f38_the_same_external_id_pushed_50_times_concurrently_makes_one_message(app: TestApp) {
    let token = Arc::new(module(&app, "Module").await);
    let (_, ch) = app
        .as_module(&token)
        .post(
            "/api/transport/v1/channels",
            json!({"type": "vk", "name": "Group"}),
        )
        .await;
    let channel = ch["id"].as_i64().unwrap();
    let app = Arc::new(app);
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (app, token) = (app.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            app.as_module(&token)
                .post(
                    "/api/transport/v1/messages",
                    push(channel, "u", "same", "один раз"),
                )
                .await
        }));
    }
    let mut ids = std::collections::HashSet::new();
    let mut firsts = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, 200, "{body}");
        ids.insert(body["message_id"].as_i64().unwrap());
        firsts += usize::from(body["duplicate"] == json!(false));
    }
    assert_eq!((ids.len(), firsts), (1, 1), "one message, one first answer");
    let admin = app.as_(ADMIN_EMAIL).await;
    let counts = app.store.data_counts().await.unwrap();
    assert_eq!((counts.dialogs, counts.messages), (1, 1));
    drop(admin);
}

/// A module's WhatsApp channel with a client's message and a manager's reply to it.
struct Replied {
    token: String,
    channel: i64,
    dialog: i64,
    client_message: Value,
    reply: i64,
    admin: Caller,
}

async fn replied(app: &TestApp) -> Replied {
    let token = module(app, "Module").await;
    let (_, ch) = app
        .as_module(&token)
        .post(
            "/api/transport/v1/channels",
            json!({"type": "whatsapp_business", "name": "Support"}),
        )
        .await;
    let channel = ch["id"].as_i64().unwrap();
    let (_, pushed) = app
        .as_module(&token)
        .post(
            "/api/transport/v1/messages",
            push(channel, "u", "in-1", "Где заказ?"),
        )
        .await;
    let admin = app.as_(ADMIN_EMAIL).await;
    let d = pushed["dialog_id"].as_i64().unwrap();
    let (_, reply) = admin
        .post(
            &format!("/api/v1/dialogs/{d}/messages"),
            json!({"body": "Уже в пути"}),
        )
        .await;
    let id = reply["id"].as_i64().unwrap();
    Replied {
        token,
        channel,
        dialog: d,
        client_message: pushed["message_id"].clone(),
        reply: id,
        admin,
    }
}

/// A status report on the reply, with `extra` fields.
fn report(r: &Replied, status: &str, extra: Value) -> Value {
    let mut b = json!({"channel_id": r.channel, "message_id": r.reply, "status": status});
    if let (Some(b), Some(e)) = (b.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    b
}

const STATUS: &str = "/api/transport/v1/messages/status";

/// F31: reports move a reply's status forward only: a late `sent` after `delivered`, or a
/// failure after `read`, changes nothing.
async fn f31_delivery_reports_only_move_statuses_forward(app: TestApp) {
    let r = replied(&app).await;
    let (token, d, id, admin) = (r.token.clone(), r.dialog, r.reply, r.admin.clone());
    let status_of = |admin: Caller| {
        let path = format!("/api/v1/dialogs/{d}/messages");
        async move {
            let (_, feed) = admin.get(&path).await;
            feed.as_array()
                .unwrap()
                .iter()
                .find(|m| m["id"].as_i64() == Some(id))
                .unwrap()["status"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let (_, moved) = app
        .as_module(&token)
        .post(STATUS, report(&r, "delivered", json!({})))
        .await;
    assert_eq!(
        (moved["changed"].clone(), moved["status"].clone()),
        (json!(true), json!("delivered"))
    );
    let (_, late) = app
        .as_module(&token)
        .post(
            STATUS,
            report(&r, "sent", json!({"external_id": "wamid.1"})),
        )
        .await;
    assert_eq!(
        (late["changed"].clone(), late["status"].clone()),
        (json!(false), json!("delivered")),
        "a late report is a no-op"
    );
    assert_eq!(status_of(admin.clone()).await, "delivered");
    app.as_module(&token)
        .post(STATUS, report(&r, "read", json!({})))
        .await;
    let (_, after) = app
        .as_module(&token)
        .post(
            STATUS,
            report(
                &r,
                "failed",
                json!({"error": {"code": "general", "message": "boom"}}),
            ),
        )
        .await;
    assert_eq!(
        after["changed"],
        json!(false),
        "nothing fails after it was read"
    );
    assert_eq!(status_of(admin.clone()).await, "read");
}

/// F31: a failure on a reply not yet delivered is shown with its reason; a report on an unknown
/// message or a client's message is 404, a failure without its reason 422.
async fn f31_a_failure_is_shown_with_its_reason_and_bad_reports_are_refused(app: TestApp) {
    let r = replied(&app).await;
    let (token, channel, d, admin) = (r.token.clone(), r.channel, r.dialog, r.admin.clone());
    let (_, second) = admin
        .post(
            &format!("/api/v1/dialogs/{d}/messages"),
            json!({"body": "Ещё"}),
        )
        .await;
    let failed = json!({"channel_id": channel, "message_id": second["id"], "status": "failed", "error": {"code": "reply_timed_out", "message": "The 24-hour window is over"}});
    assert_eq!(
        app.as_module(&token).post(STATUS, failed).await.1["changed"],
        json!(true)
    );
    let (_, feed) = admin.get(&format!("/api/v1/dialogs/{d}/messages")).await;
    let m = feed
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == second["id"])
        .unwrap()
        .clone();
    assert_eq!(
        (m["status"].as_str(), m["failure_reason"].as_str()),
        (Some("failed"), Some("The 24-hour window is over"))
    );

    let unknown = json!({"channel_id": channel, "message_id": 424242, "status": "read"});
    assert_eq!(app.as_module(&token).post(STATUS, unknown).await.0, 404);
    let client_message =
        json!({"channel_id": channel, "message_id": r.client_message, "status": "read"});
    assert_eq!(
        app.as_module(&token).post(STATUS, client_message).await.0,
        404,
        "client messages have no delivery status"
    );
    assert_eq!(
        app.as_module(&token)
            .post(STATUS, report(&r, "failed", json!({})))
            .await
            .0,
        422
    );
}

async fn f04_the_first_message_writes_the_source_and_a_phone_finds_the_client(app: TestApp) {
    let token = module(&app, "Module").await;
    let (_, widget) = app
        .as_module(&token)
        .post(
            "/api/transport/v1/channels",
            json!({"type": "widget", "name": "Site chat"}),
        )
        .await;
    let (_, wa) = app
        .as_module(&token)
        .post(
            "/api/transport/v1/channels",
            json!({"type": "whatsapp_business", "name": "WA"}),
        )
        .await;
    let first = json!({
        "channel_id": widget["id"], "external_id": "w1", "text": "Хочу заказать", "page_link": "https://shop.example.com/sofa",
        "customer": {"external_id": "visitor-1", "first_name": "Ольга", "phone": "+7 (900) 111-22-33", "utm": {"utm_source": "yandex", "utm_campaign": "sofas"}}
    });
    let (_, pushed) = app
        .as_module(&token)
        .post("/api/transport/v1/messages", first)
        .await;
    let admin = app.as_(ADMIN_EMAIL).await;
    let (_, view) = admin
        .get(&format!("/api/v1/dialogs/{}", pushed["dialog_id"]))
        .await;
    let client = view["client"]["id"].as_i64().unwrap();
    let card = admin
        .get(&format!("/api/v1/clients/{client}"))
        .expect(200)
        .await;
    assert_eq!(
        (card["name"].as_str(), card["phone"].as_str()),
        (Some("Ольга"), Some("+79001112233"))
    );
    let src = &card["source"];
    assert_eq!(
        (
            src["channel_type"].as_str(),
            src["channel_name"].as_str(),
            src["page"].as_str()
        ),
        (
            Some("widget"),
            Some("Site chat"),
            Some("https://shop.example.com/sofa")
        )
    );
    assert_eq!(
        src["utm"],
        json!({"utm_campaign": "sofas", "utm_source": "yandex"})
    );
    assert!(src["first_contact_at"].is_i64());

    // The same phone on another channel: the same client card, its source unchanged.
    let second = json!({"channel_id": wa["id"], "external_id": "a1", "text": "Это снова я", "customer": {"external_id": "79001112233", "phone": "79001112233", "first_name": "Оля"}});
    let (_, pushed2) = app
        .as_module(&token)
        .post("/api/transport/v1/messages", second)
        .await;
    let third = json!({"channel_id": wa["id"], "external_id": "a2", "text": "+", "customer": {"external_id": "other", "phone": "+7 900 111 22 33"}});
    app.as_module(&token)
        .post("/api/transport/v1/messages", third)
        .await;
    let (_, view2) = admin
        .get(&format!("/api/v1/dialogs/{}", pushed2["dialog_id"]))
        .await;
    assert_ne!(
        view2["client"]["id"].as_i64(),
        Some(client),
        "79001112233 without a plus is another number"
    );
    let (_, card_again) = admin.get(&format!("/api/v1/clients/{client}")).await;
    assert_eq!(card_again["source"]["channel_type"], "widget");
    assert_eq!(
        app.store.data_counts().await.unwrap().clients,
        2,
        "the third contact joined Ольга's card"
    );
}

/// F16: a client's edits and deletions arrive where the channel allows them.
async fn f16_client_edits_and_deletions_where_the_channel_allows(app: TestApp) {
    let token = module(&app, "Module").await;

    let (_, tg) = app
        .as_module(&token)
        .post(
            "/api/transport/v1/channels",
            json!({"type": "telegram", "name": "Bot"}),
        )
        .await;
    let (_, fb) = app
        .as_module(&token)
        .post(
            "/api/transport/v1/channels",
            json!({"type": "fb_instagram", "name": "IG"}),
        )
        .await;
    app.as_module(&token)
        .post(
            "/api/transport/v1/messages",
            push(tg["id"].as_i64().unwrap(), "u", "e1", "Опечтка"),
        )
        .expect(200)
        .await;
    let edit = json!({"channel_id": tg["id"], "external_id": "e1", "text": "Опечатка"});
    let (status, m) = app
        .as_module(&token)
        .put("/api/transport/v1/messages", edit)
        .await;
    assert_eq!((status, m["body"].as_str()), (200, Some("Опечатка")));
    assert!(m["edited_at"].is_i64());
    let mut answer = push(tg["id"].as_i64().unwrap(), "u", "e2", "Про опечатку");
    answer["quote_external_id"] = json!("e1");
    let pushed = app
        .as_module(&token)
        .post("/api/transport/v1/messages", answer)
        .expect(200)
        .await;
    let dialog = pushed["dialog_id"].as_i64().unwrap();
    let delete = |external_id: &str| {
        app.as_module(&token).request(
            Method::DELETE,
            "/api/transport/v1/messages",
            Some(json!({"channel_id": tg["id"], "external_id": external_id})),
        )
    };
    let (status, m) = delete("e1").await;
    assert_eq!(
        (status, m["body"].as_str()),
        (200, Some("")),
        "the text is withheld"
    );
    assert!(m["deleted_at"].is_i64());

    // The deleted text is gone everywhere: from the quote, the search, quick replies.
    let admin = app.as_(ADMIN_EMAIL).await;
    let feed = admin
        .get(&format!("/api/v1/dialogs/{dialog}/messages"))
        .expect(200)
        .await;
    assert!(!feed.to_string().contains("Опечатка"), "{feed}");
    let quoting = feed.as_array().unwrap().last().unwrap();
    assert_eq!(quoting["quote"]["body"], "", "{quoting}");
    let found = admin
        .get("/api/v1/search?q=%D0%9E%D0%BF%D0%B5%D1%87%D0%B0%D1%82%D0%BA%D0%B0")
        .expect(200)
        .await;
    assert_eq!(found["dialogs"], json!([]), "{found}");
    admin
        .post("/api/v1/quick-replies", json!({"from_message_id": m["id"]}))
        .refused(404, "not_found")
        .await;
    // The last message deleted: the dialog row shows no text of it.
    delete("e2").await;
    let row = admin
        .get(&format!("/api/v1/dialogs/{dialog}"))
        .expect(200)
        .await;
    assert_eq!(row["last_message_preview"], "", "{row}");
    app.as_module(&token)
        .post(
            "/api/transport/v1/messages",
            push(fb["id"].as_i64().unwrap(), "u", "f1", "hi"),
        )
        .await;
    let (status, body) = app
        .as_module(&token)
        .put(
            "/api/transport/v1/messages",
            json!({"channel_id": fb["id"], "external_id": "f1", "text": "x"}),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("not_supported_by_channel")),
        "Instagram cannot edit"
    );
    assert_eq!(
        app.as_module(&token)
            .put(
                "/api/transport/v1/messages",
                json!({"channel_id": tg["id"], "external_id": "nope", "text": "x"})
            )
            .await
            .0,
        404
    );
}

/// F31, F38: a `read` report with `up_to` reads every reply up to that one, not those after.
async fn f31_read_up_to_reads_every_reply_up_to_that_one(app: TestApp) {
    let (token, channel) = shop_bot(&app).await;
    let admin = app.as_(ADMIN_EMAIL).await;
    let (_, pushed) = app
        .as_module(&token)
        .post(
            "/api/transport/v1/messages",
            push(channel, "u", "e1", "Здравствуйте"),
        )
        .await;
    let d = pushed["dialog_id"].as_i64().unwrap();
    let mut ids = Vec::new();
    for text in ["1", "2", "3"] {
        let (_, m) = admin
            .post(
                &format!("/api/v1/dialogs/{d}/messages"),
                json!({"body": text}),
            )
            .await;
        ids.push(m["id"].as_i64().unwrap());
    }
    let read =
        json!({"channel_id": channel, "message_id": ids[1], "status": "read", "up_to": true});
    let (status, r) = app
        .as_module(&token)
        .post("/api/transport/v1/messages/status", read)
        .await;
    assert_eq!((status, r["changed"].clone()), (200, json!(true)));
    let (_, feed) = admin.get(&format!("/api/v1/dialogs/{d}/messages")).await;
    let status_of = |id: i64| {
        feed.as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"].as_i64() == Some(id))
            .unwrap()["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        (status_of(ids[0]), status_of(ids[1])),
        ("read".to_owned(), "read".to_owned())
    );
    assert_ne!(status_of(ids[2]), "read");
}

async fn f38_history_is_imported_read_and_silent_once(app: TestApp) {
    let token = module(&app, "Import").await;
    let (_, ch) = app
        .as_module(&token)
        .post(
            "/api/transport/v1/channels",
            json!({"type": "whatsapp_business", "name": "WA"}),
        )
        .await;
    let channel = ch["id"].as_i64().unwrap();
    let admin = app.as_(ADMIN_EMAIL).await;
    let counters = || async {
        admin.get("/api/v1/me/counters").await.1["unread_dialogs"]
            .as_i64()
            .unwrap()
    };
    let unread_before = counters().await;
    let history = json!({
        "channel_id": channel,
        "customer": {"external_id": "7900", "first_name": "Пётр", "phone": "+79005554433"},
        "messages": [
            {"external_id": "h1", "from": "client", "text": "Есть диван?", "sent_at": 1_600_000_000_000_i64},
            {"external_id": "h2", "from": "company", "text": "Да, есть", "sent_at": 1_600_000_060_000_i64},
            {"external_id": "h3", "from": "client", "text": "Спасибо", "sent_at": 1_600_000_120_000_i64},
        ],
    });
    let (status, first) = app
        .as_module(&token)
        .post("/api/transport/v1/history", history.clone())
        .await;
    assert_eq!(
        (status, first["imported"].as_bool()),
        (200, Some(true)),
        "{first}"
    );
    let dialog = first["dialog_id"].as_i64().unwrap();
    assert_eq!(
        counters().await,
        unread_before,
        "history is read by everyone"
    );
    let (_, view) = admin.get(&format!("/api/v1/dialogs/{dialog}")).await;
    assert_eq!(
        (view["open"].as_bool(), view["waiting_since"].is_null()),
        (Some(false), true),
        "{view}"
    );
    assert_eq!(view["last_activity_at"], 1_600_000_120_000_i64);
    let (_, feed) = admin
        .get(&format!("/api/v1/dialogs/{dialog}/messages"))
        .await;
    let feed = feed.as_array().unwrap();
    assert_eq!(
        feed.iter()
            .map(|m| m["body"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["Есть диван?", "Да, есть", "Спасибо"]
    );
    assert_eq!(
        (
            feed[1]["author"]["type"].as_str(),
            feed[1]["status"].as_str()
        ),
        (Some("company"), Some("delivered"))
    );
    let client = view["client"]["id"].as_i64().unwrap();
    let (_, card) = admin.get(&format!("/api/v1/clients/{client}")).await;
    assert_eq!(card["source"]["channel_name"], "WA", "{card}");

    let (status, again) = app
        .as_module(&token)
        .post("/api/transport/v1/history", history)
        .await;
    assert_eq!(
        (
            status,
            again["imported"].as_bool(),
            again["dialog_id"].as_i64()
        ),
        (200, Some(false), Some(dialog))
    );
    let (_, feed) = admin
        .get(&format!("/api/v1/dialogs/{dialog}/messages"))
        .await;
    assert_eq!(
        feed.as_array().unwrap().len(),
        3,
        "a repeat changes nothing"
    );

    // The client writes now: the dialog opens and is unread.
    let _ = app
        .as_module(&token)
        .post(
            "/api/transport/v1/messages",
            push(channel, "7900", "live-1", "А доставка?"),
        )
        .expect(200)
        .await;
    assert_eq!(counters().await, unread_before + 1);
}

/// F38: a history without messages, or out of order, is refused naming the message; an unknown
/// channel is 404.
async fn f38_a_bad_history_is_refused_with_the_message_it_names(app: TestApp) {
    let (token, channel) = shop_bot(&app).await;
    let bad = |messages: Value| json!({"channel_id": channel, "customer": {"external_id": "other"}, "messages": messages});
    let (status, e) = app
        .as_module(&token)
        .post("/api/transport/v1/history", bad(json!([])))
        .await;
    assert_eq!((status, e["field"].as_str()), (422, Some("messages")));
    let disorder = json!([
        {"external_id": "a", "from": "client", "text": "2", "sent_at": 2000},
        {"external_id": "b", "from": "client", "text": "1", "sent_at": 1000},
    ]);
    let (status, e) = app
        .as_module(&token)
        .post("/api/transport/v1/history", bad(disorder))
        .await;
    assert_eq!((status, e["field"].as_str()), (422, Some("messages[1]")));
    app.as_module(&token).post("/api/transport/v1/history", json!({"channel_id": 999_999, "customer": {"external_id": "x"}, "messages": [{"external_id": "a", "from": "client", "text": "t", "sent_at": 1}]})).expect(404).await;
}

/// A NUL character (U+0000) cannot be stored by PostgreSQL and stops SQLite's full-text search:
/// it is dropped at the API's edge, so a module's push, a manager's message and a search with one
/// work on both stores instead of failing with a 5xx that a module would retry forever.
async fn a_nul_character_in_any_text_is_dropped_never_a_server_error(app: TestApp) {
    let (token, channel) = shop_bot(&app).await;
    let pushed = app
        .as_module(&token)
        .post(
            "/api/transport/v1/messages",
            json!({"channel_id": channel, "customer": {"external_id": "u\u{0}1", "first_name": "Ма\u{0}рия"},
                "external_id": "in\u{0}-1", "text": "Здравствуйте\u{0}!"}),
        )
        .expect(200)
        .await;
    let admin = app.as_(ADMIN_EMAIL).await;
    let d = pushed["dialog_id"].as_i64().unwrap();
    let reply = admin
        .post(
            &format!("/api/v1/dialogs/{d}/messages"),
            json!({"body": "Добрый\u{0} день"}),
        )
        .expect(201)
        .await;
    assert_eq!(reply["body"], "Добрый день");
    let view = admin.get(&format!("/api/v1/dialogs/{d}")).expect(200).await;
    assert_eq!(view["contact_name"], "Мария");
    let feed = admin
        .get(&format!("/api/v1/dialogs/{d}/messages"))
        .expect(200)
        .await;
    assert!(
        feed.as_array()
            .unwrap()
            .iter()
            .any(|m| m["body"] == "Здравствуйте!"),
        "{feed}"
    );
    let found = admin
        .get("/api/v1/search?q=%D0%B7%D0%B4%D1%80%00%D0%B0%D0%B2")
        .expect(200)
        .await;
    assert_eq!(found["messages"][0]["dialog_id"], d, "{found}");
}
