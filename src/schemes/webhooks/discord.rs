//! Discord interactions: an Ed25519 signature of the timestamp and the body.
//!
//! Discord signs every request to an application's interactions endpoint with its own private
//! key; the application holds the public key (its "Public Key" in the developer portal, 64 hex
//! digits), so nothing the receiver keeps could forge a request
//! ([Interactions overview](https://discord.com/developers/docs/interactions/overview), "Validating
//! security request headers"; `discord-interactions`' `verifyKey`):
//!
//! ```text
//! X-Signature-Ed25519:   <hex Ed25519 signature of "{X-Signature-Timestamp}{body}">
//! X-Signature-Timestamp: <unix seconds>
//! ```
//!
//! The timestamp is signed as sent, immediately followed by the raw body (no separator).
//! [`DiscordVerifyLayer`] verifies the signature with every live public key of its key (two
//! during a rotation), answers a verified PING (`{"type":1}`) itself with `{"type":1}`, and
//! hands any other interaction to the handler with a [`Delivery`]. Every refusal is 401, as
//! Discord requires (it sends requests with invalid signatures on purpose, and expects them
//! refused).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::time::{Duration, UNIX_EPOCH};
//!
//! use http::{Request, StatusCode};
//! use tower_hmac::discord::{DiscordVerifyLayer, public_key};
//! use tower_hmac::{Key, ManualClock};
//!
//! // RFC 8032's first test key, as an application's public key.
//! let key = public_key("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a").unwrap();
//! let now = UNIX_EPOCH + Duration::from_secs(1_763_800_000);
//! let layer = DiscordVerifyLayer::new(Key::new("discord", key)).clock(ManualClock::new(now));
//! let request = |signature: &str| {
//!     Request::post("/interactions")
//!         .header("x-signature-ed25519", signature)
//!         .header("x-signature-timestamp", "1763800000")
//!         .body(())
//!         .unwrap()
//!         .into_parts()
//!         .0
//! };
//! let body = r#"{"type":2,"data":{"name":"café ✓ 😀"}}"#.as_bytes();
//!
//! // Accepted: signed with the RFC's secret key by PyNaCl (Node's crypto gives the same bytes).
//! let good = "22a7741972e2f0bf5a7db6063c702e9a5e76a694d342e8f99b0268a83c69f981\
//!             13e98ee70bec74154d9d0d33de8eb72de7f1713b6d2a73a6e2fd56d2a26d1202";
//! let interaction = layer.verifier().verify(&request(good), body).await.unwrap();
//! assert_eq!(interaction.identity().timestamp(), Some(now));
//!
//! // Refused: the same signature over another body.
//! let refused = layer.verifier().verify(&request(good), b"{}").await.unwrap_err();
//! assert_eq!(refused.kind().status(), StatusCode::UNAUTHORIZED);
//! # }
//! ```
//!
//! # Security
//!
//! - **Window.** Discord documents no timestamp window, and `discord-interactions` checks none:
//!   a captured request would verify forever. This layer refuses a timestamp more than 300 s
//!   from now, each way (set with [`tolerance`](DiscordVerifyLayer::tolerance)); Discord sends
//!   each interaction at once (and expects the answer within 3 s), so an honest request is
//!   never near the edge unless the receiver's clock is off.
//! - **Duplicates.** Within the window a copy of a request is the same delivery, recognised by
//!   its verified signature (see [`webhooks`]): strict verification leaves one
//!   valid signature per message, so a copy cannot be disguised. The interaction's id is in the
//!   (signed) body.
//! - **Strict decoding.** `X-Signature-Ed25519` is 128 hex digits (either case); anything else,
//!   an empty, truncated or odd-length signature included, is `malformed_credentials`.
//!   `discord-interactions` reads any two characters with `parseInt`, so `"0g"` passes there as
//!   `0x00`: here it is refused. Signatures are verified strictly (`verify_strict`'s rules: no
//!   malleable or small-order forms).
//! - **Timestamp.** Signed as sent, as the SDK concatenates the header; it must be digits only
//!   (unix seconds), for the window.
//! - **PING.** Answered only after its signature verified, so an unsigned PING gets 401, never
//!   `{"type":1}`.
//! - **Body.** The raw bytes as received, not required to be UTF-8 (Discord's own samples
//!   decode it as text first; `verifyKey` given the raw bytes agrees with this layer).

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Response};

use crate::crypto::{Ed25519PrivateKey, Ed25519PublicKey, Ed25519Signature, Message};
use crate::error::ConfigError;
use crate::keys::{KeyMaterial, KeyStore};
use crate::pipeline::headers::{HeaderText, single, single_kept};
use crate::pipeline::{
    BodySigned, MatchedSecret, Presented, Scheme, Verify, VerifyLayer, Window, unix_seconds,
};
use crate::rejection::Rejection;
use crate::sign::{SchemeSigner, Sender, SignError, header_value, sensitive, sign_ed25519};
use crate::webhooks::{self, Delivery, unix_secs};

/// The layer verifying Discord interactions.
pub type DiscordVerifyLayer = VerifyLayer<Discord>;

/// The service built by [`DiscordVerifyLayer`].
pub type DiscordVerify<S> = Verify<S, Discord>;

/// Signs interactions as Discord does, with an Ed25519 private key (for tests).
pub type DiscordSigner = SchemeSigner<Discord>;

const X_SIGNATURE_ED25519: HeaderName = HeaderName::from_static("x-signature-ed25519");
const X_SIGNATURE_TIMESTAMP: HeaderName = HeaderName::from_static("x-signature-timestamp");

const SIGNATURE_FORM: &str =
    "X-Signature-Ed25519 header must be 128 hex digits (an Ed25519 signature)";

/// The Discord interactions scheme: its timestamp window.
#[derive(Debug, Clone, Default)]
pub struct Discord {
    window: Window,
}

/// What Discord signs besides the body: the timestamp, as sent.
#[derive(Debug)]
pub struct Interaction {
    timestamp: HeaderText,
    seconds: u64,
}

impl Interaction {
    /// An interaction signed at `seconds` (Unix time), its timestamp written in decimal as
    /// Discord writes it.
    pub fn new(seconds: u64) -> Self {
        Self {
            timestamp: seconds.to_string().into(),
            seconds,
        }
    }
}

/// An application's public key as the developer portal shows it: 64 hex digits.
///
/// ```
/// use tower_hmac::discord::public_key;
///
/// assert!(public_key("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a").is_ok());
/// assert!(public_key("d75a98").is_err());
/// ```
pub fn public_key(hex: &str) -> Result<Ed25519PublicKey, ConfigError> {
    Ed25519PublicKey::from_hex(hex)
}

/// A private key in hex (64 digits, the RFC 8032 secret key; or 128, the seed then its public
/// key), to sign interactions as Discord would, in tests.
pub fn private_key(hex: &str) -> Result<Ed25519PrivateKey, ConfigError> {
    Ed25519PrivateKey::from_hex(hex)
}

impl DiscordVerifyLayer {
    /// A layer checking interactions against the public keys of `keys` (a [`Key`](crate::Key)
    /// holding the application's public key, see [`public_key`]; two during a rotation), with
    /// a 300 s window each way.
    ///
    /// It keeps its own in-process replay store, so that this instance handles no request
    /// twice; share one between instances with [`replay_store`](VerifyLayer::replay_store).
    pub fn new(keys: impl KeyStore) -> Self {
        webhooks::layer(Discord::default(), keys)
    }

    /// How far from now `X-Signature-Timestamp` may be, each way (default 300 s; Discord
    /// documents none).
    pub fn tolerance(self, tolerance: Duration) -> Self {
        self.map_scheme(|s| s.window = Window::symmetric(tolerance))
    }
}

impl Scheme for Discord {
    type Credentials = Interaction;
    type Identity = Delivery;
    type Body = BodySigned;

    fn name(&self) -> &'static str {
        "discord"
    }

    fn credentials(&self, request: &Parts) -> Result<Presented<Interaction>, Rejection> {
        let signature = single(request, &X_SIGNATURE_ED25519, "X-Signature-Ed25519")?;
        let signature = Ed25519Signature::from_hex(signature.as_bytes())
            .map_err(|_| Rejection::malformed(SIGNATURE_FORM))?;
        // Kept as the request holds it: only the check needs it.
        let timestamp = single_kept(request, &X_SIGNATURE_TIMESTAMP, "X-Signature-Timestamp")?;
        let seconds = unix_seconds(&timestamp, "X-Signature-Timestamp")?;
        Ok(Presented::ed25519(
            Interaction { timestamp, seconds },
            signature,
        ))
    }

    fn check_fresh(&self, interaction: &Interaction, now: SystemTime) -> Result<(), Rejection> {
        self.window.check_secs(interaction.seconds, now)
    }

    /// `"{timestamp}{body}"`, the timestamp as sent.
    fn message(&self, interaction: &Interaction, body: &[u8], message: &mut Message<'_>) {
        message.write(interaction.timestamp.as_bytes());
        message.write(body);
    }

    fn delivers(&self) -> bool {
        true
    }

    fn nonce_ttl(&self, interaction: &Interaction, now: SystemTime) -> Duration {
        self.window
            .remaining_millis(interaction.seconds.saturating_mul(1000), now)
    }

    /// A PING (`{"type":1}`): `200 {"type":1}`.
    fn handshake(
        &self,
        _interaction: &Interaction,
        body: &[u8],
        _material: &KeyMaterial,
    ) -> Option<Response<Bytes>> {
        if !is_ping(body) {
            return None;
        }
        let mut response = Response::new(Bytes::from_static(br#"{"type":1}"#));
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Some(response)
    }

    fn identity(&self, interaction: Interaction, _: Option<&MatchedSecret>) -> Delivery {
        Delivery::unsigned_id(None, Some(interaction.seconds.saturating_mul(1000)))
    }
}

/// Whether a (verified) body is a PING: a JSON object whose `type` is 1.
fn is_ping(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| value.get("type")?.as_u64())
        == Some(1)
}

impl Sender for Discord {
    fn credentials_to_sign(
        &self,
        _request: &Parts,
        _body: &[u8],
        now: SystemTime,
    ) -> Result<Interaction, SignError> {
        Ok(Interaction::new(unix_secs(now)))
    }

    fn put_ed25519(
        &self,
        interaction: &Interaction,
        signature: &Ed25519Signature,
        request: &mut Parts,
    ) -> Result<(), SignError> {
        let headers = &mut request.headers;
        headers.insert(
            X_SIGNATURE_ED25519,
            sensitive(signature.to_hex().as_bytes(), "X-Signature-Ed25519")?,
        );
        headers.insert(
            X_SIGNATURE_TIMESTAMP,
            header_value(interaction.timestamp.as_bytes(), "X-Signature-Timestamp")?,
        );
        Ok(())
    }
}

/// The `X-Signature-Ed25519` (hex) Discord sends for `body` at `timestamp` (the
/// `X-Signature-Timestamp` text), signed with `key`.
pub fn signature(key: &Ed25519PrivateKey, timestamp: &str, body: &[u8]) -> String {
    let interaction = Interaction {
        timestamp: timestamp.into(),
        seconds: 0,
    };
    sign_ed25519(&Discord::default(), &interaction, body, key).to_hex()
}

/// The headers of an interaction of `body`, signed now with `key`.
pub fn sign_request(key: &Ed25519PrivateKey, body: &[u8]) -> Result<HeaderMap, SignError> {
    SchemeSigner::new(Discord::default(), key.clone()).headers("/", body)
}

/// The mock's Discord receiver (feature `mock`).
#[cfg(feature = "mock")]
pub(crate) mod mock {
    use std::sync::Arc;

    use super::{Discord, DiscordVerifyLayer, private_key, public_key};
    use crate::mock::{Examples, Provider, Section, Shared, webhooks};

    pub(crate) const PROVIDER: Provider = Provider {
        name: "discord",
        config_keys: &["discord"],
        demo_private_key: Some(PRIVATE_KEY),
        demo: || webhooks::demo_public_key("discord", PUBLIC_KEY),
        router: |config: &Section<'_>, shared: &Shared| {
            let keys = webhooks::public_key_store(config, "discord", |text| Ok(public_key(text)?))?;
            let layer = DiscordVerifyLayer::new(keys).replay_store(Arc::clone(&shared.replay));
            Ok(webhooks::routes(shared, "discord", layer, webhooks::post))
        },
        examples: |config: &Section<'_>, at: &Examples| {
            webhooks::example_signed_with(config, at, "discord", PUBLIC_KEY, PRIVATE_KEY)
        },
        sign: Some(|text, signed, url, body, now| {
            webhooks::sign(
                Discord::default(),
                private_key(text)?,
                signed,
                url,
                body,
                now,
            )
        }),
    };

    /// The mock's demo public key: RFC 8032's first test key.
    pub(crate) const PUBLIC_KEY: &str =
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

    /// Its secret key (RFC 8032, section 7.1, TEST 1), what the example commands sign with.
    pub(crate) const PRIVATE_KEY: &str =
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Key;

    const PRIVATE: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut request = http::Request::post("/interactions");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(()).unwrap().into_parts().0
    }

    #[test]
    fn the_timestamp_is_signed_as_sent() {
        let key = private_key(PRIVATE).unwrap();
        let with_zero = signature(&key, "01763800000", b"{}");
        let without = signature(&key, "1763800000", b"{}");
        assert_ne!(with_zero, without);
        let presented = Discord::default()
            .credentials(&parts(&[
                ("x-signature-ed25519", &with_zero),
                ("x-signature-timestamp", "01763800000"),
            ]))
            .unwrap();
        assert_eq!(presented.credentials.seconds, 1_763_800_000);
        assert_eq!(&*presented.credentials.timestamp, "01763800000");
    }

    #[test]
    fn only_a_json_type_1_is_a_ping() {
        assert!(is_ping(br#"{"type":1}"#));
        assert!(is_ping(br#"{"id":"1","type":1,"version":1}"#));
        for other in [
            &br#"{"type":2}"#[..],
            br#"{"type":"1"}"#,
            br#"[{"type":1}]"#,
            br#"{"data":{"type":1}}"#,
            b"type 1",
            b"",
        ] {
            assert!(!is_ping(other), "{}", String::from_utf8_lossy(other));
        }
    }

    #[test]
    fn the_handshake_answers_type_1() {
        let material = KeyMaterial::from(private_key(PRIVATE).unwrap().public_key());
        let answer = Discord::default()
            .handshake(&Interaction::new(0), br#"{"type":1}"#, &material)
            .unwrap();
        assert_eq!(answer.status(), http::StatusCode::OK);
        assert_eq!(answer.body().as_ref(), br#"{"type":1}"#);
        assert_eq!(answer.headers()["content-type"], "application/json");
    }

    #[test]
    fn the_signer_refuses_a_shared_secret() {
        let signer = SchemeSigner::new(Discord::default(), crate::Secret::new("s").unwrap());
        let error = signer.headers("/", b"{}").unwrap_err();
        assert_eq!(error.kind(), crate::sign::SignErrorKind::UnsupportedKey);
        assert_eq!(
            error.to_string(),
            "discord senders do not sign with an HMAC secret"
        );
        // With the private key, the headers verify.
        let key = private_key(PRIVATE).unwrap();
        let headers = sign_request(&key, b"{}").unwrap();
        assert_eq!(headers["x-signature-ed25519"].len(), 128);
        assert!(headers["x-signature-ed25519"].is_sensitive());
        let _ = Key::new("discord", key.public_key());
    }
}
