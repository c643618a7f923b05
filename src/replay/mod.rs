//! Remembering nonces so that a signed request cannot be sent twice.
//!
//! A [`ReplayStore`] answers one question atomically: "was this key seen in the last `ttl`? If not,
//! remember it." The layers ask it only after the request's MAC verified, so a caller without the
//! secret cannot fill it. Keys are fixed-size [`ReplayKey`]s: a SHA-256 over the scheme, the key id
//! and the nonce, never the raw strings. When the nonce is not the MAC itself (Inqud's salt), the
//! verified MAC is recorded under a second key, so that the same signed message is not accepted
//! again with another nonce; both are one check
//! ([`insert_all_if_absent`](ReplayStore::insert_all_if_absent)): a check refused or failing
//! leaves neither recorded, so an honest retry is not a replay. A store over the network makes it
//! one atomic round trip; the in-process stores take back what a refused check recorded.
//!
//! [`MokaReplayStore`] keeps them in process; [`CompactReplayStore`] does too, with the same
//! contract in far less memory and time per check (see BENCHMARKS.md). Both are bounded, with
//! defaults that fit in 256 MiB when full: a full store, or a key holding its share of the store,
//! gets an error (503) for a new nonce, never a forgotten one (see their *Memory* sections). Behind
//! a load balancer every instance must share one history, or a request accepted by one instance
//! can be replayed against another: use `RedisReplayStore` (feature `redis`) there, on one Redis
//! server or on a Redis Cluster.
//!
//! # Webhook deliveries
//!
//! A webhook layer asks more of its store: where each delivery stands ([`reserve`] it for the
//! copy being handled, then [`settle`] it as handled or failed), so that a delivery is handled
//! once and never lost (see [`webhooks`](crate::webhooks)). All three stores of this crate keep
//! these states, with the same answers: [`MokaReplayStore`], [`CompactReplayStore`] and
//! `RedisReplayStore`, the only one that shares them between instances. A store of your own that
//! implements only [`insert_if_absent`](ReplayStore::insert_if_absent) keeps none: with it a
//! webhook layer answers every delivery 503 (failing closed), while API layers work as before.
//!
//! [`reserve`]: ReplayStore::reserve
//! [`settle`]: ReplayStore::settle
//!
//! # Answers at once
//!
//! The in-process stores have their answers at hand, and give them through
//! [`insert_all_now`](ReplayStore::insert_all_now), [`reserve_now`](ReplayStore::reserve_now) and
//! [`settle_now`](ReplayStore::settle_now) too. The layers ask those first: that spares the boxed
//! future of each call, and lets a header-only layer check a request in its service's `call`,
//! with no future of the check at all (as [`KeyStore::get_now`](crate::KeyStore::get_now) does
//! for keys). A store over the network keeps their default, `None`, and is awaited.

mod compact;
#[cfg(test)]
mod contract;
mod moka;
#[cfg(feature = "redis")]
mod redis;
mod shares;
mod time;

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::BoxFuture;
use crate::error::StoreError;

pub use self::compact::CompactReplayStore;
pub use self::moka::MokaReplayStore;
#[cfg(feature = "redis")]
pub use self::redis::RedisReplayStore;

/// A fixed-size replay-store key: SHA-256 of the scheme name, the key id and the nonce, each
/// length-prefixed so that no two different triples share an encoding.
///
/// Beside those 32 bytes a key carries its [owner](Self::owner): the scheme and key id it was
/// presented under, without the nonce. The in-process stores count their entries per owner, so
/// that one key holder cannot fill a store shared with others.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReplayKey {
    hash: [u8; 32],
    owner: u64,
}

impl ReplayKey {
    /// The key for `nonce` presented under `key_id` in `scheme`.
    pub fn new(scheme: &str, key_id: &str, nonce: &[u8]) -> Self {
        let id = Self::id_hash(scheme, key_id);
        let owner = Self::owner_of(id.clone());
        let mut hash = id;
        hash.update((nonce.len() as u64).to_be_bytes());
        hash.update(nonce);
        Self {
            hash: hash.finalize().into(),
            owner,
        }
    }

    /// The keys for `nonce` ([`ReplayKey::new`]) and for the MAC verified with it (`tag`), both
    /// presented under `key_id` in `scheme`. The MAC's key never equals a key made by
    /// [`ReplayKey::new`]: its encoding starts with a length no string can have. The two share
    /// their owner (a request's salt and MAC count for the same key), hashed once.
    pub(crate) fn nonce_and_mac(scheme: &str, key_id: &str, nonce: &[u8], tag: &[u8]) -> [Self; 2] {
        let nonce_key = Self::new(scheme, key_id, nonce);
        let mut hash = Sha256::new();
        hash.update(u64::MAX.to_be_bytes());
        for part in [scheme.as_bytes(), key_id.as_bytes(), tag] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part);
        }
        let mac = Self {
            hash: hash.finalize().into(),
            owner: nonce_key.owner,
        };
        [nonce_key, mac]
    }

    /// SHA-256 fed with the length-prefixed scheme and key id, not finalized.
    fn id_hash(scheme: &str, key_id: &str) -> Sha256 {
        let mut hash = Sha256::new();
        for part in [scheme.as_bytes(), key_id.as_bytes()] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part);
        }
        hash
    }

    fn owner_of(id: Sha256) -> u64 {
        let digest: [u8; 32] = id.finalize().into();
        digest
            .first_chunk()
            .map_or(0, |first| u64::from_be_bytes(*first))
    }

    /// The 32 bytes of the key.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.hash
    }

    /// Who recorded the key: the first 8 bytes of SHA-256 over the length-prefixed scheme name
    /// and key id. Every nonce (and MAC) presented under one key id of one scheme has the same
    /// owner; the in-process stores limit how many entries one owner may hold.
    pub fn owner(&self) -> u64 {
        self.owner
    }
}

impl std::fmt::Debug for ReplayKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReplayKey({})", const_hex::encode(&self.hash[..8]))
    }
}

/// Where a webhook delivery stands, as [`ReplayStore::reserve`] found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// Never seen, or its earlier copy failed: now reserved for this copy, which settles it with
    /// the ticket.
    New(Ticket),
    /// Another copy is being handled.
    InFlight,
    /// An earlier copy was handled.
    Done,
}

/// The proof that a reservation is this copy's, to [settle](ReplayStore::settle) it: a number
/// the store chose (a random one, or another that no other reservation of the key shares), so that
/// a copy whose reservation lapsed cannot settle another copy's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ticket(u64);

impl Ticket {
    /// A fresh ticket from the operating system's random numbers.
    pub fn new() -> Result<Self, StoreError> {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).map_err(|e| StoreError::new(format!("random ticket: {e}")))?;
        Ok(Self(u64::from_be_bytes(bytes)))
    }

    /// The ticket's value, for stores that keep it.
    pub fn value(self) -> u64 {
        self.0
    }

    /// A ticket of a given value, as a store read it back.
    pub fn from_value(value: u64) -> Self {
        Self(value)
    }
}

/// How a reserved delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    /// Handled (answered 2xx): remembered as done for the given time, so that a copy is
    /// acknowledged without being handled again.
    Done(Duration),
    /// Not handled (an error or a non-2xx answer): forgotten, so that the sender's retry is
    /// handled. A failure is never remembered as done.
    Failed,
}

/// Atomic insert-if-absent with a time to live, and the states of webhook deliveries.
pub trait ReplayStore: Send + Sync + 'static {
    /// Records `key` for `ttl` if it is not already recorded.
    ///
    /// Returns `Ok(true)` when this call recorded it (first use) and `Ok(false)` when it was
    /// already there (a replay). Of several concurrent calls with the same key exactly one may
    /// return `Ok(true)`. Return `Err` when the store cannot answer; the layer then refuses the
    /// request with 503.
    fn insert_if_absent<'a>(
        &'a self,
        key: &'a ReplayKey,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Records every one of `keys` for `ttl` if none of them is recorded: the records one request
    /// needs (Inqud's salt and its verified MAC) as one check.
    ///
    /// Returns `Ok(true)` when this call recorded them all (none was there) and `Ok(false)` when
    /// one was already there (a replay). Of several concurrent calls sharing a key at most one
    /// returns `Ok(true)`. An empty `keys` is `Ok(true)`.
    ///
    /// A check that answers `Ok(false)` or fails leaves none of `keys` recorded by it: the
    /// request is refused (or gets 503), and its honest retry must not be a replay.
    /// `RedisReplayStore` does it in one atomic step (one Lua script: either every key is written,
    /// or none); the in-process stores record the keys in turn and take back those they recorded
    /// when a later one is there or cannot be recorded.
    ///
    /// The default calls [`insert_if_absent`](Self::insert_if_absent) for each key in turn and
    /// stops at the first one already there or failing, *without* taking back the keys recorded
    /// before it (the trait has no way to remove a key). A store of your own should override it.
    fn insert_all_if_absent<'a>(
        &'a self,
        keys: &'a [ReplayKey],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            for key in keys {
                if !self.insert_if_absent(key, ttl).await? {
                    return Ok(false);
                }
            }
            Ok(true)
        })
    }

    /// The answer [`insert_all_if_absent`](Self::insert_all_if_absent) would give, when the
    /// store has it without waiting (it lives in process), having done what that call does;
    /// `None`, having done nothing, when it must be asked through `insert_all_if_absent`. The
    /// layers ask this first, so that an in-process store answers without a boxed future (an
    /// allocation per request), and a header-only request is checked without one at all.
    ///
    /// The default answers `None`. A store that overrides it must answer exactly as
    /// `insert_all_if_absent` does, record nothing when it answers `None`, and answer at once
    /// always or never (as [`KeyStore::get_now`](crate::KeyStore::get_now)).
    fn insert_all_now(
        &self,
        keys: &[ReplayKey],
        ttl: Duration,
    ) -> Option<Result<bool, StoreError>> {
        let _ = (keys, ttl);
        None
    }

    /// Reserves `key` for handling one copy of a webhook delivery, for at most `hold`, unless a
    /// copy is in flight or was handled. Of several concurrent calls for a new key exactly one
    /// gets [`Reservation::New`]. The reservation lapses after `hold` (a copy whose handling
    /// never ended, in a process that stopped, does not block the delivery forever).
    ///
    /// The default answers an error: a store must keep delivery states to be used for webhooks
    /// (the layer then answers 503, failing closed).
    fn reserve<'a>(
        &'a self,
        key: &'a ReplayKey,
        hold: Duration,
    ) -> BoxFuture<'a, Result<Reservation, StoreError>> {
        let _ = (key, hold);
        Box::pin(std::future::ready(Err(StoreError::new(
            "this replay store keeps no webhook delivery states",
        ))))
    }

    /// The answer [`reserve`](Self::reserve) would give, when the store has it without waiting,
    /// having done what that call does; `None`, having done nothing, otherwise (as
    /// [`insert_all_now`](Self::insert_all_now)). The default answers `None`.
    fn reserve_now(
        &self,
        key: &ReplayKey,
        hold: Duration,
    ) -> Option<Result<Reservation, StoreError>> {
        let _ = (key, hold);
        None
    }

    /// Ends the reservation `ticket` holds on `key`: remembered as done, or forgotten. A
    /// reservation that lapsed and was taken by another copy is left to that copy.
    fn settle<'a>(
        &'a self,
        key: &'a ReplayKey,
        ticket: Ticket,
        outcome: Settle,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let _ = (key, ticket, outcome);
        Box::pin(std::future::ready(Err(StoreError::new(
            "this replay store keeps no webhook delivery states",
        ))))
    }

    /// The answer [`settle`](Self::settle) would give, when the store has it without waiting,
    /// having done what that call does; `None`, having done nothing, otherwise (as
    /// [`insert_all_now`](Self::insert_all_now)). The default answers `None`.
    fn settle_now(
        &self,
        key: &ReplayKey,
        ticket: Ticket,
        outcome: Settle,
    ) -> Option<Result<(), StoreError>> {
        let _ = (key, ticket, outcome);
        None
    }
}

impl<R: ReplayStore + ?Sized> ReplayStore for std::sync::Arc<R> {
    fn insert_if_absent<'a>(
        &'a self,
        key: &'a ReplayKey,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        (**self).insert_if_absent(key, ttl)
    }

    fn insert_all_if_absent<'a>(
        &'a self,
        keys: &'a [ReplayKey],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        (**self).insert_all_if_absent(keys, ttl)
    }

    fn insert_all_now(
        &self,
        keys: &[ReplayKey],
        ttl: Duration,
    ) -> Option<Result<bool, StoreError>> {
        (**self).insert_all_now(keys, ttl)
    }

    fn reserve<'a>(
        &'a self,
        key: &'a ReplayKey,
        hold: Duration,
    ) -> BoxFuture<'a, Result<Reservation, StoreError>> {
        (**self).reserve(key, hold)
    }

    fn settle<'a>(
        &'a self,
        key: &'a ReplayKey,
        ticket: Ticket,
        outcome: Settle,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).settle(key, ticket, outcome)
    }

    fn reserve_now(
        &self,
        key: &ReplayKey,
        hold: Duration,
    ) -> Option<Result<Reservation, StoreError>> {
        (**self).reserve_now(key, hold)
    }

    fn settle_now(
        &self,
        key: &ReplayKey,
        ticket: Ticket,
        outcome: Settle,
    ) -> Option<Result<(), StoreError>> {
        (**self).settle_now(key, ticket, outcome)
    }
}

/// The [`ReplayStore`] of a store that answers in process, from four methods of its own that
/// answer at once: `check` ([`insert_if_absent`](ReplayStore::insert_if_absent)), `record_all`
/// (`insert_all_if_absent`, atomic for what it leaves: a check refused or failing takes back the
/// keys it recorded), `reservation` (`reserve`) and `end` (`settle`). Each answer is given at once
/// (`insert_all_now`, `reserve_now`, `settle_now`) as well as through the trait's futures.
macro_rules! in_process_store {
    ($store:ty) => {
        impl $crate::replay::ReplayStore for $store {
            fn insert_if_absent<'a>(
                &'a self,
                key: &'a $crate::replay::ReplayKey,
                ttl: ::std::time::Duration,
            ) -> $crate::BoxFuture<'a, Result<bool, $crate::StoreError>> {
                Box::pin(::std::future::ready(self.check(key, ttl)))
            }

            fn insert_all_if_absent<'a>(
                &'a self,
                keys: &'a [$crate::replay::ReplayKey],
                ttl: ::std::time::Duration,
            ) -> $crate::BoxFuture<'a, Result<bool, $crate::StoreError>> {
                Box::pin(::std::future::ready(self.record_all(keys, ttl)))
            }

            fn insert_all_now(
                &self,
                keys: &[$crate::replay::ReplayKey],
                ttl: ::std::time::Duration,
            ) -> Option<Result<bool, $crate::StoreError>> {
                Some(self.record_all(keys, ttl))
            }

            fn reserve<'a>(
                &'a self,
                key: &'a $crate::replay::ReplayKey,
                hold: ::std::time::Duration,
            ) -> $crate::BoxFuture<'a, Result<$crate::replay::Reservation, $crate::StoreError>>
            {
                Box::pin(::std::future::ready(self.reservation(key, hold)))
            }

            fn reserve_now(
                &self,
                key: &$crate::replay::ReplayKey,
                hold: ::std::time::Duration,
            ) -> Option<Result<$crate::replay::Reservation, $crate::StoreError>> {
                Some(self.reservation(key, hold))
            }

            fn settle<'a>(
                &'a self,
                key: &'a $crate::replay::ReplayKey,
                ticket: $crate::replay::Ticket,
                outcome: $crate::replay::Settle,
            ) -> $crate::BoxFuture<'a, Result<(), $crate::StoreError>> {
                Box::pin(::std::future::ready(self.end(key, ticket, outcome)))
            }

            fn settle_now(
                &self,
                key: &$crate::replay::ReplayKey,
                ticket: $crate::replay::Ticket,
                outcome: $crate::replay::Settle,
            ) -> Option<Result<(), $crate::StoreError>> {
                Some(self.end(key, ticket, outcome))
            }
        }
    };
}

use in_process_store;

/// [`ReplayStore::insert_all_if_absent`] for a store that answers in process: records `keys` in
/// turn and, when one is already there or cannot be recorded, takes back the ones this call
/// recorded, last first.
///
/// `record` answers `Some(mark)` when it recorded a key (what `take_back` needs to remove that
/// record and no other: its deadline) and `None` when the key was there. Between a record and its
/// taking back, a concurrent check of that key finds it and is refused: it fails closed, never
/// open, and of concurrent checks sharing a key at most one records them all.
///
/// Recursive, so the marks stay on the stack: a check has a handful of records (Inqud's two).
pub(crate) fn record_all(
    keys: &[ReplayKey],
    record: &mut dyn FnMut(&ReplayKey) -> Result<Option<u64>, StoreError>,
    take_back: &mut dyn FnMut(&ReplayKey, u64),
) -> Result<bool, StoreError> {
    let Some((first, rest)) = keys.split_first() else {
        return Ok(true);
    };
    let Some(mark) = record(first)? else {
        return Ok(false);
    };
    let all = record_all(rest, record, take_back);
    if !matches!(all, Ok(true)) {
        take_back(first, mark);
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unambiguous() {
        assert_ne!(
            ReplayKey::new("a", "bc", b"d"),
            ReplayKey::new("a", "b", b"cd")
        );
        assert_ne!(
            ReplayKey::new("a", "b", b"c"),
            ReplayKey::new("x", "b", b"c")
        );
        assert_eq!(
            ReplayKey::new("a", "b", b"c"),
            ReplayKey::new("a", "b", b"c")
        );
        assert_ne!(
            ReplayKey::new("a", "b", b"c"),
            ReplayKey::nonce_and_mac("a", "b", b"c", b"c")[1]
        );
    }

    #[test]
    fn the_32_bytes_are_sha256_of_the_length_prefixed_parts() {
        // Redis keys and the compact store's slots are these bytes: they must not change.
        assert_eq!(
            const_hex::encode(ReplayKey::new("inqud", "TKN-1", b"salt").as_bytes()),
            "cf3af76aad05326c5b7eaa3417ff2ec8567707e79dcab48feb472d6742d19533"
        );
        assert_eq!(
            const_hex::encode(
                ReplayKey::nonce_and_mac("inqud", "TKN-1", b"salt", b"mac")[1].as_bytes()
            ),
            "d310c38c8135cb6509216498a1f56d97aa9f2a33a2924dc5c5fbd10b8ded9ce5"
        );
    }

    #[test]
    fn the_owner_is_the_scheme_and_key_id() {
        let owner = ReplayKey::new("inqud", "TKN-1", b"salt").owner();
        // SHA-256 of the length-prefixed scheme and key id, its first 8 bytes.
        assert_eq!(owner, 0x3570_a228_5603_99d8);
        assert_eq!(ReplayKey::new("inqud", "TKN-1", b"other").owner(), owner);
        let [_, mac] = ReplayKey::nonce_and_mac("inqud", "TKN-1", b"salt", b"mac");
        assert_eq!(mac.owner(), owner);
        assert_ne!(ReplayKey::new("inqud", "TKN-2", b"salt").owner(), owner);
        assert_ne!(ReplayKey::new("humanos", "TKN-1", b"salt").owner(), owner);
        assert_ne!(
            ReplayKey::new("a", "bc", b"").owner(),
            ReplayKey::new("ab", "c", b"").owner()
        );
    }
}
