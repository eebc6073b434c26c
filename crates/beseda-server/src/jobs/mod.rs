//! Background work: each job is a loop around one testable step, stopped by one shutdown
//! signal shared by the whole server.

pub mod delivery;

use beseda_core::services::auth::AuthService;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Forgets expired sessions and idle rate-limit keys, every `every`.
pub async fn housekeeping(auth: Arc<AuthService>, every: Duration, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        match auth.run_housekeeping_once().await {
            Ok(n) if n > 0 => tracing::info!(expired_sessions = n, "housekeeping"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "housekeeping failed"),
        }
    }
}
