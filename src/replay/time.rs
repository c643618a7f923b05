//! The time replay entries expire on: the process's monotonic time by default, or an injected
//! [`Clock`] (a [`ManualClock`](crate::ManualClock) in tests).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::clock::Clock;

/// Milliseconds since the store was made, on the store's clock.
#[derive(Clone)]
pub(super) enum StoreClock {
    Monotonic(Instant),
    Injected {
        clock: Arc<dyn Clock>,
        origin: SystemTime,
    },
}

impl StoreClock {
    pub(super) fn monotonic() -> Self {
        Self::Monotonic(Instant::now())
    }

    pub(super) fn injected(clock: impl Clock) -> Self {
        let origin = clock.now();
        Self::Injected {
            clock: Arc::new(clock),
            origin,
        }
    }

    pub(super) fn is_injected(&self) -> bool {
        matches!(self, Self::Injected { .. })
    }

    /// Milliseconds since the origin, rounded down. An injected clock set back before the origin
    /// reads 0, so entries are remembered longer, never shorter.
    pub(super) fn now_ms(&self) -> u64 {
        let elapsed = match self {
            Self::Monotonic(origin) => origin.elapsed(),
            Self::Injected { clock, origin } => {
                clock.now().duration_since(*origin).unwrap_or_default()
            }
        };
        u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
    }
}

impl fmt::Debug for StoreClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Monotonic(_) => "monotonic",
            Self::Injected { .. } => "injected",
        })
    }
}

/// The deadline, in the store clock's milliseconds, of an entry recorded at `now` for `ttl`. The
/// entry is live while the clock reads less. `now` is rounded down and `ttl` up, so one more
/// millisecond keeps the entry for at least `ttl`; the deadline is never 0.
pub(super) fn deadline(now: u64, ttl: Duration) -> u64 {
    now.saturating_add(ceil_millis(ttl)).saturating_add(1)
}

/// `ttl` in whole milliseconds, rounded up: an entry kept that long is kept at least `ttl`.
pub(super) fn ceil_millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::ManualClock;

    #[test]
    fn an_injected_clock_counts_from_where_it_stood() {
        let manual = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        let clock = StoreClock::injected(manual.clone());
        assert_eq!(clock.now_ms(), 0);
        manual.advance(Duration::from_micros(2_999));
        assert_eq!(clock.now_ms(), 2);
        manual.set(UNIX_EPOCH);
        assert_eq!(clock.now_ms(), 0);
    }

    #[test]
    fn milliseconds_round_up() {
        assert_eq!(ceil_millis(Duration::ZERO), 0);
        assert_eq!(ceil_millis(Duration::from_nanos(1)), 1);
        assert_eq!(ceil_millis(Duration::from_micros(1_999)), 2);
        assert_eq!(ceil_millis(Duration::from_millis(5)), 5);
        assert_eq!(ceil_millis(Duration::MAX), u64::MAX);
    }

    #[test]
    fn deadlines_round_up() {
        assert_eq!(deadline(10, Duration::ZERO), 11);
        assert_eq!(deadline(10, Duration::from_micros(1)), 12);
        assert_eq!(deadline(10, Duration::from_millis(5)), 16);
        assert_eq!(deadline(u64::MAX - 1, Duration::MAX), u64::MAX);
    }
}
