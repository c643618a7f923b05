//! Webhook receivers: GitHub and Stripe deliveries verified in front of axum handlers. A signed
//! delivery is handled once; a copy of it is acknowledged by the layer without reaching the
//! handler; a forged one is refused.
//!
//! ```text
//! cargo run --example webhook_receiver     # http://127.0.0.1:3001/webhooks/{github,stripe}, prints curls
//! ```
//!
//! Served with a header-read timeout and a request timeout (`support/serve.rs`).

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;
use tower_hmac::github::GitHubVerifyLayer;
use tower_hmac::stripe::StripeVerifyLayer;
use tower_hmac::webhooks::Delivery;
use tower_hmac::{Key, Secret, Verified, github, stripe};

#[path = "support/serve.rs"]
mod serve;

const GITHUB_SECRET: &str = "It's a Secret to Everybody";
const STRIPE_SECRET: &str = "whsec_test_secret";

async fn github(delivery: Verified<Delivery>, body: Bytes) -> StatusCode {
    println!(
        "GitHub delivery {} (id not signed): {}",
        delivery.identity().id().unwrap_or("-"),
        String::from_utf8_lossy(&body)
    );
    StatusCode::NO_CONTENT
}

async fn stripe(event: Verified<Delivery>, body: Bytes) -> StatusCode {
    println!(
        "Stripe event signed at {:?}: {}",
        event.identity().timestamp(),
        String::from_utf8_lossy(&body)
    );
    StatusCode::OK
}

/// A `curl` delivering `body` to `url` with `headers`.
fn curl(
    url: &str,
    body: &str,
    headers: &http::HeaderMap,
) -> Result<String, http::header::ToStrError> {
    let mut line = format!("curl -s -w ' %{{http_code}}\\n' {url} -d '{body}'");
    for (name, value) in headers {
        line += &format!(" -H '{name}: {}'", value.to_str()?);
    }
    Ok(line)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let github_secret = Secret::new(GITHUB_SECRET)?;
    let stripe_secret = Secret::new(STRIPE_SECRET)?;
    let app = Router::new()
        .route(
            "/webhooks/github",
            post(github).layer(GitHubVerifyLayer::new(Key::new(
                "github",
                github_secret.clone(),
            ))),
        )
        .route(
            "/webhooks/stripe",
            post(stripe).layer(StripeVerifyLayer::new(Key::new(
                "stripe",
                stripe_secret.clone(),
            ))),
        );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:3001").await?;
    let addr = listener.local_addr()?;
    let body = r#"{"action":"opened","number":1347}"#;
    let github = curl(
        &format!("http://{addr}/webhooks/github"),
        body,
        &github::sign_request(&github_secret, body.as_bytes())?,
    )?;
    let event = r#"{"id":"evt_1","type":"invoice.paid"}"#;
    let stripe = curl(
        &format!("http://{addr}/webhooks/stripe"),
        event,
        &stripe::sign_request(&stripe_secret, event.as_bytes())?,
    )?;
    println!(
        "listening on http://{addr}/webhooks/{{github,stripe}}; deliver (a second time: 200 duplicate, \
         not handled; with the body changed: 401):\n{github}\n{stripe}"
    );
    serve::serve(listener, app).await;
    Ok(())
}
