//! GitHub webhooks: the vectors of `@octokit/webhooks-methods`, GitHub's documented example, and
//! the cases every webhook scheme passes, on loopback.

mod common;

use axum::http::StatusCode;
use common::send;
use common::webhooks::{
    PAYLOAD, Receiver, Setup, Verdict, assert_refused, check_vectors, payload_only,
};
use http::Request;
use http_body_util::Full;
use tower_hmac::github::{GitHub, GitHubVerifyLayer, signature};
use tower_hmac::{Key, Secret};

const SECRET: &str = "It's a Secret to Everybody";

fn setup() -> Setup<GitHub> {
    Setup {
        scheme: GitHub::default(),
        layer: |key| GitHubVerifyLayer::new(key),
        secret: Secret::new(SECRET).unwrap(),
        window: None,
        body: payload_only,
    }
}

webhook_matrix!(setup());

/// `tests/vectors/webhooks/github.json`, made by `@octokit/webhooks-methods` 6.0.0 (its
/// `generator.command` says how). Where the SDK's two builds disagree, or the SDK cannot
/// express a delivery, the verdict says what GitHub's rule (an HMAC of the raw body) gives.
#[tokio::test]
async fn sdk_vectors() {
    use Verdict::*;
    let malformed = Refuse("malformed_credentials");
    let mismatch = Refuse("invalid_credentials");
    check_vectors(
        &setup(),
        "github.json",
        |s| Secret::new(s).unwrap(),
        &[
            ("docs_test_vector_hello_world", Accept),
            ("json_body", Accept),
            ("non_ascii_utf8_body", Accept),
            // The HMAC of zero bytes; the SDK refuses an empty payload as a usage error.
            ("empty_body", Accept),
            // GitHub signs bytes; the SDK takes a string and cannot express this one.
            ("non_utf8_body_raw_bytes", Accept),
            ("neg_tampered_body", mismatch),
            ("neg_wrong_secret", mismatch),
            ("neg_truncated_signature", malformed),
            ("neg_truncated_signature_odd", malformed),
            ("neg_empty_signature_prefix_only", malformed),
            ("neg_empty_header_value", malformed),
            // The same 32 bytes in upper-case hex: the web build accepts, the node build does not.
            ("uppercase_hex", Accept),
            ("uppercase_prefix", malformed),
            // The web build accepts a bare hex digest; the node build and GitHub's rule do not.
            ("neg_missing_prefix", malformed),
            ("neg_sha1_header_value", malformed),
            // HTTP strips the spaces around a field value before any handler sees it (RFC 9110
            // 5.5); the SDK, handed the raw string, does not.
            ("whitespace_around_signature", Accept),
        ],
    )
    .await;
}

#[test]
fn signature_is_githubs_documented_example() {
    // docs.github.com, "Validating webhook deliveries", Testing the webhook payload validation.
    let secret = Secret::new(SECRET).unwrap();
    assert_eq!(
        signature(&secret, b"Hello, World!"),
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    );
}

/// `X-GitHub-Delivery` reaches the handler, marked unsigned, and is never what recognises a copy:
/// two deliveries claiming one id are both handled, and a copy with another id is not.
#[tokio::test]
async fn delivery_id_is_passed_on_but_not_trusted() {
    let setup = setup();
    let receiver = setup.receiver().await;
    for payload in [&br#"{"n":1}"#[..], br#"{"n":2}"#] {
        let (mut request, _) = setup.delivery(&receiver.url(), payload);
        request
            .headers_mut()
            .insert("x-github-delivery", "same-id".parse().unwrap());
        assert_eq!(send(receiver.addr, request).await.status, StatusCode::OK);
    }
    let ids: Vec<_> = receiver.handled().into_iter().map(|h| h.id).collect();
    assert_eq!(
        ids,
        [Some("same-id".to_owned()), Some("same-id".to_owned())]
    );
}

#[tokio::test]
async fn two_signature_headers_are_refused() {
    let setup = setup();
    let receiver = setup.receiver().await;
    let (request, body) = setup.delivery(&receiver.url(), PAYLOAD);
    let good = request.headers()["x-hub-signature-256"].clone();
    let request = Request::post(receiver.url())
        .header("x-hub-signature-256", good.clone())
        .header("x-hub-signature-256", good)
        .body(Full::from(body))
        .unwrap();
    let reply = send(receiver.addr, request).await;
    assert_refused(&reply, StatusCode::UNAUTHORIZED, "malformed_credentials");
    assert!(receiver.handled().is_empty());
}

/// The legacy SHA-1 header alone is not read: the delivery is unsigned for this layer.
#[tokio::test]
async fn legacy_sha1_header_alone_is_missing_credentials() {
    let receiver = Receiver::serve(GitHubVerifyLayer::new(Key::new(
        "github",
        Secret::new(SECRET).unwrap(),
    )))
    .await;
    let request = Request::post(receiver.url())
        .header(
            "x-hub-signature",
            "sha1=0123456789abcdef0123456789abcdef01234567",
        )
        .body(Full::from(PAYLOAD))
        .unwrap();
    let reply = send(receiver.addr, request).await;
    assert_refused(&reply, StatusCode::UNAUTHORIZED, "missing_credentials");
}

/// An inner service that fails (an error, not a response) is a failed handling: the sender's
/// retry reaches it again, and once it is handled a copy does not.
#[tokio::test]
async fn a_handler_error_is_not_remembered_as_done() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tower::{Layer, ServiceExt};

    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let inner = tower::service_fn(move |_request: http::Request<_>| {
        let call = counted.fetch_add(1, Ordering::SeqCst);
        async move {
            match call {
                0 => Err("the database is down"),
                _ => Ok::<_, &str>(http::Response::new(String::from("handled"))),
            }
        }
    });
    let setup = setup();
    let service =
        GitHubVerifyLayer::new(Key::new("github", Secret::new(SECRET).unwrap())).layer(inner);
    let (request, body) = setup.delivery("http://localhost/hook", PAYLOAD);
    let copy = || common::webhooks::copy(&request, &body, &[]);
    assert_eq!(
        service.clone().oneshot(copy()).await.unwrap_err(),
        "the database is down"
    );
    let retried = service.clone().oneshot(copy()).await.unwrap();
    assert_eq!(retried.status(), StatusCode::OK);
    let again = service.clone().oneshot(copy()).await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "the copy after the handled retry was not handled"
    );
}
