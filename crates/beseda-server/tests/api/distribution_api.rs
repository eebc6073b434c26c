//! The distribution bot (F36) through the API: a channel's new dialogs go to present managers
//! in turn, up to their cap; the rest wait in the queue and go out in order as room appears;
//! an absent manager receives nothing; a dialog with no answer in time moves on, and the feed
//! says why. Presence is a manager's open socket and the status "free".

use crate::common::{ADMIN_EMAIL, TestApp};
use crate::realtime::{connect, session};
use beseda_core::channel::ChannelKind;
use serde_json::{Value, json};
use std::time::Duration;

on_both_backends!(
    f36_new_dialogs_go_to_present_managers_in_turn_up_to_their_cap,
    f36_a_dialog_without_an_answer_in_time_moves_to_another_manager,
    f36_a_rule_naming_a_disabled_manager_is_refused,
    f36_f05_new_dialogs_are_greeted_get_an_order_and_those_who_wait_are_told,
);

/// Who holds the dialog, once the bot has had its chance: a manager's id, or `None`.
async fn holder_after(app: &TestApp, d: i64, expect: Option<i64>) -> Option<i64> {
    let admin = app.as_(ADMIN_EMAIL).await;
    let mut holder = None;
    for _ in 0..60 {
        let view = admin.get(&format!("/api/v1/dialogs/{d}")).expect(200).await;
        holder = view["responsible"]["id"].as_i64();
        if holder == expect {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    holder
}

async fn f36_new_dialogs_go_to_present_managers_in_turn_up_to_their_cap(app: TestApp) {
    let admin = app.as_(ADMIN_EMAIL).await;
    let tg = app.channel(ChannelKind::Telegram).await;
    let anna = app.manager("anna@example.com", "Anna").await;
    let boris = app.manager("boris@example.com", "Boris").await;
    // Clara is in the pool but never connects: she is absent.
    let clara = app.manager("clara@example.com", "Clara").await;
    let _anna_ws = connect(&app, &session(&app, "anna@example.com").await, None).await;
    let _boris_ws = connect(&app, &session(&app, "boris@example.com").await, None).await;
    admin
        .put(
            &format!("/api/v1/settings/distribution/channels/{}", tg.0),
            json!({"managers": [anna.id, boris.id, clara.id], "strategy": "round_robin", "max_open": 1}),
        )
        .expect(204)
        .await;
    let settings = admin.get("/api/v1/settings/distribution").expect(200).await;
    assert_eq!(settings["rules"][0]["channel_id"], tg.0);

    let first = app.new_dialog(tg, "1").await;
    let first_holder = holder_after(&app, first, Some(anna.id.0)).await;
    assert_eq!(
        first_holder,
        Some(anna.id.0),
        "round robin starts with the first"
    );
    let second = app.new_dialog(tg, "2").await;
    assert_eq!(
        holder_after(&app, second, Some(boris.id.0)).await,
        Some(boris.id.0)
    );
    // Both at their cap: the third waits, and so does the fourth, behind it.
    let third = app.new_dialog(tg, "3").await;
    let fourth = app.new_dialog(tg, "4").await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        holder_after(&app, third, None).await,
        None,
        "the cap holds; Clara is away"
    );
    assert_eq!(holder_after(&app, fourth, None).await, None);
    // Boris closes his: the queue's head goes to him, the next still waits.
    app.as_("boris@example.com")
        .await
        .post_empty(&format!("/api/v1/dialogs/{second}/close"))
        .expect(204)
        .await;
    assert_eq!(
        holder_after(&app, third, Some(boris.id.0)).await,
        Some(boris.id.0)
    );
    assert_eq!(holder_after(&app, fourth, None).await, None);
    // Anna goes to lunch, so she no longer receives even with room.
    app.as_("anna@example.com")
        .await
        .put(
            "/api/v1/me/availability",
            json!({"online": true, "status": "lunch"}),
        )
        .expect(200)
        .await;
    app.as_("anna@example.com")
        .await
        .post_empty(&format!("/api/v1/dialogs/{first}/close"))
        .expect(204)
        .await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        holder_after(&app, fourth, None).await,
        None,
        "Anna is at lunch"
    );

    let feed = admin.feed(first).await;
    let line = feed
        .iter()
        .find(|m| m["event"]["kind"] == "dialog_assigned")
        .expect("the bot's line");
    assert_eq!(line["event"]["data"]["by"]["type"], "bot");
    assert_eq!(line["event"]["data"]["reason"], "distributed");
    assert_eq!(
        admin.get("/api/v1/dialogs/filters").expect(200).await["bots"][0]["name"],
        "Distribution bot"
    );
}

async fn f36_a_dialog_without_an_answer_in_time_moves_to_another_manager(app: TestApp) {
    let admin = app.as_(ADMIN_EMAIL).await;
    let tg = app.channel(ChannelKind::Telegram).await;
    let anna = app.manager("anna@example.com", "Anna").await;
    let boris = app.manager("boris@example.com", "Boris").await;
    let _anna_ws = connect(&app, &session(&app, "anna@example.com").await, None).await;
    admin
        .put(
            &format!("/api/v1/settings/distribution/channels/{}", tg.0),
            json!({"managers": [anna.id, boris.id]}),
        )
        .expect(204)
        .await;
    admin
        .put(
            "/api/v1/settings/distribution/reassign",
            json!({"no_answer_after_secs": 300}),
        )
        .expect(204)
        .await;
    let d = app.new_dialog(tg, "1").await;
    assert_eq!(
        holder_after(&app, d, Some(anna.id.0)).await,
        Some(anna.id.0),
        "Boris is away"
    );
    // Boris comes; Anna does not answer in five minutes.
    let _boris_ws = connect(&app, &session(&app, "boris@example.com").await, None).await;
    app.clock.advance(Duration::from_secs(301));
    // Anna's socket must still count as present: she is there, just silent.
    app.state
        .distribution
        .presence(anna.id, true)
        .await
        .unwrap();
    app.state
        .distribution
        .presence(boris.id, true)
        .await
        .unwrap();
    assert_eq!(
        holder_after(&app, d, Some(boris.id.0)).await,
        Some(boris.id.0)
    );
    let feed = admin.feed(d).await;
    let moved: Vec<&Value> = feed
        .iter()
        .filter(|m| m["event"]["kind"] == "dialog_assigned")
        .collect();
    assert_eq!(
        moved.len(),
        2,
        "given to Anna, then moved to Boris: {moved:?}"
    );
    assert_eq!(moved[1]["event"]["data"]["reason"], "no_answer");
    assert_eq!(moved[1]["event"]["data"]["from"]["id"], anna.id.0);
    // Boris has his own five minutes: it does not bounce back at once.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        holder_after(&app, d, Some(boris.id.0)).await,
        Some(boris.id.0)
    );
}

async fn f36_a_rule_naming_a_disabled_manager_is_refused(app: TestApp) {
    let admin = app.as_(ADMIN_EMAIL).await;
    let tg = app.channel(ChannelKind::Telegram).await;
    let anna = app.manager("anna@example.com", "Anna").await;
    admin
        .patch(
            &format!("/api/v1/managers/{}", anna.id),
            json!({"disabled": true}),
        )
        .expect(200)
        .await;
    let rule = format!("/api/v1/settings/distribution/channels/{}", tg.0);
    admin
        .put(&rule, json!({"managers": [anna.id]}))
        .refused(422, "invalid_value")
        .await;
    admin
        .put(&rule, json!({"managers": []}))
        .refused(422, "invalid_value")
        .await;
    admin
        .put(&rule, json!({"groups": [999]}))
        .refused(422, "invalid_value")
        .await;
    admin
        .put(
            "/api/v1/settings/distribution/reassign",
            json!({"no_answer_after_secs": 5}),
        )
        .refused(422, "invalid_value")
        .await;
    let settings = admin.get("/api/v1/settings/distribution").expect(200).await;
    assert_eq!(settings["rules"], json!([]), "nothing was kept");
    app.manager("boris@example.com", "Boris").await;
    app.as_("boris@example.com")
        .await
        .put(&rule, json!({"managers": [1]}))
        .refused(403, "forbidden")
        .await;
}

async fn f36_f05_new_dialogs_are_greeted_get_an_order_and_those_who_wait_are_told(app: TestApp) {
    let admin = app.as_(ADMIN_EMAIL).await;
    let tg = app.channel(ChannelKind::Telegram).await;
    let anna = app.manager("anna@example.com", "Anna").await;
    let _anna_ws = connect(&app, &session(&app, "anna@example.com").await, None).await;
    admin
        .put(
            &format!("/api/v1/settings/distribution/channels/{}", tg.0),
            json!({"managers": [anna.id], "max_open": 1, "order_currency": "RUB",
                   "greeting": "Hello! A manager will answer soon.",
                   "all_busy": "All our managers are busy: you are next in line."}),
        )
        .expect(204)
        .await;
    let first = app.new_dialog(tg, "1").await;
    assert_eq!(
        holder_after(&app, first, Some(anna.id.0)).await,
        Some(anna.id.0)
    );
    let second = app.new_dialog(tg, "2").await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let bodies = |feed: &[Value]| -> Vec<String> {
        feed.iter()
            .filter(|m| m["author"]["type"] == "bot")
            .map(|m| m["body"].as_str().unwrap().to_owned())
            .collect()
    };
    let feed = admin.feed(first).await;
    assert_eq!(
        bodies(&feed),
        ["Hello! A manager will answer soon."],
        "greeted once"
    );
    let greeting = feed.iter().find(|m| m["author"]["type"] == "bot").unwrap();
    assert_eq!(greeting["author"]["name"], "Distribution bot");
    let view = admin
        .get(&format!("/api/v1/dialogs/{first}"))
        .expect(200)
        .await;
    assert!(
        view["waiting_since"].is_i64(),
        "a greeting is no answer: the client still waits"
    );
    assert_eq!(
        bodies(&admin.feed(second).await),
        [
            "Hello! A manager will answer soon.",
            "All our managers are busy: you are next in line."
        ]
    );
    assert_eq!(holder_after(&app, second, None).await, None);

    // F05: the first dialog's order, with the client's source and the manager it went to.
    let client = view["client"]["id"].as_i64().unwrap();
    let orders = admin
        .get(&format!("/api/v1/orders?client_id={client}"))
        .expect(200)
        .await;
    assert_eq!(orders.as_array().unwrap().len(), 1);
    let order = &orders[0];
    assert_eq!(order["status"], "new");
    assert_eq!(order["manager_id"], anna.id.0);
    assert_eq!(order["dialog_id"], first);
    assert_eq!(order["currency"], "RUB");
    assert_eq!(order["source"]["channel_type"], "telegram");
    // The waiting one gets its order when it is given out.
    let second_view = admin
        .get(&format!("/api/v1/dialogs/{second}"))
        .expect(200)
        .await;
    let second_client = second_view["client"]["id"].as_i64().unwrap();
    assert_eq!(
        admin
            .get(&format!("/api/v1/orders?client_id={second_client}"))
            .expect(200)
            .await,
        json!([])
    );
}
