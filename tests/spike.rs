//! Spike over loopback in axum 0.8: the token exchange, then calls with the token it returned.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::response::Json;
use axum::routing::{get, post_service};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use common::{Reply, send, serve_axum};
use http::header::{ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tower::ServiceExt as _;
use tower_hmac::spike::{SpikeBearerLayer, SpikeExchange, SpikeTokenKeys, SpikeUser, sign_user};
use tower_hmac::{
    BoxFuture, Key, KeySecret, KeyStore, ManualClock, MemoryKeyStore, Rejection, RejectionContext,
    Secret, StoreError, Verified,
};

const APP_KEY: &str = "HMAC_KEY_FROM_ADMIN_CONSOLE";
const TOKEN_KEY: [u8; 32] = [0x42; 32];
const SIGNATURE_FORM: &str =
    "signature must be 64 hex digits: the HMAC-SHA256 of application_user_id";
const APPLICATION_ID_FORM: &str = "application_id must be a non-negative integer or a string of 1 to 128 visible ASCII characters";
const USER_ID_FORM: &str =
    "application_user_id must be a string of 1 to 128 characters from A-Z a-z 0-9 - _ .";
const INVALID: &str =
    r#"{"error":"invalid_credentials","message":"the key or the signature is not valid"}"#;

fn vectors() -> Value {
    serde_json::from_str(include_str!("vectors/spike.json")).unwrap()
}

fn app_key() -> Secret {
    Secret::new(APP_KEY).unwrap()
}

fn token_keys() -> SpikeTokenKeys {
    SpikeTokenKeys::new(Secret::new(TOKEN_KEY).unwrap()).unwrap()
}

fn applications() -> MemoryKeyStore {
    MemoryKeyStore::new().with(Key::new("9999", app_key()))
}

/// Echoes what the bearer layer verified.
async fn userinfo(user: Verified<SpikeUser>) -> Json<Value> {
    Json(json!({
        "key_id": user.key_id(),
        "application_id": user.identity().application_id(),
        "user_id": user.identity().user_id(),
        "token_key": user.secret().map(|s| s.index()),
    }))
}

/// The exchange at the vendor's path (and mounted the two other ways), and a protected route.
fn app(exchange: SpikeExchange, bearer: SpikeBearerLayer) -> Router {
    let protected = Router::new()
        .route("/v3/userinfo", get(userinfo))
        .route_layer(bearer);
    Router::new()
        .route("/v3/auth/hmac", post_service(exchange.clone()))
        .route_service("/route-service/auth/hmac", exchange.clone())
        .nest_service("/nested", exchange)
        .merge(protected)
}

async fn serve(exchange: SpikeExchange, bearer: SpikeBearerLayer) -> SocketAddr {
    serve_axum(app(exchange, bearer)).await
}

async fn default_server() -> (SocketAddr, SpikeTokenKeys) {
    let tokens = token_keys();
    let addr = serve(
        SpikeExchange::new(applications(), tokens.clone()).unwrap(),
        SpikeBearerLayer::new(tokens.clone()),
    )
    .await;
    (addr, tokens)
}

fn exchange_request(path: &str, body: impl Into<Bytes>) -> Request<Full<Bytes>> {
    Request::post(path)
        .header(CONTENT_TYPE, "application/json")
        .header("accept", "application/json")
        .body(Full::new(body.into()))
        .unwrap()
}

async fn post_exchange(addr: SocketAddr, body: impl Into<Bytes>) -> Reply {
    send(addr, exchange_request("/v3/auth/hmac", body)).await
}

fn body_for(application_id: Value, user_id: &str, signature: &str) -> String {
    json!({
        "application_id": application_id,
        "application_user_id": user_id,
        "signature": signature,
    })
    .to_string()
}

/// Exchanges for `user_id` of application 9999 (signed with the doc's key) and returns the token.
async fn token_for(addr: SocketAddr, user_id: &str) -> String {
    let reply = post_exchange(
        addr,
        body_for(json!(9999), user_id, &sign_user(&app_key(), user_id)),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()["access_token"].as_str().unwrap().to_owned()
}

async fn call(addr: SocketAddr, authorization: &str) -> Reply {
    send(
        addr,
        Request::get("/v3/userinfo")
            .header(AUTHORIZATION, authorization)
            .body(Full::default())
            .unwrap(),
    )
    .await
}

async fn call_with(addr: SocketAddr, token: &str) -> Reply {
    call(addr, &format!("Bearer {token}")).await
}

fn segments(token: &str) -> (String, String, String) {
    let mut parts = token.split('.');
    let out = (
        parts.next().unwrap().to_owned(),
        parts.next().unwrap().to_owned(),
        parts.next().unwrap().to_owned(),
    );
    assert!(parts.next().is_none(), "{token}");
    out
}

fn decode_segment(segment: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

fn assert_bearer_401(reply: &Reply, code: &str) {
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text());
    assert_eq!(reply.headers[WWW_AUTHENTICATE], "Bearer realm=\"spike\"");
    assert_eq!(reply.json()["error"], code, "{}", reply.text());
}

#[test]
fn vectors_match_the_vendor_sign_user() {
    let vectors = vectors();
    assert_eq!(
        vectors["generated_by"],
        "python3 tests/vectors/spike.py > tests/vectors/spike.json"
    );
    let all = vectors["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .chain(vectors["invalid_user_ids"].as_array().unwrap());
    let mut count = 0;
    for v in all {
        let user = v["application_user_id"].as_str().unwrap();
        assert_eq!(sign_user(&app_key(), user), v["signature"], "{}", v["name"]);
        count += 1;
    }
    assert_eq!(count, 9);
}

#[tokio::test]
async fn exchange_then_protected_call_for_every_vector() {
    let (addr, _) = default_server().await;
    for v in vectors()["vectors"].as_array().unwrap() {
        let user = v["application_user_id"].as_str().unwrap();
        let signature = v["signature"].as_str().unwrap();
        let reply = post_exchange(addr, body_for(json!(9999), user, signature)).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{}: {}",
            v["name"],
            reply.text()
        );
        assert_eq!(reply.headers[CONTENT_TYPE], "application/json");
        assert_eq!(reply.headers[CACHE_CONTROL], "no-store");
        let body = reply.json();
        assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
        let token = body["access_token"].as_str().unwrap();

        let (header, payload, _) = segments(token);
        assert_eq!(
            decode_segment(&header),
            json!({"alg": "HS256", "typ": "JWT"})
        );
        assert_eq!(
            decode_segment(&payload),
            json!({"iss": "9999", "sub": user})
        );

        let reply = call_with(addr, token).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        assert_eq!(
            reply.json(),
            json!({"key_id": "9999", "application_id": "9999", "user_id": user, "token_key": 0})
        );
    }
}

#[tokio::test]
async fn claims_match_the_doc_example_token() {
    let (addr, _) = default_server().await;
    let doc = &vectors()["doc_token"];
    let token = token_for(addr, "application-user-id-123").await;
    let (header, payload, _) = segments(&token);
    let (doc_header, doc_payload, _) = segments(doc["token"].as_str().unwrap());
    // Same claims, serialised the same way, so the payload segment is the doc's byte for byte.
    assert_eq!(payload, doc_payload);
    assert_eq!(decode_segment(&header), decode_segment(&doc_header));
    assert_eq!(decode_segment(&header), doc["header"]);
    // The doc's token was signed with Spike's key, not ours.
    assert_bearer_401(
        &call_with(addr, doc["token"].as_str().unwrap()).await,
        "invalid_credentials",
    );
}

#[tokio::test]
async fn same_user_same_token_other_user_other_token() {
    let tokens = token_keys();
    let applications = applications().with(Key::new("7", app_key()));
    let addr = serve(
        SpikeExchange::new(applications, tokens.clone()).unwrap(),
        SpikeBearerLayer::new(tokens),
    )
    .await;
    let first = token_for(addr, "alice").await;
    let again = token_for(addr, "alice").await;
    assert_eq!(first, again);
    let bob = token_for(addr, "bob").await;
    assert_ne!(first, bob);
    // The same user id in another application is another user.
    let sig = sign_user(&app_key(), "alice");
    let reply = post_exchange(addr, body_for(json!("7"), "alice", &sig)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_ne!(reply.json()["access_token"], first.as_str());
}

#[tokio::test]
async fn application_id_as_number_or_string_is_the_same_application() {
    let (addr, _) = default_server().await;
    let sig = sign_user(&app_key(), "alice");
    let as_number = post_exchange(addr, body_for(json!(9999), "alice", &sig)).await;
    let as_string = post_exchange(addr, body_for(json!("9999"), "alice", &sig)).await;
    assert_eq!(as_number.status, StatusCode::OK);
    assert_eq!(as_string.status, StatusCode::OK);
    assert_eq!(as_number.body, as_string.body);
}

#[tokio::test]
async fn exchange_mounts_as_route_service_and_nested_service() {
    let (addr, _) = default_server().await;
    let sig = sign_user(&app_key(), "alice");
    let expected = token_for(addr, "alice").await;
    for path in ["/route-service/auth/hmac", "/nested", "/nested/"] {
        let reply = send(
            addr,
            exchange_request(path, body_for(json!(9999), "alice", &sig)),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text());
        assert_eq!(reply.json()["access_token"], expected.as_str());
    }
}

#[tokio::test]
async fn other_methods_are_405() {
    let (addr, _) = default_server().await;
    // Mounted without a method filter, the exchange answers 405 itself.
    for method in ["GET", "PUT", "DELETE"] {
        let request = Request::builder()
            .method(method)
            .uri("/route-service/auth/hmac")
            .body(Full::default())
            .unwrap();
        let reply = send(addr, request).await;
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(reply.headers[ALLOW], "POST");
        assert_eq!(
            reply.text(),
            r#"{"error":"method_not_allowed","message":"the token exchange takes POST"}"#
        );
    }
    // Under post_service, axum's method router answers first.
    let reply = send(
        addr,
        Request::get("/v3/auth/hmac").body(Full::default()).unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn exchange_validation_errors() {
    let (addr, _) = default_server().await;
    let sig = sign_user(&app_key(), "alice");
    let invalid_request =
        |message: &str| json!({"error": "invalid_request", "message": message}).to_string();
    let cases: Vec<(String, &str)> = vec![
        ("{\"application_id\": 9999,".to_owned(), "the body is not valid JSON"),
        ("not json".to_owned(), "the body must be a JSON object"),
        ("".to_owned(), "the body must be a JSON object"),
        (
            json!([9999, "alice", sig]).to_string(),
            "the body must be a JSON object",
        ),
        (
            format!(r#"{{"application_id": 1, "application_id": 9999, "application_user_id": "alice", "signature": "{sig}"}}"#),
            "the body must be a JSON object with each field given once",
        ),
        (
            json!({"application_user_id": "alice", "signature": sig}).to_string(),
            "application_id is required",
        ),
        (
            json!({"application_id": 9999, "signature": sig}).to_string(),
            "application_user_id is required",
        ),
        (
            json!({"application_id": 9999, "application_user_id": "alice"}).to_string(),
            "signature is required",
        ),
        (
            json!({"application_id": null, "application_user_id": "alice", "signature": sig}).to_string(),
            "application_id is required",
        ),
        (body_for(json!(true), "alice", &sig), APPLICATION_ID_FORM),
        (body_for(json!(-9999), "alice", &sig), APPLICATION_ID_FORM),
        (body_for(json!(9999.5), "alice", &sig), APPLICATION_ID_FORM),
        ("{\"application_id\": 9999.0, \"application_user_id\": \"alice\", \"signature\": \"x\"}".to_owned(), APPLICATION_ID_FORM),
        (body_for(json!(""), "alice", &sig), APPLICATION_ID_FORM),
        (body_for(json!([9999]), "alice", &sig), APPLICATION_ID_FORM),
        (
            json!({"application_id": 9999, "application_user_id": 42, "signature": sig}).to_string(),
            USER_ID_FORM,
        ),
        (
            json!({"application_id": 9999, "application_user_id": "alice", "signature": 42}).to_string(),
            "signature must be a string: the hex HMAC-SHA256 of application_user_id",
        ),
    ];
    for (body, message) in cases {
        let reply = post_exchange(addr, body.clone()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(reply.headers[CONTENT_TYPE], "application/json");
        assert!(reply.headers.get(WWW_AUTHENTICATE).is_none());
        assert_eq!(reply.text(), invalid_request(message), "{body}");
    }

    // Invalid user ids, each with its valid signature: refused for the id alone.
    for v in vectors()["invalid_user_ids"].as_array().unwrap() {
        let user = v["application_user_id"].as_str().unwrap();
        let reply = post_exchange(
            addr,
            body_for(json!(9999), user, v["signature"].as_str().unwrap()),
        )
        .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", v["name"]);
        assert_eq!(reply.text(), invalid_request(USER_ID_FORM), "{}", v["name"]);
    }
}

#[tokio::test]
async fn signature_not_hex_is_401_malformed() {
    let (addr, _) = default_server().await;
    let sig = sign_user(&app_key(), "alice");
    let not_hex = sig.replace(|c: char| c.is_ascii_digit(), "z");
    for bad in [
        "",
        "SIGNATURE_FROM_STEP_1",
        &sig[..63],
        not_hex.as_str(),
        &format!("{sig}0"),
    ] {
        let reply = post_exchange(addr, body_for(json!(9999), "alice", bad)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{bad}");
        assert_eq!(reply.headers[WWW_AUTHENTICATE], "HMAC realm=\"spike\"");
        assert_eq!(
            reply.text(),
            json!({"error": "malformed_credentials", "message": SIGNATURE_FORM}).to_string()
        );
    }
    // Upper-case hex is the same signature.
    let reply = post_exchange(addr, body_for(json!(9999), "alice", &sig.to_uppercase())).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn wrong_signature_and_unknown_or_revoked_application_look_the_same() {
    let tokens = token_keys();
    let applications = applications()
        .with(Key::new("revoked-app", app_key()).revoked())
        .with(Key::new("expired-app", app_key()).expires_at(UNIX_EPOCH));
    let addr = serve(
        SpikeExchange::new(applications, tokens.clone()).unwrap(),
        SpikeBearerLayer::new(tokens),
    )
    .await;
    let sig = sign_user(&app_key(), "alice");
    let other_key = Secret::new("ANOTHER_KEY").unwrap();
    let replies = [
        // Signature of another user id.
        post_exchange(
            addr,
            body_for(json!(9999), "alice", &sign_user(&app_key(), "bob")),
        )
        .await,
        // Signature made with another key.
        post_exchange(
            addr,
            body_for(json!(9999), "alice", &sign_user(&other_key, "alice")),
        )
        .await,
        // Unknown application, as a number and as a string, with a signature valid for 9999.
        post_exchange(addr, body_for(json!(1234), "alice", &sig)).await,
        post_exchange(addr, body_for(json!("nope"), "alice", &sig)).await,
        // Known but revoked or expired, with the right signature.
        post_exchange(addr, body_for(json!("revoked-app"), "alice", &sig)).await,
        post_exchange(addr, body_for(json!("expired-app"), "alice", &sig)).await,
    ];
    for reply in &replies {
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.text(), INVALID);
        assert_eq!(reply.body, replies[0].body);
        let mut headers: Vec<_> = reply
            .headers
            .iter()
            .filter(|(name, _)| *name != "date")
            .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
            .collect();
        headers.sort();
        let mut first: Vec<_> = replies[0]
            .headers
            .iter()
            .filter(|(name, _)| *name != "date")
            .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
            .collect();
        first.sort();
        assert_eq!(headers, first);
    }
    assert_eq!(replies[0].headers[WWW_AUTHENTICATE], "HMAC realm=\"spike\"");
}

#[tokio::test]
async fn application_key_rotation_accepts_both_secrets() {
    let tokens = token_keys();
    let new_key = Secret::new("NEW_HMAC_KEY").unwrap();
    let applications = applications();
    applications
        .rotate(
            "9999",
            KeySecret::new(new_key.clone()),
            SystemTime::now() + Duration::from_secs(3600),
        )
        .unwrap();
    let addr = serve(
        SpikeExchange::new(applications, tokens.clone()).unwrap(),
        SpikeBearerLayer::new(tokens),
    )
    .await;
    let old = post_exchange(
        addr,
        body_for(json!(9999), "alice", &sign_user(&app_key(), "alice")),
    )
    .await;
    let new = post_exchange(
        addr,
        body_for(json!(9999), "alice", &sign_user(&new_key, "alice")),
    )
    .await;
    assert_eq!(old.status, StatusCode::OK);
    assert_eq!(new.status, StatusCode::OK);
    assert_eq!(
        old.body, new.body,
        "the token does not depend on the HMAC secret used"
    );
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let (addr, _) = default_server().await;
    let sig = sign_user(&app_key(), "alice");
    // Over the 16 KiB default, padded with an ignored field.
    let big = format!(
        r#"{{"application_id": 9999, "application_user_id": "alice", "signature": "{sig}", "pad": "{}"}}"#,
        "x".repeat(16 * 1024)
    );
    let reply = post_exchange(addr, big.clone()).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        reply.text(),
        r#"{"error":"payload_too_large","message":"the request body is too large"}"#
    );
    // Just under the limit, the same body shape is fine.
    let fits = format!(
        r#"{{"application_id": 9999, "application_user_id": "alice", "signature": "{sig}", "pad": "{}"}}"#,
        "x".repeat(15 * 1024)
    );
    assert_eq!(post_exchange(addr, fits).await.status, StatusCode::OK);

    // A configured limit, and a body without Content-Length (read through the limit).
    let small = SpikeExchange::new(applications(), token_keys())
        .unwrap()
        .body_limit(64);
    let body = body_for(json!(9999), "alice", &sig);
    assert!(body.len() > 64);
    let response = small
        .clone()
        .oneshot(
            Request::post("/")
                .body(Full::new(Bytes::from(body)))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let response = small
        .oneshot(
            Request::post("/")
                .body(Full::new(Bytes::from_static(br#"{"application_id": 1}"#)))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

struct FailingStore;

impl KeyStore for FailingStore {
    fn get<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Option<Key>, StoreError>> {
        Box::pin(async { Err(StoreError::new("database down")) })
    }
}

#[tokio::test]
async fn key_store_failure_is_503() {
    let tokens = token_keys();
    let addr = serve(
        SpikeExchange::new(FailingStore, tokens.clone()).unwrap(),
        SpikeBearerLayer::new(tokens),
    )
    .await;
    let reply = post_exchange(
        addr,
        body_for(json!(9999), "alice", &sign_user(&app_key(), "alice")),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.json()["error"], "unavailable");
    assert!(!reply.text().contains("database"));
}

fn encode(alg: Algorithm, key: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(key)).unwrap()
}

#[tokio::test]
async fn forged_and_foreign_tokens_are_refused() {
    let (addr, _) = default_server().await;
    let token = token_for(addr, "alice").await;
    assert_eq!(call_with(addr, &token).await.status, StatusCode::OK);
    let (header, payload, signature) = segments(&token);

    // One signature character flipped (in the middle, so it changes signature bits).
    let mut flipped: Vec<char> = signature.chars().collect();
    flipped[10] = if flipped[10] == 'A' { 'B' } else { 'A' };
    let flipped: String = flipped.into_iter().collect();
    assert_bearer_401(
        &call_with(addr, &format!("{header}.{payload}.{flipped}")).await,
        "invalid_credentials",
    );

    // Claims changed to another user, original signature kept.
    let forged = URL_SAFE_NO_PAD.encode(json!({"iss": "9999", "sub": "mallory"}).to_string());
    assert_bearer_401(
        &call_with(addr, &format!("{header}.{forged}.{signature}")).await,
        "invalid_credentials",
    );

    // alg "none", without a signature and with the original one.
    let none = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    for token in [
        format!("{none}.{payload}."),
        format!("{none}.{forged}."),
        format!("{none}.{payload}.{signature}"),
    ] {
        assert_bearer_401(&call_with(addr, &token).await, "malformed_credentials");
    }

    // Right key, other HMAC algorithms.
    let claims = json!({"iss": "9999", "sub": "alice"});
    for alg in [Algorithm::HS384, Algorithm::HS512] {
        let reply = call_with(addr, &encode(alg, &TOKEN_KEY, &claims)).await;
        assert_bearer_401(&reply, "malformed_credentials");
        assert_eq!(
            reply.json()["message"],
            "the access token must be signed with HS256"
        );
    }
    // HS256 with the right key is accepted: the refusals above are about the algorithm.
    assert_eq!(
        call_with(addr, &encode(Algorithm::HS256, &TOKEN_KEY, &claims))
            .await
            .status,
        StatusCode::OK
    );

    // Signed with the application's HMAC key instead of the token key.
    let with_app_key = encode(Algorithm::HS256, APP_KEY.as_bytes(), &claims);
    assert_bearer_401(&call_with(addr, &with_app_key).await, "invalid_credentials");

    // Not a token at all, and no token.
    assert_bearer_401(
        &call(addr, "Bearer not-a-jwt").await,
        "malformed_credentials",
    );
    assert_bearer_401(
        &call(addr, &format!("Basic {token}")).await,
        "malformed_credentials",
    );
    let reply = send(
        addr,
        Request::get("/v3/userinfo").body(Full::default()).unwrap(),
    )
    .await;
    assert_bearer_401(&reply, "missing_credentials");
}

#[tokio::test]
async fn expiry_option_and_manual_clock() {
    let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let clock = ManualClock::new(t0);
    let tokens = token_keys();
    let addr = serve(
        SpikeExchange::new(applications(), tokens.clone())
            .unwrap()
            .token_lifetime(Duration::from_secs(3600))
            .clock(clock.clone()),
        SpikeBearerLayer::new(tokens).clock(clock.clone()),
    )
    .await;
    let token = token_for(addr, "alice").await;
    let (_, payload, _) = segments(&token);
    assert_eq!(
        decode_segment(&payload),
        json!({"iss": "9999", "sub": "alice", "iat": 1_800_000_000u64, "exp": 1_800_003_600u64})
    );
    clock.advance(Duration::from_secs(3599));
    assert_eq!(call_with(addr, &token).await.status, StatusCode::OK);
    clock.advance(Duration::from_secs(1));
    let reply = call_with(addr, &token).await;
    assert_bearer_401(&reply, "timestamp_out_of_window");
    assert_eq!(
        reply.json()["message"],
        "the access token has expired; exchange a new one"
    );
    // A new exchange gives a new token, valid again.
    let renewed = token_for(addr, "alice").await;
    assert_ne!(renewed, token);
    assert_eq!(call_with(addr, &renewed).await.status, StatusCode::OK);
}

#[tokio::test]
async fn require_exp_refuses_lifelong_tokens() {
    let tokens = token_keys();
    let addr = serve(
        SpikeExchange::new(applications(), tokens.clone()).unwrap(),
        SpikeBearerLayer::new(tokens).require_exp(true),
    )
    .await;
    let token = token_for(addr, "alice").await;
    assert_bearer_401(&call_with(addr, &token).await, "malformed_credentials");
}

#[tokio::test]
async fn rotated_token_key() {
    let (addr, tokens) = default_server().await;
    let old = token_for(addr, "alice").await;
    tokens.rotate(Secret::new([0x43; 32]).unwrap()).unwrap();

    // The old token is still accepted, through the previous key.
    let reply = call_with(addr, &old).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["token_key"], 1);

    // New exchanges are signed with the new key.
    let new = token_for(addr, "alice").await;
    assert_ne!(new, old);
    assert_eq!(call_with(addr, &new).await.json()["token_key"], 0);

    // Once the previous key is retired, only the new token works.
    tokens.retire_previous();
    assert_bearer_401(&call_with(addr, &old).await, "invalid_credentials");
    assert_eq!(call_with(addr, &new).await.status, StatusCode::OK);
}

#[tokio::test]
async fn grpc_requests_get_a_grpc_refusal() {
    let (addr, _) = default_server().await;
    let reply = send(
        addr,
        Request::get("/v3/userinfo")
            .header(CONTENT_TYPE, "application/grpc")
            .header(AUTHORIZATION, "Bearer a.b.c")
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["grpc-status"], "16");
    assert_eq!(reply.headers[CONTENT_TYPE], "application/grpc");
    assert!(reply.body.is_empty());
}

#[tokio::test]
async fn responders_are_replaceable() {
    let forbid = |rejection: &Rejection, _: &RejectionContext<'_>| {
        let mut res = Response::new(Bytes::from(format!("no: {}", rejection.kind().code())));
        *res.status_mut() = StatusCode::FORBIDDEN;
        res
    };
    let tokens = token_keys();
    let addr = serve(
        SpikeExchange::new(applications(), tokens.clone())
            .unwrap()
            .responder(forbid),
        SpikeBearerLayer::new(tokens).responder(forbid),
    )
    .await;
    let reply = post_exchange(
        addr,
        body_for(json!(9999), "alice", &sign_user(&app_key(), "bob")),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.text(), "no: invalid_credentials");
    let reply = call(addr, "Bearer a.b.c").await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.text(), "no: malformed_credentials");
}

#[tokio::test]
async fn checking_applications_ends_tokens_of_a_revoked_application() {
    let tokens = token_keys();
    let applications = applications();
    let addr = serve(
        SpikeExchange::new(applications.clone(), tokens.clone()).unwrap(),
        SpikeBearerLayer::new(tokens.clone())
            .applications(applications.clone())
            .unwrap(),
    )
    .await;
    let token = token_for(addr, "alice").await;
    assert_eq!(call_with(addr, &token).await.status, StatusCode::OK);
    applications.revoke("9999").unwrap();
    let reply = call_with(addr, &token).await;
    assert_bearer_401(&reply, "invalid_credentials");
    assert_eq!(reply.text(), INVALID);
    applications.remove("9999").unwrap();
    assert_bearer_401(&call_with(addr, &token).await, "invalid_credentials");

    // Without the check, the same token outlives its application.
    let unchecked = serve(
        SpikeExchange::new(applications, tokens.clone()).unwrap(),
        SpikeBearerLayer::new(tokens.clone()),
    )
    .await;
    assert_eq!(call_with(unchecked, &token).await.status, StatusCode::OK);

    // A failing store fails closed.
    let failing = serve(
        SpikeExchange::new(MemoryKeyStore::new(), tokens.clone()).unwrap(),
        SpikeBearerLayer::new(tokens)
            .applications(FailingStore)
            .unwrap(),
    )
    .await;
    let reply = call_with(failing, &token).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.json()["error"], "unavailable");
}

fn alg_vectors() -> Value {
    serde_json::from_str(include_str!("vectors/spike_alg.json")).unwrap()
}

/// The docs say every algorithm but HS256 is refused with 401 `malformed_credentials`: tried here
/// with real RS256, ES256 and EdDSA signatures (made by Node's crypto, checked below against their
/// public keys), an RS256 header over an HMAC made with the token key (key confusion), HS384,
/// HS512 and `none`, all with the claims of a token the layer accepts.
#[tokio::test]
async fn public_key_and_other_algorithms_are_refused_as_malformed() {
    let vectors = alg_vectors();
    assert_eq!(
        vectors["generated_by"],
        "node tests/vectors/spike_alg.mjs > tests/vectors/spike_alg.json"
    );
    assert_eq!(vectors["token_key_hex"], const_hex::encode(TOKEN_KEY));
    let (addr, _) = default_server().await;
    let must_be_hs256 = json!({
        "error": "malformed_credentials",
        "message": "the access token must be signed with HS256",
    });
    let not_a_jwt = json!({
        "error": "malformed_credentials",
        "message": "the access token is not a well-formed HS256 JWT",
    });
    let expected: [(&str, Option<&Value>); 8] = [
        ("HS256 with the token key", None),
        ("RS256, RSA 2048 PKCS#1 v1.5", Some(&must_be_hs256)),
        ("ES256, P-256 (JOSE r||s signature)", Some(&must_be_hs256)),
        ("EdDSA, Ed25519", Some(&must_be_hs256)),
        (
            "RS256 header, HMAC-SHA256 with the token key",
            Some(&must_be_hs256),
        ),
        ("HS384 with the token key", Some(&must_be_hs256)),
        ("HS512 with the token key", Some(&must_be_hs256)),
        ("none, empty signature", Some(&not_a_jwt)),
    ];
    let tokens = vectors["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), expected.len());
    for (v, (name, refusal)) in tokens.iter().zip(expected) {
        assert_eq!(v["name"], name);
        let token = v["token"].as_str().unwrap();
        let (header, payload, _) = segments(token);
        assert_eq!(
            decode_segment(&header),
            json!({"alg": v["alg"], "typ": "JWT"})
        );
        assert_eq!(decode_segment(&payload), vectors["claims"]);
        if let Some(jwk) = v.get("public_jwk") {
            // A real signature: it verifies under its public key with its own algorithm.
            let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk.clone()).unwrap();
            let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
            let alg: Algorithm = v["alg"].as_str().unwrap().parse().unwrap();
            let mut validation = jsonwebtoken::Validation::new(alg);
            validation.required_spec_claims.clear();
            validation.validate_exp = false;
            jsonwebtoken::decode::<Value>(token, &key, &validation)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let reply = call_with(addr, token).await;
        match refusal {
            None => assert_eq!(reply.status, StatusCode::OK, "{name}: {}", reply.text()),
            Some(body) => {
                assert_bearer_401(&reply, "malformed_credentials");
                assert_eq!(&reply.json(), body, "{name}");
            }
        }
    }
}

// A token key equal to an application's HMAC key: that application could sign tokens naming any
// application's users. Application 1111's key, long enough to be a token key too.
const KEY_1111: &str = "APPLICATION_1111_KEY_OF_32_BYTES_OR_MORE";
const KEY_2222: &str = "APPLICATION_2222_KEY";
const HOLDS_RESERVED: &str = "a key holds a reserved secret (such as a Spike token key used as an application key); its id is logged: give it a secret of its own";
const UNAVAILABLE: &str =
    r#"{"error":"unavailable","message":"authentication is temporarily unavailable"}"#;

fn two_applications() -> MemoryKeyStore {
    MemoryKeyStore::new()
        .with(Key::new("1111", Secret::new(KEY_1111).unwrap()))
        .with(Key::new("2222", Secret::new(KEY_2222).unwrap()))
}

fn key_1111_as_token_key() -> SpikeTokenKeys {
    SpikeTokenKeys::new(Secret::new(KEY_1111).unwrap()).unwrap()
}

/// The forged token of the finding: application 1111 signs, with its own key, a token naming
/// user "victim" of application 2222.
fn forged_for_2222() -> String {
    encode(
        Algorithm::HS256,
        KEY_1111.as_bytes(),
        &json!({"iss": "2222", "sub": "victim"}),
    )
}

#[tokio::test]
async fn token_key_equal_to_an_application_key_is_a_mock_configuration_error() {
    use tower_hmac::mock::{MockConfig, router};
    let applications = format!(
        "[[spike]]\napplication_id = \"1111\"\nkey = \"{KEY_1111}\"\n\
         [[spike]]\napplication_id = \"2222\"\nkey = \"{KEY_2222}\"\n"
    );
    let mut config = MockConfig::from_toml(&applications).unwrap();
    let expected = "spike_token_key is the key of Spike application 1111: give the token key a secret of its own";
    let err = config
        .set("spike_token_key", KEY_1111)
        .unwrap_err()
        .to_string();
    assert_eq!(err, expected);
    assert!(!err.contains(KEY_1111));
    let in_file = format!("spike_token_key = \"{KEY_1111}\"\n{applications}");
    let err = MockConfig::from_toml(&in_file).unwrap_err().to_string();
    assert_eq!(err, expected);

    // With a token key of its own, the same forgery is refused.
    config
        .set(
            "spike_token_key",
            "a token key of its own, 32 bytes or more",
        )
        .unwrap();
    let addr = serve_axum(router(&config).unwrap()).await;
    assert_bearer_401(
        &call_with(addr, &forged_for_2222()).await,
        "invalid_credentials",
    );
}

#[tokio::test]
async fn token_key_equal_to_an_application_key_is_refused_when_the_exchange_is_built() {
    let err = SpikeExchange::new(two_applications(), key_1111_as_token_key()).unwrap_err();
    assert_eq!(err.to_string(), HOLDS_RESERVED);
    // The bearer layer checking applications reserves the keys in its store too.
    let err = SpikeBearerLayer::new(key_1111_as_token_key())
        .applications(two_applications())
        .unwrap_err();
    assert_eq!(err.to_string(), HOLDS_RESERVED);
    // A previous token key is still accepted on tokens: it is reserved as well.
    let with_previous = token_keys()
        .with_previous(KeySecret::new(Secret::new(KEY_1111).unwrap()))
        .unwrap();
    let err = SpikeExchange::new(two_applications(), with_previous).unwrap_err();
    assert_eq!(err.to_string(), HOLDS_RESERVED);
}

#[tokio::test]
async fn application_key_added_later_equal_to_a_token_key_is_refused() {
    let tokens = key_1111_as_token_key();
    let applications = MemoryKeyStore::new().with(Key::new("2222", Secret::new(KEY_2222).unwrap()));
    let addr = serve(
        SpikeExchange::new(applications.clone(), tokens.clone()).unwrap(),
        SpikeBearerLayer::new(tokens.clone())
            .applications(applications.clone())
            .unwrap(),
    )
    .await;
    let exchange_1111 = |key: &str| {
        let sig = sign_user(&Secret::new(key).unwrap(), "alice");
        body_for(json!(1111), "alice", &sig)
    };

    // try_insert says so; insert and with leave the key out (and log an error).
    let key_1111 = || Key::new("1111", Secret::new(KEY_1111).unwrap());
    assert_eq!(
        applications.try_insert(key_1111()).unwrap_err().to_string(),
        HOLDS_RESERVED
    );
    applications.insert(key_1111());
    let applications = applications.with(key_1111());
    let reply = post_exchange(addr, exchange_1111(KEY_1111)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.text(), INVALID);

    // Nor can an existing application rotate to it.
    assert_eq!(
        applications.rotate(
            "2222",
            KeySecret::new(Secret::new(KEY_1111).unwrap()),
            SystemTime::now()
        ),
        None
    );
    let sig = sign_user(&Secret::new(KEY_1111).unwrap(), "victim");
    let reply = post_exchange(addr, body_for(json!(2222), "victim", &sig)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    // The application's own key still works, and was not given an end of life.
    let sig = sign_user(&Secret::new(KEY_2222).unwrap(), "victim");
    let reply = post_exchange(addr, body_for(json!(2222), "victim", &sig)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());

    // A key of its own is fine.
    applications
        .try_insert(Key::new("1111", Secret::new("ITS_OWN_KEY").unwrap()))
        .unwrap();
    let reply = post_exchange(addr, exchange_1111("ITS_OWN_KEY")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

#[tokio::test]
async fn token_key_rotated_to_an_application_key_is_refused() {
    let tokens = token_keys();
    let exchange = SpikeExchange::new(two_applications(), tokens.clone()).unwrap();
    let addr = serve(exchange, SpikeBearerLayer::new(tokens.clone())).await;
    let sig = sign_user(&Secret::new(KEY_2222).unwrap(), "victim");
    let before = post_exchange(addr, body_for(json!(2222), "victim", &sig)).await;
    assert_eq!(before.status, StatusCode::OK);

    let err = tokens.rotate(Secret::new(KEY_1111).unwrap()).unwrap_err();
    assert_eq!(err.to_string(), HOLDS_RESERVED);
    let err = tokens
        .clone()
        .with_previous(KeySecret::new(Secret::new(KEY_1111).unwrap()))
        .unwrap_err();
    assert_eq!(err.to_string(), HOLDS_RESERVED);

    // Nothing changed: the same token is issued, and the forgery is refused.
    let after = post_exchange(addr, body_for(json!(2222), "victim", &sig)).await;
    assert_eq!(after.body, before.body);
    assert_bearer_401(
        &call_with(addr, &forged_for_2222()).await,
        "invalid_credentials",
    );
    // A rotation to a key of its own goes through.
    tokens.rotate(Secret::new([0x43; 32]).unwrap()).unwrap();

    // A store only the bearer layer checks is remembered too.
    let tokens = token_keys();
    let _layer = SpikeBearerLayer::new(tokens.clone())
        .applications(two_applications())
        .unwrap();
    assert_eq!(
        tokens
            .rotate(Secret::new(KEY_1111).unwrap())
            .unwrap_err()
            .to_string(),
        HOLDS_RESERVED
    );
}

/// A key store that reads its keys from elsewhere and so cannot refuse a key holding a reserved
/// secret: `reserve` keeps its default, which accepts.
struct UnpolicedStore(std::collections::HashMap<&'static str, Key>);

impl KeyStore for UnpolicedStore {
    fn get<'a>(&'a self, key_id: &'a str) -> BoxFuture<'a, Result<Option<Key>, StoreError>> {
        let key = self.0.get(key_id).cloned();
        Box::pin(async move { Ok(key) })
    }
}

fn unpoliced() -> std::sync::Arc<UnpolicedStore> {
    std::sync::Arc::new(UnpolicedStore(
        [
            ("1111", Key::new("1111", Secret::new(KEY_1111).unwrap())),
            ("2222", Key::new("2222", Secret::new(KEY_2222).unwrap())),
        ]
        .into_iter()
        .collect(),
    ))
}

#[tokio::test]
async fn token_key_equal_to_an_application_key_in_a_store_that_cannot_police_is_refused_on_requests()
 {
    let tokens = key_1111_as_token_key();
    let store = unpoliced();
    let addr = serve(
        SpikeExchange::new(std::sync::Arc::clone(&store), tokens.clone()).unwrap(),
        SpikeBearerLayer::new(tokens.clone())
            .applications(store)
            .unwrap(),
    )
    .await;

    // The exchange issues no token for the application holding a token key: 503, fail closed.
    let sig = sign_user(&Secret::new(KEY_1111).unwrap(), "alice");
    let reply = post_exchange(addr, body_for(json!(1111), "alice", &sig)).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.text(), UNAVAILABLE);
    // Other applications are served.
    let sig = sign_user(&Secret::new(KEY_2222).unwrap(), "bob");
    let reply = post_exchange(addr, body_for(json!(2222), "bob", &sig)).await;
    assert_eq!(reply.status, StatusCode::OK);
    let token = reply.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(call_with(addr, &token).await.status, StatusCode::OK);

    // The bearer layer refuses tokens naming that application: 503 as well.
    let own = encode(
        Algorithm::HS256,
        KEY_1111.as_bytes(),
        &json!({"iss": "1111", "sub": "alice"}),
    );
    let reply = call_with(addr, &own).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.text(), UNAVAILABLE);

    // What no request-time check can catch: the token names application 2222, whose key is its
    // own, and nothing in it tells which key signed it. Only a store that polices its keys (or
    // its owner) prevents this; the module docs say so.
    assert_eq!(
        call_with(addr, &forged_for_2222()).await.status,
        StatusCode::OK
    );
}
