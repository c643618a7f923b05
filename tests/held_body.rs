//! A request is decided when its body is complete, and its body must arrive in time.
//!
//! Regression tests of an adversarial review: a client that sent a signed request's headers and
//! held its body back (all but the last byte) got 200 long after the timestamp had left the
//! window, or after its key was revoked, because both were decided when the headers arrived; and
//! a body could be held open for as long as the server kept the connection. Each test drives the
//! real Humanos layer behind hyper 1 on loopback with a raw TCP client, so that the body can be
//! held exactly as an attacker would, while the layer's clock is moved.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use common::serve_hyper;
use http::{Request, Response};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tower::{Layer as _, service_fn};
use tower_hmac::humanos::{self, HumanosVerifyLayer};
use tower_hmac::{Key, ManualClock, MemoryKeyStore, MokaReplayStore, Secret, VerifiedBody};

const API_KEY: &str = "YOUR_API_KEY";
const SECRET: &str = "YOUR_SIGNATURE_SECRET";
const T: u64 = 1_763_800_000_000;
const BODY: &[u8] = br#"{"contacts":["+351912345678"]}"#;

fn secret() -> Secret {
    Secret::new(SECRET).unwrap()
}

fn clock() -> ManualClock {
    ManualClock::new(UNIX_EPOCH + Duration::from_millis(T))
}

/// The Humanos layer in front of a handler answering 200 with the body's length, on loopback.
async fn serve(layer: HumanosVerifyLayer) -> SocketAddr {
    let service = layer.layer(service_fn(|req: Request<VerifiedBody>| async move {
        let len = req.body().len();
        Ok::<_, Infallible>(Response::new(format!("{len} bytes")))
    }));
    serve_hyper(service).await
}

/// The head of a POST signed at `ts` for `BODY`.
fn head(ts: u64) -> String {
    let signature = humanos::signature(&secret(), ts, BODY);
    format!(
        "POST /v0/process/generate HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {API_KEY}\r\n\
         x-timestamp: {ts}\r\nx-signature: {signature}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        BODY.len()
    )
}

/// A connection that has sent the head and all of the body but its last byte.
async fn hold(addr: SocketAddr, ts: u64) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head(ts).as_bytes()).await.unwrap();
    stream.write_all(&BODY[..BODY.len() - 1]).await.unwrap();
    stream.flush().await.unwrap();
    // Let the server parse the head and start reading the body.
    tokio::time::sleep(Duration::from_millis(100)).await;
    stream
}

/// Sends the last byte and reads the answer: its status code and body.
async fn finish(mut stream: TcpStream) -> (u16, String) {
    stream.write_all(&BODY[BODY.len() - 1..]).await.unwrap();
    answer(stream).await
}

/// Reads one HTTP/1.1 answer (the server closes the connection after it), within 5 s.
async fn answer(mut stream: TcpStream) -> (u16, String) {
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut raw))
        .await
        .expect("no answer within 5 s")
        .unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .get(9..12)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
}

/// The whole signed request, sent at once.
async fn send_whole(addr: SocketAddr, ts: u64) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head(ts).as_bytes()).await.unwrap();
    stream.write_all(BODY).await.unwrap();
    answer(stream).await
}

fn error_code(body: &str) -> String {
    let json: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body:?}"));
    json["error"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn held_body_is_refused_once_the_timestamp_left_the_window() {
    // The finding, without a replay store (the layer's default): headers at T, the last body
    // byte at T + 615 s. Before the fix: 200.
    let clock = clock();
    let keys = MemoryKeyStore::new().with(Key::new(API_KEY, secret()));
    let addr = serve(HumanosVerifyLayer::new(keys).clock(clock.clone())).await;

    let held = hold(addr, T).await;
    clock.advance(Duration::from_secs(615));
    let (status, body) = finish(held).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(error_code(&body), "timestamp_out_of_window");

    // Held, but completed inside the window: accepted.
    let held = hold(addr, T + 615_000).await;
    clock.advance(Duration::from_secs(290));
    assert_eq!(finish(held).await, (200, format!("{} bytes", BODY.len())));
}

#[tokio::test]
async fn held_body_replay_of_an_accepted_request_is_refused() {
    // The finding as reported: the request accepted at T (and recorded), then replayed with its
    // body held until T + 615 s, when a plain replay already gets `timestamp_out_of_window`.
    let clock = clock();
    let keys = MemoryKeyStore::new().with(Key::new(API_KEY, secret()));
    let layer = HumanosVerifyLayer::new(keys)
        .clock(clock.clone())
        .replay_store(MokaReplayStore::new());
    let addr = serve(layer).await;

    assert_eq!(send_whole(addr, T).await.0, 200);
    let held = hold(addr, T).await;
    clock.advance(Duration::from_secs(615));
    let plain = send_whole(addr, T).await;
    assert_eq!(
        (plain.0, error_code(&plain.1)),
        (401, "timestamp_out_of_window".into())
    );
    let (status, body) = finish(held).await;
    assert_eq!(
        (status, error_code(&body)),
        (401, "timestamp_out_of_window".into())
    );
}

#[tokio::test]
async fn held_body_is_refused_once_the_key_was_revoked() {
    let clock = clock();
    let keys = MemoryKeyStore::new().with(Key::new(API_KEY, secret()));
    let addr = serve(HumanosVerifyLayer::new(keys.clone()).clock(clock.clone())).await;

    let held = hold(addr, T).await;
    keys.revoke(API_KEY).unwrap();
    let (status, body) = finish(held).await;
    assert_eq!(
        (status, error_code(&body)),
        (401, "invalid_credentials".into())
    );
}

#[tokio::test]
async fn held_body_is_refused_once_the_key_expired() {
    let clock = clock();
    let expiry = UNIX_EPOCH + Duration::from_millis(T + 10_000);
    let keys = MemoryKeyStore::new().with(Key::new(API_KEY, secret()).expires_at(expiry));
    let addr = serve(HumanosVerifyLayer::new(keys).clock(clock.clone())).await;

    let held = hold(addr, T).await;
    clock.advance(Duration::from_secs(20));
    let (status, body) = finish(held).await;
    assert_eq!(
        (status, error_code(&body)),
        (401, "invalid_credentials".into())
    );
}

#[tokio::test]
async fn held_body_is_refused_once_its_secret_was_retired() {
    // A rotation during the hold: the secret that signed the request stops being accepted.
    let clock = clock();
    let keys = MemoryKeyStore::new().with(Key::new(API_KEY, secret()));
    let addr = serve(HumanosVerifyLayer::new(keys.clone()).clock(clock.clone())).await;

    let held = hold(addr, T).await;
    let now = UNIX_EPOCH + Duration::from_millis(T);
    let new = tower_hmac::KeySecret::new(Secret::new("the next secret").unwrap());
    keys.rotate(API_KEY, new, now).unwrap();
    clock.advance(Duration::from_secs(1));
    let (status, body) = finish(held).await;
    assert_eq!(
        (status, error_code(&body)),
        (401, "invalid_credentials".into())
    );
}

#[tokio::test]
async fn body_past_its_deadline_is_408_and_nothing_is_recorded() {
    // The layer's real time is what the deadline runs on; its clock (for the window) is the
    // system clock here, so that the request is fresh.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let keys = MemoryKeyStore::new().with(Key::new(API_KEY, secret()));
    let layer = HumanosVerifyLayer::new(keys)
        .replay_store(MokaReplayStore::new())
        .body_timeout(Duration::from_millis(300));
    let addr = serve(layer).await;

    let started = Instant::now();
    let held = hold(addr, now).await;
    // The server answers by itself once the deadline passes, while the client still holds.
    let (status, body) = answer(held).await;
    let took = started.elapsed();
    assert_eq!(status, 408, "{body}");
    assert_eq!(
        body,
        r#"{"error":"request_timeout","message":"the request body did not arrive within 300 ms"}"#
    );
    assert!(took < Duration::from_secs(3), "answered after {took:?}");

    // Nothing was recorded: the same request, sent whole, is accepted once.
    assert_eq!(send_whole(addr, now).await.0, 200);
    let again = send_whole(addr, now).await;
    assert_eq!((again.0, error_code(&again.1)), (401, "replayed".into()));
}

#[tokio::test]
async fn body_deadline_defaults_to_five_seconds_per_mebibyte_of_the_limit() {
    use tower_hmac::pipeline::default_body_timeout;
    assert_eq!(default_body_timeout(0), Duration::from_secs(5));
    assert_eq!(default_body_timeout(1024 * 1024), Duration::from_secs(5));
    assert_eq!(
        default_body_timeout(1024 * 1024 + 1),
        Duration::from_secs(10)
    );
    assert_eq!(
        default_body_timeout(8 * 1024 * 1024),
        Duration::from_secs(40)
    );
    let _ = Bytes::new();
}
