//! Discord interactions: vectors signed with PyNaCl and Node's crypto (answered by Discord's own
//! `discord-interactions`), the PING handshake, `verifyKey` agreeing with the crate's signer, and
//! the cases every webhook scheme passes, on loopback.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use common::webhooks::{
    PAYLOAD, Receiver, Setup, Verdict, assert_handled, assert_refused, check_vectors, copy,
    payload_only,
};
use common::{send, serve_mock};
use http::Request;
use http_body_util::Full;
use tower_hmac::crypto::Ed25519PrivateKey;
use tower_hmac::discord::{
    Discord, DiscordSigner, DiscordVerifyLayer, private_key, public_key, sign_request, signature,
};
use tower_hmac::sign::Signer as _;
use tower_hmac::{Key, ManualClock, Secret, mock};

/// RFC 8032, section 7.1, TEST 1: the secret key and its public key.
const PRIVATE: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

fn setup() -> Setup<Discord, Ed25519PrivateKey> {
    Setup {
        scheme: Discord::default(),
        layer: |key| DiscordVerifyLayer::new(key),
        secret: private_key(PRIVATE).unwrap(),
        window: Some(Duration::from_secs(300)),
        body: payload_only,
    }
}

webhook_matrix!(setup());

/// `tests/vectors/webhooks/discord.json`, signed with PyNaCl and again with Node's crypto (the
/// same bytes), each answered by `discord-interactions` 4.4.0 (`generator.command` says how).
/// Where `verifyKey` is more lenient (no window, `parseInt` hex, small-order `R`), this layer
/// refuses.
#[tokio::test]
async fn sdk_vectors() {
    use Verdict::*;
    let malformed = Refuse("malformed_credentials");
    let missing = Refuse("missing_credentials");
    let mismatch = Refuse("invalid_credentials");
    let window = Refuse("timestamp_out_of_window");
    check_vectors(
        &setup(),
        "discord.json",
        |s| public_key(s).unwrap(),
        &[
            ("application_command", Accept),
            ("unicode_body", Accept),
            ("empty_body", Accept),
            ("non_utf8_body", Accept),
            ("uppercase_hex", Accept),
            // Signed as sent, as verifyKey concatenates the header.
            ("timestamp_leading_zero", Accept),
            ("ts_300s_old_ok", Accept),
            ("ts_300s_future_ok", Accept),
            ("neg_ts_301s_old", window),
            ("neg_ts_301s_future", window),
            // verifyKey checks no time and accepts it.
            ("neg_one_day_old", window),
            ("neg_tampered_body", mismatch),
            ("neg_tampered_timestamp", mismatch),
            ("neg_body_only_signed", mismatch),
            ("neg_wrong_key", mismatch),
            ("neg_truncated_signature", malformed),
            ("neg_empty_signature", malformed),
            ("neg_odd_length_hex", malformed),
            // verifyKey reads "0g" as 0x00 and accepts it.
            ("neg_non_hex_character", malformed),
            ("neg_malleable_s_plus_l", mismatch),
            // Node's crypto and verifyKey accept it; PyNaCl and verify_strict refuse it.
            ("neg_small_order_r", mismatch),
            // verifyKey accepts it (it reads no time).
            ("neg_timestamp_not_digits", malformed),
            ("neg_missing_signature", missing),
            ("neg_missing_timestamp", missing),
        ],
    )
    .await;
}

/// The vectors agree with their generators: every positive one was signed with the same bytes by
/// PyNaCl and Node, and each verdict above that differs from `verifyKey`'s is one the file
/// records as `verifyKey`'s leniency.
#[test]
fn the_vectors_record_what_verify_key_answered() {
    let doc = vectors();
    for vector in doc["vectors"].as_array().unwrap() {
        let name = vector["name"].as_str().unwrap();
        let discord = vector["sdk_verify_discord"]["returned"].as_bool();
        if vector["kind"] == "positive" {
            assert_eq!(vector["node_signature_matches"], true, "{name}");
            assert_eq!(discord, Some(true), "{name}");
        }
    }
    let accepted_by_verify_key: Vec<&str> = doc["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["kind"] == "negative" && v["sdk_verify_discord"]["returned"] == true)
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        accepted_by_verify_key,
        [
            "neg_ts_301s_old",
            "neg_ts_301s_future",
            "neg_one_day_old",
            "neg_non_hex_character",
            "neg_small_order_r",
            "neg_timestamp_not_digits",
        ]
    );
}

fn vectors() -> serde_json::Value {
    let path = format!(
        "{}/tests/vectors/webhooks/discord.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn vector_request(receiver: &Receiver, vector: &serde_json::Value) -> Request<Full<bytes::Bytes>> {
    let body = const_hex::decode(vector["body_hex"].as_str().unwrap()).unwrap();
    let mut request = Request::post(receiver.url()).header("content-type", "application/json");
    for (name, value) in vector["headers"].as_object().unwrap() {
        request = request.header(name.as_str(), value.as_str().unwrap());
    }
    request.body(Full::from(body)).unwrap()
}

/// A signed PING is answered by the layer with exactly `{"type":1}` (application/json) and never
/// reaches the handler; one unsigned, badly signed or stale is refused (401) and not answered.
#[tokio::test]
async fn a_ping_is_answered_only_once_verified() {
    let doc = vectors();
    let handshakes = doc["handshakes"].as_array().unwrap();
    let names: Vec<_> = handshakes
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "ping",
            "ping_minimal",
            "neg_ping_unsigned",
            "neg_ping_wrong_key",
            "neg_ping_stale"
        ]
    );
    for vector in handshakes {
        let name = vector["name"].as_str().unwrap();
        let now = UNIX_EPOCH + Duration::from_secs(vector["now"].as_u64().unwrap());
        let key = Key::new(
            "discord",
            public_key(vector["secret"].as_str().unwrap()).unwrap(),
        );
        let receiver =
            Receiver::serve(DiscordVerifyLayer::new(key).clock(ManualClock::new(now))).await;
        let expected = &vector["expected_response"];
        // Twice: a PING is answered to each copy, and is never recorded as a delivery.
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
                assert_eq!(reply.text(), r#"{"type":1}"#, "{name}");
                assert_eq!(reply.text(), expected["body"].as_str().unwrap(), "{name}");
            } else {
                let code = if name.ends_with("unsigned") {
                    "missing_credentials"
                } else if name.ends_with("stale") {
                    "timestamp_out_of_window"
                } else {
                    "invalid_credentials"
                };
                assert_refused(&reply, StatusCode::UNAUTHORIZED, code);
                assert!(!reply.text().contains(r#""type":1"#), "{name}");
            }
        }
        assert!(
            receiver.handled().is_empty(),
            "{name}: the handler was reached"
        );
    }
}

/// Only a JSON object whose `type` is the number 1 is a PING; any other verified interaction
/// reaches the handler.
#[tokio::test]
async fn other_interactions_reach_the_handler() {
    let setup = setup();
    let receiver = setup.receiver().await;
    for body in [
        &br#"{"type":2,"data":{"name":"ping"}}"#[..],
        br#"{"type":"1"}"#,
        br#"{"data":{"type":1}}"#,
        br#"[{"type":1}]"#,
        b"type=1",
    ] {
        let (request, body) = setup.delivery(&receiver.url(), body);
        assert_handled(&send(receiver.addr, request).await, body.len());
    }
    assert_eq!(receiver.handled().len(), 5);
}

/// Discord's own `verifyKey` (discord-interactions 4.4.0, run by node) accepts what the crate's
/// signers produce, for bodies of every kind, and refuses the same signature over a changed
/// body or timestamp: the signer signs Discord's message, not one the layer alone agrees with.
#[test]
fn verify_key_accepts_the_signers_interactions() {
    let key = private_key(PRIVATE).unwrap();
    let signer = DiscordSigner::new(Discord::default(), key.clone());
    let bodies: [(&str, &[u8]); 5] = [
        ("ping", br#"{"type":1}"#),
        ("command", br#"{"type":2,"data":{"name":"ping"}}"#),
        ("unicode", "{\"name\":\"café ✓ 😀\"}".as_bytes()),
        ("not_utf8", b"\xff\xfe{\"x\":1}\x80"),
        ("empty", b""),
    ];
    let mut requests = Vec::new();
    for (name, body) in bodies {
        let (mut parts, ()) = Request::post("/interactions")
            .body(())
            .unwrap()
            .into_parts();
        signer.sign(&mut parts, body).unwrap();
        requests.push(common::ed25519::request(
            name,
            "discord",
            PUBLIC,
            &parts.headers,
            body,
        ));
        let mut changed = body.to_vec();
        changed.push(b' ');
        requests.push(common::ed25519::request(
            &format!("{name}_changed_body"),
            "discord",
            PUBLIC,
            &parts.headers,
            &changed,
        ));
    }
    // The free functions sign the same way.
    let headers = sign_request(&key, b"{}").unwrap();
    requests.push(common::ed25519::request(
        "sign_request",
        "discord",
        PUBLIC,
        &headers,
        b"{}",
    ));
    let mut fixed = http::HeaderMap::new();
    fixed.insert(
        "x-signature-ed25519",
        signature(&key, "1763800000", b"{}").parse().unwrap(),
    );
    fixed.insert("x-signature-timestamp", "1763800000".parse().unwrap());
    requests.push(common::ed25519::request(
        "signature",
        "discord",
        PUBLIC,
        &fixed,
        b"{}",
    ));
    fixed.insert("x-signature-timestamp", "1763800001".parse().unwrap());
    requests.push(common::ed25519::request(
        "signature_changed_timestamp",
        "discord",
        PUBLIC,
        &fixed,
        b"{}",
    ));
    let answers = common::ed25519::verified_outside(&requests);
    assert_eq!(answers.len(), requests.len());
    for (name, verified, by) in answers {
        assert_eq!(by, "discord-interactions verifyKey");
        assert_eq!(verified, !name.contains("changed"), "{name}");
    }
}

/// An interaction is checked with the key's public keys only: a key holding an HMAC secret (even
/// the bytes of the right public key) verifies nothing, after the same work as an unknown key.
#[tokio::test]
async fn a_key_of_secrets_only_verifies_no_interaction() {
    let setup = setup();
    let public_bytes = private_key(PRIVATE)
        .unwrap()
        .public_key()
        .as_bytes()
        .to_vec();
    for secret in [
        Secret::new(public_bytes).unwrap(),
        Secret::new(PRIVATE).unwrap(),
    ] {
        let receiver = Receiver::serve(DiscordVerifyLayer::new(Key::new("discord", secret))).await;
        let (request, _) = setup.delivery(&receiver.url(), PAYLOAD);
        let reply = send(receiver.addr, request).await;
        assert_refused(&reply, StatusCode::UNAUTHORIZED, "invalid_credentials");
        assert!(receiver.handled().is_empty());
    }
}

/// A copy of an interaction re-sent later within the window is the same delivery (its
/// signature), acknowledged without reaching the handler; a PING is never recorded as one.
#[tokio::test]
async fn a_copy_is_acknowledged_and_a_ping_is_never_a_delivery() {
    let setup = setup();
    let receiver = setup.receiver().await;
    let at = SystemTime::now() - Duration::from_secs(10);
    let (ping, ping_body) =
        setup.delivery_signed(&setup.secret, &receiver.url(), at, br#"{"type":1}"#);
    for _ in 0..2 {
        let reply = send(receiver.addr, copy(&ping, &ping_body, &[])).await;
        assert_eq!(reply.text(), r#"{"type":1}"#);
    }
    let (request, body) = setup.delivery_signed(&setup.secret, &receiver.url(), at, PAYLOAD);
    assert_handled(
        &send(receiver.addr, copy(&request, &body, &[])).await,
        body.len(),
    );
    let again = send(receiver.addr, copy(&request, &body, &[])).await;
    common::webhooks::assert_duplicate(&again);
    assert_eq!(receiver.handled().len(), 1);
}

/// The mock's `/webhooks/discord` (RFC 8032's first test key) answers a signed PING itself and
/// does not list it; an interaction signed with another key is 401.
#[tokio::test]
async fn the_mock_answers_a_ping_and_does_not_list_it() {
    let addr = serve_mock(mock::router(&mock::MockConfig::default()).unwrap()).await;
    let url = format!("http://{addr}/webhooks/discord");
    let request = |headers: http::HeaderMap, body: &'static [u8]| {
        let mut request = Request::post(&url).body(Full::from(body)).unwrap();
        request.headers_mut().extend(headers);
        request
    };
    let ping = br#"{"type":1}"#;
    let signed = mock::sign_webhook("discord", PRIVATE, &url, ping).unwrap();
    let reply = send(addr, request(signed.headers, ping)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.text(), r#"{"type":1}"#);
    // RFC 8032's second test key.
    let other = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
    let forged = mock::sign_webhook("discord", other, &url, ping).unwrap();
    assert_eq!(
        send(addr, request(forged.headers, ping)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let list = send(
        addr,
        Request::get("/webhooks/discord/deliveries")
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(list.json(), serde_json::json!([]));
    // A private key that is not one is the signing CLI's error, not a request.
    assert!(mock::sign_webhook("discord", "whsec_abc", &url, ping).is_err());
}

/// Two `X-Signature-Ed25519` headers (even the right one twice) are refused: a header is read
/// whole, once.
#[tokio::test]
async fn two_signature_headers_are_refused() {
    let setup = setup();
    let receiver = setup.receiver().await;
    let (request, body) = setup.delivery(&receiver.url(), PAYLOAD);
    let good = request.headers()["x-signature-ed25519"].clone();
    let mut twice = copy(&request, &body, &[]);
    twice.headers_mut().append("x-signature-ed25519", good);
    let reply = send(receiver.addr, twice).await;
    assert_refused(&reply, StatusCode::UNAUTHORIZED, "malformed_credentials");
    assert!(receiver.handled().is_empty());
}
