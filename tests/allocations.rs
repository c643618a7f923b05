//! Heap allocations per accepted request, per scheme, counted by a counting global allocator:
//! each number is a budget, so that a change adding an allocation to a verified request fails
//! here instead of going unnoticed. BENCHMARKS.md gives the counts and where they come from.
//!
//! Each request is built before counting starts and goes through the scheme's layer (the public
//! API a server mounts) with an in-memory key store, its body in one chunk as hyper delivers a
//! small one, to an inner service that answers 200 without looking at it; the count covers the
//! layer's whole work and the response, and the request is warm (the layer served one before).
//! Layers that keep a replay or delivery history keep it in a `CompactReplayStore` here, which
//! allocates nothing per entry, so that the count is the layer's own: the default
//! `MokaReplayStore` adds moka's allocations (about 30 per entry, varying with its housekeeping;
//! BENCHMARKS.md). The futures complete without waiting, so they are polled once with a no-op waker: no runtime
//! allocates in between.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::convert::Infallible;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use tower::{Layer, Service, ServiceExt, service_fn};
use tower_hmac::crypto::Ed25519PrivateKey;
use tower_hmac::discord::{self, DiscordVerifyLayer};
use tower_hmac::github::{self, GitHubVerifyLayer};
use tower_hmac::humanos::{self, HumanosVerifyLayer};
use tower_hmac::inqud::{self, InqudVerifyLayer};
use tower_hmac::proficient::{self, ProficientHmac, ProficientVerifyLayer};
use tower_hmac::replay::CompactReplayStore;
use tower_hmac::standard::{self, StandardVerifyLayer};
use tower_hmac::{Key, ManualClock, MemoryKeyStore, Secret};

#[path = "common/poll.rs"]
mod poll;
use poll::{Chunked, ready};

/// Counts the allocations made on each thread, so that tests running at once do not mix.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded to the system allocator unchanged; the thread-local counter
// is a `const`-initialised `Cell`, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded with the caller's pointer, layout and size.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const TS_MS: u64 = 1_763_800_000_000;

fn clock() -> ManualClock {
    ManualClock::new(UNIX_EPOCH + Duration::from_millis(TS_MS))
}

async fn ok<B>(request: Request<B>) -> Result<Response<()>, Infallible> {
    drop(request);
    Ok(Response::new(()))
}

/// The allocations of a request `make` builds through `service`, answered 200: the fewest of
/// eight, after two that warm the layer. (The in-process delivery and replay stores do their
/// housekeeping now and then inside a request; the fewest is what every request costs.)
fn allocations<S, B, R>(service: S, mut make: impl FnMut() -> Request<B>) -> u64
where
    S: Service<Request<B>, Response = Response<R>, Error = Infallible> + Clone,
{
    let mut fewest = u64::MAX;
    for served in 0..10 {
        let request = as_hyper_parses(make());
        let before = ALLOCATIONS.with(Cell::get);
        let response = ready(service.clone().oneshot(request)).unwrap();
        let status = response.status();
        drop(response);
        let count = ALLOCATIONS.with(Cell::get) - before;
        assert_eq!(status, StatusCode::OK);
        if served >= 2 {
            fewest = fewest.min(count);
        }
    }
    fewest
}

/// `request` with its header values in one shared buffer, as hyper parses them: each value a
/// slice of the message's bytes, so that a clone of a value (what a layer keeps of a header
/// without copying it) shares them instead of allocating. A value built from a `&str`, as
/// `Request::builder` makes it, owns its bytes, and its first clone would allocate to share them.
fn as_hyper_parses<B>(mut request: Request<B>) -> Request<B> {
    let mut buffer = Vec::new();
    let mut ranges = Vec::new();
    for (name, value) in request.headers() {
        ranges.push((name.clone(), buffer.len()..buffer.len() + value.len()));
        buffer.extend_from_slice(value.as_bytes());
    }
    let buffer = Bytes::from(buffer);
    let headers = request.headers_mut();
    headers.clear();
    for (name, range) in ranges {
        let value = HeaderValue::from_maybe_shared(buffer.slice(range)).unwrap();
        headers.append(name, value);
    }
    request
}

/// Asserts `counted` is within `budget`, and says so when a change brought it under.
fn within(scheme: &str, counted: u64, budget: u64) {
    assert!(
        counted <= budget,
        "{scheme}: {counted} allocations per accepted request, over its budget of {budget}"
    );
    if counted < budget {
        eprintln!("{scheme}: {counted} allocations, under the budget of {budget}: lower it");
    }
}

#[test]
fn proficient_header_only() {
    let secret = Secret::new("hsec_YOUR_HMAC_SECRET").unwrap();
    let keys = MemoryKeyStore::new()
        .with(Key::new("pk_YOUR_KEY", secret.clone()).with_policy(ProficientHmac::Required));
    let service = ProficientVerifyLayer::new(keys).layer(service_fn(ok));
    let user = "gtLIK8ELsHTr0Fajg28Ud9eFpJJ3";
    let hmac = proficient::user_hmac(&secret, user);
    let counted = allocations(service, || {
        Request::get("/interactions")
            .header("x-proficient-api-key", "pk_YOUR_KEY")
            .header("x-proficient-user-external-id", user)
            .header("x-proficient-user-hmac", &hmac)
            .body(http_body_util::Empty::<Bytes>::new())
            .unwrap()
    });
    within("proficient", counted, PROFICIENT);
}

#[test]
fn humanos_with_and_without_a_body() {
    let secret = Secret::new("YOUR_SIGNATURE_SECRET").unwrap();
    let keys = MemoryKeyStore::new().with(Key::new("YOUR_API_KEY", secret.clone()));
    let service = HumanosVerifyLayer::new(keys)
        .clock(clock())
        .layer(service_fn(ok));
    let signed = |body: &[u8]| {
        let signature = humanos::signature(&secret, TS_MS, body);
        Request::post("/v0/process/generate")
            .header("authorization", "Bearer YOUR_API_KEY")
            .header("x-timestamp", TS_MS)
            .header("x-signature", signature)
    };
    let body = Bytes::from(vec![b'a'; 1024]);
    let counted = allocations(service.clone(), || {
        signed(&body)
            .header("content-length", body.len())
            .body(Chunked::new(std::slice::from_ref(&body)))
            .unwrap()
    });
    within("humanos", counted, HUMANOS);
    let counted = allocations(service, || signed(b"").body(Chunked::new(&[])).unwrap());
    within("humanos, no body", counted, HUMANOS_EMPTY);
}

#[test]
fn inqud_hmac() {
    let secret = Secret::new("YOUR_TOKEN_SECRET").unwrap();
    let keys = MemoryKeyStore::new().with(Key::new("TKN-alloc", secret.clone()));
    let service = InqudVerifyLayer::new(keys)
        .replay_store(CompactReplayStore::new())
        .layer(service_fn(ok));
    let body = Bytes::from(vec![b'a'; 1024]);
    let mut n = 0u64;
    let counted = allocations(service, || {
        n += 1;
        let salt = format!("{n:064x}");
        Request::post("/v1/user/payments/payout")
            .header("x-token-api-id", "TKN-alloc")
            .header(
                "x-hmac-sha256-signature",
                inqud::signature(&secret, &body, &salt),
            )
            .header("x-salt", salt)
            .header("content-length", body.len())
            .body(Chunked::new(std::slice::from_ref(&body)))
            .unwrap()
    });
    within("inqud", counted, INQUD);
}

#[test]
fn github_webhook() {
    let secret = Secret::new("It's a Secret to Everybody").unwrap();
    let service = GitHubVerifyLayer::new(Key::new("github", secret.clone()))
        .replay_store(CompactReplayStore::new())
        .layer(service_fn(ok));
    let mut n = 0u64;
    let counted = allocations(service, || {
        n += 1;
        let body = Bytes::from(format!(r#"{{"zen":"Keep it logically awesome.","n":{n}}}"#));
        Request::post("/webhooks/github")
            .header("x-hub-signature-256", github::signature(&secret, &body))
            .header(
                "x-github-delivery",
                format!("72d3162e-cc78-11e3-81ab-{n:012x}"),
            )
            .header("content-length", body.len())
            .body(Chunked::new(std::slice::from_ref(&body)))
            .unwrap()
    });
    within("github", counted, GITHUB);
}

#[test]
fn standard_webhook() {
    let secret = standard::secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let service = StandardVerifyLayer::new(Key::new("standard", secret.clone()))
        .replay_store(CompactReplayStore::new())
        .clock(clock())
        .layer(service_fn(ok));
    let ts = TS_MS / 1000;
    let body = Bytes::from_static(br#"{"type":"contact.created","data":{}}"#);
    let mut n = 0u64;
    let counted = allocations(service, || {
        n += 1;
        let id = format!("msg_{n:016x}");
        Request::post("/webhooks")
            .header("webhook-id", &id)
            .header("webhook-timestamp", ts)
            .header(
                "webhook-signature",
                format!("v1,{}", standard::signature(&secret, &id, ts, &body)),
            )
            .header("content-length", body.len())
            .body(Chunked::new(std::slice::from_ref(&body)))
            .unwrap()
    });
    within("standard", counted, STANDARD);
}

#[test]
fn discord_interaction() {
    // RFC 8032, section 7.1, TEST 1's secret key.
    let private = Ed25519PrivateKey::from_bytes(&[
        0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c,
        0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae,
        0x7f, 0x60,
    ])
    .unwrap();
    let service = DiscordVerifyLayer::new(Key::new("discord", private.public_key()))
        .replay_store(CompactReplayStore::new())
        .clock(clock())
        .layer(service_fn(ok));
    let ts = (TS_MS / 1000).to_string();
    let mut n = 0u64;
    let counted = allocations(service, || {
        n += 1;
        let body = Bytes::from(format!(r#"{{"type":2,"id":"{n}"}}"#));
        Request::post("/interactions")
            .header(
                "x-signature-ed25519",
                discord::signature(&private, &ts, &body),
            )
            .header("x-signature-timestamp", &ts)
            .header("content-length", body.len())
            .body(Chunked::new(std::slice::from_ref(&body)))
            .unwrap()
    });
    within("discord", counted, DISCORD);
}

// The budgets: allocations per accepted request, as counted when they were last lowered. Where
// they go. Three for the `Verified` extension, as for any first extension of a request (`http`'s
// `Extensions` boxes its map, allocates the map's table, and boxes the value). A header-only layer
// whose stores answer at once (Proficient here) checks the request in `call` and keeps the inner
// service's future in its own: no boxed future. A body-signing layer boxes one future, the body's
// read and the check; the in-memory key store answers its lookup without a boxed future
// (`KeyStore::get_now`), and so do the in-process replay stores their records, reservations and
// settlements (`ReplayStore::insert_all_now`, `reserve_now`, `settle_now`). Proficient, Humanos,
// Inqud (its token id) and Discord (its timestamp) keep header text the check alone needs without
// copying it (`HeaderText`, sharing hyper's buffer); Proficient's external id, which the handler
// gets, is copied. A body-signing layer hands hyper's chunk on as the body, without copying it.
// Inqud: what it keeps of its headers. GitHub: the signature header and the delivery id it keeps
// (copied once, then handed to the handler's `Delivery` as it is), and its delivery record (the
// store's holder record). The other webhooks likewise: what they
// keep of their headers, and their delivery records. An Ed25519 signature is verified over the
// message as the scheme writes it, not over a copy gathered into one buffer, and a timestamp is
// written into the message as digits without a string (`Message::write_decimal`).
const PROFICIENT: u64 = 4;
const HUMANOS: u64 = 4;
// Nothing to read: checked in `call` as a header-only request is, no boxed check.
const HUMANOS_EMPTY: u64 = 3;
const INQUD: u64 = 7;
const GITHUB: u64 = 7;
const STANDARD: u64 = 5;
const DISCORD: u64 = 9;
