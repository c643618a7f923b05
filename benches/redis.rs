//! Redis replay-store checks per second and latency percentiles, at 1, 8 and 64 checks in flight,
//! on one `redis-server` and on a three-master Redis Cluster that this program starts on loopback
//! ports (Debian's `redis-server`, as the tests use), beside a bare `SET NX PX` sent by the same
//! client (`redis` crate connection) in the same run.
//!
//! Run: `cargo bench --bench redis --features redis` (the servers are started and stopped by the bench). Not part
//! of the test run.
//!
//! Rows, per server kind and concurrency, each measured for `SLICE` in each of `ROUNDS` rounds
//! after a short warm-up, the three operations taking turns within a round (so that the load of a
//! shared machine, which drifts, weighs on all three alike):
//!
//! - `SET NX PX` (bare): `SET <key> 1 NX PX 86400000` on the raw connection the store uses
//!   (`ConnectionManager`, or the cluster connection), a new key each time;
//! - `insert_if_absent`: a Humanos-style check through `RedisReplayStore` (the same `SET`, plus
//!   the store's key building and timeout);
//! - `insert_all_if_absent` (2 keys): an Inqud check, its salt and MAC in one Lua script
//!   (`EVALSHA`).
//!
//! Keys spread over 64 key ids, so that in the cluster they spread over the masters. Each of the
//! `N` workers sends its next check as soon as the last one is answered. The last column is the
//! row's checks per second over the bare `SET`'s of the same server and concurrency.

#[path = "../tests/common/redis_server.rs"]
#[allow(dead_code)]
mod redis_server;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis_server::{RedisCluster, RedisServer};
use tower_hmac::replay::RedisReplayStore;
use tower_hmac::{ReplayKey, ReplayStore};

const SLICE: Duration = Duration::from_secs(1);
const ROUNDS: u32 = 3;
const WARM_UP: Duration = Duration::from_millis(300);
const TTL: Duration = Duration::from_secs(86_400);

#[derive(Clone, Copy)]
enum Op {
    BareSet,
    Insert,
    InsertAll,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Self::BareSet => "SET NX PX (bare)",
            Self::Insert => "insert_if_absent",
            Self::InsertAll => "insert_all_if_absent (2 keys)",
        }
    }
}

/// The raw connection the store runs on.
#[derive(Clone)]
enum Raw {
    Single(redis::aio::ConnectionManager),
    Cluster(redis::cluster_async::ClusterConnection),
}

impl Raw {
    async fn set_nx(&self, key: &[u8]) -> bool {
        let mut set = redis::cmd("SET");
        set.arg(key)
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(TTL.as_millis() as u64);
        let reply: Option<String> = match self.clone() {
            Self::Single(mut c) => set.query_async(&mut c).await.unwrap(),
            Self::Cluster(mut c) => set.query_async(&mut c).await.unwrap(),
        };
        reply.is_some()
    }
}

struct Target {
    store: RedisReplayStore,
    raw: Raw,
}

/// Unique keys across workers and runs.
static NEXT: AtomicU64 = AtomicU64::new(0);

async fn one(target: &Target, op: Op) {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let id = format!("TKN-{}", n % 64);
    let nonce = n.to_be_bytes();
    let fresh = match op {
        Op::BareSet => {
            // A hash tag per key id, as the store writes in a cluster.
            let key = format!("bench:{{{id}}}:{n}");
            target.raw.set_nx(key.as_bytes()).await
        }
        Op::Insert => target
            .store
            .insert_if_absent(&ReplayKey::new("bench", &id, &nonce), TTL)
            .await
            .unwrap(),
        Op::InsertAll => {
            // A salt and a MAC, both under one key id (one slot), as an Inqud check records them.
            let mac = [&nonce[..], b"mac"].concat();
            let keys = [
                ReplayKey::new("bench", &id, &nonce),
                ReplayKey::new("bench", &id, &mac),
            ];
            target.store.insert_all_if_absent(&keys, TTL).await.unwrap()
        }
    };
    assert!(fresh, "a fresh key was refused");
}

/// Sends `op` for a short while, unmeasured.
async fn warm_up(target: &Target, op: Op) {
    let warm_until = Instant::now() + WARM_UP;
    while Instant::now() < warm_until {
        one(target, op).await;
    }
}

/// Runs `op` from `workers` tasks for `SLICE`: the latency of every check, and the time taken
/// until the last one was answered.
async fn measure(target: Arc<Target>, op: Op, workers: usize) -> (Vec<Duration>, Duration) {
    let started = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let target = Arc::clone(&target);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while started.elapsed() < SLICE {
                    let at = Instant::now();
                    one(&target, op).await;
                    latencies.push(at.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    (latencies, started.elapsed())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

fn micros(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1e6)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // cargo test --benches asks for the list of benchmarks
    }
    println!(
        "| server | checks in flight | operation | checks/s | p50 µs | p90 µs | p99 µs | max µs | / bare SET |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");

    let server = RedisServer::start();
    let single = Arc::new(Target {
        store: RedisReplayStore::connect(&server.url())
            .await
            .unwrap()
            .timeout(Duration::from_secs(5)),
        raw: Raw::Single(
            redis::aio::ConnectionManager::new(redis::Client::open(server.url()).unwrap())
                .await
                .unwrap(),
        ),
    });
    run("single", single).await;
    drop(server);

    let cluster = RedisCluster::start();
    let raw = redis::cluster::ClusterClient::new(cluster.urls())
        .unwrap()
        .get_async_connection()
        .await
        .unwrap();
    let target = Arc::new(Target {
        store: RedisReplayStore::connect_cluster(cluster.urls())
            .await
            .unwrap()
            .timeout(Duration::from_secs(5)),
        raw: Raw::Cluster(raw),
    });
    run("cluster (3 masters)", target).await;
}

async fn run(server: &str, target: Arc<Target>) {
    const OPS: [Op; 3] = [Op::BareSet, Op::Insert, Op::InsertAll];
    for workers in [1, 8, 64] {
        for op in OPS {
            warm_up(&target, op).await;
        }
        let mut latencies: [Vec<Duration>; 3] = Default::default();
        let mut took = [Duration::ZERO; 3];
        for _ in 0..ROUNDS {
            for (n, op) in OPS.into_iter().enumerate() {
                let (slice, elapsed) = measure(Arc::clone(&target), op, workers).await;
                latencies[n].extend(slice);
                took[n] += elapsed;
            }
        }
        let rates: [f64; 3] =
            std::array::from_fn(|n| latencies[n].len() as f64 / took[n].as_secs_f64());
        for (n, op) in OPS.into_iter().enumerate() {
            let rate = rates[n];
            latencies[n].sort();
            let latencies = &latencies[n];
            println!(
                "| {server} | {workers} | {} | {rate:.0} | {} | {} | {} | {} | {:.2} |",
                op.name(),
                micros(percentile(latencies, 0.50)),
                micros(percentile(latencies, 0.90)),
                micros(percentile(latencies, 0.99)),
                micros(percentile(latencies, 1.0)),
                rate / rates[0],
            );
        }
    }
}
