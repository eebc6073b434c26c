//! Background work: each job is a loop around one testable step, stopped by one shutdown
//! signal shared by the whole server.

pub mod delivery;

use beseda_core::CoreResult;
use beseda_web::app::AppState;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Uploads that no message took within a day are deleted.
const UNSENT_UPLOAD_AGE: Duration = Duration::from_secs(24 * 3600);

/// Every `every`: forgets expired sessions and idle rate-limit keys, deletes uploads no
/// message took, and prunes the event log beyond its retention.
pub async fn housekeeping(state: AppState, every: Duration, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        if let Err(e) = housekeeping_once(&state, UNSENT_UPLOAD_AGE).await {
            tracing::warn!(error = %e, "housekeeping failed");
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
    let before = state.clock.now().minus(state.event_retention);
    let events = state.store.prune_events(before).await?;
    if sessions > 0 || uploads > 0 || events > 0 {
        tracing::info!(
            expired_sessions = sessions,
            unsent_uploads = uploads,
            pruned_events = events,
            "housekeeping"
        );
    }
    Ok(())
}
