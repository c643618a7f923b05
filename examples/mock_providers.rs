//! A mock of the four providers (Humanos, Inqud, Spike, Proficient) built from this crate's
//! layers, with the vendors' documented example credentials, so their own client snippets work
//! against it unchanged but for the host.
//!
//! ```text
//! cargo run --release --example mock_providers                      # http://127.0.0.1:8080
//! cargo run --release --example mock_providers -- --addr 0.0.0.0:9000
//! cargo run --release --example mock_providers -- --config examples/mock_providers.toml
//! cargo run --release --example mock_providers -- --redis redis://127.0.0.1:6379/
//! cargo run --release --example mock_providers -- --redis-cluster redis://127.0.0.1:7000/,redis://127.0.0.1:7001/
//! cargo run --release --example mock_providers --features sqlite -- --keys-db keys.db
//! cargo run --release --example mock_providers -- --humanos-replay
//! cargo run --release --example mock_providers -- --header-timeout 5 --request-timeout 60
//! cargo run --release --example mock_providers -- --json         # the request log as JSON lines
//! cargo run --release --example mock_providers -- --quiet        # no request log
//! cargo run --release --example mock_providers -- --explain      # test use only: why a refusal
//! ```
//!
//! The routes and their answers are documented in `tower_hmac::mock`, and so are the timeouts
//! (`tower_hmac::mock::serve`). On start the server prints its address and curl commands for every
//! route, made with the first credentials of each provider (the secrets are printed too: this is
//! a mock, meant for demo credentials). Then it prints one line per request (method, path,
//! status, provider, verdict, refusal kind and reason, key id; see `tower_hmac::mock`'s *Request
//! log*), and serves the inspector page at `/`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use clap::Parser;
use tower_hmac::mock::{self, MockConfig, ServeOptions};
use tower_hmac::replay::RedisReplayStore;
use tower_hmac::{MokaReplayStore, ReplayStore};

/// Serve mock Humanos, Inqud, Spike and Proficient APIs verified by tower-hmac's layers.
#[derive(Parser)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// TOML file replacing the built-in demo credentials (see examples/mock_providers.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Redis URL: keep the replay history (Inqud salts, and Humanos signatures with
    /// --humanos-replay) in Redis, shared by every mock server using it, instead of in this
    /// process.
    #[arg(long, conflicts_with = "redis_cluster")]
    redis: Option<String>,
    /// Redis Cluster seed nodes, comma-separated (`redis://HOST:PORT[,redis://HOST:PORT...]`):
    /// the same, on a cluster.
    #[arg(long, value_name = "URLS")]
    redis_cluster: Option<String>,
    /// SQLite key database (see `cargo run --example keys_db`): the API providers' keys
    /// (Humanos, Inqud, Proficient, Spike applications) are read from it, through a cache,
    /// instead of the configuration. Needs the `sqlite` feature.
    #[arg(long, value_name = "PATH")]
    keys_db: Option<PathBuf>,
    /// Refuse a Humanos signature seen before (`humanos_replay = true` in the TOML file does the
    /// same). Off by default: two bodiless requests signed with the same key in the same
    /// millisecond carry the same signature, and the second would get 401 replayed.
    #[arg(long)]
    humanos_replay: bool,
    /// Seconds a client may take to send a request's headers, or stay idle between requests,
    /// before its connection is closed.
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout: u64,
    /// Seconds a request may take from its headers to its answer, body included; past them the
    /// answer is 408.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    request_timeout: u64,
    /// No request log (warnings, such as a store failing, are still printed).
    #[arg(long, conflicts_with = "json")]
    quiet: bool,
    /// The request log as one JSON object per line.
    #[arg(long)]
    json: bool,
    /// TEST USE ONLY: a refused request's answer, log line and inspector entry also show what the
    /// server signed (the rebuilt message, its length and SHA-256), hints for the usual
    /// mistakes, and for demo credentials the signature it expected.
    #[arg(long)]
    explain: bool,
}

#[tokio::main]
async fn main() {
    if let Err(error) = run(Args::parse()).await {
        eprintln!("mock_providers: {error}");
        std::process::exit(1);
    }
}

/// The request log: the mock's `INFO` lines (unless `--quiet`) and every warning, on stdout.
fn log(args: &Args) {
    use tracing::Level;
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;

    let mock_level = if args.quiet { Level::WARN } else { Level::INFO };
    let filter = Targets::new()
        .with_default(Level::WARN)
        .with_target("tower_hmac::mock", mock_level);
    let fmt = tracing_subscriber::fmt().with_writer(std::io::stdout);
    if args.json {
        fmt.json().flatten_event(true).finish().with(filter).init();
    } else {
        fmt.with_ansi(false).finish().with(filter).init();
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    log(&args);
    let mut config = match &args.config {
        Some(path) => MockConfig::from_toml(&std::fs::read_to_string(path)?)
            .map_err(|e| format!("{}: {e}", path.display()))?,
        None => MockConfig::default(),
    };
    if args.humanos_replay {
        config.set("humanos_replay", true)?;
    }
    config.set_explain(args.explain);
    let replay: Arc<dyn ReplayStore> = match (&args.redis, &args.redis_cluster) {
        (Some(url), _) => Arc::new(RedisReplayStore::connect_lazy(url)?),
        (None, Some(nodes)) => Arc::new(RedisReplayStore::connect_cluster_lazy(nodes.split(','))?),
        (None, None) => Arc::new(MokaReplayStore::new()),
    };
    let app = match &args.keys_db {
        Some(path) => with_keys_db(&config, replay, path).await?,
        None => mock::router_with_store(&config, replay)?,
    };
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    let addr = listener.local_addr()?;
    println!("mock providers listening on http://{addr}");
    match (&args.redis, &args.redis_cluster) {
        (Some(url), _) => println!("replay store: Redis at {url}"),
        (None, Some(nodes)) => println!("replay store: Redis Cluster from {nodes}"),
        (None, None) => println!("replay store: in process"),
    }
    if let Some(path) = &args.keys_db {
        println!("API keys: {} (cached 60 s)", path.display());
    }
    if config.flag("humanos_replay") {
        println!("Humanos: a signature is accepted once");
    } else {
        println!("Humanos: no replay store (--humanos-replay turns it on)");
    }
    println!(
        "timeouts: headers {} s, request {} s",
        args.header_timeout, args.request_timeout
    );
    if args.explain {
        println!(
            "--explain: refusals show what the server signed (test use only, never in front of \
             real credentials)"
        );
    }
    println!("inspector: http://{addr}/ (the last requests, refreshing itself)");
    println!();
    println!("Every route, signed with the crate's signing CLI (bash, curl):");
    println!();
    print!("{}", mock::example_commands(addr, &config)?);
    let options = ServeOptions::default()
        .header_read_timeout(Duration::from_secs(args.header_timeout))
        .request_timeout(Duration::from_secs(args.request_timeout));
    mock::serve_with_shutdown(listener, app, options, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    Ok(())
}

/// The mock's router with the API providers' keys from the SQLite database at `path`, each
/// scheme's behind a cache.
#[cfg(feature = "sqlite")]
async fn with_keys_db(
    config: &MockConfig,
    replay: Arc<dyn ReplayStore>,
    path: &std::path::Path,
) -> Result<Router, Box<dyn std::error::Error + Send + Sync>> {
    use tower_hmac::{CachedKeyStore, KeyStore, SqliteKeyStore};

    let database = SqliteKeyStore::open(path, "")
        .await
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let keys = move |scheme: &str| -> Arc<dyn KeyStore> {
        Arc::new(CachedKeyStore::new(database.with_scheme(scheme)))
    };
    mock::router_with_key_stores(config, replay, keys)
}

#[cfg(not(feature = "sqlite"))]
async fn with_keys_db(
    _config: &MockConfig,
    _replay: Arc<dyn ReplayStore>,
    _path: &std::path::Path,
) -> Result<Router, Box<dyn std::error::Error + Send + Sync>> {
    Err("--keys-db needs the `sqlite` feature: cargo run --example mock_providers --features sqlite -- --keys-db PATH".into())
}
