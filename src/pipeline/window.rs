//! Timestamp windows: a request is fresh while its timestamp lies within a past and a future
//! tolerance of now.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use tower_hmac::pipeline::{Window, unix_seconds};
//! use tower_hmac::RejectionKind;
//!
//! let window = Window::symmetric(Duration::from_secs(300));
//! let now = UNIX_EPOCH + Duration::from_secs(1_763_800_000);
//! let sent = unix_seconds("1763799800", "X-Timestamp").unwrap();
//! assert!(window.check_secs(sent, now).is_ok());
//! let refused = window.check_secs(sent - 101, now).unwrap_err();
//! assert_eq!(refused.kind(), RejectionKind::StaleTimestamp);
//! ```
//!
//! # Security
//!
//! Windows are two-sided: a timestamp too far in the future is refused like a stale one, or a
//! sender's skewed clock (or a captured request post-dated by whoever signed it) would stretch
//! the time a request can be replayed. Inside the window a request can be sent again; pair a
//! window with a replay store, and remember a nonce until its timestamp leaves the window
//! ([`Window::remaining_millis`]).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::rejection::{Rejection, RejectionKind};

/// The default tolerance of each side: 300 s, what most senders document.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// A two-sided window: a timestamp is accepted while `now - past <= timestamp <= now + future`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// How far in the past a timestamp may lie.
    pub past: Duration,
    /// How far in the future a timestamp may lie.
    pub future: Duration,
}

impl Default for Window {
    /// [`DEFAULT_TOLERANCE`] each way.
    fn default() -> Self {
        Self::symmetric(DEFAULT_TOLERANCE)
    }
}

impl Window {
    /// A window with separate past and future tolerances.
    pub const fn new(past: Duration, future: Duration) -> Self {
        Self { past, future }
    }

    /// The same tolerance each way.
    pub const fn symmetric(tolerance: Duration) -> Self {
        Self::new(tolerance, tolerance)
    }

    /// Checks a timestamp in milliseconds since the Unix epoch: refused as
    /// [`StaleTimestamp`](RejectionKind::StaleTimestamp) or
    /// [`FutureTimestamp`](RejectionKind::FutureTimestamp) outside the window.
    pub fn check_millis(&self, timestamp_ms: u64, now: SystemTime) -> Result<(), Rejection> {
        let now_ms = millis(now);
        let ts = u128::from(timestamp_ms);
        if ts > now_ms.saturating_add(self.future.as_millis()) {
            return Err(Rejection::new(RejectionKind::FutureTimestamp));
        }
        if ts.saturating_add(self.past.as_millis()) < now_ms {
            return Err(Rejection::new(RejectionKind::StaleTimestamp));
        }
        Ok(())
    }

    /// Checks a timestamp in seconds since the Unix epoch, as [`check_millis`](Self::check_millis).
    pub fn check_secs(&self, timestamp_s: u64, now: SystemTime) -> Result<(), Rejection> {
        self.check_millis(timestamp_s.saturating_mul(1000), now)
    }

    /// How long, from `now`, a request with this timestamp stays acceptable: until
    /// `timestamp + past`, plus one millisecond. This is how long its nonce must be remembered.
    pub fn remaining_millis(&self, timestamp_ms: u64, now: SystemTime) -> Duration {
        let leaves = u128::from(timestamp_ms).saturating_add(self.past.as_millis());
        let remaining = leaves.saturating_sub(millis(now)).saturating_add(1);
        Duration::from_millis(u64::try_from(remaining).unwrap_or(u64::MAX))
    }
}

fn millis(at: SystemTime) -> u128 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis())
}

/// A timestamp header in seconds since the Unix epoch: digits only (no sign, no decimal point),
/// at most what fits in a u64. Anything else is malformed, naming `header`.
pub fn unix_seconds(text: &str, header: &str) -> Result<u64, Rejection> {
    digits(text, header, "seconds")
}

/// A timestamp header in milliseconds since the Unix epoch, read as [`unix_seconds`] reads
/// seconds.
pub fn unix_millis(text: &str, header: &str) -> Result<u64, Rejection> {
    digits(text, header, "milliseconds")
}

fn digits(text: &str, header: &str, unit: &str) -> Result<u64, Rejection> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Rejection::malformed(format!(
            "{header} header must be {unit} since the Unix epoch, digits only"
        )));
    }
    text.parse::<u64>()
        .map_err(|_| Rejection::malformed(format!("{header} header is out of range")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_MS: u64 = 1_763_800_000_000;

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(NOW_MS)
    }

    #[test]
    fn edges_are_inclusive_and_sides_separate() {
        let window = Window::new(Duration::from_secs(10), Duration::from_secs(2));
        assert!(window.check_millis(NOW_MS - 10_000, now()).is_ok());
        assert!(window.check_millis(NOW_MS + 2_000, now()).is_ok());
        let kind = |ts| window.check_millis(ts, now()).unwrap_err().kind();
        assert_eq!(kind(NOW_MS - 10_001), RejectionKind::StaleTimestamp);
        assert_eq!(kind(NOW_MS + 2_001), RejectionKind::FutureTimestamp);
        assert_eq!(kind(u64::MAX), RejectionKind::FutureTimestamp);
        assert_eq!(kind(0), RejectionKind::StaleTimestamp);
    }

    #[test]
    fn remaining_counts_from_the_timestamp() {
        let window = Window::default();
        assert_eq!(
            window.remaining_millis(NOW_MS + 290_000, now()),
            Duration::from_millis(590_001)
        );
        assert_eq!(
            window.remaining_millis(NOW_MS - 300_000, now()),
            Duration::from_millis(1)
        );
        assert_eq!(window.remaining_millis(0, now()), Duration::from_millis(1));
    }

    #[test]
    fn digits_only() {
        assert_eq!(unix_seconds("1763800000", "T").unwrap(), 1_763_800_000);
        assert_eq!(unix_millis("18446744073709551615", "T").unwrap(), u64::MAX);
        for bad in [
            "",
            "+1",
            "-1",
            "1.5",
            "1e3",
            "0x10",
            "18446744073709551616",
            " 1",
        ] {
            let refused = unix_seconds(bad, "T").unwrap_err();
            assert_eq!(
                refused.kind(),
                RejectionKind::MalformedCredentials,
                "{bad:?}"
            );
        }
        assert_eq!(
            unix_millis("1.5", "X-Timestamp").unwrap_err().message(),
            "X-Timestamp header must be milliseconds since the Unix epoch, digits only"
        );
        assert_eq!(
            unix_millis("18446744073709551616", "X-Timestamp")
                .unwrap_err()
                .message(),
            "X-Timestamp header is out of range"
        );
    }
}
