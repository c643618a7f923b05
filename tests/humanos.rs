//! The Humanos layer: vendor vectors, every rejection kind, and the layer mounted in axum, tonic
//! and plain hyper over loopback.

mod common;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::{get, post};
use bytes::Bytes;
use common::{grpc, now_ms, send, serve_axum, serve_hyper};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use tower::{ServiceBuilder, service_fn};
use tower_hmac::humanos::{self, HumanosCaller, HumanosVerifyLayer};
use tower_hmac::{
    BoxFuture, Key, KeySecret, KeyStore, ManualClock, MemoryKeyStore, MokaReplayStore, Rejection,
    RejectionKind, Secret, StoreError, Verified, VerifiedBody,
};

const API_KEY: &str = "YOUR_API_KEY";
const SECRET: &str = "YOUR_SIGNATURE_SECRET";

fn secret(s: &str) -> Secret {
    Secret::new(s).unwrap()
}

fn keys() -> MemoryKeyStore {
    MemoryKeyStore::new().with(Key::new(API_KEY, secret(SECRET)))
}

fn at_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

/// A request with the three Humanos headers.
fn request(
    api_key: &str,
    timestamp: &str,
    signature: &str,
    body: impl Into<Bytes>,
) -> Request<Full<Bytes>> {
    Request::post("/v0/process/generate")
        .header("authorization", format!("Bearer {api_key}"))
        .header("x-timestamp", timestamp)
        .header("x-signature", signature)
        .header("content-type", "application/json")
        .body(Full::new(body.into()))
        .unwrap()
}

fn signed(ts: u64, body: &'static [u8]) -> Request<Full<Bytes>> {
    let sig = humanos::signature(&secret(SECRET), ts, body);
    request(API_KEY, &ts.to_string(), &sig, Bytes::from_static(body))
}

/// Runs the verifier alone on `req` (no server) with the clock at `now_ms`.
async fn check(
    layer: &HumanosVerifyLayer,
    req: Request<Full<Bytes>>,
) -> Result<Verified<HumanosCaller>, Rejection> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    layer.verifier().verify(&parts, &body).await
}

fn layer_at(now_ms: u64) -> HumanosVerifyLayer {
    HumanosVerifyLayer::new(keys()).clock(ManualClock::new(at_ms(now_ms)))
}

fn kind(result: Result<Verified<HumanosCaller>, Rejection>) -> RejectionKind {
    result.expect_err("request should have been refused").kind()
}

// ---------------------------------------------------------------------------------------------
// Vectors computed outside this crate: `node tests/vectors/humanos.js` runs the vendor's own
// generateSignature (Node crypto).

#[derive(Debug)]
struct Vector {
    name: String,
    api_key: String,
    secret: String,
    timestamp: String,
    body: Vec<u8>,
    signature: String,
}

fn vectors() -> Vec<Vector> {
    let file: serde_json::Value =
        serde_json::from_str(include_str!("vectors/humanos.json")).unwrap();
    assert_eq!(file["generated_by"], "node tests/vectors/humanos.js");
    file["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| Vector {
            name: v["name"].as_str().unwrap().into(),
            api_key: v["api_key"].as_str().unwrap().into(),
            secret: v["secret"].as_str().unwrap().into(),
            timestamp: v["timestamp"].as_str().unwrap().into(),
            body: const_hex::decode(v["body_hex"].as_str().unwrap()).unwrap(),
            signature: v["signature"].as_str().unwrap().into(),
        })
        .collect()
}

#[tokio::test]
async fn vendor_vectors_are_accepted() {
    let all = vectors();
    assert_eq!(all.len(), 5);
    for v in all {
        let ts: u64 = v.timestamp.parse().unwrap();
        let keys = MemoryKeyStore::new().with(Key::new(v.api_key.as_str(), secret(&v.secret)));
        let layer = HumanosVerifyLayer::new(keys).clock(ManualClock::new(at_ms(ts)));
        let req = request(&v.api_key, &v.timestamp, &v.signature, v.body.clone());
        let verified = check(&layer, req)
            .await
            .unwrap_or_else(|r| panic!("{}: {r}", v.name));
        assert_eq!(verified.key_id(), v.api_key);
        assert_eq!(verified.identity().timestamp_ms(), ts);
        // The crate's signer agrees with the vendor's code.
        assert_eq!(
            humanos::signature(&secret(&v.secret), ts, &v.body),
            v.signature,
            "{}",
            v.name
        );
    }
}

#[tokio::test]
async fn vendor_vectors_fail_with_one_byte_changed() {
    for v in vectors() {
        let ts: u64 = v.timestamp.parse().unwrap();
        let layer = layer_at(ts);
        let mut body = v.body.clone();
        match body.first_mut() {
            Some(b) => *b ^= 1,
            None => body.push(b'x'),
        }
        let req = request(API_KEY, &v.timestamp, &v.signature, body);
        assert_eq!(
            kind(check(&layer, req).await),
            RejectionKind::InvalidSignature,
            "{}",
            v.name
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Every rejection kind, checked without a server.

const NOW: u64 = 1_763_800_000_000;

#[tokio::test]
async fn tampered_body_wrong_secret_and_unknown_key_are_refused() {
    let layer = layer_at(NOW);
    let sig = humanos::signature(&secret(SECRET), NOW, b"{\"a\":1}");
    let ts = NOW.to_string();
    assert_eq!(
        kind(check(&layer, request(API_KEY, &ts, &sig, "{\"a\":2}")).await),
        RejectionKind::InvalidSignature
    );

    let wrong = humanos::signature(&secret("not-the-secret"), NOW, b"{\"a\":1}");
    assert_eq!(
        kind(check(&layer, request(API_KEY, &ts, &wrong, "{\"a\":1}")).await),
        RejectionKind::InvalidSignature
    );

    assert_eq!(
        kind(check(&layer, request("OTHER_KEY", &ts, &sig, "{\"a\":1}")).await),
        RejectionKind::UnknownKey
    );
}

#[tokio::test]
async fn timestamp_window_is_two_sided_with_exact_edges() {
    let layer = layer_at(NOW);
    let edge_past = NOW - 300_000;
    let edge_future = NOW + 300_000;
    assert!(check(&layer, signed(edge_past, b"x")).await.is_ok());
    assert!(check(&layer, signed(edge_future, b"x")).await.is_ok());
    assert_eq!(
        kind(check(&layer, signed(edge_past - 1, b"x")).await),
        RejectionKind::StaleTimestamp
    );
    assert_eq!(
        kind(check(&layer, signed(edge_future + 1, b"x")).await),
        RejectionKind::FutureTimestamp
    );
}

#[tokio::test]
async fn tolerances_are_set_separately() {
    let layer = layer_at(NOW)
        .past_tolerance(Duration::from_secs(10))
        .future_tolerance(Duration::from_secs(1));
    assert!(check(&layer, signed(NOW - 10_000, b"")).await.is_ok());
    assert_eq!(
        kind(check(&layer, signed(NOW - 10_001, b"")).await),
        RejectionKind::StaleTimestamp
    );
    assert!(check(&layer, signed(NOW + 1_000, b"")).await.is_ok());
    assert_eq!(
        kind(check(&layer, signed(NOW + 1_001, b"")).await),
        RejectionKind::FutureTimestamp
    );
}

#[tokio::test]
async fn timestamp_in_seconds_is_refused_with_a_hint() {
    let layer = layer_at(NOW);
    let seconds = NOW / 1000;
    let err = check(&layer, signed(seconds, b"{}")).await.unwrap_err();
    assert_eq!(err.kind(), RejectionKind::StaleTimestamp);
    assert_eq!(
        err.message(),
        "X-Timestamp looks like seconds; send milliseconds since the Unix epoch"
    );
}

#[tokio::test]
async fn malformed_timestamps_are_refused() {
    let layer = layer_at(NOW);
    let sig = humanos::signature(&secret(SECRET), NOW, b"");
    for (ts, message) in [
        (
            "abc",
            "X-Timestamp header must be milliseconds since the Unix epoch, digits only",
        ),
        (
            "-1763800000000",
            "X-Timestamp header must be milliseconds since the Unix epoch, digits only",
        ),
        (
            "1763800000000.5",
            "X-Timestamp header must be milliseconds since the Unix epoch, digits only",
        ),
        (
            "+1763800000000",
            "X-Timestamp header must be milliseconds since the Unix epoch, digits only",
        ),
        ("18446744073709551616", "X-Timestamp header is out of range"),
        (
            "99999999999999999999999999999",
            "X-Timestamp header is out of range",
        ),
    ] {
        let err = check(&layer, request(API_KEY, ts, &sig, ""))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), RejectionKind::MalformedCredentials, "{ts}");
        assert_eq!(err.message(), message, "{ts}");
    }
    // The largest u64 parses, and is then far in the future.
    let err = check(&layer, request(API_KEY, "18446744073709551615", &sig, ""))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), RejectionKind::FutureTimestamp);
}

#[tokio::test]
async fn malformed_signatures_are_refused() {
    let layer = layer_at(NOW);
    let good = humanos::signature(&secret(SECRET), NOW, b"");
    let ts = NOW.to_string();
    let garbage = "zz".repeat(32);
    for sig in [garbage.as_str(), &good[..63], &good[..32], "not hex at all"] {
        let err = check(&layer, request(API_KEY, &ts, sig, ""))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), RejectionKind::MalformedCredentials, "{sig}");
        assert_eq!(
            err.message(),
            "X-Signature header must be 64 hex digits (HMAC-SHA256)"
        );
    }
    // Empty header.
    let err = check(&layer, request(API_KEY, &ts, "", ""))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), RejectionKind::MalformedCredentials);
    assert_eq!(err.message(), "X-Signature header is empty");
    // Upper-case hex is the same signature.
    assert!(
        check(&layer, request(API_KEY, &ts, &good.to_uppercase(), ""))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn each_missing_or_duplicated_header_is_refused() {
    let layer = layer_at(NOW);
    for (missing, message) in [
        ("authorization", "missing Authorization header"),
        ("x-timestamp", "missing X-Timestamp header"),
        ("x-signature", "missing X-Signature header"),
    ] {
        let mut req = signed(NOW, b"{}");
        req.headers_mut().remove(missing);
        let err = check(&layer, req).await.unwrap_err();
        assert_eq!(err.kind(), RejectionKind::MissingCredentials);
        assert_eq!(err.message(), message);
    }
    for duplicated in ["authorization", "x-timestamp", "x-signature"] {
        let mut req = signed(NOW, b"{}");
        let value = req.headers()[duplicated].clone();
        req.headers_mut().append(duplicated, value);
        let err = check(&layer, req).await.unwrap_err();
        assert_eq!(
            err.kind(),
            RejectionKind::MalformedCredentials,
            "{duplicated}"
        );
    }
    for bad_auth in ["YOUR_API_KEY", "Basic YOUR_API_KEY", "Bearer", "Bearer a b"] {
        let mut req = signed(NOW, b"{}");
        req.headers_mut()
            .insert("authorization", bad_auth.parse().unwrap());
        let err = check(&layer, req).await.unwrap_err();
        assert_eq!(
            err.message(),
            "Authorization header must be `Bearer <api key>`",
            "{bad_auth}"
        );
    }
}

#[tokio::test]
async fn rotated_secret_is_accepted_while_live_and_refused_after() {
    let clock = ManualClock::new(at_ms(NOW));
    let store = keys();
    let layer = HumanosVerifyLayer::new(store.clone()).clock(clock.clone());
    let new = KeySecret::new(secret("NEW_SECRET")).label("2026-11");
    store.rotate(API_KEY, new, at_ms(NOW + 60_000)).unwrap();

    let old_sig = humanos::signature(&secret(SECRET), NOW, b"{}");
    let new_sig = humanos::signature(&secret("NEW_SECRET"), NOW, b"{}");
    let ts = NOW.to_string();

    let old = check(&layer, request(API_KEY, &ts, &old_sig, "{}"))
        .await
        .unwrap();
    assert_eq!(old.secret().unwrap().index(), 0);
    assert_eq!(old.secret().unwrap().label(), None);
    let new = check(&layer, request(API_KEY, &ts, &new_sig, "{}"))
        .await
        .unwrap();
    assert_eq!(new.secret().unwrap().index(), 1);
    assert_eq!(new.secret().unwrap().label(), Some("2026-11"));

    // One millisecond after the old secret's not-after (the timestamp stays inside the window).
    clock.set(at_ms(NOW + 60_001));
    assert_eq!(
        kind(check(&layer, request(API_KEY, &ts, &old_sig, "{}")).await),
        RejectionKind::InvalidSignature
    );
    assert!(
        check(&layer, request(API_KEY, &ts, &new_sig, "{}"))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn expired_and_revoked_keys_are_refused() {
    let store = MemoryKeyStore::new()
        .with(Key::new("EXPIRED", secret(SECRET)).expires_at(at_ms(NOW - 1)))
        .with(Key::new("REVOKED", secret(SECRET)).revoked())
        .with(Key::new("LIVE", secret(SECRET)).expires_at(at_ms(NOW)));
    let layer = HumanosVerifyLayer::new(store.clone()).clock(ManualClock::new(at_ms(NOW)));
    let sig = humanos::signature(&secret(SECRET), NOW, b"");
    let ts = NOW.to_string();
    assert_eq!(
        kind(check(&layer, request("EXPIRED", &ts, &sig, "")).await),
        RejectionKind::KeyExpired
    );
    assert_eq!(
        kind(check(&layer, request("REVOKED", &ts, &sig, "")).await),
        RejectionKind::KeyRevoked
    );
    assert!(check(&layer, request("LIVE", &ts, &sig, "")).await.is_ok());
    store.revoke("LIVE").unwrap();
    assert_eq!(
        kind(check(&layer, request("LIVE", &ts, &sig, "")).await),
        RejectionKind::KeyRevoked
    );
}

#[tokio::test]
async fn replay_rejection_is_off_by_default_and_works_when_on() {
    let layer = layer_at(NOW);
    assert!(check(&layer, signed(NOW, b"{}")).await.is_ok());
    assert!(check(&layer, signed(NOW, b"{}")).await.is_ok());

    let layer = layer_at(NOW).replay_store(MokaReplayStore::new());
    assert!(check(&layer, signed(NOW, b"{}")).await.is_ok());
    assert_eq!(
        kind(check(&layer, signed(NOW, b"{}")).await),
        RejectionKind::Replayed
    );
    // Another timestamp is another signature.
    assert!(check(&layer, signed(NOW + 1, b"{}")).await.is_ok());
    // A failed signature is never recorded: the good one after it still passes.
    let sig = humanos::signature(&secret("wrong"), NOW + 2, b"{}");
    assert!(
        check(&layer, request(API_KEY, &(NOW + 2).to_string(), &sig, "{}"))
            .await
            .is_err()
    );
    assert!(check(&layer, signed(NOW + 2, b"{}")).await.is_ok());
}

/// A replay store that records the TTL of every key it is given (and remembers nothing).
#[derive(Clone, Default)]
struct TtlRecorder(Arc<std::sync::Mutex<Vec<Duration>>>);

impl tower_hmac::ReplayStore for TtlRecorder {
    fn insert_if_absent<'a>(
        &'a self,
        _key: &'a tower_hmac::ReplayKey,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.0.lock().unwrap().push(ttl);
        Box::pin(async { Ok(true) })
    }
}

#[tokio::test]
async fn signatures_are_remembered_until_their_timestamp_leaves_the_window() {
    // A signature must be remembered for as long as the same request could be accepted again:
    // until `X-Timestamp + past`, counted from the timestamp, not from when it was recorded. A
    // future-dated request stays acceptable longer than the past tolerance (300 s) after it is
    // first seen; remembering it only that long would let it be replayed inside its window.
    let recorder = TtlRecorder::default();
    let layer = layer_at(NOW).replay_store(recorder.clone());
    for (ts, expected_ms) in [
        (NOW + 290_000, 590_001),
        (NOW, 300_001),
        (NOW - 299_000, 1_001),
        (NOW - 300_000, 1),
    ] {
        check(&layer, signed(ts, b"{}")).await.unwrap();
        let ttl = recorder.0.lock().unwrap().pop().unwrap();
        assert_eq!(ttl, Duration::from_millis(expected_ms), "timestamp {ts}");
    }
    // With other tolerances, the past one decides.
    let layer = layer_at(NOW)
        .past_tolerance(Duration::from_secs(60))
        .future_tolerance(Duration::from_secs(600))
        .replay_store(recorder.clone());
    check(&layer, signed(NOW + 600_000, b"{}")).await.unwrap();
    let ttl = recorder.0.lock().unwrap().pop().unwrap();
    assert_eq!(ttl, Duration::from_millis(660_001));
}

/// Regression: a signature is recorded in the replay store only once its MAC verified. Sending the
/// genuine signature over a tampered body must not burn it, or anyone who captures a request
/// could block it by sending it first with another body. (A different signature would not show
/// this: it is another nonce anyway.)
#[tokio::test]
async fn nonce_is_recorded_only_after_the_mac_verified() {
    let layer = layer_at(NOW).replay_store(MokaReplayStore::new());
    let ts = NOW.to_string();
    let genuine = humanos::signature(&secret(SECRET), NOW, br#"{"amount":1}"#);
    let with_body = |body: &'static str| request(API_KEY, &ts, &genuine, body);

    let tampered = check(&layer, with_body(r#"{"amount":1000}"#)).await;
    assert_eq!(kind(tampered), RejectionKind::InvalidSignature);
    let verified = check(&layer, with_body(r#"{"amount":1}"#))
        .await
        .expect("the genuine request after a tampered copy must pass");
    assert_eq!(verified.key_id(), API_KEY);
    // It is recorded now that it verified.
    let again = check(&layer, with_body(r#"{"amount":1}"#)).await;
    assert_eq!(kind(again), RejectionKind::Replayed);
}

/// A key store that always fails.
struct BrokenStore;

impl KeyStore for BrokenStore {
    fn get<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Option<Key>, StoreError>> {
        Box::pin(async { Err(StoreError::new("database is down")) })
    }
}

#[tokio::test]
async fn failing_key_store_fails_closed() {
    let layer = HumanosVerifyLayer::new(BrokenStore).clock(ManualClock::new(at_ms(NOW)));
    assert_eq!(
        kind(check(&layer, signed(NOW, b"{}")).await),
        RejectionKind::StoreUnavailable
    );
}

// ---------------------------------------------------------------------------------------------
// axum 0.8 over loopback.

async fn processes(caller: Verified<HumanosCaller>) -> String {
    format!(
        "processes for {} at {}",
        caller.key_id(),
        caller.identity().timestamp_ms()
    )
}

async fn generate(caller: Verified<HumanosCaller>, body: Bytes) -> String {
    let label = caller.secret().and_then(|s| s.label()).unwrap_or("-");
    format!(
        "{} {} {}",
        caller.key_id(),
        label,
        String::from_utf8_lossy(&body)
    )
}

fn humanos_routes() -> Router {
    Router::new()
        .route("/v0/processes", get(processes))
        .route("/v0/process/generate", post(generate))
}

#[tokio::test]
async fn axum_router_layer_accepts_signed_and_refuses_the_rest() {
    let addr = serve_axum(humanos_routes().layer(HumanosVerifyLayer::new(keys()))).await;
    let now = now_ms();

    // GET without body: the signature covers the timestamp alone.
    let sig = humanos::signature(&secret(SECRET), now, b"");
    let get = Request::get("/v0/processes")
        .header("authorization", "Bearer YOUR_API_KEY")
        .header("x-timestamp", now.to_string())
        .header("x-signature", &sig)
        .body(Full::default())
        .unwrap();
    let reply = send(addr, get).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.text(), format!("processes for YOUR_API_KEY at {now}"));

    // The doc's POST body, with non-ASCII added.
    let body =
        r#"{"contacts":["+351912345678"],"processIds":["64c8e5f7d5a4f9123b7c9a1e"],"note":"olá"}"#;
    let sig = humanos::signature(&secret(SECRET), now, body.as_bytes());
    let reply = send(addr, request(API_KEY, &now.to_string(), &sig, body)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), format!("YOUR_API_KEY - {body}"));

    // Same headers, other body.
    let reply = send(addr, request(API_KEY, &now.to_string(), &sig, "{}")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.headers["www-authenticate"],
        "Bearer realm=\"humanos\""
    );
    assert_eq!(reply.headers["content-type"], "application/json");
    assert_eq!(
        reply.body,
        r#"{"error":"invalid_credentials","message":"the key or the signature is not valid"}"#
    );

    // Unknown key: byte-identical answer.
    let reply_unknown = send(addr, request("NOPE", &now.to_string(), &sig, body)).await;
    assert_eq!(reply_unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply_unknown.body, reply.body);

    // No credentials at all.
    let reply = send(
        addr,
        Request::get("/v0/processes").body(Full::default()).unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.body,
        r#"{"error":"missing_credentials","message":"missing Authorization header"}"#
    );

    // Stale.
    let old = now - 301_000;
    let sig = humanos::signature(&secret(SECRET), old, b"{}");
    let reply = send(addr, request(API_KEY, &old.to_string(), &sig, "{}")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.json()["error"], "timestamp_out_of_window");
}

#[tokio::test]
async fn axum_body_over_limit_is_413() {
    let layer = HumanosVerifyLayer::new(keys()).body_limit(1024);
    let addr = serve_axum(humanos_routes().layer(layer)).await;
    let now = now_ms();

    let fits = vec![b'a'; 1024];
    let sig = humanos::signature(&secret(SECRET), now, &fits);
    let reply = send(addr, request(API_KEY, &now.to_string(), &sig, fits)).await;
    assert_eq!(reply.status, StatusCode::OK);

    let too_big = vec![b'a'; 1025];
    let sig = humanos::signature(&secret(SECRET), now, &too_big);
    let reply = send(addr, request(API_KEY, &now.to_string(), &sig, too_big)).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        reply.body,
        r#"{"error":"payload_too_large","message":"the request body is too large"}"#
    );
}

/// A request with nothing to read (its body at its end already, as hyper hands on a GET or a
/// `Content-Length: 0` request) is checked without reading: accepted signed over the empty body,
/// refused otherwise; one whose body is at its end but which declares a length over the limit is
/// still refused as too large, as a read would have.
#[tokio::test]
async fn a_body_with_nothing_to_read_is_checked_as_one_read() {
    use tower::{Layer, ServiceExt};
    let now = 1_763_800_000_000;
    let service = layer_at(now).layer(service_fn(
        |request: Request<tower_hmac::VerifiedBody>| async move {
            let caller = request
                .extensions()
                .get::<Verified<HumanosCaller>>()
                .cloned();
            let body = request.into_body().collect().await.unwrap().to_bytes();
            Ok::<_, Infallible>(Response::new(format!(
                "{} {}",
                caller.unwrap().key_id(),
                body.len()
            )))
        },
    ));
    let empty = |signature: &str, declared: Option<u64>| {
        let mut request = Request::get("/v0/process/status")
            .header("authorization", format!("Bearer {API_KEY}"))
            .header("x-timestamp", now.to_string())
            .header("x-signature", signature);
        if let Some(len) = declared {
            request = request.header("content-length", len);
        }
        request.body(http_body_util::Empty::<Bytes>::new()).unwrap()
    };
    let good = humanos::signature(&secret(SECRET), now, b"");
    for declared in [None, Some(0)] {
        let response = service
            .clone()
            .oneshot(empty(&good, declared))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{declared:?}");
        let text = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(text, format!("{API_KEY} 0"));
    }
    let over_a_body = humanos::signature(&secret(SECRET), now, b"{}");
    let response = service
        .clone()
        .oneshot(empty(&over_a_body, None))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = service
        .clone()
        .oneshot(empty(&good, Some(2 * 1024 * 1024)))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn axum_default_limit_is_one_mebibyte_even_without_content_length() {
    let addr = serve_axum(humanos_routes().layer(HumanosVerifyLayer::new(keys()))).await;
    let now = now_ms();
    // A streamed body without Content-Length, 2 MiB in 64 KiB chunks.
    let chunks: Vec<Result<http_body::Frame<Bytes>, Infallible>> = (0..32)
        .map(|_| Ok(http_body::Frame::data(Bytes::from(vec![b'z'; 64 * 1024]))))
        .collect();
    let body = http_body_util::StreamBody::new(futures_util::stream::iter(chunks));
    let req = Request::post(format!("http://{addr}/v0/process/generate"))
        .header("authorization", "Bearer YOUR_API_KEY")
        .header("x-timestamp", now.to_string())
        .header("x-signature", "00".repeat(32))
        .body(body)
        .unwrap();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http();
    let res = client.request(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn axum_route_layer_protects_only_its_routes() {
    let protected = humanos_routes().route_layer(HumanosVerifyLayer::new(keys()));
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .merge(protected);
    let addr = serve_axum(app).await;

    let reply = send(addr, Request::get("/health").body(Full::default()).unwrap()).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "ok");

    let reply = send(
        addr,
        Request::get("/v0/processes").body(Full::default()).unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);

    // route_layer does not run for unmatched paths: 404, not 401.
    let reply = send(
        addr,
        Request::get("/nowhere").body(Full::default()).unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);

    let now = now_ms();
    let reply = send(addr, signed_now(now, "{\"ok\":true}")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "YOUR_API_KEY - {\"ok\":true}");
}

fn signed_now(now: u64, body: &str) -> Request<Full<Bytes>> {
    let sig = humanos::signature(&secret(SECRET), now, body.as_bytes());
    request(API_KEY, &now.to_string(), &sig, body.to_owned())
}

#[tokio::test]
async fn axum_replay_store_refuses_the_second_identical_request() {
    let layer = HumanosVerifyLayer::new(keys()).replay_store(MokaReplayStore::new());
    let addr = serve_axum(humanos_routes().layer(layer)).await;
    let now = now_ms();
    assert_eq!(
        send(addr, signed_now(now, "{}")).await.status,
        StatusCode::OK
    );
    let reply = send(addr, signed_now(now, "{}")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.body,
        r#"{"error":"replayed","message":"this request was already used"}"#
    );
}

// ---------------------------------------------------------------------------------------------
// Plain hyper 1 + tower over loopback.

#[tokio::test]
async fn hyper_service_sees_the_verified_caller_and_exact_body() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let service = ServiceBuilder::new()
        .layer(HumanosVerifyLayer::new(keys()))
        .service(service_fn(move |req: Request<VerifiedBody>| {
            let seen = Arc::clone(&seen);
            async move {
                seen.fetch_add(1, Ordering::SeqCst);
                let caller = req
                    .extensions()
                    .get::<Verified<HumanosCaller>>()
                    .cloned()
                    .unwrap();
                let body = req.into_body().collect().await.unwrap().to_bytes();
                let text = format!("{}:{}", caller.key_id(), body.len());
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(text))))
            }
        }));
    let addr = serve_hyper(service).await;
    let now = now_ms();

    let body = vec![0u8, 255, 128, 10, 13];
    let sig = humanos::signature(&secret(SECRET), now, &body);
    let reply = send(addr, request(API_KEY, &now.to_string(), &sig, body)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "YOUR_API_KEY:5");

    let reply = send(addr, request(API_KEY, &now.to_string(), &sig, "tampered")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "a rejected request never reaches the service"
    );
}

// ---------------------------------------------------------------------------------------------
// tonic 0.14 over loopback, in front of tonic-health.

/// A health client whose calls are signed with the secret `secret_text` at `timestamp_ms`.
fn signed_client(
    channel: tonic::transport::Channel,
    secret_text: &str,
    timestamp_ms: u64,
) -> tonic_health::pb::health_client::HealthClient<grpc::SignedGrpc> {
    let signer = humanos::HumanosSigner::new(API_KEY, secret(secret_text))
        .unwrap()
        .clock(tower_hmac::ManualClock::new(at_ms(timestamp_ms)));
    grpc::signed_client(channel, signer)
}

#[tokio::test]
async fn tonic_server_layer_in_front_of_health() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;

    let channel = grpc::serve_health(HumanosVerifyLayer::new(keys())).await;

    // Signed: served.
    let mut client = signed_client(channel.clone(), SECRET, now_ms());
    let res = client.check(grpc::check()).await.unwrap();
    assert_eq!(res.into_inner().status, ServingStatus::Serving as i32);

    // Wrong secret: UNAUTHENTICATED, with the layer's message.
    let mut client = signed_client(channel.clone(), "WRONG", now_ms());
    let status = client.check(grpc::check()).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    assert_eq!(status.message(), "the key or the signature is not valid");

    // Not signed at all.
    let mut client = HealthClient::new(channel.clone());
    let status = client.check(grpc::check()).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    assert_eq!(status.message(), "missing Authorization header");

    // Stale timestamp.
    let mut client = signed_client(channel, SECRET, now_ms() - 600_000);
    let status = client.check(grpc::check()).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    assert_eq!(status.message(), "the request timestamp is too old");
}

#[tokio::test]
async fn chunked_body_is_verified_as_it_streams_and_reaches_the_handler_intact() {
    let addr = serve_axum(humanos_routes().layer(HumanosVerifyLayer::new(keys()))).await;
    let now = now_ms();
    let parts: [&'static [u8]; 4] = [b"", b"{\"contacts\":", b"", b"[\"+351912345678\"]}"];
    let whole: Vec<u8> = parts.concat();
    let sig = humanos::signature(&secret(SECRET), now, &whole);
    let frames: Vec<Result<http_body::Frame<Bytes>, Infallible>> = parts
        .iter()
        .map(|p| Ok(http_body::Frame::data(Bytes::from_static(p))))
        .collect();
    let req = Request::post(format!("http://{addr}/v0/process/generate"))
        .header("authorization", "Bearer YOUR_API_KEY")
        .header("x-timestamp", now.to_string())
        .header("x-signature", sig)
        .body(http_body_util::StreamBody::new(futures_util::stream::iter(
            frames,
        )))
        .unwrap();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http();
    let res = client.request(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        body,
        format!("YOUR_API_KEY - {}", String::from_utf8(whole).unwrap())
    );
}
