//! The chat rules through the public HTTP API, on both stores (F07–F10, F14, F15, F17, F18,
//! F29, F30, F33).

use crate::common::client::Caller;
use crate::common::{ADMIN_EMAIL, TestApp};
use beseda_core::channel::ChannelKind;
use beseda_core::dialog::{Ingested, MessageView, Responsible};
use beseda_core::event::DomainEvent;
use beseda_core::ids::ManagerId;
use serde_json::{Value, json};

on_both_backends!(
    f08_a_client_message_opens_a_dialog_and_reopens_a_closed_one,
    f38_a_repeated_external_id_makes_one_message,
    f33_a_manager_sees_own_and_unassigned_dialogs_only,
    f29_only_the_responsible_manager_or_an_administrator_writes,
    f29_answering_an_unassigned_dialog_takes_it,
    f30_a_message_over_2000_characters_is_refused_with_the_count,
    f15_quotes_must_be_of_the_same_dialog_and_supported_by_the_channel,
    f07_reassignment_takes_the_history_from_the_previous_manager,
    f07_a_closed_dialog_stays_closed_when_reassigned,
    f09_mark_unread_is_for_the_caller_only,
    f02_f03_unread_counts_follow_reading_and_new_messages,
    f10_a_blocked_client_cannot_write_or_be_written_to,
    f14_detaching_keeps_the_client_and_drops_the_link,
    f18_drafts_are_kept_per_manager_and_cleared_on_send,
    f17_the_feed_pages_and_records_who_did_what,
);

async fn manager_client(app: &TestApp, email: &str, name: &str) -> (i64, Caller) {
    let m = app.manager(email, name).await;
    (m.id.0, app.as_(email).await)
}

/// A feed page as the API documents it.
fn typed_feed(feed: Value) -> Vec<MessageView> {
    serde_json::from_value(feed).expect("messages")
}

async fn assign(client: &Caller, dialog: i64, manager: i64) -> u16 {
    client
        .post(
            &format!("/api/v1/dialogs/{dialog}/assign"),
            json!({"to": {"type": "manager", "id": manager}}),
        )
        .await
        .0
}

async fn f08_a_client_message_opens_a_dialog_and_reopens_a_closed_one(app: TestApp) {
    let admin = app.as_(ADMIN_EMAIL).await;
    let tg = app.channel(ChannelKind::Telegram).await;
    let d = app.new_dialog(tg, "42").await;
    let view = admin.get(&format!("/api/v1/dialogs/{d}")).expect(200).await;
    assert_eq!(
        (
            view["open"].clone(),
            view["unread_messages"].clone(),
            view["channel"]["kind"].clone()
        ),
        (json!(true), json!(1), json!("telegram"))
    );
    assert!(view["waiting_since"].is_i64());
    assert_eq!(
        view["client"]["name"], "Client 42",
        "F04: a client card is made for a new contact"
    );

    assert_eq!(
        admin
            .post_empty(&format!("/api/v1/dialogs/{d}/close"))
            .await
            .0,
        204
    );
    let (_, view) = admin.get(&format!("/api/v1/dialogs/{d}")).await;
    assert_eq!(
        (view["open"].clone(), view["waiting_since"].clone()),
        (json!(false), Value::Null)
    );
    app.client_writes(tg, "42", "m2", "Ещё вопрос").await;
    let (_, view) = admin.get(&format!("/api/v1/dialogs/{d}")).await;
    assert_eq!(view["open"], true, "a client message reopens the dialog");
    let (_, feed) = admin.get(&format!("/api/v1/dialogs/{d}/messages")).await;
    let lines: Vec<DomainEvent> = typed_feed(feed)
        .into_iter()
        .filter_map(|m| m.event.map(|e| *e))
        .collect();
    assert!(
        matches!(
            lines.as_slice(),
            [
                DomainEvent::DialogClosed { .. },
                DomainEvent::DialogReopened { by: None }
            ]
        ),
        "F17: closed, then reopened by the client: {lines:?}"
    );

    // A manager's message reopens it too (F08, F29).
    admin
        .post_empty(&format!("/api/v1/dialogs/{d}/close"))
        .await;
    let _ = admin
        .post(
            &format!("/api/v1/dialogs/{d}/messages"),
            json!({"body": "Мы снова здесь"}),
        )
        .expect(201)
        .await;
    let (_, view) = admin.get(&format!("/api/v1/dialogs/{d}")).await;
    assert_eq!(view["open"], true);
}

async fn f38_a_repeated_external_id_makes_one_message(app: TestApp) {
    let tg = app.channel(ChannelKind::Telegram).await;
    let first = app.client_writes(tg, "7", "same", "Привет").await;
    let again = app.client_writes(tg, "7", "same", "Привет").await;
    let (
        Ingested::Accepted {
            dialog_id,
            message_id,
        },
        Ingested::Duplicate {
            dialog_id: d2,
            message_id: m2,
        },
    ) = (first, again)
    else {
        panic!("unexpected results");
    };
    assert_eq!((dialog_id, message_id), (d2, m2));
    let admin = app.as_(ADMIN_EMAIL).await;
    let (_, feed) = admin
        .get(&format!("/api/v1/dialogs/{}/messages", dialog_id.0))
        .await;
    assert_eq!(feed.as_array().unwrap().len(), 1);
}

async fn f33_a_manager_sees_own_and_unassigned_dialogs_only(app: TestApp) {
    let (anna_id, anna) = manager_client(&app, "anna@example.com", "Anna").await;
    let (_, boris) = manager_client(&app, "boris@example.com", "Boris").await;
    let admin = app.as_(ADMIN_EMAIL).await;
    let tg = app.channel(ChannelKind::Telegram).await;
    let d = app.new_dialog(tg, "1").await;
    assert_eq!(
        boris.get(&format!("/api/v1/dialogs/{d}")).await.0,
        200,
        "unassigned: everyone sees it"
    );
    assert_eq!(assign(&admin, d, anna_id).await, 204);
    assert_eq!(anna.get(&format!("/api/v1/dialogs/{d}")).await.0, 200);
    let (status, body) = boris.get(&format!("/api/v1/dialogs/{d}")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("not_found")),
        "not 403: its existence is not revealed"
    );
    assert_eq!(
        boris.get(&format!("/api/v1/dialogs/{d}/messages")).await.0,
        404
    );
    assert_eq!(admin.get("/api/v1/dialogs/424242").await.0, 404);
}

async fn f29_only_the_responsible_manager_or_an_administrator_writes(app: TestApp) {
    let (anna_id, anna) = manager_client(&app, "anna@example.com", "Anna").await;
    let (_, olga) = manager_client(&app, "olga@example.com", "Olga").await;
    let admin = app.as_(ADMIN_EMAIL).await;
    let (_, group) = admin
        .post(
            "/api/v1/groups",
            json!({"name": "Viewers", "grants": {"view_all_dialogs": true}}),
        )
        .await;
    let olga_id = app
        .store
        .manager_credentials(&beseda_core::values::Email::parse("olga@example.com").unwrap())
        .await
        .unwrap()
        .unwrap()
        .manager
        .id;
    admin
        .put(
            &format!("/api/v1/groups/{}/members", group["id"]),
            json!({"members": [olga_id]}),
        )
        .await;

    let tg = app.channel(ChannelKind::Telegram).await;
    let d = app.new_dialog(tg, "1").await;
    assign(&admin, d, anna_id).await;
    let path = format!("/api/v1/dialogs/{d}/messages");
    assert_eq!(
        anna.post(&path, json!({"body": "Добрый день!"})).await.0,
        201
    );
    olga.post(&path, json!({"body": "I can see it, not write"}))
        .refused(403, "dialog_not_yours")
        .await;
    assert_eq!(
        admin
            .post(&path, json!({"body": "An administrator may"}))
            .await
            .0,
        201
    );
    assert_eq!(
        olga.post(&format!("/api/v1/dialogs/{d}/close"), json!({}))
            .await
            .0,
        403
    );
    let (_, feed) = anna.get(&path).await;
    let bodies: Vec<_> = feed
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        !bodies.iter().any(|b| b.contains("not write")),
        "a refusal changes nothing"
    );
}

async fn f29_answering_an_unassigned_dialog_takes_it(app: TestApp) {
    let (anna_id, anna) = manager_client(&app, "anna@example.com", "Anna").await;
    let (_, boris) = manager_client(&app, "boris@example.com", "Boris").await;
    let tg = app.channel(ChannelKind::Telegram).await;
    let d = app.new_dialog(tg, "1").await;
    let (status, m) = anna
        .post(
            &format!("/api/v1/dialogs/{d}/messages"),
            json!({"body": "Я помогу"}),
        )
        .await;
    assert_eq!(
        (status, m["status"].as_str(), m["author"]["name"].as_str()),
        (201, Some("queued"), Some("Anna"))
    );
    let (_, view) = anna.get(&format!("/api/v1/dialogs/{d}")).await;
    assert_eq!(
        view["responsible"],
        json!({"type": "manager", "id": anna_id})
    );
    assert_eq!(
        view["waiting_since"],
        Value::Null,
        "the answer ends the wait"
    );
    assert_eq!(
        boris.get(&format!("/api/v1/dialogs/{d}")).await.0,
        404,
        "the others lose it"
    );
}

async fn f30_a_message_over_2000_characters_is_refused_with_the_count(app: TestApp) {
    let admin = app.as_(ADMIN_EMAIL).await;
    let tg = app.channel(ChannelKind::Telegram).await;
    let d = app.new_dialog(tg, "1").await;
    let path = format!("/api/v1/dialogs/{d}/messages");
    let long = "я".repeat(2001);
    let body = admin
        .post(&path, json!({"body": long}))
        .refused(422, "message_too_long")
        .await;
    assert_eq!(body["details"], json!({"count": 2001, "limit": 2000}));
    let spaced = format!("{} {}", "a".repeat(1000), "b".repeat(1000)) + &" \n".repeat(500);
    assert_eq!(
        admin.post(&path, json!({"body": spaced})).await.0,
        201,
        "whitespace is not counted"
    );
    assert_eq!(admin.post(&path, json!({"body": "   "})).await.0, 422);
    let (_, feed) = admin.get(&path).await;
    assert_eq!(
        feed.as_array().unwrap().len(),
        2,
        "the refused messages left no trace"
    );
}

async fn f15_quotes_must_be_of_the_same_dialog_and_supported_by_the_channel(app: TestApp) {
    let admin = app.as_(ADMIN_EMAIL).await;
    let tg = app.channel(ChannelKind::Telegram).await;
    let d1 = app.new_dialog(tg, "1").await;
    let d2 = app.new_dialog(tg, "2").await;
    let (_, feed1) = admin.get(&format!("/api/v1/dialogs/{d1}/messages")).await;
    let (_, feed2) = admin.get(&format!("/api/v1/dialogs/{d2}/messages")).await;
    let (q1, q2) = (
        feed1[0]["id"].as_i64().unwrap(),
        feed2[0]["id"].as_i64().unwrap(),
    );
    let (status, m) = admin
        .post(
            &format!("/api/v1/dialogs/{d1}/messages"),
            json!({"body": "Отвечаю", "quote_id": q1}),
        )
        .await;
    assert_eq!(
        (
            status,
            m["quote"]["id"].as_i64(),
            m["quote"]["body"].as_str()
        ),
        (201, Some(q1), Some("Здравствуйте!"))
    );
    admin
        .post(
            &format!("/api/v1/dialogs/{d1}/messages"),
            json!({"body": "x", "quote_id": q2}),
        )
        .refused(422, "invalid_quote")
        .await;

    // A channel that cannot quote.
    let mut caps = ChannelKind::Custom.default_capabilities();
    caps.text.quote = false;
    let plain = app
        .store
        .create_channel(&beseda_core::company::NewChannel {
            kind: ChannelKind::Custom,
            name: "No quotes".into(),
            capabilities: caps,
            created_at: beseda_core::time::Timestamp(1),
        })
        .await
        .unwrap();
    let d3 = app.new_dialog(plain, "3").await;
    let (_, feed3) = admin.get(&format!("/api/v1/dialogs/{d3}/messages")).await;
    let q3 = feed3[0]["id"].as_i64().unwrap();
    admin
        .post(
            &format!("/api/v1/dialogs/{d3}/messages"),
            json!({"body": "x", "quote_id": q3}),
        )
        .refused(422, "quote_not_supported")
        .await;
}

async fn f07_reassignment_takes_the_history_from_the_previous_manager(app: TestApp) {
    let (anna_id, anna) = manager_client(&app, "anna@example.com", "Anna").await;
    let (boris_id, boris) = manager_client(&app, "boris@example.com", "Boris").await;
    let (_, carl) = manager_client(&app, "carl@example.com", "Carl").await;
    let admin = app.as_(ADMIN_EMAIL).await;
    let tg = app.channel(ChannelKind::Telegram).await;
    let d = app.new_dialog(tg, "1").await;
    assign(&admin, d, anna_id).await;
    assert_eq!(
        assign(&carl, d, boris_id).await,
        404,
        "Carl does not even see it"
    );
    assert_eq!(
        assign(&anna, d, boris_id).await,
        204,
        "the responsible manager reassigns"
    );
    for path in [
        format!("/api/v1/dialogs/{d}"),
        format!("/api/v1/dialogs/{d}/messages"),
    ] {
        assert_eq!(anna.get(&path).await.0, 404, "{path}");
    }
    assert_eq!(
        anna.post(
            &format!("/api/v1/dialogs/{d}/messages"),
            json!({"body": "still mine?"})
        )
        .await
        .0,
        404
    );
    assert_eq!(boris.get(&format!("/api/v1/dialogs/{d}")).await.0, 200);
    let (_, feed) = admin.get(&format!("/api/v1/dialogs/{d}/messages")).await;
    let last = typed_feed(feed).pop().unwrap();
    assert_eq!(
        last.event.as_deref(),
        Some(&DomainEvent::DialogAssigned {
            reason: None,
            from: Some(Responsible::Manager(ManagerId(anna_id))),
            to: Some(Responsible::Manager(ManagerId(boris_id))),
            by: Responsible::Manager(ManagerId(anna_id)),
        }),
        "F17: the line records who reassigned from whom to whom"
    );
    let (status, body) = admin
        .post(
            &format!("/api/v1/dialogs/{d}/assign"),
            json!({"to": {"type": "manager", "id": 424242}}),
        )
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("to")));
}

async fn f07_a_closed_dialog_stays_closed_when_reassigned(app: TestApp) {
    let (anna_id, _) = manager_client(&app, "anna@example.com", "Anna").await;
    let admin = app.as_(ADMIN_EMAIL).await;
    let tg = app.channel(ChannelKind::Telegram).await;
    let d = app.new_dialog(tg, "1").await;
    admin
        .post_empty(&format!("/api/v1/dialogs/{d}/close"))
        .await;
    assert_eq!(assign(&admin, d, anna_id).await, 204);
    let (_, view) = admin.get(&format!("/api/v1/dialogs/{d}")).await;
    assert_eq!(
        (view["open"].clone(), view["responsible"]["id"].clone()),
        (json!(false), json!(anna_id))
    );
}

async fn f09_mark_unread_is_for_the_caller_only(app: TestApp) {
    let admin = app.as_(ADMIN_EMAIL).await;
    let (_, anna) = manager_client(&app, "anna@example.com", "Anna").await;
    let tg = app.channel(ChannelKind::Telegram).await;
    let d = app.new_dialog(tg, "1").await;
    for c in [&admin, &anna] {
        assert_eq!(
            c.post_empty(&format!("/api/v1/dialogs/{d}/read")).await.0,
            204
        );
    }
    assert_eq!(
        anna.post_empty(&format!("/api/v1/dialogs/{d}/unread"))
            .await
            .0,
        204
    );
    let (_, annas) = anna.get(&format!("/api/v1/dialogs/{d}")).await;
    let (_, admins) = admin.get(&format!("/api/v1/dialogs/{d}")).await;
    assert_eq!(
        (
            annas["marked_unread"].clone(),
            admins["marked_unread"].clone()
        ),
        (json!(true), json!(false))
    );
    assert_eq!(anna.get("/api/v1/me/counters").await.1["unread_dialogs"], 1);
    assert_eq!(
        admin.get("/api/v1/me/counters").await.1["unread_dialogs"],
        0
    );
}

async fn unread_dialogs(client: &Caller) -> i64 {
    client.get("/api/v1/me/counters").await.1["unread_dialogs"]
        .as_i64()
        .unwrap()
}

async fn f02_f03_unread_counts_follow_reading_and_new_messages(app: TestApp) {
    let admin = app.as_(ADMIN_EMAIL).await;
    let (anna_id, anna) = manager_client(&app, "anna@example.com", "Anna").await;
    let tg = app.channel(ChannelKind::Telegram).await;
    let d1 = app.new_dialog(tg, "1").await;
    let d2 = app.new_dialog(tg, "2").await;
    app.client_writes(tg, "1", "1-b", "И ещё").await;
    assert_eq!(unread_dialogs(&admin).await, 2);
    assert_eq!(
        unread_dialogs(&anna).await,
        2,
        "both dialogs are unassigned"
    );
    assert_eq!(
        admin.get(&format!("/api/v1/dialogs/{d1}")).await.1["unread_messages"],
        2
    );

    admin
        .post_empty(&format!("/api/v1/dialogs/{d1}/read"))
        .await;
    assert_eq!(unread_dialogs(&admin).await, 1);
    assert_eq!(
        unread_dialogs(&anna).await,
        2,
        "never shared between managers"
    );
    assert_eq!(
        admin.get(&format!("/api/v1/dialogs/{d1}")).await.1["unread_messages"],
        0
    );
    app.client_writes(tg, "1", "1-c", "Алло?").await;
    assert_eq!(
        unread_dialogs(&admin).await,
        2,
        "a new client message makes it unread again"
    );
    assert_eq!(
        admin.get(&format!("/api/v1/dialogs/{d1}")).await.1["unread_messages"],
        1
    );

    assign(&admin, d2, anna_id).await;
    anna.post_empty(&format!("/api/v1/dialogs/{d2}/read")).await;
    assert_eq!(unread_dialogs(&anna).await, 1);
    // The manager's own message counts as reading.
    admin
        .post(
            &format!("/api/v1/dialogs/{d1}/messages"),
            json!({"body": "Отвечаю"}),
        )
        .await;
    assert_eq!(unread_dialogs(&admin).await, 1);
}

async fn f10_a_blocked_client_cannot_write_or_be_written_to(app: TestApp) {
    let admin = app.as_(ADMIN_EMAIL).await;
    let tg = app.channel(ChannelKind::Telegram).await;
    let d = app.new_dialog(tg, "1").await;
    assert_eq!(
        admin
            .post_empty(&format!("/api/v1/dialogs/{d}/client/block"))
            .await
            .0,
        204
    );
    let (_, view) = admin.get(&format!("/api/v1/dialogs/{d}")).await;
    assert_eq!(view["client_blocked"], true);
    admin
        .post(
            &format!("/api/v1/dialogs/{d}/messages"),
            json!({"body": "hello?"}),
        )
        .refused(409, "client_blocked")
        .await;
    let refused = app
        .client_writes(tg, "1", "while-blocked", "let me in")
        .await;
    assert!(matches!(refused, Ingested::Refused), "{refused:?}");
    let (_, feed) = admin.get(&format!("/api/v1/dialogs/{d}/messages")).await;
    assert!(
        !feed.to_string().contains("let me in"),
        "kept out of the inbox"
    );
    let last = typed_feed(feed).pop().unwrap();
    assert!(
        matches!(
            last.event.as_deref(),
            Some(DomainEvent::ClientBlocked { .. })
        ),
        "{last:?}"
    );

    assert_eq!(
        admin
            .delete(&format!("/api/v1/dialogs/{d}/client/block"))
            .await
            .0,
        204
    );
    assert_eq!(
        admin
            .post(
                &format!("/api/v1/dialogs/{d}/messages"),
                json!({"body": "Снова на связи"})
            )
            .await
            .0,
        201
    );
    assert!(matches!(
        app.client_writes(tg, "1", "after", "спасибо").await,
        Ingested::Accepted { .. }
    ));
}

async fn f14_detaching_keeps_the_client_and_drops_the_link(app: TestApp) {
    let admin = app.as_(ADMIN_EMAIL).await;
    let tg = app.channel(ChannelKind::Telegram).await;
    let d = app.new_dialog(tg, "1").await;
    let (_, before) = admin.get(&format!("/api/v1/dialogs/{d}")).await;
    assert!(before["client"]["id"].is_i64());
    assert_eq!(
        admin
            .post_empty(&format!("/api/v1/dialogs/{d}/client/detach"))
            .await
            .0,
        204
    );
    let (_, after) = admin.get(&format!("/api/v1/dialogs/{d}")).await;
    assert_eq!(after["client"], Value::Null);
    assert_eq!(
        app.store.data_counts().await.unwrap().clients,
        1,
        "the client stays"
    );
    assert_eq!(
        admin
            .post(&format!("/api/v1/dialogs/{d}/client/detach"), json!({}))
            .await
            .0,
        422
    );
}

async fn f18_drafts_are_kept_per_manager_and_cleared_on_send(app: TestApp) {
    let admin = app.as_(ADMIN_EMAIL).await;
    let (_, anna) = manager_client(&app, "anna@example.com", "Anna").await;
    let tg = app.channel(ChannelKind::Telegram).await;
    let d = app.new_dialog(tg, "1").await;
    let r = admin
        .put(
            &format!("/api/v1/dialogs/{d}/draft"),
            json!({"body": "Черновик ответа"}),
        )
        .await;
    assert_eq!(r.0, 204);
    assert_eq!(
        admin.get(&format!("/api/v1/dialogs/{d}")).await.1["draft"],
        "Черновик ответа"
    );
    assert_eq!(
        anna.get(&format!("/api/v1/dialogs/{d}")).await.1["draft"],
        Value::Null,
        "only its author sees it"
    );
    admin
        .post(
            &format!("/api/v1/dialogs/{d}/messages"),
            json!({"body": "Черновик ответа"}),
        )
        .await;
    assert_eq!(
        admin.get(&format!("/api/v1/dialogs/{d}")).await.1["draft"],
        Value::Null,
        "sending clears it"
    );
}

async fn f17_the_feed_pages_and_records_who_did_what(app: TestApp) {
    let admin = app.as_(ADMIN_EMAIL).await;
    let tg = app.channel(ChannelKind::Telegram).await;
    let d = app.new_dialog(tg, "1").await;
    for n in 0..9 {
        app.client_writes(tg, "1", &format!("m{n}"), &format!("сообщение {n}"))
            .await;
    }
    let path = format!("/api/v1/dialogs/{d}/messages");
    let (_, latest) = admin.get(&format!("{path}?limit=4")).await;
    let seqs = |v: &Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|m| m["seq"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(seqs(&latest), [7, 8, 9, 10]);
    let (_, older) = admin
        .get(&format!("{path}?limit=4&before={}", latest[0]["id"]))
        .await;
    assert_eq!(seqs(&older), [3, 4, 5, 6]);
    let (_, around) = admin
        .get(&format!("{path}?limit=4&around={}", older[2]["id"]))
        .await;
    assert_eq!(seqs(&around), [3, 4, 5, 6]);
    let (_, after) = admin
        .get(&format!("{path}?limit=3&after={}", older[3]["id"]))
        .await;
    assert_eq!(seqs(&after), [7, 8, 9]);
    let (status, body) = admin.get(&format!("{path}?before=1&after=2")).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("before")));
    assert_eq!(admin.get(&format!("{path}?limit=500")).await.0, 422);
    admin
        .post(
            &format!("/api/v1/dialogs/{d}/messages"),
            json!({"body": "Ответ"}),
        )
        .await;
    let (_, latest) = admin.get(&format!("{path}?limit=1")).await;
    assert_eq!(
        latest[0]["author"],
        json!({"type": "manager", "id": app.admin.id.0, "name": "Administrator"})
    );
}
