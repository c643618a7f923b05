//! Linear webhooks: the vectors checked against Linear's SDK (`@linear/sdk`'s
//! `LinearWebhookClient`), the timestamp inside the body, and the cases every webhook scheme
//! passes, on loopback.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use common::send;
use common::webhooks::{
    PAYLOAD, Setup, Verdict, assert_duplicate, assert_handled, assert_refused, check_vectors, copy,
};
use http::Request;
use http_body_util::Full;
use tower_hmac::Secret;
use tower_hmac::linear::{Linear, LinearVerifyLayer, sign_request, signature, with_timestamp};
use tower_hmac::mock::{self, MockConfig};

const SECRET: &str = "lin_wh_demo_secret";

/// A Linear delivery sent at `at` carrying `payload`: the payload as a JSON string (escaped where
/// JSON requires, other bytes as they are, so a payload that is not UTF-8 stays so) beside the
/// `webhookTimestamp` Linear stamps.
fn body(at: SystemTime, payload: &[u8]) -> Vec<u8> {
    let ms = at.duration_since(UNIX_EPOCH).unwrap().as_millis();
    let mut body = br#"{"action":"create","type":"Issue","data":""#.to_vec();
    for &byte in payload {
        match byte {
            b'"' => body.extend_from_slice(b"\\\""),
            b'\\' => body.extend_from_slice(b"\\\\"),
            0..=0x1f => body.extend_from_slice(format!("\\u{byte:04x}").as_bytes()),
            _ => body.push(byte),
        }
    }
    body.extend_from_slice(format!(r#"","webhookTimestamp":{ms}}}"#).as_bytes());
    body
}

fn setup() -> Setup<Linear> {
    Setup {
        scheme: Linear::default(),
        layer: |key| LinearVerifyLayer::new(key),
        secret: Secret::new(SECRET).unwrap(),
        window: Some(Duration::from_secs(60)),
        body,
    }
}

webhook_matrix!(setup());

/// `tests/vectors/webhooks/linear.json` (`generator.command` says how it was made): signed with
/// Node's crypto as Linear signs, with what `@linear/sdk` 98.0.0 answered recorded beside each.
/// This layer agrees with the SDK's `verify` except where the module docs say it is stricter.
#[tokio::test]
async fn sdk_vectors() {
    use Verdict::*;
    let malformed = Refuse("malformed_credentials");
    let mismatch = Refuse("invalid_credentials");
    let window = Refuse("timestamp_out_of_window");
    check_vectors(
        &setup(),
        "linear.json",
        |s| Secret::new(s).unwrap(),
        &[
            ("json_body", Accept),
            ("unicode_body", Accept),
            ("pretty_json_raw", Accept),
            ("non_utf8_body", Accept),
            ("age_60000ms", Accept),
            ("ahead_60000ms", Accept),
            // The same 32 bytes (the SDK compares hex text).
            ("uppercase_hex", Accept),
            ("age_60001ms", window),
            ("ahead_60001ms", window),
            ("timestamp_seconds", window),
            ("timestamp_string", malformed),
            // The SDK takes any finite number; an integer is required here.
            ("timestamp_fraction", malformed),
            ("timestamp_exponent", malformed),
            ("timestamp_null", malformed),
            ("timestamp_missing", malformed),
            ("timestamp_header_only", malformed),
            ("timestamp_nested_only", malformed),
            // JSON.parse keeps the last (fresh) one; two are refused here.
            ("timestamp_twice_stale_then_fresh", malformed),
            ("empty_body", malformed),
            ("non_json_body", malformed),
            ("json_array_body", malformed),
            ("tampered_body", mismatch),
            ("tampered_timestamp", mismatch),
            // The signature first, as the SDK's verify(): a stale body under a wrong secret is a
            // wrong signature.
            ("stale_and_wrong_secret", mismatch),
            ("wrong_secret", mismatch),
            ("truncated_signature", malformed),
            ("truncated_signature_odd", malformed),
            ("empty_signature", malformed),
            ("missing_signature", Refuse("missing_credentials")),
            ("sha256_prefix", malformed),
        ],
    )
    .await;
}

fn post(url: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Request<Full<bytes::Bytes>> {
    let mut request = Request::post(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(Full::from(body)).unwrap()
}

/// Missing and malformed headers, each a refusal naming what is wrong; the body is never read
/// for a timestamp when the headers are refused.
#[tokio::test]
async fn missing_and_malformed_headers() {
    let receiver = setup().receiver().await;
    let secret = Secret::new(SECRET).unwrap();
    let body = body(SystemTime::now(), PAYLOAD);
    let good = signature(&secret, &body);
    let long = format!("{good}00");
    let cases: [(&[(&str, &str)], &str); 7] = [
        (&[], "missing_credentials"),
        (&[("linear-delivery", "d")], "missing_credentials"),
        (&[("linear-signature", "")], "malformed_credentials"),
        (
            &[("linear-signature", &good[..62])],
            "malformed_credentials",
        ),
        (&[("linear-signature", &long)], "malformed_credentials"),
        (
            &[("linear-signature", &good), ("linear-signature", &good)],
            "malformed_credentials",
        ),
        (
            &[
                ("linear-signature", &good),
                ("linear-delivery", "a"),
                ("linear-delivery", "b"),
            ],
            "malformed_credentials",
        ),
    ];
    for (headers, code) in cases {
        let reply = send(receiver.addr, post(&receiver.url(), headers, body.clone())).await;
        assert_refused(&reply, StatusCode::UNAUTHORIZED, code);
    }
    assert!(receiver.handled().is_empty());
}

/// The timestamp inside a signed body decides, on loopback: missing or not an integer it is a
/// malformed delivery, out of the window a stale one; signed by someone else, a wrong signature
/// whatever it says.
#[tokio::test]
async fn the_body_timestamp_decides_once_the_signature_verified() {
    let receiver = setup().receiver().await;
    let secret = Secret::new(SECRET).unwrap();
    let other = Secret::new("lin_wh_other").unwrap();
    let now = common::now_ms();
    let cases = [
        (
            br#"{"type":"Issue"}"#.to_vec(),
            &secret,
            "malformed_credentials",
        ),
        (
            format!(r#"{{"webhookTimestamp":"{now}"}}"#).into_bytes(),
            &secret,
            "malformed_credentials",
        ),
        (
            format!(r#"{{"webhookTimestamp":{}}}"#, now - 61_000).into_bytes(),
            &secret,
            "timestamp_out_of_window",
        ),
        (
            format!(r#"{{"webhookTimestamp":{}}}"#, now + 61_000).into_bytes(),
            &secret,
            "timestamp_out_of_window",
        ),
        (
            br#"{"type":"Issue"}"#.to_vec(),
            &other,
            "invalid_credentials",
        ),
        (
            format!(r#"{{"webhookTimestamp":{}}}"#, now - 61_000).into_bytes(),
            &other,
            "invalid_credentials",
        ),
    ];
    for (body, key, code) in cases {
        let mut request = post(&receiver.url(), &[], body.clone());
        request
            .headers_mut()
            .extend(sign_request(key, &body).unwrap());
        let reply = send(receiver.addr, request).await;
        assert_refused(&reply, StatusCode::UNAUTHORIZED, code);
    }
    assert!(receiver.handled().is_empty());
}

/// `Linear-Delivery` is not signed: a copy with another id is the same delivery (acknowledged,
/// not handled), and the handler saw the first copy's id.
#[tokio::test]
async fn a_copy_with_another_delivery_id_is_the_same_delivery() {
    let setup = setup();
    let receiver = setup.receiver().await;
    let (request, body) = setup.delivery(&receiver.url(), PAYLOAD);
    let first_id = request.headers()["linear-delivery"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_handled(
        &send(receiver.addr, copy(&request, &body, &[])).await,
        body.len(),
    );
    let renamed = copy(&request, &body, &[("linear-delivery", "another-id")]);
    assert_duplicate(&send(receiver.addr, renamed).await);
    let handled = receiver.handled();
    assert_eq!(handled.len(), 1);
    assert_eq!(handled[0].id.as_deref(), Some(first_id.as_str()));
}

/// `with_timestamp` stamps a body as Linear does; signed with `sign_request` it is accepted.
#[tokio::test]
async fn a_stamped_body_is_accepted() {
    let receiver = setup().receiver().await;
    let secret = Secret::new(SECRET).unwrap();
    let body = with_timestamp(br#"{"action":"update","type":"Issue"}"#, SystemTime::now()).unwrap();
    let mut request = post(&receiver.url(), &[], body.clone());
    request
        .headers_mut()
        .extend(sign_request(&secret, &body).unwrap());
    assert_handled(&send(receiver.addr, request).await, body.len());
}

/// The mock's Linear route with its demo secret: a stamped delivery is handled (JSON naming the
/// provider and the unsigned delivery id), an unstamped one refused with 401.
#[tokio::test]
async fn the_mock_receives_linear() {
    let addr = common::serve_mock(mock::router(&MockConfig::default()).unwrap()).await;
    let setup = setup();
    let url = format!("http://{addr}/webhooks/linear");
    let (request, _) = setup.delivery(&url, PAYLOAD);
    let id = request.headers()["linear-delivery"]
        .to_str()
        .unwrap()
        .to_owned();
    let reply = send(addr, request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["provider"], "linear");
    assert_eq!(reply.json()["delivery_id"], id.as_str());
    assert_eq!(reply.json()["delivery_id_signed"], false);

    let unstamped = br#"{"type":"Issue"}"#.to_vec();
    let mut request = post(&url, &[], unstamped.clone());
    let secret = Secret::new(SECRET).unwrap();
    request
        .headers_mut()
        .extend(sign_request(&secret, &unstamped).unwrap());
    assert_refused(
        &send(addr, request).await,
        StatusCode::UNAUTHORIZED,
        "malformed_credentials",
    );
}
