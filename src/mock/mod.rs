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

mod providers;
mod serve;
pub(crate) mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;

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
use crate::replay::{MokaReplayStore, ReplayStore};

/// The credentials and options the mock uses, as TOML (see `examples/mock_providers.toml`): each
/// provider reads its own keys (`[[humanos]]` entries, `humanos_replay`, `[[spike]]` entries,
/// `spike_token_key`, ...). A provider absent from the configuration has no credentials, so every
/// request to it is refused; a key no provider reads is an error.
#[derive(Clone)]
pub struct MockConfig {
    table: toml::Table,
}

impl Default for MockConfig {
    /// Every provider's documented example credentials.
    fn default() -> Self {
        let mut table = toml::Table::new();
        for provider in PROVIDERS {
            table.extend((provider.demo)());
        }
        Self { table }
    }
}

impl std::fmt::Debug for MockConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The keys only: the values hold secrets.
        f.debug_struct("MockConfig")
            .field("keys", &self.table.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl MockConfig {
    /// Reads a configuration from TOML text. A key that no provider reads is an error, and so is
    /// a provider's entry of the wrong form.
    pub fn from_toml(text: &str) -> Result<Self, BoxError> {
        let config = Self {
            table: toml::from_str(text)?,
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
            keys: None,
        };
        for provider in PROVIDERS {
            let _routes = (provider.router)(&self.section(), &shared)?;
        }
        Ok(())
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
/// Proficient projects require the HMAC.
pub fn router_with_key_stores(
    config: &MockConfig,
    replay: impl ReplayStore,
    keys: impl Fn(&str) -> Arc<dyn KeyStore> + Send + Sync + 'static,
) -> Result<Router, BoxError> {
    router_with(config, replay, Some(Arc::new(keys)))
}

fn router_with(
    config: &MockConfig,
    replay: impl ReplayStore,
    keys: Option<KeySource>,
) -> Result<Router, BoxError> {
    let shared = Shared {
        replay: Arc::new(replay),
        keys,
    };
    let mut router = Router::new();
    for provider in PROVIDERS {
        router = router.merge((provider.router)(&config.section(), &shared)?);
    }
    Ok(router)
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
    let sign = PROVIDERS
        .iter()
        .find(|p| p.name == sender)
        .and_then(|p| p.sign)
        .ok_or_else(|| {
            let known: Vec<_> = webhook_senders().collect();
            format!("no webhook sender {sender:?}; one of: {}", known.join(", "))
        })?;
    sign(secret, public_url, url, body)
}

/// [`example_commands`], with `sign` as the signing command instead of `cargo run`: the path of
/// the built `sign` example, say.
pub fn example_commands_with(
    addr: SocketAddr,
    config: &MockConfig,
    sign: &str,
) -> Result<String, BoxError> {
    let examples = Examples {
        base: format!("http://{addr}"),
        sign: sign.to_owned(),
    };
    let mut out = String::new();
    for provider in PROVIDERS {
        out += &(provider.examples)(&config.section(), &examples)?;
    }
    Ok(out)
}
