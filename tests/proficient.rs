//! Proficient layer mounted in real servers on loopback: axum, plain hyper (streaming bodies) and
//! tonic (gRPC health service, unary and server-streaming).

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Json;
use axum::routing::get;
use bytes::Bytes;
use common::{Reply, send, serve_axum, serve_hyper};
use http::header::WWW_AUTHENTICATE;
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::pb::health_check_response::ServingStatus as PbStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tonic_health::server::HealthReporter;
use tower::{ServiceBuilder, ServiceExt, service_fn};
use tower_hmac::proficient::{ProficientHmac, ProficientUser, ProficientVerifyLayer, user_hmac};
use tower_hmac::{Key, MemoryKeyStore, Secret, Verified};

const DOC_SECRET: &str =
    "hsec_mFLSkjGK6XLK1TUxL8wgiXrjwZCqcfmgbXTC0JmZFooSl9rQlzIrpsQHNor4guw2YOUP7vWA";
const DOC_USER: &str = "gtLIK8ELsHTr0Fajg28Ud9eFpJJ3";
const DOC_HMAC: &str = "nyrKK9qcWqgPSdky2VE+arkyJjMFt9FD1Fxl/iNOD5U=";

const REQUIRED: &str = "pk_required";
const OPTIONAL: &str = "pk_optional";
const NO_POLICY: &str = "pk_no_policy";
const REVOKED: &str = "pk_revoked";

const INVALID: &str =
    r#"{"error":"invalid_credentials","message":"the key or the signature is not valid"}"#;

fn secret(s: &str) -> Secret {
    Secret::new(s).unwrap()
}

fn keys() -> MemoryKeyStore {
    let key = |id: &str| Key::new(id, secret(DOC_SECRET));
    MemoryKeyStore::new()
        .with(key(REQUIRED).with_policy(ProficientHmac::Required))
        .with(key(OPTIONAL).with_policy(ProficientHmac::Optional))
        .with(key(NO_POLICY))
        .with(key(REVOKED).with_policy(ProficientHmac::Optional).revoked())
}

/// Header names and values of a request.
type Headers = Vec<(&'static str, String)>;

/// The three headers; `None` leaves one out.
fn headers(api_key: Option<&str>, user: Option<&str>, hmac: Option<&str>) -> Headers {
    [
        ("x-proficient-api-key", api_key),
        ("x-proficient-user-external-id", user),
        ("x-proficient-user-hmac", hmac),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.map(|v| (name, v.to_owned())))
    .collect()
}

// ---------------------------------------------------------------------------------------------
// axum

async fn me(verified: Verified<ProficientUser>) -> Json<Value> {
    let user = verified.identity();
    Json(json!({
        "project": verified.key_id(),
        "external_id": user.external_id(),
        "hmac_verified": user.hmac_verified(),
        "verified_external_id": user.verified_external_id(),
    }))
}

async fn axum_server() -> SocketAddr {
    let app = axum::Router::new()
        .route("/me", get(me))
        .layer(ProficientVerifyLayer::new(keys()));
    serve_axum(app).await
}

async fn get_me(addr: SocketAddr, headers: Headers) -> Reply {
    let mut request = Request::get("/me");
    for (name, value) in headers {
        request = request.header(name, value);
    }
    send(addr, request.body(Full::new(Bytes::new())).unwrap()).await
}

#[track_caller]
fn assert_refused(reply: &Reply, error: &str) {
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text());
    assert_eq!(reply.json()["error"], error, "{}", reply.text());
    assert_eq!(
        reply.headers[WWW_AUTHENTICATE],
        "Proficient realm=\"proficient\""
    );
}

#[tokio::test]
async fn required_mode_over_axum() {
    let addr = axum_server().await;
    for key in [REQUIRED, NO_POLICY] {
        let reply = get_me(addr, headers(Some(key), Some(DOC_USER), Some(DOC_HMAC))).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        assert_eq!(
            reply.json(),
            json!({
                "project": key,
                "external_id": DOC_USER,
                "hmac_verified": true,
                "verified_external_id": DOC_USER,
            })
        );

        // Without the HMAC header: refused, exactly as the vendor does once HMAC is on.
        let reply = get_me(addr, headers(Some(key), Some(DOC_USER), None)).await;
        assert_refused(&reply, "missing_credentials");
        assert_eq!(
            reply.text(),
            r#"{"error":"missing_credentials","message":"missing X-PROFICIENT-USER-HMAC header"}"#
        );
    }
}

#[tokio::test]
async fn optional_mode_over_axum() {
    let addr = axum_server().await;

    // No HMAC: let through, marked unverified.
    let reply = get_me(addr, headers(Some(OPTIONAL), Some("claimed-user"), None)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!({
            "project": OPTIONAL,
            "external_id": "claimed-user",
            "hmac_verified": false,
            "verified_external_id": null,
        })
    );

    // The right HMAC: verified.
    let reply = get_me(
        addr,
        headers(Some(OPTIONAL), Some(DOC_USER), Some(DOC_HMAC)),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["hmac_verified"], true);

    // A present HMAC must verify, even though it could have been left out.
    let other = user_hmac(&secret(DOC_SECRET), "someone-else");
    let reply = get_me(addr, headers(Some(OPTIONAL), Some(DOC_USER), Some(&other))).await;
    assert_refused(&reply, "invalid_credentials");
    assert_eq!(reply.text(), INVALID);
    let reply = get_me(addr, headers(Some(OPTIONAL), Some(DOC_USER), Some(""))).await;
    assert_refused(&reply, "malformed_credentials");
}

#[tokio::test]
async fn refusals_over_axum() {
    let addr = axum_server().await;
    let hex = "9f2aca2bda9c5aa80f49d932d9513e6ab932263305b7d143d45c65fe234e0f95";
    let url_safe = "nyrKK9qcWqgPSdky2VE-arkyJjMFt9FD1Fxl_iNOD5U=";
    let url_safe_unpadded = "nyrKK9qcWqgPSdky2VE-arkyJjMFt9FD1Fxl_iNOD5U";
    let unpadded = "nyrKK9qcWqgPSdky2VE+arkyJjMFt9FD1Fxl/iNOD5U";
    let other_user = user_hmac(&secret(DOC_SECRET), "someone-else");
    let wrong_secret = user_hmac(&secret("hsec_wrong"), DOC_USER);
    let too_long = "u".repeat(257);
    let cases: Vec<(&str, Headers, &str)> = vec![
        (
            "HMAC of another user",
            headers(Some(REQUIRED), Some(DOC_USER), Some(&other_user)),
            "invalid_credentials",
        ),
        (
            "doc HMAC presented for another user",
            headers(Some(REQUIRED), Some("someone-else"), Some(DOC_HMAC)),
            "invalid_credentials",
        ),
        (
            "wrong secret",
            headers(Some(REQUIRED), Some(DOC_USER), Some(&wrong_secret)),
            "invalid_credentials",
        ),
        (
            "unknown key",
            headers(Some("pk_unknown"), Some(DOC_USER), Some(DOC_HMAC)),
            "invalid_credentials",
        ),
        (
            "revoked key",
            headers(Some(REVOKED), Some(DOC_USER), Some(DOC_HMAC)),
            "invalid_credentials",
        ),
        (
            "revoked optional key without HMAC",
            headers(Some(REVOKED), Some(DOC_USER), None),
            "invalid_credentials",
        ),
        (
            "hex",
            headers(Some(REQUIRED), Some(DOC_USER), Some(hex)),
            "malformed_credentials",
        ),
        (
            "url-safe",
            headers(Some(REQUIRED), Some(DOC_USER), Some(url_safe)),
            "malformed_credentials",
        ),
        (
            "url-safe unpadded",
            headers(Some(REQUIRED), Some(DOC_USER), Some(url_safe_unpadded)),
            "malformed_credentials",
        ),
        (
            "unpadded",
            headers(Some(REQUIRED), Some(DOC_USER), Some(unpadded)),
            "malformed_credentials",
        ),
        (
            "not a publishable key",
            headers(Some("sk_live_abc"), Some(DOC_USER), Some(DOC_HMAC)),
            "malformed_credentials",
        ),
        (
            "HMAC secret as API key",
            headers(Some(DOC_SECRET), Some(DOC_USER), Some(DOC_HMAC)),
            "malformed_credentials",
        ),
        (
            "external id too long",
            headers(Some(REQUIRED), Some(&too_long), Some(DOC_HMAC)),
            "malformed_credentials",
        ),
        (
            "no API key",
            headers(None, Some(DOC_USER), Some(DOC_HMAC)),
            "missing_credentials",
        ),
        (
            "no external id",
            headers(Some(REQUIRED), None, Some(DOC_HMAC)),
            "missing_credentials",
        ),
        (
            "no HMAC, required",
            headers(Some(REQUIRED), Some(DOC_USER), None),
            "missing_credentials",
        ),
        (
            "no HMAC, unknown key",
            headers(Some("pk_unknown"), Some(DOC_USER), None),
            "missing_credentials",
        ),
    ];
    for (name, headers, error) in cases {
        let reply = get_me(addr, headers).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{name}");
        assert_eq!(reply.json()["error"], error, "{name}: {}", reply.text());
        // Nothing secret comes back.
        for secret_text in [DOC_SECRET, DOC_HMAC, hex] {
            assert!(!reply.text().contains(secret_text), "{name}");
        }
        if error == "invalid_credentials" {
            assert_eq!(reply.text(), INVALID, "{name}");
        }
    }

    for (headers, message) in [
        (
            headers(None, Some(DOC_USER), Some(DOC_HMAC)),
            "missing X-PROFICIENT-API-KEY header",
        ),
        (
            headers(Some(REQUIRED), None, Some(DOC_HMAC)),
            "missing X-PROFICIENT-USER-EXTERNAL-ID header",
        ),
        (
            headers(Some(REQUIRED), Some(DOC_USER), Some(hex)),
            "X-PROFICIENT-USER-HMAC header looks like hex; send standard padded base64",
        ),
    ] {
        assert_eq!(get_me(addr, headers).await.json()["message"], message);
    }
}

#[tokio::test]
async fn vendor_vectors_over_axum() {
    let vectors: Value = serde_json::from_str(include_str!("vectors/proficient.json")).unwrap();
    assert_eq!(vectors["generated_by"], "node tests/vectors/proficient.js");
    let api_key = vectors["api_key"].as_str().unwrap();
    let doc = &vectors["valid"][0];
    assert_eq!(doc["external_id"], DOC_USER);
    assert_eq!(doc["hmac"], DOC_HMAC);

    let str_of = |v: &Value, field: &str| v[field].as_str().unwrap().to_owned();
    let store = MemoryKeyStore::new().with(Key::new(api_key, secret(DOC_SECRET)));
    let addr = serve_axum(
        axum::Router::new()
            .route("/me", get(me))
            .layer(ProficientVerifyLayer::new(store)),
    )
    .await;

    let valid = vectors["valid"].as_array().unwrap();
    assert_eq!(valid.len(), 4);
    for v in valid {
        let (name, id, hmac) = (
            str_of(v, "name"),
            str_of(v, "external_id"),
            str_of(v, "hmac"),
        );
        assert_eq!(
            user_hmac(&secret(&str_of(v, "secret")), &id),
            hmac,
            "{name}"
        );
        let reply = get_me(addr, headers(Some(api_key), Some(&id), Some(&hmac))).await;
        assert_eq!(reply.status, StatusCode::OK, "{name}: {}", reply.text());
        assert_eq!(reply.json()["external_id"], id.as_str(), "{name}");
        assert_eq!(reply.json()["hmac_verified"], true, "{name}");
    }

    let invalid = vectors["invalid"].as_array().unwrap();
    assert_eq!(invalid.len(), 6);
    for v in invalid {
        let (name, error) = (str_of(v, "name"), str_of(v, "error"));
        let reply = get_me(
            addr,
            headers(
                Some(api_key),
                Some(&str_of(v, "external_id")),
                Some(&str_of(v, "hmac")),
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{name}");
        assert_eq!(reply.json()["error"], error.as_str(), "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// Streaming request bodies

/// A request body fed chunk by chunk through a channel, ending when the sender is dropped.
struct ChannelBody {
    rx: mpsc::Receiver<Bytes>,
}

fn channel_body() -> (mpsc::Sender<Bytes>, ChannelBody) {
    let (tx, rx) = mpsc::channel(4);
    (tx, ChannelBody { rx })
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.rx
            .poll_recv(cx)
            .map(|chunk| chunk.map(|c| Ok(Frame::data(c))))
    }
}

const WAIT: Duration = Duration::from_secs(5);

/// Receives from `seen` until the bytes add up to `expected`; fails if they do not come in time.
async fn expect_chunk(seen: &mut mpsc::UnboundedReceiver<Bytes>, expected: &str) {
    let mut got = Vec::new();
    while got.len() < expected.len() {
        let chunk = tokio::time::timeout(WAIT, seen.recv())
            .await
            .unwrap_or_else(|_| panic!("handler never saw {expected:?}, only {got:?}"))
            .expect("handler gone");
        got.extend_from_slice(&chunk);
    }
    assert_eq!(String::from_utf8(got).unwrap(), expected);
}

fn streaming_request(
    addr: SocketAddr,
    key: &str,
    hmac: Option<&str>,
    body: ChannelBody,
) -> Request<ChannelBody> {
    let mut request = Request::post(format!("http://{addr}/upload"));
    for (name, value) in headers(Some(key), Some(DOC_USER), hmac) {
        request = request.header(name, value);
    }
    request.body(body).unwrap()
}

/// A hyper server whose handler takes `Request<Incoming>` (the type hyper hands the layer, so
/// the layer passed it on unchanged) and reports every body chunk the moment it arrives.
async fn streaming_server(seen: mpsc::UnboundedSender<Bytes>) -> SocketAddr {
    let handler = service_fn(move |request: Request<Incoming>| {
        let seen = seen.clone();
        async move {
            let user = request
                .extensions()
                .get::<Verified<ProficientUser>>()
                .cloned()
                .expect("layer ran");
            let mut body = request.into_body();
            let mut chunks = 0;
            while let Some(frame) = body.frame().await {
                if let Ok(data) = frame.expect("body frame").into_data() {
                    chunks += 1;
                    seen.send(data).expect("test listening");
                }
            }
            let text = format!(
                "{} chunks from {}",
                chunks,
                user.identity().verified_external_id().unwrap_or("?")
            );
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(text))))
        }
    });
    serve_hyper(
        ServiceBuilder::new()
            .layer(ProficientVerifyLayer::new(keys()))
            .service(handler),
    )
    .await
}

#[tokio::test]
async fn streaming_body_reaches_the_handler_chunk_by_chunk() {
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let addr = streaming_server(seen_tx).await;
    let client = Client::builder(TokioExecutor::new()).build_http::<ChannelBody>();

    let (tx, body) = channel_body();
    let response =
        tokio::spawn(client.request(streaming_request(addr, REQUIRED, Some(DOC_HMAC), body)));

    // Each chunk is sent only after the handler has seen the previous one: a layer that buffered
    // the body would never call the handler, and this would time out.
    for chunk in ["first ", "second ", "third"] {
        tx.send(Bytes::from(chunk)).await.unwrap();
        expect_chunk(&mut seen, chunk).await;
    }
    drop(tx);

    let response = tokio::time::timeout(WAIT, response)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(text, format!("3 chunks from {DOC_USER}"));
}

#[tokio::test]
async fn streaming_request_is_refused_without_waiting_for_its_body() {
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let addr = streaming_server(seen_tx).await;
    let client = Client::builder(TokioExecutor::new()).build_http::<ChannelBody>();

    // The body's sender stays open and nothing is ever sent: the refusal must come anyway.
    let (tx, body) = channel_body();
    let other = user_hmac(&secret(DOC_SECRET), "someone-else");
    let response = tokio::time::timeout(
        WAIT,
        client.request(streaming_request(addr, REQUIRED, Some(&other), body)),
    )
    .await
    .expect("refusal came before the body ended")
    .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let text = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(text, INVALID);
    assert!(seen.try_recv().is_err(), "the handler must not run");
    drop(tx);
}

#[tokio::test]
async fn body_type_passes_through_unchanged_in_process() {
    // The inner service asks for `Request<ChannelBody>`: that it compiles is the type check; that
    // it answers while the body is still open shows nothing was read.
    let service = ServiceBuilder::new()
        .layer(ProficientVerifyLayer::new(keys()))
        .service(service_fn(|request: Request<ChannelBody>| async move {
            let mut body = request.into_body();
            // Still open and unread: the first chunk the test sends is the first we see.
            let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
            Ok::<_, Infallible>(Response::new(Full::new(first)))
        }));

    let (tx, body) = channel_body();
    let mut request = Request::post("/upload");
    for (name, value) in headers(Some(OPTIONAL), Some(DOC_USER), None) {
        request = request.header(name, value);
    }
    let call = tokio::spawn(service.oneshot(request.body(body).unwrap()));
    tx.send(Bytes::from_static(b"hello")).await.unwrap();
    let response = tokio::time::timeout(WAIT, call)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(bytes, "hello");
    drop(tx);
}

// ---------------------------------------------------------------------------------------------
// tonic

/// The gRPC health service behind the Proficient layer, plus a probe layer that reports the
/// identity the Proficient layer put into each request it let through.
async fn tonic_server(
    identities: mpsc::UnboundedSender<Verified<ProficientUser>>,
) -> (SocketAddr, HealthReporter) {
    let (reporter, health) = tonic_health::server::health_reporter();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let probe =
        tower::util::MapRequestLayer::new(move |request: http::Request<tonic::body::Body>| {
            if let Some(verified) = request.extensions().get::<Verified<ProficientUser>>() {
                let _ = identities.send(verified.clone());
            }
            request
        });
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .layer(ProficientVerifyLayer::new(keys()))
            .layer(probe)
            .add_service(health)
            .serve_with_incoming(TcpIncoming::from(listener))
            .await
            .unwrap();
    });
    (addr, reporter)
}

type Intercepted = tonic::service::interceptor::InterceptedService<
    Channel,
    Box<dyn FnMut(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> + Send>,
>;

/// A health client sending the Proficient headers as gRPC metadata.
async fn health_client(
    addr: SocketAddr,
    api_key: &str,
    user: &str,
    hmac: Option<&str>,
) -> HealthClient<Intercepted> {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let metadata: Vec<(&'static str, MetadataValue<_>)> = headers(Some(api_key), Some(user), hmac)
        .into_iter()
        .map(|(name, value)| (name, value.parse().unwrap()))
        .collect();
    HealthClient::with_interceptor(
        channel,
        Box::new(move |mut request: tonic::Request<()>| {
            for (name, value) in &metadata {
                request.metadata_mut().insert(*name, value.clone());
            }
            Ok(request)
        }),
    )
}

fn check_request(service: &str) -> HealthCheckRequest {
    HealthCheckRequest {
        service: service.to_owned(),
    }
}

fn status_of(response: &HealthCheckResponse) -> PbStatus {
    PbStatus::try_from(response.status).unwrap()
}

#[tokio::test]
async fn tonic_unary_check_accepted_and_identity_seen() {
    let (tx, mut identities) = mpsc::unbounded_channel();
    let (addr, _reporter) = tonic_server(tx).await;

    let mut client = health_client(addr, REQUIRED, DOC_USER, Some(DOC_HMAC)).await;
    let response = client.check(check_request("")).await.unwrap().into_inner();
    assert_eq!(status_of(&response), PbStatus::Serving);

    let verified = identities.try_recv().unwrap();
    assert_eq!(verified.key_id(), REQUIRED);
    assert_eq!(verified.identity().external_id(), DOC_USER);
    assert!(verified.identity().hmac_verified());

    // Optional project, no HMAC: served, and the identity says it is unverified.
    let mut client = health_client(addr, OPTIONAL, "claimed-user", None).await;
    let response = client.check(check_request("")).await.unwrap().into_inner();
    assert_eq!(status_of(&response), PbStatus::Serving);
    let verified = identities.try_recv().unwrap();
    assert_eq!(verified.key_id(), OPTIONAL);
    assert_eq!(verified.identity().verified_external_id(), None);
    assert!(!verified.identity().hmac_verified());
}

#[tokio::test]
async fn tonic_unary_check_rejected_as_unauthenticated() {
    let (tx, mut identities) = mpsc::unbounded_channel();
    let (addr, _reporter) = tonic_server(tx).await;
    let other = user_hmac(&secret(DOC_SECRET), "someone-else");
    let hex = "9f2aca2bda9c5aa80f49d932d9513e6ab932263305b7d143d45c65fe234e0f95";
    for (key, hmac, message) in [
        (REQUIRED, None, "missing X-PROFICIENT-USER-HMAC header"),
        (
            REQUIRED,
            Some(other.as_str()),
            "the key or the signature is not valid",
        ),
        (
            "pk_unknown",
            Some(DOC_HMAC),
            "the key or the signature is not valid",
        ),
        (
            REVOKED,
            Some(DOC_HMAC),
            "the key or the signature is not valid",
        ),
        (
            REQUIRED,
            Some(hex),
            "X-PROFICIENT-USER-HMAC header looks like hex; send standard padded base64",
        ),
    ] {
        let mut client = health_client(addr, key, DOC_USER, hmac).await;
        let status = client.check(check_request("")).await.unwrap_err();
        assert_eq!(
            status.code(),
            tonic::Code::Unauthenticated,
            "{key} {hmac:?}"
        );
        assert_eq!(status.message(), message, "{key} {hmac:?}");
    }
    assert!(
        identities.try_recv().is_err(),
        "no refused call got through"
    );
}

#[tokio::test]
async fn tonic_server_streaming_watch() {
    let (tx, _identities) = mpsc::unbounded_channel();
    let (addr, reporter) = tonic_server(tx).await;
    let service = "proficient.test.Service";
    reporter
        .set_service_status(service, ServingStatus::Serving)
        .await;

    let mut client = health_client(addr, REQUIRED, DOC_USER, Some(DOC_HMAC)).await;
    let mut stream = client
        .watch(check_request(service))
        .await
        .unwrap()
        .into_inner();
    let first = tokio::time::timeout(WAIT, stream.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(status_of(&first), PbStatus::Serving);

    // The response keeps streaming through the layer as the status changes.
    reporter
        .set_service_status(service, ServingStatus::NotServing)
        .await;
    let second = tokio::time::timeout(WAIT, stream.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(status_of(&second), PbStatus::NotServing);

    // Refused before any message is streamed.
    let mut refused = health_client(addr, REQUIRED, DOC_USER, None).await;
    let status = refused.watch(check_request(service)).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    assert_eq!(status.message(), "missing X-PROFICIENT-USER-HMAC header");
}
