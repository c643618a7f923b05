//! The generic verifying layer that every scheme plugs into.
//!
//! ```text
//! request ─► Scheme::credentials ─► Scheme::check_fresh ─► KeyStore::get
//!         ─► Scheme::proof ─► [bounded body read, within a deadline: BodySigned layers only]
//!         ─► HMAC-SHA256 of Scheme::message under each live secret, constant-time compare
//!         ─► [the read had to wait: Scheme::check_fresh and KeyStore::get again, as of now]
//!         ─► ReplayStore::insert_if_absent(Scheme::replay_nonce, then the MAC) ─► Scheme::authorize
//!         ─► inner service, with Verified<Scheme::Identity> in the request extensions
//! any failure ─► Rejection ─► Responder ─► response (the inner service is not called)
//! ```
//!
//! A protocol this crate does not ship is one [`Scheme`] implementation away: build
//! `VerifyLayer::<MyScheme, BodySigned>::with_scheme(MyScheme, keys)`.
//!
//! Body-signing layers hand the inner service a [`VerifiedBody`] (the exact bytes that were
//! verified); header-only layers leave the request body type untouched. Both answer with a
//! [`ResponseBody`], which is the inner service's body or the rejection's.

mod body;
pub(crate) mod headers;
mod layer;
mod scheme;
mod verified;
mod verifier;

pub(crate) use self::body::PassOrBuffer;
pub use self::body::{ResponseBody, VerifiedBody};
pub use self::layer::{BodyMode, BodySigned, HeadersOnly, ResponseFuture, Verify, VerifyLayer};
pub use self::scheme::{Proof, Scheme};
#[cfg(feature = "axum")]
pub use self::verified::MissingVerified;
pub use self::verified::{MatchedSecret, Verified};
#[cfg(feature = "spike")]
pub(crate) use self::verifier::read_limited;
pub use self::verifier::{
    DEFAULT_BODY_LIMIT, DEFAULT_BODY_TIMEOUT_PER_MIB, Verifier, default_body_timeout,
};
