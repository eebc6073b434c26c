//! The manager's workspace in a real browser: filters and sorts (F20–F24), search (F06), the
//! conversation's actions (F07, F09, F10), the composer (F18, F25–F27, F32), bulk delete (F19)
//! and hostile names and texts. Screenshots go to `target/screenshots/`.

use crate::common::browser::Browser;
use crate::common::{ADMIN_EMAIL, PASSWORD, TestApp};
use beseda_core::channel::ChannelKind;
use beseda_core::company::TagColor;
use beseda_core::dialog::{Ingested, Responsible};
use beseda_core::ids::{ChannelId, ClientId, DialogId, ManagerId, TagId};
use beseda_core::library::TimeLimits;
use beseda_core::manager::Actor;
use fantoccini::Locator;
use fantoccini::key::Key;
use std::time::Duration;

/// A small shop: Anna (Telegram, tagged VIP, pinned), Boris (VK, Maria's), Clara (Telegram,
/// closed), written in that order; time limits set, so processing order is offered.
struct Shop {
    app: TestApp,
    admin: Actor,
    vk: ChannelId,
    anna: i64,
    boris: i64,
    clara: i64,
    maria: ManagerId,
    vip: TagId,
}

async fn writes(app: &TestApp, channel: ChannelId, who: &str, text: &str) -> i64 {
    match app
        .client_writes(channel, who, &format!("{who}-{}", text.len()), text)
        .await
    {
        Ingested::Accepted { dialog_id, .. } | Ingested::Duplicate { dialog_id, .. } => dialog_id.0,
        Ingested::Refused => panic!("refused"),
    }
}

/// The client of a dialog.
async fn client_of(app: &TestApp, admin: &Actor, dialog: i64) -> ClientId {
    app.state
        .dialogs
        .view(admin, DialogId(dialog))
        .await
        .unwrap()
        .client
        .unwrap()
        .id
}

async fn shop() -> Shop {
    let app = TestApp::spawn(beseda_testkit::TestBackend::Sqlite)
        .await
        .unwrap();
    let tg = app.channel(ChannelKind::Telegram).await;
    let vk = app.channel(ChannelKind::Vk).await;
    let anna = writes(&app, tg, "anna", "Hello, do you deliver to Kazan?").await;
    let boris = writes(&app, vk, "boris", "Где мой заказ?").await;
    let clara = writes(&app, tg, "clara", "Thanks, bye").await;
    let maria = app.manager("maria@example.com", "Maria").await.id;
    let admin = app.managers_actor(app.admin.id).await;
    let d = &app.state.dialogs;
    d.assign(&admin, DialogId(boris), Some(Responsible::Manager(maria)))
        .await
        .unwrap();
    d.close(&admin, DialogId(clara)).await.unwrap();
    let vip = app
        .state
        .library
        .create_tag(&admin, "VIP", TagColor::Red)
        .await
        .unwrap()
        .id;
    let client = client_of(&app, &admin, anna).await;
    app.state
        .library
        .tag_client(&admin, client, vip, true)
        .await
        .unwrap();
    app.state
        .library
        .set_default_time_limits(
            &admin,
            TimeLimits {
                warning_secs: Some(300),
                danger_secs: Some(1_800),
            },
        )
        .await
        .unwrap();
    Shop {
        app,
        admin,
        vk,
        anna,
        boris,
        clara,
        maria,
        vip,
    }
}

/// A browser signed in as `email`, its workspace live.
pub(crate) async fn signed_in(app: &TestApp, email: &str) -> Option<Browser> {
    let browser = Browser::start("en-US").await?;
    browser.sign_in(&app.base, email, PASSWORD).await;
    browser.wait_for(Locator::Css("body[data-live=true]")).await;
    Some(browser)
}

/// F20–F24 on screen: each filter narrows the list as the rules say, both sorts, the tag
/// filter's modes and its search, the date filter.
#[tokio::test]
async fn filters_and_sorts_narrow_the_list() {
    let s = shop().await;
    // Boris carries a tag too, not pinned.
    let retail = s
        .app
        .state
        .library
        .create_tag(&s.admin, "Retail", TagColor::Green)
        .await
        .unwrap()
        .id;
    let boris_client = client_of(&s.app, &s.admin, s.boris).await;
    s.app
        .state
        .library
        .tag_client(&s.admin, boris_client, retail, false)
        .await
        .unwrap();
    let Some(b) = signed_in(&s.app, ADMIN_EMAIL).await else {
        return;
    };
    let (anna, boris, clara) = (s.anna, s.boris, s.clara);
    b.wait_rows(&[clara, boris, anna], "newest first").await;
    b.click("#filters-toggle").await;

    b.click(&format!("input[name=channels][value='{}']", s.vk.0))
        .await;
    b.wait_rows(&[boris], "the VK channel").await;
    b.click(&format!("input[name=channels][value='{}']", s.vk.0))
        .await;
    b.wait_rows(&[clara, boris, anna], "no channel filter")
        .await;

    b.click(&format!("input[name=tags][value='{}']", s.vip.0))
        .await;
    b.wait_rows(&[anna], "tagged VIP").await;
    b.click("input[name=pinned]").await;
    b.wait_rows(&[anna], "VIP pinned").await;
    // "Pinned" shows only the pinned tags, with their pinned counts.
    let retail_li = format!("#tag-options li[data-tag='{}']", retail.0);
    b.wait_js(
        &format!(
            "return getComputedStyle(document.querySelector(\"{retail_li}\")).display === 'none'"
        ),
        "Retail is not pinned anywhere: hidden",
    )
    .await;
    b.click("input[name=pinned]").await;
    b.wait_js(
        &format!(
            "return getComputedStyle(document.querySelector(\"{retail_li}\")).display !== 'none'"
        ),
        "Retail back without the switch",
    )
    .await;
    b.click(&format!("input[name=tags][value='{}']", retail.0))
        .await;
    b.wait_rows(&[], "VIP and Retail: nobody carries both")
        .await;
    b.wait_js(
        &format!(
            "return document.querySelector('#tag-options li').dataset.tag === '{}'",
            retail.0
        ),
        "a picked tag moves to the top",
    )
    .await;
    b.click(&format!("input[name=tags][value='{}']", retail.0))
        .await;
    b.click("input[name=tag_mode][value=none]").await;
    b.wait_rows(&[clara], "no tags").await;
    b.wait_js(
        "return [...document.querySelectorAll('#tag-options input')].every(i => i.disabled)",
        "\"No tags\" locks the list",
    )
    .await;
    b.click("input[name=tag_mode][value=all]").await;

    b.click("input[name=status][value=closed]").await;
    b.wait_rows(&[clara], "closed").await;
    b.click("input[name=status][value='']").await;
    b.click(&format!("input[name=responsible][value='{}']", s.maria.0))
        .await;
    b.wait_rows(&[boris], "Maria's").await;
    b.click("input[name=responsible][value=none]").await;
    b.wait_rows(&[clara, boris, anna], "Maria's or nobody's")
        .await;
    b.click("input[name=last][value=company]").await;
    b.wait_rows(&[], "last from the company").await;
    b.click("input[name=last][value=client]").await;
    b.wait_rows(&[clara, boris, anna], "last from the client")
        .await;

    // A day long ago: nobody wrote then.
    b.js(
        "document.getElementById('filter-from').value = '2001-02-03'; \
          document.getElementById('filters').dispatchEvent(new Event('change', {bubbles: true}));",
    )
    .await;
    b.wait_rows(&[], "a day in 2001").await;
    b.js("document.getElementById('filter-from').value = ''; \
          document.getElementById('filters').dispatchEvent(new Event('change', {bubbles: true}));")
        .await;

    // Processing order: the open dialogs waiting longest first, then the rest.
    b.click("input[name=sort][value=processing]").await;
    b.wait_rows(&[anna, boris, clara], "processing order").await;
    b.type_into("#tag-search", "zz").await;
    b.wait_js(
        "return document.querySelector('#tag-options li').hidden",
        "the tag search hides VIP",
    )
    .await;
    b.screenshot("workspace-filters").await;
    b.click("#filters-reset").await;
    b.wait_rows(&[clara, boris, anna], "reset").await;
}

/// F06 on screen: dialogs by name, messages by text; a hit opens the dialog at that message;
/// a short text searches dialogs only and says so.
#[tokio::test]
async fn search_finds_dialogs_and_messages_and_opens_at_the_hit() {
    let s = shop().await;
    let Some(b) = signed_in(&s.app, ADMIN_EMAIL).await else {
        return;
    };
    b.type_into("#search", "kazan").await;
    let hit = format!("#search-results li.hit[data-dialog='{}']", s.anna);
    assert!(b.text_of(&hit).await.contains("Kazan"));
    b.screenshot("workspace-search").await;
    b.click(&hit).await;
    assert!(
        b.text_of("#feed li.msg.found .msg-body")
            .await
            .contains("deliver to Kazan")
    );
    b.js("const s = document.getElementById('search'); s.value = ''; s.dispatchEvent(new Event('input'));")
        .await;
    b.type_into("#search", "bo").await;
    b.wait_for(Locator::Css("#search-short")).await;
    b.wait_for(Locator::Css(&format!(
        "#search-results li.row[data-id='{}']",
        s.boris
    )))
    .await;
    b.client
        .find(Locator::Css("#search"))
        .await
        .unwrap()
        .send_keys(&Key::Escape.to_string())
        .await
        .unwrap();
    b.wait_js(
        "return document.getElementById('search-results').hidden",
        "Esc leaves the search",
    )
    .await;
}

/// F09, F10 and F07 on screen: mark unread, block and unblock, and a reassignment that takes
/// the dialog off the previous manager's open screen.
#[tokio::test]
async fn dialog_actions_mark_unread_block_and_reassign() {
    let s = shop().await;
    let Some(b) = signed_in(&s.app, ADMIN_EMAIL).await else {
        return;
    };
    let anna = format!("li.row[data-id='{}']", s.anna);
    b.click(&anna).await;
    b.wait_for(Locator::Css("#composer")).await;
    b.click("#unread-btn").await;
    b.wait_js(
        &format!(
            "return document.querySelector(\"{anna}\").classList.contains('unread') && !document.querySelector('.conversation')"
        ),
        "marked unread, the conversation closed",
    )
    .await;
    assert_eq!(b.text_of("#unread-counter").await, "3");

    b.click(&anna).await;
    b.click("#block-btn").await;
    b.wait_for(Locator::Css("#blocked-note")).await;
    b.screenshot("workspace-blocked").await;
    b.click("#unblock-note-btn").await;
    b.wait_for(Locator::Css("#composer")).await;

    // Maria has Boris's dialog open; the administrator gives it to someone else.
    let ivan = s.app.manager("ivan@example.com", "Ivan").await.id;
    let Some(maria) = signed_in(&s.app, "maria@example.com").await else {
        return;
    };
    let boris = format!("li.row[data-id='{}']", s.boris);
    maria.click(&boris).await;
    maria.wait_for(Locator::Css("#composer")).await;
    b.client.refresh().await.unwrap();
    b.wait_for(Locator::Css("body[data-live=true]")).await;
    b.click(&boris).await;
    b.select("#assign-to", &format!("manager:{}", ivan.0)).await;
    b.click("#assign-btn").await;
    maria
        .wait_js(
            &format!(
                "return !document.querySelector(\"{boris}\") && !document.querySelector('.conversation')"
            ),
            "the dialog left Maria's screen",
        )
        .await;
    let _ = s.admin;
}

/// F18, F32, F25–F27 on screen: a draft survives a reload, "/" finds a quick reply, files are
/// checked against the channel's limits before upload, and a dropped file goes out.
#[tokio::test]
async fn the_composer_keeps_drafts_offers_quick_replies_and_checks_files() {
    let s = shop().await;
    s.app
        .state
        .library
        .create_quick_reply(
            &s.admin,
            true,
            "Delivery",
            "We deliver tomorrow before noon.",
        )
        .await
        .unwrap();
    let Some(b) = signed_in(&s.app, ADMIN_EMAIL).await else {
        return;
    };
    let anna = format!("li.row[data-id='{}']", s.anna);
    b.click(&anna).await;
    b.type_into("#composer-text", "A half-written answer").await;
    for _ in 0..100 {
        let d = s
            .app
            .state
            .dialogs
            .view(&s.admin, DialogId(s.anna))
            .await
            .unwrap();
        if d.draft.as_deref() == Some("A half-written answer") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    b.client.refresh().await.unwrap();
    assert!(
        b.text_of(&format!("{anna} .row-preview"))
            .await
            .contains("A half-written answer")
    );
    b.click(&anna).await;
    b.wait_js(
        "return document.getElementById('composer-text').value === 'A half-written answer'",
        "the draft is back after a reload",
    )
    .await;

    b.js("document.getElementById('composer-text').value = ''")
        .await;
    b.type_into("#composer-text", "/deliv").await;
    b.wait_for(Locator::Css("#quick-list .quick-item")).await;
    b.screenshot("workspace-quick-replies").await;
    b.type_into("#composer-text", &Key::Enter.to_string()).await;
    b.wait_js(
        "return document.getElementById('composer-text').value === 'We deliver tomorrow before noon.'",
        "Enter takes the quick reply",
    )
    .await;

    // Telegram takes images up to 10 MB and one file per message.
    let drop = |files: &str| {
        format!(
            "const dt = new DataTransfer(); {files}; \
             document.querySelector('.conversation').dispatchEvent(new DragEvent('drop', {{dataTransfer: dt, bubbles: true, cancelable: true}}));"
        )
    };
    b.js(&drop(
        "dt.items.add(new File([new Uint8Array(11 * 1024 * 1024)], 'big.png', {type: 'image/png'}))",
    ))
    .await;
    let error = b.text_of("#composer-error").await;
    assert!(
        error.contains("big.png") && error.contains("larger than this channel allows"),
        "{error}"
    );
    b.js(&drop(
        "dt.items.add(new File(['a'], 'a.txt', {type: 'text/plain'})); dt.items.add(new File(['b'], 'b.txt', {type: 'text/plain'}))",
    ))
    .await;
    b.wait_js(
        "return document.getElementById('composer-error').textContent.startsWith('Too many files')",
        "two files refused",
    )
    .await;
    b.js(&drop(
        "dt.items.add(new File(['delivery terms'], 'terms.txt', {type: 'text/plain'}))",
    ))
    .await;
    b.wait_js(
        "return document.querySelector('#pending .file-chip')?.textContent.startsWith('terms.txt') === true",
        "the file waits in the composer",
    )
    .await;
    b.click("#composer-send").await;
    assert_eq!(
        b.text_of("#feed li.msg.company .msg-file").await,
        "terms.txt"
    );
    // The files panel (F11) lists the file; "Send again" puts a copy into the composer.
    b.click("#files-btn").await;
    b.click(".files-tab[data-tab=files]").await;
    b.wait_js(
        "return document.querySelector('#files-panel .file-name')?.textContent === 'terms.txt'",
        "the file in the panel's Files tab",
    )
    .await;
    b.click("#files-panel .file-resend").await;
    b.wait_js(
        "return document.querySelector('#pending .file-chip')?.textContent.startsWith('terms.txt') === true",
        "the copy waits in the composer",
    )
    .await;
    // Emoji (F28) go in where the cursor is.
    b.click("#emoji-btn").await;
    b.click("#emoji-grid .emoji").await;
    b.wait_js(
        "return document.getElementById('composer-text').value.includes('😀')",
        "an emoji in the reply",
    )
    .await;
    // Every refresh of a row replaces it: the list never shows a dialog twice.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rows = b.rows().await;
    let mut unique = rows.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(rows.len(), unique.len(), "{rows:?}");
    b.screenshot("workspace-composer").await;
}

/// F19 on screen: boxes on the avatars select dialogs; "Actions" → delete removes them.
#[tokio::test]
async fn selected_dialogs_are_deleted() {
    let s = shop().await;
    let Some(b) = signed_in(&s.app, ADMIN_EMAIL).await else {
        return;
    };
    for id in [s.anna, s.boris] {
        b.js(&format!(
            "document.querySelector(\"li.row[data-id='{id}'] .row-select\").click()"
        ))
        .await;
    }
    b.click("#actions summary").await;
    b.click("#delete-selected").await;
    b.client.accept_alert().await.unwrap();
    b.wait_rows(&[s.clara], "two deleted").await;
    for id in [s.anna, s.boris] {
        assert!(
            s.app
                .state
                .dialogs
                .view(&s.admin, DialogId(id))
                .await
                .is_err()
        );
    }
}

/// Hostile names and texts stay text and the layout holds: markup, scripts, right-to-left
/// marks, a 10,000-character word, emoji.
#[tokio::test]
async fn hostile_names_and_texts_stay_text() {
    let app = TestApp::spawn(beseda_testkit::TestBackend::Sqlite)
        .await
        .unwrap();
    let tg = app.channel(ChannelKind::Telegram).await;
    let long = "W".repeat(10_000);
    let corpus = [
        "<script>document.body.dataset.pwned = 1</script>",
        "\"><svg onload=\"document.body.dataset.pwned=1\">",
        "\u{202E}txt.exe \u{200F}שלום",
        long.as_str(),
        "🙂🙃👍🏽 emoji",
        "{{ 7 * 7 }} ${7*7}",
    ];
    let mut last = 0;
    for (i, text) in corpus.iter().enumerate() {
        let m = beseda_core::dialog::InboundMessage {
            attachments: Vec::new(),
            quote_external_id: None,
            channel_id: tg,
            contact_external_id: format!("x{i}"),
            contact_name: (*text).to_owned(),
            external_id: format!("x{i}"),
            body: (*text).to_owned(),
            sent_at: beseda_core::time::Timestamp(1_000),
            details: Default::default(),
        };
        if let Ingested::Accepted { dialog_id, .. } = app.state.dialogs.receive(m).await.unwrap() {
            last = dialog_id.0;
        }
    }
    let Some(b) = signed_in(&app, ADMIN_EMAIL).await else {
        return;
    };
    assert_eq!(b.rows().await.len(), corpus.len());
    for id in b.rows().await {
        b.click(&format!("li.row[data-id='{id}']")).await;
        b.wait_for(Locator::Css(&format!(
            ".conversation[data-id='{id}'] #feed li.msg"
        )))
        .await;
    }
    b.click(&format!("li.row[data-id='{last}']")).await;
    b.screenshot("workspace-hostile").await;
    let held = b
        .js("const l = document.getElementById('dialog-list'); const f = document.getElementById('feed'); \
             return l.scrollWidth <= l.clientWidth + 1 && f.scrollWidth <= f.clientWidth + 1 \
               && document.documentElement.scrollWidth <= window.innerWidth + 1;")
        .await;
    assert_eq!(held, serde_json::Value::Bool(true), "the layout holds");
    assert_eq!(
        b.js("return document.body.dataset.pwned ?? null").await,
        serde_json::Value::Null
    );
    assert!(b.text_of("#dialog-list").await.contains("{{ 7 * 7 }}"));
}

/// F34 on screen: the settings page changes tags, quick replies, answer time, managers, groups
/// and modules through the API; it is there only for those with the permission.
#[tokio::test]
async fn settings_are_changed_on_their_page() {
    let s = shop().await;
    let Some(b) = signed_in(&s.app, ADMIN_EMAIL).await else {
        return;
    };
    b.click("#settings-link").await;
    b.type_into("#new-tag input[name=name]", "Wholesale").await;
    b.select("#new-tag select[name=color]", "blue").await;
    b.click("#new-tag button[type=submit]").await;
    b.wait_for(Locator::XPath("//form[contains(@class,'tag-row')]/span[contains(@class,'tag-blue') and text()='Wholesale']"))
        .await;

    b.type_into("#new-reply input[name=title]", "Hours").await;
    b.type_into("#new-reply textarea[name=body]", "We are open 9 to 21.")
        .await;
    b.click("#new-reply button[type=submit]").await;
    b.wait_for(Locator::XPath(
        "//form[contains(@class,'reply')]//textarea[text()='We are open 9 to 21.']",
    ))
    .await;

    b.js("document.querySelector('#default-limits input[name=warning_secs]').value = '7'")
        .await;
    b.click("#default-limits button[type=submit]").await;
    let mut saved = None;
    for _ in 0..100 {
        saved = s
            .app
            .state
            .library
            .time_limits()
            .await
            .unwrap()
            .default
            .warning_secs;
        if saved == Some(420) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(saved, Some(420), "7 minutes saved as seconds");
    b.wait_for(Locator::Css(
        "#default-limits input[name=warning_secs][value='7']",
    ))
    .await;

    b.type_into("#new-manager input[name=name]", "Olga").await;
    b.type_into("#new-manager input[name=email]", "olga@example.com")
        .await;
    b.type_into("#new-manager input[name=password]", "long enough password")
        .await;
    b.click("#new-manager button[type=submit]").await;
    b.wait_for(Locator::XPath("//td[text()='olga@example.com']"))
        .await;

    b.type_into("#new-group input[name=name]", "Seniors").await;
    b.click("#new-group button[type=submit]").await;
    let group = b
        .wait_for(Locator::XPath(
            "//form[contains(@class,'group')][.//input[@value='Seniors']]",
        ))
        .await;
    let id = group.attr("data-group").await.unwrap().unwrap();
    b.click(&format!(
        "form[data-group='{id}'] input[name='grants.delete_dialogs']"
    ))
    .await;
    b.click(&format!("form[data-group='{id}'] button[type=submit]"))
        .await;
    b.wait_for(Locator::Css(&format!(
        "form[data-group='{id}'] input[name='grants.delete_dialogs']:checked"
    )))
    .await;

    b.type_into("#new-module input[name=name]", "Telegram module")
        .await;
    b.type_into(
        "#new-module input[name=webhook_url]",
        "https://module.example.com/hook",
    )
    .await;
    b.click("#new-module button[type=submit]").await;
    // The secrets box is on the page from the start, empty: wait for the answer to fill it.
    b.wait_js(
        "return (document.querySelector('#module-secrets code[data-field=token]')?.textContent ?? '').startsWith('bm_')",
        "the new module's token shown",
    )
    .await;
    let token = b.text_of("#module-secrets code[data-field=token]").await;
    assert!(token.starts_with("bm_"), "{token}");
    b.screenshot("settings").await;

    // A new token for the module: the old one stops working, the new one works.
    let channels = |t: String| {
        let url = s.app.url("/api/transport/v1/channels");
        async move {
            reqwest::Client::new()
                .get(url)
                .header("x-transport-token", t)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(channels(token.clone()).await, 200);
    b.client.refresh().await.unwrap();
    b.click("tr[data-module] button[type=submit]").await;
    b.client.accept_alert().await.unwrap();
    b.wait_js(
        &format!(
            "const t = document.querySelector('#module-secrets code[data-field=token]'); \
             return !!t && t.textContent.startsWith('bm_') && t.textContent !== '{token}'"
        ),
        "a new token shown",
    )
    .await;
    let renewed = b.text_of("#module-secrets code[data-field=token]").await;
    assert_eq!(channels(token).await, 401);
    assert_eq!(channels(renewed).await, 200);

    // A plain manager has neither the link nor the page.
    let Some(m) = signed_in(&s.app, "maria@example.com").await else {
        return;
    };
    assert!(m.client.find(Locator::Css("#settings-link")).await.is_err());
    let maria = s.app.login("maria@example.com").await;
    let status = maria
        .get(s.app.url("/settings"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 403);
    let status = maria
        .post(s.app.url("/api/v1/transport-modules/1/renew"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 403, "renewing a module needs the permission");
}

/// F14 and F35 on screen: the client card shows contacts, source and orders with their total;
/// tags are added, pinned and removed there; "Detach client" asks first, then unlinks.
#[tokio::test]
async fn the_client_card_shows_orders_and_changes_tags() {
    let s = shop().await;
    let client = client_of(&s.app, &s.admin, s.anna).await;
    for (n, total) in [("A-1", 1_234_550), ("A-2", 100_000)] {
        s.app
            .state
            .orders
            .create(
                &s.admin,
                serde_json::from_value(serde_json::json!({
                    "client_id": client.0, "number": n, "status": "completed",
                    "total_minor": total, "currency": "RUB",
                }))
                .unwrap(),
            )
            .await
            .unwrap();
    }
    let wholesale = s
        .app
        .state
        .library
        .create_tag(&s.admin, "Wholesale", TagColor::Blue)
        .await
        .unwrap()
        .id;
    let Some(b) = signed_in(&s.app, ADMIN_EMAIL).await else {
        return;
    };
    b.click(&format!("li.row[data-id='{}']", s.anna)).await;
    assert_eq!(b.text_of("#client-card .client-name").await, "Client anna");
    assert!(b.text_of("#client-orders").await.contains("A-1"));
    // A no-break space between thousands, which the browser reads back as a space.
    assert_eq!(b.text_of(".order-total .money").await, "13 345.50 RUB");
    b.select("#add-tag", &wholesale.0.to_string()).await;
    let tag = format!("#client-tags li[data-tag='{}']", wholesale.0);
    b.click(&format!("{tag} .tag-pin")).await;
    b.wait_for(Locator::Css(&format!("{tag} .tag-pin[data-pinned=true]")))
        .await;
    // The pinned tag shows on the dialog's row too.
    b.wait_js(
        &format!(
            "return [...document.querySelectorAll(\"li.row[data-id='{}'] .row-tags .tag\")].some(t => t.textContent === 'Wholesale')",
            s.anna
        ),
        "the pinned tag on the row",
    )
    .await;
    b.screenshot("workspace-client-card").await;
    b.click(&format!(
        "#client-tags li[data-tag='{}'] .tag-remove",
        s.vip.0
    ))
    .await;
    b.wait_js(
        &format!(
            "return !document.querySelector(\"#client-tags li[data-tag='{}']\")",
            s.vip.0
        ),
        "VIP removed",
    )
    .await;
    let tags = s
        .app
        .state
        .library
        .client_tags(&s.admin, client)
        .await
        .unwrap();
    assert_eq!(tags.len(), 1);
    assert!(tags[0].pinned && tags[0].tag.id == wholesale);

    b.click("#detach-client").await;
    b.client.accept_alert().await.unwrap();
    b.wait_js(
        "return !!document.querySelector('#client-col .placeholder') && !document.getElementById('client-card')",
        "the card is gone after detaching",
    )
    .await;
    let d = s
        .app
        .state
        .dialogs
        .view(&s.admin, DialogId(s.anna))
        .await
        .unwrap();
    assert!(d.client.is_none());
}

/// Older history loads as the feed scrolls up: a long conversation opens at its newest page
/// and brings the earlier messages when the manager scrolls to the top.
#[tokio::test]
async fn older_messages_load_on_scroll() {
    let app = TestApp::spawn(beseda_testkit::TestBackend::Sqlite)
        .await
        .unwrap();
    let tg = app.channel(ChannelKind::Telegram).await;
    let mut dialog = 0;
    for i in 0..70 {
        if let Ingested::Accepted { dialog_id, .. } = app
            .client_writes(tg, "long", &format!("long-{i}"), &format!("message {i}"))
            .await
        {
            dialog = dialog_id.0;
        }
    }
    let Some(b) = signed_in(&app, ADMIN_EMAIL).await else {
        return;
    };
    b.click(&format!("li.row[data-id='{dialog}']")).await;
    b.wait_for(Locator::Css("#feed li.older")).await;
    assert_eq!(
        b.js("return document.querySelectorAll('#feed li.msg').length")
            .await,
        serde_json::json!(50)
    );
    b.js("document.getElementById('feed').scrollTop = 0").await;
    b.wait_js(
        "return document.querySelectorAll('#feed li.msg').length === 70 && !document.querySelector('#feed li.older')",
        "all 70 messages after scrolling up",
    )
    .await;
    assert_eq!(
        b.text_of("#feed li.msg .msg-body").await,
        "message 0",
        "the oldest first"
    );
}

/// F13 on screen: a waiting row turns yellow, then red, while the manager looks at the list,
/// without a reload; an answered row carries no mark.
#[tokio::test]
async fn waiting_marks_change_live_in_the_list() {
    let s = shop().await;
    let Some(b) = signed_in(&s.app, ADMIN_EMAIL).await else {
        return;
    };
    let marked =
        |d: i64| format!("return !!document.querySelector(\"li.row[data-id='{d}'] .waiting\")");
    let has = |d: i64, level: &str| {
        format!("return !!document.querySelector(\"li.row[data-id='{d}'] .waiting-{level}\")")
    };
    assert_eq!(
        b.js(&marked(s.anna)).await,
        serde_json::json!(false),
        "not yet"
    );
    s.app.clock.advance(Duration::from_secs(301));
    b.wait_js(&has(s.anna, "warning"), "Anna's row turns yellow")
        .await;
    b.wait_js(&has(s.boris, "warning"), "Boris's row too").await;
    assert_eq!(
        b.js(&marked(s.clara)).await,
        serde_json::json!(false),
        "Clara's dialog is closed: nobody waits"
    );
    s.app.clock.advance(Duration::from_secs(1_500));
    b.wait_js(&has(s.anna, "danger"), "then red").await;
    b.screenshot("workspace-waiting-marks").await;
}

/// F40 on screen: an order opens from the client card with its items, total and source; its
/// status changes there, and the card and the list follow.
#[tokio::test]
async fn the_order_card_shows_items_and_changes_status() {
    let s = shop().await;
    let client = client_of(&s.app, &s.admin, s.anna).await;
    let order = s
        .app
        .state
        .orders
        .create(
            &s.admin,
            serde_json::from_value(serde_json::json!({
                "client_id": client.0, "dialog_id": s.anna, "currency": "RUB",
                "items": [
                    {"name": "Green tea, 100 g", "quantity": 3, "price_minor": 45_000},
                    {"name": "Teapot", "quantity": 1, "price_minor": 120_000},
                ],
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    let Some(b) = signed_in(&s.app, ADMIN_EMAIL).await else {
        return;
    };
    b.click(&format!("li.row[data-id='{}']", s.anna)).await;
    b.click(&format!(".order-open[data-order='{}']", order.id.0))
        .await;
    b.wait_for(Locator::Css("#order-card[open]")).await;
    assert_eq!(b.text_of("#order-total").await, "2 550.00 RUB");
    assert!(b.text_of("#order-items").await.contains("Green tea, 100 g"));
    assert!(b.text_of("#order-source").await.contains("Telegram"));
    b.screenshot("order-card").await;
    b.js("document.getElementById('order-status').value = 'paid'")
        .await;
    b.click("#order-status-save").await;
    b.wait_js(
        "return document.getElementById('order-status')?.value === 'paid' && !!document.querySelector('#order-card[open]')",
        "the card again, paid",
    )
    .await;
    b.wait_js(
        "return document.getElementById('client-orders').textContent.includes('paid')",
        "the client card follows",
    )
    .await;
    // A status too long is refused on the card, with the reason.
    b.js("document.getElementById('order-status').value = 'x'.repeat(41)")
        .await;
    b.click("#order-status-save").await;
    b.wait_js(
        "return !document.getElementById('order-error').hidden",
        "the refusal is shown",
    )
    .await;
    b.click("#order-dismiss").await;
    b.wait_js("return !document.getElementById('order-card')", "closed")
        .await;
}
