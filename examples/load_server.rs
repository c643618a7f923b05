//! The server of the loopback load benchmark (`scripts/load.sh`, results in BENCHMARKS.md).
//!
//! ```text
//! load_server serve <port> <worker threads>   serve the routes below on 127.0.0.1:<port>
//! load_server lua <route>                     print a wrk script sending <route>'s request
//! ```
//!
//! Routes, each pair identical but for the layer:
//!
//! | route | layer | request |
//! |---|---|---|
//! | `POST /plain` | none | the Humanos request (ignored headers) |
//! | `POST /humanos` | `HumanosVerifyLayer` | 1 KiB body, signed |
//! | `GET /plain` | none | the Proficient request (ignored headers) |
//! | `GET /proficient` | `ProficientVerifyLayer` (header-only) | the user's HMAC header |
//!
//! Each plain route gets its pair's request byte for byte (but the path), credential headers
//! included, so hyper parses the same headers on both sides and the ratio is the layer's alone.
//!
//! Both POST handlers take the body as `Bytes` (axum reads it), so the plain route does the same
//! body work as the signed one minus the verification. The Humanos request is signed once when its
//! script is printed and sent unchanged for the whole run: it stays valid for the layer's 300 s
//! window, and this layer has no replay store unless one is configured (the vendor's protocol has
//! no nonce). Run each Humanos measurement within five minutes of printing its script.
//!
//! Every route is served alike, with the examples' header-read and request timeouts
//! (`support/serve.rs`), so their per-request timer costs both sides of each pair the same.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::{get, post};
use bytes::Bytes;
use tower_hmac::humanos::{self, HumanosVerifyLayer};
use tower_hmac::proficient::{self, ProficientHmac, ProficientVerifyLayer};
use tower_hmac::{Key, MemoryKeyStore, Secret};

#[path = "support/serve.rs"]
mod serve;

const HUMANOS_KEY: &str = "load-api-key";
const HUMANOS_SECRET: &str = "load-signature-secret";
const PROFICIENT_KEY: &str = "pk_load";
const PROFICIENT_SECRET: &str = "hsec_load";
const USER: &str = "gtLIK8ELsHTr0Fajg28Ud9eFpJJ3";
const BODY_LEN: usize = 1024;

fn body() -> Vec<u8> {
    // Printable, so that it can sit in a Lua string literal as is.
    (0..BODY_LEN).map(|i| b'a' + (i % 26) as u8).collect()
}

fn secret(text: &str) -> Secret {
    Secret::new(text).expect("non-empty secret")
}

async fn take_body(body: Bytes) -> &'static str {
    std::hint::black_box(body.len());
    "ok"
}

async fn no_body() -> &'static str {
    "ok"
}

fn router() -> Router {
    let humanos_keys = MemoryKeyStore::new().with(Key::new(HUMANOS_KEY, secret(HUMANOS_SECRET)));
    let proficient_keys = MemoryKeyStore::new().with(
        Key::new(PROFICIENT_KEY, secret(PROFICIENT_SECRET)).with_policy(ProficientHmac::Required),
    );
    Router::new()
        .route("/plain", post(take_body).get(no_body))
        .route(
            "/humanos",
            post(take_body).route_layer(HumanosVerifyLayer::new(humanos_keys)),
        )
        .route(
            "/proficient",
            get(no_body).route_layer(ProficientVerifyLayer::new(proficient_keys)),
        )
}

fn serve(port: u16, workers: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind 127.0.0.1");
        serve::serve(listener, router()).await;
    });
}

fn lua_headers(headers: &[(&str, String)]) -> String {
    headers
        .iter()
        .map(|(name, value)| format!("wrk.headers[\"{name}\"] = \"{value}\"\n"))
        .collect()
}

fn lua(route: &str) -> Option<String> {
    let body = String::from_utf8(body()).expect("ASCII body");
    let post = |path: &str, headers: &[(&str, String)]| {
        format!(
            "wrk.method = \"POST\"\nwrk.path = \"{path}\"\nwrk.body = \"{body}\"\n\
             wrk.headers[\"Content-Type\"] = \"application/octet-stream\"\n{}",
            lua_headers(headers)
        )
    };
    let get = |path: &str, headers: &[(&str, String)]| {
        format!(
            "wrk.method = \"GET\"\nwrk.path = \"{path}\"\n{}",
            lua_headers(headers)
        )
    };
    // Each pair's two routes receive the same headers, the signed request's (the plain route
    // ignores them): hyper parses the same bytes on both sides, and only the layer differs.
    let humanos_headers = || {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_millis() as u64;
        let signature = humanos::signature(&secret(HUMANOS_SECRET), now, body.as_bytes());
        [
            ("Authorization", format!("Bearer {HUMANOS_KEY}")),
            ("X-Timestamp", now.to_string()),
            ("X-Signature", signature),
        ]
    };
    let proficient_headers = || {
        [
            ("X-PROFICIENT-API-KEY", PROFICIENT_KEY.to_owned()),
            ("X-PROFICIENT-USER-EXTERNAL-ID", USER.to_owned()),
            (
                "X-PROFICIENT-USER-HMAC",
                proficient::user_hmac(&secret(PROFICIENT_SECRET), USER),
            ),
        ]
    };
    Some(match route {
        "plain-post" => post("/plain", &humanos_headers()),
        "humanos-post" => post("/humanos", &humanos_headers()),
        "plain-get" => get("/plain", &proficient_headers()),
        "proficient-get" => get("/proficient", &proficient_headers()),
        _ => return None,
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["serve", port, workers] => serve(
            port.parse().expect("port number"),
            workers.parse().expect("worker thread count"),
        ),
        ["lua", route] => match lua(route) {
            Some(script) => print!("{script}"),
            None => {
                eprintln!("routes: plain-post humanos-post plain-get proficient-get");
                std::process::exit(2);
            }
        },
        _ => {
            eprintln!("usage: load_server serve <port> <workers> | load_server lua <route>");
            std::process::exit(2);
        }
    }
}
