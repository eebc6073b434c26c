//! The dialog engine: inbound messages, guards, the event log, unread counters.

use super::company::{channel, import, msg};
use super::{assert_code, new_manager};
use beseda_core::channel::ChannelKind;
use beseda_core::company::Author;
use beseda_core::dialog::{
    DeliveryStatus, FeedPage, InboundMessage, Ingested, OutgoingMessage, Responsible, Viewer,
};
use beseda_core::event::{Audience, DomainEvent, Event, EventId};
use beseda_core::ids::{ChannelId, DialogId};
use beseda_core::store::{Guard, Store, Written};
use beseda_core::time::Timestamp;

pub(crate) fn inbound(
    channel: ChannelId,
    contact: &str,
    external: &str,
    body: &str,
) -> InboundMessage {
    InboundMessage {
        attachments: Vec::new(),
        quote_external_id: None,
        channel_id: channel,
        contact_external_id: contact.into(),
        contact_name: format!("Client {contact}"),
        external_id: external.into(),
        body: body.into(),
        sent_at: Timestamp(500),
        details: Default::default(),
    }
}

pub(crate) fn accepted(w: Written<Ingested>) -> (DialogId, Vec<Event>) {
    match w.value {
        Ingested::Accepted { dialog_id, .. } => (dialog_id, w.events),
        other => panic!("{other:?}"),
    }
}

pub async fn inbound_messages_are_deduplicated_and_reopen_dialogs(store: &dyn Store) {
    let tg = channel(store, ChannelKind::Telegram, "Bot").await;
    let (d, events) = accepted(
        store
            .ingest_client_message(&inbound(tg, "c", "e1", "Привет"), Timestamp(1_000))
            .await
            .unwrap(),
    );
    assert_events!(events, [DomainEvent::MessageNew(_) => Audience::Dialog(None)]);
    let again = store
        .ingest_client_message(&inbound(tg, "c", "e1", "Привет"), Timestamp(1_001))
        .await
        .unwrap();
    assert!(
        matches!(again.value, Ingested::Duplicate { dialog_id, .. } if dialog_id == d)
            && again.events.is_empty()
    );

    let m = store
        .create_manager(&new_manager("anna@example.com", "Anna"))
        .await
        .unwrap();
    store
        .close_dialog(d, Responsible::Manager(m.id), Guard::Any, Timestamp(2_000))
        .await
        .unwrap();
    assert!(!store.dialog_access(d).await.unwrap().unwrap().open);
    let (d2, events) = accepted(
        store
            .ingest_client_message(&inbound(tg, "c", "e2", "Снова я"), Timestamp(3_000))
            .await
            .unwrap(),
    );
    assert_eq!(d2, d, "one dialog per contact");
    assert!(store.dialog_access(d).await.unwrap().unwrap().open);
    // The reopening's line, the reopening itself, the message (F08, F17).
    assert_events!(
        events,
        [
            DomainEvent::MessageNew(_) => Audience::Dialog(None),
            DomainEvent::DialogReopened { by: None } => Audience::Dialog(None),
            DomainEvent::MessageNew(_) => Audience::Dialog(None),
        ]
    );
    let feed = store.feed(d, FeedPage::Latest, 10).await.unwrap();
    assert_eq!(feed.iter().map(|m| m.seq).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert_eq!(feed[3].body, "Снова я");
    let s = store.dialog_summary(d).await.unwrap().unwrap();
    assert_eq!(
        (s.last_seq, s.last_client_seq, s.waiting_since),
        (4, 4, Some(Timestamp(3_000)))
    );
}

pub async fn rights_are_checked_again_under_the_dialog_lock(store: &dyn Store) {
    let tg = channel(store, ChannelKind::Telegram, "Bot").await;
    let anna = store
        .create_manager(&new_manager("anna@example.com", "Anna"))
        .await
        .unwrap();
    let boris = store
        .create_manager(&new_manager("boris@example.com", "Boris"))
        .await
        .unwrap();
    let (d, _) = accepted(
        store
            .ingest_client_message(&inbound(tg, "c", "e1", "hi"), Timestamp(1))
            .await
            .unwrap(),
    );
    let to_anna = Some(Responsible::Manager(anna.id));
    store
        .reassign(
            d,
            to_anna,
            Responsible::Manager(anna.id),
            Guard::Unassigned,
            Timestamp(2),
        )
        .await
        .unwrap();
    // Boris checked the dialog before Anna took it; his writes fail now.
    assert_code(
        store
            .reassign(
                d,
                Some(Responsible::Manager(boris.id)),
                Responsible::Manager(boris.id),
                Guard::Unassigned,
                Timestamp(3),
            )
            .await,
        "dialog_not_yours",
    );
    let reply = OutgoingMessage {
        automatic: false,
        buttons: Vec::new(),
        attachments: Vec::new(),
        template: None,
        dialog_id: d,
        author: Responsible::Manager(boris.id),
        body: "mine".into(),
        quote: None,
    };
    assert_code(
        store
            .append_company_message(
                &reply,
                Guard::ResponsibleIs(Responsible::Manager(boris.id)),
                Timestamp(3),
            )
            .await,
        "dialog_not_yours",
    );
    assert_code(
        store
            .close_dialog(
                d,
                Responsible::Manager(boris.id),
                Guard::ResponsibleIs(Responsible::Manager(boris.id)),
                Timestamp(3),
            )
            .await,
        "dialog_not_yours",
    );
    let ok = OutgoingMessage {
        automatic: false,
        buttons: Vec::new(),
        attachments: Vec::new(),
        template: None,
        dialog_id: d,
        author: Responsible::Manager(anna.id),
        body: "Добрый день".into(),
        quote: None,
    };
    let w = store
        .append_company_message(
            &ok,
            Guard::ResponsibleIs(Responsible::Manager(anna.id)),
            Timestamp(4),
        )
        .await
        .unwrap();
    assert_eq!(
        (w.value.status, w.value.seq),
        (Some(DeliveryStatus::Queued), 3)
    );
    assert_eq!(
        store.feed(d, FeedPage::Latest, 10).await.unwrap().len(),
        3,
        "refused writes left nothing"
    );
}

pub async fn events_are_logged_in_order_with_their_audience(store: &dyn Store) {
    let tg = channel(store, ChannelKind::Telegram, "Bot").await;
    let anna = store
        .create_manager(&new_manager("anna@example.com", "Anna"))
        .await
        .unwrap();
    let (d, first) = accepted(
        store
            .ingest_client_message(&inbound(tg, "c", "e1", "hi"), Timestamp(1))
            .await
            .unwrap(),
    );
    let w = store
        .reassign(
            d,
            Some(Responsible::Manager(anna.id)),
            Responsible::Manager(anna.id),
            Guard::Any,
            Timestamp(2),
        )
        .await
        .unwrap();
    store
        .save_draft(d, anna.id, Some("черновик"), Timestamp(3))
        .await
        .unwrap();
    store
        .set_client_blocked(
            store
                .dialog_access(d)
                .await
                .unwrap()
                .unwrap()
                .client_id
                .unwrap(),
            true,
            anna.id,
            Timestamp(4),
        )
        .await
        .unwrap();
    store
        .ingest_client_message(&inbound(tg, "c", "e2", "blocked"), Timestamp(5))
        .await
        .unwrap();

    let log = store.events_after(EventId(0), 100).await.unwrap().unwrap();
    let annas = Audience::Dialog(Some(Responsible::Manager(anna.id)));
    assert_events!(
        log,
        [
            DomainEvent::MessageNew(_) => Audience::Dialog(None),
            DomainEvent::MessageNew(_) => annas,
            DomainEvent::DialogAssigned { from: None, .. } => annas,
            DomainEvent::DialogGone {} => Audience::Left {
                before: None,
                after: Some(Responsible::Manager(anna.id))
            },
            DomainEvent::DraftChanged { draft: Some(_) } => Audience::Manager(anna.id),
            DomainEvent::MessageNew(_) => annas,
            DomainEvent::ClientBlocked { .. } => annas,
            DomainEvent::InboundRefused { .. } => Audience::Audit,
        ]
    );
    assert_eq!(
        log[0].json, first[0].json,
        "the stored wire form is the published one"
    );
    assert_eq!(log[1].id, w.events[0].id);
    assert!(log.windows(2).all(|p| p[0].id < p[1].id));
    let replay = |after: EventId, limit: u32| async move {
        store
            .events_after(after, limit)
            .await
            .unwrap()
            .map(|e| e.len())
    };
    assert_eq!(replay(log[3].id, 100).await, Some(4));
    assert_eq!(replay(EventId(0), 2).await, Some(2));

    // Pruned beyond the retention: a replay from before the pruned mark must resync; from the
    // mark on, it reads what is left.
    let old = log.iter().filter(|e| e.created_at < Timestamp(3)).count();
    assert!((1..log.len()).contains(&old));
    assert_eq!(store.prune_events(Timestamp(3)).await.unwrap(), old as u64);
    assert_eq!(replay(EventId(0), 100).await, None);
    assert_eq!(replay(log[old - 1].id, 100).await, Some(log.len() - old));
    assert_eq!(
        store.prune_events(Timestamp(3)).await.unwrap(),
        0,
        "nothing twice"
    );
}

pub async fn unread_counters_count_what_each_manager_read(store: &dyn Store) {
    let tg = channel(store, ChannelKind::Telegram, "Bot").await;
    let anna = store
        .create_manager(&new_manager("anna@example.com", "Anna"))
        .await
        .unwrap();
    let admin = Viewer {
        manager: store
            .create_manager(&new_manager("root@example.com", "Root"))
            .await
            .unwrap()
            .id,
        sees_all: true,
    };
    let annas = Viewer {
        manager: anna.id,
        sees_all: false,
    };
    let (d1, _) = accepted(
        store
            .ingest_client_message(&inbound(tg, "1", "a", "x"), Timestamp(1))
            .await
            .unwrap(),
    );
    let (d2, _) = accepted(
        store
            .ingest_client_message(&inbound(tg, "2", "b", "y"), Timestamp(2))
            .await
            .unwrap(),
    );
    // Imported history counts as read by everyone.
    store
        .import_dialog(&import(tg, None, "3", vec![msg(Author::Client, "old", 1)]))
        .await
        .unwrap();
    let unread = |v: Viewer| async move { store.counters(v).await.unwrap().unread_dialogs };
    assert_eq!((unread(admin).await, unread(annas).await), (2, 2));
    store
        .mark_read(d1, admin.manager, Timestamp(3))
        .await
        .unwrap();
    assert_eq!((unread(admin).await, unread(annas).await), (1, 2));
    store
        .reassign(
            d2,
            Some(Responsible::Manager(admin.manager)),
            Responsible::Manager(admin.manager),
            Guard::Any,
            Timestamp(4),
        )
        .await
        .unwrap();
    assert_eq!(unread(annas).await, 1, "Anna no longer sees d2");
    store
        .mark_unread(d1, admin.manager, Timestamp(5))
        .await
        .unwrap();
    assert_eq!(unread(admin).await, 2);
    store
        .mark_read(d1, admin.manager, Timestamp(6))
        .await
        .unwrap();
    store
        .mark_read(d2, admin.manager, Timestamp(6))
        .await
        .unwrap();
    assert_eq!(unread(admin).await, 0);
    store
        .ingest_client_message(&inbound(tg, "1", "c", "z"), Timestamp(7))
        .await
        .unwrap();
    assert_eq!(unread(admin).await, 1);
    let view = store
        .dialog_view(d1, admin, Timestamp(8))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((view.unread_messages, view.marked_unread), (1, false));
    assert!(
        store
            .dialog_view(d2, annas, Timestamp(8))
            .await
            .unwrap()
            .is_none(),
        "not hers to see"
    );
}

pub async fn history_is_imported_once_read_and_quoted_by_external_id(store: &dyn Store) {
    use beseda_core::company::ImportMessage;
    use beseda_core::dialog::HistoryImport;
    let wa = channel(store, ChannelKind::WhatsappBusiness, "WA").await;
    let past = |id: &str, author, at| ImportMessage {
        author,
        body: format!("text {id}"),
        external_id: Some(id.into()),
        created_at: Timestamp(at),
    };
    let h = HistoryImport {
        channel_id: wa,
        contact_external_id: "c".into(),
        contact_name: "Client".into(),
        details: Default::default(),
        closed: true,
        messages: vec![
            past("h1", Author::Client, 10),
            past("h2", Author::Company, 20),
        ],
    };
    let (d, imported) = store.import_history(&h, Timestamp(100)).await.unwrap();
    assert!(imported);
    assert_eq!(
        store.import_history(&h, Timestamp(101)).await.unwrap(),
        (d, false)
    );
    let admin = Viewer {
        manager: beseda_core::ids::ManagerId(1),
        sees_all: true,
    };
    assert_eq!(store.counters(admin).await.unwrap().unread_dialogs, 0);
    let view = store
        .dialog_view(d, admin, Timestamp(100))
        .await
        .unwrap()
        .unwrap();
    assert!(!view.open && view.client.is_some() && view.unread_messages == 0);
    let feed = store.feed(d, FeedPage::Latest, 10).await.unwrap();
    assert_eq!(feed[1].author, beseda_core::dialog::MessageAuthor::Company);
    // A live answer quoting a past message by the channel's id.
    let mut m = inbound(wa, "c", "live", "ответ");
    m.quote_external_id = Some("h2".into());
    store
        .ingest_client_message(&m, Timestamp(200))
        .await
        .unwrap();
    let feed = store.feed(d, FeedPage::Latest, 10).await.unwrap();
    let last = feed.last().unwrap();
    assert_eq!(last.quote.as_ref().map(|q| q.id), Some(feed[1].id));
    assert_eq!(store.counters(admin).await.unwrap().unread_dialogs, 1);
}
