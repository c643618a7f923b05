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
use http::{HeaderName, HeaderValue};

use crate::clock::{Clock, SystemClock};
use crate::keys::{Key, KeyStore};
use crate::mac::{MacInput, Tag, hmac_sha256};
use crate::rejection::{Rejection, RejectionKind};
use crate::secret::Secret;
use crate::sign::{SignError, Signer, sensitive, set_headers};
use crate::verify::headers::{bearer_token, single};
use crate::verify::{BodySigned, Proof, Scheme, Verify, VerifyLayer};

/// The layer verifying Humanos requests.
pub type HumanosVerifyLayer = VerifyLayer<Humanos, BodySigned>;

/// The service built by [`HumanosVerifyLayer`].
pub type HumanosVerify<S> = Verify<S, Humanos, BodySigned>;

const X_TIMESTAMP: HeaderName = HeaderName::from_static("x-timestamp");
const X_SIGNATURE: HeaderName = HeaderName::from_static("x-signature");

/// Default past and future tolerance of the timestamp window.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Timestamps below this (3 March 1973 in milliseconds) are read as "sent in seconds".
const SECONDS_HINT_BELOW: u64 = 100_000_000_000;

/// The Humanos scheme: its timestamp window.
#[derive(Debug, Clone)]
pub struct Humanos {
    past: Duration,
    future: Duration,
}

impl Default for Humanos {
    fn default() -> Self {
        Self {
            past: DEFAULT_TOLERANCE,
            future: DEFAULT_TOLERANCE,
        }
    }
}

/// The parsed Humanos headers.
#[derive(Debug)]
pub struct HumanosCredentials {
    api_key: Box<str>,
    timestamp: Box<str>,
    timestamp_ms: u64,
    signature: Tag,
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
        Self::with_scheme(Humanos::default(), keys)
    }

    /// How far in the past `X-Timestamp` may lie (default 300 s).
    pub fn past_tolerance(self, tolerance: Duration) -> Self {
        self.map_scheme(|s| s.past = tolerance)
    }

    /// How far in the future `X-Timestamp` may lie (default 300 s).
    pub fn future_tolerance(self, tolerance: Duration) -> Self {
        self.map_scheme(|s| s.future = tolerance)
    }
}

impl Scheme for Humanos {
    type Credentials = HumanosCredentials;
    type Identity = HumanosCaller;

    fn name(&self) -> &'static str {
        "humanos"
    }

    fn challenge(&self) -> HeaderValue {
        HeaderValue::from_static("Bearer realm=\"humanos\"")
    }

    fn credentials(&self, request: &Parts) -> Result<HumanosCredentials, Rejection> {
        let authorization = single(request, &AUTHORIZATION, "Authorization")?;
        let api_key = bearer_token(authorization).ok_or_else(|| {
            Rejection::malformed("Authorization header must be `Bearer <api key>`")
        })?;

        let timestamp = single(request, &X_TIMESTAMP, "X-Timestamp")?;
        let timestamp_ms = parse_millis(timestamp)?;

        let signature = single(request, &X_SIGNATURE, "X-Signature")?;
        let signature = Tag::from_hex(signature.as_bytes()).map_err(|_| {
            Rejection::malformed("X-Signature header must be 64 hex digits (HMAC-SHA256)")
        })?;

        Ok(HumanosCredentials {
            api_key: api_key.into(),
            timestamp: timestamp.into(),
            timestamp_ms,
            signature,
        })
    }

    fn check_fresh(
        &self,
        credentials: &HumanosCredentials,
        now: SystemTime,
    ) -> Result<(), Rejection> {
        let now_ms = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
        let ts = u128::from(credentials.timestamp_ms);
        if ts > now_ms.saturating_add(self.future.as_millis()) {
            return Err(Rejection::new(RejectionKind::FutureTimestamp));
        }
        if ts.saturating_add(self.past.as_millis()) < now_ms {
            if credentials.timestamp_ms < SECONDS_HINT_BELOW {
                return Err(Rejection::with_message(
                    RejectionKind::StaleTimestamp,
                    "X-Timestamp looks like seconds; send milliseconds since the Unix epoch",
                ));
            }
            return Err(Rejection::new(RejectionKind::StaleTimestamp));
        }
        Ok(())
    }

    fn key_id<'c>(&self, credentials: &'c HumanosCredentials) -> &'c str {
        &credentials.api_key
    }

    fn proof<'c>(
        &self,
        credentials: &'c HumanosCredentials,
        _key: &Key,
    ) -> Result<Proof<'c>, Rejection> {
        Ok(Proof::Mac(&credentials.signature))
    }

    fn message_prefix(&self, credentials: &HumanosCredentials, mac: &mut MacInput<'_>) {
        mac.update(credentials.timestamp.as_bytes());
    }

    fn body_separator(&self) -> &'static [u8] {
        b"."
    }

    fn replay_nonce<'c>(&self, credentials: &'c HumanosCredentials) -> Option<&'c [u8]> {
        Some(credentials.signature.as_bytes())
    }

    /// Until the timestamp leaves the window: a request is accepted while
    /// `X-Timestamp >= now - past`, so its signature must be remembered until
    /// `X-Timestamp + past` (a future-dated request longer than a current one).
    fn replay_ttl(&self, credentials: &HumanosCredentials, now: SystemTime) -> Duration {
        let leaves = UNIX_EPOCH
            .checked_add(Duration::from_millis(credentials.timestamp_ms))
            .and_then(|ts| ts.checked_add(self.past));
        match leaves {
            // One more millisecond: timestamps have millisecond resolution.
            Some(leaves) => leaves
                .duration_since(now)
                .unwrap_or(Duration::ZERO)
                .saturating_add(Duration::from_millis(1)),
            None => self.past.saturating_add(self.future),
        }
    }

    fn identity(&self, credentials: HumanosCredentials, _checked: bool) -> HumanosCaller {
        HumanosCaller {
            timestamp_ms: credentials.timestamp_ms,
        }
    }
}

/// The vendor's message: `"{ts}.{body}"`, or `"{ts}"` when the body is empty.
fn feed_message(timestamp: &str, body: &[u8], mac: &mut MacInput<'_>) {
    mac.update(timestamp.as_bytes());
    if !body.is_empty() {
        mac.update(b".");
        mac.update(body);
    }
}

/// The `X-Signature` a Humanos client sends for `body` at `timestamp_ms`.
pub fn signature(secret: &Secret, timestamp_ms: u64, body: &[u8]) -> String {
    let timestamp = timestamp_ms.to_string();
    hmac_sha256(secret, |mac| feed_message(&timestamp, body, mac)).to_hex()
}

/// Digits only (no sign, no decimal point), at most what fits in a u64.
fn parse_millis(text: &str) -> Result<u64, Rejection> {
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Rejection::malformed(
            "X-Timestamp header must be milliseconds since the Unix epoch, digits only",
        ));
    }
    text.parse::<u64>()
        .map_err(|_| Rejection::malformed("X-Timestamp header is out of range"))
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
) -> Result<http::HeaderMap, SignError> {
    let mut headers = http::HeaderMap::with_capacity(3);
    headers.insert(AUTHORIZATION, bearer_value(api_key)?);
    headers.insert(X_TIMESTAMP, HeaderValue::from(timestamp_ms));
    headers.insert(
        X_SIGNATURE,
        sensitive(
            signature(secret, timestamp_ms, body).as_bytes(),
            "X-Signature",
        )?,
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
    fn millis_parsing_is_strict() {
        assert_eq!(parse_millis("1700000000000").unwrap(), 1_700_000_000_000);
        assert_eq!(parse_millis("18446744073709551615").unwrap(), u64::MAX);
        for bad in [
            "+1",
            "-1",
            "1.5",
            "1e3",
            "0x10",
            "18446744073709551616",
            "99999999999999999999999",
        ] {
            assert_eq!(
                parse_millis(bad).unwrap_err().kind(),
                RejectionKind::MalformedCredentials,
                "{bad}"
            );
        }
    }
}
