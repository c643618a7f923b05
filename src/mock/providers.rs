//! The mock's route table: one entry per provider, each defined in its scheme's own file.
//!
//! A provider entry says which keys of the configuration it reads, what its demo credentials
//! are, how its routes are built from its keys, and which example commands it prints. Adding a
//! provider is one line here and its `mock` module beside its scheme.

use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::http::StatusCode;
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::error::BoxError;
use crate::keys::KeyStore;
use crate::pipeline::{Counters, Explain, Scheme, VerifyLayer};
use crate::replay::ReplayStore;

/// Every provider the mock serves, in the order it prints them.
pub(crate) const PROVIDERS: &[&Provider] = &[
    &crate::humanos::mock::PROVIDER,
    &crate::inqud::mock::PROVIDER,
    &crate::spike::mock::PROVIDER,
    &crate::proficient::mock::PROVIDER,
    &crate::github::mock::PROVIDER,
    &crate::stripe::mock::PROVIDER,
    &crate::standard::mock::PROVIDER,
    &crate::twilio::mock::PROVIDER,
    &crate::zoom::mock::PROVIDER,
    &crate::linear::mock::PROVIDER,
    &crate::slack::mock::PROVIDER,
    &crate::shopify::mock::PROVIDER,
    &crate::paddle::mock::PROVIDER,
    &crate::standard::mock::PROVIDER_ED25519,
    &crate::discord::mock::PROVIDER,
];

/// One provider of the mock.
pub(crate) struct Provider {
    /// The provider's name, as in its JSON answers.
    pub(crate) name: &'static str,
    /// The top-level configuration keys it reads (a provider's entries and its options).
    pub(crate) config_keys: &'static [&'static str],
    /// For a sender signing with an Ed25519 private key (its configuration holds the public
    /// key): the private key of its demo key pair, what the signing CLI signs with by default.
    pub(crate) demo_private_key: Option<&'static str>,
    /// Its demo configuration: the vendor's documented example credentials.
    pub(crate) demo: fn() -> toml::Table,
    /// Its routes, built from the configuration.
    pub(crate) router: fn(&Section<'_>, &Shared) -> Result<Router, BoxError>,
    /// Its example commands (shell), for the mock served at `examples.base`.
    pub(crate) examples: fn(&Section<'_>, &Examples) -> Result<String, BoxError>,
    /// For a webhook sender: a delivery of a body signed now with a secret as the configuration
    /// writes it (what the signing CLI runs).
    pub(crate) sign: Option<SignDelivery>,
}

/// See [`Provider::sign`]: `(secret, URL signed, URL called, body, time of signing)` to the
/// delivery.
pub(crate) type SignDelivery =
    fn(&str, &str, &str, &[u8], SystemTime) -> Result<super::SignedDelivery, BoxError>;

/// The configuration, as a provider reads it.
pub(crate) struct Section<'a> {
    pub(crate) table: &'a toml::Table,
}

impl Section<'_> {
    /// The value of `key`, or its default when the configuration does not have it.
    pub(crate) fn get<T: DeserializeOwned + Default>(&self, key: &str) -> Result<T, BoxError> {
        match self.table.get(key) {
            None => Ok(T::default()),
            Some(value) => value
                .clone()
                .try_into()
                .map_err(|error| format!("`{key}`: {error}").into()),
        }
    }
}

impl Section<'_> {
    /// The first of the entries under `key` (the credentials the example commands use).
    pub(crate) fn first<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, BoxError> {
        Ok(self.get::<Vec<T>>(key)?.into_iter().next())
    }
}

/// What the providers share: one replay history, the mock's options for every layer, and where
/// the API providers' keys come from when not from the configuration.
pub(crate) struct Shared {
    pub(crate) replay: Arc<dyn ReplayStore>,
    /// What each layer tells the request log and the inspector (and, with `--explain`, what it
    /// signed; expected signatures only for a provider configured with its demo credentials).
    pub(crate) explain: Explain,
    pub(crate) counters: Counters,
    pub(crate) keys: Option<KeySource>,
}

/// A key store for each API scheme, by the scheme's name.
pub(crate) type KeySource = Arc<dyn Fn(&str) -> Arc<dyn KeyStore> + Send + Sync>;

impl Shared {
    /// The mock's options on a provider's layer: its verdicts (and explanations) for the log and
    /// the inspector, and the counters the inspector shows, under `name` (the provider's name; a
    /// name of its own for a layer that shares its scheme with another: Standard Webhooks'
    /// Ed25519 route, Spike's bearer and exchange layers). Every provider's layer goes through
    /// here.
    pub(crate) fn layer<S: Scheme + Clone>(
        &self,
        name: &'static str,
        layer: VerifyLayer<S>,
    ) -> VerifyLayer<S> {
        layer
            .explain(self.explain)
            .counters_as(self.counters.clone(), name)
    }

    /// The keys of the API scheme `scheme`: the key source's when there is one, else
    /// `configured` (those of the configuration).
    pub(crate) fn keys(&self, scheme: &str, configured: impl KeyStore) -> Arc<dyn KeyStore> {
        match &self.keys {
            Some(source) => source(scheme),
            None => Arc::new(configured),
        }
    }
}

/// Where the example commands send their requests, and how they sign them.
pub(crate) struct Examples {
    /// `http://host:port` of the mock.
    pub(crate) base: String,
    /// The signing command line, up to its subcommand: the crate's signing CLI.
    pub(crate) sign: String,
}

/// Single-quotes `text` for a POSIX shell.
pub(crate) fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// A handler's refusal of a body that is not JSON.
pub(crate) type NotJson = (StatusCode, axum::Json<Value>);

/// The JSON body a `POST` route echoes as `received`.
pub(crate) fn echo(body: &Bytes) -> Result<Value, NotJson> {
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

/// A provider's demo configuration: its one `[[key]]` entry.
pub(crate) fn demo_entry<const N: usize>(
    key: &str,
    entry: [(&str, toml::Value); N],
) -> toml::Table {
    table([(key, toml::Value::Array(vec![table(entry).into()]))])
}

/// One table of a configuration, from `(key, value)` pairs.
pub(crate) fn table<const N: usize>(entries: [(&str, toml::Value); N]) -> toml::Table {
    entries
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect()
}

/// `Debug` for a configuration entry that shows only its non-secret fields.
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

pub(crate) use debug_without_secret;
