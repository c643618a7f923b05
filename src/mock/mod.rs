//! A mock of the four providers' APIs and a receiver for every webhook sender, built from this
//! crate's layers (feature `mock`).
//!
//! [`router`] returns one axum [`Router`] answering the vendors' published routes with the
//! credentials of a [`MockConfig`]; by default ([`MockConfig::default`]) those are the example
//! values of the vendors' own documentation, so their client snippets work against it unchanged
//! but for the host. [`serve`] serves it with timeouts (below); `examples/mock_providers.rs` runs
//! both, and tests can serve exactly the same.
//!
//! Each provider's routes, demo credentials and example commands are defined beside its scheme
//! (its module's `mock` part) and listed once in the mock's route table; its example commands
//! sign with the crate's signing CLI (`cargo run --example sign`), from the same message rule
//! as the layers.
//!
//! | provider | routes | verified by |
//! |---|---|---|
//! | Humanos | `GET /v0/processes`, `POST /v0/process/generate` | [`HumanosVerifyLayer`](crate::humanos::HumanosVerifyLayer) |
//! | Inqud | `GET /v1/user/wallet/balances`, `POST /v1/user/payments/payout` | [`InqudVerifyLayer`](crate::inqud::InqudVerifyLayer) |
//! | Spike | `POST /v3/auth/hmac` (exchange), `GET /v3/userinfo` (bearer) | [`SpikeExchange`](crate::spike::SpikeExchange), [`SpikeBearerLayer`](crate::spike::SpikeBearerLayer) |
//! | Proficient | `GET /interactions` | [`ProficientVerifyLayer`](crate::proficient::ProficientVerifyLayer) |
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
//! The configuration key `humanos_replay` turns the store on for Humanos too (sharing Inqud's): a
//! signature is then accepted once, and the second of such requests gets `401 replayed`.
//!
//! # Request log, inspector page, `--explain`
//!
//! Every request is logged as one `tracing` event (target `tower_hmac::mock`, level `INFO`,
//! message `request`) with the fields `method`, `path`, `status`, `provider` (the scheme of the
//! layer that decided, `-` for a route without one), `verdict` (`accepted`, `refused`,
//! `duplicate`, `-`), `kind` (the refusal's [`RejectionKind`](crate::RejectionKind)), `reason`
//! (the refusal's message) and `key_id` (the key the request named, once its credentials
//! parsed); no secret and no expected signature. `examples/mock_providers.rs` prints them with
//! `tracing-subscriber` (`--json` for JSON lines, `--quiet` for none).
//!
//! `GET /` is the inspector: the last 200 requests, newest first, with the same fields, the counts
//! per layer (see [`crate::Counters`]: under its provider's name, and Standard Webhooks' Ed25519
//! route and Spike's two layers under names of their own), and the example commands for every
//! route, in plain HTML that refreshes itself every 2 seconds. The page shows no secret but the
//! published demo ones: a provider configured with its own credentials gets a note instead of its
//! commands (the example's console prints them).
//!
//! [`MockConfig::set_explain`] (the example's `--explain`, **test use only**) adds to each refusal
//! answered by a layer, in its JSON answer (`"explain"`), its log line and its inspector entry,
//! what the server signed: each form of the signed message rebuilt from the request (`signed`:
//! `text` escaped with `\n`, `\r`, `\t`, `\\` and `\xNN`, `length`, `sha256`), the MAC
//! `algorithm`, the `server_time`, `hints` for the usual mistakes (a timestamp in seconds where
//! milliseconds are expected or the reverse, a trailing newline, a JSON body re-encoded between
//! signing and sending, a signature in the wrong encoding, the URL the server rebuilt for a
//! scheme that signs it), and, only for a provider whose credentials are exactly its demo ones,
//! the signature it `expected` (`hex` and `base64`). The layers compute none of it without the
//! option ([`VerifyLayer::explain`](crate::VerifyLayer::explain)).
//!
//! # Serving
//!
//! [`serve`] (and [`serve_with_shutdown`]) serve the router over HTTP/1.1 with two deadlines from
//! [`ServeOptions`], so that no client can hold a connection open without sending a request:
//!
//! - a header-read timeout (hyper's, 10 s by default): a connection that does not finish sending
//!   a request's headers in time, or stays idle between requests, is closed without an answer;
//! - a request timeout (tower-http's `TimeoutLayer`, 30 s by default): a request not answered in
//!   time, such as one whose body stalls below its `Content-Length` on a route that reads it, gets
//!   `408 Request Timeout`.
//!
//! A route that does not read the body (Proficient's, Spike's `userinfo`) answers without waiting
//! for it; the connection is then closed, unless the rest of the body had already arrived.

mod explain;
mod inspector;
mod providers;
mod serve;
pub(crate) mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;

use self::providers::KeySource;
use self::providers::PROVIDERS;
pub(crate) use self::providers::{
    Examples, NotJson, Provider, Section, Shared, debug_without_secret, demo_entry, echo, quote,
    table,
};
pub use self::serve::{ServeOptions, serve, serve_with_shutdown};
use crate::error::BoxError;
use crate::keys::KeyStore;
use crate::pipeline::{Counters, Explain};
use crate::replay::{MokaReplayStore, ReplayStore};

/// The credentials and options the mock uses, as TOML (see `examples/mock_providers.toml`): each
/// provider reads its own keys (`[[humanos]]` entries, `humanos_replay`, `[[spike]]` entries,
/// `spike_token_key`, ...). A provider absent from the configuration has no credentials, so every
/// request to it is refused; a key no provider reads is an error.
#[derive(Clone)]
pub struct MockConfig {
    table: toml::Table,
    /// `--explain`: refusals say what the server signed.
    explain: bool,
}

impl Default for MockConfig {
    /// Every provider's documented example credentials.
    fn default() -> Self {
        let mut table = toml::Table::new();
        for provider in PROVIDERS {
            table.extend((provider.demo)());
        }
        Self {
            table,
            explain: false,
        }
    }
}

impl std::fmt::Debug for MockConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The keys only: the values hold secrets.
        f.debug_struct("MockConfig")
            .field("keys", &self.table.keys().collect::<Vec<_>>())
            .field("explain", &self.explain)
            .finish()
    }
}

impl MockConfig {
    /// Reads a configuration from TOML text. A key that no provider reads is an error, and so is
    /// a provider's entry of the wrong form.
    pub fn from_toml(text: &str) -> Result<Self, BoxError> {
        let config = Self {
            table: toml::from_str(text)?,
            explain: false,
        };
        config.check()?;
        Ok(config)
    }

    /// Sets the top-level `key` (an option such as `humanos_replay` or `spike_token_key`, or a
    /// provider's entries), checked as [`from_toml`](Self::from_toml) checks it.
    pub fn set(&mut self, key: &str, value: impl Into<toml::Value>) -> Result<(), BoxError> {
        let before = self.table.insert(key.to_owned(), value.into());
        if let Err(error) = self.check() {
            match before {
                Some(value) => self.table.insert(key.to_owned(), value),
                None => self.table.remove(key),
            };
            return Err(error);
        }
        Ok(())
    }

    /// Whether the option `key` is set to `true`.
    pub fn flag(&self, key: &str) -> bool {
        self.table.get(key).and_then(toml::Value::as_bool) == Some(true)
    }

    /// **Test use only**: a refused request's answer, its log line and its entry on the
    /// inspector page also say what the server signed: the signed message rebuilt from the
    /// request (escaped, with its length and SHA-256), hints for the usual mistakes, and, for a
    /// provider configured with its demo credentials (exactly those of [`MockConfig::default`]),
    /// the signature the server expected. Off by default; the mock example's `--explain`. Never
    /// turn it on in front of credentials that protect anything.
    pub fn set_explain(&mut self, on: bool) {
        self.explain = on;
    }

    /// Whether [`set_explain`](Self::set_explain) is on.
    pub fn explains(&self) -> bool {
        self.explain
    }

    /// The field `field` of the first entry of `key` (`credential("humanos", "api_key")`, or for
    /// a webhook sender `credential("github", "secret")`), as text: what the signing CLI takes
    /// by default from [`MockConfig::default`].
    pub fn credential(&self, key: &str, field: &str) -> Option<String> {
        let entry = match self.table.get(key)? {
            toml::Value::Array(entries) => entries.first()?,
            entry => entry,
        };
        match entry.as_table()?.get(field)? {
            toml::Value::String(text) => Some(text.clone()),
            toml::Value::Integer(number) => Some(number.to_string()),
            _ => None,
        }
    }

    /// Every key claimed by a provider, and every provider able to build its routes from it.
    fn check(&self) -> Result<(), BoxError> {
        if let Some(key) = self.table.keys().find(|key| {
            !PROVIDERS
                .iter()
                .any(|p| p.config_keys.contains(&key.as_str()))
        }) {
            let providers: Vec<_> = PROVIDERS.iter().map(|p| p.name).collect();
            return Err(format!(
                "unknown configuration key `{key}` (the providers are {})",
                providers.join(", ")
            )
            .into());
        }
        let shared = Shared {
            replay: Arc::new(MokaReplayStore::with_capacity(1)),
            explain: Explain::verdicts(),
            counters: Counters::new(),
            keys: None,
        };
        for provider in PROVIDERS {
            let _routes = (provider.router)(&self.section(), &shared)?;
        }
        Ok(())
    }

    /// Whether `provider` runs with its published demo credentials, exactly.
    fn is_demo(&self, provider: &Provider) -> bool {
        (provider.demo)()
            .iter()
            .all(|(key, value)| self.table.get(key) == Some(value))
    }

    fn section(&self) -> Section<'_> {
        Section { table: &self.table }
    }
}

/// The mock's router, with an in-process replay store ([`MokaReplayStore`]) for Inqud (and for
/// Humanos with `humanos_replay`).
pub fn router(config: &MockConfig) -> Result<Router, BoxError> {
    router_with_store(config, MokaReplayStore::new())
}

/// The mock's router, its replay history in `replay` (a `replay::RedisReplayStore`, feature
/// `redis`, to share it between several servers).
pub fn router_with_store(
    config: &MockConfig,
    replay: impl ReplayStore,
) -> Result<Router, BoxError> {
    router_with(config, replay, None)
}

/// The mock's router, its replay history in `replay` and its API providers' keys from `keys`
/// instead of the configuration: `keys` is called once for each API scheme with its name
/// (`"humanos"`, `"inqud"`, `"proficient"`, `"spike"`: Spike's applications) and returns the
/// store of that scheme's keys (a [`SqliteKeyStore`](crate::SqliteKeyStore) behind a
/// [`CachedKeyStore`](crate::CachedKeyStore), say, as the mock example's `--keys-db` does). The
/// webhook senders' secrets, Spike's token key and the printed example commands still come from
/// the configuration. Keys read this way carry no policy: Inqud tokens may use both modes, and
/// Proficient projects require the HMAC. With explanations on, these schemes' refusals never
/// show expected signatures: their keys are not the configuration's demo ones.
pub fn router_with_key_stores(
    config: &MockConfig,
    replay: impl ReplayStore,
    keys: impl Fn(&str) -> Arc<dyn KeyStore> + Send + Sync + 'static,
) -> Result<Router, BoxError> {
    router_with(config, replay, Some(Arc::new(keys)))
}

/// The API providers, whose keys a key source gives (by these names) when there is one.
const API_SCHEMES: [&str; 4] = ["humanos", "inqud", "proficient", "spike"];

fn router_with(
    config: &MockConfig,
    replay: impl ReplayStore,
    keys: Option<KeySource>,
) -> Result<Router, BoxError> {
    let replay: Arc<dyn ReplayStore> = Arc::new(replay);
    let counters = Counters::new();
    let mut router = Router::new();
    for provider in PROVIDERS {
        // Expected signatures only for a provider whose credentials are its published demo ones
        // (not for the API providers whose keys come from a key source).
        let keyed_elsewhere = keys.is_some() && API_SCHEMES.contains(&provider.name);
        let demo = !keyed_elsewhere && config.is_demo(provider);
        let explain = match (config.explain, demo) {
            (false, _) => Explain::verdicts(),
            (true, false) => Explain::verdicts().with_messages(),
            (true, true) => Explain::verdicts().with_expected_signatures(),
        };
        let shared = Shared {
            replay: Arc::clone(&replay),
            explain,
            counters: counters.clone(),
            keys: keys.clone(),
        };
        router = router.merge((provider.router)(&config.section(), &shared)?);
    }
    Ok(inspector::mount(router, config, counters))
}

/// Ready-to-paste commands calling every route of a mock served at `addr`, with the first
/// credentials of each provider in `config` (secrets included: meant for demo credentials). Each
/// signs its request with the crate's signing CLI, `cargo run -q --example sign --`, which prints
/// a curl command run by `sh`; the mock example prints them on start.
pub fn example_commands(addr: SocketAddr, config: &MockConfig) -> Result<String, BoxError> {
    example_commands_with(addr, config, "cargo run -q --example sign --")
}

/// The webhook senders the mock receives, by name (`github`, `stripe`, ...).
pub fn webhook_senders() -> impl Iterator<Item = &'static str> {
    PROVIDERS
        .iter()
        .filter(|p| p.sign.is_some())
        .map(|p| p.name)
}

/// The credential the signing CLI signs `sender`'s deliveries with by default, as
/// [`sign_webhook`] takes it: the demo secret of a sender signing with a shared secret (as the
/// configuration writes it), or the demo private key of one signing with Ed25519, whose
/// configuration holds only the public key (`whsk_...` for `standard-ed25519`, 64 hex digits
/// for `discord`). `None` for a name that is not a webhook sender.
pub fn demo_sender_credential(sender: &str) -> Option<String> {
    let provider = PROVIDERS
        .iter()
        .find(|p| p.name == sender && p.sign.is_some())?;
    match provider.demo_private_key {
        Some(private) => Some(private.to_owned()),
        None => MockConfig::default().credential(sender, "secret"),
    }
}

/// Whether the webhook sender `sender` signs with an Ed25519 private key (its receiver holding
/// the public key) rather than a secret shared with the receiver.
pub fn signs_with_private_key(sender: &str) -> bool {
    PROVIDERS
        .iter()
        .any(|p| p.name == sender && p.demo_private_key.is_some())
}

/// A delivery signed by [`sign_webhook`]: its headers, its body, and the URL to send it to.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SignedDelivery {
    /// The headers to send (the signature, and what else the sender sets).
    pub headers: http::HeaderMap,
    /// Where to send it: the URL given, with what the sender adds to it (Twilio's
    /// `bodySHA256` for a body that is not a form).
    pub url: String,
    /// The body to send: the body given, or, from a sender that signs a time inside the body
    /// (Linear's `webhookTimestamp`), that body as the sender stamps it.
    pub body: Vec<u8>,
}

/// A delivery of `body` to `url` from the webhook sender `sender`, signed now with `secret` as
/// the mock's configuration writes it (Standard Webhooks' `whsec_...`, say; for a sender that
/// signs with Ed25519, whose receiver is configured with the public key, the private key:
/// `whsk_...` for `standard-ed25519`, hex for `discord`): what the signing CLI
/// (`cargo run --example sign -- SENDER ...`) prints.
pub fn sign_webhook(
    sender: &str,
    secret: &str,
    url: &str,
    body: &[u8],
) -> Result<SignedDelivery, BoxError> {
    sign_webhook_behind(sender, secret, url, url, body)
}

/// [`sign_webhook`] for a receiver behind a proxy or tunnel: the sender signs `public_url` (only
/// Twilio signs a URL), the delivery goes to `url`.
pub fn sign_webhook_behind(
    sender: &str,
    secret: &str,
    url: &str,
    public_url: &str,
    body: &[u8],
) -> Result<SignedDelivery, BoxError> {
    sign_webhook_at(sender, secret, url, public_url, body, SystemTime::now())
}

/// [`sign_webhook_behind`], signed as at `at` (a time in the past, to try a receiver's window):
/// the timestamp the sender signs, in its header or, for Linear, in the body.
pub fn sign_webhook_at(
    sender: &str,
    secret: &str,
    url: &str,
    public_url: &str,
    body: &[u8],
    at: SystemTime,
) -> Result<SignedDelivery, BoxError> {
    let sign = PROVIDERS
        .iter()
        .find(|p| p.name == sender)
        .and_then(|p| p.sign)
        .ok_or_else(|| {
            let known: Vec<_> = webhook_senders().collect();
            format!("no webhook sender {sender:?}; one of: {}", known.join(", "))
        })?;
    sign(secret, public_url, url, body, at)
}

/// [`example_commands`], with `sign` as the signing command instead of `cargo run`: the path of
/// the built `sign` example, say.
pub fn example_commands_with(
    addr: SocketAddr,
    config: &MockConfig,
    sign: &str,
) -> Result<String, BoxError> {
    examples_of(&format!("http://{addr}"), config, sign, false)
}

/// The example commands for the mock at `base` (`http://host:port`); with `demo_only` (the inspector page, which
/// anyone reaching the mock can read), a provider configured with its own credentials gets a
/// note instead of commands holding them.
fn examples_of(
    base: &str,
    config: &MockConfig,
    sign: &str,
    demo_only: bool,
) -> Result<String, BoxError> {
    let examples = Examples {
        base: base.to_owned(),
        sign: sign.to_owned(),
    };
    let mut out = String::new();
    for provider in PROVIDERS {
        let commands = (provider.examples)(&config.section(), &examples)?;
        if demo_only && !commands.is_empty() && !config.is_demo(provider) {
            out += &format!(
                "# {}: configured with its own credentials, not shown here (the mock's console \
                 prints its commands)\n\n",
                provider.name
            );
        } else {
            out += &commands;
        }
    }
    Ok(out)
}
