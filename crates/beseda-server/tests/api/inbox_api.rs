//! The dialog list (F12, F19–F24, F33) and search (F06) through the API, on both stores: each
//! filter's meaning, both sorts, keyset pages while messages arrive, visibility, bulk delete.

use crate::common::{ADMIN_EMAIL, TestApp};
use beseda_core::channel::ChannelKind;
use beseda_core::company::TagColor;
use beseda_core::dialog::{ContactDetails, InboundMessage, Ingested, Responsible};
use beseda_core::ids::{ChannelId, ClientId, DialogId, ManagerId, TagId};
use beseda_core::manager::Actor;
use beseda_core::time::Timestamp;
use serde_json::{Value, json};

on_both_backends!(
    f12_rows_carry_name_channel_last_message_draft_unread_and_pinned_tags,
    f20_activity_and_processing_order,
    f21_filters_by_responsible_channel_status_and_last_author,
    f23_the_date_filter_finds_dialogs_with_a_message_in_the_period,
    f24_tag_filters_and_the_panel_counts,
    f06_search_over_names_contacts_channels_and_message_text,
    f33_search_and_list_show_only_what_the_caller_may_see,
    f19_bulk_delete_needs_the_permission_and_leaves_everything,
    keyset_pages_neither_skip_nor_repeat_while_messages_arrive,
    bad_filters_and_foreign_cursors_are_refused,
);

/// A client writes; returns the dialog.
async fn writes(app: &TestApp, ch: ChannelId, contact: &str, name: &str, body: &str) -> i64 {
    writes_with(app, ch, contact, name, body, ContactDetails::default()).await
}

async fn writes_with(
    app: &TestApp,
    ch: ChannelId,
    contact: &str,
    name: &str,
    body: &str,
    details: ContactDetails,
) -> i64 {
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let m = InboundMessage {
        channel_id: ch,
        contact_external_id: contact.into(),
        contact_name: name.into(),
        external_id: format!("{contact}-{n}"),
        body: body.into(),
        sent_at: Timestamp(1_000 + n),
        details,
        attachments: Vec::new(),
        quote_external_id: None,
    };
    match app.state.dialogs.receive(m).await.unwrap() {
        Ingested::Accepted { dialog_id, .. } => dialog_id.0,
        other => panic!("{other:?}"),
    }
}

static NEXT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

async fn admin(app: &TestApp) -> Actor {
    app.managers_actor(app.admin.id).await
}

async fn reply(app: &TestApp, actor: &Actor, d: i64, body: &str) {
    app.state
        .dialogs
        .send(actor, DialogId(d), body, None, &[])
        .await
        .unwrap();
}

async fn assign(app: &TestApp, d: i64, to: Option<ManagerId>) {
    let a = admin(app).await;
    app.state
        .dialogs
        .assign(&a, DialogId(d), to.map(Responsible::Manager))
        .await
        .unwrap();
}

async fn client_of(app: &TestApp, d: i64) -> ClientId {
    let a = admin(app).await;
    app.state
        .dialogs
        .view(&a, DialogId(d))
        .await
        .unwrap()
        .client
        .unwrap()
        .id
}

async fn tag(app: &TestApp, name: &str, color: TagColor) -> TagId {
    let a = admin(app).await;
    app.state
        .library
        .create_tag(&a, name, color)
        .await
        .unwrap()
        .id
}

async fn put_tag(app: &TestApp, d: i64, t: TagId, pinned: bool) {
    let a = admin(app).await;
    let c = client_of(app, d).await;
    app.state
        .library
        .tag_client(&a, c, t, pinned)
        .await
        .unwrap();
}

async fn f12_rows_carry_name_channel_last_message_draft_unread_and_pinned_tags(app: TestApp) {
    let tg = app.channel(ChannelKind::Telegram).await;
    let details = ContactDetails {
        avatar_url: Some("https://cdn.example.com/anna.jpg".into()),
        ..Default::default()
    };
    let d = writes_with(
        &app,
        tg,
        "c1",
        "Анна Петрова",
        "Здравствуйте! Есть диван?",
        details,
    )
    .await;
    writes(&app, tg, "c1", "Анна Петрова", "Жду ответа").await;
    let vip = tag(&app, "VIP", TagColor::Red).await;
    let lead = tag(&app, "lead", TagColor::Blue).await;
    put_tag(&app, d, lead, false).await;
    put_tag(&app, d, vip, true).await;
    let a = admin(&app).await;
    app.state
        .dialogs
        .save_draft(&a, DialogId(d), "Да, есть")
        .await
        .unwrap();
    let c = app.as_(ADMIN_EMAIL).await;
    let (_, page) = c.get("/api/v1/dialogs").await;
    let row = &page["dialogs"][0];
    assert_eq!(row["id"], d);
    assert_eq!(row["contact_name"], "Анна Петрова");
    assert_eq!(row["photo_url"], "https://cdn.example.com/anna.jpg");
    assert_eq!(
        (
            row["channel"]["kind"].as_str(),
            row["channel"]["name"].as_str()
        ),
        (Some("telegram"), Some("Telegram channel"))
    );
    assert_eq!(row["last_message_preview"], "Жду ответа");
    assert_eq!(row["draft"], "Да, есть");
    assert_eq!(row["unread_messages"], 2);
    assert_eq!(row["client_tags"][0]["tag"]["name"], "VIP");
    assert_eq!(row["client_tags"][0]["pinned"], true);
    assert_eq!(row["client_tags"][1]["pinned"], false);
    assert!(row["waiting_since"].is_i64());
    // A system event (closing) does not become the row's last message.
    app.state.dialogs.close(&a, DialogId(d)).await.unwrap();
    let (_, page) = c.get("/api/v1/dialogs").await;
    assert_eq!(page["dialogs"][0]["last_message_preview"], "Жду ответа");
    assert_eq!(page["next_cursor"], Value::Null);
}

async fn f20_activity_and_processing_order(app: TestApp) {
    let tg = app.channel(ChannelKind::Telegram).await;
    let a = admin(&app).await;
    let answered = writes(&app, tg, "c1", "One", "hi").await;
    let older = writes(&app, tg, "c2", "Two", "hi").await;
    let newer = writes(&app, tg, "c3", "Three", "hi").await;
    reply(&app, &a, answered, "hello").await;
    let c = app.as_(ADMIN_EMAIL).await;
    assert_eq!(c.dialog_ids("").await, [answered, newer, older]);
    assert_eq!(
        c.dialog_ids("&sort=activity").await,
        [answered, newer, older]
    );
    // Waiting longest first, then the rest by activity.
    assert_eq!(
        c.dialog_ids("&sort=processing").await,
        [older, newer, answered]
    );
    let (_, panel) = c.get("/api/v1/dialogs/filters").await;
    assert_eq!(panel["processing_order"], false, "no time limits yet");
    c.put(
        "/api/v1/settings/time-limits",
        json!({"warning_secs": 60, "danger_secs": 300}),
    )
    .await;
    let (_, panel) = c.get("/api/v1/dialogs/filters").await;
    assert_eq!(
        (
            panel["processing_order"].as_bool(),
            panel["bot_filter"].as_bool()
        ),
        (Some(true), Some(false))
    );
}

async fn f21_filters_by_responsible_channel_status_and_last_author(app: TestApp) {
    let tg = app.channel(ChannelKind::Telegram).await;
    let vk = app.channel(ChannelKind::Vk).await;
    let anna = app.manager("anna@example.com", "Anna").await;
    let boris = app.manager("boris@example.com", "Boris").await;
    let a = admin(&app).await;
    let d1 = writes(&app, tg, "c1", "One", "hi").await;
    let d2 = writes(&app, vk, "c2", "Two", "hi").await;
    let d3 = writes(&app, tg, "c3", "Three", "hi").await;
    let d4 = writes(&app, vk, "c4", "Four", "hi").await;
    assign(&app, d1, Some(anna.id)).await;
    assign(&app, d2, Some(boris.id)).await;
    reply(&app, &a, d3, "answer").await;
    app.state.dialogs.close(&a, DialogId(d4)).await.unwrap();
    let c = app.as_(ADMIN_EMAIL).await;
    assert_eq!(
        c.dialog_ids(&format!("&responsible={}", anna.id)).await,
        [d1]
    );
    assert_eq!(
        c.dialog_ids(&format!("&responsible={},{}", anna.id, boris.id))
            .await,
        [d2, d1]
    );
    // An administrator's reply does not take the dialog: d3 and d4 are nobody's.
    assert_eq!(c.dialog_ids("&responsible=none").await, [d3, d4]);
    assert_eq!(c.dialog_ids(&format!("&channels={vk}")).await, [d4, d2]);
    assert_eq!(c.dialog_ids(&format!("&channels={vk},{tg}")).await.len(), 4);
    assert_eq!(c.dialog_ids("&status=closed").await, [d4]);
    assert_eq!(c.dialog_ids("&status=open").await, [d3, d2, d1]);
    assert_eq!(c.dialog_ids("&last=company").await, [d3]);
    assert_eq!(c.dialog_ids("&last=client").await, [d4, d2, d1]);
    // Filters combine with AND.
    assert_eq!(
        c.dialog_ids(&format!("&channels={vk}&status=open&last=client"))
            .await,
        [d2]
    );
    assert_eq!(c.dialog_ids("&bots=any").await, Vec::<i64>::new());
}

async fn f23_the_date_filter_finds_dialogs_with_a_message_in_the_period(app: TestApp) {
    let tg = app.channel(ChannelKind::Telegram).await;
    let a = admin(&app).await;
    let d1 = writes(&app, tg, "c1", "One", "hi").await;
    let d2 = writes(&app, tg, "c2", "Two", "hi").await;
    let now = beseda_core::time::Clock::now(&beseda_core::time::SystemClock).0;
    reply(&app, &a, d1, "today").await;
    let c = app.as_(ADMIN_EMAIL).await;
    // The client messages were written at their sent times (seconds after the epoch), the
    // reply now.
    assert_eq!(c.dialog_ids("&from=0&to=100000").await, [d1, d2]);
    let today = format!("&from={}&to={}", now - 1000, now + 3_600_000);
    assert_eq!(c.dialog_ids(&today).await, [d1]);
    let (_, page) = c.get(&format!("/api/v1/dialogs?{}", &today[1..])).await;
    assert_eq!(
        page["open_feed_at"],
        now - 1000,
        "the feed opens at the period's start"
    );
    let (_, feed) = c
        .get(&format!(
            "/api/v1/dialogs/{d1}/messages?since={}",
            now - 1000
        ))
        .await;
    assert_eq!(feed[0]["body"], "today");
}

async fn f24_tag_filters_and_the_panel_counts(app: TestApp) {
    let tg = app.channel(ChannelKind::Telegram).await;
    let d1 = writes(&app, tg, "c1", "One", "hi").await;
    let d2 = writes(&app, tg, "c2", "Two", "hi").await;
    let d3 = writes(&app, tg, "c3", "Three", "hi").await;
    let vip = tag(&app, "VIP", TagColor::Red).await;
    let lead = tag(&app, "Лид", TagColor::Blue).await;
    let cold = tag(&app, "cold", TagColor::Gray).await;
    put_tag(&app, d1, vip, true).await;
    put_tag(&app, d1, lead, false).await;
    put_tag(&app, d2, lead, false).await;
    let c = app.as_(ADMIN_EMAIL).await;
    assert_eq!(c.dialog_ids("").await, [d3, d2, d1], "All");
    assert_eq!(c.dialog_ids("&tags=none").await, [d3]);
    assert_eq!(c.dialog_ids(&format!("&tags={lead}")).await, [d2, d1]);
    assert_eq!(
        c.dialog_ids(&format!("&tags={vip},{lead}")).await,
        [d1],
        "several tags mean AND"
    );
    assert_eq!(
        c.dialog_ids(&format!("&tags={cold}")).await,
        Vec::<i64>::new()
    );
    assert_eq!(c.dialog_ids("&pinned=true").await, [d1]);
    assert_eq!(
        c.dialog_ids(&format!("&tags={lead}&pinned=true")).await,
        Vec::<i64>::new()
    );
    assert_eq!(
        c.dialog_ids(&format!("&tags={vip}&pinned=true")).await,
        [d1]
    );

    let (_, panel) = c.get("/api/v1/dialogs/filters").await;
    let counts: Vec<(&str, i64)> = panel["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap(), t["dialogs"].as_i64().unwrap()))
        .collect();
    assert_eq!(counts, [("Лид", 2), ("VIP", 1), ("cold", 0)], "most first");
    assert_eq!(panel["tags"][1]["color"], "red");
    let (_, panel) = c.get("/api/v1/dialogs/filters?tag_search=ЛИ").await;
    assert_eq!(panel["tags"].as_array().unwrap().len(), 1);
    let (_, panel) = c.get("/api/v1/dialogs/filters?pinned=true").await;
    assert_eq!(panel["tags"][0]["name"], "VIP");
    assert_eq!(panel["tags"][0]["dialogs"], 1);
    assert_eq!(panel["tags"][1]["dialogs"], 0);
}

async fn f06_search_over_names_contacts_channels_and_message_text(app: TestApp) {
    let tg = app.channel(ChannelKind::Telegram).await;
    let wa = app.channel(ChannelKind::WhatsappBusiness).await;
    let details = ContactDetails {
        phone: Some("+7 900 123-45-67".into()),
        email: Some("maria@example.com".into()),
        ..Default::default()
    };
    let maria = writes_with(
        &app,
        tg,
        "c1",
        "Мария Иванова",
        "Подскажите, когда ДОСТАВКА?",
        details,
    )
    .await;
    let john = writes(
        &app,
        wa,
        "c2",
        "John Smith",
        "Hello World, is the sofa in stock?",
    )
    .await;
    writes(&app, wa, "c2", "John Smith", "Доставка в Казань есть?").await;
    let c = app.as_(ADMIN_EMAIL).await;
    let search = |q: &str| {
        let c = c.clone();
        let path = format!("/api/v1/search?q={}", urlencode(q));
        async move { c.get(&path).await.1 }
    };
    let dialog_ids = |r: &Value| {
        r["dialogs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        dialog_ids(&search("иванова").await),
        [maria],
        "a name, in any case"
    );
    assert_eq!(
        dialog_ids(&search("MARIA@EXAMPLE").await),
        [maria],
        "an email"
    );
    assert_eq!(dialog_ids(&search("9001234").await), [maria], "a phone");
    assert_eq!(
        dialog_ids(&search("whatsapp").await),
        [john],
        "a channel's name"
    );
    let r = search("доставк").await;
    assert_eq!(r["messages_searched"], true);
    let hits: Vec<i64> = r["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["dialog_id"].as_i64().unwrap())
        .collect();
    assert_eq!(hits, [john, maria], "Cyrillic in any case, newest first");
    assert!(
        r["messages"][1]["context"]
            .as_str()
            .unwrap()
            .contains("ДОСТАВКА")
    );
    let r = search("world").await;
    assert_eq!(r["messages"][0]["dialog_id"], john);
    assert_eq!(r["messages"][0]["contact_name"], "John Smith");
    // A hit opens the dialog at that message.
    let hit = r["messages"][0]["message_id"].as_i64().unwrap();
    let (_, feed) = c
        .get(&format!("/api/v1/dialogs/{john}/messages?around={hit}"))
        .await;
    assert!(feed.as_array().unwrap().iter().any(|m| m["id"] == hit));
    // Short text: dialogs only, and a flag that says so.
    let r = search("Ив").await;
    assert_eq!(
        (r["messages_searched"].as_bool(), dialog_ids(&r)),
        (Some(false), vec![maria])
    );
    assert_eq!(r["messages"].as_array().unwrap().len(), 0);
    let (status, e) = c.get("/api/v1/search?q=%20").await;
    assert_eq!((status, e["field"].as_str()), (422, Some("q")));
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn f33_search_and_list_show_only_what_the_caller_may_see(app: TestApp) {
    let tg = app.channel(ChannelKind::Telegram).await;
    let anna = app.manager("anna@example.com", "Anna").await;
    let boris = app.manager("boris@example.com", "Boris").await;
    let d1 = writes(&app, tg, "c1", "Ольга", "секретный заказ номер 77").await;
    let d2 = writes(&app, tg, "c2", "Пётр", "другой вопрос").await;
    assign(&app, d1, Some(anna.id)).await;
    let a = app.as_("anna@example.com").await;
    let b = app.as_("boris@example.com").await;
    assert_eq!(a.dialog_ids("").await, [d2, d1]);
    assert_eq!(
        b.dialog_ids("").await,
        [d2],
        "boris sees the unassigned one only"
    );
    let (_, r) = a
        .get("/api/v1/search?q=%D1%81%D0%B5%D0%BA%D1%80%D0%B5%D1%82")
        .await;
    assert_eq!(r["messages"].as_array().unwrap().len(), 1);
    assign(&app, d1, Some(boris.id)).await;
    let (_, r) = a
        .get("/api/v1/search?q=%D1%81%D0%B5%D0%BA%D1%80%D0%B5%D1%82")
        .await;
    assert_eq!(
        r["messages"].as_array().unwrap().len(),
        0,
        "anna lost the dialog: its text too"
    );
    let (_, r) = a
        .get("/api/v1/search?q=%D0%9E%D0%BB%D1%8C%D0%B3%D0%B0")
        .await;
    assert_eq!(
        r["dialogs"].as_array().unwrap().len(),
        0,
        "and its client's name"
    );
    assert_eq!(a.dialog_ids("").await, [d2]);
    let (_, r) = b
        .get("/api/v1/search?q=%D1%81%D0%B5%D0%BA%D1%80%D0%B5%D1%82")
        .await;
    assert_eq!(r["messages"][0]["dialog_id"], d1);
}

async fn f19_bulk_delete_needs_the_permission_and_leaves_everything(app: TestApp) {
    let tg = app.channel(ChannelKind::Telegram).await;
    let vk = app.channel(ChannelKind::Vk).await;
    app.manager("anna@example.com", "Anna").await;
    let d1 = writes(&app, tg, "c1", "One", "удалить меня").await;
    let d2 = writes(&app, tg, "c2", "Two", "hi").await;
    let d3 = writes(&app, vk, "c3", "Three", "hi").await;
    let d4 = writes(&app, vk, "c4", "Four", "hi").await;
    let anna = app.as_("anna@example.com").await;
    anna.post("/api/v1/dialogs/delete", json!({"ids": [d1]}))
        .refused(403, "forbidden")
        .await;
    let c = app.as_(ADMIN_EMAIL).await;
    assert_eq!(c.dialog_ids("").await.len(), 4, "nothing was deleted");
    let counters = || async {
        c.get("/api/v1/me/counters").await.1["unread_dialogs"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(counters().await, 4);
    let (status, r) = c.post("/api/v1/dialogs/delete", json!({"ids": [d1]})).await;
    assert_eq!((status, r["deleted"].as_i64()), (200, Some(1)));
    assert_eq!(c.dialog_ids("").await, [d4, d3, d2]);
    assert_eq!(counters().await, 3);
    let (_, r) = c
        .get("/api/v1/search?q=%D1%83%D0%B4%D0%B0%D0%BB%D0%B8%D1%82%D1%8C")
        .await;
    assert_eq!(r["messages"].as_array().unwrap().len(), 0);
    assert_eq!(c.get(&format!("/api/v1/dialogs/{d1}")).await.0, 404);
    let (_, r) = c
        .post(
            "/api/v1/dialogs/delete",
            json!({"filter": {"channels": vk.to_string()}}),
        )
        .await;
    assert_eq!(r["deleted"], 2);
    assert_eq!(c.dialog_ids("").await, [d2]);
    assert_eq!(counters().await, 1);
    let (status, e) = c
        .post(
            "/api/v1/dialogs/delete",
            json!({"filter": {"status": "maybe"}}),
        )
        .await;
    assert_eq!((status, e["field"].as_str()), (422, Some("status")));
    // A deleted dialog's client writes again: the dialog comes back with only the new message unread.
    writes(&app, tg, "c1", "One", "снова я").await;
    assert_eq!(counters().await, 2);
}

async fn keyset_pages_neither_skip_nor_repeat_while_messages_arrive(app: TestApp) {
    let tg = app.channel(ChannelKind::Telegram).await;
    let mut all = Vec::new();
    for i in 0..24 {
        all.push(writes(&app, tg, &format!("c{i}"), "Client", "hi").await);
    }
    let c = app.as_(ADMIN_EMAIL).await;
    let mut seen: Vec<i64> = Vec::new();
    let mut touched = Vec::new();
    let mut cursor: Option<String> = None;
    let mut round = 0;
    loop {
        let mut url = "/api/v1/dialogs?limit=5".to_owned();
        if let Some(cur) = &cursor {
            url.push_str(&format!("&cursor={cur}"));
        }
        let (_, page) = c.get(&url).await;
        seen.extend(
            page["dialogs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["id"].as_i64().unwrap()),
        );
        // Between pages, clients of an already seen and a not yet seen dialog write.
        let (early, late) = (all[all.len() - 1 - round], all[round]);
        writes(
            &app,
            tg,
            &format!("c{}", all.len() - 1 - round),
            "Client",
            "more",
        )
        .await;
        writes(&app, tg, &format!("c{round}"), "Client", "more").await;
        touched.extend([early, late]);
        round += 1;
        match page["next_cursor"].as_str() {
            Some(cur) => cursor = Some(cur.to_owned()),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no row twice: {seen:?}");
    for d in all.iter().filter(|d| !touched.contains(d)) {
        assert!(seen.contains(d), "{d} skipped: {seen:?}");
    }
}

async fn bad_filters_and_foreign_cursors_are_refused(app: TestApp) {
    let tg = app.channel(ChannelKind::Telegram).await;
    for i in 0..3 {
        writes(&app, tg, &format!("c{i}"), "Client", "hi").await;
    }
    let c = app.as_(ADMIN_EMAIL).await;
    for (query, field) in [
        ("status=maybe", "status"),
        ("last=robot", "last"),
        ("responsible=x", "responsible"),
        ("channels=1,a", "channels"),
        ("tags=vip", "tags"),
        ("sort=random", "sort"),
        ("from=abc&to=1", "from"),
        ("from=5&to=1", "to"),
        ("from=5", "to"),
        ("colour=red", "colour"),
    ] {
        let (status, e) = c.get(&format!("/api/v1/dialogs?{query}")).await;
        assert_eq!(
            (status, e["field"].as_str()),
            (422, Some(field)),
            "{query}: {e}"
        );
    }
    let (_, page) = c.get("/api/v1/dialogs?limit=1").await;
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let _ = c
        .get(&format!("/api/v1/dialogs?limit=1&cursor={cursor}"))
        .expect(200)
        .await;
    for other in [
        format!("sort=processing&cursor={cursor}"),
        format!("status=open&cursor={cursor}"),
        "cursor=garbage".into(),
    ] {
        let (status, e) = c.get(&format!("/api/v1/dialogs?{other}")).await;
        assert_eq!(
            (status, e["error"].as_str()),
            (400, Some("invalid_cursor")),
            "{other}"
        );
    }
}
