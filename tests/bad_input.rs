//! The bad-input matrix: every credential header of every scheme, sent over loopback to an axum
//! server, missing, empty, repeated, with non-UTF-8 bytes, 64 KiB long, wrapped in whitespace, and
//! in the encodings a client might get wrong (upper-case hex, URL-safe or unpadded base64,
//! negative, decimal or overflowing timestamps). Each case gets its documented status and `error`
//! code, never a 500, and the server answers a valid request right after every case.
//!
//! Documented forms (`src/verify/headers.rs` and each scheme's module docs): an absent header is
//! `missing_credentials`; a repeated, empty, over 8 KiB or non-ASCII one is
//! `malformed_credentials`; spaces and tabs around a value are not part of it; hex signatures are
//! accepted in either case; Proficient HMACs are standard padded base64 only; Humanos timestamps
//! are digits only and must fit a `u64`. Ed25519 signatures are exactly 128 hex digits
//! (Discord) or one to four `v1a,` entries of 88 standard padded base64 characters (Standard
//! Webhooks); a webhook matrix signs a new delivery for every request, since a copy of one is
//! acknowledged, not handled. All of these refusals are 401.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::routing::post;
use base64::Engine as _;
use bytes::Bytes;
use common::{Reply, now_ms, send, serve_axum};
use http::{HeaderName, HeaderValue, Request, StatusCode};
use http_body_util::Full;
use tower_hmac::crypto::Ed25519PrivateKey;
use tower_hmac::discord::{self, DiscordVerifyLayer};
use tower_hmac::humanos::{self, HumanosVerifyLayer};
use tower_hmac::inqud::{self, InqudVerifyLayer};
use tower_hmac::proficient::{ProficientVerifyLayer, user_hmac};
use tower_hmac::spike::{SpikeBearerLayer, SpikeExchange, SpikeTokenKeys, sign_user};
use tower_hmac::standard::{self, StandardVerifyLayer};
use tower_hmac::{Key, MemoryKeyStore, Secret};

const SECRET: &str = "matrix-secret";
const LONG: usize = 64 * 1024;

fn secret() -> Secret {
    Secret::new(SECRET).unwrap()
}

/// A request: headers as raw bytes, and a body.
#[derive(Clone, Debug)]
struct Raw {
    headers: Vec<(&'static str, Vec<u8>)>,
    body: Bytes,
}

impl Raw {
    fn without(&self, name: &str) -> Self {
        let mut raw = self.clone();
        raw.headers.retain(|(n, _)| *n != name);
        raw
    }

    fn value(&self, name: &str) -> Vec<u8> {
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap()
            .1
            .clone()
    }

    fn with(&self, name: &'static str, value: impl Into<Vec<u8>>) -> Self {
        let mut raw = self.without(name);
        raw.headers.push((name, value.into()));
        raw
    }

    fn repeated(&self, name: &'static str) -> Self {
        let mut raw = self.clone();
        raw.headers.push((name, self.value(name)));
        raw
    }
}

async fn send_raw(addr: SocketAddr, raw: &Raw) -> Reply {
    let mut request = Request::post("/x")
        .body(Full::new(raw.body.clone()))
        .unwrap();
    for (name, value) in &raw.headers {
        // Raw bytes, including obs-text (0x80..=0xff) that is not UTF-8.
        request.headers_mut().append(
            HeaderName::from_static(name),
            HeaderValue::from_bytes(value).unwrap(),
        );
    }
    send(addr, request).await
}

/// What a case must get.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    Accepted,
    Refused(&'static str),
}
use Expect::{Accepted, Refused};

const MISSING: Expect = Refused("missing_credentials");
const MALFORMED: Expect = Refused("malformed_credentials");

#[track_caller]
fn check(reply: &Reply, expect: Expect, case: &str) {
    match expect {
        Accepted => assert_eq!(
            (reply.status, reply.text()),
            (StatusCode::OK, "ok".to_owned()),
            "{case}"
        ),
        Refused(code) => {
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{case}: {}",
                reply.text()
            );
            assert_eq!(reply.json()["error"], code, "{case}");
        }
    }
}

/// The variants every header gets. `fresh` makes a newly signed valid request (Inqud salts are
/// accepted once, so every case is signed anew).
async fn header_matrix(
    addr: SocketAddr,
    fresh: &dyn Fn() -> Raw,
    name: &'static str,
    missing: Expect,
    long: Expect,
) {
    // Each case starts from its own newly signed request and changes only `name`.
    let variant = |change: &dyn Fn(&Raw, Vec<u8>) -> Raw| {
        let base = fresh();
        let value = base.value(name);
        change(&base, value)
    };
    let cases: Vec<(&str, Raw, Expect)> = vec![
        ("missing", fresh().without(name), missing),
        ("empty", fresh().with(name, ""), MALFORMED),
        ("only whitespace", fresh().with(name, " \t "), MALFORMED),
        ("repeated", fresh().repeated(name), MALFORMED),
        (
            "non-UTF-8 bytes",
            variant(&|base, mut value| {
                value.extend_from_slice(b"\xff\xfe");
                base.with(name, value)
            }),
            MALFORMED,
        ),
        (
            "non-UTF-8 alone",
            fresh().with(name, b"\xc3\x28\xff".to_vec()),
            MALFORMED,
        ),
        (
            "64 KiB long",
            variant(&|base, mut value| {
                value.resize(LONG, b'a');
                base.with(name, value)
            }),
            long,
        ),
        (
            "surrounding whitespace",
            variant(&|base, value| base.with(name, [&b" \t"[..], &value, b"\t "].concat())),
            Accepted,
        ),
    ];
    for (case, raw, expect) in cases {
        let reply = send_raw(addr, &raw).await;
        check(&reply, expect, &format!("{name}: {case}"));
        // Still up, and still accepting.
        check(
            &send_raw(addr, &fresh()).await,
            Accepted,
            &format!("{name} after {case}"),
        );
    }
}

async fn cases(addr: SocketAddr, fresh: &dyn Fn() -> Raw, cases: Vec<(&str, Raw, Expect)>) {
    for (case, raw, expect) in cases {
        check(&send_raw(addr, &raw).await, expect, case);
        check(
            &send_raw(addr, &fresh()).await,
            Accepted,
            &format!("after {case}"),
        );
    }
}

fn router() -> Router {
    Router::new().route("/x", post(|| async { "ok" }))
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn humanos_headers() {
    let keys = MemoryKeyStore::new().with(Key::new("hk_live", secret()));
    let addr = serve_axum(router().layer(HumanosVerifyLayer::new(keys))).await;
    let body = Bytes::from_static(br#"{"contacts":["+351912345678"]}"#);
    let signed = |ts: &str, sig: &str| Raw {
        headers: vec![
            ("authorization", b"Bearer hk_live".to_vec()),
            ("x-timestamp", ts.as_bytes().to_vec()),
            ("x-signature", sig.as_bytes().to_vec()),
        ],
        body: body.clone(),
    };
    let fresh = || {
        let ts = now_ms();
        signed(&ts.to_string(), &humanos::signature(&secret(), ts, &body))
    };
    for name in ["authorization", "x-timestamp", "x-signature"] {
        header_matrix(addr, &fresh, name, MISSING, MALFORMED).await;
    }

    let ts = now_ms();
    let sig = humanos::signature(&secret(), ts, &body);
    // The signature over another timestamp text, to show that the form, not the MAC, decides.
    let sign_text = |text: &str| {
        let message = [text.as_bytes(), b".", &body].concat();
        hex_mac(&message)
    };
    cases(
        addr,
        &fresh,
        vec![
            (
                "upper-case hex signature",
                signed(&ts.to_string(), &sig.to_uppercase()),
                Accepted,
            ),
            (
                "negative timestamp",
                signed("-1", &sign_text("-1")),
                MALFORMED,
            ),
            (
                "signed timestamp",
                signed(&format!("+{ts}"), &sign_text(&format!("+{ts}"))),
                MALFORMED,
            ),
            (
                "decimal timestamp",
                signed(&format!("{ts}.5"), &sign_text(&format!("{ts}.5"))),
                MALFORMED,
            ),
            (
                "exponent timestamp",
                signed("1.7638e12", &sign_text("1.7638e12")),
                MALFORMED,
            ),
            (
                "overflowing timestamp",
                signed("18446744073709551616", &sign_text("18446744073709551616")),
                MALFORMED,
            ),
            (
                "largest u64 timestamp (far future)",
                signed("18446744073709551615", &sign_text("18446744073709551615")),
                Refused("timestamp_out_of_window"),
            ),
            (
                "timestamp in seconds",
                signed(
                    &(ts / 1000).to_string(),
                    &sign_text(&(ts / 1000).to_string()),
                ),
                Refused("timestamp_out_of_window"),
            ),
            (
                "base64 signature",
                signed(
                    &ts.to_string(),
                    &base64::engine::general_purpose::STANDARD
                        .encode(const_hex::decode(&sig).unwrap()),
                ),
                MALFORMED,
            ),
            (
                "63 hex digits",
                signed(&ts.to_string(), &sig[1..]),
                MALFORMED,
            ),
            (
                "scheme word lower-case",
                fresh().with("authorization", b"bearer hk_live".to_vec()),
                Accepted,
            ),
            (
                "no Bearer word",
                fresh().with("authorization", b"hk_live".to_vec()),
                MALFORMED,
            ),
            (
                "Basic credentials",
                fresh().with("authorization", b"Basic aGs6bGl2ZQ==".to_vec()),
                MALFORMED,
            ),
        ],
    )
    .await;
}

/// Hex HMAC-SHA256 of `message` under [`SECRET`], independent of the crate's signers.
fn hex_mac(message: &[u8]) -> String {
    use hmac::Mac as _;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(message);
    const_hex::encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn inqud_headers() {
    let keys = MemoryKeyStore::new().with(Key::new("TKN-live", secret()));
    let addr = serve_axum(router().layer(InqudVerifyLayer::new(keys))).await;
    let body = Bytes::from_static(b"amount=50&currency=USD");
    let counter = std::sync::atomic::AtomicU64::new(0);
    let salt = || {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("{:064x}", n + 1)
    };
    let hmac = |salt: &str| Raw {
        headers: vec![
            ("x-token-api-id", b"TKN-live".to_vec()),
            (
                "x-hmac-sha256-signature",
                inqud::signature(&secret(), &body, salt).into_bytes(),
            ),
            ("x-salt", salt.as_bytes().to_vec()),
        ],
        body: body.clone(),
    };
    let fresh = || hmac(&salt());
    header_matrix(addr, &fresh, "x-token-api-id", MISSING, MALFORMED).await;
    header_matrix(addr, &fresh, "x-hmac-sha256-signature", MISSING, MALFORMED).await;
    header_matrix(addr, &fresh, "x-salt", MISSING, MALFORMED).await;

    // Simple mode: the secret itself. A secret is any bytes the vendor hands out, so a long one
    // is simply the wrong secret.
    let simple = || Raw {
        headers: vec![
            ("x-token-api-id", b"TKN-live".to_vec()),
            ("x-token-api-secret", SECRET.as_bytes().to_vec()),
        ],
        body: body.clone(),
    };
    // Without X-Token-API-Secret (and without the HMAC headers), no mode is chosen: missing.
    header_matrix(addr, &simple, "x-token-api-secret", MISSING, MALFORMED).await;

    let s = salt();
    let sig = inqud::signature(&secret(), &body, &s);
    cases(
        addr,
        &fresh,
        vec![
            (
                "upper-case hex signature",
                hmac(&s).with("x-hmac-sha256-signature", sig.to_uppercase()),
                Accepted,
            ),
            (
                "base64 signature",
                hmac(&salt()).with(
                    "x-hmac-sha256-signature",
                    base64::engine::general_purpose::STANDARD
                        .encode(const_hex::decode(&sig).unwrap()),
                ),
                MALFORMED,
            ),
            (
                "token id without TKN-",
                fresh().with("x-token-api-id", "live"),
                MALFORMED,
            ),
            (
                "token id lower-case prefix",
                fresh().with("x-token-api-id", "tkn-live"),
                MALFORMED,
            ),
            (
                "salt of 257 characters",
                fresh().with("x-salt", "a".repeat(257)),
                MALFORMED,
            ),
            (
                "salt with an inner space",
                fresh().with("x-salt", "a b"),
                MALFORMED,
            ),
            (
                "both modes",
                fresh().with("x-token-api-secret", SECRET),
                MALFORMED,
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn proficient_headers() {
    let keys = MemoryKeyStore::new().with(Key::new("pk_live", secret()));
    let addr = serve_axum(router().layer(ProficientVerifyLayer::new(keys))).await;
    // A user whose HMAC has `+` or `/` in it, so that its URL-safe form differs.
    let user = (0..)
        .map(|n| format!("user-{n}"))
        .find(|u| user_hmac(&secret(), u).contains(['+', '/']))
        .unwrap();
    let hmac = user_hmac(&secret(), &user);
    let fresh = || Raw {
        headers: vec![
            ("x-proficient-api-key", b"pk_live".to_vec()),
            ("x-proficient-user-external-id", user.as_bytes().to_vec()),
            ("x-proficient-user-hmac", hmac.as_bytes().to_vec()),
        ],
        body: Bytes::new(),
    };
    for name in [
        "x-proficient-api-key",
        "x-proficient-user-external-id",
        "x-proficient-user-hmac",
    ] {
        header_matrix(addr, &fresh, name, MISSING, MALFORMED).await;
    }
    let url_safe = hmac.replace('+', "-").replace('/', "_");
    cases(
        addr,
        &fresh,
        vec![
            (
                "URL-safe base64",
                fresh().with("x-proficient-user-hmac", url_safe.clone()),
                MALFORMED,
            ),
            (
                "unpadded base64",
                fresh().with("x-proficient-user-hmac", hmac.trim_end_matches('=')),
                MALFORMED,
            ),
            (
                "URL-safe unpadded base64",
                fresh().with("x-proficient-user-hmac", url_safe.trim_end_matches('=')),
                MALFORMED,
            ),
            (
                "hex",
                fresh().with(
                    "x-proficient-user-hmac",
                    const_hex::encode(
                        base64::engine::general_purpose::STANDARD
                            .decode(&hmac)
                            .unwrap(),
                    ),
                ),
                MALFORMED,
            ),
            (
                "secret key as API key",
                fresh().with("x-proficient-api-key", "hsec_abc"),
                MALFORMED,
            ),
            (
                "external id of 257 characters",
                fresh().with("x-proficient-user-external-id", "a".repeat(257)),
                MALFORMED,
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn spike_authorization_header() {
    let tokens = SpikeTokenKeys::new(Secret::new([0x42; 32]).unwrap()).unwrap();
    let exchange = SpikeExchange::new(
        MemoryKeyStore::new().with(Key::new("9999", secret())),
        tokens.clone(),
    )
    .unwrap();
    let body = format!(
        r#"{{"application_id": 9999, "application_user_id": "u-1", "signature": "{}"}}"#,
        sign_user(&secret(), "u-1")
    );
    let token = exchange.exchange(body.as_bytes()).await.unwrap();
    let addr = serve_axum(router().layer(SpikeBearerLayer::new(tokens))).await;
    let fresh = || Raw {
        headers: vec![("authorization", format!("Bearer {token}").into_bytes())],
        body: Bytes::new(),
    };
    header_matrix(addr, &fresh, "authorization", MISSING, MALFORMED).await;
    let (head, signature) = token.rsplit_once('.').unwrap();
    let padded = format!("{head}.{signature}=");
    let standard = base64::engine::general_purpose::STANDARD.encode(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(signature)
            .unwrap(),
    );
    cases(
        addr,
        &fresh,
        vec![
            (
                "scheme word lower-case",
                fresh().with("authorization", format!("bearer {token}")),
                Accepted,
            ),
            (
                "token alone",
                fresh().with("authorization", token.clone()),
                MALFORMED,
            ),
            (
                "two tokens",
                fresh().with("authorization", format!("Bearer {token} {token}")),
                MALFORMED,
            ),
            (
                "padded base64url signature",
                fresh().with("authorization", format!("Bearer {padded}")),
                MALFORMED,
            ),
            (
                "standard base64 signature",
                fresh().with("authorization", format!("Bearer {head}.{standard}")),
                MALFORMED,
            ),
        ],
    )
    .await;
}

/// A new body for every request of a webhook matrix: a delivery is handled once, so every case
/// and every check that the server still accepts needs one of its own.
fn numbered_body(counter: &AtomicU64) -> Bytes {
    let n = counter.fetch_add(1, Ordering::Relaxed);
    Bytes::from(format!(r#"{{"type":2,"n":{n}}}"#))
}

fn ed25519_key() -> Ed25519PrivateKey {
    // RFC 8032, section 7.1, TEST 1.
    discord::private_key("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
        .unwrap()
}

#[tokio::test]
async fn discord_headers() {
    let key = ed25519_key();
    let layer = DiscordVerifyLayer::new(Key::new("discord", key.public_key()));
    let addr = serve_axum(router().layer(layer)).await;
    let counter = AtomicU64::new(0);
    let signed_at = |ts: &str, body: Bytes| Raw {
        headers: vec![
            (
                "x-signature-ed25519",
                discord::signature(&key, ts, &body).into_bytes(),
            ),
            ("x-signature-timestamp", ts.as_bytes().to_vec()),
        ],
        body,
    };
    let now = || (now_ms() / 1000).to_string();
    let fresh = || signed_at(&now(), numbered_body(&counter));
    for name in ["x-signature-ed25519", "x-signature-timestamp"] {
        header_matrix(addr, &fresh, name, MISSING, MALFORMED).await;
    }
    let with_signature = |change: &dyn Fn(String) -> String| {
        let raw = fresh();
        let signature = String::from_utf8(raw.value("x-signature-ed25519")).unwrap();
        raw.with("x-signature-ed25519", change(signature))
    };
    let signed = |ts: String| signed_at(&ts, numbered_body(&counter));
    cases(
        addr,
        &fresh,
        vec![
            (
                "upper-case hex signature",
                with_signature(&|s| s.to_uppercase()),
                Accepted,
            ),
            (
                "127 hex digits",
                with_signature(&|s| s[1..].to_owned()),
                MALFORMED,
            ),
            (
                "129 hex digits",
                with_signature(&|s| format!("{s}0")),
                MALFORMED,
            ),
            (
                "130 hex digits",
                with_signature(&|s| format!("{s}00")),
                MALFORMED,
            ),
            (
                "0x prefix",
                with_signature(&|s| format!("0x{s}")),
                MALFORMED,
            ),
            (
                "a character that is not hex",
                with_signature(&|s| format!("g{}", &s[1..])),
                MALFORMED,
            ),
            (
                "inner space",
                with_signature(&|s| format!("{} {}", &s[..64], &s[64..])),
                MALFORMED,
            ),
            (
                "base64 signature",
                with_signature(&|s| {
                    base64::engine::general_purpose::STANDARD.encode(const_hex::decode(s).unwrap())
                }),
                MALFORMED,
            ),
            ("negative timestamp", signed("-1".to_owned()), MALFORMED),
            (
                "decimal timestamp",
                signed(format!("{}.5", now())),
                MALFORMED,
            ),
            (
                "overflowing timestamp",
                signed("18446744073709551616".to_owned()),
                MALFORMED,
            ),
            (
                "largest u64 timestamp (far future)",
                signed("18446744073709551615".to_owned()),
                Refused("timestamp_out_of_window"),
            ),
            (
                "timestamp in milliseconds",
                signed(now_ms().to_string()),
                Refused("timestamp_out_of_window"),
            ),
            // Signed as sent.
            (
                "timestamp with a leading zero",
                signed(format!("0{}", now())),
                Accepted,
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn standard_v1a_headers() {
    let key = ed25519_key();
    let layer = StandardVerifyLayer::new(Key::new("standard", key.public_key()));
    let addr = serve_axum(router().layer(layer)).await;
    let counter = AtomicU64::new(0);
    let signed_at = |ts: &str, header: &dyn Fn(String) -> String| {
        let n = counter.fetch_add(1, Ordering::Relaxed);
        let id = format!("msg_{n}");
        let body = Bytes::from_static(br#"{"type":"contact.created"}"#);
        let signature = standard::signature_v1a(&key, &id, ts.parse().unwrap_or(0), &body);
        Raw {
            headers: vec![
                ("webhook-id", id.into_bytes()),
                ("webhook-timestamp", ts.as_bytes().to_vec()),
                ("webhook-signature", header(signature).into_bytes()),
            ],
            body,
        }
    };
    let now = || (now_ms() / 1000).to_string();
    let fresh = || signed_at(&now(), &|s| format!("v1a,{s}"));
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        header_matrix(addr, &fresh, name, MISSING, MALFORMED).await;
    }
    let url_safe = |s: String| s.replace('+', "-").replace('/', "_");
    let wrong = |s: String| {
        let mut bytes = base64::engine::general_purpose::STANDARD.decode(s).unwrap();
        bytes[0] ^= 1;
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    cases(
        addr,
        &fresh,
        vec![
            (
                "unpadded base64",
                signed_at(&now(), &|s| format!("v1a,{}", s.trim_end_matches('='))),
                MALFORMED,
            ),
            (
                "URL-safe base64 (or the same, when it has no + or /)",
                signed_at(&now(), &|s| {
                    let safe = url_safe(s.clone());
                    if safe == s {
                        format!("v1a,{}", s.trim_end_matches('='))
                    } else {
                        format!("v1a,{safe}")
                    }
                }),
                MALFORMED,
            ),
            (
                "hex signature",
                signed_at(&now(), &|s| {
                    format!(
                        "v1a,{}",
                        const_hex::encode(
                            base64::engine::general_purpose::STANDARD.decode(s).unwrap()
                        )
                    )
                }),
                MALFORMED,
            ),
            (
                "87 characters",
                signed_at(&now(), &|s| format!("v1a,{}", &s[1..])),
                MALFORMED,
            ),
            (
                "upper-case version",
                signed_at(&now(), &|s| format!("V1A,{s}")),
                MALFORMED,
            ),
            (
                "no comma",
                signed_at(&now(), &|s| format!("v1a{s}")),
                MALFORMED,
            ),
            (
                "a comma after the signature",
                signed_at(&now(), &|s| format!("v1a,{s},")),
                MALFORMED,
            ),
            (
                "entries separated by a tab",
                signed_at(&now(), &|s| format!("v1a,{s}\tv1a,{s}")),
                MALFORMED,
            ),
            (
                "the same entry twice",
                signed_at(&now(), &|s| format!("v1a,{s} v1a,{s}")),
                Accepted,
            ),
            (
                "a wrong entry, then the right one",
                signed_at(&now(), &|s| format!("v1a,{} v1a,{s}", wrong(s.clone()))),
                Accepted,
            ),
            (
                "five entries",
                signed_at(&now(), &|s| format!("v1a,{s} ").repeat(5)),
                MALFORMED,
            ),
            (
                "an HMAC-length v1a",
                signed_at(&now(), &|_| format!("v1a,{}", "A".repeat(43) + "=")),
                MALFORMED,
            ),
            (
                "negative timestamp",
                signed_at("-1", &|s| format!("v1a,{s}")),
                MALFORMED,
            ),
            (
                "timestamp in milliseconds",
                signed_at(&now_ms().to_string(), &|s| format!("v1a,{s}")),
                Refused("timestamp_out_of_window"),
            ),
            (
                "webhook-id with a space",
                fresh().with("webhook-id", "msg a"),
                MALFORMED,
            ),
        ],
    )
    .await;
}
