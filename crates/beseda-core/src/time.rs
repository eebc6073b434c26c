//! Time as epoch milliseconds, the one representation both stores keep, and the clock port.

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A point in time, in milliseconds since the Unix epoch (UTC).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn plus(self, d: Duration) -> Timestamp {
        Timestamp(
            self.0
                .saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        )
    }

    pub fn minus(self, d: Duration) -> Timestamp {
        Timestamp(
            self.0
                .saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        )
    }
}

/// Where the services learn the time; tests may substitute a fixed clock.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        Timestamp(i64::try_from(ms).unwrap_or(i64::MAX))
    }
}

/// A clock that tests set: the wall clock moved on by whatever `advance` added, never giving the
/// same millisecond twice, so that what it stamps is strictly ordered without waiting, and time
/// limits pass without sleeping.
#[derive(Debug, Default)]
pub struct SettableClock {
    offset_ms: AtomicI64,
    last: AtomicI64,
}

impl SettableClock {
    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for SettableClock {
    fn now(&self) -> Timestamp {
        let wall = SystemClock
            .now()
            .0
            .saturating_add(self.offset_ms.load(Ordering::SeqCst));
        let previous = self
            .last
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
                Some(wall.max(last + 1))
            })
            .unwrap_or(wall);
        Timestamp(wall.max(previous + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_settable_clock_never_repeats_and_moves_when_told() {
        let clock = SettableClock::default();
        let stamps: Vec<Timestamp> = (0..1000).map(|_| clock.now()).collect();
        assert!(stamps.windows(2).all(|w| w[0] < w[1]));
        let before = clock.now();
        clock.advance(Duration::from_secs(3600));
        // The thousand stamps above may run ahead of the wall clock by a millisecond each.
        assert!(clock.now().0 - before.0 > 3_500_000);
    }
}
