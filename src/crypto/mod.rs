//! The crate's cryptography: secrets, HMAC-SHA256, strict tag decoding and constant-time
//! comparisons, each built on a well-kept library (RustCrypto's `hmac`/`sha2` or `ring`,
//! `subtle`, `zeroize`); nothing here is hand-written crypto.
//!
//! - [`Secret`]: key bytes that never show themselves and are zeroed on drop.
//! - [`hmac()`] ([`hmac_sha256`]) and [`Message`]: the MAC of a scheme's message, written part by
//!   part; HMAC-SHA256, or HMAC-SHA1 for senders that still use it ([`MacAlgorithm`]).
//! - [`Tag`]: a presented HMAC, decoded strictly (hex, base64, base64url); it has no
//!   `==`, only the constant-time [`Tag::ct_matches`].
//! - [`ct_eq_secret`]: a presented secret against a stored one, revealing neither through timing.
//!
//! # Security
//!
//! A wrong length or alphabet is a decoding error, never a shorter compare. Tags and secrets are
//! compared in constant time only, and neither appears in `Debug` output.

mod mac;
mod secret;

pub(crate) use self::mac::Discarded;
#[cfg(feature = "mock")]
pub(crate) use self::mac::message_bytes;
#[doc(hidden)]
#[cfg(any(test, feature = "__count-work"))]
pub use self::mac::work;
pub use self::mac::{
    DecodeError, MacAlgorithm, Message, TAG_LEN, Tag, ct_eq_secret, hmac, hmac_sha256,
};
pub use self::secret::Secret;
