//! tower-hmac's verifiers beside published verifiers of the same protocols, on the same payload
//! bytes and the same signature header, in the same run, with a raw HMAC-SHA256 as the floor.
//! See BENCHMARKS.md ("Peers") for the results.
//!
//! Run from the repository root:
//!
//! ```text
//! cargo bench --manifest-path benches/peers/Cargo.toml -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! With `--features soft-sha`, RustCrypto's `sha2` (the floor's and tower-hmac's) hashes in
//! portable Rust, as on a CPU without SHA extensions; the peers' `hmac-sha256` always does.
//!
//! Bodies of 0 B, 1 KiB, 64 KiB and 1 MiB (the byte `a` repeated: valid UTF-8, which both
//! Standard Webhooks peers require). For each size, every contender gets the same body and the
//! same request headers, and each is asserted, outside the timed region, to accept them before
//! and after it is timed: a refused verification is never what is measured.
//!
//! What is timed:
//!
//! - `raw_hmac`: the floor, RustCrypto `hmac`/`sha2` HMAC-SHA256 of the protocol's exact message
//!   keyed per call (as a verifier holding only the secret bytes must), the message fed in its
//!   pieces so nothing is copied. Nothing is parsed, decoded or compared.
//! - `tower_hmac`: `VerifyLayer::verifier().verify(&parts, body)`, the call that checks a request
//!   whose body is already in memory: the headers read and decoded, the timestamp window checked
//!   against the system clock, the key looked up in the layer's key (a `Key` holding one
//!   secret), the MAC computed and compared in constant time, the body copied once (the verifier
//!   keeps it for the inner service) and the verified identity (a `Delivery`) built, then all of
//!   it dropped. Not the delivery record: the layer, when it serves a request, also reserves the
//!   delivery in its replay store so that no delivery is handled twice, but the peers keep no
//!   such record, so that step is left out for a like-for-like comparison (`benches/verify.rs`
//!   times the whole layer, the record included). The verifier still derives the delivery's
//!   replay key (a SHA-256 of the scheme, key id and delivery id or tag) when its layer has a
//!   replay store, as a webhook layer has by default; `tower_hmac_no_store` is the same verifier
//!   built without one (`VerifyLayer::with_scheme`), to show what that costs. The layer's
//!   default clock (the system clock) is kept, since the peers read it too; every payload is
//!   signed with the current time when its size starts, well within the 300 s window of every
//!   contender.
//! - `standardwebhooks`: the Standard Webhooks reference Rust library's `Webhook::verify`.
//! - `svix`: the `svix` crate's `webhooks::Webhook::verify`.
//! - `octocrab`: `octocrab`'s GitHub `verify_signature(header, secret, body)`, a plain function
//!   of the maintained GitHub client (`github-webhook` has payload types only, no verifier); the
//!   header is read from the same request parts inside the timed region, as ours is.

use std::convert::Infallible;
use std::hint::black_box;
use std::time::{SystemTime, UNIX_EPOCH};

use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group,
    criterion_main, measurement::WallTime,
};
use hmac::{Hmac, Mac};
use http::Request;
use http::request::Parts;
use octocrab::models::webhook_events::verification::verify_signature;
use tower_hmac::github::{GitHub, GitHubVerifyLayer};
use tower_hmac::standard::{StandardVerifyLayer, StandardWebhooks};
use tower_hmac::{Key, Secret, VerifyLayer};

// The crate's own harness (a no-op-waker poll), as its benches and tests use it.
#[path = "../../../tests/common/poll.rs"]
mod poll;
use poll::ready;

const SIZES: [usize; 4] = [0, 1024, 64 * 1024, 1024 * 1024];

/// The Standard Webhooks libraries' own test secret.
const STANDARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const WEBHOOK_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
/// GitHub's documented example secret.
const GITHUB_SECRET: &str = "It's a Secret to Everybody";

/// HMAC-SHA256 of `parts` concatenated, keyed per call: the floor.
fn raw_hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}

/// Request parts carrying `headers`.
fn parts(headers: &[(&str, &str)]) -> Parts {
    let mut request = Request::post("/webhooks");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request
        .body(())
        .expect("valid benchmark headers")
        .into_parts()
        .0
}

/// Times `verify`, which must accept, checking outside the timed region that it does before and
/// after (the payload's timestamp is valid throughout if it is at both ends).
fn bench_accepting<T, E: std::fmt::Debug>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    size: usize,
    verify: impl Fn() -> Result<T, E>,
) {
    let check = |when: &str| {
        if let Err(error) = verify() {
            panic!("{name} refused the {size} B payload {when} timing: {error:?}");
        }
    };
    check("before");
    group.bench_function(BenchmarkId::new(name, size), |b| b.iter(&verify));
    check("after");
}

fn group_for<'c>(c: &'c mut Criterion, name: &str, size: usize) -> BenchmarkGroup<'c, WallTime> {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Bytes(size as u64));
    if size >= 64 * 1024 {
        // Milliseconds per iteration: flat sampling keeps the run short.
        group.sampling_mode(SamplingMode::Flat);
    }
    group
}

fn standard_webhooks(c: &mut Criterion) {
    let key = tower_hmac::standard::secret(STANDARD_SECRET).expect("the test secret decodes");
    let layer = StandardVerifyLayer::new(Key::new("standard", key.clone()));
    let ours = layer.verifier();
    let bare = VerifyLayer::with_scheme(
        StandardWebhooks::default(),
        Key::new("standard", key.clone()),
    );
    let no_store = bare.verifier();
    let reference = standardwebhooks::Webhook::new(STANDARD_SECRET).expect("valid secret");
    let svix = svix::webhooks::Webhook::new(STANDARD_SECRET).expect("valid secret");

    for size in SIZES {
        let body = vec![b'a'; size];
        // Signed now: every contender checks the timestamp against the system clock.
        let ts = unix_now();
        let signature = tower_hmac::standard::signature(&key, WEBHOOK_ID, ts, &body);
        let ts_text = ts.to_string();
        let header = format!("v1,{signature}");
        let request = parts(&[
            ("webhook-id", WEBHOOK_ID),
            ("webhook-timestamp", &ts_text),
            ("webhook-signature", &header),
        ]);
        let headers = &request.headers;
        let prefix = format!("{WEBHOOK_ID}.{ts}.");

        let mut group = group_for(c, "standard_v1", size);
        bench_accepting(&mut group, "raw_hmac", size, || {
            let tag = raw_hmac(key.expose(), black_box(&[prefix.as_bytes(), &body]));
            Ok::<_, Infallible>(tag)
        });
        bench_accepting(&mut group, "tower_hmac", size, || {
            ready(ours.verify(black_box(&request), black_box(&body)))
        });
        bench_accepting(&mut group, "tower_hmac_no_store", size, || {
            ready(no_store.verify(black_box(&request), black_box(&body)))
        });
        bench_accepting(&mut group, "standardwebhooks", size, || {
            reference.verify(black_box(&body), black_box(headers))
        });
        bench_accepting(&mut group, "svix", size, || {
            svix.verify(black_box(&body), black_box(headers))
        });
        group.finish();
    }
}

fn github(c: &mut Criterion) {
    let secret = Secret::new(GITHUB_SECRET).expect("a non-empty secret");
    let layer = GitHubVerifyLayer::new(Key::new("github", secret.clone()));
    let ours = layer.verifier();
    let bare = VerifyLayer::with_scheme(GitHub::default(), Key::new("github", secret.clone()));
    let no_store = bare.verifier();

    for size in SIZES {
        let body = vec![b'a'; size];
        let signature = tower_hmac::github::signature(&secret, &body);
        let request = parts(&[
            ("x-hub-signature-256", &signature),
            ("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
        ]);
        let headers = &request.headers;

        let mut group = group_for(c, "github", size);
        bench_accepting(&mut group, "raw_hmac", size, || {
            let tag = raw_hmac(secret.expose(), black_box(&[&body]));
            Ok::<_, Infallible>(tag)
        });
        bench_accepting(&mut group, "tower_hmac", size, || {
            ready(ours.verify(black_box(&request), black_box(&body)))
        });
        bench_accepting(&mut group, "tower_hmac_no_store", size, || {
            ready(no_store.verify(black_box(&request), black_box(&body)))
        });
        // What a handler holding the request does: the header read from it, then checked.
        bench_accepting(&mut group, "octocrab", size, || {
            let header = black_box(headers)
                .get("x-hub-signature-256")
                .and_then(|value| value.to_str().ok())
                .ok_or("no X-Hub-Signature-256")?;
            verify_signature(header, GITHUB_SECRET, black_box(&body)).map_err(|_| "refused")
        });
        group.finish();
    }
}

criterion_group!(benches, standard_webhooks, github);
criterion_main!(benches);
