//! Outgoing delivery: messages already queued leave through the delivery worker to a module's
//! webhook (a minimal receiver in this process); how many per second reach it.

use super::prepare;
use axum::Router;
use axum::routing::post;
use beseda_core::dialog::OutgoingMessage;
use beseda_core::store::Guard;
use beseda_core::time::{Clock, SystemClock};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub async fn deliver(
    dialogs: usize,
    messages: usize,
    database_url: Option<&str>,
) -> anyhow::Result<()> {
    // The module: answers every webhook as sent, and counts.
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    let app = Router::new().route(
        "/hook",
        post(move || {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            async move { axum::Json(serde_json::json!({ "external_id": format!("bench-{n}") })) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hook = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let prepared = prepare(database_url).await?;
    let now = SystemClock.now();
    let (_, channel) = prepared.module_channel(&hook).await?;
    let author = prepared.managers(1).await?[0].0;
    let ids = prepared.dialogs_on(channel, dialogs).await?;
    for n in 0..messages {
        let m = OutgoingMessage {
            automatic: false,
            buttons: Vec::new(),
            attachments: Vec::new(),
            template: None,
            dialog_id: ids[n % ids.len()],
            author: beseda_core::dialog::Responsible::Manager(author),
            body: format!("Ответ {n}"),
            quote: None,
        };
        prepared
            .store
            .append_company_message(&m, Guard::Any, now)
            .await?;
    }
    let started = Instant::now();
    let _server = prepared.serve()?;
    while received.load(Ordering::Relaxed) < messages {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "only {} of {messages} delivered",
            received.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    println!("dialogs: {dialogs}, messages: {messages}");
    println!(
        "delivered to the module in {secs:.1} s (from server start): {:.0} messages/s",
        messages as f64 / secs
    );
    Ok(())
}
