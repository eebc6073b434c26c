//! Telegram bots without a webhook: each polled channel's updates fetched by long polling, by
//! one node of the deployment at a time (a lease in the store), and taken in like a webhook's.
//! Each channel has its own loop, so one bot's long wait holds up no other.

use beseda_core::ids::ChannelId;
use beseda_core::services::connectors::ConnectorService;
use beseda_core::store::ConnectedChannel;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How often the polled channels are looked for: a new one starts within this.
const LOOK_EVERY: Duration = Duration::from_secs(1);
/// How long a channel's loop rests after a failed poll (the platform unreachable).
const REST_AFTER_FAILURE: Duration = Duration::from_secs(5);

/// Runs a loop for each polled channel until `shutdown`; `wait` is how long one poll waits for
/// an update.
pub async fn run(
    connectors: Arc<ConnectorService>,
    owner: String,
    wait: Duration,
    shutdown: CancellationToken,
) {
    let mut running: HashMap<ChannelId, JoinHandle<()>> = HashMap::new();
    loop {
        running.retain(|_, task| !task.is_finished());
        match connectors.polled_channels().await {
            Ok(channels) => {
                for c in channels {
                    running.entry(c.channel.id).or_insert_with(|| {
                        tokio::spawn(poll_channel(
                            connectors.clone(),
                            c,
                            owner.clone(),
                            wait,
                            shutdown.clone(),
                        ))
                    });
                }
            }
            Err(e) => tracing::warn!(error = %e, "listing the polled channels failed"),
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(LOOK_EVERY) => {}
        }
    }
    for (_, task) in running {
        let _ = task.await;
    }
}

/// One channel's loop: while this node holds the channel's lease, fetch and take its updates.
/// A fetch is dropped at shutdown (nothing is written during it); taking runs to its end.
async fn poll_channel(
    connectors: Arc<ConnectorService>,
    c: ConnectedChannel,
    owner: String,
    wait: Duration,
    shutdown: CancellationToken,
) {
    loop {
        let fetched = tokio::select! {
            () = shutdown.cancelled() => return,
            f = connectors.fetch_polled(&c, &owner, wait) => f,
        };
        let failure = match fetched {
            // Another node polls it, or it was turned off.
            Ok(None) => return,
            Ok(Some((connection, updates))) => connectors
                .take_polled(&c, &connection, &owner, updates)
                .await
                .err(),
            Err(e) => Some(e),
        };
        if let Some(e) = failure {
            tracing::warn!(channel = %c.channel.id, error = %e, "polling a channel failed");
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(REST_AFTER_FAILURE) => {}
            }
        }
    }
}
