//! A key store in front of another, with a bounded in-process cache.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use moka::Expiry;

use super::key::Key;
use super::{KeyStore, ReservedSecrets};
use crate::BoxFuture;
use crate::error::{ConfigError, StoreError};

/// A [`KeyStore`] that caches the answers of another (a database, a secrets manager), so that
/// a request costs a round trip to it only when its key id is not cached.
///
/// - A key found is cached for [`ttl`](Self::ttl) (60 s by default); an unknown id for
///   [`unknown_ttl`](Self::unknown_ttl) (5 s), so that a key created meanwhile is found soon.
/// - The cache is bounded ([`max_entries`](Self::max_entries), 10,000 by default; the least
///   recently used go first).
/// - When many requests miss the same id at once, one lookup is in flight and the others wait for
///   its answer (single flight), so a cold cache does not stampede the store.
/// - A lookup that fails is not cached: the requests waiting on it get 503 ([`StoreError`]),
///   and the next request tries again. A lookup slower than [`timeout`](Self::timeout) (1 s) fails
///   the same way: a slow database bounds the requests' latency, never lets one through.
/// - [`evict`](Self::evict) drops one id at once: call it when a key is revoked, rotated or
///   created, so that the change takes effect before the TTL ends.
///
/// An unknown id still costs the MAC work of a known one: the cache answers "unknown" like the
/// store, and the layer checks the request against a placeholder key all the same.
///
/// # Security
///
/// Until its TTL ends or it is evicted, a cached key is used as it was when it was read: a
/// revocation, expiry set or secret retired in the store alone takes up to the TTL to apply
/// (an expiry or `not_after` already in the key applies on time, as the key is checked as of each
/// request). Keep the TTL short, or evict on every change. An eviction also applies to a lookup
/// that was under way when it was made: its answer is not used, and the requests waiting for it
/// look the key up again.
///
/// Distinct unknown ids are distinct lookups: a flood of made-up ids costs one store round trip
/// each (cached for `unknown_ttl` after), and takes room from found keys. Rate-limit
/// unauthenticated traffic in front of the layer where that matters.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tower_hmac::StoreError> {
/// use std::time::Duration;
/// use tower_hmac::{CachedKeyStore, Key, KeyStatus, KeyStore, MemoryKeyStore, Secret};
///
/// // Stands for a database: every lookup of the cache's misses reaches it.
/// let database = MemoryKeyStore::new().with(Key::new("TKN-1", Secret::new("s3cret").unwrap()));
/// let keys = CachedKeyStore::new(database.clone())
///     .ttl(Duration::from_secs(30))
///     .unknown_ttl(Duration::from_secs(2));
///
/// let status = |key: Option<Key>| key.map(|key| key.status_at(std::time::SystemTime::now()));
///
/// assert_eq!(status(keys.get("TKN-1").await?), Some(KeyStatus::Live)); // read, now cached
/// database.revoke("TKN-1");
/// assert_eq!(status(keys.get("TKN-1").await?), Some(KeyStatus::Live)); // the cached key
/// keys.evict("TKN-1").await; // what a revocation does beside the store
/// assert_eq!(status(keys.get("TKN-1").await?), Some(KeyStatus::Revoked));
/// assert!(keys.get("TKN-2").await?.is_none()); // unknown, and cached as such for 2 s
/// # Ok(()) }
/// ```
pub struct CachedKeyStore<K> {
    inner: Arc<K>,
    cache: moka::future::Cache<Arc<str>, Cached>,
    /// The last eviction of each id recently evicted, on `epoch`; kept as long as an entry can
    /// live.
    evicted: moka::sync::Cache<Arc<str>, u64>,
    /// Counts evictions: a lookup notes it before it starts.
    epoch: Arc<AtomicU64>,
    /// The last [`evict_all`](Self::evict_all), on `epoch`.
    all_evicted: Arc<AtomicU64>,
    options: Options,
}

#[derive(Clone, Copy, Debug)]
struct Options {
    max_entries: u64,
    ttl: Duration,
    unknown_ttl: Duration,
    timeout: Duration,
}

/// An answer of the inner store, and the eviction count when its lookup started.
#[derive(Clone)]
struct Cached {
    key: Option<Key>,
    epoch: u64,
}

struct Ttls {
    found: Duration,
    unknown: Duration,
}

impl Expiry<Arc<str>, Cached> for Ttls {
    fn expire_after_create(
        &self,
        _id: &Arc<str>,
        cached: &Cached,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(if cached.key.is_some() {
            self.found
        } else {
            self.unknown
        })
    }
}

impl<K: KeyStore> CachedKeyStore<K> {
    /// Default [`max_entries`](Self::max_entries): 10,000 ids.
    pub const DEFAULT_MAX_ENTRIES: u64 = 10_000;
    /// Default [`ttl`](Self::ttl): 60 s.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(60);
    /// Default [`unknown_ttl`](Self::unknown_ttl): 5 s.
    pub const DEFAULT_UNKNOWN_TTL: Duration = Duration::from_secs(5);
    /// Default [`timeout`](Self::timeout): 1 s.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

    /// A cache in front of `inner`, with the default options.
    pub fn new(inner: K) -> Self {
        Self::with(
            Arc::new(inner),
            Options {
                max_entries: Self::DEFAULT_MAX_ENTRIES,
                ttl: Self::DEFAULT_TTL,
                unknown_ttl: Self::DEFAULT_UNKNOWN_TTL,
                timeout: Self::DEFAULT_TIMEOUT,
            },
        )
    }

    fn with(inner: Arc<K>, options: Options) -> Self {
        let cache = moka::future::Cache::builder()
            .max_capacity(options.max_entries)
            .expire_after(Ttls {
                found: options.ttl,
                unknown: options.unknown_ttl,
            })
            .build();
        let evicted = moka::sync::Cache::builder()
            .time_to_live(options.ttl.max(options.unknown_ttl))
            .build();
        Self {
            inner,
            cache,
            evicted,
            epoch: Arc::new(AtomicU64::new(0)),
            all_evicted: Arc::new(AtomicU64::new(0)),
            options,
        }
    }

    /// At most this many ids are cached (found and unknown alike); the least recently used are
    /// dropped first. Starts an empty cache: set the options before use.
    pub fn max_entries(self, max_entries: u64) -> Self {
        let options = Options {
            max_entries,
            ..self.options
        };
        Self::with(self.inner, options)
    }

    /// How long a key found is used before it is read again. Starts an empty cache.
    pub fn ttl(self, ttl: Duration) -> Self {
        let options = Options {
            ttl,
            ..self.options
        };
        Self::with(self.inner, options)
    }

    /// How long an unknown id is answered unknown before it is looked up again. Starts an empty
    /// cache.
    pub fn unknown_ttl(self, unknown_ttl: Duration) -> Self {
        let options = Options {
            unknown_ttl,
            ..self.options
        };
        Self::with(self.inner, options)
    }

    /// How long a lookup in the inner store may take before it fails (503). Starts an empty
    /// cache.
    pub fn timeout(self, timeout: Duration) -> Self {
        let options = Options {
            timeout,
            ..self.options
        };
        Self::with(self.inner, options)
    }

    /// The inner store.
    pub fn get_ref(&self) -> &K {
        &self.inner
    }

    /// Drops `key_id` from the cache: the next request naming it reads the inner store, and so
    /// does every request whose lookup of it was already under way.
    pub async fn evict(&self, key_id: &str) {
        let id: Arc<str> = Arc::from(key_id);
        let epoch = self.epoch.fetch_add(1, Ordering::SeqCst).saturating_add(1);
        self.evicted.insert(Arc::clone(&id), epoch);
        self.cache.invalidate(&id).await;
    }

    /// Drops every cached id.
    pub fn evict_all(&self) {
        // As if each id were evicted: lookups under way are not trusted either.
        let epoch = self.epoch.fetch_add(1, Ordering::SeqCst).saturating_add(1);
        self.all_evicted.fetch_max(epoch, Ordering::SeqCst);
        self.cache.invalidate_all();
    }

    /// Ids cached now (an estimate: expired entries are dropped lazily).
    pub fn entry_count(&self) -> u64 {
        self.cache.entry_count()
    }

    /// Whether `cached` was read before the last eviction of `id` (or of every id).
    fn stale(&self, id: &str, cached: &Cached) -> bool {
        let last = self
            .evicted
            .get(id)
            .unwrap_or(0)
            .max(self.all_evicted.load(Ordering::SeqCst));
        cached.epoch < last
    }

    async fn lookup(&self, key_id: &str) -> Result<Option<Key>, StoreError> {
        // Twice at most: an entry found stale is dropped and read again; a second one means
        // another eviction came meanwhile, and that lookup's answer is as fresh as any.
        for _ in 0..2 {
            let cached = match self.cache.get(key_id).await {
                Some(cached) => cached,
                None => {
                    let epoch = self.epoch.load(Ordering::SeqCst);
                    let inner = Arc::clone(&self.inner);
                    let id: Arc<str> = Arc::from(key_id);
                    let timeout = self.options.timeout;
                    let read = async move {
                        let key = match tokio::time::timeout(timeout, inner.get(&id)).await {
                            Ok(Ok(key)) => key,
                            Ok(Err(error)) => return Err(cause(&error)),
                            Err(_) => {
                                return Err(format!(
                                    "the key store did not answer within {timeout:?}"
                                ));
                            }
                        };
                        Ok(Cached { key, epoch })
                    };
                    self.cache
                        .try_get_with(Arc::from(key_id), read)
                        .await
                        .map_err(|error: Arc<String>| StoreError::new(error.to_string()))?
                }
            };
            if !self.stale(key_id, &cached) {
                return Ok(cached.key);
            }
            self.cache.invalidate(key_id).await;
        }
        self.read_through(key_id).await
    }

    /// The inner store's answer, not cached.
    async fn read_through(&self, key_id: &str) -> Result<Option<Key>, StoreError> {
        let timeout = self.options.timeout;
        match tokio::time::timeout(timeout, self.inner.get(key_id)).await {
            Ok(answer) => answer,
            Err(_) => Err(StoreError::new(format!(
                "the key store did not answer within {timeout:?}"
            ))),
        }
    }
}

/// What a [`StoreError`] says beyond "store unavailable".
fn cause(error: &StoreError) -> String {
    std::error::Error::source(error).map_or_else(|| error.to_string(), ToString::to_string)
}

impl<K: KeyStore> KeyStore for CachedKeyStore<K> {
    fn get<'a>(&'a self, key_id: &'a str) -> BoxFuture<'a, Result<Option<Key>, StoreError>> {
        Box::pin(self.lookup(key_id))
    }

    fn reserve(&self, reserved: Arc<dyn ReservedSecrets>) -> Result<(), ConfigError> {
        self.inner.reserve(reserved)
    }
}

impl<K> Clone for CachedKeyStore<K> {
    /// Clones share the cache and the inner store.
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            cache: self.cache.clone(),
            evicted: self.evicted.clone(),
            epoch: Arc::clone(&self.epoch),
            all_evicted: Arc::clone(&self.all_evicted),
            options: self.options,
        }
    }
}

impl<K: fmt::Debug> fmt::Debug for CachedKeyStore<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Counts and options only: cached keys hold secrets.
        f.debug_struct("CachedKeyStore")
            .field("inner", &self.inner)
            .field("entries", &self.cache.entry_count())
            .field("max_entries", &self.options.max_entries)
            .field("ttl", &self.options.ttl)
            .field("unknown_ttl", &self.options.unknown_ttl)
            .field("timeout", &self.options.timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use tokio::sync::Semaphore;

    use super::*;
    use crate::crypto::Secret;
    use crate::keys::{KeyStatus, MemoryKeyStore};

    /// A store that counts its lookups, answers from a [`MemoryKeyStore`], and, when gated, waits
    /// for a permit before each answer (the key read before the wait).
    #[derive(Clone, Default)]
    struct Counted {
        keys: MemoryKeyStore,
        lookups: Arc<AtomicUsize>,
        gate: Option<Arc<Semaphore>>,
        fail: bool,
    }

    impl Counted {
        fn lookups(&self) -> usize {
            self.lookups.load(Ordering::SeqCst)
        }
    }

    impl KeyStore for Counted {
        fn get<'a>(&'a self, key_id: &'a str) -> BoxFuture<'a, Result<Option<Key>, StoreError>> {
            Box::pin(async move {
                self.lookups.fetch_add(1, Ordering::SeqCst);
                let answer = self.keys.get(key_id).await;
                if let Some(gate) = &self.gate {
                    gate.acquire().await.unwrap().forget();
                }
                if self.fail {
                    return Err(StoreError::new("database is down"));
                }
                answer
            })
        }
    }

    fn database() -> Counted {
        Counted {
            keys: MemoryKeyStore::new().with(Key::new("TKN-1", Secret::new("s").unwrap())),
            ..Counted::default()
        }
    }

    fn status(key: Option<Key>) -> Option<KeyStatus> {
        key.map(|key| key.status_at(std::time::SystemTime::now()))
    }

    #[tokio::test]
    async fn a_found_key_is_read_once_then_served_from_the_cache() {
        let db = database();
        let keys = CachedKeyStore::new(db.clone());
        for _ in 0..5 {
            assert_eq!(keys.get("TKN-1").await.unwrap().unwrap().id(), "TKN-1");
        }
        assert_eq!(db.lookups(), 1);
    }

    #[tokio::test]
    async fn an_unknown_id_is_cached_for_the_shorter_ttl() {
        let db = database();
        let keys = CachedKeyStore::new(db.clone())
            .ttl(Duration::from_secs(60))
            .unknown_ttl(Duration::from_millis(200));
        assert!(keys.get("TKN-2").await.unwrap().is_none());
        assert!(keys.get("TKN-2").await.unwrap().is_none());
        assert!(keys.get("TKN-1").await.unwrap().is_some());
        assert_eq!(db.lookups(), 2);
        // Created meanwhile: found once the unknown answer expired, the known key still cached.
        db.keys.insert(Key::new("TKN-2", Secret::new("s").unwrap()));
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(keys.get("TKN-2").await.unwrap().is_some());
        assert!(keys.get("TKN-1").await.unwrap().is_some());
        assert_eq!(db.lookups(), 3);
    }

    #[tokio::test]
    async fn a_found_key_is_read_again_after_its_ttl() {
        let db = database();
        let keys = CachedKeyStore::new(db.clone()).ttl(Duration::from_millis(200));
        assert!(keys.get("TKN-1").await.unwrap().is_some());
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(keys.get("TKN-1").await.unwrap().is_some());
        assert_eq!(db.lookups(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_misses_of_one_id_are_one_lookup() {
        let gate = Arc::new(Semaphore::new(0));
        let db = Counted {
            gate: Some(Arc::clone(&gate)),
            ..database()
        };
        let keys = CachedKeyStore::new(db.clone());
        let waiting: Vec<_> = (0..50)
            .map(|_| {
                let keys = keys.clone();
                tokio::spawn(async move { keys.get("TKN-1").await })
            })
            .collect();
        // Every request is waiting on the one lookup before it answers.
        while db.lookups() == 0 {
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        gate.add_permits(1);
        for request in waiting {
            assert_eq!(request.await.unwrap().unwrap().unwrap().id(), "TKN-1");
        }
        assert_eq!(db.lookups(), 1);
    }

    #[tokio::test]
    async fn eviction_applies_a_revocation_at_once() {
        let db = database();
        let keys = CachedKeyStore::new(db.clone());
        assert_eq!(
            status(keys.get("TKN-1").await.unwrap()),
            Some(KeyStatus::Live)
        );
        db.keys.revoke("TKN-1");
        assert_eq!(
            status(keys.get("TKN-1").await.unwrap()),
            Some(KeyStatus::Live)
        );
        keys.evict("TKN-1").await;
        assert_eq!(
            status(keys.get("TKN-1").await.unwrap()),
            Some(KeyStatus::Revoked)
        );
        assert_eq!(db.lookups(), 2);
        // Other ids keep their entries.
        assert!(keys.get("TKN-2").await.unwrap().is_none());
        keys.evict("TKN-1").await;
        assert!(keys.get("TKN-2").await.unwrap().is_none());
        assert_eq!(db.lookups(), 3);
    }

    /// A lookup under way when a key is evicted must not put its old answer back in the cache
    /// (where it would be served until the TTL): the request waiting for it reads the key again,
    /// and so does the next.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_eviction_during_a_lookup_is_not_undone_by_it() {
        let gate = Arc::new(Semaphore::new(0));
        let db = Counted {
            gate: Some(Arc::clone(&gate)),
            ..database()
        };
        let keys = CachedKeyStore::new(db.clone());
        let under_way = {
            let keys = keys.clone();
            tokio::spawn(async move { keys.get("TKN-1").await })
        };
        while db.lookups() == 0 {
            tokio::task::yield_now().await;
        }
        // Revoked and evicted while the lookup (which read the live key) is under way.
        db.keys.revoke("TKN-1");
        keys.evict("TKN-1").await;
        gate.add_permits(10);
        assert_eq!(
            status(under_way.await.unwrap().unwrap()),
            Some(KeyStatus::Revoked)
        );
        assert_eq!(
            status(keys.get("TKN-1").await.unwrap()),
            Some(KeyStatus::Revoked)
        );
        assert_eq!(db.lookups(), 2);
    }

    #[tokio::test]
    async fn a_failing_store_is_an_error_and_is_not_cached() {
        let db = Counted {
            fail: true,
            ..database()
        };
        let keys = CachedKeyStore::new(db.clone());
        for _ in 0..3 {
            let error = keys.get("TKN-1").await.unwrap_err();
            assert_eq!(error.to_string(), "store unavailable: database is down");
        }
        assert_eq!(db.lookups(), 3);
    }

    #[tokio::test]
    async fn a_slow_store_fails_within_the_timeout() {
        let gate = Arc::new(Semaphore::new(0));
        let db = Counted {
            gate: Some(gate),
            ..database()
        };
        let keys = CachedKeyStore::new(db).timeout(Duration::from_millis(100));
        let started = Instant::now();
        let error = keys.get("TKN-1").await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(
            error.to_string(),
            "store unavailable: the key store did not answer within 100ms"
        );
    }

    #[test]
    fn debug_shows_no_secret() {
        let keys = CachedKeyStore::new(MemoryKeyStore::new());
        let shown = format!("{keys:?}");
        assert!(
            shown.starts_with("CachedKeyStore { inner: MemoryKeyStore"),
            "{shown}"
        );
        assert!(
            shown.contains("ttl: 60s, unknown_ttl: 5s, timeout: 1s"),
            "{shown}"
        );
    }
}
