//! Counters stay exact when client messages and reads race (F02, F03), on both stores.

use crate::common::TestApp;
use beseda_core::channel::ChannelKind;
use beseda_core::dialog::{Responsible, Viewer};
use beseda_core::ids::DialogId;
use std::sync::Arc;

on_both_backends!(f02_fifty_messages_and_fifty_reads_racing_leave_exact_unread_counts);

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
