//! A Telegram bot's traffic against a fake Bot API: client updates through the webhook path
//! (updates per second, with the acknowledgement's p50/p99), and replies out within Telegram's
//! pace (replies per second, as the fake receives them).

use super::{SECRET, percentile, prepare};
use beseda_core::channel::ChannelKind;
use beseda_core::connector::{Connection, Credentials, Sealer};
use beseda_core::time::{Clock, SystemClock};
use beseda_core::transport::ChannelRegistration;
use beseda_testkit::fake_telegram::FakeTelegram;
use std::sync::Arc;
use std::time::{Duration, Instant};

const TOKEN: &str = "424242:BENCH";
const HOOK_SECRET: &str = "bench-webhook-secret";

fn update(n: usize, chat: usize) -> serde_json::Value {
    serde_json::json!({"update_id": n, "message": {"message_id": n, "date": 1_700_000_000,
        "text": format!("Здравствуйте, вопрос {n}"),
        "from": {"id": 1_000 + chat, "is_bot": false, "first_name": format!("Client {chat}")},
        "chat": {"id": 1_000 + chat, "type": "private"}}})
}

pub async fn telegram(
    updates: usize,
    concurrency: usize,
    replies: usize,
    database_url: Option<&str>,
) -> anyhow::Result<()> {
    let prepared = prepare(database_url).await?;
    let managers = prepared.managers(1).await?;
    let fake = FakeTelegram::start(TOKEN).await;
    let kind = ChannelKind::Telegram;
    let sealed = Sealer::new(SECRET.as_bytes()).seal(&Connection {
        credentials: Credentials::Telegram {
            token: TOKEN.into(),
        },
        webhook_secret: HOOK_SECRET.into(),
        account: "424242".into(),
        hook_id: None,
        polling: false,
    })?;
    let reg = ChannelRegistration {
        kind,
        name: "@bench_bot".into(),
        avatar_url: None,
        external_id: Some("424242".into()),
        capabilities: kind.default_capabilities(),
    };
    prepared
        .store
        .create_connected_channel(&reg, "bench", &sealed, SystemClock.now())
        .await?;
    let server = prepared.serve_with(&[("BESEDA_TELEGRAM_API", fake.api.as_str())])?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let hook = Arc::new(format!("{}/hooks/telegram/bench", server.base));

    // Client updates, from as many clients as there are writers, each writer in order.
    let per_writer = updates.div_ceil(concurrency);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (client, hook) = (client.clone(), hook.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_writer);
            for i in 0..per_writer {
                let n = w * per_writer + i + 1;
                let t0 = Instant::now();
                let res = client
                    .post(hook.as_str())
                    .header("x-telegram-bot-api-secret-token", HOOK_SECRET)
                    .json(&update(n, w))
                    .send()
                    .await?;
                anyhow::ensure!(
                    res.status() == 200,
                    "an update was refused: {}",
                    res.status()
                );
                latencies.push(t0.elapsed().as_secs_f64() * 1000.0);
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut acks = Vec::new();
    for t in tasks {
        acks.extend(t.await??);
    }
    let inbound_secs = started.elapsed().as_secs_f64();
    acks.sort_by(f64::total_cmp);

    // Replies: one to each of the first dialogs, then the wait until the fake has them all.
    let list = client
        .get(format!("{}/api/v1/dialogs?limit=200", server.base))
        .header("cookie", &managers[0].1)
        .send()
        .await?
        .json::<serde_json::Value>()
        .await?;
    let dialogs: Vec<i64> = list["dialogs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["id"].as_i64())
        .collect();
    anyhow::ensure!(!dialogs.is_empty(), "no dialog came in");
    let started = Instant::now();
    for i in 0..replies {
        let d = dialogs[i % dialogs.len()];
        let res = client
            .post(format!("{}/api/v1/dialogs/{d}/messages", server.base))
            .header("cookie", &managers[0].1)
            .json(&serde_json::json!({"body": format!("Ответ {i}")}))
            .send()
            .await?;
        anyhow::ensure!(res.status() == 201, "a reply failed: {}", res.status());
    }
    let deadline = started + Duration::from_secs(600);
    while fake.sent().len() < replies {
        anyhow::ensure!(
            Instant::now() < deadline,
            "replies did not all go out in 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let outbound_secs = started.elapsed().as_secs_f64();
    println!(
        "inbound: {} updates from {concurrency} clients through the webhook: {:.0} updates/s; acknowledgement p50 {:.1} ms, p99 {:.1} ms",
        acks.len(),
        acks.len() as f64 / inbound_secs,
        percentile(&acks, 50.0),
        percentile(&acks, 99.0)
    );
    println!(
        "outbound: {replies} replies to {} clients sent to the Bot API: {:.1} replies/s (the pace allows 25/s per bot, 1 per 1.1 s per chat)",
        dialogs.len().min(replies),
        replies as f64 / outbound_secs
    );
    drop(server);
    Ok(())
}
