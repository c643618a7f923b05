//! Shared harness of the fuzz targets.
//!
//! Each target turns the fuzzer's bytes into a request (method, credential headers chosen from the
//! scheme's own names plus a few others, raw header bytes, body), optionally preceded by
//! credential headers that the harness signs correctly, and runs it three ways:
//!
//! 1. the scheme's credential parser ([`Scheme::credentials`]);
//! 2. [`Verifier::verify`](tower_hmac::pipeline::Verifier::verify) on the parts and body;
//! 3. the whole layer as a tower service, in front of a handler that checks what it receives.
//!
//! Beyond "no panic", it asserts:
//!
//! - a request is accepted only if the harness signed it with a live key (the fuzzer cannot forge
//!   a MAC, so any other acceptance is a bypass), and a request the harness signed with a live key
//!   and well-formed values, without the fuzzer's extra credential headers, is accepted;
//! - the layer answers exactly what `verify` decided (same status and `error` code), except that a
//!   body over the limit may turn into 413 once the headers passed;
//! - rejections are 401, 400, 413 or 503 (gRPC: 200 with `grpc-status`), JSON with the kind's
//!   code, and no response contains the secret or the expected signature;
//! - the handler sees exactly the verified body.
//!
//! Every store used here answers at once, so futures are driven by a tiny poll loop.
//!
//! Each target's check is a plain function (`humanos::check`, ...) over an input decoded with
//! `arbitrary`, and nothing here depends on libFuzzer: the fuzz targets in `fuzz_targets/` only
//! hand it libFuzzer's inputs, and the main crate's `tests/fuzz_corpus.rs` compiles this file as a
//! module to replay the committed seed corpus (`corpus/<target>/seed-*`, made by [`seeds`])
//! through the same checks on a stable compiler.

use std::collections::HashSet;
use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use tower::{Layer as _, ServiceExt as _, service_fn};
use tower_hmac::{
    BodySigned, BoxFuture, HeadersOnly, Rejection, ReplayKey, ReplayStore, Scheme, StoreError,
    Verified, VerifiedBody, VerifyLayer,
};

pub use arbitrary::{self, Arbitrary, Unstructured};

pub mod ed25519;
pub mod humanos;
pub mod inqud;
pub mod proficient;
pub mod seeds;
pub mod spike;

/// A target's check on raw fuzzer bytes.
pub type Check = fn(&[u8]) -> bool;

/// The fuzz targets, each with the check its `fuzz_targets/<name>.rs` drives, taking the raw
/// bytes. The check returns `false` when the bytes do not decode into an input (libFuzzer rejects
/// those without running anything) and panics when an assertion fails.
pub const TARGETS: [(&str, Check); 5] = [
    ("humanos", |bytes| run(bytes, humanos::check)),
    ("inqud", |bytes| run(bytes, inqud::check)),
    ("proficient", |bytes| run(bytes, proficient::check)),
    ("spike", |bytes| run(bytes, spike::check)),
    ("ed25519", |bytes| run(bytes, ed25519::check)),
];

/// Decodes `bytes` exactly as libfuzzer-sys's `fuzz_target!` does for a typed input: too few
/// bytes for the type's minimum size or a decoding error is no input.
pub fn decode<'a, T: Arbitrary<'a>>(bytes: &'a [u8]) -> Option<T> {
    if bytes.len() < T::size_hint(0).0 {
        return None;
    }
    T::arbitrary_take_rest(Unstructured::new(bytes)).ok()
}

fn run<'a, T: Arbitrary<'a>>(bytes: &'a [u8], check: fn(&T)) -> bool {
    match decode(bytes) {
        Some(input) => {
            check(&input);
            true
        }
        None => false,
    }
}

/// The clock of every harness: 2025-11-22T08:26:40Z.
pub const NOW_MS: u64 = 1_763_800_000_000;

/// The one secret every live key of the harness uses.
pub const SECRET: &str = "harness-secret-do-not-log";

/// Body limit of the body-signing layers in the harness (small, so 413 is reachable).
pub const BODY_LIMIT: usize = 512;

/// What the fuzzer controls.
#[derive(Debug, Arbitrary)]
pub struct Input {
    /// Index into [`METHODS`].
    pub method: u8,
    /// Credential headers the harness signs correctly, added before the fuzzer's headers.
    pub signed: Option<Signed>,
    /// Headers: an index into the scheme's table of names, and the raw value bytes.
    pub headers: Vec<(u8, Vec<u8>)>,
    /// The request body.
    pub body: Vec<u8>,
}

/// Parameters of a request the harness signs itself.
#[derive(Debug, Arbitrary)]
pub struct Signed {
    /// Which key id to use (see each target's table).
    pub key: u8,
    /// Humanos: timestamp offset from [`NOW_MS`], in milliseconds.
    pub offset_ms: i32,
    /// Inqud: the salt; Proficient: the external id; Standard Webhooks: the `webhook-id`.
    pub text: Vec<u8>,
    /// A scheme-specific choice (Inqud mode, upper-case hex, Proficient HMAC or not, which
    /// Ed25519 scheme and how its header is written).
    pub variant: u8,
}

pub const METHODS: [Method; 4] = [Method::GET, Method::POST, Method::PUT, Method::DELETE];

/// Extra header names every target may use besides its credential headers.
pub const EXTRA: [&str; 3] = ["content-type", "content-length", "authorization"];

/// The clock time of the harness.
pub fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(NOW_MS)
}

/// Drives a future whose stores all answer at once.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..64 {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
    panic!("a future stayed pending although every store of the harness is synchronous");
}

/// A replay store for one run: a set behind a mutex.
#[derive(Clone, Default)]
pub struct SetStore(Arc<Mutex<HashSet<[u8; 32]>>>);

impl ReplayStore for SetStore {
    fn insert_if_absent<'a>(
        &'a self,
        key: &'a ReplayKey,
        _ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let fresh = self.0.lock().unwrap().insert(*key.as_bytes());
        Box::pin(std::future::ready(Ok(fresh)))
    }
}

/// The request the fuzzer describes. `first` are the harness-signed headers, added first.
/// Header values `http` refuses (control bytes) are skipped: no server would pass them on.
pub fn build(
    input: &Input,
    names: &[&'static str],
    first: &[(&'static str, Vec<u8>)],
) -> (Parts, Vec<u8>) {
    let method = METHODS[usize::from(input.method) % METHODS.len()].clone();
    let mut request = Request::builder()
        .method(method)
        .uri("/fuzz")
        .body(())
        .unwrap();
    let headers = request.headers_mut();
    let all = first
        .iter()
        .map(|(n, v)| (*n, v.as_slice()))
        .chain(input.headers.iter().map(|(i, v)| {
            let i = usize::from(*i) % (names.len() + EXTRA.len());
            let name = names
                .get(i)
                .copied()
                .unwrap_or_else(|| EXTRA[i - names.len()]);
            (name, v.as_slice())
        }));
    for (name, value) in all {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.append(HeaderName::from_static(name), value);
        }
    }
    (request.into_parts().0, input.body.clone())
}

/// Whether any of `names` came from the fuzzer (then a signed request may be refused).
pub fn fuzzer_sets_any(input: &Input, names: &[&str], table: &[&str]) -> bool {
    input.headers.iter().any(|(i, _)| {
        let i = usize::from(*i) % (table.len() + EXTRA.len());
        let name = table
            .get(i)
            .copied()
            .unwrap_or_else(|| EXTRA[i - table.len()]);
        names.contains(&name)
    })
}

/// What the layer answered.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    /// `Some(code)` for a rejection, `None` when the handler ran.
    pub code: Option<String>,
}

/// Checks a rejection response and returns what it says.
fn read_response(response: Response<Bytes>, handler_ran: bool, forbidden: &[&[u8]]) -> Answer {
    let (parts, body) = response.into_parts();
    for value in parts.headers.values() {
        for needle in forbidden {
            assert!(!contains(value.as_bytes(), needle), "secret in a header");
        }
    }
    for needle in forbidden {
        assert!(!contains(&body, needle), "secret in the body");
    }
    if handler_ran {
        assert_eq!(parts.status, StatusCode::OK);
        return Answer {
            status: parts.status,
            code: None,
        };
    }
    if let Some(grpc) = parts.headers.get("grpc-status") {
        assert_eq!(parts.status, StatusCode::OK);
        let code = match grpc.as_bytes() {
            b"16" => "grpc-unauthenticated",
            b"8" => "grpc-resource-exhausted",
            b"3" => "grpc-invalid-argument",
            b"14" => "grpc-unavailable",
            other => panic!("unexpected grpc-status {other:?}"),
        };
        return Answer {
            status: parts.status,
            code: Some(code.to_owned()),
        };
    }
    assert!(
        [401, 400, 413, 503].contains(&parts.status.as_u16()),
        "status {}",
        parts.status
    );
    let json: serde_json_lite::Value = serde_json_lite::parse(&body);
    Answer {
        status: parts.status,
        code: Some(json.error),
    }
}

/// The `error` code (or gRPC stand-in) the layer must answer for `rejection`.
pub fn expected_code(rejection: &Rejection, grpc: bool) -> String {
    if grpc {
        match rejection.kind().grpc_status() {
            16 => "grpc-unauthenticated",
            8 => "grpc-resource-exhausted",
            3 => "grpc-invalid-argument",
            14 => "grpc-unavailable",
            other => panic!("unexpected grpc status {other}"),
        }
        .to_owned()
    } else {
        rejection.kind().code().to_owned()
    }
}

pub fn is_grpc(parts: &Parts) -> bool {
    parts
        .headers
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"))
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Runs a body-signing layer as a service; the handler checks it got the body and an identity.
pub fn serve_body_signed<Sch: Scheme<Body = BodySigned>>(
    layer: &VerifyLayer<Sch>,
    parts: Parts,
    body: &[u8],
    forbidden: &[&[u8]],
) -> Answer {
    let expected = Bytes::copy_from_slice(body);
    let handler = service_fn(move |req: Request<VerifiedBody>| {
        let expected = expected.clone();
        async move {
            assert!(req.extensions().get::<Verified<Sch::Identity>>().is_some());
            let got = req.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(got, expected, "the handler must see the verified body");
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"handler"))))
        }
    });
    let service = layer.layer(handler);
    let request = Request::from_parts(parts, Full::new(Bytes::copy_from_slice(body)));
    let response = block_on(service.oneshot(request)).unwrap();
    finish(response, forbidden)
}

/// Runs a header-only layer as a service; the handler checks it got an identity.
pub fn serve_headers_only<Sch: Scheme<Body = HeadersOnly>>(
    layer: &VerifyLayer<Sch>,
    parts: Parts,
    body: &[u8],
    forbidden: &[&[u8]],
) -> Answer {
    let handler = service_fn(|req: Request<Full<Bytes>>| async move {
        assert!(req.extensions().get::<Verified<Sch::Identity>>().is_some());
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"handler"))))
    });
    let service = layer.layer(handler);
    let request = Request::from_parts(parts, Full::new(Bytes::copy_from_slice(body)));
    let response = block_on(service.oneshot(request)).unwrap();
    finish(response, forbidden)
}

fn finish(
    response: Response<tower_hmac::ResponseBody<Full<Bytes>>>,
    forbidden: &[&[u8]],
) -> Answer {
    let (parts, body) = response.into_parts();
    let body = block_on(body.collect()).unwrap().to_bytes();
    let handler_ran = body.as_ref() == b"handler";
    read_response(Response::from_parts(parts, body), handler_ran, forbidden)
}

/// Compares the layer's answer with `verify`'s decision. `over_limit`: the body (declared or
/// actual) is larger than the limit, so a 413 may replace any decision taken after the headers.
pub fn agree<T>(verified: &Result<T, Rejection>, answer: &Answer, grpc: bool, over_limit: bool) {
    use tower_hmac::RejectionKind::*;
    let decided_after_body = match verified {
        Ok(_) => true,
        Err(r) => matches!(
            r.kind(),
            UnknownKey | KeyExpired | KeyRevoked | InvalidSignature | Replayed | NotAllowed
        ),
    };
    let too_large = if grpc {
        "grpc-resource-exhausted"
    } else {
        "payload_too_large"
    };
    if over_limit && decided_after_body && answer.code.as_deref() == Some(too_large) {
        return;
    }
    match verified {
        Ok(_) => assert_eq!(answer.code, None, "verify accepted, the layer refused"),
        Err(r) => {
            assert_eq!(
                answer.code.as_deref(),
                Some(expected_code(r, grpc).as_str()),
                "verify said {r}"
            );
            // gRPC answers are 200 with a `grpc-status` (checked by `read_response`).
            if !grpc {
                assert_eq!(answer.status, r.kind().status(), "verify said {r}");
            }
        }
    }
}

/// The declared (`content-length`) or actual body is over [`BODY_LIMIT`].
pub fn over_limit(parts: &Parts, body: &[u8]) -> bool {
    let declared = parts
        .headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    body.len() > BODY_LIMIT || declared.is_some_and(|d| d > BODY_LIMIT as u64)
}

/// Visible ASCII, no spaces: the salt and token-id alphabet.
pub fn graphic(text: &[u8]) -> bool {
    !text.is_empty() && text.iter().all(u8::is_ascii_graphic)
}

/// A minimal reader for the rejection JSON `{"error": "...", "message": "..."}`, so that the
/// harness needs no JSON dependency.
mod serde_json_lite {
    pub struct Value {
        pub error: String,
    }

    pub fn parse(body: &[u8]) -> Value {
        let text = std::str::from_utf8(body).expect("rejection body is UTF-8");
        let rest = text
            .strip_prefix("{\"error\":\"")
            .unwrap_or_else(|| panic!("rejection body is not the JSON shape: {text}"));
        let end = rest.find('"').expect("unterminated error code");
        assert!(
            rest[end..].starts_with("\",\"message\":\"") && text.ends_with("\"}"),
            "rejection body is not the JSON shape: {text}"
        );
        Value {
            error: rest[..end].to_owned(),
        }
    }
}
