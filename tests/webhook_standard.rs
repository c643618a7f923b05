//! Standard Webhooks (Svix): the vectors of the `standardwebhooks` libraries (npm and PyPI), and
//! the cases every webhook scheme passes, on loopback.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::send;
use common::webhooks::{
    PAYLOAD, Setup, Verdict, assert_duplicate, assert_handled, assert_refused, check_vectors, copy,
    payload_only,
};
use tower_hmac::standard::{StandardVerifyLayer, StandardWebhooks, secret, signature};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn setup() -> Setup<StandardWebhooks> {
    Setup {
        scheme: StandardWebhooks::default(),
        layer: |key| StandardVerifyLayer::new(key),
        secret: secret(SECRET).unwrap(),
        window: Some(Duration::from_secs(300)),
        body: payload_only,
    }
}

webhook_matrix!(setup());

/// `tests/vectors/webhooks/standardwebhooks.json`, made by `standardwebhooks` 1.1.1 (npm) and
/// 1.1.0 (PyPI) (`generator.command` says how). Where the two libraries disagree this layer is
/// the stricter; a representation of the right signature that only HTTP changes is read.
#[tokio::test]
async fn sdk_vectors() {
    use Verdict::*;
    let malformed = Refuse("malformed_credentials");
    let mismatch = Refuse("invalid_credentials");
    let window = Refuse("timestamp_out_of_window");
    check_vectors(
        &setup(),
        "standardwebhooks.json",
        |s| secret(s).unwrap(),
        &[
            ("library_test_vector", Accept),
            ("json_body", Accept),
            ("non_ascii_utf8_body", Accept),
            ("empty_body", Accept),
            // The JS library signed the lossily decoded text, not the bytes sent.
            ("non_utf8_body_sdk_signed", mismatch),
            // The HMAC of the raw bytes, which neither library can verify.
            ("non_utf8_body_raw_bytes_hmac", Accept),
            ("rotation_two_signatures", Accept),
            ("rotation_verified_with_other_secret", Accept),
            ("with_v1a_and_unknown_versions", Accept),
            ("secret_without_whsec_prefix", Accept),
            ("header_names_mixed_case", Accept),
            ("ts_300s_old_ok", Accept),
            ("neg_ts_301s_old", window),
            ("ts_300s_future_ok", Accept),
            ("neg_ts_301s_future", window),
            // Both libraries floor "1763800000.5"; the specification's timestamp is an integer.
            ("ts_fractional_header_normalised", malformed),
            // Signed as its decimal value, as both libraries do.
            ("ts_leading_zero_normalised", Accept),
            ("neg_ts_non_numeric", malformed),
            ("neg_tampered_body", mismatch),
            ("neg_wrong_secret", mismatch),
            ("neg_wrong_msg_id", mismatch),
            ("neg_truncated_signature_4chars", malformed),
            ("neg_truncated_signature_1char", malformed),
            // The empty signature svix-webhooks once accepted (PR 1190).
            ("neg_empty_signature_v1_comma", malformed),
            ("neg_signature_v1_no_comma", malformed),
            ("neg_signature_header_empty", malformed),
            // The Python library drops the stray character and accepts.
            ("junk_char_inside_base64", malformed),
            ("neg_unpadded_base64", malformed),
            ("neg_uppercase_version", malformed),
            // "v1,<sig>," is not base64: the JS library cuts at the comma, Python raises.
            ("comma_space_separated_list", malformed),
            // An empty entry between two spaces signs nothing (JS accepts, Python raises).
            ("double_space_separator", Accept),
            // Svix's own header names are read too (the svix libraries do; standardwebhooks not).
            ("neg_svix_branded_headers_only", Accept),
            ("neg_missing_webhook_id", Refuse("missing_credentials")),
        ],
    )
    .await;
}

/// The signed `webhook-id` is what recognises a copy: a copy re-signed at another time (as a
/// sender's retry is) is a duplicate, and the handler sees the id marked signed.
#[tokio::test]
async fn a_retry_signed_anew_is_the_same_delivery() {
    let setup = setup();
    let receiver = setup.receiver().await;
    let (first, body) = setup.delivery(&receiver.url(), PAYLOAD);
    assert_handled(
        &send(receiver.addr, copy(&first, &body, &[])).await,
        body.len(),
    );
    // The retry: same id, a later timestamp, so another signature.
    let id = first.headers()["webhook-id"].to_str().unwrap().to_owned();
    let later = common::now_ms() / 1000 + 30;
    let retried = format!("v1,{}", signature(&setup.secret, &id, later, &body));
    let retry = copy(
        &first,
        &body,
        &[
            ("webhook-timestamp", &later.to_string()),
            ("webhook-signature", &retried),
        ],
    );
    assert_ne!(
        retry.headers()["webhook-signature"],
        first.headers()["webhook-signature"]
    );
    assert_duplicate(&send(receiver.addr, retry).await);
    let handled = receiver.handled();
    assert_eq!(handled.len(), 1);
    assert_eq!(handled[0].id.as_deref(), Some(id.as_str()));
}

#[tokio::test]
async fn svix_header_names_verify_and_webhook_names_win() {
    let setup = setup();
    let receiver = setup.receiver().await;
    let (request, body) = setup.delivery(&receiver.url(), PAYLOAD);
    let mut svix = http::Request::post(receiver.url());
    for name in ["id", "timestamp", "signature"] {
        svix = svix.header(
            format!("svix-{name}"),
            request.headers()[format!("webhook-{name}").as_str()].clone(),
        );
    }
    let svix = svix.body(http_body_util::Full::from(body.clone())).unwrap();
    assert_handled(&send(receiver.addr, svix).await, body.len());
    // Both sets present: the webhook- ones are read (a forged svix- set changes nothing).
    let mut both = copy(&request, &body, &[("svix-signature", "v1,AAAA")]);
    both.headers_mut()
        .insert("x-test-status", "200".parse().unwrap());
    assert_duplicate(&send(receiver.addr, both).await);
}

#[tokio::test]
async fn a_long_or_spaced_webhook_id_is_malformed() {
    let setup = setup();
    let receiver = setup.receiver().await;
    for id in ["a b".to_owned(), "x".repeat(257)] {
        let (request, body) = setup.delivery(&receiver.url(), PAYLOAD);
        let request = copy(&request, &body, &[("webhook-id", &id)]);
        let reply = send(receiver.addr, request).await;
        assert_refused(&reply, StatusCode::UNAUTHORIZED, "malformed_credentials");
    }
}
