//! What a manager sees, in a real browser: Debian's chromium driven through chromium-driver.
//! Without them the test is skipped, except in CI (`CI=true`), where it fails.
//! Screenshots of the main screens go to `target/screenshots/`: look at them.

use crate::common::browser::Browser;
use crate::common::{ADMIN_EMAIL, PASSWORD, TestApp};
use fantoccini::Locator;
use std::time::Duration;

#[tokio::test]
async fn a_manager_signs_in_sees_the_shell_and_switches_to_russian() {
    let app = TestApp::spawn(beseda_testkit::TestBackend::Sqlite)
        .await
        .unwrap();
    let Some(browser) = Browser::start("en-US").await else {
        return;
    };
    let base = app.base.clone();

    // A wrong password: the form says so, in the browser's language, and keeps the email.
    browser
        .sign_in(&base, ADMIN_EMAIL, "not the password")
        .await;
    assert_eq!(
        browser.text_of("#login-error").await,
        "The email or the password is wrong."
    );
    let kept = browser
        .client
        .find(Locator::Css("#email"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some(ADMIN_EMAIL));
    browser.screenshot("login-error").await;

    browser.sign_in(&base, ADMIN_EMAIL, PASSWORD).await;
    let who = browser.text_of("#current-manager").await;
    assert!(
        who.contains("Administrator") && who.contains("System administrator"),
        "{who}"
    );
    assert_eq!(browser.text_of("#logout").await, "Sign out");
    browser.screenshot("inbox-shell-en").await;

    // The manager's own language setting: Russian, kept on the server.
    browser.select("#locale", "ru").await;
    browser.click("#locale-form button").await;
    browser
        .wait_for(Locator::XPath("//button[@id='logout' and text()='Выйти']"))
        .await;
    assert!(
        browser
            .text_of("#current-manager")
            .await
            .contains("Системный администратор")
    );
    let lang = browser
        .client
        .find(Locator::Css("html"))
        .await
        .unwrap()
        .attr("lang")
        .await
        .unwrap();
    assert_eq!(lang.as_deref(), Some("ru"));

    // Availability from the header.
    browser.select("#status", "lunch").await;
    browser.click("#availability-form button").await;
    browser
        .wait_for(Locator::Css("#status option[value=lunch][selected]"))
        .await;
    browser.screenshot("inbox-shell-ru").await;
    assert_eq!(
        app.store
            .manager(app.admin.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        beseda_core::values::ManagerStatus::Lunch
    );

    browser.click("#logout").await;
    browser.wait_for(Locator::Css("#email")).await;
    browser.client.goto(&format!("{base}/")).await.unwrap();
    assert!(
        browser
            .client
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/login"),
        "signed out for good"
    );
}

#[tokio::test]
async fn the_login_page_follows_a_russian_browser() {
    let app = TestApp::spawn(beseda_testkit::TestBackend::Sqlite)
        .await
        .unwrap();
    let Some(browser) = Browser::start("ru-RU").await else {
        return;
    };
    browser
        .client
        .goto(&format!("{}/login", app.base))
        .await
        .unwrap();
    assert_eq!(browser.text_of("button[type=submit]").await, "Войти");
    browser.screenshot("login-ru").await;
}

/// The API docs page works under its own Content-Security-Policy: the operations are drawn and
/// one opens; and no page may be framed.
#[tokio::test]
async fn the_api_docs_page_works_under_its_content_security_policy() {
    let app = TestApp::spawn(beseda_testkit::TestBackend::Sqlite)
        .await
        .unwrap();
    let r = reqwest::get(app.url("/api/docs/")).await.unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    let Some(browser) = Browser::start("en-US").await else {
        return;
    };
    browser
        .client
        .goto(&format!("{}/api/docs/", app.base))
        .await
        .unwrap();
    assert_eq!(
        browser
            .text_of(".info .title")
            .await
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>(),
        ["Beseda", "API"]
    );
    browser
        .wait_js(
            "return document.querySelectorAll('.opblock').length > 40",
            "every operation is listed",
        )
        .await;
    browser.click(".opblock-summary").await;
    browser
        .wait_js(
            "return document.querySelector('.opblock.is-open .responses-table') !== null",
            "an operation opens with its answers",
        )
        .await;
    browser.screenshot("api-docs").await;
}

/// F01–F03, F31, live: a client message pushed through the transport API appears in the open
/// workspace with its unread count, the header counter and a toast; a reply shows the clock,
/// one tick when the module acknowledges it, two when the client reads it. Names and texts are
/// shown as text, whatever they hold.
#[tokio::test]
async fn a_client_message_arrives_live_and_a_reply_moves_through_its_statuses() {
    use beseda_testkit::fake_module::{Answer, FakeModule};
    let app = TestApp::spawn(beseda_testkit::TestBackend::Sqlite)
        .await
        .unwrap();
    let Some(browser) = Browser::start("en-US").await else {
        return;
    };
    let base = app.base.clone();
    let fake = FakeModule::start().await;
    fake.answer(Answer::Async);
    let admin = app.login(ADMIN_EMAIL).await;
    let (_, m) = crate::common::send(
        admin.post(app.url("/api/v1/transport-modules")),
        Some(serde_json::json!({"name": "Fake", "webhook_url": fake.webhook_url})),
    )
    .await;
    fake.set_secret(m["webhook_secret"].as_str().unwrap());
    let token = m["token"].as_str().unwrap().to_owned();
    let t = reqwest::Client::new();
    let (_, ch) = crate::common::send(
        t.post(app.url("/api/transport/v1/channels"))
            .header("x-transport-token", &token),
        Some(serde_json::json!({"type": "telegram", "name": "Shop bot"})),
    )
    .await;

    browser.sign_in(&base, ADMIN_EMAIL, PASSWORD).await;
    browser.wait_for(Locator::Css("body[data-live=true]")).await;
    let evil = "<img src=x onerror=\"document.body.dataset.pwned=1\">";
    let text = format!("Hello! Do you deliver? {evil}");
    let (status, pushed) = crate::common::send(
        t.post(app.url("/api/transport/v1/messages"))
            .header("x-transport-token", &token),
        Some(serde_json::json!({
            "channel_id": ch["id"], "external_id": "in-1", "text": text,
            "customer": {"external_id": "u1", "first_name": evil},
        })),
    )
    .await;
    assert_eq!(status, 200, "{pushed}");
    let dialog = pushed["dialog_id"].as_i64().unwrap();
    let row = format!("li.row[data-id='{dialog}']");
    assert_eq!(browser.text_of(&format!("{row} .badge")).await, "1");
    assert_eq!(browser.text_of(&format!("{row} .row-name")).await, evil);
    assert_eq!(browser.text_of("#unread-counter").await, "1");
    assert!(browser.text_of(".toast").await.contains("Do you deliver?"));
    browser.screenshot("workspace-new-message").await;

    browser.click(&row).await;
    browser.wait_for(Locator::Css("#feed li.msg.client")).await;
    assert!(
        browser
            .text_of("#feed li.msg.client .msg-body")
            .await
            .ends_with(evil)
    );
    browser
        .wait_for(Locator::Css("#unread-counter[hidden]"))
        .await;
    browser.type_into("#composer-text", "Yes, tomorrow.").await;
    browser.click("#composer-send").await;
    let mine = browser
        .wait_for(Locator::Css("#feed li.msg.company .status-queued"))
        .await;
    drop(mine);
    // The module took it (async) and acknowledges later: one tick, then read: two ticks.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let sent_id = loop {
        if let Some(p) = fake.payloads().first() {
            break p["id"].as_i64().unwrap();
        }
        assert!(std::time::Instant::now() < deadline, "no webhook");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let report = |status: &str| serde_json::json!({"channel_id": ch["id"], "message_id": sent_id, "status": status, "external_id": "tg-1"});
    let (s, _) = crate::common::send(
        t.post(app.url("/api/transport/v1/messages/status"))
            .header("x-transport-token", &token),
        Some(report("sent")),
    )
    .await;
    assert_eq!(s, 200);
    browser
        .wait_for(Locator::Css("#feed li.msg.company .status-sent"))
        .await;
    crate::common::send(
        t.post(app.url("/api/transport/v1/messages/status"))
            .header("x-transport-token", &token),
        Some(serde_json::json!({"channel_id": ch["id"], "message_id": sent_id, "status": "read"})),
    )
    .await;
    browser
        .wait_for(Locator::Css("#feed li.msg.company .status-read"))
        .await;
    browser.screenshot("workspace-conversation").await;
    let pwned = browser
        .client
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .attr("data-pwned")
        .await
        .unwrap();
    assert_eq!(pwned, None, "nothing a client wrote ran");
}
