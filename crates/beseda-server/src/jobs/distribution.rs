//! The distribution bot's loop (F36): a round every second, and soon after anything happens
//! (a new message, a closed dialog), so a new dialog reaches a manager at once. Every node runs
//! it; each move re-checks the dialog under its lock, so two nodes never move one dialog twice.

use beseda_core::event::EventBus;
use beseda_core::services::distribution::DistributionService;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const EVERY: Duration = Duration::from_secs(1);
/// Events closer together than this share a round.
const SETTLE: Duration = Duration::from_millis(50);

pub async fn run(
    bot: Arc<DistributionService>,
    bus: Arc<dyn EventBus>,
    shutdown: CancellationToken,
) {
    let mut events = bus.subscribe();
    loop {
        match bot.run_once().await {
            // It moved some: there may be more to move.
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "the distribution round failed"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(EVERY) => {}
            _ = events.recv() => tokio::time::sleep(SETTLE).await,
        }
        // What came while it slept is covered by the next round.
        events = events.resubscribe();
    }
}
