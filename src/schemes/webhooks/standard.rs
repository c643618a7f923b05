//! Standard Webhooks (and Svix): an HMAC-SHA256 of the delivery id, the timestamp and the body.
//!
//! The [Standard Webhooks](https://github.com/standard-webhooks/standard-webhooks) specification
//! (what Svix sends, and many others) signs each delivery with the endpoint's secret, shown as
//! `whsec_` and the base64 of the key bytes (`standardwebhooks` on npm and PyPI):
//!
//! ```text
//! webhook-id:        <delivery id>            (signed)
//! webhook-timestamp: <unix seconds>
//! webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>[ v1,<base64>...]
//! ```
//!
//! The signature header is a space-separated list: during a rotation the sender lists one `v1`
//! per live secret, and a delivery verifies when one matches a live secret of the layer's key.
//! Entries of other versions are ignored. Svix's own header names (`svix-id`, `svix-timestamp`,
//! `svix-signature`) are read when the `webhook-` ones are absent.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::time::{Duration, UNIX_EPOCH};
//!
//! use http::Request;
//! use tower_hmac::standard::{StandardVerifyLayer, secret};
//! use tower_hmac::{Key, ManualClock, RejectionKind};
//!
//! // The libraries' own test vector.
//! let key = secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
//! let now = UNIX_EPOCH + Duration::from_secs(1_614_265_330);
//! let layer = StandardVerifyLayer::new(Key::new("standard", key)).clock(ManualClock::new(now));
//! let request = |signature: &str| {
//!     Request::post("/webhooks/standard")
//!         .header("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
//!         .header("webhook-timestamp", "1614265330")
//!         .header("webhook-signature", signature)
//!         .body(())
//!         .unwrap()
//!         .into_parts()
//!         .0
//! };
//! let body = br#"{"test": 2432232314}"#;
//!
//! // Accepted, the signed delivery id handed to the handler.
//! let good = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
//! let delivery = layer.verifier().verify(&request(good), body).await.unwrap();
//! assert_eq!(delivery.identity().id(), Some("msg_p5jXN8AQM9LWM0D4loKWxJek"));
//! assert!(delivery.identity().id_is_signed());
//!
//! // Refused: an empty signature is not a shorter compare.
//! let refused = layer.verifier().verify(&request("v1,"), body).await.unwrap_err();
//! assert_eq!(refused.kind(), RejectionKind::MalformedCredentials);
//! # }
//! ```
//!
//! # Security
//!
//! - **Window.** `webhook-timestamp` within 300 s of now, each way (as the libraries check;
//!   set with [`tolerance`](StandardVerifyLayer::tolerance)).
//! - **Duplicates.** The delivery id is signed, so with a
//!   [`replay_store`](crate::VerifyLayer::replay_store) it identifies a delivery (see
//!   [`webhooks`]): a sender's retry and a captured copy are both recognised.
//! - **Strict decoding.** Each `v1` is standard padded base64 of 32 bytes; an empty or truncated
//!   one (`v1,`, the bypass of svix-webhooks PR 1190) or a stray character is
//!   `malformed_credentials`, never a shorter or lenient compare (the Python library skips
//!   unknown characters; this layer does not).
//! - **Timestamp form.** Digits only; it is signed as its decimal value, as the libraries do.
//! - **Body.** The raw bytes as received, never re-encoded and not required to be UTF-8 (both
//!   libraries decode it as UTF-8 first; a non-UTF-8 body verifies here as it was signed).

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::crypto::{Message, Secret, Tag};
use crate::error::ConfigError;
use crate::keys::KeyStore;
use crate::pipeline::headers::{optional, single};
use crate::pipeline::{
    BodySigned, MatchedSecret, Presented, Proof, Scheme, Signatures, Verify, VerifyLayer, Window,
    unix_seconds,
};
use crate::rejection::Rejection;
use crate::sign::{SchemeSigner, Sender, SignError, header_value, sensitive, sign_message};
use crate::webhooks::{self, Delivery, fresh_id, unix_secs};

/// The layer verifying Standard Webhooks deliveries.
pub type StandardVerifyLayer = VerifyLayer<StandardWebhooks>;

/// The service built by [`StandardVerifyLayer`].
pub type StandardVerify<S> = Verify<S, StandardWebhooks>;

/// Signs deliveries as a Standard Webhooks sender does (for tests, or to send them).
pub type StandardSigner = SchemeSigner<StandardWebhooks>;

/// The three headers, each under its two names: the standard's, then Svix's.
const ID: [HeaderName; 2] = [
    HeaderName::from_static("webhook-id"),
    HeaderName::from_static("svix-id"),
];
const TIMESTAMP: [HeaderName; 2] = [
    HeaderName::from_static("webhook-timestamp"),
    HeaderName::from_static("svix-timestamp"),
];
const SIGNATURE: [HeaderName; 2] = [
    HeaderName::from_static("webhook-signature"),
    HeaderName::from_static("svix-signature"),
];

const SIGNATURE_FORM: &str =
    "webhook-signature header must be a space-separated list of v1,<base64 HMAC-SHA256>";

/// Longest `webhook-id` accepted, in bytes (the ids senders use are a few dozen characters).
pub const MAX_ID_LEN: usize = 256;

/// The Standard Webhooks scheme: its timestamp window.
#[derive(Debug, Clone, Default)]
pub struct StandardWebhooks {
    window: Window,
}

/// What a Standard Webhooks delivery signs besides its body: its id and timestamp.
#[derive(Debug)]
pub struct StandardDelivery {
    id: Box<str>,
    timestamp: u64,
}

/// The key bytes of an endpoint secret as senders show it: `whsec_` (optional) then base64.
///
/// ```
/// use tower_hmac::standard::secret;
///
/// let key = secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
/// assert_eq!(key.expose().len(), 24);
/// assert!(secret("whsec_not base64!").is_err());
/// ```
pub fn secret(text: &str) -> Result<Secret, ConfigError> {
    let encoded = text.strip_prefix("whsec_").unwrap_or(text);
    let bytes = STANDARD
        .decode(encoded)
        .map_err(|_| ConfigError::new("a whsec_ secret must be standard base64 after whsec_"))?;
    Secret::new(bytes)
}

impl StandardVerifyLayer {
    /// A layer checking deliveries against the secrets of `keys` (a [`Key`](crate::Key) holding
    /// the endpoint's key bytes, see [`secret`]; two during a rotation), with a 300 s window
    /// each way.
    ///
    /// It keeps its own in-process replay store, so that this instance handles no delivery
    /// twice; share one between instances with [`replay_store`](VerifyLayer::replay_store).
    pub fn new(keys: impl KeyStore) -> Self {
        webhooks::layer(StandardWebhooks::default(), keys)
    }

    /// How far from now `webhook-timestamp` may be, each way (default 300 s).
    pub fn tolerance(self, tolerance: Duration) -> Self {
        self.map_scheme(|s| s.window = Window::symmetric(tolerance))
    }
}

/// The header named `names[0]`, or else `names[1]`, read strictly.
fn either<'a>(
    request: &'a Parts,
    names: &[HeaderName; 2],
    display: &str,
) -> Result<&'a str, Rejection> {
    let [standard, svix] = names;
    match optional(request, standard, display)? {
        Some(value) => Ok(value),
        None => single(request, svix, display),
    }
}

impl Scheme for StandardWebhooks {
    type Credentials = StandardDelivery;
    type Identity = Delivery;
    type Body = BodySigned;

    fn name(&self) -> &'static str {
        "standard"
    }

    fn credentials(&self, request: &Parts) -> Result<Presented<StandardDelivery>, Rejection> {
        let id = either(request, &ID, "webhook-id")?;
        if id.len() > MAX_ID_LEN || id.contains(' ') {
            return Err(Rejection::malformed(
                "webhook-id header must be at most 256 characters, without spaces",
            ));
        }
        let timestamp = unix_seconds(
            either(request, &TIMESTAMP, "webhook-timestamp")?,
            "webhook-timestamp",
        )?;
        let header = either(request, &SIGNATURE, "webhook-signature")?;
        let mut signatures = Signatures::new();
        for entry in header.split(' ').filter(|e| !e.is_empty()) {
            let (version, signature) = entry
                .split_once(',')
                .ok_or_else(|| Rejection::malformed(SIGNATURE_FORM))?;
            if version != "v1" {
                continue;
            }
            let tag = Tag::from_base64(signature.as_bytes())
                .map_err(|_| Rejection::malformed(SIGNATURE_FORM))?;
            signatures
                .push(tag)
                .map_err(|_| Rejection::malformed("webhook-signature lists too many signatures"))?;
        }
        if signatures.is_empty() {
            return Err(Rejection::malformed(SIGNATURE_FORM));
        }
        Ok(Presented {
            credentials: StandardDelivery {
                id: id.into(),
                timestamp,
            },
            proof: Proof::Mac(signatures),
        })
    }

    fn check_fresh(&self, delivery: &StandardDelivery, now: SystemTime) -> Result<(), Rejection> {
        self.window.check_secs(delivery.timestamp, now)
    }

    /// `"{id}.{timestamp}.{body}"`, the timestamp as its decimal value.
    fn message(&self, delivery: &StandardDelivery, body: &[u8], message: &mut Message<'_>) {
        message.write(delivery.id.as_bytes());
        message.write(b".");
        message.write(delivery.timestamp.to_string().as_bytes());
        message.write(b".");
        message.write(body);
    }

    fn delivers(&self) -> bool {
        true
    }

    /// The delivery id is signed.
    fn delivery_id<'p>(&self, presented: &'p Presented<StandardDelivery>) -> Option<&'p [u8]> {
        Some(presented.credentials.id.as_bytes())
    }

    fn nonce_ttl(&self, delivery: &StandardDelivery, now: SystemTime) -> Duration {
        self.window
            .remaining_millis(delivery.timestamp.saturating_mul(1000), now)
    }

    fn identity(&self, delivery: StandardDelivery, _: Option<&MatchedSecret>) -> Delivery {
        Delivery::signed_id(&delivery.id, Some(delivery.timestamp.saturating_mul(1000)))
    }
}

impl Sender for StandardWebhooks {
    fn credentials_to_sign(
        &self,
        _request: &Parts,
        _body: &[u8],
        now: SystemTime,
    ) -> Result<StandardDelivery, SignError> {
        Ok(StandardDelivery {
            id: format!("msg_{}", fresh_id()?).into(),
            timestamp: unix_secs(now),
        })
    }

    fn put(
        &self,
        delivery: &StandardDelivery,
        signature: &Tag,
        request: &mut Parts,
    ) -> Result<(), SignError> {
        let [id, timestamp, header] = [&ID[0], &TIMESTAMP[0], &SIGNATURE[0]];
        let headers = &mut request.headers;
        headers.insert(
            id.clone(),
            header_value(delivery.id.as_bytes(), "webhook-id")?,
        );
        headers.insert(timestamp.clone(), HeaderValue::from(delivery.timestamp));
        let value = format!("v1,{}", signature.to_base64());
        headers.insert(
            header.clone(),
            sensitive(value.as_bytes(), "webhook-signature")?,
        );
        Ok(())
    }
}

/// The `v1` signature (base64, without `v1,`) of a delivery `id` of `body` at `timestamp`
/// (seconds), under the key bytes `key` (see [`secret`]).
pub fn signature(key: &Secret, id: &str, timestamp: u64, body: &[u8]) -> String {
    let delivery = StandardDelivery {
        id: id.into(),
        timestamp,
    };
    sign_message(&StandardWebhooks::default(), &delivery, body, key).to_base64()
}

/// The headers of a delivery of `body`, signed now with a fresh `webhook-id`.
pub fn sign_request(key: &Secret, body: &[u8]) -> Result<HeaderMap, SignError> {
    SchemeSigner::new(StandardWebhooks::default(), key.clone()).headers("/", body)
}

/// The mock's Standard Webhooks receiver (feature `mock`).
#[cfg(feature = "mock")]
pub(crate) mod mock {
    use super::{StandardVerifyLayer, StandardWebhooks, secret};
    use crate::mock::webhooks::{MockSender, provider};

    pub(crate) const PROVIDER: crate::mock::Provider = provider::<StandardWebhooks>();

    impl MockSender for StandardWebhooks {
        const NAME: &'static str = "standard";
        /// The mock's demo secret.
        const SECRET: &'static str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

        fn receiver(keys: crate::MemoryKeyStore) -> StandardVerifyLayer {
            StandardVerifyLayer::new(keys)
        }

        fn key(text: &str) -> Result<crate::Secret, crate::BoxError> {
            Ok(secret(text)?)
        }
    }
}
