//! Shopify webhooks: the vectors of `@shopify/shopify-api`'s `webhooks.validate` and test
//! helper, and the cases every webhook scheme passes, on loopback.

mod common;

use axum::http::StatusCode;
use common::send;
use common::webhooks::{
    PAYLOAD, Setup, Verdict, assert_handled, assert_refused, check_vectors, copy, payload_only,
};
use http::Request;
use http_body_util::Full;
use tower_hmac::Secret;
use tower_hmac::shopify::{Shopify, ShopifyVerifyLayer, signature};

const SECRET: &str = "shopify_demo_secret";

fn setup() -> Setup<Shopify> {
    Setup {
        scheme: Shopify::default(),
        layer: |key| ShopifyVerifyLayer::new(key),
        secret: Secret::new(SECRET).unwrap(),
        window: None,
        body: payload_only,
    }
}

webhook_matrix!(setup());

/// `tests/vectors/webhooks/shopify.json`, signed with `@shopify/shopify-api` 15.0.0's test helper
/// (`getHmac`, checked against `node:crypto`) and answered by its `webhooks.validate`
/// (`generator.command` says how). Where the SDK refuses for reasons of its own (an empty body,
/// unsigned headers it needs) or cannot express a body, the verdict says what Shopify's rule (an
/// HMAC of the raw body) gives.
#[tokio::test]
async fn sdk_vectors() {
    use Verdict::*;
    let malformed = Refuse("malformed_credentials");
    let mismatch = Refuse("invalid_credentials");
    check_vectors(
        &setup(),
        "shopify.json",
        |s| Secret::new(s).unwrap(),
        &[
            ("json_body", Accept),
            ("json_body_rawbody_as_buffer", Accept),
            ("non_ascii_utf8_body", Accept),
            // The HMAC of zero bytes; the SDK refuses an empty body before the HMAC.
            ("empty_body", Accept),
            // Shopify signs bytes; the SDK MACs a lossily decoded string and refuses this one...
            ("non_utf8_body_raw_bytes_hmac", Accept),
            // ...and accepts the HMAC of that lossy text, which is not the body sent.
            ("non_utf8_body_lossy_hmac", mismatch),
            ("header_names_any_case", Accept),
            ("events_style_headers_no_x_prefix", Accept),
            // As in the SDK, the Events header is the one read when it is present.
            ("both_header_families_events_one_good", Accept),
            ("neg_both_header_families_events_one_bad", mismatch),
            ("neg_tampered_body", mismatch),
            ("neg_wrong_secret", mismatch),
            ("neg_truncated_signature", malformed),
            ("neg_unpadded_base64", malformed),
            ("neg_empty_signature", malformed),
            ("neg_hex_instead_of_base64", malformed),
            ("neg_base64url_alphabet", malformed),
            // The SDK also requires unsigned routing headers; they prove nothing, so not here.
            ("neg_valid_hmac_missing_other_headers", Accept),
        ],
    )
    .await;
}

#[test]
fn signature_is_the_sdks() {
    // shopify.json's json_body, made by @shopify/shopify-api's getHmac.
    let body = br#"{"id":820982911946154508,"email":"jon@example.com","total_price":"254.98","line_items":[{"title":"IPod Nano - 8GB","quantity":1}]}"#;
    assert_eq!(
        signature(&Secret::new(SECRET).unwrap(), body),
        "+umX/Q3C0BxobC2zJVmnUw30oLO7ONgq0kd1+B1iyLQ="
    );
}

/// `X-Shopify-Webhook-Id` (or the Events `Shopify-Webhook-Id`) reaches the handler, marked
/// unsigned, and is never what recognises a copy: two deliveries claiming one id are both
/// handled, and a copy under another id is acknowledged as the copy it is.
#[tokio::test]
async fn webhook_id_is_passed_on_but_not_trusted() {
    let setup = setup();
    let receiver = setup.receiver().await;
    for payload in [&br#"{"n":1}"#[..], br#"{"n":2}"#] {
        let (mut request, _) = setup.delivery(&receiver.url(), payload);
        request
            .headers_mut()
            .insert("x-shopify-webhook-id", "same-id".parse().unwrap());
        assert_eq!(send(receiver.addr, request).await.status, StatusCode::OK);
    }
    // The Events form: its HMAC header, its id header.
    let body = br#"{"n":3}"#;
    let hmac = signature(&setup.secret, body);
    let events = Request::post(receiver.url())
        .header("shopify-hmac-sha256", &hmac)
        .header("shopify-webhook-id", "events-id")
        .header("x-shopify-webhook-id", "not this one")
        .body(Full::from(&body[..]))
        .unwrap();
    assert_handled(&send(receiver.addr, events).await, body.len());
    // A copy of the last one under a fresh id: a copy still.
    let again = Request::post(receiver.url())
        .header("x-shopify-hmac-sha256", &hmac)
        .header("x-shopify-webhook-id", "a-fresh-id")
        .body(Full::from(&body[..]))
        .unwrap();
    let reply = send(receiver.addr, again).await;
    common::webhooks::assert_duplicate(&reply);
    let handled: Vec<_> = receiver.handled().into_iter().map(|h| h.id).collect();
    assert_eq!(
        handled,
        [
            Some("same-id".to_owned()),
            Some("same-id".to_owned()),
            Some("events-id".to_owned())
        ]
    );
}

/// A delivery without a webhook id is handled, its id `None`.
#[tokio::test]
async fn webhook_id_is_optional() {
    let setup = setup();
    let receiver = setup.receiver().await;
    let request = Request::post(receiver.url())
        .header("x-shopify-hmac-sha256", signature(&setup.secret, PAYLOAD))
        .body(Full::from(PAYLOAD))
        .unwrap();
    assert_handled(&send(receiver.addr, request).await, PAYLOAD.len());
    assert_eq!(receiver.handled()[0].id, None);
}

#[tokio::test]
async fn two_signature_headers_are_refused() {
    let setup = setup();
    let receiver = setup.receiver().await;
    let (request, body) = setup.delivery(&receiver.url(), PAYLOAD);
    let good = request.headers()["x-shopify-hmac-sha256"].clone();
    let request = Request::post(receiver.url())
        .header("x-shopify-hmac-sha256", good.clone())
        .header("x-shopify-hmac-sha256", good)
        .body(Full::from(body))
        .unwrap();
    let reply = send(receiver.addr, request).await;
    assert_refused(&reply, StatusCode::UNAUTHORIZED, "malformed_credentials");
    assert!(receiver.handled().is_empty());
}

/// A signature changed in its form (not its bytes) is malformed, never compared shorter or
/// leniently: truncated, padding dropped or doubled, a stray character, a non-canonical last
/// character.
#[tokio::test]
async fn malformed_signatures_are_refused() {
    let setup = setup();
    let receiver = setup.receiver().await;
    let (request, body) = setup.delivery(&receiver.url(), PAYLOAD);
    let good = request.headers()["x-shopify-hmac-sha256"]
        .to_str()
        .unwrap()
        .to_owned();
    let last = good.chars().nth(42).unwrap();
    let non_canonical = if last.is_ascii_uppercase() { 'B' } else { 'b' };
    for bad in [
        good[..43].to_owned(),
        format!("{good}="),
        format!("{}{}=", &good[..42], non_canonical),
        format!("{}!", &good[..43]),
        format!("{}.{}", &good[..20], &good[21..]),
        "=".to_owned(),
    ] {
        let reply = send(
            receiver.addr,
            copy(&request, &body, &[("x-shopify-hmac-sha256", &bad)]),
        )
        .await;
        assert_refused(&reply, StatusCode::UNAUTHORIZED, "malformed_credentials");
    }
    assert!(receiver.handled().is_empty());
}
