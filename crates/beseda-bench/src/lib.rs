//! `beseda-bench`: load against a real `beseda serve` child process, with figures for
//! BENCHMARKS.md. The server runs as its own process so that its memory can be read apart from
//! the load generator's; its data is prepared through the store beforehand.

mod deliver;
mod distribution;
mod generate;
mod inbox;
mod ingest;
mod soak;
mod telegram;
mod ui;
mod widget;
mod writes;
mod ws;

use beseda_core::company::{Author, ImportDialog, ImportMessage, NewChannel};
use beseda_core::ids::{DialogId, ManagerId};
use beseda_core::manager::{Grants, NewGroup, NewManager};
use beseda_core::secret::{Token, TokenHasher};
use beseda_core::store::{NewSession, Store};
use beseda_core::time::{Clock, SystemClock, Timestamp};
use beseda_core::values::Email;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

pub use deliver::deliver;
pub use distribution::distribution;
pub use generate::generate;
pub use inbox::inbox;
pub use ingest::ingest;
pub use soak::soak;
pub use telegram::telegram;
pub use ui::ui;
pub use widget::widget;
pub use writes::writes;
pub use ws::fan_out;

const SECRET: &str = "a benchmark session secret, not for production use";

/// A `beseda serve` child process on a prepared database.
pub struct ServerProcess {
    child: Child,
    pub base: String,
    _dir: tempfile::TempDir,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServerProcess {
    /// Resident memory of the server process, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

impl Prepared {
    /// An integration module (its token) whose webhook is `webhook_url`, with one custom
    /// channel.
    pub async fn module_channel(
        &self,
        webhook_url: &str,
    ) -> anyhow::Result<(Token, beseda_core::ids::ChannelId)> {
        let token = Token::generate("bm_");
        let module = self
            .store
            .create_module(
                "Bench module",
                &TokenHasher::new(SECRET.as_bytes()).hash(&token),
                webhook_url,
                "secret",
                SystemClock.now(),
            )
            .await?;
        let kind = beseda_core::channel::ChannelKind::Custom;
        let reg = beseda_core::transport::ChannelRegistration {
            kind,
            name: "Bench".into(),
            avatar_url: None,
            external_id: None,
            capabilities: kind.default_capabilities(),
        };
        let channel = self
            .store
            .register_channel(module.id, &reg, SystemClock.now())
            .await?;
        Ok((token, channel.id))
    }
}

/// The database the benchmark prepares and the server then serves.
pub struct Prepared {
    pub store: Arc<dyn Store>,
    pub database_url: String,
    dir: tempfile::TempDir,
}

/// A fresh SQLite database in a temporary directory, or the given PostgreSQL URL (which must
/// point at an empty database).
pub async fn prepare(database_url: Option<&str>) -> anyhow::Result<Prepared> {
    let dir = tempfile::tempdir()?;
    let url = match database_url {
        Some(u) => u.to_owned(),
        None => format!("sqlite://{}", dir.path().join("bench.db").display()),
    };
    let config_url = beseda_server::config::DatabaseUrl::parse(&url)?;
    let store = beseda_server::startup::open_store(&config_url).await?;
    Ok(Prepared {
        store,
        database_url: url,
        dir,
    })
}

impl Prepared {
    /// `n` managers, all chats administrators (so every event reaches every one of them), each
    /// with a session; returns their ids and session cookies.
    pub async fn managers(&self, n: usize) -> anyhow::Result<Vec<(ManagerId, String)>> {
        let hash = beseda_core::secret::hash_password("bench password")?;
        let now = SystemClock.now();
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let m = self
                .store
                .create_manager(&NewManager {
                    email: Email::parse(&format!("bench{i}@bench.local"))?,
                    name: format!("Bench {i}"),
                    password_hash: hash.clone(),
                    locale: None,
                    is_system_admin: false,
                    created_at: now,
                })
                .await?;
            out.push((m.id, session_cookie(&*self.store, m.id).await?));
        }
        let group = self
            .store
            .create_group(&NewGroup {
                name: "Bench chat administrators".into(),
                grants: Grants {
                    chats_admin: true,
                    ..Grants::default()
                },
                created_at: now,
            })
            .await?;
        let ids: Vec<ManagerId> = out.iter().map(|(id, _)| *id).collect();
        self.store.set_group_members(group.id, &ids).await?;
        Ok(out)
    }

    /// `n` dialogs with one client message each, on one custom channel.
    pub async fn dialogs(&self, n: usize) -> anyhow::Result<Vec<DialogId>> {
        let kind = beseda_core::channel::ChannelKind::Custom;
        let channel = self
            .store
            .create_channel(&NewChannel {
                kind,
                name: "Bench".into(),
                capabilities: kind.default_capabilities(),
                created_at: SystemClock.now(),
            })
            .await?;
        self.dialogs_on(channel, n).await
    }

    /// `n` dialogs with one client message each, on the given channel.
    pub async fn dialogs_on(
        &self,
        channel: beseda_core::ids::ChannelId,
        n: usize,
    ) -> anyhow::Result<Vec<DialogId>> {
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let d = ImportDialog {
                channel_id: channel,
                client_id: None,
                contact_external_id: format!("bench-{i}"),
                contact_name: format!("Client {i}"),
                responsible: None,
                closed: false,
                messages: vec![ImportMessage {
                    author: Author::Client,
                    body: "Здравствуйте".into(),
                    external_id: None,
                    created_at: Timestamp(1),
                }],
            };
            out.push(self.store.import_dialog(&d).await?);
        }
        Ok(out)
    }

    /// Starts `beseda serve` on this database and waits until it is ready.
    pub fn serve(self) -> anyhow::Result<ServerProcess> {
        self.serve_with(&[])
    }

    /// The same, with more settings in the server's environment.
    pub fn serve_with(self, env: &[(&str, &str)]) -> anyhow::Result<ServerProcess> {
        let mut child = Command::new(server_binary()?)
            .arg("serve")
            .envs(env.iter().copied())
            .env("BESEDA_DATABASE_URL", &self.database_url)
            .env("BESEDA_DATA_DIR", self.dir.path())
            .env("BESEDA_LISTEN", "127.0.0.1:0")
            // The benchmark's module listens on loopback.
            .env("BESEDA_OUTBOUND_ALLOW", "127.0.0.0/8")
            // Website visitors come through loopback with their own addresses (`bench widget`).
            .env("BESEDA_TRUSTED_PROXIES", "127.0.0.0/8")
            .env("BESEDA_SESSION_SECRET", SECRET)
            .env("BESEDA_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines
                .next()
                .ok_or_else(|| anyhow::anyhow!("the server stopped before it was ready"))??;
            if let Some(rest) = line.strip_prefix("Beseda is ready at ") {
                break rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .trim_end_matches('/')
                    .to_owned();
            }
        };
        // Keep reading so the child never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Ok(ServerProcess {
            child,
            base,
            _dir: self.dir,
        })
    }
}

/// The `beseda` binary built beside this one.
fn server_binary() -> anyhow::Result<std::path::PathBuf> {
    let path = std::env::current_exe()?.with_file_name("beseda");
    anyhow::ensure!(
        path.exists(),
        "{} is missing: build both binaries (cargo build --release -p beseda-server -p beseda-bench)",
        path.display()
    );
    Ok(path)
}

/// A day-long session for the manager, as the `cookie` header a browser would send.
pub async fn session_cookie(store: &dyn Store, manager: ManagerId) -> anyhow::Result<String> {
    let token = Token::generate("bs_");
    let now = SystemClock.now();
    store
        .create_session(&NewSession {
            token_hash: TokenHasher::new(SECRET.as_bytes()).hash(&token),
            manager_id: manager,
            created_at: now,
            expires_at: now.plus(Duration::from_secs(86_400)),
            ip: None,
            user_agent: None,
        })
        .await?;
    Ok(format!("beseda_session={}", token.expose()))
}

/// A manager of a database made by `bench generate`.
pub async fn generated_manager(store: &dyn Store, email: &str) -> anyhow::Result<ManagerId> {
    Ok(store
        .manager_credentials(&Email::parse(email)?)
        .await?
        .ok_or_else(|| anyhow::anyhow!("{email} is missing: run `beseda-bench generate` first"))?
        .manager
        .id)
}

/// Percentile of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}
