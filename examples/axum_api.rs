//! An axum API protected by the Humanos scheme, its handlers reading the verified caller.
//!
//! ```text
//! cargo run --example axum_api            # http://127.0.0.1:3000, prints a curl to try
//! ```
//!
//! Served with a header-read timeout and a request timeout (`support/serve.rs`).

use std::time::{SystemTime, UNIX_EPOCH};

use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tower_hmac::humanos::{self, HumanosCaller, HumanosVerifyLayer};
use tower_hmac::{Key, MemoryKeyStore, Secret, Verified};

#[path = "support/serve.rs"]
mod serve;

/// `GET /me`: who called, and the timestamp they signed.
async fn me(caller: Verified<HumanosCaller>) -> Json<Value> {
    Json(json!({
        "api_key": caller.key_id(),
        "signed_at_ms": caller.identity().timestamp_ms(),
        // Which of the key's live secrets matched (rotation): its label, if it has one.
        "secret": caller.secret().and_then(|s| s.label()),
    }))
}

/// `POST /orders`: the body arrives only once its signature verified.
async fn create_order(caller: Verified<HumanosCaller>, Json(order): Json<Value>) -> Json<Value> {
    Json(json!({ "created_by": caller.key_id(), "order": order }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let secret = Secret::new("YOUR_SIGNATURE_SECRET")?;
    let keys = MemoryKeyStore::new().with(Key::new("YOUR_API_KEY", secret.clone()));

    let app = Router::new()
        .route("/me", get(me))
        .route("/orders", post(create_order))
        .layer(HumanosVerifyLayer::new(keys));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    let addr = listener.local_addr()?;
    // A signature made now, so the printed command works for the next five minutes.
    let now = u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis())?;
    let signature = humanos::signature(&secret, now, b"");
    println!("listening on http://{addr}; try:");
    println!(
        "curl -s http://{addr}/me -H 'Authorization: Bearer YOUR_API_KEY' -H 'X-Timestamp: {now}' -H 'X-Signature: {signature}'"
    );
    serve::serve(listener, app).await;
    Ok(())
}
