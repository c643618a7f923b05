//! The mock provider server (`tower_hmac::mock`, what `examples/mock_providers.rs` serves) on a
//! free loopback port, every route driven by the crate's signers through a `SignLayer` over a
//! hyper client: accepted, refused, exact statuses and JSON bodies.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use common::redis_server::RedisServer;
use common::{Reply, now_ms, send, serve_mock};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::json;
use tower::{ServiceBuilder, ServiceExt};
use tower_hmac::humanos::{self, HumanosSigner};
use tower_hmac::inqud::{self, InqudSigner};
use tower_hmac::mock::{self, MockConfig};
use tower_hmac::proficient::ProficientSigner;
use tower_hmac::replay::RedisReplayStore;
use tower_hmac::sign::{SignLayer, Signer};
use tower_hmac::spike::{self, SpikeSigner};
use tower_hmac::{ManualClock, Secret};

const HUMANOS_KEY: &str = "YOUR_API_KEY";
const HUMANOS_SECRET: &str = "YOUR_SIGNATURE_SECRET";
const INQUD_TOKEN: &str = "TKN-6c1296b8-6929-443b-ac06-f732e0e27be1";
const INQUD_SECRET: &str = "dBajIp3wHnw5euxohPiZvsCEorG3Fhl9gsHl1UIBlsImHjWRdSJdp4Gh6e3y2PNs";
const SPIKE_KEY: &str = "HMAC_KEY_FROM_ADMIN_CONSOLE";
const SPIKE_USER: &str = "my_application_user_123";
const PROFICIENT_KEY: &str =
    "pk_40NDqyJqjBe6DJyLn44HBEgi0loTunwLdjWHhcOUGONSkpomQx0qInkWLtu0ouwSr6qqE7HQ";
const PROFICIENT_SECRET: &str =
    "hsec_mFLSkjGK6XLK1TUxL8wgiXrjwZCqcfmgbXTC0JmZFooSl9rQlzIrpsQHNor4guw2YOUP7vWA";
const PROFICIENT_USER: &str = "gtLIK8ELsHTr0Fajg28Ud9eFpJJ3";

fn secret(s: &str) -> Secret {
    Secret::new(s).unwrap()
}

async fn serve(config: &MockConfig) -> SocketAddr {
    serve_mock(mock::router(config).unwrap()).await
}

/// Sends `request` to `addr` through a `SignLayer` with `layer`'s signer over a hyper client.
async fn signed<S: Signer>(
    addr: SocketAddr,
    layer: SignLayer<S>,
    mut request: Request<Full<Bytes>>,
) -> Reply {
    let path = request.uri().path().to_owned();
    *request.uri_mut() = format!("http://{addr}{path}").parse().unwrap();
    let client = ServiceBuilder::new().layer(layer).service(common_client());
    let response = client.oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

fn common_client() -> hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    tower_hmac::sign::SignedBody<Full<Bytes>>,
> {
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http()
}

fn get(path: &str) -> Request<Full<Bytes>> {
    Request::get(path).body(Full::default()).unwrap()
}

fn post(path: &str, body: impl Into<Bytes>) -> Request<Full<Bytes>> {
    Request::post(path)
        .header("content-type", "application/json")
        .body(Full::new(body.into()))
        .unwrap()
}

fn refusal(reply: &Reply, status: StatusCode, error: &str, message: &str) {
    assert_eq!(reply.status, status, "{}", reply.text());
    assert_eq!(reply.json(), json!({ "error": error, "message": message }));
}

fn invalid(reply: &Reply) {
    refusal(
        reply,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "the key or the signature is not valid",
    );
}

fn humanos_at(key: &str, s: &str, ms: u64) -> SignLayer<HumanosSigner> {
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_millis(ms));
    SignLayer::new(HumanosSigner::new(key, secret(s)).unwrap().clock(clock))
}

#[tokio::test]
async fn humanos_routes() {
    let addr = serve(&MockConfig::default()).await;
    let ts = now_ms();

    let reply = signed(
        addr,
        humanos_at(HUMANOS_KEY, HUMANOS_SECRET, ts),
        get("/v0/processes"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!({"provider": "humanos", "api_key": HUMANOS_KEY, "timestamp": ts, "processes": []})
    );

    let body = r#"{"contacts":["+351912345678"]}"#;
    let layer = humanos_at(HUMANOS_KEY, HUMANOS_SECRET, ts + 1);
    let reply = signed(addr, layer, post("/v0/process/generate", body)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!({"provider": "humanos", "api_key": HUMANOS_KEY, "timestamp": ts + 1,
               "received": {"contacts": ["+351912345678"]}})
    );

    // Signed, but not JSON: the handler's 400.
    let layer = humanos_at(HUMANOS_KEY, HUMANOS_SECRET, ts + 2);
    let reply = signed(addr, layer, post("/v0/process/generate", "not json")).await;
    refusal(
        &reply,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "the body is not JSON",
    );

    // Wrong secret, unknown key, no credentials, a stale timestamp.
    let reply = signed(
        addr,
        humanos_at(HUMANOS_KEY, "wrong", ts),
        get("/v0/processes"),
    )
    .await;
    invalid(&reply);
    assert_eq!(
        reply.headers["www-authenticate"],
        "Bearer realm=\"humanos\""
    );
    let reply = signed(
        addr,
        humanos_at("OTHER", HUMANOS_SECRET, ts),
        get("/v0/processes"),
    )
    .await;
    invalid(&reply);
    let reply = send(addr, get("/v0/processes")).await;
    refusal(
        &reply,
        StatusCode::UNAUTHORIZED,
        "missing_credentials",
        "missing Authorization header",
    );
    let layer = humanos_at(HUMANOS_KEY, HUMANOS_SECRET, ts - 301_000);
    let reply = signed(addr, layer, get("/v0/processes")).await;
    refusal(
        &reply,
        StatusCode::UNAUTHORIZED,
        "timestamp_out_of_window",
        "the request timestamp is too old",
    );

    // A body over 1 MiB, signed by a client whose own limit is larger: 413.
    let big = vec![b' '; 1024 * 1024 + 1];
    let layer = humanos_at(HUMANOS_KEY, HUMANOS_SECRET, ts + 4).body_limit(2 * 1024 * 1024);
    let reply = signed(addr, layer, post("/v0/process/generate", big)).await;
    refusal(
        &reply,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "the request body is too large",
    );
}

/// Two GETs to `/v0/processes`, `?page=1` then `?page=2`, both signed with the demo key at the
/// same millisecond: a bodiless request signs its timestamp alone, so they carry the same
/// signature. Returns both replies.
async fn two_gets_signed_in_the_same_millisecond(addr: SocketAddr) -> (Reply, Reply) {
    let ts = now_ms();
    let headers = humanos::sign_request(HUMANOS_KEY, &secret(HUMANOS_SECRET), ts, b"").unwrap();
    let page = |n: u32| {
        let mut r = get(&format!("/v0/processes?page={n}"));
        r.headers_mut().extend(headers.clone());
        r
    };
    (send(addr, page(1)).await, send(addr, page(2)).await)
}

#[tokio::test]
async fn honest_requests_refused_two_humanos_gets_in_the_same_millisecond_both_pass_by_default() {
    let addr = serve(&MockConfig::default()).await;
    let (first, second) = two_gets_signed_in_the_same_millisecond(addr).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    assert_eq!(second.status, StatusCode::OK, "{}", second.text());
    assert_eq!(first.body, second.body);
    assert_eq!(first.json()["api_key"], HUMANOS_KEY);
}

#[tokio::test]
async fn honest_requests_refused_humanos_replay_on_refuses_the_second_of_two_gets() {
    let from_toml = MockConfig::from_toml(&format!(
        "humanos_replay = true\n[[humanos]]\napi_key = {HUMANOS_KEY:?}\nsecret = {HUMANOS_SECRET:?}\n"
    ))
    .unwrap();
    let mut with_set = MockConfig::default();
    with_set.set("humanos_replay", true).unwrap();
    for config in [from_toml, with_set] {
        let addr = serve(&config).await;
        let (first, second) = two_gets_signed_in_the_same_millisecond(addr).await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.text());
        refusal(
            &second,
            StatusCode::UNAUTHORIZED,
            "replayed",
            "this request was already used",
        );
    }
}

#[tokio::test]
async fn inqud_routes() {
    let addr = serve(&MockConfig::default()).await;
    let hmac = || SignLayer::new(InqudSigner::hmac(INQUD_TOKEN, secret(INQUD_SECRET)).unwrap());

    let reply = signed(addr, hmac(), get("/v1/user/wallet/balances")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!({"provider": "inqud", "token_id": INQUD_TOKEN, "mode": "hmac", "balances": []})
    );
    let simple = SignLayer::new(InqudSigner::simple(INQUD_TOKEN, secret(INQUD_SECRET)).unwrap());
    let reply = signed(addr, simple, get("/v1/user/wallet/balances")).await;
    assert_eq!(reply.json()["mode"], "simple");

    let body = r#"{"amount": 50, "currency": "USD"}"#;
    let reply = signed(addr, hmac(), post("/v1/user/payments/payout", body)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!({"provider": "inqud", "token_id": INQUD_TOKEN, "mode": "hmac",
               "received": {"amount": 50, "currency": "USD"}})
    );

    // Wrong secret in either mode.
    let wrong = SignLayer::new(InqudSigner::hmac(INQUD_TOKEN, secret("wrong")).unwrap());
    invalid(&signed(addr, wrong, get("/v1/user/wallet/balances")).await);
    let wrong = SignLayer::new(InqudSigner::simple(INQUD_TOKEN, secret("wrong")).unwrap());
    invalid(&signed(addr, wrong, get("/v1/user/wallet/balances")).await);

    // A salt used once is refused on any route.
    let headers = inqud::sign_request(INQUD_TOKEN, &secret(INQUD_SECRET), b"", "salt-1").unwrap();
    let request = |path: &str| {
        let mut r = get(path);
        r.headers_mut().extend(headers.clone());
        r
    };
    assert_eq!(
        send(addr, request("/v1/user/wallet/balances")).await.status,
        StatusCode::OK
    );
    let reply = send(addr, request("/v1/user/wallet/balances")).await;
    refusal(
        &reply,
        StatusCode::UNAUTHORIZED,
        "replayed",
        "this request was already used",
    );

    let big = vec![b' '; 1024 * 1024 + 1];
    let layer = hmac().body_limit(2 * 1024 * 1024);
    let reply = signed(addr, layer, post("/v1/user/payments/payout", big)).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn spike_routes() {
    let addr = serve(&MockConfig::default()).await;
    let exchange = |body: String| send(addr, post("/v3/auth/hmac", body));

    // The doc's body, application id as a number, and ours, as a string.
    let doc = format!(
        r#"{{"application_id": 9999, "application_user_id": "{SPIKE_USER}", "signature": "{}"}}"#,
        spike::sign_user(&secret(SPIKE_KEY), SPIKE_USER)
    );
    let reply = exchange(doc).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let token = reply.json()["access_token"].as_str().unwrap().to_owned();
    let reply = exchange(spike::exchange_body("9999", SPIKE_USER, &secret(SPIKE_KEY))).await;
    assert_eq!(reply.json()["access_token"], token.as_str());

    let bearer = SignLayer::new(SpikeSigner::new(&token).unwrap());
    let reply = signed(addr, bearer, get("/v3/userinfo")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!({"provider": "spike", "application_id": "9999", "application_user_id": SPIKE_USER})
    );

    // Refused exchanges: wrong key, unknown application, a field missing, too large a body.
    let reply = exchange(spike::exchange_body("9999", SPIKE_USER, &secret("wrong"))).await;
    invalid(&reply);
    let reply = exchange(spike::exchange_body("1234", SPIKE_USER, &secret(SPIKE_KEY))).await;
    invalid(&reply);
    let reply = exchange(r#"{"application_id": 9999}"#.into()).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json()["error"], "invalid_request");
    let reply = exchange(" ".repeat(16 * 1024 + 1)).await;
    refusal(
        &reply,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "the request body is too large",
    );

    // Refused calls: no token, a token of another server (its own random token key), not a JWT.
    let reply = send(addr, get("/v3/userinfo")).await;
    refusal(
        &reply,
        StatusCode::UNAUTHORIZED,
        "missing_credentials",
        "missing Authorization header",
    );
    let other = serve(&MockConfig::default()).await;
    let reply = send(
        other,
        post(
            "/v3/auth/hmac",
            spike::exchange_body("9999", SPIKE_USER, &secret(SPIKE_KEY)),
        ),
    )
    .await;
    let foreign = reply.json()["access_token"].as_str().unwrap().to_owned();
    assert_ne!(foreign, token);
    let bearer = SignLayer::new(SpikeSigner::new(&foreign).unwrap());
    invalid(&signed(addr, bearer, get("/v3/userinfo")).await);
    let bearer = SignLayer::new(SpikeSigner::new("not-a-jwt").unwrap());
    refusal(
        &signed(addr, bearer, get("/v3/userinfo")).await,
        StatusCode::UNAUTHORIZED,
        "malformed_credentials",
        "the access token is not a well-formed HS256 JWT",
    );
}

#[tokio::test]
async fn proficient_route() {
    let addr = serve(&MockConfig::default()).await;
    let signer = ProficientSigner::new(PROFICIENT_KEY, &secret(PROFICIENT_SECRET), PROFICIENT_USER);
    let reply = signed(addr, SignLayer::new(signer.unwrap()), get("/interactions")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!({"provider": "proficient", "api_key": PROFICIENT_KEY, "external_id": PROFICIENT_USER,
               "hmac_verified": true, "interactions": []})
    );

    // The doc's HMAC, as a frontend would send it.
    let doc = ProficientSigner::with_hmac(
        PROFICIENT_KEY,
        PROFICIENT_USER,
        "nyrKK9qcWqgPSdky2VE+arkyJjMFt9FD1Fxl/iNOD5U=",
    );
    let reply = signed(addr, SignLayer::new(doc.unwrap()), get("/interactions")).await;
    assert_eq!(reply.status, StatusCode::OK);

    // Another user's HMAC, and no HMAC where it is required.
    // One user's HMAC sent under another user's id.
    let headers = tower_hmac::proficient::sign_request(
        PROFICIENT_KEY,
        PROFICIENT_USER,
        Some(&tower_hmac::proficient::user_hmac(
            &secret(PROFICIENT_SECRET),
            "someone",
        )),
    )
    .unwrap();
    let mut request = get("/interactions");
    request.headers_mut().extend(headers);
    invalid(&send(addr, request).await);
    let none = ProficientSigner::without_hmac(PROFICIENT_KEY, PROFICIENT_USER).unwrap();
    let reply = signed(addr, SignLayer::new(none), get("/interactions")).await;
    refusal(
        &reply,
        StatusCode::UNAUTHORIZED,
        "missing_credentials",
        "missing X-PROFICIENT-USER-HMAC header",
    );
}

#[tokio::test]
async fn the_sample_configuration_and_a_custom_one() {
    let path = format!(
        "{}/examples/mock_providers.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let sample = MockConfig::from_toml(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(!sample.flag("humanos_replay"));
    let addr = serve(&sample).await;
    let signer = ProficientSigner::new(PROFICIENT_KEY, &secret(PROFICIENT_SECRET), PROFICIENT_USER);
    let reply = signed(addr, SignLayer::new(signer.unwrap()), get("/interactions")).await;
    assert_eq!(reply.status, StatusCode::OK);

    let custom = MockConfig::from_toml(
        r#"
        spike_token_key = "0123456789abcdef0123456789abcdef"
        [[proficient]]
        api_key = "pk_open"
        secret = "hsec_open"
        hmac_required = false
        [[inqud]]
        token_id = "TKN-hmac-only"
        secret = "s"
        modes = "hmac"
        "#,
    )
    .unwrap();
    let addr = serve(&custom).await;
    let none = ProficientSigner::without_hmac("pk_open", "anyone").unwrap();
    let reply = signed(addr, SignLayer::new(none), get("/interactions")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["hmac_verified"], false);
    // Simple mode turned off for this token.
    let simple = SignLayer::new(InqudSigner::simple("TKN-hmac-only", secret("s")).unwrap());
    let reply = signed(addr, simple, get("/v1/user/wallet/balances")).await;
    refusal(
        &reply,
        StatusCode::UNAUTHORIZED,
        "not_allowed",
        "this token may not use X-Token-API-Secret; sign the request with X-HMAC-SHA256-Signature and X-Salt",
    );
    // Providers absent from the file accept no one.
    let humanos = humanos_at(HUMANOS_KEY, HUMANOS_SECRET, now_ms());
    invalid(&signed(addr, humanos, get("/v0/processes")).await);

    for bad in [
        "unknown = 1",
        "[[humanos]]\napi_key = \"k\"",
        "[[inqud]]\ntoken_id = \"TKN-1\"\nsecret = \"s\"\nmodes = \"sometimes\"",
    ] {
        assert!(MockConfig::from_toml(bad).is_err(), "{bad}");
    }
}

#[tokio::test]
async fn two_servers_sharing_redis_refuse_each_others_salts() {
    let redis = RedisServer::start();
    let config = MockConfig::default();
    let a = serve_mock(
        mock::router_with_store(
            &config,
            RedisReplayStore::connect_lazy(&redis.url()).unwrap(),
        )
        .unwrap(),
    )
    .await;
    let b = serve_mock(
        mock::router_with_store(
            &config,
            RedisReplayStore::connect_lazy(&redis.url()).unwrap(),
        )
        .unwrap(),
    )
    .await;
    let salt = format!(
        "salt-{}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let headers = inqud::sign_request(INQUD_TOKEN, &secret(INQUD_SECRET), b"", &salt).unwrap();
    let request = || {
        let mut r = get("/v1/user/wallet/balances");
        r.headers_mut().extend(headers.clone());
        r
    };
    assert_eq!(send(a, request()).await.status, StatusCode::OK);
    let reply = send(b, request()).await;
    refusal(
        &reply,
        StatusCode::UNAUTHORIZED,
        "replayed",
        "this request was already used",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_printed_example_commands_work() {
    let config = MockConfig::default();
    let addr = serve(&config).await;
    // What the mock prints calls `cargo run -q --example sign --`; here, the same example built.
    let printed = mock::example_commands(addr, &config).unwrap();
    assert!(printed.contains("cargo run -q --example sign -- humanos --api-key 'YOUR_API_KEY'"));
    let sign = common::examples::example("sign");
    let script = mock::example_commands_with(addr, &config, &sign.display().to_string()).unwrap();
    assert_eq!(
        script,
        printed.replace(
            "cargo run -q --example sign --",
            &sign.display().to_string()
        )
    );
    let output = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("set -eo pipefail\n{script}"))
        .output()
        .expect("bash and curl are needed");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    let replies: Vec<serde_json::Value> = stdout
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let providers: Vec<_> = replies.iter().map(|r| r["provider"].as_str()).collect();
    assert_eq!(
        providers,
        [
            Some("humanos"),
            Some("humanos"),
            Some("inqud"),
            Some("inqud"),
            Some("spike"),
            Some("proficient"),
            Some("github"),
            Some("stripe"),
            Some("standard"),
            Some("twilio"),
            Some("zoom"),
            Some("linear"),
            Some("slack"),
            Some("shopify"),
            Some("paddle"),
            Some("standard-ed25519"),
            Some("discord"),
        ],
        "{stdout}"
    );
    assert_eq!(replies[3]["mode"], "hmac");
    assert_eq!(replies[4]["application_user_id"], SPIKE_USER);
}

/// The demo secret of each webhook sender, as the issue's table lists them.
const WEBHOOK_SECRETS: &[(&str, &str)] = &[
    ("github", "It's a Secret to Everybody"),
    ("stripe", "whsec_test_secret"),
    ("standard", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    ("twilio", "12345"),
    ("zoom", "zoom_demo_secret_token"),
    ("linear", "lin_wh_demo_secret"),
    ("slack", "8f742231b10e8888abcd99yyyzzz85a5"),
    ("shopify", "shopify_demo_secret"),
    ("paddle", "pdl_ntfset_demo_secret"),
    // Ed25519 senders: the private key the demo's public key belongs to (RFC 8032, TEST 1).
    (
        "standard-ed25519",
        "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=",
    ),
    (
        "discord",
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    ),
];

/// A key the sender's receiver does not hold, in the form the sender's secret takes.
fn wrong_secret(sender: &str) -> &'static str {
    match sender {
        // RFC 8032's second test key.
        "standard-ed25519" => "whsk_TM0Imyj/ltqdtsNG7BFOD1uKMZ81q6Yk2oz27U+4pvs=",
        "discord" => "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        _ => "whsec_bm90IHRoZSBzZWNyZXQ=",
    }
}

/// A POST of `body` to `/webhooks/{sender}`, signed with `secret`, with `extra` headers.
fn delivery(
    addr: SocketAddr,
    sender: &str,
    secret: &str,
    body: &[u8],
    extra: &[(&str, &str)],
) -> Request<Full<Bytes>> {
    let url = format!("http://{addr}/webhooks/{sender}");
    let signed = mock::sign_webhook(sender, secret, &url, body).unwrap();
    let mut request = Request::post(signed.url)
        .body(Full::from(signed.body))
        .unwrap();
    request.headers_mut().extend(signed.headers);
    for (name, value) in extra {
        let name = http::HeaderName::from_bytes(name.as_bytes()).unwrap();
        request.headers_mut().insert(name, value.parse().unwrap());
    }
    request
}

/// Every webhook route of the built-in demo and of the sample file: a verified delivery is 2xx
/// JSON naming the sender and listed; a copy is acknowledged and not listed again; X-Mock-Status
/// is answered and listed; a wrong secret and a missing header are 401; an oversized body 413;
/// DELETE empties the list.
#[tokio::test]
async fn webhook_routes_answer_list_and_refuse() {
    let senders: Vec<_> = mock::webhook_senders().collect();
    let listed: Vec<_> = WEBHOOK_SECRETS.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        senders, listed,
        "every webhook sender of the mock has its demo secret here"
    );
    let path = format!(
        "{}/examples/mock_providers.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let sample = MockConfig::from_toml(&std::fs::read_to_string(path).unwrap()).unwrap();
    for config in [MockConfig::default(), sample] {
        let addr = serve(&config).await;
        for (sender, secret) in WEBHOOK_SECRETS {
            let body = format!(r#"{{"event":"test","sender":"{sender}"}}"#);
            let request = delivery(addr, sender, secret, body.as_bytes(), &[]);
            // What is sent: the body given, or as a sender stamps it (Linear's timestamp).
            let sent = request.body().clone().collect().await.unwrap().to_bytes();
            let sha = const_hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&sent));
            let reply = send(addr, request).await;
            assert_eq!(reply.status, StatusCode::OK, "{sender}: {}", reply.text());
            let answer = reply.json();
            assert_eq!(answer["provider"], *sender);
            assert_eq!(answer["body_sha256"], sha);

            let failing = format!(r#"{{"event":"retry","sender":"{sender}"}}"#);
            let status = [("x-mock-status", "503")];
            let request = delivery(addr, sender, secret, failing.as_bytes(), &status);
            assert_eq!(
                send(addr, request).await.status,
                StatusCode::SERVICE_UNAVAILABLE
            );

            let wrong = send(
                addr,
                delivery(addr, sender, wrong_secret(sender), body.as_bytes(), &[]),
            )
            .await;
            refusal(
                &wrong,
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "the key or the signature is not valid",
            );
            let unsigned = Request::post(format!("/webhooks/{sender}"))
                .body(Full::from(body.clone()))
                .unwrap();
            assert_eq!(send(addr, unsigned).await.status, StatusCode::UNAUTHORIZED);
            let big = vec![b'x'; 1024 * 1024 + 1];
            let oversized = send(addr, delivery(addr, sender, secret, &big, &[])).await;
            assert_eq!(oversized.status, StatusCode::PAYLOAD_TOO_LARGE, "{sender}");

            let list = send(
                addr,
                Request::get(format!("/webhooks/{sender}/deliveries"))
                    .body(Full::default())
                    .unwrap(),
            )
            .await;
            let list = list.json();
            let list = list.as_array().unwrap();
            assert_eq!(list.len(), 2, "{sender}: {list:?}");
            assert_eq!(list[0]["status"], 200);
            assert_eq!(list[0]["body_sha256"], sha);
            assert_eq!(list[1]["status"], 503);
            let emptied = send(
                addr,
                Request::delete(format!("/webhooks/{sender}/deliveries"))
                    .body(Full::default())
                    .unwrap(),
            )
            .await;
            assert_eq!(emptied.status, StatusCode::NO_CONTENT);
            let list = send(
                addr,
                Request::get(format!("/webhooks/{sender}/deliveries"))
                    .body(Full::default())
                    .unwrap(),
            )
            .await;
            assert_eq!(list.json(), json!([]));
        }
    }
}

/// A sender left out of a configuration has no secret: every delivery to it is refused.
#[tokio::test]
async fn a_webhook_sender_without_a_secret_refuses_everything() {
    let config = MockConfig::from_toml("[github]\nsecret = \"only-github\"").unwrap();
    let addr = serve(&config).await;
    let ok = send(addr, delivery(addr, "github", "only-github", b"{}", &[])).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    let refused = send(
        addr,
        delivery(addr, "stripe", "whsec_test_secret", b"{}", &[]),
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        refused.text()
    );
}
