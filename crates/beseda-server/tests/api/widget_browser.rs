//! The website widget in a real browser (F39): a shop's page on another origin embeds it; the
//! visitor writes, the manager sees it live in the workspace and answers, the visitor sees the
//! answer live with its ticks; a reload keeps the history; a hostile page (aggressive CSS and a
//! Content-Security-Policy that allows only Beseda) still gets a working widget; hostile texts,
//! names and file names stay text on both sides; a site not on the list gets no widget.

use crate::common::browser::Browser;
use crate::common::{ADMIN_EMAIL, PASSWORD, TestApp};
use crate::widget_api::create_widget;
use axum::http::header;
use axum::response::IntoResponse;
use fantoccini::Locator;
use fantoccini::key::Key;
use serde_json::{Value, json};

/// The widget's shadow root, in a page's scripts.
const ROOT: &str = "const w = document.querySelector('beseda-widget')?.shadowRoot;";

/// A shop's site on its own origin: `/` embeds the widget; `/hostile` does too, under a
/// strict policy and CSS that tries to break everything.
struct Shop {
    origin: String,
}

const HOSTILE_CSS: &str = "* { display: none !important; color: red !important; font-size: 40px !important; \
    position: static !important; box-sizing: content-box !important; margin: 30px !important; } \
    html, body, h1 { display: block !important; } \
    div, button, textarea, span, p, form, input { all: unset !important; font-family: serif !important; } \
    body { transform: scale(1) !important; }";

impl Shop {
    async fn start(beseda: &str, key: &str) -> Shop {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let page = format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Sofa shop</title>\
             <link rel=\"stylesheet\" href=\"/hostile.css\" media=\"(min-width: 1px)\" disabled></head>\
             <body><h1>Sofas</h1><p>Blue sofa, 3 seats.</p>\
             <script src=\"{beseda}/widget.js\" data-beseda-channel=\"{key}\" async></script></body></html>"
        );
        let hostile = page.replace(" disabled>", ">");
        let ws = beseda.replace("http://", "ws://");
        let csp = format!(
            "default-src 'none'; script-src {beseda}; connect-src {beseda} {ws}; img-src {beseda}; style-src 'self' {beseda}"
        );
        let app = axum::Router::new()
            .route(
                "/",
                axum::routing::get(move || async move { axum::response::Html(page) }),
            )
            .route(
                "/hostile",
                axum::routing::get(move || async move {
                    (
                        [(header::CONTENT_SECURITY_POLICY, csp)],
                        axum::response::Html(hostile),
                    )
                        .into_response()
                }),
            )
            .route(
                "/hostile.css",
                axum::routing::get(|| async {
                    ([(header::CONTENT_TYPE, "text/css")], HOSTILE_CSS)
                }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await });
        Shop { origin }
    }
}

async fn js(b: &Browser, body: &str) -> Value {
    b.js(&format!("{ROOT} {body}")).await
}

async fn wait(b: &Browser, condition: &str, what: &str) {
    b.wait_js(&format!("{ROOT} return !!w && ({condition});"), what)
        .await;
}

/// Types into whatever has the focus, as a person would.
async fn type_keys(b: &Browser, text: &str) {
    b.client
        .active_element()
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
}

/// Opens the panel, fills the pre-chat form when it asks, and writes a message.
async fn visitor_writes(b: &Browser, name: Option<&str>, text: &str) {
    wait(
        b,
        "w.host.dataset.state === 'ready' || w.host.dataset.state === 'live'",
        "the widget is ready",
    )
    .await;
    js(
        b,
        "if (w.querySelector('.bw-panel').hidden) w.querySelector('button.bw-launcher').click();",
    )
    .await;
    wait(
        b,
        "!w.querySelector('.bw-panel').hidden",
        "the panel opened",
    )
    .await;
    if let Some(name) = name {
        wait(
            b,
            "!!w.querySelector('form.bw-prechat') && !w.querySelector('form.bw-prechat').hidden",
            "the pre-chat form",
        )
        .await;
        js(
            b,
            "w.querySelector('form.bw-prechat input[name=name]').focus();",
        )
        .await;
        type_keys(b, name).await;
        js(
            b,
            "w.querySelector('form.bw-prechat button[type=submit]').click();",
        )
        .await;
    }
    js(b, "w.querySelector('textarea.bw-input').focus();").await;
    type_keys(b, &format!("{text}{}", Key::Enter)).await;
}

async fn manager(app: &TestApp) -> Option<Browser> {
    let b = Browser::start("en-US").await?;
    b.sign_in(&app.base, ADMIN_EMAIL, PASSWORD).await;
    b.wait_for(Locator::Css("body[data-live=true]")).await;
    Some(b)
}

async fn f39_a_visitor_and_a_manager_talk_through_the_widget(app: TestApp) {
    let Some(m) = manager(&app).await else { return };
    let Some(v) = Browser::start("ru-RU").await else {
        return;
    };
    let (key, _, _) = create_widget(&app, "http://placeholder.test").await;
    let shop = Shop::start(&app.base, &key).await;
    allow_origin(&app, &shop.origin).await;

    v.client.goto(&format!("{}/", shop.origin)).await.unwrap();
    visitor_writes(&v, Some("Анна"), "Есть синий диван?").await;
    wait(
        &v,
        "!!w.querySelector('.bw-msg.bw-visitor[data-id] .bw-status[data-status=sent]')",
        "one tick",
    )
    .await;
    v.screenshot("widget-visitor-wrote").await;

    // The manager sees the new dialog live, opens it: the visitor's message gets two ticks.
    m.wait_js(
        "return document.querySelectorAll('#dialog-list li.row').length === 1",
        "the visitor's dialog appears live",
    )
    .await;
    m.click("#dialog-list li.row").await;
    assert!(
        m.text_of("#feed li.msg .msg-body")
            .await
            .contains("Есть синий диван?")
    );
    wait(
        &v,
        "!!w.querySelector('.bw-msg.bw-visitor .bw-status[data-status=read]')",
        "two ticks once read",
    )
    .await;
    m.type_into("#composer-text", "Да, два в наличии").await;
    m.click("#composer-send").await;

    // The answer arrives live, under the manager's name, in the visitor's language.
    wait(&v, "[...w.querySelectorAll('.bw-msg.bw-company[data-id] .bw-text')].some(t => t.textContent === 'Да, два в наличии')", "the reply").await;
    assert_eq!(js(&v, "return w.querySelector('.bw-msg.bw-company[data-id] .bw-agent')?.textContent ?? w.querySelector('.bw-agent')?.textContent").await, json!("Administrator"));
    assert_eq!(
        js(
            &v,
            "return w.querySelector('button.bw-launcher').getAttribute('aria-label')"
        )
        .await,
        json!("Открыть чат")
    );
    // Seen on an open panel: the reply is read for the manager (F31).
    m.wait_js(
        "return !!document.querySelector('#feed li.msg.company .status-read')",
        "the manager sees the reply read",
    )
    .await;
    v.screenshot("widget-conversation").await;
    m.screenshot("workspace-widget-dialog").await;

    // A reload keeps the conversation.
    v.client.refresh().await.unwrap();
    wait(
        &v,
        "w.querySelectorAll('.bw-msg[data-id]').length === 2",
        "the history after a reload",
    )
    .await;
    // On a phone-sized window the open panel takes the whole screen.
    v.client.set_window_size(390, 800).await.unwrap();
    js(
        &v,
        "if (w.querySelector('.bw-panel').hidden) w.querySelector('button.bw-launcher').click();",
    )
    .await;
    wait(
        &v,
        "(() => { const r = w.querySelector('.bw-panel').getBoundingClientRect(); \
         return !w.querySelector('.bw-panel').hidden && Math.abs(r.width - innerWidth) < 2 && Math.abs(r.height - innerHeight) < 2 \
         && getComputedStyle(w.querySelector('.bw-panel')).opacity === '1'; })()",
        "a full-screen panel below 500 px",
    )
    .await;
    v.screenshot("widget-phone").await;
}

/// Puts the shop's origin on the widget's list, as an administrator would in the settings.
async fn allow_origin(app: &TestApp, origin: &str) {
    let admin = app.as_(ADMIN_EMAIL).await;
    let widgets = admin.get("/api/v1/widgets").expect(200).await;
    let w = &widgets[0];
    let mut settings = w["settings"].clone();
    settings["allowed_origins"] = json!([origin]);
    admin
        .put(
            &format!("/api/v1/widgets/{}", w["channel_id"]),
            json!({"name": w["name"], "active": true, "settings": settings}),
        )
        .expect(200)
        .await;
}

#[tokio::test]
async fn a_hostile_page_still_gets_a_working_widget_and_hostile_texts_stay_text() {
    let app = TestApp::spawn(beseda_testkit::TestBackend::Sqlite)
        .await
        .unwrap();
    let Some(m) = manager(&app).await else { return };
    let Some(v) = Browser::start("en-US").await else {
        return;
    };
    let (key, _, _) = create_widget(&app, "http://placeholder.test").await;
    let shop = Shop::start(&app.base, &key).await;
    allow_origin(&app, &shop.origin).await;

    v.client
        .goto(&format!("{}/hostile", shop.origin))
        .await
        .unwrap();
    wait(
        &v,
        "w.host.dataset.state === 'ready' || w.host.dataset.state === 'live'",
        "the widget loads under the policy",
    )
    .await;
    let launcher = js(&v, "const r = w.querySelector('button.bw-launcher').getBoundingClientRect(); \
        return [r.width, r.height, getComputedStyle(w.host).display, r.right <= innerWidth && r.bottom <= innerHeight];").await;
    assert_eq!(
        launcher,
        json!([56, 56, "block", true]),
        "the launcher keeps its shape"
    );
    let corpus = [
        "<img src=x onerror=\"document.body.dataset.pwned=1\">",
        "<script>document.body.dataset.pwned=2</script>",
        "\"><svg onload=\"document.body.dataset.pwned=3\">",
        "javascript:document.body.dataset.pwned=4",
    ];
    visitor_writes(
        &v,
        Some("<img src=x onerror=\"document.body.dataset.pwned=5\">"),
        corpus[0],
    )
    .await;
    for text in &corpus[1..] {
        wait(
            &v,
            "!!w.querySelector('.bw-msg.bw-visitor[data-id]')",
            "sent",
        )
        .await;
        js(&v, "w.querySelector('textarea.bw-input').focus();").await;
        type_keys(&v, &format!("{text}{}", Key::Enter)).await;
    }
    wait(
        &v,
        "w.querySelectorAll('.bw-msg.bw-visitor[data-id]').length === 4",
        "all four sent",
    )
    .await;
    // A file with a hostile name, sent with the visitor's own token.
    let token = js(&v, &format!("return localStorage.getItem('beseda:{key}')")).await;
    let token = token
        .as_str()
        .expect("the widget keeps its token")
        .to_owned();
    let caller = crate::common::client::Caller::bearer_at(&app.base, &token);
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"x".to_vec())
            .file_name("<img src=x onerror=\"document.body.dataset.pwned=6\">.txt"),
    );
    let up = caller
        .upload(&format!("/api/widget/v1/{key}/files"), form)
        .expect(201)
        .await;
    caller
        .post(
            &format!("/api/widget/v1/{key}/messages"),
            json!({"client_id": "file-1", "attachments": [up[0]["id"]]}),
        )
        .expect(201)
        .await;
    wait(
        &v,
        "w.querySelectorAll('.bw-msg.bw-visitor[data-id]').length === 5",
        "the file's message",
    )
    .await;
    let texts = js(&v, "return [...w.querySelectorAll('.bw-msg.bw-visitor[data-id] .bw-text')].map(t => t.textContent)").await;
    for text in corpus {
        assert!(
            texts.as_array().unwrap().contains(&json!(text)),
            "{text} shown as text: {texts}"
        );
    }
    assert!(
        js(&v, "return w.textContent")
            .await
            .as_str()
            .unwrap()
            .contains("onerror=\"document.body.dataset.pwned=6\">.txt")
    );

    // The manager's side: the same texts, the name and the file name are text there too.
    m.wait_js(
        "return document.querySelectorAll('#dialog-list li.row').length === 1",
        "the dialog",
    )
    .await;
    m.click("#dialog-list li.row").await;
    m.wait_js(
        "return document.querySelectorAll('#feed li.msg').length >= 5",
        "the feed",
    )
    .await;
    assert!(
        m.text_of("#dialog-list")
            .await
            .contains("<img src=x onerror")
    );
    m.type_into(
        "#composer-text",
        "<img src=x onerror=\"document.body.dataset.pwned=7\">",
    )
    .await;
    m.click("#composer-send").await;
    wait(&v, "[...w.querySelectorAll('.bw-msg.bw-company[data-id] .bw-text')].some(t => t.textContent.startsWith('<img'))", "the reply as text").await;
    v.screenshot("widget-hostile-page").await;
    for b in [&v, &m] {
        assert_eq!(
            b.js("return document.body.dataset.pwned ?? null").await,
            Value::Null
        );
    }
    // Hostile CSS did not reach inside: the panel keeps its font.
    let font = js(
        &v,
        "return getComputedStyle(w.querySelector('.bw-panel')).fontFamily",
    )
    .await;
    assert!(!font.as_str().unwrap().starts_with("serif"), "{font}");
}

#[tokio::test]
async fn a_site_not_on_the_list_gets_no_widget() {
    let app = TestApp::spawn(beseda_testkit::TestBackend::Sqlite)
        .await
        .unwrap();
    let Some(v) = Browser::start("en-US").await else {
        return;
    };
    let (key, _, _) = create_widget(&app, "https://shop.example").await;
    let elsewhere = Shop::start(&app.base, &key).await;
    v.client
        .goto(&format!("{}/", elsewhere.origin))
        .await
        .unwrap();
    // The script loads, asks for its configuration, is refused, and shows nothing.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let shown = js(
        &v,
        "return !!w && !!w.querySelector('button.bw-launcher') && w.host.dataset.state === 'ready'",
    )
    .await;
    assert_eq!(shown, json!(false));
}

/// F04 on screen: a visitor who typed someone's email gets a card of their own that says it
/// is possibly that client's; the manager merges the two with one click.
#[tokio::test]
async fn a_manager_merges_a_visitors_card_into_the_one_it_may_be() {
    let app = TestApp::spawn(beseda_testkit::TestBackend::Sqlite)
        .await
        .unwrap();
    let Some(m) = manager(&app).await else { return };
    let tg = app
        .channel(beseda_core::channel::ChannelKind::Telegram)
        .await;
    app.client_with_email(tg, "Anna Petrova", "anna@example.com")
        .await;
    let (key, _, _) = create_widget(&app, "https://shop.example").await;
    let session = app
        .anonymous()
        .post(&format!("/api/widget/v1/{key}/sessions"), json!({}))
        .expect(200)
        .await;
    let visitor =
        crate::common::client::Caller::bearer_at(&app.base, session["token"].as_str().unwrap());
    let sent = visitor
        .post(
            &format!("/api/widget/v1/{key}/messages"),
            json!({"client_id": "1", "text": "Where is my order?", "fields": {"name": "Anna from the site", "email": "anna@example.com"}}),
        )
        .expect(201)
        .await;
    let admin = app.as_(ADMIN_EMAIL).await;
    let dialogs = admin.dialog_ids("").await;
    assert_eq!(dialogs.len(), 2);
    let from_site = dialog_of(&admin, &dialogs, sent["id"].as_i64().unwrap()).await;
    m.client.refresh().await.unwrap();
    m.click(&format!("li.row[data-id='{from_site}']")).await;
    let note = m.text_of("#same-client").await;
    assert!(note.contains("Anna Petrova"), "{note}");
    m.screenshot("workspace-possibly-same-client").await;
    m.click("#merge-client").await;
    m.client.accept_alert().await.unwrap();
    m.wait_js(
        "return !document.getElementById('same-client') && document.querySelector('#client-card .client-name')?.textContent === 'Anna Petrova'",
        "the dialog shows the merged card",
    )
    .await;
    let d = admin
        .get(&format!("/api/v1/dialogs/{from_site}"))
        .expect(200)
        .await;
    let anna = admin
        .get(&format!(
            "/api/v1/dialogs/{}",
            dialogs.iter().find(|d| **d != from_site).unwrap()
        ))
        .expect(200)
        .await;
    assert_eq!(d["client"]["id"], anna["client"]["id"]);
}

/// The dialog, of those listed, that holds message `message`.
async fn dialog_of(admin: &crate::common::client::Caller, dialogs: &[i64], message: i64) -> i64 {
    for d in dialogs {
        let feed = admin
            .get(&format!("/api/v1/dialogs/{d}/messages"))
            .expect(200)
            .await;
        if feed.as_array().unwrap().iter().any(|m| m["id"] == message) {
            return *d;
        }
    }
    panic!("no dialog holds message {message}");
}

on_both_backends!(
    f39_a_visitor_and_a_manager_talk_through_the_widget,
    f37_a_bot_s_quick_replies_show_in_the_widget_and_a_tap_answers,
);

/// F37 in the widget: a bot's quick replies show as buttons under its newest message (text,
/// never markup), the manager sees them in the feed, and the visitor's tap answers with the
/// label and retires them.
async fn f37_a_bot_s_quick_replies_show_in_the_widget_and_a_tap_answers(app: TestApp) {
    let Some(m) = manager(&app).await else { return };
    let Some(v) = Browser::start("en-US").await else {
        return;
    };
    let (key, _, channel) = create_widget(&app, "http://placeholder.test").await;
    let shop = Shop::start(&app.base, &key).await;
    allow_origin(&app, &shop.origin).await;
    let admin = app.as_(ADMIN_EMAIL).await;
    v.client.goto(&format!("{}/", shop.origin)).await.unwrap();
    visitor_writes(&v, Some("Anna"), "Do you deliver?").await;
    let mut dialogs = Vec::new();
    for _ in 0..100 {
        dialogs = admin.dialog_ids("").await;
        if !dialogs.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let d = dialogs[0];
    let bot = app.bot_holding("Shop bot", channel, d).await;
    let labels = ["Delivery", "Pickup", "<b>Talk to a person</b>"];
    bot.post(
        &format!("/api/bot/v1/dialogs/{d}/messages"),
        json!({"body": "Delivery or pickup?", "buttons": labels}),
    )
    .expect(201)
    .await;
    wait(
        &v,
        "w.querySelectorAll('.bw-msg.bw-company .bw-quick-btn').length === 3",
        "the quick replies under the bot's message",
    )
    .await;
    assert_eq!(
        js(
            &v,
            "return [...w.querySelectorAll('.bw-quick-btn')].map(b => b.textContent)"
        )
        .await,
        json!(labels)
    );
    assert_eq!(
        js(&v, "return w.querySelectorAll('.bw-quick b').length").await,
        json!(0),
        "a label is text"
    );
    v.screenshot("widget-quick-replies").await;

    // The manager sees what the client was offered.
    m.click(&format!("#dialog-list li.row[data-id='{d}']"))
        .await;
    m.wait_js(
        "return document.querySelectorAll('#feed li.msg .msg-buttons li').length === 3",
        "the buttons in the manager's feed",
    )
    .await;
    assert_eq!(
        m.js(
            "return [...document.querySelectorAll('#feed .msg-buttons li')].map(b => b.textContent)"
        )
        .await,
        json!(labels)
    );

    js(
        &v,
        "[...w.querySelectorAll('.bw-quick-btn')].find(b => b.textContent === 'Pickup').click();",
    )
    .await;
    admin
        .wait_feed(d, |m| {
            m["author"]["type"] == "client" && m["body"] == "Pickup"
        })
        .await;
    wait(
        &v,
        "w.querySelectorAll('.bw-quick-btn').length === 0 \
         && [...w.querySelectorAll('.bw-msg.bw-visitor[data-id] .bw-text')].some(t => t.textContent === 'Pickup')",
        "the tap answered and the buttons retired",
    )
    .await;
}

/// F39 on the settings page: an administrator sets a widget up and gets the snippet to paste;
/// a wrong origin is refused with the reason.
#[tokio::test]
async fn a_widget_is_set_up_on_the_settings_page() {
    let app = TestApp::spawn(beseda_testkit::TestBackend::Sqlite)
        .await
        .unwrap();
    let Some(b) = manager(&app).await else { return };
    b.client
        .goto(&format!("{}/settings#widgets", app.base))
        .await
        .unwrap();
    b.type_into("#new-widget input[name=name]", "Shop site")
        .await;
    b.type_into("#new-widget input[name=title]", "Cozy Sofa")
        .await;
    b.type_into(
        "#new-widget textarea[name=allowed_origins]",
        "not an origin",
    )
    .await;
    b.click("#new-widget button[type=submit]").await;
    b.wait_js(
        "return !document.getElementById('settings-error').hidden && document.getElementById('settings-error').textContent.includes('allowed_origins')",
        "a wrong origin is refused, naming the field",
    )
    .await;
    b.js("document.querySelector('#new-widget textarea[name=allowed_origins]').value = ''")
        .await;
    b.type_into(
        "#new-widget textarea[name=allowed_origins]",
        "https://shop.example",
    )
    .await;
    b.click("#new-widget button[type=submit]").await;
    b.wait_js(
        "return [...document.querySelectorAll('.widget-snippet code')].some(c => c.textContent.includes('/widget.js') && c.textContent.includes('data-beseda-channel=\"wk_'))",
        "the snippet to paste",
    )
    .await;
    b.screenshot("settings-widget").await;
    let widgets = app
        .as_(ADMIN_EMAIL)
        .await
        .get("/api/v1/widgets")
        .expect(200)
        .await;
    assert_eq!(widgets[0]["settings"]["title"], "Cozy Sofa");
    assert_eq!(
        widgets[0]["settings"]["allowed_origins"],
        json!(["https://shop.example"])
    );
}
