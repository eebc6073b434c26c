//! The dialog list's reads and bulk delete: filters, keyset pages, tag counts, search.

use super::company::channel;
use super::dialogs::inbound;
use super::new_manager;
use beseda_core::channel::ChannelKind;
use beseda_core::company::{NewTag, TagColor};
use beseda_core::dialog::{Ingested, Responsible, Viewer};
use beseda_core::event::DomainEvent;
use beseda_core::ids::{DialogId, ManagerId};
use beseda_core::inbox::{DialogFilter, DialogQuery, DialogSort, TagFilter};
use beseda_core::store::{Guard, Store};
use beseda_core::time::Timestamp;

async fn dialog(
    store: &dyn Store,
    ch: beseda_core::ids::ChannelId,
    who: &str,
    text: &str,
    at: i64,
) -> DialogId {
    match store
        .ingest_client_message(
            &inbound(ch, who, &format!("{who}-{at}"), text),
            Timestamp(at),
        )
        .await
        .unwrap()
        .value
    {
        Ingested::Accepted { dialog_id, .. } => dialog_id,
        other => panic!("{other:?}"),
    }
}

pub async fn the_list_filters_pages_counts_searches_and_deletes(store: &dyn Store) {
    let tg = channel(store, ChannelKind::Telegram, "Магазин").await;
    let anna = store
        .create_manager(&new_manager("anna@example.com", "Anna"))
        .await
        .unwrap();
    let d1 = dialog(store, tg, "c1", "Нужна ДОСТАВКА завтра", 10).await;
    let d2 = dialog(store, tg, "c2", "hello there", 20).await;
    let d3 = dialog(store, tg, "c3", "ещё вопрос", 30).await;
    store
        .reassign(
            d1,
            Some(Responsible::Manager(anna.id)),
            Responsible::Manager(anna.id),
            Guard::Any,
            Timestamp(40),
        )
        .await
        .unwrap();
    let admin = Viewer {
        manager: ManagerId(anna.id.0 + 1000),
        sees_all: true,
    };
    let as_anna = Viewer {
        manager: anna.id,
        sees_all: false,
    };
    let query = |filter: DialogFilter, after| DialogQuery {
        filter,
        sort: DialogSort::Activity,
        after,
        limit: 2,
    };
    let (page, next) = store
        .list_dialogs(&query(DialogFilter::default(), None), admin, Timestamp(50))
        .await
        .unwrap();
    assert_eq!(page.iter().map(|d| d.id).collect::<Vec<_>>(), [d3, d2]);
    let (rest, none) = store
        .list_dialogs(&query(DialogFilter::default(), next), admin, Timestamp(50))
        .await
        .unwrap();
    assert_eq!(
        (rest.iter().map(|d| d.id).collect::<Vec<_>>(), none),
        (vec![d1], None)
    );
    let open_only = DialogFilter {
        open: Some(true),
        ..Default::default()
    };
    assert_eq!(
        store
            .matching_dialogs(&open_only, admin, None, 10)
            .await
            .unwrap(),
        [d1, d2, d3]
    );
    assert_eq!(
        store
            .matching_dialogs(&open_only, admin, Some(d1), 1)
            .await
            .unwrap(),
        [d2]
    );

    let vip = store
        .create_tag(&NewTag {
            name: "VIP".into(),
            color: TagColor::Red,
            created_at: Timestamp(1),
        })
        .await
        .unwrap();
    let client = store
        .dialog_access(d2)
        .await
        .unwrap()
        .unwrap()
        .client_id
        .unwrap();
    store
        .set_client_tag(client, vip, true, Timestamp(60))
        .await
        .unwrap();
    let counts = store.tag_counts(admin, false).await.unwrap();
    assert_eq!((counts[0].id, counts[0].dialogs), (vip, 1));
    assert_eq!(
        store.tag_counts(as_anna, true).await.unwrap()[0].dialogs,
        1,
        "d2 is unassigned"
    );
    let tagged = DialogFilter {
        tags: TagFilter::AllOf(vec![vip]),
        pinned: true,
        ..Default::default()
    };
    assert_eq!(
        store
            .matching_dialogs(&tagged, admin, None, 10)
            .await
            .unwrap(),
        [d2]
    );
    assert!(store.bots().await.unwrap().is_empty());

    let hits = store
        .search_messages(admin, "доставка", None, 10)
        .await
        .unwrap();
    assert_eq!(hits.iter().map(|h| h.dialog_id).collect::<Vec<_>>(), [d1]);
    assert!(hits[0].context.contains("ДОСТАВКА"));
    assert_eq!(
        store
            .search_messages(admin, "THERE", None, 10)
            .await
            .unwrap()[0]
            .dialog_id,
        d2
    );
    let by_name = store
        .search_dialogs(admin, "client c3", 10, Timestamp(70))
        .await
        .unwrap();
    assert_eq!(by_name.iter().map(|d| d.id).collect::<Vec<_>>(), [d3]);
    let by_channel = store
        .search_dialogs(admin, "магаз", 10, Timestamp(70))
        .await
        .unwrap();
    assert_eq!(by_channel.len(), 3);

    let w = store
        .delete_dialogs(&[d1, d2], anna.id, Timestamp(80))
        .await
        .unwrap();
    assert_eq!(w.value, 2);
    assert_eq!(
        w.events
            .iter()
            .filter(|e| matches!(e.event, DomainEvent::DialogDeleted { .. }))
            .count(),
        2
    );
    let (left, _) = store
        .list_dialogs(&query(DialogFilter::default(), None), admin, Timestamp(90))
        .await
        .unwrap();
    assert_eq!(left.iter().map(|d| d.id).collect::<Vec<_>>(), [d3]);
    assert!(
        store
            .search_messages(admin, "доставка", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.tag_counts(admin, false).await.unwrap()[0].dialogs, 0);
    assert_eq!(store.counters(admin).await.unwrap().unread_dialogs, 1);
    assert_eq!(
        store
            .delete_dialogs(&[d1], anna.id, Timestamp(95))
            .await
            .unwrap()
            .value,
        0,
        "already gone"
    );
}
