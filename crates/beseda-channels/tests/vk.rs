//! The VK connector against a fake VK API on loopback that answers in VK's shapes: a
//! community's token checked, a callback server added (and confirmed by VK's call) and removed,
//! replies sent once however often they are retried, edited and deleted, and VK's errors mapped
//! to a retry or a visible failure.

use beseda_channels::ConnectorError;
use beseda_channels::vk::{VkGroup, random_id};
use beseda_core::connector::SendResult;
use beseda_core::ids::{ChannelId, DeliveryJobId, DialogId, MessageId};
use beseda_core::time::Timestamp;
use beseda_core::transport::{DeliveryJob, DeliveryTarget};
use beseda_testkit::fake_vk::{FakeVk, GROUP_ID};
use std::time::Duration;

const TOKEN: &str = "vk1.a.community";

fn reply(message: i64, text: &str) -> DeliveryJob {
    DeliveryJob {
        id: DeliveryJobId(1),
        attempts: 1,
        message_id: MessageId(message),
        dialog_id: DialogId(1),
        channel_id: ChannelId(1),
        channel_external_id: Some(GROUP_ID.to_string()),
        contact_external_id: "42".into(),
        text: text.into(),
        quote_external_id: None,
        author_name: Some("Maria".into()),
        attachments: Vec::new(),
        template: None,
        buttons: Vec::new(),
        created_at: Timestamp(1),
        target: DeliveryTarget::Nowhere,
    }
}

fn group(fake: &FakeVk, token: &str) -> VkGroup {
    VkGroup::with_client(&fake.api, token, beseda_channels::http::client())
}

#[tokio::test]
async fn a_community_is_checked_and_its_callback_server_added_and_removed() {
    let fake = FakeVk::start(TOKEN).await;
    let g = group(&fake, TOKEN);
    let me = g.check().await.unwrap();
    assert_eq!(
        (me.external_id.as_str(), me.name.as_str()),
        ("77", "Мебельный магазин")
    );
    assert!(matches!(
        group(&fake, "vk1.a.wrong").check().await,
        Err(ConnectorError::Credentials(_))
    ));
    // Nobody answers VK's confirmation at this address: VK shows the server as failed.
    let server = g
        .add_callback_server("77", "http://127.0.0.1:9/hooks/vk/k", "s3cret")
        .await
        .unwrap();
    for _ in 0..100 {
        if fake.server().is_some_and(|s| s.status == "failed") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let state = g.callback_state("77", &server).await.unwrap();
    assert!(!state.ok);
    assert_eq!(
        state.error.as_deref(),
        Some("VK could not confirm this server's address")
    );
    g.delete_callback_server("77", &server).await.unwrap();
    assert_eq!(fake.server(), None);
}

#[tokio::test]
async fn a_retried_reply_is_sent_once_then_edited_and_deleted() {
    let fake = FakeVk::start(TOKEN).await;
    let g = group(&fake, TOKEN);
    let first = g.send(&reply(9, "Добрый день!"), Vec::new()).await;
    // The same message again (a delivery retried after its answer was lost): VK knows its
    // random_id and sends nothing new.
    let again = g.send(&reply(9, "Добрый день!"), Vec::new()).await;
    assert_eq!(first, again);
    assert_eq!(fake.sent().len(), 1);
    assert_eq!(fake.sent()[0].random_id, random_id(MessageId(9)));
    let SendResult::Sent { external_id } = first else {
        panic!("sent")
    };
    assert!(matches!(
        g.change("42", &external_id, Some("Добрый вечер!")).await,
        SendResult::Sent { .. }
    ));
    assert!(matches!(
        g.change("42", &external_id, None).await,
        SendResult::Sent { .. }
    ));
    let id: i64 = external_id.parse().unwrap();
    assert_eq!(
        fake.changes(),
        [
            ("messages.edit".into(), 42, id, Some("Добрый вечер!".into())),
            ("messages.delete".into(), 42, id, None),
        ]
    );
    assert!(matches!(
        g.change("42", "5", Some("?")).await,
        SendResult::Failed(f) if f.code == "platform_refused"
    ));
}

#[tokio::test]
async fn vk_errors_become_waits_or_failures() {
    let fake = FakeVk::start(TOKEN).await;
    let g = group(&fake, TOKEN);
    fake.fail_next(6, "Too many requests per second");
    assert!(matches!(
        g.send(&reply(1, "a"), Vec::new()).await,
        SendResult::RetryAfter(Some(_), _)
    ));
    fake.fail_next(9, "Flood control");
    assert!(matches!(
        g.send(&reply(2, "b"), Vec::new()).await,
        SendResult::RetryAfter(None, _)
    ));
    fake.fail_next(
        902,
        "Can't send messages to this user due to their privacy settings",
    );
    assert!(matches!(
        g.send(&reply(3, "c"), Vec::new()).await,
        SendResult::Failed(f) if f.code == "blocked_by_client"
    ));
    assert!(fake.sent().is_empty(), "nothing went out");
    assert!(matches!(
        group(&fake, "vk1.a.revoked").send(&reply(4, "d"), Vec::new()).await,
        SendResult::Failed(f) if f.code == "credentials_refused"
    ));
    // An address where no VK API listens: a retry, and no token in the error.
    let nowhere =
        VkGroup::with_client("http://127.0.0.1:9", TOKEN, beseda_channels::http::client());
    match nowhere.send(&reply(5, "e"), Vec::new()).await {
        SendResult::RetryAfter(None, why) => assert!(!why.contains(TOKEN), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn quick_replies_are_a_one_time_keyboard() {
    let fake = FakeVk::start(TOKEN).await;
    let g = group(&fake, TOKEN);
    let mut with_buttons = reply(9, "Доставка или самовывоз?");
    with_buttons.buttons = vec!["Доставка".into(), "Самовывоз".into()];
    g.send(&with_buttons, Vec::new()).await;
    g.send(&reply(10, "Спасибо!"), Vec::new()).await;
    let sent = fake.sent();
    assert_eq!(
        sent[0].keyboard,
        Some((vec!["Доставка".into(), "Самовывоз".into()], true))
    );
    assert_eq!(sent[1].keyboard, None, "no keyboard without buttons");
}
