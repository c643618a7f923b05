//! A scheme written outside the crate, through the public API only: the `Acme` scheme of
//! `examples/custom_scheme.rs` (included as is), mounted in axum on loopback.

#[path = "../examples/custom_scheme.rs"]
#[allow(dead_code)]
mod example;

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::post;
use bytes::Bytes;
use common::{send, serve_axum};
use example::Acme;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::Full;
use tower_hmac::{Key, KeySecret, ManualClock, Secret, Verified, VerifyLayer};

const NOW: u64 = 1_763_800_000;
const BODY: &str = r#"{"event":"invoice.paid"}"#;

fn secret() -> Secret {
    Secret::new("acme-endpoint-secret").unwrap()
}

async fn receive(delivery: Verified<u64>, body: Bytes) -> String {
    format!("{} {}", delivery.identity(), body.len())
}

async fn serve(layer: VerifyLayer<Acme>) -> std::net::SocketAddr {
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(NOW));
    serve_axum(
        Router::new()
            .route("/hooks/acme", post(receive))
            .layer(layer.clock(clock)),
    )
    .await
}

fn post_with(headers: HeaderMap, body: &'static [u8]) -> Request<Full<Bytes>> {
    let mut request = Request::post("/hooks/acme")
        .body(Full::new(Bytes::from_static(body)))
        .unwrap();
    request.headers_mut().extend(headers);
    request
}

#[tokio::test]
async fn outside_scheme_accepts_its_signed_deliveries_and_refuses_the_rest() {
    let addr = serve(Acme::default().layer_for(Key::new("acme", secret()))).await;
    let sign =
        |secret: &Secret, at: u64, body: &[u8]| Acme::default().sign(secret, at, body).unwrap();

    // Accepted: signed with the endpoint's secret.
    let reply = send(
        addr,
        post_with(sign(&secret(), NOW, BODY.as_bytes()), BODY.as_bytes()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.text(), format!("{NOW} {}", BODY.len()));

    // Refused: another secret, a tampered body, the window, the header forms.
    let forged = sign(&Secret::new("guess").unwrap(), NOW, BODY.as_bytes());
    let reply = send(addr, post_with(forged, BODY.as_bytes())).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.json()["error"], "invalid_credentials");
    // No challenge: the scheme has none, and the default is none.
    assert!(reply.headers.get("www-authenticate").is_none());

    let reply = send(
        addr,
        post_with(sign(&secret(), NOW, BODY.as_bytes()), b"{}"),
    )
    .await;
    assert_eq!(reply.json()["error"], "invalid_credentials");

    let stale = sign(&secret(), NOW - 301, BODY.as_bytes());
    let reply = send(addr, post_with(stale, BODY.as_bytes())).await;
    assert_eq!(reply.json()["error"], "timestamp_out_of_window");

    let mut bare = sign(&secret(), NOW, BODY.as_bytes());
    let hex = bare["acme-signature"]
        .to_str()
        .unwrap()
        .trim_start_matches("sha256=")
        .to_owned();
    bare.insert("acme-signature", hex.parse().unwrap());
    let reply = send(addr, post_with(bare, BODY.as_bytes())).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.json()["message"],
        "Acme-Signature must be sha256=<64 hex digits>"
    );

    let mut missing = sign(&secret(), NOW, BODY.as_bytes());
    missing.remove("acme-timestamp");
    let reply = send(addr, post_with(missing, BODY.as_bytes())).await;
    assert_eq!(reply.json()["error"], "missing_credentials");
    assert_eq!(reply.json()["message"], "missing Acme-Timestamp header");
}

#[tokio::test]
async fn outside_scheme_option_and_rotation() {
    // The scheme's own option: a 10 s window.
    let old = Secret::new("old-secret").unwrap();
    let key = Key::from_secrets(
        "acme",
        [
            KeySecret::new(old.clone()).label("2025"),
            KeySecret::new(secret()).label("2026"),
        ],
    );
    let addr = serve(
        Acme::default()
            .tolerance(Duration::from_secs(10))
            .layer_for(key),
    )
    .await;
    let sign =
        |secret: &Secret, at: u64| Acme::default().sign(secret, at, BODY.as_bytes()).unwrap();

    assert_eq!(
        send(addr, post_with(sign(&secret(), NOW - 10), BODY.as_bytes()))
            .await
            .status,
        StatusCode::OK
    );
    let reply = send(addr, post_with(sign(&secret(), NOW - 11), BODY.as_bytes())).await;
    assert_eq!(reply.json()["error"], "timestamp_out_of_window");
    // Both secrets of a rotation verify.
    assert_eq!(
        send(addr, post_with(sign(&old, NOW), BODY.as_bytes()))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn outside_scheme_verifies_without_a_server() {
    let layer = Acme::default().layer_for(Key::new("acme", secret()));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut request = Request::post("/").body(()).unwrap();
    request
        .headers_mut()
        .extend(Acme::default().sign(&secret(), now, b"x").unwrap());
    let (parts, ()) = request.into_parts();
    let verified = layer.verifier().verify(&parts, b"x").await.unwrap();
    assert_eq!(*verified.identity(), now);
    assert_eq!(verified.key_id(), "acme");
    assert!(layer.verifier().verify(&parts, b"y").await.is_err());
}
