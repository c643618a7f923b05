//! `SqliteKeyStore` (feature `sqlite`) behind `CachedKeyStore`, through layers over loopback:
//! keys, rotation, expiry and revocation as rows; a failing or locked database answered 503; and
//! the mock provider server taking its API keys from a database made from
//! `examples/keys_db.sql`.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use bytes::Bytes;
use common::{now_ms, send, serve_axum};
use http::{Request, StatusCode};
use http_body_util::Full;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use tower_hmac::discord::{self, DiscordVerifyLayer};
use tower_hmac::inqud::{self, InqudCaller, InqudVerifyLayer};
use tower_hmac::mock::{self, MockConfig};
use tower_hmac::{CachedKeyStore, KeyStore, MokaReplayStore, Secret, SqliteKeyStore, Verified};

const UNAVAILABLE: &str =
    r#"{"error":"unavailable","message":"authentication is temporarily unavailable"}"#;

/// A database file of its own, removed at the end.
struct Database {
    path: PathBuf,
}

impl Database {
    async fn create(rows: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "tower-hmac-keys-{}-{}.db",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_file(&path);
        SqliteKeyStore::create(&path, rows).await.unwrap();
        Self { path }
    }

    /// A connection that writes, as an administrator's client would.
    async fn admin(&self) -> SqlitePool {
        SqlitePool::connect_with(SqliteConnectOptions::new().filename(&self.path))
            .await
            .unwrap()
    }

    async fn store(&self, scheme: &str) -> SqliteKeyStore {
        SqliteKeyStore::open(&self.path, scheme).await.unwrap()
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn run(pool: &SqlitePool, sql: &str) {
    sqlx::raw_sql(sql).execute(pool).await.unwrap();
}

fn payout(token: &str, secret: &str) -> Request<Full<Bytes>> {
    let salt = format!("{}-{}", now_ms(), rand_suffix());
    let body = r#"{"amount":50}"#;
    let sig = inqud::signature(&Secret::new(secret).unwrap(), body.as_bytes(), &salt);
    Request::post("/payout")
        .header("x-token-api-id", token)
        .header("x-hmac-sha256-signature", sig)
        .header("x-salt", salt)
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap()
}

fn rand_suffix() -> usize {
    static N: AtomicUsize = AtomicUsize::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

async fn inqud_app(keys: CachedKeyStore<SqliteKeyStore>) -> std::net::SocketAddr {
    serve_axum(
        Router::new()
            .route(
                "/payout",
                post(|caller: Verified<InqudCaller>| async move {
                    let label = caller.secret().and_then(|s| s.label()).unwrap_or("-");
                    format!("{} {label}", caller.key_id())
                }),
            )
            .layer(InqudVerifyLayer::new(keys)),
    )
    .await
}

const ROWS: &str = "
INSERT INTO keys (scheme, key_id) VALUES ('inqud', 'TKN-1'), ('inqud', 'TKN-2'), ('humanos', 'TKN-1');
INSERT INTO secrets (scheme, key_id, secret, label) VALUES
    ('inqud', 'TKN-1', 'secret-a', 'a'),
    ('inqud', 'TKN-2', 'secret-2', NULL),
    ('humanos', 'TKN-1', 'humanos-secret', NULL);
";

#[tokio::test]
async fn keys_rotation_expiry_and_revocation_are_rows() {
    let db = Database::create(ROWS).await;
    let admin = db.admin().await;
    let keys = CachedKeyStore::new(db.store("inqud").await);
    let addr = inqud_app(keys.clone()).await;

    let reply = send(addr, payout("TKN-1", "secret-a")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.text(), "TKN-1 a");
    let refused = send(addr, payout("TKN-9", "secret-a")).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    // Another scheme's key of the same id is not this scheme's.
    assert_eq!(
        send(addr, payout("TKN-1", "humanos-secret")).await.body,
        refused.body
    );

    // Rotation: the new secret added, the old one retired a minute ago.
    run(
        &admin,
        &format!(
            "INSERT INTO secrets (scheme, key_id, secret, label) VALUES ('inqud', 'TKN-1', 'secret-b', 'b');
             UPDATE secrets SET not_after = {} WHERE secret = 'secret-a';",
            now_ms() - 60_000
        ),
    )
    .await;
    // Cached: the old secret is still accepted until the key is evicted.
    assert_eq!(
        send(addr, payout("TKN-1", "secret-a")).await.text(),
        "TKN-1 a"
    );
    keys.evict("TKN-1").await;
    assert_eq!(
        send(addr, payout("TKN-1", "secret-a")).await.body,
        refused.body
    );
    assert_eq!(
        send(addr, payout("TKN-1", "secret-b")).await.text(),
        "TKN-1 b"
    );

    // Expiry and revocation (TKN-2 cached before: accepted until evicted).
    let reply = send(addr, payout("TKN-2", "secret-2")).await;
    assert_eq!(reply.status, StatusCode::OK);
    run(
        &admin,
        &format!(
            "UPDATE keys SET expires_at = {} WHERE key_id = 'TKN-2';
             UPDATE keys SET revoked_at = {} WHERE scheme = 'inqud' AND key_id = 'TKN-1';",
            now_ms() - 1,
            now_ms()
        ),
    )
    .await;
    let reply = send(addr, payout("TKN-2", "secret-2")).await;
    assert_eq!(reply.status, StatusCode::OK);
    keys.evict("TKN-1").await;
    keys.evict("TKN-2").await;
    for (token, secret) in [("TKN-1", "secret-b"), ("TKN-2", "secret-2")] {
        let reply = send(addr, payout(token, secret)).await;
        assert_eq!(reply.body, refused.body, "{token}");
    }
}

#[tokio::test]
async fn the_store_reads_keys_as_the_rows_say() {
    let db = Database::create(ROWS).await;
    let admin = db.admin().await;
    run(
        &admin,
        "INSERT INTO keys (scheme, key_id, expires_at) VALUES ('inqud', 'TKN-3', 1735689600000);
         INSERT INTO secrets (scheme, key_id, secret, label, not_after) VALUES
             ('inqud', 'TKN-3', X'00FF10', 'binary', 1735689600001),
             ('inqud', 'TKN-3', '', 'empty', NULL);
         INSERT INTO keys (scheme, key_id) VALUES ('inqud', 'NO-SECRET');",
    )
    .await;
    let store = db.store("inqud").await;
    let key = store.get("TKN-3").await.unwrap().unwrap();
    assert_eq!(key.id(), "TKN-3");
    // The empty secret is skipped; the binary one read as it is.
    assert_eq!(key.secrets().len(), 1);
    let secret = &key.secrets()[0];
    assert_eq!(secret.secret().unwrap().expose(), [0x00, 0xff, 0x10]);
    assert_eq!(secret.label_str(), Some("binary"));
    let at = |ms: u64| std::time::UNIX_EPOCH + Duration::from_millis(ms);
    assert_eq!(secret.expiry(), Some(at(1_735_689_600_001)));
    assert_eq!(
        key.status_at(at(1_735_689_600_001)),
        tower_hmac::KeyStatus::Expired
    );
    assert!(
        store
            .get("NO-SECRET")
            .await
            .unwrap()
            .unwrap()
            .secrets()
            .is_empty()
    );
    assert!(store.get("TKN-9").await.unwrap().is_none());
    assert!(
        store
            .with_scheme("humanos")
            .get("TKN-2")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        format!("{store:?}"),
        r#"SqliteKeyStore { scheme: "inqud", .. }"#
    );
}

#[tokio::test]
async fn a_failing_database_is_503() {
    let db = Database::create(ROWS).await;
    let store = db.store("inqud").await;
    let addr = inqud_app(CachedKeyStore::new(store.clone())).await;
    store.pool().close().await;
    for _ in 0..3 {
        let reply = send(addr, payout("TKN-1", "secret-a")).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(reply.body, UNAVAILABLE);
    }
}

#[tokio::test]
async fn a_locked_database_is_503_within_the_timeout_then_served() {
    let db = Database::create(ROWS).await;
    let keys = CachedKeyStore::new(db.store("inqud").await).timeout(Duration::from_millis(200));
    let addr = inqud_app(keys).await;
    // A writer holds the database locked: readers wait.
    let admin = db.admin().await;
    let mut writer = admin.acquire().await.unwrap();
    sqlx::raw_sql("BEGIN EXCLUSIVE; UPDATE keys SET expires_at = NULL;")
        .execute(&mut *writer)
        .await
        .unwrap();
    let started = Instant::now();
    let reply = send(addr, payout("TKN-1", "secret-a")).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.body, UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    sqlx::raw_sql("COMMIT").execute(&mut *writer).await.unwrap();
    drop(writer);
    let mut status = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..30 {
        status = send(addr, payout("TKN-1", "secret-a")).await.status;
        if status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, StatusCode::OK);
}

/// The mock's `--keys-db`: the API providers' keys come from the database (`ROTATED_KEY` is in
/// no configuration), with its rotations and revocations, and the demo credentials work as with
/// the built-in configuration.
#[tokio::test]
async fn the_mock_serves_api_keys_from_the_demo_database() {
    let db = Database::create(include_str!("../examples/keys_db.sql")).await;
    let database = db.store("").await;
    let keys = move |scheme: &str| -> Arc<dyn KeyStore> {
        Arc::new(CachedKeyStore::new(database.with_scheme(scheme)))
    };
    let router =
        mock::router_with_key_stores(&MockConfig::default(), MokaReplayStore::new(), keys).unwrap();
    let addr = common::serve_mock(router).await;

    for (key, secret, status) in [
        ("YOUR_API_KEY", "YOUR_SIGNATURE_SECRET", StatusCode::OK),
        ("ROTATED_KEY", "NEW_SECRET", StatusCode::OK),
        ("ROTATED_KEY", "OLD_SECRET", StatusCode::UNAUTHORIZED),
        ("REVOKED_KEY", "REVOKED_SECRET", StatusCode::UNAUTHORIZED),
    ] {
        let reply = send(addr, common::humanos_get(key, secret)).await;
        assert_eq!(reply.status, status, "{key} {secret}: {}", reply.text());
        if status == StatusCode::OK {
            assert_eq!(reply.json()["api_key"], key);
        }
    }
    let mut request = payout(
        "TKN-6c1296b8-6929-443b-ac06-f732e0e27be1",
        "dBajIp3wHnw5euxohPiZvsCEorG3Fhl9gsHl1UIBlsImHjWRdSJdp4Gh6e3y2PNs",
    );
    *request.uri_mut() = "/v1/user/payments/payout".parse().unwrap();
    let reply = send(addr, request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["mode"], "hmac");
}

/// With `--explain`, the mock shows a refused request the signature it expected only for a
/// provider whose keys are its demo configuration's: keys from a database may be anyone's, so a
/// Humanos refusal explains what was signed and never what the database's secret would give.
#[tokio::test]
async fn the_mock_never_explains_expected_signatures_for_keys_from_a_database() {
    let db = Database::create(include_str!("../examples/keys_db.sql")).await;
    let database = db.store("").await;
    let keys = move |scheme: &str| -> Arc<dyn KeyStore> {
        Arc::new(CachedKeyStore::new(database.with_scheme(scheme)))
    };
    let mut config = MockConfig::default();
    config.set_explain(true);
    let from_db = common::serve_mock(
        mock::router_with_key_stores(&config, MokaReplayStore::new(), keys).unwrap(),
    )
    .await;
    let configured = common::serve_mock(mock::router(&config).unwrap()).await;

    let wrong_secret = || common::humanos_get("YOUR_API_KEY", "NOT_THE_SECRET");
    // The demo configuration's keys: the expected signature is shown.
    let reply = send(configured, wrong_secret()).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(
        reply.json()["explain"]["expected"].is_array(),
        "{}",
        reply.text()
    );
    // The same key from the database: what was signed, not what was expected.
    let reply = send(from_db, wrong_secret()).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let explain = &reply.json()["explain"];
    assert!(explain["signed"].is_array(), "{}", reply.text());
    assert_eq!(explain.get("expected"), None, "{}", reply.text());
}

/// RFC 8032, section 7.1, TEST 1: the key pair the mock's Discord route uses.
const RFC8032_SECRET: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const RFC8032_PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

/// Discord interactions verified with a public key read from a row of kind `ed25519`, over
/// loopback. The same 32 bytes as a shared secret (kind `hmac`) verify nothing: a public key never
/// stands in for a secret. Rows that hold no usable public key (31 bytes, the weak identity
/// point) or name an unknown kind are skipped, so the key verifies nothing with them.
#[tokio::test]
async fn ed25519_public_keys_are_rows() {
    let identity = format!("01{}", "00".repeat(31));
    let short = &RFC8032_PUBLIC[..62];
    let rows = [
        ("discord", RFC8032_PUBLIC, "ed25519"),
        ("as-hmac", RFC8032_PUBLIC, "hmac"),
        ("short", short, "ed25519"),
        ("weak", identity.as_str(), "ed25519"),
        ("unknown-kind", RFC8032_PUBLIC, "rsa"),
    ];
    let mut sql = String::new();
    for (scheme, hex, kind) in rows {
        sql.push_str(&format!(
            "INSERT INTO keys (scheme, key_id) VALUES ('{scheme}', 'discord');
             INSERT INTO secrets (scheme, key_id, secret, kind)
                 VALUES ('{scheme}', 'discord', X'{hex}', '{kind}');\n"
        ));
    }
    let db = Database::create(&sql).await;
    let private = discord::private_key(RFC8032_SECRET).unwrap();
    let body = br#"{"type":2,"id":"1"}"#;
    for (scheme, _, kind) in rows {
        let keys = CachedKeyStore::new(db.store(scheme).await);
        let addr = serve_axum(
            Router::new()
                .route("/interactions", post(|| async { "handled" }))
                .layer(DiscordVerifyLayer::new(keys)),
        )
        .await;
        let signed = || {
            let headers = discord::sign_request(&private, body).unwrap();
            let mut request = Request::post("/interactions")
                .body(Full::new(Bytes::from_static(body)))
                .unwrap();
            *request.headers_mut() = headers;
            request
        };
        let reply = send(addr, signed()).await;
        if scheme == "discord" {
            assert_eq!(reply.status, StatusCode::OK, "{scheme}: {:?}", reply.body);
            assert_eq!(reply.body, "handled");
            // A tampered body, under the same key: refused.
            let mut tampered = signed();
            *tampered.body_mut() = Full::new(Bytes::from_static(br#"{"type":2,"id":"2"}"#));
            assert_eq!(send(addr, tampered).await.status, StatusCode::UNAUTHORIZED);
        } else {
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{scheme} ({kind}): {:?}",
                reply.body
            );
        }
    }
}

/// A database made before the `kind` column existed is refused when opened, with the statement
/// that adds it; once added, its rows (shared secrets) verify as before.
#[tokio::test]
async fn a_database_without_the_kind_column_is_refused_at_open_with_its_fix() {
    let db = Database::create("").await;
    let admin = db.admin().await;
    run(
        &admin,
        "DROP TABLE secrets;
         CREATE TABLE secrets (id INTEGER PRIMARY KEY, scheme TEXT NOT NULL, key_id TEXT NOT NULL,
             secret BLOB NOT NULL, label TEXT, not_after INTEGER);
         INSERT INTO keys (scheme, key_id) VALUES ('inqud', 'TKN-1');
         INSERT INTO secrets (scheme, key_id, secret) VALUES ('inqud', 'TKN-1', 'secret-a');",
    )
    .await;
    let error = SqliteKeyStore::open(&db.path, "inqud").await.unwrap_err();
    let message = error.to_string();
    assert!(message.contains("no such column: kind"), "{message}");
    assert!(
        message.contains("ALTER TABLE secrets ADD COLUMN kind TEXT NOT NULL DEFAULT 'hmac'"),
        "{message}"
    );
    run(
        &admin,
        "ALTER TABLE secrets ADD COLUMN kind TEXT NOT NULL DEFAULT 'hmac'",
    )
    .await;
    let addr = inqud_app(CachedKeyStore::new(db.store("inqud").await)).await;
    let reply = send(addr, payout("TKN-1", "secret-a")).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body, "TKN-1 -");
}
