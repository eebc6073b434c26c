//! Counters stay exact when client messages and reads race (F02, F03), on both stores.

use crate::common::TestApp;
use beseda_core::channel::ChannelKind;
use beseda_core::dialog::{Responsible, Viewer};
use beseda_core::ids::DialogId;
use std::sync::Arc;

on_both_backends!(
    f02_fifty_messages_and_fifty_reads_racing_leave_exact_unread_counts,
    two_thousand_concurrent_mixed_writes_each_stored_once_or_leaving_nothing,
);

/// The unread-dialogs count from first principles: every visible dialog with unread client
/// messages or an unread mark.
async fn truth(app: &TestApp, viewer: Viewer, dialogs: &[DialogId]) -> i64 {
    let mut n = 0;
    for d in dialogs {
        if let Some(v) = app
            .store
            .dialog_view(*d, viewer, beseda_core::time::Timestamp(0))
            .await
            .unwrap()
            && (v.unread_messages > 0 || v.marked_unread)
        {
            n += 1;
        }
    }
    n
}

async fn f02_fifty_messages_and_fifty_reads_racing_leave_exact_unread_counts(app: TestApp) {
    let app = Arc::new(app);
    let anna = app.manager("anna@example.com", "Anna").await;
    let olga = app.manager("olga@example.com", "Olga").await;
    let admin = app.managers_actor(app.admin.id).await;
    let anna_actor = app.managers_actor(anna.id).await;
    let olga_actor = app.managers_actor(olga.id).await;
    let tg = app.channel(ChannelKind::Telegram).await;
    let mut dialogs = Vec::new();
    for c in 0..5 {
        dialogs.push(DialogId(app.new_dialog(tg, &format!("c{c}")).await));
    }
    // Two of the dialogs are Anna's; the rest stay unassigned.
    for d in &dialogs[..2] {
        app.state
            .dialogs
            .assign(&admin, *d, Some(Responsible::Manager(anna.id)))
            .await
            .unwrap();
    }

    let mut tasks = Vec::new();
    for n in 0..50 {
        let writer = app.clone();
        tasks.push(tokio::spawn(async move {
            writer
                .client_writes(tg, &format!("c{}", n % 5), &format!("race-{n}"), "ping")
                .await;
        }));
        let (app, d) = (app.clone(), dialogs[n % 5]);
        let reader = [admin.clone(), anna_actor.clone(), olga_actor.clone()][n % 3].clone();
        tasks.push(tokio::spawn(async move {
            // A reader may lose sight of a dialog it never could see; that is not the point here.
            let _ = app.state.dialogs.read(&reader, d).await;
            if n % 7 == 0 {
                let _ = app.state.dialogs.mark_unread(&reader, d).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }

    for actor in [&admin, &anna_actor, &olga_actor] {
        let viewer = Viewer::of(actor);
        let counted = app
            .state
            .dialogs
            .counters(actor)
            .await
            .unwrap()
            .unread_dialogs;
        assert_eq!(
            counted,
            truth(&app, viewer, &dialogs).await,
            "{}",
            actor.manager.email
        );
    }
    // Reading everything brings the administrator to zero; one message per dialog to five.
    for d in &dialogs {
        app.state.dialogs.read(&admin, *d).await.unwrap();
    }
    assert_eq!(
        app.state
            .dialogs
            .counters(&admin)
            .await
            .unwrap()
            .unread_dialogs,
        0
    );
    for c in 0..5 {
        app.client_writes(tg, &format!("c{c}"), &format!("after-{c}"), "ещё")
            .await;
    }
    assert_eq!(
        app.state
            .dialogs
            .counters(&admin)
            .await
            .unwrap()
            .unread_dialogs,
        5
    );
    assert_eq!(
        app.state
            .dialogs
            .counters(&olga_actor)
            .await
            .unwrap()
            .unread_dialogs,
        3,
        "Olga sees the three unassigned ones"
    );
}

/// Two thousand writes at once through the public API, as group commit batches them: client
/// pushes (one in ten a resend of another), a manager's replies, read marks, and pushes of a
/// blocked client. Each accepted write is stored once, each refused one leaves nothing, and the
/// counters agree with a count from the dialogs themselves.
async fn two_thousand_concurrent_mixed_writes_each_stored_once_or_leaving_nothing(app: TestApp) {
    use serde_json::{Value, json};
    use std::collections::{HashMap, HashSet};
    const CLIENTS: usize = 19;
    const WRITES: usize = 2000;

    let admin = app.as_(crate::common::ADMIN_EMAIL).await;
    let connected = admin.connect_module("http://127.0.0.1:9/unreachable").await;
    let module = connected.module.clone();
    let push = |contact: &str, id: &str| {
        json!({"channel_id": connected.channel, "external_id": id, "text": id,
            "customer": {"external_id": contact}})
    };
    // Every client's dialog exists before the race; the twentieth client is then blocked.
    let mut dialogs = Vec::new();
    for c in 0..=CLIENTS {
        let first = module
            .post(
                "/api/transport/v1/messages",
                push(&format!("c{c}"), &format!("first-{c}")),
            )
            .expect(200)
            .await;
        dialogs.push(first["dialog_id"].as_i64().unwrap());
    }
    let blocked = dialogs[CLIENTS];
    admin
        .post_empty(&format!("/api/v1/dialogs/{blocked}/client/block"))
        .expect(204)
        .await;
    let before = app.store.data_counts().await.unwrap();

    // What each write is: by its number, so that the expected outcome is known beforehand.
    enum Write {
        Push { client: usize, id: String },
        Resend { client: usize, id: String },
        Reply { dialog: i64, text: String },
        Read { dialog: i64 },
        Blocked { id: String },
    }
    let write = |i: usize| -> Write {
        let client = i % CLIENTS;
        match i % 10 {
            0..=5 => Write::Push {
                client,
                id: format!("p{i}"),
            },
            // A resend of the push four to six writes earlier: often still in flight.
            6 => Write::Resend {
                client: (i - 6) % CLIENTS,
                id: format!("p{}", i - 6),
            },
            7 => Write::Reply {
                dialog: dialogs[client],
                text: format!("r{i}"),
            },
            8 => Write::Read {
                dialog: dialogs[client],
            },
            _ => Write::Blocked {
                id: format!("b{i}"),
            },
        }
    };
    let gate = Arc::new(tokio::sync::Semaphore::new(200));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..WRITES {
        let (module, admin, gate) = (module.clone(), admin.clone(), gate.clone());
        let w = write(i);
        let body = match &w {
            Write::Push { client, id } | Write::Resend { client, id } => {
                Some(push(&format!("c{client}"), id))
            }
            Write::Blocked { id } => Some(push(&format!("c{CLIENTS}"), id)),
            _ => None,
        };
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await.unwrap();
            let answer: (u16, Value) = match &w {
                Write::Push { .. } | Write::Resend { .. } | Write::Blocked { .. } => {
                    module
                        .post("/api/transport/v1/messages", body.unwrap())
                        .await
                }
                Write::Reply { dialog, text } => {
                    admin
                        .post(
                            &format!("/api/v1/dialogs/{dialog}/messages"),
                            json!({"body": text}),
                        )
                        .await
                }
                Write::Read { dialog } => {
                    admin
                        .post_empty(&format!("/api/v1/dialogs/{dialog}/read"))
                        .await
                }
            };
            (i, answer)
        });
    }
    let mut pushed: HashMap<String, Value> = HashMap::new();
    let mut resent = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (i, (status, body)) = done.unwrap();
        match write(i) {
            Write::Push { id, .. } => {
                assert_eq!(status, 200, "push {id}: {body}");
                pushed.insert(id, body["message_id"].clone());
            }
            Write::Resend { id, .. } => {
                assert_eq!(status, 200, "resend {id}: {body}");
                resent.push((id, body["message_id"].clone()));
            }
            Write::Reply { text, .. } => assert_eq!(status, 201, "reply {text}: {body}"),
            Write::Read { .. } => assert_eq!(status, 204, "read: {body}"),
            Write::Blocked { id } => {
                assert_eq!(
                    (status, body["error"].as_str()),
                    (409, Some("client_blocked")),
                    "blocked {id}: {body}"
                )
            }
        }
    }
    // A resend is answered with the message its first push made, whichever came first.
    for (id, message) in &resent {
        assert_eq!(&pushed[id], message, "resend of {id}");
    }

    // Each accepted write once in its dialog's feed; nothing of the refused ones.
    let (mut pushes, mut replies) = (0, 0);
    for (c, dialog) in dialogs.iter().enumerate() {
        let feed = admin
            .get(&format!("/api/v1/dialogs/{dialog}/messages?limit=200"))
            .expect(200)
            .await;
        let bodies: Vec<&str> = feed
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["event"].is_null())
            .filter_map(|m| m["body"].as_str())
            .collect();
        let distinct: HashSet<&str> = bodies.iter().copied().collect();
        assert_eq!(
            bodies.len(),
            distinct.len(),
            "dialog {c} holds a write twice"
        );
        let expected: HashSet<String> = (0..WRITES)
            .filter_map(|i| match write(i) {
                Write::Push { client, id } if client == c => Some(id),
                Write::Reply { dialog: d, text } if d == *dialog => Some(text),
                _ => None,
            })
            .chain([format!("first-{c}")])
            .collect();
        let expected: HashSet<&str> = expected.iter().map(String::as_str).collect();
        assert_eq!(distinct, expected, "dialog {c}");
        pushes += bodies.iter().filter(|b| b.starts_with('p')).count();
        replies += bodies.iter().filter(|b| b.starts_with('r')).count();
    }
    assert_eq!(pushes, pushed.len());
    let after = app.store.data_counts().await.unwrap();
    assert_eq!(
        (after.clients, after.dialogs, after.messages),
        (
            before.clients,
            before.dialogs,
            before.messages + (pushes + replies) as i64
        ),
        "only accepted writes were stored"
    );

    // The header counter against the dialogs themselves.
    let mut unread = 0;
    for dialog in &dialogs {
        let row = admin
            .get(&format!("/api/v1/dialogs/{dialog}"))
            .expect(200)
            .await;
        if row["unread_messages"].as_i64().unwrap() > 0 || row["marked_unread"] == json!(true) {
            unread += 1;
        }
    }
    let counters = admin.get("/api/v1/me/counters").expect(200).await;
    assert_eq!(counters["unread_dialogs"], json!(unread), "{counters}");
}
