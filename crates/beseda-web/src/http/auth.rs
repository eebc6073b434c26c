//! Who is calling: a session cookie (browsers) or a personal API token (`Authorization:
//! Bearer`). Two extractors share one check: the API answers 401 JSON, pages redirect to login.

use super::error::ApiError;
use crate::app::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use beseda_core::manager::Actor;
use beseda_core::secret::Token;
use beseda_core::services::auth::LoginOrigin;
use beseda_core::{CoreError, CoreResult};
use std::net::SocketAddr;

pub const SESSION_COOKIE: &str = "beseda_session";

/// How the caller proved who they are.
#[derive(Clone, Debug)]
pub enum Credential {
    Session(Token),
    Bearer(Token),
}

/// A signed-in manager calling the JSON API.
pub struct ApiActor {
    pub actor: Actor,
    pub credential: Credential,
}

/// A signed-in manager opening a page; without a session the browser goes to the login page.
pub struct PageActor {
    pub actor: Actor,
    pub session: Token,
}

fn credential(parts: &Parts) -> Option<Credential> {
    if let Some(value) = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        return value
            .strip_prefix("Bearer ")
            .map(|t| Credential::Bearer(Token::from_client(t.trim())));
    }
    CookieJar::from_headers(&parts.headers)
        .get(SESSION_COOKIE)
        .map(|c| Credential::Session(Token::from_client(c.value())))
}

async fn authenticate(parts: &Parts, state: &AppState) -> CoreResult<(Actor, Credential)> {
    let credential = credential(parts).ok_or(CoreError::Unauthenticated)?;
    let actor = credential.actor(state).await?;
    Ok((actor, credential))
}

impl Credential {
    /// The manager this credential signs in now, with their rights now: a long-lived
    /// connection asks again from time to time.
    pub async fn actor(&self, state: &AppState) -> CoreResult<Actor> {
        match self {
            Credential::Session(t) => state.auth.session(t).await,
            Credential::Bearer(t) => state.auth.api_token(t).await,
        }
    }
}

impl FromRequestParts<AppState> for ApiActor {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let (actor, credential) = authenticate(parts, state).await?;
        Ok(ApiActor { actor, credential })
    }
}

impl FromRequestParts<AppState> for PageActor {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match authenticate(parts, state).await {
            Ok((actor, Credential::Session(session))) => Ok(PageActor { actor, session }),
            Ok((_, Credential::Bearer(_))) | Err(CoreError::Unauthenticated) => {
                Err(Redirect::to("/login").into_response())
            }
            Err(e) => Err(ApiError::from(e).into_response()),
        }
    }
}

/// Where a request comes from, for the login rate limits and the sessions list.
pub struct ClientOrigin(pub LoginOrigin);

impl<S: Send + Sync> FromRequestParts<S> for ClientOrigin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(ClientOrigin(LoginOrigin { ip, user_agent }))
    }
}

/// The session cookie: HttpOnly, SameSite=Lax, Secure behind https, for the whole site.
pub fn session_cookie(token: &Token, secure: bool) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, token.expose().to_owned()))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/")
        .max_age(time_of(
            beseda_core::services::auth::AuthService::SESSION_TTL,
        ))
        .build()
}

/// A cookie that removes the session cookie.
pub fn removal_cookie() -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, "")).path("/").build()
}

fn time_of(d: std::time::Duration) -> time::Duration {
    time::Duration::seconds(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
