//! Stores that must be waited for, and stores that answer at once, give the same verdicts.
//!
//! The layer checks a header-only request (or one with no body to read) in `call` when its stores
//! answer at once (keys in memory, an in-process replay store) and keeps no future of the check;
//! when a store must be waited for, it checks the request in a future instead. These tests serve
//! the same layers over stores that only answer through their futures (each waits a turn of the
//! runtime first) and count what the stores were asked: every request is checked once, its nonce
//! recorded once, its delivery reserved and settled once, whichever way the layer took. Over
//! loopback, in axum.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use common::send;
use common::webhooks::{
    PAYLOAD, Setup, assert_duplicate, assert_handled, assert_refused, copy, payload_only,
};
use http::request::Parts;
use http::{HeaderName, Request, StatusCode};
use http_body_util::Full;
use tower_hmac::crypto::{Message, Tag};
use tower_hmac::github::{GitHub, GitHubVerifyLayer};
use tower_hmac::pipeline::{BodyMode, BodySigned, Counters, HeadersOnly, Presented, headers};
use tower_hmac::replay::{CompactReplayStore, ReplayKey, Reservation, Settle, Ticket};
use tower_hmac::sign::sign_message;
use tower_hmac::{
    BoxFuture, Key, KeyStore, MatchedSecret, MemoryKeyStore, Rejection, ReplayStore, Scheme,
    Secret, StoreError, Verified,
};

const KEY_ID: HeaderName = HeaderName::from_static("x-key");
const NONCE: HeaderName = HeaderName::from_static("x-nonce");
const SIGNATURE: HeaderName = HeaderName::from_static("x-signature");

/// A scheme with a nonce: `X-Signature` is the hex HMAC-SHA256 of `X-Nonce` under the secret of
/// the key `X-Key` names. The nonce is accepted once. Header-only, or, as `Nonced<BodySigned>`, a
/// scheme that reads the body (and signs none of it: its requests here have no body).
#[derive(Debug, Clone)]
struct Nonced<M = HeadersOnly>(std::marker::PhantomData<M>);

impl<M> Nonced<M> {
    fn new() -> Self {
        Self(std::marker::PhantomData)
    }
}

#[derive(Debug)]
struct NoncedCall {
    key_id: String,
    nonce: String,
}

impl<M: BodyMode + std::fmt::Debug + Clone + Send + Sync + 'static> Scheme for Nonced<M> {
    type Credentials = NoncedCall;
    type Identity = String;
    type Body = M;

    fn name(&self) -> &'static str {
        "nonced"
    }

    fn credentials(&self, request: &Parts) -> Result<Presented<NoncedCall>, Rejection> {
        let key_id = headers::single(request, &KEY_ID, "X-Key")?.to_owned();
        let nonce = headers::single(request, &NONCE, "X-Nonce")?.to_owned();
        let signature = headers::single(request, &SIGNATURE, "X-Signature")?;
        let tag = Tag::from_hex(signature.as_bytes())
            .map_err(|_| Rejection::malformed("X-Signature must be 64 hex digits"))?;
        Ok(Presented::mac(NoncedCall { key_id, nonce }, tag))
    }

    fn key_id<'c>(&self, call: &'c NoncedCall) -> Option<&'c str> {
        Some(&call.key_id)
    }

    fn message(&self, call: &NoncedCall, _body: &[u8], message: &mut Message<'_>) {
        message.write(call.nonce.as_bytes());
    }

    fn nonce<'p>(&self, presented: &'p Presented<NoncedCall>) -> Option<&'p [u8]> {
        Some(presented.credentials.nonce.as_bytes())
    }

    fn identity(&self, call: NoncedCall, _: Option<&MatchedSecret>) -> String {
        call.key_id
    }
}

fn secret() -> Secret {
    Secret::new("nonced-secret").unwrap()
}

fn keys() -> MemoryKeyStore {
    MemoryKeyStore::new().with(Key::new("client-1", secret()))
}

/// A call to `/` signed with `secret` for `nonce`.
fn call(secret: &Secret, nonce: &str) -> Request<Full<Bytes>> {
    let tag = sign_message(
        &Nonced::<HeadersOnly>::new(),
        &NoncedCall {
            key_id: String::new(),
            nonce: nonce.to_owned(),
        },
        &[],
        secret,
    );
    Request::get("/")
        .header(KEY_ID, "client-1")
        .header(NONCE, nonce)
        .header(SIGNATURE, tag.to_hex())
        .body(Full::default())
        .unwrap()
}

/// The app the layers guard: `/` greets the verified caller.
fn routes() -> Router {
    async fn who(caller: Verified<String>) -> String {
        format!("hello {}", caller.identity())
    }
    Router::new().route("/", get(who))
}

/// How many times each store method was called.
#[derive(Default)]
struct Asked {
    gets: AtomicUsize,
    inserts: AtomicUsize,
    reserves: AtomicUsize,
    settles: AtomicUsize,
}

impl Asked {
    fn count(counter: &AtomicUsize) -> usize {
        counter.load(Ordering::SeqCst)
    }
}

/// Keys in memory, answered only through `get`, after a turn of the runtime.
struct WaitingKeys {
    keys: MemoryKeyStore,
    asked: Arc<Asked>,
}

impl KeyStore for WaitingKeys {
    fn get<'a>(&'a self, key_id: &'a str) -> BoxFuture<'a, Result<Option<Key>, StoreError>> {
        self.asked.gets.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            tokio::task::yield_now().await;
            self.keys.get(key_id).await
        })
    }
}

/// An in-process replay store answered only through its futures, after a turn of the runtime.
struct WaitingReplay {
    store: CompactReplayStore,
    asked: Arc<Asked>,
}

impl ReplayStore for WaitingReplay {
    fn insert_if_absent<'a>(
        &'a self,
        key: &'a ReplayKey,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.insert_all_if_absent(std::slice::from_ref(key), ttl)
    }

    fn insert_all_if_absent<'a>(
        &'a self,
        keys: &'a [ReplayKey],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.asked.inserts.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            tokio::task::yield_now().await;
            self.store.insert_all_if_absent(keys, ttl).await
        })
    }

    fn reserve<'a>(
        &'a self,
        key: &'a ReplayKey,
        hold: Duration,
    ) -> BoxFuture<'a, Result<Reservation, StoreError>> {
        self.asked.reserves.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            tokio::task::yield_now().await;
            self.store.reserve(key, hold).await
        })
    }

    fn settle<'a>(
        &'a self,
        key: &'a ReplayKey,
        ticket: Ticket,
        outcome: Settle,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.asked.settles.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            tokio::task::yield_now().await;
            self.store.settle(key, ticket, outcome).await
        })
    }
}

/// Accepted once, refused as a replay the second time, a new nonce accepted, a wrong signature
/// refused: the verdicts of the app `guarded` builds (`routes` behind a layer counting into the
/// counters it is given), served, and what its counters counted.
async fn nonce_verdicts(guarded: impl FnOnce(Counters) -> Router) {
    let counters = Counters::new();
    let addr = common::serve_axum(guarded(counters.clone())).await;

    let first = send(addr, call(&secret(), "n-1")).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    assert_eq!(first.text(), "hello client-1");
    assert_refused(
        &send(addr, call(&secret(), "n-1")).await,
        StatusCode::UNAUTHORIZED,
        "replayed",
    );
    assert_eq!(
        send(addr, call(&secret(), "n-2")).await.status,
        StatusCode::OK
    );
    let forged = call(&Secret::new("guess").unwrap(), "n-3");
    assert_refused(
        &send(addr, forged).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    );
    // The forged nonce was never recorded: signed properly, it is accepted.
    assert_eq!(
        send(addr, call(&secret(), "n-3")).await.status,
        StatusCode::OK
    );

    let counts = counters.get("nonced").unwrap();
    assert_eq!(counts.accepted(), 3);
    assert_eq!(counts.refused_total(), 2);
}

/// A layer that `guard` builds over a key store and a replay store, in front of `routes`
/// counting into the counters it is given.
type Guard = fn(Arc<dyn KeyStore>, Arc<dyn ReplayStore>, Counters) -> Router;

/// The verdicts of `guard`'s layer over stores answering at once, over a replay store waited for
/// (each nonce recorded once: one record per request whose signature verified, 4 of 5, none for
/// the forged one) and over a key store waited for (asked once per request).
async fn verdicts_over_every_store(guard: Guard) {
    let at_once = |counters| {
        guard(
            Arc::new(keys()),
            Arc::new(CompactReplayStore::new()),
            counters,
        )
    };
    nonce_verdicts(at_once).await;

    let asked = Arc::new(Asked::default());
    let replay = Arc::new(WaitingReplay {
        store: CompactReplayStore::new(),
        asked: Arc::clone(&asked),
    });
    nonce_verdicts(|counters| guard(Arc::new(keys()), replay, counters)).await;
    assert_eq!(Asked::count(&asked.inserts), 4);

    let asked = Arc::new(Asked::default());
    let keys = Arc::new(WaitingKeys {
        keys: keys(),
        asked: Arc::clone(&asked),
    });
    nonce_verdicts(|counters| guard(keys, Arc::new(CompactReplayStore::new()), counters)).await;
    assert_eq!(Asked::count(&asked.gets), 5);
}

#[tokio::test]
async fn header_only_requests_get_the_same_verdicts_over_every_store() {
    verdicts_over_every_store(|keys, replay, counters| {
        let layer = Nonced::<HeadersOnly>::new().layer(keys);
        routes().layer(layer.replay_store(replay).counters(counters))
    })
    .await;
}

/// A body-signing layer checks a request with nothing to read (these GETs) in `call` when its
/// stores answer at once, in a future when one must be waited for.
#[tokio::test]
async fn requests_with_no_body_to_read_get_the_same_verdicts_over_every_store() {
    verdicts_over_every_store(|keys, replay, counters| {
        let layer = Nonced::<BodySigned>::new().layer(keys);
        routes().layer(layer.replay_store(replay).counters(counters))
    })
    .await;
}

/// A webhook delivery over a store waited for: reserved, handled and settled once; its copy
/// acknowledged as a duplicate without reaching the handler.
#[tokio::test]
async fn deliveries_in_a_store_waited_for_are_reserved_and_settled_once() {
    let setup: Setup<GitHub> = Setup {
        scheme: GitHub::default(),
        layer: |key| GitHubVerifyLayer::new(key),
        secret: Secret::new("It's a Secret to Everybody").unwrap(),
        window: None,
        body: payload_only,
    };
    let asked = Arc::new(Asked::default());
    let store: Arc<dyn ReplayStore> = Arc::new(WaitingReplay {
        store: CompactReplayStore::new(),
        asked: Arc::clone(&asked),
    });
    let receiver = setup.receiver_with(store).await;
    let (request, body) = setup.delivery(&receiver.url(), PAYLOAD);
    assert_handled(
        &send(receiver.addr, copy(&request, &body, &[])).await,
        body.len(),
    );
    assert_duplicate(&send(receiver.addr, copy(&request, &body, &[])).await);
    assert_eq!(receiver.handled().len(), 1);
    assert_eq!(Asked::count(&asked.reserves), 2);
    assert_eq!(Asked::count(&asked.settles), 1);
}
