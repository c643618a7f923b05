//! Slack: the vectors of `slack_sdk`'s `SignatureVerifier`, Slack's documented example, the
//! `url_verification` handshake, and the cases every webhook scheme passes, on loopback.

mod common;

use std::time::{Duration, UNIX_EPOCH};

use axum::http::StatusCode;
use common::webhooks::{
    PAYLOAD, Receiver, Setup, Verdict, assert_handled, assert_refused, check_vectors, payload_only,
};
use common::{send, serve_mock};
use http::Request;
use http_body_util::Full;
use tower_hmac::slack::{Slack, SlackVerifyLayer, signature};
use tower_hmac::{Key, ManualClock, Secret, mock};

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

fn setup() -> Setup<Slack> {
    Setup {
        scheme: Slack::default(),
        layer: |key| SlackVerifyLayer::new(key),
        secret: Secret::new(SECRET).unwrap(),
        window: Some(Duration::from_secs(300)),
        body: payload_only,
    }
}

webhook_matrix!(setup());

/// `tests/vectors/webhooks/slack.json`, made by `slack_sdk` 3.48.0 (`generator.command` says
/// how). Where `slack_sdk` raises on a body or header it cannot read, this layer answers; where it
/// refuses a representation of the right signature, this layer reads it.
#[tokio::test]
async fn sdk_vectors() {
    use Verdict::*;
    let malformed = Refuse("malformed_credentials");
    let missing = Refuse("missing_credentials");
    let mismatch = Refuse("invalid_credentials");
    let window = Refuse("timestamp_out_of_window");
    check_vectors(
        &setup(),
        "slack.json",
        |s| Secret::new(s).unwrap(),
        &[
            ("docs_test_vector", Accept),
            ("json_body", Accept),
            ("form_urlencoded_body", Accept),
            ("non_ascii_utf8_body", Accept),
            ("empty_body", Accept),
            // Slack signs bytes; slack_sdk decodes the body as UTF-8 first and raises.
            ("non_utf8_body_raw_bytes", Accept),
            ("ts_299s_old_ok", Accept),
            ("ts_300s_old_ok", Accept),
            ("neg_ts_301s_old", window),
            ("ts_300s_future_ok", Accept),
            ("neg_ts_301s_future", window),
            // slack_sdk raises ValueError from int(); digits only here.
            ("neg_ts_non_integer", malformed),
            // HTTP strips the spaces around a field value before any handler sees it (RFC 9110
            // 5.5): the signature over " 1763800000" cannot match "1763800000". slack_sdk, handed
            // the raw string, accepts it.
            ("ts_raw_string_is_signed", mismatch),
            // The timestamp is signed as written, as slack_sdk signs it.
            ("neg_ts_normalisation_not_applied", mismatch),
            ("neg_tampered_body", mismatch),
            ("neg_wrong_secret", mismatch),
            ("neg_truncated_signature", malformed),
            ("neg_empty_signature_v0_eq", malformed),
            ("neg_empty_signature_header", malformed),
            ("neg_missing_signature_header", missing),
            ("neg_missing_timestamp_header", missing),
            // The right signature in upper-case hex: the same 32 bytes (slack_sdk compares text).
            ("neg_uppercase_hex", Accept),
            ("neg_v1_prefix", malformed),
            // slack_sdk raises TypeError; a header that is not ASCII is malformed here.
            ("neg_non_ascii_in_signature", malformed),
        ],
    )
    .await;
}

#[test]
fn signature_is_slacks_documented_example() {
    // docs.slack.dev, "Verifying requests from Slack"; also in slack_sdk's tests.
    let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    assert_eq!(
        signature(&Secret::new(SECRET).unwrap(), "1531420618", body),
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    );
}

/// The `handshakes` of `slack.json`: `url_verification` requests signed by `slack_sdk` (or not).
fn handshakes() -> Vec<serde_json::Value> {
    let path = format!(
        "{}/tests/vectors/webhooks/slack.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc["handshakes"].as_array().unwrap().clone()
}

/// The request of a vector, sent to `receiver`, and the vector's body.
fn vector_request(receiver: &Receiver, vector: &serde_json::Value) -> Request<Full<bytes::Bytes>> {
    let body = const_hex::decode(vector["body_hex"].as_str().unwrap()).unwrap();
    let mut request = Request::post(receiver.url()).header("content-type", "application/json");
    for (name, value) in vector["headers"].as_object().unwrap() {
        request = request.header(name.as_str(), value.as_str().unwrap());
    }
    request.body(Full::from(body)).unwrap()
}

/// A signed `url_verification` is answered by the layer with exactly `{"challenge":"..."}`
/// (application/json) and never reaches the handler; one that is unsigned, badly signed or stale
/// is refused like any request, and is not answered either.
#[tokio::test]
async fn url_verification_is_answered_only_once_verified() {
    let vectors = handshakes();
    let names: Vec<_> = vectors
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "url_verification",
            "neg_url_verification_wrong_secret",
            "neg_url_verification_signature_of_other_body",
            "neg_url_verification_unsigned",
            "neg_url_verification_stale",
        ]
    );
    for vector in &vectors {
        let name = vector["name"].as_str().unwrap();
        let now = UNIX_EPOCH + Duration::from_secs(vector["now"].as_u64().unwrap());
        let key = Key::new(
            "slack",
            Secret::new(vector["secret"].as_str().unwrap()).unwrap(),
        );
        let receiver =
            Receiver::serve(SlackVerifyLayer::new(key).clock(ManualClock::new(now))).await;
        let expected = &vector["expected_response"];
        // Twice: a handshake is answered to each copy, and is never recorded as a delivery.
        for _ in 0..2 {
            let reply = send(receiver.addr, vector_request(&receiver, vector)).await;
            assert_eq!(
                u64::from(reply.status.as_u16()),
                expected["status"].as_u64().unwrap(),
                "{name}: {}",
                reply.text()
            );
            if reply.status == StatusCode::OK {
                assert_eq!(reply.headers["content-type"], "application/json", "{name}");
                assert_eq!(reply.text(), expected["body"].as_str().unwrap(), "{name}");
                assert_eq!(
                    reply.text(),
                    r#"{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}"#
                );
            } else {
                let code = if name.ends_with("unsigned") {
                    "missing_credentials"
                } else if name.ends_with("stale") {
                    "timestamp_out_of_window"
                } else {
                    "invalid_credentials"
                };
                assert_refused(&reply, StatusCode::UNAUTHORIZED, code);
                assert!(
                    !reply
                        .text()
                        .contains("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
                );
            }
        }
        assert!(
            receiver.handled().is_empty(),
            "{name}: the handler was reached"
        );
    }
}

/// A verified `url_verification` whose challenge is not a string is not a handshake: it reaches
/// the handler, verified, like any other request.
#[tokio::test]
async fn url_verification_without_a_string_challenge_reaches_the_handler() {
    let receiver = setup().receiver().await;
    let secret = Secret::new(SECRET).unwrap();
    let t = (common::now_ms() / 1000).to_string();
    for body in [
        &br#"{"type":"url_verification","challenge":42}"#[..],
        br#"{"type":"url_verification"}"#,
    ] {
        let request = Request::post(receiver.url())
            .header("x-slack-request-timestamp", &t)
            .header("x-slack-signature", signature(&secret, &t, body))
            .body(Full::from(body.to_vec()))
            .unwrap();
        assert_handled(&send(receiver.addr, request).await, body.len());
    }
    assert_eq!(receiver.handled().len(), 2);
}

/// The mock's `/webhooks/slack` answers a signed handshake itself and does not list it among
/// the deliveries its handler saw; a badly signed one is 401.
#[tokio::test]
async fn the_mock_answers_the_handshake_and_does_not_list_it() {
    let addr = serve_mock(mock::router(&mock::MockConfig::default()).unwrap()).await;
    let url = format!("http://{addr}/webhooks/slack");
    let body = br#"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"mock-challenge","type":"url_verification"}"#;
    let request = |headers: http::HeaderMap| {
        let mut request = Request::post(&url).body(Full::from(&body[..])).unwrap();
        request.headers_mut().extend(headers);
        request
    };
    let headers = mock::sign_webhook("slack", SECRET, &url, body)
        .unwrap()
        .headers;
    let reply = send(addr, request(headers)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.text(), r#"{"challenge":"mock-challenge"}"#);
    let forged = mock::sign_webhook("slack", "not the signing secret", &url, body)
        .unwrap()
        .headers;
    assert_eq!(
        send(addr, request(forged)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let list = send(
        addr,
        Request::get("/webhooks/slack/deliveries")
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(list.json(), serde_json::json!([]));
}

/// Two `X-Slack-Signature` headers (even the same good one twice) are refused: a header is read
/// whole, once.
#[tokio::test]
async fn two_signature_headers_are_refused() {
    let setup = setup();
    let receiver = setup.receiver().await;
    let (request, body) = setup.delivery(&receiver.url(), PAYLOAD);
    let good = request.headers()["x-slack-signature"].clone();
    let t = request.headers()["x-slack-request-timestamp"].clone();
    let request = Request::post(receiver.url())
        .header("x-slack-request-timestamp", t)
        .header("x-slack-signature", good.clone())
        .header("x-slack-signature", good)
        .body(Full::from(body))
        .unwrap();
    let reply = send(receiver.addr, request).await;
    assert_refused(&reply, StatusCode::UNAUTHORIZED, "malformed_credentials");
    assert!(receiver.handled().is_empty());
}

/// A signature of the right length but truncated, padded or prefixed otherwise is
/// `malformed_credentials`, never a shorter compare.
#[tokio::test]
async fn malformed_signatures_are_refused() {
    let setup = setup();
    let receiver = setup.receiver().await;
    let (request, body) = setup.delivery(&receiver.url(), PAYLOAD);
    let good = request.headers()["x-slack-signature"]
        .to_str()
        .unwrap()
        .to_owned();
    let hex = &good[3..];
    for bad in [
        format!("v0={}", &hex[..63]),
        format!("v0={hex}0"),
        format!("v0={hex}00"),
        format!("v0= {hex}"),
        format!("v0:{hex}"),
        format!("V0={hex}"),
        hex.to_owned(),
        format!("v0={}g", &hex[..63]),
        "v0=".to_owned(),
    ] {
        let reply = send(
            receiver.addr,
            common::webhooks::copy(&request, &body, &[("x-slack-signature", &bad)]),
        )
        .await;
        assert_refused(&reply, StatusCode::UNAUTHORIZED, "malformed_credentials");
    }
    assert!(receiver.handled().is_empty());
}
