//! Entries held per owner (a scheme and key id), so that one key cannot fill a store shared with
//! other keys, and the bounded counters both in-process stores use.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering, fence};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::StoreError;

const SHARDS: usize = 16;

/// Counts one more entry in `count` unless it holds `limit` already; returns whether it did.
/// Never lets the count past `limit`, even for concurrent callers.
pub(super) fn take(count: &AtomicU64, limit: u64) -> bool {
    if count.fetch_add(1, Ordering::Relaxed) < limit {
        true
    } else {
        count.fetch_sub(1, Ordering::Relaxed);
        false
    }
}

/// Counts `n` entries fewer in `count`.
pub(super) fn release(count: &AtomicU64, n: u64) {
    // Saturating: a count wrapped to near u64::MAX would refuse every request.
    let _ = count.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |held| {
        Some(held.saturating_sub(n))
    });
}

/// Three quarters of `capacity`, rounded up: one key alone is never refused while the store has
/// room for three quarters of it, and never takes the last quarter from the others.
pub(super) fn default_per_key_limit(capacity: u64) -> u64 {
    capacity - capacity / 4
}

/// Why a new key was not recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    Full,
    ShareFull,
}

impl Refusal {
    pub(super) fn into_error(self) -> StoreError {
        StoreError::new(match self {
            Self::Full => "replay store is at capacity",
            Self::ShareFull => "this key's share of the replay store is full",
        })
    }
}

/// The number of entries each owner holds, sharded by owner. A record lives while its owner holds
/// an entry or a table refers to it.
pub(super) struct Shares {
    shards: Box<[Mutex<Owners>]>,
}

type Owners = HashMap<u64, Arc<AtomicU64>, BuildHasherDefault<OwnerHasher>>;

impl Shares {
    pub(super) fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(Owners::default())).collect(),
        }
    }

    fn lock(&self, owner: u64) -> Option<MutexGuard<'_, Owners>> {
        let shard = self.shards.get((owner % SHARDS as u64) as usize)?;
        // No operation leaves a map half-updated, so a poisoned lock still guards a valid one.
        Some(shard.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// `owner`'s count, shared with every other holder of it.
    pub(super) fn share(&self, owner: u64) -> Arc<AtomicU64> {
        match self.lock(owner) {
            Some(mut owners) => Arc::clone(owners.entry(owner).or_default()),
            None => Arc::default(),
        }
    }

    /// Counts one more entry for `owner` unless it holds `limit` already.
    pub(super) fn take(&self, owner: u64, limit: u64) -> bool {
        match self.lock(owner) {
            Some(mut owners) => take(owners.entry(owner).or_default(), limit),
            None => false,
        }
    }

    /// Counts `n` entries fewer for `owner`, and forgets its record once it holds none.
    pub(super) fn release(&self, owner: u64, n: u64) {
        if let Some(mut owners) = self.lock(owner) {
            if let Some(count) = owners.get(&owner) {
                release(count, n);
            }
            Self::forget_if_idle(&mut owners, owner);
        }
    }

    /// Forgets `owner`'s record if it holds no entry and nothing else refers to it.
    pub(super) fn forget(&self, owner: u64) {
        if let Some(mut owners) = self.lock(owner) {
            Self::forget_if_idle(&mut owners, owner);
        }
    }

    fn forget_if_idle(owners: &mut Owners, owner: u64) {
        let Some(count) = owners.get(&owner) else {
            return;
        };
        // Every clone is made under this lock, so none can appear now. A clone dropped on another
        // thread after its last change to the count: the fence makes that change visible here.
        if Arc::strong_count(count) == 1 {
            fence(Ordering::Acquire);
            if count.load(Ordering::Relaxed) == 0 {
                owners.remove(&owner);
            }
        }
    }

    /// Entries `owner` holds.
    #[cfg(test)]
    pub(super) fn held(&self, owner: u64) -> u64 {
        self.lock(owner)
            .and_then(|owners| owners.get(&owner).map(|c| c.load(Ordering::Relaxed)))
            .unwrap_or(0)
    }

    /// Owners with a record.
    #[cfg(test)]
    pub(super) fn owners(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).len())
            .sum()
    }
}

/// Owners are already the leading bytes of a SHA-256, so they hash to themselves.
#[derive(Default)]
pub(super) struct OwnerHasher(u64);

impl Hasher for OwnerHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_stops_at_the_limit() {
        let count = AtomicU64::new(0);
        assert!(take(&count, 2));
        assert!(take(&count, 2));
        assert!(!take(&count, 2));
        assert_eq!(count.load(Ordering::Relaxed), 2);
        release(&count, 5);
        assert_eq!(count.load(Ordering::Relaxed), 0);
        assert!(!take(&count, 0));
    }

    #[test]
    fn an_owner_is_forgotten_once_it_holds_nothing() {
        let shares = Shares::new();
        assert!(shares.take(7, 2));
        assert!(shares.take(7, 2));
        assert!(!shares.take(7, 2));
        assert!(shares.take(8, 2));
        assert_eq!((shares.held(7), shares.held(8)), (2, 1));
        shares.release(7, 1);
        assert_eq!(shares.held(7), 1);
        assert_eq!(shares.owners(), 2);
        shares.release(7, 1);
        assert_eq!(shares.owners(), 1);

        // A record somebody still refers to stays, even at zero.
        let shared = shares.share(9);
        shares.forget(9);
        assert_eq!(shares.owners(), 2);
        drop(shared);
        shares.forget(9);
        assert_eq!(shares.owners(), 1);
    }
}
