//! The pages, health and the API documents, through HTTP: what a browser receives.

use crate::common::{ADMIN_EMAIL, PASSWORD, TestApp, browser};
use serde_json::json;

on_both_backends!(
    the_login_page_speaks_the_browsers_language,
    the_login_form_signs_in_and_shows_the_inbox_shell,
    a_wrong_form_login_shows_the_reason_in_the_page,
    the_managers_language_setting_wins_over_the_browser,
    names_are_shown_as_text_whatever_they_contain,
    rows_show_the_clients_photo_from_https_only,
    pages_and_assets_are_sent_compressed,
    health_and_api_documents_are_served,
    f17_the_feed_says_who_did_what_to_whom_in_both_languages,
);

/// F17: a system line names who reassigned the dialog, from whom and to whom, and who closed it,
/// in the manager's language.
async fn f17_the_feed_says_who_did_what_to_whom_in_both_languages(app: TestApp) {
    let anna = app.manager("anna@example.com", "Anna Petrova").await;
    let channel = app
        .channel(beseda_core::channel::ChannelKind::Telegram)
        .await;
    let d = app.new_dialog(channel, "c1").await;
    let admin = app.login(ADMIN_EMAIL).await;
    for (path, body) in [
        ("assign", json!({"to": {"type": "manager", "id": anna.id}})),
        ("close", json!({})),
    ] {
        let r = admin
            .post(app.url(&format!("/api/v1/dialogs/{d}/{path}")))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
    }
    let admin_name = app.admin.name.clone();
    for (lang, reassigned, closed) in [
        (
            "en",
            format!("{admin_name} reassigned the dialog from nobody to Anna Petrova"),
            format!("{admin_name} closed the dialog"),
        ),
        (
            "ru",
            format!("Диалог передан: никто → Anna Petrova (передал(а) {admin_name})"),
            format!("Диалог закрыт: {admin_name}"),
        ),
    ] {
        let html = admin
            .get(app.url(&format!("/ui/dialogs/{d}")))
            .header("accept-language", lang)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains(&reassigned), "{lang}: {html}");
        assert!(html.contains(&closed), "{lang}");
    }
    // The line alone, as the workspace refreshes it when its event arrives.
    let (_, feed) = crate::common::json_of(
        admin
            .get(app.url(&format!("/api/v1/dialogs/{d}/messages")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let line = feed.as_array().unwrap().last().unwrap()["id"].clone();
    let one = admin
        .get(app.url(&format!("/ui/dialogs/{d}/messages/{line}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        one.contains(&format!("{admin_name} closed the dialog")),
        "{one}"
    );
}

/// The workspace's text goes out gzip-compressed to a browser that accepts it.
async fn pages_and_assets_are_sent_compressed(app: TestApp) {
    let tab = app.login(ADMIN_EMAIL).await;
    for path in ["/", "/assets/inbox.js", "/assets/app.css"] {
        let packed = tab
            .get(app.url(path))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(packed.status(), 200);
        assert_eq!(
            packed
                .headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap()),
            Some("gzip"),
            "{path}"
        );
        let plain = tab.get(app.url(path)).send().await.unwrap();
        assert!(plain.headers().get("content-encoding").is_none(), "{path}");
        let (packed, plain) = (packed.bytes().await.unwrap(), plain.bytes().await.unwrap());
        assert!(
            packed.len() * 2 < plain.len(),
            "{path}: {} of {}",
            packed.len(),
            plain.len()
        );
    }
}

/// F12: a row shows the client's photo over the initial, but only from an https:// address.
async fn rows_show_the_clients_photo_from_https_only(app: TestApp) {
    let channel = app
        .channel(beseda_core::channel::ChannelKind::Telegram)
        .await;
    let mut ids = Vec::new();
    for (n, avatar) in [
        "https://cdn.example.com/a.jpg",
        "http://cdn.example.com/b.jpg",
        "javascript:alert(1)",
    ]
    .into_iter()
    .enumerate()
    {
        let m = beseda_core::dialog::InboundMessage {
            attachments: Vec::new(),
            quote_external_id: None,
            channel_id: channel,
            contact_external_id: format!("p{n}"),
            contact_name: format!("Photo {n}"),
            external_id: format!("p{n}"),
            body: "hi".into(),
            sent_at: beseda_core::time::Timestamp(1_000),
            details: beseda_core::dialog::ContactDetails {
                avatar_url: Some(avatar.into()),
                ..Default::default()
            },
        };
        if let beseda_core::dialog::Ingested::Accepted { dialog_id, .. } =
            app.state.dialogs.receive(m).await.unwrap()
        {
            ids.push(dialog_id.0);
        }
    }
    let tab = app.login(ADMIN_EMAIL).await;
    let row = |id: i64| {
        let tab = tab.clone();
        let url = app.url(&format!("/ui/dialogs/{id}/row"));
        async move { tab.get(url).send().await.unwrap().text().await.unwrap() }
    };
    assert!(
        row(ids[0])
            .await
            .contains(r#"<img class="avatar-photo" src="https://cdn.example.com/a.jpg""#)
    );
    for id in &ids[1..] {
        assert!(!row(*id).await.contains("avatar-photo"));
    }
}

async fn the_login_page_speaks_the_browsers_language(app: TestApp) {
    let en = browser()
        .get(app.url("/login"))
        .header("accept-language", "de-DE, en;q=0.8")
        .send()
        .await
        .unwrap();
    let csp = en.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let en = en.text().await.unwrap();
    assert!(
        en.contains("<html lang=\"en\">") && en.contains("Sign in"),
        "{en}"
    );
    let ru = browser()
        .get(app.url("/login"))
        .header("accept-language", "ru-RU,ru;q=0.9")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(ru.contains("<html lang=\"ru\">") && ru.contains("Войти") && ru.contains("Пароль"));
    let picked = browser()
        .get(app.url("/login?lang=ru"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(picked.contains("Войти"));
}

async fn the_login_form_signs_in_and_shows_the_inbox_shell(app: TestApp) {
    let tab = browser();
    let r = tab
        .post(app.url("/login"))
        .form(&[("email", ADMIN_EMAIL), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers()["location"].to_str().unwrap()
        ),
        (303, "/")
    );
    let page = tab
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Administrator")
            && page.contains("Sign out")
            && page.contains("System administrator"),
        "{page}"
    );
    let r = tab.post(app.url("/logout")).send().await.unwrap();
    assert_eq!(r.headers()["location"].to_str().unwrap(), "/login");
    assert_eq!(tab.get(app.url("/")).send().await.unwrap().status(), 303);
}

async fn a_wrong_form_login_shows_the_reason_in_the_page(app: TestApp) {
    let r = browser()
        .post(app.url("/login"))
        .header("accept-language", "ru")
        .form(&[("email", ADMIN_EMAIL), ("password", "wrong password")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("Неверная почта или пароль")
            && page.contains(&format!("value=\"{ADMIN_EMAIL}\"")),
        "{page}"
    );
}

async fn the_managers_language_setting_wins_over_the_browser(app: TestApp) {
    let tab = app.login(ADMIN_EMAIL).await;
    let english = tab
        .get(app.url("/"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(english.contains("Sign out"));
    let r = tab
        .post(app.url("/me/locale"))
        .form(&[("locale", "ru")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let russian = tab
        .get(app.url("/"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        russian.contains("<html lang=\"ru\">")
            && russian.contains("Выйти")
            && russian.contains("Системный администратор"),
        "{russian}"
    );
    tab.post(app.url("/me/availability"))
        .form(&[("online", "true"), ("status", "busy")])
        .send()
        .await
        .unwrap();
    let (_, me) =
        crate::common::json_of(tab.get(app.url("/api/v1/me")).send().await.unwrap()).await;
    assert_eq!(
        (
            me["manager"]["online"].clone(),
            me["manager"]["status"].clone()
        ),
        (json!(true), json!("busy"))
    );
}

async fn names_are_shown_as_text_whatever_they_contain(app: TestApp) {
    let hostile = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>";
    app.managers
        .update(
            &beseda_core::manager::Actor {
                manager: app.admin.clone(),
                permissions: beseda_core::manager::Permissions::new(true, Default::default()),
            },
            app.admin.id,
            beseda_core::store::ManagerUpdate {
                name: Some(hostile.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let tab = app.login(ADMIN_EMAIL).await;
    let page = tab
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !page.contains("<script>alert") && !page.contains("<img src=x"),
        "{page}"
    );
    assert!(
        page.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            || page.contains("&lt;script&gt;"),
        "{page}"
    );
}

async fn health_and_api_documents_are_served(app: TestApp) {
    let client = browser();
    assert_eq!(
        client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let (status, ready) =
        crate::common::json_of(client.get(app.url("/readyz")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert!(["sqlite", "postgres"].contains(&ready["database"].as_str().unwrap()));
    let r = client.get(app.url("/healthz")).send().await.unwrap();
    assert!(
        r.headers().contains_key("x-request-id"),
        "every answer carries its request id"
    );
    let (status, doc) = crate::common::json_of(
        client
            .get(app.url("/api/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    for path in [
        "/api/v1/auth/login",
        "/api/v1/me",
        "/api/v1/managers",
        "/api/v1/groups/{id}/members",
        "/api/v1/me/tokens/{id}",
        "/api/v1/ws",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is documented");
    }
    assert!(doc["components"]["schemas"].get("ErrorBody").is_some());
    // The event stream: how to connect and resume, and every event with its payload.
    let ws = &doc["paths"]["/api/v1/ws"]["get"];
    let how = ws["description"].as_str().unwrap();
    assert!(how.contains("?after=") && how.contains("resync"), "{how}");
    let events = doc["components"]["schemas"]["DomainEvent"].to_string();
    let frame = serde_json::to_value(beseda_core::event::DomainEvent::DialogAssigned {
        reason: None,
        from: None,
        to: None,
        by: beseda_core::dialog::Responsible::Manager(beseda_core::ids::ManagerId(1)),
    })
    .unwrap();
    let kind = frame["kind"].as_str().unwrap();
    assert!(
        events.contains(&format!("\"{kind}\"")) && events.contains("\"from\""),
        "each kind and its payload are described: {events}"
    );
    let docs = client.get(app.url("/api/docs/")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(
        docs.text()
            .await
            .unwrap()
            .to_lowercase()
            .contains("swagger")
    );
    let (status, body) =
        crate::common::json_of(client.get(app.url("/no/such/page")).send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    // Nothing is ever sniffed into another type: pages, assets, JSON, errors, the documents.
    for path in [
        "/login",
        "/assets/inbox.js",
        "/healthz",
        "/api/v1/me",
        "/api/openapi.json",
        "/api/docs/",
        "/no/such/page",
    ] {
        let r = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(
            r.headers()
                .get("x-content-type-options")
                .map(|v| v.to_str().unwrap()),
            Some("nosniff"),
            "{path}"
        );
    }
}
