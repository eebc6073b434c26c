//! Live events over the WebSocket: each reaches exactly the managers who may see it, a
//! reassignment stops the stream for the previous manager, a reconnect loses nothing.

use crate::common::{ADMIN_EMAIL, PASSWORD, TestApp};
use beseda_core::channel::ChannelKind;
use beseda_core::dialog::Responsible;
use beseda_core::event::{DomainEvent, EventFrame};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

pub(crate) type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Signs in and returns the session cookie.
pub(crate) async fn session(app: &TestApp, email: &str) -> String {
    let r = reqwest::Client::new()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    cookie.split(';').next().unwrap().to_owned()
}

pub(crate) async fn connect(app: &TestApp, cookie: &str, after: Option<i64>) -> Ws {
    let url = format!(
        "{}/api/v1/ws{}",
        app.base.replace("http://", "ws://"),
        after.map(|a| format!("?after={a}")).unwrap_or_default()
    );
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("cookie", cookie.parse().unwrap());
    let before = app.state.hub.connections();
    let (ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("websocket");
    // The hub registers the connection once the upgrade completes on the server.
    for _ in 0..200 {
        if app.state.hub.connections() > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    ws
}

/// The next event, or `None` when none comes within `wait`.
async fn next(ws: &mut Ws, wait: Duration) -> Option<Value> {
    loop {
        match tokio::time::timeout(wait, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return Some(serde_json::from_str(&t).unwrap()),
            Ok(Some(Ok(_))) => {}
            _ => return None,
        }
    }
}

/// Every event that arrives within `wait`.
async fn drain(ws: &mut Ws, wait: Duration) -> Vec<Value> {
    let mut out = Vec::new();
    while let Some(e) = next(ws, wait).await {
        out.push(e);
    }
    out
}

/// The frames as the API documents them: typed events with their position and dialog.
fn frames(events: &[Value]) -> Vec<EventFrame> {
    events
        .iter()
        .map(|e| serde_json::from_value(e.clone()).expect("an EventFrame"))
        .collect()
}

/// The only frame of `events` is a new message in dialog `d`.
fn one_new_message(events: &[Value], d: i64) -> bool {
    matches!(frames(events).as_slice(),
        [EventFrame { event: DomainEvent::MessageNew(_), dialog_id: Some(id), .. }] if id.0 == d)
}

on_both_backends!(
    f01_a_client_message_reaches_exactly_who_may_see_it,
    f07_after_reassignment_the_previous_manager_hears_nothing_more,
    a_reconnect_with_the_last_event_id_loses_nothing,
    a_reconnect_from_before_the_pruned_log_resyncs,
    a_replay_holds_only_the_dialogs_the_manager_sees_now,
    one_manager_holds_a_bounded_number_of_sockets,
    a_websocket_from_another_site_is_refused,
    f13_the_waiting_mark_moves_live_when_its_limit_passes,
);

async fn f01_a_client_message_reaches_exactly_who_may_see_it(app: TestApp) {
    let anna = app.manager("anna@example.com", "Anna").await;
    app.manager("boris@example.com", "Boris").await;
    let mut admin_ws = connect(&app, &session(&app, ADMIN_EMAIL).await, None).await;
    let mut anna_ws = connect(&app, &session(&app, "anna@example.com").await, None).await;
    let mut boris_ws = connect(&app, &session(&app, "boris@example.com").await, None).await;
    assert_eq!(app.state.hub.connections(), 3);

    let tg = app.channel(ChannelKind::Telegram).await;
    let d = app.new_dialog(tg, "1").await;
    let short = Duration::from_millis(300);
    for ws in [&mut admin_ws, &mut anna_ws, &mut boris_ws] {
        let e = next(ws, Duration::from_secs(5))
            .await
            .expect("everyone hears of an unassigned dialog");
        assert!(one_new_message(std::slice::from_ref(&e), d), "{e}");
        assert_eq!(
            e["data"]["message"]["body"], "Здравствуйте!",
            "F01: the text is in the event"
        );
    }
    app.state
        .dialogs
        .assign(
            &app.managers_actor(app.admin.id).await,
            beseda_core::ids::DialogId(d),
            Some(Responsible::Manager(anna.id)),
        )
        .await
        .unwrap();
    for ws in [&mut admin_ws, &mut anna_ws] {
        let events = drain(ws, short).await;
        assert!(
            matches!(frames(&events).as_slice(), [
                EventFrame { event: DomainEvent::MessageNew(line), .. },
                EventFrame { event: DomainEvent::DialogAssigned { from: None, to: Some(Responsible::Manager(to)), .. }, .. },
            ] if *to == anna.id && line.message.event.is_some()),
            "the feed's line and the event itself: {events:?}"
        );
    }
    let events = drain(&mut boris_ws, short).await;
    assert!(
        matches!(
            frames(&events).as_slice(),
            [EventFrame {
                event: DomainEvent::DialogGone {},
                ..
            }]
        ),
        "Boris learns it is gone: {events:?}"
    );

    app.client_writes(tg, "1", "second", "Вы тут?").await;
    assert!(one_new_message(&drain(&mut anna_ws, short).await, d));
    assert!(one_new_message(&drain(&mut admin_ws, short).await, d));
    assert!(
        drain(&mut boris_ws, short).await.is_empty(),
        "Boris may not see Anna's dialog"
    );
}

async fn f07_after_reassignment_the_previous_manager_hears_nothing_more(app: TestApp) {
    let anna = app.manager("anna@example.com", "Anna").await;
    let boris = app.manager("boris@example.com", "Boris").await;
    let tg = app.channel(ChannelKind::Telegram).await;
    let d = app.new_dialog(tg, "1").await;
    let admin = app.managers_actor(app.admin.id).await;
    let to =
        |m: &beseda_core::manager::Manager| Some(beseda_core::dialog::Responsible::Manager(m.id));
    app.state
        .dialogs
        .assign(&admin, beseda_core::ids::DialogId(d), to(&anna))
        .await
        .unwrap();
    let mut anna_ws = connect(&app, &session(&app, "anna@example.com").await, None).await;
    let short = Duration::from_millis(300);

    app.state
        .dialogs
        .assign(&admin, beseda_core::ids::DialogId(d), to(&boris))
        .await
        .unwrap();
    let events = drain(&mut anna_ws, short).await;
    assert!(
        matches!(frames(&events).as_slice(),
            [EventFrame { event: DomainEvent::DialogGone {}, dialog_id: Some(id), .. }] if id.0 == d),
        "one event telling her the dialog is gone: {events:?}"
    );
    app.client_writes(tg, "1", "x", "Кто-нибудь?").await;
    let annas = app.login("anna@example.com").await;
    annas
        .put(app.url(&format!("/api/v1/dialogs/{d}/draft")))
        .json(&json!({"body": "x"}))
        .send()
        .await
        .unwrap();
    assert!(
        drain(&mut anna_ws, short).await.is_empty(),
        "nothing more about that dialog"
    );
}

async fn a_reconnect_with_the_last_event_id_loses_nothing(app: TestApp) {
    let cookie = session(&app, ADMIN_EMAIL).await;
    let tg = app.channel(ChannelKind::Telegram).await;
    let mut ws = connect(&app, &cookie, None).await;
    app.new_dialog(tg, "1").await;
    let first = next(&mut ws, Duration::from_secs(5)).await.unwrap();
    let last_seen = first["id"].as_i64().unwrap();
    drop(ws);

    // While away: three messages in two dialogs.
    app.client_writes(tg, "1", "a", "раз").await;
    app.new_dialog(tg, "2").await;
    app.client_writes(tg, "2", "b", "два").await;
    let mut ws = connect(&app, &cookie, Some(last_seen)).await;
    let missed = drain(&mut ws, Duration::from_millis(500)).await;
    let bodies: Vec<_> = missed
        .iter()
        .map(|e| {
            e["data"]["message"]["body"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(bodies, ["раз", "Здравствуйте!", "два"]);
    let ids: Vec<i64> = missed.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]) && ids[0] > last_seen,
        "in order, after the last seen: {ids:?}"
    );
    // And it is live again.
    app.client_writes(tg, "2", "c", "три").await;
    assert_eq!(
        next(&mut ws, Duration::from_secs(5)).await.unwrap()["data"]["message"]["body"],
        "три"
    );
}

/// The log is pruned beyond its retention: a screen whose last event is gone from it is told
/// to reload rather than replay a part of what it missed.
async fn a_reconnect_from_before_the_pruned_log_resyncs(app: TestApp) {
    let cookie = session(&app, ADMIN_EMAIL).await;
    let tg = app.channel(ChannelKind::Telegram).await;
    let mut ws = connect(&app, &cookie, None).await;
    app.new_dialog(tg, "1").await;
    let last_seen = next(&mut ws, Duration::from_secs(5)).await.unwrap()["id"]
        .as_i64()
        .unwrap();
    drop(ws);
    app.client_writes(tg, "1", "a", "раз").await;
    let mut state = app.state.clone();
    state.event_retention = Duration::ZERO;
    app.clock.advance(Duration::from_secs(1));
    beseda_server::jobs::housekeeping_once(&state, Duration::from_secs(3600))
        .await
        .unwrap();

    let mut ws = connect(&app, &cookie, Some(last_seen)).await;
    let frames = drain(&mut ws, Duration::from_millis(300)).await;
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!(frames[0]["kind"], "resync");
}

/// A reconnect replays what was missed, but not the events of a dialog taken from the manager
/// meanwhile: only the notice that it is gone.
async fn a_replay_holds_only_the_dialogs_the_manager_sees_now(app: TestApp) {
    let anna = app.manager("anna@example.com", "Anna").await;
    let boris = app.manager("boris@example.com", "Boris").await;
    let tg = app.channel(ChannelKind::Telegram).await;
    let d = app.new_dialog(tg, "1").await;
    let admin = app.managers_actor(app.admin.id).await;
    let assign = |to: beseda_core::ids::ManagerId| {
        app.state.dialogs.assign(
            &admin,
            beseda_core::ids::DialogId(d),
            Some(Responsible::Manager(to)),
        )
    };
    assign(anna.id).await.unwrap();
    let cookie = session(&app, "anna@example.com").await;
    let mut ws = connect(&app, &cookie, None).await;
    app.client_writes(tg, "1", "a", "раз").await;
    let last_seen = next(&mut ws, Duration::from_secs(5)).await.unwrap()["id"]
        .as_i64()
        .unwrap();
    drop(ws);

    app.client_writes(tg, "1", "b", "два").await;
    assign(boris.id).await.unwrap();
    let mut ws = connect(&app, &cookie, Some(last_seen)).await;
    let missed = drain(&mut ws, Duration::from_millis(400)).await;
    assert!(
        matches!(frames(&missed).as_slice(),
            [EventFrame { event: DomainEvent::DialogGone {}, dialog_id: Some(id), .. }] if id.0 == d),
        "only the notice that the dialog is gone: {missed:?}"
    );
}

/// A manager holds at most 20 sockets; the next is refused with a clear code.
async fn one_manager_holds_a_bounded_number_of_sockets(app: TestApp) {
    let cookie = session(&app, ADMIN_EMAIL).await;
    let mut open = Vec::new();
    for _ in 0..beseda_web::realtime::SOCKETS_PER_MANAGER {
        open.push(connect(&app, &cookie, None).await);
    }
    let url = format!("{}/api/v1/ws", app.base.replace("http://", "ws://"));
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("cookie", cookie.parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
            assert_eq!(r.status(), 429);
            let body = String::from_utf8(r.body().clone().unwrap_or_default()).unwrap();
            assert!(body.contains("too_many_connections"), "{body}");
        }
        other => panic!("the 21st socket must be refused: {:?}", other.map(|_| ())),
    }
    open.pop();
    for _ in 0..200 {
        if app.state.hub.connections() < beseda_web::realtime::SOCKETS_PER_MANAGER {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    connect(&app, &cookie, None).await;
}

/// A socket closes soon after its session ends, its manager is disabled or loses a right.
#[tokio::test]
async fn a_socket_closes_when_its_session_ends_or_its_rights_change() {
    let options = crate::common::Options {
        ws_ping: Duration::from_millis(150),
        ..Default::default()
    };
    let app = TestApp::spawn_with(beseda_testkit::TestBackend::Sqlite, options)
        .await
        .unwrap();
    let closes = |mut ws: Ws| async move {
        for _ in 0..40 {
            let got = tokio::time::timeout(Duration::from_millis(100), ws.next()).await;
            if let Ok(Some(Ok(Message::Close(_))) | None | Some(Err(_))) = got {
                return true;
            }
        }
        false
    };
    let anna = app.manager("anna@example.com", "Anna").await;
    let admin = app.as_(ADMIN_EMAIL).await;

    // The session ends (sign-out).
    let cookie = session(&app, "anna@example.com").await;
    let ws = connect(&app, &cookie, None).await;
    let signed_in = reqwest::Client::new();
    let out = signed_in
        .post(app.url("/api/v1/auth/logout"))
        .header("cookie", &cookie)
        .header("origin", &app.base)
        .send()
        .await
        .unwrap();
    assert!(out.status().is_success(), "{}", out.status());
    assert!(closes(ws).await, "closed after sign-out");

    // The manager gains the right to see every dialog: the stream must start over with it.
    let cookie = session(&app, "anna@example.com").await;
    let ws = connect(&app, &cookie, None).await;
    let group = admin
        .post(
            "/api/v1/groups",
            json!({"name": "Seniors", "grants": {"view_all_dialogs": true}}),
        )
        .expect(201)
        .await;
    admin
        .put(
            &format!("/api/v1/groups/{}/members", group["id"]),
            json!({"members": [anna.id]}),
        )
        .expect(200)
        .await;
    assert!(closes(ws).await, "closed when a right changes");

    // Disabled.
    let ws = connect(&app, &cookie, None).await;
    admin
        .patch(
            &format!("/api/v1/managers/{}", anna.id),
            json!({"disabled": true}),
        )
        .expect(200)
        .await;
    assert!(closes(ws).await, "closed when disabled");

    // A socket whose manager nothing happened to stays open.
    let cookie = session(&app, ADMIN_EMAIL).await;
    let ws = connect(&app, &cookie, None).await;
    assert!(!closes(ws).await, "an untouched socket stays");
}

async fn a_websocket_from_another_site_is_refused(app: TestApp) {
    let cookie = session(&app, ADMIN_EMAIL).await;
    let url = format!("{}/api/v1/ws", app.base.replace("http://", "ws://"));
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("cookie", cookie.parse().unwrap());
    req.headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    assert!(tokio_tungstenite::connect_async(req).await.is_err());
    let mut anonymous = format!("{}/api/v1/ws", app.base.replace("http://", "ws://"))
        .into_client_request()
        .unwrap();
    anonymous
        .headers_mut()
        .insert("origin", app.base.parse().unwrap());
    assert!(
        tokio_tungstenite::connect_async(anonymous).await.is_err(),
        "no session, no stream"
    );
}

/// The next `waiting_level_changed` frame within `wait` (other frames are skipped).
async fn next_level(ws: &mut Ws, wait: Duration) -> Option<Value> {
    let until = tokio::time::Instant::now() + wait;
    while let Some(e) = next(ws, until - tokio::time::Instant::now()).await {
        if e["kind"] == "waiting_level_changed" {
            return Some(e);
        }
    }
    None
}

/// F13: with limits set, the timer turns a waiting dialog yellow, then red, each announced once
/// on the socket when its moment passes; an answer stops the clock.
async fn f13_the_waiting_mark_moves_live_when_its_limit_passes(app: TestApp) {
    let admin = app.as_(ADMIN_EMAIL).await;
    admin
        .put(
            "/api/v1/settings/time-limits",
            json!({"warning_secs": 60, "danger_secs": 120}),
        )
        .expect(204)
        .await;
    let mut ws = connect(&app, &session(&app, ADMIN_EMAIL).await, None).await;
    // The timer looks at least once a second: longer than that, nothing came.
    let (some, none) = (Duration::from_secs(5), Duration::from_millis(1_500));
    let tg = app.channel(ChannelKind::Telegram).await;
    let d = app.new_dialog(tg, "1").await;
    assert!(
        next_level(&mut ws, none).await.is_none(),
        "nothing moves before the limit"
    );
    app.clock.advance(Duration::from_secs(61));
    let e = next_level(&mut ws, some)
        .await
        .expect("yellow after a minute");
    assert_eq!(e["dialog_id"], d);
    assert_eq!(e["data"]["level"], "warning");
    let view = admin.get(&format!("/api/v1/dialogs/{d}")).expect(200).await;
    assert_eq!(view["waiting_level"], "warning");
    assert_eq!(
        e["data"]["next_change_at"],
        view["waiting_level_changes_at"]
    );
    app.clock.advance(Duration::from_secs(60));
    let e = next_level(&mut ws, some)
        .await
        .expect("red after two minutes");
    assert_eq!(
        (e["data"]["level"].as_str(), &e["data"]["next_change_at"]),
        (Some("danger"), &Value::Null)
    );
    app.clock.advance(Duration::from_secs(600));
    assert!(
        next_level(&mut ws, none).await.is_none(),
        "red is the last level"
    );

    // Answered, then asked again: the clock starts from zero.
    admin
        .post(
            &format!("/api/v1/dialogs/{d}/messages"),
            json!({"body": "Here we are"}),
        )
        .expect(201)
        .await;
    app.client_writes(tg, "1", "again", "One more thing").await;
    app.clock.advance(Duration::from_secs(30));
    assert!(
        next_level(&mut ws, none).await.is_none(),
        "half a minute: nothing"
    );
    app.clock.advance(Duration::from_secs(31));
    let e = next_level(&mut ws, some).await.expect("yellow again");
    assert_eq!(e["data"]["level"], "warning");
}
