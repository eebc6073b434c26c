//! A request the server cannot read is refused in the API's one error form, with a stable code,
//! whatever refuses it: a path parameter that does not parse, a query value that does not fit,
//! a body over the limit, a body of the wrong type, a method the route lacks. The OpenAPI
//! document lists these answers on every operation they can come from, and every reference in
//! it resolves.

use crate::common::{ADMIN_EMAIL, TestApp, json_of};
use reqwest::Method;
use serde_json::{Value, json};

on_both_backends!(
    a_request_that_cannot_be_read_is_refused_as_json_with_a_stable_code,
    every_stored_text_has_a_byte_cap_besides_its_visible_length,
    the_document_lists_the_refusals_on_every_operation,
);

async fn a_request_that_cannot_be_read_is_refused_as_json_with_a_stable_code(app: TestApp) {
    let admin = app.as_(ADMIN_EMAIL).await;
    let refusal = |r: reqwest::RequestBuilder| async move {
        let r = r.send().await.unwrap();
        let content_type = r.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(
            content_type.starts_with("application/json"),
            "{content_type}"
        );
        let (status, body) = json_of(r).await;
        (
            status,
            body["error"].as_str().unwrap_or("").to_owned(),
            body,
        )
    };

    for path in [
        "/api/v1/dialogs/abc/messages",
        "/api/v1/dialogs/99999999999999999999999/messages",
        "/api/v1/clients/1.5",
    ] {
        let (status, code, body) = refusal(admin.raw(Method::GET, path)).await;
        assert_eq!(
            (status, code.as_str()),
            (400, "invalid_path"),
            "{path}: {body}"
        );
    }

    let dialog = a_dialog(&app).await;
    let feed = format!("/api/v1/dialogs/{dialog}/messages?before=yesterday");
    let (status, code, body) = refusal(admin.raw(Method::GET, &feed)).await;
    assert_eq!(
        (status, code.as_str(), body["field"].as_str()),
        (422, "invalid_value", Some("before")),
        "{body}"
    );

    let big = format!(
        r#"{{"email": "x@example.com", "name": "{}"}}"#,
        "x".repeat(3 << 20)
    );
    let (status, code, body) = refusal(
        admin
            .raw(Method::POST, "/api/v1/managers")
            .header("content-type", "application/json")
            .body(big),
    )
    .await;
    assert_eq!((status, code.as_str()), (413, "body_too_large"), "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("2097152"),
        "{body}"
    );

    let (status, code, body) = refusal(
        admin
            .raw(Method::POST, "/api/v1/managers")
            .header("content-type", "text/plain")
            .body(r#"{"email": "x@example.com"}"#),
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (415, "unsupported_media_type"),
        "{body}"
    );

    let upload = format!("/api/v1/dialogs/{dialog}/attachments");
    let (status, code, body) = refusal(
        admin
            .raw(Method::POST, &upload)
            .header("content-type", "application/json")
            .body("{}"),
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (415, "unsupported_media_type"),
        "{body}"
    );

    let (status, code, body) = refusal(admin.raw(Method::PATCH, "/api/v1/auth/login")).await;
    assert_eq!(
        (status, code.as_str()),
        (405, "method_not_allowed"),
        "{body}"
    );

    let (status, code, body) = refusal(admin.raw(Method::GET, "/api/v1/nowhere")).await;
    assert_eq!((status, code.as_str()), (404, "not_found"), "{body}");

    // Nothing of the refused manager was made.
    let managers = admin.get("/api/v1/managers").expect(200).await;
    assert_eq!(managers.as_array().unwrap().len(), 1, "{managers}");
}

/// F30 counts visible characters; blanks count for nothing there, so every text also has a
/// byte cap: a message, a draft, a quick reply, a client's message and what a channel tells
/// about the client. A refusal names the field and keeps nothing.
async fn every_stored_text_has_a_byte_cap_besides_its_visible_length(app: TestApp) {
    let (dialog, module, channel) = a_dialog_of(&app).await;
    let admin = app.as_(ADMIN_EMAIL).await;
    let padded = format!("{}{}", "a".repeat(100), " ".repeat(20_000));
    let messages = format!("/api/v1/dialogs/{dialog}/messages");
    let before = admin.get(&messages).expect(200).await;
    let e = admin
        .post(&messages, json!({"body": padded}))
        .refused(422, "invalid_value")
        .await;
    assert_eq!(e["field"], "body", "{e}");
    admin
        .put(
            &format!("/api/v1/dialogs/{dialog}/draft"),
            json!({"body": padded}),
        )
        .refused(422, "invalid_value")
        .await;
    admin
        .post(
            "/api/v1/quick-replies",
            json!({"title": "Long", "body": padded, "shared": false}),
        )
        .refused(422, "invalid_value")
        .await;
    let push = |external_id: &str, text: String, name: String| {
        json!({"channel_id": channel, "external_id": external_id, "text": text,
            "customer": {"external_id": "u9", "first_name": name}})
    };
    let e = module
        .post(
            "/api/transport/v1/messages",
            push("big", "я".repeat(40_000), "Ann".into()),
        )
        .refused(422, "invalid_value")
        .await;
    assert_eq!(e["field"], "text", "{e}");
    let e = module
        .post(
            "/api/transport/v1/messages",
            push("named", "hi".into(), "N".repeat(2_000)),
        )
        .refused(422, "invalid_value")
        .await;
    assert_eq!(e["field"], "customer.name", "{e}");
    assert_eq!(
        admin.get(&messages).expect(200).await,
        before,
        "nothing was kept"
    );
    assert_eq!(admin.dialog_ids("").await, [dialog], "no new dialog");

    // Within the caps, the same texts pass.
    admin
        .post(
            &messages,
            json!({"body": format!("{}{}", "a".repeat(100), " ".repeat(1_000))}),
        )
        .expect(201)
        .await;
}

/// A dialog with one client message.
async fn a_dialog(app: &TestApp) -> i64 {
    a_dialog_of(app).await.0
}

/// A dialog with one client message, its module and channel.
async fn a_dialog_of(app: &TestApp) -> (i64, crate::common::client::Caller, i64) {
    let admin = app.as_(ADMIN_EMAIL).await;
    let connected = admin.connect_module("http://127.0.0.1:9/hook").await;
    let (module, channel) = (connected.module, connected.channel);
    let pushed = module
        .post(
            "/api/transport/v1/messages",
            json!({"channel_id": channel, "customer": {"external_id": "u1"},
                "external_id": "in-1", "text": "Привет"}),
        )
        .expect(200)
        .await;
    (pushed["dialog_id"].as_i64().unwrap(), module, channel)
}

async fn the_document_lists_the_refusals_on_every_operation(app: TestApp) {
    let doc = app.openapi().await;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = &op["responses"];
            if path.contains('{') {
                assert!(responses.get("400").is_some(), "{method} {path} lacks 400");
            }
            if op.get("requestBody").is_some() {
                for status in ["413", "415"] {
                    assert!(
                        responses.get(status).is_some(),
                        "{method} {path} lacks {status}"
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 40, "{checked} operations");

    // Every reference resolves (a client generator or fuzzer stops at one that does not).
    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(o) => o.iter().for_each(|(k, v)| match (k.as_str(), v) {
                ("$ref", Value::String(r)) => out.push(r),
                _ => refs(v, out),
            }),
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    refs(&doc, &mut found);
    for r in found {
        let name = r.strip_prefix("#/components/schemas/").expect(r);
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{r} is not in the document"
        );
    }
}
