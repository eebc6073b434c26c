//! A Facebook page and its Instagram account connected by Beseda itself, against a fake Graph
//! API on loopback in the Messenger Platform's shapes: each checked and subscribed; client
//! messages in with their files, quotes and the client's profile; messages written in Meta's
//! own inbox as the company's, and Meta's echoes of ours not doubled; delivery and read
//! watermarks forward only; replies with files through the Send API, answered with the Human
//! Agent tag once the 24 hours have passed; a client who blocked the page. Both stores.

use crate::common::{ADMIN_EMAIL, TestApp};
use crate::whatsapp::{app_with, now_ms};
use beseda_testkit::TestBackend;
use beseda_testkit::fake_meta::{self, APP_SECRET, FakeMeta, IG_ID, PAGE_ID, TOKEN};
use serde_json::{Value, json};

fn page(kind: &str, human_agent: bool) -> Value {
    json!({"type": kind, "token": TOKEN, "page_id": PAGE_ID, "app_secret": APP_SECRET,
        "human_agent": human_agent})
}

async fn a_page_and_its_instagram_talk_both_ways(backend: TestBackend) {
    let fake = FakeMeta::start().await;
    let Some(app): Option<TestApp> = app_with(backend, &fake).await else {
        return;
    };
    let admin = app.as_(ADMIN_EMAIL).await;
    let hook = app.url("/hooks/meta");
    let fb = admin
        .post("/api/v1/connectors", page("facebook", true))
        .expect(201)
        .await;
    assert_eq!(
        (&fb["type"], &fb["name"]),
        (&json!("fb_instagram"), &json!("Мебель на Тверской"))
    );
    let ig = admin
        .post("/api/v1/connectors", page("instagram", false))
        .expect(201)
        .await;
    assert_eq!(ig["name"], "@mebel.shop");
    assert!(
        fake.subscribed()
            .iter()
            .any(|s| s.starts_with(&format!("{PAGE_ID}:messages,message_echoes"))),
        "{:?}",
        fake.subscribed()
    );
    let listed = admin.get("/api/v1/connectors").expect(200).await;
    assert!(
        listed[0]["callback"]["fields"]
            .as_array()
            .unwrap()
            .contains(&json!("message_echoes"))
    );

    // A client writes with a photo; Meta redelivers: one message, the photo fetched once, the
    // client's name and photo from the profile.
    fake.set_profile(
        "PSID1",
        json!({"first_name": "Анна", "last_name": "Петрова",
        "profile_pic": fake.file_url("anna.jpg"), "id": "PSID1"}),
    );
    let mut jpeg = Vec::new();
    image::RgbImage::from_pixel(8, 8, image::Rgb([200, 20, 20]))
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    fake.add_file("anna.jpg", jpeg.clone());
    let photo = fake.add_file("sofa.jpg", jpeg.clone());
    let hello = fake_meta::page_hook(
        "page",
        vec![fake_meta::page_entry(
            PAGE_ID,
            now_ms(),
            vec![fake_meta::fb_message(
                "PSID1",
                PAGE_ID,
                now_ms(),
                "m_IN1",
                Some("Есть такой диван?"),
                vec![json!({"type": "image", "payload": {"url": photo}})],
            )],
        )],
    );
    assert_eq!(fake.push_unsigned(&hook, &hello).await.0, 401);
    for _ in 0..2 {
        assert_eq!(fake.push(&hook, &hello).await, (200, "ok".into()));
    }
    // Kinds the inbox does not take, and objects it knows nothing of: acknowledged, nothing made.
    let optin = fake_meta::page_hook(
        "page",
        vec![fake_meta::page_entry(
            PAGE_ID,
            1,
            vec![
                json!({"sender": {"id": "PSID9"}, "recipient": {"id": PAGE_ID}, "timestamp": 1,
            "optin": {"type": "notification_messages", "payload": "x"}}),
            ],
        )],
    );
    assert_eq!(fake.push(&hook, &optin).await, (200, "ok".into()));
    let stranger =
        json!({"object": "user", "entry": [{"id": "1", "changes": [{"field": "feed"}]}]});
    assert_eq!(fake.push(&hook, &stranger).await, (200, "ok".into()));
    let dialogs = admin.dialog_ids("").await;
    assert_eq!(dialogs.len(), 1);
    let dialog = dialogs[0];
    let feed = admin.feed(dialog).await;
    assert_eq!(feed.len(), 1);
    assert_eq!(feed[0]["body"], "Есть такой диван?");
    assert_eq!(feed[0]["attachments"][0]["kind"], "image");
    let card = admin.client_card_of(dialog).await;
    assert_eq!(card["name"], "Анна Петрова");
    assert!(card["photo_url"].is_string(), "{card}");

    // A reply quoting the client: through the Send API, with our id in its metadata; Meta's
    // echo of it adds nothing, while a message written in Meta's inbox is the company's.
    let path = format!("/api/v1/dialogs/{dialog}/messages");
    let reply = admin
        .post(
            &path,
            json!({"body": "Да, есть", "quote_id": feed[0]["id"]}),
        )
        .expect(201)
        .await;
    admin.wait_status(dialog, &reply["id"], "sent").await;
    let sent = fake.sent_messenger();
    assert_eq!(
        (
            sent[0].recipient.as_str(),
            sent[0].messaging_type.as_str(),
            sent[0].text.as_deref(),
            sent[0].reply_to.as_deref()
        ),
        ("PSID1", "RESPONSE", Some("Да, есть"), Some("m_IN1"))
    );
    assert!(fake.marked_read().contains(&"seen:PSID1".to_owned()));
    let echoes = fake_meta::page_hook(
        "page",
        vec![fake_meta::page_entry(
            PAGE_ID,
            now_ms(),
            vec![
                fake_meta::fb_echo(
                    PAGE_ID,
                    "PSID1",
                    now_ms(),
                    &sent[0].id,
                    "Да, есть",
                    sent[0].metadata.as_deref(),
                ),
                fake_meta::fb_echo(
                    PAGE_ID,
                    "PSID1",
                    now_ms() + 1,
                    "m_INBOX1",
                    "Написано в Meta Business Suite",
                    None,
                ),
            ],
        )],
    );
    for _ in 0..2 {
        assert_eq!(fake.push(&hook, &echoes).await.0, 200);
    }
    let company: Vec<Value> = admin
        .feed(dialog)
        .await
        .into_iter()
        .filter(|m| m["author"]["type"] != "client")
        .collect();
    assert_eq!(company.len(), 2, "{company:?}");
    assert_eq!(company[1]["body"], "Написано в Meta Business Suite");

    // Delivered, then read, by watermarks; a late delivery does not undo the read.
    let watermark = |event: Value| {
        fake_meta::page_hook("page", vec![fake_meta::page_entry(PAGE_ID, 1, vec![event])])
    };
    let now = now_ms();
    let delivered = watermark(fake_meta::fb_delivery(
        "PSID1",
        PAGE_ID,
        now + 60_000,
        vec![&sent[0].id],
    ));
    assert_eq!(fake.push(&hook, &delivered).await.0, 200);
    admin.wait_status(dialog, &reply["id"], "delivered").await;
    let read = watermark(fake_meta::fb_read("PSID1", PAGE_ID, now + 60_000));
    assert_eq!(fake.push(&hook, &read).await.0, 200);
    admin.wait_status(dialog, &reply["id"], "read").await;
    assert_eq!(fake.push(&hook, &delivered).await.0, 200);
    admin.wait_status(dialog, &reply["id"], "read").await;

    // A file out: uploaded as an attachment, then sent by its id after the text.
    let img = admin.attach(dialog, "offer.jpg", jpeg.clone()).await;
    admin
        .reply_until(
            dialog,
            json!({"body": "Вот он", "attachment_ids": [img]}),
            "sent",
        )
        .await;
    let sent = fake.sent_messenger();
    let (text, file) = (&sent[sent.len() - 2], &sent[sent.len() - 1]);
    assert_eq!(text.text.as_deref(), Some("Вот он"));
    assert_eq!(
        file.attachment.as_ref().map(|a| a.0.as_str()),
        Some("image")
    );

    // Past the 24 hours: the page has the Human Agent permission, so the reply goes again
    // with its tag; a client who blocked the page fails with the reason.
    fake.fail_next_with(
        10,
        Some(2_018_278),
        "(#10) This message is sent outside of allowed window.",
    );
    admin
        .reply_until(dialog, json!({"body": "Мы на связи"}), "sent")
        .await;
    let tagged = fake.sent_messenger().last().cloned().unwrap();
    assert_eq!(
        (tagged.messaging_type.as_str(), tagged.tag.as_deref()),
        ("MESSAGE_TAG", Some("HUMAN_AGENT"))
    );
    fake.fail_next(551, "This person isn't available right now.");
    let failed = admin
        .reply_until(dialog, json!({"body": "Алло?"}), "failed")
        .await;
    assert_eq!(
        failed["failure_reason"],
        "the client does not accept the page's messages"
    );

    // Instagram: its own channel by the account's id; read receipts name a message.
    fake.set_profile(
        "IGSID1",
        json!({"name": "Вера", "username": "vera.home",
        "profile_pic": fake.file_url("anna.jpg"), "id": "IGSID1"}),
    );
    let ig_hello = fake_meta::page_hook(
        "instagram",
        vec![fake_meta::page_entry(
            IG_ID,
            1,
            vec![fake_meta::fb_message(
                "IGSID1",
                IG_ID,
                now_ms(),
                "ig_IN1",
                Some("Привет из Instagram"),
                vec![],
            )],
        )],
    );
    assert_eq!(fake.push(&hook, &ig_hello).await.0, 200);
    let ig_dialog = admin
        .dialog_ids("")
        .await
        .into_iter()
        .find(|d| *d != dialog)
        .expect("the Instagram dialog");
    let card = admin.client_card_of(ig_dialog).await;
    assert_eq!(card["name"], "Вера");
    let view = admin
        .get(&format!("/api/v1/dialogs/{ig_dialog}"))
        .expect(200)
        .await;
    assert_eq!(view["channel"]["id"], ig["id"]);
    let answer = admin
        .post(
            &format!("/api/v1/dialogs/{ig_dialog}/messages"),
            json!({"body": "Здравствуйте!"}),
        )
        .expect(201)
        .await;
    admin.wait_status(ig_dialog, &answer["id"], "sent").await;
    let sent = fake.sent_messenger().last().cloned().unwrap();
    assert_eq!(sent.recipient, "IGSID1");
    let seen = fake_meta::page_hook(
        "instagram",
        vec![fake_meta::page_entry(
            IG_ID,
            1,
            vec![fake_meta::ig_read("IGSID1", IG_ID, &sent.id)],
        )],
    );
    assert_eq!(fake.push(&hook, &seen).await.0, 200);
    admin.wait_status(ig_dialog, &answer["id"], "read").await;
    // A reaction on Instagram is a line in its dialog.
    let reaction = fake_meta::page_hook(
        "instagram",
        vec![fake_meta::page_entry(
            IG_ID,
            1,
            vec![fake_meta::fb_reaction(
                "IGSID1",
                IG_ID,
                now_ms(),
                &sent.id,
                "❤️",
            )],
        )],
    );
    assert_eq!(fake.push(&hook, &reaction).await.0, 200);
    let line = admin
        .wait_feed(ig_dialog, |m| m["event"]["kind"] == "client_reacted")
        .await;
    assert_eq!(line["event"]["data"]["message_id"], answer["id"]);
}

#[tokio::test]
async fn a_page_and_its_instagram_talk_both_ways_on_sqlite() {
    a_page_and_its_instagram_talk_both_ways(TestBackend::Sqlite).await;
}

#[tokio::test]
async fn a_page_and_its_instagram_talk_both_ways_on_postgres() {
    a_page_and_its_instagram_talk_both_ways(TestBackend::Postgres).await;
}

/// F37: a bot's quick replies go to Messenger as the Send API's `quick_replies` on the text
/// (after its files, so they show under the last message), and a tap comes back as a message
/// with the title.
async fn a_bots_quick_replies_are_messenger_quick_replies(backend: TestBackend) {
    let fake = FakeMeta::start().await;
    let Some(app): Option<TestApp> = app_with(backend, &fake).await else {
        return;
    };
    let admin = app.as_(ADMIN_EMAIL).await;
    let hook = app.url("/hooks/meta");
    let fb = admin
        .post("/api/v1/connectors", page("facebook", false))
        .expect(201)
        .await;
    let message = |mid: &str, text: &str| {
        fake_meta::page_hook(
            "page",
            vec![fake_meta::page_entry(
                PAGE_ID,
                now_ms(),
                vec![fake_meta::fb_message(
                    "PSID7",
                    PAGE_ID,
                    now_ms(),
                    mid,
                    Some(text),
                    Vec::new(),
                )],
            )],
        )
    };
    assert_eq!(
        fake.push(&hook, &message("m_Q1", "Здравствуйте")).await.0,
        200
    );
    let dialog = admin.dialog_ids("").await[0];
    let bot = app
        .bot_holding("Helper", fb["id"].as_i64().unwrap(), dialog)
        .await;
    let file = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"%PDF-1.4 catalogue".to_vec()).file_name("catalogue.pdf"),
    );
    let uploaded = bot
        .upload(&format!("/api/bot/v1/dialogs/{dialog}/attachments"), file)
        .expect(201)
        .await;
    bot.post(
        &format!("/api/bot/v1/dialogs/{dialog}/messages"),
        json!({"body": "Каталог. Что показать?", "attachment_ids": [uploaded[0]["id"]],
            "buttons": ["Диваны", "Кресла"]}),
    )
    .expect(201)
    .await;
    let mut sent = Vec::new();
    for _ in 0..200 {
        sent = fake.sent_messenger();
        if sent.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(sent.len(), 2, "the file, then the text: {sent:?}");
    assert_eq!(
        sent[0].attachment.as_ref().map(|a| a.0.as_str()),
        Some("file")
    );
    assert!(sent[0].quick_replies.is_empty());
    assert_eq!(sent[1].text.as_deref(), Some("Каталог. Что показать?"));
    assert_eq!(sent[1].quick_replies, ["Диваны", "Кресла"]);

    let mut tap = message("m_Q2", "Кресла");
    tap["entry"][0]["messaging"][0]["message"]["quick_reply"] = json!({"payload": "Кресла"});
    assert_eq!(fake.push(&hook, &tap).await.0, 200);
    admin
        .wait_feed(dialog, |m| {
            m["author"]["type"] == "client" && m["body"] == "Кресла"
        })
        .await;
}

#[tokio::test]
async fn a_bots_quick_replies_are_messenger_quick_replies_sqlite() {
    a_bots_quick_replies_are_messenger_quick_replies(TestBackend::Sqlite).await;
}

#[tokio::test]
async fn a_bots_quick_replies_are_messenger_quick_replies_postgres() {
    a_bots_quick_replies_are_messenger_quick_replies(TestBackend::Postgres).await;
}
