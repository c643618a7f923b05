use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::sync::Cache;

use super::{ReplayKey, ReplayStore};
use crate::BoxFuture;
use crate::error::StoreError;

/// The in-process replay store, backed by a `moka` cache.
///
/// Each entry lives for the `ttl` given with it. The store has a *soft capacity*: once it holds
/// that many live entries, new checks fail with a [`StoreError`] (the layer answers 503) instead of
/// evicting remembered nonces, because an evicted nonce could be replayed. Only requests whose MAC
/// verified are recorded, so only holders of a secret can fill it; size the capacity for your
/// legitimate request rate times the TTL (times two for Inqud, which records a salt and a MAC
/// per request). Concurrent first uses may overshoot the bound by the
/// number of requests in flight.
///
/// Clones share the same cache.
#[derive(Clone)]
pub struct MokaReplayStore {
    cache: Cache<ReplayKey, Duration>,
    // Entries inserted and not yet evicted. moka's own `entry_count` is updated lazily, which
    // would let a burst of inserts pass the capacity unnoticed.
    held: Arc<AtomicU64>,
    capacity: u64,
}

struct PerEntryTtl;

impl Expiry<ReplayKey, Duration> for PerEntryTtl {
    fn expire_after_create(
        &self,
        _key: &ReplayKey,
        ttl: &Duration,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(*ttl)
    }
}

impl MokaReplayStore {
    /// Default soft capacity: ten million entries.
    pub const DEFAULT_CAPACITY: u64 = 10_000_000;

    /// A store with the default capacity.
    pub fn new() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// A store that refuses new entries once it holds `capacity` live ones.
    pub fn with_capacity(capacity: u64) -> Self {
        let held = Arc::new(AtomicU64::new(0));
        let evicted = Arc::clone(&held);
        let cache = Cache::builder()
            .expire_after(PerEntryTtl)
            .eviction_listener(move |_key, _ttl, _cause| {
                // Saturating: a count stuck at u64::MAX would refuse every request.
                let _ = evicted.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                    Some(n.saturating_sub(1))
                });
            })
            .build();
        Self {
            cache,
            held,
            capacity,
        }
    }

    /// Entries currently held, including expired ones not yet dropped (moka drops them lazily).
    pub fn len(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }

    /// Whether the store holds no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn check(&self, key: &ReplayKey, ttl: Duration) -> Result<bool, StoreError> {
        if self.cache.contains_key(key) {
            return Ok(false);
        }
        if self.len() >= self.capacity {
            // Expired entries still count until moka's housekeeping drops them.
            self.cache.run_pending_tasks();
            if self.len() >= self.capacity {
                return Err(StoreError::new("replay store is at capacity"));
            }
        }
        // `or_insert_with` coalesces concurrent callers on one key (moka's waiter map), so exactly
        // one of them sees a fresh entry. `or_insert` does not: it is a get, then an insert, and
        // two callers can both find the key absent and both report a fresh entry.
        let fresh = self.cache.entry(*key).or_insert_with(|| ttl).is_fresh();
        if fresh {
            self.held.fetch_add(1, Ordering::Relaxed);
        }
        Ok(fresh)
    }
}

impl Default for MokaReplayStore {
    fn default() -> Self {
        Self::new()
    }
}

impl ReplayStore for MokaReplayStore {
    fn insert_if_absent<'a>(
        &'a self,
        key: &'a ReplayKey,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(std::future::ready(self.check(key, ttl)))
    }
}

impl fmt::Debug for MokaReplayStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MokaReplayStore")
            .field("entries", &self.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn second_insert_is_a_replay() {
        let store = MokaReplayStore::new();
        let key = ReplayKey::new("s", "k", b"salt");
        let ttl = Duration::from_secs(60);
        assert!(store.insert_if_absent(&key, ttl).await.unwrap());
        assert!(!store.insert_if_absent(&key, ttl).await.unwrap());
        let other = ReplayKey::new("s", "k", b"salt2");
        assert!(store.insert_if_absent(&other, ttl).await.unwrap());
    }

    #[tokio::test]
    async fn entries_expire_after_their_ttl() {
        let store = MokaReplayStore::new();
        let key = ReplayKey::new("s", "k", b"n");
        assert!(
            store
                .insert_if_absent(&key, Duration::from_millis(30))
                .await
                .unwrap()
        );
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert!(
            store
                .insert_if_absent(&key, Duration::from_millis(30))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn full_store_fails_closed() {
        let store = MokaReplayStore::with_capacity(2);
        let ttl = Duration::from_secs(60);
        for n in [b"a", b"b"] {
            assert!(
                store
                    .insert_if_absent(&ReplayKey::new("s", "k", n), ttl)
                    .await
                    .unwrap()
            );
        }
        let err = store
            .insert_if_absent(&ReplayKey::new("s", "k", b"c"), ttl)
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "store unavailable: replay store is at capacity"
        );
        // A known key is still recognised as a replay when full.
        assert!(
            !store
                .insert_if_absent(&ReplayKey::new("s", "k", b"a"), ttl)
                .await
                .unwrap()
        );
    }

    #[test]
    fn concurrent_inserts_have_one_winner() {
        let store = MokaReplayStore::new();
        let wins = Arc::new(AtomicUsize::new(0));
        let key = ReplayKey::new("s", "k", b"race");
        std::thread::scope(|scope| {
            for _ in 0..8 {
                let (store, wins) = (store.clone(), Arc::clone(&wins));
                scope.spawn(move || {
                    for _ in 0..100 {
                        if store.check(&key, Duration::from_secs(60)).unwrap() {
                            wins.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                });
            }
        });
        assert_eq!(wins.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn many_keys_raced_have_one_winner_each() {
        // One race per key, started together on every thread: a check-then-insert window shows
        // up as a key with two winners within a few thousand races.
        const KEYS: usize = 5_000;
        const THREADS: usize = 4;
        let store = MokaReplayStore::new();
        let keys: Vec<_> = (0..KEYS)
            .map(|n| ReplayKey::new("s", "k", &n.to_be_bytes()))
            .collect();
        let wins: Vec<_> = (0..KEYS).map(|_| AtomicUsize::new(0)).collect();
        let start = std::sync::Barrier::new(THREADS);
        std::thread::scope(|scope| {
            for _ in 0..THREADS {
                scope.spawn(|| {
                    start.wait();
                    for (key, wins) in keys.iter().zip(&wins) {
                        if store.check(key, Duration::from_secs(60)).unwrap() {
                            wins.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                });
            }
        });
        let doubled = wins
            .iter()
            .filter(|w| w.load(Ordering::SeqCst) != 1)
            .count();
        assert_eq!(doubled, 0, "keys without exactly one winner");
    }
}
