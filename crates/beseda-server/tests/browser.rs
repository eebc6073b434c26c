//! What a manager sees, in a real browser: Debian's chromium driven through chromium-driver.
//! Without them the test is skipped, except in CI (`CI=true`), where it fails.
//! Screenshots of the main screens go to `target/screenshots/`: look at them.

mod common;

use common::{ADMIN_EMAIL, PASSWORD, TestApp};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A chromedriver process and one browser session; both end with this value.
struct Browser {
    client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    async fn start(accept_language: &str) -> Option<Browser> {
        if !std::path::Path::new(CHROMIUM).exists() || !std::path::Path::new(CHROMEDRIVER).exists()
        {
            let required = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            assert!(
                !required,
                "browser tests need chromium and chromium-driver in CI"
            );
            eprintln!("SKIPPED: install chromium chromium-driver for the browser tests");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let profile = tempfile::tempdir().unwrap();
        let caps = serde_json::json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                    "--window-size=1280,800", format!("--user-data-dir={}", profile.path().display()), format!("--lang={accept_language}"),
                ],
                "prefs": {"intl.accept_languages": accept_language},
            }
        });
        let caps = caps.as_object().unwrap().clone();
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        for _ in 0..100 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Some(Browser {
                        client,
                        driver,
                        _profile: profile,
                    });
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not start: {last:?}");
    }

    async fn wait_for(&self, locator: Locator<'_>) -> Element {
        let wait = self.client.wait().at_most(Duration::from_secs(10));
        wait.for_element(locator)
            .await
            .unwrap_or_else(|e| panic!("{locator:?}: {e}"))
    }

    async fn text_of(&self, css: &str) -> String {
        self.wait_for(Locator::Css(css)).await.text().await.unwrap()
    }

    async fn click(&self, css: &str) {
        self.wait_for(Locator::Css(css))
            .await
            .click()
            .await
            .unwrap();
    }

    async fn select(&self, css: &str, value: &str) {
        let el = self.wait_for(Locator::Css(css)).await;
        el.select_by_value(value).await.unwrap();
    }

    async fn type_into(&self, css: &str, text: &str) {
        self.wait_for(Locator::Css(css))
            .await
            .send_keys(text)
            .await
            .unwrap();
    }

    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    async fn sign_in(&self, base: &str, email: &str, password: &str) {
        self.client.goto(&format!("{base}/login")).await.unwrap();
        self.type_into("#email", email).await;
        self.type_into("#password", password).await;
        self.click("button[type=submit]").await;
    }
}

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
