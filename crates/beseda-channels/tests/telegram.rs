//! The Telegram connector against a fake Bot API on loopback that answers in Telegram's shapes:
//! a token checked, a webhook set with its secret and removed, replies sent with their quotes,
//! edited and deleted, and each kind of refusal mapped to a retry or a visible failure.

use beseda_channels::ConnectorError;
use beseda_channels::telegram::TelegramBot;
use beseda_core::connector::{OutgoingFile, SendResult};
use beseda_core::ids::{ChannelId, DeliveryJobId, DialogId, MessageId};
use beseda_core::time::Timestamp;
use beseda_core::transport::{DeliveryJob, DeliveryTarget};
use beseda_testkit::fake_telegram::{FakeTelegram, SentText};
use std::time::Duration;

const TOKEN: &str = "123456:ABC-DEF";

fn reply(text: &str, quote: Option<&str>) -> DeliveryJob {
    DeliveryJob {
        id: DeliveryJobId(1),
        attempts: 1,
        message_id: MessageId(9),
        dialog_id: DialogId(1),
        channel_id: ChannelId(1),
        channel_external_id: None,
        contact_external_id: "42".into(),
        text: text.into(),
        quote_external_id: quote.map(str::to_owned),
        author_name: Some("Maria".into()),
        attachments: Vec::new(),
        template: None,
        buttons: Vec::new(),
        created_at: Timestamp(1),
        target: DeliveryTarget::Nowhere,
    }
}

#[tokio::test]
async fn a_bot_is_checked_given_a_webhook_and_its_replies_sent() {
    let fake = FakeTelegram::start(TOKEN).await;
    let bot = TelegramBot::new(&fake.api, TOKEN);
    let me = bot.check().await.unwrap();
    assert_eq!(
        (me.external_id.as_str(), me.name.as_str()),
        ("777", "@shop_bot")
    );

    bot.set_webhook("https://beseda.example/hooks/telegram/k1", "s3cret")
        .await
        .unwrap();
    assert_eq!(
        fake.webhook(),
        Some((
            "https://beseda.example/hooks/telegram/k1".into(),
            "s3cret".into()
        ))
    );

    let sent = bot
        .send(&reply("Добрый день!", Some("42:5")), Vec::new())
        .await;
    assert_eq!(
        sent,
        SendResult::Sent {
            external_id: "42:1001".into()
        }
    );
    assert_eq!(
        fake.sent(),
        [SentText {
            chat_id: "42".into(),
            text: "Добрый день!".into(),
            reply_to: Some(5),
            keyboard: Vec::new(),
        }]
    );

    bot.delete_webhook().await.unwrap();
    assert_eq!(fake.webhook(), None);
}

#[tokio::test]
async fn refusals_become_waits_or_failures_and_a_bad_token_is_named() {
    let fake = FakeTelegram::start(TOKEN).await;
    let bot = TelegramBot::new(&fake.api, TOKEN);
    fake.fail_next(429, "Too Many Requests: retry after 3", Some(3));
    assert!(matches!(
        bot.send(&reply("a", None), Vec::new()).await,
        SendResult::RetryAfter(Some(d), _) if d == Duration::from_secs(3)
    ));
    fake.fail_next(403, "Forbidden: bot was blocked by the user", None);
    assert!(matches!(
        bot.send(&reply("b", None), Vec::new()).await,
        SendResult::Failed(f) if f.code == "blocked_by_client"
    ));
    assert!(fake.sent().is_empty(), "nothing went out");
    assert!(matches!(
        bot.send(&reply("c", None), Vec::new()).await,
        SendResult::Sent { .. }
    ));

    let wrong = TelegramBot::new(&fake.api, "999:nope");
    assert!(matches!(
        wrong.check().await,
        Err(ConnectorError::Credentials(_))
    ));
    // An address where no Bot API listens: a retry, and no token in the error.
    let nowhere = TelegramBot::new("http://127.0.0.1:9", TOKEN);
    match nowhere.send(&reply("d", None), Vec::new()).await {
        SendResult::RetryAfter(None, why) => assert!(!why.contains(TOKEN), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_clients_file_is_streamed_from_the_bot_api() {
    use futures_util::StreamExt;
    let fake = FakeTelegram::start(TOKEN).await;
    fake.add_file(
        "doc-1",
        "documents/file_7.pdf",
        b"%PDF-1.4 price list".to_vec(),
    );
    let bot = TelegramBot::new(&fake.api, TOKEN);
    let mut body = bot.download("doc-1").await.unwrap();
    let mut bytes = Vec::new();
    while let Some(chunk) = body.next().await {
        bytes.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(bytes, b"%PDF-1.4 price list");
    assert!(matches!(
        bot.download("nope").await,
        Err(ConnectorError::Platform { code: 400, .. })
    ));
}

fn file(name: &str, kind: beseda_core::attachment::AttachmentKind) -> OutgoingFile {
    let body: beseda_core::files::ByteStream<'static> =
        Box::pin(futures_util::stream::once(async {
            Ok(bytes::Bytes::from_static(b"\x89PNG bytes"))
        }));
    OutgoingFile {
        view: beseda_core::attachment::AttachmentView {
            id: beseda_core::ids::AttachmentId(1),
            kind,
            file_name: name.into(),
            mime: "image/png".into(),
            size_bytes: 10,
            width: None,
            height: None,
            preview: false,
            message_id: None,
            created_at: Timestamp(1),
        },
        body,
    }
}

/// A manager's edit or deletion of a sent message: the text edited (a file's caption where the
/// message is a file), the message deleted, and one the bot never sent refused with the reason.
#[tokio::test]
async fn sent_messages_are_edited_and_deleted() {
    use beseda_core::attachment::AttachmentKind;
    let fake = FakeTelegram::start(TOKEN).await;
    let bot = TelegramBot::new(&fake.api, TOKEN);
    let SendResult::Sent { external_id: text } = bot.send(&reply("Было", None), Vec::new()).await
    else {
        panic!("sent")
    };
    let photo = vec![file("sofa.png", AttachmentKind::Image)];
    let SendResult::Sent { external_id: image } = bot.send(&reply("Фото", None), photo).await
    else {
        panic!("sent")
    };
    assert_eq!(
        bot.change(&text, Some("Стало")).await,
        SendResult::Sent {
            external_id: text.clone()
        }
    );
    assert!(matches!(
        bot.change(&image, Some("Другая подпись")).await,
        SendResult::Sent { .. }
    ));
    assert!(matches!(
        bot.change(&text, None).await,
        SendResult::Sent { .. }
    ));
    let id = |key: &str| key.split_once(':').unwrap().1.parse::<i64>().unwrap();
    assert_eq!(
        fake.changes(),
        [
            (
                "editMessageText".into(),
                "42".into(),
                id(&text),
                Some("Стало".into())
            ),
            (
                "editMessageCaption".into(),
                "42".into(),
                id(&image),
                Some("Другая подпись".into())
            ),
            ("deleteMessage".into(), "42".into(), id(&text), None),
        ]
    );
    assert!(matches!(
        bot.change("42:5", Some("?")).await,
        SendResult::Failed(f) if f.message.contains("message to edit not found")
    ));
    assert!(matches!(
        bot.change("nonsense", None).await,
        SendResult::Failed(_)
    ));
}

/// An album refused like any other send: the client blocked the bot, so the reply fails with
/// that reason instead of being tried again.
#[tokio::test]
async fn a_refused_album_fails_with_the_reason() {
    use beseda_core::attachment::AttachmentKind;
    let fake = FakeTelegram::start(TOKEN).await;
    let bot = TelegramBot::new(&fake.api, TOKEN);
    fake.fail_next(403, "Forbidden: bot was blocked by the user", None);
    let album = vec![
        file("a.png", AttachmentKind::Image),
        file("b.png", AttachmentKind::Image),
    ];
    assert!(matches!(
        bot.send(&reply("Два вида", None), album).await,
        SendResult::Failed(f) if f.code == "blocked_by_client"
    ));
}

#[tokio::test]
async fn quick_replies_are_a_one_time_keyboard_under_the_text() {
    use beseda_core::attachment::AttachmentKind;
    let fake = FakeTelegram::start(TOKEN).await;
    let bot = TelegramBot::new(&fake.api, TOKEN);
    let mut with_buttons = reply("Which size?", None);
    with_buttons.buttons = vec!["S".into(), "M".into(), "L".into()];
    bot.send(&with_buttons, Vec::new()).await;
    assert_eq!(fake.sent()[0].text, "Which size?");
    assert_eq!(fake.sent()[0].keyboard, ["S", "M", "L"]);

    // With a file, the file goes first without a caption and the text carries the keyboard.
    let sent = bot
        .send(&with_buttons, vec![file("chart.pdf", AttachmentKind::File)])
        .await;
    let files = fake.sent_files();
    assert_eq!(
        (files.len(), files[0].caption.as_deref()),
        (1, None),
        "the caption moves to the keyboard's message"
    );
    assert_eq!(fake.sent()[1].keyboard, ["S", "M", "L"]);
    assert!(
        matches!(sent, SendResult::Sent { .. }),
        "answered with the first message's id: {sent:?}"
    );
}
