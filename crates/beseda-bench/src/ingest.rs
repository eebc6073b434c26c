//! Inbound ingest: client messages pushed through the transport API over HTTP from this
//! process, against the ceiling of the same database: the same rows written directly, batched.

use super::{percentile, prepare};
use beseda_core::company::{Author, ImportDialog, ImportMessage};
use beseda_core::time::Timestamp;
use std::sync::Arc;
use std::time::Instant;

pub async fn ingest(
    concurrency: usize,
    messages: usize,
    database_url: Option<&str>,
) -> anyhow::Result<()> {
    let prepared = prepare(database_url).await?;
    let (token, channel) = prepared.module_channel("http://127.0.0.1:9/none").await?;

    // The ceiling: the same number of messages written straight into the store, 100 per
    // transaction (one dialog with its history each).
    let ceiling_store = prepared.store.clone();
    let started = Instant::now();
    let mut written = 0;
    let mut n = 0;
    while written < messages {
        let batch: Vec<ImportMessage> = (0..100)
            .map(|i| ImportMessage {
                author: Author::Client,
                body: format!("Сообщение {i}"),
                external_id: Some(format!("ceiling-{n}-{i}")),
                created_at: Timestamp(1),
            })
            .collect();
        let d = ImportDialog {
            channel_id: channel,
            client_id: None,
            contact_external_id: format!("ceiling-{n}"),
            contact_name: "Ceiling".into(),
            responsible: None,
            closed: false,
            messages: batch,
        };
        ceiling_store.import_dialog(&d).await?;
        written += 100;
        n += 1;
    }
    let ceiling = written as f64 / started.elapsed().as_secs_f64();

    let server = prepared.serve()?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let url = Arc::new(format!("{}/api/transport/v1/messages", server.base));
    let token = Arc::new(token.expose().to_owned());
    let per_client = messages.div_ceil(concurrency);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..concurrency {
        let (client, url, token) = (client.clone(), url.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_client);
            for i in 0..per_client {
                let body = serde_json::json!({
                    "channel_id": channel,
                    "customer": {"external_id": format!("client-{}", (c * per_client + i) % 1000), "first_name": "Клиент"},
                    "external_id": format!("m-{c}-{i}"),
                    "text": "Здравствуйте! Подскажите, пожалуйста, когда доставка?",
                });
                let t0 = Instant::now();
                let res = client.post(url.as_str()).header("x-transport-token", token.as_str()).json(&body).send().await?;
                anyhow::ensure!(res.status() == 200, "push failed: {}", res.status());
                latencies.push(t0.elapsed().as_secs_f64() * 1000.0);
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let rate = all.len() as f64 / started.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    println!("clients: {concurrency}, messages: {}", all.len());
    println!(
        "ingest over HTTP: {rate:.0} messages/s; acknowledgement p50 {:.1} ms, p99 {:.1} ms",
        percentile(&all, 50.0),
        percentile(&all, 99.0)
    );
    println!(
        "ceiling (the same rows written directly, 100 per transaction): {ceiling:.0} messages/s; ratio {:.2}",
        rate / ceiling
    );
    Ok(())
}
