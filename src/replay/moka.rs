use std::fmt;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::ops::compute::{CompResult, Op};
use moka::sync::Cache;

use super::shares::{self, Refusal, Shares, default_per_key_limit};
use super::time::{self, StoreClock};
use super::{ReplayKey, Reservation, Settle, Ticket};
use crate::clock::Clock;
use crate::error::StoreError;

/// The in-process replay store, backed by a `moka` cache.
///
/// Each entry lives for the `ttl` given with it, counted in the process's monotonic time, or on
/// the [`clock`](Self::clock) given to the store. The store has a *capacity*: once it holds that
/// many entries, a check of a new key fails with a [`StoreError`] (the layer answers 503) instead
/// of evicting remembered nonces, because an evicted nonce could be replayed. A key already held
/// is still recognised as a replay when the store is full.
///
/// # One key cannot fill it
///
/// Only requests whose MAC verified are recorded, so only holders of a secret can fill the store,
/// but one holder could fill it for everyone. Entries are therefore counted per
/// [owner](ReplayKey::owner) (scheme and key id), and a key holding its
/// [share](Self::per_key_limit) gets errors for its new nonces alone while other keys still record
/// theirs. By default a key may hold three quarters of the capacity: a single key is never refused
/// while the store has room, and it can never take the last quarter from the others. With many
/// tenants, set the share to the capacity divided by the number of tenants you expect.
///
/// # Memory
///
/// An entry takes about 400 bytes of resident memory (moka's per-entry bookkeeping, not the 64
/// bytes of key and value, dominates). The [default capacity](Self::DEFAULT_CAPACITY), 600,000
/// entries, keeps a full store within a budget of 256 MiB: about 230 MiB as measured
/// (`cargo bench --bench replay_store`, which fills a default store). Size it for your legitimate
/// request rate times the TTL (times two for Inqud, which records a salt and a MAC per request:
/// one request per second of one token for 24 hours is 172,800 entries).
/// [`CompactReplayStore`](super::CompactReplayStore) holds the same in about an eighth of the
/// memory.
///
/// # Expiry on an injected clock
///
/// moka expires entries on its own clock, the process's monotonic time. With an injected
/// [`clock`](Self::clock) each entry also keeps its deadline on that clock; an entry past it is
/// treated as absent (atomically: of concurrent checks exactly one records the key again), and a
/// full store (or a key at its share) drops such entries before refusing a new key. moka still drops every entry once its
/// `ttl` has passed in monotonic time, so an entry lives until its `ttl` has passed on the
/// injected clock or in the process's time, whichever comes first.
///
/// # Webhook deliveries
///
/// It keeps the delivery states webhook layers need ([`reserve`](super::ReplayStore::reserve) and
/// [`settle`](super::ReplayStore::settle)): a delivery being handled is an entry that lives for
/// the hold, with a ticket no other reservation of the store has, a handled one an entry like a
/// nonce, and a failed one is removed. A reservation takes room, and counts for its key's share,
/// like a nonce.
///
/// Clones share the same entries and counts; set the options before cloning.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use tower_hmac::MokaReplayStore;
/// use tower_hmac::{ManualClock, ReplayKey, ReplayStore, StoreError};
/// # use std::task::{Context, Poll, Waker};
/// # fn check(store: &impl ReplayStore, key: &ReplayKey, ttl: Duration) -> Result<bool, StoreError> {
/// #     match store.insert_if_absent(key, ttl).as_mut().poll(&mut Context::from_waker(Waker::noop())) {
/// #         Poll::Ready(answer) => answer,
/// #         Poll::Pending => unreachable!("in-process stores answer at once"),
/// #     }
/// # }
///
/// let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
/// let store = MokaReplayStore::with_capacity(1_000)
///     .per_key_limit(2)
///     .clock(clock.clone());
/// let ttl = Duration::from_secs(300);
/// let salt = |salt: &str| ReplayKey::new("inqud", "TKN-1", salt.as_bytes());
///
/// assert!(check(&store, &salt("a"), ttl)?); // first use
/// assert!(!check(&store, &salt("a"), ttl)?); // replay
/// assert!(check(&store, &salt("b"), ttl)?);
/// // TKN-1 holds its share: an error (503) for its new salts, not for other tokens.
/// assert!(check(&store, &salt("c"), ttl).is_err());
/// assert!(check(&store, &ReplayKey::new("inqud", "TKN-2", b"c"), ttl)?);
/// // Once its salts expired on the store's clock, TKN-1 records new ones again.
/// clock.advance(ttl + Duration::from_millis(2));
/// assert!(check(&store, &salt("c"), ttl)?);
/// # Ok::<(), StoreError>(())
/// ```
#[derive(Clone)]
pub struct MokaReplayStore {
    cache: Cache<ReplayKey, Held, KeyHashing>,
    counts: Arc<Counts>,
    capacity: u64,
    per_key_limit: u64,
    clock: StoreClock,
}

/// What the cache keeps for a key.
#[derive(Clone, Copy)]
struct Held {
    /// On the store's clock (see `time::deadline`).
    deadline: u64,
    /// For moka's own expiry.
    ttl: Duration,
    state: State,
}

/// A key's state: a nonce seen, a delivery handled, or a delivery being handled by the copy
/// holding the ticket.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Done,
    InFlight(Ticket),
}

/// Entries the cache holds, over all owners and per owner, and the reservations made. moka's own
/// `entry_count` is updated lazily, which would let a burst of inserts pass the capacity
/// unnoticed.
///
/// Every value put into the cache is counted before it is put, and every value leaving it (expired,
/// removed or replaced: the eviction listener hears of each) is counted off, so the counts are the
/// values in the cache, whatever moka reports a put as.
struct Counts {
    held: AtomicU64,
    shares: Shares,
    /// No entry expires on an injected clock before this (`u64::MAX`: none, or the clock is not
    /// injected), so that a full store looks for such entries only when there can be some.
    earliest: AtomicU64,
    /// Reservations made: each one's ticket is the count before it. The store's entries live in
    /// this process alone, so a count tells its reservations apart, without the system call
    /// (about 370 ns here) a random ticket costs; a store shared between processes draws random
    /// ones (`Ticket::new`).
    tickets: AtomicU64,
}

/// How the cache hashes a [`ReplayKey`]: a few multiplications over its bytes instead of moka's
/// default SipHash, which took about a sixth of an insert's instructions (callgrind, measured in
/// BENCHMARKS.md). The key is a SHA-256 already, so it needs no strong hash to spread; the seed,
/// drawn per store and mixed in before the first word, keeps anyone from computing where a key
/// lands, so nobody can choose keys that share buckets.
#[derive(Clone)]
struct KeyHashing {
    seed: u64,
}

impl KeyHashing {
    fn new() -> Self {
        Self {
            seed: RandomState::new().build_hasher().finish(),
        }
    }
}

impl BuildHasher for KeyHashing {
    type Hasher = KeyHasher;

    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(self.seed)
    }
}

struct KeyHasher(u64);

impl KeyHasher {
    /// An odd 64-bit constant (from the golden ratio) whose products spread bits upwards.
    const MIX: u64 = 0x9e37_79b9_7f4a_7c15;

    fn mix(&mut self, word: u64) {
        self.0 = (self.0 ^ word).wrapping_mul(Self::MIX);
    }
}

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0; 8];
            word.iter_mut()
                .zip(chunk)
                .for_each(|(to, from)| *to = *from);
            self.mix(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.mix(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.mix(n as u64);
    }

    /// The high half folded into the low one: a product's low bits depend only on its factors'
    /// low bits, and tables index by them.
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 32)
    }
}

struct PerEntryTtl;

impl Expiry<ReplayKey, Held> for PerEntryTtl {
    fn expire_after_create(
        &self,
        _key: &ReplayKey,
        held: &Held,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(held.ttl)
    }

    // A key recorded again (its entry had expired on an injected clock) lives for its new TTL,
    // not for what remained of the old one.
    fn expire_after_update(
        &self,
        _key: &ReplayKey,
        held: &Held,
        _updated_at: Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        Some(held.ttl)
    }
}

impl MokaReplayStore {
    /// Default capacity: 600,000 entries, about 230 MiB when full (see *Memory* above).
    pub const DEFAULT_CAPACITY: u64 = 600_000;

    /// A store with the default capacity.
    pub fn new() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// A store that refuses new entries once it holds `capacity` of them, and new entries of a key
    /// holding three quarters of `capacity` (see [`per_key_limit`](Self::per_key_limit)).
    pub fn with_capacity(capacity: u64) -> Self {
        let counts = Arc::new(Counts {
            held: AtomicU64::new(0),
            shares: Shares::new(),
            earliest: AtomicU64::new(u64::MAX),
            tickets: AtomicU64::new(0),
        });
        let listener = Arc::clone(&counts);
        let cache = Cache::builder()
            .expire_after(PerEntryTtl)
            .eviction_listener(move |key: Arc<ReplayKey>, _held, _cause| {
                // Every cause, `Replaced` included: the replacing value was counted when put.
                shares::release(&listener.held, 1);
                listener.shares.release(key.owner(), 1);
            })
            .build_with_hasher(KeyHashing::new());
        Self {
            cache,
            counts,
            capacity,
            per_key_limit: default_per_key_limit(capacity),
            clock: StoreClock::monotonic(),
        }
    }

    /// How many entries one key (one [owner](ReplayKey::owner): scheme and key id) may hold;
    /// a new nonce of a key holding that many fails with a [`StoreError`] (503 for that key only)
    /// while other keys still record theirs. Default: three quarters of the capacity. A limit of
    /// 0 refuses every new key.
    pub fn per_key_limit(mut self, limit: u64) -> Self {
        self.per_key_limit = limit;
        self
    }

    /// Counts TTLs on `clock` instead of the process's monotonic time (see *Expiry on an
    /// injected clock* above). For tests, a [`ManualClock`](crate::ManualClock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = StoreClock::injected(clock);
        self
    }

    /// Entries currently held, including expired ones not yet dropped (moka drops them lazily).
    pub fn len(&self) -> u64 {
        self.counts.held.load(Ordering::Relaxed)
    }

    /// Whether the store holds no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn check(&self, key: &ReplayKey, ttl: Duration) -> Result<bool, StoreError> {
        self.record(key, ttl, State::Done).map(|put| put.is_ok())
    }

    /// Puts `key` in `state` for `ttl` unless it is held live: `Ok(Ok(deadline))` when put,
    /// `Ok(Err(state))` with the state it is held in.
    fn record(
        &self,
        key: &ReplayKey,
        ttl: Duration,
        state: State,
    ) -> Result<Result<u64, State>, StoreError> {
        if let Ok(put) = self.attempt(key, ttl, state) {
            return Ok(put);
        }
        // Expired entries still count until they are dropped.
        self.cache.run_pending_tasks();
        self.drop_expired();
        self.attempt(key, ttl, state).map_err(Refusal::into_error)
    }

    fn attempt(
        &self,
        key: &ReplayKey,
        ttl: Duration,
        state: State,
    ) -> Result<Result<u64, State>, Refusal> {
        let now = self.clock.now_ms();
        // A replay needs no lock: a live entry stays live.
        if let Some(held) = self.cache.get(key).filter(|held| held.deadline > now) {
            return Ok(Err(held.state));
        }
        let held = Held {
            deadline: time::deadline(now, ttl),
            ttl,
            state,
        };
        let mut refusal = Refusal::Full;
        // moka runs this closure for one caller of a key at a time, and its answer is applied
        // before the next caller's runs: of concurrent first uses exactly one puts the key.
        let result = self
            .cache
            .entry(*key)
            .and_compute_with(|existing| match existing {
                Some(entry) if entry.value().deadline > now => Op::Nop,
                // Expired on the store's clock: recorded again. The old value is counted off when it
                // is replaced, so the count does not grow and no limit applies.
                Some(_) => {
                    self.counts.held.fetch_add(1, Ordering::Relaxed);
                    self.counts.shares.take(key.owner(), u64::MAX);
                    Op::Put(held)
                }
                None => match self.take_room(key.owner()) {
                    Ok(()) => Op::Put(held),
                    Err(why) => {
                        refusal = why;
                        Op::Nop
                    }
                },
            });
        match result {
            CompResult::Inserted(_) | CompResult::ReplacedWith(_) => {
                self.note_deadline(held.deadline);
                Ok(Ok(held.deadline))
            }
            CompResult::Unchanged(entry) => Ok(Err(entry.value().state)),
            CompResult::StillNone(_) | CompResult::Removed(_) => Err(refusal),
        }
    }

    /// Removes the nonce `key` recorded with `deadline` if it is still that record (see
    /// `super::record_all`); the listener counts it off.
    fn take_back(&self, key: &ReplayKey, deadline: u64) {
        let recorded = |held: &Held| held.deadline == deadline && held.state == State::Done;
        self.cache
            .entry(*key)
            .and_compute_with(|existing| match existing {
                Some(entry) if recorded(entry.value()) => Op::Remove,
                _ => Op::Nop,
            });
    }

    /// [`ReplayStore::reserve`](super::ReplayStore::reserve), answered at once.
    fn reservation(&self, key: &ReplayKey, hold: Duration) -> Result<Reservation, StoreError> {
        let ticket = Ticket::from_value(self.counts.tickets.fetch_add(1, Ordering::Relaxed));
        Ok(match self.record(key, hold, State::InFlight(ticket))? {
            Ok(_) => Reservation::New(ticket),
            Err(State::InFlight(_)) => Reservation::InFlight,
            Err(State::Done) => Reservation::Done,
        })
    }

    /// [`ReplayStore::insert_all_if_absent`](super::ReplayStore::insert_all_if_absent), answered
    /// at once.
    fn record_all(&self, keys: &[ReplayKey], ttl: Duration) -> Result<bool, StoreError> {
        super::record_all(
            keys,
            &mut |key| Ok(self.record(key, ttl, State::Done)?.ok()),
            &mut |key, deadline| self.take_back(key, deadline),
        )
    }

    fn note_deadline(&self, deadline: u64) {
        if self.clock.is_injected() {
            self.counts.earliest.fetch_min(deadline, Ordering::Relaxed);
        }
    }

    /// Ends the reservation `ticket` holds on `key`.
    fn end(&self, key: &ReplayKey, ticket: Ticket, outcome: Settle) -> Result<(), StoreError> {
        let mine = |held: &Held| held.state == State::InFlight(ticket);
        let Settle::Done(ttl) = outcome else {
            // Forgotten, if still this copy's (the listener counts it off).
            self.cache
                .entry(*key)
                .and_compute_with(|existing| match existing {
                    Some(entry) if mine(entry.value()) => Op::Remove,
                    _ => Op::Nop,
                });
            return Ok(());
        };
        let now = self.clock.now_ms();
        let held = Held {
            deadline: time::deadline(now, ttl),
            ttl,
            state: State::Done,
        };
        let mut refusal = None;
        let result = self
            .cache
            .entry(*key)
            .and_compute_with(|existing| match existing {
                // This copy's reservation, or a dead entry (another copy's lapsed reservation,
                // say): the delivery was handled all the same. Replaced: the old value is
                // counted off when it leaves.
                Some(entry) if mine(entry.value()) || entry.value().deadline <= now => {
                    self.counts.held.fetch_add(1, Ordering::Relaxed);
                    self.counts.shares.take(key.owner(), u64::MAX);
                    Op::Put(held)
                }
                // Taken by another copy after this one's reservation lapsed, or done already.
                Some(_) => Op::Nop,
                // The reservation lapsed and was dropped: the delivery was handled all the same.
                None => match self.take_room(key.owner()) {
                    Ok(()) => Op::Put(held),
                    Err(why) => {
                        refusal = Some(why);
                        Op::Nop
                    }
                },
            });
        if let CompResult::Inserted(_) | CompResult::ReplacedWith(_) = result {
            self.note_deadline(held.deadline);
        }
        match refusal {
            Some(why) => Err(why.into_error()),
            None => Ok(()),
        }
    }

    /// Counts one more entry for `owner`, within the capacity and its share.
    fn take_room(&self, owner: u64) -> Result<(), Refusal> {
        if !shares::take(&self.counts.held, self.capacity) {
            return Err(Refusal::Full);
        }
        if !self.counts.shares.take(owner, self.per_key_limit) {
            shares::release(&self.counts.held, 1);
            return Err(Refusal::ShareFull);
        }
        Ok(())
    }

    /// Removes the entries expired on an injected clock that moka still holds.
    fn drop_expired(&self) {
        let now = self.clock.now_ms();
        if self.counts.earliest.load(Ordering::Relaxed) > now {
            return;
        }
        // Checks recording keys meanwhile lower it again.
        self.counts.earliest.store(u64::MAX, Ordering::Relaxed);
        let mut earliest = u64::MAX;
        for (key, held) in self.cache.iter() {
            if held.deadline > now {
                earliest = earliest.min(held.deadline);
                continue;
            }
            // Removed only if still expired: a concurrent check may have recorded it again.
            let result = self
                .cache
                .entry(*key)
                .and_compute_with(|existing| match existing {
                    Some(entry) if entry.value().deadline <= now => Op::Remove,
                    _ => Op::Nop,
                });
            if let CompResult::Unchanged(entry) = result {
                earliest = earliest.min(entry.value().deadline);
            }
        }
        self.counts.earliest.fetch_min(earliest, Ordering::Relaxed);
    }

    /// Entries `owner` holds.
    #[cfg(test)]
    pub(super) fn held_by(&self, owner: u64) -> u64 {
        self.counts.shares.held(owner)
    }
}

impl Default for MokaReplayStore {
    fn default() -> Self {
        Self::new()
    }
}

super::in_process_store!(MokaReplayStore);

impl fmt::Debug for MokaReplayStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MokaReplayStore")
            .field("entries", &self.len())
            .field("capacity", &self.capacity)
            .field("per_key_limit", &self.per_key_limit)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    super::super::contract::contract_tests!(MokaReplayStore, 5_000);

    use super::super::contract::{self, HOUR, check};
    use super::*;
    use crate::ManualClock;

    fn store(capacity: u64, clock: &ManualClock) -> MokaReplayStore {
        MokaReplayStore::with_capacity(capacity).clock(clock.clone())
    }

    /// The cache's hash of a key spreads keys over a table's buckets (its low bits), and each store
    /// draws its own seed.
    #[test]
    fn keys_hash_apart_under_a_seed_of_the_store() {
        let hashing = KeyHashing::new();
        let keys: Vec<ReplayKey> = (0u32..4096)
            .map(|i| ReplayKey::new("s", "k", &i.to_le_bytes()))
            .collect();
        let mut buckets = [0u32; 256];
        let mut hashes = std::collections::HashSet::new();
        for key in &keys {
            let hash = hashing.hash_one(key);
            assert!(hashes.insert(hash));
            buckets[(hash & 255) as usize] += 1;
        }
        // 16 per bucket on average; a hash blind to the key's bytes would put them all in one.
        assert!(buckets.iter().all(|n| (1..=48).contains(n)), "{buckets:?}");
        let other = KeyHashing::new();
        assert_ne!(hashing.hash_one(keys[0]), other.hash_one(keys[0]));
    }

    /// moka reports a value replaced by a key recorded again (its entry expired on the store's
    /// clock) as `Replaced`: the entry is counted once, not twice and not zero times.
    #[test]
    fn a_key_recorded_again_is_counted_once() {
        let clock = contract::clock();
        let store = store(2, &clock);
        let key = ReplayKey::new("s", "k", b"again");
        for _ in 0..3 {
            assert!(check(&store, &key, HOUR).unwrap());
            assert_eq!(store.len(), 1);
            assert_eq!(store.held_by(key.owner()), 1);
            clock.advance(2 * HOUR);
        }
        assert!(check(&store, &key, HOUR).unwrap());
        assert!(check(&store, &ReplayKey::new("s", "k", b"other"), HOUR).unwrap());
        let err = check(&store, &ReplayKey::new("s", "k", b"third"), HOUR).unwrap_err();
        assert_eq!(err.to_string(), contract::AT_CAPACITY);
        assert_eq!(store.len(), 2);
    }

    /// Entries expired on the store's clock, dropped to make room, are counted off their owner.
    #[test]
    fn dropped_entries_leave_their_owners_count() {
        let clock = contract::clock();
        let store = store(4, &clock).per_key_limit(4);
        let key = |n: u8| ReplayKey::new("s", "k", &[n]);
        for n in 0..4 {
            assert!(check(&store, &key(n), HOUR).unwrap());
        }
        clock.advance(2 * HOUR);
        assert!(check(&store, &key(9), HOUR).unwrap());
        assert_eq!(store.len(), 1);
        assert_eq!(store.held_by(key(0).owner()), 1);
        assert_eq!(store.counts.shares.owners(), 1);
    }

    #[test]
    fn debug_shows_counts_only() {
        let store = MokaReplayStore::with_capacity(5);
        assert!(check(&store, &ReplayKey::new("s", "k", b"x"), HOUR).unwrap());
        assert_eq!(
            format!("{store:?}"),
            "MokaReplayStore { entries: 1, capacity: 5, per_key_limit: 4 }"
        );
    }
}
