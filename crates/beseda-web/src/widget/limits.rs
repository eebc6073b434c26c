//! How much the public visitor API lets one address and one visitor do (F39): the only
//! unauthenticated surface carries the strictest limits. Counted on this server; a flood is
//! answered 429 with `Retry-After`.

use beseda_core::{CoreError, CoreResult};
use governor::clock::Clock as _;
use governor::{DefaultKeyedRateLimiter, Quota};
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;

pub struct WidgetLimits {
    /// Every visitor request of one address (an office behind one NAT counts as one).
    requests: DefaultKeyedRateLimiter<IpAddr>,
    /// New visitor sessions of one address.
    sessions: DefaultKeyedRateLimiter<IpAddr>,
    /// Messages and uploads of one visitor.
    sends: DefaultKeyedRateLimiter<String>,
}

fn per_minute(rate: u32, burst: u32) -> Quota {
    let n = |v: u32| NonZeroU32::new(v).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(n(rate)).allow_burst(n(burst))
}

fn check<K: Hash + Eq + Clone>(limiter: &DefaultKeyedRateLimiter<K>, key: &K) -> CoreResult<()> {
    limiter.check_key(key).map_err(|not_until| {
        let wait = not_until.wait_time_from(limiter.clock().now());
        CoreError::RateLimited {
            retry_after: wait.max(std::time::Duration::from_secs(1)),
        }
    })
}

impl Default for WidgetLimits {
    fn default() -> Self {
        WidgetLimits {
            requests: DefaultKeyedRateLimiter::keyed(per_minute(600, 200)),
            sessions: DefaultKeyedRateLimiter::keyed(per_minute(30, 20)),
            sends: DefaultKeyedRateLimiter::keyed(per_minute(30, 10)),
        }
    }
}

impl WidgetLimits {
    pub fn request(&self, from: Option<IpAddr>) -> CoreResult<()> {
        from.map_or(Ok(()), |ip| check(&self.requests, &ip))
    }

    pub fn session(&self, from: Option<IpAddr>) -> CoreResult<()> {
        from.map_or(Ok(()), |ip| check(&self.sessions, &ip))
    }

    pub fn send(&self, visitor: &str) -> CoreResult<()> {
        check(&self.sends, &visitor.to_owned())
    }

    /// Forgets the keys that have been quiet long enough to be full again.
    pub fn forget_idle(&self) {
        self.requests.retain_recent();
        self.sessions.retain_recent();
        self.sends.retain_recent();
    }
}
