//! Bots on screen (F22, F37): registered on the settings page with the token shown once; the
//! bot filter offers each bot by name and finds the dialogs it holds; the feed names the bot.

use crate::common::browser::Browser;
use crate::common::client::Caller;
use crate::common::{ADMIN_EMAIL, TestApp};
use beseda_core::channel::ChannelKind;
use fantoccini::Locator;
use serde_json::json;

async fn signed_in(app: &TestApp) -> Option<Browser> {
    crate::workspace::signed_in(app, ADMIN_EMAIL).await
}

#[tokio::test]
async fn f37_a_bot_is_registered_on_the_settings_page_with_its_token_shown_once() {
    let app = TestApp::spawn(beseda_testkit::TestBackend::Sqlite)
        .await
        .unwrap();
    let tg = app.channel(ChannelKind::Telegram).await;
    let Some(b) = signed_in(&app).await else {
        return;
    };
    b.click("#settings-link").await;
    b.type_into("#new-bot input[name=name]", "FAQ bot").await;
    b.js(&format!(
        "document.querySelector(\"#new-bot select[name=channels] option[value='{}']\").selected = true",
        tg.0
    ))
    .await;
    b.click("#new-bot button[type=submit]").await;
    b.wait_js(
        "return !document.getElementById('bot-secrets').hidden",
        "the secrets are shown",
    )
    .await;
    let token = b.text_of("#bot-secrets code[data-field=token]").await;
    assert!(token.starts_with("bb_"), "{token}");
    let me = Caller::bot_at(&app.base, &token)
        .get("/api/bot/v1/me")
        .expect(200)
        .await;
    assert_eq!(me["channels"], json!([tg.0]));
    b.screenshot("settings-bots").await;
    // Turned off from its form.
    b.js("location.reload()").await;
    b.wait_for(Locator::Css("form.bot-form")).await;
    b.click("form.bot-form input[name=active]").await;
    b.click("form.bot-form button[type=submit]").await;
    b.wait_for(Locator::XPath(
        "//form[contains(@class,'bot-form')]//h3/small",
    ))
    .await;
    Caller::bot_at(&app.base, &token)
        .get("/api/bot/v1/me")
        .refused(401, "unauthenticated")
        .await;
}

#[tokio::test]
async fn f22_the_bot_filter_finds_what_a_bot_holds_and_the_feed_names_the_bot() {
    let app = TestApp::spawn(beseda_testkit::TestBackend::Sqlite)
        .await
        .unwrap();
    let tg = app.channel(ChannelKind::Telegram).await;
    let admin = app.as_(ADMIN_EMAIL).await;
    let created = admin
        .post(
            "/api/v1/bots",
            json!({"name": "Order status bot", "channels": [tg.0]}),
        )
        .expect(201)
        .await;
    let bot_id = created["bot"]["id"].as_i64().unwrap();
    let bot = Caller::bot_at(&app.base, created["token"].as_str().unwrap());
    let held = app.new_dialog(tg, "held").await;
    let other = app.new_dialog(tg, "other").await;
    bot.post(
        &format!("/api/bot/v1/dialogs/{held}/assign"),
        json!({"to": {"type": "bot", "id": bot_id}}),
    )
    .expect(204)
    .await;
    bot.post(
        &format!("/api/bot/v1/dialogs/{held}/messages"),
        json!({"body": "Your order ships tomorrow."}),
    )
    .expect(201)
    .await;
    let Some(b) = signed_in(&app).await else {
        return;
    };
    b.wait_rows(&[held, other], "both, newest first").await;
    b.click("#filters-toggle").await;
    let pick = format!("input[name=bots][value='{bot_id}']");
    assert!(
        b.js(&format!(
            "return document.querySelector(\"{pick}\").parentElement.textContent.includes('Order status bot')"
        ))
        .await
            == json!(true),
        "each bot by name"
    );
    b.click(&pick).await;
    b.wait_rows(&[held], "the bot's dialog").await;
    b.click(&format!("li.row[data-id='{held}']")).await;
    b.wait_js(
        "return [...document.querySelectorAll('#feed .msg-author')].some(a => a.textContent === 'Order status bot')",
        "the feed names the bot",
    )
    .await;
    b.wait_js(
        "return [...document.querySelectorAll('#feed .event-text')].some(e => e.textContent.includes('Order status bot'))",
        "the line says the bot took it",
    )
    .await;
    b.screenshot("bot-filter").await;
}

/// F36 on screen: the distribution is set for a channel on the settings page; a new dialog
/// then goes by itself to the manager who is present (the administrator, whose workspace is
/// open), and the feed says the distribution bot gave it.
#[tokio::test]
async fn f36_distribution_is_set_on_the_settings_page_and_gives_new_dialogs_out() {
    let app = TestApp::spawn(beseda_testkit::TestBackend::Sqlite)
        .await
        .unwrap();
    let tg = app.channel(ChannelKind::Telegram).await;
    let Some(b) = signed_in(&app).await else {
        return;
    };
    b.click("#settings-link").await;
    let form = format!("form.distribution-form[data-channel='{}']", tg.0);
    b.js(&format!(
        "document.querySelector(\"{form} select[name=managers] option[value='{}']\").selected = true; \
         document.querySelector(\"{form} input[name=max_open]\").value = '5'; \
         document.querySelector(\"{form} textarea[name=greeting]\").value = 'Hello from the shop!'",
        app.admin.id.0
    ))
    .await;
    b.click(&format!("{form} button[type=submit]")).await;
    b.wait_for(Locator::Css(&format!("{form} h3 small"))).await;
    b.screenshot("settings-distribution").await;
    let admin = app.as_(ADMIN_EMAIL).await;
    let settings = admin.get("/api/v1/settings/distribution").expect(200).await;
    assert_eq!(settings["rules"][0]["managers"], json!([app.admin.id.0]));
    assert_eq!(settings["rules"][0]["max_open"], 5);
    assert_eq!(settings["rules"][0]["greeting"], "Hello from the shop!");
    assert_eq!(settings["rules"][0]["hours"], serde_json::Value::Null);

    // The settings page holds a socket too: back to the workspace, and a client writes.
    b.click("a[href='/']").await;
    b.wait_for(Locator::Css("body[data-live=true]")).await;
    let d = app.new_dialog(tg, "new").await;
    b.click(&format!("li.row[data-id='{d}']")).await;
    b.wait_js(
        "return [...document.querySelectorAll('#feed .event-text')].some(e => e.textContent.includes('Distribution bot'))",
        "the bot's line",
    )
    .await;
    b.wait_js(
        "return [...document.querySelectorAll('#feed .msg-body')].some(e => e.textContent === 'Hello from the shop!')",
        "the greeting",
    )
    .await;
    let view = admin.get(&format!("/api/v1/dialogs/{d}")).expect(200).await;
    assert_eq!(view["responsible"]["id"], app.admin.id.0);
}
