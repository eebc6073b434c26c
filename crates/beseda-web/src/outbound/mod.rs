//! The one way Beseda makes a request to an address someone else chose (a module's webhook, a
//! file given by URL, later a platform's media): the address is resolved and checked against the
//! [`AddressPolicy`] before any connection, the checked addresses are the only ones connected
//! to (so a name that resolves again to something else later changes nothing), every redirect
//! hop is checked the same way, the time and the answer's size are bounded, and an error says
//! no more than "refused" or "unreachable", so it cannot map a private network.

pub mod policy;

pub use policy::AddressPolicy;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{Method, RequestBuilder, Response, Url};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Redirect hops followed before giving up.
const MAX_REDIRECTS: usize = 3;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a guarded request did not succeed, in words safe to show whoever gave the address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboundError {
    /// Not an http(s) address.
    BadAddress,
    /// The address, or one it redirected to, is not one Beseda may connect to.
    Refused,
    /// No connection, no answer in time, or a broken answer.
    Unreachable,
    /// The server answered with an error status.
    Status(u16),
    /// The answer is longer than the caller reads.
    TooLarge(usize),
}

impl fmt::Display for OutboundError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutboundError::BadAddress => f.write_str("the address must be http:// or https://"),
            OutboundError::Refused => f.write_str("the address is not allowed"),
            OutboundError::Unreachable => f.write_str("the address did not answer"),
            OutboundError::Status(s) => write!(f, "the address answered {s}"),
            OutboundError::TooLarge(cap) => write!(f, "the answer is longer than {cap} bytes"),
        }
    }
}

/// The marker a refusal carries through reqwest's error chain.
#[derive(Debug)]
struct RefusedAddress;

impl fmt::Display for RefusedAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("address refused by policy")
    }
}

impl std::error::Error for RefusedAddress {}

/// Resolves a name and keeps only the addresses the policy permits.
struct GuardedResolver(Arc<AddressPolicy>);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let permitted: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| policy.permits(a.ip()))
                .collect();
            if permitted.is_empty() {
                return Err(Box::new(RefusedAddress) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(permitted.into_iter()) as Addrs)
        })
    }
}

/// Checks what can be checked without resolving: the scheme, and an address written as an IP
/// (which the client connects to without asking the resolver).
fn check_url(policy: &AddressPolicy, url: &Url) -> Result<(), OutboundError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(OutboundError::BadAddress);
    }
    let literal: Option<IpAddr> = match url.host() {
        None => return Err(OutboundError::BadAddress),
        Some(url::Host::Domain(_)) => None,
        Some(url::Host::Ipv4(ip)) => Some(ip.into()),
        Some(url::Host::Ipv6(ip)) => Some(ip.into()),
    };
    let port = url.port_or_known_default().unwrap_or(0);
    match literal {
        Some(ip) if !policy.permits_service(ip, port) => Err(OutboundError::Refused),
        _ => Ok(()),
    }
}

fn refused_in(e: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.is::<RefusedAddress>() {
            return true;
        }
        source = s.source();
    }
    false
}

/// A client that only reaches what the policy permits. Cheap to clone.
#[derive(Clone)]
pub struct Outbound {
    http: reqwest::Client,
    policy: Arc<AddressPolicy>,
}

impl Outbound {
    /// A guarded client whose every request ends within `timeout`.
    pub fn new(policy: AddressPolicy, timeout: Duration) -> Result<Outbound, String> {
        let policy = Arc::new(policy);
        let hops = policy.clone();
        let http = reqwest::Client::builder()
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver(policy.clone())))
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if check_url(&hops, attempt.url()).is_err() {
                    attempt.error(RefusedAddress)
                } else if attempt.previous().len() > MAX_REDIRECTS {
                    attempt.error("too many redirects")
                } else {
                    attempt.follow()
                }
            }))
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .timeout(timeout)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Outbound { http, policy })
    }

    /// A request to `url`, refused before anything is sent if the address is not allowed.
    pub fn request(&self, method: Method, url: &str) -> Result<RequestBuilder, OutboundError> {
        let parsed = Url::parse(url).map_err(|_| OutboundError::BadAddress)?;
        check_url(&self.policy, &parsed)?;
        Ok(self.http.request(method, parsed))
    }

    /// Sends a request built by [`Outbound::request`]; an error status is an error.
    pub async fn send(&self, request: RequestBuilder) -> Result<Response, OutboundError> {
        match request.send().await {
            Ok(resp) if resp.status().is_client_error() || resp.status().is_server_error() => {
                Err(OutboundError::Status(resp.status().as_u16()))
            }
            Ok(resp) => Ok(resp),
            Err(e) if refused_in(&e) => Err(OutboundError::Refused),
            Err(e) => {
                tracing::debug!(error = %e, "outbound request failed");
                Err(OutboundError::Unreachable)
            }
        }
    }

    /// A GET of `url`.
    pub async fn get(&self, url: &str) -> Result<Response, OutboundError> {
        self.send(self.request(Method::GET, url)?).await
    }
}

/// Reads an answer's body, refusing one longer than `cap` bytes without reading past it.
pub async fn read_capped(resp: Response, cap: usize) -> Result<Bytes, OutboundError> {
    if resp.content_length().is_some_and(|n| n > cap as u64) {
        return Err(OutboundError::TooLarge(cap));
    }
    let mut body = BytesMut::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| OutboundError::Unreachable)?;
        if body.len() + chunk.len() > cap {
            return Err(OutboundError::TooLarge(cap));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
