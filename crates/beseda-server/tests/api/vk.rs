//! A VK community connected by Beseda itself, against a fake VK API on loopback that speaks
//! VK's shapes: its token checked, its callback server added and confirmed; client messages in
//! with their files and the client's profile (repeats make one), edits and read receipts;
//! messages written on VK itself appear as the company's, and VK's copies of ours do not double
//! them; replies out with quotes and files, their statuses on VK's answers; a disconnect that
//! removes the callback server. Both stores.

use crate::common::{ADMIN_EMAIL, Options, TestApp};
use beseda_testkit::TestBackend;
use beseda_testkit::fake_vk::{CONFIRMATION_CODE, FakeVk, GROUP_ID};
use serde_json::{Value, json};
use std::time::Duration;

const TOKEN: &str = "vk1.a.community-token";

fn message(id: i64, text: &str) -> Value {
    json!({"id": id, "date": 1_700_000_000, "from_id": 42, "peer_id": 42, "out": 0, "text": text,
        "conversation_message_id": id, "random_id": 0, "attachments": [], "fwd_messages": [],
        "important": false, "is_hidden": false})
}

fn new_message(m: Value) -> Value {
    json!({"message": m, "client_info": {"button_actions": ["text"], "keyboard": true,
        "inline_keyboard": true, "carousel": true, "lang_id": 0}})
}

async fn app_with(backend: TestBackend, fake: &FakeVk) -> Option<TestApp> {
    let options = Options {
        vk_api: fake.api.clone(),
        ..Default::default()
    };
    TestApp::spawn_with(backend, options).await
}

/// Waits until VK shows the callback server confirmed.
async fn wait_confirmed(fake: &FakeVk) {
    for _ in 0..100 {
        if fake.server().is_some_and(|s| s.status == "ok") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the callback server was not confirmed: {:?}", fake.server());
}

async fn a_vk_community_is_connected_and_talks_both_ways(backend: TestBackend) {
    let fake = FakeVk::start(TOKEN).await;
    let Some(app) = app_with(backend, &fake).await else {
        return;
    };
    let admin = app.as_(ADMIN_EMAIL).await;
    // A token VK refuses creates nothing.
    admin
        .post(
            "/api/v1/connectors",
            json!({"type": "vk", "token": "vk1.a.wrong"}),
        )
        .refused(422, "credentials_refused")
        .await;
    assert_eq!(admin.get("/api/v1/connectors").expect(200).await, json!([]));
    // Long polling is Telegram's alone.
    admin
        .post(
            "/api/v1/connectors",
            json!({"type": "vk", "token": TOKEN, "updates": "polling"}),
        )
        .refused(422, "invalid_value")
        .await;

    let channel = admin
        .post("/api/v1/connectors", json!({"type": "vk", "token": TOKEN}))
        .expect(201)
        .await;
    assert_eq!(
        (&channel["type"], &channel["name"]),
        (&json!("vk"), &json!("Мебельный магазин"))
    );
    let server = fake.server().expect("the callback server is added");
    assert!(
        server.url.starts_with(&format!("{}/hooks/vk/", app.base)),
        "{}",
        server.url
    );
    assert!(server.secret.len() >= 32);
    assert_eq!(
        server.events,
        [
            "message_edit",
            "message_new",
            "message_read",
            "message_reply"
        ]
    );
    // VK's confirmation call was answered with the community's code.
    wait_confirmed(&fake).await;
    // The community once: a second channel would take its updates from the first.
    admin
        .post("/api/v1/connectors", json!({"type": "vk", "token": TOKEN}))
        .refused(409, "already_connected")
        .await;
    let listed = admin.get("/api/v1/connectors").expect(200).await;
    assert!(
        !listed.to_string().contains(TOKEN),
        "the token is never shown again"
    );
    assert_eq!(listed[0]["updates"], "webhook");
    assert_eq!(listed[0]["state"]["ok"], true, "{listed}");
    assert_eq!(listed[0]["last_activity_at"], Value::Null);

    // The same callback three times (VK resends until it hears "ok"): one message, and the
    // client's name and photo asked of VK once.
    for _ in 0..3 {
        let (status, answer) = fake
            .push("message_new", new_message(message(17, "Здравствуйте!")))
            .await;
        assert_eq!((status, answer.as_str()), (200, "ok"));
    }
    let dialogs = admin.dialog_ids("").await;
    assert_eq!(dialogs.len(), 1);
    let dialog = dialogs[0];
    let messages = admin.feed(dialog).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["body"], "Здравствуйте!");
    assert_eq!(fake.calls().iter().filter(|c| *c == "users.get").count(), 1);
    let card = admin.client_card_of(dialog).await;
    assert_eq!(card["name"], "Иван Петров");
    let listed = admin.get("/api/v1/connectors").expect(200).await;
    assert!(listed[0]["last_activity_at"].is_i64(), "{listed}");

    // A callback without our secret stores nothing; nor does another community's.
    let forged = reqwest::Client::new()
        .post(&server.url)
        .json(
            &json!({"type": "message_new", "group_id": GROUP_ID, "secret": "guess",
            "object": new_message(message(18, "forged"))}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let stranger = reqwest::Client::new()
        .post(&server.url)
        .json(&json!({"type": "confirmation", "group_id": GROUP_ID + 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), 401);
    let confirm = reqwest::Client::new()
        .post(&server.url)
        .json(&json!({"type": "confirmation", "group_id": GROUP_ID}))
        .send()
        .await
        .unwrap();
    assert_eq!(confirm.text().await.unwrap(), CONFIRMATION_CODE);

    // An edit on the client's side.
    let (status, _) = fake
        .push("message_edit", message(17, "Здравствуйте! Есть диван?"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        admin.feed(dialog).await[0]["body"],
        "Здравствуйте! Есть диван?"
    );

    // A photo (its largest size), a document (whose address redirects) and a voice message
    // come in with their files.
    let mut png = Vec::new();
    image::RgbImage::from_pixel(8, 8, image::Rgb([20, 120, 200]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let large = fake.add_file("large.png", png.clone());
    fake.add_file("price.pdf", b"%PDF-1.4 prices".to_vec());
    let voice = fake.add_file("voice.ogg", b"OggS voice".to_vec());
    let mut with_files = message(19, "Вот фото");
    with_files["attachments"] = json!([
        {"type": "photo", "photo": {"id": 1, "owner_id": 42, "sizes": [
            {"type": "s", "url": format!("{}/files/none.png", fake.api), "width": 2, "height": 2},
            {"type": "x", "url": large, "width": 8, "height": 8}]}},
        {"type": "doc", "doc": {"id": 2, "owner_id": 42, "title": "price.pdf", "size": 15, "ext": "pdf",
            "url": format!("{}/doc/price.pdf", fake.api)}},
        {"type": "audio_message", "audio_message": {"duration": 2, "link_ogg": voice, "link_mp3": voice}}
    ]);
    // VK resends what it thinks lost: the files are fetched once.
    for _ in 0..2 {
        let again = new_message(with_files.clone());
        assert_eq!(fake.push("message_new", again).await.0, 200);
    }
    assert_eq!(fake.served(), 3);
    let feed = admin.feed(dialog).await;
    let photo = feed
        .iter()
        .find(|m| m["body"] == "Вот фото")
        .expect("the message");
    let files: Vec<(&str, &str)> = photo["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap(),
                a["file_name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        files,
        [
            ("image", "photo.jpg"),
            ("file", "price.pdf"),
            ("audio", "voice.ogg")
        ]
    );

    // A reply quoting the client goes out with a random_id of its own, and is sent; VK's copy
    // of it (message_reply) does not make a second message.
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
        (sent[0].peer_id, sent[0].message.as_str(), sent[0].reply_to),
        (42, "Да, есть", Some(17))
    );
    assert_eq!(sent[0].random_id, reply["id"].as_i64().unwrap());

    // A message written to the client on VK itself appears as the company's, once.
    let mut on_vk = message(5000, "Написано во ВКонтакте");
    on_vk["out"] = json!(1);
    on_vk["from_id"] = json!(-GROUP_ID);
    on_vk["random_id"] = json!(987_654);
    for _ in 0..2 {
        assert_eq!(fake.push("message_reply", on_vk.clone()).await.0, 200);
    }
    let feed = admin.feed(dialog).await;
    let company: Vec<&Value> = feed
        .iter()
        .filter(|m| m["author"]["type"] != "client")
        .collect();
    assert_eq!(company.len(), 2, "{company:?}");
    assert_eq!(company[0]["body"], "Да, есть");
    assert_eq!(company[1]["body"], "Написано во ВКонтакте");
    assert_eq!(company[1]["status"], "sent");

    // The client read up to our reply (VK names it by its own id): read.
    let (status, _) = fake
        .push(
            "message_read",
            json!({"from_id": 42, "peer_id": 42, "read_message_id": sent[0].id}),
        )
        .await;
    assert_eq!(status, 200);
    admin.wait_status(dialog, &reply["id"], "read").await;

    // Replies with files: an image as a photo and a document, through VK's upload servers.
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
    let (img, pdf) = (
        upload("sofa.png", png.clone()).await,
        upload("offer.pdf", b"%PDF-1.4 offer".to_vec()).await,
    );
    let r = admin
        .post(
            &path,
            json!({"body": "Вот он", "attachment_ids": [img, pdf]}),
        )
        .expect(201)
        .await;
    admin.wait_status(dialog, &r["id"], "sent").await;
    let last = fake.sent().last().cloned().unwrap();
    assert_eq!(last.message, "Вот он");
    assert_eq!(last.attachments.len(), 2);
    assert!(last.attachments[0].starts_with("photo-77_"), "{last:?}");
    assert!(last.attachments[1].starts_with("doc-77_"), "{last:?}");
    assert_eq!(
        fake.uploads(),
        [
            ("photo".into(), "sofa.png".into(), png.len()),
            ("doc".into(), "offer.pdf".into(), 14)
        ]
    );

    // Too many requests a second: the reply waits, then goes. The client does not accept the
    // community's messages: failed, with the reason.
    fake.fail_next(6, "Too many requests per second");
    admin
        .reply_until(dialog, json!({"body": "Ещё вопрос?"}), "sent")
        .await;
    fake.fail_next(901, "Can't send messages for users without permission");
    let failed = admin
        .reply_until(dialog, json!({"body": "Алло?"}), "failed")
        .await;
    assert_eq!(
        failed["failure_reason"],
        "the client does not accept the community's messages"
    );
    let company_now = admin
        .feed(dialog)
        .await
        .iter()
        .filter(|m| m["author"]["type"] != "client")
        .count();
    assert_eq!(company_now, 5, "VK's copies of our replies doubled none");

    // Disconnected: the callback server goes, and late callbacks find nothing.
    admin
        .delete(&format!("/api/v1/connectors/{}", channel["id"]))
        .expect(200)
        .await;
    assert_eq!(fake.server(), None);
    let late = reqwest::Client::new()
        .post(&server.url)
        .json(
            &json!({"type": "message_new", "group_id": GROUP_ID, "secret": server.secret,
            "object": new_message(message(30, "still there?"))}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(late.status(), 404);
}

#[tokio::test]
async fn a_vk_community_is_connected_and_talks_both_ways_on_sqlite() {
    a_vk_community_is_connected_and_talks_both_ways(TestBackend::Sqlite).await;
}

#[tokio::test]
async fn a_vk_community_is_connected_and_talks_both_ways_on_postgres() {
    a_vk_community_is_connected_and_talks_both_ways(TestBackend::Postgres).await;
}
