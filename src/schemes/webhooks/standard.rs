//! Standard Webhooks (and Svix): an HMAC-SHA256 (`v1`) or an Ed25519 signature (`v1a`) of the
//! delivery id, the timestamp and the body.
//!
//! The [Standard Webhooks](https://github.com/standard-webhooks/standard-webhooks) specification
//! (what Svix sends, and many others) signs each delivery with the endpoint's secret, shown as
//! `whsec_` and the base64 of the key bytes (`standardwebhooks` on npm and PyPI), or, for `v1a`,
//! with the sender's Ed25519 private key (`whsk_`), the endpoint holding only its public key
//! (`whpk_`, see [`public_key`]):
//!
//! ```text
//! webhook-id:        <delivery id>            (signed)
//! webhook-timestamp: <unix seconds>
//! webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>[ v1,<base64>...]
//!                    v1a,<base64 Ed25519 signature of "{id}.{timestamp}.{body}">   (or mixed)
//! ```
//!
//! The signature header is a space-separated list: during a rotation the sender lists one entry
//! per live key, and a delivery verifies when one matches a live secret (a `v1`) or a live public
//! key (a `v1a`) of the layer's key. A `v1` is checked with the key's secrets only and a `v1a`
//! with its public keys only: a `v1a` sent to an endpoint holding only secrets, or a `v1` to one
//! holding only public keys, is refused. Entries of other versions are ignored. Svix's own header
//! names (`svix-id`, `svix-timestamp`, `svix-signature`) are read when the `webhook-` ones are
//! absent.
//!
//! No published Standard Webhooks library verifies `v1a` yet (their pull requests for it are
//! still open; they skip `v1a` entries); this layer follows the specification, its vectors made
//! with PyNaCl and Node's crypto.
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
//! With Ed25519 (`v1a`), the endpoint's key holds the sender's public key:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::time::{Duration, UNIX_EPOCH};
//!
//! use http::Request;
//! use tower_hmac::standard::{StandardVerifyLayer, public_key};
//! use tower_hmac::{Key, ManualClock, RejectionKind};
//!
//! // RFC 8032's first test key; the signature made with PyNaCl.
//! let key = public_key("whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=").unwrap();
//! let now = UNIX_EPOCH + Duration::from_secs(1_763_800_000);
//! let layer = StandardVerifyLayer::new(Key::new("standard", key)).clock(ManualClock::new(now));
//! let request = |signature: &str| {
//!     Request::post("/webhooks/standard")
//!         .header("webhook-id", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")
//!         .header("webhook-timestamp", "1763800000")
//!         .header("webhook-signature", signature)
//!         .body(())
//!         .unwrap()
//!         .into_parts()
//!         .0
//! };
//! let body = r#"{"x":"café ✓ 😀"}"#.as_bytes();
//!
//! let good = "v1a,yuSSWNLnowKtbdkjr7FHpU2ZzNK+lLYpLF0IQIIdNjjDvTMpY3POVLfsnsEj3oIUw3drHQ7kTOtQkuMzCefYAw==";
//! let delivery = layer.verifier().verify(&request(good), body).await.unwrap();
//! assert_eq!(delivery.identity().id(), Some("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"));
//!
//! // Refused: a v1 HMAC is never checked with a public key.
//! let v1 = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
//! let refused = layer.verifier().verify(&request(v1), body).await.unwrap_err();
//! assert_eq!(refused.kind(), RejectionKind::InvalidSignature);
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
//! - **Strict decoding.** Each `v1` is standard padded base64 of 32 bytes, each `v1a` of 64; an
//!   empty or truncated one (`v1,`, the bypass of svix-webhooks PR 1190; `v1a,`) or a stray
//!   character is `malformed_credentials`, never a shorter or lenient compare (the Python
//!   library skips unknown characters; this layer does not). At most
//!   [`Ed25519Signatures::MAX`] `v1a` entries: each costs a whole verification.
//! - **Ed25519.** `v1a` signatures are verified strictly (`verify_strict`'s rules: no malleable
//!   or small-order forms), with the key's public keys only; a public key is never used as an HMAC
//!   secret. The endpoint holds nothing that could sign: a leaked `whpk_` forges nothing.
//! - **Timestamp form.** Digits only; it is signed as its decimal value, as the libraries do.
//! - **Body.** The raw bytes as received, never re-encoded and not required to be UTF-8 (both
//!   libraries decode it as UTF-8 first; a non-UTF-8 body verifies here as it was signed).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue};

use zeroize::Zeroizing;

use crate::crypto::{Ed25519PrivateKey, Ed25519PublicKey, Ed25519Signature, Message, Secret, Tag};
use crate::error::ConfigError;
use crate::keys::KeyStore;
use crate::pipeline::headers::{optional, single};
use crate::pipeline::{
    BodySigned, Ed25519Signatures, MatchedSecret, Presented, Proof, Scheme, Signatures, Verify,
    VerifyLayer, Window, unix_seconds,
};
use crate::rejection::Rejection;
use crate::sign::{
    SchemeSigner, Sender, SignError, header_value, sensitive, sign_ed25519, sign_message,
};
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

const SIGNATURE_FORM: &str = "webhook-signature header must be a space-separated list of \
     v1,<base64 HMAC-SHA256> or v1a,<base64 Ed25519 signature>";

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
    id: Arc<str>,
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

/// An endpoint's Ed25519 public key as senders show it: `whpk_` then the base64 of its 32 bytes.
/// What a receiver of `v1a` signatures holds.
///
/// ```
/// use tower_hmac::standard::public_key;
///
/// let key = public_key("whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=").unwrap();
/// assert_eq!(key.to_hex(), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
/// // The prefix says what the key is: a secret (whsec_) or a private key (whsk_) is refused.
/// assert!(public_key("11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=").is_err());
/// assert!(public_key("whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=").is_err());
/// ```
pub fn public_key(text: &str) -> Result<Ed25519PublicKey, ConfigError> {
    let encoded = text.strip_prefix("whpk_").ok_or(ConfigError::new(
        "a Standard Webhooks public key starts with whpk_",
    ))?;
    let bytes = STANDARD
        .decode(encoded)
        .map_err(|_| ConfigError::new("a whpk_ public key must be standard base64 after whpk_"))?;
    Ed25519PublicKey::from_bytes(&bytes)
}

/// A sender's Ed25519 private key as the specification writes it: `whsk_` then base64. The
/// specification does not say whether that is the 32-byte secret key of RFC 8032 or the 64
/// bytes libsodium holds (the secret key, then its public key); both are read, the public half
/// checked. For senders and tests: a receiver needs only the [`public_key`].
///
/// ```
/// use tower_hmac::standard::{private_key, public_key};
///
/// let short = private_key("whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=").unwrap();
/// let long = private_key(
///     "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2DXWpgBgrEKt9VL/tPJZAc6DuFy89qmIyWvAhpo9wdRGg==",
/// )
/// .unwrap();
/// let public = public_key("whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=").unwrap();
/// assert_eq!((short.public_key(), long.public_key()), (public, public));
/// ```
pub fn private_key(text: &str) -> Result<Ed25519PrivateKey, ConfigError> {
    let encoded = text.strip_prefix("whsk_").ok_or(ConfigError::new(
        "a Standard Webhooks private key starts with whsk_",
    ))?;
    let bytes = Zeroizing::new(
        STANDARD
            .decode(encoded)
            .map_err(|_| ConfigError::new("a whsk_ key must be standard base64 after whsk_"))?,
    );
    Ed25519PrivateKey::from_bytes(&bytes)
}

impl StandardVerifyLayer {
    /// A layer checking deliveries against the secrets of `keys` (a [`Key`](crate::Key) holding
    /// the endpoint's key bytes, see [`secret`], or the sender's public key, see [`public_key`];
    /// two during a rotation, of either kind), with a 300 s window each way.
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
        let mut macs = Signatures::new();
        let mut signatures = Ed25519Signatures::new();
        let too_many = |_| Rejection::malformed("webhook-signature lists too many signatures");
        for entry in header.split(' ').filter(|e| !e.is_empty()) {
            let (version, signature) = entry
                .split_once(',')
                .ok_or_else(|| Rejection::malformed(SIGNATURE_FORM))?;
            let malformed = |_| Rejection::malformed(SIGNATURE_FORM);
            match version {
                "v1" => macs
                    .push(Tag::from_base64(signature.as_bytes()).map_err(malformed)?)
                    .map_err(too_many)?,
                "v1a" => signatures
                    .push(Ed25519Signature::from_base64(signature.as_bytes()).map_err(malformed)?)
                    .map_err(too_many)?,
                _ => continue,
            }
        }
        let proof = match (macs.is_empty(), signatures.is_empty()) {
            (true, true) => return Err(Rejection::malformed(SIGNATURE_FORM)),
            // No v1a: the MAC path, as for every HMAC scheme.
            (false, true) => Proof::Mac(macs),
            _ => Proof::Ed25519 { signatures, macs },
        };
        Ok(Presented {
            credentials: StandardDelivery {
                id: id.into(),
                timestamp,
            },
            proof,
        })
    }

    fn check_fresh(&self, delivery: &StandardDelivery, now: SystemTime) -> Result<(), Rejection> {
        self.window.check_secs(delivery.timestamp, now)
    }

    /// `"{id}.{timestamp}.{body}"`, the timestamp as its decimal value.
    fn message(&self, delivery: &StandardDelivery, body: &[u8], message: &mut Message<'_>) {
        message.write(delivery.id.as_bytes());
        message.write(b".");
        message.write_decimal(delivery.timestamp);
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
        Delivery::signed_id(delivery.id, Some(delivery.timestamp.saturating_mul(1000)))
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

    /// `v1,<base64>`.
    fn put(
        &self,
        delivery: &StandardDelivery,
        signature: &Tag,
        request: &mut Parts,
    ) -> Result<(), SignError> {
        put(delivery, &format!("v1,{}", signature.to_base64()), request)
    }

    /// `v1a,<base64>`.
    fn put_ed25519(
        &self,
        delivery: &StandardDelivery,
        signature: &Ed25519Signature,
        request: &mut Parts,
    ) -> Result<(), SignError> {
        put(delivery, &format!("v1a,{}", signature.to_base64()), request)
    }
}

/// Puts the three headers of `delivery` on `request`, `signature` the header's one entry.
fn put(delivery: &StandardDelivery, signature: &str, request: &mut Parts) -> Result<(), SignError> {
    let [id, timestamp, header] = [&ID[0], &TIMESTAMP[0], &SIGNATURE[0]];
    let headers = &mut request.headers;
    headers.insert(
        id.clone(),
        header_value(delivery.id.as_bytes(), "webhook-id")?,
    );
    headers.insert(timestamp.clone(), HeaderValue::from(delivery.timestamp));
    headers.insert(
        header.clone(),
        sensitive(signature.as_bytes(), "webhook-signature")?,
    );
    Ok(())
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

/// The `v1a` signature (base64, without `v1a,`) of a delivery `id` of `body` at `timestamp`
/// (seconds), with the sender's private key `key` (see [`private_key`]).
pub fn signature_v1a(key: &Ed25519PrivateKey, id: &str, timestamp: u64, body: &[u8]) -> String {
    let delivery = StandardDelivery {
        id: id.into(),
        timestamp,
    };
    sign_ed25519(&StandardWebhooks::default(), &delivery, body, key).to_base64()
}

/// The headers of a delivery of `body` signed with `v1a` now, with a fresh `webhook-id`.
pub fn sign_request_v1a(key: &Ed25519PrivateKey, body: &[u8]) -> Result<HeaderMap, SignError> {
    SchemeSigner::new(StandardWebhooks::default(), key.clone()).headers("/", body)
}

/// The mock's Standard Webhooks receivers (feature `mock`): `v1` on `/webhooks/standard`, `v1a`
/// on `/webhooks/standard-ed25519`.
#[cfg(feature = "mock")]
pub(crate) mod mock {
    use std::sync::Arc;

    use super::{StandardVerifyLayer, StandardWebhooks, private_key, public_key, secret};
    use crate::mock::webhooks::{self, MockSender, provider};
    use crate::mock::{Examples, Provider, Section, Shared};

    pub(crate) const PROVIDER: Provider = provider::<StandardWebhooks>();

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

    /// The `v1a` receiver: the endpoint holds the sender's public key.
    pub(crate) const PROVIDER_ED25519: Provider = Provider {
        name: "standard-ed25519",
        config_keys: &["standard-ed25519"],
        demo_private_key: Some(PRIVATE_KEY),
        demo: || webhooks::demo_public_key("standard-ed25519", PUBLIC_KEY),
        router: |config: &Section<'_>, shared: &Shared| {
            let keys = webhooks::public_key_store(config, "standard-ed25519", |text| {
                Ok(public_key(text)?)
            })?;
            let layer = StandardVerifyLayer::new(keys).replay_store(Arc::clone(&shared.replay));
            Ok(webhooks::routes(
                shared,
                "standard-ed25519",
                layer,
                webhooks::post,
            ))
        },
        examples: |config: &Section<'_>, at: &Examples| {
            webhooks::example_signed_with(config, at, "standard-ed25519", PUBLIC_KEY, PRIVATE_KEY)
        },
        sign: Some(|text, signed, url, body, now| {
            webhooks::sign(
                StandardWebhooks::default(),
                private_key(text)?,
                signed,
                url,
                body,
                now,
            )
        }),
    };

    /// The `v1a` receiver's demo public key: RFC 8032's first test key.
    pub(crate) const PUBLIC_KEY: &str = "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

    /// Its private key (RFC 8032, section 7.1, TEST 1), what the example commands sign with.
    pub(crate) const PRIVATE_KEY: &str = "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
}
