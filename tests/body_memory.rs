//! The body limit bounds the memory a request holds, whatever its framing.
//!
//! Regression test of an adversarial review: a 1 MiB body sent as a million one-byte HTTP/1
//! chunks (`1\r\nx\r\n`) took a body-signing layer from 6.6 MB to about 39 MB per request, because
//! every frame was kept as its own buffer, each pinning a slice of the server's read buffer. This
//! binary counts every byte allocated in the process (a counting global allocator) and measures
//! the most held at once while one such request is served by the real Humanos layer behind
//! hyper 1 on loopback. It is its own test binary, with one test, so that nothing else allocates
//! meanwhile.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::serve_hyper;
use http::{Request, Response};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tower::{Layer as _, service_fn};
use tower_hmac::humanos::{self, HumanosVerifyLayer};
use tower_hmac::{Key, MemoryKeyStore, Secret, VerifiedBody};

/// The system allocator, counting the bytes held now and the most held since the last reset.
struct Counting;

static HELD: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let held = HELD.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(held, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        HELD.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Counted as a new block held beside the old one, as a moving realloc does.
        let held = HELD.fetch_add(new_size, Ordering::Relaxed) + new_size;
        PEAK.fetch_max(held, Ordering::Relaxed);
        let moved = unsafe { System.realloc(ptr, layout, new_size) };
        HELD.fetch_sub(layout.size(), Ordering::Relaxed);
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const MIB: usize = 1024 * 1024;
const API_KEY: &str = "YOUR_API_KEY";

/// A POST of `body` as one-byte chunks, signed with `secret` under `api_key`.
fn one_byte_chunks(api_key: &str, secret: &Secret, body: &[u8]) -> Vec<u8> {
    let ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let signature = humanos::signature(secret, ts, body);
    let mut raw = format!(
        "POST /upload HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {api_key}\r\n\
         x-timestamp: {ts}\r\nx-signature: {signature}\r\ntransfer-encoding: chunked\r\n\
         connection: close\r\n\r\n"
    )
    .into_bytes();
    raw.reserve(body.len() * 6 + 5);
    for byte in body {
        raw.extend_from_slice(b"1\r\n");
        raw.push(*byte);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    raw
}

/// Sends `raw` and returns the answer's status line and the most bytes the process held, beyond
/// what it held before, while the request was served.
async fn peak_while_serving(addr: SocketAddr, raw: &[u8]) -> (String, usize) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut answer = Vec::with_capacity(64 * 1024);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let before = HELD.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    stream.write_all(raw).await.unwrap();
    tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut answer))
        .await
        .expect("no answer within 60 s")
        .unwrap();
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(before);
    let status = String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    (status, peak)
}

#[tokio::test(flavor = "current_thread")]
async fn one_byte_frames_hold_about_the_limit_not_a_buffer_per_frame() {
    let secret = Secret::new("YOUR_SIGNATURE_SECRET").unwrap();
    let keys = MemoryKeyStore::new().with(Key::new(API_KEY, secret.clone()));
    // Parsing a million chunks takes seconds in a debug build: the deadline is not what this
    // test is about.
    let layer = HumanosVerifyLayer::new(keys).body_timeout(Duration::from_secs(120));
    let service = layer.layer(service_fn(|req: Request<VerifiedBody>| async move {
        Ok::<_, Infallible>(Response::new(format!("{} bytes", req.body().len())))
    }));
    let addr = serve_hyper(service).await;
    let body = vec![b'x'; MIB];

    // A known key and a valid signature: the body is kept for the handler, in one buffer.
    let raw = one_byte_chunks(API_KEY, &secret, &body);
    let (status, peak) = peak_while_serving(addr, &raw).await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    println!("accepted 1 MiB in one-byte frames: {peak} bytes held at most");
    assert!(
        peak < 3 * MIB,
        "{peak} bytes held for a 1 MiB body (at most 3 MiB expected)"
    );

    // An unknown key: the body is read for the MAC work only, and none of it is kept (what is
    // held is the server's own read buffer, a few hundred KiB).
    let raw = one_byte_chunks("not-a-key", &secret, &body);
    let (status, peak) = peak_while_serving(addr, &raw).await;
    assert_eq!(status, "HTTP/1.1 401 Unauthorized");
    println!("refused 1 MiB in one-byte frames: {peak} bytes held at most");
    assert!(
        peak < MIB,
        "{peak} bytes held for a refused 1 MiB body (less than the body expected)"
    );
}
