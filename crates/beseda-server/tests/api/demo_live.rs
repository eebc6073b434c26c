//! The living demo: simulated clients write through the transport API, and the demo module
//! acknowledges our replies, reports them read, and its clients answer; on both stores.

use crate::common::{ADMIN_EMAIL, TestApp, json_of};
use beseda_server::demo::live::{self, Pace};
use beseda_server::demo::{self, DemoSize};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

on_both_backends!(simulated_clients_write_and_read_the_replies);

async fn dialogs(c: &reqwest::Client, app: &TestApp) -> Vec<Value> {
    let (status, v) = json_of(
        c.get(app.url("/api/v1/dialogs?limit=200"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    v["dialogs"].as_array().unwrap().clone()
}

async fn feed(c: &reqwest::Client, app: &TestApp, dialog: i64) -> Vec<Value> {
    let (_, v) = json_of(
        c.get(app.url(&format!("/api/v1/dialogs/{dialog}/messages?limit=200")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    v.as_array().unwrap().clone()
}

async fn simulated_clients_write_and_read_the_replies(app: TestApp) {
    let size = DemoSize {
        clients: 4,
        orders: 1,
    };
    demo::load(app.store.clone(), size, false, false)
        .await
        .unwrap();
    let admin = app.login(ADMIN_EMAIL).await;
    let before = dialogs(&admin, &app).await.len();
    assert_eq!(before, 4);
    let pace = Pace {
        client_every: Duration::from_millis(150),
        delivered_after: Duration::from_millis(100),
        read_after: Duration::from_millis(100),
    };
    let stop = CancellationToken::new();
    assert!(
        live::start(&app.state, &app.base, pace, stop.clone())
            .await
            .unwrap()
    );

    // New clients appear in the list, their messages unread.
    let mut fresh = None;
    for _ in 0..100 {
        let now = dialogs(&admin, &app).await;
        if now.len() > before {
            fresh = now
                .into_iter()
                .find(|d| d["unread_messages"].as_i64() > Some(0));
            if fresh.is_some() {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let fresh = fresh.expect("a simulated client wrote within 10 s");
    let dialog = fresh["id"].as_i64().unwrap();

    // A reply goes out, is acknowledged, delivered and read, and the client answers.
    let (status, m) = json_of(
        admin
            .post(app.url(&format!("/api/v1/dialogs/{dialog}/messages")))
            .json(&json!({"body": "Здравствуйте! Чем помочь?"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{m}");
    let ours = m["id"].as_i64().unwrap();
    let mut read = false;
    for _ in 0..100 {
        let f = feed(&admin, &app, dialog).await;
        let mine = f.iter().find(|x| x["id"].as_i64() == Some(ours)).unwrap();
        if mine["status"] == "read" {
            read = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(read, "the reply was never reported read");
    stop.cancel();
}
