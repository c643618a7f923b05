//! Tower layers that act as the **server side** of HMAC request-signing protocols.
//!
//! Each layer rebuilds its scheme's signed message from the incoming request, checks it in
//! constant time against the key's live secrets, enforces the scheme's freshness rule, and hands
//! the verified caller to the inner service as a [`Verified`] request extension. Any failure is
//! answered by the layer itself (401, 400, 413 or 503, gRPC-shaped for gRPC requests) and the inner
//! service is never called.
//!
//! The schemes of this crate:
//!
//! | scheme | module | body | freshness |
//! |---|---|---|---|
//! | Humanos | [`humanos`] | signed (`"{ts}.{body}"`) | two-sided timestamp window; optional replay store |
//! | Inqud | [`inqud`] | HMAC mode: signed (`body ++ salt`); simple mode: the token secret itself | HMAC mode: salt never seen before (replay store, on by default); simple mode: none |
//! | Proficient | [`proficient`] | untouched (headers only; the external id is signed) | none: a per-user credential; HMAC required or optional per project |
//! | Spike | `spike` (feature `spike`) | exchange: JSON body, HMAC of the user id; calls: header only (HS256 JWT) | per-user token; optional `exp` |
//!
//! And the webhook senders' ([`webhooks`] says what they share: raw-body verification, rotation,
//! and duplicate deliveries handled once, with none lost):
//!
//! | sender | module | signed | freshness |
//! |---|---|---|---|
//! | GitHub | [`github`] | the body | none |
//! | Stripe | [`stripe`] | `"{t}.{body}"` | 300 s each way |
//! | Slack | [`slack`] | `"v0:{ts}:{body}"` | 300 s each way |
//! | Standard Webhooks (Svix) | [`standard`] | `"{id}.{ts}.{body}"` | 300 s each way |
//! | Shopify | [`shopify`] | the body | none |
//! | Paddle | [`paddle`] | `"{ts}:{body}"` | 5 s each way |
//! | Zoom | [`zoom`] | `"v0:{ts}:{body}"` | 300 s each way |
//! | Twilio | [`twilio`] | the URL and the sorted form parameters (HMAC-SHA1) | none |
//! | Linear | [`linear`] | the body (its `webhookTimestamp`) | 60 s each way |
//! | Standard Webhooks `v1a` | [`standard`] | `"{id}.{ts}.{body}"`, Ed25519 (the endpoint holds the public key) | 300 s each way |
//! | Discord interactions | [`discord`] | `"{ts}{body}"`, Ed25519; PING answered by the layer | 300 s each way (Discord documents none) |
//!
//! # How it is built
//!
//! One pipeline, many schemes. [`VerifyLayer`] runs every request through the same steps:
//! credentials from the headers, the key looked up in a [`KeyStore`], the body read within a
//! limit and a deadline (when the scheme reads it), the proof checked in constant time against
//! every live secret of the key, freshness and key status decided as of acceptance, the nonce
//! recorded in a [`ReplayStore`], then the inner service called with [`Verified`]. Any failure
//! is a [`Rejection`], answered by a [`Responder`].
//!
//! A [`Scheme`] answers the pipeline's questions for one protocol: where its credentials are,
//! which message it signs, its freshness rule, its identity. Its signed message is written once
//! ([`Scheme::message`]) and used by both sides: the verifier MACs it under each candidate
//! secret, every signer of the crate under its own ([`sign::sign_message`]).
//!
//! Where each part lives:
//!
//! | folder | what |
//! |---|---|
//! | `src/schemes/` | one file per vendor (`api/`, and the webhook schemes): its `Scheme`, its layer and options, its signer, its mock routes |
//! | `src/pipeline/` | the layer, the `Scheme` trait, and the parts schemes are built from: [`headers`](pipeline::headers), [`Window`](pipeline::Window), body reading, [`Verified`] |
//! | `src/crypto/` | [`Secret`], HMAC-SHA256 (and SHA-1 for Twilio), Ed25519 ([`Ed25519PublicKey`](crypto::Ed25519PublicKey), strict verification), strict [`Tag`](crypto::Tag) decoding, constant-time compares |
//! | `src/keys/` | [`Key`] and its [`KeyMaterial`] (HMAC secrets, Ed25519 public keys), [`KeyStore`], [`MemoryKeyStore`] |
//! | `src/replay/` | [`ReplayStore`] (nonces, and webhook delivery states): [`MokaReplayStore`], [`CompactReplayStore`](replay::CompactReplayStore), `RedisReplayStore` |
//! | `src/sign.rs` | the client side: [`Signer`](sign::Signer), [`SignLayer`](sign::SignLayer), a scheme's signer derived from it ([`SchemeSigner`](sign::SchemeSigner)) |
//! | `src/mock/` | the mock provider server, built from one route table of the schemes' mock parts |
//!
//! [`Clock`] ([`SystemClock`], [`ManualClock`] in tests) is injectable everywhere time matters.
//!
//! # Writing your own scheme
//!
//! A protocol this crate does not ship is a [`Scheme`] implementation written with the same
//! public parts as the crate's own. Here, a webhook sender that signs
//! `"{X-Acme-Timestamp}.{body}"` with its endpoint's secret and sends `X-Acme-Signature:
//! sha256=<hex>` (`examples/custom_scheme.rs` is the same, mounted in axum, with its signer):
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::time::{Duration, SystemTime, UNIX_EPOCH};
//!
//! use http::HeaderName;
//! use http::request::Parts;
//! use tower_hmac::crypto::{Message, Tag};
//! use tower_hmac::pipeline::{BodySigned, Presented, Window, headers, unix_seconds};
//! use tower_hmac::{Key, ManualClock, MatchedSecret, Rejection, RejectionKind, Scheme, Secret};
//!
//! const TIMESTAMP: HeaderName = HeaderName::from_static("x-acme-timestamp");
//! const SIGNATURE: HeaderName = HeaderName::from_static("x-acme-signature");
//!
//! #[derive(Clone, Default)]
//! struct Acme {
//!     window: Window,
//! }
//!
//! impl Scheme for Acme {
//!     type Credentials = u64; // the timestamp: with the body, what is signed
//!     type Identity = u64;
//!     type Body = BodySigned;
//!
//!     fn name(&self) -> &'static str {
//!         "acme"
//!     }
//!
//!     fn credentials(&self, request: &Parts) -> Result<Presented<u64>, Rejection> {
//!         let timestamp = headers::single(request, &TIMESTAMP, "X-Acme-Timestamp")?;
//!         let timestamp = unix_seconds(timestamp, "X-Acme-Timestamp")?;
//!         let signature = headers::single(request, &SIGNATURE, "X-Acme-Signature")?;
//!         let tag = signature
//!             .strip_prefix("sha256=")
//!             .and_then(|hex| Tag::from_hex(hex.as_bytes()).ok())
//!             .ok_or_else(|| Rejection::malformed("X-Acme-Signature must be sha256=<hex>"))?;
//!         Ok(Presented::mac(timestamp, tag))
//!     }
//!
//!     fn check_fresh(&self, timestamp: &u64, now: SystemTime) -> Result<(), Rejection> {
//!         self.window.check_secs(*timestamp, now)
//!     }
//!
//!     fn message(&self, timestamp: &u64, body: &[u8], message: &mut Message<'_>) {
//!         message.write_decimal(*timestamp);
//!         message.write(b".");
//!         message.write(body);
//!     }
//!
//!     fn identity(&self, timestamp: u64, _: Option<&MatchedSecret>) -> u64 {
//!         timestamp
//!     }
//! }
//!
//! // One secret per endpoint: the layer's key store is the key itself.
//! let secret = Secret::new("endpoint secret").unwrap();
//! let now = UNIX_EPOCH + Duration::from_secs(1_763_800_000);
//! let layer = Acme::default()
//!     .layer(Key::new("acme", secret.clone()))
//!     .clock(ManualClock::new(now));
//!
//! let body = br#"{"event":"paid"}"#;
//! let signed = tower_hmac::sign::sign_message(&Acme::default(), &1_763_800_000, body, &secret);
//! let request = |signature: String| {
//!     http::Request::post("/hooks")
//!         .header("x-acme-timestamp", "1763800000")
//!         .header("x-acme-signature", signature)
//!         .body(())
//!         .unwrap()
//!         .into_parts()
//!         .0
//! };
//!
//! // Accepted: signed with the endpoint's secret.
//! let accepted = layer.verifier().verify(&request(format!("sha256={}", signed.to_hex())), body).await;
//! assert_eq!(*accepted.unwrap().identity(), 1_763_800_000);
//!
//! // Refused: the same signature over another body.
//! let refused = layer.verifier().verify(&request(format!("sha256={}", signed.to_hex())), b"{}").await;
//! assert_eq!(refused.unwrap_err().kind(), RejectionKind::InvalidSignature);
//! # }
//! ```
//!
//! The scheme's own options are methods of its own type (the `window` here); the layer's are
//! those of [`VerifyLayer`] ([`clock`](VerifyLayer::clock),
//! [`replay_store`](VerifyLayer::replay_store), [`body_limit`](VerifyLayer::body_limit), ...),
//! and [`VerifyLayer::map_scheme`] reaches the scheme inside a built layer.
//!
//! # Feature flags
//!
//! | feature | default | enables |
//! |---|---|---|
//! | `axum` | no | [`Verified`] as an axum extractor |
//! | `ring` | no | HMAC-SHA256 computed by `ring` instead of the pure-Rust `hmac`/`sha2` |
//! | `redis` | no | `replay::RedisReplayStore`, a replay store shared by every instance |
//! | `mock` | no | `mock`: one axum router playing all four providers, and `mock::serve` with its timeouts (implies `axum` and `spike`) |
//! | `spike` | no | `spike`: Spike's token exchange service and bearer-token layer (`jsonwebtoken` with RustCrypto, `serde`'s derive) |
//! | `sqlite` | no | `SqliteKeyStore`: an example key store on SQLite (`sqlx`), keys and secrets as rows, to put behind a [`CachedKeyStore`] |
//! | `metrics` | no | each layer's [`Counters`] also counted through the `metrics` facade (`tower_hmac_requests_total`) |
//!
//! # Security
//!
//! MACs and secrets are compared in constant time, Ed25519 signatures verified strictly; an
//! unknown key id costs the same MAC (or signature) work as a known one; bodies are read up to a limit and within a deadline, and a request is decided when
//! its body is complete; nonces are recorded only after the
//! MAC verified; a failing key or replay store means 503, never a request let through; no secret
//! or expected signature appears in `Debug`, logs or responses; parsing never panics. Each scheme
//! module has a *Security* section on what its protocol can and cannot protect against.

#![forbid(unsafe_code)]
#![deny(unreachable_pub)]
#![warn(missing_docs, missing_debug_implementations)]
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod clock;
pub mod crypto;
mod error;
mod keys;
pub mod pipeline;
pub mod rejection;
pub mod replay;
pub mod sign;

// The schemes: one file each, under src/schemes/, public at the crate root.
#[path = "schemes/api/humanos.rs"]
pub mod humanos;
#[path = "schemes/api/inqud.rs"]
pub mod inqud;
#[path = "schemes/api/proficient.rs"]
pub mod proficient;
#[cfg(feature = "spike")]
#[path = "schemes/api/spike/mod.rs"]
pub mod spike;

#[path = "schemes/webhooks/mod.rs"]
pub mod webhooks;

#[path = "schemes/webhooks/discord.rs"]
pub mod discord;
#[path = "schemes/webhooks/github.rs"]
pub mod github;
#[path = "schemes/webhooks/linear.rs"]
pub mod linear;
#[path = "schemes/webhooks/paddle.rs"]
pub mod paddle;
#[path = "schemes/webhooks/shopify.rs"]
pub mod shopify;
#[path = "schemes/webhooks/slack.rs"]
pub mod slack;
#[path = "schemes/webhooks/standard.rs"]
pub mod standard;
#[path = "schemes/webhooks/stripe.rs"]
pub mod stripe;
#[path = "schemes/webhooks/twilio.rs"]
pub mod twilio;
#[path = "schemes/webhooks/zoom.rs"]
pub mod zoom;

#[cfg(feature = "mock")]
pub mod mock;

use std::future::Future;
use std::pin::Pin;

pub use crate::clock::{Clock, ManualClock, SystemClock};
pub use crate::crypto::Secret;
pub use crate::error::{BoxError, ConfigError, StoreError};
pub use crate::keys::CachedKeyStore;
#[cfg(feature = "sqlite")]
pub use crate::keys::SqliteKeyStore;
pub use crate::keys::{Key, KeySecret, KeyStatus, KeyStore, MemoryKeyStore, ReservedSecrets};
pub use crate::pipeline::{
    BodySigned, HeadersOnly, MatchedSecret, Presented, Proof, ResponseBody, Scheme, Verified,
    VerifiedBody, Verify, VerifyLayer,
};
pub use crate::pipeline::{Counters, Unverified};
pub use crate::rejection::{
    DefaultResponder, Rejection, RejectionContext, RejectionKind, Responder, default_response,
};
pub use crate::replay::{MokaReplayStore, ReplayKey, ReplayStore};
// Ed25519 public keys beside HMAC secrets.
pub use crate::keys::KeyMaterial;

/// A boxed, sendable future, as returned by the store traits.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The README's Rust examples, compiled (and run, unless marked `no_run`) as doc tests. They use
/// the `axum` and `redis` features, which the crate's dev-dependency on itself turns on for every
/// `cargo test`, `--doc` included.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
