//! Background work: each job is a loop around one testable step, stopped by one shutdown
//! signal shared by the whole server.

pub mod bot_webhooks;
pub mod delivery;
pub mod distribution;
pub mod polling;
pub mod timers;

use beseda_core::CoreResult;
use beseda_web::app::AppState;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// This process's name in the store's leases: unique, so that two nodes never take one
/// another's work for theirs.
pub fn node_id() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        beseda_core::secret::random_hex(8)
    )
}

/// Runs `step` until shutdown: again at once while it finds work, after `idle` when it finds
/// none or fails (`what` names it in the log).
pub async fn repeat<F, Fut>(what: &str, idle: Duration, shutdown: CancellationToken, step: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = CoreResult<usize>>,
{
    loop {
        let wait = match step().await {
            Ok(0) => idle,
            Ok(_) => Duration::ZERO,
            Err(e) => {
                tracing::warn!(error = %e, "{what} failed");
                idle
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Uploads that no message took within a day are deleted.
const UNSENT_UPLOAD_AGE: Duration = Duration::from_secs(24 * 3600);
/// Stored objects are checked against the attachment rows once a day: listing a large bucket
/// is not free.
const RECONCILE_EVERY: Duration = Duration::from_secs(24 * 3600);
/// Sessions of website visitors who never wrote are forgotten after this long.
const QUIET_VISITOR_AGE: Duration = Duration::from_secs(30 * 24 * 3600);
/// An object younger than this may be a file whose row is being written.
const ORPHAN_AGE: Duration = Duration::from_secs(3600);

/// Every `every`: forgets expired sessions, idle sign-in failures and the sessions of website
/// visitors who never wrote, deletes uploads no message took, and prunes the event log beyond
/// its retention; once a day, deletes stored
/// files no attachment names.
pub async fn housekeeping(state: AppState, every: Duration, shutdown: CancellationToken) {
    let mut reconciled = std::time::Instant::now();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        if let Err(e) = housekeeping_once(&state, UNSENT_UPLOAD_AGE).await {
            tracing::warn!(error = %e, "housekeeping failed");
        }
        if reconciled.elapsed() >= RECONCILE_EVERY {
            reconciled = std::time::Instant::now();
            match state.attachments.reconcile_objects(ORPHAN_AGE).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(orphan_objects = n, "stored files no row names deleted"),
                Err(e) => tracing::warn!(error = %e, "reconciling stored files failed"),
            }
        }
    }
}

/// One round of housekeeping; uploads older than `unsent_age` that no message took go.
pub async fn housekeeping_once(state: &AppState, unsent_age: Duration) -> CoreResult<()> {
    let sessions = state.auth.run_housekeeping_once().await?;
    let mut uploads = 0;
    loop {
        let gone = state.attachments.sweep_unsent(unsent_age, 200).await?;
        uploads += gone;
        if gone < 200 {
            break;
        }
    }
    state.widget_limits.forget_idle();
    let visitors = state
        .widget
        .forget_quiet_visitors(QUIET_VISITOR_AGE)
        .await?;
    let before = state.clock.now().minus(state.event_retention);
    let events = state.store.prune_events(before).await?;
    if sessions > 0 || uploads > 0 || events > 0 || visitors > 0 {
        tracing::info!(
            expired_sessions = sessions,
            unsent_uploads = uploads,
            pruned_events = events,
            quiet_visitors = visitors,
            "housekeeping"
        );
    }
    Ok(())
}
