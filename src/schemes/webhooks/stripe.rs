//! Stripe webhooks: an HMAC-SHA256 of the timestamp and the raw body, several during a rotation.
//!
//! Stripe signs each event with the endpoint's secret (`whsec_...`, used as is, prefix included)
//! (stripe-node `Webhooks.ts`, `generateTestHeaderString` and `constructEvent`):
//!
//! ```text
//! Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "{t}.{body}")>[,v1=<hex>...][,v0=<hex>]
//! ```
//!
//! While a secret is rolled, one `v1` per live secret is sent; a request verifies when one of
//! them matches a live secret of the layer's key. `v0` (test mode's fake signature) and any other
//! scheme are ignored, never verified: only `v1` counts, so a header without one is refused.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::time::{Duration, UNIX_EPOCH};
//!
//! use http::{Request, StatusCode};
//! use tower_hmac::stripe::{StripeVerifyLayer, signature};
//! use tower_hmac::{Key, ManualClock, Secret};
//!
//! let secret = Secret::new("whsec_test_secret").unwrap();
//! let now = UNIX_EPOCH + Duration::from_secs(1_763_800_000);
//! let layer = StripeVerifyLayer::new(Key::new("stripe", secret.clone())).clock(ManualClock::new(now));
//! let body = br#"{"id":"evt_1","type":"invoice.paid"}"#;
//! let request = |header: String| {
//!     Request::post("/webhooks/stripe")
//!         .header("stripe-signature", header)
//!         .body(())
//!         .unwrap()
//!         .into_parts()
//!         .0
//! };
//!
//! // Accepted: signed now (and a fake v0 beside it, as test mode sends).
//! let v1 = signature(&secret, 1_763_800_000, body);
//! let header = format!("t=1763800000,v1={v1},v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39");
//! assert!(layer.verifier().verify(&request(header), body).await.is_ok());
//!
//! // Refused: signed ten minutes ago.
//! let old = signature(&secret, 1_763_799_400, body);
//! let refused = layer.verifier().verify(&request(format!("t=1763799400,v1={old}")), body).await;
//! assert_eq!(refused.unwrap_err().kind().status(), StatusCode::UNAUTHORIZED);
//! # }
//! ```
//!
//! # Security
//!
//! - **Window.** `t` must lie within 300 s of now, each way (set with
//!   [`tolerance`](StripeVerifyLayer::tolerance)). Stripe's SDKs check only the past side and let
//!   a timestamp of any future through; this layer refuses it like a stale one.
//! - **Replay inside the window.** With a [`replay_store`](crate::VerifyLayer::replay_store), a
//!   copy of a handled event is acknowledged without reaching the handler (see
//!   [`webhooks`]); a delivery is identified by its verified signature, since
//!   Stripe signs no event id in a header (the event id is in the body). Stripe's own retries are
//!   signed anew (another `t`), so they reach the handler: make it idempotent on the event id, as
//!   Stripe asks.
//! - **Header form.** Exactly one `t=` (digits); at most
//!   [`Signatures::MAX`](crate::pipeline::Signatures::MAX) `v1=`, each 64 hex digits (either
//!   case); an empty or shorter `v1` is `malformed_credentials`, never a shorter compare. The
//!   timestamp is signed as its decimal value, as the SDKs do (`t=01763800000` signs
//!   `1763800000.`).
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
use crate::webhooks::{self, Delivery, pairs, unix_secs};

/// The layer verifying Stripe events.
pub type StripeVerifyLayer = VerifyLayer<Stripe>;

/// The service built by [`StripeVerifyLayer`].
pub type StripeVerify<S> = Verify<S, Stripe>;

/// Signs events as Stripe does (for tests, or to send them).
pub type StripeSigner = SchemeSigner<Stripe>;

const STRIPE_SIGNATURE: HeaderName = HeaderName::from_static("stripe-signature");

const FORM: &str = "Stripe-Signature header must be t=<unix seconds>,v1=<64 hex digits>[,v1=...]";

/// The Stripe scheme: its timestamp window.
#[derive(Debug, Clone, Default)]
pub struct Stripe {
    window: Window,
}

/// What a Stripe event signs besides its body: the timestamp.
#[derive(Debug)]
pub struct StripeEvent {
    timestamp: u64,
}

impl StripeVerifyLayer {
    /// A layer checking events against the secrets of `keys` (a [`Key`](crate::Key) holding the
    /// endpoint's `whsec_` secret, two during a roll), with a 300 s window each way.
    ///
    /// It keeps its own in-process replay store, so that this instance handles no delivery
    /// twice; share one between instances with [`replay_store`](VerifyLayer::replay_store).
    pub fn new(keys: impl KeyStore) -> Self {
        webhooks::layer(Stripe::default(), keys)
    }

    /// How far from now `t` may be, each way (default 300 s, Stripe's SDKs' default).
    pub fn tolerance(self, tolerance: Duration) -> Self {
        self.map_scheme(|s| s.window = Window::symmetric(tolerance))
    }
}

impl Scheme for Stripe {
    type Credentials = StripeEvent;
    type Identity = Delivery;
    type Body = BodySigned;

    fn name(&self) -> &'static str {
        "stripe"
    }

    fn credentials(&self, request: &Parts) -> Result<Presented<StripeEvent>, Rejection> {
        let header = single(request, &STRIPE_SIGNATURE, "Stripe-Signature")?;
        let mut timestamp = None;
        let mut signatures = Signatures::new();
        for (scheme, value) in pairs(header, ',') {
            match scheme {
                "t" if timestamp.is_none() => {
                    timestamp = Some(unix_seconds(value, "Stripe-Signature t=")?);
                }
                "t" => return Err(Rejection::malformed("Stripe-Signature header has two t=")),
                "v1" => {
                    let tag =
                        Tag::from_hex(value.as_bytes()).map_err(|_| Rejection::malformed(FORM))?;
                    signatures
                        .push(tag)
                        .map_err(|_| Rejection::malformed("Stripe-Signature has too many v1="))?;
                }
                // v0 and any other scheme: never verified.
                _ => {}
            }
        }
        let (Some(timestamp), false) = (timestamp, signatures.is_empty()) else {
            return Err(Rejection::malformed(FORM));
        };
        Ok(Presented {
            credentials: StripeEvent { timestamp },
            proof: Proof::Mac(signatures),
        })
    }

    fn check_fresh(&self, event: &StripeEvent, now: SystemTime) -> Result<(), Rejection> {
        self.window.check_secs(event.timestamp, now)
    }

    /// `"{t}.{body}"`, the timestamp as its decimal value.
    fn message(&self, event: &StripeEvent, body: &[u8], message: &mut Message<'_>) {
        message.write_decimal(event.timestamp);
        message.write(b".");
        message.write(body);
    }

    fn delivers(&self) -> bool {
        true
    }

    fn nonce_ttl(&self, event: &StripeEvent, now: SystemTime) -> Duration {
        self.window
            .remaining_millis(event.timestamp.saturating_mul(1000), now)
    }

    fn identity(&self, event: StripeEvent, _: Option<&MatchedSecret>) -> Delivery {
        Delivery::unsigned_id(None, Some(event.timestamp.saturating_mul(1000)))
    }
}

impl Sender for Stripe {
    fn credentials_to_sign(
        &self,
        _request: &Parts,
        _body: &[u8],
        now: SystemTime,
    ) -> Result<StripeEvent, SignError> {
        Ok(StripeEvent {
            timestamp: unix_secs(now),
        })
    }

    fn put(
        &self,
        event: &StripeEvent,
        signature: &Tag,
        request: &mut Parts,
    ) -> Result<(), SignError> {
        let value = format!("t={},v1={}", event.timestamp, signature.to_hex());
        request.headers.insert(
            STRIPE_SIGNATURE,
            sensitive(value.as_bytes(), "Stripe-Signature")?,
        );
        Ok(())
    }
}

/// The `v1` signature Stripe sends for `body` at `timestamp` (seconds): hex, without `v1=`.
pub fn signature(secret: &Secret, timestamp: u64, body: &[u8]) -> String {
    sign_message(&Stripe::default(), &StripeEvent { timestamp }, body, secret).to_hex()
}

/// The `Stripe-Signature` header of an event of `body`, signed now.
pub fn sign_request(secret: &Secret, body: &[u8]) -> Result<HeaderMap, SignError> {
    SchemeSigner::new(Stripe::default(), secret.clone()).headers("/", body)
}

/// The mock's Stripe receiver (feature `mock`).
#[cfg(feature = "mock")]
pub(crate) mod mock {
    use super::{Stripe, StripeVerifyLayer};
    use crate::mock::webhooks::{MockSender, provider};

    pub(crate) const PROVIDER: crate::mock::Provider = provider::<Stripe>();

    impl MockSender for Stripe {
        const NAME: &'static str = "stripe";
        /// The mock's demo secret.
        const SECRET: &'static str = "whsec_test_secret";

        fn receiver(keys: crate::MemoryKeyStore) -> StripeVerifyLayer {
            StripeVerifyLayer::new(keys)
        }
    }
}
