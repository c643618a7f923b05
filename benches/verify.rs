//! The verify path of each scheme beside a raw HMAC-SHA256 of the same message (the floor),
//! measured in the same run.
//!
//! Run: `cargo bench --bench verify`

use std::hint::black_box;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use http::Request;
use sha2::Sha256;
use tower_hmac::humanos::{self, HumanosVerifyLayer};
use tower_hmac::{Key, ManualClock, MemoryKeyStore, Secret};

const SIZES: [usize; 4] = [0, 1024, 64 * 1024, 1024 * 1024];
const TS: u64 = 1_763_800_000_000;

fn humanos_verify(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let secret = Secret::new("YOUR_SIGNATURE_SECRET").unwrap();
    let keys = MemoryKeyStore::new().with(Key::new("YOUR_API_KEY", secret.clone()));
    let layer = HumanosVerifyLayer::new(keys)
        .clock(ManualClock::new(UNIX_EPOCH + Duration::from_millis(TS)));
    let ts = TS.to_string();

    let mut group = c.benchmark_group("humanos");
    for size in SIZES {
        let body = Bytes::from(vec![b'a'; size]);
        let signature = humanos::signature(&secret, TS, &body);
        let (parts, ()) = Request::post("/v0/process/generate")
            .header("authorization", "Bearer YOUR_API_KEY")
            .header("x-timestamp", &ts)
            .header("x-signature", &signature)
            .body(())
            .unwrap()
            .into_parts();
        group.throughput(Throughput::Bytes(size as u64));

        group.bench_with_input(BenchmarkId::new("raw_hmac", size), &body, |b, body| {
            b.iter(|| {
                let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose()).unwrap();
                mac.update(ts.as_bytes());
                if !body.is_empty() {
                    mac.update(b".");
                    mac.update(body);
                }
                black_box(mac.finalize().into_bytes())
            })
        });
        group.bench_with_input(BenchmarkId::new("verify", size), &body, |b, body| {
            b.iter(|| {
                runtime
                    .block_on(layer.verifier().verify(black_box(&parts), black_box(body)))
                    .unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, humanos_verify);
criterion_main!(benches);
