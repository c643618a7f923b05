//! The verify path of each scheme beside a raw HMAC-SHA256 of the same message (the floor),
//! measured in the same run. See BENCHMARKS.md for the results and how to read them.
//!
//! Run (one invocation per backend; the backend is a compile-time feature):
//!
//! ```text
//! cargo bench --bench verify -- --save-baseline rustcrypto
//! cargo bench --bench verify --features ring -- --save-baseline ring
//! ```
//!
//! What is timed:
//!
//! - `raw_hmac`: HMAC-SHA256 of the scheme's exact message bytes with the backend the crate was
//!   built with (RustCrypto `hmac`/`sha2`, or `ring` with `--features ring`), keyed per call as a
//!   server must, the body fed in one piece. Spike tokens are JWTs checked by `jsonwebtoken`, which
//!   always uses RustCrypto, so their floor is RustCrypto in both runs.
//! - `verify`: one request through the scheme's tower layer (the public API a server mounts),
//!   built outside the timed region: header parsing, key lookup in a `MemoryKeyStore`, the body
//!   streamed in 16 KiB chunks (as hyper delivers it) into the MAC and kept for the inner service,
//!   the constant-time compare, the replay store where the scheme has one (Inqud: its default
//!   `MokaReplayStore`, and `verify_compact_store` with `CompactReplayStore`; every request has a
//!   fresh salt, signed outside the timed region, so each check records a new entry and the store
//!   grows through the run as it would in service), and a trivial inner service. The layer's futures complete without waiting, so they are polled once with a no-op
//!   waker instead of an async runtime, which would add its own cost to every iteration.
//! - `no_layer` (Humanos only): the same request through the inner service alone, i.e. what
//!   moving, answering and dropping a request costs without any verification.
//! - `raw_ed25519` (Discord, Standard Webhooks `v1a`): the floor of the Ed25519 schemes,
//!   `ed25519-dalek`'s `verify_strict` of the scheme's exact message bytes, already in one
//!   buffer (SHA-512 of the message and the curve work; the same with either HMAC backend).
//!   Their `verify` adds what the layer does around it (the message is hashed as the scheme
//!   writes it, not gathered into one buffer), and the delivery's reservation in the layer's
//!   default in-process replay store: every request is a new delivery (a new body or
//!   `webhook-id`, signed outside the timed region), as a sender's are.

use std::convert::Infallible;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use http::{Request, Response, StatusCode};
use tower::{Layer, Service, ServiceExt, service_fn};
use tower_hmac::MokaReplayStore;
use tower_hmac::crypto::Ed25519PrivateKey;
use tower_hmac::discord::{self, DiscordVerifyLayer};
use tower_hmac::humanos::{self, HumanosVerifyLayer};
use tower_hmac::inqud::{self, InqudVerifyLayer};
use tower_hmac::proficient::{self, ProficientHmac, ProficientVerifyLayer};
use tower_hmac::replay::CompactReplayStore;
use tower_hmac::spike::{SpikeBearerLayer, SpikeExchange, SpikeTokenKeys, sign_user};
use tower_hmac::standard::{self, StandardVerifyLayer};
use tower_hmac::{Key, ManualClock, MemoryKeyStore, Secret};

#[path = "../tests/common/poll.rs"]
mod poll;
use poll::{Chunked, ready};

const SIZES: [usize; 4] = [0, 1024, 64 * 1024, 1024 * 1024];
const CHUNK: usize = 16 * 1024;
const TS: u64 = 1_763_800_000_000;

/// HMAC-SHA256 of `parts` concatenated, with the backend the crate was built with.
#[cfg(not(feature = "ring"))]
fn raw_hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// HMAC-SHA256 of `parts` concatenated, with the backend the crate was built with.
#[cfg(feature = "ring")]
fn raw_hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    let mut ctx = ring::hmac::Context::with_key(&key);
    for part in parts {
        ctx.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.sign().as_ref());
    out
}

/// HMAC-SHA256 with RustCrypto, whatever the crate's backend (`jsonwebtoken`'s HS256).
fn rustcrypto_hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// `body` in chunks of `CHUNK` bytes.
fn chunks(body: &Bytes) -> Vec<Bytes> {
    poll::chunks(body, CHUNK)
}

/// The inner service: answers 200 without looking at the request.
async fn ok<B>(request: Request<B>) -> Result<Response<()>, Infallible> {
    drop(request);
    Ok(Response::new(()))
}

/// Times one request through `service`, the request built by `make` outside the timed region.
fn bench_layer<S, B, R>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    id: BenchmarkId,
    service: &S,
    mut make: impl FnMut() -> Request<B>,
) where
    S: Service<Request<B>, Response = Response<R>, Error = Infallible> + Clone,
{
    group.bench_function(id, |b| {
        b.iter_batched(
            &mut make,
            |request| {
                let response = ready(service.clone().oneshot(request)).unwrap();
                assert_eq!(response.status(), StatusCode::OK);
                response
            },
            BatchSize::SmallInput,
        )
    });
}

fn humanos(c: &mut Criterion) {
    let secret = Secret::new("YOUR_SIGNATURE_SECRET").unwrap();
    let keys = MemoryKeyStore::new().with(Key::new("YOUR_API_KEY", secret.clone()));
    let service = HumanosVerifyLayer::new(keys)
        .clock(ManualClock::new(UNIX_EPOCH + Duration::from_millis(TS)))
        .layer(service_fn(ok));
    let ts = TS.to_string();

    let mut group = c.benchmark_group("humanos");
    for size in SIZES {
        let body = Bytes::from(vec![b'a'; size]);
        let pieces = chunks(&body);
        let signature = humanos::signature(&secret, TS, &body);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::new("raw_hmac", size), |b| {
            let parts: &[&[u8]] = if body.is_empty() {
                &[ts.as_bytes()]
            } else {
                &[ts.as_bytes(), b".", &body]
            };
            b.iter(|| raw_hmac(secret.expose(), black_box(parts)))
        });
        let make = || {
            Request::post("/v0/process/generate")
                .header("authorization", "Bearer YOUR_API_KEY")
                .header("x-timestamp", &ts)
                .header("x-signature", &signature)
                .header("content-length", size)
                .body(Chunked::new(&pieces))
                .unwrap()
        };
        bench_layer(&mut group, BenchmarkId::new("verify", size), &service, make);
        // The same request through the inner service alone: what the harness itself costs.
        let id = BenchmarkId::new("no_layer", size);
        bench_layer(&mut group, id, &service_fn(ok::<Chunked>), make);
    }
    group.finish();
}

fn inqud_hmac(c: &mut Criterion) {
    let secret = Secret::new("YOUR_TOKEN_SECRET").unwrap();
    let keys = MemoryKeyStore::new().with(Key::new("TKN-bench", secret.clone()));
    // The default layer's store, a MokaReplayStore remembering every accepted salt for 24 h,
    // sized for a benchmark run (hundreds of thousands of requests of one token, two entries
    // each): the default capacity would refuse the run's later requests with 503.
    let runs = 50_000_000;
    let layer = InqudVerifyLayer::new(keys)
        .replay_store(MokaReplayStore::with_capacity(runs).per_key_limit(runs));
    let service = layer
        .clone()
        .layer(service_fn(ok::<tower_hmac::VerifiedBody>));
    // The same with the compact store.
    let compact = layer
        .replay_store(CompactReplayStore::with_capacity(runs).per_key_limit(runs))
        .layer(service_fn(ok::<tower_hmac::VerifiedBody>));
    let fixed_salt = format!("{:064x}", 0);
    // A fresh salt for every request: a repeated one is a replay and is refused.
    let counter = AtomicU64::new(1);

    let mut group = c.benchmark_group("inqud_hmac");
    for size in SIZES {
        let body = Bytes::from(vec![b'a'; size]);
        let pieces = chunks(&body);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::new("raw_hmac", size), |b| {
            let parts: &[&[u8]] = &[&body, fixed_salt.as_bytes()];
            b.iter(|| raw_hmac(secret.expose(), black_box(parts)))
        });
        let make = || {
            let salt = format!("{:064x}", counter.fetch_add(1, Ordering::Relaxed));
            Request::post("/v1/user/payments/payout")
                .header("x-token-api-id", "TKN-bench")
                .header(
                    "x-hmac-sha256-signature",
                    inqud::signature(&secret, &body, &salt),
                )
                .header("x-salt", salt)
                .header("content-length", size)
                .body(Chunked::new(&pieces))
                .unwrap()
        };
        bench_layer(&mut group, BenchmarkId::new("verify", size), &service, make);
        let id = BenchmarkId::new("verify_compact_store", size);
        bench_layer(&mut group, id, &compact, make);
    }
    group.finish();
}

fn inqud_simple(c: &mut Criterion) {
    let secret = Secret::new("YOUR_TOKEN_SECRET").unwrap();
    let keys = MemoryKeyStore::new().with(Key::new("TKN-bench", secret.clone()));
    let service = InqudVerifyLayer::new(keys).layer(service_fn(ok));

    let mut group = c.benchmark_group("inqud_simple");
    // No MAC: the floor is a plain constant-time compare of the presented and stored secrets.
    group.bench_function(BenchmarkId::new("raw_ct_eq", 0), |b| {
        use subtle::ConstantTimeEq;
        let presented = b"YOUR_TOKEN_SECRET".to_vec();
        b.iter(|| bool::from(black_box(&presented[..]).ct_eq(secret.expose())))
    });
    bench_layer(&mut group, BenchmarkId::new("verify", 0), &service, || {
        Request::get("/v1/user/wallet/balances")
            .header("x-token-api-id", "TKN-bench")
            .header("x-token-api-secret", "YOUR_TOKEN_SECRET")
            .body(Chunked::new(&[]))
            .unwrap()
    });
    group.finish();
}

fn proficient(c: &mut Criterion) {
    let secret = Secret::new("hsec_YOUR_HMAC_SECRET").unwrap();
    let keys = MemoryKeyStore::new()
        .with(Key::new("pk_YOUR_KEY", secret.clone()).with_policy(ProficientHmac::Required));
    let service = ProficientVerifyLayer::new(keys).layer(service_fn(ok));
    let user = "gtLIK8ELsHTr0Fajg28Ud9eFpJJ3";
    let hmac = proficient::user_hmac(&secret, user);

    let mut group = c.benchmark_group("proficient");
    group.bench_function(BenchmarkId::new("raw_hmac", 0), |b| {
        b.iter(|| raw_hmac(secret.expose(), black_box(&[user.as_bytes()])))
    });
    bench_layer(&mut group, BenchmarkId::new("verify", 0), &service, || {
        Request::get("/interactions")
            .header("x-proficient-api-key", "pk_YOUR_KEY")
            .header("x-proficient-user-external-id", user)
            .header("x-proficient-user-hmac", &hmac)
            .body(http_body_util::Empty::<Bytes>::new())
            .unwrap()
    });
    group.finish();
}

fn spike(c: &mut Criterion) {
    let app_key = Secret::new("HMAC_KEY_FROM_ADMIN_CONSOLE").unwrap();
    let applications = MemoryKeyStore::new().with(Key::new("9999", app_key.clone()));
    let token_key = Secret::new([42u8; 32]).unwrap();
    let tokens = SpikeTokenKeys::new(token_key.clone()).unwrap();
    let exchange = SpikeExchange::new(applications, tokens.clone()).unwrap();
    let bearer = SpikeBearerLayer::new(tokens).layer(service_fn(ok));

    let user = "my_application_user_123";
    let signature = sign_user(&app_key, user);
    let body = Bytes::from(format!(
        r#"{{"application_id": 9999, "application_user_id": "{user}", "signature": "{signature}"}}"#
    ));
    let token = ready(exchange.exchange(&body)).unwrap();
    let authorization = format!("Bearer {token}");
    // What HS256 signs: the token up to its last dot.
    let signing_input = token.rsplit_once('.').unwrap().0.to_owned();

    let mut group = c.benchmark_group("spike_bearer");
    group.bench_function(BenchmarkId::new("raw_hmac", 0), |b| {
        b.iter(|| rustcrypto_hmac(token_key.expose(), black_box(signing_input.as_bytes())))
    });
    bench_layer(&mut group, BenchmarkId::new("verify", 0), &bearer, || {
        Request::get("/v3/userinfo")
            .header("authorization", &authorization)
            .body(http_body_util::Empty::<Bytes>::new())
            .unwrap()
    });
    group.finish();

    let mut group = c.benchmark_group("spike_exchange");
    group.bench_function(BenchmarkId::new("raw_hmac", 0), |b| {
        b.iter(|| raw_hmac(app_key.expose(), black_box(&[user.as_bytes()])))
    });
    let pieces = [body.clone()];
    bench_layer(&mut group, BenchmarkId::new("verify", 0), &exchange, || {
        Request::post("/v3/auth/hmac")
            .header("content-length", body.len())
            .body(Chunked::new(&pieces))
            .unwrap()
    });
    group.finish();
}

/// RFC 8032, section 7.1, TEST 1's secret key.
const ED25519_SEED: [u8; 32] = [
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
    0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
];

/// `ed25519-dalek`'s strict verification of `message`, in one piece: the floor.
fn raw_ed25519(key: &ed25519_dalek::VerifyingKey, message: &[u8], signature: &[u8; 64]) -> bool {
    let signature = ed25519_dalek::Signature::from_bytes(signature);
    key.verify_strict(message, &signature).is_ok()
}

fn discord_interactions(c: &mut Criterion) {
    let private = Ed25519PrivateKey::from_bytes(&ED25519_SEED).unwrap();
    let dalek = ed25519_dalek::SigningKey::from_bytes(&ED25519_SEED).verifying_key();
    let service = DiscordVerifyLayer::new(Key::new("discord", private.public_key()))
        .clock(ManualClock::new(UNIX_EPOCH + Duration::from_millis(TS)))
        .layer(service_fn(ok::<tower_hmac::VerifiedBody>));
    let ts = (TS / 1000).to_string();
    // A new interaction every request (a copy would be acknowledged as a duplicate, not
    // verified): its first 16 bytes are a counter.
    let counter = AtomicU64::new(0);

    let mut group = c.benchmark_group("discord");
    for size in SIZES {
        let body = vec![b'a'; size];
        let message = [ts.as_bytes(), &body].concat();
        let signature = *private.sign(&message).as_bytes();
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::new("raw_ed25519", size), |b| {
            b.iter(|| raw_ed25519(&dalek, black_box(&message), &signature))
        });
        let make = || {
            let mut body = body.clone();
            let n = format!("{:016x}", counter.fetch_add(1, Ordering::Relaxed));
            for (dst, src) in body.iter_mut().zip(n.bytes()) {
                *dst = src;
            }
            let body = Bytes::from(body);
            Request::post("/interactions")
                .header(
                    "x-signature-ed25519",
                    discord::signature(&private, &ts, &body),
                )
                .header("x-signature-timestamp", &ts)
                .header("content-length", size)
                .body(Chunked::new(&chunks(&body)))
                .unwrap()
        };
        bench_layer(&mut group, BenchmarkId::new("verify", size), &service, make);
    }
    group.finish();
}

fn standard_v1a(c: &mut Criterion) {
    let private = Ed25519PrivateKey::from_bytes(&ED25519_SEED).unwrap();
    let dalek = ed25519_dalek::SigningKey::from_bytes(&ED25519_SEED).verifying_key();
    let service = StandardVerifyLayer::new(Key::new("standard", private.public_key()))
        .clock(ManualClock::new(UNIX_EPOCH + Duration::from_millis(TS)))
        .layer(service_fn(ok::<tower_hmac::VerifiedBody>));
    let ts = TS / 1000;
    // A new webhook-id every request: a new delivery.
    let counter = AtomicU64::new(0);

    let mut group = c.benchmark_group("standard_v1a");
    for size in SIZES {
        let body = Bytes::from(vec![b'a'; size]);
        let pieces = chunks(&body);
        let id = format!("msg_{:016x}", 0);
        let message = [format!("{id}.{ts}.").as_bytes(), &body].concat();
        let signature = *private.sign(&message).as_bytes();
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::new("raw_ed25519", size), |b| {
            b.iter(|| raw_ed25519(&dalek, black_box(&message), &signature))
        });
        let make = || {
            let id = format!("msg_{:016x}", counter.fetch_add(1, Ordering::Relaxed));
            let signature = standard::signature_v1a(&private, &id, ts, &body);
            Request::post("/webhooks")
                .header("webhook-id", &id)
                .header("webhook-timestamp", ts)
                .header("webhook-signature", format!("v1a,{signature}"))
                .header("content-length", size)
                .body(Chunked::new(&pieces))
                .unwrap()
        };
        bench_layer(&mut group, BenchmarkId::new("verify", size), &service, make);
    }
    group.finish();
}

criterion_group!(
    benches,
    humanos,
    inqud_hmac,
    inqud_simple,
    proficient,
    spike,
    discord_interactions,
    standard_v1a
);
criterion_main!(benches);
