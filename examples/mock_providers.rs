//! A mock of the four providers (Humanos, Inqud, Spike, Proficient) built from this crate's
//! layers, with the vendors' documented example credentials, so their own client snippets work
//! against it unchanged but for the host.
//!
//! ```text
//! cargo run --release --example mock_providers                      # http://127.0.0.1:8080
//! cargo run --release --example mock_providers -- --addr 0.0.0.0:9000
//! cargo run --release --example mock_providers -- --config examples/mock_providers.toml
//! cargo run --release --example mock_providers -- --redis redis://127.0.0.1:6379/
//! ```
//!
//! The routes and their answers are documented in `tower_hmac::mock`. On start the server prints
//! its address and curl commands for every route, made with the first credentials of each
//! provider (the secrets are printed too: this is a mock, meant for demo credentials).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use tower_hmac::mock::{self, MockConfig};
use tower_hmac::replay::RedisReplayStore;
use tower_hmac::{Secret, proficient, spike};

/// Serve mock Humanos, Inqud, Spike and Proficient APIs verified by tower-hmac's layers.
#[derive(Parser)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// TOML file replacing the built-in demo credentials (see examples/mock_providers.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Redis URL: keep the replay history (Inqud salts, Humanos signatures) in Redis, shared by
    /// every mock server using it, instead of in this process.
    #[arg(long)]
    redis: Option<String>,
}

#[tokio::main]
async fn main() {
    if let Err(error) = run(Args::parse()).await {
        eprintln!("mock_providers: {error}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let config = match &args.config {
        Some(path) => MockConfig::from_toml(&std::fs::read_to_string(path)?)
            .map_err(|e| format!("{}: {e}", path.display()))?,
        None => MockConfig::default(),
    };
    let app = match &args.redis {
        Some(url) => mock::router_with_store(&config, RedisReplayStore::connect_lazy(url)?)?,
        None => mock::router(&config)?,
    };
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    let addr = listener.local_addr()?;
    println!("mock providers listening on http://{addr}");
    match &args.redis {
        Some(url) => println!("replay store: Redis at {url}"),
        None => println!("replay store: in process"),
    }
    println!();
    print!("{}", curl_examples(addr, &config)?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// Ready-to-paste curl commands (bash, with openssl for the signatures that depend on the time or
/// a fresh salt).
fn curl_examples(
    addr: SocketAddr,
    config: &MockConfig,
) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let mut out = String::new();
    let hmac = |secret: &str| format!("openssl dgst -sha256 -hmac '{secret}' | sed 's/^.* //'");
    if let Some(c) = config.humanos.first() {
        let (key, sig) = (&c.api_key, hmac(&c.secret));
        out += &format!(
            "# Humanos (API key {key})
TS=$(date +%s%3N); SIG=$(printf '%s' \"$TS\" | {sig})
curl -s http://{addr}/v0/processes -H 'Authorization: Bearer {key}' -H \"X-Timestamp: $TS\" -H \"X-Signature: $SIG\"; echo
BODY='{{\"contacts\":[\"+351912345678\"],\"processIds\":[\"64c8e5f7d5a4f9123b7c9a1e\"]}}'
TS=$(date +%s%3N); SIG=$(printf '%s.%s' \"$TS\" \"$BODY\" | {sig})
curl -s http://{addr}/v0/process/generate -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' -H \"X-Timestamp: $TS\" -H \"X-Signature: $SIG\" -d \"$BODY\"; echo

"
        );
    }
    if let Some(c) = config.inqud.first() {
        let (token, secret, sig) = (&c.token_id, &c.secret, hmac(&c.secret));
        out += &format!(
            "# Inqud (token {token}), simple mode, then HMAC mode with a fresh salt
curl -s http://{addr}/v1/user/wallet/balances -H 'X-Token-API-Id: {token}' -H 'X-Token-API-Secret: {secret}'; echo
BODY='{{\"amount\": 50, \"currency\": \"USD\"}}'
SALT=$(openssl rand -hex 32); SIG=$(printf '%s%s' \"$BODY\" \"$SALT\" | {sig})
curl -s http://{addr}/v1/user/payments/payout -H 'X-Token-API-Id: {token}' -H \"X-HMAC-SHA256-Signature: $SIG\" -H \"X-Salt: $SALT\" -H 'Content-Type: application/json' -d \"$BODY\"; echo

"
        );
    }
    if let Some(c) = config.spike.first() {
        let user = "my_application_user_123";
        let body = spike::exchange_body(&c.application_id, user, &Secret::new(c.key.as_str())?);
        out += &format!(
            "# Spike (application {app}): exchange the user's HMAC for a token, then call with it
TOKEN=$(curl -s http://{addr}/v3/auth/hmac -H 'Content-Type: application/json' -d '{body}' | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')
curl -s http://{addr}/v3/userinfo -H \"Authorization: Bearer $TOKEN\"; echo

",
            app = c.application_id
        );
    }
    if let Some(c) = config.proficient.first() {
        let user = "gtLIK8ELsHTr0Fajg28Ud9eFpJJ3";
        let user_hmac = proficient::user_hmac(&Secret::new(c.secret.as_str())?, user);
        out += &format!(
            "# Proficient (project {key}, user {user})
curl -s http://{addr}/interactions -H 'X-PROFICIENT-API-KEY: {key}' -H 'X-PROFICIENT-USER-EXTERNAL-ID: {user}' -H 'X-PROFICIENT-USER-HMAC: {user_hmac}'; echo
",
            key = c.api_key
        );
    }
    Ok(out)
}
