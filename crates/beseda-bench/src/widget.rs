//! The website widget (F39): its weight on a visitor's first load, a visitor's message on its
//! way to a manager's socket, and the server's memory per connected idle visitor.
//!
//! Visitors come from many addresses in life; here each one's requests carry their own
//! `X-Forwarded-For` (the server trusts loopback as its proxy), so the per-address limits
//! apply as they would.

use super::{SECRET, percentile, prepare};
use beseda_core::secret::{Token, TokenHasher};
use beseda_core::time::{Clock, SystemClock};
use beseda_core::widget::WidgetSettings;
use futures_util::{SinkExt, StreamExt};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const ORIGIN: &str = "http://shop.bench";

fn settings() -> WidgetSettings {
    WidgetSettings {
        greeting: Some("Hello!".into()),
        ..WidgetSettings::starting("Bench shop", vec![ORIGIN.into()])
    }
}

/// A distinct address for visitor `i`.
fn address(i: usize) -> String {
    format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255)
}

/// The bytes of `path` as a browser fetches them (gzip when the server offers it).
async fn weight(http: &reqwest::Client, url: &str) -> anyhow::Result<(usize, usize)> {
    let zipped = http
        .get(url)
        .header("accept-encoding", "gzip")
        .header("origin", ORIGIN)
        .send()
        .await?;
    let encoded = zipped
        .headers()
        .get("content-encoding")
        .is_some_and(|e| e == "gzip");
    let on_wire = zipped.bytes().await?.len();
    let plain = http
        .get(url)
        .header("origin", ORIGIN)
        .send()
        .await?
        .bytes()
        .await?
        .len();
    Ok((if encoded { on_wire } else { plain }, plain))
}

pub async fn widget(
    visitors: usize,
    messages: usize,
    database_url: Option<&str>,
) -> anyhow::Result<()> {
    let prepared = prepare(database_url).await?;
    let managers = prepared.managers(1).await?;
    let key = "wk_bench";
    let w = prepared
        .store
        .create_widget("Bench site", key, "secret", &settings(), SystemClock.now())
        .await?;
    eprintln!("preparing {visitors} visitors…");
    let hasher = TokenHasher::new(SECRET.as_bytes());
    let mut tokens = Vec::with_capacity(visitors);
    for i in 0..visitors {
        let token = Token::generate("bv_");
        let external = format!("v_bench{i}");
        prepared
            .store
            .create_visitor(
                w.channel_id,
                &hasher.hash(&token),
                &external,
                SystemClock.now(),
            )
            .await?;
        tokens.push(token.expose().to_owned());
    }
    let server = prepared.serve()?;
    let http = reqwest::Client::new();

    // What a visitor's browser loads first: the script and the configuration.
    let (script_gz, script) = weight(&http, &format!("{}/widget.js", server.base)).await?;
    let (config_gz, config) = weight(
        &http,
        &format!("{}/api/widget/v1/{key}/config", server.base),
    )
    .await?;

    // The manager's socket, where visitors' messages arrive.
    let mut req =
        format!("{}/api/v1/ws", server.base.replace("http://", "ws://")).into_client_request()?;
    req.headers_mut().insert("cookie", managers[0].1.parse()?);
    let (mut manager_ws, _) = tokio_tungstenite::connect_async(req).await?;

    // Every visitor connects and idles.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = server.rss_kib();
    let live = format!(
        "{}/api/widget/v1/{key}/live",
        server.base.replace("http://", "ws://")
    );
    let started = Instant::now();
    let mut sockets = Vec::with_capacity(visitors);
    for (batch_no, batch) in tokens.chunks(200).enumerate() {
        let mut joins = Vec::new();
        for (j, token) in batch.iter().enumerate() {
            let i = batch_no * 200 + j;
            let mut req = live.as_str().into_client_request()?;
            req.headers_mut().insert("origin", ORIGIN.parse()?);
            req.headers_mut()
                .insert("x-forwarded-for", address(i).parse()?);
            let hello = serde_json::json!({"token": token, "after": null}).to_string();
            joins.push(tokio::spawn(async move {
                let (mut ws, _) =
                    tokio_tungstenite::connect_async_with_config(req, None, true).await?;
                ws.send(Message::Text(hello.into())).await?;
                // The server's `ready`.
                let _ = ws.next().await;
                anyhow::Ok(ws)
            }));
        }
        for j in joins {
            sockets.push(j.await??);
        }
    }
    eprintln!(
        "{} visitors connected in {:.1} s",
        sockets.len(),
        started.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_after = server.rss_kib();

    // Visitors write, one message each in turn; the manager's socket receives each.
    let mut latencies = Vec::with_capacity(messages);
    for m in 0..messages {
        let i = m % visitors;
        let t0 = Instant::now();
        let sent = http
            .post(format!("{}/api/widget/v1/{key}/messages", server.base))
            .bearer_auth(&tokens[i])
            .header("origin", ORIGIN)
            .header("x-forwarded-for", address(i))
            .json(&serde_json::json!({"client_id": format!("b{m}"), "text": format!("bench-{m}")}))
            .send()
            .await?;
        anyhow::ensure!(
            sent.status() == 201,
            "a visitor's send failed: {}",
            sent.status()
        );
        let needle = format!("\"body\":\"bench-{m}\"");
        let deadline = t0 + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, manager_ws.next()).await {
                Ok(Some(Ok(Message::Text(t)))) if t.contains(&needle) => break,
                Ok(Some(Ok(_))) => {}
                _ => anyhow::bail!("message {m} did not reach the manager within 30 s"),
            }
        }
        latencies.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    latencies.sort_by(f64::total_cmp);
    let per_visitor = (rss_after.saturating_sub(rss_before) as f64 * 1024.0) / visitors as f64;
    println!(
        "widget first load: widget.js {script_gz} bytes gzipped ({script} plain), configuration {config_gz} bytes ({config} plain): {} bytes in all",
        script_gz + config_gz
    );
    println!(
        "visitor message to the manager's socket ({messages} messages): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        latencies.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "server memory: {rss_before} KiB before, {rss_after} KiB with {} visitors connected and idle: {:.1} KB per idle visitor",
        sockets.len(),
        per_visitor / 1000.0
    );
    drop(sockets);
    Ok(())
}
