//! The delivery worker killed mid-job: the `beseda` process dies (SIGKILL) while a module holds
//! a webhook, starts again, and every reply reaches the module exactly once, in order, on both
//! stores. The module dedupes by our message id, as the webhook's event id tells it to.

use crate::common::client::Caller;
use crate::common::{ADMIN_EMAIL as EMAIL, PASSWORD};
use beseda_testkit::fake_module::FakeModule;
use beseda_testkit::{TestBackend, TestDb};
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `beseda serve` process.
pub(crate) struct Node {
    child: Child,
    pub(crate) base: String,
}

impl Node {
    pub(crate) fn start(db: &TestDb, port: u16) -> Node {
        Node::start_with(db, port, &[])
    }

    /// A node with more settings.
    pub(crate) fn start_with(db: &TestDb, port: u16, settings: &[(&str, &str)]) -> Node {
        let mut child = Command::new(env!("CARGO_BIN_EXE_beseda"))
            .current_dir(db.dir.path())
            .env_clear()
            .env("BESEDA_DATABASE_URL", &db.url)
            .env("BESEDA_DATA_DIR", db.dir.path().join("data"))
            .env("BESEDA_LISTEN", format!("127.0.0.1:{port}"))
            .env("BESEDA_ADMIN_EMAIL", EMAIL)
            .env("BESEDA_ADMIN_PASSWORD", PASSWORD)
            .env("BESEDA_DELIVERY_LEASE_SECS", "2")
            // The fake module listens on loopback.
            .env("BESEDA_OUTBOUND_ALLOW", "127.0.0.0/8")
            .env("BESEDA_LOG", "warn")
            .envs(settings.iter().copied())
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start beseda");
        let stdout = child.stdout.take().unwrap();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("Beseda is ready at") {
                    let _ = ready_tx.send(());
                }
            }
        });
        ready_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the server starts");
        Node {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    pub(crate) fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().unwrap();
    }

    pub(crate) async fn admin(&self) -> Caller {
        Caller::manager_at(&self.base, EMAIL).await
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn a_killed_server_delivers_every_reply_once_after_restart(backend: TestBackend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let fake = FakeModule::start().await;
    // The first webhook is taken and never answered: the process dies while waiting.
    fake.hang_next(1);
    let port = free_port();
    let node = Node::start(&db, port);
    let admin = node.admin().await;
    let connected = admin.connect_module(&fake.webhook_url).await;
    fake.set_secret(&connected.webhook_secret);
    let module = connected.module;
    let pushed = module
        .post(
            "/api/transport/v1/messages",
            json!({"channel_id": connected.channel, "customer": {"external_id": "u1"}, "external_id": "in-1", "text": "Привет"}),
        )
        .expect(200)
        .await;
    let dialog = pushed["dialog_id"].as_i64().unwrap();
    let path = format!("/api/v1/dialogs/{dialog}/messages");
    let reply = |admin: Caller, text: &'static str| {
        let path = path.clone();
        async move {
            admin.post(&path, json!({"body": text})).expect(201).await["id"]
                .as_i64()
                .unwrap()
        }
    };
    let mut ids = Vec::new();
    for text in ["r1", "r2", "r3"] {
        ids.push(reply(admin.clone(), text).await);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while fake.attempts().is_empty() {
        assert!(Instant::now() < deadline, "no webhook arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    node.kill();

    let node = Node::start(&db, port);
    let admin = node.admin().await;
    for text in ["r4", "r5"] {
        ids.push(reply(admin.clone(), text).await);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let feed = admin.get(&path).await.1;
        let sent = feed
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["status"] == "sent")
            .count();
        if sent == 5 {
            break;
        }
        assert!(Instant::now() < deadline, "only {sent} of 5 sent: {feed}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let delivered = fake.delivered();
    assert_eq!(
        delivered,
        ids.iter()
            .zip(["r1", "r2", "r3", "r4", "r5"])
            .map(|(id, t)| (*id, t.to_owned()))
            .collect::<Vec<_>>(),
        "each reply once, in order"
    );
    let attempts: Vec<i64> = fake.attempts().iter().map(|(id, _)| *id).collect();
    assert_eq!(
        attempts.iter().filter(|id| **id == ids[0]).count(),
        2,
        "the cut-off one was sent again: {attempts:?}"
    );
    assert_eq!(attempts.len(), 6, "{attempts:?}");
}

#[tokio::test]
async fn sqlite_a_killed_server_delivers_every_reply_once_after_restart() {
    a_killed_server_delivers_every_reply_once_after_restart(TestBackend::Sqlite).await;
}

#[tokio::test]
async fn postgres_a_killed_server_delivers_every_reply_once_after_restart() {
    a_killed_server_delivers_every_reply_once_after_restart(TestBackend::Postgres).await;
}
