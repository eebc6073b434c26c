//! A Telegram bot connected by Beseda itself, against a fake Bot API on loopback that speaks
//! Telegram's shapes: its token checked, its webhook set with a secret; client messages in
//! (repeats make one), edits, the secret checked; replies out with their statuses on the
//! platform's answers (sent, wait on 429, failed when the client blocked the bot); and a
//! disconnect that removes the webhook. Both stores.

use crate::common::client::Caller;
use crate::common::{ADMIN_EMAIL, Options, TestApp};
use beseda_testkit::TestBackend;
use beseda_testkit::fake_telegram::FakeTelegram;
use serde_json::{Value, json};
use std::time::Duration;

const TOKEN: &str = "123456:ABC-DEF";

fn update(id: i64, message: Value) -> Value {
    json!({"update_id": id, "message": message})
}

fn text(message_id: i64, text: &str) -> Value {
    json!({"message_id": message_id, "date": 1_700_000_000, "text": text,
        "from": {"id": 42, "is_bot": false, "first_name": "Анна", "last_name": "Петрова", "username": "anna_p"},
        "chat": {"id": 42, "type": "private"}})
}

async fn app_with(backend: TestBackend, fake: &FakeTelegram) -> Option<TestApp> {
    let options = Options {
        telegram_api: fake.api.clone(),
        ..Default::default()
    };
    TestApp::spawn_with(backend, options).await
}

async fn a_telegram_bot_is_connected_and_talks_both_ways(backend: TestBackend) {
    let fake = FakeTelegram::start(TOKEN).await;
    let Some(app) = app_with(backend, &fake).await else {
        return;
    };
    let admin = app.as_(ADMIN_EMAIL).await;
    // A token Telegram refuses creates nothing.
    admin
        .post(
            "/api/v1/connectors",
            json!({"type": "telegram", "token": "1:nope"}),
        )
        .refused(422, "credentials_refused")
        .await;
    assert_eq!(admin.get("/api/v1/connectors").expect(200).await, json!([]));

    let channel = admin
        .post(
            "/api/v1/connectors",
            json!({"type": "telegram", "token": TOKEN, "updates": "webhook"}),
        )
        .expect(201)
        .await;
    assert_eq!(
        (&channel["type"], &channel["name"]),
        (&json!("telegram"), &json!("@shop_bot"))
    );
    let (url, secret) = fake.webhook().expect("the webhook is set");
    assert!(
        url.starts_with(&format!("{}/hooks/telegram/", app.base)),
        "{url}"
    );
    assert!(secret.len() >= 32);
    let listed = admin.get("/api/v1/connectors").expect(200).await;
    assert!(
        !listed.to_string().contains(TOKEN),
        "the token is never shown again"
    );
    assert_eq!(
        (&listed[0]["updates"], &listed[0]["state"]["ok"]),
        (&json!("webhook"), &json!(true))
    );
    // Telegram tells of its failures to reach the webhook: the settings show them.
    fake.webhook_failed(1_700_000_000, "Connection refused");
    let listed = admin.get("/api/v1/connectors").expect(200).await;
    assert_eq!(
        listed[0]["state"],
        json!({"ok": false, "error": "Connection refused", "error_at": 1_700_000_000_000_i64})
    );

    // The client's profile photo, which Telegram serves only with the bot's token.
    let mut png = Vec::new();
    image::RgbImage::from_pixel(8, 8, image::Rgb([20, 120, 200]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    fake.add_file("ava-42", "photos/ava.png", png.clone());
    fake.set_profile_photo(42, "ava-42");
    // The same update three times (Telegram retries): one message, with the client's card.
    for _ in 0..3 {
        assert_eq!(fake.push(&update(1, text(5, "Здравствуйте!"))).await, 200);
    }
    let dialogs = admin.dialog_ids("").await;
    assert_eq!(dialogs.len(), 1);
    let dialog = dialogs[0];
    let messages = admin.feed(dialog).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["body"], "Здравствуйте!");
    let card = admin.client_card_of(dialog).await;
    assert_eq!(card["name"], "Анна Петрова");
    // Its photo is kept by Beseda and shown to whoever sees the card.
    let photo_url = format!("/api/v1/clients/{}/photo", card["id"]);
    assert_eq!(card["photo_url"], photo_url.as_str());
    let photo = admin
        .raw(reqwest::Method::GET, &photo_url)
        .send()
        .await
        .unwrap();
    assert_eq!(photo.status(), 200);
    assert_eq!(photo.headers()["content-type"], "image/jpeg");
    assert_eq!(&photo.bytes().await.unwrap()[..2], b"\xff\xd8", "a JPEG");
    // Nobody else's: an anonymous caller gets nothing.
    let anonymous = app
        .anonymous()
        .raw(reqwest::Method::GET, &photo_url)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    // A call without the secret, or with another, stores nothing.
    let forged = reqwest::Client::new()
        .post(&url)
        .header("x-telegram-bot-api-secret-token", "guess")
        .json(&update(2, text(6, "forged")))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    // A body that is not an update is acknowledged, so Telegram does not resend it.
    let junk = reqwest::Client::new()
        .post(&url)
        .header("x-telegram-bot-api-secret-token", &secret)
        .body("<html>")
        .send()
        .await
        .unwrap();
    assert_eq!(junk.status(), 200);
    // An edit on the client's side.
    let edit = json!({"update_id": 3, "edited_message": text(5, "Здравствуйте! Есть диван?")});
    assert_eq!(fake.push(&edit).await, 200);
    let messages = admin.feed(dialog).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["body"], "Здравствуйте! Есть диван?");
    assert!(messages[0]["edited_at"].is_i64());

    // A photo comes in with its file, in its largest size; a document over the channel's limit
    // comes as a note in the message, never fetched.
    fake.add_file("ph-large", "photos/file_1.png", png.clone());
    let mut photo = text(8, "");
    photo["text"] = Value::Null;
    photo["caption"] = json!("this one");
    photo["photo"] = json!([
        {"file_id": "ph-small", "file_unique_id": "a", "width": 2, "height": 2, "file_size": 10},
        {"file_id": "ph-large", "file_unique_id": "b", "width": 8, "height": 8, "file_size": png.len()}]);
    assert_eq!(fake.push(&update(10, photo)).await, 200);
    let mut big = text(9, "");
    big["text"] = Value::Null;
    big["document"] = json!({"file_id": "doc-big", "file_unique_id": "c", "file_name": "catalogue.pdf",
        "file_size": 60 * 1024 * 1024});
    assert_eq!(fake.push(&update(11, big)).await, 200);
    let now = admin.feed(dialog).await;
    let with_photo = now
        .iter()
        .find(|m| m["body"] == "this one")
        .expect("the photo's message");
    assert_eq!(with_photo["attachments"][0]["kind"], "image");
    let noted = now
        .iter()
        .find(|m| {
            m["body"]
                .as_str()
                .is_some_and(|b| b.contains("catalogue.pdf"))
        })
        .expect("the document's message");
    assert!(
        noted["body"]
            .as_str()
            .unwrap()
            .contains("over this channel's limit of 50 MB"),
        "{noted}"
    );
    assert_eq!(noted["attachments"], json!([]));

    // A reply goes out, quoting the client's message, and is sent.
    let path = format!("/api/v1/dialogs/{dialog}/messages");
    let reply = admin
        .post(
            &path,
            json!({"body": "Да, есть", "quote_id": messages[0]["id"]}),
        )
        .expect(201)
        .await;
    admin.wait_status(dialog, &reply["id"], "sent").await;
    let sent = fake.sent();
    assert_eq!(
        (
            sent[0].chat_id.as_str(),
            sent[0].text.as_str(),
            sent[0].reply_to
        ),
        ("42", "Да, есть", Some(5))
    );

    // Too many requests: the reply waits as told, then goes.
    fake.fail_next(429, "Too Many Requests: retry after 1", Some(1));
    let later = admin
        .post(&path, json!({"body": "Ещё вопрос?"}))
        .expect(201)
        .await;
    admin.wait_status(dialog, &later["id"], "sent").await;
    assert_eq!(fake.sent().len(), 2);

    // The client blocked the bot: failed, with the reason.
    fake.fail_next(403, "Forbidden: bot was blocked by the user", None);
    let blocked = admin
        .post(&path, json!({"body": "Алло?"}))
        .expect(201)
        .await;
    let failed = admin.wait_status(dialog, &blocked["id"], "failed").await;
    assert_eq!(
        failed["failure_reason"],
        "the client blocked the bot or never started it"
    );

    // Replies with files: one image with its caption, an album of two, a document.
    let upload = |name: &'static str, bytes: Vec<u8>| {
        let admin = admin.clone();
        async move {
            let form = reqwest::multipart::Form::new().part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name(name),
            );
            admin
                .upload(&format!("/api/v1/dialogs/{dialog}/attachments"), form)
                .expect(201)
                .await[0]["id"]
                .clone()
        }
    };
    let one = upload("sofa.png", png.clone()).await;
    let r = admin
        .post(&path, json!({"body": "Вот он", "attachment_ids": [one]}))
        .expect(201)
        .await;
    admin.wait_status(dialog, &r["id"], "sent").await;
    let (a, b) = (
        upload("a.png", png.clone()).await,
        upload("b.png", png.clone()).await,
    );
    let r = admin
        .post(&path, json!({"body": "Два вида", "attachment_ids": [a, b]}))
        .expect(201)
        .await;
    admin.wait_status(dialog, &r["id"], "sent").await;
    let pdf = upload("price.pdf", b"%PDF-1.4 prices".to_vec()).await;
    let r = admin
        .post(&path, json!({"body": "", "attachment_ids": [pdf]}))
        .expect(201)
        .await;
    admin.wait_status(dialog, &r["id"], "sent").await;
    let sent: Vec<(String, Option<String>, usize)> = fake
        .sent_files()
        .into_iter()
        .map(|f| (f.method, f.caption, f.files.len()))
        .collect();
    assert_eq!(
        sent,
        [
            ("sendPhoto".into(), Some("Вот он".into()), 1),
            ("sendMediaGroup".into(), Some("Два вида".into()), 2),
            ("sendDocument".into(), None, 1),
        ]
    );
    assert_eq!(fake.sent_files()[2].files[0], ("price.pdf".into(), 15));

    // Disconnected: the webhook goes, and its calls find nothing.
    admin
        .delete(&format!("/api/v1/connectors/{}", channel["id"]))
        .expect(200)
        .await;
    assert_eq!(fake.webhook(), None);
    let late = reqwest::Client::new()
        .post(&url)
        .header("x-telegram-bot-api-secret-token", &secret)
        .json(&update(4, text(7, "still there?")))
        .send()
        .await
        .unwrap();
    assert_eq!(late.status(), 404);
    assert_eq!(
        admin
            .feed(dialog)
            .await
            .iter()
            .filter(|m| m["body"] == "still there?")
            .count(),
        0
    );
}

#[tokio::test]
async fn a_telegram_bot_is_connected_and_talks_both_ways_on_sqlite() {
    a_telegram_bot_is_connected_and_talks_both_ways(TestBackend::Sqlite).await;
}

#[tokio::test]
async fn a_telegram_bot_is_connected_and_talks_both_ways_on_postgres() {
    a_telegram_bot_is_connected_and_talks_both_ways(TestBackend::Postgres).await;
}

/// On the settings page: a bot's token pasted, the bot connected and listed, then disconnected.
#[tokio::test]
async fn a_telegram_bot_is_connected_from_the_settings_page() {
    let fake = FakeTelegram::start(TOKEN).await;
    let app = app_with(TestBackend::Sqlite, &fake).await.unwrap();
    let Some(b) = crate::common::browser::Browser::start("en-US").await else {
        return;
    };
    b.sign_in(&app.base, ADMIN_EMAIL, crate::common::PASSWORD)
        .await;
    b.wait_for(fantoccini::Locator::Css("body[data-live=true]"))
        .await;
    b.client
        .goto(&format!("{}/settings#connectors", app.base))
        .await
        .unwrap();
    b.type_into("#connect-messenger input[name=token]", TOKEN)
        .await;
    b.client
        .execute(
            "document.querySelector('#connect-messenger select[name=updates]').value = 'webhook'",
            vec![],
        )
        .await
        .unwrap();
    b.click("#connect-messenger button[type=submit]").await;
    b.wait_js(
        "return [...document.querySelectorAll('tr[data-connected]')].some(r => r.textContent.includes('@shop_bot') && r.textContent.includes('Connected'))",
        "the bot is listed as connected",
    )
    .await;
    assert!(fake.webhook().is_some());
    // What Telegram says is wrong with the webhook is shown beside the bot.
    fake.webhook_failed(
        1_700_000_000,
        "Wrong response from the webhook: 502 Bad Gateway",
    );
    b.client.refresh().await.unwrap();
    b.wait_js(
        "return [...document.querySelectorAll('tr[data-connected] .connector-problem')].some(p => p.textContent.includes('502 Bad Gateway') && p.textContent.includes('2023-11-14 22:13 UTC'))",
        "the webhook's error is shown",
    )
    .await;
    b.screenshot("settings-telegram-connected").await;
    b.click("tr[data-connected] button.danger").await;
    b.client.accept_alert().await.unwrap();
    b.wait_js(
        "return [...document.querySelectorAll('tr[data-connected]')].some(r => r.textContent.includes('Disconnected'))",
        "the bot is listed as disconnected",
    )
    .await;
    assert_eq!(fake.webhook(), None);
}

/// Telegram's pace, measured on the fake's clock: a burst of 200 replies to 200 clients leaves
/// at most about 30 a second, and replies to one client at most one a second; none is lost.
#[tokio::test]
async fn a_burst_of_replies_keeps_telegrams_pace() {
    let fake = FakeTelegram::start(TOKEN).await;
    let app = app_with(TestBackend::Sqlite, &fake).await.unwrap();
    let admin = app.as_(ADMIN_EMAIL).await;
    admin
        .post(
            "/api/v1/connectors",
            json!({"type": "telegram", "token": TOKEN, "updates": "webhook"}),
        )
        .expect(201)
        .await;
    for chat in 0..200 {
        let mut m = text(1, "Здравствуйте");
        m["chat"]["id"] = json!(1000 + chat);
        m["from"]["id"] = json!(1000 + chat);
        assert_eq!(fake.push(&update(chat, m)).await, 200);
    }
    let dialogs = admin.dialog_ids("").await;
    assert_eq!(dialogs.len(), 200);
    for d in &dialogs {
        admin
            .post(
                &format!("/api/v1/dialogs/{d}/messages"),
                json!({"body": "Спасибо, отвечаем"}),
            )
            .expect(201)
            .await;
    }
    // Three more to one client.
    for _ in 0..3 {
        admin
            .post(
                &format!("/api/v1/dialogs/{}/messages", dialogs[0]),
                json!({"body": "Ещё"}),
            )
            .expect(201)
            .await;
    }
    for _ in 0..400 {
        if fake.sent_at().len() == 203 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let times = fake.sent_at();
    assert_eq!(times.len(), 203, "every reply went out once");
    let at: Vec<std::time::Instant> = times.iter().map(|(t, _)| *t).collect();
    let busiest = at
        .iter()
        .map(|start| {
            at.iter()
                .filter(|t| **t >= *start && t.duration_since(*start) < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap();
    assert!(busiest <= 30, "{busiest} messages within one second");
    // The client who got four, whichever went out first.
    let one_chat = times
        .iter()
        .map(|(_, c)| c)
        .max_by_key(|c| times.iter().filter(|(_, x)| x == *c).count())
        .unwrap();
    let to_one: Vec<std::time::Instant> = times
        .iter()
        .filter(|(_, c)| c == one_chat)
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(to_one.len(), 4);
    for pair in to_one.windows(2) {
        assert!(
            pair[1].duration_since(pair[0]) >= Duration::from_millis(900),
            "one a second to one chat"
        );
    }
}

/// Long polling, for a server without a public HTTPS address: the bot's updates are fetched
/// with `getUpdates` (no webhook), and after the process is killed the next one asks from the
/// offset after the last update taken: nothing lost, nothing twice. Both stores.
async fn long_polling_resumes_from_the_right_offset_after_a_restart(backend: TestBackend) {
    use crate::restart::{Node, free_port};
    let Some(db) = beseda_testkit::TestDb::new(backend).await else {
        return;
    };
    let fake = FakeTelegram::start(TOKEN).await;
    let settings = [
        ("BESEDA_TELEGRAM_API", fake.api.as_str()),
        ("BESEDA_TELEGRAM_POLL_SECS", "1"),
    ];
    let port = free_port();
    let node = Node::start_with(&db, port, &settings);
    let admin = node.admin().await;
    // The server's address is http: the bot is polled for by default.
    admin
        .post(
            "/api/v1/connectors",
            json!({"type": "telegram", "token": TOKEN}),
        )
        .expect(201)
        .await;
    assert_eq!(fake.webhook(), None);
    for (id, body) in [(100, "один"), (101, "два")] {
        fake.queue(update(id, text(id, body)));
    }
    let wait_bodies = |admin: Caller, n: usize| async move {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let dialogs = admin.dialog_ids("").await;
            if let Some(d) = dialogs.first() {
                let bodies: Vec<String> = admin
                    .feed(*d)
                    .await
                    .iter()
                    .map(|m| m["body"].as_str().unwrap_or_default().to_owned())
                    .collect();
                if bodies.len() >= n {
                    return bodies;
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the updates did not arrive"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    assert_eq!(wait_bodies(admin.clone(), 2).await, ["один", "два"]);
    // Telegram forgets what it was told is taken: asked from 102 from now on.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !fake.polled().contains(&Some(102)) {
        assert!(std::time::Instant::now() < deadline, "{:?}", fake.polled());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    node.kill();

    // While the server is down the client writes again; the next process (once the dead one's
    // lease has run out) asks from 102 and takes only the new update.
    fake.queue(update(102, text(102, "три")));
    let asked = fake.polled().len();
    let node = Node::start_with(&db, port, &settings);
    let admin = node.admin().await;
    assert_eq!(wait_bodies(admin.clone(), 3).await, ["один", "два", "три"]);
    let after_restart = &fake.polled()[asked..];
    assert_eq!(after_restart[0], Some(102), "{after_restart:?}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(admin.feed(admin.dialog_ids("").await[0]).await.len(), 3);
}

#[tokio::test]
async fn long_polling_resumes_from_the_right_offset_after_a_restart_on_sqlite() {
    long_polling_resumes_from_the_right_offset_after_a_restart(TestBackend::Sqlite).await;
}

#[tokio::test]
async fn long_polling_resumes_from_the_right_offset_after_a_restart_on_postgres() {
    long_polling_resumes_from_the_right_offset_after_a_restart(TestBackend::Postgres).await;
}
