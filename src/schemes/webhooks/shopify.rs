//! Shopify webhooks: a base64 HMAC-SHA256 of the raw body.
//!
//! Shopify signs each webhook with the app's client secret ([Verify webhook
//! deliveries](https://shopify.dev/docs/apps/build/webhooks/verify-deliveries),
//! `@shopify/shopify-api`'s `webhooks.validate`):
//!
//! ```text
//! X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256(client secret, raw body)>
//! X-Shopify-Webhook-Id:  <id>        (not signed)
//! ```
//!
//! [`ShopifyVerifyLayer`] checks the signature against every live secret of its key (rotate the
//! client secret with two secrets live: Shopify says it may take up to an hour to sign with the
//! new one) and hands the handler a [`Delivery`] whose [`id`](Delivery::id) is the unsigned
//! `X-Shopify-Webhook-Id`. Shopify's "Events" deliveries carry the same headers without the `X-`
//! (`Shopify-Hmac-Sha256`, `Shopify-Webhook-Id`); as in the SDK, those are read when
//! `Shopify-Hmac-Sha256` is present.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use http::{Request, StatusCode};
//! use tower_hmac::shopify::{ShopifyVerifyLayer, signature};
//! use tower_hmac::{Key, RejectionKind, Secret};
//!
//! let secret = Secret::new("shopify_demo_secret").unwrap();
//! let layer = ShopifyVerifyLayer::new(Key::new("shopify", secret.clone()));
//! let request = |hmac: &str| {
//!     Request::post("/webhooks/shopify")
//!         .header("x-shopify-hmac-sha256", hmac)
//!         .header("x-shopify-topic", "orders/create")
//!         .header("x-shopify-webhook-id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
//!         .body(())
//!         .unwrap()
//!         .into_parts()
//!         .0
//! };
//! let body = br#"{"id":820982911946154508,"email":"jon@example.com","total_price":"254.98","line_items":[{"title":"IPod Nano - 8GB","quantity":1}]}"#;
//!
//! // Accepted: signed as @shopify/shopify-api's test helper signs.
//! let good = "+umX/Q3C0BxobC2zJVmnUw30oLO7ONgq0kd1+B1iyLQ=";
//! assert_eq!(signature(&secret, body), good);
//! let delivery = layer.verifier().verify(&request(good), body).await.unwrap();
//! assert_eq!(delivery.identity().id(), Some("b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"));
//! assert!(!delivery.identity().id_is_signed());
//!
//! // Refused: the same signature over another body.
//! let refused = layer.verifier().verify(&request(good), b"{}").await.unwrap_err();
//! assert_eq!(refused.kind().status(), StatusCode::UNAUTHORIZED);
//!
//! // Refused: the padding dropped is not a shorter compare.
//! let refused = layer.verifier().verify(&request(good.trim_end_matches('=')), body).await.unwrap_err();
//! assert_eq!(refused.kind(), RejectionKind::MalformedCredentials);
//! # }
//! ```
//!
//! # Where Shopify's docs, its SDK and this layer differ
//!
//! - **Required headers.** `webhooks.validate` also refuses a delivery whose HMAC is right but
//!   which lacks `X-Shopify-Topic`, `X-Shopify-Shop-Domain`, `X-Shopify-API-Version` or
//!   `X-Shopify-Webhook-Id` (`missing_headers`): it needs them to route the webhook. The docs'
//!   check does not, and none of them is signed, so requiring them would prove nothing: this
//!   layer does not. `X-Shopify-Webhook-Id` is passed on when present.
//! - **Empty body.** The SDK refuses an empty body before looking at the HMAC (`missing_body`);
//!   this layer verifies the HMAC of zero bytes like any other (Shopify sends none).
//! - **Body.** The SDK MACs the body as a JavaScript string, so a body that is not UTF-8 is
//!   decoded lossily first and its real HMAC fails; this layer MACs the raw bytes, as Shopify
//!   signs them.
//! - **Encoding.** Both compare the base64 text, so only the padded standard form matches; this
//!   layer decodes it strictly (44 characters, padded, standard alphabet, canonical) and compares
//!   the 32 bytes.
//!
//! # Security
//!
//! - **No timestamp.** Shopify signs the body alone: a captured delivery verifies forever
//!   (`X-Shopify-Triggered-At` is not signed either). With a
//!   [`replay_store`](crate::VerifyLayer::replay_store) (the layer has its own by default) a copy
//!   of a handled delivery is acknowledged without reaching the handler for 24 hours (see
//!   [`webhooks`]); after that it would be handled again.
//! - **`X-Shopify-Webhook-Id` is not signed.** Shopify's docs suggest ignoring deliveries whose
//!   id was seen before; but whoever captured a delivery can send it again under a new id. So
//!   the id reaches the handler in [`Delivery::id`], unsigned, and is never used to recognise a
//!   copy: the verified signature is (a retry that resends the same body carries the same
//!   signature, and is recognised).
//! - **Strict decoding.** An empty, truncated, unpadded, URL-safe or hex signature, or a repeated
//!   header, is `malformed_credentials`, never a shorter or lenient compare.

use std::sync::Arc;
use std::time::SystemTime;

use http::request::Parts;
use http::{HeaderMap, HeaderName};

use crate::crypto::{Message, Secret, Tag};
use crate::keys::KeyStore;
use crate::pipeline::headers::{optional, single};
use crate::pipeline::{BodySigned, MatchedSecret, Presented, Scheme, Verify, VerifyLayer};
use crate::rejection::Rejection;
use crate::sign::{SchemeSigner, Sender, SignError, header_value, sensitive, sign_message};
use crate::webhooks::{self, Delivery, fresh_id};

/// The layer verifying Shopify webhooks.
pub type ShopifyVerifyLayer = VerifyLayer<Shopify>;

/// The service built by [`ShopifyVerifyLayer`].
pub type ShopifyVerify<S> = Verify<S, Shopify>;

/// Signs webhooks as Shopify does (for tests, or to send them).
pub type ShopifySigner = SchemeSigner<Shopify>;

/// The headers of a webhook: `X-Shopify-*`, and the un-prefixed names of Shopify's "Events"
/// deliveries.
struct Names {
    hmac: HeaderName,
    hmac_display: &'static str,
    id: HeaderName,
    id_display: &'static str,
}

const WEBHOOKS: Names = Names {
    hmac: HeaderName::from_static("x-shopify-hmac-sha256"),
    hmac_display: "X-Shopify-Hmac-Sha256",
    id: HeaderName::from_static("x-shopify-webhook-id"),
    id_display: "X-Shopify-Webhook-Id",
};

const EVENTS: Names = Names {
    hmac: HeaderName::from_static("shopify-hmac-sha256"),
    hmac_display: "Shopify-Hmac-Sha256",
    id: HeaderName::from_static("shopify-webhook-id"),
    id_display: "Shopify-Webhook-Id",
};

const SIGNATURE_FORM: &str =
    "X-Shopify-Hmac-Sha256 header must be the standard, padded base64 of an HMAC-SHA256";

/// The Shopify scheme.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct Shopify;

/// What a Shopify webhook carries besides its signature: its (unsigned) webhook id.
#[derive(Debug)]
pub struct ShopifyWebhook {
    id: Option<Arc<str>>,
}

impl ShopifyVerifyLayer {
    /// A layer checking webhooks against the secrets of `keys`: a [`Key`](crate::Key) holding
    /// the app's client secret (two during a rotation), or a store holding it under `shopify`.
    ///
    /// It keeps its own in-process replay store, so that this instance handles no delivery
    /// twice; share one between instances with [`replay_store`](VerifyLayer::replay_store).
    pub fn new(keys: impl KeyStore) -> Self {
        webhooks::layer(Shopify, keys)
    }
}

impl Scheme for Shopify {
    type Credentials = ShopifyWebhook;
    type Identity = Delivery;
    type Body = BodySigned;

    fn name(&self) -> &'static str {
        "shopify"
    }

    fn credentials(&self, request: &Parts) -> Result<Presented<ShopifyWebhook>, Rejection> {
        // As @shopify/shopify-api: the Events names when their HMAC header is there.
        let names = if request.headers.contains_key(&EVENTS.hmac) {
            &EVENTS
        } else {
            &WEBHOOKS
        };
        let signature = single(request, &names.hmac, names.hmac_display)?;
        let tag = Tag::from_base64(signature.as_bytes())
            .map_err(|_| Rejection::malformed(SIGNATURE_FORM))?;
        let id = optional(request, &names.id, names.id_display)?;
        Ok(Presented::mac(
            ShopifyWebhook {
                id: id.map(Into::into),
            },
            tag,
        ))
    }

    /// The raw body, nothing else.
    fn message(&self, _webhook: &ShopifyWebhook, body: &[u8], message: &mut Message<'_>) {
        message.write(body);
    }

    fn delivers(&self) -> bool {
        true
    }

    fn identity(&self, webhook: ShopifyWebhook, _: Option<&MatchedSecret>) -> Delivery {
        Delivery::unsigned_id(webhook.id, None)
    }
}

impl Sender for Shopify {
    fn credentials_to_sign(
        &self,
        _request: &Parts,
        _body: &[u8],
        _now: SystemTime,
    ) -> Result<ShopifyWebhook, SignError> {
        Ok(ShopifyWebhook {
            id: Some(fresh_id()?.into()),
        })
    }

    fn put(
        &self,
        webhook: &ShopifyWebhook,
        signature: &Tag,
        request: &mut Parts,
    ) -> Result<(), SignError> {
        let headers = &mut request.headers;
        headers.insert(
            WEBHOOKS.hmac,
            sensitive(signature.to_base64().as_bytes(), WEBHOOKS.hmac_display)?,
        );
        if let Some(id) = &webhook.id {
            headers.insert(
                WEBHOOKS.id,
                header_value(id.as_bytes(), WEBHOOKS.id_display)?,
            );
        }
        Ok(())
    }
}

/// The `X-Shopify-Hmac-Sha256` Shopify sends for `body`: standard, padded base64.
pub fn signature(secret: &Secret, body: &[u8]) -> String {
    sign_message(&Shopify, &ShopifyWebhook { id: None }, body, secret).to_base64()
}

/// The headers of a Shopify webhook of `body`: `X-Shopify-Hmac-Sha256` and a fresh
/// `X-Shopify-Webhook-Id`.
pub fn sign_request(secret: &Secret, body: &[u8]) -> Result<HeaderMap, SignError> {
    SchemeSigner::new(Shopify, secret.clone()).headers("/", body)
}

/// The mock's Shopify receiver (feature `mock`).
#[cfg(feature = "mock")]
pub(crate) mod mock {
    use super::{Shopify, ShopifyVerifyLayer};
    use crate::mock::webhooks::{MockSender, provider};

    pub(crate) const PROVIDER: crate::mock::Provider = provider::<Shopify>();

    impl MockSender for Shopify {
        const NAME: &'static str = "shopify";
        /// The mock's demo secret.
        const SECRET: &'static str = "shopify_demo_secret";

        fn receiver(keys: crate::MemoryKeyStore) -> ShopifyVerifyLayer {
            ShopifyVerifyLayer::new(keys)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RejectionKind;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut request = http::Request::post("/");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(()).unwrap().into_parts().0
    }

    const GOOD: &str = "+umX/Q3C0BxobC2zJVmnUw30oLO7ONgq0kd1+B1iyLQ=";

    #[test]
    fn the_events_names_are_read_when_their_hmac_is_there() {
        let presented = Shopify
            .credentials(&parts(&[
                ("shopify-hmac-sha256", GOOD),
                ("shopify-webhook-id", "events-id"),
                ("x-shopify-hmac-sha256", "not read"),
                ("x-shopify-webhook-id", "webhooks-id"),
            ]))
            .unwrap();
        assert_eq!(presented.credentials.id.as_deref(), Some("events-id"));
        let presented = Shopify
            .credentials(&parts(&[
                ("x-shopify-hmac-sha256", GOOD),
                ("shopify-webhook-id", "events-id"),
            ]))
            .unwrap();
        assert_eq!(presented.credentials.id, None);
        let refused = Shopify
            .credentials(&parts(&[("shopify-webhook-id", "events-id")]))
            .unwrap_err();
        assert_eq!(refused.kind(), RejectionKind::MissingCredentials);
        assert_eq!(refused.message(), "missing X-Shopify-Hmac-Sha256 header");
    }

    #[test]
    fn only_strict_base64_of_32_bytes_is_read() {
        for bad in [
            "",
            "=",
            &GOOD[..43],
            &GOOD[..20],
            "-umX_Q3C0BxobC2zJVmnUw30oLO7ONgq0kd1-B1iyLQ=",
            "+umX/Q3C0BxobC2zJVmnUw30oLO7ONgq0kd1+B1iyLR=",
            "+umX/Q3C0BxobC2zJVmnUw30oLO7ONgq0kd1+B1iyLQ==",
            "3467...",
        ] {
            let refused = Shopify
                .credentials(&parts(&[("x-shopify-hmac-sha256", bad)]))
                .unwrap_err();
            assert_eq!(
                refused.kind(),
                RejectionKind::MalformedCredentials,
                "{bad:?}"
            );
        }
    }
}
