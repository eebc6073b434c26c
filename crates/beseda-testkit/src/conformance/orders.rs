//! Orders (F05, F40): numbered by the CRM or by us, linked to one of the client's dialogs with
//! the client's source, changed in place, each change announced to the dialog.

use super::assert_code;
use super::company::channel;
use super::dialogs::{accepted, inbound};
use beseda_core::channel::ChannelKind;
use beseda_core::event::{Audience, DomainEvent};
use beseda_core::order::{Currency, NewOrder, OrderChange, OrderItem, OrderStatus};
use beseda_core::store::Store;
use beseda_core::time::Timestamp;

pub async fn orders_are_numbered_linked_sourced_and_changed(store: &dyn Store) {
    let tg = channel(store, ChannelKind::Telegram, "Shop bot").await;
    let (d, _) = accepted(
        store
            .ingest_client_message(&inbound(tg, "c", "e1", "I'd like two"), Timestamp(1_000))
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
    let tea = OrderItem {
        name: "Green tea".into(),
        quantity: 2,
        price_minor: 45_000,
    };
    let new = NewOrder {
        number: None,
        client_id: client,
        dialog_id: Some(d),
        manager_id: None,
        status: OrderStatus::new_order(),
        items: vec![tea.clone()],
        total_minor: 90_000,
        currency: Currency::parse("RUB").unwrap(),
        with_source: true,
        created_at: Timestamp(2_000),
    };
    let w = store.create_order(&new).await.unwrap();
    let ours = w.value;
    assert_eq!(ours.number, ours.id.0.to_string(), "numbered by us");
    assert_eq!(ours.items, std::slice::from_ref(&tea));
    assert_eq!((ours.total_minor, ours.currency.as_str()), (90_000, "RUB"));
    let source = ours.source.clone().expect("the client's source (F05)");
    assert_eq!(source.channel_name.as_deref(), Some("Shop bot"));
    assert_eq!(source.first_contact_at, Some(Timestamp(1_000)));
    assert_events!(w.events, [DomainEvent::OrderChanged { .. } => Audience::Dialog(None)]);

    // The CRM's own number; taken twice is a conflict.
    let crm = NewOrder {
        number: Some("CRM-7".into()),
        dialog_id: None,
        with_source: false,
        created_at: Timestamp(3_000),
        ..new.clone()
    };
    let theirs = store.create_order(&crm).await.unwrap();
    assert!(theirs.events.is_empty(), "no dialog to tell");
    assert_eq!(theirs.value.source, None);
    assert_code(store.create_order(&crm).await, "order_number_taken");
    let again = store
        .create_order(&NewOrder {
            created_at: Timestamp(3_600),
            ..new.clone()
        })
        .await
        .unwrap();
    assert_eq!(again.value.number, again.value.id.0.to_string());

    // Newest first.
    let listed: Vec<_> = store
        .client_orders(client, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0], again.value.id);
    assert_eq!(listed[2], ours.id);

    // A change: the status and the lines; the rest stays.
    let change = OrderChange {
        status: Some(OrderStatus::parse("paid").unwrap()),
        items: Some((vec![tea.clone(), tea], 180_000)),
        currency: None,
        dialog_id: None,
    };
    let w = store
        .change_order(ours.id, &change, Timestamp(4_000))
        .await
        .unwrap();
    assert_eq!(w.value.status.as_str(), "paid");
    assert_eq!((w.value.items.len(), w.value.total_minor), (2, 180_000));
    assert_eq!(
        (w.value.created_at, w.value.updated_at),
        (Timestamp(2_000), Timestamp(4_000))
    );
    assert_eq!(w.value.source, ours.source);
    assert_eq!(w.events.len(), 1);
    assert_eq!(store.order(ours.id).await.unwrap(), Some(w.value));

    // Linking the CRM's order to the dialog; another client's dialog is refused.
    let linked = store
        .change_order(
            theirs.value.id,
            &OrderChange {
                dialog_id: Some(d),
                ..OrderChange::default()
            },
            Timestamp(5_000),
        )
        .await
        .unwrap();
    assert_eq!(linked.value.dialog_id, Some(d));
    let (other, _) = accepted(
        store
            .ingest_client_message(&inbound(tg, "someone", "e9", "hi"), Timestamp(6_000))
            .await
            .unwrap(),
    );
    assert_code(
        store
            .change_order(
                theirs.value.id,
                &OrderChange {
                    dialog_id: Some(other),
                    ..OrderChange::default()
                },
                Timestamp(7_000),
            )
            .await,
        "dialog_of_another_client",
    );
    assert_eq!(
        store
            .order(theirs.value.id)
            .await
            .unwrap()
            .unwrap()
            .dialog_id,
        Some(d),
        "refused: nothing changed"
    );
}
