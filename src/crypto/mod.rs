//! The crate's cryptography: secrets, HMAC-SHA256, Ed25519, strict signature decoding and
//! constant-time comparisons, each built on a well-kept library (RustCrypto's `hmac`/`sha2` or
//! `ring`, `ed25519-dalek`, `subtle`, `zeroize`); nothing here is hand-written crypto.
//!
//! - [`Secret`]: key bytes that never show themselves and are zeroed on drop.
//! - [`hmac()`] ([`hmac_sha256`]) and [`Message`]: the MAC of a scheme's message, written part by
//!   part; HMAC-SHA256, or HMAC-SHA1 for senders that still use it ([`MacAlgorithm`]).
//! - [`Tag`]: a presented HMAC, decoded strictly (hex, base64, base64url); it has no
//!   `==`, only the constant-time [`Tag::ct_matches`].
//! - [`ct_eq_secret`]: a presented secret against a stored one, revealing neither through timing.
//! - [`Ed25519PublicKey`], [`Ed25519PrivateKey`], [`Ed25519Signature`]: Ed25519 for senders that
//!   sign with a private key (Standard Webhooks' `v1a`, Discord), verified strictly.
//!
//! # Security
//!
//! A wrong length or alphabet is a decoding error, never a shorter compare. Tags and secrets are
//! compared in constant time only, and neither appears in `Debug` output, nor do private keys.
//! Ed25519 signatures are verified under `verify_strict`'s rules (no malleable or small-order
//! forms).

mod ed25519;
mod mac;
mod secret;

pub use self::ed25519::{Ed25519PrivateKey, Ed25519PublicKey, Ed25519Signature};
#[doc(hidden)]
#[cfg(any(test, feature = "__count-work"))]
pub use self::mac::work;
pub use self::mac::{
    DecodeError, MacAlgorithm, Message, TAG_LEN, Tag, ct_eq_secret, hmac, hmac_sha256,
};
pub(crate) use self::mac::{Discarded, decode_hex, message_bytes};
pub use self::secret::Secret;
