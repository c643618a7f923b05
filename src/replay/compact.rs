use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{ReplayKey, ReplayStore};
use crate::BoxFuture;
use crate::error::StoreError;

const SHARDS: usize = 64;
const MIN_SLOTS: usize = 16;

/// A compact in-process replay store: a sharded open-addressing hash set of 24-byte slots.
///
/// Same contract as [`MokaReplayStore`](super::MokaReplayStore), at a fraction of its memory and
/// cost per check (measured in BENCHMARKS.md): each entry lives for the `ttl` given with it
/// (counted in the process's monotonic time, to the millisecond, rounded up), and once the store
/// holds `capacity` entries a check of a new key first drops the expired ones and, if it is still
/// full, fails with a [`StoreError`] (the layer answers 503) instead of forgetting a remembered
/// nonce. A key already held is still recognised as a replay when the store is full. Concurrent
/// first uses may overshoot the capacity by the number of checks in flight.
///
/// Each slot keeps the first 16 bytes of the [`ReplayKey`] (itself a SHA-256) and the entry's
/// deadline. Two keys sharing those 128 bits would be taken for one another: the second would be
/// refused as a replay (failing closed); at ten million entries the chance of any such pair is
/// below 2⁻⁸⁰. Expired entries are dropped when their shard's table is rebuilt (as it grows) or
/// when the store is full, and their slots are reused by new keys in the meantime.
///
/// Clones share the same table.
#[derive(Clone)]
pub struct CompactReplayStore {
    inner: Arc<Inner>,
}

struct Inner {
    shards: Box<[Mutex<Table>]>,
    // Occupied slots over all shards, expired ones included until they are dropped.
    held: AtomicU64,
    capacity: u64,
    epoch: Instant,
}

#[derive(Clone, Copy, Default)]
struct Slot {
    tag: [u64; 2],
    // Milliseconds since `epoch` at which the entry expires; 0 marks an empty slot.
    deadline: u64,
}

struct Table {
    slots: Vec<Slot>,
    // Slots that are not empty (live or expired).
    used: usize,
    // No entry expires before this (`u64::MAX`: no entry), so a full store skips the tables that
    // have nothing to drop instead of rebuilding every one of them on every refused check.
    earliest: u64,
}

/// What one locked attempt found.
enum Attempt {
    Replayed,
    Inserted,
    Full,
}

impl Table {
    fn new(len: usize) -> Self {
        Self {
            slots: vec![Slot::default(); len],
            used: 0,
            earliest: u64::MAX,
        }
    }

    /// Removes expired entries, sizing the table for the live ones; returns how many were dropped.
    fn rebuild(&mut self, now: u64) -> usize {
        let before = self.used;
        let live: Vec<Slot> = self
            .slots
            .iter()
            .filter(|s| s.deadline > now)
            .copied()
            .collect();
        let len = (live.len() * 2).next_power_of_two().max(MIN_SLOTS);
        *self = Self::new(len);
        for slot in live {
            // At most half full, so there is always an empty slot on the probe path.
            let empty = self.probe(slot.tag).find(|s| s.deadline == 0);
            if let Some(empty) = empty {
                *empty = slot;
                self.used += 1;
                self.earliest = self.earliest.min(slot.deadline);
            }
        }
        before.saturating_sub(self.used)
    }

    /// The slots from `tag`'s position on, wrapping around once.
    fn probe(&mut self, tag: [u64; 2]) -> impl Iterator<Item = &mut Slot> {
        let start = tag[0] as usize & (self.slots.len() - 1);
        let (head, tail) = self
            .slots
            .split_at_mut_checked(start)
            .unwrap_or((&mut [], &mut []));
        tail.iter_mut().chain(head.iter_mut())
    }
}

impl CompactReplayStore {
    /// Default capacity: ten million entries (240 to 600 MB of tables when full of live entries).
    pub const DEFAULT_CAPACITY: u64 = 10_000_000;

    /// A store with the default capacity.
    pub fn new() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// A store that refuses new entries once it holds `capacity` of them.
    pub fn with_capacity(capacity: u64) -> Self {
        Self {
            inner: Arc::new(Inner {
                shards: (0..SHARDS)
                    .map(|_| Mutex::new(Table::new(MIN_SLOTS)))
                    .collect(),
                held: AtomicU64::new(0),
                capacity,
                epoch: Instant::now(),
            }),
        }
    }

    /// Entries currently held, including expired ones not yet dropped.
    pub fn len(&self) -> u64 {
        self.inner.held.load(Ordering::Relaxed)
    }

    /// Whether the store holds no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn now_ms(&self) -> u64 {
        self.inner.epoch.elapsed().as_millis() as u64
    }

    fn lock(shard: &Mutex<Table>) -> MutexGuard<'_, Table> {
        // No operation leaves a table half-updated, so a poisoned lock still guards a valid one.
        shard.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check(&self, key: &ReplayKey, ttl: Duration) -> Result<bool, StoreError> {
        let mut words = [0u64; 4];
        for (word, bytes) in words.iter_mut().zip(key.as_bytes().chunks_exact(8)) {
            let mut le = [0u8; 8];
            le.copy_from_slice(bytes);
            *word = u64::from_le_bytes(le);
        }
        let [tag0, tag1, shard, _] = words;
        let tag = [tag0, tag1];
        let shard = shard as usize % SHARDS;

        match self.attempt(shard, tag, ttl) {
            Attempt::Replayed => Ok(false),
            Attempt::Inserted => Ok(true),
            Attempt::Full => {
                self.drop_expired();
                match self.attempt(shard, tag, ttl) {
                    Attempt::Replayed => Ok(false),
                    Attempt::Inserted => Ok(true),
                    Attempt::Full => Err(StoreError::new("replay store is at capacity")),
                }
            }
        }
    }

    fn attempt(&self, shard: usize, tag: [u64; 2], ttl: Duration) -> Attempt {
        let now = self.now_ms();
        let ttl_ms = u64::try_from(ttl.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX);
        // `now` is rounded down, so one more millisecond keeps the entry for at least `ttl`; it is
        // never 0, which marks an empty slot.
        let deadline = now.saturating_add(ttl_ms).saturating_add(1);

        let Some(shard) = self.inner.shards.get(shard) else {
            return Attempt::Full;
        };
        let mut table = Self::lock(shard);
        // The first expired slot on the probe path, reusable by a new key, and the empty slot
        // that ends the path (the table is never full: see the rebuild below).
        let mut reusable = None;
        let mut empty = None;
        let mut refreshed = false;
        for slot in table.probe(tag) {
            if slot.deadline == 0 {
                empty = Some(slot);
                break;
            }
            let expired = slot.deadline <= now;
            if slot.tag == tag {
                if !expired {
                    return Attempt::Replayed;
                }
                // The same key, expired: remembered again from now.
                slot.deadline = deadline;
                refreshed = true;
                break;
            }
            if expired && reusable.is_none() {
                reusable = Some(slot);
            }
        }

        if refreshed {
            table.earliest = table.earliest.min(deadline);
            return Attempt::Inserted;
        }
        if let Some(slot) = reusable {
            // Replaces an expired entry: the number held does not change.
            *slot = Slot { tag, deadline };
            table.earliest = table.earliest.min(deadline);
            return Attempt::Inserted;
        }
        let Some(slot) = empty else {
            return Attempt::Full;
        };
        if self.inner.held.load(Ordering::Relaxed) >= self.inner.capacity {
            return Attempt::Full;
        }
        *slot = Slot { tag, deadline };
        table.used += 1;
        table.earliest = table.earliest.min(deadline);
        self.inner.held.fetch_add(1, Ordering::Relaxed);
        // Keep the load at most 4/5, expired entries included, so probes stay short and always
        // end at an empty slot.
        if table.used * 5 > table.slots.len() * 4 {
            let dropped = table.rebuild(now);
            self.release(dropped);
        }
        Attempt::Inserted
    }

    /// Drops expired entries from every shard that has some.
    fn drop_expired(&self) {
        for shard in self.inner.shards.iter() {
            let now = self.now_ms();
            let mut table = Self::lock(shard);
            if table.earliest <= now {
                let dropped = table.rebuild(now);
                self.release(dropped);
            }
        }
    }

    fn release(&self, dropped: usize) {
        // Saturating: a count stuck at u64::MAX would refuse every request.
        let _ = self
            .inner
            .held
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(dropped as u64))
            });
    }
}

impl Default for CompactReplayStore {
    fn default() -> Self {
        Self::new()
    }
}

impl ReplayStore for CompactReplayStore {
    fn insert_if_absent<'a>(
        &'a self,
        key: &'a ReplayKey,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(std::future::ready(self.check(key, ttl)))
    }
}

impl fmt::Debug for CompactReplayStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompactReplayStore")
            .field("entries", &self.len())
            .field("capacity", &self.inner.capacity)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::super::contract;
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    /// A key whose slot position and shard are chosen: `tag0` decides the position, `tag1` tells
    /// keys apart, `shard` picks the shard.
    fn raw_key(tag0: u64, tag1: u64, shard: u64) -> ReplayKey {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&tag0.to_le_bytes());
        bytes[8..16].copy_from_slice(&tag1.to_le_bytes());
        bytes[16..24].copy_from_slice(&shard.to_le_bytes());
        ReplayKey {
            hash: bytes,
            owner: 0,
        }
    }

    #[test]
    fn second_insert_is_a_replay() {
        let store = CompactReplayStore::new();
        contract::second_insert_is_a_replay(&store);
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn entries_expire_after_their_ttl() {
        contract::entries_expire_after_their_ttl(&CompactReplayStore::new());
    }

    #[test]
    fn an_entry_lives_at_least_its_ttl() {
        let store = CompactReplayStore::new();
        let key = ReplayKey::new("s", "k", b"n");
        let ttl = Duration::from_millis(200);
        let start = Instant::now();
        assert!(store.check(&key, ttl).unwrap());
        while start.elapsed() < Duration::from_millis(190) {
            assert!(!store.check(&key, ttl).unwrap(), "forgotten before its TTL");
        }
    }

    #[test]
    fn full_store_fails_closed() {
        contract::full_store_fails_closed(&CompactReplayStore::with_capacity(2));
    }

    #[test]
    fn expired_entries_free_capacity() {
        let store = CompactReplayStore::with_capacity(3);
        let short = Duration::from_millis(20);
        for n in 0u32..3 {
            assert!(
                store
                    .check(&ReplayKey::new("s", "k", &n.to_be_bytes()), short)
                    .unwrap()
            );
        }
        assert!(
            store
                .check(&ReplayKey::new("s", "k", b"new"), HOUR)
                .is_err()
        );
        std::thread::sleep(Duration::from_millis(50));
        for n in 10u32..13 {
            assert!(
                store
                    .check(&ReplayKey::new("s", "k", &n.to_be_bytes()), HOUR)
                    .unwrap()
            );
        }
        assert_eq!(store.len(), 3);
        assert!(
            store
                .check(&ReplayKey::new("s", "k", b"one more"), HOUR)
                .is_err()
        );
    }

    #[test]
    fn an_expired_slot_does_not_hide_a_live_key_behind_it() {
        let store = CompactReplayStore::new();
        // Same position and shard, different keys: b sits right after a on the probe path.
        let a = raw_key(5, 1, 7);
        let b = raw_key(5, 2, 7);
        let c = raw_key(5, 3, 7);
        assert!(store.check(&a, Duration::from_millis(10)).unwrap());
        assert!(store.check(&b, HOUR).unwrap());
        std::thread::sleep(Duration::from_millis(30));
        // a expired; b must still be found past a's slot.
        assert!(!store.check(&b, HOUR).unwrap());
        // c takes a's slot; b is still behind it.
        assert!(store.check(&c, HOUR).unwrap());
        assert!(!store.check(&b, HOUR).unwrap());
        assert!(!store.check(&c, HOUR).unwrap());
        // a is new again.
        assert!(store.check(&a, HOUR).unwrap());
        assert!(!store.check(&a, HOUR).unwrap());
        assert_eq!(store.len(), 3);
    }

    #[test]
    fn many_keys_survive_table_growth() {
        let store = CompactReplayStore::new();
        let keys: Vec<_> = (0u32..100_000)
            .map(|n| ReplayKey::new("s", "k", &n.to_be_bytes()))
            .collect();
        for key in &keys {
            assert!(store.check(key, HOUR).unwrap());
        }
        for key in &keys {
            assert!(!store.check(key, HOUR).unwrap());
        }
        assert_eq!(store.len(), 100_000);
    }

    #[test]
    fn concurrent_inserts_have_one_winner() {
        contract::concurrent_inserts_have_one_winner(&CompactReplayStore::new());
    }

    #[test]
    fn many_keys_raced_have_one_winner_each() {
        const KEYS: u32 = 20_000;
        let store = CompactReplayStore::new();
        contract::many_keys_raced_have_one_winner_each(&store, KEYS);
        assert_eq!(store.len(), u64::from(KEYS));
    }

    #[test]
    fn debug_shows_counts_only() {
        let store = CompactReplayStore::with_capacity(5);
        assert!(store.check(&ReplayKey::new("s", "k", b"x"), HOUR).unwrap());
        assert_eq!(
            format!("{store:?}"),
            "CompactReplayStore { entries: 1, capacity: 5 }"
        );
    }
}
