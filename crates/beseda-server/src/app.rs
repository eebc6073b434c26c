//! The application's state: the core services over one store, shared by every request.

use beseda_core::CoreResult;
use beseda_core::secret::TokenHasher;
use beseda_core::services::auth::{AuthService, LoginLimits};
use beseda_core::services::managers::ManagerService;
use beseda_core::store::Store;
use beseda_core::time::{Clock, SystemClock};
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub auth: Arc<AuthService>,
    pub managers: Arc<ManagerService>,
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
        let auth = AuthService::new(
            store.clone(),
            clock.clone(),
            TokenHasher::new(session_secret),
            limits,
        )?;
        Ok(AppState {
            managers: Arc::new(ManagerService::new(store.clone(), clock)),
            auth: Arc::new(auth),
            store,
            secure_cookies,
        })
    }
}
