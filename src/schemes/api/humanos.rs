//! Humanos: API key plus HMAC-SHA256 of the timestamp and body.
//!
//! The client (see the vendor's `generateSignature`) sends
//!
//! ```text
//! Authorization: Bearer <api key>
//! X-Timestamp:   <milliseconds since the Unix epoch>
//! X-Signature:   hex(HMAC-SHA256(signature secret, "{timestamp}.{body}"))
//! ```
//!
//! and signs the timestamp alone (`"{timestamp}"`, no dot) when the body is empty. The timestamp
//! in the message is the `X-Timestamp` header text exactly as sent; the body is the raw bytes
//! received. [`HumanosVerifyLayer`] rebuilds that message, checks it in constant time against every
//! live secret of the API key (the vendor rotates secrets while the key stays), and requires the
//! timestamp to lie inside a two-sided window.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::convert::Infallible;
//! use std::time::{SystemTime, UNIX_EPOCH};
//!
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//! use tower_hmac::humanos::{self, HumanosCaller, HumanosVerifyLayer};
//! use tower_hmac::{Key, MemoryKeyStore, Secret, Verified, VerifiedBody};
//!
//! let secret = Secret::new("YOUR_SIGNATURE_SECRET").unwrap();
//! let keys = MemoryKeyStore::new().with(Key::new("YOUR_API_KEY", secret.clone()));
//!
//! let service = ServiceBuilder::new()
//!     .layer(HumanosVerifyLayer::new(keys))
//!     .service(service_fn(|req: Request<VerifiedBody>| async move {
//!         let caller = req.extensions().get::<Verified<HumanosCaller>>().unwrap();
//!         Ok::<_, Infallible>(Response::new(format!("hello {}", caller.key_id())))
//!     }));
//!
//! let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
//! let body = r#"{"contacts":["+351912345678"]}"#;
//! let request = |signature: &str| {
//!     Request::post("/v0/process/generate")
//!         .header("authorization", "Bearer YOUR_API_KEY")
//!         .header("x-timestamp", now.to_string())
//!         .header("x-signature", signature)
//!         .body(http_body_util::Full::new(Bytes::from(body)))
//!         .unwrap()
//! };
//!
//! // Accepted: signed as the vendor's client does.
//! let good = humanos::signature(&secret, now, body.as_bytes());
//! let res = service.clone().oneshot(request(&good)).await.unwrap();
//! assert_eq!(res.status(), StatusCode::OK);
//!
//! // Rejected: a signature over another body.
//! let bad = humanos::signature(&secret, now, b"{}");
//! let res = service.oneshot(request(&bad)).await.unwrap();
//! assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
//! # }
//! ```
//!
//! # Security
//!
//! - **Clock skew.** Requests are accepted while `now - past <= X-Timestamp <= now + future`
//!   (300 s each by default, set separately with [`past_tolerance`](HumanosVerifyLayer::past_tolerance)
//!   and [`future_tolerance`](HumanosVerifyLayer::future_tolerance)). A timestamp in seconds
//!   instead of milliseconds lands in 1970 and is refused as stale, with a message saying so.
//! - **Replay.** The protocol has no nonce: inside the window the same request can be sent again,
//!   and a GET (empty body) is protected by its timestamp alone. Rejecting a signature already seen
//!   is available with [`replay_store`](HumanosVerifyLayer::replay_store) and is off by default,
//!   because the vendor does not document it: two identical requests signed in the same
//!   millisecond, or an HTTP client retrying a request it believes was lost, carry the same
//!   signature and the second would be refused. Turn it on when your clients never do either.
//!   A signature is remembered until its timestamp has left the window (`X-Timestamp + past`).
//! - **Held bodies.** The request is decided when its body is complete, not when its headers
//!   arrive: a client that sends the headers and holds the body back is refused once its
//!   timestamp has left the window, or its key was revoked or its secret retired meanwhile. The
//!   body must arrive within [`body_timeout`](HumanosVerifyLayer::body_timeout) (5 s per MiB of the
//!   limit by default), or the request is refused with 408 and nothing is recorded.
//! - **Body.** The body is read up to [`body_limit`](HumanosVerifyLayer::body_limit) (1 MiB by
//!   default) before the signature is checked; longer bodies get 413 and are not buffered.
//! - **Proxies.** Anything that rewrites the body (re-encoding JSON, changing the charset,
//!   decompressing) between the client and this layer breaks the signature.
//! - **Header forms.** The `Bearer` word is matched case-insensitively; hex signatures are
//!   accepted in either case. Repeated, empty or non-ASCII headers are refused with 401.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::AUTHORIZATION;
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::clock::{Clock, SystemClock};
use crate::crypto::{Message, Secret, Tag};
use crate::keys::KeyStore;
use crate::pipeline::headers::{HeaderText, bearer_kept, single, single_kept};
use crate::pipeline::{
    BodySigned, MatchedSecret, Presented, Scheme, Verify, VerifyLayer, Window, unix_millis,
};
use crate::rejection::{Rejection, RejectionKind};
use crate::sign::{SignError, Signer, sensitive, set_headers, sign_message};

/// The layer verifying Humanos requests.
pub type HumanosVerifyLayer = VerifyLayer<Humanos>;

/// The service built by [`HumanosVerifyLayer`].
pub type HumanosVerify<S> = Verify<S, Humanos>;

const X_TIMESTAMP: HeaderName = HeaderName::from_static("x-timestamp");
const X_SIGNATURE: HeaderName = HeaderName::from_static("x-signature");

/// Default past and future tolerance of the timestamp window.
pub const DEFAULT_TOLERANCE: Duration = crate::pipeline::DEFAULT_TOLERANCE;

/// Timestamps below this (3 March 1973 in milliseconds) are read as "sent in seconds".
const SECONDS_HINT_BELOW: u64 = 100_000_000_000;

/// The Humanos scheme: its timestamp window.
#[derive(Debug, Clone, Default)]
pub struct Humanos {
    window: Window,
}

/// What a Humanos request signs with: the API key and the `X-Timestamp` text.
#[derive(Debug)]
pub struct HumanosCredentials {
    api_key: HeaderText,
    timestamp: HeaderText,
    timestamp_ms: u64,
}

impl HumanosCredentials {
    /// The credentials of a request sent by `api_key` at `timestamp_ms`.
    pub fn new(api_key: &str, timestamp_ms: u64) -> Self {
        Self {
            api_key: api_key.into(),
            timestamp: timestamp_ms.to_string().into(),
            timestamp_ms,
        }
    }
}

/// What a handler learns about a verified Humanos request, besides the API key in
/// [`Verified::key_id`](crate::Verified::key_id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanosCaller {
    timestamp_ms: u64,
}

impl HumanosCaller {
    /// The request's `X-Timestamp`, in milliseconds since the Unix epoch.
    pub fn timestamp_ms(&self) -> u64 {
        self.timestamp_ms
    }

    /// The request's `X-Timestamp` as a time.
    pub fn timestamp(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.timestamp_ms)
    }
}

impl HumanosVerifyLayer {
    /// A layer checking requests against the API keys in `keys`, with a 300 s window each way.
    pub fn new(keys: impl KeyStore) -> Self {
        VerifyLayer::with_scheme(Humanos::default(), keys)
    }

    /// How far in the past `X-Timestamp` may lie (default 300 s).
    pub fn past_tolerance(self, tolerance: Duration) -> Self {
        self.map_scheme(|s| s.window.past = tolerance)
    }

    /// How far in the future `X-Timestamp` may lie (default 300 s).
    pub fn future_tolerance(self, tolerance: Duration) -> Self {
        self.map_scheme(|s| s.window.future = tolerance)
    }
}

impl Scheme for Humanos {
    type Credentials = HumanosCredentials;
    type Identity = HumanosCaller;
    type Body = BodySigned;

    fn name(&self) -> &'static str {
        "humanos"
    }

    fn challenge(&self) -> Option<HeaderValue> {
        Some(HeaderValue::from_static("Bearer realm=\"humanos\""))
    }

    fn credentials(&self, request: &Parts) -> Result<Presented<HumanosCredentials>, Rejection> {
        // Kept as the request holds them: only the check needs them.
        let api_key = bearer_kept(request, "api key")?;

        let timestamp = single_kept(request, &X_TIMESTAMP, "X-Timestamp")?;
        let timestamp_ms = unix_millis(&timestamp, "X-Timestamp")?;

        let signature = single(request, &X_SIGNATURE, "X-Signature")?;
        let signature = Tag::from_hex(signature.as_bytes()).map_err(|_| {
            Rejection::malformed("X-Signature header must be 64 hex digits (HMAC-SHA256)")
        })?;

        let credentials = HumanosCredentials {
            api_key,
            timestamp,
            timestamp_ms,
        };
        Ok(Presented::mac(credentials, signature))
    }

    fn key_id<'c>(&self, credentials: &'c HumanosCredentials) -> Option<&'c str> {
        Some(credentials.api_key.as_str())
    }

    fn check_fresh(
        &self,
        credentials: &HumanosCredentials,
        now: SystemTime,
    ) -> Result<(), Rejection> {
        self.window
            .check_millis(credentials.timestamp_ms, now)
            .map_err(|refused| {
                let seconds = credentials.timestamp_ms < SECONDS_HINT_BELOW;
                if refused.kind() == RejectionKind::StaleTimestamp && seconds {
                    Rejection::with_message(
                        RejectionKind::StaleTimestamp,
                        "X-Timestamp looks like seconds; send milliseconds since the Unix epoch",
                    )
                } else {
                    refused
                }
            })
    }

    /// The vendor's message: `"{ts}.{body}"`, or `"{ts}"` when the body is empty; the timestamp
    /// is the `X-Timestamp` text exactly as sent.
    fn message(&self, credentials: &HumanosCredentials, body: &[u8], message: &mut Message<'_>) {
        message.write(credentials.timestamp.as_bytes());
        if !body.is_empty() {
            message.write(b".");
            message.write(body);
        }
    }

    /// The signature itself: the protocol has no other nonce.
    fn nonce<'p>(&self, presented: &'p Presented<HumanosCredentials>) -> Option<&'p [u8]> {
        match &presented.proof {
            crate::pipeline::Proof::Mac(tags) => tags.as_slice().first().map(Tag::as_bytes),
            _ => None,
        }
    }

    /// Until the timestamp leaves the window: a request is accepted while
    /// `X-Timestamp >= now - past`, so its signature must be remembered until
    /// `X-Timestamp + past` (a future-dated request longer than a current one).
    fn nonce_ttl(&self, credentials: &HumanosCredentials, now: SystemTime) -> Duration {
        self.window.remaining_millis(credentials.timestamp_ms, now)
    }

    fn identity(
        &self,
        credentials: HumanosCredentials,
        _matched: Option<&MatchedSecret>,
    ) -> HumanosCaller {
        HumanosCaller {
            timestamp_ms: credentials.timestamp_ms,
        }
    }
}

/// The `X-Signature` a Humanos client sends for `body` at `timestamp_ms`.
pub fn signature(secret: &Secret, timestamp_ms: u64, body: &[u8]) -> String {
    let credentials = HumanosCredentials::new("", timestamp_ms);
    sign_message(&Humanos::default(), &credentials, body, secret).to_hex()
}

/// The headers a Humanos client sends for `body` at `timestamp_ms`: `Authorization: Bearer
/// <api key>`, `X-Timestamp` and `X-Signature`.
///
/// ```
/// use tower_hmac::Secret;
/// use tower_hmac::humanos::sign_request;
///
/// let secret = Secret::new("YOUR_SIGNATURE_SECRET").unwrap();
/// let headers = sign_request("YOUR_API_KEY", &secret, 1_763_800_000_000, b"").unwrap();
/// assert_eq!(headers["authorization"], "Bearer YOUR_API_KEY");
/// assert_eq!(headers["x-timestamp"], "1763800000000");
/// // Node: crypto.createHmac("sha256", "YOUR_SIGNATURE_SECRET").update("1763800000000").digest("hex")
/// assert_eq!(
///     headers["x-signature"],
///     "5a19a21a38ea98a849bf26981bf9854f5e3354d7ed76c75c87811064472c6330"
/// );
/// ```
pub fn sign_request(
    api_key: &str,
    secret: &Secret,
    timestamp_ms: u64,
    body: &[u8],
) -> Result<HeaderMap, SignError> {
    let credentials = HumanosCredentials::new(api_key, timestamp_ms);
    let signature = sign_message(&Humanos::default(), &credentials, body, secret);
    let mut headers = HeaderMap::with_capacity(3);
    headers.insert(AUTHORIZATION, bearer_value(api_key)?);
    headers.insert(X_TIMESTAMP, HeaderValue::from(timestamp_ms));
    headers.insert(
        X_SIGNATURE,
        sensitive(signature.to_hex().as_bytes(), "X-Signature")?,
    );
    Ok(headers)
}

fn bearer_value(api_key: &str) -> Result<HeaderValue, SignError> {
    sensitive(format!("Bearer {api_key}").as_bytes(), "Authorization")
}

/// Signs outgoing requests as a Humanos client: the body is read and signed, `X-Timestamp` is the
/// signer's clock in milliseconds. Use it with a [`SignLayer`](crate::sign::SignLayer).
pub struct HumanosSigner {
    api_key: Box<str>,
    secret: Secret,
    clock: Arc<dyn Clock>,
}

impl HumanosSigner {
    /// A signer for the API key `api_key` and its signature secret. Fails if the key cannot be
    /// sent in a header.
    pub fn new(api_key: impl Into<String>, secret: Secret) -> Result<Self, SignError> {
        let api_key: String = api_key.into();
        bearer_value(&api_key)?;
        Ok(Self {
            api_key: api_key.into(),
            secret,
            clock: Arc::new(SystemClock),
        })
    }

    /// Where the timestamps come from (default: the system clock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }
}

impl fmt::Debug for HumanosSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HumanosSigner")
            .field("api_key", &self.api_key)
            .field("secret", &self.secret)
            .finish_non_exhaustive()
    }
}

impl Signer for HumanosSigner {
    fn signs_body(&self) -> bool {
        true
    }

    fn sign(&self, request: &mut Parts, body: &[u8]) -> Result<(), SignError> {
        let now_ms = self
            .clock
            .now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let headers = sign_request(&self.api_key, &self.secret, now_ms, body)?;
        set_headers(request, headers);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_is_the_timestamp_then_a_dot_and_the_body() {
        let secret = Secret::new("k").unwrap();
        let whole = crate::crypto::hmac_sha256(&secret, |m| m.write(b"1700000000000.{}"));
        assert_eq!(signature(&secret, 1_700_000_000_000, b"{}"), whole.to_hex());
        let bare = crate::crypto::hmac_sha256(&secret, |m| m.write(b"1700000000000"));
        assert_eq!(signature(&secret, 1_700_000_000_000, b""), bare.to_hex());
    }
}

/// The mock's Humanos routes (feature `mock`).
#[cfg(feature = "mock")]
pub(crate) mod mock {
    use std::sync::Arc;

    use axum::Router;
    use axum::routing::{get, post};
    use bytes::Bytes;
    use serde::Deserialize;
    use serde_json::{Value, json};

    use super::{HumanosCaller, HumanosVerifyLayer};
    use crate::crypto::Secret;
    use crate::error::BoxError;
    use crate::keys::{Key, MemoryKeyStore};
    use crate::mock::{
        Examples, NotJson, Provider, Section, Shared, debug_without_secret, demo_entry, echo, quote,
    };
    use crate::pipeline::Verified;

    pub(crate) const PROVIDER: Provider = Provider {
        name: "humanos",
        config_keys: &["humanos", "humanos_replay"],
        demo_private_key: None,
        demo,
        router,
        examples,
        sign: None,
    };

    /// The vendor's documented example API key and signature secret.
    const API_KEY: &str = "YOUR_API_KEY";
    const SECRET: &str = "YOUR_SIGNATURE_SECRET";

    /// One `[[humanos]]` entry: an API key and its signature secret.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Entry {
        api_key: String,
        secret: String,
    }

    debug_without_secret!(Entry, api_key);

    fn demo() -> toml::Table {
        demo_entry(
            "humanos",
            [("api_key", API_KEY.into()), ("secret", SECRET.into())],
        )
    }

    fn router(config: &Section<'_>, shared: &Shared) -> Result<Router, BoxError> {
        let keys = MemoryKeyStore::new();
        for entry in config.get::<Vec<Entry>>("humanos")? {
            keys.try_insert(Key::new(entry.api_key, Secret::new(entry.secret)?))?;
        }
        let mut layer = HumanosVerifyLayer::new(shared.keys("humanos", keys));
        // The layer's own default is no replay store: Humanos has no nonce, and honest
        // requests signed in the same millisecond share a signature.
        if config.get::<bool>("humanos_replay")? {
            layer = layer.replay_store(Arc::clone(&shared.replay));
        }
        Ok(Router::new()
            .route("/v0/processes", get(processes))
            .route("/v0/process/generate", post(generate))
            .layer(shared.layer("humanos", layer)))
    }

    fn examples(config: &Section<'_>, at: &Examples) -> Result<String, BoxError> {
        let Some(entry) = config.first::<Entry>("humanos")? else {
            return Ok(String::new());
        };
        let sign = format!(
            "{} humanos --api-key {} --secret {}",
            at.sign,
            quote(&entry.api_key),
            quote(&entry.secret)
        );
        let body = r#"{"contacts":["+351912345678"],"processIds":["64c8e5f7d5a4f9123b7c9a1e"]}"#;
        Ok(format!(
            "# Humanos (API key {key})\n\
             {sign} --curl {base}/v0/processes | sh; echo\n\
             {sign} --body {body} --curl {base}/v0/process/generate | sh; echo\n\n",
            key = entry.api_key,
            base = at.base,
            body = quote(body),
        ))
    }

    async fn processes(caller: Verified<HumanosCaller>) -> axum::Json<Value> {
        axum::Json(json!({
            "provider": "humanos",
            "api_key": caller.key_id(),
            "timestamp": caller.identity().timestamp_ms(),
            "processes": [],
        }))
    }

    async fn generate(
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
}
