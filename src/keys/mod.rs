//! Where keys and their secrets come from.
//!
//! A [`Key`] is what a client names in its request (an API key, a token id, a publishable key). It
//! holds one or more [`KeySecret`]s: during a rotation the old and the new secret are both live, and
//! the old one stops being accepted at its `not_after` instant. A key as a whole can expire or be
//! revoked. Each secret is [`KeyMaterial`]: an HMAC secret shared with the sender, or the Ed25519
//! public key of a sender that signs with its private key (rotated, expired and revoked the same
//! way). Schemes that have per-key settings (which modes a token may use, whether a project
//! requires an HMAC) read them as typed *policies* attached with [`Key::with_policy`].
//!
//! [`KeyStore`] is the async lookup the layers call once per request; [`MemoryKeyStore`] is the
//! in-process implementation. Implement the trait to read keys from a database or a secrets manager,
//! and put a [`CachedKeyStore`] in front of it so that a request costs a round trip only on a miss.
//!
//! Some secrets must never be a key's: a server's own signing keys (Spike's token keys) would let
//! any client holding one sign for everyone. Such secrets are [`ReservedSecrets`], registered in a
//! store with [`KeyStore::reserve`]; a [`MemoryKeyStore`] then refuses every key holding one.

mod cached;
mod key;
mod memory;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::sync::Arc;

pub use self::cached::CachedKeyStore;
pub use self::key::{Key, KeyMaterial, KeySecret, KeyStatus};
pub use self::memory::MemoryKeyStore;
#[cfg(feature = "sqlite")]
pub use self::sqlite::SqliteKeyStore;
use crate::BoxFuture;
use crate::crypto::Secret;
use crate::error::{ConfigError, StoreError};

/// Looks keys up by id. Called once per request, before the body is read.
///
/// Return `Ok(None)` for an unknown id and `Err` only when the store itself failed: the layer then
/// answers 503 and lets nothing through.
pub trait KeyStore: Send + Sync + 'static {
    /// The key named `key_id`, if it exists.
    fn get<'a>(&'a self, key_id: &'a str) -> BoxFuture<'a, Result<Option<Key>, StoreError>>;

    /// The answer [`get`](Self::get) would give, when the store has it without waiting (its keys
    /// are in memory); `None` when it must be asked through `get`. The layers ask this first, so
    /// that a store in memory answers a request without the boxed future `get` returns (an
    /// allocation per request), and a header-only layer whose stores all answer at once checks
    /// a request in its service's `call`, keeping no future of the check.
    ///
    /// The default answers `None`. A store that overrides it must answer exactly as `get` does,
    /// and answer at once always or never: a layer that once had to wait for `get` stops asking
    /// for answers at once.
    fn get_now(&self, key_id: &str) -> Option<Result<Option<Key>, StoreError>> {
        let _ = key_id;
        None
    }

    /// Makes the store refuse, from now on, every key holding a secret that `reserved` reserves,
    /// and checks the keys it holds already: an error if one of them holds such a secret.
    ///
    /// Called by the users of reserved secrets when they are built (Spike's `SpikeExchange::new`
    /// reserves its token keys in the applications' store), and again with the same `reserved`
    /// when those secrets change, to check the store against them; a store keeps one
    /// registration per `Arc`.
    ///
    /// The default accepts and does nothing: a store whose keys live elsewhere (a database, a
    /// secrets manager) cannot police what is written there, so keeping the reserved secrets out
    /// of it is its owner's job. [`MemoryKeyStore`] polices: see [`MemoryKeyStore::try_insert`].
    /// A store that wraps another should forward the call.
    fn reserve(&self, reserved: Arc<dyn ReservedSecrets>) -> Result<(), ConfigError> {
        let _ = reserved;
        Ok(())
    }
}

impl<K: KeyStore + ?Sized> KeyStore for Arc<K> {
    fn get<'a>(&'a self, key_id: &'a str) -> BoxFuture<'a, Result<Option<Key>, StoreError>> {
        (**self).get(key_id)
    }

    fn get_now(&self, key_id: &str) -> Option<Result<Option<Key>, StoreError>> {
        (**self).get_now(key_id)
    }

    fn reserve(&self, reserved: Arc<dyn ReservedSecrets>) -> Result<(), ConfigError> {
        (**self).reserve(reserved)
    }
}

/// A key is the store of one key: every lookup finds it, whatever the id. It is what a layer of a
/// scheme that names no key (a webhook endpoint) is given.
impl KeyStore for Key {
    fn get<'a>(&'a self, _key_id: &'a str) -> BoxFuture<'a, Result<Option<Key>, StoreError>> {
        Box::pin(std::future::ready(Ok(Some(self.clone()))))
    }

    fn get_now(&self, _key_id: &str) -> Option<Result<Option<Key>, StoreError>> {
        Some(Ok(Some(self.clone())))
    }
}

/// Secrets no key of a store may hold, such as a server's own signing keys: a client that held
/// one as its key could sign what only the server may sign. Registered with [`KeyStore::reserve`].
///
/// `spike::SpikeTokenKeys` (feature `spike`) implements it for its token keys.
pub trait ReservedSecrets: Send + Sync + 'static {
    /// Whether `secret` is reserved. The bytes are secrets: compare them in constant time, and
    /// never log them.
    fn is_reserved(&self, secret: &Secret) -> bool;
}
