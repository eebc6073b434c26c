//! The API fuzzed from its own OpenAPI document with schemathesis (PyPI), on both stores, over a
//! demo company: every operation gets generated valid and invalid requests, and no answer may
//! be a server error, break its documented schema or come with an undocumented content type.
//! Outside CI the test is skipped when `schemathesis` is not installed.

use crate::common::{ADMIN_EMAIL, PASSWORD, TestApp};
use beseda_server::demo::{self, DemoSize};
use serde_json::json;

on_both_backends!(generated_requests_get_no_server_error_and_documented_answers);

/// The operations that would end the fuzzer's own credentials, and so the run's reach; each is
/// tested on its own elsewhere.
const OWN_CREDENTIALS: [&str; 8] = [
    "DELETE /api/v1/me/tokens/{id}",
    "DELETE /api/v1/managers/{id}/tokens/{token_id}",
    "PUT /api/v1/managers/{id}/password",
    "POST /api/v1/transport-modules/{id}/renew",
    "PUT /api/v1/me/password",
    "POST /api/v1/auth/logout",
    "POST /api/v1/bots/{id}/renew",
    // Turning the bot off ends its token.
    "PATCH /api/v1/bots/{id}",
];

fn schemathesis() -> Option<String> {
    let bin = std::env::var("BESEDA_SCHEMATHESIS").unwrap_or_else(|_| "schemathesis".into());
    let found = std::process::Command::new(&bin)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    match (found, std::env::var("CI").is_ok_and(|v| v == "true")) {
        (true, _) => Some(bin),
        (false, true) => panic!("CI needs schemathesis (pip install schemathesis)"),
        (false, false) => {
            eprintln!("schemathesis is not installed: the API fuzzing is skipped");
            None
        }
    }
}

async fn generated_requests_get_no_server_error_and_documented_answers(app: TestApp) {
    let Some(bin) = schemathesis() else {
        return;
    };
    let size = DemoSize {
        clients: 20,
        orders: 3,
    };
    demo::load(app.store.clone(), size, false, false)
        .await
        .unwrap();
    let admin = app.as_(ADMIN_EMAIL).await;
    let token = admin
        .post(
            "/api/v1/me/tokens",
            json!({"name": "fuzzing", "password": PASSWORD}),
        )
        .expect(201)
        .await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let module = admin.connect_module("http://127.0.0.1:9/hook").await.token;
    let channels: Vec<i64> = app
        .state
        .inbox
        .channels()
        .await
        .unwrap()
        .iter()
        .map(|c| c.id.0)
        .collect();
    let bot = admin
        .post(
            "/api/v1/bots",
            json!({"name": "Fuzzing bot", "channels": channels}),
        )
        .expect(201)
        .await["token"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut args = vec![
        "run".to_owned(),
        app.url("/api/openapi.json"),
        "--header".into(),
        format!("Authorization: Bearer {token}"),
        "--header".into(),
        format!("X-Transport-Token: {module}"),
        "--header".into(),
        format!("X-Bot-Token: {bot}"),
        "--checks".into(),
        "not_a_server_error,response_schema_conformance,content_type_conformance".into(),
        "--max-examples".into(),
        "15".into(),
        "--seed".into(),
        "1".into(),
        // One worker: Python 3.11's parser (which Hypothesis uses to describe its filters) is
        // not safe across threads and fails now and then with "AST constructor recursion
        // depth mismatch".
        "--workers".into(),
        "1".into(),
        "--no-color".into(),
        // Nothing written beside the sources: no example database, no report.
        "--generation-database".into(),
        "none".into(),
    ];
    // Meta's webhook handshake answers only Meta, which brings this server's verify token: every
    // generated call is refused (403), which the fuzzer would take for lost credentials. The
    // WhatsApp tests make it both ways.
    // A bot uploads files only into a dialog it holds, and the fuzzer's bot holds none: its
    // uploads are all refused (403 `dialog_not_yours`), which the fuzzer would take for lost
    // credentials too. The bot API tests upload both ways.
    for name in OWN_CREDENTIALS.into_iter().chain([
        "GET /hooks/meta",
        "POST /api/bot/v1/dialogs/{id}/attachments",
    ]) {
        args.extend(["--exclude-name".into(), name.into()]);
    }
    // The run blocks a thread of its own while the server answers on the test's runtime.
    let out =
        tokio::task::spawn_blocking(move || std::process::Command::new(&bin).args(&args).output())
            .await
            .unwrap()
            .expect("schemathesis runs");
    let report = String::from_utf8_lossy(&out.stdout);
    let cases = report
        .lines()
        .skip_while(|l| !l.starts_with("Test cases:"))
        .nth(1)
        .unwrap_or("no count");
    println!("fuzzing: {} ({})", cases.trim(), app.store.backend());
    assert!(out.status.success(), "{report}");
    assert!(
        !report.contains("Authentication failed"),
        "the fuzzer kept its credentials: {report}"
    );
}
