//! A mock provider server built from the crate's layers, with the vendors' documented demo
//! credentials, so their own client snippets work against it unchanged but for the host.
//!
//! ```text
//! cargo run --release --example mock_providers              # listens on 127.0.0.1:8080
//! cargo run --release --example mock_providers -- --addr 127.0.0.1:9000
//! ```
//!
//! Humanos: `GET /v0/processes`, `POST /v0/process/generate`, API key `YOUR_API_KEY`, signature
//! secret `YOUR_SIGNATURE_SECRET`.

use std::net::SocketAddr;

use axum::Router;
use axum::routing::{get, post};
use bytes::Bytes;
use serde_json::{Value, json};
use tower_hmac::humanos::{HumanosCaller, HumanosVerifyLayer};
use tower_hmac::{Key, MemoryKeyStore, Secret, Verified};

const HUMANOS_API_KEY: &str = "YOUR_API_KEY";
const HUMANOS_SECRET: &str = "YOUR_SIGNATURE_SECRET";

fn parse_addr() -> Result<SocketAddr, String> {
    let mut args = std::env::args().skip(1);
    let mut addr: SocketAddr = ([127, 0, 0, 1], 8080).into();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => {
                let value = args.next().ok_or("--addr needs HOST:PORT")?;
                addr = value.parse().map_err(|e| format!("--addr {value}: {e}"))?;
            }
            "-h" | "--help" => {
                return Err("usage: mock_providers [--addr HOST:PORT]".into());
            }
            other => return Err(format!("unknown argument {other}; try --help")),
        }
    }
    Ok(addr)
}

fn humanos() -> Result<Router, tower_hmac::ConfigError> {
    let keys = MemoryKeyStore::new().with(Key::new(HUMANOS_API_KEY, Secret::new(HUMANOS_SECRET)?));
    Ok(Router::new()
        .route("/v0/processes", get(humanos_processes))
        .route("/v0/process/generate", post(humanos_generate))
        .layer(HumanosVerifyLayer::new(keys)))
}

async fn humanos_processes(caller: Verified<HumanosCaller>) -> axum::Json<Value> {
    axum::Json(json!({
        "provider": "humanos",
        "api_key": caller.key_id(),
        "timestamp": caller.identity().timestamp_ms(),
        "processes": [],
    }))
}

async fn humanos_generate(caller: Verified<HumanosCaller>, body: Bytes) -> axum::Json<Value> {
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    axum::Json(json!({
        "provider": "humanos",
        "api_key": caller.key_id(),
        "timestamp": caller.identity().timestamp_ms(),
        "received": request,
    }))
}

fn curl_examples(addr: SocketAddr) -> String {
    format!(
        r#"Humanos (API key {HUMANOS_API_KEY}, secret {HUMANOS_SECRET}):
  TS=$(date +%s%3N); SIG=$(printf '%s' "$TS" | openssl dgst -sha256 -hmac '{HUMANOS_SECRET}' | sed 's/^.* //')
  curl -s http://{addr}/v0/processes -H 'Authorization: Bearer {HUMANOS_API_KEY}' -H "X-Timestamp: $TS" -H "X-Signature: $SIG"

  BODY='{{"contacts":["+351912345678"],"processIds":["64c8e5f7d5a4f9123b7c9a1e"]}}'
  TS=$(date +%s%3N); SIG=$(printf '%s.%s' "$TS" "$BODY" | openssl dgst -sha256 -hmac '{HUMANOS_SECRET}' | sed 's/^.* //')
  curl -s http://{addr}/v0/process/generate -H 'Authorization: Bearer {HUMANOS_API_KEY}' -H 'Content-Type: application/json' -H "X-Timestamp: $TS" -H "X-Signature: $SIG" -d "$BODY"
"#
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = match parse_addr() {
        Ok(addr) => addr,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let app = humanos()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    println!("mock providers listening on http://{addr}\n");
    println!("{}", curl_examples(addr));
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
