//! The waiting timer's loop: settle what is due, then sleep until the next mark is due (at
//! most a second, so a clock moved by tests or a mark scheduled by another node is seen soon).

use beseda_core::services::timers::WaitingTimer;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const BATCH: u32 = 256;
const MAX_SLEEP: Duration = Duration::from_secs(1);
/// After a round that found nothing due although something was: another worker holds it.
const MIN_SLEEP: Duration = Duration::from_millis(20);

pub async fn run(timer: Arc<WaitingTimer>, shutdown: CancellationToken) {
    loop {
        let sleep = match timer.run_once(BATCH).await {
            // More may be due: go on at once.
            Ok(n) if n == BATCH as usize => Duration::ZERO,
            Ok(_) => timer
                .idle_for(MAX_SLEEP)
                .await
                .unwrap_or(MAX_SLEEP)
                .max(MIN_SLEEP),
            Err(e) => {
                tracing::warn!(error = %e, "the waiting timer failed");
                MAX_SLEEP
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(sleep) => {}
        }
    }
}
