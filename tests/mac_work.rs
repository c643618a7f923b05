//! An unknown key id costs the same MAC work as a known one (DESIGN §3.4), and the same Ed25519
//! verification work.
//!
//! The verifier's work is counted per thread by `tower_hmac::crypto::work` (feature `__count-work`,
//! enabled for the tests only): HMAC computations finished, Ed25519 signatures verified, body
//! bytes fed to them and presented secrets compared. `#[tokio::test]` runs each test on one thread, so the counts are the
//! request's own.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::FutureExt as _;
use http::Request;
use http::request::Parts;
use tower_hmac::crypto::Ed25519PrivateKey;
use tower_hmac::crypto::work::{self, Work};
use tower_hmac::discord::{self, DiscordVerifyLayer};
use tower_hmac::humanos::{self, HumanosVerifyLayer};
use tower_hmac::inqud::{self, InqudVerifyLayer};
use tower_hmac::proficient::{ProficientHmac, ProficientVerifyLayer, user_hmac};
use tower_hmac::spike::{SpikeExchange, SpikeTokenKeys, sign_user};
use tower_hmac::standard::{self, StandardVerifyLayer};
use tower_hmac::{Key, KeySecret, ManualClock, MemoryKeyStore, RejectionKind, Secret};

const NOW_MS: u64 = 1_763_800_000_000;
const SECRET: &str = "the-one-secret";
const BODY: &[u8] = br#"{"contacts":["+351912345678"],"processIds":["64c8e5f7d5a4f9123b7c9a1e"]}"#;

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(NOW_MS)
}

fn secret() -> Secret {
    Secret::new(SECRET).unwrap()
}

/// A live, a revoked, an expired key and one whose only secret expired, each with one secret;
/// any other id is unknown.
fn keys(ids: [&str; 4]) -> MemoryKeyStore {
    let [live, revoked, expired, secret_expired] = ids;
    let before = now() - Duration::from_secs(1);
    MemoryKeyStore::new()
        .with(Key::new(live, secret()))
        .with(Key::new(revoked, secret()).revoked())
        .with(Key::new(expired, secret()).expires_at(before))
        .with(Key::from_secrets(
            secret_expired,
            [KeySecret::new(secret()).not_after(before)],
        ))
}

fn parts(headers: &[(&str, String)]) -> Parts {
    let mut req = Request::post("/x");
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    req.body(()).unwrap().into_parts().0
}

/// Runs `check` with fresh counters and returns the work it did.
fn measured<T>(check: impl FnOnce() -> T) -> (T, Work) {
    work::take();
    let out = check();
    (out, work::take())
}

fn ready<F: std::future::Future>(future: F) -> F::Output {
    future
        .now_or_never()
        .expect("every store here answers at once")
}

#[test]
fn humanos_every_key_lookup_costs_one_mac_over_the_whole_body() {
    const IDS: [&str; 4] = ["LIVE", "REVOKED", "EXPIRED", "SECRET_EXPIRED"];
    let layer = HumanosVerifyLayer::new(keys(IDS)).clock(ManualClock::new(now()));
    let good = humanos::signature(&secret(), NOW_MS, BODY);
    let wrong = humanos::signature(&Secret::new("other").unwrap(), NOW_MS, BODY);
    let request = |id: &str, sig: &str| {
        parts(&[
            ("authorization", format!("Bearer {id}")),
            ("x-timestamp", NOW_MS.to_string()),
            ("x-signature", sig.to_owned()),
        ])
    };
    let cases = [
        ("LIVE", &good, None),
        ("LIVE", &wrong, Some(RejectionKind::InvalidSignature)),
        ("UNKNOWN", &good, Some(RejectionKind::UnknownKey)),
        ("REVOKED", &good, Some(RejectionKind::KeyRevoked)),
        ("EXPIRED", &good, Some(RejectionKind::KeyExpired)),
        (
            "SECRET_EXPIRED",
            &good,
            Some(RejectionKind::InvalidSignature),
        ),
    ];
    let expected = Work {
        macs: 1,
        body_bytes: BODY.len() as u64,
        secret_compares: 0,
        signatures: 0,
    };
    for (id, sig, outcome) in cases {
        let req = request(id, sig);
        let (result, done) = measured(|| ready(layer.verifier().verify(&req, BODY)));
        assert_eq!(result.err().map(|r| r.kind()), outcome, "{id}");
        assert_eq!(done, expected, "{id} {outcome:?}");
    }
}

#[test]
fn inqud_hmac_mode_every_key_lookup_costs_one_mac_over_the_whole_body() {
    const IDS: [&str; 4] = [
        "TKN-live",
        "TKN-revoked",
        "TKN-expired",
        "TKN-secret-expired",
    ];
    let layer = InqudVerifyLayer::new(keys(IDS)).clock(ManualClock::new(now()));
    let cases = [
        ("TKN-live", SECRET, None),
        ("TKN-live", "other", Some(RejectionKind::InvalidSignature)),
        ("TKN-unknown", SECRET, Some(RejectionKind::UnknownKey)),
        ("TKN-revoked", SECRET, Some(RejectionKind::KeyRevoked)),
        ("TKN-expired", SECRET, Some(RejectionKind::KeyExpired)),
        (
            "TKN-secret-expired",
            SECRET,
            Some(RejectionKind::InvalidSignature),
        ),
    ];
    let expected = Work {
        macs: 1,
        body_bytes: BODY.len() as u64,
        secret_compares: 0,
        signatures: 0,
    };
    for (n, (id, signing, outcome)) in cases.into_iter().enumerate() {
        let salt = format!("salt-{n}");
        let sig = inqud::signature(&Secret::new(signing).unwrap(), BODY, &salt);
        let req = parts(&[
            ("x-token-api-id", id.to_owned()),
            ("x-hmac-sha256-signature", sig),
            ("x-salt", salt),
        ]);
        let (result, done) = measured(|| ready(layer.verifier().verify(&req, BODY)));
        assert_eq!(result.err().map(|r| r.kind()), outcome, "{id}");
        assert_eq!(done, expected, "{id} {outcome:?}");
    }
}

#[test]
fn inqud_simple_mode_every_key_lookup_costs_one_secret_compare() {
    const IDS: [&str; 4] = [
        "TKN-live",
        "TKN-revoked",
        "TKN-expired",
        "TKN-secret-expired",
    ];
    let layer = InqudVerifyLayer::new(keys(IDS)).clock(ManualClock::new(now()));
    let cases = [
        ("TKN-live", SECRET, None),
        ("TKN-live", "other", Some(RejectionKind::InvalidSignature)),
        // A presented secret of another length: the compare hashes both sides first.
        (
            "TKN-live",
            "a much longer secret than the stored one, to compare lengths",
            Some(RejectionKind::InvalidSignature),
        ),
        ("TKN-unknown", SECRET, Some(RejectionKind::UnknownKey)),
        ("TKN-revoked", SECRET, Some(RejectionKind::KeyRevoked)),
        ("TKN-expired", SECRET, Some(RejectionKind::KeyExpired)),
        (
            "TKN-secret-expired",
            SECRET,
            Some(RejectionKind::InvalidSignature),
        ),
    ];
    let expected = Work {
        macs: 0,
        body_bytes: 0,
        secret_compares: 1,
        signatures: 0,
    };
    for (id, presented, outcome) in cases {
        let req = parts(&[
            ("x-token-api-id", id.to_owned()),
            ("x-token-api-secret", presented.to_owned()),
        ]);
        let (result, done) = measured(|| ready(layer.verifier().verify(&req, BODY)));
        assert_eq!(result.err().map(|r| r.kind()), outcome, "{id}");
        assert_eq!(done, expected, "{id} {outcome:?}");
    }
}

#[test]
fn proficient_every_key_lookup_costs_one_mac() {
    const IDS: [&str; 4] = ["pk_live", "pk_revoked", "pk_expired", "pk_secret_expired"];
    let layer = ProficientVerifyLayer::new(keys(IDS)).clock(ManualClock::new(now()));
    let user = "gtLIK8ELsHTr0Fajg28Ud9eFpJJ3";
    let good = user_hmac(&secret(), user);
    let wrong = user_hmac(&Secret::new("other").unwrap(), user);
    let cases = [
        ("pk_live", &good, None),
        ("pk_live", &wrong, Some(RejectionKind::InvalidSignature)),
        ("pk_unknown", &good, Some(RejectionKind::UnknownKey)),
        ("pk_revoked", &good, Some(RejectionKind::KeyRevoked)),
        ("pk_expired", &good, Some(RejectionKind::KeyExpired)),
        (
            "pk_secret_expired",
            &good,
            Some(RejectionKind::InvalidSignature),
        ),
    ];
    let expected = Work {
        macs: 1,
        body_bytes: 0,
        secret_compares: 0,
        signatures: 0,
    };
    for (id, hmac, outcome) in cases {
        let req = parts(&[
            ("x-proficient-api-key", id.to_owned()),
            ("x-proficient-user-external-id", user.to_owned()),
            ("x-proficient-user-hmac", hmac.clone()),
        ]);
        let (result, done) = measured(|| ready(layer.verifier().verify(&req, BODY)));
        assert_eq!(result.err().map(|r| r.kind()), outcome, "{id}");
        assert_eq!(done, expected, "{id} {outcome:?}");
    }
    // Optional mode without an HMAC: no proof, no MAC, whatever the key.
    let keys = MemoryKeyStore::new()
        .with(Key::new("pk_optional", secret()).with_policy(ProficientHmac::Optional));
    let layer = ProficientVerifyLayer::new(keys).clock(ManualClock::new(now()));
    let req = parts(&[
        ("x-proficient-api-key", "pk_optional".to_owned()),
        ("x-proficient-user-external-id", user.to_owned()),
    ]);
    let (result, done) = measured(|| ready(layer.verifier().verify(&req, b"")));
    assert!(result.is_ok());
    assert_eq!(done, Work::default());
}

/// The work follows the number of live secrets a key has: a key in rotation (two live secrets)
/// costs two MACs, as documented; an expired secret costs nothing, and a key left with no live
/// secret costs the placeholder's one.
#[test]
fn work_is_one_mac_per_live_secret() {
    let before = now() - Duration::from_secs(1);
    let later = now() + Duration::from_secs(60);
    let keys = MemoryKeyStore::new()
        .with(Key::from_secrets(
            "ROTATING",
            [
                KeySecret::new(secret()).not_after(later),
                KeySecret::new(Secret::new("new").unwrap()),
            ],
        ))
        .with(Key::from_secrets(
            "ROTATED",
            [
                KeySecret::new(Secret::new("old").unwrap()).not_after(before),
                KeySecret::new(secret()),
            ],
        ));
    let layer = HumanosVerifyLayer::new(keys).clock(ManualClock::new(now()));
    let sig = humanos::signature(&secret(), NOW_MS, BODY);
    for (id, macs) in [("ROTATING", 2), ("ROTATED", 1)] {
        let req = parts(&[
            ("authorization", format!("Bearer {id}")),
            ("x-timestamp", NOW_MS.to_string()),
            ("x-signature", sig.clone()),
        ]);
        let (result, done) = measured(|| ready(layer.verifier().verify(&req, BODY)));
        assert!(result.is_ok(), "{id}");
        assert_eq!(
            done,
            Work {
                macs,
                body_bytes: macs * BODY.len() as u64,
                secret_compares: 0,
                signatures: 0,
            },
            "{id}"
        );
    }
}

/// Refusals decided from the headers alone (before the key lookup) do no MAC work, for known and
/// unknown keys alike.
#[test]
fn header_refusals_do_no_mac_work_whatever_the_key() {
    let layer =
        HumanosVerifyLayer::new(keys(["LIVE", "R", "E", "S"])).clock(ManualClock::new(now()));
    let stale = NOW_MS - 301_000;
    let sig = humanos::signature(&secret(), stale, BODY);
    for id in ["LIVE", "UNKNOWN"] {
        let req = parts(&[
            ("authorization", format!("Bearer {id}")),
            ("x-timestamp", stale.to_string()),
            ("x-signature", sig.clone()),
        ]);
        let (result, done) = measured(|| ready(layer.verifier().verify(&req, BODY)));
        assert_eq!(
            result.unwrap_err().kind(),
            RejectionKind::StaleTimestamp,
            "{id}"
        );
        assert_eq!(done, Work::default(), "{id}");
    }
}

/// Spike's token exchange: one MAC of the user id per request, whether the application is live,
/// unknown, revoked or expired, and whether the signature is right.
#[test]
fn spike_exchange_every_application_lookup_costs_one_mac() {
    const IDS: [&str; 4] = ["1001", "1002", "1003", "1004"];
    let exchange = SpikeExchange::new(
        keys(IDS),
        SpikeTokenKeys::new(Secret::new([0x42; 32]).unwrap()).unwrap(),
    )
    .unwrap()
    .clock(ManualClock::new(now()));
    let user = "my_application_user_123";
    let good = sign_user(&secret(), user);
    let wrong = sign_user(&Secret::new("other").unwrap(), user);
    let cases = [
        ("1001", &good, None),
        ("1001", &wrong, Some("invalid_credentials")),
        ("4242", &good, Some("invalid_credentials")),
        ("1002", &good, Some("invalid_credentials")),
        ("1003", &good, Some("invalid_credentials")),
        ("1004", &good, Some("invalid_credentials")),
    ];
    for (id, signature, outcome) in cases {
        let body = format!(
            r#"{{"application_id": "{id}", "application_user_id": "{user}", "signature": "{signature}"}}"#
        );
        let (result, done) = measured(|| ready(exchange.exchange(body.as_bytes())));
        assert_eq!(result.err().map(|r| r.kind().code()), outcome, "{id}");
        assert_eq!(done.macs, 1, "{id} {outcome:?}");
        assert_eq!(done.secret_compares, 0, "{id}");
    }
    // A signature that is not 64 hex digits is refused before any lookup: no MAC.
    let body = format!(
        r#"{{"application_id": "1001", "application_user_id": "{user}", "signature": "zz"}}"#
    );
    let (result, done) = measured(|| ready(exchange.exchange(body.as_bytes())));
    assert_eq!(
        result.unwrap_err().kind(),
        RejectionKind::MalformedCredentials
    );
    assert_eq!(done, Work::default());
}

/// Behind a [`CachedKeyStore`](tower_hmac::CachedKeyStore) too, whether the answer comes from the
/// store or from the cache (each id is checked twice): an unknown id, cached as unknown, costs
/// the MAC work of a known one.
#[tokio::test]
async fn cached_store_every_key_lookup_costs_one_mac_over_the_whole_body() {
    const IDS: [&str; 4] = ["LIVE", "REVOKED", "EXPIRED", "SECRET_EXPIRED"];
    let keys = tower_hmac::CachedKeyStore::new(keys(IDS));
    let layer = HumanosVerifyLayer::new(keys).clock(ManualClock::new(now()));
    let good = humanos::signature(&secret(), NOW_MS, BODY);
    let request = |id: &str| {
        parts(&[
            ("authorization", format!("Bearer {id}")),
            ("x-timestamp", NOW_MS.to_string()),
            ("x-signature", good.clone()),
        ])
    };
    let cases = [
        ("LIVE", None),
        ("UNKNOWN", Some(RejectionKind::UnknownKey)),
        ("REVOKED", Some(RejectionKind::KeyRevoked)),
        ("EXPIRED", Some(RejectionKind::KeyExpired)),
        ("SECRET_EXPIRED", Some(RejectionKind::InvalidSignature)),
    ];
    let expected = Work {
        macs: 1,
        body_bytes: BODY.len() as u64,
        secret_compares: 0,
        signatures: 0,
    };
    for _ in 0..2 {
        for (id, outcome) in cases {
            let req = request(id);
            work::take();
            let result = layer.verifier().verify(&req, BODY).await;
            let done = work::take();
            assert_eq!(result.err().map(|r| r.kind()), outcome, "{id}");
            assert_eq!(done, expected, "{id} {outcome:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Ed25519: one verification per candidate public key and presented signature, whatever the key.

const ED25519_SECRET: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

fn ed25519_key() -> Ed25519PrivateKey {
    Ed25519PrivateKey::from_hex(ED25519_SECRET).unwrap()
}

/// A live, a revoked and an expired key holding the public key, one whose public key expired,
/// and one holding an HMAC secret only, under the names `{prefix}-live`, ...; the receiver's
/// `store` holds the one named `id`, as `name` (the scheme's key).
fn ed25519_keys(name: &str) -> [(&'static str, Option<Key>, Option<RejectionKind>); 7] {
    let before = now() - Duration::from_secs(1);
    let public = ed25519_key().public_key();
    [
        ("live", Some(Key::new(name, public)), None),
        ("unknown", None, Some(RejectionKind::UnknownKey)),
        (
            "revoked",
            Some(Key::new(name, public).revoked()),
            Some(RejectionKind::KeyRevoked),
        ),
        (
            "expired",
            Some(Key::new(name, public).expires_at(before)),
            Some(RejectionKind::KeyExpired),
        ),
        (
            "public key expired",
            Some(Key::from_secrets(
                name,
                [KeySecret::new(public).not_after(before)],
            )),
            Some(RejectionKind::InvalidSignature),
        ),
        (
            "secrets only",
            Some(Key::new(name, secret())),
            Some(RejectionKind::InvalidSignature),
        ),
        (
            "the public key's bytes as a secret",
            Some(Key::new(
                name,
                Secret::new(public.as_bytes().to_vec()).unwrap(),
            )),
            Some(RejectionKind::InvalidSignature),
        ),
    ]
}

fn store_of(key: Option<Key>) -> MemoryKeyStore {
    let store = MemoryKeyStore::new();
    if let Some(key) = key {
        store.insert(key);
    }
    store
}

#[test]
fn discord_every_key_costs_one_verification_over_the_whole_body() {
    let ts = (NOW_MS / 1000).to_string();
    let good = discord::signature(&ed25519_key(), &ts, BODY);
    let expected = Work {
        macs: 0,
        body_bytes: BODY.len() as u64,
        secret_compares: 0,
        signatures: 1,
    };
    for (case, key, outcome) in ed25519_keys("discord") {
        let layer = DiscordVerifyLayer::new(store_of(key)).clock(ManualClock::new(now()));
        let req = parts(&[
            ("x-signature-ed25519", good.clone()),
            ("x-signature-timestamp", ts.clone()),
        ]);
        let (result, done) = measured(|| ready(layer.verifier().verify(&req, BODY)));
        assert_eq!(result.err().map(|r| r.kind()), outcome, "{case}");
        assert_eq!(done, expected, "{case} {outcome:?}");
    }
}

/// Standard Webhooks: each `v1a` entry is one verification per candidate public key; a `v1`
/// beside it one MAC per candidate secret; the same for every key, whichever kinds it holds.
#[test]
fn standard_v1a_every_key_costs_the_same_work() {
    let ts = NOW_MS / 1000;
    let id = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
    let v1a = format!(
        "v1a,{}",
        standard::signature_v1a(&ed25519_key(), id, ts, BODY)
    );
    let v1 = format!("v1,{}", standard::signature(&secret(), id, ts, BODY));
    let headers = [
        // One v1a: one verification.
        (v1a.clone(), 0, 1),
        // Two v1a (the same, twice): two.
        (format!("{v1a} {v1a}"), 0, 2),
        // A v1 and a v1a: one MAC and one verification.
        (format!("{v1} {v1a}"), 1, 1),
    ];
    for (header, macs, signatures) in headers {
        let expected = Work {
            macs,
            body_bytes: (macs + signatures) * BODY.len() as u64,
            secret_compares: 0,
            signatures,
        };
        for (case, key, outcome) in ed25519_keys("standard") {
            // With a v1 the key of secrets verifies it.
            let outcome = match (case, macs) {
                ("secrets only", 1) => None,
                _ => outcome,
            };
            let layer = StandardVerifyLayer::new(store_of(key)).clock(ManualClock::new(now()));
            let req = parts(&[
                ("webhook-id", id.to_owned()),
                ("webhook-timestamp", ts.to_string()),
                ("webhook-signature", header.clone()),
            ]);
            let (result, done) = measured(|| ready(layer.verifier().verify(&req, BODY)));
            assert_eq!(result.err().map(|r| r.kind()), outcome, "{case} {header}");
            assert_eq!(done, expected, "{case} {header}");
        }
    }
    // A key in rotation (two live public keys) costs two verifications per signature.
    let old = Ed25519PrivateKey::from_hex(
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    )
    .unwrap();
    let rotating = Key::new("standard", old.public_key())
        .with_secret(KeySecret::new(ed25519_key().public_key()));
    let layer = StandardVerifyLayer::new(rotating).clock(ManualClock::new(now()));
    let req = parts(&[
        ("webhook-id", id.to_owned()),
        ("webhook-timestamp", ts.to_string()),
        ("webhook-signature", v1a.clone()),
    ]);
    let (result, done) = measured(|| ready(layer.verifier().verify(&req, BODY)));
    assert!(result.is_ok());
    assert_eq!((done.signatures, done.macs), (2, 0));
}

/// A scheme naming its key in the headers (`X-Key-Id`) and proving with an Ed25519 signature
/// (`X-Sig`, hex) of `"{id}.{body}"`.
#[derive(Clone)]
struct Named;

impl tower_hmac::Scheme for Named {
    type Credentials = String;
    type Identity = ();
    type Body = tower_hmac::BodySigned;

    fn name(&self) -> &'static str {
        "named"
    }

    fn credentials(
        &self,
        request: &Parts,
    ) -> Result<tower_hmac::Presented<String>, tower_hmac::Rejection> {
        use tower_hmac::pipeline::headers::single;
        let id = single(
            request,
            &http::HeaderName::from_static("x-key-id"),
            "X-Key-Id",
        )?;
        let signature = single(request, &http::HeaderName::from_static("x-sig"), "X-Sig")?;
        let signature = tower_hmac::crypto::Ed25519Signature::from_hex(signature.as_bytes())
            .map_err(|_| tower_hmac::Rejection::malformed("X-Sig must be 128 hex digits"))?;
        Ok(tower_hmac::Presented::ed25519(id.to_owned(), signature))
    }

    fn key_id<'c>(&self, id: &'c String) -> Option<&'c str> {
        Some(id)
    }

    fn message(&self, id: &String, body: &[u8], message: &mut tower_hmac::crypto::Message<'_>) {
        message.write(id.as_bytes());
        message.write(b".");
        message.write(body);
    }

    fn identity(&self, _: String, _: Option<&tower_hmac::MatchedSecret>) {}
}

/// A key named in the headers and refused before the body is read (unknown, revoked, expired)
/// gets its body hashed as it streams by and one verification per public key and signature: the
/// work of a live key's check.
#[test]
fn a_key_named_in_the_headers_and_refused_early_costs_a_verification() {
    let public = ed25519_key().public_key();
    let before = now() - Duration::from_secs(1);
    let keys = MemoryKeyStore::new()
        .with(Key::new("live", public))
        .with(Key::new("revoked", public).revoked())
        .with(Key::new("expired", public).expires_at(before))
        .with(Key::new("secret-only", secret()));
    let layer = tower_hmac::VerifyLayer::with_scheme(Named, keys).clock(ManualClock::new(now()));
    let expected = Work {
        macs: 0,
        body_bytes: BODY.len() as u64,
        secret_compares: 0,
        signatures: 1,
    };
    for (id, outcome) in [
        ("live", None),
        ("unknown", Some(RejectionKind::UnknownKey)),
        ("revoked", Some(RejectionKind::KeyRevoked)),
        ("expired", Some(RejectionKind::KeyExpired)),
        ("secret-only", Some(RejectionKind::InvalidSignature)),
    ] {
        let signature = ed25519_key().sign(&[id.as_bytes(), b".", BODY].concat());
        let req = parts(&[("x-key-id", id.to_owned()), ("x-sig", signature.to_hex())]);
        let (result, done) = measured(|| ready(layer.verifier().verify(&req, BODY)));
        assert_eq!(result.err().map(|r| r.kind()), outcome, "{id}");
        assert_eq!(done, expected, "{id} {outcome:?}");
    }
}

/// A signature that strict verification refuses before hashing anything (here its `S` is not
/// reduced) costs the same for every key: its checks, and no hash of the body, whether the key is
/// live (its check stops there) or refused before the body is read (the work spent in its stead
/// stops there too).
#[test]
fn a_signature_refused_before_hashing_costs_no_hash_for_any_key() {
    let public = ed25519_key().public_key();
    let keys = MemoryKeyStore::new()
        .with(Key::new("live", public))
        .with(Key::new("revoked", public).revoked());
    let layer = tower_hmac::VerifyLayer::with_scheme(Named, keys).clock(ManualClock::new(now()));
    let expected = Work {
        macs: 0,
        body_bytes: 0,
        secret_compares: 0,
        signatures: 1,
    };
    for (id, kind) in [
        ("live", RejectionKind::InvalidSignature),
        ("unknown", RejectionKind::UnknownKey),
        ("revoked", RejectionKind::KeyRevoked),
    ] {
        let mut signature = *ed25519_key()
            .sign(&[id.as_bytes(), b".", BODY].concat())
            .as_bytes();
        // The top byte of `S`: far above the group order.
        signature[63] = 0xff;
        let signature = tower_hmac::crypto::Ed25519Signature::from_bytes(signature);
        let req = parts(&[("x-key-id", id.to_owned()), ("x-sig", signature.to_hex())]);
        let (result, done) = measured(|| ready(layer.verifier().verify(&req, BODY)));
        assert_eq!(result.unwrap_err().kind(), kind, "{id}");
        assert_eq!(done, expected, "{id}");
    }
}

/// Refusals decided from the headers alone (a signature of the wrong length, a stale timestamp)
/// do no verification, for known and unknown keys alike.
#[test]
fn ed25519_header_refusals_do_no_work() {
    let stale = (NOW_MS / 1000 - 301).to_string();
    let good = discord::signature(&ed25519_key(), &stale, BODY);
    for (case, key, _) in ed25519_keys("discord").into_iter().take(2) {
        let layer = DiscordVerifyLayer::new(store_of(key)).clock(ManualClock::new(now()));
        for (signature, ts, kind) in [
            (good.clone(), stale.clone(), RejectionKind::StaleTimestamp),
            (
                good[..126].to_owned(),
                (NOW_MS / 1000).to_string(),
                RejectionKind::MalformedCredentials,
            ),
        ] {
            let req = parts(&[
                ("x-signature-ed25519", signature),
                ("x-signature-timestamp", ts),
            ]);
            let (result, done) = measured(|| ready(layer.verifier().verify(&req, BODY)));
            assert_eq!(result.unwrap_err().kind(), kind, "{case}");
            assert_eq!(done, Work::default(), "{case}");
        }
    }
}
