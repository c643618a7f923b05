//! The in-process key store.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use super::key::{Key, KeyInner, KeySecret};
use super::{KeyStore, ReservedSecrets};
use crate::BoxFuture;
use crate::error::{ConfigError, StoreError};

/// What a [`MemoryKeyStore`] answers when a key holds a reserved secret; the key id is logged.
const HOLDS_RESERVED: ConfigError = ConfigError::new(
    "a key holds a reserved secret (such as a Spike token key used as an application key); \
     its id is logged: give it a secret of its own",
);

/// An in-process key store. Clones share the same keys, so a handle kept by the application can
/// rotate or revoke keys while the layer serves requests.
///
/// It polices [reservations](KeyStore::reserve): once a secret is reserved (Spike's token keys,
/// when a `SpikeExchange` uses the store), no key holding it gets in. [`try_insert`](Self::try_insert)
/// says so with an error; [`insert`](Self::insert), [`with`](Self::with) and
/// [`rotate`](Self::rotate) leave the store unchanged and log an error naming the key.
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
    keys: Arc<RwLock<HashMap<Arc<str>, Key>>>,
    /// Taken after `keys` whenever both are, so that no key is added while a reservation is
    /// checked and registered.
    reserved: Arc<RwLock<Vec<Arc<dyn ReservedSecrets>>>>,
}

impl MemoryKeyStore {
    /// The key named `key_id`: what `get` and `get_now` answer.
    fn find(&self, key_id: &str) -> Result<Option<Key>, StoreError> {
        match self.keys.read() {
            Ok(keys) => Ok(keys.get(key_id).cloned()),
            Err(_) => Err(StoreError::new("key store lock poisoned")),
        }
    }

    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a key.
    ///
    /// A key holding a [reserved](KeyStore::reserve) secret is not added (a key of the same id
    /// already there stays): an error naming the key id is logged. Use
    /// [`try_insert`](Self::try_insert) to handle that case.
    pub fn insert(&self, key: Key) {
        let _ = self.try_insert(key);
    }

    /// Adds or replaces a key, unless one of its secrets is [reserved](KeyStore::reserve): then
    /// the store is unchanged and the error says so (its id is logged, its secrets never are).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tower_hmac::crypto::ct_eq_secret;
    /// use tower_hmac::{Key, KeyStore, MemoryKeyStore, ReservedSecrets, Secret};
    ///
    /// struct ServerKey;
    /// impl ReservedSecrets for ServerKey {
    ///     fn is_reserved(&self, secret: &Secret) -> bool {
    ///         ct_eq_secret(secret.expose(), b"server-only")
    ///     }
    /// }
    ///
    /// let store = MemoryKeyStore::new();
    /// store.reserve(Arc::new(ServerKey)).unwrap();
    /// assert!(store.try_insert(Key::new("app", Secret::new("server-only").unwrap())).is_err());
    /// assert!(store.try_insert(Key::new("app", Secret::new("its-own").unwrap())).is_ok());
    /// ```
    pub fn try_insert(&self, key: Key) -> Result<(), ConfigError> {
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        self.check_unreserved(key.id(), key.secrets())?;
        keys.insert(key.id_arc(), key);
        Ok(())
    }

    /// Adds a key and returns the store, for building one in an expression. Like
    /// [`insert`](Self::insert), a key holding a reserved secret is left out and logged.
    pub fn with(self, key: Key) -> Self {
        self.insert(key);
        self
    }

    /// Removes a key; requests naming it are then refused as unknown.
    pub fn remove(&self, key_id: &str) -> Option<Key> {
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        keys.remove(key_id)
    }

    /// Marks a key revoked. Returns `None` if there is no such key.
    pub fn revoke(&self, key_id: &str) -> Option<()> {
        self.update(key_id, |key| key.revoked = true)
    }

    /// Starts a rotation: every current secret without an end of life stops at `old_not_after`,
    /// and `new` is added. Returns `None` if there is no such key, or if `new` is a
    /// [reserved](KeyStore::reserve) secret: then the key is unchanged and an error naming it is
    /// logged.
    pub fn rotate(&self, key_id: &str, new: KeySecret, old_not_after: SystemTime) -> Option<()> {
        let keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        if !keys.contains_key(key_id) {
            return None;
        }
        self.check_unreserved(key_id, std::slice::from_ref(&new))
            .ok()?;
        Self::update_locked(keys, key_id, move |key| {
            for secret in &mut key.secrets {
                if secret.not_after.is_none() {
                    secret.not_after = Some(old_not_after);
                }
            }
            key.secrets.push(new);
        })
    }

    fn update(&self, key_id: &str, change: impl FnOnce(&mut KeyInner)) -> Option<()> {
        let keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        Self::update_locked(keys, key_id, change)
    }

    fn update_locked(
        mut keys: std::sync::RwLockWriteGuard<'_, HashMap<Arc<str>, Key>>,
        key_id: &str,
        change: impl FnOnce(&mut KeyInner),
    ) -> Option<()> {
        // The stored key is changed in place; clones already handed out keep what they were.
        let slot = keys.get_mut(key_id)?;
        change(slot.inner_mut());
        Some(())
    }

    /// Whether one of `secrets` is reserved; call with the `keys` write lock held, so that no
    /// reservation is registered meanwhile.
    fn check_unreserved(&self, key_id: &str, secrets: &[KeySecret]) -> Result<(), ConfigError> {
        let reserved = self.reserved.read().unwrap_or_else(|e| e.into_inner());
        let holds = |r: &Arc<dyn ReservedSecrets>| {
            secrets
                .iter()
                .any(|s| s.secret().is_some_and(|s| r.is_reserved(s)))
        };
        if reserved.iter().any(holds) {
            refused_key(key_id);
            return Err(HOLDS_RESERVED);
        }
        Ok(())
    }
}

fn refused_key(key_id: &str) {
    tracing::error!(
        key_id,
        "key store: this key holds a reserved secret (such as a Spike token key); refused"
    );
}

impl KeyStore for MemoryKeyStore {
    fn get<'a>(&'a self, key_id: &'a str) -> BoxFuture<'a, Result<Option<Key>, StoreError>> {
        Box::pin(std::future::ready(self.find(key_id)))
    }

    fn get_now(&self, key_id: &str) -> Option<Result<Option<Key>, StoreError>> {
        Some(self.find(key_id))
    }

    /// Checks every key against `reserved` (an error, naming each offending key in the log, if
    /// one holds a reserved secret), then registers it: [`try_insert`](Self::try_insert),
    /// [`insert`](Self::insert), [`with`](Self::with) and [`rotate`](Self::rotate) refuse such
    /// secrets from then on. The registration lasts as long as the store.
    fn reserve(&self, reserved: Arc<dyn ReservedSecrets>) -> Result<(), ConfigError> {
        // The write lock keeps keys from being added between the check and the registration.
        let keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        let mut clash = false;
        for key in keys.values() {
            if key
                .secrets()
                .iter()
                .any(|s| s.secret().is_some_and(|s| reserved.is_reserved(s)))
            {
                refused_key(key.id());
                clash = true;
            }
        }
        if clash {
            return Err(HOLDS_RESERVED);
        }
        let mut registered = self.reserved.write().unwrap_or_else(|e| e.into_inner());
        // The same reservation again is a re-check, not a second registration.
        let same = |r: &Arc<dyn ReservedSecrets>| {
            std::ptr::addr_eq(Arc::as_ptr(r), Arc::as_ptr(&reserved))
        };
        if !registered.iter().any(same) {
            registered.push(reserved);
        }
        Ok(())
    }
}

impl fmt::Debug for MemoryKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.keys.read().map(|k| k.len()).unwrap_or(0);
        let reserved = self.reserved.read().map(|r| r.len()).unwrap_or(0);
        f.debug_struct("MemoryKeyStore")
            .field("keys", &count)
            .field("reservations", &reserved)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::crypto::Secret;
    use crate::keys::KeyStatus;

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
            .map(|s| s.secret().unwrap().expose().to_vec())
            .collect();
        assert_eq!(live, vec![b"new".to_vec()]);
        assert_eq!(key.secrets()[0].expiry(), Some(t0));
        assert!(
            store
                .rotate("missing", KeySecret::new(secret("x")), t0)
                .is_none()
        );
    }

    /// Reserves one secret, as a server's own signing key would be.
    struct Reserved(Secret);

    impl ReservedSecrets for Reserved {
        fn is_reserved(&self, secret: &Secret) -> bool {
            crate::crypto::ct_eq_secret(secret.expose(), self.0.expose())
        }
    }

    fn reserved(s: &str) -> Arc<dyn ReservedSecrets> {
        Arc::new(Reserved(secret(s)))
    }

    /// `get_now` answers what `get` answers, for a known id and an unknown one, in the store and
    /// in a single key (a webhook endpoint's store), directly and through an `Arc`.
    #[tokio::test]
    async fn get_now_answers_as_get() {
        let store = MemoryKeyStore::new().with(Key::new("k", secret("one")));
        let single = Key::new("only", secret("two"));
        let stores: [Arc<dyn KeyStore>; 2] = [Arc::new(store), Arc::new(single)];
        for store in stores {
            for id in ["k", "only", "unknown"] {
                let later = store.get(id).await.unwrap().map(|key| key.id().to_owned());
                let now = store.get_now(id).expect("in memory: answered now");
                assert_eq!(now.unwrap().map(|key| key.id().to_owned()), later, "{id}");
            }
        }
    }

    async fn secrets_of(store: &MemoryKeyStore, id: &str) -> Option<Vec<Vec<u8>>> {
        let key = store.get(id).await.unwrap()?;
        Some(
            key.secrets()
                .iter()
                .map(|s| s.secret().unwrap().expose().to_vec())
                .collect(),
        )
    }

    #[tokio::test]
    async fn a_key_added_later_holding_a_reserved_secret_is_refused() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let store = MemoryKeyStore::new().with(Key::new("app", secret("own")));
        store.reserve(reserved("server-key")).unwrap();

        // try_insert: an error, and the store is unchanged (the key of that id stays).
        let err = store
            .try_insert(Key::new("app", secret("server-key")))
            .unwrap_err();
        assert_eq!(err, HOLDS_RESERVED);
        assert!(!err.to_string().contains("server-key"));
        let clash = Key::new("new", secret("x")).with_secret(KeySecret::new(secret("server-key")));
        assert!(store.try_insert(clash).is_err());
        assert_eq!(secrets_of(&store, "app").await, Some(vec![b"own".to_vec()]));
        assert_eq!(secrets_of(&store, "new").await, None);

        // insert and with: not added either (an error is logged).
        store.insert(Key::new("other", secret("server-key")));
        let store = store.with(Key::new("app", secret("server-key")));
        assert_eq!(secrets_of(&store, "other").await, None);
        assert_eq!(secrets_of(&store, "app").await, Some(vec![b"own".to_vec()]));

        // rotate to the reserved secret: None, and nothing changes (no end of life set either).
        assert_eq!(
            store.rotate("app", KeySecret::new(secret("server-key")), t0),
            None
        );
        let key = store.get("app").await.unwrap().unwrap();
        assert_eq!(key.secrets().len(), 1);
        assert_eq!(key.secrets()[0].expiry(), None);

        // Other secrets still go in.
        store
            .try_insert(Key::new("fine", secret("its own")))
            .unwrap();
        store
            .rotate("app", KeySecret::new(secret("newer")), t0)
            .unwrap();
        assert_eq!(
            secrets_of(&store, "app").await,
            Some(vec![b"own".to_vec(), b"newer".to_vec()])
        );
    }

    #[tokio::test]
    async fn reserve_refuses_a_store_already_holding_the_secret() {
        let store = MemoryKeyStore::new()
            .with(Key::new("a", secret("fine")))
            .with(Key::new("b", secret("fine")).with_secret(KeySecret::new(secret("server-key"))));
        assert_eq!(
            store.reserve(reserved("server-key")).unwrap_err(),
            HOLDS_RESERVED
        );
        // A refused reservation is not registered.
        store
            .try_insert(Key::new("c", secret("server-key")))
            .unwrap();

        // Reserving the same Arc again re-checks without registering it twice.
        let store = MemoryKeyStore::new().with(Key::new("a", secret("fine")));
        let reservation = reserved("server-key");
        store.reserve(Arc::clone(&reservation)).unwrap();
        store.reserve(Arc::clone(&reservation)).unwrap();
        assert_eq!(
            format!("{store:?}"),
            "MemoryKeyStore { keys: 1, reservations: 1 }"
        );
        // Through an Arc, as the layers hold stores.
        let shared: Arc<dyn KeyStore> = Arc::new(store.clone());
        shared.reserve(reserved("another")).unwrap();
        assert!(store.try_insert(Key::new("d", secret("another"))).is_err());
    }

    #[test]
    fn a_store_that_cannot_police_accepts_reservations() {
        struct Remote;
        impl KeyStore for Remote {
            fn get<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Option<Key>, StoreError>> {
                Box::pin(std::future::ready(Ok(None)))
            }
        }
        assert_eq!(Remote.reserve(reserved("server-key")), Ok(()));
    }

    #[test]
    fn debug_hides_secrets() {
        let store = MemoryKeyStore::new().with(Key::new("k", secret("topsecret")));
        let key = Key::new("k", secret("topsecret"));
        let printed = format!("{store:?} {key:?}");
        assert!(!printed.contains("topsecret"), "{printed}");
    }
}
