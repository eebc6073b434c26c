//! Sign-in throttling by failures: a key (an account, an address) may fail a few times freely;
//! after that each next attempt waits, one second doubling with every further failure, up to a
//! cap. A success never counts, and an account's success clears its failures, so someone who
//! keeps guessing a manager's password makes them wait at most the cap, never locks them out.

use crate::time::Timestamp;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Duration;

const FIRST_WAIT: Duration = Duration::from_secs(1);
/// A key that failed nothing for this long starts over.
const FORGET_AFTER: Duration = Duration::from_secs(3600);

#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    last: Timestamp,
}

pub struct FailureThrottle<K> {
    free: u32,
    cap: Duration,
    failures: Mutex<HashMap<K, Failures>>,
}

impl<K: Hash + Eq + Clone> FailureThrottle<K> {
    /// `free` failures without waiting; then waits up to `cap`.
    pub fn new(free: u32, cap: Duration) -> Self {
        FailureThrottle {
            free,
            cap,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<K, Failures>> {
        // A poisoned map only holds counts: used as it is.
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How long `key` must still wait before its next attempt, if at all.
    pub fn wait(&self, key: &K, now: Timestamp) -> Option<Duration> {
        let f = *self.entries().get(key)?;
        let over = f.count.checked_sub(self.free)?;
        let wait = FIRST_WAIT
            .checked_mul(1u32.checked_shl(over).unwrap_or(u32::MAX))
            .unwrap_or(self.cap)
            .min(self.cap);
        let elapsed = Duration::from_millis(u64::try_from(now.0 - f.last.0).unwrap_or(0));
        wait.checked_sub(elapsed).filter(|w| !w.is_zero())
    }

    pub fn failed(&self, key: K, now: Timestamp) {
        let mut entries = self.entries();
        let f = entries.entry(key).or_insert(Failures {
            count: 0,
            last: now,
        });
        f.count = f.count.saturating_add(1);
        f.last = now;
    }

    /// The key proved itself: its failures are forgotten.
    pub fn succeeded(&self, key: &K) {
        self.entries().remove(key);
    }

    /// Forgets keys that failed nothing for an hour.
    pub fn forget_idle(&self, now: Timestamp) {
        let horizon = now.minus(FORGET_AFTER);
        self.entries().retain(|_, f| f.last > horizon);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_after_the_free_failures_and_a_success_clears_them() {
        let t = FailureThrottle::new(2, Duration::from_secs(10));
        let at = |s: i64| Timestamp(s * 1000);
        t.failed("anna", at(0));
        t.failed("anna", at(0));
        assert_eq!(t.wait(&"anna", at(0)), Some(Duration::from_secs(1)));
        assert_eq!(t.wait(&"anna", at(1)), None);
        t.failed("anna", at(1));
        assert_eq!(
            t.wait(&"anna", at(2)),
            Some(Duration::from_secs(1)),
            "2 s from the last"
        );
        for _ in 0..20 {
            t.failed("anna", at(3));
        }
        assert_eq!(
            t.wait(&"anna", at(3)),
            Some(Duration::from_secs(10)),
            "capped"
        );
        assert_eq!(t.wait(&"boris", at(3)), None, "per key");
        t.succeeded(&"anna");
        assert_eq!(t.wait(&"anna", at(3)), None);
        t.failed("boris", at(3));
        t.forget_idle(at(3 + 3601));
        assert!(t.entries().is_empty());
    }
}
