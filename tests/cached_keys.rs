//! `CachedKeyStore` in front of a key store, through a layer over loopback: hits served from the
//! cache, a revocation applied by eviction, and a failing or slow store answered 503 (gRPC
//! `UNAVAILABLE` for tonic).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use common::{grpc, humanos_get, send, serve_axum};
use http::StatusCode;
use tower_hmac::humanos::{HumanosCaller, HumanosVerifyLayer};
use tower_hmac::{
    BoxFuture, CachedKeyStore, Key, KeyStore, MemoryKeyStore, Secret, StoreError, Verified,
};

const API_KEY: &str = "YOUR_API_KEY";
const SECRET: &str = "YOUR_SIGNATURE_SECRET";
const UNAVAILABLE: &str =
    r#"{"error":"unavailable","message":"authentication is temporarily unavailable"}"#;

/// Stands for a database: counts its lookups; `down` fails them, `slow` makes them take 10 s.
#[derive(Clone, Default)]
struct Database {
    keys: MemoryKeyStore,
    lookups: Arc<AtomicUsize>,
    down: bool,
    slow: bool,
}

impl KeyStore for Database {
    fn get<'a>(&'a self, key_id: &'a str) -> BoxFuture<'a, Result<Option<Key>, StoreError>> {
        Box::pin(async move {
            self.lookups.fetch_add(1, Ordering::SeqCst);
            if self.slow {
                tokio::time::sleep(Duration::from_secs(10)).await;
            }
            if self.down {
                return Err(StoreError::new("connection refused"));
            }
            self.keys.get(key_id).await
        })
    }
}

fn database() -> Database {
    Database {
        keys: MemoryKeyStore::new().with(Key::new(API_KEY, Secret::new(SECRET).unwrap())),
        ..Database::default()
    }
}

async fn serve(keys: CachedKeyStore<Database>) -> std::net::SocketAddr {
    let app = Router::new()
        .route(
            "/v0/processes",
            get(|caller: Verified<HumanosCaller>| async move { caller.key_id().to_owned() }),
        )
        .layer(HumanosVerifyLayer::new(keys));
    serve_axum(app).await
}

#[tokio::test]
async fn hits_are_served_from_the_cache_and_a_revocation_applies_on_eviction() {
    let db = database();
    let keys = CachedKeyStore::new(db.clone());
    let addr = serve(keys.clone()).await;
    for _ in 0..5 {
        let reply = send(addr, humanos_get(API_KEY, SECRET)).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.body, API_KEY);
    }
    let mut refused = None;
    for _ in 0..3 {
        let reply = send(addr, humanos_get("UNKNOWN", SECRET)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        refused = Some(reply.body);
    }
    assert_eq!(db.lookups.load(Ordering::SeqCst), 2);

    db.keys.revoke(API_KEY).unwrap();
    assert_eq!(
        send(addr, humanos_get(API_KEY, SECRET)).await.status,
        StatusCode::OK
    );
    keys.evict(API_KEY).await;
    let reply = send(addr, humanos_get(API_KEY, SECRET)).await;
    // Refused with the same bytes as an unknown key.
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(Some(reply.body), refused);
    assert_eq!(db.lookups.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_failing_store_is_503_and_nothing_passes() {
    let db = Database {
        down: true,
        ..database()
    };
    let addr = serve(CachedKeyStore::new(db.clone())).await;
    for _ in 0..3 {
        let reply = send(addr, humanos_get(API_KEY, SECRET)).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(reply.body, UNAVAILABLE);
        assert_eq!(reply.headers["retry-after"], "1");
    }
    // Failures are not cached: every request tried the store.
    assert_eq!(db.lookups.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_slow_store_is_503_within_the_timeout() {
    let db = Database {
        slow: true,
        ..database()
    };
    let keys = CachedKeyStore::new(db).timeout(Duration::from_millis(200));
    let addr = serve(keys).await;
    let started = Instant::now();
    let reply = send(addr, humanos_get(API_KEY, SECRET)).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.body, UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

/// gRPC callers see a failing or slow key store as `UNAVAILABLE` (never `OK`, never
/// `UNAUTHENTICATED`), with the layer's message; once the store answers again they are served.
/// The server is tonic's health service behind the Humanos layer, its keys in a `CachedKeyStore`;
/// the client signs each call with the crate's `SignLayer`.
#[tokio::test]
async fn grpc_calls_get_unavailable_while_the_key_store_fails_or_stalls() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tower_hmac::humanos::HumanosSigner;

    let cases = [
        ("up", database(), true),
        (
            "down",
            Database {
                down: true,
                ..database()
            },
            false,
        ),
        (
            "slow",
            Database {
                slow: true,
                ..database()
            },
            false,
        ),
    ];
    for (name, db, served) in cases {
        let lookups = Arc::clone(&db.lookups);
        // Keys in `db` behind a cache with a 200 ms timeout.
        let keys = CachedKeyStore::new(db).timeout(Duration::from_millis(200));
        let channel = grpc::serve_health(HumanosVerifyLayer::new(keys)).await;
        let signer = HumanosSigner::new(API_KEY, Secret::new(SECRET).unwrap()).unwrap();
        let mut client = grpc::signed_client(channel, signer);
        let started = Instant::now();
        let reply = client.check(grpc::check()).await;
        if served {
            let reply = reply.unwrap().into_inner();
            assert_eq!(reply.status, ServingStatus::Serving as i32, "{name}");
        } else {
            let status = reply.unwrap_err();
            assert_eq!(
                status.code(),
                tonic::Code::Unavailable,
                "{name}: {status:?}"
            );
            assert_eq!(
                status.message(),
                "authentication is temporarily unavailable",
                "{name}"
            );
            // The slow store is cut off at the cache's timeout, not waited for (10 s).
            assert!(
                started.elapsed() < Duration::from_secs(3),
                "{name}: {:?}",
                started.elapsed()
            );
        }
        // Each call asked the store once: the refusals are its failure, not a cached answer.
        assert_eq!(lookups.load(Ordering::SeqCst), 1, "{name}");
    }
}
