//! A mock of the four providers' APIs, built from this crate's layers (feature `mock`).
//!
//! [`router`] returns one axum [`Router`] answering the vendors' published routes with the
//! credentials of a [`MockConfig`]; by default ([`MockConfig::default`]) those are the example
//! values of the vendors' own documentation, so their client snippets work against it unchanged
//! but for the host. [`serve`] serves it with timeouts (below); `examples/mock_providers.rs` runs
//! both, and tests can serve exactly the same.
//!
//! | provider | routes | verified by |
//! |---|---|---|
//! | Humanos | `GET /v0/processes`, `POST /v0/process/generate` | [`HumanosVerifyLayer`] |
//! | Inqud | `GET /v1/user/wallet/balances`, `POST /v1/user/payments/payout` | [`InqudVerifyLayer`] |
//! | Spike | `POST /v3/auth/hmac` (exchange), `GET /v3/userinfo` (bearer) | [`SpikeExchange`], [`SpikeBearerLayer`] |
//! | Proficient | `GET /interactions` | [`ProficientVerifyLayer`] |
//!
//! Each route answers `200` with a JSON object naming the provider and who was verified
//! (`api_key`, `token_id` and `mode`, `application_id` and `application_user_id`, `api_key` and
//! `external_id`); a `POST` echoes its JSON body as `received` (a body that is not JSON is
//! `400 invalid_request`). Refusals are the layers' own: 401 for every authentication failure,
//! 400 for a malformed exchange body, 413 for a body over the limit.
//!
//! The Inqud layer records every salt in a replay store (see [`router`]), so a salt is accepted
//! once. The Humanos layer has no replay store, as the layer has none by default: Humanos's
//! protocol has no nonce, and honest requests can carry the same signature. Every bodiless request
//! signs its timestamp alone, whatever its method, path and query string, so two GETs
//! (`?page=1` and `?page=2`, say) signed with the same key in the same millisecond carry the same
//! signature; so do two identical bodies signed in the same millisecond.
//! [`MockConfig::humanos_replay`] turns the store on for Humanos too (sharing Inqud's): a signature
//! is then accepted once, and the second of such requests gets `401 replayed`.
//!
//! # Serving
//!
//! [`serve`] (and [`serve_with_shutdown`]) serve the router over HTTP/1.1 with two deadlines from
//! [`ServeOptions`], so that no client can hold a connection open without sending a request:
//!
//! - a header-read timeout (hyper's, 10 s by default): a connection that does not finish sending
//!   a request's headers in time, or stays idle between requests, is closed without an answer;
//! - a request timeout (tower-http's [`TimeoutLayer`], 30 s by default): a request not answered in
//!   time, such as one whose body stalls below its `Content-Length` on a route that reads it, gets
//!   `408 Request Timeout`.
//!
//! A route that does not read the body (Proficient's, Spike's `userinfo`) answers without waiting
//! for it; the connection is then closed, unless the rest of the body had already arrived.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post, post_service};
use bytes::Bytes;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;
use tower_layer::Layer;

use crate::error::BoxError;
use crate::humanos::{HumanosCaller, HumanosVerifyLayer};
use crate::inqud::{InqudCaller, InqudMode, InqudModes, InqudVerifyLayer};
use crate::keys::{Key, MemoryKeyStore};
use crate::proficient::{self, ProficientHmac, ProficientUser, ProficientVerifyLayer};
use crate::replay::{MokaReplayStore, ReplayStore};
use crate::secret::Secret;
use crate::spike::{self, SpikeBearerLayer, SpikeExchange, SpikeTokenKeys, SpikeUser};
use crate::verify::Verified;

/// Humanos's documented example API key.
pub const HUMANOS_API_KEY: &str = "YOUR_API_KEY";
/// Humanos's documented example signature secret.
pub const HUMANOS_SECRET: &str = "YOUR_SIGNATURE_SECRET";
/// Inqud's documented example token id.
pub const INQUD_TOKEN_ID: &str = "TKN-6c1296b8-6929-443b-ac06-f732e0e27be1";
/// Inqud's documented example token secret.
pub const INQUD_SECRET: &str = "dBajIp3wHnw5euxohPiZvsCEorG3Fhl9gsHl1UIBlsImHjWRdSJdp4Gh6e3y2PNs";
/// Spike's documented example application id.
pub const SPIKE_APPLICATION_ID: &str = "9999";
/// Spike's documented example application HMAC key.
pub const SPIKE_KEY: &str = "HMAC_KEY_FROM_ADMIN_CONSOLE";
/// Proficient's documented example publishable key.
pub const PROFICIENT_API_KEY: &str =
    "pk_40NDqyJqjBe6DJyLn44HBEgi0loTunwLdjWHhcOUGONSkpomQx0qInkWLtu0ouwSr6qqE7HQ";
/// Proficient's documented example HMAC secret.
pub const PROFICIENT_SECRET: &str =
    "hsec_mFLSkjGK6XLK1TUxL8wgiXrjwZCqcfmgbXTC0JmZFooSl9rQlzIrpsQHNor4guw2YOUP7vWA";

/// The credentials the mock accepts, per provider. Read from TOML with [`MockConfig::from_toml`]
/// (see `examples/mock_providers.toml`); a provider absent from the file has no credentials, so
/// every request to it is refused.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MockConfig {
    /// Humanos API keys.
    #[serde(default)]
    pub humanos: Vec<HumanosConfig>,
    /// Inqud tokens.
    #[serde(default)]
    pub inqud: Vec<InqudConfig>,
    /// Spike applications.
    #[serde(default)]
    pub spike: Vec<SpikeConfig>,
    /// The key signing Spike access tokens (at least 32 bytes). Random at every start when absent,
    /// so tokens then stop working when the server restarts.
    #[serde(default)]
    pub spike_token_key: Option<String>,
    /// Proficient projects.
    #[serde(default)]
    pub proficient: Vec<ProficientConfig>,
    /// Whether the Humanos layer refuses a signature it has already accepted (TOML key
    /// `humanos_replay`, default `false`, the layer's own default). Every bodiless request signs
    /// its timestamp alone, so with this on, two honest GETs signed with the same key in the same
    /// millisecond collide and the second gets `401 replayed`.
    #[serde(default)]
    pub humanos_replay: bool,
}

/// One Humanos API key and its signature secret.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HumanosConfig {
    /// The API key (`Authorization: Bearer <api key>`).
    pub api_key: String,
    /// The signature secret.
    pub secret: String,
}

/// One Inqud token.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InqudConfig {
    /// The token id, `TKN-...`.
    pub token_id: String,
    /// The token secret.
    pub secret: String,
    /// `"both"` (default), `"hmac"` or `"simple"`.
    #[serde(default)]
    pub modes: InqudModesConfig,
}

/// Which Inqud modes a token may use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InqudModesConfig {
    /// Simple and HMAC mode.
    #[default]
    Both,
    /// HMAC mode only.
    Hmac,
    /// Simple mode only.
    Simple,
}

/// One Spike application.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpikeConfig {
    /// The application id (digits in the vendor's example).
    pub application_id: String,
    /// The application's HMAC key.
    pub key: String,
}

/// One Proficient project.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProficientConfig {
    /// The publishable key, `pk_...`.
    pub api_key: String,
    /// The HMAC secret, `hsec_...`.
    pub secret: String,
    /// Whether requests must carry `X-PROFICIENT-USER-HMAC` (default `true`).
    #[serde(default = "default_true")]
    pub hmac_required: bool,
}

fn default_true() -> bool {
    true
}

impl Default for MockConfig {
    /// The vendors' documented example credentials, HMAC required for Proficient.
    fn default() -> Self {
        Self {
            humanos: vec![HumanosConfig {
                api_key: HUMANOS_API_KEY.into(),
                secret: HUMANOS_SECRET.into(),
            }],
            inqud: vec![InqudConfig {
                token_id: INQUD_TOKEN_ID.into(),
                secret: INQUD_SECRET.into(),
                modes: InqudModesConfig::Both,
            }],
            spike: vec![SpikeConfig {
                application_id: SPIKE_APPLICATION_ID.into(),
                key: SPIKE_KEY.into(),
            }],
            spike_token_key: None,
            proficient: vec![ProficientConfig {
                api_key: PROFICIENT_API_KEY.into(),
                secret: PROFICIENT_SECRET.into(),
                hmac_required: true,
            }],
            humanos_replay: false,
        }
    }
}

impl std::fmt::Debug for MockConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockConfig")
            .field("humanos", &self.humanos.len())
            .field("inqud", &self.inqud.len())
            .field("spike", &self.spike.len())
            .field("proficient", &self.proficient.len())
            .field("humanos_replay", &self.humanos_replay)
            .finish_non_exhaustive()
    }
}

impl MockConfig {
    /// Reads a configuration from TOML text.
    pub fn from_toml(text: &str) -> Result<Self, BoxError> {
        Ok(toml::from_str(text)?)
    }
}

/// The mock's router, with an in-process replay store ([`MokaReplayStore`]) for Inqud (and for
/// Humanos when [`MockConfig::humanos_replay`] is on).
pub fn router(config: &MockConfig) -> Result<Router, BoxError> {
    router_with_store(config, MokaReplayStore::new())
}

/// The mock's router, its Inqud layer (and its Humanos layer when [`MockConfig::humanos_replay`]
/// is on) recording into `replay` (a `replay::RedisReplayStore`, feature `redis`, to share it
/// between several servers).
pub fn router_with_store(
    config: &MockConfig,
    replay: impl ReplayStore,
) -> Result<Router, BoxError> {
    let replay: Arc<dyn ReplayStore> = Arc::new(replay);

    let humanos_keys = MemoryKeyStore::new();
    for c in &config.humanos {
        humanos_keys.insert(Key::new(
            c.api_key.as_str(),
            Secret::new(c.secret.as_str())?,
        ));
    }
    let inqud_keys = MemoryKeyStore::new();
    for c in &config.inqud {
        let modes = match c.modes {
            InqudModesConfig::Both => InqudModes::BOTH,
            InqudModesConfig::Hmac => InqudModes::HMAC_ONLY,
            InqudModesConfig::Simple => InqudModes::SIMPLE_ONLY,
        };
        inqud_keys.insert(
            Key::new(c.token_id.as_str(), Secret::new(c.secret.as_str())?).with_policy(modes),
        );
    }
    let spike_apps = MemoryKeyStore::new();
    for c in &config.spike {
        spike_apps.insert(Key::new(
            c.application_id.as_str(),
            Secret::new(c.key.as_str())?,
        ));
    }
    let proficient_keys = MemoryKeyStore::new();
    for c in &config.proficient {
        let policy = if c.hmac_required {
            ProficientHmac::Required
        } else {
            ProficientHmac::Optional
        };
        proficient_keys.insert(
            Key::new(c.api_key.as_str(), Secret::new(c.secret.as_str())?).with_policy(policy),
        );
    }
    let token_key = match &config.spike_token_key {
        Some(key) => Secret::new(key.as_str())?,
        None => {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).map_err(|e| format!("random token key: {e}"))?;
            Secret::new(bytes)?
        }
    };
    // An application holding the token key could sign tokens for every application's users.
    if let Some(app) = config
        .spike
        .iter()
        .find(|app| crate::mac::ct_eq_secret(app.key.as_bytes(), token_key.expose()))
    {
        return Err(format!(
            "spike_token_key is the key of Spike application {}: give the token key a secret of its own",
            app.application_id
        )
        .into());
    }
    let tokens = SpikeTokenKeys::new(token_key)?;

    let mut humanos_layer = HumanosVerifyLayer::new(humanos_keys);
    if config.humanos_replay {
        humanos_layer = humanos_layer.replay_store(Arc::clone(&replay));
    }
    let humanos = Router::new()
        .route("/v0/processes", get(humanos_processes))
        .route("/v0/process/generate", post(humanos_generate))
        .layer(humanos_layer);
    let inqud = Router::new()
        .route("/v1/user/wallet/balances", get(inqud_balances))
        .route("/v1/user/payments/payout", post(inqud_payout))
        .layer(InqudVerifyLayer::new(inqud_keys).replay_store(replay));
    let spike = Router::new()
        .route("/v3/userinfo", get(spike_userinfo))
        .layer(SpikeBearerLayer::new(tokens.clone()).applications(spike_apps.clone())?)
        .route(
            "/v3/auth/hmac",
            post_service(SpikeExchange::new(spike_apps, tokens)?),
        );
    let proficient = Router::new()
        .route("/interactions", get(proficient_interactions))
        .layer(ProficientVerifyLayer::new(proficient_keys));

    Ok(Router::new()
        .merge(humanos)
        .merge(inqud)
        .merge(spike)
        .merge(proficient))
}

/// Ready-to-paste curl commands for every route of a mock served at `addr`, made with the first
/// credentials of each provider in `config` (secrets included: meant for demo credentials). They
/// are bash, with `openssl` for the signatures that depend on the time or a fresh salt; the mock
/// example prints them on start.
pub fn curl_examples(addr: SocketAddr, config: &MockConfig) -> Result<String, BoxError> {
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

/// How long [`serve`] waits for a client; see [`ServeOptions::default`].
#[derive(Clone, Copy, Debug)]
pub struct ServeOptions {
    header_read_timeout: Duration,
    request_timeout: Duration,
}

impl Default for ServeOptions {
    /// Headers within 10 s, an answer within 30 s.
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
        }
    }
}

impl ServeOptions {
    /// How long a client may take to send a request's headers (hyper's HTTP/1
    /// `header_read_timeout`), counted from when the server starts waiting for them: the
    /// connection's opening, or the end of the previous answer on a kept-alive connection, so an
    /// idle connection is closed after it too. The connection is closed without an answer.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// How long a request may take from its headers to its answer, body included (tower-http's
    /// [`TimeoutLayer`]). Past it the answer is `408 Request Timeout` with an empty body, and the
    /// connection is closed if the body was not read to its end.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }
}

/// Serves `router` (the mock's [`router`], or any axum router) on `listener` until the process
/// ends: HTTP/1.1, with `options`' header-read and request timeouts. This is what
/// `examples/mock_providers.rs` runs; see [`serve_with_shutdown`] to stop it.
pub async fn serve(listener: TcpListener, router: Router, options: ServeOptions) {
    serve_with_shutdown(listener, router, options, std::future::pending()).await;
}

/// [`serve`], until `signal` completes: then no connection is accepted any more, idle ones are
/// closed, requests in flight are answered, and it returns once every connection has ended,
/// which the two timeouts bound.
///
/// HTTP/1.1 only, as the vendors' clients speak it: hyper has no header-read timeout for HTTP/2.
/// An error accepting a connection (too many open files, say) is logged and the accept loop
/// retries after a second; it never stops the server.
pub async fn serve_with_shutdown<F>(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    signal: F,
) where
    F: Future<Output = ()> + Send,
{
    let timeout =
        TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, options.request_timeout);
    let service = TowerToHyperService::new(timeout.layer(router));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout);
    let graceful = GracefulShutdown::new();
    let mut signal = std::pin::pin!(signal);
    loop {
        let accepted = std::future::poll_fn(|cx| {
            if signal.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            listener.poll_accept(cx).map(Some)
        })
        .await;
        let stream = match accepted {
            None => break,
            Some(Ok((stream, _))) => stream,
            Some(Err(error)) => {
                if !matches!(
                    error.kind(),
                    io::ErrorKind::ConnectionRefused
                        | io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::ConnectionReset
                ) {
                    tracing::warn!(%error, "mock server: accepting a connection failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                continue;
            }
        };
        let connection = http.serve_connection(TokioIo::new(stream), service.clone());
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A connection's error (the client went away, a header timeout) ends that
            // connection only.
            let _ = connection.await;
        });
    }
    graceful.shutdown().await;
}

/// A handler's refusal of a body that is not JSON.
type NotJson = (StatusCode, axum::Json<Value>);

fn echo(body: &Bytes) -> Result<Value, NotJson> {
    serde_json::from_slice(body).map_err(|_| {
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({
                "error": "invalid_request",
                "message": "the body is not JSON",
            })),
        )
    })
}

async fn humanos_processes(caller: Verified<HumanosCaller>) -> axum::Json<Value> {
    axum::Json(json!({
        "provider": "humanos",
        "api_key": caller.key_id(),
        "timestamp": caller.identity().timestamp_ms(),
        "processes": [],
    }))
}

async fn humanos_generate(
    caller: Verified<HumanosCaller>,
    body: Bytes,
) -> Result<axum::Json<Value>, NotJson> {
    Ok(axum::Json(json!({
        "provider": "humanos",
        "api_key": caller.key_id(),
        "timestamp": caller.identity().timestamp_ms(),
        "received": echo(&body)?,
    })))
}

fn inqud_mode(caller: &Verified<InqudCaller>) -> &'static str {
    match caller.identity().mode() {
        InqudMode::Hmac => "hmac",
        InqudMode::Simple => "simple",
    }
}

async fn inqud_balances(caller: Verified<InqudCaller>) -> axum::Json<Value> {
    axum::Json(json!({
        "provider": "inqud",
        "token_id": caller.key_id(),
        "mode": inqud_mode(&caller),
        "balances": [],
    }))
}

async fn inqud_payout(
    caller: Verified<InqudCaller>,
    body: Bytes,
) -> Result<axum::Json<Value>, NotJson> {
    Ok(axum::Json(json!({
        "provider": "inqud",
        "token_id": caller.key_id(),
        "mode": inqud_mode(&caller),
        "received": echo(&body)?,
    })))
}

async fn spike_userinfo(user: Verified<SpikeUser>) -> axum::Json<Value> {
    axum::Json(json!({
        "provider": "spike",
        "application_id": user.identity().application_id(),
        "application_user_id": user.identity().user_id(),
    }))
}

async fn proficient_interactions(user: Verified<ProficientUser>) -> axum::Json<Value> {
    axum::Json(json!({
        "provider": "proficient",
        "api_key": user.key_id(),
        "external_id": user.identity().external_id(),
        "hmac_verified": user.identity().hmac_verified(),
        "interactions": [],
    }))
}

macro_rules! debug_without_secret {
    ($ty:ident, $($field:ident),+) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($field), &self.$field))+
                    .finish_non_exhaustive()
            }
        }
    };
}

debug_without_secret!(HumanosConfig, api_key);
debug_without_secret!(InqudConfig, token_id, modes);
debug_without_secret!(SpikeConfig, application_id);
debug_without_secret!(ProficientConfig, api_key, hmac_required);
