//! Insert-if-absent throughput (one thread, two threads), webhook deliveries (a reservation and its
//! settlement) per second, and resident memory per remembered key at 1,000,000 entries and in a
//! store filled to its default capacity, of `MokaReplayStore` and `CompactReplayStore`. See
//! BENCHMARKS.md.
//!
//! Run: `cargo bench --bench replay_store`
//!
//! Throughput: each check is a `ReplayStore::insert_if_absent` of a key not seen before (what an
//! accepted request costs), through the trait as the layers call it. Keys are computed before the
//! clock starts. "Contended" runs two threads on one shared store at once, each with its own keys,
//! and reports their combined rate. Deliveries: each is a `reserve` of a key not seen before and
//! its `settle` as handled, what a webhook layer asks of its store per delivery.
//!
//! Memory: measured in a child process of its own per store and size (this program started again
//! with `memory <store>` or `memory-full <store>`), so that nothing else allocated here is counted:
//! `VmRSS` from `/proc/self/status` after building the store, then after inserting 1,000,000 fresh
//! keys (or as many as the default capacity, under four key ids so that no key's share stops
//! them), divided by the number of entries.

use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use tower_hmac::replay::{CompactReplayStore, Reservation, Settle};
use tower_hmac::{MokaReplayStore, ReplayKey, ReplayStore};

#[path = "../tests/common/poll.rs"]
mod poll;
use poll::ready;

const TTL: Duration = Duration::from_secs(24 * 60 * 60);
const ENTRIES: u64 = 1_000_000;

fn keys(thread: u64, count: u64) -> Vec<ReplayKey> {
    (0..count)
        .map(|n| ReplayKey::new("bench", &format!("TKN-{thread}"), &n.to_be_bytes()))
        .collect()
}

/// Inserts every key once; returns the time taken. Every insert must be a first use.
fn insert_all(store: &dyn ReplayStore, keys: &[ReplayKey]) -> Duration {
    let start = Instant::now();
    for key in keys {
        let fresh = ready(store.insert_if_absent(black_box(key), TTL)).unwrap();
        assert!(fresh, "a fresh key was reported as a replay");
    }
    start.elapsed()
}

/// A store with room for every key the benchmark inserts.
fn new_store(name: &str) -> Box<dyn ReplayStore> {
    match name {
        "moka" => Box::new(MokaReplayStore::with_capacity(2 * ENTRIES)),
        "compact" => Box::new(CompactReplayStore::with_capacity(2 * ENTRIES)),
        _ => panic!("unknown store {name}"),
    }
}

/// A store with the default capacity, and that capacity.
fn default_store(name: &str) -> (Box<dyn ReplayStore>, u64) {
    match name {
        "moka" => (
            Box::new(MokaReplayStore::new()),
            MokaReplayStore::DEFAULT_CAPACITY,
        ),
        "compact" => (
            Box::new(CompactReplayStore::new()),
            CompactReplayStore::DEFAULT_CAPACITY,
        ),
        _ => panic!("unknown store {name}"),
    }
}

fn throughput(name: &str) {
    let single = keys(0, ENTRIES);
    let store = new_store(name);
    let took = insert_all(&*store, &single);
    println!(
        "replay_store/{name}/single: {} fresh inserts in {:.3} s = {:.0} checks/s ({:.0} ns/check)",
        ENTRIES,
        took.as_secs_f64(),
        ENTRIES as f64 / took.as_secs_f64(),
        took.as_nanos() as f64 / ENTRIES as f64,
    );

    // Replays of keys already held: the other answer the store gives.
    let start = Instant::now();
    for key in &single {
        assert!(!ready(store.insert_if_absent(black_box(key), TTL)).unwrap());
    }
    let took = start.elapsed();
    println!(
        "replay_store/{name}/single_replayed: {} replayed checks in {:.3} s = {:.0} checks/s",
        ENTRIES,
        took.as_secs_f64(),
        ENTRIES as f64 / took.as_secs_f64(),
    );
    drop(store);

    // Deliveries: reserved, then settled as handled.
    let deliveries = keys(3, ENTRIES / 4);
    let store = new_store(name);
    let hold = Duration::from_secs(60);
    let start = Instant::now();
    for key in &deliveries {
        let Reservation::New(ticket) = ready(store.reserve(black_box(key), hold)).unwrap() else {
            panic!("a fresh delivery was not reserved");
        };
        ready(store.settle(key, ticket, Settle::Done(TTL))).unwrap();
    }
    let took = start.elapsed();
    println!(
        "replay_store/{name}/deliveries: {} reserved and settled in {:.3} s = {:.0} deliveries/s ({:.0} ns/delivery)",
        deliveries.len(),
        took.as_secs_f64(),
        deliveries.len() as f64 / took.as_secs_f64(),
        took.as_nanos() as f64 / deliveries.len() as f64,
    );
    drop(store);

    let per_thread = ENTRIES / 2;
    let sets = [keys(1, per_thread), keys(2, per_thread)];
    let store = new_store(name);
    let barrier = std::sync::Barrier::new(2);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for set in &sets {
            let (store, barrier) = (&*store, &barrier);
            scope.spawn(move || {
                barrier.wait();
                insert_all(store, set)
            });
        }
    });
    let took = start.elapsed();
    println!(
        "replay_store/{name}/contended_2_threads: {} fresh inserts in {:.3} s = {:.0} checks/s combined",
        per_thread * 2,
        took.as_secs_f64(),
        (per_thread * 2) as f64 / took.as_secs_f64(),
    );
}

/// Resident set size of this process in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS line");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("VmRSS value");
    kib * 1024
}

fn memory(name: &str) {
    let store = new_store(name);
    // One check before measuring, so that lazily built parts of the cache are already there.
    let warm = ReplayKey::new("bench", "warm", b"");
    assert!(ready(store.insert_if_absent(&warm, TTL)).unwrap());
    let before = rss();
    for n in 0..ENTRIES {
        // Keys are made one at a time, so no key list is resident.
        let key = ReplayKey::new("bench", "TKN-0", &n.to_be_bytes());
        assert!(ready(store.insert_if_absent(&key, TTL)).unwrap());
    }
    let after = rss();
    // Every key is still remembered.
    for n in (0..ENTRIES).step_by(1000) {
        let key = ReplayKey::new("bench", "TKN-0", &n.to_be_bytes());
        assert!(!ready(store.insert_if_absent(&key, TTL)).unwrap());
    }
    println!(
        "replay_store/{name}/memory: VmRSS {} -> {} bytes after {} entries = {:.1} bytes/entry",
        before,
        after,
        ENTRIES,
        (after - before) as f64 / ENTRIES as f64,
    );
}

/// A store of the default capacity, filled: what the capacity's memory budget promises.
fn memory_full(name: &str) {
    let (store, capacity) = default_store(name);
    let key = |n: u64| ReplayKey::new("bench", &format!("TKN-{}", n % 4), &n.to_be_bytes());
    let warm = ReplayKey::new("bench", "warm", b"");
    assert!(ready(store.insert_if_absent(&warm, TTL)).unwrap());
    let before = rss();
    for n in 1..capacity {
        assert!(ready(store.insert_if_absent(&key(n), TTL)).unwrap());
    }
    let after = rss();
    // Full: a new key is refused, a held one is still a replay.
    assert!(ready(store.insert_if_absent(&key(capacity), TTL)).is_err());
    assert!(!ready(store.insert_if_absent(&key(1), TTL)).unwrap());
    println!(
        "replay_store/{name}/memory_full: VmRSS {} -> {} bytes at the default capacity of {} entries = {:.1} MiB, {:.1} bytes/entry",
        before,
        after,
        capacity,
        (after - before) as f64 / (1024.0 * 1024.0),
        (after - before) as f64 / capacity as f64,
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, so run quickly there.
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "memory") {
        memory(&args[at + 1]);
        return;
    }
    if let Some(at) = args.iter().position(|a| a == "memory-full") {
        memory_full(&args[at + 1]);
        return;
    }
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    for name in ["moka", "compact"] {
        throughput(name);
        for mode in ["memory", "memory-full"] {
            let status = Command::new(std::env::current_exe().expect("current exe"))
                .args([mode, name])
                .status()
                .expect("memory measurement process");
            assert!(status.success(), "memory measurement failed");
        }
    }
}
