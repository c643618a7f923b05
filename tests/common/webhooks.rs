//! The cases every webhook scheme must pass, each served on loopback by axum.
//!
//! A scheme's test file describes the scheme in a [`Setup`] and writes `webhook_matrix!(setup)`:
//! one test per case (accepted, unsigned, tampered body, wrong secret, stale and future
//! timestamps, non-UTF-8 body, duplicates after success, after failure, after a dropped
//! handling, and concurrent). Deliveries are signed with the scheme's own signer; that the
//! signer and the verifier agree with the vendor is what each file's vectors show. A sender
//! signs with an HMAC secret (the receiver's key holds the same) or with an Ed25519 private key
//! (the receiver's key holds its public key): see [`SenderKey`].

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::any;
use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use tokio::sync::{Semaphore, mpsc};
use tower_hmac::crypto::Ed25519PrivateKey;
use tower_hmac::pipeline::{BodySigned, Scheme, Verified};
use tower_hmac::sign::{SchemeSigner, Sender, Signer, SigningKey};
use tower_hmac::webhooks::Delivery;
use tower_hmac::{Key, KeySecret, ManualClock, MokaReplayStore, ReplayStore, Secret, VerifyLayer};

use super::{Reply, send};

/// What a sender signs with: a [`Secret`] its receiver's key holds too, or an Ed25519 private key
/// whose public key the receiver's key holds.
pub trait SenderKey: Clone + Into<SigningKey> + Send + Sync + 'static {
    /// What the receiver's key holds to verify this sender.
    fn receiver(&self) -> KeySecret;
    /// Another key of the same kind, made from `seed`: a wrong one, or one being retired.
    fn other(seed: &str) -> Self;
}

impl SenderKey for Secret {
    fn receiver(&self) -> KeySecret {
        KeySecret::new(self.clone())
    }

    fn other(seed: &str) -> Self {
        Secret::new(seed).unwrap()
    }
}

impl SenderKey for Ed25519PrivateKey {
    fn receiver(&self) -> KeySecret {
        KeySecret::new(self.public_key())
    }

    /// The key whose 32-byte secret is the SHA-256 of `seed`.
    fn other(seed: &str) -> Self {
        let bytes = <sha2::Sha256 as sha2::Digest>::digest(seed.as_bytes());
        Ed25519PrivateKey::from_bytes(&bytes).unwrap()
    }
}

/// What the matrix needs to know of a scheme.
pub struct Setup<S, K = Secret> {
    /// The scheme, as its signer signs.
    pub scheme: S,
    /// The layer over a key (the harness gives it its replay store).
    pub layer: fn(Key) -> VerifyLayer<S>,
    /// The key the sender signs with: the key bytes (HMAC), or an Ed25519 private key.
    pub secret: K,
    /// The scheme's timestamp window (each way), or `None` when it signs no time.
    pub window: Option<Duration>,
    /// The body of a delivery sent at `at`, carrying `payload`: the payload itself for most
    /// schemes; a scheme that signs a time inside the body builds it here.
    pub body: fn(at: SystemTime, payload: &[u8]) -> Vec<u8>,
}

/// [`Setup::body`] for schemes that put nothing of their own in the body.
pub fn payload_only(_at: SystemTime, payload: &[u8]) -> Vec<u8> {
    payload.to_vec()
}

/// A payload in JSON, as senders send.
pub const PAYLOAD: &[u8] = br#"{"event":"order.paid","id":"evt_1"}"#;

/// A delivery that reached the handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    pub id: Option<String>,
    pub body: Vec<u8>,
}

/// A receiver on loopback: the layer over a handler that records each delivery it is given.
///
/// The handler answers the status in the request's `x-test-status` (200 without); with
/// `x-test-hold` it first tells [`Receiver::entered`] and waits for [`Receiver::release`].
pub struct Receiver {
    pub addr: SocketAddr,
    handled: Arc<Mutex<Vec<Handled>>>,
    gate: Arc<Semaphore>,
    entered: mpsc::UnboundedReceiver<()>,
}

#[derive(Clone)]
struct Handler {
    handled: Arc<Mutex<Vec<Handled>>>,
    gate: Arc<Semaphore>,
    entered: mpsc::UnboundedSender<()>,
}

async fn handle(
    State(handler): State<Handler>,
    delivery: Verified<Delivery>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    if headers.contains_key("x-test-hold") {
        handler.entered.send(()).unwrap();
        handler.gate.acquire().await.unwrap().forget();
    }
    let status = headers
        .get("x-test-status")
        .map_or(StatusCode::OK, |s| s.to_str().unwrap().parse().unwrap());
    handler.handled.lock().unwrap().push(Handled {
        id: delivery.identity().id().map(str::to_owned),
        body: body.to_vec(),
    });
    (status, format!("handled {}", body.len()))
}

impl Receiver {
    /// Serves `layer` over the recording handler at `/hook` (any method).
    pub async fn serve<S>(layer: VerifyLayer<S>) -> Self
    where
        S: Scheme<Identity = Delivery, Body = BodySigned> + Clone,
    {
        let (entered, entered_rx) = mpsc::unbounded_channel();
        let handler = Handler {
            handled: Arc::default(),
            gate: Arc::new(Semaphore::new(0)),
            entered,
        };
        let router = Router::new()
            .route("/hook", any(handle).layer(layer))
            .with_state(handler.clone());
        Self {
            addr: super::serve_axum(router).await,
            handled: handler.handled,
            gate: handler.gate,
            entered: entered_rx,
        }
    }

    /// The URL deliveries are sent to.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Every delivery the handler was given, in order.
    pub fn handled(&self) -> Vec<Handled> {
        self.handled.lock().unwrap().clone()
    }

    /// Waits until a held delivery is inside the handler.
    pub async fn entered(&mut self) {
        tokio::time::timeout(Duration::from_secs(10), self.entered.recv())
            .await
            .expect("the held delivery reached the handler")
            .unwrap();
    }

    /// Lets one held delivery go on.
    pub fn release(&self) {
        self.gate.add_permits(1);
    }
}

impl<S: Sender + Scheme<Identity = Delivery, Body = BodySigned> + Clone, K: SenderKey> Setup<S, K> {
    /// A receiver of this scheme over a key holding [`Setup::secret`] (or its public key), with
    /// an in-process store.
    pub async fn receiver(&self) -> Receiver {
        let store: Arc<dyn ReplayStore> = Arc::new(MokaReplayStore::new());
        self.receiver_with(store).await
    }

    /// A receiver of this scheme with `store` for its deliveries.
    pub async fn receiver_with(&self, store: Arc<dyn ReplayStore>) -> Receiver {
        let key = Key::from_secrets(self.scheme.name(), [self.secret.receiver()]);
        Receiver::serve((self.layer)(key).replay_store(store)).await
    }

    /// A delivery of `payload` to `url`, signed with `secret` as sent at `at`, and its body.
    pub fn delivery_signed(
        &self,
        secret: &K,
        url: &str,
        at: SystemTime,
        payload: &[u8],
    ) -> (Request<Full<Bytes>>, Vec<u8>) {
        let body = (self.body)(at, payload);
        let signer =
            SchemeSigner::new(self.scheme.clone(), secret.clone()).clock(ManualClock::new(at));
        // Signed as a whole request: a signer may set the URL too (Twilio's bodySHA256).
        let (mut parts, ()) = Request::post(url).body(()).unwrap().into_parts();
        signer.sign(&mut parts, &body).unwrap();
        (Request::from_parts(parts, Full::from(body.clone())), body)
    }

    /// A delivery of `payload` to `url`, signed now with the right secret, and its body.
    pub fn delivery(&self, url: &str, payload: &[u8]) -> (Request<Full<Bytes>>, Vec<u8>) {
        self.delivery_signed(&self.secret, url, SystemTime::now(), payload)
    }
}

/// A copy of `request` (same method, URL, headers and body), with `extra` headers added.
pub fn copy(
    request: &Request<Full<Bytes>>,
    body: &[u8],
    extra: &[(&str, &str)],
) -> Request<Full<Bytes>> {
    let mut copy = Request::builder()
        .method(request.method())
        .uri(request.uri())
        .body(Full::from(body.to_vec()))
        .unwrap();
    *copy.headers_mut() = request.headers().clone();
    for (name, value) in extra {
        copy.headers_mut().insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    copy
}

/// Asserts that `reply` is the layer's refusal `status` with error code `code`.
#[track_caller]
pub fn assert_refused(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.text());
    assert_eq!(reply.json()["error"], code, "{}", reply.text());
}

/// Asserts that `reply` is the handler's answer to a `len`-byte body.
#[track_caller]
pub fn assert_handled(reply: &Reply, len: usize) {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.text(), format!("handled {len}"));
}

/// Asserts that `reply` is the layer's acknowledgement of a copy already handled.
#[track_caller]
pub fn assert_duplicate(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        reply.body.as_ref(),
        br#"{"message":"this delivery was already handled","status":"duplicate"}"#
    );
    assert_eq!(reply.headers["content-type"], "application/json");
}

pub async fn accepted<
    S: Sender + Scheme<Identity = Delivery, Body = BodySigned> + Clone,
    K: SenderKey,
>(
    setup: Setup<S, K>,
) {
    let receiver = setup.receiver().await;
    let (request, body) = setup.delivery(&receiver.url(), PAYLOAD);
    let reply = send(receiver.addr, request).await;
    assert_handled(&reply, body.len());
    let handled = receiver.handled();
    assert_eq!(handled.len(), 1);
    assert_eq!(handled[0].body, body, "the handler gets the body as sent");
}

pub async fn unsigned<
    S: Sender + Scheme<Identity = Delivery, Body = BodySigned> + Clone,
    K: SenderKey,
>(
    setup: Setup<S, K>,
) {
    let receiver = setup.receiver().await;
    let request = Request::post(receiver.url())
        .header("content-type", "application/json")
        .body(Full::from(PAYLOAD))
        .unwrap();
    let reply = send(receiver.addr, request).await;
    assert_refused(&reply, StatusCode::UNAUTHORIZED, "missing_credentials");
    assert!(receiver.handled().is_empty());
}

pub async fn tampered_body<
    S: Sender + Scheme<Identity = Delivery, Body = BodySigned> + Clone,
    K: SenderKey,
>(
    setup: Setup<S, K>,
) {
    let receiver = setup.receiver().await;
    let (request, body) = setup.delivery(&receiver.url(), PAYLOAD);
    // The last byte, one bit changed.
    let mut changed = body.clone();
    let last = changed.len() - 1;
    changed[last] ^= 0x01;
    let reply = send(receiver.addr, copy(&request, &changed, &[])).await;
    assert_refused(&reply, StatusCode::UNAUTHORIZED, "invalid_credentials");
    // Appended bytes are tampering too.
    let mut longer = body;
    longer.push(b' ');
    let reply = send(receiver.addr, copy(&request, &longer, &[])).await;
    assert_refused(&reply, StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert!(receiver.handled().is_empty());
}

pub async fn wrong_secret<
    S: Sender + Scheme<Identity = Delivery, Body = BodySigned> + Clone,
    K: SenderKey,
>(
    setup: Setup<S, K>,
) {
    let receiver = setup.receiver().await;
    let wrong = K::other("not the endpoint's secret");
    let (request, _) = setup.delivery_signed(&wrong, &receiver.url(), SystemTime::now(), PAYLOAD);
    let reply = send(receiver.addr, request).await;
    assert_refused(&reply, StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert!(receiver.handled().is_empty());
}

/// Stale and future deliveries are refused, each way; inside the window they are handled. A
/// scheme that signs no time handles a delivery signed long ago (what its docs must say).
pub async fn timestamps<
    S: Sender + Scheme<Identity = Delivery, Body = BodySigned> + Clone,
    K: SenderKey,
>(
    setup: Setup<S, K>,
) {
    let receiver = setup.receiver().await;
    let now = SystemTime::now();
    let Some(window) = setup.window else {
        let year_ago = now - Duration::from_secs(365 * 24 * 3600);
        let (request, body) =
            setup.delivery_signed(&setup.secret, &receiver.url(), year_ago, PAYLOAD);
        assert_handled(&send(receiver.addr, request).await, body.len());
        return;
    };
    let margin = Duration::from_secs(3);
    for at in [now - window - margin, now + window + margin] {
        let (request, _) = setup.delivery_signed(&setup.secret, &receiver.url(), at, PAYLOAD);
        let reply = send(receiver.addr, request).await;
        assert_refused(&reply, StatusCode::UNAUTHORIZED, "timestamp_out_of_window");
    }
    assert!(receiver.handled().is_empty());
    // Inside, each way (distinct payloads: distinct deliveries).
    for (at, payload) in [
        (now - window + margin, &br#"{"n":1}"#[..]),
        (now + window - margin, &br#"{"n":2}"#[..]),
    ] {
        let (request, body) = setup.delivery_signed(&setup.secret, &receiver.url(), at, payload);
        assert_handled(&send(receiver.addr, request).await, body.len());
    }
    assert_eq!(receiver.handled().len(), 2);
}

/// The body is verified as raw bytes: a body that is not UTF-8 verifies as signed.
pub async fn non_utf8_body<
    S: Sender + Scheme<Identity = Delivery, Body = BodySigned> + Clone,
    K: SenderKey,
>(
    setup: Setup<S, K>,
) {
    let receiver = setup.receiver().await;
    let payload = b"\xff\xfe\x00binary\x80}";
    let (request, body) = setup.delivery(&receiver.url(), payload);
    assert!(std::str::from_utf8(&body).is_err());
    let reply = send(receiver.addr, request).await;
    assert_handled(&reply, body.len());
    assert_eq!(receiver.handled()[0].body, body);
}

/// A copy of a delivery answered 2xx is acknowledged without reaching the handler.
pub async fn duplicate_after_success<
    S: Sender + Scheme<Identity = Delivery, Body = BodySigned> + Clone,
    K: SenderKey,
>(
    setup: Setup<S, K>,
) {
    let receiver = setup.receiver().await;
    let (request, body) = setup.delivery(&receiver.url(), PAYLOAD);
    assert_handled(
        &send(receiver.addr, copy(&request, &body, &[])).await,
        body.len(),
    );
    assert_duplicate(&send(receiver.addr, copy(&request, &body, &[])).await);
    // An unsigned header changed on the copy changes nothing.
    let changed = [
        ("x-github-delivery", "other"),
        ("x-shopify-webhook-id", "other"),
    ];
    assert_duplicate(&send(receiver.addr, copy(&request, &body, &changed)).await);
    assert_eq!(receiver.handled().len(), 1);
}

/// A copy of a delivery whose earlier copy failed reaches the handler again; once handled, the
/// next copy does not.
pub async fn duplicate_after_failure<
    S: Sender + Scheme<Identity = Delivery, Body = BodySigned> + Clone,
    K: SenderKey,
>(
    setup: Setup<S, K>,
) {
    let receiver = setup.receiver().await;
    let (request, body) = setup.delivery(&receiver.url(), PAYLOAD);
    for status in ["500", "404", "302"] {
        let failed = send(
            receiver.addr,
            copy(&request, &body, &[("x-test-status", status)]),
        )
        .await;
        assert_eq!(failed.status.as_str(), status);
    }
    assert_handled(
        &send(receiver.addr, copy(&request, &body, &[])).await,
        body.len(),
    );
    assert_duplicate(&send(receiver.addr, copy(&request, &body, &[])).await);
    assert_eq!(receiver.handled().len(), 4);
}

/// A copy arriving while another is being handled gets 409 with `Retry-After` and does not reach
/// the handler; once the first is handled, copies are acknowledged.
pub async fn duplicate_concurrent<
    S: Sender + Scheme<Identity = Delivery, Body = BodySigned> + Clone,
    K: SenderKey,
>(
    setup: Setup<S, K>,
) {
    let mut receiver = setup.receiver().await;
    let (request, body) = setup.delivery(&receiver.url(), PAYLOAD);
    let addr = receiver.addr;
    let first = tokio::spawn(send(addr, copy(&request, &body, &[("x-test-hold", "1")])));
    receiver.entered().await;
    let second = send(addr, copy(&request, &body, &[])).await;
    assert_refused(&second, StatusCode::CONFLICT, "delivery_in_flight");
    assert_eq!(second.headers["retry-after"], "5");
    receiver.release();
    assert_handled(&first.await.unwrap(), body.len());
    assert_duplicate(&send(addr, copy(&request, &body, &[])).await);
    assert_eq!(receiver.handled().len(), 1);
}

/// A handling dropped before it answered (the sender hung up) is not remembered as done, nor
/// left in flight: the sender's retry is handled at once.
pub async fn duplicate_after_hang_up<
    S: Sender + Scheme<Identity = Delivery, Body = BodySigned> + Clone,
    K: SenderKey,
>(
    setup: Setup<S, K>,
) {
    let mut receiver = setup.receiver().await;
    let (request, body) = setup.delivery(&receiver.url(), PAYLOAD);
    let addr = receiver.addr;
    let first = tokio::spawn(send(addr, copy(&request, &body, &[("x-test-hold", "1")])));
    receiver.entered().await;
    // The sender gives up: the connection closes and the server drops the handling.
    first.abort();
    let retry = async {
        loop {
            let reply = send(addr, copy(&request, &body, &[])).await;
            if reply.status != StatusCode::CONFLICT {
                return reply;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let reply = tokio::time::timeout(Duration::from_secs(5), retry)
        .await
        .expect("the dropped handling's reservation is released, not held for its 60 s");
    assert_handled(&reply, body.len());
    assert_eq!(
        receiver.handled().len(),
        1,
        "the dropped handling recorded nothing"
    );
}

/// During a rotation the key holds two secrets: a delivery signed with either is handled; once
/// the old one expired, a delivery signed with it is refused.
pub async fn rotation<
    S: Sender + Scheme<Identity = Delivery, Body = BodySigned> + Clone,
    K: SenderKey,
>(
    setup: Setup<S, K>,
) {
    let old = K::other("the secret being retired");
    let both = Key::from_secrets(setup.scheme.name(), [setup.secret.receiver()])
        .with_secret(old.receiver());
    let receiver = Receiver::serve((setup.layer)(both)).await;
    let now = SystemTime::now();
    for (secret, payload) in [
        (&setup.secret, &b"{\"n\":1}"[..]),
        (&old, &b"{\"n\":2}"[..]),
    ] {
        let (request, body) = setup.delivery_signed(secret, &receiver.url(), now, payload);
        assert_handled(&send(receiver.addr, request).await, body.len());
    }
    let retired = Key::from_secrets(setup.scheme.name(), [setup.secret.receiver()])
        .with_secret(old.receiver().not_after(now - Duration::from_secs(1)));
    let receiver = Receiver::serve((setup.layer)(retired)).await;
    let (request, _) = setup.delivery_signed(&old, &receiver.url(), now, PAYLOAD);
    let reply = send(receiver.addr, request).await;
    assert_refused(&reply, StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert!(receiver.handled().is_empty());
}

/// What tower-hmac answers a vector: the handler reached, or a refusal with its error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Refuse(&'static str),
}

/// Sends every vector of the generated file `tests/vectors/webhooks/{file}` to a receiver of
/// `setup`'s scheme (its key from the vector's `secret` through `key`: a secret, or a public key,
/// its clock at the vector's `now`) and checks the answer against `verdicts`, which must name
/// every vector of the file and nothing else (so that a vector added by the generator cannot go
/// unchecked).
pub async fn check_vectors<
    S: Sender + Scheme<Identity = Delivery, Body = BodySigned> + Clone,
    K,
    M: Into<KeySecret>,
>(
    setup: &Setup<S, K>,
    file: &str,
    key: fn(&str) -> M,
    verdicts: &[(&str, Verdict)],
) {
    let path = format!(
        "{}/tests/vectors/webhooks/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let vectors = doc["vectors"].as_array().unwrap();
    let mut names: Vec<&str> = vectors
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    let mut listed: Vec<&str> = verdicts.iter().map(|(name, _)| *name).collect();
    names.sort_unstable();
    listed.sort_unstable();
    assert_eq!(listed, names, "every vector of {file} has one verdict");
    for vector in vectors {
        let name = vector["name"].as_str().unwrap();
        let verdict = verdicts.iter().find(|(n, _)| *n == name).unwrap().1;
        let secret = key(vector["secret"].as_str().unwrap());
        let mut layer = (setup.layer)(Key::from_secrets(setup.scheme.name(), [secret.into()]));
        if let Some(now) = vector["now"].as_u64() {
            let now = std::time::UNIX_EPOCH + Duration::from_secs(now);
            layer = layer.clock(ManualClock::new(now));
        }
        let receiver = Receiver::serve(layer).await;
        let body = const_hex::decode(vector["body_hex"].as_str().unwrap()).unwrap();
        let mut request = Request::post(receiver.url());
        for (header, value) in vector["headers"].as_object().unwrap() {
            request = request.header(header.as_str(), value.as_str().unwrap());
        }
        let reply = send(
            receiver.addr,
            request.body(Full::from(body.clone())).unwrap(),
        )
        .await;
        let context = format!("{file} vector {name}: {}", reply.text());
        match verdict {
            Verdict::Accept => {
                assert_eq!(reply.status, StatusCode::OK, "{context}");
                let handled = receiver.handled();
                assert_eq!(handled.len(), 1, "{context}");
                assert_eq!(handled[0].body, body, "{context}");
            }
            Verdict::Refuse(code) => {
                assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{context}");
                assert_eq!(reply.json()["error"], code, "{context}");
                assert!(receiver.handled().is_empty(), "{context}");
            }
        }
    }
}

/// One test per case of the matrix, for the [`Setup`] `$setup` builds.
#[macro_export]
macro_rules! webhook_matrix {
    ($setup:expr) => {
        mod matrix {
            use super::*;

            #[tokio::test]
            async fn accepted() {
                common::webhooks::accepted($setup).await
            }

            #[tokio::test]
            async fn unsigned() {
                common::webhooks::unsigned($setup).await
            }

            #[tokio::test]
            async fn tampered_body() {
                common::webhooks::tampered_body($setup).await
            }

            #[tokio::test]
            async fn wrong_secret() {
                common::webhooks::wrong_secret($setup).await
            }

            #[tokio::test]
            async fn timestamps() {
                common::webhooks::timestamps($setup).await
            }

            #[tokio::test]
            async fn rotation() {
                common::webhooks::rotation($setup).await
            }

            #[tokio::test]
            async fn non_utf8_body() {
                common::webhooks::non_utf8_body($setup).await
            }

            #[tokio::test]
            async fn duplicate_after_success() {
                common::webhooks::duplicate_after_success($setup).await
            }

            #[tokio::test]
            async fn duplicate_after_failure() {
                common::webhooks::duplicate_after_failure($setup).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn duplicate_concurrent() {
                common::webhooks::duplicate_concurrent($setup).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn duplicate_after_hang_up() {
                common::webhooks::duplicate_after_hang_up($setup).await
            }
        }
    };
}
