//! Managers writing: messages per second through `POST /api/v1/dialogs/{id}/messages`, with
//! the latency of each request, from `concurrency` managers writing at once.

use super::{percentile, prepare};
use std::sync::Arc;
use std::time::Instant;

pub async fn writes(
    concurrency: usize,
    messages: usize,
    database_url: Option<&str>,
) -> anyhow::Result<()> {
    let prepared = prepare(database_url).await?;
    let managers = prepared.managers(concurrency).await?;
    let dialogs = prepared.dialogs(concurrency).await?;
    let server = prepared.serve()?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let base = Arc::new(server.base.clone());
    let per_writer = messages.div_ceil(concurrency);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for ((_, cookie), dialog) in managers.into_iter().zip(dialogs) {
        let (client, base) = (client.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            let url = format!("{base}/api/v1/dialogs/{}/messages", dialog.0);
            let mut latencies = Vec::with_capacity(per_writer);
            for n in 0..per_writer {
                let t0 = Instant::now();
                let res = client
                    .post(&url)
                    .header("cookie", &cookie)
                    .json(&serde_json::json!({ "body": format!("Ответ номер {n}") }))
                    .send()
                    .await?;
                anyhow::ensure!(res.status() == 201, "write failed: {}", res.status());
                latencies.push(t0.elapsed().as_secs_f64() * 1000.0);
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    println!("writers: {concurrency}, messages: {}", all.len());
    println!(
        "throughput: {:.0} messages/s; latency p50 {:.1} ms, p99 {:.1} ms",
        all.len() as f64 / elapsed,
        percentile(&all, 50.0),
        percentile(&all, 99.0)
    );
    drop(server);
    Ok(())
}
