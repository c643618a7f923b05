//! Counts of what the layers decided, per scheme (or per name a layer counts under) and rejection
//! kind, for graphs of refusals.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::rejection::RejectionKind;

/// Every rejection kind, in the order [`Counts::refusals`] lists them.
const KINDS: [RejectionKind; 16] = [
    RejectionKind::MissingCredentials,
    RejectionKind::MalformedCredentials,
    RejectionKind::UnknownKey,
    RejectionKind::KeyExpired,
    RejectionKind::KeyRevoked,
    RejectionKind::InvalidSignature,
    RejectionKind::NotAllowed,
    RejectionKind::StaleTimestamp,
    RejectionKind::FutureTimestamp,
    RejectionKind::Replayed,
    RejectionKind::DeliveryInFlight,
    RejectionKind::BodyTooLarge,
    RejectionKind::BodyTimeout,
    RejectionKind::BodyUnreadable,
    RejectionKind::InvalidRequest,
    RejectionKind::StoreUnavailable,
];

/// The position of `kind` in [`KINDS`]. Exhaustive: a new kind must be added there too.
fn slot(kind: RejectionKind) -> usize {
    match kind {
        RejectionKind::MissingCredentials => 0,
        RejectionKind::MalformedCredentials => 1,
        RejectionKind::UnknownKey => 2,
        RejectionKind::KeyExpired => 3,
        RejectionKind::KeyRevoked => 4,
        RejectionKind::InvalidSignature => 5,
        RejectionKind::NotAllowed => 6,
        RejectionKind::StaleTimestamp => 7,
        RejectionKind::FutureTimestamp => 8,
        RejectionKind::Replayed => 9,
        RejectionKind::DeliveryInFlight => 10,
        RejectionKind::BodyTooLarge => 11,
        RejectionKind::BodyTimeout => 12,
        RejectionKind::BodyUnreadable => 13,
        RejectionKind::InvalidRequest => 14,
        RejectionKind::StoreUnavailable => 15,
    }
}

/// Counters of requests accepted, acknowledged as duplicates and refused (by kind), per scheme,
/// shared by every layer given them with [`VerifyLayer::counters`](super::VerifyLayer::counters).
/// A layer given them with [`VerifyLayer::counters_as`](super::VerifyLayer::counters_as) counts
/// under the name it was given instead of its scheme's.
///
/// A cheap handle (clones share the counts): keep one and read it while the layers count. Each
/// decision is one relaxed atomic add; a layer without counters counts nothing. Refusals are
/// counted whether they are answered or, in [report-only](super::VerifyLayer::report_only) mode,
/// handed on. With the `metrics` feature, each count also increments the `metrics` crate's
/// counter `tower_hmac_requests_total` with the labels `scheme` (the row's name), `outcome`
/// (`accepted`, `duplicate`, `refused`) and, for refusals, `kind` (the
/// [`RejectionKind::code`]-like snake-case name of the kind, such as `invalid_signature`).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use tower_hmac::github::GitHubVerifyLayer;
/// use tower_hmac::pipeline::Counters;
/// use tower_hmac::{Key, RejectionKind, Secret};
///
/// let counters = Counters::new();
/// let key = Key::new("github", Secret::new("It's a Secret to Everybody").unwrap());
/// let layer = GitHubVerifyLayer::new(key).counters(counters.clone());
///
/// let (forged, ()) = http::Request::post("/hook")
///     .header("x-hub-signature-256", format!("sha256={}", "0".repeat(64)))
///     .body(())
///     .unwrap()
///     .into_parts();
/// assert!(layer.verifier().verify(&forged, b"{}").await.is_err());
///
/// let github = counters.get("github").unwrap();
/// assert_eq!(github.accepted(), 0);
/// assert_eq!(github.refused(RejectionKind::InvalidSignature), 1);
/// assert_eq!(github.refused_total(), 1);
/// # }
/// ```
#[derive(Clone, Default)]
pub struct Counters {
    schemes: Arc<Mutex<Vec<Arc<SchemeCounters>>>>,
}

/// One scheme's atomics, held by its layers' verifiers.
pub(crate) struct SchemeCounters {
    scheme: &'static str,
    accepted: AtomicU64,
    duplicates: AtomicU64,
    refused: [AtomicU64; KINDS.len()],
}

impl Counters {
    /// No counts yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The counters of `scheme` (a scheme's name, or the name layers count under), created on
    /// first use (at layer configuration, not per request).
    pub(crate) fn for_scheme(&self, scheme: &'static str) -> Arc<SchemeCounters> {
        let mut schemes = self.schemes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = schemes.iter().find(|s| s.scheme == scheme) {
            return Arc::clone(found);
        }
        let counters = Arc::new(SchemeCounters {
            scheme,
            accepted: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            refused: std::array::from_fn(|_| AtomicU64::new(0)),
        });
        schemes.push(Arc::clone(&counters));
        counters
    }

    /// The counts of `scheme` (its [`Scheme::name`](super::Scheme::name), or the name given to
    /// [`counters_as`](super::VerifyLayer::counters_as)), if a layer counts into these counters
    /// under it.
    pub fn get(&self, scheme: &str) -> Option<Counts> {
        let schemes = self.schemes.lock().unwrap_or_else(|e| e.into_inner());
        schemes
            .iter()
            .find(|s| s.scheme == scheme)
            .map(|s| s.read())
    }

    /// The counts of every scheme (and name), in the order their layers were configured.
    pub fn snapshot(&self) -> Vec<Counts> {
        let schemes = self.schemes.lock().unwrap_or_else(|e| e.into_inner());
        schemes.iter().map(|s| s.read()).collect()
    }
}

impl fmt::Debug for Counters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.snapshot()).finish()
    }
}

impl SchemeCounters {
    pub(crate) fn accepted(&self) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        metrics::counter!("tower_hmac_requests_total", "scheme" => self.scheme, "outcome" => "accepted")
            .increment(1);
    }

    pub(crate) fn duplicate(&self) {
        self.duplicates.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        metrics::counter!("tower_hmac_requests_total", "scheme" => self.scheme, "outcome" => "duplicate")
            .increment(1);
    }

    pub(crate) fn refused(&self, kind: RejectionKind) {
        if let Some(count) = self.refused.get(slot(kind)) {
            count.fetch_add(1, Ordering::Relaxed);
        }
        #[cfg(feature = "metrics")]
        metrics::counter!(
            "tower_hmac_requests_total",
            "scheme" => self.scheme,
            "outcome" => "refused",
            "kind" => kind_label(kind)
        )
        .increment(1);
    }

    fn read(&self) -> Counts {
        Counts {
            scheme: self.scheme,
            accepted: self.accepted.load(Ordering::Relaxed),
            duplicates: self.duplicates.load(Ordering::Relaxed),
            refused: std::array::from_fn(|i| {
                self.refused
                    .get(i)
                    .map_or(0, |count| count.load(Ordering::Relaxed))
            }),
        }
    }
}

/// The `kind` label of the `metrics` counter: the kind's name in snake case.
#[cfg(feature = "metrics")]
fn kind_label(kind: RejectionKind) -> &'static str {
    match kind {
        RejectionKind::MissingCredentials => "missing_credentials",
        RejectionKind::MalformedCredentials => "malformed_credentials",
        RejectionKind::UnknownKey => "unknown_key",
        RejectionKind::KeyExpired => "key_expired",
        RejectionKind::KeyRevoked => "key_revoked",
        RejectionKind::InvalidSignature => "invalid_signature",
        RejectionKind::NotAllowed => "not_allowed",
        RejectionKind::StaleTimestamp => "stale_timestamp",
        RejectionKind::FutureTimestamp => "future_timestamp",
        RejectionKind::Replayed => "replayed",
        RejectionKind::DeliveryInFlight => "delivery_in_flight",
        RejectionKind::BodyTooLarge => "body_too_large",
        RejectionKind::BodyTimeout => "body_timeout",
        RejectionKind::BodyUnreadable => "body_unreadable",
        RejectionKind::InvalidRequest => "invalid_request",
        RejectionKind::StoreUnavailable => "store_unavailable",
    }
}

/// What one scheme's layers (or those counting under one name) decided, read from [`Counters`] at
/// one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts {
    scheme: &'static str,
    accepted: u64,
    duplicates: u64,
    refused: [u64; KINDS.len()],
}

impl Counts {
    /// The scheme's name, or the name its layers count under
    /// ([`counters_as`](super::VerifyLayer::counters_as)).
    pub fn scheme(&self) -> &'static str {
        self.scheme
    }

    /// Requests verified and handed to the inner service (or answered by a handshake).
    pub fn accepted(&self) -> u64 {
        self.accepted
    }

    /// Copies of a handled webhook delivery, acknowledged without the inner service.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Requests refused with `kind` (in report-only mode: that would have been).
    pub fn refused(&self, kind: RejectionKind) -> u64 {
        self.refused.get(slot(kind)).copied().unwrap_or(0)
    }

    /// Requests refused, of every kind.
    pub fn refused_total(&self) -> u64 {
        self.refused.iter().sum()
    }

    /// The kinds refused at least once, with their counts.
    pub fn refusals(&self) -> impl Iterator<Item = (RejectionKind, u64)> + '_ {
        KINDS
            .iter()
            .zip(self.refused)
            .filter(|(_, n)| *n > 0)
            .map(|(kind, n)| (*kind, n))
    }
}

#[cfg(all(test, feature = "metrics"))]
mod metrics_tests {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    use metrics::{
        Counter, CounterFn, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit,
    };

    use super::*;

    /// Every counter incremented, as `name{label=value,...}` with its total.
    #[derive(Default)]
    struct Recorded(Arc<Mutex<BTreeMap<String, u64>>>);

    struct Count(Arc<Mutex<BTreeMap<String, u64>>>, String);

    impl CounterFn for Count {
        fn increment(&self, value: u64) {
            *self.0.lock().unwrap().entry(self.1.clone()).or_default() += value;
        }
        fn absolute(&self, value: u64) {
            self.0.lock().unwrap().insert(self.1.clone(), value);
        }
    }

    impl Recorder for Recorded {
        fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
            let labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            let name = format!("{}{{{}}}", key.name(), labels.join(","));
            Counter::from_arc(Arc::new(Count(Arc::clone(&self.0), name)))
        }
        fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
            Gauge::noop()
        }
        fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
            Histogram::noop()
        }
    }

    #[test]
    fn each_count_is_a_metrics_counter() {
        let recorder = Recorded::default();
        let counters = Counters::new();
        metrics::with_local_recorder(&recorder, || {
            let github = counters.for_scheme("github");
            github.accepted();
            github.accepted();
            github.duplicate();
            github.refused(RejectionKind::InvalidSignature);
            counters
                .for_scheme("humanos")
                .refused(RejectionKind::StaleTimestamp);
        });
        let recorded = recorder.0.lock().unwrap().clone();
        let total = "tower_hmac_requests_total";
        assert_eq!(
            recorded,
            BTreeMap::from([
                (format!("{total}{{scheme=github,outcome=accepted}}"), 2),
                (format!("{total}{{scheme=github,outcome=duplicate}}"), 1),
                (
                    format!("{total}{{scheme=github,outcome=refused,kind=invalid_signature}}"),
                    1
                ),
                (
                    format!("{total}{{scheme=humanos,outcome=refused,kind=stale_timestamp}}"),
                    1
                ),
            ])
        );
        // The layer's own counts agree.
        let github = counters.get("github").unwrap();
        assert_eq!((github.accepted(), github.duplicates()), (2, 1));
    }

    #[test]
    fn every_kind_has_its_snake_case_label() {
        for kind in KINDS {
            let label = kind_label(kind);
            let name: String = format!("{kind:?}")
                .chars()
                .enumerate()
                .flat_map(|(i, c)| {
                    let lower = c.to_ascii_lowercase();
                    if c.is_ascii_uppercase() && i > 0 {
                        vec!['_', lower]
                    } else {
                        vec![lower]
                    }
                })
                .collect();
            assert_eq!(label, name);
        }
    }
}
