//! Report-only mode and the layers' counters, in axum on loopback: a forged request reaches the
//! handler marked unverified (and a handler requiring `Verified` answers it as the layer would
//! have), a failing store still answers 503, and the counts after a mix of requests are exact.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::routing::post;
use axum::{Extension, Router};
use bytes::Bytes;
use common::{send, serve_axum};
use http::{Request, StatusCode};
use http_body_util::Full;
use serde_json::json;
use tower_hmac::github::GitHubVerifyLayer;
use tower_hmac::humanos::{self, HumanosVerifyLayer};
use tower_hmac::webhooks::Delivery;
use tower_hmac::{
    BoxFuture, Counters, Key, KeyStore, MemoryKeyStore, RejectionKind, Secret, StoreError,
    Unverified, Verified,
};

const SECRET: &str = "It's a Secret to Everybody";

fn github_key() -> Key {
    Key::new("github", Secret::new(SECRET).unwrap())
}

/// A GitHub delivery of `body` to `path`, signed with `secret`.
fn delivery(path: &str, secret: &str, body: &'static str) -> Request<Full<Bytes>> {
    let headers =
        tower_hmac::github::sign_request(&Secret::new(secret).unwrap(), body.as_bytes()).unwrap();
    let mut request = Request::post(path).body(Full::from(body)).unwrap();
    request.headers_mut().extend(headers);
    request
}

/// What a handler serving both verified and unverified requests sees.
async fn either(
    verified: Option<Verified<Delivery>>,
    unverified: Option<Extension<Unverified>>,
    body: Bytes,
) -> axum::Json<serde_json::Value> {
    axum::Json(match (verified, unverified) {
        (Some(verified), None) => {
            json!({"verified": verified.key_id(), "body": String::from_utf8_lossy(&body)})
        }
        (None, Some(Extension(u))) => json!({
            "unverified": format!("{:?}", u.rejection().kind()),
            "scheme": u.scheme(),
            "claimed_key_id": u.claimed_key_id(),
            "body": String::from_utf8_lossy(&body),
        }),
        other => json!({"unexpected": format!("{other:?}")}),
    })
}

async fn strict(delivery: Verified<Delivery>) -> String {
    format!("verified {}", delivery.key_id())
}

#[tokio::test]
async fn report_only_passes_a_forged_request_through_marked_unverified() {
    let layer = GitHubVerifyLayer::new(github_key()).report_only();
    let app = Router::new()
        .route("/either", post(either))
        .route("/strict", post(strict))
        .layer(layer);
    let addr = serve_axum(app).await;

    // Forged: the handler runs, with the body, and knows it was not verified.
    let forged = send(addr, delivery("/either", "not the secret", r#"{"a":1}"#)).await;
    assert_eq!(forged.status, StatusCode::OK, "{}", forged.text());
    assert_eq!(
        forged.json(),
        json!({"unverified": "InvalidSignature", "scheme": "github", "claimed_key_id": null, "body": r#"{"a":1}"#})
    );
    // Unsigned: the same, with the kind of that refusal.
    let unsigned = Request::post("/either").body(Full::from("{}")).unwrap();
    let unsigned = send(addr, unsigned).await;
    assert_eq!(unsigned.json()["unverified"], "MissingCredentials");
    // Genuine: verified as usual.
    let genuine = send(addr, delivery("/either", SECRET, "{}")).await;
    assert_eq!(genuine.json(), json!({"verified": "github", "body": "{}"}));

    // A handler that requires Verified answers a forged request as the layer would have.
    let strict = send(addr, delivery("/strict", "not the secret", "{}")).await;
    assert_eq!(strict.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        strict.body,
        r#"{"error":"invalid_credentials","message":"the request was not verified"}"#
    );
    let genuine = send(addr, delivery("/strict", SECRET, r#"{"b":2}"#)).await;
    assert_eq!(genuine.text(), "verified github");
}

/// A key store that always fails.
#[derive(Clone, Default)]
struct Down(Arc<AtomicUsize>);

impl KeyStore for Down {
    fn get<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Option<Key>, StoreError>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Err(StoreError::new("down")) })
    }
}

#[tokio::test]
async fn report_only_still_answers_503_when_the_store_fails() {
    let calls = Arc::new(AtomicUsize::new(0));
    let handled = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&handled);
    let counters = Counters::new();
    let layer = HumanosVerifyLayer::new(Down(Arc::clone(&calls)))
        .report_only()
        .counters(counters.clone());
    let app = Router::new()
        .route(
            "/",
            post(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                async { "handled" }
            }),
        )
        .layer(layer);
    let addr = serve_axum(app).await;
    let secret = Secret::new("YOUR_SIGNATURE_SECRET").unwrap();
    let headers = humanos::sign_request("YOUR_API_KEY", &secret, common::now_ms(), b"{}").unwrap();
    let mut request = Request::post("/").body(Full::from("{}")).unwrap();
    request.headers_mut().extend(headers);
    let reply = send(addr, request).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        reply.body,
        r#"{"error":"unavailable","message":"authentication is temporarily unavailable"}"#
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(handled.load(Ordering::SeqCst), 0, "the handler never runs");
    let humanos = counters.get("humanos").unwrap();
    assert_eq!(humanos.refused(RejectionKind::StoreUnavailable), 1);
    assert_eq!(humanos.refused_total(), 1);
}

#[tokio::test]
async fn counters_after_a_mix_of_requests() {
    let counters = Counters::new();
    let keys = MemoryKeyStore::new().with(Key::new(
        "YOUR_API_KEY",
        Secret::new("YOUR_SIGNATURE_SECRET").unwrap(),
    ));
    let app = Router::new()
        .route("/hook", post(|| async { "ok" }))
        .layer(
            GitHubVerifyLayer::new(github_key())
                .replay_store(tower_hmac::MokaReplayStore::new())
                .counters(counters.clone()),
        )
        .route(
            "/api",
            post(|| async { "ok" }).layer(HumanosVerifyLayer::new(keys).counters(counters.clone())),
        );
    let addr = serve_axum(app).await;

    // GitHub: 2 accepted, 1 duplicate, 2 invalid signatures, 1 missing signature, 1 too large.
    for body in ["{}", r#"{"n":2}"#, "{}"] {
        assert_eq!(
            send(addr, delivery("/hook", SECRET, body)).await.status,
            StatusCode::OK
        );
    }
    for _ in 0..2 {
        let forged = send(addr, delivery("/hook", "not the secret", "{}")).await;
        assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    }
    let unsigned = Request::post("/hook").body(Full::from("{}")).unwrap();
    assert_eq!(send(addr, unsigned).await.status, StatusCode::UNAUTHORIZED);
    let big = vec![b'x'; 1024 * 1024 + 1];
    let mut oversized = Request::post("/hook").body(Full::from(big)).unwrap();
    oversized.headers_mut().insert(
        "x-hub-signature-256",
        format!("sha256={}", "0".repeat(64)).parse().unwrap(),
    );
    assert_eq!(
        send(addr, oversized).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );

    // Humanos: 1 accepted, 1 unknown key, 1 stale.
    let secret = Secret::new("YOUR_SIGNATURE_SECRET").unwrap();
    let now = common::now_ms();
    for (key, ts, status) in [
        ("YOUR_API_KEY", now, StatusCode::OK),
        ("SOMEONE_ELSE", now, StatusCode::UNAUTHORIZED),
        ("YOUR_API_KEY", now - 600_000, StatusCode::UNAUTHORIZED),
    ] {
        let headers = humanos::sign_request(key, &secret, ts, b"{}").unwrap();
        let mut request = Request::post("/api").body(Full::from("{}")).unwrap();
        request.headers_mut().extend(headers);
        assert_eq!(send(addr, request).await.status, status);
    }

    let snapshot = counters.snapshot();
    let schemes: Vec<_> = snapshot.iter().map(|c| c.scheme()).collect();
    assert_eq!(schemes, ["github", "humanos"]);
    let github = counters.get("github").unwrap();
    assert_eq!((github.accepted(), github.duplicates()), (2, 1));
    assert_eq!(
        github.refusals().collect::<Vec<_>>(),
        [
            (RejectionKind::MissingCredentials, 1),
            (RejectionKind::InvalidSignature, 2),
            (RejectionKind::BodyTooLarge, 1),
        ]
    );
    assert_eq!(github.refused_total(), 4);
    let humanos = counters.get("humanos").unwrap();
    assert_eq!(humanos.accepted(), 1);
    assert_eq!(
        humanos.refusals().collect::<Vec<_>>(),
        [
            (RejectionKind::UnknownKey, 1),
            (RejectionKind::StaleTimestamp, 1)
        ]
    );
    assert_eq!(counters.get("stripe"), None);
}

#[tokio::test]
async fn report_only_refusals_are_counted() {
    let counters = Counters::new();
    let layer = GitHubVerifyLayer::new(github_key())
        .report_only()
        .counters(counters.clone());
    let app = Router::new().route("/either", post(either)).layer(layer);
    let addr = serve_axum(app).await;
    let forged = send(addr, delivery("/either", "not the secret", "{}")).await;
    assert_eq!(forged.status, StatusCode::OK);
    let github = counters.get("github").unwrap();
    assert_eq!(github.refused(RejectionKind::InvalidSignature), 1);
    assert_eq!(github.accepted(), 0);
}

/// What a handler behind a report-only layer sees of an unverified request.
async fn unverified(
    unverified: Option<Extension<Unverified>>,
    body: Bytes,
) -> axum::Json<serde_json::Value> {
    axum::Json(match unverified {
        Some(Extension(u)) => json!({
            "scheme": u.scheme(),
            "unverified": format!("{:?}", u.rejection().kind()),
            "body": String::from_utf8_lossy(&body),
        }),
        None => json!({"verified": true}),
    })
}

#[tokio::test]
async fn report_only_on_every_layer() {
    use tower_hmac::{
        inqud::InqudVerifyLayer, linear::LinearVerifyLayer, paddle::PaddleVerifyLayer,
        proficient::ProficientVerifyLayer, shopify::ShopifyVerifyLayer, slack::SlackVerifyLayer,
        spike::SpikeBearerLayer, spike::SpikeTokenKeys, standard::StandardVerifyLayer,
        stripe::StripeVerifyLayer, twilio::TwilioVerifyLayer, zoom::ZoomVerifyLayer,
    };
    let keys = MemoryKeyStore::new;
    let tokens = || SpikeTokenKeys::new(Secret::new([7u8; 32].to_vec()).unwrap()).unwrap();
    // Each layer, built twice: enforcing, and report-only.
    macro_rules! layers {
        ($($scheme:literal => $layer:expr),+ $(,)?) => {
            vec![$((
                $scheme,
                Router::new().route("/", post(unverified)).layer($layer),
                Router::new().route("/", post(unverified)).layer($layer.report_only()),
            )),+]
        };
    }
    let cases = layers![
        "humanos" => HumanosVerifyLayer::new(keys()),
        "inqud" => InqudVerifyLayer::new(keys()),
        "proficient" => ProficientVerifyLayer::new(keys()),
        "spike" => SpikeBearerLayer::new(tokens()),
        "github" => GitHubVerifyLayer::new(keys()),
        "stripe" => StripeVerifyLayer::new(keys()),
        "slack" => SlackVerifyLayer::new(keys()),
        "standard" => StandardVerifyLayer::new(keys()),
        "shopify" => ShopifyVerifyLayer::new(keys()),
        "paddle" => PaddleVerifyLayer::new(keys()),
        "zoom" => ZoomVerifyLayer::new(keys()),
        "twilio" => TwilioVerifyLayer::new(keys()),
        "linear" => LinearVerifyLayer::new(keys()),
        "discord" => tower_hmac::discord::DiscordVerifyLayer::new(keys()),
    ];
    for (scheme, enforcing, report_only) in cases {
        let unsigned = || Request::post("/").body(Full::from(r#"{"n":1}"#)).unwrap();
        let addr = serve_axum(enforcing).await;
        let refused = send(addr, unsigned()).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{scheme}");
        let addr = serve_axum(report_only).await;
        let passed = send(addr, unsigned()).await;
        assert_eq!(passed.status, StatusCode::OK, "{scheme}: {}", passed.text());
        assert_eq!(
            passed.json(),
            json!({"scheme": scheme, "unverified": "MissingCredentials", "body": r#"{"n":1}"#}),
            "{scheme}"
        );
    }
}
