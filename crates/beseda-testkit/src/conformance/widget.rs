//! Website widgets, their visitors and presence (F39), and merging two client cards (F04).

use super::assert_code;
use super::dialogs::{accepted, inbound};
use beseda_core::dialog::ContactDetails;
use beseda_core::event::{DomainEvent, EventId};
use beseda_core::ids::ClientId;
use beseda_core::secret::TokenHash;
use beseda_core::store::Store;
use beseda_core::time::Timestamp;
use beseda_core::widget::{FieldRule, Prechat, Visitor, WidgetPosition, WidgetSettings};

fn settings(origin: &str) -> WidgetSettings {
    WidgetSettings {
        title: "Shop".into(),
        avatar_url: None,
        color: "#123456".into(),
        position: WidgetPosition::Left,
        greeting: None,
        languages: vec!["ru".into()],
        hours: None,
        away_text: None,
        prechat: Prechat {
            name: FieldRule::Required,
            phone: FieldRule::Off,
            email: FieldRule::Optional,
        },
        allowed_origins: vec![origin.into()],
    }
}

pub async fn widgets_keep_their_settings_visitors_and_presence(store: &dyn Store) {
    let w = store
        .create_widget(
            "Site",
            "wk_1",
            "secret",
            &settings("https://a.example"),
            Timestamp(1),
        )
        .await
        .unwrap();
    assert!(w.active);
    assert_eq!(w.settings, settings("https://a.example"));
    let changed = store
        .update_widget(
            w.channel_id,
            "Site 2",
            false,
            &settings("https://b.example"),
            Timestamp(2),
        )
        .await
        .unwrap();
    assert_eq!((changed.name.as_str(), changed.active), ("Site 2", false));
    let (by_key, caps) = store.widget_by_key("wk_1").await.unwrap().unwrap();
    assert_eq!(by_key, changed);
    assert!(
        caps.attachments.file.is_some(),
        "a widget's files have a limit"
    );
    assert_eq!(store.widgets().await.unwrap(), vec![changed.clone()]);
    assert!(store.widget_by_key("wk_2").await.unwrap().is_none());
    assert_code(
        store
            .update_widget(
                beseda_core::ids::ChannelId(999),
                "x",
                true,
                &settings("https://a.example"),
                Timestamp(3),
            )
            .await,
        "not_found",
    );

    // A visitor's token names them on their channel only.
    let session = store
        .create_visitor(w.channel_id, &TokenHash("v1".into()), "v_abc", Timestamp(5))
        .await
        .unwrap();
    let v = store
        .visitor_by_token(w.channel_id, &TokenHash("v1".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        v,
        Visitor {
            channel_id: w.channel_id,
            external_id: "v_abc".into(),
            session,
        }
    );
    let other = store
        .create_widget(
            "Other",
            "wk_3",
            "s",
            &settings("https://c.example"),
            Timestamp(1),
        )
        .await
        .unwrap();
    assert!(
        store
            .visitor_by_token(other.channel_id, &TokenHash("v1".into()))
            .await
            .unwrap()
            .is_none()
    );

    // Before they write they have no dialog, and presence changes nothing.
    assert_eq!(store.visitor_dialog(&v).await.unwrap(), None);
    assert!(
        !store
            .set_visitor_presence(&v, false, Timestamp(6))
            .await
            .unwrap()
            .value
    );
    store
        .update_widget(
            w.channel_id,
            "Site 2",
            true,
            &settings("https://b.example"),
            Timestamp(7),
        )
        .await
        .unwrap();
    let (d, _) = accepted(
        store
            .ingest_client_message(
                &inbound(w.channel_id, "v_abc", "v_abc/1", "Hi"),
                Timestamp(10),
            )
            .await
            .unwrap(),
    );
    assert_eq!(store.visitor_dialog(&v).await.unwrap(), Some(d));
    let feed = store
        .feed(d, beseda_core::dialog::FeedPage::Latest, 10)
        .await
        .unwrap();
    assert_eq!(feed[0].external_id.as_deref(), Some("v_abc/1"));
    let one = store.dialog_message(d, feed[0].id).await.unwrap().unwrap();
    assert_eq!(one.body, "Hi");
    assert!(
        store
            .dialog_message(d, beseda_core::ids::MessageId(feed[0].id.0 + 1000))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.client_read_up_to(d).await.unwrap(), None);

    // Leaving, leaving again, coming back: two lines in the feed, one per change.
    let left = store
        .set_visitor_presence(&v, false, Timestamp(20))
        .await
        .unwrap();
    assert!(left.value);
    assert!(
        left.events
            .iter()
            .any(|e| matches!(e.event, DomainEvent::VisitorLeft {}))
    );
    assert!(
        !store
            .set_visitor_presence(&v, false, Timestamp(21))
            .await
            .unwrap()
            .value
    );
    let back = store
        .set_visitor_presence(&v, true, Timestamp(22))
        .await
        .unwrap();
    assert!(
        back.events
            .iter()
            .any(|e| matches!(e.event, DomainEvent::VisitorReturned {}))
    );
    assert!(
        !store
            .set_visitor_presence(&v, true, Timestamp(23))
            .await
            .unwrap()
            .value
    );

    // A visitor who never wrote is forgotten after a while; one who wrote keeps their session.
    let quiet = TokenHash("v2".into());
    store
        .create_visitor(w.channel_id, &quiet, "v_quiet", Timestamp(5))
        .await
        .unwrap();
    assert_eq!(
        store.forget_quiet_visitors(Timestamp(5)).await.unwrap(),
        0,
        "not yet"
    );
    assert_eq!(
        store.forget_quiet_visitors(Timestamp(100)).await.unwrap(),
        1
    );
    assert!(
        store
            .visitor_by_token(w.channel_id, &quiet)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .visitor_by_token(w.channel_id, &TokenHash("v1".into()))
            .await
            .unwrap()
            .is_some()
    );

    // The dialog's own events, and nothing of another dialog's.
    accepted(
        store
            .ingest_client_message(
                &inbound(w.channel_id, "v_other", "v_other/1", "Yo"),
                Timestamp(30),
            )
            .await
            .unwrap(),
    );
    let mine = store
        .dialog_events_after(d, EventId(0), 100)
        .await
        .unwrap()
        .unwrap();
    assert!(!mine.is_empty() && mine.iter().all(|e| e.dialog_id == Some(d)));
    assert!(store.newest_event_id().await.unwrap() > mine.last().unwrap().id);
}

pub async fn two_cards_of_one_person_merge_into_one(store: &dyn Store) {
    let tg =
        super::company::channel(store, beseda_core::channel::ChannelKind::Telegram, "Bot").await;
    let mut with_email = inbound(tg, "anna", "a1", "Hello");
    with_email.details = ContactDetails {
        email: Some("anna@example.com".into()),
        ..Default::default()
    };
    let (old_dialog, _) = accepted(
        store
            .ingest_client_message(&with_email, Timestamp(1))
            .await
            .unwrap(),
    );
    let old = store
        .dialog_access(old_dialog)
        .await
        .unwrap()
        .unwrap()
        .client_id
        .unwrap();
    // Someone types the same email: a new card that only points at the old one.
    let mut typed = inbound(tg, "stranger", "s1", "Hi");
    typed.details = ContactDetails {
        email: Some("ANNA@example.com".into()),
        phone: Some("+7 900 000-00-00".into()),
        self_declared: true,
        ..Default::default()
    };
    let (new_dialog, _) = accepted(
        store
            .ingest_client_message(&typed, Timestamp(2))
            .await
            .unwrap(),
    );
    let new = store
        .dialog_access(new_dialog)
        .await
        .unwrap()
        .unwrap()
        .client_id
        .unwrap();
    assert_ne!(new, old);
    let card = store.client_card(new).await.unwrap().unwrap();
    assert_eq!(card.possibly_same_as.map(|c| c.id), Some(old));

    let vip = store
        .create_tag(&beseda_core::company::NewTag {
            name: "VIP".into(),
            color: beseda_core::company::TagColor::Red,
            created_at: Timestamp(3),
        })
        .await
        .unwrap();
    store
        .set_client_tag(new, vip, true, Timestamp(4))
        .await
        .unwrap();
    let merged = store.merge_clients(new, old, Timestamp(5)).await.unwrap();
    assert_eq!(merged.value.len(), 1, "the tag came along");
    assert_eq!(
        merged.events.len(),
        2,
        "both dialogs hear of the card's tags"
    );
    assert_eq!(
        store
            .dialog_access(new_dialog)
            .await
            .unwrap()
            .unwrap()
            .client_id,
        Some(old)
    );
    let card = store.client_card(old).await.unwrap().unwrap();
    assert_eq!(
        card.phone.as_deref(),
        Some("+79000000000"),
        "a phone it lacked"
    );
    assert_eq!(card.email.as_deref(), Some("anna@example.com"));
    assert!(store.client_card(new).await.unwrap().is_none());
    assert_code(
        store.merge_clients(new, old, Timestamp(6)).await,
        "not_found",
    );
    assert_code(
        store
            .merge_clients(old, ClientId(9_999), Timestamp(6))
            .await,
        "not_found",
    );
}
