//! The waiting timer's clocks (F13, F34): due when a client starts waiting, claimed once,
//! settled under the channel's limits with one event per level, cleared by an answer.

use super::company::channel;
use super::dialogs::{accepted, inbound};
use super::new_manager;
use beseda_core::channel::ChannelKind;
use beseda_core::dialog::Responsible;
use beseda_core::dialog::{OutgoingMessage, WaitingLevel};
use beseda_core::event::{Audience, DomainEvent};
use beseda_core::ids::DialogId;
use beseda_core::library::TimeLimits;
use beseda_core::store::{Guard, Store};
use beseda_core::time::Timestamp;

const fn at(ms: i64) -> Timestamp {
    Timestamp(ms)
}

async fn claim(store: &dyn Store, now: i64) -> Vec<DialogId> {
    store
        .claim_waiting(at(now), at(now + 30_000), 10)
        .await
        .unwrap()
}

/// Settles a dialog and returns the level it announced, if any.
async fn settle(store: &dyn Store, d: DialogId, now: i64) -> Option<WaitingLevel> {
    let w = store.settle_waiting(d, at(now)).await.unwrap();
    assert!(w.events.len() <= 1);
    w.events.first().map(|e| {
        assert_eq!(e.audience, Audience::Dialog(None));
        match e.event {
            DomainEvent::WaitingLevelChanged { level, .. } => level,
            ref other => panic!("{other:?}"),
        }
    })
}

pub async fn waiting_marks_are_due_claimed_once_settled_and_cleared(store: &dyn Store) {
    let tg = channel(store, ChannelKind::Telegram, "Bot").await;
    store
        .set_default_time_limits(TimeLimits {
            warning_secs: Some(60),
            danger_secs: Some(300),
        })
        .await
        .unwrap();
    assert_eq!(store.next_waiting_due().await.unwrap(), None);
    let (d, _) = accepted(
        store
            .ingest_client_message(&inbound(tg, "c", "e1", "hello?"), at(1_000))
            .await
            .unwrap(),
    );
    // Due at once: the timer computes when the mark moves.
    assert_eq!(store.next_waiting_due().await.unwrap(), Some(at(1_000)));
    assert_eq!(claim(store, 1_000).await, [d]);
    assert!(claim(store, 1_000).await.is_empty(), "leased to its worker");
    assert_eq!(settle(store, d, 1_000).await, None);
    assert_eq!(store.next_waiting_due().await.unwrap(), Some(at(61_000)));
    assert!(claim(store, 60_999).await.is_empty());
    assert_eq!(claim(store, 61_000).await, [d]);
    assert_eq!(settle(store, d, 61_000).await, Some(WaitingLevel::Warning));
    assert_eq!(store.next_waiting_due().await.unwrap(), Some(at(301_000)));
    // A second message keeps the clock; settling twice announces once.
    store
        .ingest_client_message(&inbound(tg, "c", "e2", "anyone?"), at(62_000))
        .await
        .unwrap();
    assert_eq!(store.next_waiting_due().await.unwrap(), Some(at(301_000)));
    assert_eq!(settle(store, d, 62_000).await, None);

    // New limits for the channel: looked at again at once, under them.
    store
        .set_channel_time_limits(
            tg,
            TimeLimits {
                warning_secs: None,
                danger_secs: Some(120),
            },
        )
        .await
        .unwrap();
    assert_eq!(claim(store, 62_000).await, [d]);
    assert_eq!(settle(store, d, 62_000).await, None, "still a warning");
    assert_eq!(store.next_waiting_due().await.unwrap(), Some(at(121_000)));
    assert_eq!(claim(store, 121_000).await, [d]);
    assert_eq!(settle(store, d, 121_000).await, Some(WaitingLevel::Danger));
    assert_eq!(store.next_waiting_due().await.unwrap(), None, "red stays");

    // An answer ends the wait; the next client message starts a new one from zero.
    let anna = store
        .create_manager(&new_manager("anna@example.com", "Anna"))
        .await
        .unwrap();
    let answer = OutgoingMessage {
        automatic: false,
        buttons: Vec::new(),
        attachments: Vec::new(),
        template: None,
        dialog_id: d,
        author: Responsible::Manager(anna.id),
        body: "Here".into(),
        quote: None,
    };
    store
        .append_company_message(&answer, Guard::Any, at(130_000))
        .await
        .unwrap();
    assert_eq!(store.next_waiting_due().await.unwrap(), None);
    store
        .ingest_client_message(&inbound(tg, "c", "e3", "thanks, and?"), at(140_000))
        .await
        .unwrap();
    assert_eq!(claim(store, 140_000).await, [d]);
    assert_eq!(
        settle(store, d, 140_000).await,
        None,
        "the answer reset the mark"
    );
    assert_eq!(store.next_waiting_due().await.unwrap(), Some(at(200_000)));

    // Closing ends the wait too; a deleted dialog is never due again.
    store
        .close_dialog(d, Responsible::Manager(anna.id), Guard::Any, at(150_000))
        .await
        .unwrap();
    assert_eq!(store.next_waiting_due().await.unwrap(), None);
    let (d2, _) = accepted(
        store
            .ingest_client_message(&inbound(tg, "c2", "f1", "hi"), at(160_000))
            .await
            .unwrap(),
    );
    store
        .delete_dialogs(&[d2], anna.id, at(160_500))
        .await
        .unwrap();
    assert_eq!(claim(store, 170_000).await, [d2]);
    assert_eq!(settle(store, d2, 170_000).await, None);
    assert_eq!(store.next_waiting_due().await.unwrap(), None);
}
