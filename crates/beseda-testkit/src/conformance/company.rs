//! Channels, clients, tags, orders and imported dialogs.

use super::{assert_code, new_manager};
use beseda_core::channel::ChannelKind;
use beseda_core::company::{
    Author, ClientSource, ImportDialog, ImportMessage, NewChannel, NewClient, NewTag, TagColor,
};
use beseda_core::ids::{ChannelId, ClientId, DialogId};
use beseda_core::store::Store;
use beseda_core::time::Timestamp;

pub(crate) async fn channel(store: &dyn Store, kind: ChannelKind, name: &str) -> ChannelId {
    store
        .create_channel(&NewChannel {
            kind,
            name: name.into(),
            capabilities: kind.default_capabilities(),
            created_at: Timestamp(1),
        })
        .await
        .unwrap()
}

pub async fn company_data_is_counted(store: &dyn Store) {
    let empty = store.data_counts().await.unwrap();
    assert_eq!(
        (empty.channels, empty.clients, empty.dialogs, empty.messages),
        (0, 0, 0, 0)
    );
    assert!(!empty.has_company_data());
    let tg = channel(store, ChannelKind::Telegram, "Shop bot").await;
    let vip = store
        .create_tag(&NewTag {
            name: "VIP".into(),
            color: TagColor::Red,
            created_at: Timestamp(1),
        })
        .await
        .unwrap();
    assert_code(
        store
            .create_tag(&NewTag {
                name: "VIP".into(),
                color: TagColor::Blue,
                created_at: Timestamp(1),
            })
            .await,
        "tag_name_taken",
    );
    let b2b = store
        .create_tag(&NewTag {
            name: "B2B".into(),
            color: TagColor::LightGrayBlue,
            created_at: Timestamp(1),
        })
        .await
        .unwrap();
    let tags = store.list_tags().await.unwrap();
    assert_eq!(
        tags.iter()
            .map(|t| (t.id, t.name.as_str(), t.color))
            .collect::<Vec<_>>(),
        [
            (b2b, "B2B", TagColor::LightGrayBlue),
            (vip, "VIP", TagColor::Red)
        ]
    );
    store
        .create_client(&NewClient {
            name: "Мария Иванова".into(),
            phone: Some("+79001234567".into()),
            email: None,
            source: Some(ClientSource {
                channel_id: tg,
                channel_kind: ChannelKind::Telegram,
                channel_name: "Shop bot".into(),
                first_contact_at: Timestamp(5),
                page: None,
                utm: Some(r#"{"utm_source":"ads"}"#.into()),
            }),
            tags: vec![(vip, true)],
            created_at: Timestamp(5),
        })
        .await
        .unwrap();
    let c = store.data_counts().await.unwrap();
    assert_eq!((c.channels, c.clients), (1, 1));
    assert!(c.has_company_data());
}

pub(crate) fn import(
    channel: ChannelId,
    client: Option<ClientId>,
    external: &str,
    messages: Vec<ImportMessage>,
) -> ImportDialog {
    ImportDialog {
        channel_id: channel,
        client_id: client,
        contact_external_id: external.into(),
        contact_name: "Client".into(),
        responsible: None,
        closed: false,
        messages,
    }
}

pub(crate) fn msg(author: Author, body: &str, at: i64) -> ImportMessage {
    ImportMessage {
        author,
        body: body.into(),
        external_id: None,
        created_at: Timestamp(at),
    }
}

pub async fn a_dialog_is_imported_with_its_keys(store: &dyn Store) {
    let m = store
        .create_manager(&new_manager("anna@example.com", "Anna"))
        .await
        .unwrap();
    let wa = channel(store, ChannelKind::WhatsappBusiness, "Support").await;
    let mut d = import(
        wa,
        None,
        "+7900",
        vec![
            msg(Author::Client, "Здравствуйте", 100),
            msg(Author::Manager(m.id), "Добрый день!", 200),
            msg(Author::Client, "Где мой заказ?", 300),
        ],
    );
    d.responsible = Some(m.id);
    let id = store.import_dialog(&d).await.unwrap();
    let s = store.dialog_summary(id).await.unwrap().expect("summary");
    assert_eq!(
        (s.id, s.channel_id, s.client_id, s.open, s.responsible),
        (id, wa, None, true, Some(m.id))
    );
    assert_eq!((s.last_seq, s.last_client_seq), (3, 3));
    assert_eq!(
        s.last_message_author,
        Some(beseda_core::dialog::AuthorKind::Client)
    );
    assert_eq!(s.last_message_preview.as_deref(), Some("Где мой заказ?"));
    assert_eq!(
        (s.last_activity_at, s.waiting_since, s.opened_at),
        (Timestamp(300), Some(Timestamp(300)), Timestamp(100))
    );
    assert_eq!(store.dialog_summary(DialogId(999_999)).await.unwrap(), None);
    let c = store.data_counts().await.unwrap();
    assert_eq!((c.dialogs, c.messages), (1, 3));
}

pub async fn a_repeated_import_changes_nothing(store: &dyn Store) {
    let tg = channel(store, ChannelKind::Telegram, "Bot").await;
    store
        .import_dialog(&import(tg, None, "42", vec![msg(Author::Client, "hi", 1)]))
        .await
        .unwrap();
    let again = import(
        tg,
        None,
        "42",
        vec![
            msg(Author::Client, "hi", 1),
            msg(Author::Client, "again", 2),
        ],
    );
    assert_code(store.import_dialog(&again).await, "contact_exists");
    // An external message id seen before refuses the whole dialog, not just the message.
    let mut dup = import(
        tg,
        None,
        "43",
        vec![msg(Author::Client, "a", 1), msg(Author::Client, "b", 2)],
    );
    dup.messages[0].external_id = Some("m1".into());
    dup.messages[1].external_id = Some("m1".into());
    assert_code(store.import_dialog(&dup).await, "message_exists");
    assert_code(
        store.import_dialog(&import(tg, None, "44", vec![])).await,
        "invalid_value",
    );
    let c = store.data_counts().await.unwrap();
    assert_eq!((c.dialogs, c.messages), (1, 1));
}
