//! Stripe webhooks: the vectors of stripe-node's `generateTestHeaderString` and `constructEvent`,
//! and the cases every webhook scheme passes, on loopback.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::send;
use common::webhooks::{
    PAYLOAD, Setup, Verdict, assert_handled, assert_refused, check_vectors, payload_only,
};
use tower_hmac::Secret;
use tower_hmac::stripe::{Stripe, StripeVerifyLayer, signature};

const SECRET: &str = "whsec_test_secret";

fn setup() -> Setup<Stripe> {
    Setup {
        scheme: Stripe::default(),
        layer: |key| StripeVerifyLayer::new(key),
        secret: Secret::new(SECRET).unwrap(),
        window: Some(Duration::from_secs(300)),
        body: payload_only,
    }
}

webhook_matrix!(setup());

/// `tests/vectors/webhooks/stripe.json`, made by stripe-node 23.1.0 (`generator.command` says
/// how). Where stripe-node's parser is lax (a `t` it half-parses, a future `t`), this layer is
/// strict; where it refuses a representation of the right signature, this layer reads it.
#[tokio::test]
async fn sdk_vectors() {
    use Verdict::*;
    let malformed = Refuse("malformed_credentials");
    let mismatch = Refuse("invalid_credentials");
    let window = Refuse("timestamp_out_of_window");
    check_vectors(
        &setup(),
        "stripe.json",
        |s| Secret::new(s).unwrap(),
        &[
            ("json_body", Accept),
            ("json_body_string_payload", Accept),
            ("non_ascii_utf8_body", Accept),
            // "{t}." signed; stripe-node refuses an empty payload as a usage error.
            ("empty_body", Accept),
            ("empty_body_as_empty_buffer", Accept),
            // stripe-node signed the lossily decoded text, not the bytes sent: the raw bytes do not
            // match (Stripe itself signs the bytes it sends).
            ("non_utf8_body_sdk_signed", mismatch),
            // The HMAC of the raw bytes, which stripe-node cannot verify.
            ("non_utf8_body_raw_bytes_hmac", Accept),
            ("rotation_two_v1_signatures", Accept),
            ("rotation_verify_with_old_secret", Accept),
            ("with_v0_scheme_present", Accept),
            ("scheme_order_v1_before_t", Accept),
            ("ts_age_300_ok", Accept),
            ("neg_ts_age_301", window),
            // A day ahead: stripe-node checks only the past; every window here is two-sided.
            ("ts_in_future_accepted", window),
            // stripe-node turns the check off with a tolerance of 0; this layer has no such switch.
            ("ts_old_tolerance_zero_disables", window),
            // Signed as its decimal value, as stripe-node does.
            ("ts_leading_zero_normalised", Accept),
            // stripe-node's parseInt stops at the first non-digit; `t` must be digits here.
            ("ts_trailing_garbage_accepted", malformed),
            // Two `t`: stripe-node keeps the last, stripe-python the first; refused here.
            ("ts_duplicate_last_wins", malformed),
            ("ts_non_numeric_NaN_quirk", malformed),
            ("neg_tampered_body", mismatch),
            ("neg_wrong_secret", mismatch),
            ("neg_truncated_signature", malformed),
            ("neg_empty_signature_v1_eq", malformed),
            ("neg_empty_signature_v1_no_eq", malformed),
            ("neg_empty_header", malformed),
            ("neg_only_v0", malformed),
            // The right signature in upper-case hex: the same 32 bytes (stripe-node compares text).
            ("neg_uppercase_hex", Accept),
            // Spaces around items sign nothing; stripe-node reads " v1" as another scheme.
            ("neg_space_after_comma", Accept),
            ("space_before_t_value", Accept),
            ("neg_missing_t", malformed),
            ("neg_uppercase_keys", malformed),
            // The key is the whole `whsec_...` string.
            ("neg_secret_without_prefix", mismatch),
        ],
    )
    .await;
}

/// Of several `v1`, one matching verifies (Stripe sends one per live secret while a secret is
/// rolled), in any position; none matching is a mismatch.
#[tokio::test]
async fn one_matching_v1_of_several_verifies() {
    let receiver = setup().receiver().await;
    let secret = Secret::new(SECRET).unwrap();
    let other = Secret::new("whsec_other").unwrap();
    let t = common::now_ms() / 1000;
    let send_signed = |body: String, header: String| {
        let request = http::Request::post(receiver.url())
            .header("stripe-signature", header)
            .body(http_body_util::Full::from(body))
            .unwrap();
        send(receiver.addr, request)
    };
    // Distinct bodies, distinct deliveries: neither is a copy of another.
    for (n, good_first) in [(1, true), (2, false)] {
        let body = format!(r#"{{"n":{n}}}"#);
        let good = signature(&secret, t, body.as_bytes());
        let bad = signature(&other, t, body.as_bytes());
        let header = if good_first {
            format!("t={t},v1={good},v1={bad}")
        } else {
            format!("t={t},v1={bad},v1={good}")
        };
        assert_handled(&send_signed(body.clone(), header).await, body.len());
    }
    let bad = signature(&other, t, PAYLOAD);
    let body = String::from_utf8(PAYLOAD.to_vec()).unwrap();
    let reply = send_signed(body, format!("t={t},v1={bad},v1={bad}")).await;
    assert_refused(&reply, StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(receiver.handled().len(), 2);
}

/// A truncated `v1` beside a matching one is still a refusal: a header is read whole, strictly.
#[tokio::test]
async fn truncated_v1_beside_a_good_one_is_refused() {
    let setup = setup();
    let receiver = setup.receiver().await;
    let secret = Secret::new(SECRET).unwrap();
    let t = common::now_ms() / 1000;
    let good = signature(&secret, t, PAYLOAD);
    for extra in [
        "v1=".to_owned(),
        "v1".to_owned(),
        format!("v1={}", &good[..63]),
    ] {
        let request = http::Request::post(receiver.url())
            .header("stripe-signature", format!("t={t},v1={good},{extra}"))
            .body(http_body_util::Full::from(PAYLOAD))
            .unwrap();
        let reply = send(receiver.addr, request).await;
        assert_refused(&reply, StatusCode::UNAUTHORIZED, "malformed_credentials");
    }
    assert!(receiver.handled().is_empty());
}
