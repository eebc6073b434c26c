//! The application's state: the core services over one store, shared by every request.

use crate::realtime::hub::Hub;
use beseda_core::CoreResult;
use beseda_core::event::{EventBus, LocalBus};
use beseda_core::secret::TokenHasher;
use beseda_core::services::auth::{AuthService, LoginLimits};
use beseda_core::services::dialogs::DialogService;
use beseda_core::services::library::LibraryService;
use beseda_core::services::managers::ManagerService;
use beseda_core::services::transport::TransportService;
use beseda_core::store::Store;
use beseda_core::time::{Clock, SystemClock};
use beseda_core::transport::RetryPolicy;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub auth: Arc<AuthService>,
    pub managers: Arc<ManagerService>,
    pub dialogs: Arc<DialogService>,
    pub library: Arc<LibraryService>,
    pub transport: Arc<TransportService>,
    pub bus: Arc<dyn EventBus>,
    pub hub: Hub,
    /// How deliveries to integration modules are retried.
    pub delivery_policy: RetryPolicy,
    pub clock: Arc<dyn Clock>,
    /// Cancelled when the server shuts down: long-lived connections end with it.
    pub shutdown: CancellationToken,
    /// Cookies carry the Secure flag (the public URL is https).
    pub secure_cookies: bool,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        session_secret: &[u8],
        secure_cookies: bool,
        limits: LoginLimits,
    ) -> CoreResult<AppState> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        // One key hashes every bearer secret: sessions, API tokens and module tokens.
        let hasher = TokenHasher::new(session_secret);
        let auth = AuthService::new(store.clone(), clock.clone(), hasher.clone(), limits)?;
        let bus: Arc<dyn EventBus> = Arc::new(LocalBus::new(4096));
        let dialogs = Arc::new(DialogService::new(
            store.clone(),
            clock.clone(),
            bus.clone(),
        ));
        let transport = TransportService::new(
            store.clone(),
            clock.clone(),
            bus.clone(),
            hasher,
            dialogs.clone(),
        );
        Ok(AppState {
            dialogs,
            transport: Arc::new(transport),
            library: Arc::new(LibraryService::new(
                store.clone(),
                clock.clone(),
                bus.clone(),
            )),
            bus,
            hub: Hub::default(),
            shutdown: CancellationToken::new(),
            delivery_policy: RetryPolicy::default(),
            clock: clock.clone(),
            managers: Arc::new(ManagerService::new(store.clone(), clock)),
            auth: Arc::new(auth),
            store,
            secure_cookies,
        })
    }
}
