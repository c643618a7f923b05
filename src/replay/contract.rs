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

use super::{ReplayKey, ReplayStore, Reservation, Settle, Ticket};
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
    at_once(store.insert_if_absent(key, ttl))
}

/// One check of several records (Inqud's salt and MAC) through the trait.
pub(crate) fn check_all(
    store: &impl ReplayStore,
    keys: &[ReplayKey],
    ttl: Duration,
) -> Result<bool, StoreError> {
    at_once(store.insert_all_if_absent(keys, ttl))
}

/// Polls a store's future once: in-process stores answer without waiting.
fn at_once<T>(mut future: crate::BoxFuture<'_, T>) -> T {
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(result) => result,
        Poll::Pending => panic!("an in-process replay store must answer at once"),
    }
}

/// One reservation through the trait, as the layers make it.
pub(crate) fn reserve(
    store: &impl ReplayStore,
    key: &ReplayKey,
    hold: Duration,
) -> Result<Reservation, StoreError> {
    at_once(store.reserve(key, hold))
}

/// One settlement through the trait, as the layers make it.
pub(crate) fn settle(
    store: &impl ReplayStore,
    key: &ReplayKey,
    ticket: Ticket,
    outcome: Settle,
) -> Result<(), StoreError> {
    at_once(store.settle(key, ticket, outcome))
}

/// The ticket of a reservation that must be new.
pub(crate) fn new(reservation: Result<Reservation, StoreError>) -> Ticket {
    match reservation {
        Ok(Reservation::New(ticket)) => ticket,
        other => panic!("expected a new reservation, got {other:?}"),
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
    let [_, mac] = ReplayKey::nonce_and_mac("s", "tenant-a", b"nonce", b"tag");
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

// ---------------------------------------------------------------------------------------------
// Webhook delivery states.

/// A new delivery is reserved for one copy: another copy meanwhile finds it in flight, a copy of
/// another delivery is new, and the reserved key is a replay for `insert_if_absent`.
pub(crate) fn a_new_delivery_is_reserved_once(store: &impl ReplayStore) {
    let key = ReplayKey::new("s", "k", b"msg_1");
    new(reserve(store, &key, MINUTE));
    assert_eq!(reserve(store, &key, MINUTE).unwrap(), Reservation::InFlight);
    assert_eq!(reserve(store, &key, MINUTE).unwrap(), Reservation::InFlight);
    new(reserve(store, &ReplayKey::new("s", "k", b"msg_2"), MINUTE));
    assert!(!check(store, &key, HOUR).unwrap());
}

/// A delivery settled as handled is done: every later copy finds it so, and settling again
/// changes nothing.
pub(crate) fn a_handled_delivery_is_done(store: &impl ReplayStore) {
    let key = ReplayKey::new("s", "k", b"msg_1");
    let ticket = new(reserve(store, &key, MINUTE));
    settle(store, &key, ticket, Settle::Done(HOUR)).unwrap();
    assert_eq!(reserve(store, &key, MINUTE).unwrap(), Reservation::Done);
    settle(store, &key, ticket, Settle::Failed).unwrap();
    settle(store, &key, ticket, Settle::Done(HOUR)).unwrap();
    assert_eq!(reserve(store, &key, MINUTE).unwrap(), Reservation::Done);
    assert!(!check(store, &key, HOUR).unwrap());
}

/// A nonce recorded by `insert_if_absent` reads as a handled delivery.
pub(crate) fn a_recorded_nonce_reads_as_done(store: &impl ReplayStore) {
    let key = ReplayKey::new("s", "k", b"msg_1");
    assert!(check(store, &key, HOUR).unwrap());
    assert_eq!(reserve(store, &key, MINUTE).unwrap(), Reservation::Done);
}

/// A delivery whose handling failed is forgotten: the next copy gets a new reservation, with a
/// ticket of its own, even within the same millisecond.
pub(crate) fn a_failed_delivery_is_new_again(store: &impl ReplayStore) {
    let key = ReplayKey::new("s", "k", b"msg_1");
    let first = new(reserve(store, &key, MINUTE));
    settle(store, &key, first, Settle::Failed).unwrap();
    let second = new(reserve(store, &key, MINUTE));
    assert_ne!(second, first);
    // The failed copy's ticket no longer counts.
    settle(store, &key, first, Settle::Failed).unwrap();
    assert_eq!(reserve(store, &key, MINUTE).unwrap(), Reservation::InFlight);
    settle(store, &key, first, Settle::Done(HOUR)).unwrap();
    assert_eq!(reserve(store, &key, MINUTE).unwrap(), Reservation::InFlight);
    settle(store, &key, second, Settle::Done(HOUR)).unwrap();
    assert_eq!(reserve(store, &key, MINUTE).unwrap(), Reservation::Done);
}

/// A reservation lapses after its hold, to the millisecond (rounded in its favour): the next copy
/// gets a new one.
pub(crate) fn a_lapsed_hold_is_new_again(store: &impl ReplayStore, clock: &ManualClock) {
    let key = ReplayKey::new("s", "k", b"msg_1");
    let hold = MINUTE + Duration::from_micros(1_500);
    new(reserve(store, &key, hold));
    clock.advance(hold);
    assert_eq!(reserve(store, &key, hold).unwrap(), Reservation::InFlight);
    clock.advance(2 * MS);
    new(reserve(store, &key, hold));
    assert_eq!(reserve(store, &key, hold).unwrap(), Reservation::InFlight);
}

/// Finding: a copy whose reservation lapsed could settle the reservation another copy took
/// since. Its ticket no longer counts: neither its failure nor its success touches the other
/// copy's reservation, which that copy settles.
pub(crate) fn a_stale_ticket_cannot_settle_another_copys_reservation(
    store: &impl ReplayStore,
    clock: &ManualClock,
) {
    let key = ReplayKey::new("s", "k", b"msg_1");
    let stale = new(reserve(store, &key, MINUTE));
    clock.advance(2 * MINUTE);
    let current = new(reserve(store, &key, MINUTE));
    assert_ne!(current, stale);
    settle(store, &key, stale, Settle::Failed).unwrap();
    assert_eq!(reserve(store, &key, MINUTE).unwrap(), Reservation::InFlight);
    settle(store, &key, stale, Settle::Done(HOUR)).unwrap();
    assert_eq!(reserve(store, &key, MINUTE).unwrap(), Reservation::InFlight);
    settle(store, &key, current, Settle::Failed).unwrap();
    let next = new(reserve(store, &key, MINUTE));
    settle(store, &key, stale, Settle::Done(HOUR)).unwrap();
    assert_eq!(reserve(store, &key, MINUTE).unwrap(), Reservation::InFlight);
    settle(store, &key, next, Settle::Done(HOUR)).unwrap();
    assert_eq!(reserve(store, &key, MINUTE).unwrap(), Reservation::Done);
}

/// Finding: a copy handled after its reservation lapsed, with the lapsed reservation of another
/// copy left over, was not remembered, and the next copy was handled again. A success whose
/// reservation is gone is remembered as done, unless another copy holds a live reservation.
pub(crate) fn a_late_success_is_remembered(store: &impl ReplayStore, clock: &ManualClock) {
    let key = ReplayKey::new("s", "k", b"msg_1");
    let late = new(reserve(store, &key, MINUTE));
    clock.advance(2 * MINUTE);
    // Another copy reserves, and its reservation lapses too.
    new(reserve(store, &key, MINUTE));
    clock.advance(2 * MINUTE);
    settle(store, &key, late, Settle::Done(HOUR)).unwrap();
    assert_eq!(reserve(store, &key, MINUTE).unwrap(), Reservation::Done);

    // Nothing left at all: remembered as well.
    let key = ReplayKey::new("s", "k", b"msg_2");
    let late = new(reserve(store, &key, MINUTE));
    clock.advance(2 * MINUTE);
    let other = new(reserve(store, &key, MINUTE));
    settle(store, &key, other, Settle::Failed).unwrap();
    settle(store, &key, late, Settle::Done(HOUR)).unwrap();
    assert_eq!(reserve(store, &key, MINUTE).unwrap(), Reservation::Done);
}

/// A handled delivery is remembered for the TTL it was settled with, then new again.
pub(crate) fn done_expires_after_its_ttl(store: &impl ReplayStore, clock: &ManualClock) {
    let key = ReplayKey::new("s", "k", b"msg_1");
    let ticket = new(reserve(store, &key, MINUTE));
    clock.advance(MINUTE / 2);
    settle(store, &key, ticket, Settle::Done(HOUR)).unwrap();
    // Counted from the settlement, not from the reservation.
    clock.advance(HOUR - MS);
    assert_eq!(reserve(store, &key, MINUTE).unwrap(), Reservation::Done);
    clock.advance(2 * MS);
    new(reserve(store, &key, MINUTE));
}

/// `store` has a capacity of two: reservations take room like nonces, a third delivery is an
/// error (the layer answers 503), and a failed one's room is reused.
pub(crate) fn reservations_take_room(store: &impl ReplayStore) {
    let a = ReplayKey::new("s", "k", b"a");
    let ticket = new(reserve(store, &a, MINUTE));
    new(reserve(store, &ReplayKey::new("s", "k", b"b"), MINUTE));
    let c = ReplayKey::new("s", "k", b"c");
    assert_eq!(
        reserve(store, &c, MINUTE).unwrap_err().to_string(),
        AT_CAPACITY
    );
    settle(store, &a, ticket, Settle::Failed).unwrap();
    new(reserve(store, &c, MINUTE));
    assert_eq!(reserve(store, &c, MINUTE).unwrap(), Reservation::InFlight);
}

/// Eight threads reserving one delivery a hundred times each: exactly one new reservation, every
/// other answer in flight; once it is settled, every copy finds it done.
pub(crate) fn concurrent_reserves_have_one_new(store: &impl ReplayStore) {
    let key = ReplayKey::new("s", "k", b"race");
    let tickets = std::sync::Mutex::new(Vec::new());
    let start = Barrier::new(8);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                start.wait();
                for _ in 0..100 {
                    match reserve(store, &key, HOUR).unwrap() {
                        Reservation::New(ticket) => tickets.lock().unwrap().push(ticket),
                        Reservation::InFlight => {}
                        Reservation::Done => panic!("done before it was settled"),
                    }
                }
            });
        }
    });
    let tickets = tickets.into_inner().unwrap();
    assert_eq!(tickets.len(), 1);
    settle(store, &key, tickets[0], Settle::Done(HOUR)).unwrap();
    assert_eq!(reserve(store, &key, HOUR).unwrap(), Reservation::Done);
}

/// The records of one check are written together or not at all: a check finding one of them
/// refuses and leaves none of the others recorded, whichever comes first.
pub(crate) fn records_of_one_check_are_all_or_nothing(store: &impl ReplayStore) {
    let key = |n: &str| ReplayKey::new("s", "k", n.as_bytes());
    assert!(check_all(store, &[], HOUR).unwrap());
    assert!(check_all(store, &[key("salt-1"), key("mac-1")], HOUR).unwrap());
    assert!(!check_all(store, &[key("salt-2"), key("mac-1")], HOUR).unwrap());
    assert!(!check_all(store, &[key("salt-1"), key("mac-2")], HOUR).unwrap());
    assert!(check(store, &key("salt-2"), HOUR).unwrap());
    assert!(check(store, &key("mac-2"), HOUR).unwrap());
    assert!(check_all(store, &[key("salt-3")], HOUR).unwrap());
    assert!(!check(store, &key("salt-3"), HOUR).unwrap());
}

/// Finding: the in-process stores recorded a check's keys one by one, so a key recorded before a
/// later one found no room stayed recorded: the request got 503 and its honest retry was refused
/// as a replay. A check that fails leaves none of its records; once there is room the same check
/// passes. `store` holds two entries.
pub(crate) fn a_failed_check_leaves_no_record(store: &impl ReplayStore) {
    let key = |n: &str| ReplayKey::new("s", "k", n.as_bytes());
    let check_of = [key("salt"), key("mac"), key("third")];
    let err = check_all(store, &check_of, HOUR).unwrap_err();
    assert_eq!(err.to_string(), AT_CAPACITY);
    assert!(check_all(store, &check_of[..2], HOUR).unwrap());
    assert!(!check(store, &key("salt"), HOUR).unwrap());
    assert!(!check(store, &key("mac"), HOUR).unwrap());
}

/// Sixty-four checks on eight threads, each with its own salt and the same MAC: one wins, and only
/// its salt is recorded.
pub(crate) fn concurrent_checks_sharing_a_record_have_one_winner(store: &impl ReplayStore) {
    let mac = ReplayKey::new("s", "k", b"the mac");
    let salt = |n: usize| ReplayKey::new("s", "k", format!("salt-{n}").as_bytes());
    let barrier = Barrier::new(8);
    let winners = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for thread in 0..8 {
            let (barrier, winners) = (&barrier, &winners);
            scope.spawn(move || {
                barrier.wait();
                for n in (thread * 8)..(thread * 8 + 8) {
                    if check_all(store, &[salt(n), mac], HOUR).unwrap() {
                        winners.lock().unwrap().push(n);
                    }
                }
            });
        }
    });
    let winners = winners.into_inner().unwrap();
    assert_eq!(winners.len(), 1, "{winners:?}");
    for n in 0..64 {
        let recorded = !check(store, &salt(n), HOUR).unwrap();
        assert_eq!(recorded, winners.contains(&n), "salt {n}");
    }
}

/// The answers at once (`insert_all_now`, `reserve_now`, `settle_now`, which the layers ask
/// first) are the store's answers, sharing its state with the calls through futures: an
/// in-process store always gives them.
pub(crate) fn answers_at_once_are_the_stores_answers(store: &impl ReplayStore) {
    let key = |n: &str| ReplayKey::new("s", "k", n.as_bytes());
    let now = |answer: Option<Result<bool, StoreError>>| {
        answer
            .expect("an in-process store answers at once")
            .unwrap()
    };
    assert!(now(store.insert_all_now(&[key("salt"), key("mac")], HOUR)));
    assert!(!check(store, &key("mac"), HOUR).unwrap());
    assert!(!now(
        store.insert_all_now(&[key("other"), key("salt")], HOUR)
    ));
    // Refused, the check took back what it recorded.
    assert!(check(store, &key("other"), HOUR).unwrap());

    let delivery = key("delivery");
    let ticket = new(store.reserve_now(&delivery, MINUTE).expect("at once"));
    assert!(matches!(
        reserve(store, &delivery, MINUTE),
        Ok(Reservation::InFlight)
    ));
    let settled = store.settle_now(&delivery, ticket, Settle::Done(HOUR));
    settled.expect("at once").unwrap();
    let again = store.reserve_now(&delivery, MINUTE).expect("at once");
    assert!(matches!(again, Ok(Reservation::Done)));
}

/// The contract suite for one in-process store type: every test above, on `$store` built with
/// `with_capacity`, `clock` and `per_key_limit`, plus the counts the store reports (`len`,
/// `held_by`): the nonce contract and the webhook delivery states. `$raced` is how many keys the
/// many-keys race uses.
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
            fn a_new_delivery_is_reserved_once() {
                let store = $store::new();
                contract::a_new_delivery_is_reserved_once(&store);
                assert_eq!(store.len(), 2);
            }

            #[test]
            fn a_handled_delivery_is_done() {
                let store = $store::new();
                contract::a_handled_delivery_is_done(&store);
                assert_eq!(store.len(), 1);
            }

            #[test]
            fn a_recorded_nonce_reads_as_done() {
                contract::a_recorded_nonce_reads_as_done(&$store::new());
            }

            #[test]
            fn a_failed_delivery_is_new_again() {
                let store = $store::new();
                contract::a_failed_delivery_is_new_again(&store);
                assert_eq!(store.len(), 1);
            }

            #[test]
            fn a_lapsed_hold_is_new_again() {
                let clock = contract::clock();
                contract::a_lapsed_hold_is_new_again(&store(100, &clock), &clock);
            }

            #[test]
            fn a_stale_ticket_cannot_settle_another_copys_reservation() {
                let clock = contract::clock();
                let store = store(100, &clock);
                contract::a_stale_ticket_cannot_settle_another_copys_reservation(&store, &clock);
                assert_eq!(store.len(), 1);
            }

            #[test]
            fn a_late_success_is_remembered() {
                let clock = contract::clock();
                contract::a_late_success_is_remembered(&store(100, &clock), &clock);
            }

            #[test]
            fn done_expires_after_its_ttl() {
                let clock = contract::clock();
                contract::done_expires_after_its_ttl(&store(100, &clock), &clock);
            }

            #[test]
            fn reservations_take_room() {
                let store = $store::with_capacity(2);
                contract::reservations_take_room(&store);
                assert_eq!(store.len(), 2);
            }

            #[test]
            fn concurrent_reserves_have_one_new() {
                let store = $store::new();
                contract::concurrent_reserves_have_one_new(&store);
                assert_eq!(store.len(), 1);
            }

            #[test]
            fn records_of_one_check_are_all_or_nothing() {
                let store = $store::new();
                contract::records_of_one_check_are_all_or_nothing(&store);
            }

            #[test]
            fn a_failed_check_leaves_no_record() {
                let store = $store::with_capacity(2).per_key_limit(2);
                contract::a_failed_check_leaves_no_record(&store);
            }

            #[test]
            fn answers_at_once_are_the_stores_answers() {
                contract::answers_at_once_are_the_stores_answers(&$store::new());
            }

            #[test]
            fn concurrent_checks_sharing_a_record_have_one_winner() {
                let store = $store::new();
                contract::concurrent_checks_sharing_a_record_have_one_winner(&store);
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
