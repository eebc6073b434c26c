//! WebSocket fan-out: one event to N connected managers, from the write request to the last
//! socket that receives it; and the server's memory per idle connection.

use super::{percentile, prepare};
use futures_util::StreamExt;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

pub async fn fan_out(
    connections: usize,
    events: usize,
    database_url: Option<&str>,
) -> anyhow::Result<()> {
    let prepared = prepare(database_url).await?;
    eprintln!("preparing {connections} managers…");
    let managers = prepared.managers(connections + 1).await?;
    let dialog = prepared.dialogs(1).await?[0];
    let server = prepared.serve()?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = server.rss_kib();

    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, Instant)>();
    let ws_url = format!("{}/api/v1/ws", server.base.replace("http://", "ws://"));
    let started = Instant::now();
    let mut open = 0;
    for batch in managers[1..].chunks(200) {
        let mut joins = Vec::new();
        for (_, cookie) in batch {
            let mut req = ws_url.as_str().into_client_request()?;
            req.headers_mut().insert("cookie", cookie.parse()?);
            joins.push(tokio::spawn(tokio_tungstenite::connect_async_with_config(
                req, None, true,
            )));
        }
        for j in joins {
            let (mut ws, _) = j.await??;
            let tx = tx.clone();
            open += 1;
            tokio::spawn(async move {
                while let Some(Ok(msg)) = ws.next().await {
                    if let Message::Text(t) = msg
                        && let Some(i) = t.find("\"body\":\"bench-")
                    {
                        let rest = &t[i + 14..];
                        if let Some(n) =
                            rest.split('"').next().and_then(|n| n.parse::<usize>().ok())
                        {
                            let _ = tx.send((n, Instant::now()));
                        }
                    }
                }
            });
        }
    }
    eprintln!(
        "{open} connections open in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_after = server.rss_kib();

    let writer = reqwest::Client::new();
    let url = format!("{}/api/v1/dialogs/{}/messages", server.base, dialog.0);
    let mut to_last = Vec::with_capacity(events);
    let mut deliveries = Vec::with_capacity(events * connections);
    for r in 0..events {
        let t0 = Instant::now();
        let res = writer
            .post(&url)
            .header("cookie", &managers[0].1)
            .json(&serde_json::json!({ "body": format!("bench-{r}") }))
            .send()
            .await?;
        anyhow::ensure!(res.status() == 201, "the write failed: {}", res.status());
        let mut got = 0;
        let mut last = t0;
        let deadline = t0 + Duration::from_secs(60);
        while got < connections {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, rx.recv()).await {
                Ok(Some((n, at))) if n == r => {
                    got += 1;
                    last = last.max(at);
                    deliveries.push(at.duration_since(t0).as_secs_f64() * 1000.0);
                }
                Ok(Some(_)) => {}
                _ => anyhow::bail!(
                    "event {r} reached {got} of {connections} connections within 60 s"
                ),
            }
        }
        to_last.push(last.duration_since(t0).as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    to_last.sort_by(f64::total_cmp);
    deliveries.sort_by(f64::total_cmp);
    let per_conn = (rss_after.saturating_sub(rss_before) as f64 * 1024.0) / connections as f64;
    println!("connections: {connections}, events: {events}");
    println!(
        "write request to last socket: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&to_last, 50.0),
        percentile(&to_last, 99.0),
        to_last.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "each delivery: p50 {:.1} ms, p99 {:.1} ms",
        percentile(&deliveries, 50.0),
        percentile(&deliveries, 99.0)
    );
    println!(
        "server memory: {} KiB before, {} KiB with the connections idle: {:.1} KB per idle connection",
        rss_before,
        rss_after,
        per_conn / 1000.0
    );
    Ok(())
}
