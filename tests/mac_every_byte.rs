//! Every byte of a MAC counts: for each scheme, a valid signature with only its last (or only its
//! first) decoded byte changed, re-encoded the way the scheme's clients send it, is refused with
//! 401 `invalid_credentials`, and the untouched signature is then accepted.
//!
//! Guards against a compare that stops early (the first 16 bytes only, say), which the random
//! property tests catch only by chance: a changed byte must land in the part no longer compared.
//! Each layer runs as a tower service in process, no server.

use std::convert::Infallible;
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use tower::{Layer as _, Service, ServiceExt as _, service_fn};
use tower_hmac::humanos::{self, HumanosVerifyLayer};
use tower_hmac::inqud::{self, InqudVerifyLayer};
use tower_hmac::proficient::{ProficientHmac, ProficientVerifyLayer, user_hmac};
use tower_hmac::spike::{SpikeBearerLayer, SpikeExchange, SpikeTokenKeys, sign_user};
use tower_hmac::{Key, ManualClock, MemoryKeyStore, Secret};

const SECRET: &str = "every-byte-of-the-mac-counts";
const NOW_MS: u64 = 1_763_800_000_000;
const INVALID: &str =
    r#"{"error":"invalid_credentials","message":"the key or the signature is not valid"}"#;
/// A signature's decoded bytes: the last one, then the first.
const CHANGED_BYTES: [usize; 2] = [31, 0];

fn secret() -> Secret {
    Secret::new(SECRET).unwrap()
}

fn key(id: &str) -> MemoryKeyStore {
    MemoryKeyStore::new().with(Key::new(id, secret()))
}

/// `signature` decoded with `decode`, byte `at` flipped, re-encoded with `encode`.
fn change_byte(
    signature: &str,
    at: usize,
    decode: impl Fn(&str) -> Vec<u8>,
    encode: impl Fn(&[u8]) -> String,
) -> String {
    let mut bytes = decode(signature);
    assert_eq!(bytes.len(), 32, "an HMAC-SHA256 tag");
    bytes[at] ^= 0x01;
    let changed = encode(&bytes);
    assert_ne!(changed, signature);
    changed
}

fn change_hex(signature: &str, at: usize) -> String {
    change_byte(
        signature,
        at,
        |s| const_hex::decode(s).unwrap(),
        |b| const_hex::encode(b),
    )
}

fn change_base64(signature: &str, at: usize) -> String {
    change_byte(
        signature,
        at,
        |s| STANDARD.decode(s).unwrap(),
        |b| STANDARD.encode(b),
    )
}

/// Sends `request` through `service` and returns the status and body.
async fn answer<S, B>(service: S, request: Request<Full<Bytes>>) -> (StatusCode, String)
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>, Error = Infallible>,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let response = service.oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

/// The handler behind every layer: it only says it ran.
async fn handler<B>(_: Request<B>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(b"handler"))))
}

fn refused(answer: (StatusCode, String), what: &str) {
    assert_eq!(
        answer,
        (StatusCode::UNAUTHORIZED, INVALID.to_owned()),
        "{what}"
    );
}

fn accepted(answer: (StatusCode, String)) {
    assert_eq!(answer, (StatusCode::OK, "handler".to_owned()));
}

#[tokio::test]
async fn humanos_signature_with_its_last_or_first_byte_changed_is_refused() {
    let layer = HumanosVerifyLayer::new(key("KEY"))
        .clock(ManualClock::new(UNIX_EPOCH + Duration::from_millis(NOW_MS)));
    let body = r#"{"amount":1}"#;
    let request = |signature: &str| {
        Request::post("/v0/process/generate")
            .header("authorization", "Bearer KEY")
            .header("x-timestamp", NOW_MS.to_string())
            .header("x-signature", signature)
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .unwrap()
    };
    let signature = humanos::signature(&secret(), NOW_MS, body.as_bytes());
    for at in CHANGED_BYTES {
        let changed = change_hex(&signature, at);
        let reply = answer(layer.layer(service_fn(handler)), request(&changed)).await;
        refused(reply, &format!("byte {at} changed"));
    }
    accepted(answer(layer.layer(service_fn(handler)), request(&signature)).await);
}

#[tokio::test]
async fn inqud_signature_with_its_last_or_first_byte_changed_is_refused() {
    // The layer's own replay store: the changed signatures must not use up the salt either.
    let layer = InqudVerifyLayer::new(key("TKN-every-byte"));
    let (body, salt) = (r#"{"amount":1}"#, "salt-0001");
    let request = |signature: &str| {
        Request::post("/v1/user/payments/payout")
            .header("x-token-api-id", "TKN-every-byte")
            .header("x-hmac-sha256-signature", signature)
            .header("x-salt", salt)
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .unwrap()
    };
    let signature = inqud::signature(&secret(), body.as_bytes(), salt);
    for at in CHANGED_BYTES {
        let changed = change_hex(&signature, at);
        let reply = answer(layer.layer(service_fn(handler)), request(&changed)).await;
        refused(reply, &format!("byte {at} changed"));
    }
    accepted(answer(layer.layer(service_fn(handler)), request(&signature)).await);
}

#[tokio::test]
async fn proficient_hmac_with_its_last_or_first_byte_changed_is_refused() {
    let keys = MemoryKeyStore::new()
        .with(Key::new("pk_every_byte", secret()).with_policy(ProficientHmac::Required));
    let layer = ProficientVerifyLayer::new(keys);
    let request = |hmac: &str| {
        Request::get("/interactions")
            .header("x-proficient-api-key", "pk_every_byte")
            .header("x-proficient-user-external-id", "user-42")
            .header("x-proficient-user-hmac", hmac)
            .body(Full::default())
            .unwrap()
    };
    let hmac = user_hmac(&secret(), "user-42");
    for at in CHANGED_BYTES {
        let changed = change_base64(&hmac, at);
        let reply = answer(layer.layer(service_fn(handler)), request(&changed)).await;
        refused(reply, &format!("byte {at} changed"));
    }
    accepted(answer(layer.layer(service_fn(handler)), request(&hmac)).await);
}

fn token_keys() -> SpikeTokenKeys {
    SpikeTokenKeys::new(Secret::new([0x42; 32]).unwrap()).unwrap()
}

fn spike_exchange() -> SpikeExchange {
    SpikeExchange::new(key("9999"), token_keys()).unwrap()
}

fn exchange_request(signature: &str) -> Request<Full<Bytes>> {
    let body = format!(
        r#"{{"application_id": 9999, "application_user_id": "alice", "signature": "{signature}"}}"#
    );
    Request::post("/v3/auth/hmac")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

#[tokio::test]
async fn spike_exchange_signature_with_its_last_or_first_byte_changed_is_refused() {
    let signature = sign_user(&secret(), "alice");
    for at in CHANGED_BYTES {
        let changed = change_hex(&signature, at);
        let reply = answer(spike_exchange(), exchange_request(&changed)).await;
        refused(reply, &format!("byte {at} changed"));
    }
    let (status, body) = answer(spike_exchange(), exchange_request(&signature)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.starts_with(r#"{"access_token":""#), "{body}");
}

#[tokio::test]
async fn spike_token_signature_with_its_last_or_first_byte_changed_is_refused() {
    let (_, body) = answer(
        spike_exchange(),
        exchange_request(&sign_user(&secret(), "alice")),
    )
    .await;
    let reply: serde_json::Value = serde_json::from_str(&body).unwrap();
    let token = reply["access_token"].as_str().unwrap();
    let (signed, signature) = token.rsplit_once('.').unwrap();

    let bearer = SpikeBearerLayer::new(token_keys());
    let request = |token: &str| {
        Request::get("/v3/userinfo")
            .header("authorization", format!("Bearer {token}"))
            .body(Full::default())
            .unwrap()
    };
    for at in CHANGED_BYTES {
        // The JWT signature segment: unpadded base64url of the 32-byte HS256 tag.
        let changed = change_byte(
            signature,
            at,
            |s| URL_SAFE_NO_PAD.decode(s).unwrap(),
            |b| URL_SAFE_NO_PAD.encode(b),
        );
        let reply = answer(
            bearer.layer(service_fn(handler)),
            request(&format!("{signed}.{changed}")),
        )
        .await;
        refused(reply, &format!("byte {at} changed"));
    }
    accepted(answer(bearer.layer(service_fn(handler)), request(token)).await);
}
