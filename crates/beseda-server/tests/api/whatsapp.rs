//! WhatsApp numbers connected by Beseda itself, against a fake Graph API on loopback that
//! speaks the Cloud API's shapes: the numbers checked and their business account subscribed;
//! Meta's webhook verified by its handshake and its signature, batched for two numbers at
//! once, redelivered without doubling; every kind of client message in (files fetched by id
//! in two steps, quotes, places, contacts, reactions as a line); replies out as text and files
//! (uploaded, then sent by id), quoting by context, the client's messages marked read;
//! statuses forward only; the platform's refusals as visible reasons. Both stores.

use crate::common::client::Caller;
use crate::common::{ADMIN_EMAIL, Options, TestApp};
use beseda_testkit::TestBackend;
use beseda_testkit::fake_meta::{
    self, APP_SECRET, FakeMeta, PHONE_NUMBER_ID, PHONE_NUMBER_ID_2, TOKEN, WABA_ID,
};
use serde_json::{Value, json};

pub(crate) async fn app_with(backend: TestBackend, fake: &FakeMeta) -> Option<TestApp> {
    let options = Options {
        graph_api: fake.api.clone(),
        ..Default::default()
    };
    TestApp::spawn_with(backend, options).await
}

fn number(phone_number_id: &str) -> Value {
    json!({"type": "whatsapp", "token": TOKEN, "phone_number_id": phone_number_id,
        "business_account_id": WABA_ID, "app_secret": APP_SECRET})
}

/// One client message of `from` to the first number, as Meta posts it.
fn from_client(from: &str, wamid: &str, kind: &str, content: Value) -> Value {
    fake_meta::whatsapp_hook(vec![fake_meta::whatsapp_entry(
        PHONE_NUMBER_ID,
        fake_meta::wa_message(from, "Анна", wamid, now_secs(), kind, content),
    )])
}

fn status(wamid: &str, status: &str, error: Option<(i64, &str)>) -> Value {
    fake_meta::whatsapp_hook(vec![fake_meta::whatsapp_entry(
        PHONE_NUMBER_ID,
        fake_meta::wa_status(wamid, status, "79161234567", now_secs() + 100, error),
    )])
}

async fn company(admin: &Caller, dialog: i64) -> Vec<Value> {
    admin
        .feed(dialog)
        .await
        .into_iter()
        .filter(|m| m["author"]["type"] != "client" && m["author"]["type"] != "system")
        .collect()
}

async fn whatsapp_numbers_connect_and_talk_both_ways(backend: TestBackend) {
    let fake = FakeMeta::start().await;
    let Some(app) = app_with(backend, &fake).await else {
        return;
    };
    let admin = app.as_(ADMIN_EMAIL).await;
    let hook = app.url("/hooks/meta");
    // A token Meta refuses creates nothing; a number needs its ids and the app's secret.
    let mut wrong = number(PHONE_NUMBER_ID);
    wrong["token"] = json!("EAAG-wrong");
    admin
        .post("/api/v1/connectors", wrong)
        .refused(422, "credentials_refused")
        .await;
    let mut partial = number(PHONE_NUMBER_ID);
    partial.as_object_mut().unwrap().remove("app_secret");
    admin
        .post("/api/v1/connectors", partial)
        .refused(422, "invalid_value")
        .await;
    admin
        .post(
            "/api/v1/connectors",
            json!({"type": "telegram", "token": "1:a", "page_id": "5"}),
        )
        .refused(422, "invalid_value")
        .await;
    assert_eq!(admin.get("/api/v1/connectors").expect(200).await, json!([]));

    let channel = admin
        .post("/api/v1/connectors", number(PHONE_NUMBER_ID))
        .expect(201)
        .await;
    assert_eq!(channel["type"], "whatsapp_business");
    assert_eq!(channel["name"], "Мебельный магазин +1 555-010-0001");
    admin
        .post("/api/v1/connectors", number(PHONE_NUMBER_ID_2))
        .expect(201)
        .await;
    admin
        .post("/api/v1/connectors", number(PHONE_NUMBER_ID))
        .refused(409, "already_connected")
        .await;
    assert!(fake.subscribed().contains(&WABA_ID.to_owned()));
    let listed = admin.get("/api/v1/connectors").expect(200).await;
    assert!(!listed.to_string().contains(TOKEN) && !listed.to_string().contains(APP_SECRET));
    let callback = &listed[0]["callback"];
    assert_eq!(callback["url"], hook);
    assert_eq!(callback["fields"], json!(["messages"]));
    assert_eq!(listed[0]["state"]["ok"], true, "{listed}");
    let verify_token = callback["verify_token"].as_str().unwrap().to_owned();
    assert!(verify_token.len() >= 32);

    // Meta's handshake: the challenge back for our verify token only.
    assert_eq!(
        fake_meta::verify(&hook, &verify_token, "1158201444").await,
        (200, "1158201444".into())
    );
    assert_eq!(fake_meta::verify(&hook, "guess", "1158201444").await.0, 403);

    // Unsigned, or signed with another app's secret: 401 and nothing stored.
    let hello = from_client(
        "79161234567",
        "wamid.IN1",
        "text",
        json!({"body": "Здравствуйте!"}),
    );
    assert_eq!(fake.push_unsigned(&hook, &hello).await.0, 401);
    assert_eq!(
        fake.push_signed_with(&hook, &hello, "another-secret")
            .await
            .0,
        401
    );
    assert!(admin.dialog_ids("").await.is_empty());

    // Signed: in, with the client's name and phone; Meta's redeliveries make nothing twice.
    for _ in 0..3 {
        assert_eq!(fake.push(&hook, &hello).await, (200, "ok".into()));
    }
    let dialogs = admin.dialog_ids("").await;
    assert_eq!(dialogs.len(), 1);
    let dialog = dialogs[0];
    let card = admin.client_card_of(dialog).await;
    assert_eq!(card["name"], "Анна");
    assert_eq!(card["phone"], "+79161234567", "{card}");

    // One call for both numbers (and one for a number not connected here): each channel gets
    // its own.
    let batched = fake_meta::whatsapp_hook(vec![
        fake_meta::whatsapp_entry(
            PHONE_NUMBER_ID,
            fake_meta::wa_message(
                "79160000001",
                "Борис",
                "wamid.B1",
                now_secs() + 1,
                "text",
                json!({"body": "Первый"}),
            ),
        ),
        fake_meta::whatsapp_entry(
            PHONE_NUMBER_ID_2,
            fake_meta::wa_message(
                "79160000002",
                "Вера",
                "wamid.B2",
                now_secs() + 2,
                "text",
                json!({"body": "Второй"}),
            ),
        ),
        fake_meta::whatsapp_entry(
            "999",
            fake_meta::wa_message(
                "79160000003",
                "Гость",
                "wamid.B3",
                now_secs() + 3,
                "text",
                json!({"body": "Чужой"}),
            ),
        ),
    ]);
    assert_eq!(fake.push(&hook, &batched).await.0, 200);
    assert_eq!(admin.dialog_ids("").await.len(), 3);
    let mut channels = Vec::new();
    for d in admin.dialog_ids("").await {
        let view = admin.get(&format!("/api/v1/dialogs/{d}")).expect(200).await;
        channels.push(view["channel"]["name"].as_str().unwrap().to_owned());
    }
    channels.sort();
    assert_eq!(
        channels,
        [
            "Мебель: опт +1 555-010-0002",
            "Мебельный магазин +1 555-010-0001",
            "Мебельный магазин +1 555-010-0001"
        ]
    );

    // Every kind: a photo and a document fetched by id (two steps, with the token), a voice
    // message, a video, a sticker, a place, a contact card, and a reply quoting ours.
    fake.add_media("IMG1", b"\x89PNG\r\n\x1a\nfake".to_vec(), "image/png");
    fake.add_media("DOC1", b"%PDF-1.4 price".to_vec(), "application/pdf");
    fake.add_media("AUD1", b"OggS voice".to_vec(), "audio/ogg");
    fake.add_media("VID1", b"\x00\x00\x00\x18ftypmp42".to_vec(), "video/mp4");
    fake.add_media(
        "STK1",
        b"RIFF\x00\x00\x00\x00WEBPVP8 ".to_vec(),
        "image/webp",
    );
    let kinds = [
        (
            "wamid.K1",
            "image",
            json!({"id": "IMG1", "mime_type": "image/png", "caption": "Вот фото"}),
        ),
        (
            "wamid.K2",
            "document",
            json!({"id": "DOC1", "mime_type": "application/pdf", "filename": "price.pdf"}),
        ),
        (
            "wamid.K3",
            "audio",
            json!({"id": "AUD1", "mime_type": "audio/ogg", "voice": true}),
        ),
        (
            "wamid.K4",
            "video",
            json!({"id": "VID1", "mime_type": "video/mp4"}),
        ),
        (
            "wamid.K5",
            "sticker",
            json!({"id": "STK1", "mime_type": "image/webp", "animated": false}),
        ),
        (
            "wamid.K6",
            "location",
            json!({"latitude": 55.7558, "longitude": 37.6173, "name": "Магазин", "address": "Тверская, 1"}),
        ),
        (
            "wamid.K7",
            "contacts",
            json!([{"name": {"formatted_name": "Иван Петров", "first_name": "Иван"},
            "phones": [{"phone": "+7 916 000-00-00", "wa_id": "79160000000", "type": "CELL"}]}]),
        ),
    ];
    for (wamid, kind, content) in kinds {
        let body = from_client("79161234567", wamid, kind, content);
        assert_eq!(fake.push(&hook, &body).await.0, 200, "{kind}");
    }
    // Redelivered with its file: not fetched again.
    let served = fake.served();
    let again = from_client(
        "79161234567",
        "wamid.K1",
        "image",
        json!({"id": "IMG1", "mime_type": "image/png", "caption": "Вот фото"}),
    );
    assert_eq!(fake.push(&hook, &again).await.0, 200);
    assert_eq!(fake.served(), served);
    assert_eq!(served, 5);
    let feed = admin.feed(dialog).await;
    let by_id = |id: &str| {
        feed.iter()
            .find(|m| m["external_id"] == id)
            .unwrap_or_else(|| panic!("{id} in {feed:?}"))
            .clone()
    };
    let files = |id: &str| -> Vec<(String, String)> {
        by_id(id)["attachments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["kind"].as_str().unwrap().into(),
                    a["file_name"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    assert_eq!(by_id("wamid.K1")["body"], "Вот фото");
    assert_eq!(files("wamid.K1"), [("image".into(), "photo.jpg".into())]);
    assert_eq!(files("wamid.K2"), [("file".into(), "price.pdf".into())]);
    assert_eq!(files("wamid.K3"), [("audio".into(), "voice.ogg".into())]);
    assert_eq!(files("wamid.K4"), [("video".into(), "video.mp4".into())]);
    assert_eq!(files("wamid.K5").len(), 1);
    let place = by_id("wamid.K6")["body"].as_str().unwrap().to_owned();
    assert!(
        place.contains("Магазин") && place.contains("55.755800, 37.617300"),
        "{place}"
    );
    assert_eq!(
        by_id("wamid.K7")["body"],
        "👤 Иван Петров: +7 916 000-00-00"
    );

    // A reply with a quote goes out with its context; answering marks the client's last
    // message read on WhatsApp.
    let path = format!("/api/v1/dialogs/{dialog}/messages");
    let hello_id = by_id("wamid.IN1")["id"].clone();
    let reply = admin
        .reply_until(
            dialog,
            json!({"body": "Да, есть", "quote_id": hello_id}),
            "sent",
        )
        .await;
    let sent = fake.sent_whatsapp();
    assert_eq!(
        (
            sent[0].to.as_str(),
            sent[0].kind.as_str(),
            sent[0].text.as_deref(),
            sent[0].context.as_deref()
        ),
        ("79161234567", "text", Some("Да, есть"), Some("wamid.IN1"))
    );
    assert!(
        fake.marked_read().contains(&"wamid.K7".to_owned()),
        "{:?}",
        fake.marked_read()
    );

    // The client quotes our reply, by WhatsApp's id of it.
    let mut quoting = fake_meta::wa_message(
        "79161234567",
        "Анна",
        "wamid.Q1",
        now_secs() + 200,
        "text",
        json!({"body": "А цена?"}),
    );
    fake_meta::wa_reply_context(&mut quoting, &sent[0].id);
    let quoting =
        fake_meta::whatsapp_hook(vec![fake_meta::whatsapp_entry(PHONE_NUMBER_ID, quoting)]);
    assert_eq!(fake.push(&hook, &quoting).await.0, 200);
    let q = admin
        .wait_feed(dialog, |m| m["external_id"] == "wamid.Q1")
        .await;
    assert_eq!(q["quote"]["id"], reply["id"], "{q}");

    // Statuses move forward only; one for a message we never sent changes nothing.
    for s in ["delivered", "sent"] {
        assert_eq!(fake.push(&hook, &status(&sent[0].id, s, None)).await.0, 200);
    }
    admin.wait_status(dialog, &reply["id"], "delivered").await;
    assert_eq!(
        fake.push(&hook, &status("wamid.NEVER", "read", None))
            .await
            .0,
        200
    );
    assert_eq!(
        fake.push(&hook, &status(&sent[0].id, "read", None)).await.0,
        200
    );
    admin.wait_status(dialog, &reply["id"], "read").await;

    // A reaction to our reply is a line in the feed.
    let reaction = from_client(
        "79161234567",
        "wamid.R1",
        "reaction",
        json!({"message_id": sent[0].id, "emoji": "👍"}),
    );
    for _ in 0..2 {
        assert_eq!(fake.push(&hook, &reaction).await.0, 200);
    }
    let lines: Vec<Value> = admin
        .feed(dialog)
        .await
        .into_iter()
        .filter(|m| m["event"]["kind"] == "client_reacted")
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["event"]["data"]["emoji"], "👍");
    assert_eq!(lines[0]["event"]["data"]["message_id"], reply["id"]);

    // Files out: each uploaded to the number's media, then sent by id, the text as the
    // photo's caption.
    let mut png = Vec::new();
    image::RgbImage::from_pixel(8, 8, image::Rgb([20, 120, 200]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let (img, pdf) = (
        admin.attach(dialog, "sofa.png", png.clone()).await,
        admin
            .attach(dialog, "offer.pdf", b"%PDF-1.4 offer".to_vec())
            .await,
    );
    let r = admin
        .post(
            &path,
            json!({"body": "Вот он", "attachment_ids": [img, pdf]}),
        )
        .expect(201)
        .await;
    admin.wait_status(dialog, &r["id"], "sent").await;
    let sent = fake.sent_whatsapp();
    let (photo, doc) = (&sent[sent.len() - 2], &sent[sent.len() - 1]);
    assert_eq!(
        (photo.kind.as_str(), photo.text.as_deref()),
        ("image", Some("Вот он"))
    );
    assert_eq!(
        (doc.kind.as_str(), doc.filename.as_deref()),
        ("document", Some("offer.pdf"))
    );
    assert!(photo.media_id.is_some() && doc.media_id.is_some());
    let uploads = fake.uploads();
    assert_eq!(
        uploads[uploads.len() - 2],
        ("sofa.png".into(), "image/png".into(), png.len())
    );

    // Refusals: a rate limit waits and goes; an undeliverable message and a closed window fail
    // with their reasons; a failed status names WhatsApp's.
    fake.fail_next(130_429, "Rate limit hit");
    let later = admin
        .reply_until(dialog, json!({"body": "Ещё вопрос?"}), "sent")
        .await;
    fake.fail_next(131_026, "Message Undeliverable.");
    let failed = admin
        .reply_until(dialog, json!({"body": "Алло?"}), "failed")
        .await;
    assert!(
        failed["failure_reason"]
            .as_str()
            .unwrap()
            .contains("Message Undeliverable"),
        "{failed}"
    );
    fake.fail_next(131_047, "Re-engagement message");
    let failed = admin
        .reply_until(dialog, json!({"body": "Вы тут?"}), "failed")
        .await;
    assert!(
        failed["failure_reason"]
            .as_str()
            .unwrap()
            .contains("24 hours"),
        "{failed}"
    );
    let last_sent = fake.sent_whatsapp().last().unwrap().id.clone();
    let lost = status(
        &last_sent,
        "failed",
        Some((131_047, "Re-engagement message")),
    );
    assert_eq!(fake.push(&hook, &lost).await.0, 200);
    let failed = admin.wait_status(dialog, &later["id"], "failed").await;
    assert!(
        failed["failure_reason"]
            .as_str()
            .unwrap()
            .contains("template"),
        "{failed}"
    );
    assert_eq!(company(&admin, dialog).await.len(), 5);

    // The 24-hour window: the conversation knows when it closes; once it has, a plain reply
    // is refused before anything is written, until the client writes again.
    let view = admin
        .get(&format!("/api/v1/dialogs/{dialog}"))
        .expect(200)
        .await;
    let closes = view["reply_window_closes_at"].as_i64().expect("a window");
    assert!(
        (closes - (now_secs() + 200) * 1000 - 24 * 3_600_000).abs() < 60_000,
        "{view}"
    );
    let before = admin.feed(dialog).await.len();
    app.clock.advance(std::time::Duration::from_secs(25 * 3600));
    admin
        .post(&path, json!({"body": "Вы ещё здесь?"}))
        .refused(422, "reply_window_closed")
        .await;
    assert_eq!(admin.feed(dialog).await.len(), before);
    // Outside it, only an approved template: listed from the account with its variables
    // counted, filled in by the manager, sent alone and shown as the client reads it.
    let templates = admin
        .get(&format!("/api/v1/dialogs/{dialog}/templates"))
        .expect(200)
        .await;
    let names: Vec<(&str, i64)> = templates
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap(),
                t["variables"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(names, [("order_ready", 2), ("hello_world", 0)]);
    let use_ = |variables: Value| json!({"template": {"name": "order_ready", "language": "ru", "variables": variables}});
    admin
        .post(&path, use_(json!(["Анна"])))
        .refused(422, "invalid_value")
        .await;
    admin
        .post(&path, use_(json!(["Анна", "две\nстроки"])))
        .refused(422, "invalid_value")
        .await;
    admin
        .post(
            &path,
            json!({"template": {"name": "draft_promo", "language": "ru", "variables": ["10"]}}),
        )
        .refused(422, "unknown_template")
        .await;
    let mut with_text = use_(json!(["Анна", "№ 512"]));
    with_text["body"] = json!("и ещё текст");
    admin
        .post(&path, with_text)
        .refused(422, "invalid_value")
        .await;
    assert_eq!(admin.feed(dialog).await.len(), before);
    let t = admin
        .post(&path, use_(json!(["Анна", "№ 512"])))
        .expect(201)
        .await;
    assert_eq!(
        t["body"],
        "Здравствуйте, Анна! Ваш заказ № 512 готов к выдаче."
    );
    admin.wait_status(dialog, &t["id"], "sent").await;
    let sent = fake.sent_whatsapp().last().cloned().unwrap();
    assert_eq!(sent.kind, "template");
    assert_eq!(
        sent.template,
        Some((
            "order_ready".into(),
            "ru".into(),
            vec!["Анна".into(), "№ 512".into()]
        ))
    );

    let back = fake_meta::whatsapp_hook(vec![fake_meta::whatsapp_entry(
        PHONE_NUMBER_ID,
        fake_meta::wa_message(
            "79161234567",
            "Анна",
            "wamid.BACK",
            now_secs() + 25 * 3600,
            "text",
            json!({"body": "Я тут"}),
        ),
    )]);
    assert_eq!(fake.push(&hook, &back).await.0, 200);
    admin
        .post(&path, json!({"body": "Отлично!"}))
        .expect(201)
        .await;

    // Disconnected: the account is unsubscribed, and late calls find no channel.
    admin
        .delete(&format!("/api/v1/connectors/{}", channel["id"]))
        .expect(200)
        .await;
    let late = from_client(
        "79161234567",
        "wamid.LATE",
        "text",
        json!({"body": "Поздно"}),
    );
    assert_eq!(fake.push(&hook, &late).await.0, 200);
    assert!(
        admin
            .feed(dialog)
            .await
            .iter()
            .all(|m| m["external_id"] != "wamid.LATE")
    );
}

#[tokio::test]
async fn whatsapp_numbers_connect_and_talk_both_ways_sqlite() {
    whatsapp_numbers_connect_and_talk_both_ways(TestBackend::Sqlite).await;
}

#[tokio::test]
async fn whatsapp_numbers_connect_and_talk_both_ways_postgres() {
    whatsapp_numbers_connect_and_talk_both_ways(TestBackend::Postgres).await;
}

/// Milliseconds since the epoch, now: the platforms' clocks, which the window counts by.
pub(crate) fn now_ms() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    i64::try_from(now).unwrap()
}

fn now_secs() -> i64 {
    now_ms() / 1000
}

/// The conversation shows when WhatsApp's window closes; once it has, the composer says why
/// a reply is refused.
#[tokio::test]
async fn the_conversation_shows_the_reply_window() {
    use crate::common::PASSWORD;
    use crate::common::browser::Browser;
    use fantoccini::Locator;
    let fake = FakeMeta::start().await;
    let app = app_with(TestBackend::Sqlite, &fake).await.unwrap();
    let admin = app.as_(ADMIN_EMAIL).await;
    admin
        .post("/api/v1/connectors", number(PHONE_NUMBER_ID))
        .expect(201)
        .await;
    let hook = app.url("/hooks/meta");
    let hello = from_client(
        "79161234567",
        "wamid.W1",
        "text",
        json!({"body": "Добрый день"}),
    );
    assert_eq!(fake.push(&hook, &hello).await.0, 200);
    let dialog = admin.dialog_ids("").await[0];
    let Some(b) = Browser::start("en-US").await else {
        return;
    };
    b.sign_in(&app.base, ADMIN_EMAIL, PASSWORD).await;
    let row = format!("li.row[data-id='{dialog}']");
    b.wait_for(Locator::Css(&row)).await;
    b.click(&row).await;
    b.wait_for(Locator::Css("#window-note")).await;
    let note = b.text_of("#window-note").await;
    assert!(note.contains("until") && note.contains("UTC"), "{note}");

    app.clock.advance(std::time::Duration::from_secs(25 * 3600));
    b.click(&row).await;
    b.wait_for(Locator::Css("#window-note.closed")).await;
    b.screenshot("whatsapp-window-closed").await;
    b.type_into("#composer-text", "Вы ещё здесь?").await;
    b.click("#composer-send").await;
    b.wait_js(
        "return document.getElementById('composer-error').textContent.includes('the client must write first')",
        "the refusal's reason",
    )
    .await;
    assert!(
        admin
            .feed(dialog)
            .await
            .iter()
            .all(|m| m["body"] != "Вы ещё здесь?")
    );

    // An approved template instead: picked, filled in, previewed and sent.
    b.wait_js(
        "return document.querySelectorAll('#template-pick option').length === 3",
        "the approved templates listed",
    )
    .await;
    b.select("#template-pick", "0").await;
    b.type_into("#template-vars input:nth-child(1)", "Анна")
        .await;
    b.type_into("#template-vars input:nth-child(2)", "№ 512")
        .await;
    assert_eq!(
        b.text_of("#template-preview").await,
        "Здравствуйте, Анна! Ваш заказ № 512 готов к выдаче."
    );
    b.screenshot("whatsapp-template").await;
    b.click("#template-send").await;
    admin
        .wait_feed(dialog, |m| {
            m["body"] == "Здравствуйте, Анна! Ваш заказ № 512 готов к выдаче."
        })
        .await;
}

/// On the settings page: WhatsApp chosen, only its fields offered; the number connected and
/// listed with what to enter in the Meta app's dashboard.
#[tokio::test]
async fn a_whatsapp_number_is_connected_from_the_settings_page() {
    use crate::common::PASSWORD;
    use crate::common::browser::Browser;
    use fantoccini::Locator;
    let fake = FakeMeta::start().await;
    let app = app_with(TestBackend::Sqlite, &fake).await.unwrap();
    let Some(b) = Browser::start("en-US").await else {
        return;
    };
    b.sign_in(&app.base, ADMIN_EMAIL, PASSWORD).await;
    b.wait_for(Locator::Css("body[data-live=true]")).await;
    b.client
        .goto(&format!("{}/settings#connectors", app.base))
        .await
        .unwrap();
    let form = "#connect-messenger";
    b.select(&format!("{form} select[name=type]"), "whatsapp")
        .await;
    b.wait_js(
        "return document.querySelector('#connect-messenger select[name=updates]').closest('label').hidden \
         && !document.querySelector('#connect-messenger input[name=phone_number_id]').closest('label').hidden \
         && document.querySelector('#connect-messenger input[name=page_id]').disabled",
        "only WhatsApp's fields are offered",
    )
    .await;
    for (name, value) in [
        ("token", TOKEN),
        ("phone_number_id", PHONE_NUMBER_ID),
        ("business_account_id", WABA_ID),
        ("app_secret", APP_SECRET),
    ] {
        b.type_into(&format!("{form} input[name={name}]"), value)
            .await;
    }
    b.click(&format!("{form} button[type=submit]")).await;
    b.wait_js(
        "return [...document.querySelectorAll('tr[data-connected]')].some(r => r.textContent.includes('+1 555-010-0001') && r.textContent.includes('Connected'))",
        "the number is listed as connected",
    )
    .await;
    let callback = b.text_of("tr[data-connected] .connector-callback").await;
    let admin = app.as_(ADMIN_EMAIL).await;
    let listed = admin.get("/api/v1/connectors").expect(200).await;
    let token = listed[0]["callback"]["verify_token"].as_str().unwrap();
    assert!(
        callback.contains(&app.url("/hooks/meta")) && callback.contains(token),
        "{callback}"
    );
    b.screenshot("settings-whatsapp-connected").await;
    assert!(fake.subscribed().contains(&WABA_ID.to_owned()));
}

/// F37: a bot's quick replies go to WhatsApp as an interactive message's reply buttons (within
/// the Cloud API's three titles of 20 characters, refused before anything is written when they
/// do not fit), and the client's tap comes back as a message with the title.
async fn a_bots_quick_replies_are_reply_buttons(backend: TestBackend) {
    let fake = FakeMeta::start().await;
    let Some(app) = app_with(backend, &fake).await else {
        return;
    };
    let admin = app.as_(ADMIN_EMAIL).await;
    let channel = admin
        .post("/api/v1/connectors", number(PHONE_NUMBER_ID))
        .expect(201)
        .await["id"]
        .as_i64()
        .unwrap();
    let hook = app.url("/hooks/meta");
    let hello = from_client("79161234567", "wamid.B1", "text", json!({"body": "Привет"}));
    assert_eq!(fake.push(&hook, &hello).await.0, 200);
    let dialog = admin.dialog_ids("").await[0];
    let bot = app.bot_holding("Helper", channel, dialog).await;
    let write = format!("/api/bot/v1/dialogs/{dialog}/messages");
    let shown = bot
        .get(&format!("/api/bot/v1/dialogs/{dialog}"))
        .expect(200)
        .await;
    assert_eq!(
        shown["capabilities"]["buttons"],
        json!({"max": 3, "max_chars": 20})
    );
    bot.post(
        &write,
        json!({"body": "?", "buttons": ["1", "2", "3", "4"]}),
    )
    .refused(422, "too_many_buttons")
    .await;
    bot.post(
        &write,
        json!({"body": "?", "buttons": ["Доставка курьером до двери"]}),
    )
    .refused(422, "invalid_value")
    .await;
    let before = admin.feed(dialog).await.len();
    bot.post(
        &write,
        json!({"body": "Доставка или самовывоз?", "buttons": ["Доставка", "Самовывоз"]}),
    )
    .expect(201)
    .await;
    assert_eq!(admin.feed(dialog).await.len(), before + 1, "one message");
    let mut sent = None;
    for _ in 0..200 {
        sent = fake
            .sent_whatsapp()
            .into_iter()
            .find(|m| m.kind == "interactive");
        if sent.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let sent = sent.expect("the interactive message went out");
    assert_eq!(sent.text.as_deref(), Some("Доставка или самовывоз?"));
    assert_eq!(sent.buttons, ["Доставка", "Самовывоз"]);

    let tap = from_client(
        "79161234567",
        "wamid.B2",
        "interactive",
        json!({"type": "button_reply", "button_reply": {"id": "b1", "title": "Самовывоз"}}),
    );
    assert_eq!(fake.push(&hook, &tap).await.0, 200);
    admin
        .wait_feed(dialog, |m| {
            m["author"]["type"] == "client" && m["body"] == "Самовывоз"
        })
        .await;
}

#[tokio::test]
async fn a_bots_quick_replies_are_reply_buttons_sqlite() {
    a_bots_quick_replies_are_reply_buttons(TestBackend::Sqlite).await;
}

#[tokio::test]
async fn a_bots_quick_replies_are_reply_buttons_postgres() {
    a_bots_quick_replies_are_reply_buttons(TestBackend::Postgres).await;
}
