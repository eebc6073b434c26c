//! `beseda-bench ui`: the workspace on a generated database (`beseda-bench generate`), through a real
//! `beseda serve`: the time for the inbox page and for each fragment the page asks for (over
//! loopback HTTP, as an administrator and as a manager), the page's weight, and the time from
//! a client message pushed through the transport API to its row being ready in an open
//! workspace (the WebSocket event, then the row fragment the script fetches).

use super::{SECRET, generated_manager, percentile, prepare, session_cookie};
use beseda_core::event::DomainEvent;
use beseda_core::secret::{Token, TokenHasher};
use beseda_core::time::{Clock, SystemClock};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

pub async fn ui(database_url: &str, runs: usize, arrivals: usize) -> anyhow::Result<()> {
    let prepared = prepare(Some(database_url)).await?;
    let store = prepared.store.clone();
    let now = SystemClock.now();
    let hasher = TokenHasher::new(SECRET.as_bytes());
    let mut cookies = Vec::new();
    for email in ["admin@bench.local", "manager1@bench.local"] {
        let id = generated_manager(&*store, email).await?;
        cookies.push((email, session_cookie(&*store, id).await?));
    }
    let module_token = Token::generate("bm_");
    let module = store
        .create_module(
            "UI bench module",
            &hasher.hash(&module_token),
            "http://127.0.0.1:9/none",
            "secret",
            now,
        )
        .await?;
    let kind = beseda_core::channel::ChannelKind::Custom;
    let channel = store
        .register_channel(
            module.id,
            &beseda_core::transport::ChannelRegistration {
                kind,
                name: "UI bench".into(),
                avatar_url: None,
                external_id: None,
                capabilities: kind.default_capabilities(),
            },
            now,
        )
        .await?;
    let server = prepared.serve()?;
    let http = reqwest::Client::new();
    let base = server.base.clone();

    // The page's weight: what a browser loads for the workspace, as sent (gzip) and unpacked.
    let (_, admin_cookie) = &cookies[0];
    let (mut sent, mut unpacked) = (0, 0);
    for path in [
        "/",
        "/assets/inbox.js",
        "/assets/conversation.js",
        "/assets/app.css",
    ] {
        let mut sizes = [0; 2];
        for (i, encoding) in ["gzip", "identity"].into_iter().enumerate() {
            sizes[i] = http
                .get(format!("{base}{path}"))
                .header("cookie", admin_cookie)
                .header("accept-encoding", encoding)
                .send()
                .await?
                .error_for_status()?
                .bytes()
                .await?
                .len();
        }
        println!(
            "weight {path}: {} bytes sent, {} unpacked",
            sizes[0], sizes[1]
        );
        sent += sizes[0];
        unpacked += sizes[1];
    }
    println!("page weight in all: {sent} bytes sent (gzip), {unpacked} unpacked");

    println!("| fragment | viewer | p50 / p99 ms |");
    println!("|---|---|---|");
    for (email, cookie) in &cookies {
        let get_json = |path: String| {
            let req = http
                .get(format!("{base}{path}"))
                .header("cookie", cookie.as_str());
            async move {
                Ok::<serde_json::Value, anyhow::Error>(
                    req.send().await?.error_for_status()?.json().await?,
                )
            }
        };
        let list = get_json("/api/v1/dialogs?limit=50".into()).await?;
        let dialog = list["dialogs"][0]["id"].as_i64().unwrap_or(1);
        let cursor = list["next_cursor"].as_str().unwrap_or_default().to_owned();
        let feed = get_json(format!("/api/v1/dialogs/{dialog}/messages?limit=1")).await?;
        let message = feed[0]["id"].as_i64().unwrap_or(1);
        let mut paths = vec![
            ("inbox page", "/".to_owned()),
            ("list page", "/ui/dialogs".to_owned()),
            ("next list page", format!("/ui/dialogs?cursor={cursor}")),
            (
                "list page, processing order",
                "/ui/dialogs?sort=processing".to_owned(),
            ),
            ("conversation", format!("/ui/dialogs/{dialog}")),
            ("row", format!("/ui/dialogs/{dialog}/row")),
            (
                "message",
                format!("/ui/dialogs/{dialog}/messages/{message}"),
            ),
            (
                "older messages",
                format!("/ui/dialogs/{dialog}/older?before={message}"),
            ),
            ("client card", format!("/ui/dialogs/{dialog}/client")),
            (
                "files",
                format!("/ui/dialogs/{dialog}/attachments?tab=files"),
            ),
            (
                "search",
                "/ui/search?q=%D0%B4%D0%BE%D1%81%D1%82%D0%B0%D0%B2%D0%BA".to_owned(),
            ),
        ];
        if *email == "admin@bench.local" {
            paths.push(("settings page", "/settings".to_owned()));
        }
        let viewer = if *email == "admin@bench.local" {
            "admin"
        } else {
            "manager"
        };
        for (name, path) in paths {
            let mut times = Vec::with_capacity(runs);
            for _ in 0..runs {
                let started = Instant::now();
                let r = http
                    .get(format!("{base}{path}"))
                    .header("cookie", cookie.as_str())
                    .send()
                    .await?;
                let status = r.status();
                r.bytes().await?;
                // A client card is absent for a dialog without a client: still a full answer.
                if !(status.is_success() || status == reqwest::StatusCode::NOT_FOUND) {
                    anyhow::bail!("{path}: {status}");
                }
                times.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            times.sort_by(f64::total_cmp);
            println!(
                "| {name} | {viewer} | {:.1} / {:.1} |",
                percentile(&times, 50.0),
                percentile(&times, 99.0)
            );
        }
    }

    // From a client message arriving to its row ready in an open workspace.
    let mut req =
        format!("{}/api/v1/ws", base.replace("http://", "ws://")).into_client_request()?;
    req.headers_mut().insert("cookie", admin_cookie.parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, i64)>();
    tokio::spawn(async move {
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Text(t) = msg
                && let Ok(DomainEvent::MessageNew(change)) = serde_json::from_str(&t)
                && change.message.body.starts_with("ui-bench-")
            {
                let _ = tx.send((change.message.body, change.dialog.id.0));
            }
        }
    });
    let mut sent: HashMap<String, Instant> = HashMap::new();
    let mut latencies = Vec::with_capacity(arrivals);
    for i in 0..arrivals {
        let body = format!("ui-bench-{i}-{}", now.0);
        sent.insert(body.clone(), Instant::now());
        http.post(format!("{base}/api/transport/v1/messages"))
            .header("x-transport-token", module_token.expose())
            .json(&serde_json::json!({
                "channel_id": channel.id,
                "customer": {"external_id": format!("ui-bench-{}", i % 20), "first_name": "Bench"},
                "external_id": body,
                "text": body,
            }))
            .send()
            .await?
            .error_for_status()?;
        let (seen, dialog) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await?
            .ok_or_else(|| anyhow::anyhow!("the WebSocket closed"))?;
        http.get(format!("{base}/ui/dialogs/{dialog}/row"))
            .header("cookie", admin_cookie.as_str())
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        if let Some(t) = sent.remove(&seen) {
            latencies.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    latencies.sort_by(f64::total_cmp);
    println!(
        "client message to its row ready in the workspace: p50 {:.1} ms, p99 {:.1} ms ({} messages)",
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        latencies.len()
    );
    drop(server);
    Ok(())
}
