//! A real browser for the workspace's tests: Debian's chromium driven through chromium-driver.
//! Without them a test is skipped, except in CI (`CI=true`), where it fails. Screenshots go to
//! `target/screenshots/`: look at them.

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A chromedriver process and one browser session; both end with this value.
pub struct Browser {
    pub client: Client,
    driver: Child,
    profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        // Chromium outlives the chromedriver that started it; its processes are found by this
        // session's own profile directory, even when a test panicked before quitting.
        let _ = Command::new("pkill")
            .args(["-KILL", "-f", &self.profile.path().display().to_string()])
            .status();
    }
}

impl Browser {
    pub async fn start(accept_language: &str) -> Option<Browser> {
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
                        profile,
                    });
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not start: {last:?}");
    }

    pub async fn wait_for(&self, locator: Locator<'_>) -> Element {
        let wait = self.client.wait().at_most(Duration::from_secs(10));
        wait.for_element(locator)
            .await
            .unwrap_or_else(|e| panic!("{locator:?}: {e}"))
    }

    pub async fn text_of(&self, css: &str) -> String {
        self.wait_for(Locator::Css(css)).await.text().await.unwrap()
    }

    /// Acts on the element `css` finds; when a fragment or a reload replaced it meanwhile (a
    /// stale element, or in Chromium's words a node that "does not belong to the document"),
    /// finds it again.
    async fn on_element<F, Fut>(&self, css: &str, act: F)
    where
        F: Fn(Element) -> Fut,
        Fut: std::future::Future<Output = Result<(), fantoccini::error::CmdError>>,
    {
        for _ in 0..20 {
            match act(self.wait_for(Locator::Css(css)).await).await {
                Err(e)
                    if e.is_stale_element_reference()
                        || e.to_string().contains("does not belong to the document") => {}
                other => return other.unwrap_or_else(|e| panic!("{css}: {e}")),
            }
        }
        panic!("{css} kept being replaced");
    }

    pub async fn click(&self, css: &str) {
        self.on_element(css, |el| async move { el.click().await.map(drop) })
            .await;
    }

    pub async fn select(&self, css: &str, value: &str) {
        self.on_element(css, |el| async move { el.select_by_value(value).await })
            .await;
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        self.on_element(css, |el| async move { el.send_keys(text).await })
            .await;
    }

    /// Runs a script in the page and returns what it returns.
    pub async fn js(&self, script: &str) -> serde_json::Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("{script}: {e}"))
    }

    /// Waits until `script` returns `true`, or fails after ten seconds saying `what`.
    pub async fn wait_js(&self, script: &str, what: &str) {
        for _ in 0..200 {
            // A script may fail while the page is still loading what it looks at.
            if let Ok(serde_json::Value::Bool(true)) = self.client.execute(script, Vec::new()).await
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("never true: {what} ({script})");
    }

    /// The ids of the rows the dialog list shows, top to bottom.
    pub async fn rows(&self) -> Vec<i64> {
        let v = self
            .js("return [...document.querySelectorAll('#dialog-list li.row')].map(r => Number(r.dataset.id))")
            .await;
        serde_json::from_value(v).unwrap()
    }

    /// Waits until the list shows exactly these rows, in this order.
    pub async fn wait_rows(&self, expected: &[i64], what: &str) {
        for _ in 0..200 {
            if self.rows().await == expected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{what}: the list shows {:?}, not {expected:?}",
            self.rows().await
        );
    }

    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    pub async fn sign_in(&self, base: &str, email: &str, password: &str) {
        self.client.goto(&format!("{base}/login")).await.unwrap();
        self.type_into("#email", email).await;
        self.type_into("#password", password).await;
        self.click("button[type=submit]").await;
    }
}
