//! From configuration to a running server: the store, the secret, the first administrator,
//! the listener, and a graceful shutdown.

use crate::config::{Config, ConfigError, DatabaseUrl};
use axum::serve::ListenerExt;
use base64::Engine;
use beseda_core::CoreResult;
use beseda_core::services::managers::FirstAdmin;
use beseda_core::store::Store;
use beseda_web::app::AppState;
use beseda_web::http;
use rand::RngCore;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Opens (and migrates) the configured database.
pub async fn open_store(url: &DatabaseUrl) -> CoreResult<Arc<dyn Store>> {
    Ok(match url {
        DatabaseUrl::Sqlite(u) => Arc::new(beseda_store_sqlite::open(u).await?),
        DatabaseUrl::Postgres(u) => Arc::new(beseda_store_postgres::open(u).await?),
    })
}

/// The configured session secret, or the one kept in the data directory (made on first start).
pub fn session_secret(config: &Config) -> Result<Vec<u8>, ConfigError> {
    if let Some(s) = &config.session_secret {
        return Ok(s.as_bytes().to_vec());
    }
    secret_file(&config.data_dir.join("session-secret")).map_err(|message| ConfigError {
        setting: "BESEDA_DATA_DIR".into(),
        message,
    })
}

fn secret_file(path: &Path) -> Result<Vec<u8>, String> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        return Ok(existing.trim().as_bytes().to_vec());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let mut bytes = [0u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    let secret = base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes);
    write_private(path, &secret).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(secret.into_bytes())
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

/// Prints the administrator made on the first start, with a generated password shown once.
pub fn announce_first_admin(admin: &FirstAdmin) {
    match &admin.generated_password {
        Some(password) => println!(
            "Created the administrator. Sign in as {} with the password {password}\n(shown once; change it after signing in, or reset it with `beseda user reset-password`).",
            admin.manager.email
        ),
        None => println!(
            "Created the administrator {} with the configured password.",
            admin.manager.email
        ),
    }
}

/// A server bound to its listener, ready to run.
pub struct Server {
    pub state: AppState,
    pub listener: TcpListener,
}

impl Server {
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` is cancelled, then lets running requests finish.
    pub async fn run(self, shutdown: CancellationToken) -> std::io::Result<()> {
        let jobs = tokio::spawn(crate::jobs::housekeeping(
            self.state.clone(),
            Duration::from_secs(600),
            shutdown.clone(),
        ));
        // The application's own token follows the server's, so open WebSockets close with it.
        let app_shutdown = self.state.shutdown.clone();
        let server_shutdown = shutdown.clone();
        tokio::spawn(async move {
            server_shutdown.cancelled().await;
            app_shutdown.cancel();
        });
        let worker = crate::jobs::delivery::DeliveryWorker::new(&self.state)
            .map_err(std::io::Error::other)?;
        let delivery =
            tokio::spawn(Arc::new(worker).run(Duration::from_millis(100), shutdown.clone()));
        let polling = tokio::spawn(crate::jobs::polling::run(
            self.state.connectors.clone(),
            crate::jobs::node_id(),
            self.state.poll_wait,
            shutdown.clone(),
        ));
        let bot_webhooks = crate::jobs::bot_webhooks::BotWebhooks::new(&self.state)
            .map_err(std::io::Error::other)?;
        let bot_webhooks =
            tokio::spawn(Arc::new(bot_webhooks).run(Duration::from_millis(200), shutdown.clone()));
        let distribution = tokio::spawn(crate::jobs::distribution::run(
            self.state.distribution.clone(),
            self.state.bus.clone(),
            shutdown.clone(),
        ));
        let timer = tokio::spawn(crate::jobs::timers::run(
            Arc::new(beseda_core::services::timers::WaitingTimer::new(
                self.state.store.clone(),
                self.state.clock.clone(),
                self.state.bus.clone(),
            )),
            shutdown.clone(),
        ));
        let hub = tokio::spawn(
            self.state
                .hub
                .clone()
                .run(self.state.bus.clone(), shutdown.clone()),
        );
        let visitors = tokio::spawn(self.state.visitors.clone().run(
            self.state.widget.clone(),
            self.state.bus.clone(),
            shutdown.clone(),
        ));
        let app = http::router(self.state).into_make_service_with_connect_info::<SocketAddr>();
        // Events are small frames that must leave at once: no Nagle delay.
        let listener = self.listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "TCP_NODELAY");
            }
        });
        let result = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.clone().cancelled_owned())
            .await;
        shutdown.cancel();
        let _ = jobs.await;
        let _ = hub.await;
        let _ = visitors.await;
        let _ = delivery.await;
        let _ = polling.await;
        let _ = timer.await;
        let _ = bot_webhooks.await;
        let _ = distribution.await;
        result
    }
}

/// Cancels `token` on Ctrl-C or SIGTERM.
pub fn cancel_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let term = async {
            if let Ok(mut s) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            {
                s.recv().await;
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {}
            () = term => {}
        }
        tracing::info!("shutting down");
        token.cancel();
    });
}
