//! The Redis replay store against real `redis-server`s on loopback, on one server and on a
//! three-master Redis Cluster alike: atomic first use, one round trip per check, TTLs on every key,
//! two instances sharing one history, webhook delivery states (the cases the in-process stores run
//! from their contract suite, on Redis's clock, and two webhook layers sharing one Redis), and
//! failing closed while Redis, or a master of the cluster, is down or frozen. The cluster also
//! moves a slot and fails a master over under the store.
//!
//! Each case is an `async fn` taking a [`Backend`]; `on_both!` runs it on a single server
//! (`single::name`) and on a cluster (`cluster::name`).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use bytes::Bytes;
use common::redis_server::{RedisCluster, RedisServer};
use common::{grpc, now_ms, send, serve_axum};
use http::{HeaderMap, Request, StatusCode};
use http_body_util::Full;
use tower_hmac::inqud::{self, InqudCaller, InqudVerifyLayer};
use tower_hmac::replay::{RedisReplayStore, Reservation, Settle, Ticket};
use tower_hmac::standard::{self, StandardVerifyLayer};
use tower_hmac::webhooks::Delivery;
use tower_hmac::{Key, MemoryKeyStore, ReplayKey, ReplayStore, Secret, Verified};

/// Where a case's Redis runs: one server, or a cluster of three masters.
enum Backend {
    Single(RedisServer),
    Cluster(RedisCluster),
}

impl Backend {
    fn single() -> Self {
        Self::Single(RedisServer::start())
    }

    fn cluster() -> Self {
        Self::Cluster(RedisCluster::start())
    }

    /// A store on it, as an instance of a service connects: 300 ms per check.
    async fn store(&self) -> RedisReplayStore {
        let store = match self {
            Self::Single(server) => RedisReplayStore::connect(&server.url()).await,
            Self::Cluster(cluster) => RedisReplayStore::connect_cluster(cluster.urls()).await,
        };
        store.unwrap().timeout(Duration::from_millis(300))
    }

    fn servers(&self) -> Vec<&RedisServer> {
        match self {
            Self::Single(server) => vec![server],
            Self::Cluster(cluster) => cluster.nodes().iter().collect(),
        }
    }

    /// Every key held, with its `PTTL`.
    fn ttls(&self) -> Vec<(Vec<u8>, i64)> {
        self.servers()
            .into_iter()
            .flat_map(RedisServer::ttls)
            .collect()
    }

    /// The value of the Redis key `key`, wherever it is.
    fn get(&self, key: &[u8]) -> Option<String> {
        self.servers().into_iter().find_map(|server| {
            let client = redis::Client::open(server.url()).unwrap();
            let mut connection = client.get_connection().unwrap();
            // A node that does not hold the slot answers MOVED: not here.
            redis::cmd("GET")
                .arg(key)
                .query::<Option<String>>(&mut connection)
                .ok()
                .flatten()
        })
    }

    /// The Redis key of `key` under `prefix`, as the store's docs give it.
    fn redis_key(&self, prefix: &str, key: &ReplayKey) -> Vec<u8> {
        let mut redis_key = prefix.as_bytes().to_vec();
        if let Self::Cluster(_) = self {
            redis_key.extend_from_slice(format!("{{{:016x}}}", key.owner()).as_bytes());
        }
        redis_key.extend_from_slice(key.as_bytes());
        redis_key
    }

    /// Every server logs every command from now on, with its arguments (`SLOWLOG`).
    fn log_commands(&self) {
        for server in self.servers() {
            server.command(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
            server.command(&["SLOWLOG", "RESET"]);
        }
    }

    /// The arguments of the logged commands named `name`, oldest first (the keys of one check
    /// are on one server, whose log this is in order).
    fn logged(&self, name: &str) -> Vec<Vec<String>> {
        self.logged_all()
            .into_iter()
            .filter(|args| args.first().is_some_and(|c| c.eq_ignore_ascii_case(name)))
            .collect()
    }

    /// The arguments of every logged command, oldest first on each server.
    fn logged_all(&self) -> Vec<Vec<String>> {
        let mut all = Vec::new();
        for server in self.servers() {
            type Entry = (i64, i64, i64, Vec<Vec<u8>>, String, String);
            let client = redis::Client::open(server.url()).unwrap();
            let mut connection = client.get_connection().unwrap();
            let entries: Vec<Entry> = redis::cmd("SLOWLOG")
                .arg("GET")
                .arg(1000)
                .query(&mut connection)
                .unwrap();
            let mut commands: Vec<Vec<String>> = entries
                .into_iter()
                .map(|(_, _, _, args, _, _)| {
                    args.iter()
                        .map(|a| String::from_utf8_lossy(a).into_owned())
                        .collect()
                })
                .collect();
            commands.reverse();
            all.extend(commands);
        }
        all
    }
}

/// Runs each listed case on a single server and on a cluster.
macro_rules! on_both {
    ($($case:ident),* $(,)?) => {
        mod single {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::Backend::single()).await
                }
            )*
        }
        mod cluster {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::Backend::cluster()).await
                }
            )*
        }
    };
}

on_both!(
    first_use_is_recorded_once_and_expires,
    prefixes_separate_histories,
    concurrent_checks_have_exactly_one_winner,
    ttls_are_rounded_up_not_down,
    records_of_one_check_are_all_or_nothing,
    concurrent_checks_sharing_a_record_have_one_winner,
    every_key_written_has_a_ttl,
    a_new_delivery_is_reserved_once,
    a_handled_delivery_is_done,
    a_recorded_nonce_reads_as_done,
    a_failed_delivery_is_new_again,
    a_lapsed_hold_is_new_again,
    a_stale_ticket_cannot_settle_another_copys_reservation,
    a_late_success_is_remembered,
    done_expires_after_its_ttl,
    concurrent_reserves_have_one_new,
    delivery_states_are_the_documented_values,
    a_delivery_handled_through_one_instance_is_acknowledged_by_the_other,
    a_delivery_that_failed_on_one_instance_is_handled_by_the_other,
    concurrent_copies_on_two_instances_one_handled_the_other_409,
    each_delivery_state_is_one_round_trip,
    a_salt_accepted_by_one_instance_is_refused_by_the_other,
    sixty_four_copies_over_two_instances_give_one_200,
    an_inqud_check_is_one_round_trip,
    a_resplit_request_burns_nothing,
);

async fn first_use_is_recorded_once_and_expires(backend: Backend) {
    let store = backend.store().await;
    let key = ReplayKey::new("test", "k", b"salt-1");
    assert!(
        store
            .insert_if_absent(&key, Duration::from_millis(200))
            .await
            .unwrap()
    );
    assert!(
        !store
            .insert_if_absent(&key, Duration::from_millis(200))
            .await
            .unwrap()
    );
    // Other nonce, other key id, other scheme: all first uses.
    for other in [
        ReplayKey::new("test", "k", b"salt-2"),
        ReplayKey::new("test", "k2", b"salt-1"),
        ReplayKey::new("other", "k", b"salt-1"),
    ] {
        assert!(
            store
                .insert_if_absent(&other, Duration::from_secs(60))
                .await
                .unwrap()
        );
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        store
            .insert_if_absent(&key, Duration::from_millis(200))
            .await
            .unwrap()
    );
}

async fn prefixes_separate_histories(backend: Backend) {
    let a = backend.store().await.prefix("svc-a:");
    let b = backend.store().await.prefix("svc-b:");
    let key = ReplayKey::new("test", "k", b"n");
    assert!(
        a.insert_if_absent(&key, Duration::from_secs(60))
            .await
            .unwrap()
    );
    assert!(
        b.insert_if_absent(&key, Duration::from_secs(60))
            .await
            .unwrap()
    );
    assert!(
        !a.insert_if_absent(&key, Duration::from_secs(60))
            .await
            .unwrap()
    );
}

async fn concurrent_checks_have_exactly_one_winner(backend: Backend) {
    let stores = [backend.store().await, backend.store().await];
    let key = ReplayKey::new("test", "k", b"race");
    let mut tasks = Vec::new();
    for i in 0..64 {
        let store = stores[i % 2].clone();
        tasks.push(tokio::spawn(async move {
            store
                .insert_if_absent(&key, Duration::from_secs(60))
                .await
                .unwrap()
        }));
    }
    let mut wins = 0;
    for task in tasks {
        wins += usize::from(task.await.unwrap());
    }
    assert_eq!(wins, 1);
}

/// Finding: an Inqud check recorded its salt, then its MAC, in two round trips, so a failure
/// between them left the salt burned and the client's honest retry was refused as a replay. The
/// records of one check are written together or not at all: a check finding one of them refuses
/// and writes none of the others.
async fn records_of_one_check_are_all_or_nothing(backend: Backend) {
    let store = backend.store().await;
    let key = |n: &str| ReplayKey::new("test", "k", n.as_bytes());
    assert!(store.insert_all_if_absent(&[], LONG).await.unwrap());
    assert!(
        store
            .insert_all_if_absent(&[key("salt-1"), key("mac-1")], LONG)
            .await
            .unwrap()
    );
    // The MAC seen before: refused, and the new salt left unrecorded (first or last, whichever).
    assert!(
        !store
            .insert_all_if_absent(&[key("salt-2"), key("mac-1")], LONG)
            .await
            .unwrap()
    );
    assert!(
        !store
            .insert_all_if_absent(&[key("salt-1"), key("mac-2")], LONG)
            .await
            .unwrap()
    );
    assert!(store.insert_if_absent(&key("salt-2"), LONG).await.unwrap());
    assert!(store.insert_if_absent(&key("mac-2"), LONG).await.unwrap());
    // A single record is a check of its own.
    assert!(
        store
            .insert_all_if_absent(&[key("salt-3")], LONG)
            .await
            .unwrap()
    );
    assert!(!store.insert_if_absent(&key("salt-3"), LONG).await.unwrap());
    // Everything written lives for the TTL given.
    let ttls = backend.ttls();
    assert_eq!(ttls.len(), 5, "{ttls:?}");
    assert!(ttls.iter().all(|(_, ttl)| *ttl > 50_000 && *ttl <= 60_000));
}

/// Sixty-four checks through two stores, each with its own salt and the same MAC: one wins, and
/// only its salt is recorded.
async fn concurrent_checks_sharing_a_record_have_one_winner(backend: Backend) {
    let stores = [backend.store().await, backend.store().await];
    let mac = ReplayKey::new("test", "k", b"the mac");
    let salt = |n: usize| ReplayKey::new("test", "k", format!("salt-{n}").as_bytes());
    let mut tasks = Vec::new();
    for n in 0..64 {
        let store = stores[n % 2].clone();
        tasks.push(tokio::spawn(async move {
            store
                .insert_all_if_absent(&[salt(n), mac], LONG)
                .await
                .unwrap()
        }));
    }
    let mut winners = Vec::new();
    for (n, task) in tasks.into_iter().enumerate() {
        if task.await.unwrap() {
            winners.push(n);
        }
    }
    assert_eq!(winners.len(), 1);
    for n in 0..64 {
        let recorded = !stores[0].insert_if_absent(&salt(n), LONG).await.unwrap();
        assert_eq!(recorded, winners.contains(&n), "salt {n}");
    }
}

/// Nonces, checks of several records, and deliveries reserved, handled, failed or left in
/// flight: every key written has a TTL, none is left to live forever.
async fn every_key_written_has_a_ttl(backend: Backend) {
    let store = backend.store().await;
    let key = |id: &str, n: &str| ReplayKey::new("test", id, n.as_bytes());
    assert!(
        store
            .insert_if_absent(&key("a", "nonce"), LONG)
            .await
            .unwrap()
    );
    assert!(
        store
            .insert_all_if_absent(&[key("b", "salt"), key("b", "mac")], LONG)
            .await
            .unwrap()
    );
    let done = key("c", "done");
    let ticket = new(store.reserve(&done, LONG).await);
    store
        .settle(&done, ticket, Settle::Done(LONG))
        .await
        .unwrap();
    let failed = key("d", "failed");
    let ticket = new(store.reserve(&failed, LONG).await);
    store.settle(&failed, ticket, Settle::Failed).await.unwrap();
    new(store.reserve(&key("e", "in flight"), LONG).await);
    let late = key("f", "late");
    let ticket = new(store.reserve(&late, HOLD).await);
    tokio::time::sleep(HOLD + Duration::from_millis(100)).await;
    store
        .settle(&late, ticket, Settle::Done(LONG))
        .await
        .unwrap();

    let ttls = backend.ttls();
    // Nonce, salt, MAC, done, in flight, late: the failed delivery is gone.
    assert_eq!(ttls.len(), 6, "{ttls:?}");
    let without: Vec<_> = ttls.iter().filter(|(_, ttl)| *ttl <= 0).collect();
    assert!(without.is_empty(), "keys without a TTL: {without:?}");
}

/// Finding: TTLs were sent to Redis rounded down to whole milliseconds (`PX`), so an entry could
/// be forgotten up to a millisecond before its TTL. They are rounded up, for nonces, reservations
/// and handled deliveries alike; a TTL Redis cannot take is sent as the longest it can.
async fn ttls_are_rounded_up_not_down(backend: Backend) {
    backend.log_commands();
    let store = backend.store().await;
    let ttl = Duration::from_secs(60) + Duration::from_micros(1);

    assert!(
        store
            .insert_if_absent(&ReplayKey::new("test", "k", b"nonce"), ttl)
            .await
            .unwrap()
    );
    let key = ReplayKey::new("test", "k", b"msg_1");
    let ticket = new(store.reserve(&key, ttl).await);
    store.settle(&key, ticket, Settle::Done(ttl)).await.unwrap();
    // Sub-millisecond TTLs are 1 ms (PX refuses 0), and the longest are clamped, not refused.
    let short = ReplayKey::new("test", "k", b"short");
    assert!(
        store
            .insert_if_absent(&short, Duration::from_nanos(1))
            .await
            .unwrap()
    );
    let long = ReplayKey::new("test", "k", b"long");
    assert!(store.insert_if_absent(&long, Duration::MAX).await.unwrap());
    assert!(!store.insert_if_absent(&long, Duration::MAX).await.unwrap());

    // Every SET Redis ran, the scripts' included: the nonce, the reservation, the handled
    // delivery, the short one, the long one twice.
    let px: Vec<String> = backend
        .logged("SET")
        .into_iter()
        .filter_map(|args| {
            let at = args.iter().position(|arg| arg == "PX")?;
            args.get(at + 1).cloned()
        })
        .collect();
    let max = "4611686018427387904";
    assert_eq!(px, ["60001", "60001", "60001", "1", max, max]);
}

// ---------------------------------------------------------------------------------------------
// Webhook delivery states: the in-process stores' contract cases, on Redis's own clock (short
// holds and TTLs, real waits).

const HOLD: Duration = Duration::from_millis(300);
const LONG: Duration = Duration::from_secs(60);

/// The ticket of a reservation that must be new.
fn new(reservation: Result<Reservation, tower_hmac::StoreError>) -> Ticket {
    match reservation {
        Ok(Reservation::New(ticket)) => ticket,
        other => panic!("expected a new reservation, got {other:?}"),
    }
}

/// A fresh delivery key, so that tests sharing nothing never meet.
fn delivery(name: &str) -> ReplayKey {
    ReplayKey::new(
        "standard",
        "standard",
        format!("{}-{name}", now_ms()).as_bytes(),
    )
}

async fn a_new_delivery_is_reserved_once(backend: Backend) {
    let store = backend.store().await;
    let key = delivery("new");
    new(store.reserve(&key, LONG).await);
    assert_eq!(
        store.reserve(&key, LONG).await.unwrap(),
        Reservation::InFlight
    );
    assert_eq!(
        store.reserve(&key, LONG).await.unwrap(),
        Reservation::InFlight
    );
    new(store.reserve(&delivery("other"), LONG).await);
    assert!(!store.insert_if_absent(&key, LONG).await.unwrap());
}

async fn a_handled_delivery_is_done(backend: Backend) {
    let store = backend.store().await;
    let key = delivery("done");
    let ticket = new(store.reserve(&key, LONG).await);
    store
        .settle(&key, ticket, Settle::Done(LONG))
        .await
        .unwrap();
    assert_eq!(store.reserve(&key, LONG).await.unwrap(), Reservation::Done);
    store.settle(&key, ticket, Settle::Failed).await.unwrap();
    store
        .settle(&key, ticket, Settle::Done(LONG))
        .await
        .unwrap();
    assert_eq!(store.reserve(&key, LONG).await.unwrap(), Reservation::Done);
    assert!(!store.insert_if_absent(&key, LONG).await.unwrap());
}

/// Entries written by `insert_if_absent` (the `1` every earlier version wrote) read as handled.
async fn a_recorded_nonce_reads_as_done(backend: Backend) {
    let store = backend.store().await;
    let key = delivery("nonce");
    assert!(store.insert_if_absent(&key, LONG).await.unwrap());
    assert_eq!(store.reserve(&key, LONG).await.unwrap(), Reservation::Done);
}

async fn a_failed_delivery_is_new_again(backend: Backend) {
    let store = backend.store().await;
    let key = delivery("failed");
    let first = new(store.reserve(&key, LONG).await);
    store.settle(&key, first, Settle::Failed).await.unwrap();
    let second = new(store.reserve(&key, LONG).await);
    assert_ne!(second, first);
    store.settle(&key, first, Settle::Failed).await.unwrap();
    assert_eq!(
        store.reserve(&key, LONG).await.unwrap(),
        Reservation::InFlight
    );
    store.settle(&key, first, Settle::Done(LONG)).await.unwrap();
    assert_eq!(
        store.reserve(&key, LONG).await.unwrap(),
        Reservation::InFlight
    );
    store
        .settle(&key, second, Settle::Done(LONG))
        .await
        .unwrap();
    assert_eq!(store.reserve(&key, LONG).await.unwrap(), Reservation::Done);
}

async fn a_lapsed_hold_is_new_again(backend: Backend) {
    let store = backend.store().await;
    let key = delivery("lapsed");
    new(store.reserve(&key, HOLD).await);
    assert_eq!(
        store.reserve(&key, HOLD).await.unwrap(),
        Reservation::InFlight
    );
    tokio::time::sleep(HOLD + Duration::from_millis(100)).await;
    new(store.reserve(&key, HOLD).await);
    assert_eq!(
        store.reserve(&key, HOLD).await.unwrap(),
        Reservation::InFlight
    );
}

/// A copy whose reservation lapsed cannot settle the reservation another copy took since.
async fn a_stale_ticket_cannot_settle_another_copys_reservation(backend: Backend) {
    let store = backend.store().await;
    let key = delivery("stale");
    let stale = new(store.reserve(&key, HOLD).await);
    tokio::time::sleep(HOLD + Duration::from_millis(100)).await;
    let current = new(store.reserve(&key, LONG).await);
    assert_ne!(current, stale);
    store.settle(&key, stale, Settle::Failed).await.unwrap();
    assert_eq!(
        store.reserve(&key, LONG).await.unwrap(),
        Reservation::InFlight
    );
    store.settle(&key, stale, Settle::Done(LONG)).await.unwrap();
    assert_eq!(
        store.reserve(&key, LONG).await.unwrap(),
        Reservation::InFlight
    );
    store.settle(&key, current, Settle::Failed).await.unwrap();
    let next = new(store.reserve(&key, LONG).await);
    store.settle(&key, stale, Settle::Done(LONG)).await.unwrap();
    assert_eq!(
        store.reserve(&key, LONG).await.unwrap(),
        Reservation::InFlight
    );
    store.settle(&key, next, Settle::Done(LONG)).await.unwrap();
    assert_eq!(store.reserve(&key, LONG).await.unwrap(), Reservation::Done);
}

/// A success settled after its reservation lapsed, and another copy's too, is remembered.
async fn a_late_success_is_remembered(backend: Backend) {
    let store = backend.store().await;
    let key = delivery("late");
    let late = new(store.reserve(&key, HOLD).await);
    tokio::time::sleep(HOLD + Duration::from_millis(100)).await;
    new(store.reserve(&key, HOLD).await);
    tokio::time::sleep(HOLD + Duration::from_millis(100)).await;
    store.settle(&key, late, Settle::Done(LONG)).await.unwrap();
    assert_eq!(store.reserve(&key, LONG).await.unwrap(), Reservation::Done);

    let key = delivery("late, other failed");
    let late = new(store.reserve(&key, HOLD).await);
    tokio::time::sleep(HOLD + Duration::from_millis(100)).await;
    let other = new(store.reserve(&key, LONG).await);
    store.settle(&key, other, Settle::Failed).await.unwrap();
    store.settle(&key, late, Settle::Done(LONG)).await.unwrap();
    assert_eq!(store.reserve(&key, LONG).await.unwrap(), Reservation::Done);
}

async fn done_expires_after_its_ttl(backend: Backend) {
    let store = backend.store().await;
    let key = delivery("expires");
    let ttl = Duration::from_millis(600);
    let ticket = new(store.reserve(&key, LONG).await);
    tokio::time::sleep(Duration::from_millis(400)).await;
    store.settle(&key, ticket, Settle::Done(ttl)).await.unwrap();
    // Counted from the settlement, not from the reservation: done 700 ms after the reservation.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(store.reserve(&key, LONG).await.unwrap(), Reservation::Done);
    tokio::time::sleep(Duration::from_millis(500)).await;
    new(store.reserve(&key, LONG).await);
}

/// Sixty-four copies reserved at once through two stores (two instances): one new reservation.
async fn concurrent_reserves_have_one_new(backend: Backend) {
    let stores = [backend.store().await, backend.store().await];
    let key = delivery("race");
    let mut tasks = Vec::new();
    for i in 0..64 {
        let store = stores[i % 2].clone();
        tasks.push(tokio::spawn(async move {
            store.reserve(&key, LONG).await.unwrap()
        }));
    }
    let mut tickets = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Reservation::New(ticket) => tickets.push(ticket),
            Reservation::InFlight => {}
            Reservation::Done => panic!("done before it was settled"),
        }
    }
    assert_eq!(tickets.len(), 1);
    stores[1]
        .settle(&key, tickets[0], Settle::Done(LONG))
        .await
        .unwrap();
    assert_eq!(
        stores[0].reserve(&key, LONG).await.unwrap(),
        Reservation::Done
    );
}

/// The states are the values the type's docs list, under the store's prefix, at the key its docs
/// give: the prefix then the 32 bytes, with the owner's hash tag between them in a cluster.
async fn delivery_states_are_the_documented_values(backend: Backend) {
    let store = backend.store().await.prefix("svc:");
    let key = delivery("values");
    let redis_key = backend.redis_key("svc:", &key);
    let ticket = new(store.reserve(&key, LONG).await);
    assert_eq!(
        backend.get(&redis_key),
        Some(format!("inflight:{}", ticket.value()))
    );
    store
        .settle(&key, ticket, Settle::Done(LONG))
        .await
        .unwrap();
    assert_eq!(backend.get(&redis_key).as_deref(), Some("done"));
}

// ---------------------------------------------------------------------------------------------
// Two Standard Webhooks receivers sharing one Redis, over loopback.

const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const EVENT: &str = r#"{"type":"invoice.paid","id":"evt_1"}"#;
const DUPLICATE: &str = r#"{"message":"this delivery was already handled","status":"duplicate"}"#;
const IN_FLIGHT: &str = r#"{"error":"delivery_in_flight","message":"another copy of this delivery is being handled; retry later"}"#;

/// One instance of a webhook receiver: where it listens, and how many deliveries reached its
/// handler.
struct Receiver {
    addr: std::net::SocketAddr,
    handled: Arc<AtomicUsize>,
}

impl Receiver {
    /// A receiver keeping its deliveries' states in `store`. Its handler answers the status in
    /// `x-test-status` (default 200) after `x-test-wait` milliseconds (default none).
    async fn start(store: RedisReplayStore) -> Self {
        let handled = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&handled);
        let key = Key::new("standard", standard::secret(WHSEC).unwrap());
        let handler = move |delivery: Verified<Delivery>, headers: HeaderMap, body: Bytes| {
            let count = Arc::clone(&count);
            async move {
                count.fetch_add(1, Ordering::SeqCst);
                let number =
                    |name: &str| -> Option<u64> { headers.get(name)?.to_str().ok()?.parse().ok() };
                if let Some(ms) = number("x-test-wait") {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
                let status = number("x-test-status").map_or(StatusCode::OK, |code| {
                    StatusCode::from_u16(code as u16).unwrap()
                });
                let id = delivery.identity().id().unwrap_or_default().to_owned();
                (status, format!("handled {id}, {} bytes", body.len()))
            }
        };
        let router = Router::new()
            .route("/webhooks/standard", post(handler))
            .layer(StandardVerifyLayer::new(key).replay_store(store));
        Self {
            addr: serve_axum(router).await,
            handled,
        }
    }

    fn handled(&self) -> usize {
        self.handled.load(Ordering::SeqCst)
    }

    /// Sends a copy of the delivery `signed` (its signed headers) with the test's own headers.
    async fn send(&self, signed: &HeaderMap, extra: &[(&str, &str)]) -> common::Reply {
        let mut request = Request::post("/webhooks/standard")
            .body(Full::new(Bytes::from_static(EVENT.as_bytes())))
            .unwrap();
        request.headers_mut().extend(signed.clone());
        for (name, value) in extra {
            let name = http::HeaderName::from_bytes(name.as_bytes()).unwrap();
            request.headers_mut().insert(name, value.parse().unwrap());
        }
        send(self.addr, request).await
    }
}

/// A delivery of `EVENT`, signed now as a Standard Webhooks sender does, with its id.
fn signed_delivery() -> (HeaderMap, String) {
    let key = standard::secret(WHSEC).unwrap();
    let headers = standard::sign_request(&key, EVENT.as_bytes()).unwrap();
    let id = headers["webhook-id"].to_str().unwrap().to_owned();
    (headers, id)
}

async fn a_delivery_handled_through_one_instance_is_acknowledged_by_the_other(backend: Backend) {
    let a = Receiver::start(backend.store().await).await;
    let b = Receiver::start(backend.store().await).await;
    let (delivery, id) = signed_delivery();

    let reply = a.send(&delivery, &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.text(), format!("handled {id}, {} bytes", EVENT.len()));
    // The sender's retry lands on the other instance: acknowledged, not handled.
    for receiver in [&b, &a, &b] {
        let reply = receiver.send(&delivery, &[]).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.text(), DUPLICATE);
        assert_eq!(reply.headers["content-type"], "application/json");
    }
    assert_eq!((a.handled(), b.handled()), (1, 0));

    // Another delivery is handled, wherever it lands.
    let (other, _) = signed_delivery();
    assert_eq!(b.send(&other, &[]).await.status, StatusCode::OK);
    assert_eq!((a.handled(), b.handled()), (1, 1));
}

async fn a_delivery_that_failed_on_one_instance_is_handled_by_the_other(backend: Backend) {
    let a = Receiver::start(backend.store().await).await;
    let b = Receiver::start(backend.store().await).await;
    let (delivery, id) = signed_delivery();

    let reply = a.send(&delivery, &[("x-test-status", "500")]).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    // Not only 5xx: any answer but 2xx is a failure.
    let reply = b.send(&delivery, &[("x-test-status", "404")]).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let reply = b.send(&delivery, &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), format!("handled {id}, {} bytes", EVENT.len()));
    assert_eq!((a.handled(), b.handled()), (1, 2));
    // Handled now: acknowledged by both.
    for receiver in [&a, &b] {
        assert_eq!(receiver.send(&delivery, &[]).await.text(), DUPLICATE);
    }
    assert_eq!((a.handled(), b.handled()), (1, 2));
}

async fn concurrent_copies_on_two_instances_one_handled_the_other_409(backend: Backend) {
    let a = Arc::new(Receiver::start(backend.store().await).await);
    let b = Arc::new(Receiver::start(backend.store().await).await);
    let (delivery, id) = signed_delivery();

    // Each handler takes 500 ms, so the two copies overlap whichever is first.
    let copies = [&a, &b].map(|receiver| {
        let (receiver, delivery) = (Arc::clone(receiver), delivery.clone());
        tokio::spawn(async move { receiver.send(&delivery, &[("x-test-wait", "500")]).await })
    });
    let mut handled = 0;
    let mut conflicts = 0;
    for copy in copies {
        let reply = copy.await.unwrap();
        match reply.status {
            StatusCode::OK => {
                assert_eq!(reply.text(), format!("handled {id}, {} bytes", EVENT.len()));
                handled += 1;
            }
            StatusCode::CONFLICT => {
                assert_eq!(reply.text(), IN_FLIGHT);
                assert_eq!(reply.headers["retry-after"], "5");
                conflicts += 1;
            }
            other => panic!("unexpected {other}: {}", reply.text()),
        }
    }
    assert_eq!((handled, conflicts), (1, 1));
    assert_eq!(a.handled() + b.handled(), 1);
    // The refused copy's retry is acknowledged.
    for receiver in [&a, &b] {
        assert_eq!(receiver.send(&delivery, &[]).await.text(), DUPLICATE);
    }
    assert_eq!(a.handled() + b.handled(), 1);
}

/// Through a webhook layer, each state change of a delivery is one atomic round trip: a copy
/// reserved then settled handled is two script calls, a duplicate's reservation one, a failed
/// copy's reservation and release two; no command of the store's own beside them (the scripts'
/// `GET`, `SET` and `DEL` run inside Redis).
async fn each_delivery_state_is_one_round_trip(backend: Backend) {
    let receiver = Receiver::start(backend.store().await).await;
    // The first deliveries load the scripts (`EVALSHA` answered `NOSCRIPT`, then `EVAL`) on the
    // server holding the receiver's deliveries.
    let (handled, _) = signed_delivery();
    assert_eq!(receiver.send(&handled, &[]).await.status, StatusCode::OK);
    let (failed, _) = signed_delivery();
    let reply = receiver.send(&failed, &[("x-test-status", "500")]).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);

    backend.log_commands();
    let (delivery, _) = signed_delivery();
    let reply = receiver.send(&delivery, &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(receiver.send(&delivery, &[]).await.text(), DUPLICATE);
    let (failing, _) = signed_delivery();
    let reply = receiver.send(&failing, &[("x-test-status", "503")]).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(receiver.handled(), 4);

    // Reserve and settle handled; reserve (handled already); reserve and release.
    assert_eq!(backend.logged("EVALSHA").len(), 5);
    assert!(backend.logged("EVAL").is_empty());
    // Inside the scripts: a GET each, a SET for each reservation and the handled mark, a DEL for
    // the release; nothing else was sent (but the test's own and the client's housekeeping).
    let mut sent: Vec<String> = backend
        .logged_all()
        .into_iter()
        .filter_map(|args| args.into_iter().next())
        .map(|name| name.to_ascii_uppercase())
        .filter(|name| {
            !["CONFIG", "SLOWLOG", "CLUSTER", "PING", "CLIENT", "INFO"].contains(&name.as_str())
        })
        .collect();
    sent.sort();
    let expected = [
        ["DEL"].as_slice(),
        &["EVALSHA"; 5],
        &["GET"; 5],
        &["SET"; 3],
    ]
    .concat();
    assert_eq!(sent, expected);
}

// ---------------------------------------------------------------------------------------------
// Through the Inqud layer (salts are its only freshness), over loopback.

const TOKEN: &str = "TKN-6c1296b8-6929-443b-ac06-f732e0e27be1";
const SECRET: &str = "dBajIp3wHnw5euxohPiZvsCEorG3Fhl9gsHl1UIBlsImHjWRdSJdp4Gh6e3y2PNs";

fn app(store: RedisReplayStore) -> Router {
    let keys = MemoryKeyStore::new().with(Key::new(TOKEN, Secret::new(SECRET).unwrap()));
    Router::new()
        .route(
            "/v1/user/payments/payout",
            post(|caller: Verified<InqudCaller>, body: Bytes| async move {
                format!("{} {}", caller.key_id(), body.len())
            }),
        )
        .layer(InqudVerifyLayer::new(keys).replay_store(store))
}

/// A payout signed with `salt`, as the vendor's Python client does.
fn signed(salt: &str, body: &str) -> Request<Full<Bytes>> {
    let sig = inqud::signature(&Secret::new(SECRET).unwrap(), body.as_bytes(), salt);
    Request::post("/v1/user/payments/payout")
        .header("x-token-api-id", TOKEN)
        .header("x-hmac-sha256-signature", sig)
        .header("x-salt", salt)
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

/// A salt unique to this run, like the vendor's `secrets.token_hex(32)`.
fn salt(tag: &str) -> String {
    format!("{}-{tag}", now_ms())
}

async fn store(server: &RedisServer) -> RedisReplayStore {
    RedisReplayStore::connect(&server.url())
        .await
        .unwrap()
        .timeout(Duration::from_millis(300))
}

/// Sends freshly salted requests, 100 ms apart, until one is accepted or 50 were tried (the
/// connection manager reconnects on its own once Redis is back); the last status.
async fn status_once_back(addr: std::net::SocketAddr, tag: &str, body: &str) -> StatusCode {
    let mut status = StatusCode::SERVICE_UNAVAILABLE;
    for i in 0..50 {
        status = send(addr, signed(&salt(&format!("{tag}-{i}")), body))
            .await
            .status;
        if status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    status
}

async fn a_salt_accepted_by_one_instance_is_refused_by_the_other(backend: Backend) {
    let first = serve_axum(app(backend.store().await)).await;
    let second = serve_axum(app(backend.store().await)).await;
    let salt = salt("shared");

    let reply = send(first, signed(&salt, "{\"amount\": 50}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.text(), format!("{TOKEN} 14"));
    // The same salt with another, correctly signed body: still refused.
    let reply = send(second, signed(&salt, "{\"amount\": 51}")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.body,
        r#"{"error":"replayed","message":"this request was already used"}"#
    );
}

async fn sixty_four_copies_over_two_instances_give_one_200(backend: Backend) {
    let addrs = [
        serve_axum(app(backend.store().await)).await,
        serve_axum(app(backend.store().await)).await,
    ];
    let salt = salt("race");
    let mut tasks = Vec::new();
    for i in 0..64 {
        let addr = addrs[i % 2];
        let salt = salt.clone();
        tasks.push(tokio::spawn(async move {
            send(addr, signed(&salt, "{\"pay\":50}")).await
        }));
    }
    let mut ok = 0;
    let mut replayed = 0;
    for task in tasks {
        let reply = task.await.unwrap();
        match reply.status {
            StatusCode::OK => ok += 1,
            StatusCode::UNAUTHORIZED if reply.json()["error"] == "replayed" => replayed += 1,
            other => panic!("unexpected {other}: {}", reply.text()),
        }
    }
    assert_eq!((ok, replayed), (1, 63));
}

/// Every check of an accepted Inqud request is one round trip: one script call, no command of
/// its own beside it (the script's own `SET`s run inside Redis).
async fn an_inqud_check_is_one_round_trip(backend: Backend) {
    let addr = serve_axum(app(backend.store().await)).await;
    // The first check loads the script (`EVALSHA` answered `NOSCRIPT`, then `EVAL`).
    let reply = send(addr, signed(&salt("load"), "{\"pay\":1}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    backend.log_commands();
    for n in 0..3 {
        let reply = send(addr, signed(&salt(&format!("trip-{n}")), "{\"pay\":1}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
    let calls = backend.logged("EVALSHA").len() + backend.logged("EVAL").len();
    assert_eq!(calls, 3);
    // Each script wrote the salt and the MAC; no SET came from the store itself.
    let sets = backend.logged("SET");
    assert_eq!(sets.len(), 6, "{sets:?}");
    assert_eq!(backend.ttls().len(), 8);
}

/// Inqud signs `body ++ salt`: moving a byte across the boundary keeps the signature. Such a
/// request is refused as a replay (its MAC was recorded), and leaves nothing recorded: its salt
/// stays usable, only the two records of the first request are held.
async fn a_resplit_request_burns_nothing(backend: Backend) {
    let addr = serve_axum(app(backend.store().await)).await;
    let salt = salt("split");
    let body = "{\"pay\":1}";
    let reply = send(addr, signed(&salt, body)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    // The same bytes, split one byte earlier: the same signature.
    let (short_body, last) = body.split_at(body.len() - 1);
    let moved = format!("{last}{salt}");
    let mut request = signed(&salt, body);
    *request.body_mut() = Full::new(Bytes::from(short_body.to_owned()));
    request
        .headers_mut()
        .insert("x-salt", moved.parse().unwrap());
    let reply = send(addr, request).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.body,
        r#"{"error":"replayed","message":"this request was already used"}"#
    );
    assert_eq!(backend.ttls().len(), 2, "{:?}", backend.ttls());
}

#[tokio::test]
async fn redis_down_means_503_and_recovery_is_automatic() {
    let mut server = RedisServer::start();
    let addr = serve_axum(app(store(&server).await)).await;

    assert_eq!(
        send(addr, signed(&salt("up"), "a")).await.status,
        StatusCode::OK
    );

    server.stop();
    for i in 1..=5 {
        let reply = send(addr, signed(&salt(&format!("down-{i}")), "b")).await;
        assert_eq!(
            reply.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            reply.text()
        );
        assert_eq!(
            reply.body,
            r#"{"error":"unavailable","message":"authentication is temporarily unavailable"}"#
        );
        assert_eq!(reply.headers["retry-after"], "1");
    }

    server.restart();
    // The connection manager reconnects on its own; give it a few tries.
    assert_eq!(status_once_back(addr, "back", "c").await, StatusCode::OK);
    // Replays are refused again after the restart.
    let again = salt("again");
    assert_eq!(send(addr, signed(&again, "d")).await.status, StatusCode::OK);
    assert_eq!(
        send(addr, signed(&again, "d")).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn slow_redis_times_out_closed() {
    let server = RedisServer::start();
    let store = store(&server).await.timeout(Duration::from_millis(150));
    let addr = serve_axum(app(store)).await;
    assert_eq!(
        send(addr, signed(&salt("before"), "a")).await.status,
        StatusCode::OK
    );

    server.freeze();
    let started = std::time::Instant::now();
    let reply = send(addr, signed(&salt("frozen"), "b")).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    server.thaw();

    assert_eq!(status_once_back(addr, "thawed", "c").await, StatusCode::OK);
}

#[tokio::test]
async fn lazy_store_starts_while_redis_is_down() {
    let mut server = RedisServer::start();
    let url = server.url();
    server.stop();
    let store = RedisReplayStore::connect_lazy(&url)
        .unwrap()
        .timeout(Duration::from_millis(300));
    let addr = serve_axum(app(store)).await;
    assert_eq!(
        send(addr, signed(&salt("lazy"), "a")).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    server.restart();
    assert_eq!(status_once_back(addr, "lazy", "a").await, StatusCode::OK);
}

#[tokio::test]
async fn unreachable_redis_fails_connect() {
    let mut server = RedisServer::start();
    let url = server.url();
    server.stop();
    assert!(RedisReplayStore::connect(&url).await.is_err());
}

/// gRPC callers see the outage as `UNAVAILABLE` (never `OK`, never `UNAUTHENTICATED`), and are
/// served again once Redis is back. The server is tonic's health service behind the Humanos layer
/// with its replay check on Redis; the client signs each call with the crate's `SignLayer`.
#[tokio::test]
async fn grpc_calls_get_unavailable_while_redis_is_down() {
    use tower_hmac::humanos::{HumanosSigner, HumanosVerifyLayer};

    const API_KEY: &str = "YOUR_API_KEY";
    const SECRET: &str = "YOUR_SIGNATURE_SECRET";

    let mut server = RedisServer::start();
    let keys = MemoryKeyStore::new().with(Key::new(API_KEY, Secret::new(SECRET).unwrap()));
    let layer = HumanosVerifyLayer::new(keys).replay_store(store(&server).await);
    let channel = grpc::serve_health(layer).await;
    let signer = HumanosSigner::new(API_KEY, Secret::new(SECRET).unwrap()).unwrap();
    let mut client = grpc::signed_client(channel, signer);

    // Redis up: served. Calls are at least a millisecond apart, so their timestamps, and with them
    // their signatures, differ: none is a replay of another.
    let status = client
        .check(grpc::check())
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(
        status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    server.stop();
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(2)).await;
        let status = client.check(grpc::check()).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
        assert_eq!(
            status.message(),
            "authentication is temporarily unavailable"
        );
    }

    server.restart();
    let mut last = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        match client.check(grpc::check()).await {
            Ok(_) => {
                last = None;
                break;
            }
            Err(status) => {
                assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
                last = Some(status);
            }
        }
    }
    assert!(
        last.is_none(),
        "still refused after Redis restarted: {last:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The cluster under the store: a slot moved, a master failed over, a master frozen or down.

/// A key id whose records live on master `n` of `cluster` (the slot of its hash tag), with that
/// slot.
fn key_id_on(cluster: &RedisCluster, n: usize) -> (String, u16) {
    for i in 0.. {
        let id = format!("tenant-{i}");
        let tag = format!("{{{:016x}}}", ReplayKey::new("test", &id, b"").owner());
        let slot = match cluster.node(0).command(&["CLUSTER", "KEYSLOT", &tag]) {
            redis::Value::Int(slot) => slot as u16,
            other => panic!("KEYSLOT: {other:?}"),
        };
        if cluster.master_of(slot) == n {
            return (id, slot);
        }
    }
    unreachable!()
}

/// Checks `key` until the store answers (at most 10 s of 503s, 100 ms apart): a cluster that
/// just changed is followed within that, and no answer is ever wrong meanwhile.
async fn answered(store: &RedisReplayStore, keys: &[ReplayKey]) -> bool {
    for _ in 0..100 {
        match store.insert_all_if_absent(keys, LONG).await {
            Ok(answer) => return answer,
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("no answer within 10 s");
}

/// A slot moved to another master under a connected store: its keys are still replays there,
/// and new ones are recorded there (the store follows `MOVED`).
#[tokio::test]
async fn cluster_a_moved_slot_is_followed() {
    let backend = Backend::cluster();
    let store = backend.store().await;
    let Backend::Cluster(cluster) = &backend else {
        unreachable!()
    };
    let (id, slot) = key_id_on(cluster, 0);
    let key = |n: &str| ReplayKey::new("test", &id, n.as_bytes());
    assert!(answered(&store, &[key("salt-1"), key("mac-1")]).await);

    cluster.move_slot(slot, 0, 1);
    assert_eq!(cluster.master_of(slot), 1);
    assert!(!answered(&store, &[key("salt-1"), key("mac-2")]).await);
    assert!(!answered(&store, &[key("salt-2"), key("mac-1")]).await);
    assert!(answered(&store, &[key("salt-2"), key("mac-2")]).await);
    assert!(!store.insert_if_absent(&key("salt-2"), LONG).await.unwrap());
    // Everything is on the new master now, with its TTL.
    let moved = cluster.node(1).ttls();
    assert_eq!(moved.len(), 4, "{moved:?}");
    assert!(moved.iter().all(|(_, ttl)| *ttl > 0));
    assert!(cluster.node(0).ttls().is_empty());
}

/// A master replaced by its replica (a coordinated failover) under a connected store: what it
/// held is still refused, and new checks are recorded on the new master.
#[tokio::test]
async fn cluster_a_failover_is_followed() {
    let cluster = RedisCluster::start_with_replica();
    let store = RedisReplayStore::connect_cluster(cluster.urls())
        .await
        .unwrap()
        .timeout(Duration::from_millis(300));
    let (id, slot) = key_id_on(&cluster, 0);
    let key = |n: &str| ReplayKey::new("test", &id, n.as_bytes());
    assert!(answered(&store, &[key("salt-1"), key("mac-1")]).await);
    let delivery = key("delivery");
    let ticket = new(store.reserve(&delivery, LONG).await);
    store
        .settle(&delivery, ticket, Settle::Done(LONG))
        .await
        .unwrap();

    cluster.fail_over();
    assert_eq!(cluster.master_of(slot), 3);
    assert!(!answered(&store, &[key("salt-1"), key("mac-2")]).await);
    assert!(answered(&store, &[key("salt-2"), key("mac-2")]).await);
    assert_eq!(
        store.reserve(&delivery, LONG).await.unwrap(),
        Reservation::Done
    );
    assert_eq!(cluster.node(3).ttls().len(), 5);
}

/// A frozen master (SIGSTOP): checks of its slots fail within the timeout (503), never pass;
/// once it is resumed they are answered again, without a new store.
#[tokio::test]
async fn cluster_a_frozen_master_fails_closed_and_recovers() {
    let cluster = RedisCluster::start();
    let store = RedisReplayStore::connect_cluster(cluster.urls())
        .await
        .unwrap()
        .timeout(Duration::from_millis(300));
    let (id, _) = key_id_on(&cluster, 1);
    let key = |n: &str| ReplayKey::new("test", &id, n.as_bytes());
    assert!(answered(&store, &[key("salt-1"), key("mac-1")]).await);

    cluster.node(1).freeze();
    for n in 0..3 {
        let started = std::time::Instant::now();
        let salt = format!("frozen-{n}");
        let error = store
            .insert_all_if_absent(&[key(&salt), key(&format!("mac-{salt}"))], LONG)
            .await
            .unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "took {:?}: {error}",
            started.elapsed()
        );
    }
    cluster.node(1).thaw();

    assert!(!answered(&store, &[key("salt-1"), key("mac-9")]).await);
    assert!(answered(&store, &[key("salt-2"), key("mac-2")]).await);
}

/// A master killed: checks of its slots fail (503); restarted (its identity and slots kept, its
/// data lost: no persistence), it is used again without a new store.
#[tokio::test]
async fn cluster_a_master_down_fails_closed_and_recovers() {
    let mut cluster = RedisCluster::start();
    let store = RedisReplayStore::connect_cluster(cluster.urls())
        .await
        .unwrap()
        .timeout(Duration::from_millis(300));
    let (id, _) = key_id_on(&cluster, 2);
    let key = |n: &str| ReplayKey::new("test", &id, n.as_bytes());
    assert!(answered(&store, &[key("salt-1"), key("mac-1")]).await);

    cluster.node_mut(2).stop();
    for n in 0..3 {
        let salt = format!("down-{n}");
        assert!(
            store
                .insert_all_if_absent(&[key(&salt), key(&format!("mac-{salt}"))], LONG)
                .await
                .is_err()
        );
    }
    cluster.node_mut(2).restart();
    cluster.wait_ok();
    assert!(answered(&store, &[key("salt-2"), key("mac-2")]).await);
    assert!(!store.insert_if_absent(&key("salt-2"), LONG).await.unwrap());
}

/// The mock provider server's `--redis-cluster URL,URL,...`: two mock servers whose replay
/// histories are one Redis Cluster, reached from the comma-separated seed list as the mock
/// example reads it. An Inqud payout accepted by one is refused by the other, the cluster holds
/// its two records, with their TTLs.
#[tokio::test]
async fn the_mock_keeps_its_replay_history_on_a_cluster() {
    use tower_hmac::mock::{self, MockConfig};

    let cluster = RedisCluster::start();
    let seeds = cluster.urls().join(",");
    let mut addrs = Vec::new();
    for _ in 0..2 {
        let store = RedisReplayStore::connect_cluster_lazy(seeds.split(',')).unwrap();
        let router = mock::router_with_store(&MockConfig::default(), store).unwrap();
        addrs.push(common::serve_mock(router).await);
    }
    // Lazily connected: the first check waits for the cluster's slots.
    assert_eq!(
        status_once_back(addrs[0], "mock", "{\"amount\":1}").await,
        StatusCode::OK
    );
    let records = cluster.ttls().len();

    let salt = salt("mock-shared");
    let reply = send(addrs[0], signed(&salt, "{\"amount\":50}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["token_id"], TOKEN);
    assert_eq!(reply.json()["mode"], "hmac");
    let reply = send(addrs[1], signed(&salt, "{\"amount\":51}")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.body,
        r#"{"error":"replayed","message":"this request was already used"}"#
    );
    // The accepted payout's salt and MAC, nothing for the refused one; each with a TTL.
    let ttls = cluster.ttls();
    assert_eq!(ttls.len(), records + 2, "{ttls:?}");
    assert!(ttls.iter().all(|(_, ttl)| *ttl > 0), "{ttls:?}");
}
