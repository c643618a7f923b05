//! Paddle Billing webhooks: the vectors of `paddle-python-sdk` (signed with its own HMAC helper,
//! answered by its `Verifier` and by `@paddle/paddle-node-sdk`), and the cases every webhook
//! scheme passes, on loopback.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use common::send;
use common::webhooks::{
    PAYLOAD, Receiver, Setup, Verdict, assert_handled, assert_refused, check_vectors, payload_only,
};
use http::Request;
use http_body_util::Full;
use tower_hmac::paddle::{Paddle, PaddleVerifyLayer, signature};
use tower_hmac::{Key, KeySecret, ManualClock, Secret};

const SECRET: &str = "pdl_ntfset_demo_secret";

fn setup() -> Setup<Paddle> {
    Setup {
        scheme: Paddle::default(),
        layer: |key| PaddleVerifyLayer::new(key),
        secret: Secret::new(SECRET).unwrap(),
        window: Some(Duration::from_secs(5)),
        body: payload_only,
    }
}

webhook_matrix!(setup());

/// `tests/vectors/webhooks/paddle.json`, signed with `paddle-python-sdk` 1.16.1's
/// `PaddleSignature.calculate_hmac` and answered by its `Verifier` and by
/// `@paddle/paddle-node-sdk` 3.10.0 (`generator.command` says how). This layer follows the
/// Python SDK where the two disagree (several `h1`, the future side of the window, unknown keys),
/// and reads a representation of the right signature that both refuse (upper-case hex).
#[tokio::test]
async fn sdk_vectors() {
    use Verdict::*;
    let malformed = Refuse("malformed_credentials");
    let mismatch = Refuse("invalid_credentials");
    let window = Refuse("timestamp_out_of_window");
    check_vectors(
        &setup(),
        "paddle.json",
        |s| Secret::new(s).unwrap(),
        &[
            ("json_body", Accept),
            ("empty_body", Accept),
            ("unicode_body", Accept),
            // Paddle signs bytes; the Python SDK raises on them, the Node SDK cannot match them.
            ("non_utf8_body", Accept),
            ("rotation_new_last", Accept),
            // The Node SDK keeps the last h1 only and refuses these two; the Python SDK accepts.
            ("rotation_new_first", Accept),
            ("rotation_three", Accept),
            // Signed with the old secret only, checked here against the current one alone
            // (`python_secrets_list_is_a_key_with_two_secrets` gives the key both).
            ("rotation_py_secret_list", mismatch),
            ("h1_before_ts", Accept),
            ("age_5s_boundary", Accept),
            ("age_6s_expired", window),
            // The Node SDK checks only the past; the Python SDK and this layer both sides.
            ("future_6s", window),
            ("future_1h", window),
            // Both SDKs sign the decimal value: the leading zero is dropped.
            ("leading_zero_ts", Accept),
            ("tampered_body", mismatch),
            ("wrong_secret", mismatch),
            ("truncated_sig", malformed),
            ("empty_sig", malformed),
            ("missing_h1", malformed),
            ("missing_ts", malformed),
            ("missing_header", Refuse("missing_credentials")),
            // The same 32 bytes; both SDKs compare text.
            ("uppercase_hex", Accept),
            // Both SDKs refuse it (the Python one raises on the key " h1").
            ("space_after_semicolon", malformed),
            // The Python SDK raises on an unknown key, the Node SDK ignores it; refused here.
            ("unknown_key", malformed),
            // A millisecond ts is far in the future: the Node SDK lets it through.
            ("ts_seconds_as_ms", window),
        ],
    )
    .await;
}

/// The vector a Python receiver verifies with its list of two secrets: a key holding the current
/// and the old secret verifies it here, as during a rotation.
#[tokio::test]
async fn python_secrets_list_is_a_key_with_two_secrets() {
    let path = format!(
        "{}/tests/vectors/webhooks/paddle.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let vector = doc["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "rotation_py_secret_list")
        .unwrap();
    let secrets: Vec<_> = vector["python_secrets_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| Secret::new(s.as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(secrets.len(), 2);
    let key =
        Key::new("paddle", secrets[0].clone()).with_secret(KeySecret::new(secrets[1].clone()));
    let now = UNIX_EPOCH + Duration::from_secs(vector["now"].as_u64().unwrap());
    let receiver = Receiver::serve(PaddleVerifyLayer::new(key).clock(ManualClock::new(now))).await;
    let body = const_hex::decode(vector["body_hex"].as_str().unwrap()).unwrap();
    let request = Request::post(receiver.url())
        .header(
            "paddle-signature",
            vector["headers"]["Paddle-Signature"].as_str().unwrap(),
        )
        .body(Full::from(body.clone()))
        .unwrap();
    assert_handled(&send(receiver.addr, request).await, body.len());
}

#[test]
fn signature_is_the_python_sdks() {
    // paddle.json's json_body, made by PaddleSignature.calculate_hmac.
    let body = br#"{"event_id":"evt_01hv8x2acma8cqr7qcs5gy3z2g","event_type":"transaction.completed","occurred_at":"2025-11-22T08:26:40.000000Z","notification_id":"ntf_01hv8x2af1f9gbjnjn6h0k5y5e","data":{"id":"txn_01hv8wptq8987qeep44cyrewp9","status":"completed"}}"#;
    assert_eq!(
        signature(&Secret::new(SECRET).unwrap(), 1_763_800_000, body),
        "8b1ce6331a84283b7b7a4ff64520e334ef96bf16aede38688295801fa852bfd4"
    );
}

fn now_secs() -> u64 {
    common::now_ms() / 1000
}

/// Of several `h1`, one matching verifies, first, last or between others (Paddle lists one per
/// live secret while a secret is rotated); none matching is a mismatch.
#[tokio::test]
async fn one_matching_h1_of_several_verifies_wherever_it_is() {
    let receiver = setup().receiver().await;
    let secret = Secret::new(SECRET).unwrap();
    let others = [
        Secret::new("pdl_ntfset_old_secret").unwrap(),
        Secret::new("pdl_ntfset_other").unwrap(),
    ];
    let ts = now_secs();
    let send_signed = |body: String, header: String| {
        let request = Request::post(receiver.url())
            .header("paddle-signature", header)
            .body(Full::from(body))
            .unwrap();
        send(receiver.addr, request)
    };
    // Distinct bodies, distinct deliveries: none is a copy of another.
    for position in 0..3 {
        let body = format!(r#"{{"n":{position}}}"#);
        let mut h1s: Vec<_> = others
            .iter()
            .map(|s| signature(s, ts, body.as_bytes()))
            .collect();
        h1s.insert(position, signature(&secret, ts, body.as_bytes()));
        let header = format!("ts={ts};h1={}", h1s.join(";h1="));
        assert_handled(&send_signed(body.clone(), header).await, body.len());
    }
    let body = String::from_utf8(PAYLOAD.to_vec()).unwrap();
    let bad: Vec<_> = others.iter().map(|s| signature(s, ts, PAYLOAD)).collect();
    let reply = send_signed(body, format!("ts={ts};h1={}", bad.join(";h1="))).await;
    assert_refused(&reply, StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(receiver.handled().len(), 3);
}

/// A truncated or empty `h1` beside a matching one is still a refusal: a header is read whole,
/// strictly.
#[tokio::test]
async fn truncated_h1_beside_a_good_one_is_refused() {
    let receiver = setup().receiver().await;
    let ts = now_secs();
    let good = signature(&Secret::new(SECRET).unwrap(), ts, PAYLOAD);
    for extra in [
        "h1=".to_owned(),
        "h1".to_owned(),
        format!("h1={}", &good[..63]),
    ] {
        for header in [
            format!("ts={ts};h1={good};{extra}"),
            format!("ts={ts};{extra};h1={good}"),
        ] {
            let request = Request::post(receiver.url())
                .header("paddle-signature", header)
                .body(Full::from(PAYLOAD))
                .unwrap();
            let reply = send(receiver.addr, request).await;
            assert_refused(&reply, StatusCode::UNAUTHORIZED, "malformed_credentials");
        }
    }
    assert!(receiver.handled().is_empty());
}

/// The 5 s default, each way, and a wider window set with `tolerance`.
#[tokio::test]
async fn tolerance_widens_the_window_each_way() {
    let setup = setup();
    let now = SystemTime::now();
    let narrow = setup.receiver().await;
    let wide = Receiver::serve(
        PaddleVerifyLayer::new(Key::new("paddle", setup.secret.clone()))
            .tolerance(Duration::from_secs(60)),
    )
    .await;
    for (n, at) in [
        (1, now - Duration::from_secs(30)),
        (2, now + Duration::from_secs(30)),
    ] {
        let payload = format!(r#"{{"n":{n}}}"#);
        let (request, body) =
            setup.delivery_signed(&setup.secret, &narrow.url(), at, payload.as_bytes());
        let reply = send(narrow.addr, request).await;
        assert_refused(&reply, StatusCode::UNAUTHORIZED, "timestamp_out_of_window");
        let (request, _) =
            setup.delivery_signed(&setup.secret, &wide.url(), at, payload.as_bytes());
        assert_handled(&send(wide.addr, request).await, body.len());
    }
    assert!(narrow.handled().is_empty());
    assert_eq!(wide.handled().len(), 2);
}

#[tokio::test]
async fn two_signature_headers_are_refused() {
    let setup = setup();
    let receiver = setup.receiver().await;
    let (request, body) = setup.delivery(&receiver.url(), PAYLOAD);
    let good = request.headers()["paddle-signature"].clone();
    let request = Request::post(receiver.url())
        .header("paddle-signature", good.clone())
        .header("paddle-signature", good)
        .body(Full::from(body))
        .unwrap();
    let reply = send(receiver.addr, request).await;
    assert_refused(&reply, StatusCode::UNAUTHORIZED, "malformed_credentials");
    assert!(receiver.handled().is_empty());
}
