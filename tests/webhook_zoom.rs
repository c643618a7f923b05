//! Zoom webhooks: the vectors checked against Zoom's SDK (`@zoom/rivet`) and sample app, the
//! `endpoint.url_validation` handshake, and the cases every webhook scheme passes, on loopback.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use common::send;
use common::webhooks::{
    PAYLOAD, Receiver, Setup, Verdict, assert_handled, assert_refused, check_vectors, copy,
    payload_only,
};
use http::Request;
use http_body_util::Full;
use tower_hmac::mock::{self, MockConfig};
use tower_hmac::zoom::{Zoom, ZoomVerifyLayer, encrypted_token, signature};
use tower_hmac::{Key, KeySecret, ManualClock, Secret};

const SECRET: &str = "zoom_demo_secret_token";

fn setup() -> Setup<Zoom> {
    Setup {
        scheme: Zoom::default(),
        layer: |key| ZoomVerifyLayer::new(key),
        secret: Secret::new(SECRET).unwrap(),
        window: Some(Duration::from_secs(300)),
        body: payload_only,
    }
}

webhook_matrix!(setup());

fn vectors() -> serde_json::Value {
    let path = format!(
        "{}/tests/vectors/webhooks/zoom.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `tests/vectors/webhooks/zoom.json` (`generator.command` says how it was made): signed with
/// Node's crypto as Zoom's sample signs, over the raw bytes, with what `@zoom/rivet` 0.4.0 and
/// the sample answered recorded beside each. Where they rebuild the message from re-serialised
/// JSON or check no time, this layer verifies the raw bytes and enforces its window.
#[tokio::test]
async fn sdk_vectors() {
    use Verdict::*;
    let malformed = Refuse("malformed_credentials");
    let mismatch = Refuse("invalid_credentials");
    let window = Refuse("timestamp_out_of_window");
    check_vectors(
        &setup(),
        "zoom.json",
        |s| Secret::new(s).unwrap(),
        &[
            ("json_body", Accept),
            ("unicode_body", Accept),
            // The SDK re-serialises the parsed body and refuses these; Zoom signs the bytes.
            ("pretty_json_raw_signed", Accept),
            ("json_escapes_raw_signed", Accept),
            ("empty_body", Accept),
            ("non_utf8_body", Accept),
            ("ts_age_300", Accept),
            ("ts_ahead_300", Accept),
            // Signed over the SDK's re-serialisation, not over the bytes sent.
            ("pretty_json_reserialized_signed", mismatch),
            // The decimal value is signed, as the SDK's Number(ts) (the sample signs it verbatim).
            ("leading_zero_ts", mismatch),
            ("tampered_body", mismatch),
            ("wrong_secret", mismatch),
            ("truncated_signature", malformed),
            ("truncated_signature_odd", malformed),
            ("empty_signature", malformed),
            ("empty_header_value", malformed),
            ("no_v0_prefix", malformed),
            ("v1_prefix", malformed),
            // The same 32 bytes (the SDK compares text).
            ("uppercase_hex", Accept),
            // The SDK checks no age: every window here is two-sided.
            ("ts_age_301", window),
            ("ts_ahead_301", window),
            ("ts_one_hour_old", window),
            ("ts_milliseconds", window),
            ("ts_not_digits", malformed),
            ("missing_timestamp_header", Refuse("missing_credentials")),
            ("missing_signature_header", Refuse("missing_credentials")),
        ],
    )
    .await;
}

/// A handshake vector sent to a receiver whose clock is the vector's.
async fn send_handshake(vector: &serde_json::Value) -> (Receiver, common::Reply) {
    let now = UNIX_EPOCH + Duration::from_secs(vector["now"].as_u64().unwrap());
    let key = Key::new(
        "zoom",
        Secret::new(vector["secret"].as_str().unwrap()).unwrap(),
    );
    let receiver = Receiver::serve(ZoomVerifyLayer::new(key).clock(ManualClock::new(now))).await;
    let mut request = Request::post(receiver.url());
    for (name, value) in vector["headers"].as_object().unwrap() {
        request = request.header(name.as_str(), value.as_str().unwrap());
    }
    let body = const_hex::decode(vector["body_hex"].as_str().unwrap()).unwrap();
    let reply = send(receiver.addr, request.body(Full::from(body)).unwrap()).await;
    (receiver, reply)
}

/// The signed `endpoint.url_validation` event is answered by the layer with exactly the JSON
/// Zoom's sample answers, `encryptedToken` as Node's crypto computed it (and as `@zoom/rivet`
/// answered it, recorded beside the vector); the handler never sees it.
#[tokio::test]
async fn url_validation_is_answered_with_the_exact_json() {
    let doc = vectors();
    let vector = &doc["handshakes"][0];
    assert_eq!(vector["name"], "url_validation");
    let (receiver, reply) = send_handshake(vector).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.headers["content-type"], "application/json");
    assert_eq!(
        reply.body.as_ref(),
        br#"{"plainToken":"qgg8vlvZRS6UYooatFL8Aw","encryptedToken":"a4c57e0fb3d36dee0a81dc645cf7b37e65d18071cb80718b789c09efb3f7f888"}"#
    );
    assert_eq!(reply.text(), vector["response_json"].as_str().unwrap());
    assert!(
        vector["sdk_rivet"]["returned"]
            .as_str()
            .unwrap()
            .contains(vector["encrypted_token"].as_str().unwrap())
    );
    assert!(receiver.handled().is_empty(), "the handler never sees it");
    assert_eq!(
        encrypted_token(&Secret::new(SECRET).unwrap(), "qgg8vlvZRS6UYooatFL8Aw"),
        vector["encrypted_token"].as_str().unwrap()
    );
}

/// A validation event signed with another secret, or not signed, is refused (401) and never
/// answered: answering it would hand out the HMAC of any chosen token under the secret.
#[tokio::test]
async fn url_validation_with_a_wrong_signature_is_not_answered() {
    let doc = vectors();
    for (vector, code) in [
        (&doc["handshakes"][1], "invalid_credentials"),
        (&doc["handshakes"][2], "missing_credentials"),
    ] {
        let (receiver, reply) = send_handshake(vector).await;
        assert_refused(&reply, StatusCode::UNAUTHORIZED, code);
        assert!(!reply.text().contains("encryptedToken"), "{}", reply.text());
        assert!(!reply.text().contains("a4c57e0f"), "{}", reply.text());
        assert!(receiver.handled().is_empty());
    }
    assert_eq!(doc["handshakes"].as_array().unwrap().len(), 3);
}

/// A validation event is answered only inside the window, like any event: a stale one is
/// refused, signature and all.
#[tokio::test]
async fn url_validation_out_of_the_window_is_not_answered() {
    let setup = setup();
    let receiver = setup.receiver().await;
    let body = br#"{"payload":{"plainToken":"tok"},"event":"endpoint.url_validation"}"#;
    let ago = SystemTime::now() - Duration::from_secs(301);
    let (request, _) = setup.delivery_signed(&setup.secret, &receiver.url(), ago, body);
    let reply = send(receiver.addr, request).await;
    assert_refused(&reply, StatusCode::UNAUTHORIZED, "timestamp_out_of_window");
    assert!(receiver.handled().is_empty());
}

/// During a rotation, the token is answered with the secret that verified the event.
#[tokio::test]
async fn url_validation_answers_with_the_secret_that_verified() {
    let setup = setup();
    let old = Secret::new("the token being retired").unwrap();
    let both = Key::new("zoom", setup.secret.clone()).with_secret(KeySecret::new(old.clone()));
    let receiver = Receiver::serve(ZoomVerifyLayer::new(both)).await;
    let body = br#"{"payload":{"plainToken":"tok"},"event":"endpoint.url_validation"}"#;
    for secret in [&setup.secret, &old] {
        let (request, _) = setup.delivery_signed(secret, &receiver.url(), SystemTime::now(), body);
        let reply = send(receiver.addr, request).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(
            reply.json()["encryptedToken"],
            encrypted_token(secret, "tok")
        );
    }
    assert!(receiver.handled().is_empty());
}

/// A validation event without a string `plainToken`, or another event carrying one, is no
/// handshake: it reaches the handler like any verified event.
#[tokio::test]
async fn only_a_well_formed_validation_is_a_handshake() {
    let setup = setup();
    let receiver = setup.receiver().await;
    for body in [
        &br#"{"payload":{"plainToken":7},"event":"endpoint.url_validation"}"#[..],
        br#"{"payload":{"plainToken":"tok"},"event":"meeting.started"}"#,
    ] {
        let (request, body) = setup.delivery(&receiver.url(), body);
        assert_handled(&send(receiver.addr, request).await, body.len());
    }
    assert_eq!(receiver.handled().len(), 2);
}

/// Missing and malformed headers, each a refusal naming what is wrong.
#[tokio::test]
async fn missing_and_malformed_headers() {
    let receiver = setup().receiver().await;
    let secret = Secret::new(SECRET).unwrap();
    let t = common::now_ms() / 1000;
    let good = signature(&secret, t, PAYLOAD);
    let ts = t.to_string();
    let cases: [(&[(&str, &str)], &str); 7] = [
        (&[("x-zm-signature", &good)], "missing_credentials"),
        (&[("x-zm-request-timestamp", &ts)], "missing_credentials"),
        (
            &[("x-zm-request-timestamp", &ts), ("x-zm-signature", "v0=")],
            "malformed_credentials",
        ),
        (
            &[
                ("x-zm-request-timestamp", &ts),
                ("x-zm-signature", &good[..good.len() - 2]),
            ],
            "malformed_credentials",
        ),
        (
            &[
                ("x-zm-request-timestamp", &ts),
                ("x-zm-signature", &good),
                ("x-zm-signature", &good),
            ],
            "malformed_credentials",
        ),
        (
            &[
                ("x-zm-request-timestamp", "soon"),
                ("x-zm-signature", &good),
            ],
            "malformed_credentials",
        ),
        (
            &[
                ("x-zm-request-timestamp", &ts),
                ("x-zm-signature", &format!("{good},v0={good}")),
            ],
            "malformed_credentials",
        ),
    ];
    for (headers, code) in cases {
        let mut request = Request::post(receiver.url());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let reply = send(receiver.addr, request.body(Full::from(PAYLOAD)).unwrap()).await;
        assert_refused(&reply, StatusCode::UNAUTHORIZED, code);
    }
    assert!(receiver.handled().is_empty());
}

/// The mock's Zoom route with its demo secret token: an event is handled (JSON naming the
/// provider), a validation event answered by the layer, a bad signature refused with 401.
#[tokio::test]
async fn the_mock_receives_zoom() {
    let addr = common::serve_mock(mock::router(&MockConfig::default()).unwrap()).await;
    let setup = setup();
    let url = format!("http://{addr}/webhooks/zoom");
    let (request, body) = setup.delivery(&url, PAYLOAD);
    let reply = send(addr, copy(&request, &body, &[])).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["provider"], "zoom");

    let challenge =
        br#"{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event":"endpoint.url_validation"}"#;
    let (request, _) = setup.delivery(&url, challenge);
    let reply = send(addr, request).await;
    assert_eq!(
        reply.body.as_ref(),
        br#"{"plainToken":"qgg8vlvZRS6UYooatFL8Aw","encryptedToken":"a4c57e0fb3d36dee0a81dc645cf7b37e65d18071cb80718b789c09efb3f7f888"}"#
    );

    let wrong = Secret::new("not the token").unwrap();
    let (request, _) = setup.delivery_signed(&wrong, &url, SystemTime::now(), challenge);
    let reply = send(addr, request).await;
    assert_refused(&reply, StatusCode::UNAUTHORIZED, "invalid_credentials");

    let deliveries = send(
        addr,
        Request::get(format!("{url}/deliveries"))
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(
        deliveries.json().as_array().unwrap().len(),
        1,
        "the handshakes are not deliveries"
    );
}
