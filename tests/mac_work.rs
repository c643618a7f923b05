//! An unknown key id costs the same MAC work as a known one (DESIGN §3.4).
//!
//! The verifier's work is counted per thread by `tower_hmac::crypto::work` (feature `__count-work`,
//! enabled for the tests only): HMAC computations finished, body bytes fed to them and presented
//! secrets compared. `#[tokio::test]` runs each test on one thread, so the counts are the
//! request's own.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::FutureExt as _;
use http::Request;
use http::request::Parts;
use tower_hmac::crypto::work::{self, Work};
use tower_hmac::humanos::{self, HumanosVerifyLayer};
use tower_hmac::inqud::{self, InqudVerifyLayer};
use tower_hmac::proficient::{ProficientHmac, ProficientVerifyLayer, user_hmac};
use tower_hmac::spike::{SpikeExchange, SpikeTokenKeys, sign_user};
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
                secret_compares: 0
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
