//! Who is calling: a session cookie (browsers) or a personal API token (`Authorization:
//! Bearer`). Two extractors share one check: the API answers 401 JSON, pages redirect to login.

use super::error::ApiError;
use crate::app::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use beseda_core::manager::Actor;
use beseda_core::secret::Token;
use beseda_core::services::auth::LoginOrigin;
use beseda_core::{CoreError, CoreResult};
use std::net::{IpAddr, SocketAddr};

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

/// The reverse proxies whose `X-Forwarded-For` is believed (`BESEDA_TRUSTED_PROXIES`); from
/// anyone else the header is ignored, so no client can pick the address it is limited by.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<ipnet::IpNet>);

impl TrustedProxies {
    pub fn parse(list: &str) -> Result<TrustedProxies, String> {
        crate::outbound::policy::parse_ranges(list).map(TrustedProxies)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: the peer's; behind a listed proxy, the nearest address in
    /// `X-Forwarded-For` that is not a listed proxy (each proxy appends what it saw).
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map_while(|a| a.trim().parse().ok())
            .collect();
        let mut client = peer;
        for ip in forwarded.into_iter().rev() {
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

/// Where a request comes from, for the sign-in limits and the sessions list.
pub struct ClientOrigin(pub LoginOrigin);

impl FromRequestParts<AppState> for ClientOrigin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| state.trusted_proxies.client(c.0.ip(), &parts.headers));
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

/// The token a caller sends in header `name` (a module's, a bot's).
pub fn header_token(
    parts: &axum::http::request::Parts,
    name: &str,
) -> beseda_core::CoreResult<beseda_core::secret::Token> {
    parts
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(beseda_core::secret::Token::from_client)
        .ok_or(beseda_core::CoreError::Unauthenticated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_addresses_are_believed_only_from_listed_proxies() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let headers = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert("x-forwarded-for", v.parse().unwrap());
            h
        };
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let client = |peer: &str, xff: &str| proxies.client(ip(peer), &headers(xff));
        assert_eq!(
            client("203.0.113.9", "1.2.3.4"),
            ip("203.0.113.9"),
            "not a proxy"
        );
        assert_eq!(client("10.0.0.2", "1.2.3.4"), ip("1.2.3.4"));
        assert_eq!(
            client("10.0.0.2", "6.6.6.6, 1.2.3.4, 10.0.0.7"),
            ip("1.2.3.4"),
            "the nearest"
        );
        assert_eq!(client("10.0.0.2", "10.0.0.9"), ip("10.0.0.9"));
        assert_eq!(client("10.0.0.2", "garbage"), ip("10.0.0.2"));
    }
}
