//! The application's state: the core services over one store, shared by every request.

use crate::files::Files;
use crate::files::fetch::HttpFetcher;
use crate::outbound::{AddressPolicy, Outbound};
use crate::realtime::hub::Hub;
use crate::widget::limits::WidgetLimits;
use crate::widget::visitors::Visitors;
use beseda_core::CoreResult;
use beseda_core::connector::{Messengers, Sealer};
use beseda_core::event::{EventBus, LocalBus};
use beseda_core::secret::{Passwords, TokenHasher};
use beseda_core::services::attachments::AttachmentService;
use beseda_core::services::auth::{AuthService, LoginLimits};
use beseda_core::services::bots::BotService;
use beseda_core::services::connectors::ConnectorService;
use beseda_core::services::dialogs::DialogService;
use beseda_core::services::distribution::DistributionService;
use beseda_core::services::inbox::InboxService;
use beseda_core::services::library::LibraryService;
use beseda_core::services::managers::ManagerService;
use beseda_core::services::orders::OrderService;
use beseda_core::services::transport::TransportService;
use beseda_core::services::widget::WidgetService;
use beseda_core::store::Store;
use beseda_core::time::Clock;
use beseda_core::transport::RetryPolicy;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// How long a delivery worker holds a job unless configured: longer than one webhook call may take.
pub const DEFAULT_DELIVERY_LEASE: std::time::Duration = std::time::Duration::from_secs(30);

/// How long the event log keeps events unless configured.
pub const DEFAULT_EVENT_RETENTION: std::time::Duration =
    std::time::Duration::from_secs(30 * 24 * 3600);

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub auth: Arc<AuthService>,
    pub managers: Arc<ManagerService>,
    pub dialogs: Arc<DialogService>,
    pub library: Arc<LibraryService>,
    pub orders: Arc<OrderService>,
    pub bots: Arc<BotService>,
    pub distribution: Arc<DistributionService>,
    pub transport: Arc<TransportService>,
    pub bus: Arc<dyn EventBus>,
    pub hub: Hub,
    /// How deliveries to integration modules are retried.
    pub delivery_policy: RetryPolicy,
    /// How long a delivery worker holds a job before another may take it over.
    pub delivery_lease: std::time::Duration,
    /// How long the event log keeps events; a screen away longer reloads instead of replaying.
    pub event_retention: std::time::Duration,
    /// How long one long poll of a messenger (Telegram's `getUpdates`) waits for an update.
    pub poll_wait: std::time::Duration,
    /// How often a WebSocket is pinged and its credential and rights checked again.
    pub ws_ping: std::time::Duration,
    /// The reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: crate::http::auth::TrustedProxies,
    pub clock: Arc<dyn Clock>,
    /// Cancelled when the server shuts down: long-lived connections end with it.
    pub shutdown: CancellationToken,
    /// Cookies carry the Secure flag (the public URL is https).
    pub secure_cookies: bool,
    pub attachments: Arc<AttachmentService>,
    pub inbox: Arc<InboxService>,

    /// How modules reach this server: the address of the files in our webhooks.
    pub public_url: String,
    /// Which addresses outgoing requests to addresses given by others may reach.
    pub outbound: AddressPolicy,
    /// Website widgets and their visitors (F39).
    pub widget: Arc<WidgetService>,
    /// The visitors connected to this server: presence and their live events.
    pub visitors: Visitors,
    /// How much the public visitor API lets one address or visitor do.
    pub widget_limits: Arc<WidgetLimits>,
    /// `serve --demo`: the demo shop's address, for the workspace's link to it.
    pub demo_shop: Option<String>,
    /// Messenger accounts Beseda connects itself (the built-in connectors).
    pub connectors: Arc<ConnectorService>,
}

/// What the state is built from besides the store.
pub struct Settings<'a> {
    pub session_secret: &'a [u8],
    pub secure_cookies: bool,
    pub limits: LoginLimits,
    pub files: Files,
    pub public_url: String,
    /// The system clock in production; a settable one in tests.
    pub clock: Arc<dyn Clock>,
    /// Private ranges that modules' webhooks and files given by address may reach.
    pub outbound: AddressPolicy,
    /// The bytes one uploader may keep in files not yet sent.
    pub unsent_quota: u64,
    /// The messengers' APIs, for the built-in connectors.
    pub messengers: Arc<dyn Messengers>,
}

/// How long fetching a file given by address may take.
const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

impl AppState {
    pub fn new(store: Arc<dyn Store>, settings: Settings<'_>) -> CoreResult<AppState> {
        let Settings {
            session_secret,
            secure_cookies,
            limits,
            files,
            public_url,
            clock,
            outbound,
            unsent_quota,
            messengers,
        } = settings;
        // One key hashes every bearer secret: sessions, API tokens and module tokens.
        let hasher = TokenHasher::new(session_secret);
        // One hashing pool for sign-ins, password changes and new managers.
        let passwords = Passwords::default();
        let auth = AuthService::new(
            store.clone(),
            clock.clone(),
            hasher.clone(),
            limits,
            passwords.clone(),
        )?;
        let bus: Arc<dyn EventBus> = Arc::new(LocalBus::new(4096));
        let dialogs = Arc::new(DialogService::new(
            store.clone(),
            clock.clone(),
            bus.clone(),
        ));
        // Connected: a socket answered within two pings and a little.
        let presence = crate::realtime::PING_EVERY * 2 + std::time::Duration::from_secs(15);
        let bots = Arc::new(BotService::new(
            store.clone(),
            clock.clone(),
            bus.clone(),
            hasher.clone(),
            presence,
        ));
        let transport = TransportService::new(
            store.clone(),
            clock.clone(),
            bus.clone(),
            hasher.clone(),
            dialogs.clone(),
        );
        let widget = WidgetService::new(
            store.clone(),
            clock.clone(),
            bus.clone(),
            hasher,
            dialogs.clone(),
        );
        let fetcher = Outbound::new(outbound.clone(), FETCH_TIMEOUT)
            .map_err(beseda_core::CoreError::Internal)?;
        let attachments = Arc::new(
            AttachmentService::new(
                store.clone(),
                clock.clone(),
                Arc::new(files),
                Arc::new(HttpFetcher::new(fetcher)),
            )
            .with_unsent_quota(unsent_quota),
        );
        let connectors = ConnectorService::new(
            store.clone(),
            clock.clone(),
            bus.clone(),
            messengers,
            Sealer::new(session_secret),
            dialogs.clone(),
            attachments.clone(),
        );
        Ok(AppState {
            attachments,
            inbox: Arc::new(InboxService::new(store.clone(), clock.clone(), bus.clone())),

            public_url,
            outbound,
            widget: Arc::new(widget),
            visitors: Visitors::new(clock.clone(), crate::widget::visitors::GRACE),
            widget_limits: Arc::default(),
            demo_shop: None,
            connectors: Arc::new(connectors),
            dialogs,
            transport: Arc::new(transport),
            bots,
            distribution: Arc::new(DistributionService::new(
                store.clone(),
                clock.clone(),
                bus.clone(),
                presence,
            )),
            orders: Arc::new(OrderService::new(store.clone(), clock.clone(), bus.clone())),
            library: Arc::new(LibraryService::new(
                store.clone(),
                clock.clone(),
                bus.clone(),
            )),
            bus,
            hub: Hub::default(),
            shutdown: CancellationToken::new(),
            delivery_policy: RetryPolicy::default(),
            delivery_lease: DEFAULT_DELIVERY_LEASE,
            event_retention: DEFAULT_EVENT_RETENTION,
            poll_wait: std::time::Duration::from_secs(25),
            ws_ping: crate::realtime::PING_EVERY,
            trusted_proxies: crate::http::auth::TrustedProxies::default(),
            clock: clock.clone(),
            managers: Arc::new(ManagerService::new(store.clone(), clock, passwords)),
            auth: Arc::new(auth),
            store,
            secure_cookies,
        })
    }
}
