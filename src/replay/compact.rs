use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasherDefault;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::shares::{self, OwnerHasher, Refusal, Shares, default_per_key_limit};
use super::time::{self, StoreClock};
use super::{ReplayKey, Reservation, Settle, Ticket};
use crate::clock::Clock;
use crate::error::StoreError;

const SHARDS: usize = 64;
const MIN_SLOTS: usize = 16;

/// A compact in-process replay store: a sharded open-addressing hash set of 24-byte slots.
///
/// Same contract as [`MokaReplayStore`](super::MokaReplayStore), at a fraction of its memory and
/// cost per check (measured in BENCHMARKS.md): each entry lives for the `ttl` given with it
/// (counted in the process's monotonic time, or on the [`clock`](Self::clock) given to the store,
/// to the millisecond, rounded up), and once the store holds `capacity` entries a check of a new
/// key first drops the expired ones and, if it is still full, fails with a [`StoreError`] (the
/// layer answers 503) instead of forgetting a remembered nonce. A key already held is still
/// recognised as a replay when the store is full.
///
/// # One key cannot fill it
///
/// Entries are counted per [owner](ReplayKey::owner) (scheme and key id), and a key holding its
/// [share](Self::per_key_limit) gets errors for its new nonces alone (after the store dropped the
/// expired entries) while other keys still record theirs. By default a key may hold three quarters
/// of the capacity: a single key is never refused while the store has room, and it can never take
/// the last quarter from the others. With many tenants, set the share to the capacity divided by
/// the number of tenants you expect.
///
/// # Memory
///
/// A slot is 24 bytes: the first 12 bytes of the [`ReplayKey`] (itself a SHA-256), the entry's
/// deadline and its owner's number in the slot's table. Each table is kept between a quarter and
/// four fifths full (it doubles past four fifths; rebuilt without its expired entries, it is sized
/// for twice the live ones), so an entry costs 30 to 96 bytes: 52.5 resident at 1,000,000 entries,
/// 41 in a full default store (`cargo bench --bench replay_store`). The
/// [default capacity](Self::DEFAULT_CAPACITY), 2,500,000 entries, keeps a full store within a
/// budget of 256 MiB even with every table at its emptiest (at most 229 MiB; 99 MiB as measured).
/// Beside the tables: 24 KiB of empty ones, and a few dozen bytes per key id with entries.
///
/// Two keys sharing those 96 bits would be taken for one another: the second would be refused as
/// a replay (failing closed); at the default capacity the chance of any such pair is below 2⁻⁵⁴
/// (2⁻⁵⁰ at ten million entries).
/// Expired entries are dropped when their shard's table is rebuilt (as it grows) or when the store
/// (or a key's share) is full, and their slots are reused by new keys in the meantime.
///
/// # Webhook deliveries
///
/// It keeps the delivery states webhook layers need ([`reserve`](super::ReplayStore::reserve) and
/// [`settle`](super::ReplayStore::settle)) in the same 24-byte slots, with the same answers as
/// [`MokaReplayStore`](super::MokaReplayStore): a delivery being handled is an entry that lives
/// for the hold (its deadline is also its ticket, which no other reservation of the key shares), a
/// handled one an entry like a nonce, and a failed one is forgotten at once (its slot is reused or
/// dropped like an expired one). A reservation takes room, and counts for its key's share, like a
/// nonce.
///
/// Clones share the same table and counts; set the options before cloning.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use tower_hmac::replay::CompactReplayStore;
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
/// let store = CompactReplayStore::with_capacity(1_000)
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
pub struct CompactReplayStore {
    inner: Arc<Inner>,
    capacity: u64,
    per_key_limit: u64,
    clock: StoreClock,
}

struct Inner {
    shards: Box<[Mutex<Table>]>,
    // Occupied slots over all shards, expired ones included until they are dropped.
    held: AtomicU64,
    // The same per owner.
    shares: Shares,
}

#[derive(Clone, Copy, Default)]
struct Slot {
    // The key's first 8 bytes: its position in the table, and with `check` its identity.
    tag: u64,
    // Milliseconds on the store's clock at which the entry expires; 0 marks an empty slot.
    deadline: u64,
    // The key's next 4 bytes.
    check: u32,
    // Who recorded it: an index in its table's `owners`, under the entry's state (`STATE`).
    owner: u32,
}

/// `Slot::owner`'s top bit for a webhook delivery being handled. Its deadline (when the
/// reservation lapses) is the reservation's ticket: of two reservations of one key, the later one
/// is made only once the earlier one's deadline has passed, or after it failed (see
/// `Table::tickets_above`), and lasts past now, so no two have the same (a clock set back by hand
/// aside). A nonce seen or a delivery handled has no state bit.
const IN_FLIGHT: u32 = 1 << 31;
/// `Slot::owner`'s next bit for a delivery whose handling failed, or a nonce taken back (a check
/// that recorded it was refused): forgotten, as if it had expired (its slot is reused or dropped
/// like an expired one).
const FORGOTTEN: u32 = 1 << 30;
const STATE: u32 = IN_FLIGHT | FORGOTTEN;

impl Slot {
    /// Its owner's index in its table's `owners`.
    fn holder(&self) -> u32 {
        self.owner & !STATE
    }

    /// Whether it is remembered at `now`: not expired, not forgotten.
    fn live(&self, now: u64) -> bool {
        self.deadline > now && self.owner & FORGOTTEN == 0
    }

    fn in_flight(&self) -> bool {
        self.owner & STATE == IN_FLIGHT
    }

    /// Whether it is the reservation `ticket` holds, lapsed or not.
    fn reserved_by(&self, ticket: Ticket) -> bool {
        self.in_flight() && self.deadline == ticket.value()
    }
}

/// What a check asks of a key's slot.
#[derive(Clone, Copy)]
enum Op {
    /// Record it for `ttl` unless it is live: a nonce, or a delivery reserved (`in_flight`).
    Record { ttl: Duration, in_flight: bool },
    /// Remember the delivery `ticket` reserved as handled, for `ttl`.
    Done { ticket: Ticket, ttl: Duration },
    /// Forget the delivery `ticket` reserved.
    Forget { ticket: Ticket },
    /// Forget the nonce recorded with `deadline` (a check that recorded it was refused).
    TakeBack { deadline: u64 },
}

/// What a check found or did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// Recorded, with this deadline.
    Recorded(u64),
    /// Held live: a delivery being handled, or a nonce seen (a delivery handled).
    Held { in_flight: bool },
    /// Left as it was (a settle of a reservation that is no longer the ticket's).
    Left,
}

/// Where a key is, or would go, in its table.
struct Probe {
    /// The key's own slot, live or not.
    same: Option<usize>,
    /// The first dead (expired or forgotten) slot on the key's probe path before it.
    reusable: Option<usize>,
    /// The empty slot that ends the path.
    empty: Option<usize>,
}

/// An owner with entries in one table.
struct Holder {
    owner: u64,
    // Its slots in this table, live or expired.
    here: u64,
    // Its slots in every table.
    share: Arc<AtomicU64>,
}

struct Table {
    slots: Vec<Slot>,
    // Slots that are not empty (live or expired).
    used: usize,
    // No entry expires before this (`u64::MAX`: no entry), so a full store skips the tables that
    // have nothing to drop instead of rebuilding every one of them on every refused check.
    earliest: u64,
    // No reservation made in this table has a deadline (a ticket) at or below this: the highest
    // deadline of a reservation that failed, which may lie ahead of the clock while its slot is
    // already forgotten or dropped.
    tickets_above: u64,
    // The owners of this table's slots (and perhaps a few owners refused since its last rebuild),
    // so that the owner's count is found under this table's lock without a shared map.
    owners: Vec<Holder>,
    owner_index: HashMap<u64, u32, BuildHasherDefault<OwnerHasher>>,
}

/// Where a new key goes.
enum Target {
    /// An expired slot (the same key's, or the first on the probe path).
    Reuse(usize),
    /// The empty slot that ends the probe path.
    Empty(usize),
}

/// The slots from `tag`'s position on, wrapping around once (`len` is a power of two).
fn positions(len: usize, tag: u64) -> impl Iterator<Item = usize> {
    let start = tag as usize & len.wrapping_sub(1);
    (start..len).chain(0..start)
}

impl Table {
    fn new(len: usize) -> Self {
        Self {
            slots: vec![Slot::default(); len],
            used: 0,
            earliest: u64::MAX,
            tickets_above: 0,
            owners: Vec::new(),
            owner_index: HashMap::default(),
        }
    }

    /// `owner`'s index in `owners`, added if new; `None` if there is no room for another.
    fn holder(&mut self, owner: u64, shares: &Shares) -> Option<u32> {
        if let Some(index) = self.owner_index.get(&owner) {
            return Some(*index);
        }
        let index = u32::try_from(self.owners.len())
            .ok()
            .filter(|index| index & STATE == 0)?;
        self.owners.push(Holder {
            owner,
            here: 0,
            share: shares.share(owner),
        });
        self.owner_index.insert(owner, index);
        Some(index)
    }

    /// Puts `slot` in the first empty slot on its probe path.
    fn place(&mut self, slot: Slot) {
        let len = self.slots.len();
        let empty = positions(len, slot.tag).find(|&at| {
            self.slots
                .get(at)
                .is_some_and(|candidate| candidate.deadline == 0)
        });
        if let Some(empty) = empty.and_then(|at| self.slots.get_mut(at)) {
            *empty = slot;
            self.used += 1;
            self.earliest = self.earliest.min(slot.deadline);
        }
    }

    /// Removes expired entries, counting them off their owners, and sizes the table for the live
    /// ones; returns how many were dropped.
    fn rebuild(&mut self, now: u64, shares: &Shares) -> usize {
        let before = self.used;
        let old = std::mem::take(&mut self.slots);
        let holders = std::mem::take(&mut self.owners);
        self.owner_index.clear();

        let mut live: usize = 0;
        let mut live_per_holder = vec![0u64; holders.len()];
        for slot in old.iter().filter(|s| s.live(now)) {
            live += 1;
            if let Some(count) = live_per_holder.get_mut(slot.holder() as usize) {
                *count += 1;
            }
        }
        // Holders keep their order, without those left with nothing here.
        let mut renumbered = vec![u32::MAX; holders.len()];
        for ((holder, &live_here), new) in holders
            .into_iter()
            .zip(&live_per_holder)
            .zip(&mut renumbered)
        {
            shares::release(&holder.share, holder.here.saturating_sub(live_here));
            if live_here > 0 {
                // At most as many as before, so it fits.
                *new = self.owners.len() as u32;
                self.owner_index.insert(holder.owner, *new);
                self.owners.push(Holder {
                    here: live_here,
                    ..holder
                });
            } else {
                let owner = holder.owner;
                drop(holder);
                shares.forget(owner);
            }
        }

        let len = (live * 2).next_power_of_two().max(MIN_SLOTS);
        self.slots = vec![Slot::default(); len];
        self.used = 0;
        self.earliest = u64::MAX;
        for slot in old.into_iter().filter(|s| s.live(now)) {
            let owner = renumbered
                .get(slot.holder() as usize)
                .copied()
                .unwrap_or(u32::MAX);
            // At most half full, so there is always an empty slot on the probe path.
            self.place(Slot {
                owner: (owner & !STATE) | (slot.owner & IN_FLIGHT),
                ..slot
            });
        }
        before.saturating_sub(self.used)
    }

    /// Walks `tag`'s probe path at `now`, up to the key's own slot or the first empty one.
    fn probe(&self, tag: u64, check: u32, now: u64) -> Probe {
        let mut probe = Probe {
            same: None,
            reusable: None,
            empty: None,
        };
        for at in positions(self.slots.len(), tag) {
            let Some(slot) = self.slots.get(at) else {
                break;
            };
            if slot.deadline == 0 {
                probe.empty = Some(at);
                break;
            }
            if slot.tag == tag && slot.check == check {
                probe.same = Some(at);
                break;
            }
            if !slot.live(now) && probe.reusable.is_none() {
                probe.reusable = Some(at);
            }
        }
        probe
    }
}

impl CompactReplayStore {
    /// Default capacity: 2,500,000 entries, at most 229 MiB when full (see *Memory* above).
    pub const DEFAULT_CAPACITY: u64 = 2_500_000;

    /// A store with the default capacity.
    pub fn new() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// A store that refuses new entries once it holds `capacity` of them, and new entries of a key
    /// holding three quarters of `capacity` (see [`per_key_limit`](Self::per_key_limit)).
    pub fn with_capacity(capacity: u64) -> Self {
        Self {
            inner: Arc::new(Inner {
                shards: (0..SHARDS)
                    .map(|_| Mutex::new(Table::new(MIN_SLOTS)))
                    .collect(),
                held: AtomicU64::new(0),
                shares: Shares::new(),
            }),
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

    /// Counts TTLs on `clock` instead of the process's monotonic time. For tests, a
    /// [`ManualClock`](crate::ManualClock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = StoreClock::injected(clock);
        self
    }

    /// Entries currently held, including expired ones not yet dropped.
    pub fn len(&self) -> u64 {
        self.inner.held.load(Ordering::Relaxed)
    }

    /// Whether the store holds no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(shard: &Mutex<Table>) -> MutexGuard<'_, Table> {
        // No operation leaves a table half-updated, so a poisoned lock still guards a valid one.
        shard.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check(&self, key: &ReplayKey, ttl: Duration) -> Result<bool, StoreError> {
        let op = Op::Record {
            ttl,
            in_flight: false,
        };
        self.run(key, op)
            .map(|outcome| matches!(outcome, Outcome::Recorded(_)))
    }

    /// [`ReplayStore::reserve`](super::ReplayStore::reserve), answered at once.
    fn reservation(&self, key: &ReplayKey, hold: Duration) -> Result<Reservation, StoreError> {
        let op = Op::Record {
            ttl: hold,
            in_flight: true,
        };
        match self.run(key, op)? {
            Outcome::Recorded(deadline) => Ok(Reservation::New(Ticket::from_value(deadline))),
            Outcome::Held { in_flight: true } => Ok(Reservation::InFlight),
            Outcome::Held { in_flight: false } => Ok(Reservation::Done),
            // Only settling leaves a slot as it was.
            Outcome::Left => Err(StoreError::new(
                "replay store left a reservation unanswered",
            )),
        }
    }

    /// [`ReplayStore::settle`](super::ReplayStore::settle), answered at once.
    fn end(&self, key: &ReplayKey, ticket: Ticket, outcome: Settle) -> Result<(), StoreError> {
        let op = match outcome {
            Settle::Done(ttl) => Op::Done { ticket, ttl },
            Settle::Failed => Op::Forget { ticket },
        };
        self.run(key, op).map(|_| ())
    }

    /// [`ReplayStore::insert_all_if_absent`](super::ReplayStore::insert_all_if_absent), answered
    /// at once.
    fn record_all(&self, keys: &[ReplayKey], ttl: Duration) -> Result<bool, StoreError> {
        let record = Op::Record {
            ttl,
            in_flight: false,
        };
        super::record_all(
            keys,
            &mut |key| match self.run(key, record)? {
                Outcome::Recorded(deadline) => Ok(Some(deadline)),
                _ => Ok(None),
            },
            &mut |key, deadline| {
                // Taking back needs no room, so it cannot fail.
                let _ = self.run(key, Op::TakeBack { deadline });
            },
        )
    }

    /// Applies `op` to `key`'s slot; when that needs room and there is none, drops the expired
    /// entries and tries once more.
    fn run(&self, key: &ReplayKey, op: Op) -> Result<Outcome, StoreError> {
        let bytes = key.as_bytes();
        let word = |at: usize| {
            bytes
                .get(at..at + 8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map_or(0, u64::from_le_bytes)
        };
        let tag = word(0);
        let check = word(8) as u32;
        let shard = (word(16) % SHARDS as u64) as usize;

        match self.attempt(shard, tag, check, key.owner(), op) {
            Ok(outcome) => Ok(outcome),
            Err(_) => {
                self.drop_expired();
                self.attempt(shard, tag, check, key.owner(), op)
                    .map_err(Refusal::into_error)
            }
        }
    }

    fn attempt(
        &self,
        shard: usize,
        tag: u64,
        check: u32,
        owner: u64,
        op: Op,
    ) -> Result<Outcome, Refusal> {
        let now = self.clock.now_ms();

        let Some(shard) = self.inner.shards.get(shard) else {
            return Err(Refusal::Full);
        };
        let mut table = Self::lock(shard);
        let table = &mut *table;
        // The same key's slot, else the first dead slot on the probe path (reusable by a new
        // key), else the empty slot that ends the path (the table is never full: see the rebuild
        // below).
        let probe = table.probe(tag, check, now);
        let same = probe.same.and_then(|at| Some((at, *table.slots.get(at)?)));
        let (ttl, state) = match op {
            Op::Record { ttl, in_flight } => {
                if let Some((_, slot)) = same.filter(|(_, slot)| slot.live(now)) {
                    return Ok(Outcome::Held {
                        in_flight: slot.in_flight(),
                    });
                }
                (ttl, if in_flight { IN_FLIGHT } else { 0 })
            }
            Op::Done { ticket, ttl } => match same {
                Some((at, slot)) if slot.reserved_by(ticket) => {
                    // Settled in place: the same key and owner, so the counts do not change.
                    let deadline = time::deadline(now, ttl);
                    if let Some(slot) = table.slots.get_mut(at) {
                        slot.deadline = deadline;
                        slot.owner = slot.holder();
                    }
                    table.earliest = table.earliest.min(deadline);
                    return Ok(Outcome::Recorded(deadline));
                }
                // Another copy's reservation (this one's lapsed), or handled already.
                Some((_, slot)) if slot.live(now) => return Ok(Outcome::Left),
                // This copy's reservation lapsed and is gone: the delivery was handled all the
                // same, so it is recorded as done.
                _ => (ttl, 0),
            },
            Op::Forget { ticket } => {
                if let Some((at, slot)) = same.filter(|(_, slot)| slot.reserved_by(ticket)) {
                    // Dead from now on: reused or dropped like an expired entry.
                    if let Some(slot) = table.slots.get_mut(at) {
                        slot.owner = slot.holder() | FORGOTTEN;
                    }
                    table.earliest = table.earliest.min(now);
                    table.tickets_above = table.tickets_above.max(slot.deadline);
                }
                return Ok(Outcome::Left);
            }
            Op::TakeBack { deadline } => {
                let recorded = |slot: &Slot| slot.deadline == deadline && slot.owner & STATE == 0;
                if let Some((at, _)) = same.filter(|(_, slot)| recorded(slot)) {
                    if let Some(slot) = table.slots.get_mut(at) {
                        slot.owner |= FORGOTTEN;
                    }
                    table.earliest = table.earliest.min(now);
                }
                return Ok(Outcome::Left);
            }
        };
        let mut deadline = time::deadline(now, ttl);
        if state == IN_FLIGHT {
            // The deadline is the ticket: past that of a reservation that failed earlier (perhaps
            // within this millisecond). Any other earlier reservation of the key lapsed, by now.
            // With one hold for every reservation this adds a millisecond at most.
            deadline = deadline.max(table.tickets_above.saturating_add(1));
        }
        let target = match (probe.same.or(probe.reusable), probe.empty) {
            (Some(at), _) => Target::Reuse(at),
            (None, Some(at)) => Target::Empty(at),
            (None, None) => return Err(Refusal::Full),
        };

        let index = table
            .holder(owner, &self.inner.shares)
            .ok_or(Refusal::Full)?;
        let limit = self.per_key_limit;
        let fresh = Slot {
            tag,
            deadline,
            check,
            owner: index | state,
        };
        match target {
            Target::Reuse(at) => {
                let previous = table.slots.get(at).map_or(index, Slot::holder);
                if previous != index {
                    // The dead entry's owner loses it, this one gains it: the number held
                    // does not change.
                    let holder = table.owners.get_mut(index as usize).ok_or(Refusal::Full)?;
                    if !shares::take(&holder.share, limit) {
                        return Err(Refusal::ShareFull);
                    }
                    holder.here += 1;
                    if let Some(before) = table.owners.get_mut(previous as usize) {
                        before.here = before.here.saturating_sub(1);
                        shares::release(&before.share, 1);
                    }
                }
                if let Some(slot) = table.slots.get_mut(at) {
                    *slot = fresh;
                }
                table.earliest = table.earliest.min(deadline);
            }
            Target::Empty(at) => {
                let holder = table.owners.get_mut(index as usize).ok_or(Refusal::Full)?;
                if !shares::take(&self.inner.held, self.capacity) {
                    return Err(Refusal::Full);
                }
                if !shares::take(&holder.share, limit) {
                    shares::release(&self.inner.held, 1);
                    return Err(Refusal::ShareFull);
                }
                holder.here += 1;
                if let Some(slot) = table.slots.get_mut(at) {
                    *slot = fresh;
                }
                table.used += 1;
                table.earliest = table.earliest.min(deadline);
                // Keep the load at most 4/5, dead entries included, so probes stay short and
                // always end at an empty slot.
                if table.used * 5 > table.slots.len() * 4 {
                    let dropped = table.rebuild(now, &self.inner.shares);
                    shares::release(&self.inner.held, dropped as u64);
                }
            }
        }
        Ok(Outcome::Recorded(deadline))
    }

    /// Drops expired entries from every shard that has some.
    fn drop_expired(&self) {
        for shard in self.inner.shards.iter() {
            let now = self.clock.now_ms();
            let mut table = Self::lock(shard);
            if table.earliest <= now {
                let dropped = table.rebuild(now, &self.inner.shares);
                shares::release(&self.inner.held, dropped as u64);
            }
        }
    }

    /// Entries `owner` holds.
    #[cfg(test)]
    fn held_by(&self, owner: u64) -> u64 {
        self.inner.shares.held(owner)
    }

    /// Bytes of slots in every table.
    #[cfg(test)]
    fn table_bytes(&self) -> usize {
        self.inner
            .shards
            .iter()
            .map(|s| Self::lock(s).slots.len() * std::mem::size_of::<Slot>())
            .sum()
    }
}

impl Default for CompactReplayStore {
    fn default() -> Self {
        Self::new()
    }
}

super::in_process_store!(CompactReplayStore);

impl fmt::Debug for CompactReplayStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompactReplayStore")
            .field("entries", &self.len())
            .field("capacity", &self.capacity)
            .field("per_key_limit", &self.per_key_limit)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    super::super::contract::contract_tests!(CompactReplayStore, 20_000);

    use super::super::contract::{self, HOUR, check, new, reserve, settle};
    use super::*;
    use crate::ManualClock;

    fn store(capacity: u64, clock: &ManualClock) -> CompactReplayStore {
        CompactReplayStore::with_capacity(capacity).clock(clock.clone())
    }

    /// A key whose slot position and shard are chosen: `tag` decides the position, `check` tells
    /// keys apart, `shard` picks the shard.
    fn raw_key(tag: u64, check: u32, shard: u64, owner: u64) -> ReplayKey {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&tag.to_le_bytes());
        bytes[8..12].copy_from_slice(&check.to_le_bytes());
        bytes[16..24].copy_from_slice(&shard.to_le_bytes());
        ReplayKey { hash: bytes, owner }
    }

    #[test]
    fn an_expired_slot_does_not_hide_a_live_key_behind_it() {
        let clock = contract::clock();
        let store = store(CompactReplayStore::DEFAULT_CAPACITY, &clock);
        // Same position and shard, different keys: b sits right after a on the probe path.
        let a = raw_key(5, 1, 7, 1);
        let b = raw_key(5, 2, 7, 1);
        let c = raw_key(5, 3, 7, 1);
        assert!(check(&store, &a, Duration::from_secs(60)).unwrap());
        assert!(check(&store, &b, HOUR).unwrap());
        clock.advance(Duration::from_secs(120));
        // a expired; b must still be found past a's slot.
        assert!(!check(&store, &b, HOUR).unwrap());
        // c takes a's slot; b is still behind it.
        assert!(check(&store, &c, HOUR).unwrap());
        assert!(!check(&store, &b, HOUR).unwrap());
        assert!(!check(&store, &c, HOUR).unwrap());
        // a is new again.
        assert!(check(&store, &a, HOUR).unwrap());
        assert!(!check(&store, &a, HOUR).unwrap());
        assert_eq!(store.len(), 3);
        assert_eq!(store.held_by(1), 3);
    }

    /// An expired slot taken by another owner's key moves from one owner's count to the other's.
    #[test]
    fn a_reused_slot_changes_owner() {
        let clock = contract::clock();
        let store = store(100, &clock).per_key_limit(2);
        let a = raw_key(5, 1, 7, 1);
        let b = raw_key(5, 2, 7, 2);
        let c = raw_key(5, 3, 7, 2);
        assert!(check(&store, &a, Duration::from_secs(60)).unwrap());
        assert!(check(&store, &b, HOUR).unwrap());
        assert_eq!((store.held_by(1), store.held_by(2)), (1, 1));
        clock.advance(Duration::from_secs(120));
        assert!(check(&store, &c, HOUR).unwrap());
        assert_eq!((store.held_by(1), store.held_by(2)), (0, 2));
        assert_eq!(store.len(), 2);
        // Owner 2 is at its share: it cannot take a slot from anyone.
        let d = raw_key(6, 4, 7, 2);
        let err = check(&store, &d, HOUR).unwrap_err();
        assert_eq!(err.to_string(), contract::SHARE_FULL);
    }

    /// Expired entries dropped by a rebuild are counted off their owners, and an owner left with
    /// nothing is forgotten.
    #[test]
    fn a_rebuild_counts_dropped_entries_off_their_owners() {
        let clock = contract::clock();
        let store = store(4, &clock).per_key_limit(4);
        for n in 0..4 {
            assert!(check(&store, &raw_key(n, 0, 0, 1), Duration::from_secs(60)).unwrap());
        }
        assert_eq!(store.held_by(1), 4);
        clock.advance(Duration::from_secs(120));
        // Position 8 is empty: no expired slot on its path, so the full store drops them.
        assert!(check(&store, &raw_key(8, 0, 0, 2), HOUR).unwrap());
        assert_eq!((store.held_by(1), store.held_by(2)), (0, 1));
        assert_eq!(store.len(), 1);
        assert_eq!(store.inner.shares.owners(), 1);
        let table = CompactReplayStore::lock(&store.inner.shards[0]);
        assert_eq!(table.owners.len(), 1);
        assert_eq!(table.owners[0].here, 1);
    }

    /// A table rebuilt (as it grows) keeps a reservation, its ticket and its state, and drops a
    /// delivery that failed.
    #[test]
    fn a_rebuild_keeps_reservations_and_drops_failed_ones() {
        let clock = contract::clock();
        let store = store(100, &clock);
        let held = raw_key(1, 1, 7, 1);
        let failed = raw_key(2, 2, 7, 1);
        let ticket = new(reserve(&store, &held, HOUR));
        let lost = new(reserve(&store, &failed, HOUR));
        settle(&store, &failed, lost, Settle::Failed).unwrap();
        assert_eq!(store.len(), 2);
        // The 13th slot used of 16 rebuilds shard 7's table.
        for n in 0..12 {
            assert!(check(&store, &raw_key(100 + n, 0, 7, 2), HOUR).unwrap());
        }
        assert_eq!(store.len(), 13);
        assert_eq!((store.held_by(1), store.held_by(2)), (1, 12));
        assert_eq!(
            CompactReplayStore::lock(&store.inner.shards[7]).slots.len(),
            32
        );
        assert_eq!(reserve(&store, &held, HOUR).unwrap(), Reservation::InFlight);
        settle(&store, &held, ticket, Settle::Done(HOUR)).unwrap();
        assert_eq!(reserve(&store, &held, HOUR).unwrap(), Reservation::Done);
        let again = new(reserve(&store, &failed, HOUR));
        assert_ne!(again, lost);
    }

    #[test]
    fn many_keys_survive_table_growth() {
        let store = CompactReplayStore::new();
        let keys: Vec<_> = (0u32..100_000)
            .map(|n| ReplayKey::new("s", "k", &n.to_be_bytes()))
            .collect();
        for key in &keys {
            assert!(check(&store, key, HOUR).unwrap());
        }
        for key in &keys {
            assert!(!check(&store, key, HOUR).unwrap());
        }
        assert_eq!(store.len(), 100_000);
        assert_eq!(store.held_by(keys[0].owner()), 100_000);
    }

    /// The memory the type's docs state: 24-byte slots, tables between a quarter and four fifths
    /// full, so 30 to 96 bytes per entry.
    #[test]
    fn an_entry_takes_30_to_96_bytes() {
        assert_eq!(std::mem::size_of::<Slot>(), 24);
        let clock = contract::clock();
        let store = store(CompactReplayStore::DEFAULT_CAPACITY, &clock);
        let mut n = 0u32;
        for target in [10_000, 30_000, 80_000] {
            while n < target {
                let key = ReplayKey::new("s", "k", &n.to_be_bytes());
                assert!(check(&store, &key, Duration::from_secs(60)).unwrap());
                n += 1;
            }
            let per_entry = store.table_bytes() as f64 / store.len() as f64;
            assert!(
                (30.0..=60.0).contains(&per_entry),
                "{per_entry} bytes/entry"
            );
        }
        // All expired: rebuilt for what is live, tables hold at least a quarter of their slots.
        clock.advance(Duration::from_secs(120));
        for m in 0u32..20_000 {
            let key = ReplayKey::new("s", "new", &m.to_be_bytes());
            assert!(check(&store, &key, HOUR).unwrap());
        }
        store.drop_expired();
        assert_eq!(store.len(), 20_000);
        let per_entry = store.table_bytes() as f64 / store.len() as f64;
        assert!(
            (30.0..=96.0).contains(&per_entry),
            "{per_entry} bytes/entry"
        );
    }

    #[test]
    fn debug_shows_counts_only() {
        let store = CompactReplayStore::with_capacity(5);
        assert!(check(&store, &ReplayKey::new("s", "k", b"x"), HOUR).unwrap());
        assert_eq!(
            format!("{store:?}"),
            "CompactReplayStore { entries: 1, capacity: 5, per_key_limit: 4 }"
        );
    }
}
