//! Inqud: the doc's own vectors, both modes, per-token modes, salts and replays, through
//! `Verifier::verify` and through axum servers on loopback.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use axum::Router;
use axum::routing::{get, post};
use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, Method, Request, StatusCode};
use http_body_util::Full;
use serde_json::Value;
use tower_hmac::inqud::{self, InqudCaller, InqudMode, InqudModes, InqudVerifyLayer};
use tower_hmac::replay::CompactReplayStore;
use tower_hmac::{
    BoxFuture, Key, KeySecret, KeyStore, ManualClock, MemoryKeyStore, MokaReplayStore, Rejection,
    RejectionKind, ReplayKey, ReplayStore, Secret, StoreError, Verified,
};

use common::{Reply, send, serve_axum};

// From the vendor doc.
const TOKEN: &str = "TKN-6c1296b8-6929-443b-ac06-f732e0e27be1";
const SECRET: &str = "dBajIp3wHnw5euxohPiZvsCEorG3Fhl9gsHl1UIBlsImHjWRdSJdp4Gh6e3y2PNs";
const SALT: &str = "5f2b8e0c91d34a7f6e08b1c2d3e4f5a60718293a4b5c6d7e8f90a1b2c3d4e5f6";
const PAYOUT: &str = r#"{"amount": 50, "cardNumber": "5555555555554444", "firstName": "John", "lastName": "Doe", "phoneNumber": "+111111111111", "method": "CC_VISAMC", "currency": "USD"}"#;

const INVALID: &[u8] =
    br#"{"error":"invalid_credentials","message":"the key or the signature is not valid"}"#;
const REPLAYED: &[u8] = br#"{"error":"replayed","message":"this request was already used"}"#;
const BOTH_MODES: &[u8] = br#"{"error":"malformed_credentials","message":"send either X-Token-API-Secret (simple mode) or X-HMAC-SHA256-Signature and X-Salt (HMAC mode), not both"}"#;
const NO_MODE: &[u8] = br#"{"error":"missing_credentials","message":"missing X-Token-API-Secret header (simple mode) or X-HMAC-SHA256-Signature and X-Salt headers (HMAC mode)"}"#;
const SIMPLE_NOT_ALLOWED: &[u8] = br#"{"error":"not_allowed","message":"this token may not use X-Token-API-Secret; sign the request with X-HMAC-SHA256-Signature and X-Salt"}"#;

fn secret(s: &str) -> Secret {
    Secret::new(s).unwrap()
}

fn doc_key() -> Key {
    Key::new(TOKEN, secret(SECRET))
}

fn layer_with(key: Key) -> InqudVerifyLayer {
    InqudVerifyLayer::new(MemoryKeyStore::new().with(key))
}

fn layer() -> InqudVerifyLayer {
    layer_with(doc_key())
}

fn sign(body: &[u8], salt: &str) -> String {
    inqud::signature(&secret(SECRET), body, salt)
}

/// Request parts with the given headers.
fn parts(method: Method, headers: &[(&str, &str)]) -> Parts {
    let mut req = Request::builder()
        .method(method)
        .uri("/v1/user/payments/payout");
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.body(()).unwrap().into_parts().0
}

fn hmac_parts(token: &str, signature: &str, salt: &str) -> Parts {
    parts(
        Method::POST,
        &[
            ("x-token-api-id", token),
            ("x-hmac-sha256-signature", signature),
            ("x-salt", salt),
        ],
    )
}

fn simple_parts(token: &str, secret: &str) -> Parts {
    parts(
        Method::GET,
        &[("x-token-api-id", token), ("x-token-api-secret", secret)],
    )
}

async fn verify(
    layer: &InqudVerifyLayer,
    parts: &Parts,
    body: &[u8],
) -> Result<Verified<InqudCaller>, Rejection> {
    layer.verifier().verify(parts, body).await
}

async fn refused(layer: &InqudVerifyLayer, parts: &Parts, body: &[u8]) -> Rejection {
    verify(layer, parts, body)
        .await
        .expect_err("request should be refused")
}

fn vectors() -> Value {
    serde_json::from_str(include_str!("vectors/inqud.json")).unwrap()
}

fn hex_body(v: &Value) -> Vec<u8> {
    const_hex::decode(v["body_hex"].as_str().unwrap()).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Vectors

#[test]
fn vectors_say_how_they_were_made_and_match_the_doc() {
    let v = vectors();
    assert_eq!(
        v["generated_by"],
        "python3 tests/vectors/inqud.py > tests/vectors/inqud.json"
    );
    assert_eq!(v["token_id"], TOKEN);
    assert_eq!(v["secret"], SECRET);
    let names: Vec<_> = v["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"doc GET balance, empty body"));
    assert!(names.contains(&"doc POST payout, json.dumps body"));
    assert!(names.contains(&"non-ASCII body sent as UTF-8"));
    // The POST vector is the doc's body exactly as json.dumps writes it.
    let post = &v["vectors"][1];
    assert_eq!(hex_body(post), PAYOUT.as_bytes());
    assert_eq!(post["salt"], SALT);
}

#[test]
fn signer_matches_the_python_vectors() {
    for v in vectors()["vectors"].as_array().unwrap() {
        let secret = secret(v["secret"].as_str().unwrap());
        let got = inqud::signature(&secret, &hex_body(v), v["salt"].as_str().unwrap());
        assert_eq!(got, v["signature"].as_str().unwrap(), "{}", v["name"]);
    }
}

#[tokio::test]
async fn python_vectors_are_accepted() {
    for v in vectors()["vectors"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        let method: Method = v["method"].as_str().unwrap().parse().unwrap();
        let salt = v["salt"].as_str().unwrap();
        let layer = layer_with(Key::new(
            v["token_id"].as_str().unwrap(),
            secret(v["secret"].as_str().unwrap()),
        ));
        let request = parts(
            method,
            &[
                ("x-token-api-id", v["token_id"].as_str().unwrap()),
                ("x-hmac-sha256-signature", v["signature"].as_str().unwrap()),
                ("x-salt", salt),
            ],
        );
        let verified = verify(&layer, &request, &hex_body(v))
            .await
            .unwrap_or_else(|r| panic!("{name}: {r}"));
        assert_eq!(verified.key_id(), TOKEN, "{name}");
        assert_eq!(verified.identity().mode(), InqudMode::Hmac, "{name}");
        assert_eq!(verified.identity().salt(), Some(salt), "{name}");
        assert_eq!(verified.secret().unwrap().index(), 0, "{name}");

        // Upper-case hex is the same signature; the salt is now used, though.
        let upper = v["signature"].as_str().unwrap().to_uppercase();
        let again = hmac_parts(TOKEN, &upper, salt);
        assert_eq!(
            refused(&layer, &again, &hex_body(v)).await.kind(),
            RejectionKind::Replayed,
            "{name}"
        );
    }
}

#[tokio::test]
async fn python_negative_vectors_are_refused() {
    for v in vectors()["negative"].as_array().unwrap() {
        let request = hmac_parts(
            TOKEN,
            v["signature"].as_str().unwrap(),
            v["salt"].as_str().unwrap(),
        );
        assert_eq!(
            refused(&layer(), &request, &hex_body(v)).await.kind(),
            RejectionKind::InvalidSignature,
            "{}",
            v["name"]
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Simple mode

#[tokio::test]
async fn simple_mode_with_the_doc_secret_is_accepted_and_repeatable() {
    let layer = layer();
    for _ in 0..2 {
        // No nonce in simple mode: the same request is accepted again.
        let verified = verify(&layer, &simple_parts(TOKEN, SECRET), b"")
            .await
            .unwrap();
        assert_eq!(verified.key_id(), TOKEN);
        assert_eq!(verified.identity().mode(), InqudMode::Simple);
        assert_eq!(verified.identity().salt(), None);
    }
}

#[tokio::test]
async fn simple_mode_refuses_wrong_secrets() {
    let layer = layer();
    let shorter = &SECRET[..SECRET.len() - 1];
    let longer = format!("{SECRET}x");
    let lower = SECRET.to_lowercase();
    for wrong in [shorter, &longer, &lower, "x", SECRET.get(1..).unwrap()] {
        assert_eq!(
            refused(&layer, &simple_parts(TOKEN, wrong), b"")
                .await
                .kind(),
            RejectionKind::InvalidSignature,
            "{wrong}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// HMAC mode

#[tokio::test]
async fn hmac_mode_refuses_wrong_secret_and_tampered_body() {
    let layer = layer();
    let other_secret = inqud::signature(&secret("another secret"), PAYOUT.as_bytes(), "s1");
    assert_eq!(
        refused(
            &layer,
            &hmac_parts(TOKEN, &other_secret, "s1"),
            PAYOUT.as_bytes()
        )
        .await
        .kind(),
        RejectionKind::InvalidSignature
    );
    let tampered = PAYOUT.replace("50", "5000");
    let signature = sign(PAYOUT.as_bytes(), "s2");
    assert_eq!(
        refused(
            &layer,
            &hmac_parts(TOKEN, &signature, "s2"),
            tampered.as_bytes()
        )
        .await
        .kind(),
        RejectionKind::InvalidSignature
    );
    // A signature for the right body but another salt.
    assert_eq!(
        refused(
            &layer,
            &hmac_parts(TOKEN, &signature, "s3"),
            PAYOUT.as_bytes()
        )
        .await
        .kind(),
        RejectionKind::InvalidSignature
    );
    // The untampered request with its own salt is still accepted: the failures recorded nothing.
    verify(
        &layer,
        &hmac_parts(TOKEN, &signature, "s2"),
        PAYOUT.as_bytes(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn missing_garbage_and_empty_credentials_are_refused() {
    let layer = layer();
    let good = sign(b"", "abc");
    let cases: Vec<(Parts, RejectionKind, &str)> = vec![
        (
            parts(
                Method::GET,
                &[
                    ("x-token-api-id", TOKEN),
                    ("x-hmac-sha256-signature", &good),
                ],
            ),
            RejectionKind::MissingCredentials,
            "missing X-Salt header",
        ),
        (
            parts(Method::GET, &[("x-token-api-id", TOKEN), ("x-salt", "abc")]),
            RejectionKind::MissingCredentials,
            "missing X-HMAC-SHA256-Signature header",
        ),
        (
            hmac_parts(TOKEN, "not-a-signature", "abc"),
            RejectionKind::MalformedCredentials,
            "X-HMAC-SHA256-Signature header must be 64 hex digits (HMAC-SHA256)",
        ),
        (
            hmac_parts(TOKEN, &"zz".repeat(32), "abc"),
            RejectionKind::MalformedCredentials,
            "X-HMAC-SHA256-Signature header must be 64 hex digits (HMAC-SHA256)",
        ),
        (
            hmac_parts(TOKEN, "", "abc"),
            RejectionKind::MalformedCredentials,
            "X-HMAC-SHA256-Signature header is empty",
        ),
        (
            simple_parts(TOKEN, ""),
            RejectionKind::MalformedCredentials,
            "X-Token-API-Secret header is empty",
        ),
        (
            parts(
                Method::GET,
                &[("x-token-api-secret", SECRET), ("x-salt", "abc")],
            ),
            RejectionKind::MissingCredentials,
            "missing X-Token-API-Id header",
        ),
        (
            simple_parts("6c1296b8-6929-443b-ac06-f732e0e27be1", SECRET),
            RejectionKind::MalformedCredentials,
            "X-Token-API-Id header must be a token id starting with TKN-, without spaces",
        ),
        (
            simple_parts("tkn-6c1296b8-6929-443b-ac06-f732e0e27be1", SECRET),
            RejectionKind::MalformedCredentials,
            "X-Token-API-Id header must be a token id starting with TKN-, without spaces",
        ),
    ];
    for (request, kind, message) in cases {
        let rejection = refused(&layer, &request, b"").await;
        assert_eq!((rejection.kind(), rejection.message()), (kind, message));
    }
}

#[tokio::test]
async fn both_modes_or_neither_are_refused_even_when_each_is_valid() {
    let layer = layer();
    let signature = sign(b"", "abc");
    let both = parts(
        Method::GET,
        &[
            ("x-token-api-id", TOKEN),
            ("x-token-api-secret", SECRET),
            ("x-hmac-sha256-signature", &signature),
            ("x-salt", "abc"),
        ],
    );
    let rejection = refused(&layer, &both, b"").await;
    assert_eq!(rejection.kind(), RejectionKind::MalformedCredentials);
    let neither = parts(Method::GET, &[("x-token-api-id", TOKEN)]);
    assert_eq!(
        refused(&layer, &neither, b"").await.kind(),
        RejectionKind::MissingCredentials
    );
    // Nothing was recorded: the salt is still usable on its own.
    verify(&layer, &hmac_parts(TOKEN, &signature, "abc"), b"")
        .await
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Tokens: unknown, revoked, expired, rotated

#[tokio::test]
async fn unknown_revoked_and_expired_tokens_are_refused_in_both_modes() {
    let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let keys = MemoryKeyStore::new()
        .with(Key::new("TKN-revoked", secret(SECRET)).revoked())
        .with(Key::new("TKN-expired", secret(SECRET)).expires_at(t0))
        .with(
            // A restricted mode does not change the answer for a revoked token.
            Key::new("TKN-revoked-hmac-only", secret(SECRET))
                .with_policy(InqudModes::HMAC_ONLY)
                .revoked(),
        );
    let layer = InqudVerifyLayer::new(keys).clock(ManualClock::new(t0 + Duration::from_secs(1)));
    let cases = [
        ("TKN-unknown", RejectionKind::UnknownKey),
        ("TKN-revoked", RejectionKind::KeyRevoked),
        ("TKN-expired", RejectionKind::KeyExpired),
        ("TKN-revoked-hmac-only", RejectionKind::KeyRevoked),
    ];
    for (n, (token, kind)) in cases.into_iter().enumerate() {
        // Correct secret and correct signature: refused all the same.
        let salt = format!("salt-{n}");
        let signature = sign(PAYOUT.as_bytes(), &salt);
        let hmac = refused(
            &layer,
            &hmac_parts(token, &signature, &salt),
            PAYOUT.as_bytes(),
        )
        .await;
        let simple = refused(&layer, &simple_parts(token, SECRET), b"").await;
        assert_eq!((hmac.kind(), simple.kind()), (kind, kind), "{token}");
        assert_eq!(hmac.message(), "the key or the signature is not valid");
        assert_eq!(simple.message(), "the key or the signature is not valid");
    }
    // The expired token was fine at t0.
    let at_t0 = InqudVerifyLayer::new(
        MemoryKeyStore::new().with(Key::new("TKN-expired", secret(SECRET)).expires_at(t0)),
    )
    .clock(ManualClock::new(t0));
    verify(&at_t0, &simple_parts("TKN-expired", SECRET), b"")
        .await
        .unwrap();
}

#[tokio::test]
async fn rotated_secrets_are_tried_in_both_modes() {
    let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let key = Key::from_secrets(
        TOKEN,
        [
            KeySecret::new(secret("old-secret")).not_after(t0),
            KeySecret::new(secret(SECRET)).label("2026"),
        ],
    );
    let clock = ManualClock::new(t0);
    let layer = layer_with(key).clock(clock.clone());

    let old = inqud::signature(&secret("old-secret"), b"", "r1");
    let verified = verify(&layer, &hmac_parts(TOKEN, &old, "r1"), b"")
        .await
        .unwrap();
    assert_eq!(verified.secret().unwrap().index(), 0);
    let verified = verify(&layer, &simple_parts(TOKEN, SECRET), b"")
        .await
        .unwrap();
    assert_eq!(verified.secret().unwrap().index(), 1);
    assert_eq!(verified.secret().unwrap().label(), Some("2026"));

    // After its end of life the old secret is refused in both modes.
    clock.advance(Duration::from_secs(1));
    let old = inqud::signature(&secret("old-secret"), b"", "r2");
    assert_eq!(
        refused(&layer, &hmac_parts(TOKEN, &old, "r2"), b"")
            .await
            .kind(),
        RejectionKind::InvalidSignature
    );
    assert_eq!(
        refused(&layer, &simple_parts(TOKEN, "old-secret"), b"")
            .await
            .kind(),
        RejectionKind::InvalidSignature
    );
}

// ---------------------------------------------------------------------------------------------
// Modes per token

#[tokio::test]
async fn modes_turned_off_per_token_are_not_allowed() {
    let keys = MemoryKeyStore::new()
        .with(Key::new("TKN-hmac", secret(SECRET)).with_policy(InqudModes::HMAC_ONLY))
        .with(Key::new("TKN-simple", secret(SECRET)).with_policy(InqudModes::SIMPLE_ONLY))
        .with(Key::new("TKN-both", secret(SECRET)).with_policy(InqudModes::BOTH))
        .with(Key::new("TKN-default", secret(SECRET)));
    let layer = InqudVerifyLayer::new(keys);

    let signed = |token: &str, salt: &str| hmac_parts(token, &sign(b"", salt), salt);

    // HMAC only.
    verify(&layer, &signed("TKN-hmac", "a"), b"").await.unwrap();
    let rejection = refused(&layer, &simple_parts("TKN-hmac", SECRET), b"").await;
    assert_eq!(rejection.kind(), RejectionKind::NotAllowed);
    assert_eq!(
        rejection.message(),
        "this token may not use X-Token-API-Secret; sign the request with \
         X-HMAC-SHA256-Signature and X-Salt"
    );
    // A wrong secret learns nothing about the policy.
    assert_eq!(
        refused(&layer, &simple_parts("TKN-hmac", "guess"), b"")
            .await
            .kind(),
        RejectionKind::InvalidSignature
    );

    // Simple only.
    verify(&layer, &simple_parts("TKN-simple", SECRET), b"")
        .await
        .unwrap();
    let rejection = refused(&layer, &signed("TKN-simple", "b"), b"").await;
    assert_eq!(rejection.kind(), RejectionKind::NotAllowed);
    assert_eq!(
        rejection.message(),
        "this token may not use X-HMAC-SHA256-Signature; send X-Token-API-Secret"
    );
    let wrong = inqud::signature(&secret("guess"), b"", "c");
    assert_eq!(
        refused(&layer, &hmac_parts("TKN-simple", &wrong, "c"), b"")
            .await
            .kind(),
        RejectionKind::InvalidSignature
    );

    // Both, explicitly or by default.
    for token in ["TKN-both", "TKN-default"] {
        verify(&layer, &signed(token, "d"), b"").await.unwrap();
        verify(&layer, &simple_parts(token, SECRET), b"")
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_refused_mode_still_uses_up_its_salt() {
    let keys = MemoryKeyStore::new()
        .with(Key::new(TOKEN, secret(SECRET)).with_policy(InqudModes::SIMPLE_ONLY));
    let layer = InqudVerifyLayer::new(keys.clone());
    let request = hmac_parts(TOKEN, &sign(b"", "observed"), "observed");
    assert_eq!(
        refused(&layer, &request, b"").await.kind(),
        RejectionKind::NotAllowed
    );
    // HMAC is turned on later: the request refused earlier cannot be replayed.
    keys.insert(Key::new(TOKEN, secret(SECRET)).with_policy(InqudModes::BOTH));
    assert_eq!(
        refused(&layer, &request, b"").await.kind(),
        RejectionKind::Replayed
    );
    verify(
        &layer,
        &hmac_parts(TOKEN, &sign(b"", "fresh"), "fresh"),
        b"",
    )
    .await
    .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Salts and replays

#[tokio::test]
async fn a_salt_is_accepted_once_whatever_the_body() {
    let layer = layer();
    let first = sign(PAYOUT.as_bytes(), SALT);
    verify(&layer, &hmac_parts(TOKEN, &first, SALT), PAYOUT.as_bytes())
        .await
        .unwrap();
    // Exactly the same request.
    assert_eq!(
        refused(&layer, &hmac_parts(TOKEN, &first, SALT), PAYOUT.as_bytes())
            .await
            .kind(),
        RejectionKind::Replayed
    );
    // Another body, correctly signed with the same salt.
    let other = br#"{"amount": 1}"#;
    let second = sign(other, SALT);
    assert_eq!(
        refused(&layer, &hmac_parts(TOKEN, &second, SALT), other)
            .await
            .kind(),
        RejectionKind::Replayed
    );
    // A GET with the same salt.
    let get = sign(b"", SALT);
    assert_eq!(
        refused(&layer, &hmac_parts(TOKEN, &get, SALT), b"")
            .await
            .kind(),
        RejectionKind::Replayed
    );
}

/// Regression (found by the property tests): the message is `body ++ salt` with nothing between,
/// so a captured request stays validly signed when bytes move across that boundary, and each such
/// re-split carries a salt never seen before. A captured GET (empty body, 64-digit salt) could be
/// replayed 63 more times, its handler ignoring the body. The verified MAC is now recorded with the
/// salt, so every re-split is a replay.
#[tokio::test]
async fn moving_bytes_between_body_and_salt_is_a_replay() {
    let layer = layer();
    let get = sign(b"", SALT);
    verify(&layer, &hmac_parts(TOKEN, &get, SALT), b"")
        .await
        .unwrap();
    for k in 1..SALT.len() {
        let (into_body, rest) = SALT.split_at(k);
        assert_eq!(
            refused(&layer, &hmac_parts(TOKEN, &get, rest), into_body.as_bytes())
                .await
                .kind(),
            RejectionKind::Replayed,
            "{k} salt characters moved into the body"
        );
    }

    // A POST: its body's last characters moved into the salt, or the salt's first into the body.
    let body = b"amount=50&currency=USD";
    let post = sign(body, "fresh-salt");
    verify(&layer, &hmac_parts(TOKEN, &post, "fresh-salt"), body)
        .await
        .unwrap();
    assert_eq!(
        refused(
            &layer,
            &hmac_parts(TOKEN, &post, "USDfresh-salt"),
            &body[..19]
        )
        .await
        .kind(),
        RejectionKind::Replayed
    );
    assert_eq!(
        refused(
            &layer,
            &hmac_parts(TOKEN, &post, "resh-salt"),
            b"amount=50&currency=USDf"
        )
        .await
        .kind(),
        RejectionKind::Replayed
    );
    // Another salt signed by the token's holder is still a new request.
    verify(
        &layer,
        &hmac_parts(TOKEN, &sign(body, "other-salt"), "other-salt"),
        body,
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn salts_are_per_token() {
    let keys = MemoryKeyStore::new()
        .with(Key::new("TKN-a", secret("secret-a")))
        .with(Key::new("TKN-b", secret("secret-b")));
    let layer = InqudVerifyLayer::new(keys);
    for (token, key) in [("TKN-a", "secret-a"), ("TKN-b", "secret-b")] {
        let signature = inqud::signature(&secret(key), b"", SALT);
        verify(&layer, &hmac_parts(token, &signature, SALT), b"")
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn salts_are_recorded_only_after_the_signature_verified() {
    let layer = layer();
    let bad = inqud::signature(&secret("attacker"), b"", SALT);
    for token in [TOKEN, "TKN-unknown"] {
        refused(&layer, &hmac_parts(token, &bad, SALT), b"").await;
    }
    // Neither the bad signature nor the unknown token burned the salt.
    verify(&layer, &hmac_parts(TOKEN, &sign(b"", SALT), SALT), b"")
        .await
        .unwrap();
}

/// Regression: neither the salt nor the MAC is recorded before the MAC verified. The genuine
/// signature and salt over a tampered body are refused and must not burn the salt, or anyone who
/// captures a request could block it by sending it first with another body: the genuine request
/// after them still passes (and then only once). The existing test above sends a wrong signature.
#[tokio::test]
async fn nonce_is_recorded_only_after_the_mac_verified() {
    let layer = layer();
    let genuine = hmac_parts(TOKEN, &sign(PAYOUT.as_bytes(), SALT), SALT);
    let tampered = PAYOUT.replace("\"amount\": 50", "\"amount\": 5000");
    assert_ne!(tampered, PAYOUT);

    let refusal = refused(&layer, &genuine, tampered.as_bytes()).await;
    assert_eq!(refusal.kind(), RejectionKind::InvalidSignature);
    verify(&layer, &genuine, PAYOUT.as_bytes())
        .await
        .expect("the genuine request after a tampered copy must pass");
    let again = refused(&layer, &genuine, PAYOUT.as_bytes()).await;
    assert_eq!(again.kind(), RejectionKind::Replayed);
}

#[tokio::test]
async fn salt_validation() {
    let layer = layer();
    let longest = "s".repeat(inqud::MAX_SALT_LEN);
    verify(
        &layer,
        &hmac_parts(TOKEN, &sign(b"", &longest), &longest),
        b"",
    )
    .await
    .unwrap();
    let printable = "!\"#$%&'()*+,-./0123456789:;<=>?@AZ[\\]^_`az{|}~";
    verify(
        &layer,
        &hmac_parts(TOKEN, &sign(b"", printable), printable),
        b"",
    )
    .await
    .unwrap();

    let too_long = "s".repeat(inqud::MAX_SALT_LEN + 1);
    let cases: [(&[u8], &str); 5] = [
        (
            too_long.as_bytes(),
            "X-Salt header must be at most 256 characters",
        ),
        (
            b"two words",
            "X-Salt header must be visible ASCII characters without spaces",
        ),
        (b"", "X-Salt header is empty"),
        (b"   ", "X-Salt header is empty"),
        (b"caf\xc3\xa9", "X-Salt header must be printable ASCII"),
    ];
    for (salt, message) in cases {
        let mut request = hmac_parts(TOKEN, &sign(b"", "x"), "x");
        request
            .headers
            .insert("x-salt", HeaderValue::from_bytes(salt).unwrap());
        let rejection = refused(&layer, &request, b"").await;
        assert_eq!(
            (rejection.kind(), rejection.message()),
            (RejectionKind::MalformedCredentials, message),
            "{salt:?}"
        );
    }
    // A repeated X-Salt is ambiguous.
    let mut request = hmac_parts(TOKEN, &sign(b"", "x"), "x");
    request
        .headers
        .append("x-salt", HeaderValue::from_static("y"));
    assert_eq!(
        refused(&layer, &request, b"").await.message(),
        "X-Salt header appears more than once"
    );
}

#[tokio::test]
async fn salt_ttl_bounds_how_long_a_salt_is_remembered() {
    assert_eq!(
        InqudVerifyLayer::new(MemoryKeyStore::new())
            .salt_ttl(Duration::ZERO)
            .unwrap_err()
            .to_string(),
        "the salt TTL must not be zero: salts are Inqud's only replay protection"
    );
    assert_eq!(
        layer().verifier().scheme().salt_ttl(),
        Duration::from_secs(24 * 60 * 60)
    );

    // The store counts the TTL on a clock the test moves, so nothing races the wall clock.
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_800_000_000));
    let layer = layer()
        .salt_ttl(Duration::from_millis(100))
        .unwrap()
        .replay_store(MokaReplayStore::new().clock(clock.clone()));
    assert_eq!(
        layer.verifier().scheme().salt_ttl(),
        Duration::from_millis(100)
    );
    let request = hmac_parts(TOKEN, &sign(b"", SALT), SALT);
    verify(&layer, &request, b"").await.unwrap();
    clock.advance(Duration::from_millis(99));
    assert_eq!(
        refused(&layer, &request, b"").await.kind(),
        RejectionKind::Replayed
    );
    // Past the TTL the salt is forgotten and the same request is accepted again, as documented.
    clock.advance(Duration::from_millis(2));
    verify(&layer, &request, b"").await.unwrap();
}

/// Finding: the in-process stores recorded a request's salt, then its MAC, one by one; when the
/// MAC found no room the request got 503 but its salt stayed recorded, so the client's honest
/// retry, once there was room again, was refused as a replay. Now a refused check leaves nothing
/// recorded: the retry is accepted, in both in-process stores.
#[tokio::test]
async fn a_request_the_store_had_no_room_for_is_accepted_when_retried() {
    let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    for name in ["moka", "compact"] {
        let clock = ManualClock::new(t0);
        let store: Arc<dyn ReplayStore> = match name {
            "moka" => Arc::new(MokaReplayStore::with_capacity(3).clock(clock.clone())),
            _ => Arc::new(CompactReplayStore::with_capacity(3).clock(clock.clone())),
        };
        let layer = layer()
            .salt_ttl(Duration::from_secs(10))
            .unwrap()
            .replay_store(store);
        // Two entries: the salt and the MAC, until t0 + 10 s.
        verify(&layer, &hmac_parts(TOKEN, &sign(b"", "one"), "one"), b"")
            .await
            .unwrap();
        clock.advance(Duration::from_secs(9));
        let retried = hmac_parts(TOKEN, &sign(b"", "two"), "two");
        assert_eq!(
            refused(&layer, &retried, b"").await.kind(),
            RejectionKind::StoreUnavailable,
            "{name}"
        );
        // The first request's entries have expired: room for both of the second's.
        clock.advance(Duration::from_secs(2));
        verify(&layer, &retried, b"")
            .await
            .unwrap_or_else(|e| panic!("{name}: the retry was refused: {e}"));
        assert_eq!(
            refused(&layer, &retried, b"").await.kind(),
            RejectionKind::Replayed,
            "{name}"
        );
    }
}

#[tokio::test]
async fn the_replay_store_is_replaceable_and_shareable() {
    // A bounded store: full means 503, not forgetting salts. Each accepted request takes two
    // entries (its salt and its MAC).
    let layer = layer().replay_store(MokaReplayStore::with_capacity(2));
    verify(&layer, &hmac_parts(TOKEN, &sign(b"", "one"), "one"), b"")
        .await
        .unwrap();
    assert_eq!(
        refused(&layer, &hmac_parts(TOKEN, &sign(b"", "two"), "two"), b"")
            .await
            .kind(),
        RejectionKind::StoreUnavailable
    );

    // Two layers (say two routers) sharing one store share one salt history.
    let store = MokaReplayStore::new();
    let a = layer_with(doc_key()).replay_store(store.clone());
    let b = layer_with(doc_key()).replay_store(store.clone());
    let request = hmac_parts(TOKEN, &sign(b"", SALT), SALT);
    verify(&a, &request, b"").await.unwrap();
    assert_eq!(
        refused(&b, &request, b"").await.kind(),
        RejectionKind::Replayed
    );
    assert_eq!(store.len(), 2);
}

#[tokio::test]
async fn the_replay_keys_are_scheme_token_and_salt_then_the_mac() {
    struct Recording(std::sync::Mutex<Vec<ReplayKey>>);
    impl ReplayStore for Recording {
        fn insert_if_absent<'a>(
            &'a self,
            key: &'a ReplayKey,
            _ttl: Duration,
        ) -> BoxFuture<'a, Result<bool, StoreError>> {
            self.0.lock().unwrap().push(*key);
            Box::pin(std::future::ready(Ok(true)))
        }
    }
    let store = Arc::new(Recording(Default::default()));
    let layer = layer().replay_store(Arc::clone(&store));
    verify(&layer, &hmac_parts(TOKEN, &sign(b"", SALT), SALT), b"")
        .await
        .unwrap();
    // Simple mode has no nonce: nothing is recorded.
    verify(&layer, &simple_parts(TOKEN, SECRET), b"")
        .await
        .unwrap();
    // The salt, then the verified MAC (so that the same signed message cannot come back under
    // another salt).
    let recorded = store.0.lock().unwrap().clone();
    assert_eq!(recorded.len(), 2, "{recorded:?}");
    assert_eq!(recorded[0], ReplayKey::new("inqud", TOKEN, SALT.as_bytes()));
    assert_ne!(recorded[1], recorded[0]);
    assert_ne!(
        recorded[1],
        ReplayKey::new("inqud", TOKEN, &const_hex::decode(sign(b"", SALT)).unwrap())
    );
}

// ---------------------------------------------------------------------------------------------
// Failing stores

struct FailingKeys;

impl KeyStore for FailingKeys {
    fn get<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Option<Key>, StoreError>> {
        Box::pin(std::future::ready(Err(StoreError::new("database down"))))
    }
}

struct FailingReplay;

impl ReplayStore for FailingReplay {
    fn insert_if_absent<'a>(
        &'a self,
        _: &'a ReplayKey,
        _: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(std::future::ready(Err(StoreError::new("redis down"))))
    }
}

#[tokio::test]
async fn failing_stores_fail_closed() {
    let failing_keys = InqudVerifyLayer::new(FailingKeys);
    for request in [
        simple_parts(TOKEN, SECRET),
        hmac_parts(TOKEN, &sign(b"", SALT), SALT),
    ] {
        assert_eq!(
            refused(&failing_keys, &request, b"").await.kind(),
            RejectionKind::StoreUnavailable
        );
    }
    let layer = layer().replay_store(FailingReplay);
    assert_eq!(
        refused(&layer, &hmac_parts(TOKEN, &sign(b"", SALT), SALT), b"")
            .await
            .kind(),
        RejectionKind::StoreUnavailable
    );
    // Simple mode does not consult the replay store.
    verify(&layer, &simple_parts(TOKEN, SECRET), b"")
        .await
        .unwrap();
}

#[test]
fn debug_output_hides_secrets() {
    let printed = format!("{:?}", layer());
    assert!(!printed.contains(SECRET), "{printed}");
    assert!(printed.contains("replay_store: true"), "{printed}");
}

// ---------------------------------------------------------------------------------------------
// axum on loopback

/// The handler: who called, how, and the body it received.
async fn whoami(caller: Verified<InqudCaller>, body: String) -> String {
    let identity = caller.identity();
    format!(
        "{} {:?} {} {}",
        caller.key_id(),
        identity.mode(),
        identity.salt().unwrap_or("-"),
        body
    )
}

fn keys() -> MemoryKeyStore {
    MemoryKeyStore::new()
        .with(doc_key())
        .with(Key::new("TKN-hmac-only", secret(SECRET)).with_policy(InqudModes::HMAC_ONLY))
        .with(Key::new("TKN-revoked", secret(SECRET)).revoked())
}

fn routes() -> Router {
    Router::new()
        .route("/v1/user/wallet/balances", get(whoami))
        .route("/v1/user/payments/payout", post(whoami))
}

fn http_hmac(path: &str, token: &str, body: &'static str, salt: &str) -> Request<Full<Bytes>> {
    let method = if body.is_empty() { "GET" } else { "POST" };
    Request::builder()
        .method(method)
        .uri(path)
        .header("x-token-api-id", token)
        .header("x-hmac-sha256-signature", sign(body.as_bytes(), salt))
        .header("x-salt", salt)
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap()
}

fn http_simple(path: &str, token: &str, secret: &str) -> Request<Full<Bytes>> {
    Request::get(path)
        .header("x-token-api-id", token)
        .header("x-token-api-secret", secret)
        .body(Full::new(Bytes::new()))
        .unwrap()
}

fn assert_refused(reply: &Reply, body: &[u8]) {
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text());
    assert_eq!(
        reply.headers["www-authenticate"],
        "Inqud-Token realm=\"inqud\""
    );
    assert_eq!(reply.headers["content-type"], "application/json");
    assert_eq!(reply.body, body, "{}", reply.text());
}

async fn exercise(addr: std::net::SocketAddr) {
    let balances = "/v1/user/wallet/balances";
    let payout = "/v1/user/payments/payout";

    let reply = send(addr, http_hmac(payout, TOKEN, PAYOUT, SALT)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.text(), format!("{TOKEN} Hmac {SALT} {PAYOUT}"));

    let reply = send(addr, http_hmac(balances, TOKEN, "", "get-salt")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.text(), format!("{TOKEN} Hmac get-salt "));

    let reply = send(addr, http_simple(balances, TOKEN, SECRET)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.text(), format!("{TOKEN} Simple - "));

    // Replayed: the same salt, same or other body.
    assert_refused(
        &send(addr, http_hmac(payout, TOKEN, PAYOUT, SALT)).await,
        REPLAYED,
    );
    assert_refused(
        &send(addr, http_hmac(balances, TOKEN, "", SALT)).await,
        REPLAYED,
    );

    // Wrong secret, unknown and revoked tokens: one answer, byte for byte.
    assert_refused(
        &send(addr, http_simple(balances, TOKEN, "wrong")).await,
        INVALID,
    );
    assert_refused(
        &send(addr, http_simple(balances, "TKN-unknown", SECRET)).await,
        INVALID,
    );
    assert_refused(
        &send(addr, http_simple(balances, "TKN-revoked", SECRET)).await,
        INVALID,
    );
    assert_refused(
        &send(addr, http_hmac(payout, "TKN-revoked", PAYOUT, "r")).await,
        INVALID,
    );

    // Tampered body.
    let mut tampered = http_hmac(payout, TOKEN, PAYOUT, "t");
    *tampered.body_mut() = Full::new(Bytes::from_static(b"{\"amount\": 5000}"));
    assert_refused(&send(addr, tampered).await, INVALID);

    // Mode turned off for the token.
    assert_refused(
        &send(addr, http_simple(balances, "TKN-hmac-only", SECRET)).await,
        SIMPLE_NOT_ALLOWED,
    );
    let reply = send(addr, http_hmac(balances, "TKN-hmac-only", "", "h")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());

    // Both modes, and neither.
    let mut both = http_simple(balances, TOKEN, SECRET);
    both.headers_mut()
        .insert("x-salt", HeaderValue::from_static("b"));
    assert_refused(&send(addr, both).await, BOTH_MODES);
    let mut neither = http_simple(balances, TOKEN, SECRET);
    neither.headers_mut().remove("x-token-api-secret");
    assert_refused(&send(addr, neither).await, NO_MODE);

    // Missing salt.
    let mut no_salt = http_hmac(payout, TOKEN, PAYOUT, "m");
    no_salt.headers_mut().remove("x-salt");
    assert_refused(
        &send(addr, no_salt).await,
        br#"{"error":"missing_credentials","message":"missing X-Salt header"}"#,
    );
}

#[tokio::test]
async fn axum_router_layer() {
    let addr = serve_axum(routes().layer(InqudVerifyLayer::new(keys()))).await;
    exercise(addr).await;
    // The layer covers the fallback too.
    let reply = send(
        addr,
        Request::get("/nowhere").body(Full::default()).unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn axum_route_layer() {
    let addr = serve_axum(routes().route_layer(InqudVerifyLayer::new(keys()))).await;
    exercise(addr).await;
    // route_layer leaves unmatched paths alone.
    let reply = send(
        addr,
        Request::get("/nowhere").body(Full::default()).unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn oversized_bodies_are_413_for_known_and_unknown_tokens() {
    let layer = InqudVerifyLayer::new(keys()).body_limit(16);
    let addr = serve_axum(routes().layer(layer)).await;
    for token in [TOKEN, "TKN-unknown"] {
        let reply = send(
            addr,
            http_hmac("/v1/user/payments/payout", token, PAYOUT, token),
        )
        .await;
        assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE, "{token}");
        assert_eq!(reply.json()["error"], "payload_too_large");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_copies_of_one_request_are_accepted_once() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let app = Router::new()
        .route(
            "/v1/user/payments/payout",
            post(move |caller: Verified<InqudCaller>, body: String| {
                let counted = Arc::clone(&counted);
                async move {
                    counted.fetch_add(1, Ordering::SeqCst);
                    whoami(caller, body).await
                }
            }),
        )
        .layer(InqudVerifyLayer::new(keys()));
    let addr = serve_axum(app).await;

    let barrier = Arc::new(tokio::sync::Barrier::new(64));
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                let request = http_hmac("/v1/user/payments/payout", TOKEN, PAYOUT, SALT);
                barrier.wait().await;
                send(addr, request).await
            })
        })
        .collect();
    let mut ok = 0;
    let mut replayed = 0;
    for task in tasks {
        let reply = task.await.unwrap();
        match reply.status {
            StatusCode::OK => ok += 1,
            StatusCode::UNAUTHORIZED => {
                assert_eq!(reply.body, REPLAYED);
                assert_eq!(reply.json()["error"], "replayed");
                replayed += 1;
            }
            other => panic!("unexpected {other}: {}", reply.text()),
        }
    }
    assert_eq!((ok, replayed), (1, 63));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}
