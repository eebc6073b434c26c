//! Starts the real application on port 0 with a fresh database, and talks to it over HTTP.

pub mod browser;
pub mod client;

use beseda_core::channel::ChannelKind;
use beseda_core::company::NewChannel;
use beseda_core::dialog::{InboundMessage, Ingested};
use beseda_core::ids::ChannelId;
use beseda_core::manager::Manager;
use beseda_core::services::auth::LoginLimits;
use beseda_core::services::managers::{CreateManager, ManagerService};
use beseda_core::store::Store;
use beseda_core::time::SettableClock;
use beseda_core::time::Timestamp;
use beseda_core::values::{DisplayName, Email, Password};
use beseda_server::startup::Server;
use beseda_testkit::{TestBackend, TestDb};
use beseda_web::app::{AppState, Settings};
use beseda_web::files::Files;
use beseda_web::outbound::AddressPolicy;
use serde_json::{Value, json};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub base: String,
    pub store: Arc<dyn Store>,
    pub managers: ManagerService,
    pub admin: Manager,
    pub state: AppState,
    /// The server's clock: moved on by tests instead of waiting.
    pub clock: Arc<SettableClock>,
    shutdown: CancellationToken,
    _db: TestDb,
}

/// What a test may set differently from the usual test app.
pub struct Options {
    pub limits: LoginLimits,
    pub outbound: AddressPolicy,
    pub delivery_policy: beseda_core::transport::RetryPolicy,
    /// How often sockets are pinged and their credentials checked again.
    pub ws_ping: std::time::Duration,
    /// `BESEDA_TRUSTED_PROXIES`.
    pub trusted_proxies: &'static str,
    /// The bytes one uploader may keep in files not yet sent.
    pub unsent_quota: u64,
    /// Files are refused below this much free disk (none here: a test machine's disk may be
    /// small).
    pub min_free_disk: u64,
    /// Where the Telegram Bot API is: a fake's address, or nowhere.
    pub telegram_api: String,
    /// Where the VK API is: a fake's address, or nowhere.
    pub vk_api: String,
    /// Where Meta's Graph API is: a fake's address, or nowhere.
    pub graph_api: String,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            limits: LoginLimits::default(),
            // The fake modules and file servers listen on loopback.
            outbound: AddressPolicy::parse("127.0.0.0/8").unwrap(),
            // Retries in milliseconds, so that tests of failing modules finish quickly.
            delivery_policy: beseda_core::transport::RetryPolicy {
                max_attempts: 5,
                base: std::time::Duration::from_millis(20),
                cap: std::time::Duration::from_millis(100),
            },
            ws_ping: beseda_web::realtime::PING_EVERY,
            trusted_proxies: "",
            unsent_quota: beseda_core::services::attachments::UNSENT_QUOTA_BYTES,
            min_free_disk: 0,
            telegram_api: "http://127.0.0.1:9".into(),
            vk_api: "http://127.0.0.1:9".into(),
            graph_api: "http://127.0.0.1:9".into(),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl TestApp {
    /// The app on a fresh database of `backend`, with one system administrator; `None` when
    /// the PostgreSQL half is skipped (outside CI).
    pub async fn spawn(backend: TestBackend) -> Option<TestApp> {
        Self::spawn_with(backend, Options::default()).await
    }

    /// The same, with other settings.
    pub async fn spawn_with(backend: TestBackend, options: Options) -> Option<TestApp> {
        let Options {
            limits,
            outbound,
            delivery_policy,
            ws_ping,
            trusted_proxies,
            unsent_quota,
            min_free_disk,
            telegram_api,
            vk_api,
            graph_api,
        } = options;
        let db = TestDb::new(backend).await?;
        let store: Arc<dyn Store> = db.open_store().await;
        let clock = Arc::new(SettableClock::default());
        let managers = ManagerService::new(
            store.clone(),
            clock.clone(),
            beseda_core::secret::Passwords::default(),
        );
        let admin = managers
            .ensure_first_admin(Some(ADMIN_EMAIL), Some(PASSWORD))
            .await
            .expect("first administrator")
            .expect("an empty database")
            .manager;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let mut files = Files::open(&format!("file://{}", db.dir.path().join("files").display()))
            .expect("files");
        files.min_free_bytes = min_free_disk;
        let settings = Settings {
            session_secret: b"a test secret of at least thirty-two bytes",
            secure_cookies: false,
            limits,
            files,
            public_url: base.clone(),
            clock: clock.clone(),
            outbound,
            unsent_quota,
            messengers: Arc::new(beseda_channels::Platforms::new(beseda_channels::Apis {
                telegram: telegram_api,
                vk: vk_api,
                graph: graph_api,
            })),
        };
        let mut state = AppState::new(store.clone(), settings).expect("state");
        state.delivery_policy = delivery_policy;
        state.ws_ping = ws_ping;
        state.trusted_proxies =
            beseda_web::http::auth::TrustedProxies::parse(trusted_proxies).unwrap();
        let server = Server {
            state: state.clone(),
            listener,
        };
        let shutdown = CancellationToken::new();
        tokio::spawn(server.run(shutdown.clone()));
        Some(TestApp {
            base,
            store,
            managers,
            admin,
            state,
            clock,
            shutdown,
            _db: db,
        })
    }

    /// The OpenAPI document the server serves.
    pub async fn openapi(&self) -> serde_json::Value {
        let r = reqwest::get(self.url("/api/openapi.json")).await.unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    /// The database the app runs on, for a second, concrete handle on it.
    pub fn db_url(&self) -> &str {
        &self._db.url
    }

    /// Where the server keeps attachment bytes.
    pub fn files_dir(&self) -> std::path::PathBuf {
        self._db.dir.path().join("files")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A manager with the test password.
    pub async fn manager(&self, email: &str, name: &str) -> Manager {
        self.managers
            .register(CreateManager {
                email: Email::parse(email).unwrap(),
                name: DisplayName::parse("name", name).unwrap(),
                password: Password::parse(PASSWORD).unwrap(),
                locale: None,
                is_system_admin: false,
            })
            .await
            .expect("manager")
    }

    /// A manager as the services see them, with their permissions.
    pub async fn managers_actor(
        &self,
        id: beseda_core::ids::ManagerId,
    ) -> beseda_core::manager::Actor {
        self.state.auth.actor(id).await.expect("actor")
    }

    /// A connected channel of `kind`.
    pub async fn channel(&self, kind: ChannelKind) -> ChannelId {
        let new = NewChannel {
            kind,
            name: format!("{kind:?} channel"),
            capabilities: kind.default_capabilities(),
            created_at: Timestamp(1),
        };
        self.store.create_channel(&new).await.expect("channel")
    }

    /// A client writes through the inbound entry point that transports and connectors use.
    pub async fn client_writes(
        &self,
        channel: ChannelId,
        contact: &str,
        external_id: &str,
        body: &str,
    ) -> Ingested {
        let m = InboundMessage {
            attachments: Vec::new(),
            quote_external_id: None,
            channel_id: channel,
            contact_external_id: contact.into(),
            contact_name: format!("Client {contact}"),
            external_id: external_id.into(),
            body: body.into(),
            sent_at: Timestamp(1_000),
            details: Default::default(),
        };
        self.state
            .dialogs
            .receive(m)
            .await
            .expect("inbound message")
    }

    /// A client on `channel` whose card holds `email` (the channel vouches for it): their
    /// dialog.
    pub async fn client_with_email(
        &self,
        channel: ChannelId,
        name: &str,
        email: &str,
    ) -> beseda_core::ids::DialogId {
        let written = self
            .state
            .dialogs
            .receive(InboundMessage {
                channel_id: channel,
                contact_external_id: format!("{name}-contact"),
                contact_name: name.into(),
                external_id: format!("{name}-1"),
                body: "Hello".into(),
                sent_at: Timestamp(1_000),
                attachments: Vec::new(),
                quote_external_id: None,
                details: beseda_core::dialog::ContactDetails {
                    email: Some(email.into()),
                    ..Default::default()
                },
            })
            .await
            .expect("inbound message");
        match written {
            Ingested::Accepted { dialog_id, .. } => dialog_id,
            other => panic!("{other:?}"),
        }
    }

    /// A bot registered by the administrator for `channel` that has taken `dialog`: its caller.
    pub async fn bot_holding(&self, name: &str, channel: i64, dialog: i64) -> client::Caller {
        let created = self
            .as_(ADMIN_EMAIL)
            .await
            .post("/api/v1/bots", json!({"name": name, "channels": [channel]}))
            .expect(201)
            .await;
        let bot = client::Caller::bot_at(&self.base, created["token"].as_str().unwrap());
        bot.post(
            &format!("/api/bot/v1/dialogs/{dialog}/assign"),
            json!({"to": {"type": "bot", "id": created["bot"]["id"]}}),
        )
        .expect(204)
        .await;
        bot
    }

    /// The dialog a new client message opened.
    pub async fn new_dialog(&self, channel: ChannelId, contact: &str) -> i64 {
        match self
            .client_writes(
                channel,
                contact,
                &format!("{contact}-first"),
                "Здравствуйте!",
            )
            .await
        {
            Ingested::Accepted { dialog_id, .. } => dialog_id.0,
            other => panic!("{other:?}"),
        }
    }

    /// A client with its own cookie jar, signed in as `email`.
    pub async fn login(&self, email: &str) -> reqwest::Client {
        let client = browser();
        let r = client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            200,
            "login as {email}: {}",
            r.text().await.unwrap()
        );
        client
    }
}

/// An HTTP client that keeps cookies and does not follow redirects, like a browser tab.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Sends a request, with a JSON body when given; returns the status and the JSON answer.
pub async fn send(req: reqwest::RequestBuilder, body: Option<Value>) -> (u16, Value) {
    let req = match body {
        Some(b) => req.json(&b),
        None => req,
    };
    json_of(req.send().await.unwrap()).await
}

/// The response's status and JSON body.
pub async fn json_of(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Runs each named async test function `fn(TestApp)` on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let app = $crate::common::TestApp::spawn(beseda_testkit::TestBackend::Sqlite).await.expect("sqlite");
                    super::$case(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let Some(app) = $crate::common::TestApp::spawn(beseda_testkit::TestBackend::Postgres).await else { return };
                    super::$case(app).await;
                }
            )*
        }
    };
}
