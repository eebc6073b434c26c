//! A soak: client messages pushed through the transport API at a steady rate for a long while
//! (half the measured maximum, by the measure); the server's resident memory is read
//! every minute and must stay flat.

use super::{percentile, prepare};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub async fn soak(rate: u32, minutes: u64, database_url: Option<&str>) -> anyhow::Result<()> {
    let prepared = prepare(database_url).await?;
    let (token, channel) = prepared.module_channel("http://127.0.0.1:9/none").await?;
    let server = prepared.serve()?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let url = Arc::new(format!("{}/api/transport/v1/messages", server.base));
    let token = Arc::new(token.expose().to_owned());
    let in_flight = Arc::new(tokio::sync::Semaphore::new(64));
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let latencies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / rate);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let started = Instant::now();
    let until = started + Duration::from_secs(minutes * 60);
    let mut samples = vec![(0u64, server.rss_kib())];
    let mut next_sample = started + Duration::from_secs(60);
    let mut n: u64 = 0;
    while Instant::now() < until {
        ticker.tick().await;
        if Instant::now() >= next_sample {
            samples.push((started.elapsed().as_secs() / 60, server.rss_kib()));
            next_sample += Duration::from_secs(60);
        }
        n += 1;
        let permit = in_flight.clone().acquire_owned().await?;
        let (client, url, token) = (client.clone(), url.clone(), token.clone());
        let (ok, failed, latencies) = (ok.clone(), failed.clone(), latencies.clone());
        tokio::spawn(async move {
            let body = serde_json::json!({
                "channel_id": channel,
                "customer": {"external_id": format!("client-{}", n % 1000), "first_name": "Клиент"},
                "external_id": format!("soak-{n}"),
                "text": "Здравствуйте! Подскажите, пожалуйста, когда доставка?",
            });
            let t0 = Instant::now();
            let sent = client
                .post(url.as_str())
                .header("x-transport-token", token.as_str())
                .json(&body)
                .send()
                .await;
            match sent {
                Ok(r) if r.status() == 200 => {
                    ok.fetch_add(1, Ordering::Relaxed);
                    let ms = t0.elapsed().as_secs_f64() * 1000.0;
                    latencies
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(ms);
                }
                _ => {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
            drop(permit);
        });
    }
    let _ = in_flight.acquire_many(64).await?;
    samples.push((minutes, server.rss_kib()));
    let elapsed = started.elapsed().as_secs_f64();
    let mut all = latencies
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    all.sort_by(f64::total_cmp);
    let acknowledged = ok.load(Ordering::Relaxed);
    println!(
        "soak: {minutes} min at {rate}/s asked: {acknowledged} acknowledged ({:.0}/s), {} failed; \
         acknowledgement p50 {:.1} ms, p99 {:.1} ms",
        acknowledged as f64 / elapsed,
        failed.load(Ordering::Relaxed),
        percentile(&all, 50.0),
        percentile(&all, 99.0),
    );
    let rss: Vec<String> = samples
        .iter()
        .map(|(m, kib)| format!("{m} min: {:.1} MiB", *kib as f64 / 1024.0))
        .collect();
    println!("server RSS: {}", rss.join(", "));
    Ok(())
}
