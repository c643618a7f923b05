//! A webhook receiver: an endpoint accepting POSTs signed in Inqud's HMAC mode (body plus a fresh
//! salt), refusing a delivery replayed with the same salt. The handler sees the body only once
//! its signature verified.
//!
//! ```text
//! cargo run --example webhook_receiver     # http://127.0.0.1:3001/webhooks, prints a curl
//! ```
//!
//! Served with a header-read timeout and a request timeout (`support/serve.rs`).

use axum::Router;
use axum::routing::post;
use bytes::Bytes;
use tower_hmac::inqud::{self, InqudCaller, InqudModes, InqudVerifyLayer};
use tower_hmac::{Key, MemoryKeyStore, Secret, Verified};

#[path = "support/serve.rs"]
mod serve;

const SENDER: &str = "TKN-webhook-sender";
const SECRET: &str = "shared-webhook-secret";

async fn receive(sender: Verified<InqudCaller>, body: Bytes) -> &'static str {
    // The salt was recorded by the layer; a second delivery with it never reaches this handler.
    println!(
        "delivery from {} (salt {}): {}",
        sender.key_id(),
        sender.identity().salt().unwrap_or("-"),
        String::from_utf8_lossy(&body)
    );
    "ok"
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let secret = Secret::new(SECRET)?;
    // HMAC only: the secret itself is never accepted on the wire.
    let senders = MemoryKeyStore::new()
        .with(Key::new(SENDER, secret.clone()).with_policy(InqudModes::HMAC_ONLY));
    let app = Router::new()
        .route("/webhooks", post(receive))
        .layer(InqudVerifyLayer::new(senders).body_limit(64 * 1024));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:3001").await?;
    let addr = listener.local_addr()?;
    let body = r#"{"event":"payment.completed","id":"pay_123"}"#;
    let salt = inqud::new_salt()?;
    let headers = inqud::sign_request(SENDER, &secret, body.as_bytes(), &salt)?;
    let mut curl = format!("curl -s http://{addr}/webhooks -d '{body}'");
    for (name, value) in &headers {
        curl += &format!(" -H '{name}: {}'", value.to_str()?);
    }
    println!("listening on http://{addr}/webhooks; deliver (a second time: 401 replayed):\n{curl}");
    serve::serve(listener, app).await;
    Ok(())
}
