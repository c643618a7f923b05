//! Standard Webhooks `v1a` (Ed25519): vectors signed with PyNaCl and Node's crypto, the refusal
//! of a `v1a` under a key of secrets and of a `v1` under a key of public keys, keys holding both
//! kinds, Node's crypto agreeing with the crate's signer, and the cases every webhook scheme
//! passes, on loopback.

mod common;

use std::time::{Duration, SystemTime};

use axum::http::StatusCode;
use common::webhooks::{
    PAYLOAD, Receiver, Setup, Verdict, assert_duplicate, assert_handled, assert_refused,
    check_vectors, copy, payload_only,
};
use common::{send, serve_mock};
use http::Request;
use http_body_util::Full;
use tower_hmac::crypto::Ed25519PrivateKey;
use tower_hmac::standard::{
    StandardSigner, StandardVerifyLayer, StandardWebhooks, private_key, public_key, secret,
    sign_request_v1a, signature, signature_v1a,
};
use tower_hmac::{Key, KeyMaterial, KeySecret, mock};

/// RFC 8032, section 7.1, TEST 1, as Standard Webhooks writes keys.
const WHSK: &str = "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
const WHPK: &str = "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn setup() -> Setup<StandardWebhooks, Ed25519PrivateKey> {
    Setup {
        scheme: StandardWebhooks::default(),
        layer: |key| StandardVerifyLayer::new(key),
        secret: private_key(WHSK).unwrap(),
        window: Some(Duration::from_secs(300)),
        body: payload_only,
    }
}

webhook_matrix!(setup());

/// A receiver's key as a vector writes it: `whpk_` (a public key) or `whsec_` (a secret).
fn material(text: &str) -> KeyMaterial {
    match text.strip_prefix("whpk_") {
        Some(_) => public_key(text).unwrap().into(),
        None => secret(text).unwrap().into(),
    }
}

/// `tests/vectors/webhooks/standard-ed25519.json`, signed with PyNaCl and again with Node's crypto
/// (the same bytes; `generator.command` says how). No Standard Webhooks library verifies `v1a`,
/// so these follow the specification; where Node's lenient base64 decoding or its acceptance of
/// a small-order `R` differ, this layer refuses.
#[tokio::test]
async fn vectors() {
    use Verdict::*;
    let malformed = Refuse("malformed_credentials");
    let mismatch = Refuse("invalid_credentials");
    let window = Refuse("timestamp_out_of_window");
    check_vectors(
        &setup(),
        "standard-ed25519.json",
        material,
        &[
            ("json_body", Accept),
            ("empty_body", Accept),
            ("non_utf8_body", Accept),
            ("unicode_body", Accept),
            ("mixed_v1_v1a", Accept),
            ("mixed_v1_v1a_under_whsec", Accept),
            ("two_v1a_rotation", Accept),
            ("unknown_versions_ignored", Accept),
            ("ts_300s_old_ok", Accept),
            ("ts_300s_future_ok", Accept),
            ("svix_header_names", Accept),
            ("neg_ts_301s_old", window),
            ("neg_ts_301s_future", window),
            ("neg_tampered_body", mismatch),
            ("neg_tampered_id", mismatch),
            ("neg_tampered_timestamp", mismatch),
            ("neg_wrong_key", mismatch),
            // A v1a is never checked with an HMAC secret, nor a v1 with a public key.
            ("neg_v1a_under_whsec", mismatch),
            ("neg_v1_under_whpk", mismatch),
            ("neg_v1_label_on_ed25519", malformed),
            ("neg_truncated_signature", malformed),
            ("neg_empty_signature", malformed),
            // Node's base64 decoder reads both and verifies them.
            ("neg_unpadded_base64", malformed),
            ("neg_url_safe_base64", malformed),
            ("neg_five_v1a", malformed),
            ("neg_malleable_s_plus_l", mismatch),
            // Node's crypto accepts it; PyNaCl and verify_strict refuse it.
            ("neg_small_order_r", mismatch),
        ],
    )
    .await;
}

/// Every positive vector's signature was made with the same bytes by PyNaCl and Node's crypto.
#[test]
fn pynacl_and_node_signed_the_same_bytes() {
    let path = format!(
        "{}/tests/vectors/webhooks/standard-ed25519.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut positives = 0;
    for vector in doc["vectors"].as_array().unwrap() {
        if vector["kind"] == "positive" {
            assert_eq!(vector["node_signature_matches"], true, "{}", vector["name"]);
            positives += 1;
        }
    }
    assert_eq!(positives, 11);
    // The signing key is RFC 8032's: its v1a of a vector's message is the vector's.
    let json_body = &doc["vectors"][0];
    let body = const_hex::decode(json_body["body_hex"].as_str().unwrap()).unwrap();
    let headers = &json_body["headers"];
    let ours = signature_v1a(
        &private_key(WHSK).unwrap(),
        headers["webhook-id"].as_str().unwrap(),
        headers["webhook-timestamp"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap(),
        &body,
    );
    assert_eq!(
        format!("v1a,{ours}"),
        headers["webhook-signature"].as_str().unwrap()
    );
}

/// An endpoint moving from `v1` to `v1a` holds its secret and the sender's public key: a
/// delivery signed either way verifies, each entry with its own kind of key, and the matched key
/// is the one of that kind.
#[tokio::test]
async fn a_key_holding_both_kinds_checks_each_entry_with_its_own() {
    let both = Key::from_secrets(
        "standard",
        [
            KeySecret::new(secret(WHSEC).unwrap()).label("v1"),
            KeySecret::new(public_key(WHPK).unwrap()).label("v1a"),
        ],
    );
    let layer = StandardVerifyLayer::new(both);
    let now = SystemTime::now();
    let ts = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let request = |id: &str, header: String| {
        Request::post("/hook")
            .header("webhook-id", id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", header)
            .body(())
            .unwrap()
            .into_parts()
            .0
    };
    let key = private_key(WHSK).unwrap();
    let v1 = format!(
        "v1,{}",
        signature(&secret(WHSEC).unwrap(), "msg_1", ts, PAYLOAD)
    );
    let v1a = format!("v1a,{}", signature_v1a(&key, "msg_2", ts, PAYLOAD));
    let by_v1 = layer
        .verifier()
        .verify(&request("msg_1", v1), PAYLOAD)
        .await;
    assert_eq!(by_v1.unwrap().secret().unwrap().label(), Some("v1"));
    let by_v1a = layer
        .verifier()
        .verify(&request("msg_2", v1a), PAYLOAD)
        .await;
    assert_eq!(by_v1a.unwrap().secret().unwrap().label(), Some("v1a"));
    // The public key's bytes as a v1 "secret", or the secret's as a v1a key, verify nothing.
    let pk_as_secret =
        tower_hmac::Secret::new(public_key(WHPK).unwrap().as_bytes().to_vec()).unwrap();
    let forged = format!("v1,{}", signature(&pk_as_secret, "msg_3", ts, PAYLOAD));
    let refused = layer
        .verifier()
        .verify(&request("msg_3", forged), PAYLOAD)
        .await;
    assert_eq!(
        refused.unwrap_err().kind(),
        tower_hmac::RejectionKind::InvalidSignature
    );
}

/// The delivery id is signed whichever way: a copy re-signed with `v1a` later is a duplicate of
/// the delivery handled, so is one re-signed with the old key during a rotation.
#[tokio::test]
async fn a_copy_re_signed_is_the_same_delivery() {
    let setup = setup();
    let old = Ed25519PrivateKey::from_hex(
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    )
    .unwrap();
    let key = Key::new("standard", setup.secret.public_key())
        .with_secret(KeySecret::new(old.public_key()));
    let receiver = Receiver::serve(StandardVerifyLayer::new(key)).await;
    let (first, body) = setup.delivery(&receiver.url(), PAYLOAD);
    assert_handled(
        &send(receiver.addr, copy(&first, &body, &[])).await,
        body.len(),
    );
    let id = first.headers()["webhook-id"].to_str().unwrap().to_owned();
    let later = common::now_ms() / 1000 + 30;
    let by_old = format!("v1a,{}", signature_v1a(&old, &id, later, &body));
    let retry = copy(
        &first,
        &body,
        &[
            ("webhook-timestamp", &later.to_string()),
            ("webhook-signature", &by_old),
        ],
    );
    assert_duplicate(&send(receiver.addr, retry).await);
    assert_eq!(receiver.handled().len(), 1);
}

/// Node's crypto (what the specification's reference code would call) verifies every `v1a` the
/// crate's signers produce, and refuses the same signature over a changed body.
#[test]
fn node_crypto_verifies_the_signers_deliveries() {
    let key = private_key(WHSK).unwrap();
    let signer = StandardSigner::new(StandardWebhooks::default(), key.clone());
    let mut requests = Vec::new();
    let bodies: [(&str, &[u8]); 4] = [
        ("json", PAYLOAD),
        ("unicode", "{\"x\":\"café ✓ 😀\"}".as_bytes()),
        ("not_utf8", b"\xff\xfe{\"x\":1}\x80"),
        ("empty", b""),
    ];
    for (name, body) in bodies {
        let (mut parts, ()) = Request::post("/").body(()).unwrap().into_parts();
        tower_hmac::sign::Signer::sign(&signer, &mut parts, body).unwrap();
        assert!(
            parts.headers["webhook-signature"]
                .to_str()
                .unwrap()
                .starts_with("v1a,")
        );
        requests.push(common::ed25519::request(
            name,
            "standard-ed25519",
            WHPK,
            &parts.headers,
            body,
        ));
        requests.push(common::ed25519::request(
            &format!("{name}_changed_body"),
            "standard-ed25519",
            WHPK,
            &parts.headers,
            &[body, b"!"].concat(),
        ));
    }
    let headers = sign_request_v1a(&key, PAYLOAD).unwrap();
    requests.push(common::ed25519::request(
        "sign_request_v1a",
        "standard-ed25519",
        WHPK,
        &headers,
        PAYLOAD,
    ));
    let answers = common::ed25519::verified_outside(&requests);
    assert_eq!(answers.len(), requests.len());
    for (name, verified, by) in answers {
        assert_eq!(by, "node crypto.verify");
        assert_eq!(verified, !name.contains("changed"), "{name}");
    }
}

/// The mock's `/webhooks/standard-ed25519` holds RFC 8032's first public key: a `v1a` signed with
/// its private key is handled, a `v1` signed with the `v1` route's secret is refused there.
#[tokio::test]
async fn the_mock_holds_the_public_key_only() {
    let addr = serve_mock(mock::router(&mock::MockConfig::default()).unwrap()).await;
    let url = format!("http://{addr}/webhooks/standard-ed25519");
    let send_signed = |sender: &str, key: &str| {
        let signed = mock::sign_webhook(sender, key, &url, PAYLOAD).unwrap();
        let mut request = Request::post(&url).body(Full::from(PAYLOAD)).unwrap();
        request.headers_mut().extend(signed.headers);
        send(addr, request)
    };
    let reply = send_signed("standard-ed25519", WHSK).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["provider"], "standard-ed25519");
    assert_eq!(reply.json()["delivery_id_signed"], true);
    let v1 = send_signed("standard", WHSEC).await;
    assert_refused(&v1, StatusCode::UNAUTHORIZED, "invalid_credentials");
    // And the v1 route holds no public key: a v1a is refused there.
    let v1_route = format!("http://{addr}/webhooks/standard");
    let signed = mock::sign_webhook("standard-ed25519", WHSK, &v1_route, PAYLOAD).unwrap();
    let mut request = Request::post(&v1_route).body(Full::from(PAYLOAD)).unwrap();
    request.headers_mut().extend(signed.headers);
    assert_refused(
        &send(addr, request).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    );
}

/// Keys are read by their prefix: each helper refuses the other kinds, and `whsk_` is read in
/// both the specification's possible forms.
#[test]
fn whpk_and_whsk_keys() {
    assert!(public_key(WHSK).is_err());
    assert!(public_key(WHSEC).is_err());
    assert!(private_key(WHPK).is_err());
    assert!(secret(WHPK).is_err());
    let long = "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2DXWpgBgrEKt9VL/tPJZAc6DuFy89qmIyWvAhpo9wdRGg==";
    assert_eq!(
        private_key(long).unwrap().public_key(),
        public_key(WHPK).unwrap()
    );
    // 64 bytes whose public half is another key's (RFC 8032 TEST 2's).
    let mismatched = "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A9QBfD6EOJWpK3CqdNG368nJgszy7ElozAzVXxKvRmDA==";
    assert_eq!(
        private_key(mismatched).unwrap_err().to_string(),
        "the last 32 bytes of a 64-byte Ed25519 private key must be its public key"
    );
    assert!(format!("{:?}", private_key(WHSK).unwrap()).contains("d75a9801"));
    assert!(!format!("{:?}", private_key(WHSK).unwrap()).contains("9d61b19d"));
}
