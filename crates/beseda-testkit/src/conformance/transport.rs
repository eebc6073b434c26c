//! Integration modules, channels, delivery jobs and reports.

use super::assert_code;
use super::dialogs::{accepted, inbound};
use beseda_core::channel::ChannelKind;
use beseda_core::dialog::Responsible;
use beseda_core::dialog::{DeliveryStatus, OutgoingMessage};
use beseda_core::event::DomainEvent;
use beseda_core::secret::TokenHash;
use beseda_core::store::{Guard, Store};
use beseda_core::time::Timestamp;
use beseda_core::transport::{
    ChannelRegistration, DeliveryOutcome, Failure, MessageRef, StatusReport,
};

fn reg(name: &str) -> ChannelRegistration {
    let kind = ChannelKind::Telegram;
    ChannelRegistration {
        kind,
        name: name.into(),
        avatar_url: None,
        external_id: Some("tg-1".into()),
        capabilities: kind.default_capabilities(),
    }
}

pub async fn modules_own_their_channels_and_deliveries_keep_dialog_order(store: &dyn Store) {
    let m = store
        .create_module(
            "Telegram",
            &TokenHash("t1".into()),
            "http://127.0.0.1:9/hook",
            "secret",
            Timestamp(1),
        )
        .await
        .unwrap();
    let other = store
        .create_module(
            "Other",
            &TokenHash("t2".into()),
            "http://127.0.0.1:9/x",
            "s2",
            Timestamp(1),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .module_by_token(&TokenHash("t1".into()))
            .await
            .unwrap(),
        Some(m.clone())
    );
    assert_eq!(
        store
            .module_by_token(&TokenHash("nope".into()))
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.list_modules().await.unwrap().len(), 2);

    let ch = store
        .register_channel(m.id, &reg("Bot"), Timestamp(2))
        .await
        .unwrap();
    assert_eq!(
        (ch.name.as_str(), ch.active, ch.external_id.as_deref()),
        ("Bot", true, Some("tg-1"))
    );
    let renamed = store
        .update_channel(m.id, ch.id, &reg("Shop bot"), Timestamp(3))
        .await
        .unwrap();
    assert_eq!(renamed.name, "Shop bot");
    assert_code(
        store
            .update_channel(other.id, ch.id, &reg("x"), Timestamp(3))
            .await,
        "not_found",
    );
    assert_eq!(store.module_channel(other.id, ch.id).await.unwrap(), None);
    assert_eq!(store.module_channels(m.id).await.unwrap().len(), 1);

    let anna = store
        .create_manager(&super::new_manager("anna@example.com", "Anna"))
        .await
        .unwrap();
    let (d, _) = accepted(
        store
            .ingest_client_message(&inbound(ch.id, "c", "in-1", "hi"), Timestamp(4))
            .await
            .unwrap(),
    );
    let card = store
        .client_card(
            store
                .dialog_access(d)
                .await
                .unwrap()
                .unwrap()
                .client_id
                .unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        card.source.unwrap().channel_name.as_deref(),
        Some("Shop bot")
    );
    let mut sent = Vec::new();
    for text in ["one", "two"] {
        let out = OutgoingMessage {
            automatic: false,
            buttons: Vec::new(),
            attachments: Vec::new(),
            template: None,
            dialog_id: d,
            author: Responsible::Manager(anna.id),
            body: text.into(),
            quote: None,
        };
        sent.push(
            store
                .append_company_message(&out, Guard::Any, Timestamp(5))
                .await
                .unwrap()
                .value
                .id,
        );
    }
    // Only the oldest job of a dialog is due; a leased job is nobody else's.
    let jobs = store
        .claim_deliveries("w1", Timestamp(10), Timestamp(100), 10)
        .await
        .unwrap();
    assert_eq!(
        jobs.iter().map(|j| j.message_id).collect::<Vec<_>>(),
        [sent[0]]
    );
    assert_eq!(
        (jobs[0].attempts, jobs[0].contact_external_id.as_str()),
        (1, "c")
    );
    assert!(matches!(
        &jobs[0].target,
        beseda_core::transport::DeliveryTarget::Module { webhook_secret, .. } if webhook_secret == "secret"
    ));
    assert!(
        store
            .claim_deliveries("w2", Timestamp(20), Timestamp(200), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let retry = DeliveryOutcome::Retry {
        error: "down".into(),
        at: Timestamp(50),
    };
    store
        .finish_delivery(jobs[0].id, "w1", &retry, Timestamp(20))
        .await
        .unwrap();
    assert!(
        store
            .claim_deliveries("w2", Timestamp(30), Timestamp(200), 10)
            .await
            .unwrap()
            .is_empty(),
        "not due before its retry time"
    );
    let again = store
        .claim_deliveries("w2", Timestamp(60), Timestamp(70), 10)
        .await
        .unwrap();
    assert_eq!((again.len(), again[0].attempts), (1, 2));
    // The lease runs out: w3 takes over, and w2's late outcome is ignored.
    let taken = store
        .claim_deliveries("w3", Timestamp(80), Timestamp(300), 10)
        .await
        .unwrap();
    assert_eq!(taken[0].id, again[0].id);
    let late = DeliveryOutcome::Failed(Failure {
        code: "x".into(),
        message: "late".into(),
    });
    assert!(
        store
            .finish_delivery(again[0].id, "w2", &late, Timestamp(81))
            .await
            .unwrap()
            .events
            .is_empty()
    );
    let w = store
        .finish_delivery(
            taken[0].id,
            "w3",
            &DeliveryOutcome::Sent {
                external_id: Some("tg-9".into()),
            },
            Timestamp(82),
        )
        .await
        .unwrap();
    assert!(
        matches!(w.events.as_slice(), [e] if matches!(e.event, DomainEvent::MessageStatus(_))),
        "{:?}",
        w.events
    );
    let next = store
        .claim_deliveries("w3", Timestamp(83), Timestamp(300), 10)
        .await
        .unwrap();
    assert_eq!(
        next.iter().map(|j| j.message_id).collect::<Vec<_>>(),
        [sent[1]],
        "the second leaves after the first"
    );

    let read = StatusReport {
        channel_id: ch.id,
        message: MessageRef::External("tg-9".into()),
        status: DeliveryStatus::Read,
        failure: None,
        external_id: None,
    };
    assert!(
        store
            .report_status(&read, Timestamp(90))
            .await
            .unwrap()
            .value
            .changed
    );
    let back = StatusReport {
        status: DeliveryStatus::Delivered,
        ..read.clone()
    };
    let outcome = store
        .report_status(&back, Timestamp(91))
        .await
        .unwrap()
        .value;
    assert_eq!(
        (outcome.changed, outcome.status),
        (false, DeliveryStatus::Read)
    );
    let unknown = StatusReport {
        message: MessageRef::External("nope".into()),
        ..read
    };
    assert_code(
        store.report_status(&unknown, Timestamp(92)).await,
        "not_found",
    );
    let off = store
        .set_channel_active(m.id, ch.id, false, Timestamp(93))
        .await
        .unwrap();
    assert!(!off.active);
}

pub async fn connected_channels_keep_their_key_and_sealed_credentials(store: &dyn Store) {
    let c = store
        .create_connected_channel(&reg("@shop_bot"), "key-1", "sealed-1", Timestamp(1))
        .await
        .unwrap();
    assert!(c.active && c.kind == ChannelKind::Telegram);
    let found = store.connected_channel("key-1").await.unwrap().unwrap();
    assert_eq!(
        (found.channel.id, found.sealed.as_str()),
        (c.id, "sealed-1")
    );
    assert!(store.connected_channel("key-2").await.unwrap().is_none());
    assert_eq!(store.connected_channels().await.unwrap().len(), 1);
    // A module's channel is no connected one.
    let m = store
        .create_module(
            "M",
            &TokenHash("t".into()),
            "http://127.0.0.1:9/h",
            "s",
            Timestamp(1),
        )
        .await
        .unwrap();
    let theirs = store
        .register_channel(m.id, &reg("Module's"), Timestamp(1))
        .await
        .unwrap();
    assert!(
        store
            .disconnect_channel(theirs.id, Timestamp(2))
            .await
            .unwrap()
            .is_none()
    );
    let off = store
        .disconnect_channel(c.id, Timestamp(2))
        .await
        .unwrap()
        .unwrap();
    assert!(!off.channel.active);
    assert!(
        !store
            .connected_channel("key-1")
            .await
            .unwrap()
            .unwrap()
            .channel
            .active
    );
    // Its replies go to the connector, with the sealed credentials, quoting the client's
    // message by the platform's id.
    let on = store
        .create_connected_channel(&reg("@other_bot"), "key-3", "sealed-3", Timestamp(1))
        .await
        .unwrap();
    let (d, _) = accepted(
        store
            .ingest_client_message(&inbound(on.id, "42", "42:5", "Hi"), Timestamp(3))
            .await
            .unwrap(),
    );
    let client_message = store
        .feed(d, beseda_core::dialog::FeedPage::Latest, 1)
        .await
        .unwrap()[0]
        .id;
    let maria = store
        .create_manager(&super::new_manager("maria@example.com", "Maria"))
        .await
        .unwrap();
    let out = OutgoingMessage {
        automatic: false,
        buttons: Vec::new(),
        attachments: Vec::new(),
        template: None,
        dialog_id: d,
        author: Responsible::Manager(maria.id),
        body: "Hello".into(),
        quote: Some(client_message),
    };
    store
        .append_company_message(&out, Guard::Any, Timestamp(4))
        .await
        .unwrap();
    let jobs = store
        .claim_deliveries("w", Timestamp(10), Timestamp(100), 10)
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    assert!(matches!(
        &jobs[0].target,
        beseda_core::transport::DeliveryTarget::Connector { sealed } if sealed == "sealed-3"
    ));
    assert_eq!(jobs[0].quote_external_id.as_deref(), Some("42:5"));
}

pub async fn connectors_keep_echoes_polling_leases_and_half_made_channels(store: &dyn Store) {
    // A channel whose connection failed half-way goes; one with a client stays.
    let lost = store
        .create_connected_channel(&reg("@lost_bot"), "key-l", "sealed-l", Timestamp(1))
        .await
        .unwrap();
    store.forget_connected_channel(lost.id).await.unwrap();
    assert!(store.connected_channel("key-l").await.unwrap().is_none());
    let c = store
        .create_connected_channel(&reg("@shop_bot"), "key-e", "sealed-e", Timestamp(1))
        .await
        .unwrap();
    store
        .reseal_channel(c.id, "sealed-e2", Timestamp(2))
        .await
        .unwrap();
    let found = store.connected_channel("key-e").await.unwrap().unwrap();
    assert_eq!(found.sealed, "sealed-e2");
    assert!(!store.knows_contact(c.id, "42").await.unwrap());
    let (d, _) = accepted(
        store
            .ingest_client_message(&inbound(c.id, "42", "in-1", "Hi"), Timestamp(3))
            .await
            .unwrap(),
    );
    assert!(store.knows_contact(c.id, "42").await.unwrap());
    assert!(store.knows_message(c.id, "in-1").await.unwrap());
    assert!(!store.knows_message(c.id, "in-2").await.unwrap());
    store.forget_connected_channel(c.id).await.unwrap();
    assert!(store.connected_channel("key-e").await.unwrap().is_some());

    // The company's message written on the platform: in the feed as the company's, sent, and
    // the client no longer waits; a repeat, or the platform's copy of one of ours, adds nothing.
    let echo = inbound(c.id, "42", "vk-500", "Written on the platform");
    let written = store.record_echo(&echo, None, Timestamp(4)).await.unwrap();
    let view = written.value.expect("recorded");
    assert_eq!(view.author, beseda_core::dialog::MessageAuthor::Company);
    assert_eq!(view.status, Some(DeliveryStatus::Sent));
    assert!(!written.events.is_empty());
    assert!(
        store
            .record_echo(&echo, None, Timestamp(5))
            .await
            .unwrap()
            .value
            .is_none()
    );
    let copy = inbound(c.id, "42", "vk-501", "Ours");
    assert!(
        store
            .record_echo(&copy, Some(view.id), Timestamp(5))
            .await
            .unwrap()
            .value
            .is_none()
    );
    let viewer = beseda_core::dialog::Viewer {
        manager: beseda_core::ids::ManagerId(1),
        sees_all: true,
    };
    let dialog = store
        .dialog_view(d, viewer, Timestamp(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dialog.waiting_since, None);
    // The client's photo kept for the contact: the card names it, and its object is known.
    let client = dialog.client.expect("a client card").id;
    store
        .set_contact_photo(c.id, "42", "photos/a.jpg")
        .await
        .unwrap();
    assert_eq!(
        store.client_photo_key(client).await.unwrap().as_deref(),
        Some("photos/a.jpg")
    );
    let card = store.client_card(client).await.unwrap().unwrap();
    assert_eq!(
        card.photo_url,
        Some(format!("/api/v1/clients/{}/photo", client.0))
    );
    assert_eq!(
        store
            .unknown_object_keys(&["photos/a.jpg".into(), "photos/b.jpg".into()])
            .await
            .unwrap(),
        ["photos/b.jpg"]
    );
    // A client without a dialog here: nothing.
    let stranger = inbound(c.id, "43", "vk-502", "?");
    assert!(
        store
            .record_echo(&stranger, None, Timestamp(5))
            .await
            .unwrap()
            .value
            .is_none()
    );
    // The read receipt names it by the platform's id.
    assert_eq!(
        store
            .read_up_to(c.id, &MessageRef::External("vk-500".into()), Timestamp(6))
            .await
            .unwrap()
            .value,
        1
    );

    // One poller per channel: a second node waits until the lease runs out; the offset saved
    // is where the next poll starts, and a node that lost its lease saves nothing.
    assert_eq!(
        store
            .lease_polling(c.id, "a", Timestamp(10), Timestamp(40))
            .await
            .unwrap(),
        Some(None)
    );
    assert_eq!(
        store
            .lease_polling(c.id, "b", Timestamp(20), Timestamp(50))
            .await
            .unwrap(),
        None
    );
    assert!(store.save_poll_offset(c.id, "a", 7).await.unwrap());
    assert!(!store.save_poll_offset(c.id, "b", 9).await.unwrap());
    assert_eq!(
        store
            .lease_polling(c.id, "b", Timestamp(41), Timestamp(70))
            .await
            .unwrap(),
        Some(Some(7))
    );
    assert!(!store.save_poll_offset(c.id, "a", 8).await.unwrap());
    store.disconnect_channel(c.id, Timestamp(80)).await.unwrap();
    assert_eq!(
        store
            .lease_polling(c.id, "b", Timestamp(90), Timestamp(99))
            .await
            .unwrap(),
        None,
        "a channel turned off is polled by nobody"
    );
}

pub async fn connectors_find_accounts_keep_reactions_and_follow_watermarks(store: &dyn Store) {
    let kind = ChannelKind::WhatsappBusiness;
    let reg = ChannelRegistration {
        kind,
        name: "Shop".into(),
        avatar_url: None,
        external_id: Some("106540".into()),
        capabilities: kind.default_capabilities(),
    };
    let c = store
        .create_connected_channel(&reg, "key-w", "sealed-w", Timestamp(1))
        .await
        .unwrap();
    // A platform account finds its active channel, by kind and id.
    let found = store.connected_account(kind, "106540").await.unwrap();
    assert_eq!(found.map(|f| f.channel.id), Some(c.id));
    assert!(
        store
            .connected_account(ChannelKind::FbInstagram, "106540")
            .await
            .unwrap()
            .is_none()
    );
    let (d, _) = accepted(
        store
            .ingest_client_message(&inbound(c.id, "7916", "wamid.in1", "Hi"), Timestamp(3))
            .await
            .unwrap(),
    );
    assert_eq!(
        store.last_client_message(d).await.unwrap().as_deref(),
        Some("wamid.in1")
    );
    // Two of the company's messages, sent at 600 and 700 (written on the platform: sent).
    for (id, at) in [("wamid.out1", 600), ("wamid.out2", 700)] {
        let mut m = inbound(c.id, "7916", id, "Ours");
        m.sent_at = Timestamp(at);
        store.record_echo(&m, None, Timestamp(at)).await.unwrap();
    }
    // Delivered up to 650: the first only; read up to 800: both. Backwards changes nothing.
    let moved =
        |at, status| store.advance_until(c.id, "7916", Timestamp(at), status, Timestamp(900));
    assert_eq!(
        moved(650, DeliveryStatus::Delivered).await.unwrap().value,
        1
    );
    assert_eq!(moved(800, DeliveryStatus::Read).await.unwrap().value, 2);
    assert_eq!(
        moved(800, DeliveryStatus::Delivered).await.unwrap().value,
        0
    );
    assert!(matches!(
        moved(800, DeliveryStatus::Read).await.map(|w| w.value),
        Ok(0)
    ));
    assert!(matches!(
        store
            .advance_until(
                c.id,
                "nobody",
                Timestamp(800),
                DeliveryStatus::Read,
                Timestamp(900)
            )
            .await,
        Err(beseda_core::CoreError::NotFound(_))
    ));
    // A reaction is a line in the feed naming the message reacted to; its repeat adds nothing.
    let reaction = beseda_core::connector::Reaction {
        external_id: "wamid.r1".into(),
        message: "wamid.out1".into(),
        emoji: "👍".into(),
    };
    let line = store
        .record_reaction(c.id, "7916", &reaction, Timestamp(950))
        .await
        .unwrap()
        .value
        .expect("recorded");
    assert_eq!(line.author, beseda_core::dialog::MessageAuthor::System);
    let reacted = line.quote.as_ref().map(|q| q.id);
    assert!(
        matches!(line.event.as_deref(), Some(beseda_core::event::DomainEvent::ClientReacted { message_id, emoji }) if *message_id == reacted && emoji == "👍" && message_id.is_some()),
        "{line:?}"
    );
    assert!(
        store
            .record_reaction(c.id, "7916", &reaction, Timestamp(960))
            .await
            .unwrap()
            .value
            .is_none()
    );
    store
        .disconnect_channel(c.id, Timestamp(990))
        .await
        .unwrap();
    assert!(
        store
            .connected_account(kind, "106540")
            .await
            .unwrap()
            .is_none()
    );
}
