//! Tower layers that act as the **server side** of HMAC request-signing protocols.
//!
//! Each layer rebuilds its scheme's signed message from the incoming request, checks it in
//! constant time against the key's live secrets, enforces the scheme's freshness rule, and hands
//! the verified caller to the inner service as a [`Verified`] request extension. Any failure is
//! answered by the layer itself (401, 400, 413 or 503, gRPC-shaped for gRPC requests) and the inner
//! service is never called.
//!
//! | scheme | module | body | freshness |
//! |---|---|---|---|
//! | Humanos | [`humanos`] | signed (`"{ts}.{body}"`) | two-sided timestamp window; optional replay store |
//! | Inqud | [`inqud`] | HMAC mode: signed (`body ++ salt`); simple mode: the token secret itself | HMAC mode: salt never seen before (replay store, on by default); simple mode: none |
//! | Proficient | [`proficient`] | untouched (headers only; the external id is signed) | none: a per-user credential; HMAC required or optional per project |
//! | Spike | `spike` (feature `spike`) | exchange: JSON body, HMAC of the user id; calls: header only (HS256 JWT) | per-user token; optional `exp` |
//!
//! # Building blocks
//!
//! - [`Secret`]: key bytes with a redacted `Debug`, zeroed on drop.
//! - [`KeyStore`] and [`MemoryKeyStore`]: keys with several live secrets (rotation), expiry and
//!   revocation.
//! - [`Clock`]: [`SystemClock`] in production, [`ManualClock`] in tests.
//! - [`ReplayStore`] and [`MokaReplayStore`]: atomic insert-if-absent with a TTL.
//! - [`Rejection`], [`RejectionKind`] and [`Responder`]: what went wrong and how it is answered.
//! - [`verify`]: the generic layer; implement [`Scheme`] for a protocol not shipped here.
//! - [`sign`]: the client side, signers for every scheme and a [`SignLayer`](sign::SignLayer) for
//!   Tower and hyper clients (for tests against these layers, or for calling the vendors).
//!
//! # Feature flags
//!
//! | feature | default | enables |
//! |---|---|---|
//! | `axum` | no | [`Verified`] as an axum extractor |
//! | `ring` | no | HMAC-SHA256 computed by `ring` instead of the pure-Rust `hmac`/`sha2` |
//! | `redis` | no | `replay::RedisReplayStore`, a replay store shared by every instance |
//! | `mock` | no | `mock`: one axum router playing all four providers, and `mock::serve` with its timeouts (implies `axum` and `spike`) |
//! | `spike` | no | `spike`: Spike's token exchange service and bearer-token layer (`jsonwebtoken` with RustCrypto, `serde`) |
//!
//! # Security
//!
//! MACs and secrets are compared in constant time; an unknown key id costs the same MAC work as a
//! known one; bodies are read up to a limit and never past it; nonces are recorded only after the
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
mod error;
mod keys;
pub mod mac;
pub mod rejection;
pub mod replay;
mod secret;
pub mod sign;
pub mod verify;

pub mod humanos;
pub mod inqud;
#[cfg(feature = "mock")]
pub mod mock;
pub mod proficient;
#[cfg(feature = "spike")]
pub mod spike;

use std::future::Future;
use std::pin::Pin;

pub use crate::clock::{Clock, ManualClock, SystemClock};
pub use crate::error::{BoxError, ConfigError, StoreError};
pub use crate::keys::{Key, KeySecret, KeyStatus, KeyStore, MemoryKeyStore, ReservedSecrets};
pub use crate::rejection::{
    DefaultResponder, Rejection, RejectionContext, RejectionKind, Responder, default_response,
};
pub use crate::replay::{MokaReplayStore, ReplayKey, ReplayStore};
pub use crate::secret::Secret;
pub use crate::verify::{
    BodySigned, HeadersOnly, MatchedSecret, Proof, ResponseBody, Scheme, Verified, VerifiedBody,
    VerifyLayer,
};

/// A boxed, sendable future, as returned by the store traits.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The README's Rust examples, compiled (and run, unless marked `no_run`) as doc tests. They use
/// the `axum` and `redis` features, which the crate's dev-dependency on itself turns on for every
/// `cargo test`, `--doc` included.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
