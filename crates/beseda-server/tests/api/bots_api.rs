//! Bots (F37) through their API: registered by an administrator with a token shown once; they
//! hear the dialogs they serve by polling, WebSocket or signed webhook (retried, never lost);
//! they take a dialog, answer as themselves and hand it to a manager; they may not act on a
//! dialog they do not hold.

use crate::common::client::Caller;
use crate::common::{ADMIN_EMAIL, TestApp};
use beseda_core::channel::ChannelKind;
use beseda_testkit::fake_bot::FakeBot;
use beseda_testkit::fake_module::FakeModule;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

on_both_backends!(
    f37_a_bot_is_registered_and_its_token_works_until_renewed_or_turned_off,
    f37_a_bot_takes_a_dialog_answers_and_hands_it_to_a_manager,
    f37_bot_events_come_to_its_webhook_signed_in_order_and_survive_failures,
    f37_a_bot_socket_streams_live_and_resumes_after_a_gap,
    f37_a_bot_hands_a_dialog_to_a_group_s_present_member,
    f37_a_bot_sends_files_and_quick_replies_within_the_channel_s_limits,
);

/// A bot's caller, by its token.
fn as_bot(app: &TestApp, token: &str) -> Caller {
    Caller::bot_at(&app.base, token)
}

/// Registers a bot serving `channels`, with a webhook or none; its token and secret.
async fn register(admin: &Caller, name: &str, channels: &[i64], webhook: Option<&str>) -> Value {
    admin
        .post(
            "/api/v1/bots",
            json!({"name": name, "channels": channels, "webhook_url": webhook}),
        )
        .expect(201)
        .await
}

/// The bot's events after `after`, polled until `found` holds or a few seconds pass.
async fn poll_until(bot: &Caller, after: i64, found: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    for _ in 0..100 {
        let page = bot
            .get(&format!("/api/bot/v1/events?after={after}"))
            .expect(200)
            .await;
        let events = page["events"].as_array().unwrap().clone();
        if found(&events) {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the events never came");
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["kind"].as_str().unwrap()).collect()
}

async fn f37_a_bot_is_registered_and_its_token_works_until_renewed_or_turned_off(app: TestApp) {
    let admin = app.as_(ADMIN_EMAIL).await;
    let tg = app.channel(ChannelKind::Telegram).await;
    let created = register(&admin, "FAQ bot", &[tg.0], None).await;
    let token = created["token"].as_str().unwrap().to_owned();
    let id = created["bot"]["id"].as_i64().unwrap();
    assert_eq!(created["bot"]["channels"], json!([tg.0]));
    let me = as_bot(&app, &token).get("/api/bot/v1/me").expect(200).await;
    assert_eq!(
        (me["name"].as_str(), me["kind"].as_str()),
        (Some("FAQ bot"), Some("external"))
    );
    let listed = admin.get("/api/v1/bots").expect(200).await;
    assert_eq!(listed[0]["name"], "FAQ bot");
    assert!(
        !listed.to_string().contains(&token),
        "the token is shown once"
    );

    // Bad input changes nothing.
    admin
        .post("/api/v1/bots", json!({"name": "", "channels": []}))
        .refused(422, "invalid_value")
        .await;
    admin
        .post("/api/v1/bots", json!({"name": "X", "channels": [999_999]}))
        .refused(404, "not_found")
        .await;
    admin
        .post(
            "/api/v1/bots",
            json!({"name": "X", "webhook_url": "ftp://x"}),
        )
        .refused(422, "invalid_value")
        .await;
    assert_eq!(
        admin
            .get("/api/v1/bots")
            .expect(200)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    app.manager("anna@example.com", "Anna").await;
    app.as_("anna@example.com")
        .await
        .post("/api/v1/bots", json!({"name": "Mine"}))
        .refused(403, "forbidden")
        .await;

    let renewed = admin
        .post_empty(&format!("/api/v1/bots/{id}/renew"))
        .expect(200)
        .await;
    as_bot(&app, &token)
        .get("/api/bot/v1/me")
        .refused(401, "unauthenticated")
        .await;
    let token = renewed["token"].as_str().unwrap().to_owned();
    as_bot(&app, &token).get("/api/bot/v1/me").expect(200).await;
    admin
        .patch(&format!("/api/v1/bots/{id}"), json!({"active": false}))
        .expect(200)
        .await;
    as_bot(&app, &token)
        .get("/api/bot/v1/me")
        .refused(401, "unauthenticated")
        .await;
}

async fn f37_a_bot_takes_a_dialog_answers_and_hands_it_to_a_manager(app: TestApp) {
    let admin = app.as_(ADMIN_EMAIL).await;
    let tg = app.channel(ChannelKind::Telegram).await;
    let vk = app.channel(ChannelKind::Vk).await;
    let created = register(&admin, "Order status bot", &[tg.0], None).await;
    let bot = as_bot(&app, created["token"].as_str().unwrap());
    let anna = app.manager("anna@example.com", "Anna").await;
    let d = app.new_dialog(tg, "1").await;
    let elsewhere = app.new_dialog(vk, "2").await;

    let events = poll_until(&bot, 0, |e| !e.is_empty()).await;
    assert_eq!(kinds(&events), ["message_new"]);
    assert_eq!(
        events[0]["dialog_id"], d,
        "not the VK dialog: not its channel"
    );
    bot.get(&format!("/api/bot/v1/dialogs/{elsewhere}"))
        .refused(404, "not_found")
        .await;
    let view = bot
        .get(&format!("/api/bot/v1/dialogs/{d}"))
        .expect(200)
        .await;
    assert_eq!(view["responsible"], Value::Null);
    let card = bot
        .get(&format!("/api/bot/v1/dialogs/{d}/client"))
        .expect(200)
        .await;
    assert!(card["name"].is_string());

    // It must hold the dialog to write in it.
    let write = format!("/api/bot/v1/dialogs/{d}/messages");
    bot.post(&write, json!({"body": "Hello!"}))
        .refused(403, "dialog_not_yours")
        .await;
    let take = format!("/api/bot/v1/dialogs/{d}/assign");
    bot.post(
        "/api/bot/v1/dialogs/999999/assign",
        json!({"to": {"type": "bot", "id": created["bot"]["id"]}}),
    )
    .refused(404, "not_found")
    .await;
    bot.post(
        &format!("/api/bot/v1/dialogs/{elsewhere}/assign"),
        json!({"to": {"type": "bot", "id": created["bot"]["id"]}}),
    )
    .refused(403, "dialog_not_yours")
    .await;
    bot.post(
        &take,
        json!({"to": {"type": "bot", "id": created["bot"]["id"]}}),
    )
    .expect(204)
    .await;
    let sent = bot
        .post(&write, json!({"body": "Your order ships tomorrow."}))
        .expect(201)
        .await;
    assert_eq!(sent["author"]["type"], "bot");
    assert_eq!(sent["author"]["name"], "Order status bot");
    bot.post(&write, json!({"body": "   "}))
        .refused(422, "invalid_value")
        .await;
    // Managers see who wrote, and who holds it.
    let feed = admin.feed(d).await;
    let last = feed.last().unwrap();
    assert_eq!(last["author"]["name"], "Order status bot");
    let dialogs = admin.get("/api/v1/dialogs?bots=any").expect(200).await;
    assert_eq!(
        dialogs["dialogs"][0]["id"], d,
        "F22: the bot filter finds it"
    );

    // A disabled manager cannot be given it.
    let boris = app.manager("boris@example.com", "Boris").await;
    admin
        .patch(
            &format!("/api/v1/managers/{}", boris.id),
            json!({"disabled": true}),
        )
        .expect(200)
        .await;
    bot.post(&take, json!({"to": {"type": "manager", "id": boris.id}}))
        .refused(422, "invalid_value")
        .await;
    // Handed to Anna: the bot is told it is gone, and may no longer write or close.
    let before = poll_until(&bot, 0, |_| true).await.last().unwrap()["id"]
        .as_i64()
        .unwrap();
    bot.post(&take, json!({"to": {"type": "manager", "id": anna.id}}))
        .expect(204)
        .await;
    let after = poll_until(&bot, before, |e| !e.is_empty()).await;
    assert_eq!(kinds(&after), ["dialog_gone"]);
    bot.post(&write, json!({"body": "still here?"}))
        .refused(403, "dialog_not_yours")
        .await;
    bot.post_empty(&format!("/api/bot/v1/dialogs/{d}/close"))
        .refused(403, "dialog_not_yours")
        .await;
    let view = admin.get(&format!("/api/v1/dialogs/{d}")).expect(200).await;
    assert_eq!(
        view["responsible"],
        json!({"type": "manager", "id": anna.id})
    );
    let feed = admin.feed(d).await;
    let line = &feed.last().unwrap()["event"];
    assert_eq!(line["kind"], "dialog_assigned");
    assert_eq!(
        line["data"]["by"]["type"], "bot",
        "F17: the feed says the bot did it"
    );
}

async fn f37_bot_events_come_to_its_webhook_signed_in_order_and_survive_failures(app: TestApp) {
    let admin = app.as_(ADMIN_EMAIL).await;
    let tg = app.channel(ChannelKind::Telegram).await;
    let hook = FakeBot::start().await;
    let created = register(&admin, "Hooked", &[tg.0], Some(&hook.webhook_url)).await;
    hook.set_secret(created["webhook_secret"].as_str().unwrap());
    // The first tries fail; the events wait for it and come in order.
    hook.fail_next(3);
    let d = app.new_dialog(tg, "1").await;
    app.client_writes(tg, "1", "second", "Are you there?").await;
    app.client_writes(tg, "1", "third", "Hello?").await;
    let mut frames = Vec::new();
    for _ in 0..200 {
        frames = hook.frames();
        if frames.len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let bodies: Vec<&str> = frames
        .iter()
        .map(|f| f["data"]["message"]["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["Здравствуйте!", "Are you there?", "Hello?"]);
    assert!(frames.iter().all(|f| f["dialog_id"] == d));
    assert!(hook.tries() >= 6, "three failures, then three events");
    assert_eq!(hook.bad_signatures(), 0);
    let bots = admin.get("/api/v1/bots").expect(200).await;
    assert_eq!(bots[0]["failing_since"], Value::Null, "well again");
}

async fn f37_a_bot_socket_streams_live_and_resumes_after_a_gap(app: TestApp) {
    let admin = app.as_(ADMIN_EMAIL).await;
    let tg = app.channel(ChannelKind::Telegram).await;
    let created = register(&admin, "Live", &[tg.0], None).await;
    let token = created["token"].as_str().unwrap().to_owned();
    let connect = |after: Option<i64>| {
        let url = format!(
            "{}/api/bot/v1/ws{}",
            app.base.replace("http://", "ws://"),
            after.map(|a| format!("?after={a}")).unwrap_or_default()
        );
        let token = token.clone();
        async move {
            let mut req = url.into_client_request().unwrap();
            req.headers_mut()
                .insert("x-bot-token", token.parse().unwrap());
            tokio_tungstenite::connect_async(req)
                .await
                .expect("socket")
                .0
        }
    };
    let mut ws = connect(None).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let d = app.new_dialog(tg, "1").await;
    let first = next_frame(&mut ws).await;
    assert_eq!(
        (first["kind"].as_str(), first["dialog_id"].as_i64()),
        (Some("message_new"), Some(d))
    );
    drop(ws);
    // Two messages while it is away: a reconnect with the last id gets both, in order.
    app.client_writes(tg, "1", "a", "one").await;
    app.client_writes(tg, "1", "b", "two").await;
    let mut ws = connect(first["id"].as_i64()).await;
    let one = next_frame(&mut ws).await;
    let two = next_frame(&mut ws).await;
    assert_eq!(one["data"]["message"]["body"], "one");
    assert_eq!(two["data"]["message"]["body"], "two");
    // Without a token there is no socket.
    let mut req = format!("{}/api/bot/v1/ws", app.base.replace("http://", "ws://"))
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("x-bot-token", "bb_wrong".parse().unwrap());
    assert!(tokio_tungstenite::connect_async(req).await.is_err());
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_frame(ws: &mut Ws) -> Value {
    match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
        Ok(Some(Ok(Message::Text(t)))) => serde_json::from_str(&t).unwrap(),
        other => panic!("no frame: {other:?}"),
    }
}

async fn f37_a_bot_hands_a_dialog_to_a_group_s_present_member(app: TestApp) {
    let admin = app.as_(ADMIN_EMAIL).await;
    let tg = app.channel(ChannelKind::Telegram).await;
    let created = register(&admin, "Front desk", &[tg.0], None).await;
    let bot_id = created["bot"]["id"].as_i64().unwrap();
    let bot = as_bot(&app, created["token"].as_str().unwrap());
    let anna = app.manager("anna@example.com", "Anna").await;
    let boris = app.manager("boris@example.com", "Boris").await;
    let group = admin
        .post("/api/v1/groups", json!({"name": "Sales"}))
        .expect(201)
        .await;
    admin
        .put(
            &format!("/api/v1/groups/{}/members", group["id"]),
            json!({"members": [anna.id, boris.id]}),
        )
        .expect(200)
        .await;
    let d = app.new_dialog(tg, "1").await;
    let assign = format!("/api/bot/v1/dialogs/{d}/assign");
    bot.post(&assign, json!({"to": {"type": "bot", "id": bot_id}}))
        .expect(204)
        .await;
    let to_sales = json!({"to": {"type": "group", "id": group["id"]}});
    bot.post(&assign, to_sales.clone())
        .refused(422, "nobody_present")
        .await;
    // Boris opens his workspace: he is the one present.
    let _boris = crate::realtime::connect(
        &app,
        &crate::realtime::session(&app, "boris@example.com").await,
        None,
    )
    .await;
    bot.post(&assign, to_sales).expect(204).await;
    let view = admin.get(&format!("/api/v1/dialogs/{d}")).expect(200).await;
    assert_eq!(
        view["responsible"],
        json!({"type": "manager", "id": boris.id})
    );
    bot.post(&assign, json!({"to": {"type": "group", "id": 999}}))
        .refused(403, "dialog_not_yours")
        .await;
}

/// A file as a one-part upload form.
fn one_file(name: &'static str, bytes: &'static [u8]) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name),
    )
}

async fn f37_a_bot_sends_files_and_quick_replies_within_the_channel_s_limits(app: TestApp) {
    let fake = FakeModule::start().await;
    let admin = app.as_(ADMIN_EMAIL).await;
    let connected = admin.connect_module(&fake.webhook_url).await;
    fake.set_secret(&connected.webhook_secret);
    let plain = app.channel(ChannelKind::Custom).await;
    let pushed = connected
        .module
        .post(
            "/api/transport/v1/messages",
            json!({"channel_id": connected.channel, "customer": {"external_id": "u1"},
                "external_id": "in-1", "text": "Hi"}),
        )
        .expect(200)
        .await;
    let d = pushed["dialog_id"].as_i64().unwrap();
    let other = app.new_dialog(plain, "2").await;
    let created = register(&admin, "Catalogue bot", &[connected.channel, plain.0], None).await;
    let bot = as_bot(&app, created["token"].as_str().unwrap());
    let me = json!({"to": {"type": "bot", "id": created["bot"]["id"]}});
    let stranger = register(&admin, "Other bot", &[plain.0], None).await;
    let stranger = as_bot(&app, stranger["token"].as_str().unwrap());

    // Files go only into a dialog the bot holds.
    let upload = format!("/api/bot/v1/dialogs/{d}/attachments");
    bot.upload(&upload, one_file("price.pdf", b"%PDF-1.4 prices"))
        .refused(403, "dialog_not_yours")
        .await;
    bot.post(&format!("/api/bot/v1/dialogs/{d}/assign"), me.clone())
        .expect(204)
        .await;
    bot.post(&format!("/api/bot/v1/dialogs/{other}/assign"), me)
        .expect(204)
        .await;
    let shown = bot
        .get(&format!("/api/bot/v1/dialogs/{d}"))
        .expect(200)
        .await;
    assert_eq!(
        shown["capabilities"]["buttons"],
        json!({"max": 10, "max_chars": 64})
    );
    let file = bot
        .upload(&upload, one_file("price.pdf", b"%PDF-1.4 prices"))
        .expect(201)
        .await[0]["id"]
        .clone();
    // Its own unsent upload it may read back; another bot may not.
    let own = bot
        .raw(
            reqwest::Method::GET,
            &format!("/api/bot/v1/attachments/{file}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    assert_eq!(&own.bytes().await.unwrap()[..], b"%PDF-1.4 prices");
    stranger
        .get(&format!("/api/bot/v1/attachments/{file}"))
        .refused(404, "not_found")
        .await;

    // Refusals write nothing and keep the upload for the next try.
    let write = format!("/api/bot/v1/dialogs/{d}/messages");
    let before = admin.feed(d).await.len();
    let eleven: Vec<String> = (1..=11).map(|i| i.to_string()).collect();
    for (body, code) in [
        (
            json!({"body": "Pick", "buttons": eleven}),
            "too_many_buttons",
        ),
        (
            json!({"body": "Pick", "buttons": ["Yes", "Yes"]}),
            "invalid_value",
        ),
        (
            json!({"body": "Pick", "buttons": ["Yes", " "]}),
            "invalid_value",
        ),
        (
            json!({"body": "Pick", "buttons": ["Line\nbreak"]}),
            "invalid_value",
        ),
        (
            json!({"body": "Pick", "buttons": ["x".repeat(65)]}),
            "invalid_value",
        ),
        (
            json!({"body": "", "attachment_ids": [file], "buttons": ["Yes"]}),
            "invalid_value",
        ),
        (
            json!({"body": "Pick", "attachment_ids": [999_999]}),
            "invalid_attachment",
        ),
    ] {
        bot.post(&write, body).refused(422, code).await;
    }
    bot.post(
        &format!("/api/bot/v1/dialogs/{other}/messages"),
        json!({"body": "Pick", "buttons": ["Yes"]}),
    )
    .refused(422, "buttons_not_supported")
    .await;
    assert_eq!(admin.feed(d).await.len(), before);

    let sent = bot
        .post(
            &write,
            json!({"body": "Our prices. Anything else?", "attachment_ids": [file],
                "buttons": ["Yes", "No, thanks"]}),
        )
        .expect(201)
        .await;
    assert_eq!(sent["buttons"], json!(["Yes", "No, thanks"]));
    assert_eq!(sent["attachments"][0]["file_name"], "price.pdf");
    // The upload is spent: a second message cannot take it.
    bot.post(&write, json!({"body": "again", "attachment_ids": [file]}))
        .refused(422, "invalid_attachment")
        .await;
    // Managers see the buttons in the feed; the module receives them with the file.
    let last = admin.feed(d).await.pop().unwrap();
    assert_eq!(last["buttons"], json!(["Yes", "No, thanks"]));
    let mut delivered = None;
    for _ in 0..200 {
        delivered = fake.payloads().into_iter().find(|p| p["id"] == sent["id"]);
        if delivered.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let delivered = delivered.expect("delivered to the module");
    assert_eq!(delivered["buttons"], json!(["Yes", "No, thanks"]));
    assert_eq!(delivered["attachments"][0]["file_name"], "price.pdf");
    // Sent, the file is readable by the bots that see the dialog.
    let sent_file = bot
        .raw(
            reqwest::Method::GET,
            &format!("/api/bot/v1/attachments/{file}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(sent_file.status(), 200);
    stranger
        .get(&format!("/api/bot/v1/attachments/{file}"))
        .refused(404, "not_found")
        .await;
}
