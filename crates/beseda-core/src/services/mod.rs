//! The core services: each applies the rules of one area and calls the store.

pub mod attachments;
pub mod auth;
pub mod dialogs;
pub mod inbox;
pub mod library;
pub mod managers;
pub mod throttle;
pub mod transport;

use crate::error::{CoreError, CoreResult};

/// Runs CPU-heavy work (password hashing) on the blocking pool, off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> CoreResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| CoreError::Internal(format!("blocking task failed: {e}")))
}
