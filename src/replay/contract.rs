//! The contract every in-process [`ReplayStore`] keeps, checked once here for each of them
//! (`MokaReplayStore` and `CompactReplayStore` call these from their own tests).

use std::sync::Barrier;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::{ReplayKey, ReplayStore};
use crate::error::StoreError;

const HOUR: Duration = Duration::from_secs(3600);

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
pub(crate) fn entries_expire_after_their_ttl(store: &impl ReplayStore) {
    let key = ReplayKey::new("s", "k", b"n");
    let ttl = Duration::from_millis(30);
    assert!(check(store, &key, ttl).unwrap());
    assert!(!check(store, &key, ttl).unwrap());
    std::thread::sleep(Duration::from_millis(80));
    assert!(check(store, &key, ttl).unwrap());
    assert!(!check(store, &key, ttl).unwrap());
}

/// `store` has a capacity of two: a third key is an error (the layer answers 503), never a
/// forgotten key, and a key already held is still a replay.
pub(crate) fn full_store_fails_closed(store: &impl ReplayStore) {
    for n in [b"a", b"b"] {
        assert!(check(store, &ReplayKey::new("s", "k", n), HOUR).unwrap());
    }
    let err = check(store, &ReplayKey::new("s", "k", b"c"), HOUR).unwrap_err();
    assert_eq!(
        err.to_string(),
        "store unavailable: replay store is at capacity"
    );
    assert!(!check(store, &ReplayKey::new("s", "k", b"a"), HOUR).unwrap());
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
