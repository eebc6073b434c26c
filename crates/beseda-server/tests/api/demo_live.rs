//! The living demo: simulated clients write through the transport API, and the demo module
//! acknowledges our replies, reports them read, and its clients answer; on both stores.

use crate::common::client::Caller;
use crate::common::{ADMIN_EMAIL, TestApp};
use beseda_server::demo::live::{self, Pace};
use beseda_server::demo::{self, DemoSize};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

on_both_backends!(
    simulated_clients_write_and_read_the_replies,
    the_demo_shop_embeds_a_widget_that_allows_it,
);

async fn dialogs(c: &Caller) -> Vec<Value> {
    let v = c.get("/api/v1/dialogs?limit=200").expect(200).await;
    v["dialogs"].as_array().unwrap().clone()
}

async fn feed(c: &Caller, dialog: i64) -> Vec<Value> {
    let (_, v) = c
        .get(&format!("/api/v1/dialogs/{dialog}/messages?limit=200"))
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
    let admin = app.as_(ADMIN_EMAIL).await;
    let before = dialogs(&admin).await.len();
    assert_eq!(before, 4);
    let pace = Pace {
        client_every: Duration::from_millis(150),
        delivered_after: Duration::from_millis(100),
        read_after: Duration::from_millis(100),
    };
    let stop = CancellationToken::new();
    let module_at = live::start(&app.state, &app.base, pace, stop.clone())
        .await
        .unwrap()
        .expect("the demo module started");
    assert!(module_at.ip().is_loopback());

    // New clients appear in the list, their messages unread.
    let mut fresh = None;
    for _ in 0..100 {
        let now = dialogs(&admin).await;
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
    let m = admin
        .post(
            &format!("/api/v1/dialogs/{dialog}/messages"),
            json!({"body": "Здравствуйте! Чем помочь?"}),
        )
        .expect(201)
        .await;
    let ours = m["id"].as_i64().unwrap();
    let mut read = false;
    for _ in 0..100 {
        let f = feed(&admin, dialog).await;
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

/// `serve --demo`'s shop: its page embeds the demo widget, which lets that page in and no
/// other; a restart on another port keeps the one widget and moves its allowed site along.
async fn the_demo_shop_embeds_a_widget_that_allows_it(app: TestApp) {
    let stop = CancellationToken::new();
    let mut keys = Vec::new();
    for _ in 0..2 {
        let shop = demo::shop::start(&app.state, &app.base, 0, stop.clone())
            .await
            .unwrap();
        let page = reqwest::get(&shop).await.unwrap().text().await.unwrap();
        assert!(page.contains(&format!("{}/widget.js", app.base)), "{page}");
        let key = page
            .split("data-beseda-channel=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap()
            .to_owned();
        let origin = shop.trim_end_matches('/');
        let config = format!("/api/widget/v1/{key}/config");
        let ours = app
            .anonymous()
            .raw(reqwest::Method::GET, &config)
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(ours.status(), 200);
        let other = app
            .anonymous()
            .raw(reqwest::Method::GET, &config)
            .header("origin", "http://127.0.0.1:1")
            .send()
            .await
            .unwrap();
        assert_eq!(other.status(), 403);
        keys.push(key);
    }
    assert_eq!(keys[0], keys[1], "one demo widget across restarts");
    let widgets = app
        .as_(ADMIN_EMAIL)
        .await
        .get("/api/v1/widgets")
        .expect(200)
        .await;
    assert_eq!(widgets.as_array().unwrap().len(), 1);
    stop.cancel();
}
