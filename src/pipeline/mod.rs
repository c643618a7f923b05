//! The generic verifying layer that every scheme plugs into, and the public parts schemes are
//! built from.
//!
//! ```text
//! request ─► Scheme::credentials ─► Scheme::check_fresh ─► KeyStore::get (if the headers name a key)
//!         ─► [BodySigned: bounded body read within a deadline ─► Scheme::body_credentials]
//!         ─► KeyStore::get (a key named by the body, or the scheme's endpoint key)
//!         ─► proof checked against every live secret in constant time (a MAC of Scheme::message,
//!            the secret itself, or Scheme::verify_custom), or an Ed25519 signature of
//!            Scheme::message against every live public key, with the same work for an unknown key
//!         ─► [the read had to wait: Scheme::check_fresh and KeyStore::get again, as of now]
//!         ─► ReplayStore::insert_if_absent(Scheme::nonce, then the MAC) ─► Scheme::authorize
//!         ─► inner service, with Verified<Scheme::Identity> in the request extensions
//! any failure ─► Rejection ─► Responder ─► response (the inner service is not called)
//! ```
//!
//! - [`Scheme`]: what a protocol answers (its credentials, its message, its freshness rule, its
//!   identity). The crate's schemes implement it, and so can yours.
//! - [`VerifyLayer`] / [`Verify`]: the one layer and service, for every scheme
//!   (`VerifyLayer::new(scheme, keys)`).
//! - [`headers`]: strict header readers; [`Window`], [`unix_seconds`], [`unix_millis`]: timestamp
//!   windows; [`Tag`](crate::crypto::Tag): strict signature decoding (hex, base64, base64url);
//!   [`Rejection::missing`](crate::Rejection::missing), [`Rejection::malformed`](crate::Rejection::malformed).
//! - [`VerifiedBody`] and [`ResponseBody`]: what the inner service receives and what the layer
//!   answers. Body-signing layers hand the inner service the exact bytes that were verified;
//!   header-only layers leave the request body untouched.
//!
//! The crate's *Writing your own scheme* section (in the crate root docs) shows a complete scheme
//! written against this module alone.

mod body;
mod counters;
#[cfg(feature = "mock")]
mod explain;
pub mod headers;
mod layer;
mod read;
mod scheme;
mod verified;
mod verifier;
mod window;

pub(crate) use self::body::{PassOrBuffer, pass_or_buffer_body};
pub use self::body::{ResponseBody, VerifiedBody};
pub use self::counters::{Counters, Counts};
#[cfg(feature = "mock")]
pub use self::explain::{Explain, Explanation, Outcome, Verdict};
pub use self::layer::{InnerBody, ResponseFuture, Verify, VerifyLayer};
pub use self::read::{DEFAULT_BODY_LIMIT, DEFAULT_BODY_TIMEOUT_PER_MIB, default_body_timeout};
pub(crate) use self::read::{ReadError, declared_len, read};
pub use self::scheme::{
    BodyMode, BodySigned, Ed25519Signatures, HeadersOnly, Presented, Proof, Scheme, Signatures,
    TooManySignatures,
};
#[cfg(feature = "axum")]
pub use self::verified::MissingVerified;
pub use self::verified::Unverified;
pub use self::verified::{MatchedSecret, Verified};
pub use self::verifier::{DEFAULT_DELIVERY_HOLD, Verifier};
pub use self::window::{DEFAULT_TOLERANCE, Window, unix_millis, unix_seconds};
