//! Outgoing messages reach the module's webhook signed, in order, retried, never lost or
//! doubled, with statuses the manager sees (F31, F38), on both stores.

use crate::common::client::Caller;
use crate::common::{ADMIN_EMAIL, Options, TestApp};
use beseda_core::time::{Clock, SystemClock};
use beseda_testkit::TestBackend;
use beseda_testkit::fake_module::{Answer, FakeModule};
use serde_json::{Value, json};
use std::time::Duration;

on_both_backends!(
    f31_a_reply_is_queued_then_sent_through_a_signed_webhook_then_read,
    a_module_failing_three_times_gets_every_message_once_in_order,
    a_refused_or_unreachable_delivery_ends_failed_with_its_reason,
    a_dead_workers_job_is_delivered_once_after_its_lease,
    deliveries_into_deleted_dialogs_disturb_no_other_write,
);

struct Setup {
    fake: FakeModule,
    token: String,
    channel: i64,
    dialog: i64,
    admin: Caller,
}

async fn setup(app: &TestApp) -> Setup {
    let fake = FakeModule::start().await;
    let admin = app.as_(ADMIN_EMAIL).await;
    let connected = admin.connect_module(&fake.webhook_url).await;
    fake.set_secret(&connected.webhook_secret);
    let (token, channel, module) = (connected.token, connected.channel, connected.module);
    let push = json!({"channel_id": channel, "customer": {"external_id": "u1", "nickname": "masha"}, "external_id": "in-1", "text": "Привет"});
    let pushed = module
        .post("/api/transport/v1/messages", push)
        .expect(200)
        .await;
    Setup {
        fake,
        token,
        channel,
        dialog: pushed["dialog_id"].as_i64().unwrap(),
        admin,
    }
}

async fn send(s: &Setup, text: &str) -> i64 {
    let path = format!("/api/v1/dialogs/{}/messages", s.dialog);
    let (status, m) = s.admin.post(&path, json!({"body": text})).await;
    assert_eq!((status, m["status"].as_str()), (201, Some("queued")));
    m["id"].as_i64().unwrap()
}

async fn message(s: &Setup, id: i64) -> Value {
    let path = format!("/api/v1/dialogs/{}/messages", s.dialog);
    let (_, feed) = s.admin.get(&path).await;
    feed.as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"].as_i64() == Some(id))
        .cloned()
        .unwrap()
}

/// Waits until the message has `status`, or fails after five seconds.
async fn wait_status(s: &Setup, id: i64, status: &str) -> Value {
    for _ in 0..100 {
        let m = message(s, id).await;
        if m["status"] == status {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "message {id} never became {status}: {}",
        message(s, id).await
    );
}

async fn f31_a_reply_is_queued_then_sent_through_a_signed_webhook_then_read(app: TestApp) {
    let s = setup(&app).await;
    let id = send(&s, "Добрый день!").await;
    wait_status(&s, id, "sent").await;
    assert_eq!(s.fake.delivered(), [(id, "Добрый день!".to_owned())]);
    assert_eq!(s.fake.bad_signatures(), 0);
    let report =
        json!({"channel_id": s.channel, "external_id": format!("fake-{id}"), "status": "read"});
    let (status, _) = app
        .as_module(&s.token)
        .post("/api/transport/v1/messages/status", report)
        .await;
    assert_eq!(status, 200, "the module's own id finds the message");
    wait_status(&s, id, "read").await;

    // An async module acknowledges later.
    s.fake.answer(Answer::Async);
    let later = send(&s, "Ещё вопрос?").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        message(&s, later).await["status"],
        "queued",
        "taken, not yet sent"
    );
    let ack = json!({"channel_id": s.channel, "message_id": later, "status": "sent", "external_id": "late-1"});
    app.as_module(&s.token)
        .post("/api/transport/v1/messages/status", ack)
        .expect(200)
        .await;
    wait_status(&s, later, "sent").await;
}

async fn a_module_failing_three_times_gets_every_message_once_in_order(app: TestApp) {
    let s = setup(&app).await;
    s.fake.fail_next(3);
    let ids = [
        send(&s, "один").await,
        send(&s, "два").await,
        send(&s, "три").await,
    ];
    for id in ids {
        wait_status(&s, id, "sent").await;
    }
    let delivered: Vec<i64> = s.fake.delivered().into_iter().map(|(id, _)| id).collect();
    assert_eq!(delivered, ids, "once each, in order");
    let attempts: Vec<i64> = s.fake.attempts().into_iter().map(|(id, _)| id).collect();
    assert_eq!(
        attempts,
        [ids[0], ids[0], ids[0], ids[0], ids[1], ids[2]],
        "the first was retried; the others waited their turn"
    );
}

async fn a_refused_or_unreachable_delivery_ends_failed_with_its_reason(app: TestApp) {
    let s = setup(&app).await;
    s.fake.answer(Answer::Refuse {
        code: "reply_timed_out".into(),
        message: "The 24-hour window is over".into(),
    });
    let refused = send(&s, "Поздно").await;
    let m = wait_status(&s, refused, "failed").await;
    assert_eq!(m["failure_reason"], "The 24-hour window is over");

    s.fake.answer(Answer::Sent);
    s.fake.fail_next(100);
    let lost = send(&s, "Никто не ответит").await;
    let m = wait_status(&s, lost, "failed").await;
    assert!(m["failure_reason"].as_str().unwrap().contains("500"), "{m}");
    assert_eq!(
        s.fake
            .attempts()
            .iter()
            .filter(|(id, _)| *id == lost)
            .count(),
        5,
        "every allowed attempt, then a visible failure"
    );
}

/// F29: replies still waiting in the queue when their dialog is taken from their author are
/// not sent: they end failed, saying why, and never reach the module.
async fn queued_replies_of_a_manager_who_lost_the_dialog_are_not_sent(backend: TestBackend) {
    let options = Options {
        delivery_policy: beseda_core::transport::RetryPolicy {
            max_attempts: 5,
            base: Duration::from_secs(3600),
            cap: Duration::from_secs(3600),
        },
        ..Default::default()
    };
    let Some(app) = TestApp::spawn_with(backend, options).await else {
        return;
    };
    let s = setup(&app).await;
    let anna = app.manager("anna@example.com", "Anna").await;
    let boris = app.manager("boris@example.com", "Boris").await;
    let assign = format!("/api/v1/dialogs/{}/assign", s.dialog);
    s.admin
        .post(&assign, json!({"to": {"type": "manager", "id": anna.id}}))
        .expect(204)
        .await;
    let as_anna = app.as_("anna@example.com").await;
    s.fake.fail_next(1);
    let mut replies = Vec::new();
    for text in ["Один момент", "Уточняю"] {
        let path = format!("/api/v1/dialogs/{}/messages", s.dialog);
        let m = as_anna.post(&path, json!({"body": text})).expect(201).await;
        replies.push(m["id"].as_i64().unwrap());
    }
    // The first attempt failed; the retry is an hour away and the second waits its turn.
    for _ in 0..100 {
        if !s.fake.attempts().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(s.fake.attempts().len(), 1);

    s.admin
        .post(&assign, json!({"to": {"type": "manager", "id": boris.id}}))
        .expect(204)
        .await;
    for id in &replies {
        let m = message(&s, *id).await;
        assert_eq!(
            (m["status"].as_str(), m["failure_reason"].as_str()),
            (
                Some("failed"),
                Some("the dialog is no longer assigned to you")
            ),
            "{m}"
        );
    }
    app.clock.advance(Duration::from_secs(7200));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        s.fake.attempts().len(),
        1,
        "nothing more reached the module"
    );
    assert!(s.fake.delivered().is_empty());
}

#[tokio::test]
async fn queued_replies_of_a_manager_who_lost_the_dialog_are_not_sent_sqlite() {
    queued_replies_of_a_manager_who_lost_the_dialog_are_not_sent(TestBackend::Sqlite).await;
}

#[tokio::test]
async fn queued_replies_of_a_manager_who_lost_the_dialog_are_not_sent_postgres() {
    queued_replies_of_a_manager_who_lost_the_dialog_are_not_sent(TestBackend::Postgres).await;
}

async fn a_dead_workers_job_is_delivered_once_after_its_lease(app: TestApp) {
    let s = setup(&app).await;
    // A worker leases the job and dies before it answers.
    let now = SystemClock.now();
    let id = {
        let path = format!("/api/v1/dialogs/{}/messages", s.dialog);
        let m = s
            .admin
            .post(&path, json!({"body": "пережить сбой"}))
            .expect(201)
            .await;
        m["id"].as_i64().unwrap()
    };
    let stolen = app
        .store
        .claim_deliveries("dead-worker", now, now.plus(Duration::from_millis(600)), 10)
        .await
        .unwrap();
    // The server's own worker may have taken it first; then the dead worker got nothing.
    if let Some(job) = stolen.first() {
        assert_eq!(job.message_id.0, id);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(s.fake.attempts().is_empty(), "nobody touches a leased job");
    }
    let m = wait_status(&s, id, "sent").await;
    assert_eq!(m["status"], "sent");
    if let Some(job) = stolen.first() {
        // The dead worker's late word changes nothing.
        let late =
            beseda_core::transport::DeliveryOutcome::Failed(beseda_core::transport::Failure {
                code: "x".into(),
                message: "late".into(),
            });
        app.store
            .finish_delivery(job.id, "dead-worker", &late, SystemClock.now())
            .await
            .unwrap();
        assert_eq!(message(&s, id).await["status"], "sent");
    }
    assert_eq!(
        s.fake.delivered(),
        [(id, "пережить сбой".to_owned())],
        "exactly once"
    );
}

/// Replies with files are queued in dialogs that are reassigned and deleted while the worker
/// delivers them (to a module that never answers). A delivery into a deleted dialog ends
/// quietly, and no attempt is cut off in the middle of its transaction: every later write
/// stays visible. (On PostgreSQL an attempt aborted mid-transaction once left a pooled
/// connection inside it, and an upload made on that connection vanished.)
async fn deliveries_into_deleted_dialogs_disturb_no_other_write(app: TestApp) {
    let admin = app.as_(ADMIN_EMAIL).await;
    let c = admin.connect_module("http://127.0.0.1:9/hook").await;
    let other = app.manager("other@example.com", "Other").await;
    let system = app.managers_actor(app.admin.id).await;
    for n in 0..40 {
        let pushed = c
            .module
            .post(
                "/api/transport/v1/messages",
                json!({"channel_id": c.channel, "customer": {"external_id": format!("c{n}")},
                    "external_id": format!("e{n}"), "text": "Hello"}),
            )
            .expect(200)
            .await;
        let d = pushed["dialog_id"].as_i64().unwrap();
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(b"%PDF-1.4 a report".to_vec()).file_name("r.pdf"),
        );
        let up = admin
            .upload(&format!("/api/v1/dialogs/{d}/attachments"), form)
            .expect(201)
            .await;
        let file = beseda_core::ids::AttachmentId(up[0]["id"].as_i64().unwrap());
        assert!(
            app.store.attachment(file).await.unwrap().is_some(),
            "round {n}: the upload is stored for everyone to read"
        );
        admin
            .post(
                &format!("/api/v1/dialogs/{d}/messages"),
                json!({"body": "", "attachment_ids": [file.0]}),
            )
            .expect(201)
            .await;
        let to = (n % 2 == 0).then_some(beseda_core::dialog::Responsible::Manager(other.id));
        app.state
            .dialogs
            .assign(&system, beseda_core::ids::DialogId(d), to)
            .await
            .unwrap();
        if n % 5 == 3 {
            admin
                .post("/api/v1/dialogs/delete", json!({"ids": [d]}))
                .expect(200)
                .await;
        }
    }
}
