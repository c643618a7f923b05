//! GitHub webhooks: an HMAC-SHA256 of the raw body.
//!
//! GitHub signs each delivery with the webhook's secret
//! ([Validating webhook deliveries](https://docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries),
//! `@octokit/webhooks-methods`):
//!
//! ```text
//! X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, raw body)>
//! X-GitHub-Delivery:   <GUID>        (not signed)
//! ```
//!
//! [`GitHubVerifyLayer`] checks the signature against every live secret of its key (rotate a
//! webhook's secret with two secrets live) and hands the handler a [`Delivery`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use http::{Request, StatusCode};
//! use tower_hmac::github::{GitHubVerifyLayer, signature};
//! use tower_hmac::{Key, Secret};
//!
//! let secret = Secret::new("It's a Secret to Everybody").unwrap();
//! let layer = GitHubVerifyLayer::new(Key::new("github", secret.clone()));
//! let request = |signature: &str| {
//!     Request::post("/webhooks/github")
//!         .header("x-hub-signature-256", signature)
//!         .header("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
//!         .body(())
//!         .unwrap()
//!         .into_parts()
//!         .0
//! };
//!
//! // Accepted: GitHub's documented example.
//! let good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
//! assert_eq!(signature(&secret, b"Hello, World!"), good);
//! let delivery = layer.verifier().verify(&request(good), b"Hello, World!").await.unwrap();
//! assert_eq!(delivery.identity().id(), Some("72d3162e-cc78-11e3-81ab-4c9367dc0958"));
//! assert!(!delivery.identity().id_is_signed());
//!
//! // Refused: the same signature over another body.
//! let refused = layer.verifier().verify(&request(good), b"Hello, World?").await.unwrap_err();
//! assert_eq!(refused.kind().status(), StatusCode::UNAUTHORIZED);
//! # }
//! ```
//!
//! # Security
//!
//! - **No timestamp.** GitHub signs the body alone: a captured delivery verifies forever. With a
//!   [`replay_store`](crate::VerifyLayer::replay_store) a copy of a handled delivery is
//!   acknowledged without reaching the handler for 24 hours (see [`webhooks`]);
//!   after that it would be handled again.
//! - **`X-GitHub-Delivery` is not signed.** It reaches the handler in [`Delivery::id`], unsigned,
//!   and is never used to recognise a copy: the verified signature is.
//! - **Encoding.** `sha256=` then 64 hex digits; upper-case hex is the same signature (GitHub
//!   sends lower case; the official Node SDK refuses upper case, its browser build and GitHub's
//!   own JavaScript example accept it). Anything else, an empty or shorter signature included,
//!   is `malformed_credentials`. The legacy `X-Hub-Signature: sha1=` header is not read.
//! - **Body.** The raw bytes as received, never re-encoded and not required to be UTF-8 (the
//!   official SDK takes a string; a non-UTF-8 body verifies here as GitHub signed it).

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

/// The layer verifying GitHub deliveries.
pub type GitHubVerifyLayer = VerifyLayer<GitHub>;

/// The service built by [`GitHubVerifyLayer`].
pub type GitHubVerify<S> = Verify<S, GitHub>;

/// Signs deliveries as GitHub does (for tests, or to send them).
pub type GitHubSigner = SchemeSigner<GitHub>;

const X_HUB_SIGNATURE_256: HeaderName = HeaderName::from_static("x-hub-signature-256");
const X_GITHUB_DELIVERY: HeaderName = HeaderName::from_static("x-github-delivery");

const SIGNATURE_FORM: &str = "X-Hub-Signature-256 header must be sha256=<64 hex digits>";

/// The GitHub scheme.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct GitHub;

/// What a GitHub delivery carries besides its signature: its (unsigned) delivery id.
#[derive(Debug)]
pub struct GitHubDelivery {
    id: Option<Arc<str>>,
}

impl GitHubVerifyLayer {
    /// A layer checking deliveries against the secrets of `keys`: a [`Key`](crate::Key) holding
    /// the webhook's secret (two during a rotation), or a store holding it under `github`.
    ///
    /// It keeps its own in-process replay store, so that this instance handles no delivery
    /// twice; share one between instances with [`replay_store`](VerifyLayer::replay_store).
    pub fn new(keys: impl KeyStore) -> Self {
        webhooks::layer(GitHub, keys)
    }
}

impl Scheme for GitHub {
    type Credentials = GitHubDelivery;
    type Identity = Delivery;
    type Body = BodySigned;

    fn name(&self) -> &'static str {
        "github"
    }

    fn credentials(&self, request: &Parts) -> Result<Presented<GitHubDelivery>, Rejection> {
        let signature = single(request, &X_HUB_SIGNATURE_256, "X-Hub-Signature-256")?;
        let tag = signature
            .strip_prefix("sha256=")
            .and_then(|hex| Tag::from_hex(hex.as_bytes()).ok())
            .ok_or_else(|| Rejection::malformed(SIGNATURE_FORM))?;
        let id = optional(request, &X_GITHUB_DELIVERY, "X-GitHub-Delivery")?;
        Ok(Presented::mac(
            GitHubDelivery {
                id: id.map(Into::into),
            },
            tag,
        ))
    }

    /// The raw body, nothing else.
    fn message(&self, _delivery: &GitHubDelivery, body: &[u8], message: &mut Message<'_>) {
        message.write(body);
    }

    fn delivers(&self) -> bool {
        true
    }

    fn identity(&self, delivery: GitHubDelivery, _: Option<&MatchedSecret>) -> Delivery {
        Delivery::unsigned_id(delivery.id, None)
    }
}

impl Sender for GitHub {
    fn credentials_to_sign(
        &self,
        _request: &Parts,
        _body: &[u8],
        _now: SystemTime,
    ) -> Result<GitHubDelivery, SignError> {
        Ok(GitHubDelivery {
            id: Some(fresh_id()?.into()),
        })
    }

    fn put(
        &self,
        delivery: &GitHubDelivery,
        signature: &Tag,
        request: &mut Parts,
    ) -> Result<(), SignError> {
        let value = format!("sha256={}", signature.to_hex());
        let headers = &mut request.headers;
        headers.insert(
            X_HUB_SIGNATURE_256,
            sensitive(value.as_bytes(), "X-Hub-Signature-256")?,
        );
        if let Some(id) = &delivery.id {
            headers.insert(
                X_GITHUB_DELIVERY,
                header_value(id.as_bytes(), "X-GitHub-Delivery")?,
            );
        }
        Ok(())
    }
}

/// The `X-Hub-Signature-256` GitHub sends for `body`: `sha256=<hex>`.
pub fn signature(secret: &Secret, body: &[u8]) -> String {
    let delivery = GitHubDelivery { id: None };
    format!(
        "sha256={}",
        sign_message(&GitHub, &delivery, body, secret).to_hex()
    )
}

/// The headers of a GitHub delivery of `body`: `X-Hub-Signature-256` and a fresh
/// `X-GitHub-Delivery`.
pub fn sign_request(secret: &Secret, body: &[u8]) -> Result<HeaderMap, SignError> {
    SchemeSigner::new(GitHub, secret.clone()).headers("/", body)
}

/// The mock's GitHub receiver (feature `mock`).
#[cfg(feature = "mock")]
pub(crate) mod mock {
    use super::{GitHub, GitHubVerifyLayer};
    use crate::mock::webhooks::{MockSender, provider};

    pub(crate) const PROVIDER: crate::mock::Provider = provider::<GitHub>();

    impl MockSender for GitHub {
        const NAME: &'static str = "github";
        /// The mock's demo secret.
        const SECRET: &'static str = "It's a Secret to Everybody";

        fn receiver(keys: crate::MemoryKeyStore) -> GitHubVerifyLayer {
            GitHubVerifyLayer::new(keys)
        }
    }
}
