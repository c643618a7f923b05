//! Where keys and their secrets come from.
//!
//! A [`Key`] is what a client names in its request (an API key, a token id, a publishable key). It
//! holds one or more [`KeySecret`]s: during a rotation the old and the new secret are both live, and
//! the old one stops being accepted at its `not_after` instant. A key as a whole can expire or be
//! revoked. Schemes that have per-key settings (which modes a token may use, whether a project
//! requires an HMAC) read them as typed *policies* attached with [`Key::with_policy`].
//!
//! [`KeyStore`] is the async lookup the layers call once per request; [`MemoryKeyStore`] is the
//! in-process implementation. Implement the trait to read keys from a database or a secrets manager.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, LazyLock, RwLock};
use std::time::SystemTime;

use crate::BoxFuture;
use crate::error::StoreError;
use crate::rejection::RejectionKind;
use crate::secret::Secret;

/// What an unknown key id is checked against, so that it costs the same MAC work as a known one.
static PLACEHOLDER: LazyLock<Key> = LazyLock::new(|| Key::new("", Secret::placeholder()));

/// One secret of a key, with an optional label and end of life.
#[derive(Clone)]
pub struct KeySecret {
    secret: Secret,
    label: Option<Arc<str>>,
    not_after: Option<SystemTime>,
}

impl KeySecret {
    /// A secret without label or end of life.
    pub fn new(secret: Secret) -> Self {
        Self {
            secret,
            label: None,
            not_after: None,
        }
    }

    /// A name for this secret, reported in [`Verified`](crate::Verified) when it matches.
    pub fn label(mut self, label: impl Into<Arc<str>>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// The last instant at which the secret is accepted.
    pub fn not_after(mut self, at: SystemTime) -> Self {
        self.not_after = Some(at);
        self
    }

    /// The secret bytes.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// The label, if one was set.
    pub fn label_str(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// The end of life, if one was set.
    pub fn expiry(&self) -> Option<SystemTime> {
        self.not_after
    }

    /// Whether the secret is accepted at `now`.
    pub fn is_live_at(&self, now: SystemTime) -> bool {
        self.not_after.is_none_or(|end| now <= end)
    }

    pub(crate) fn label_arc(&self) -> Option<Arc<str>> {
        self.label.clone()
    }
}

impl fmt::Debug for KeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySecret")
            .field("secret", &self.secret)
            .field("label", &self.label)
            .field("not_after", &self.not_after)
            .finish()
    }
}

/// Whether a key may be used at a given instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// The key is usable.
    Live,
    /// The key's expiry has passed.
    Expired,
    /// The key was revoked.
    Revoked,
}

/// A key id with its secrets, lifetime and per-scheme policies.
#[derive(Clone)]
pub struct Key {
    id: Arc<str>,
    secrets: Vec<KeySecret>,
    expires_at: Option<SystemTime>,
    revoked: bool,
    policies: http::Extensions,
}

impl Key {
    /// A key with one secret that never expires.
    pub fn new(id: impl Into<Arc<str>>, secret: Secret) -> Self {
        Self::from_secrets(id, [KeySecret::new(secret)])
    }

    /// A key with the given secrets (all of them live unless they carry a `not_after`).
    pub fn from_secrets(
        id: impl Into<Arc<str>>,
        secrets: impl IntoIterator<Item = KeySecret>,
    ) -> Self {
        Self {
            id: id.into(),
            secrets: secrets.into_iter().collect(),
            expires_at: None,
            revoked: false,
            policies: http::Extensions::new(),
        }
    }

    /// Adds another secret, for example the new one of a rotation.
    pub fn with_secret(mut self, secret: KeySecret) -> Self {
        self.secrets.push(secret);
        self
    }

    /// The key stops working after `at`, whatever its secrets say.
    pub fn expires_at(mut self, at: SystemTime) -> Self {
        self.expires_at = Some(at);
        self
    }

    /// Marks the key revoked: every request naming it is refused.
    pub fn revoked(mut self) -> Self {
        self.revoked = true;
        self
    }

    /// Attaches a scheme policy (for example which Inqud modes a token may use). One value per type.
    pub fn with_policy<T: Clone + Send + Sync + 'static>(mut self, policy: T) -> Self {
        self.policies.insert(policy);
        self
    }

    /// The policy of type `T`, if one was attached.
    pub fn policy<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.policies.get::<T>()
    }

    /// The key id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// All secrets, live or not, in the order they were added.
    pub fn secrets(&self) -> &[KeySecret] {
        &self.secrets
    }

    /// Whether the key may be used at `now`.
    pub fn status_at(&self, now: SystemTime) -> KeyStatus {
        if self.revoked {
            KeyStatus::Revoked
        } else if self.expires_at.is_some_and(|end| now > end) {
            KeyStatus::Expired
        } else {
            KeyStatus::Live
        }
    }

    pub(crate) fn id_arc(&self) -> Arc<str> {
        Arc::clone(&self.id)
    }

    /// The key a credential is checked against, and the refusal already decided: an unknown id
    /// is checked against a placeholder key, an expired or revoked key against its own secrets,
    /// so that every case costs the same work and the refusal comes only after it.
    pub(crate) fn for_check(found: Option<&Key>, now: SystemTime) -> (&Key, Option<RejectionKind>) {
        match found {
            None => (&PLACEHOLDER, Some(RejectionKind::UnknownKey)),
            Some(key) => match key.status_at(now) {
                KeyStatus::Live => (key, None),
                KeyStatus::Expired => (key, Some(RejectionKind::KeyExpired)),
                KeyStatus::Revoked => (key, Some(RejectionKind::KeyRevoked)),
            },
        }
    }

    /// The secrets to try, with their positions: the live ones, or, when none is live, the
    /// placeholder's secret (position `None`, never a match) so that the work is the same.
    pub(crate) fn candidates(&self, now: SystemTime) -> Vec<(Option<usize>, &Secret)> {
        let live: Vec<_> = self
            .secrets
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_live_at(now))
            .map(|(index, s)| (Some(index), &s.secret))
            .collect();
        if live.is_empty() {
            let placeholder = PLACEHOLDER.secrets.first().map(|s| &s.secret);
            return placeholder.map(|s| (None, s)).into_iter().collect();
        }
        live
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .field("secrets", &self.secrets)
            .field("expires_at", &self.expires_at)
            .field("revoked", &self.revoked)
            .finish_non_exhaustive()
    }
}

/// Looks keys up by id. Called once per request, before the body is read.
///
/// Return `Ok(None)` for an unknown id and `Err` only when the store itself failed: the layer then
/// answers 503 and lets nothing through.
pub trait KeyStore: Send + Sync + 'static {
    /// The key named `key_id`, if it exists.
    fn get<'a>(&'a self, key_id: &'a str) -> BoxFuture<'a, Result<Option<Arc<Key>>, StoreError>>;
}

impl<K: KeyStore + ?Sized> KeyStore for Arc<K> {
    fn get<'a>(&'a self, key_id: &'a str) -> BoxFuture<'a, Result<Option<Arc<Key>>, StoreError>> {
        (**self).get(key_id)
    }
}

/// An in-process key store. Clones share the same keys, so a handle kept by the application can
/// rotate or revoke keys while the layer serves requests.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use tower_hmac::{Key, KeySecret, MemoryKeyStore, Secret};
///
/// let store = MemoryKeyStore::new();
/// store.insert(Key::new("YOUR_API_KEY", Secret::new("old-secret").unwrap()));
///
/// // Rotation: the new secret is live at once, the old one for one more hour.
/// let new = KeySecret::new(Secret::new("new-secret").unwrap()).label("2026-11");
/// store.rotate("YOUR_API_KEY", new, SystemTime::now() + Duration::from_secs(3600)).unwrap();
///
/// store.revoke("YOUR_API_KEY").unwrap();
/// ```
#[derive(Clone, Default)]
pub struct MemoryKeyStore {
    keys: Arc<RwLock<HashMap<Arc<str>, Arc<Key>>>>,
}

impl MemoryKeyStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a key.
    pub fn insert(&self, key: Key) {
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        keys.insert(key.id_arc(), Arc::new(key));
    }

    /// Adds a key and returns the store, for building one in an expression.
    pub fn with(self, key: Key) -> Self {
        self.insert(key);
        self
    }

    /// Removes a key; requests naming it are then refused as unknown.
    pub fn remove(&self, key_id: &str) -> Option<Arc<Key>> {
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        keys.remove(key_id)
    }

    /// Marks a key revoked. Returns `None` if there is no such key.
    pub fn revoke(&self, key_id: &str) -> Option<()> {
        self.update(key_id, |key| key.revoked = true)
    }

    /// Starts a rotation: every current secret without an end of life stops at `old_not_after`,
    /// and `new` is added. Returns `None` if there is no such key.
    pub fn rotate(&self, key_id: &str, new: KeySecret, old_not_after: SystemTime) -> Option<()> {
        self.update(key_id, move |key| {
            for secret in &mut key.secrets {
                if secret.not_after.is_none() {
                    secret.not_after = Some(old_not_after);
                }
            }
            key.secrets.push(new);
        })
    }

    fn update(&self, key_id: &str, change: impl FnOnce(&mut Key)) -> Option<()> {
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        let slot = keys.get_mut(key_id)?;
        let mut key = Key::clone(slot);
        change(&mut key);
        *slot = Arc::new(key);
        Some(())
    }
}

impl KeyStore for MemoryKeyStore {
    fn get<'a>(&'a self, key_id: &'a str) -> BoxFuture<'a, Result<Option<Arc<Key>>, StoreError>> {
        let found = match self.keys.read() {
            Ok(keys) => Ok(keys.get(key_id).cloned()),
            Err(_) => Err(StoreError::new("key store lock poisoned")),
        };
        Box::pin(std::future::ready(found))
    }
}

impl fmt::Debug for MemoryKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.keys.read().map(|k| k.len()).unwrap_or(0);
        f.debug_struct("MemoryKeyStore")
            .field("keys", &count)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn secret(s: &str) -> Secret {
        Secret::new(s).unwrap()
    }

    #[test]
    fn status_follows_expiry_and_revocation() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let key = Key::new("k", secret("s")).expires_at(t0);
        assert_eq!(key.status_at(t0), KeyStatus::Live);
        assert_eq!(
            key.status_at(t0 + Duration::from_millis(1)),
            KeyStatus::Expired
        );
        assert_eq!(key.revoked().status_at(t0), KeyStatus::Revoked);
    }

    #[tokio::test]
    async fn rotate_bounds_old_secrets_and_adds_new() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let store = MemoryKeyStore::new().with(Key::new("k", secret("old")));
        store
            .rotate("k", KeySecret::new(secret("new")).label("v2"), t0)
            .unwrap();
        let key = store.get("k").await.unwrap().unwrap();
        let live: Vec<_> = key
            .secrets()
            .iter()
            .filter(|s| s.is_live_at(t0 + Duration::from_secs(1)))
            .map(|s| s.secret().expose().to_vec())
            .collect();
        assert_eq!(live, vec![b"new".to_vec()]);
        assert_eq!(key.secrets()[0].expiry(), Some(t0));
        assert!(
            store
                .rotate("missing", KeySecret::new(secret("x")), t0)
                .is_none()
        );
    }

    #[test]
    fn debug_hides_secrets() {
        let store = MemoryKeyStore::new().with(Key::new("k", secret("topsecret")));
        let key = Key::new("k", secret("topsecret"));
        let printed = format!("{store:?} {key:?}");
        assert!(!printed.contains("topsecret"), "{printed}");
    }
}
