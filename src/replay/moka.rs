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
    use super::super::contract;
    use super::*;

    #[test]
    fn second_insert_is_a_replay() {
        contract::second_insert_is_a_replay(&MokaReplayStore::new());
    }

    #[test]
    fn entries_expire_after_their_ttl() {
        contract::entries_expire_after_their_ttl(&MokaReplayStore::new());
    }

    #[test]
    fn full_store_fails_closed() {
        contract::full_store_fails_closed(&MokaReplayStore::with_capacity(2));
    }

    #[test]
    fn concurrent_inserts_have_one_winner() {
        contract::concurrent_inserts_have_one_winner(&MokaReplayStore::new());
    }

    #[test]
    fn many_keys_raced_have_one_winner_each() {
        contract::many_keys_raced_have_one_winner_each(&MokaReplayStore::new(), 5_000);
    }
}
