//! Every refusal emits one `tracing` event naming its kind and, once known, the key id, and no
//! event carries a secret, a plain secret sent by the client, or the signature the server expected.
//!
//! Events are captured with a small `Subscriber` installed for the current thread
//! (`tracing::subscriber::with_default`); every store here answers at once, so each check runs to
//! completion on this thread with `now_or_never`.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use futures_util::FutureExt as _;
use http::request::Parts;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use tower::{Layer as _, ServiceExt as _, service_fn};
use tower_hmac::humanos::{self, HumanosVerifyLayer};
use tower_hmac::inqud::{self, InqudModes, InqudVerifyLayer};
use tower_hmac::proficient::{ProficientHmac, ProficientVerifyLayer, user_hmac};
use tower_hmac::spike::{SpikeBearerLayer, SpikeExchange, SpikeTokenKeys, sign_user};
use tower_hmac::{
    BoxFuture, Key, KeyStore, ManualClock, MemoryKeyStore, MokaReplayStore, RejectionKind, Secret,
    StoreError,
};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

const NOW_MS: u64 = 1_763_800_000_000;
const SECRET: &str = "do-not-log-this-secret";
const TOKEN_KEY: &[u8; 32] = b"do-not-log-this-token-key-32byte";

// ---------------------------------------------------------------------------------------------
// Capture

#[derive(Debug, Clone)]
struct Captured {
    level: Level,
    fields: BTreeMap<String, String>,
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Captured>>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        self.0.lock().unwrap().push(Captured {
            level: *event.metadata().level(),
            fields,
        });
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Runs `f` with events captured, and returns them.
fn capture(f: impl FnOnce()) -> Vec<Captured> {
    let capture = Capture::default();
    tracing::subscriber::with_default(capture.clone(), f);
    capture.0.lock().unwrap().clone()
}

fn ready<F: std::future::Future>(future: F) -> F::Output {
    future.now_or_never().expect("completes at once")
}

/// The secrets of these tests and every form of a MAC a test computed: none may appear in any
/// field of any event.
fn forbidden(macs: &[&[u8; 32]]) -> Vec<String> {
    let mut all = vec![
        SECRET.to_owned(),
        String::from_utf8(TOKEN_KEY.to_vec()).unwrap(),
    ];
    for mac in macs {
        all.push(const_hex::encode(mac));
        all.push(const_hex::encode_upper(mac));
        all.push(base64::engine::general_purpose::STANDARD.encode(mac));
        all.push(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac));
    }
    all
}

/// Exactly one event names a rejection kind, it is `kind` for `key_id`, and no event of `events`
/// contains a forbidden string.
#[track_caller]
fn assert_one_rejection(
    events: &[Captured],
    kind: RejectionKind,
    key_id: Option<&str>,
    forbidden: &[String],
) {
    let rejections: Vec<&Captured> = events
        .iter()
        .filter(|e| e.fields.contains_key("kind"))
        .collect();
    assert_eq!(rejections.len(), 1, "{events:#?}");
    let event = rejections[0];
    assert_eq!(event.fields["kind"], format!("{kind:?}"), "{event:?}");
    assert_eq!(
        event.fields.get("key_id").map(String::as_str),
        key_id,
        "{event:?}"
    );
    let expected_level = if kind == RejectionKind::StoreUnavailable {
        Level::WARN
    } else {
        Level::DEBUG
    };
    assert_eq!(event.level, expected_level, "{event:?}");
    for event in events {
        for (name, value) in &event.fields {
            for secret in forbidden {
                assert!(
                    !value.contains(secret.as_str()),
                    "field {name} of {event:?} contains {secret}"
                );
            }
        }
    }
}

fn mac(secret: &[u8], message: &[u8]) -> [u8; 32] {
    use hmac::Mac as _;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().into()
}

fn parts(headers: &[(&str, &str)]) -> Parts {
    let mut req = Request::post("/x");
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.body(()).unwrap().into_parts().0
}

fn clock() -> ManualClock {
    ManualClock::new(UNIX_EPOCH + Duration::from_millis(NOW_MS))
}

fn secret() -> Secret {
    Secret::new(SECRET).unwrap()
}

fn keys(ids: &str) -> MemoryKeyStore {
    let before = UNIX_EPOCH + Duration::from_millis(NOW_MS - 1000);
    MemoryKeyStore::new()
        .with(Key::new(format!("{ids}live"), secret()))
        .with(Key::new(format!("{ids}revoked"), secret()).revoked())
        .with(Key::new(format!("{ids}expired"), secret()).expires_at(before))
}

/// A key store that always fails.
struct Failing;

impl KeyStore for Failing {
    fn get<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Option<Key>, StoreError>> {
        Box::pin(std::future::ready(Err(StoreError::new(
            std::io::Error::other("store down"),
        ))))
    }
}

// ---------------------------------------------------------------------------------------------
// Humanos

fn humanos_request(api_key: &str, ts: u64, signature: &str) -> Parts {
    parts(&[
        ("authorization", &format!("Bearer {api_key}")),
        ("x-timestamp", &ts.to_string()),
        ("x-signature", signature),
    ])
}

#[test]
fn humanos_rejections() {
    let layer = HumanosVerifyLayer::new(keys("hk_"))
        .clock(clock())
        .replay_store(MokaReplayStore::new());
    let body = b"{\"a\":1}";
    let good = humanos::signature(&secret(), NOW_MS, body);
    // The MAC a server computes for the wrong-signature case, computed independently.
    let expected = mac(
        SECRET.as_bytes(),
        format!("{NOW_MS}.{{\"a\":1}}").as_bytes(),
    );
    assert_eq!(good, const_hex::encode(expected));
    let forbidden = forbidden(&[&expected]);
    let wrong = "00".repeat(32);
    let cases: Vec<(Parts, RejectionKind, Option<&str>)> = vec![
        (parts(&[]), RejectionKind::MissingCredentials, None),
        (
            humanos_request("hk_live", NOW_MS, "not hex"),
            RejectionKind::MalformedCredentials,
            None,
        ),
        (
            humanos_request("hk_unknown", NOW_MS, &good),
            RejectionKind::UnknownKey,
            Some("hk_unknown"),
        ),
        (
            humanos_request("hk_revoked", NOW_MS, &good),
            RejectionKind::KeyRevoked,
            Some("hk_revoked"),
        ),
        (
            humanos_request("hk_expired", NOW_MS, &good),
            RejectionKind::KeyExpired,
            Some("hk_expired"),
        ),
        (
            humanos_request("hk_live", NOW_MS, &wrong),
            RejectionKind::InvalidSignature,
            Some("hk_live"),
        ),
        (
            humanos_request("hk_live", NOW_MS - 301_000, &good),
            RejectionKind::StaleTimestamp,
            Some("hk_live"),
        ),
        (
            humanos_request("hk_live", NOW_MS + 301_000, &good),
            RejectionKind::FutureTimestamp,
            Some("hk_live"),
        ),
    ];
    for (request, kind, key_id) in cases {
        let events = capture(|| {
            assert_eq!(
                ready(layer.verifier().verify(&request, body))
                    .unwrap_err()
                    .kind(),
                kind
            );
        });
        assert_one_rejection(&events, kind, key_id, &forbidden);
    }

    // Accepted once, then a replay.
    let request = humanos_request("hk_live", NOW_MS, &good);
    let events = capture(|| {
        ready(layer.verifier().verify(&request, body)).unwrap();
    });
    assert!(
        events.iter().all(|e| !e.fields.contains_key("kind")),
        "{events:?}"
    );
    let events = capture(|| {
        ready(layer.verifier().verify(&request, body)).unwrap_err();
    });
    assert_one_rejection(
        &events,
        RejectionKind::Replayed,
        Some("hk_live"),
        &forbidden,
    );

    // A failing key store: a warning, without the secret.
    let failing = HumanosVerifyLayer::new(Failing).clock(clock());
    let events = capture(|| {
        ready(failing.verifier().verify(&request, body)).unwrap_err();
    });
    assert_one_rejection(
        &events,
        RejectionKind::StoreUnavailable,
        Some("hk_live"),
        &forbidden,
    );
}

/// A body over the limit, refused by the layer while streaming: one event too.
#[test]
fn humanos_body_too_large_through_the_layer() {
    let layer = HumanosVerifyLayer::new(keys("hk_"))
        .clock(clock())
        .body_limit(8);
    let body = b"more than eight bytes";
    let expected = mac(SECRET.as_bytes(), b"1763800000000.more than eight bytes");
    let service = layer.layer(service_fn(|_req: Request<_>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
    }));
    let request = Request::from_parts(
        humanos_request("hk_live", NOW_MS, &const_hex::encode(expected)),
        Full::new(Bytes::from_static(body)),
    );
    let events = capture(|| {
        let response = ready(service.oneshot(request)).unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    });
    assert_one_rejection(
        &events,
        RejectionKind::BodyTooLarge,
        Some("hk_live"),
        &forbidden(&[&expected]),
    );
}

// ---------------------------------------------------------------------------------------------
// Inqud

#[test]
fn inqud_rejections() {
    let keys =
        keys("TKN-").with(Key::new("TKN-hmac-only", secret()).with_policy(InqudModes::HMAC_ONLY));
    let layer = InqudVerifyLayer::new(keys).clock(clock());
    let body = b"amount=50";
    let good = inqud::signature(&secret(), body, "salt-1");
    let expected = mac(SECRET.as_bytes(), b"amount=50salt-1");
    assert_eq!(good, const_hex::encode(expected));
    let forbidden = forbidden(&[&expected]);
    let hmac = |token: &str, sig: &str| {
        parts(&[
            ("x-token-api-id", token),
            ("x-hmac-sha256-signature", sig),
            ("x-salt", "salt-1"),
        ])
    };
    // Plain secrets sent in simple mode (right or wrong) are never logged.
    let simple = |token: &str, secret: &str| {
        parts(&[("x-token-api-id", token), ("x-token-api-secret", secret)])
    };
    let cases: Vec<(Parts, RejectionKind, Option<&str>)> = vec![
        (parts(&[]), RejectionKind::MissingCredentials, None),
        (
            hmac("TKN-live", "zz"),
            RejectionKind::MalformedCredentials,
            None,
        ),
        (
            hmac("TKN-unknown", &good),
            RejectionKind::UnknownKey,
            Some("TKN-unknown"),
        ),
        (
            simple("TKN-revoked", SECRET),
            RejectionKind::KeyRevoked,
            Some("TKN-revoked"),
        ),
        (
            simple("TKN-expired", SECRET),
            RejectionKind::KeyExpired,
            Some("TKN-expired"),
        ),
        (
            simple("TKN-hmac-only", SECRET),
            RejectionKind::NotAllowed,
            Some("TKN-hmac-only"),
        ),
        (
            hmac("TKN-live", &"0".repeat(64)),
            RejectionKind::InvalidSignature,
            Some("TKN-live"),
        ),
        (
            simple("TKN-live", "do-not-log-this-secreT"),
            RejectionKind::InvalidSignature,
            Some("TKN-live"),
        ),
    ];
    let mut forbidden_here = forbidden.clone();
    forbidden_here.push("do-not-log-this-secreT".to_owned());
    for (request, kind, key_id) in cases {
        let events = capture(|| {
            assert_eq!(
                ready(layer.verifier().verify(&request, body))
                    .unwrap_err()
                    .kind(),
                kind
            );
        });
        assert_one_rejection(&events, kind, key_id, &forbidden_here);
    }

    let request = hmac("TKN-live", &good);
    ready(layer.verifier().verify(&request, body)).unwrap();
    let events = capture(|| {
        ready(layer.verifier().verify(&request, body)).unwrap_err();
    });
    assert_one_rejection(
        &events,
        RejectionKind::Replayed,
        Some("TKN-live"),
        &forbidden,
    );
}

// ---------------------------------------------------------------------------------------------
// Proficient

#[test]
fn proficient_rejections() {
    let keys =
        keys("pk_").with(Key::new("pk_required", secret()).with_policy(ProficientHmac::Required));
    let layer = ProficientVerifyLayer::new(keys).clock(clock());
    let user = "gtLIK8ELsHTr0Fajg28Ud9eFpJJ3";
    let good = user_hmac(&secret(), user);
    let expected = mac(SECRET.as_bytes(), user.as_bytes());
    assert_eq!(
        good,
        base64::engine::general_purpose::STANDARD.encode(expected)
    );
    let forbidden = forbidden(&[&expected]);
    let request = |key: &str, hmac: Option<&str>| {
        let mut headers = vec![
            ("x-proficient-api-key", key),
            ("x-proficient-user-external-id", user),
        ];
        if let Some(hmac) = hmac {
            headers.push(("x-proficient-user-hmac", hmac));
        }
        parts(&headers)
    };
    let wrong = base64::engine::general_purpose::STANDARD.encode([0u8; 32]);
    let cases: Vec<(Parts, RejectionKind, Option<&str>)> = vec![
        (parts(&[]), RejectionKind::MissingCredentials, None),
        (
            request("pk_required", None),
            RejectionKind::MissingCredentials,
            Some("pk_required"),
        ),
        (
            request("pk_live", Some("%%%")),
            RejectionKind::MalformedCredentials,
            None,
        ),
        (
            request("pk_unknown", Some(&good)),
            RejectionKind::UnknownKey,
            Some("pk_unknown"),
        ),
        (
            request("pk_revoked", Some(&good)),
            RejectionKind::KeyRevoked,
            Some("pk_revoked"),
        ),
        (
            request("pk_live", Some(&wrong)),
            RejectionKind::InvalidSignature,
            Some("pk_live"),
        ),
    ];
    for (request, kind, key_id) in cases {
        let events = capture(|| {
            assert_eq!(
                ready(layer.verifier().verify(&request, b""))
                    .unwrap_err()
                    .kind(),
                kind
            );
        });
        assert_one_rejection(&events, kind, key_id, &forbidden);
    }
}

// ---------------------------------------------------------------------------------------------
// Spike

fn token_keys() -> SpikeTokenKeys {
    SpikeTokenKeys::new(Secret::new(TOKEN_KEY.to_vec()).unwrap()).unwrap()
}

#[test]
fn spike_exchange_rejections() {
    let applications = MemoryKeyStore::new()
        .with(Key::new("9999", secret()))
        .with(Key::new("1111", secret()).revoked());
    let exchange = SpikeExchange::new(applications, token_keys())
        .unwrap()
        .clock(clock());
    let user = "my_application_user_123";
    let expected = mac(SECRET.as_bytes(), user.as_bytes());
    assert_eq!(sign_user(&secret(), user), const_hex::encode(expected));
    let forbidden = forbidden(&[&expected]);
    let body = |app: &str, signature: &str| {
        format!(
            r#"{{"application_id": "{app}", "application_user_id": "{user}", "signature": "{signature}"}}"#
        )
    };
    let good = const_hex::encode(expected);
    let cases: Vec<(String, RejectionKind, Option<&str>)> = vec![
        ("{".to_owned(), RejectionKind::InvalidRequest, None),
        (
            body("9999", "not hex"),
            RejectionKind::MalformedCredentials,
            None,
        ),
        (
            body("9999", &"0".repeat(64)),
            RejectionKind::InvalidSignature,
            Some("9999"),
        ),
        (body("4242", &good), RejectionKind::UnknownKey, Some("4242")),
        (body("1111", &good), RejectionKind::KeyRevoked, Some("1111")),
    ];
    for (body, kind, key_id) in cases {
        let events = capture(|| {
            assert_eq!(
                ready(exchange.exchange(body.as_bytes()))
                    .unwrap_err()
                    .kind(),
                kind
            );
        });
        assert_one_rejection(&events, kind, key_id, &forbidden);
    }

    // Through the service: a body over the limit, and a refusal after parsing, once each.
    let service = exchange.clone().body_limit(16);
    let events = capture(|| {
        let request = Request::post("/v3/auth/hmac")
            .body(Full::new(Bytes::from(body("9999", &good))))
            .unwrap();
        let response = ready(service.oneshot(request)).unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    });
    assert_one_rejection(&events, RejectionKind::BodyTooLarge, None, &forbidden);
    let events = capture(|| {
        let request = Request::post("/v3/auth/hmac")
            .body(Full::new(Bytes::from(body("4242", &good))))
            .unwrap();
        let response = ready(exchange.clone().oneshot(request)).unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    });
    assert_one_rejection(&events, RejectionKind::UnknownKey, Some("4242"), &forbidden);

    let failing = SpikeExchange::new(Failing, token_keys()).unwrap();
    let events = capture(|| {
        ready(failing.exchange(body("9999", &good).as_bytes())).unwrap_err();
    });
    assert_one_rejection(
        &events,
        RejectionKind::StoreUnavailable,
        Some("9999"),
        &forbidden,
    );
}

#[test]
fn spike_bearer_rejections() {
    let applications = MemoryKeyStore::new().with(Key::new("9999", secret()));
    let exchange = SpikeExchange::new(applications.clone(), token_keys())
        .unwrap()
        .clock(clock());
    let user = "my_application_user_123";
    let body = format!(
        r#"{{"application_id": 9999, "application_user_id": "{user}", "signature": "{}"}}"#,
        sign_user(&secret(), user)
    );
    let token = ready(exchange.exchange(body.as_bytes())).unwrap();
    // The token's own signature (its third segment) is what the server recomputes.
    let signing_input = token.rsplit_once('.').unwrap().0;
    let expected = mac(TOKEN_KEY, signing_input.as_bytes());
    assert_eq!(
        token.rsplit_once('.').unwrap().1,
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(expected)
    );
    let mut forbidden = forbidden(&[&expected]);
    forbidden.push(token.clone());

    let run = |layer: &SpikeBearerLayer, authorization: Option<&str>| {
        let mut request = Request::get("/v3/userinfo");
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let (parts, ()) = request.body(()).unwrap().into_parts();
        capture(|| {
            ready(layer.verify(&parts)).unwrap_err();
        })
    };
    let layer = SpikeBearerLayer::new(token_keys()).clock(clock());
    let tampered = format!("Bearer {}A", &token[..token.len() - 1]);
    let tampered = if tampered.ends_with(&token[token.len() - 1..]) {
        format!("Bearer {}B", &token[..token.len() - 1])
    } else {
        tampered
    };
    assert_one_rejection(
        &run(&layer, None),
        RejectionKind::MissingCredentials,
        None,
        &forbidden,
    );
    assert_one_rejection(
        &run(&layer, Some("Basic abc")),
        RejectionKind::MalformedCredentials,
        None,
        &forbidden,
    );
    assert_one_rejection(
        &run(&layer, Some(&tampered)),
        RejectionKind::InvalidSignature,
        None,
        &forbidden,
    );

    // The token verified, its application is gone: the application id is named.
    let checking = SpikeBearerLayer::new(token_keys())
        .clock(clock())
        .applications(MemoryKeyStore::new())
        .unwrap();
    let events = run(&checking, Some(&format!("Bearer {token}")));
    assert_one_rejection(&events, RejectionKind::UnknownKey, Some("9999"), &forbidden);
    let failing = SpikeBearerLayer::new(token_keys())
        .clock(clock())
        .applications(Failing)
        .unwrap();
    let events = run(&failing, Some(&format!("Bearer {token}")));
    assert_one_rejection(
        &events,
        RejectionKind::StoreUnavailable,
        Some("9999"),
        &forbidden,
    );
}

/// A store holding one key, which cannot refuse a key holding a reserved secret.
struct OneKey(Key);

impl KeyStore for OneKey {
    fn get<'a>(&'a self, key_id: &'a str) -> BoxFuture<'a, Result<Option<Key>, StoreError>> {
        let found = (self.0.id() == key_id).then(|| self.0.clone());
        Box::pin(std::future::ready(Ok(found)))
    }
}

/// An application key equal to a token key: the events name the application, never the key.
#[test]
fn spike_token_key_equal_to_an_application_key() {
    let token_key = Secret::new(TOKEN_KEY.to_vec()).unwrap();
    let user = "my_application_user_123";
    let expected = mac(TOKEN_KEY, user.as_bytes());
    let forbidden = forbidden(&[&expected]);
    let no_secret = |events: &[Captured]| {
        for event in events {
            for secret in &forbidden {
                assert!(
                    !event.fields.values().any(|v| v.contains(secret.as_str())),
                    "{event:?}"
                );
            }
        }
    };
    let errors = |events: &[Captured]| -> Vec<BTreeMap<String, String>> {
        events
            .iter()
            .filter(|e| e.level == Level::ERROR)
            .map(|e| e.fields.clone())
            .collect()
    };

    // Refused by a memory store the token keys are reserved in.
    let tokens = token_keys();
    let store = MemoryKeyStore::new();
    let _exchange = SpikeExchange::new(store.clone(), tokens.clone()).unwrap();
    let events = capture(|| store.insert(Key::new("1111", token_key.clone())));
    assert_eq!(errors(&events).len(), 1, "{events:#?}");
    assert_eq!(errors(&events)[0]["key_id"], "1111");
    no_secret(&events);

    // Let through by a store that cannot police: the exchange refuses on the request.
    let store = OneKey(Key::new("1111", token_key.clone()));
    let exchange = SpikeExchange::new(store, tokens).unwrap().clock(clock());
    let body = format!(
        r#"{{"application_id": 1111, "application_user_id": "{user}", "signature": "{}"}}"#,
        const_hex::encode(expected)
    );
    let events = capture(|| {
        let refused = ready(exchange.exchange(body.as_bytes())).unwrap_err();
        assert_eq!(refused.kind(), RejectionKind::StoreUnavailable);
    });
    assert_eq!(errors(&events).len(), 1, "{events:#?}");
    assert_eq!(errors(&events)[0]["application_id"], "1111");
    assert_one_rejection(
        &events,
        RejectionKind::StoreUnavailable,
        Some("1111"),
        &forbidden,
    );
}
