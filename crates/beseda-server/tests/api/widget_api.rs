//! The website widget's visitor API (F39) from outside: a visitor writes, the manager answers,
//! both see each other live; sends are idempotent and limited; browsers of other origins are
//! refused; what a visitor types about themselves never joins them to someone's card, while a
//! site's signed customer comes back as themselves; a reply to a visitor who left fails.

use crate::common::client::Caller;
use crate::common::{ADMIN_EMAIL, TestApp};
use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use std::future::IntoFuture;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const SHOP: &str = "http://shop.test:8080";

pub fn widget_settings(origin: &str) -> Value {
    json!({
        "title": "Acme shop", "avatar_url": null, "color": "#1f6feb", "position": "right",
        "greeting": "Hello! How can we help?", "languages": ["en", "ru"], "hours": null,
        "away_text": null, "prechat": {"name": "optional", "phone": "off", "email": "optional"},
        "allowed_origins": [origin]
    })
}

/// A widget set up through the manager API: its key and its identity secret.
pub async fn create_widget(app: &TestApp, origin: &str) -> (String, String, i64) {
    let w = app
        .as_(ADMIN_EMAIL)
        .await
        .post(
            "/api/v1/widgets",
            json!({"name": "Site chat", "settings": widget_settings(origin)}),
        )
        .expect(201)
        .await;
    (
        w["key"].as_str().unwrap().to_owned(),
        w["identity_secret"].as_str().unwrap().to_owned(),
        w["channel_id"].as_i64().unwrap(),
    )
}

/// A new visitor of the widget: their token.
async fn visitor(app: &TestApp, key: &str) -> String {
    let s = app
        .anonymous()
        .post(&format!("/api/widget/v1/{key}/sessions"), json!({}))
        .expect(200)
        .await;
    s["token"].as_str().unwrap().to_owned()
}

fn as_visitor(app: &TestApp, token: &str) -> Caller {
    Caller::bearer_at(&app.base, token)
}

async fn say(app: &TestApp, key: &str, token: &str, id: &str, text: &str) -> (u16, Value) {
    as_visitor(app, token)
        .post(
            &format!("/api/widget/v1/{key}/messages"),
            json!({"client_id": id, "text": text,
                "page": {"url": "https://shop.test/sofa?utm_source=ya&utm_campaign=winter", "referrer": "https://search.example/q"}}),
        )
        .await
}

async fn live(app: &TestApp, key: &str, token: &str, after: Option<i64>) -> Ws {
    let url = format!(
        "{}/api/widget/v1/{key}/live",
        app.base.replace("http://", "ws://")
    );
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("origin", SHOP.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.expect("socket");
    let hello = json!({"token": token, "after": after}).to_string();
    ws.send(Message::Text(hello.into())).await.unwrap();
    assert_eq!(next_frame(&mut ws).await["type"], "ready");
    ws
}

async fn next_frame(ws: &mut Ws) -> Value {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a frame within 5 s")
            .expect("the socket is open")
            .expect("a frame");
        if let Message::Text(t) = m {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

/// The frames until one of `type`.
async fn frame_of(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let f = next_frame(ws).await;
        if f["type"] == kind {
            return f;
        }
    }
}

async fn f39_a_visitor_and_a_manager_talk_live_with_statuses(app: TestApp) {
    let (key, _, _) = create_widget(&app, SHOP).await;
    let token = visitor(&app, &key).await;
    let mut ws = live(&app, &key, &token, None).await;
    let (status, first) = say(&app, &key, &token, "m-1", "Is the sofa in stock?").await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(
        (&first["from"], &first["status"], &first["client_id"]),
        (&json!("visitor"), &json!("sent"), &json!("m-1"))
    );
    // A retry of the same message is the same message.
    let (again, repeat) = say(&app, &key, &token, "m-1", "Is the sofa in stock?").await;
    assert_eq!((again, &repeat["id"]), (200, &first["id"]));
    let own = frame_of(&mut ws, "message").await;
    assert_eq!(own["message"]["id"], first["id"]);

    let admin = app.as_(ADMIN_EMAIL).await;
    let dialogs = admin.dialog_ids("").await;
    assert_eq!(
        dialogs.len(),
        1,
        "one dialog for one visitor, however often they retry"
    );
    let dialog = dialogs[0];
    assert_eq!(admin.feed(dialog).await.len(), 1);

    // The manager reads: the visitor's message gets its second tick.
    admin
        .post_empty(&format!("/api/v1/dialogs/{dialog}/read"))
        .expect(204)
        .await;
    let read = frame_of(&mut ws, "read").await;
    assert_eq!(read["up_to"], first["id"]);

    let reply = admin
        .post(
            &format!("/api/v1/dialogs/{dialog}/messages"),
            json!({"body": "Yes, <b>two</b> left"}),
        )
        .expect(201)
        .await;
    let shown = frame_of(&mut ws, "message").await;
    assert_eq!(shown["message"]["id"], reply["id"]);
    assert_eq!(shown["message"]["from"], "company");
    assert_eq!(shown["message"]["text"], "Yes, <b>two</b> left");
    assert_eq!(shown["message"]["agent"]["name"], "Administrator");
    // On the visitor's screen: delivered; once they saw it: read (F31).
    admin
        .wait_feed(dialog, |m| {
            m["id"] == reply["id"] && m["status"] == "delivered"
        })
        .await;
    as_visitor(&app, &token)
        .post(
            &format!("/api/widget/v1/{key}/read"),
            json!({"up_to": reply["id"]}),
        )
        .expect(204)
        .await;
    admin
        .wait_feed(dialog, |m| m["id"] == reply["id"] && m["status"] == "read")
        .await;

    // A reload: the same token resumes the session and the history is there, oldest first.
    let resumed = app
        .anonymous()
        .post(
            &format!("/api/widget/v1/{key}/sessions"),
            json!({"token": token}),
        )
        .expect(200)
        .await;
    assert_eq!(
        (&resumed["token"], &resumed["has_dialog"]),
        (&json!(token), &json!(true))
    );
    let history = as_visitor(&app, &token)
        .get(&format!("/api/widget/v1/{key}/messages"))
        .expect(200)
        .await;
    let texts: Vec<&str> = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["Is the sofa in stock?", "Yes, <b>two</b> left"]);
    assert_eq!(history["messages"][0]["status"], "read");

    // Where the visitor came from is on the new client card (F04).
    let card = admin.client_card_of(dialog).await;
    let source = &card["source"];
    assert_eq!(source["channel_type"], "widget");
    assert_eq!(
        source["page"],
        "https://shop.test/sofa?utm_source=ya&utm_campaign=winter"
    );
    assert_eq!(source["referrer"], "https://search.example/q");
    assert_eq!(source["utm"]["utm_campaign"], "winter");
}

async fn f39_long_polling_brings_what_the_socket_would(app: TestApp) {
    let (key, _, _) = create_widget(&app, SHOP).await;
    let token = visitor(&app, &key).await;
    let (_, first) = say(&app, &key, &token, "a", "Hello").await;
    let history = as_visitor(&app, &token)
        .get(&format!("/api/widget/v1/{key}/messages"))
        .expect(200)
        .await;
    let after = history["last_event_id"].as_i64().unwrap();
    let admin = app.as_(ADMIN_EMAIL).await;
    let dialog = admin.dialog_ids("").await[0];
    let reply_path = format!("/api/v1/dialogs/{dialog}/messages");
    let poll = as_visitor(&app, &token).get(&format!("/api/widget/v1/{key}/events?after={after}"));
    let waiting = tokio::spawn(poll.into_future());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let reply = admin
        .post(&reply_path, json!({"body": "Hi!"}))
        .expect(201)
        .await;
    let (status, answer) = waiting.await.unwrap();
    assert_eq!(status, 200, "{answer}");
    let ids: Vec<&Value> = answer["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["message"]["id"])
        .collect();
    assert!(ids.contains(&&reply["id"]), "{answer}");
    assert!(
        !ids.contains(&&first["id"]),
        "only what came after: {answer}"
    );
    assert!(answer["last_event_id"].as_i64().unwrap() > after);
}

async fn f39_browsers_of_other_sites_are_refused(app: TestApp) {
    let (key, _, channel) = create_widget(&app, SHOP).await;
    let config = format!("/api/widget/v1/{key}/config");
    let anon = app.anonymous();
    let allowed = anon
        .raw(Method::GET, &config)
        .header("origin", SHOP)
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200);
    assert_eq!(allowed.headers()["access-control-allow-origin"], SHOP);
    let preflight = anon
        .raw(Method::OPTIONS, &format!("/api/widget/v1/{key}/messages"))
        .header("origin", SHOP)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert!(
        preflight.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );
    for path in [config.clone(), format!("/api/widget/v1/{key}/sessions")] {
        let evil = anon
            .raw(Method::POST, &path)
            .header("origin", "https://evil.example")
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(evil.status(), 403, "{path}");
        assert!(evil.headers().get("access-control-allow-origin").is_none());
    }
    let url = format!(
        "{}/api/widget/v1/{key}/live",
        app.base.replace("http://", "ws://")
    );
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    assert!(tokio_tungstenite::connect_async(req).await.is_err());

    // An unknown key, or a disabled widget, is "not found" and starts nothing.
    anon.post("/api/widget/v1/wk_nope/sessions", json!({}))
        .refused(404, "not_found")
        .await;
    let admin = app.as_(ADMIN_EMAIL).await;
    admin
        .put(
            &format!("/api/v1/widgets/{channel}"),
            json!({"name": "Site chat", "active": false, "settings": widget_settings(SHOP)}),
        )
        .expect(200)
        .await;
    anon.post(&format!("/api/widget/v1/{key}/sessions"), json!({}))
        .refused(404, "not_found")
        .await;
    anon.get(&config).refused(404, "not_found").await;
    // A visitor token is no manager's credential, nor the reverse.
    anon.get(&format!("/api/widget/v1/{key}/messages"))
        .refused(404, "not_found")
        .await;
}

async fn f39_a_flood_is_answered_429_with_retry_after(app: TestApp) {
    let (key, _, _) = create_widget(&app, SHOP).await;
    let token = visitor(&app, &key).await;
    let mut refused = None;
    for i in 0..20 {
        let r = as_visitor(&app, &token)
            .raw(Method::POST, &format!("/api/widget/v1/{key}/messages"))
            .json(&json!({"client_id": format!("f{i}"), "text": "spam"}))
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            refused = Some(r);
            break;
        }
        assert_eq!(r.status(), 201);
    }
    let r = refused.expect("a flood is stopped");
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "rate_limited");
    // Another visitor is not held up by this one.
    let other = visitor(&app, &key).await;
    assert_eq!(say(&app, &key, &other, "x", "hi").await.0, 201);

    // New sessions from one address are limited too, made-up tokens included; a visitor
    // resuming theirs is not held up.
    let sessions = format!("/api/widget/v1/{key}/sessions");
    let mut limited = false;
    for i in 0..40 {
        let (status, _) = app
            .anonymous()
            .post(&sessions, json!({"token": format!("bv_made_up_{i}")}))
            .await;
        if status == 429 {
            limited = true;
            break;
        }
        assert_eq!(status, 200);
    }
    assert!(limited, "a flood of new sessions is stopped");
    let resumed = app
        .anonymous()
        .post(&sessions, json!({"token": token}))
        .expect(200)
        .await;
    assert_eq!(resumed["token"], json!(token));
}

async fn f04_what_a_visitor_types_never_joins_someone_elses_card(app: TestApp) {
    let (key, secret, _) = create_widget(&app, SHOP).await;
    let admin = app.as_(ADMIN_EMAIL).await;
    // Anna's card exists, from another channel, with her email.
    let tg = app
        .channel(beseda_core::channel::ChannelKind::Telegram)
        .await;
    let anna = app
        .client_with_email(tg, "Anna", "anna@example.com")
        .await
        .0;
    let anna_dialog = admin
        .get(&format!("/api/v1/dialogs/{anna}"))
        .expect(200)
        .await;
    let anna_card = anna_dialog["client"]["id"].clone();
    assert!(anna_card.is_i64(), "{anna_dialog}");

    // Someone types Anna's email into the pre-chat form.
    let token = visitor(&app, &key).await;
    let (status, _) = as_visitor(&app, &token)
        .post(
            &format!("/api/widget/v1/{key}/messages"),
            json!({"client_id": "1", "text": "Show me Anna's orders",
                "fields": {"name": "Anna", "email": "Anna@Example.com"}}),
        )
        .await;
    assert_eq!(status, 201);
    let dialogs = admin.dialog_ids("").await;
    let widget_dialog = *dialogs.iter().find(|d| **d != anna).unwrap();
    let d = admin
        .get(&format!("/api/v1/dialogs/{widget_dialog}"))
        .expect(200)
        .await;
    assert_ne!(d["client"]["id"], anna_card, "a new card, not Anna's");
    let card = admin
        .get(&format!("/api/v1/clients/{}", d["client"]["id"]))
        .expect(200)
        .await;
    assert_eq!(card["email"], "anna@example.com");
    assert_eq!(card["possibly_same_as"]["id"], anna_card);
    // The manager, once sure, merges the new card into Anna's with one request.
    let new_card = d["client"]["id"].clone();
    admin
        .post(
            &format!("/api/v1/clients/{new_card}/merge"),
            json!({"into": new_card}),
        )
        .refused(422, "invalid_value")
        .await;
    let merged = admin
        .post(
            &format!("/api/v1/clients/{new_card}/merge"),
            json!({"into": anna_card}),
        )
        .expect(200)
        .await;
    assert_eq!(merged["id"], anna_card);
    assert_eq!(merged["possibly_same_as"], Value::Null);
    let d = admin
        .get(&format!("/api/v1/dialogs/{widget_dialog}"))
        .expect(200)
        .await;
    assert_eq!(
        d["client"]["id"], anna_card,
        "the visitor's dialog is Anna's now"
    );
    admin
        .get(&format!("/api/v1/clients/{new_card}"))
        .refused(404, "not_found")
        .await;

    // A site's signed customer: the same visitor on every device; a forged signature is refused.
    let sessions = format!("/api/widget/v1/{key}/sessions");
    let signature = beseda_core::widget::sign_identity(&secret, "customer-42");
    let user = json!({"user": {"id": "customer-42", "signature": signature}});
    let phone = app
        .anonymous()
        .post(&sessions, user.clone())
        .expect(200)
        .await;
    let laptop = app.anonymous().post(&sessions, user).expect(200).await;
    assert_ne!(phone["token"], laptop["token"]);
    let phone = phone["token"].as_str().unwrap();
    let laptop = laptop["token"].as_str().unwrap();
    assert_eq!(say(&app, &key, phone, "p1", "from my phone").await.0, 201);
    let (_, on_laptop) = as_visitor(&app, laptop)
        .get(&format!("/api/widget/v1/{key}/messages"))
        .await;
    assert_eq!(on_laptop["messages"][0]["text"], "from my phone");
    let forged = json!({"user": {"id": "customer-43", "signature": signature}});
    app.anonymous()
        .post(&sessions, forged)
        .refused(422, "identity_invalid")
        .await;
}

async fn f31_a_reply_to_a_visitor_who_left_the_site_fails_and_waits_for_them(app: TestApp) {
    let (key, _, _) = create_widget(&app, SHOP).await;
    let token = visitor(&app, &key).await;
    let ws = live(&app, &key, &token, None).await;
    say(&app, &key, &token, "q", "Call me back?").await;
    let admin = app.as_(ADMIN_EMAIL).await;
    let dialog = admin.dialog_ids("").await[0];
    drop(ws);
    // Past the grace for the next page to load, the visitor has left.
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.clock.advance(Duration::from_secs(20));
    admin
        .wait_feed(dialog, |m| m["event"]["kind"] == "visitor_left")
        .await;
    let reply = admin
        .post(
            &format!("/api/v1/dialogs/{dialog}/messages"),
            json!({"body": "Sure, what number?"}),
        )
        .expect(201)
        .await;
    let failed = admin
        .wait_feed(dialog, |m| {
            m["id"] == reply["id"] && m["status"] == "failed"
        })
        .await;
    assert_eq!(failed["failure_reason"], "the visitor left the site");
    // They come back: the feed says so, and the reply is in their history.
    let mut ws = live(&app, &key, &token, None).await;
    admin
        .wait_feed(dialog, |m| m["event"]["kind"] == "visitor_returned")
        .await;
    let history = as_visitor(&app, &token)
        .get(&format!("/api/widget/v1/{key}/messages"))
        .expect(200)
        .await;
    let last = history["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["text"], "Sure, what number?");
    // And what is written now reaches them.
    let again = admin
        .post(
            &format!("/api/v1/dialogs/{dialog}/messages"),
            json!({"body": "Still there?"}),
        )
        .expect(201)
        .await;
    assert_eq!(
        frame_of(&mut ws, "message").await["message"]["id"],
        again["id"]
    );
    admin
        .wait_feed(dialog, |m| {
            m["id"] == again["id"] && m["status"] == "delivered"
        })
        .await;
}

async fn f39_a_visitor_sends_a_file_that_is_theirs_alone(app: TestApp) {
    let (key, _, _) = create_widget(&app, SHOP).await;
    let token = visitor(&app, &key).await;
    let stranger = visitor(&app, &key).await;
    let files = format!("/api/widget/v1/{key}/files");
    let form = || {
        reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(b"order #42: sofa, blue".to_vec())
                .file_name("order.txt"),
        )
    };
    let uploaded = as_visitor(&app, &token)
        .upload(&files, form())
        .expect(201)
        .await;
    let id = uploaded[0]["id"].clone();
    assert_eq!(uploaded[0]["file_name"], "order.txt");
    // Nobody else may send it, nor read it.
    as_visitor(&app, &stranger)
        .post(
            &format!("/api/widget/v1/{key}/messages"),
            json!({"client_id": "s", "text": "mine now", "attachments": [id]}),
        )
        .refused(422, "invalid_attachment")
        .await;
    as_visitor(&app, &stranger)
        .get(&format!("{files}/{id}"))
        .refused(404, "not_found")
        .await;
    let (status, sent) = as_visitor(&app, &token)
        .post(
            &format!("/api/widget/v1/{key}/messages"),
            json!({"client_id": "f", "text": "", "attachments": [id]}),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["attachments"][0]["id"], id);
    // A retry of the send keeps the one message with its file.
    let (again, _) = as_visitor(&app, &token)
        .post(
            &format!("/api/widget/v1/{key}/messages"),
            json!({"client_id": "f", "text": "", "attachments": [id]}),
        )
        .await;
    assert_eq!(again, 200);
    let bytes = as_visitor(&app, &token)
        .raw(Method::GET, &format!("{files}/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(bytes.status(), 200);
    assert_eq!(
        bytes.bytes().await.unwrap().as_ref(),
        b"order #42: sofa, blue"
    );
    let admin = app.as_(ADMIN_EMAIL).await;
    let dialog = admin.dialog_ids("").await[0];
    let m = admin
        .wait_feed(dialog, |m| m["attachments"][0]["id"] == id)
        .await;
    assert_eq!(m["attachments"][0]["file_name"], "order.txt");
    // Over the widget channel's limit (10 MB): refused before it is kept.
    let big = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(vec![b'x'; 10 * 1024 * 1024 + 1]).file_name("big.txt"),
    );
    as_visitor(&app, &token)
        .upload(&files, big)
        .refused(413, "attachment_too_large")
        .await;
}

async fn f39_the_widget_is_away_outside_working_hours(app: TestApp) {
    let (key, _, channel) = create_widget(&app, SHOP).await;
    let config = format!("/api/widget/v1/{key}/config");
    let c = app.anonymous().get(&config).expect(200).await;
    assert_eq!(
        (&c["online"], &c["title"]),
        (&json!(true), &json!("Acme shop"))
    );
    // The company's clock set so that it is about noon there now.
    let now_min = (app.state.clock.now().0 / 60_000) % (24 * 60);
    let offset = 12 * 60 - now_min;
    for (from, to, online) in [("11:00", "13:00", true), ("00:00", "01:00", false)] {
        let mut settings = widget_settings(SHOP);
        settings["hours"] = json!({"utc_offset_minutes": offset, "days": [1, 2, 3, 4, 5, 6, 7], "from": from, "to": to});
        settings["away_text"] = json!("We answer from 9 to 18");
        app.as_(ADMIN_EMAIL)
            .await
            .put(
                &format!("/api/v1/widgets/{channel}"),
                json!({"name": "Site chat", "settings": settings}),
            )
            .expect(200)
            .await;
        let c = app.anonymous().get(&config).expect(200).await;
        assert_eq!(c["online"], online, "{from}–{to}");
        assert_eq!(c["away_text"], "We answer from 9 to 18");
    }
    // Bad settings are refused whole, naming the field.
    let mut bad = widget_settings(SHOP);
    bad["allowed_origins"] = json!(["javascript:alert(1)"]);
    let e = app
        .as_(ADMIN_EMAIL)
        .await
        .put(
            &format!("/api/v1/widgets/{channel}"),
            json!({"name": "X", "settings": bad}),
        )
        .refused(422, "invalid_value")
        .await;
    assert_eq!(e["field"], "allowed_origins");
    let c = app.anonymous().get(&config).expect(200).await;
    assert_eq!(c["title"], "Acme shop", "nothing changed");
}

async fn f39_a_socket_resumes_after_the_last_event_it_saw(app: TestApp) {
    let (key, _, _) = create_widget(&app, SHOP).await;
    let token = visitor(&app, &key).await;
    say(&app, &key, &token, "1", "Hello").await;
    let history = as_visitor(&app, &token)
        .get(&format!("/api/widget/v1/{key}/messages"))
        .expect(200)
        .await;
    let seen = history["last_event_id"].as_i64().unwrap();
    // Two replies while the visitor's socket was away (the next page loading).
    let admin = app.as_(ADMIN_EMAIL).await;
    let dialog = admin.dialog_ids("").await[0];
    let mut replies = Vec::new();
    for text in ["One moment", "Found it"] {
        let r = admin
            .post(
                &format!("/api/v1/dialogs/{dialog}/messages"),
                json!({"body": text}),
            )
            .expect(201)
            .await;
        replies.push(r["id"].clone());
    }
    let mut ws = live(&app, &key, &token, Some(seen)).await;
    let first = frame_of(&mut ws, "message").await;
    let second = frame_of(&mut ws, "message").await;
    assert_eq!(
        [&first["message"]["id"], &second["message"]["id"]],
        [&replies[0], &replies[1]],
        "what was missed, in order"
    );
    assert!(second["id"].as_i64() > first["id"].as_i64());
    // Away longer than the log keeps: the widget is told to load the history again.
    let later = app.state.clock.now().plus(Duration::from_secs(1));
    app.store.prune_events(later).await.unwrap();
    let mut stale = live(&app, &key, &token, Some(seen)).await;
    assert_eq!(next_frame(&mut stale).await["type"], "resync");
}

on_both_backends!(
    f39_a_socket_resumes_after_the_last_event_it_saw,
    f39_the_widget_is_away_outside_working_hours,
    f39_a_visitor_sends_a_file_that_is_theirs_alone,
    f39_a_visitor_and_a_manager_talk_live_with_statuses,
    f39_long_polling_brings_what_the_socket_would,
    f39_browsers_of_other_sites_are_refused,
    f39_a_flood_is_answered_429_with_retry_after,
    f04_what_a_visitor_types_never_joins_someone_elses_card,
    f31_a_reply_to_a_visitor_who_left_the_site_fails_and_waits_for_them,
);
