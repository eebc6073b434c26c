//! The storage conformance suite: every store method, as each backend must behave. Each
//! function takes a fresh, migrated store; `tests/conformance.rs` runs each on both backends.

use beseda_core::CoreError;
use beseda_core::channel::ChannelKind;
use beseda_core::company::{
    Author, ClientSource, ImportDialog, ImportMessage, NewChannel, NewClient, NewOrder, NewTag,
    TagColor,
};
use beseda_core::dialog::{
    DeliveryStatus, FeedPage, InboundMessage, Ingested, OutgoingMessage, Responsible, Viewer,
};
use beseda_core::event::{Audience, Event, EventId};
use beseda_core::ids::{ApiTokenId, ChannelId, ClientId, DialogId, GroupId, ManagerId, TagId};
use beseda_core::library::TimeLimits;
use beseda_core::manager::{Grants, NewGroup, NewManager};
use beseda_core::secret::TokenHash;
use beseda_core::store::{Guard, ManagerUpdate, NewSession, Store, Written};
use beseda_core::time::Timestamp;
use beseda_core::values::{Email, Locale, ManagerStatus};

fn new_manager(email: &str, name: &str) -> NewManager {
    NewManager {
        email: Email::parse(email).expect("email"),
        name: name.into(),
        password_hash: format!("hash-of-{email}"),
        locale: None,
        is_system_admin: false,
        created_at: Timestamp(1_000),
    }
}

fn assert_code<T: std::fmt::Debug>(r: Result<T, CoreError>, code: &str) {
    match r {
        Err(e) => assert_eq!(e.code(), code, "{e}"),
        Ok(v) => panic!("expected {code}, got {v:?}"),
    }
}

pub async fn health_answers(store: &dyn Store) {
    store.ping().await.expect("ping");
    assert!(["sqlite", "postgres"].contains(&store.backend()));
}

pub async fn managers_are_created_found_and_listed(store: &dyn Store) {
    let anna = store
        .create_manager(&new_manager("anna@example.com", "Анна"))
        .await
        .unwrap();
    let boris = store
        .create_manager(&NewManager {
            is_system_admin: true,
            locale: Some(Locale::Ru),
            ..new_manager("boris@example.com", "Boris")
        })
        .await
        .unwrap();
    assert_ne!(anna.id, boris.id);
    assert_eq!(anna.email.as_str(), "anna@example.com");
    assert_eq!(
        (
            anna.is_system_admin,
            anna.online,
            anna.status,
            anna.disabled
        ),
        (false, false, ManagerStatus::Free, false)
    );
    assert_eq!(
        (boris.is_system_admin, boris.locale),
        (true, Some(Locale::Ru))
    );
    assert_eq!(store.manager(anna.id).await.unwrap(), Some(anna.clone()));
    assert_eq!(store.manager(ManagerId(999_999)).await.unwrap(), None);

    let creds = store
        .manager_credentials(&anna.email)
        .await
        .unwrap()
        .expect("credentials");
    assert_eq!(
        (creds.manager, creds.password_hash.as_str()),
        (anna.clone(), "hash-of-anna@example.com")
    );
    assert!(
        store
            .manager_credentials(&Email::parse("nobody@example.com").unwrap())
            .await
            .unwrap()
            .is_none()
    );

    let names: Vec<_> = store
        .list_managers()
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(names, ["Boris", "Анна"]);
}

pub async fn a_taken_email_is_a_conflict(store: &dyn Store) {
    store
        .create_manager(&new_manager("anna@example.com", "Anna"))
        .await
        .unwrap();
    assert_code(
        store
            .create_manager(&new_manager("anna@example.com", "Other"))
            .await,
        "email_taken",
    );
    assert_eq!(store.list_managers().await.unwrap().len(), 1);
}

pub async fn managers_are_updated_field_by_field(store: &dyn Store) {
    let m = store
        .create_manager(&new_manager("anna@example.com", "Anna"))
        .await
        .unwrap();
    let u = store
        .update_manager(
            m.id,
            &ManagerUpdate {
                name: Some("Anna K.".into()),
                locale: Some(Some(Locale::Ru)),
                ..Default::default()
            },
            Timestamp(2_000),
        )
        .await
        .unwrap();
    assert_eq!(
        (u.name.as_str(), u.locale, u.is_system_admin),
        ("Anna K.", Some(Locale::Ru), false)
    );
    let u = store
        .update_manager(
            m.id,
            &ManagerUpdate {
                is_system_admin: Some(true),
                disabled: Some(true),
                ..Default::default()
            },
            Timestamp(3_000),
        )
        .await
        .unwrap();
    assert_eq!(
        (u.name.as_str(), u.locale, u.is_system_admin, u.disabled),
        ("Anna K.", Some(Locale::Ru), true, true)
    );
    let u = store
        .update_manager(
            m.id,
            &ManagerUpdate {
                locale: Some(None),
                disabled: Some(false),
                ..Default::default()
            },
            Timestamp(4_000),
        )
        .await
        .unwrap();
    assert_eq!(
        (u.locale, u.disabled, u.is_system_admin),
        (None, false, true)
    );
    assert_code(
        store
            .update_manager(
                ManagerId(999_999),
                &ManagerUpdate::default(),
                Timestamp(5_000),
            )
            .await,
        "not_found",
    );

    let a = store
        .set_availability(m.id, true, ManagerStatus::Lunch, Timestamp(6_000))
        .await
        .unwrap();
    assert_eq!((a.online, a.status), (true, ManagerStatus::Lunch));
    assert_code(
        store
            .set_availability(
                ManagerId(999_999),
                true,
                ManagerStatus::Free,
                Timestamp(6_000),
            )
            .await,
        "not_found",
    );
}

fn session(hash: &str, manager: ManagerId, expires_at: i64) -> NewSession {
    NewSession {
        token_hash: TokenHash(hash.into()),
        manager_id: manager,
        created_at: Timestamp(1_000),
        expires_at: Timestamp(expires_at),
        ip: Some("127.0.0.1".into()),
        user_agent: None,
    }
}

pub async fn a_new_password_ends_every_session(store: &dyn Store) {
    let anna = store
        .create_manager(&new_manager("anna@example.com", "Anna"))
        .await
        .unwrap();
    let boris = store
        .create_manager(&new_manager("boris@example.com", "Boris"))
        .await
        .unwrap();
    store
        .create_session(&session("a1", anna.id, 10_000))
        .await
        .unwrap();
    store
        .create_session(&session("a2", anna.id, 10_000))
        .await
        .unwrap();
    store
        .create_session(&session("b1", boris.id, 10_000))
        .await
        .unwrap();

    store
        .set_password(anna.id, "new-hash", Timestamp(2_000))
        .await
        .unwrap();
    let creds = store
        .manager_credentials(&anna.email)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(creds.password_hash, "new-hash");
    for h in ["a1", "a2"] {
        assert_eq!(
            store
                .session_manager(&TokenHash(h.into()), Timestamp(3_000))
                .await
                .unwrap(),
            None
        );
    }
    assert_eq!(
        store
            .session_manager(&TokenHash("b1".into()), Timestamp(3_000))
            .await
            .unwrap(),
        Some(boris.id)
    );
    assert_code(
        store
            .set_password(ManagerId(999_999), "x", Timestamp(2_000))
            .await,
        "not_found",
    );
}

pub async fn sessions_expire_and_end(store: &dyn Store) {
    let m = store
        .create_manager(&new_manager("anna@example.com", "Anna"))
        .await
        .unwrap();
    store
        .create_session(&session("live", m.id, 10_000))
        .await
        .unwrap();
    store
        .create_session(&session("old", m.id, 5_000))
        .await
        .unwrap();
    let live = TokenHash("live".into());
    assert_eq!(
        store
            .session_manager(&live, Timestamp(9_999))
            .await
            .unwrap(),
        Some(m.id)
    );
    assert_eq!(
        store
            .session_manager(&live, Timestamp(10_000))
            .await
            .unwrap(),
        None,
        "a session ends at its expiry"
    );
    assert_eq!(
        store
            .session_manager(&TokenHash("unknown".into()), Timestamp(1))
            .await
            .unwrap(),
        None
    );

    assert_eq!(
        store
            .delete_expired_sessions(Timestamp(6_000))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .session_manager(&live, Timestamp(6_000))
            .await
            .unwrap(),
        Some(m.id)
    );
    store.delete_session(&live).await.unwrap();
    assert_eq!(
        store
            .session_manager(&live, Timestamp(6_000))
            .await
            .unwrap(),
        None
    );
}

pub async fn api_tokens_belong_to_their_owner(store: &dyn Store) {
    let anna = store
        .create_manager(&new_manager("anna@example.com", "Anna"))
        .await
        .unwrap();
    let boris = store
        .create_manager(&new_manager("boris@example.com", "Boris"))
        .await
        .unwrap();
    let t = store
        .create_api_token(
            anna.id,
            "CRM sync",
            &TokenHash("t1".into()),
            Timestamp(1_000),
        )
        .await
        .unwrap();
    assert_eq!(
        (t.name.as_str(), t.created_at, t.last_used_at),
        ("CRM sync", Timestamp(1_000), None)
    );

    assert_eq!(
        store
            .api_token_manager(&TokenHash("t1".into()), Timestamp(2_000))
            .await
            .unwrap(),
        Some(anna.id)
    );
    assert_eq!(
        store
            .api_token_manager(&TokenHash("nope".into()), Timestamp(2_000))
            .await
            .unwrap(),
        None
    );
    let listed = store.list_api_tokens(anna.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last_used_at, Some(Timestamp(2_000)));
    assert!(store.list_api_tokens(boris.id).await.unwrap().is_empty());

    assert!(
        !store.delete_api_token(boris.id, t.id).await.unwrap(),
        "another manager's token stays"
    );
    assert!(
        !store
            .delete_api_token(anna.id, ApiTokenId(999_999))
            .await
            .unwrap()
    );
    assert!(store.delete_api_token(anna.id, t.id).await.unwrap());
    assert_eq!(
        store
            .api_token_manager(&TokenHash("t1".into()), Timestamp(3_000))
            .await
            .unwrap(),
        None
    );
}

fn grants(chats_admin: bool, delete_dialogs: bool, manage_settings: bool) -> Grants {
    Grants {
        chats_admin,
        view_all_dialogs: false,
        delete_dialogs,
        manage_settings,
    }
}

pub async fn groups_grant_their_members(store: &dyn Store) {
    let anna = store
        .create_manager(&new_manager("anna@example.com", "Anna"))
        .await
        .unwrap();
    let boris = store
        .create_manager(&new_manager("boris@example.com", "Boris"))
        .await
        .unwrap();
    let seniors = store
        .create_group(&NewGroup {
            name: "Seniors".into(),
            grants: grants(false, true, false),
            created_at: Timestamp(1),
        })
        .await
        .unwrap();
    let admins = store
        .create_group(&NewGroup {
            name: "Admins".into(),
            grants: grants(false, false, true),
            created_at: Timestamp(1),
        })
        .await
        .unwrap();
    assert!(seniors.members.is_empty());
    assert_code(
        store
            .create_group(&NewGroup {
                name: "Seniors".into(),
                grants: Grants::default(),
                created_at: Timestamp(1),
            })
            .await,
        "group_name_taken",
    );

    let s = store
        .set_group_members(seniors.id, &[boris.id, anna.id, anna.id])
        .await
        .unwrap();
    assert_eq!(s.members, vec![anna.id, boris.id]);
    store
        .set_group_members(admins.id, &[anna.id])
        .await
        .unwrap();
    assert_eq!(
        store.grants_of(anna.id).await.unwrap(),
        grants(false, true, true)
    );
    assert_eq!(
        store.grants_of(boris.id).await.unwrap(),
        grants(false, true, false)
    );

    // A member that does not exist refuses the whole change.
    let r = store
        .set_group_members(seniors.id, &[boris.id, ManagerId(999_999)])
        .await;
    assert_code(r, "invalid_value");
    let groups = store.list_groups().await.unwrap();
    assert_eq!(
        groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(),
        ["Admins", "Seniors"]
    );
    assert_eq!(
        groups[1].members,
        vec![anna.id, boris.id],
        "nothing changed on refusal"
    );
    assert_code(
        store.set_group_members(GroupId(999_999), &[anna.id]).await,
        "not_found",
    );

    let u = store
        .update_group(seniors.id, Some("Leads"), Some(grants(true, false, false)))
        .await
        .unwrap();
    assert_eq!(
        (u.name.as_str(), u.grants, u.members.len()),
        ("Leads", grants(true, false, false), 2)
    );
    let u = store.update_group(seniors.id, None, None).await.unwrap();
    assert_eq!(u.name, "Leads");
    assert_code(
        store.update_group(seniors.id, Some("Admins"), None).await,
        "group_name_taken",
    );
    assert_code(
        store.update_group(GroupId(999_999), None, None).await,
        "not_found",
    );

    store.delete_group(admins.id).await.unwrap();
    assert_eq!(
        store.grants_of(anna.id).await.unwrap(),
        grants(true, false, false)
    );
    assert_code(store.delete_group(admins.id).await, "not_found");
}

async fn channel(store: &dyn Store, kind: ChannelKind, name: &str) -> ChannelId {
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
    let client = store
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
    store
        .create_order(&NewOrder {
            number: "A-1".into(),
            client_id: client,
            manager_id: None,
            status: "new".into(),
            total_minor: 150_000,
            currency: "RUB".into(),
            created_at: Timestamp(6),
        })
        .await
        .unwrap();
    let dup = NewOrder {
        number: "A-1".into(),
        client_id: client,
        manager_id: None,
        status: "new".into(),
        total_minor: 1,
        currency: "RUB".into(),
        created_at: Timestamp(7),
    };
    assert_code(store.create_order(&dup).await, "order_number_taken");
    let c = store.data_counts().await.unwrap();
    assert_eq!((c.channels, c.clients), (1, 1));
    assert!(c.has_company_data());
}

fn import(
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

fn msg(author: Author, body: &str, at: i64) -> ImportMessage {
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
    assert_eq!(s.last_message_author.as_deref(), Some("client"));
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

fn inbound(channel: ChannelId, contact: &str, external: &str, body: &str) -> InboundMessage {
    InboundMessage {
        channel_id: channel,
        contact_external_id: contact.into(),
        contact_name: format!("Client {contact}"),
        external_id: external.into(),
        body: body.into(),
        sent_at: Timestamp(500),
    }
}

fn accepted(w: Written<Ingested>) -> (DialogId, Vec<Event>) {
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
    assert_eq!(
        events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        ["message_new"]
    );
    assert_eq!(events[0].audience, Audience::Dialog(None));
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
        .close_dialog(d, m.id, Guard::Any, Timestamp(2_000))
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
    assert_eq!(events.len(), 2, "the reopening and the message");
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
        .reassign(d, to_anna, anna.id, Guard::Unassigned, Timestamp(2))
        .await
        .unwrap();
    // Boris checked the dialog before Anna took it; his writes fail now.
    assert_code(
        store
            .reassign(
                d,
                Some(Responsible::Manager(boris.id)),
                boris.id,
                Guard::Unassigned,
                Timestamp(3),
            )
            .await,
        "dialog_not_yours",
    );
    let reply = OutgoingMessage {
        dialog_id: d,
        author: boris.id,
        body: "mine".into(),
        quote: None,
    };
    assert_code(
        store
            .append_company_message(&reply, Guard::ResponsibleIs(boris.id), Timestamp(3))
            .await,
        "dialog_not_yours",
    );
    assert_code(
        store
            .close_dialog(d, boris.id, Guard::ResponsibleIs(boris.id), Timestamp(3))
            .await,
        "dialog_not_yours",
    );
    let ok = OutgoingMessage {
        dialog_id: d,
        author: anna.id,
        body: "Добрый день".into(),
        quote: None,
    };
    let w = store
        .append_company_message(&ok, Guard::ResponsibleIs(anna.id), Timestamp(4))
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
            anna.id,
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

    let log = store.events_after(EventId(0), 100).await.unwrap();
    let summary: Vec<(&str, Audience)> =
        log.iter().map(|e| (e.kind.as_str(), e.audience)).collect();
    let annas = Audience::Dialog(Some(Responsible::Manager(anna.id)));
    assert_eq!(
        summary,
        [
            ("message_new", Audience::Dialog(None)),
            ("message_new", annas),
            (
                "dialog_gone",
                Audience::Left {
                    before: None,
                    after: Some(Responsible::Manager(anna.id))
                }
            ),
            ("draft_saved", Audience::Manager(anna.id)),
            ("message_new", annas),
            ("inbound_refused", Audience::Audit),
        ]
    );
    assert_eq!(
        log[0].json, first[0].json,
        "the stored wire form is the published one"
    );
    assert_eq!(log[1].id, w.events[0].id);
    assert!(log.windows(2).all(|p| p[0].id < p[1].id));
    assert_eq!(store.events_after(log[3].id, 100).await.unwrap().len(), 2);
    assert_eq!(store.events_after(EventId(0), 2).await.unwrap().len(), 2);
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
            admin.manager,
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
    assert_eq!(
        w.events
            .iter()
            .map(|e| (e.kind.as_str(), e.dialog_id))
            .collect::<Vec<_>>(),
        [("client_updated", Some(d))]
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
