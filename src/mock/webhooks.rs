//! The mock's webhook routes: one receiver per sender, with the deliveries it handled.
//!
//! `POST /webhooks/{provider}` is verified by the provider's layer (with the mock's replay
//! store, so copies of a delivery are handled once); a verified delivery reaches a handler that
//! records it and answers `200` with JSON naming the provider, or the status of the request's
//! `X-Mock-Status` header, so a sender's retries can be tried. `GET /webhooks/{provider}/deliveries`
//! lists, oldest first, every delivery that reached the handler; `DELETE` on it empties the list.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{MethodRouter, get};
use bytes::Bytes;
use serde_json::{Value, json};
use sha2::Digest as _;

use super::Shared;
use super::providers::{Provider, Section};
use crate::pipeline::{BodySigned, Scheme, Verified, VerifyLayer};
use crate::webhooks::Delivery;

/// A webhook sender the mock receives on `POST /webhooks/{NAME}`, with one secret from its
/// `[NAME]` table of the configuration. A sender with nothing of its own to add is this and one
/// line in the providers' table ([`provider`] builds its entry); one that adds something (Twilio's
/// `GET`, Linear's stamped body) writes its entry by hand from the same parts.
pub(crate) trait MockSender:
    crate::sign::Sender + Scheme<Identity = Delivery, Body = BodySigned> + Clone + Default
{
    /// Its route, configuration table and the `provider` of its answers.
    const NAME: &'static str;
    /// Its demo secret, written as the sender shows it.
    const SECRET: &'static str;
    /// The configuration keys it reads: its table.
    const CONFIG_KEYS: &'static [&'static str] = &[Self::NAME];

    /// Its layer over the configured key.
    fn receiver(keys: crate::MemoryKeyStore) -> VerifyLayer<Self>;

    /// The key bytes of a secret written as the sender shows it (by default, its bytes).
    fn key(text: &str) -> Result<crate::Secret, crate::BoxError> {
        Ok(crate::Secret::new(text)?)
    }
}

/// The mock's entry for the webhook sender `S`.
pub(crate) const fn provider<S: MockSender>() -> Provider {
    Provider {
        name: S::NAME,
        config_keys: S::CONFIG_KEYS,
        demo_private_key: None,
        demo: demo_of::<S>,
        router: router_of::<S>,
        examples: examples_of::<S>,
        sign: Some(sign_of::<S>),
    }
}

fn demo_of<S: MockSender>() -> toml::Table {
    demo(S::NAME, S::SECRET)
}

fn router_of<S: MockSender>(
    config: &Section<'_>,
    shared: &Shared,
) -> Result<Router, crate::BoxError> {
    let keys = key_with(config, S::NAME, S::key)?;
    let layer = S::receiver(keys).replay_store(Arc::clone(&shared.replay));
    Ok(routes(shared, S::NAME, layer, post))
}

fn examples_of<S: MockSender>(
    config: &Section<'_>,
    at: &super::Examples,
) -> Result<String, crate::BoxError> {
    example(config, at, S::NAME, "")
}

fn sign_of<S: MockSender>(
    secret: &str,
    signed: &str,
    url: &str,
    body: &[u8],
    now: std::time::SystemTime,
) -> Result<super::SignedDelivery, crate::BoxError> {
    sign(S::default(), S::key(secret)?, signed, url, body, now)
}

/// The most deliveries a provider's list keeps (the oldest are dropped first).
const KEPT: usize = 1_000;

/// A delivery that reached the mock's handler.
#[derive(Clone)]
struct Handled {
    id: Option<Arc<str>>,
    status: u16,
    body_sha256: String,
}

#[derive(Clone)]
pub(crate) struct Receiver {
    provider: &'static str,
    handled: Arc<Mutex<VecDeque<Handled>>>,
}

/// The routes of `provider`'s receiver, verified by `layer` with the mock's options on it
/// ([`Shared::layer`], counted under `provider`); `methods` are the methods its deliveries come
/// with (`POST`, and `GET` for Twilio).
pub(crate) fn routes<S>(
    shared: &Shared,
    provider: &'static str,
    layer: VerifyLayer<S>,
    methods: fn(MethodRouter<Receiver>) -> MethodRouter<Receiver>,
) -> Router
where
    S: Scheme<Identity = Delivery, Body = BodySigned> + Clone,
{
    let layer = shared.layer(provider, layer);
    let receiver = Receiver {
        provider,
        handled: Arc::default(),
    };
    let path = format!("/webhooks/{provider}");
    let deliveries = get(list).delete(clear);
    Router::new()
        .route(&path, methods(MethodRouter::new()).layer(layer))
        .route(&format!("{path}/deliveries"), deliveries)
        .with_state(receiver)
}

/// `POST` (the usual method of deliveries).
pub(crate) fn post(router: MethodRouter<Receiver>) -> MethodRouter<Receiver> {
    router.post(handle)
}

/// `GET` and `POST` (Twilio signs both).
pub(crate) fn get_and_post(router: MethodRouter<Receiver>) -> MethodRouter<Receiver> {
    router.get(handle).post(handle)
}

async fn handle(
    State(receiver): State<Receiver>,
    delivery: Verified<Delivery>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, axum::Json<Value>) {
    // The status to answer, for trying a sender's retries: X-Mock-Status, 200 without it.
    let status = headers
        .get("x-mock-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u16>().ok())
        .and_then(|code| StatusCode::from_u16(code).ok())
        .unwrap_or(StatusCode::OK);
    let delivery = delivery.into_identity();
    let body_sha256 = const_hex::encode(sha2::Sha256::digest(&body));
    let record = Handled {
        id: delivery.id().map(Into::into),
        status: status.as_u16(),
        body_sha256: body_sha256.clone(),
    };
    {
        let mut handled = receiver.handled.lock().unwrap_or_else(|e| e.into_inner());
        if handled.len() == KEPT {
            handled.pop_front();
        }
        handled.push_back(record);
    }
    let answer = json!({
        "provider": receiver.provider,
        "delivery_id": delivery.id(),
        "delivery_id_signed": delivery.id_is_signed(),
        "body_sha256": body_sha256,
    });
    (status, axum::Json(answer))
}

async fn list(State(receiver): State<Receiver>) -> axum::Json<Value> {
    let handled = receiver.handled.lock().unwrap_or_else(|e| e.into_inner());
    let list: Vec<Value> = handled
        .iter()
        .map(|h| json!({"id": h.id.as_deref(), "status": h.status, "body_sha256": h.body_sha256}))
        .collect();
    axum::Json(Value::Array(list))
}

async fn clear(State(receiver): State<Receiver>) -> StatusCode {
    receiver
        .handled
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clear();
    StatusCode::NO_CONTENT
}

/// `[provider] secret = "..."`: a webhook provider's one endpoint secret in the configuration.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Endpoint {
    secret: String,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Endpoint(..)")
    }
}

/// A webhook provider's demo configuration: its endpoint secret.
pub(crate) fn demo(provider: &str, secret: &str) -> toml::Table {
    super::table([(provider, super::table([("secret", secret.into())]).into())])
}

/// The key of `provider`'s endpoint: its configured secret, or no key at all (every delivery is
/// then refused) when the configuration has none.
pub(crate) fn key(
    config: &super::Section<'_>,
    provider: &str,
) -> Result<crate::MemoryKeyStore, crate::BoxError> {
    key_with(config, provider, |text| Ok(crate::Secret::new(text)?))
}

/// [`key`], the configured secret turned into key bytes by `decode` (Standard Webhooks'
/// `whsec_` base64, say).
pub(crate) fn key_with(
    config: &super::Section<'_>,
    provider: &str,
    decode: impl FnOnce(&str) -> Result<crate::Secret, crate::BoxError>,
) -> Result<crate::MemoryKeyStore, crate::BoxError> {
    let store = crate::MemoryKeyStore::new();
    if let Some(endpoint) = config.get::<Option<Endpoint>>(provider)? {
        store.try_insert(crate::Key::new(provider, decode(&endpoint.secret)?))?;
    }
    Ok(store)
}

/// A delivery of `body` to `url`, signed at `now` by `scheme` with `key` (a secret, or an Ed25519
/// private key) as if sent to `signed`: a webhook provider's
/// [`sign`](super::providers::Provider::sign).
pub(crate) fn sign<S: crate::sign::Sender>(
    scheme: S,
    key: impl Into<crate::sign::SigningKey>,
    signed: &str,
    url: &str,
    body: &[u8],
    now: std::time::SystemTime,
) -> Result<super::SignedDelivery, crate::BoxError> {
    let signer = crate::sign::SchemeSigner::new(scheme, key).clock(crate::ManualClock::new(now));
    Ok(super::SignedDelivery {
        headers: signer.headers(signed, body)?,
        url: url.to_owned(),
        body: body.to_vec(),
    })
}

/// `[provider] public_key = "..."`: the public key of a sender that signs with Ed25519 (Discord,
/// Standard Webhooks' `v1a`), which is all its receiver holds.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PublicEndpoint {
    public_key: String,
}

/// An Ed25519 sender's demo configuration: its public key.
pub(crate) fn demo_public_key(provider: &str, public_key: &str) -> toml::Table {
    super::table([(
        provider,
        super::table([("public_key", public_key.into())]).into(),
    )])
}

/// The key store of an Ed25519 sender's endpoint: its configured public key (`decode`d), as
/// a [`Key`](crate::Key) named after the provider (so that its deliveries are told apart from
/// another receiver's of the same scheme in the shared replay store), or no key at all (every
/// delivery refused) when the configuration has none.
pub(crate) fn public_key_store(
    config: &super::Section<'_>,
    provider: &str,
    decode: impl FnOnce(&str) -> Result<crate::crypto::Ed25519PublicKey, crate::BoxError>,
) -> Result<Arc<dyn crate::KeyStore>, crate::BoxError> {
    Ok(match config.get::<Option<PublicEndpoint>>(provider)? {
        Some(endpoint) => Arc::new(crate::Key::new(provider, decode(&endpoint.public_key)?)),
        None => Arc::new(crate::MemoryKeyStore::new()),
    })
}

/// The example command of an Ed25519 sender: signed with `demo_private` when the configured
/// public key is `demo_public` (the demo's); for another public key the mock cannot know the
/// private key, so the command is printed commented out, for the sender's own key.
pub(crate) fn example_signed_with(
    config: &super::Section<'_>,
    at: &super::Examples,
    provider: &str,
    demo_public: &str,
    demo_private: &str,
) -> Result<String, crate::BoxError> {
    let Some(endpoint) = config.get::<Option<PublicEndpoint>>(provider)? else {
        return Ok(String::new());
    };
    let command = |private: &str| {
        format!(
            "{sign} {provider} --secret {private} --body {body} --curl {base}/webhooks/{provider} | sh; echo\n",
            sign = at.sign,
            body = super::quote(r#"{"event":"ping"}"#),
            base = at.base,
        )
    };
    Ok(if endpoint.public_key == demo_public {
        format!(
            "# {provider} webhook (the demo key pair)\n{}\n",
            command(&super::quote(demo_private))
        )
    } else {
        format!(
            "# {provider} webhook: sign with the private key of the configured public key\n# {}\n",
            command("PRIVATE_KEY")
        )
    })
}

/// The example command of `provider`: a delivery of a small JSON body, signed with the signing
/// CLI (`extra` adds that provider's own flags).
pub(crate) fn example(
    config: &super::Section<'_>,
    at: &super::Examples,
    provider: &str,
    extra: &str,
) -> Result<String, crate::BoxError> {
    let Some(endpoint) = config.get::<Option<Endpoint>>(provider)? else {
        return Ok(String::new());
    };
    Ok(format!(
        "# {provider} webhook\n\
         {sign} {provider} --secret {secret}{extra} --body {body} --curl {base}/webhooks/{provider} | sh; echo\n\n",
        sign = at.sign,
        secret = super::quote(&endpoint.secret),
        body = super::quote(r#"{"event":"ping"}"#),
        base = at.base,
    ))
}
