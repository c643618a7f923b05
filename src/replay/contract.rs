//! The contract every in-process [`ReplayStore`] keeps, checked once here for each of them
//! (`MokaReplayStore` and `CompactReplayStore` call these from their own tests).
//!
//! Time moves only on a [`ManualClock`] given to the store: no test sleeps or races the wall
//! clock. TTLs are long (moka also drops entries on its own clock once their TTL has passed in the
//! process's time, which a test must never reach).

use std::sync::Barrier;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, UNIX_EPOCH};

use super::{ReplayKey, ReplayStore};
use crate::ManualClock;
use crate::error::StoreError;

pub(crate) const HOUR: Duration = Duration::from_secs(3600);
const MINUTE: Duration = Duration::from_secs(60);
const MS: Duration = Duration::from_millis(1);

pub(crate) const AT_CAPACITY: &str = "store unavailable: replay store is at capacity";
pub(crate) const SHARE_FULL: &str =
    "store unavailable: this key's share of the replay store is full";

/// A clock for a store under test, stopped between two milliseconds (so that rounding shows).
pub(crate) fn clock() -> ManualClock {
    ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000) + Duration::from_micros(700))
}

/// One check through the trait, as the layers make it. In-process stores answer without waiting,
/// so the future is polled once; one that is not ready fails the test.
pub(crate) fn check(
    store: &impl ReplayStore,
    key: &ReplayKey,
    ttl: Duration,
) -> Result<bool, StoreError> {
    let mut future = store.insert_if_absent(key, ttl);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(result) => result,
        Poll::Pending => panic!("an in-process replay store must answer at once"),
    }
}

/// A key is new once and a replay afterwards; another key is new.
pub(crate) fn second_insert_is_a_replay(store: &impl ReplayStore) {
    let key = ReplayKey::new("s", "k", b"salt");
    assert!(check(store, &key, HOUR).unwrap());
    assert!(!check(store, &key, HOUR).unwrap());
    let other = ReplayKey::new("s", "k", b"salt2");
    assert!(check(store, &other, HOUR).unwrap());
    assert!(!check(store, &other, HOUR).unwrap());
}

/// After its TTL a key is new again, and then remembered again.
pub(crate) fn entries_expire_after_their_ttl(store: &impl ReplayStore, clock: &ManualClock) {
    let key = ReplayKey::new("s", "k", b"n");
    assert!(check(store, &key, HOUR).unwrap());
    assert!(!check(store, &key, HOUR).unwrap());
    clock.advance(HOUR - MS);
    assert!(!check(store, &key, HOUR).unwrap());
    clock.advance(2 * MS);
    assert!(check(store, &key, HOUR).unwrap());
    assert!(!check(store, &key, HOUR).unwrap());
    // Recorded again from now, for the new TTL.
    clock.advance(HOUR - MS);
    assert!(!check(store, &key, HOUR).unwrap());
}

/// An entry is a replay up to and including its TTL, and forgotten within two milliseconds after
/// (the store counts whole milliseconds, rounding in the entry's favour).
pub(crate) fn an_entry_lives_at_least_its_ttl(store: &impl ReplayStore, clock: &ManualClock) {
    let key = ReplayKey::new("s", "k", b"n");
    let ttl = HOUR + Duration::from_micros(1_500);
    assert!(check(store, &key, ttl).unwrap());
    clock.advance(ttl);
    assert!(
        !check(store, &key, ttl).unwrap(),
        "forgotten before its TTL"
    );
    clock.advance(2 * MS);
    assert!(check(store, &key, ttl).unwrap(), "remembered past its TTL");
}

/// `store` has a capacity of two: a third key is an error (the layer answers 503), never a
/// forgotten key, and a key already held is still a replay.
pub(crate) fn full_store_fails_closed(store: &impl ReplayStore) {
    for n in [b"a", b"b"] {
        assert!(check(store, &ReplayKey::new("s", "k", n), HOUR).unwrap());
    }
    let err = check(store, &ReplayKey::new("s", "k", b"c"), HOUR).unwrap_err();
    assert_eq!(err.to_string(), AT_CAPACITY);
    assert!(!check(store, &ReplayKey::new("s", "k", b"a"), HOUR).unwrap());
}

/// `store` has a capacity of three: expired entries make room for new keys, up to the capacity
/// again.
pub(crate) fn expired_entries_free_capacity(store: &impl ReplayStore, clock: &ManualClock) {
    for n in 0u32..3 {
        assert!(check(store, &ReplayKey::new("s", "k", &n.to_be_bytes()), MINUTE).unwrap());
    }
    let err = check(store, &ReplayKey::new("s", "k", b"new"), HOUR).unwrap_err();
    assert_eq!(err.to_string(), AT_CAPACITY);
    clock.advance(2 * MINUTE);
    for n in 10u32..13 {
        assert!(check(store, &ReplayKey::new("s", "k", &n.to_be_bytes()), HOUR).unwrap());
    }
    let err = check(store, &ReplayKey::new("s", "k", b"one more"), HOUR).unwrap_err();
    assert_eq!(err.to_string(), AT_CAPACITY);
}

/// Finding: one key holder could fill the shared store, and every request got 503 until its
/// entries expired. `store` has a capacity of 12 and the default share, 9 entries per key: a key
/// holding its share gets errors alone, its entries are still replays, another key still records
/// its own, and the share frees up as the key's entries expire.
pub(crate) fn one_key_cannot_fill_the_store(store: &impl ReplayStore, clock: &ManualClock) {
    let a = |n: u32| ReplayKey::new("s", "tenant-a", &n.to_be_bytes());
    let b = |n: u32| ReplayKey::new("s", "tenant-b", &n.to_be_bytes());
    for n in 0..9 {
        assert!(check(store, &a(n), MINUTE).unwrap());
    }
    let err = check(store, &a(9), HOUR).unwrap_err();
    assert_eq!(err.to_string(), SHARE_FULL);
    // MAC keys count for the same key holder.
    let mac = ReplayKey::for_mac("s", "tenant-a", b"tag");
    assert_eq!(
        check(store, &mac, HOUR).unwrap_err().to_string(),
        SHARE_FULL
    );
    for n in 0..9 {
        assert!(
            !check(store, &a(n), MINUTE).unwrap(),
            "a replay at the share"
        );
    }
    for n in 0..3 {
        assert!(check(store, &b(n), HOUR).unwrap());
    }
    // Now the store itself is full.
    let err = check(store, &b(3), HOUR).unwrap_err();
    assert_eq!(err.to_string(), AT_CAPACITY);

    clock.advance(2 * MINUTE);
    for n in 100..109 {
        assert!(
            check(store, &a(n), HOUR).unwrap(),
            "share not freed by expiry"
        );
    }
    for n in 0..3 {
        assert!(!check(store, &b(n), HOUR).unwrap());
    }
    assert_eq!(
        check(store, &a(0), HOUR).unwrap_err().to_string(),
        AT_CAPACITY
    );
}

/// `store` has room for 100 entries and a share of 2 per key.
pub(crate) fn per_key_limit_sets_the_share(store: &impl ReplayStore) {
    for tenant in ["a", "b", "c"] {
        for n in [b"1", b"2"] {
            assert!(check(store, &ReplayKey::new("s", tenant, n), HOUR).unwrap());
        }
        let err = check(store, &ReplayKey::new("s", tenant, b"3"), HOUR).unwrap_err();
        assert_eq!(err.to_string(), SHARE_FULL);
        assert!(!check(store, &ReplayKey::new("s", tenant, b"1"), HOUR).unwrap());
    }
    // The same key id in another scheme is another key holder.
    assert!(check(store, &ReplayKey::new("t", "a", b"3"), HOUR).unwrap());
}

/// `store` has a share of 100 per key: four threads recording new nonces of one key at once get
/// exactly 100 first uses between them, and errors for the rest.
pub(crate) fn concurrent_first_uses_stop_at_the_share(store: &impl ReplayStore) {
    const THREADS: u32 = 4;
    let wins = AtomicUsize::new(0);
    let start = Barrier::new(THREADS as usize);
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let (wins, start) = (&wins, &start);
            scope.spawn(move || {
                start.wait();
                for n in 0u32..100 {
                    let key = ReplayKey::new("s", "k", &(thread * 1000 + n).to_be_bytes());
                    match check(store, &key, HOUR) {
                        Ok(fresh) => {
                            assert!(fresh);
                            wins.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(err) => assert_eq!(err.to_string(), SHARE_FULL),
                    }
                }
            });
        }
    });
    assert_eq!(wins.load(Ordering::SeqCst), 100);
}

/// Eight threads checking one key a hundred times each: exactly one first use.
pub(crate) fn concurrent_inserts_have_one_winner(store: &impl ReplayStore) {
    let wins = AtomicUsize::new(0);
    let key = ReplayKey::new("s", "k", b"race");
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for _ in 0..100 {
                    if check(store, &key, HOUR).unwrap() {
                        wins.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    assert_eq!(wins.load(Ordering::SeqCst), 1);
}

/// A key expired on the store's clock, then checked by eight threads a hundred times each: it is
/// recorded again exactly once.
pub(crate) fn concurrent_checks_of_an_expired_key_have_one_winner(
    store: &impl ReplayStore,
    clock: &ManualClock,
) {
    let key = ReplayKey::new("s", "k", b"expired race");
    assert!(check(store, &key, MINUTE).unwrap());
    clock.advance(2 * MINUTE);
    let wins = AtomicUsize::new(0);
    let start = Barrier::new(8);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                start.wait();
                for _ in 0..100 {
                    if check(store, &key, HOUR).unwrap() {
                        wins.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    assert_eq!(wins.load(Ordering::SeqCst), 1);
}

/// One race per key, started together on four threads: a check-then-insert window shows up as a
/// key with two winners within a few thousand races.
pub(crate) fn many_keys_raced_have_one_winner_each(store: &impl ReplayStore, keys: u32) {
    const THREADS: usize = 4;
    let keys: Vec<_> = (0..keys)
        .map(|n| ReplayKey::new("s", "k", &n.to_be_bytes()))
        .collect();
    let wins: Vec<_> = keys.iter().map(|_| AtomicUsize::new(0)).collect();
    let start = Barrier::new(THREADS);
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                start.wait();
                for (key, wins) in keys.iter().zip(&wins) {
                    if check(store, key, HOUR).unwrap() {
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

/// The contract suite for one in-process store type: every test above, on `$store` built with
/// `with_capacity`, `clock` and `per_key_limit`, plus the counts the store reports (`len`,
/// `held_by`). `$raced` is how many keys the many-keys race uses.
macro_rules! contract_tests {
    ($store:ident, $raced:expr) => {
        mod contract_suite {
            use super::super::super::ReplayKey;
            use super::super::super::contract;
            use super::super::$store;
            use crate::ManualClock;

            fn store(capacity: u64, clock: &ManualClock) -> $store {
                $store::with_capacity(capacity).clock(clock.clone())
            }

            #[test]
            fn second_insert_is_a_replay() {
                let store = $store::new();
                contract::second_insert_is_a_replay(&store);
                assert_eq!(store.len(), 2);
            }

            #[test]
            fn entries_expire_after_their_ttl() {
                let clock = contract::clock();
                let store = store(100, &clock);
                contract::entries_expire_after_their_ttl(&store, &clock);
                assert_eq!(store.len(), 1);
            }

            #[test]
            fn an_entry_lives_at_least_its_ttl() {
                let clock = contract::clock();
                contract::an_entry_lives_at_least_its_ttl(&store(100, &clock), &clock);
            }

            #[test]
            fn full_store_fails_closed() {
                contract::full_store_fails_closed(&$store::with_capacity(2));
            }

            #[test]
            fn expired_entries_free_capacity() {
                let clock = contract::clock();
                let store = store(3, &clock);
                contract::expired_entries_free_capacity(&store, &clock);
                assert_eq!(store.len(), 3);
            }

            #[test]
            fn one_key_cannot_fill_the_store() {
                let clock = contract::clock();
                let store = store(12, &clock);
                contract::one_key_cannot_fill_the_store(&store, &clock);
                assert_eq!(store.len(), 12);
                let a = ReplayKey::new("s", "tenant-a", b"").owner();
                let b = ReplayKey::new("s", "tenant-b", b"").owner();
                assert_eq!((store.held_by(a), store.held_by(b)), (9, 3));
            }

            #[test]
            fn per_key_limit_sets_the_share() {
                contract::per_key_limit_sets_the_share(
                    &$store::with_capacity(100).per_key_limit(2),
                );
            }

            #[test]
            fn concurrent_first_uses_stop_at_the_share() {
                let store = $store::with_capacity(1_000).per_key_limit(100);
                contract::concurrent_first_uses_stop_at_the_share(&store);
                assert_eq!(store.len(), 100);
            }

            #[test]
            fn concurrent_inserts_have_one_winner() {
                contract::concurrent_inserts_have_one_winner(&$store::new());
            }

            #[test]
            fn concurrent_checks_of_an_expired_key_have_one_winner() {
                let clock = contract::clock();
                let store = store(100, &clock);
                contract::concurrent_checks_of_an_expired_key_have_one_winner(&store, &clock);
                assert_eq!(store.len(), 1);
            }

            #[test]
            fn many_keys_raced_have_one_winner_each() {
                let store = $store::new();
                contract::many_keys_raced_have_one_winner_each(&store, $raced);
                assert_eq!(store.len(), u64::from($raced as u32));
            }
        }
    };
}

pub(crate) use contract_tests;
