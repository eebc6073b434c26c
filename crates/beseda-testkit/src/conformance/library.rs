//! Tags on clients, quick replies and time limits.

use super::company::channel;
use super::dialogs::{accepted, inbound};
use super::{assert_code, new_manager};
use beseda_core::channel::ChannelKind;
use beseda_core::company::{NewTag, TagColor};
use beseda_core::dialog::{FeedPage, Viewer};
use beseda_core::event::DomainEvent;
use beseda_core::ids::{ChannelId, TagId};
use beseda_core::library::TimeLimits;
use beseda_core::store::Store;
use beseda_core::time::Timestamp;

pub async fn tags_quick_replies_and_time_limits_are_kept(store: &dyn Store) {
    let tg = channel(store, ChannelKind::Telegram, "Bot").await;
    let anna = store
        .create_manager(&new_manager("anna@example.com", "Anna"))
        .await
        .unwrap();
    let vip = store
        .create_tag(&NewTag {
            name: "VIP".into(),
            color: TagColor::Red,
            created_at: Timestamp(1),
        })
        .await
        .unwrap();
    let b2b = store
        .create_tag(&NewTag {
            name: "B2B".into(),
            color: TagColor::Blue,
            created_at: Timestamp(1),
        })
        .await
        .unwrap();
    let t = store.update_tag(vip, Some("VIP+"), None).await.unwrap();
    assert_eq!((t.name.as_str(), t.color), ("VIP+", TagColor::Red));
    assert_code(
        store.update_tag(vip, Some("B2B"), None).await,
        "tag_name_taken",
    );
    assert_code(
        store
            .update_tag(TagId(999_999), None, Some(TagColor::Gray))
            .await,
        "not_found",
    );

    let (d, _) = accepted(
        store
            .ingest_client_message(&inbound(tg, "c", "e1", "hi"), Timestamp(1))
            .await
            .unwrap(),
    );
    let client = store
        .dialog_access(d)
        .await
        .unwrap()
        .unwrap()
        .client_id
        .unwrap();
    store
        .set_client_tag(client, b2b, false, Timestamp(2))
        .await
        .unwrap();
    let w = store
        .set_client_tag(client, vip, true, Timestamp(3))
        .await
        .unwrap();
    assert_eq!(
        w.value
            .iter()
            .map(|t| (t.tag.id, t.pinned))
            .collect::<Vec<_>>(),
        [(vip, true), (b2b, false)]
    );
    assert!(
        matches!(
            w.events.as_slice(),
            [e] if e.dialog_id == Some(d)
                && matches!(&e.event, DomainEvent::ClientTagged { client_id, tags } if *client_id == client && tags.len() == 2)
        ),
        "{:?}",
        w.events
    );
    assert_code(
        store
            .set_client_tag(client, TagId(999_999), false, Timestamp(3))
            .await,
        "not_found",
    );
    store
        .remove_client_tag(client, b2b, Timestamp(4))
        .await
        .unwrap();
    store.delete_tag(vip).await.unwrap();
    assert!(store.client_tags(client).await.unwrap().is_empty());
    assert_code(store.delete_tag(vip).await, "not_found");
    assert_eq!(
        store.client_dialog_responsibles(client).await.unwrap(),
        [None]
    );

    let shared = store
        .create_quick_reply(None, "Доставка", "2–3 дня", Timestamp(5))
        .await
        .unwrap();
    let own = store
        .create_quick_reply(Some(anna.id), "Привет", "Здравствуйте", Timestamp(5))
        .await
        .unwrap();
    let other = store
        .create_manager(&new_manager("boris@example.com", "Boris"))
        .await
        .unwrap();
    assert_eq!(store.quick_replies(anna.id).await.unwrap().len(), 2);
    assert_eq!(
        store.quick_replies(other.id).await.unwrap(),
        std::slice::from_ref(&shared)
    );
    let e = store
        .update_quick_reply(own.id, None, Some("Добрый день"), Timestamp(6))
        .await
        .unwrap();
    assert_eq!(
        (e.title.as_str(), e.body.as_str(), e.updated_at),
        ("Привет", "Добрый день", Timestamp(6))
    );
    assert_eq!(store.quick_reply(own.id).await.unwrap(), Some(e));
    store.delete_quick_reply(own.id).await.unwrap();
    assert_code(store.delete_quick_reply(own.id).await, "not_found");
    assert_code(
        store
            .update_quick_reply(own.id, Some("x"), None, Timestamp(7))
            .await,
        "not_found",
    );
    let first = store.feed(d, FeedPage::Latest, 1).await.unwrap()[0].id;
    assert_eq!(
        store.message_body(first).await.unwrap().as_deref(),
        Some("hi")
    );

    assert_eq!(
        store.time_limits().await.unwrap().default,
        TimeLimits::default()
    );
    let l = TimeLimits {
        warning_secs: Some(60),
        danger_secs: Some(600),
    };
    store.set_default_time_limits(l).await.unwrap();
    store
        .set_channel_time_limits(
            tg,
            TimeLimits {
                warning_secs: None,
                danger_secs: Some(120),
            },
        )
        .await
        .unwrap();
    let s = store.time_limits().await.unwrap();
    assert_eq!(s.default, l);
    assert_eq!(s.channels.len(), 1);
    assert_eq!(s.channels[0].limits.danger_secs, Some(120));
    assert_code(
        store.set_channel_time_limits(ChannelId(999_999), l).await,
        "not_found",
    );
    let view = store
        .dialog_view(
            d,
            Viewer {
                manager: anna.id,
                sees_all: true,
            },
            Timestamp(1),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        view.time_limits,
        TimeLimits {
            warning_secs: Some(60),
            danger_secs: Some(120)
        }
    );
}
