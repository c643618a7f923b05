//! Paddle Billing webhooks: an HMAC-SHA256 of the timestamp and the raw body, several during a
//! rotation, within five seconds.
//!
//! Paddle signs each notification with the notification destination's secret key
//! (`pdl_ntfset_...`, used as is, prefix included) ([Verify webhook
//! signatures](https://developer.paddle.com/webhooks/signature-verification),
//! `paddle-python-sdk`'s `Verifier`, `@paddle/paddle-node-sdk`'s `webhooks.unmarshal`):
//!
//! ```text
//! Paddle-Signature: ts=<unix seconds>;h1=<hex HMAC-SHA256(secret, "{ts}:{body}")>[;h1=<hex>...]
//! ```
//!
//! A request verifies when one of its `h1` matches a live secret of the layer's key.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::time::{Duration, UNIX_EPOCH};
//!
//! use http::{Request, StatusCode};
//! use tower_hmac::paddle::{PaddleVerifyLayer, signature};
//! use tower_hmac::{Key, ManualClock, Secret};
//!
//! let secret = Secret::new("pdl_ntfset_demo_secret").unwrap();
//! let now = UNIX_EPOCH + Duration::from_secs(1_763_800_001);
//! let layer = PaddleVerifyLayer::new(Key::new("paddle", secret.clone())).clock(ManualClock::new(now));
//! let request = |header: String| {
//!     Request::post("/webhooks/paddle")
//!         .header("paddle-signature", header)
//!         .body(())
//!         .unwrap()
//!         .into_parts()
//!         .0
//! };
//! let body = br#"{"event_id":"evt_01hv8x2acma8cqr7qcs5gy3z2g","event_type":"transaction.completed","occurred_at":"2025-11-22T08:26:40.000000Z","notification_id":"ntf_01hv8x2af1f9gbjnjn6h0k5y5e","data":{"id":"txn_01hv8wptq8987qeep44cyrewp9","status":"completed"}}"#;
//!
//! // Accepted: signed a second ago (as paddle-python-sdk's calculate_hmac signs), and listed
//! // first beside another secret's signature, as during a rotation.
//! let h1 = signature(&secret, 1_763_800_000, body);
//! assert_eq!(h1, "8b1ce6331a84283b7b7a4ff64520e334ef96bf16aede38688295801fa852bfd4");
//! let header = format!("ts=1763800000;h1={h1};h1=94a0c4a504c9022fae73d1b98b6212d3f8039ff0185c6c3e7aee88cef9ec7540");
//! assert!(layer.verifier().verify(&request(header), body).await.is_ok());
//!
//! // Refused: signed ten seconds ago.
//! let old = signature(&secret, 1_763_799_991, body);
//! let refused = layer.verifier().verify(&request(format!("ts=1763799991;h1={old}")), body).await;
//! assert_eq!(refused.unwrap_err().kind().status(), StatusCode::UNAUTHORIZED);
//! # }
//! ```
//!
//! # Where Paddle's docs, its SDKs and this layer differ
//!
//! - **Several `h1`.** The docs say a header carries "at least one `h1`" (one per live secret
//!   while a destination's secret is rotated), and `paddle-python-sdk` accepts the header when any
//!   of them matches. `@paddle/paddle-node-sdk` keeps only the last `h1` it reads, so a rotation
//!   header verifies or not depending on the order the signatures are listed in (its answers are
//!   in the test vectors: the current secret's signature listed first is refused). This layer
//!   follows the docs and the Python SDK: any one matching verifies, wherever it is. That gives
//!   nothing away: each `h1` must be a whole 32-byte MAC under a live secret, and at most
//!   [`Signatures::MAX`] are read.
//! - **Window.** The docs promise the SDKs' "five-second tolerance"; `paddle-python-sdk` applies
//!   it both ways, `@paddle/paddle-node-sdk` only to the past (a timestamp of any future passes,
//!   even one in milliseconds). This layer refuses a `ts` more than 5 s from now either way (set
//!   with [`tolerance`](PaddleVerifyLayer::tolerance)), as the Python SDK does, and has no
//!   switch like its `TEST_MODE` environment variable that turns the check off.
//! - **Header form.** As `paddle-python-sdk`, an item other than `ts=` or `h1=` is refused (the
//!   Node SDK skips it). More strictly than either: an item must be exactly `ts=<digits>` or
//!   `h1=<64 hex digits>` (no spaces, no empty item, one `ts`); an empty or shorter `h1` is
//!   `malformed_credentials` (the Node SDK throws, the Python one compares and fails). The
//!   timestamp is signed as its decimal value, as both SDKs do (`ts=01763800000` signs
//!   `1763800000:`). Upper-case hex is the same 32 bytes here; the SDKs compare text and refuse
//!   it.
//! - **Body.** The SDKs take the body as text (the Python SDK decodes it as UTF-8 and raises on
//!   other bytes; the Node SDK is handed a string); this layer MACs the raw bytes, as Paddle signs
//!   them.
//!
//! # Security
//!
//! - **Five seconds is tight.** Keep the server's clock synchronised (NTP); a receiver whose
//!   requests wait in a queue before this layer sees them should widen the window with
//!   [`tolerance`](PaddleVerifyLayer::tolerance). The window is checked again as of acceptance
//!   when the body was slow to arrive.
//! - **Replay inside the window.** With a [`replay_store`](crate::VerifyLayer::replay_store) (the
//!   layer has its own by default) a copy of a handled notification is acknowledged without
//!   reaching the handler (see [`webhooks`]); a notification is identified by its verified
//!   signature, since Paddle signs no id in a header (`notification_id` and `event_id` are in the
//!   body). A retry from Paddle carries its own `ts` (a copy of the first would be outside the
//!   window), so it reaches the handler: make the handler idempotent on `notification_id`.
//! - **Body.** The raw bytes as received, never re-encoded and not required to be UTF-8.

use std::time::{Duration, SystemTime};

use http::request::Parts;
use http::{HeaderMap, HeaderName};

use crate::crypto::{Message, Secret, Tag};
use crate::keys::KeyStore;
use crate::pipeline::headers::single;
use crate::pipeline::{
    BodySigned, MatchedSecret, Presented, Proof, Scheme, Signatures, Verify, VerifyLayer, Window,
    unix_seconds,
};
use crate::rejection::Rejection;
use crate::sign::{SchemeSigner, Sender, SignError, sensitive, sign_message};
use crate::webhooks::{self, Delivery, unix_secs};

/// The layer verifying Paddle notifications.
pub type PaddleVerifyLayer = VerifyLayer<Paddle>;

/// The service built by [`PaddleVerifyLayer`].
pub type PaddleVerify<S> = Verify<S, Paddle>;

/// Signs notifications as Paddle does (for tests, or to send them).
pub type PaddleSigner = SchemeSigner<Paddle>;

/// The default window, each way: the SDKs' five seconds.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5);

const PADDLE_SIGNATURE: HeaderName = HeaderName::from_static("paddle-signature");

const FORM: &str = "Paddle-Signature header must be ts=<unix seconds>;h1=<64 hex digits>[;h1=...]";

/// The Paddle scheme: its timestamp window.
#[derive(Debug, Clone)]
pub struct Paddle {
    window: Window,
}

impl Default for Paddle {
    /// [`DEFAULT_TOLERANCE`] each way.
    fn default() -> Self {
        Self {
            window: Window::symmetric(DEFAULT_TOLERANCE),
        }
    }
}

/// What a Paddle notification signs besides its body: the timestamp.
#[derive(Debug)]
pub struct PaddleNotification {
    timestamp: u64,
}

impl PaddleVerifyLayer {
    /// A layer checking notifications against the secrets of `keys` (a [`Key`](crate::Key)
    /// holding the destination's `pdl_ntfset_` secret key, two during a rotation), with a 5 s
    /// window each way.
    ///
    /// It keeps its own in-process replay store, so that this instance handles no delivery
    /// twice; share one between instances with [`replay_store`](VerifyLayer::replay_store).
    pub fn new(keys: impl KeyStore) -> Self {
        webhooks::layer(Paddle::default(), keys)
    }

    /// How far from now `ts` may be, each way (default [`DEFAULT_TOLERANCE`], 5 s).
    pub fn tolerance(self, tolerance: Duration) -> Self {
        self.map_scheme(|s| s.window = Window::symmetric(tolerance))
    }
}

impl Scheme for Paddle {
    type Credentials = PaddleNotification;
    type Identity = Delivery;
    type Body = BodySigned;

    fn name(&self) -> &'static str {
        "paddle"
    }

    fn credentials(&self, request: &Parts) -> Result<Presented<PaddleNotification>, Rejection> {
        let header = single(request, &PADDLE_SIGNATURE, "Paddle-Signature")?;
        let mut timestamp = None;
        let mut signatures = Signatures::new();
        for item in header.split(';') {
            match item.split_once('=') {
                Some(("ts", value)) if timestamp.is_none() => {
                    timestamp = Some(unix_seconds(value, "Paddle-Signature ts=")?);
                }
                Some(("ts", _)) => {
                    return Err(Rejection::malformed("Paddle-Signature header has two ts="));
                }
                Some(("h1", value)) => {
                    let tag =
                        Tag::from_hex(value.as_bytes()).map_err(|_| Rejection::malformed(FORM))?;
                    signatures
                        .push(tag)
                        .map_err(|_| Rejection::malformed("Paddle-Signature has too many h1="))?;
                }
                // Another key, a space, an empty item, no `=`.
                _ => return Err(Rejection::malformed(FORM)),
            }
        }
        let (Some(timestamp), false) = (timestamp, signatures.is_empty()) else {
            return Err(Rejection::malformed(FORM));
        };
        Ok(Presented {
            credentials: PaddleNotification { timestamp },
            proof: Proof::Mac(signatures),
        })
    }

    fn check_fresh(
        &self,
        notification: &PaddleNotification,
        now: SystemTime,
    ) -> Result<(), Rejection> {
        self.window.check_secs(notification.timestamp, now)
    }

    /// `"{ts}:{body}"`, the timestamp as its decimal value.
    fn message(&self, notification: &PaddleNotification, body: &[u8], message: &mut Message<'_>) {
        message.write_decimal(notification.timestamp);
        message.write(b":");
        message.write(body);
    }

    fn delivers(&self) -> bool {
        true
    }

    fn nonce_ttl(&self, notification: &PaddleNotification, now: SystemTime) -> Duration {
        self.window
            .remaining_millis(notification.timestamp.saturating_mul(1000), now)
    }

    fn identity(&self, notification: PaddleNotification, _: Option<&MatchedSecret>) -> Delivery {
        Delivery::unsigned_id(None, Some(notification.timestamp.saturating_mul(1000)))
    }
}

impl Sender for Paddle {
    fn credentials_to_sign(
        &self,
        _request: &Parts,
        _body: &[u8],
        now: SystemTime,
    ) -> Result<PaddleNotification, SignError> {
        Ok(PaddleNotification {
            timestamp: unix_secs(now),
        })
    }

    fn put(
        &self,
        notification: &PaddleNotification,
        signature: &Tag,
        request: &mut Parts,
    ) -> Result<(), SignError> {
        let value = format!("ts={};h1={}", notification.timestamp, signature.to_hex());
        request.headers.insert(
            PADDLE_SIGNATURE,
            sensitive(value.as_bytes(), "Paddle-Signature")?,
        );
        Ok(())
    }
}

/// The `h1` signature Paddle sends for `body` at `timestamp` (seconds): hex, without `h1=`.
pub fn signature(secret: &Secret, timestamp: u64, body: &[u8]) -> String {
    let notification = PaddleNotification { timestamp };
    sign_message(&Paddle::default(), &notification, body, secret).to_hex()
}

/// The `Paddle-Signature` header of a notification of `body`, signed now.
pub fn sign_request(secret: &Secret, body: &[u8]) -> Result<HeaderMap, SignError> {
    SchemeSigner::new(Paddle::default(), secret.clone()).headers("/", body)
}

/// The mock's Paddle receiver (feature `mock`).
#[cfg(feature = "mock")]
pub(crate) mod mock {
    use super::{Paddle, PaddleVerifyLayer};
    use crate::mock::webhooks::{MockSender, provider};

    pub(crate) const PROVIDER: crate::mock::Provider = provider::<Paddle>();

    impl MockSender for Paddle {
        const NAME: &'static str = "paddle";
        /// The mock's demo secret.
        const SECRET: &'static str = "pdl_ntfset_demo_secret";

        fn receiver(keys: crate::MemoryKeyStore) -> PaddleVerifyLayer {
            PaddleVerifyLayer::new(keys)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RejectionKind;

    const H1: &str = "8b1ce6331a84283b7b7a4ff64520e334ef96bf16aede38688295801fa852bfd4";

    fn read(header: &str) -> Result<Presented<PaddleNotification>, Rejection> {
        let parts = http::Request::post("/")
            .header("paddle-signature", header)
            .body(())
            .unwrap()
            .into_parts()
            .0;
        Paddle::default().credentials(&parts)
    }

    #[test]
    fn every_h1_is_kept_in_order_and_ts_wherever_it_is() {
        let other = "94a0c4a504c9022fae73d1b98b6212d3f8039ff0185c6c3e7aee88cef9ec7540";
        let presented = read(&format!("h1={other};ts=1763800000;h1={H1}")).unwrap();
        assert_eq!(presented.credentials.timestamp, 1_763_800_000);
        let Proof::Mac(tags) = presented.proof else {
            panic!("a MAC proof")
        };
        let hex: Vec<_> = tags.as_slice().iter().map(Tag::to_hex).collect();
        assert_eq!(hex, [other, H1]);
        let upper = read(&format!("ts=01763800000;h1={}", H1.to_uppercase())).unwrap();
        assert_eq!(upper.credentials.timestamp, 1_763_800_000);
    }

    #[test]
    fn anything_but_ts_and_h1_items_is_malformed() {
        let h1s = vec![format!("h1={H1}"); Signatures::MAX + 1];
        let many = format!("ts=1;{}", h1s.join(";"));
        for bad in [
            format!("ts=1763800000; h1={H1}"),
            format!("ts=1763800000 ;h1={H1}"),
            format!("ts=1763800000;h1={H1};"),
            format!("ts=1763800000;;h1={H1}"),
            format!("ts=1763800000;h1={H1};h2=abc"),
            format!("ts=1763800000;h1={H1};junk"),
            format!("ts=1763800000;h1={H1};ts=1763800000"),
            format!("ts=1763800000;h1={H1}=x"),
            format!("ts=1763800000;H1={H1}"),
            format!("TS=1763800000;h1={H1}"),
            format!("ts=1763800000.0;h1={H1}"),
            format!("ts=+1763800000;h1={H1}"),
            format!("ts=;h1={H1}"),
            format!("ts=1763800000;h1={}", &H1[..63]),
            format!("ts=1763800000;h1={H1}0"),
            format!("ts=1763800000;h1={H1};h1="),
            "ts=1763800000;h1=".to_owned(),
            "ts=1763800000".to_owned(),
            format!("h1={H1}"),
            many,
        ] {
            let refused = read(&bad).unwrap_err();
            assert_eq!(refused.kind(), RejectionKind::MalformedCredentials, "{bad}");
        }
    }
}
