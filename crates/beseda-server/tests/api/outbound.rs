//! Requests to addresses someone else chose (a module's webhook, a file given by URL) reach only
//! what the outbound policy allows: a module cannot make Beseda fetch a loopback, private or
//! metadata address, written directly, behind a name or at the end of a redirect, and the error
//! says nothing of what answered there. A refused push leaves nothing behind.

use crate::common::client::Caller;
use crate::common::{ADMIN_EMAIL, Options, TestApp};
use axum::extract::Query;
use axum::response::Redirect;
use beseda_testkit::TestBackend;
use beseda_testkit::fake_module::FakeModule;
use beseda_web::outbound::AddressPolicy;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A file server on loopback that counts what reaches it, with `/to?url=` redirecting.
struct FileServer {
    port: u16,
    hits: Arc<AtomicUsize>,
}

impl FileServer {
    async fn start() -> FileServer {
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        let app = axum::Router::new()
            .route(
                "/files/{name}",
                axum::routing::get(|| async { b"%PDF-1.4\nsecret internal report".to_vec() }),
            )
            .route(
                "/to",
                axum::routing::get(|Query(q): Query<HashMap<String, String>>| async move {
                    Redirect::temporary(&q["url"])
                }),
            )
            .layer(axum::middleware::from_fn(
                move |req: axum::extract::Request, next: axum::middleware::Next| {
                    counted.fetch_add(1, Ordering::SeqCst);
                    next.run(req)
                },
            ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        FileServer { port, hits }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// A module with one channel; its webhook is the fake module's.
async fn module_with_channel(app: &TestApp, fake: &FakeModule) -> (Caller, i64) {
    let connected = app
        .as_(ADMIN_EMAIL)
        .await
        .connect_module(&fake.webhook_url)
        .await;
    fake.set_secret(&connected.webhook_secret);
    (connected.module, connected.channel)
}

fn push_with_file(channel: i64, n: usize, url: &str) -> Value {
    json!({"channel_id": channel, "customer": {"external_id": format!("u{n}")},
        "external_id": format!("in-{n}"), "text": "see the file", "attachments": [{"url": url}]})
}

async fn app_allowing(outbound: AddressPolicy) -> TestApp {
    let options = Options {
        outbound,
        ..Default::default()
    };
    TestApp::spawn_with(TestBackend::Sqlite, options)
        .await
        .expect("sqlite")
}

#[tokio::test]
async fn a_module_cannot_make_beseda_fetch_a_private_address() {
    let app = app_allowing(AddressPolicy::default()).await;
    let files = FileServer::start().await;
    let fake = FakeModule::start().await;
    let (module, channel) = module_with_channel(&app, &fake).await;
    let port = files.port;
    let refused = [
        format!("http://127.0.0.1:{port}/files/a.pdf"),
        format!("http://localhost:{port}/files/a.pdf"),
        format!("http://[::1]:{port}/files/a.pdf"),
        format!("http://2130706433:{port}/files/a.pdf"),
        format!("http://0x7f.1:{port}/files/a.pdf"),
        format!("http://[::ffff:127.0.0.1]:{port}/files/a.pdf"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://[fd00:ec2::254]/latest/meta-data/".to_owned(),
        "http://10.0.0.1/".to_owned(),
        "http://192.168.0.1:8080/admin".to_owned(),
    ];
    for (n, url) in refused.iter().enumerate() {
        let e = module
            .post(
                "/api/transport/v1/messages",
                push_with_file(channel, n, url),
            )
            .refused(422, "attachment_unreachable")
            .await;
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .ends_with("the address is not allowed"),
            "{url}: {e}"
        );
    }
    assert_eq!(files.hits(), 0, "nothing reached the private server");
    let admin = app.as_(ADMIN_EMAIL).await;
    assert!(
        admin.dialog_ids("").await.is_empty(),
        "a refused push leaves no dialog"
    );
    let counts = app.store.data_counts().await.unwrap();
    assert_eq!(
        (counts.clients, counts.dialogs, counts.messages),
        (0, 0, 0),
        "and no client, no message"
    );
}

#[tokio::test]
async fn every_redirect_hop_is_checked_and_errors_reveal_nothing() {
    // Loopback is allowed here (where the file server is); nothing else private is.
    let app = app_allowing(AddressPolicy::parse("127.0.0.0/8").unwrap()).await;
    let files = FileServer::start().await;
    let fake = FakeModule::start().await;
    let (module, channel) = module_with_channel(&app, &fake).await;
    let base = format!("http://127.0.0.1:{}", files.port);

    let to_metadata = format!("{base}/to?url=http://169.254.169.254/latest/meta-data/");
    let e = module
        .post(
            "/api/transport/v1/messages",
            push_with_file(channel, 1, &to_metadata),
        )
        .refused(422, "attachment_unreachable")
        .await;
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .ends_with("the address is not allowed"),
        "{e}"
    );

    // A hop to an allowed address is followed, and the file arrives.
    let to_file = format!("{base}/to?url={base}/files/report.pdf");
    let ok = module
        .post(
            "/api/transport/v1/messages",
            push_with_file(channel, 2, &to_file),
        )
        .expect(200)
        .await;
    let admin = app.as_(ADMIN_EMAIL).await;
    let feed = admin
        .get(&format!("/api/v1/dialogs/{}/messages", ok["dialog_id"]))
        .expect(200)
        .await;
    let last = feed.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["attachments"][0]["file_name"], "report.pdf", "{last}");

    // A closed port and a missing file: the answer names no operating-system error.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    for (n, url, says) in [
        (
            3,
            format!("http://127.0.0.1:{closed}/x"),
            "the address did not answer",
        ),
        (
            4,
            format!("{base}/nothing/here"),
            "the address answered 404",
        ),
    ] {
        let e = module
            .post(
                "/api/transport/v1/messages",
                push_with_file(channel, n, &url),
            )
            .refused(422, "attachment_unreachable")
            .await;
        assert!(e["message"].as_str().unwrap().ends_with(says), "{url}: {e}");
    }
}

#[tokio::test]
async fn a_webhook_at_a_private_address_is_never_called() {
    let app = app_allowing(AddressPolicy::default()).await;
    let fake = FakeModule::start().await;
    let (module, channel) = module_with_channel(&app, &fake).await;
    let pushed = module
        .post(
            "/api/transport/v1/messages",
            json!({"channel_id": channel, "customer": {"external_id": "u1"}, "external_id": "in-1", "text": "Привет"}),
        )
        .expect(200)
        .await;
    let admin = app.as_(ADMIN_EMAIL).await;
    let path = format!("/api/v1/dialogs/{}/messages", pushed["dialog_id"]);
    let reply = admin
        .post(&path, json!({"body": "Здравствуйте"}))
        .expect(201)
        .await;
    let mut last = Value::Null;
    for _ in 0..100 {
        let feed = admin.get(&path).expect(200).await;
        last = feed
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == reply["id"])
            .cloned()
            .unwrap();
        if last["status"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(last["status"], "failed", "{last}");
    assert!(
        last["failure_reason"]
            .as_str()
            .unwrap()
            .contains("the address is not allowed"),
        "{last}"
    );
    assert!(fake.attempts().is_empty(), "the webhook was never called");
}
