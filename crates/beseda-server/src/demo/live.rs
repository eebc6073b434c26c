//! The living demo (`serve --demo`): simulated clients keep writing through the transport API,
//! and the demo's module answers our webhooks and reports replies delivered and read, exactly
//! as a real integration module would, so a newcomer sees toasts, counters, statuses and
//! waiting marks move without any setup. `BESEDA_DEMO_LIVE_SECS=0` switches it off.

use super::{person, texts};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use beseda_core::CoreResult;
use beseda_core::channel::ChannelKind;
use beseda_core::ids::ChannelId;
use beseda_core::secret::Token;
use beseda_web::app::AppState;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The module that holds the demo's channels.
pub const DEMO_MODULE: &str = "Beseda demo module";

/// How fast the demo lives.
#[derive(Clone, Copy, Debug)]
pub struct Pace {
    /// The mean time between two messages of new or returning clients.
    pub client_every: Duration,
    /// How long a reply takes to reach the client's phone, and then to be read.
    pub delivered_after: Duration,
    pub read_after: Duration,
}

impl Pace {
    pub fn every(client_every: Duration) -> Pace {
        Pace {
            client_every,
            delivered_after: Duration::from_secs(2),
            read_after: Duration::from_secs(5),
        }
    }
}

/// A simulated client: where they write from and who they are.
#[derive(Clone)]
struct Client {
    channel: ChannelId,
    external_id: String,
    first_name: String,
    last_name: String,
    russian: bool,
}

struct Sim {
    http: reqwest::Client,
    /// This server, as the module reaches it.
    server: String,
    token: Token,
    channels: Vec<(ChannelId, ChannelKind)>,
    pace: Pace,
    rng: Mutex<StdRng>,
    /// The clients who wrote during this run: they come back, and answer replies.
    clients: Mutex<Vec<Client>>,
    shutdown: CancellationToken,
}

/// Starts the living demo against the server at `server` (its own address). Returns where the
/// demo's module listens (on loopback: the outbound policy must allow exactly that address), or
/// `None` (and starts nothing) when the database has no demo module.
pub async fn start(
    state: &AppState,
    server: &str,
    pace: Pace,
    shutdown: CancellationToken,
) -> CoreResult<Option<std::net::SocketAddr>> {
    let Some(module) = state
        .store
        .list_modules()
        .await?
        .into_iter()
        .find(|m| m.name == DEMO_MODULE)
    else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| beseda_core::CoreError::Storage(format!("demo module: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| beseda_core::CoreError::Storage(format!("demo module: {e}")))?;
    let (_, token) = state
        .transport
        .renew_own_module(module.id, &format!("http://{addr}/webhook"))
        .await?;
    let channels = state
        .store
        .module_channels(module.id)
        .await?
        .into_iter()
        .filter(|c| c.active)
        .map(|c| (c.id, c.kind))
        .collect::<Vec<_>>();
    if channels.is_empty() {
        return Ok(None);
    }
    let sim = Arc::new(Sim {
        http: reqwest::Client::new(),
        server: server.trim_end_matches('/').to_owned(),
        token,
        channels,
        pace,
        rng: Mutex::new(StdRng::from_rng(&mut rand::rng())),
        clients: Mutex::new(Vec::new()),
        shutdown: shutdown.clone(),
    });
    let app = Router::new()
        .route("/webhook", post(webhook))
        .with_state(sim.clone());
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await;
    });
    tokio::spawn(async move {
        loop {
            let wait = sim.jitter(sim.pace.client_every);
            if !sim.sleep(wait).await {
                return;
            }
            if let Err(e) = sim.someone_writes().await {
                tracing::warn!("living demo: a client's message failed: {e}");
            }
        }
    });
    Ok(Some(addr))
}

/// Our webhook: the reply is "sent" at once; delivered and read follow, and sometimes the
/// client answers.
async fn webhook(State(sim): State<Arc<Sim>>, body: Bytes) -> axum::Json<Value> {
    let v: Value = serde_json::from_slice(&body).unwrap_or_default();
    let m = &v["message"];
    let id = m["id"].as_i64().unwrap_or(0);
    let channel = ChannelId(m["channel_id"].as_i64().unwrap_or(0));
    let chat = m["external_chat_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    tokio::spawn(async move {
        if let Err(e) = sim.client_reads(channel, id, &chat).await {
            tracing::warn!("living demo: a status report failed: {e}");
        }
    });
    axum::Json(json!({ "external_id": format!("demo-{id}") }))
}

impl Sim {
    /// Half to one and a half times `mean`.
    fn jitter(&self, mean: Duration) -> Duration {
        let f: f64 = self.lock_rng().random_range(0.5..1.5);
        mean.mul_f64(f)
    }

    fn lock_rng(&self) -> std::sync::MutexGuard<'_, StdRng> {
        self.rng
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sleeps; false when the server is shutting down.
    async fn sleep(&self, d: Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(d) => true,
            () = self.shutdown.cancelled() => false,
        }
    }

    async fn call(&self, path: &str, body: Value) -> Result<(), reqwest::Error> {
        self.http
            .post(format!("{}{path}", self.server))
            .header("X-Transport-Token", self.token.expose())
            .json(&body)
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    /// A new client writes, or one who wrote before writes again.
    async fn someone_writes(&self) -> Result<(), reqwest::Error> {
        let client = {
            let mut rng = self.lock_rng();
            let known = self
                .clients
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if !known.is_empty() && (known.len() >= 12 || rng.random_bool(0.5)) {
                known.choose(&mut *rng).cloned()
            } else {
                None
            }
        };
        let client = match client {
            Some(c) => c,
            None => {
                let mut rng = self.lock_rng();
                let russian = rng.random_bool(0.75);
                let full = person(&mut rng, russian);
                let (first, last) = full.split_once(' ').unwrap_or((&full, ""));
                let (channel, _) = *self.channels.choose(&mut *rng).expect("channels");
                let c = Client {
                    channel,
                    external_id: format!("live-{:016x}", rng.random::<u64>()),
                    first_name: first.to_owned(),
                    last_name: last.to_owned(),
                    russian,
                };
                drop(rng);
                self.clients
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(c.clone());
                c
            }
        };
        self.write_as(&client).await
    }

    async fn write_as(&self, c: &Client) -> Result<(), reqwest::Error> {
        let (text, id) = {
            let mut rng = self.lock_rng();
            let lines = if c.russian {
                texts::CLIENT_RU
            } else {
                texts::CLIENT_EN
            };
            (
                (*lines.choose(&mut *rng).expect("lines")).to_owned(),
                rng.random::<u64>(),
            )
        };
        self.call(
            "/api/transport/v1/messages",
            json!({
                "channel_id": c.channel,
                "customer": {
                    "external_id": c.external_id,
                    "first_name": (!c.first_name.is_empty()).then_some(&c.first_name),
                    "last_name": (!c.last_name.is_empty()).then_some(&c.last_name),
                },
                "external_id": format!("live-{id:016x}"),
                "text": text,
            }),
        )
        .await
    }

    /// Our reply `id` reaches the client, who reads it and, half the time, answers.
    async fn client_reads(
        &self,
        channel: ChannelId,
        id: i64,
        chat: &str,
    ) -> Result<(), reqwest::Error> {
        for (status, after) in [
            ("delivered", self.pace.delivered_after),
            ("read", self.pace.read_after),
        ] {
            let wait = self.jitter(after);
            if !self.sleep(wait).await {
                return Ok(());
            }
            self.call(
                "/api/transport/v1/messages/status",
                json!({ "channel_id": channel, "message_id": id, "status": status }),
            )
            .await?;
        }
        let answers = self.lock_rng().random_bool(0.5);
        let wait = self.jitter(self.pace.read_after * 2);
        if answers && self.sleep(wait).await {
            let known = self
                .clients
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .iter()
                .find(|c| c.external_id == chat)
                .cloned();
            // A client of the demo's history answers as themselves: the channel knows them.
            let client = known.unwrap_or_else(|| Client {
                channel,
                external_id: chat.to_owned(),
                first_name: String::new(),
                last_name: String::new(),
                russian: true,
            });
            self.write_as(&client).await?;
        }
        Ok(())
    }
}
