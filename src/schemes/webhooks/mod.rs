//! Receiving webhooks: what every webhook scheme of this crate shares.
//!
//! Each sender's scheme is its own module ([`github`](crate::github), [`stripe`](crate::stripe),
//! ...); every one verifies the raw body bytes (never re-serialised, never required to be UTF-8),
//! decodes signatures strictly and compares them in constant time, accepts a header listing
//! several signatures when one matches (rotation), and hands the handler a
//! [`Verified`](crate::Verified)`<`[`Delivery`]`>`.
//!
//! Most senders sign with an HMAC of a secret both sides hold. Standard Webhooks' `v1a`
//! ([`standard`](crate::standard)) and Discord ([`discord`](crate::discord)) sign with an Ed25519
//! private key instead: their receiver's [`Key`](crate::Key) holds the sender's public key
//! ([`KeyMaterial::Ed25519`](crate::KeyMaterial::Ed25519)), rotated, expired and revoked like a
//! secret, and nothing it holds could sign.
//!
//! # Duplicate deliveries
//!
//! Senders retry, and whoever captures a delivery can send it again inside its window. With a
//! replay store ([`replay_store`](crate::VerifyLayer::replay_store)), a webhook layer handles
//! every copy of a delivery as the same delivery, identified by what the sender signed: the
//! delivery id where the scheme signs one (Standard Webhooks' `webhook-id`), otherwise the
//! verified signature itself. An id header the sender does not sign (`X-GitHub-Delivery`,
//! `X-Shopify-Webhook-Id`, `Linear-Delivery`) reaches the handler in [`Delivery::id`] but is
//! never used for this, since anyone can change it.
//!
//! Every webhook layer of this crate starts with an in-process store
//! ([`MokaReplayStore`]), so that out of the box one instance handles no
//! delivery twice; give several instances one shared store (Redis) with
//! [`replay_store`](crate::VerifyLayer::replay_store).
//!
//! - A copy of a delivery whose earlier copy was answered 2xx gets `200` without reaching the
//!   handler.
//! - A copy of a delivery whose earlier copy failed (a non-2xx answer, or an error) reaches the
//!   handler again: a failure is never remembered as done.
//! - A copy arriving while another copy is being handled gets `409` with `Retry-After`, and does
//!   not reach the handler.
//!
//! A handled delivery is remembered until its timestamp leaves the window, or for 24 hours where
//! the scheme has no timestamp (after which a captured copy would be handled again: such senders
//! sign no time). With [`RedisReplayStore`](crate::replay) every instance shares one history. A
//! copy's reservation lapses after [`delivery_hold`](crate::VerifyLayer::delivery_hold) (60 s by
//! default), so a handler that never answers does not block the delivery forever.
//!
//! # Security
//!
//! Every timestamp window is two-sided, also where a sender's SDK checks only the past: a
//! timestamp too far in the future is refused like a stale one. An empty or truncated signature
//! (`v1,`, `sha256=`) is a refusal, never a shorter compare.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::keys::KeyStore;
use crate::pipeline::{Scheme, VerifyLayer};
use crate::replay::MokaReplayStore;

pub(crate) mod json;

/// The layer of a webhook `scheme` over `keys`, with its own in-process replay store: without
/// one, every copy of a delivery would reach the handler.
pub(crate) fn layer<S: Scheme + Clone>(scheme: S, keys: impl KeyStore) -> VerifyLayer<S> {
    VerifyLayer::with_scheme(scheme, keys).replay_store(MokaReplayStore::new())
}

/// What a handler learns about a verified webhook delivery, inside
/// [`Verified`](crate::Verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    id: Option<Arc<str>>,
    id_signed: bool,
    timestamp: Option<u64>,
}

impl Delivery {
    /// A delivery with an id the sender signed.
    pub(crate) fn signed_id(id: Arc<str>, timestamp: Option<u64>) -> Self {
        Self {
            id: Some(id),
            id_signed: true,
            timestamp,
        }
    }

    /// A delivery whose id header, if any, the sender does not sign.
    pub(crate) fn unsigned_id(id: Option<Arc<str>>, timestamp: Option<u64>) -> Self {
        Self {
            id,
            id_signed: false,
            timestamp,
        }
    }

    /// The delivery id the sender sent, if it sends one. Unless
    /// [`id_is_signed`](Self::id_is_signed), it is only a claim: anyone who captured the
    /// delivery could have changed it.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// Whether the sender signed [`id`](Self::id).
    pub fn id_is_signed(&self) -> bool {
        self.id_signed
    }

    /// When the sender signed the delivery, for schemes that sign a time (to the second, or the
    /// millisecond for Linear).
    pub fn timestamp(&self) -> Option<SystemTime> {
        self.timestamp
            .and_then(|ms| UNIX_EPOCH.checked_add(Duration::from_millis(ms)))
    }
}

/// The `key=value` items of a signature header such as Stripe's `t=1,v1=ab,v0=cd` or Paddle's
/// `ts=1;h1=ab`, split on `separator`, surrounding spaces trimmed. An item without `=` is
/// `(item, "")`. Spaces around items, names and values are ignored: they sign nothing.
pub(crate) fn pairs(text: &str, separator: char) -> impl Iterator<Item = (&str, &str)> {
    text.split(separator).map(|item| {
        let (name, value) = item.split_once('=').unwrap_or((item, ""));
        (name.trim_matches(' '), value.trim_matches(' '))
    })
}

/// A fresh delivery id for a signer: 16 random bytes in hex.
pub(crate) fn fresh_id() -> Result<String, crate::sign::SignError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(crate::sign::SignError::random)?;
    Ok(const_hex::encode(bytes))
}

/// Seconds since the Unix epoch at `now` (0 before it).
pub(crate) fn unix_secs(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_split_and_trim() {
        let items: Vec<_> = pairs("t= 1, v1=ab,v0 =cd,,junk", ',').collect();
        assert_eq!(
            items,
            [
                ("t", "1"),
                ("v1", "ab"),
                ("v0", "cd"),
                ("", ""),
                ("junk", "")
            ]
        );
    }

    #[test]
    fn delivery_times_are_milliseconds() {
        let d = Delivery::unsigned_id(Some("x".into()), Some(1_000));
        assert_eq!(d.timestamp(), Some(UNIX_EPOCH + Duration::from_secs(1)));
        assert!(!d.id_is_signed());
        assert!(Delivery::signed_id("m".into(), None).id_is_signed());
    }
}
