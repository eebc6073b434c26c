//! An XSS corpus in Chromium: several hundred payloads (tags, handlers, `javascript:` links,
//! styles, entity tricks, each after the usual attribute and element breakouts) in every text a
//! user or a client supplies — messages, client and contact names, channel, manager and tag
//! names, quick replies, the search box — across the list, the conversation, the client card,
//! the search results and the settings. On every screen no element a payload carries exists
//! (each injected tag is marked `data-xss`), no payload script ran, and the page grows no wider
//! than the window.

use crate::common::browser::Browser;
use crate::common::{ADMIN_EMAIL, PASSWORD, TestApp};
use beseda_core::channel::ChannelKind;
use beseda_core::company::NewChannel;
use beseda_core::dialog::{InboundMessage, Ingested};
use beseda_core::time::Timestamp;
use fantoccini::Locator;
use serde_json::json;

/// Every vector after every breakout: 25 × 14 payloads.
fn corpus() -> Vec<String> {
    let vectors = [
        r#"<img src=x data-xss onerror="window.__xss=1">"#,
        r#"<svg data-xss onload="window.__xss=1">"#,
        r#"<script data-xss>window.__xss=1</script>"#,
        r#"<iframe data-xss srcdoc="<script>parent.__xss=1</script>"></iframe>"#,
        r#"<a data-xss href="javascript:window.__xss=1">link</a>"#,
        r#"<div data-xss style="position:fixed;inset:0;background:red">"#,
        r#"<style data-xss>body{display:none}</style>"#,
        r#"<input data-xss autofocus onfocus="window.__xss=1">"#,
        r#"<details data-xss open ontoggle="window.__xss=1">"#,
        r#"<math data-xss><mtext><table><mglyph><style><img src=x onerror=window.__xss=1>"#,
        r#"<template data-xss><img src=x onerror=window.__xss=1></template>"#,
        r#"<object data-xss data="javascript:window.__xss=1">"#,
        r#"<body data-xss onload="window.__xss=1">"#,
        r#"<base data-xss href="//evil.example/">"#,
        r#"<meta data-xss http-equiv="refresh" content="0;url=javascript:window.__xss=1">"#,
        r#"<form data-xss action="javascript:window.__xss=1"><button>go</button></form>"#,
        r#"<video data-xss><source onerror="window.__xss=1"></video>"#,
        r#"<marquee data-xss onstart="window.__xss=1">"#,
        r#"<x data-xss contenteditable onfocus=window.__xss=1 autofocus>"#,
        r#"<IMG DATA-XSS SRC=x OnErRoR=window.__xss=1>"#,
        "<img\tdata-xss\nsrc=x\ronerror=window.__xss=1>",
        r#"<<img data-xss src=x onerror=window.__xss=1>>"#,
        r#"<img data-xss src=`x` onerror=window.__xss=1>"#,
        r#"&lt;img data-xss src=x onerror=window.__xss=1&gt;"#,
        r#"{{constructor.constructor('window.__xss=1')()}}<b data-xss>"#,
    ];
    let breakouts = [
        "",
        "\"",
        "'",
        ">",
        "\">",
        "'>",
        "</title>",
        "</textarea>",
        "</script>",
        "-->",
        "]]>",
        "</li></ul>",
        "`",
        "</option></select>",
    ];
    let mut out = Vec::new();
    for v in vectors {
        for b in breakouts {
            out.push(format!("{b}{v}"));
        }
    }
    // A word with no place to break, and text that runs right to left.
    out.push("W".repeat(600));
    out.push("\u{202E}gnp.exe".into());
    out
}

/// A payload as a name: at most 100 characters, none of them a control character (names
/// refuse those).
fn name(p: &str) -> String {
    p.chars().filter(|c| !c.is_control()).take(100).collect()
}

/// Nothing of a payload is alive on the page, and the page keeps its width.
async fn holds(b: &Browser, screen: &str) {
    let found = b
        .js(
            "return {injected: document.querySelectorAll('[data-xss]').length, \
             ran: window.__xss === undefined ? 0 : 1, \
             wider: document.documentElement.scrollWidth - document.documentElement.clientWidth \
               + [...document.querySelectorAll('.col-list, .col-chat, .col-client, .settings section')] \
                   .filter(e => e.scrollWidth > e.clientWidth + 1).length, \
             shown: getComputedStyle(document.body).display !== 'none'}",
        )
        .await;
    if found != json!({"injected": 0, "ran": 0, "wider": 0, "shown": true}) {
        // Name what sticks out, for whoever mends it.
        let culprit = b
            .js(
                "const out = [...document.querySelectorAll('body *')].filter(e => \
                   e.getBoundingClientRect().right > window.innerWidth + 1 && \
                   ![...e.children].some(c => c.getBoundingClientRect().right > window.innerWidth + 1)); \
                 return out.slice(0, 3).map(e => e.tagName + '.' + e.className + ' ' + \
                   (e.textContent || e.value || '').slice(0, 40));",
            )
            .await;
        panic!("{screen}: {found} ({culprit})");
    }
}

#[tokio::test]
async fn several_hundred_payloads_in_every_field_never_run_and_the_layout_holds() {
    let app = TestApp::spawn(beseda_testkit::TestBackend::Sqlite)
        .await
        .unwrap();
    let Some(b) = Browser::start("en-US").await else {
        return;
    };
    let payloads = corpus();
    assert!(payloads.len() >= 350, "{}", payloads.len());

    // Channels, clients and their messages: eight dialogs of 45 payloads each.
    let channel = app
        .store
        .create_channel(&NewChannel {
            kind: ChannelKind::Telegram,
            name: name(&payloads[5]),
            capabilities: ChannelKind::Telegram.default_capabilities(),
            created_at: Timestamp(1),
        })
        .await
        .unwrap();
    let mut dialogs = Vec::new();
    for (d, chunk) in payloads.chunks(45).enumerate() {
        let mut dialog = None;
        for (i, p) in chunk.iter().enumerate() {
            let written = app
                .state
                .dialogs
                .receive(InboundMessage {
                    attachments: Vec::new(),
                    quote_external_id: (i > 0).then(|| format!("d{d}-m{}", i - 1)),
                    channel_id: channel,
                    contact_external_id: format!("client-{d}"),
                    contact_name: name(&chunk[0]),
                    external_id: format!("d{d}-m{i}"),
                    body: p.clone(),
                    sent_at: Timestamp(1_000 + i as i64),
                    details: beseda_core::dialog::ContactDetails {
                        nickname: Some(name(&chunk[1])),
                        email: Some(name(&chunk[2])),
                        ..Default::default()
                    },
                })
                .await
                .unwrap();
            if let Ingested::Accepted { dialog_id, .. } = written {
                dialog = Some(dialog_id.0);
            }
        }
        dialogs.push(dialog.unwrap());
    }

    // Names the company gives: a manager, tags, quick replies; a reassignment line in a feed.
    let admin = app.as_(ADMIN_EMAIL).await;
    let manager = admin
        .post(
            "/api/v1/managers",
            json!({"email": "odd@example.com", "name": name(&payloads[0]), "password": PASSWORD}),
        )
        .expect(201)
        .await;
    admin
        .post(
            &format!("/api/v1/dialogs/{}/assign", dialogs[0]),
            json!({"to": {"type": "manager", "id": manager["id"]}}),
        )
        .expect(204)
        .await;
    for p in payloads.iter().step_by(70) {
        let tag = admin
            .post("/api/v1/tags", json!({"name": name(p), "color": "red"}))
            .expect(201)
            .await;
        let card = admin
            .get(&format!("/api/v1/dialogs/{}", dialogs[1]))
            .expect(200)
            .await;
        admin
            .put(
                &format!(
                    "/api/v1/clients/{}/tags/{}",
                    card["client"]["id"], tag["id"]
                ),
                json!({"pinned": true}),
            )
            .expect(200)
            .await;
        admin
            .post(
                "/api/v1/quick-replies",
                json!({"title": name(p), "body": p, "shared": true}),
            )
            .expect(201)
            .await;
    }

    b.sign_in(&app.base, ADMIN_EMAIL, PASSWORD).await;
    b.wait_for(Locator::Css("#dialog-list li.row")).await;
    holds(&b, "the dialog list").await;
    for d in &dialogs {
        b.click(&format!("li.row[data-id='{d}']")).await;
        b.wait_js(
            &format!(
                "return document.querySelector('section.conversation')?.dataset.id === '{d}' && \
                 document.querySelectorAll('#feed li.msg').length > 0"
            ),
            "the conversation opens",
        )
        .await;
        b.wait_for(Locator::Css("#client-card")).await;
        holds(&b, &format!("the conversation {d} and its client card")).await;
    }
    b.screenshot("xss-conversation").await;

    // The quick replies' picker in the composer, and the search box.
    b.type_into("#composer-text", "/").await;
    holds(&b, "the quick replies").await;
    for p in payloads.iter().step_by(50) {
        b.client
            .execute(
                "const s = document.getElementById('search'); s.value = arguments[0]; \
                 s.dispatchEvent(new Event('input', {bubbles: true}));",
                vec![json!(name(p))],
            )
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        holds(&b, &format!("the search for {p:?}")).await;
    }

    b.client
        .goto(&format!("{}/settings", app.base))
        .await
        .unwrap();
    b.wait_for(Locator::Css("#new-module")).await;
    holds(&b, "the settings").await;
    b.screenshot("xss-settings").await;
}
