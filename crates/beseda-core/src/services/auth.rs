//! Signing in and out, sessions, personal API tokens, and the login rate limits.

use super::throttle::FailureThrottle;
use crate::error::{CoreError, CoreResult};
use crate::ids::{ApiTokenId, ManagerId};
use crate::manager::{Actor, Permissions};
use crate::secret::{self, Passwords, Token, TokenHash, TokenHasher};
use crate::store::{ApiToken, NewSession, Store};
use crate::time::Clock;
use crate::values::{DisplayName, Email};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

const SESSION_PREFIX: &str = "bs_";
const API_TOKEN_PREFIX: &str = "bt_";

/// How many sign-ins may fail, for one account and from one address, before each next attempt
/// waits (one second, doubling, up to the cap). Successful sign-ins never count.
#[derive(Clone, Copy, Debug)]
pub struct LoginLimits {
    pub free_failures_per_account: u32,
    pub free_failures_per_address: u32,
    /// The longest wait for an account: what someone guessing a password can impose on its owner.
    pub account_max_wait: Duration,
    pub address_max_wait: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits {
            free_failures_per_account: 5,
            // Generous: a whole office may mistype at the start of a shift from one address.
            free_failures_per_address: 30,
            account_max_wait: Duration::from_secs(60),
            address_max_wait: Duration::from_secs(600),
        }
    }
}

/// Where a sign-in comes from.
#[derive(Clone, Debug, Default)]
pub struct LoginOrigin {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

pub struct AuthService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    hasher: TokenHasher,
    session_ttl: Duration,
    by_address: FailureThrottle<IpAddr>,
    by_account: FailureThrottle<String>,
    /// Checked when the email is unknown, so that a wrong email takes as long as a wrong password.
    decoy_hash: String,
    passwords: Passwords,
}

impl AuthService {
    pub const SESSION_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        hasher: TokenHasher,
        limits: LoginLimits,
        passwords: Passwords,
    ) -> CoreResult<Self> {
        Ok(AuthService {
            store,
            clock,
            hasher,
            session_ttl: Self::SESSION_TTL,
            by_address: FailureThrottle::new(
                limits.free_failures_per_address,
                limits.address_max_wait,
            ),
            by_account: FailureThrottle::new(
                limits.free_failures_per_account,
                limits.account_max_wait,
            ),
            decoy_hash: secret::hash_password(&secret::random_password())?,
            passwords,
        })
    }

    /// Checks the email and password and opens a session. Every failure looks the same to the
    /// caller (`invalid_credentials`), whichever part was wrong.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        origin: LoginOrigin,
    ) -> CoreResult<(Token, Actor)> {
        let now = self.clock.now();
        if let Some(ip) = origin.ip {
            waited(self.by_address.wait(&ip, now))?;
        }
        let email = Email::parse(email).map_err(|_| CoreError::InvalidCredentials)?;
        let account = email.as_str().to_owned();
        waited(self.by_account.wait(&account, now))?;

        let creds = self.store.manager_credentials(&email).await?;
        let hash = creds
            .as_ref()
            .map_or_else(|| self.decoy_hash.clone(), |c| c.password_hash.clone());
        let matches = self.passwords.verify(password, &hash).await?;
        let creds = match creds {
            Some(c) if matches && !c.manager.disabled => c,
            _ => {
                if let Some(ip) = origin.ip {
                    self.by_address.failed(ip, now);
                }
                self.by_account.failed(account, now);
                return Err(CoreError::InvalidCredentials);
            }
        };
        // The owner proved the password: a guesser's failures no longer slow them down. The
        // address keeps its count (one valid account must not reset it for guessing others).
        self.by_account.succeeded(&account);

        let actor = self.actor(creds.manager.id).await?;
        let token = self.open_session(actor.id(), origin).await?;
        Ok((token, actor))
    }

    async fn open_session(&self, manager_id: ManagerId, origin: LoginOrigin) -> CoreResult<Token> {
        let token = Token::generate(SESSION_PREFIX);
        let now = self.clock.now();
        self.store
            .create_session(&NewSession {
                token_hash: self.hash(&token),
                manager_id,
                created_at: now,
                expires_at: now.plus(self.session_ttl),
                ip: origin.ip.map(|ip| ip.to_string()),
                user_agent: origin.user_agent.map(|ua| ua.chars().take(300).collect()),
            })
            .await?;
        Ok(token)
    }

    /// The manager behind a session cookie.
    pub async fn session(&self, token: &Token) -> CoreResult<Actor> {
        let id = self
            .store
            .session_manager(&self.hash(token), self.clock.now())
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        self.actor(id).await
    }

    /// Opens a new session for a manager who is already signed in (after a password change).
    pub async fn renew_session(&self, actor: &Actor, origin: LoginOrigin) -> CoreResult<Token> {
        self.open_session(actor.id(), origin).await
    }

    pub async fn logout(&self, token: &Token) -> CoreResult<()> {
        self.store.delete_session(&self.hash(token)).await
    }

    /// The manager behind a personal API token (`Authorization: Bearer`).
    pub async fn api_token(&self, token: &Token) -> CoreResult<Actor> {
        let id = self
            .store
            .api_token_manager(&self.hash(token), self.clock.now())
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        self.actor(id).await
    }

    /// Creates a personal API token, valid for `days` (1 to 365); the secret is shown this
    /// once. The owner's password is asked again: a session left open is not enough to mint a
    /// lasting credential.
    pub async fn create_api_token(
        &self,
        actor: &Actor,
        name: &str,
        password: &str,
        days: u32,
    ) -> CoreResult<(Token, ApiToken)> {
        let name = DisplayName::parse("name", name)?;
        if !(1..=365).contains(&days) {
            return Err(CoreError::invalid(
                "expires_in_days",
                "must be from 1 to 365",
            ));
        }
        self.check_password(actor, password, "password").await?;
        let token = Token::generate(API_TOKEN_PREFIX);
        let now = self.clock.now();
        let expires_at = now.plus(Duration::from_secs(u64::from(days) * 24 * 3600));
        let record = self
            .store
            .create_api_token(
                actor.id(),
                name.as_str(),
                &self.hash(&token),
                now,
                expires_at,
            )
            .await?;
        Ok((token, record))
    }

    /// Checks the signed-in manager's own password, within the account's sign-in limit (so
    /// that it cannot be guessed here faster than at the sign-in form); `field` names it.
    pub async fn check_password(
        &self,
        actor: &Actor,
        password: &str,
        field: &str,
    ) -> CoreResult<()> {
        let account = actor.manager.email.as_str().to_owned();
        let now = self.clock.now();
        waited(self.by_account.wait(&account, now))?;
        let creds = self
            .store
            .manager_credentials(&actor.manager.email)
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        if self
            .passwords
            .verify(password, &creds.password_hash)
            .await?
        {
            Ok(())
        } else {
            self.by_account.failed(account, now);
            Err(CoreError::invalid(field, "is wrong"))
        }
    }

    pub async fn list_api_tokens(&self, actor: &Actor) -> CoreResult<Vec<ApiToken>> {
        self.store.list_api_tokens(actor.id()).await
    }

    pub async fn delete_api_token(&self, actor: &Actor, id: ApiTokenId) -> CoreResult<()> {
        if self.store.delete_api_token(actor.id(), id).await? {
            Ok(())
        } else {
            Err(CoreError::NotFound("api token"))
        }
    }

    fn hash(&self, token: &Token) -> TokenHash {
        self.hasher.hash(token)
    }

    /// A manager with their permissions; a disabled or deleted manager is signed out.
    pub async fn actor(&self, id: ManagerId) -> CoreResult<Actor> {
        let manager = self
            .store
            .manager(id)
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        if manager.disabled {
            return Err(CoreError::Unauthenticated);
        }
        let grants = self.store.grants_of(id).await?;
        let permissions = Permissions::new(manager.is_system_admin, grants);
        Ok(Actor {
            manager,
            permissions,
        })
    }

    /// One round of housekeeping: forget expired sessions and idle sign-in failures.
    pub async fn run_housekeeping_once(&self) -> CoreResult<u64> {
        let now = self.clock.now();
        self.by_address.forget_idle(now);
        self.by_account.forget_idle(now);
        self.store.delete_expired_sessions(self.clock.now()).await
    }
}

/// A wait still to run refuses the attempt, saying how long.
fn waited(wait: Option<Duration>) -> CoreResult<()> {
    match wait {
        Some(retry_after) => Err(CoreError::RateLimited { retry_after }),
        None => Ok(()),
    }
}
