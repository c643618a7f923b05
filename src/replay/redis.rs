use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{ReplayKey, ReplayStore};
use crate::BoxFuture;
use crate::error::StoreError;

/// A replay store in Redis, shared by every instance of a service.
///
/// Each check is one round trip, `SET <prefix><32-byte key> 1 NX PX <ttl>`: Redis executes it
/// atomically, so of any number of concurrent copies of a request, on any number of instances,
/// exactly one records the key. Keys are the same fixed-size [`ReplayKey`]s as the in-process
/// store (raw bytes after the prefix), so an entry costs the same whatever the nonce's length.
/// An Inqud HMAC check records two keys (the salt, then the verified MAC), so it costs two round
/// trips and two entries.
///
/// **Fails closed.** If Redis cannot be reached, answers an error, or does not answer within the
/// [timeout](Self::timeout), the check fails and the layer answers 503 (gRPC `UNAVAILABLE`) with a
/// `tracing` warning naming the cause. The connection manager reconnects in the background, so
/// requests pass again as soon as Redis is back; nothing has to be restarted.
///
/// **Memory is Redis's.** This store sets no capacity and no per-key share: Redis's own
/// `maxmemory` bounds it, and a key holder can fill that like any other memory. Run Redis with
/// `maxmemory-policy noeviction`: when full it then refuses new keys (the check fails, 503) instead
/// of evicting remembered ones, which would let them be replayed (every key this store writes has a
/// TTL, so the `volatile-*` policies evict them too).
///
/// ```no_run
/// # async fn run() -> Result<(), tower_hmac::StoreError> {
/// use std::time::Duration;
/// use tower_hmac::humanos::HumanosVerifyLayer;
/// use tower_hmac::replay::RedisReplayStore;
/// use tower_hmac::MemoryKeyStore;
///
/// let store = RedisReplayStore::connect("redis://127.0.0.1:6379/")
///     .await?
///     .prefix("billing-api:replay:")
///     .timeout(Duration::from_millis(200));
/// let layer = HumanosVerifyLayer::new(MemoryKeyStore::new()).replay_store(store);
/// # let _ = layer; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisReplayStore {
    connection: ConnectionManager,
    prefix: Arc<[u8]>,
    timeout: Duration,
}

impl RedisReplayStore {
    /// Default key prefix.
    pub const DEFAULT_PREFIX: &'static str = "tower-hmac:replay:";
    /// Default time a check may take before it fails closed.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);

    /// Connects to the Redis server at `url` (e.g. `redis://127.0.0.1:6379/`), failing if it
    /// cannot be reached now.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(StoreError::new)?;
        let connection =
            ConnectionManager::new_with_config(client, Self::config(Self::DEFAULT_TIMEOUT))
                .await
                .map_err(StoreError::new)?;
        Ok(Self::from_connection(connection))
    }

    /// Like [`connect`](Self::connect) but without connecting yet: the service starts even while
    /// Redis is down, and answers 503 until it is reachable.
    pub fn connect_lazy(url: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(StoreError::new)?;
        let connection =
            ConnectionManager::new_lazy_with_config(client, Self::config(Self::DEFAULT_TIMEOUT))
                .map_err(StoreError::new)?;
        Ok(Self::from_connection(connection))
    }

    /// Uses an existing connection manager (for custom TLS, credentials or retry settings).
    pub fn from_connection(connection: ConnectionManager) -> Self {
        Self {
            connection,
            prefix: Arc::from(Self::DEFAULT_PREFIX.as_bytes()),
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }

    /// The prefix of every key this store writes (default `tower-hmac:replay:`). Give each
    /// service its own when several share one Redis.
    pub fn prefix(mut self, prefix: impl AsRef<[u8]>) -> Self {
        self.prefix = Arc::from(prefix.as_ref());
        self
    }

    /// How long one check may take, connection included, before it fails closed (default
    /// 500 ms).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn config(timeout: Duration) -> ConnectionManagerConfig {
        // Few, quick reconnect attempts: a request waits at most `timeout` anyway, and the
        // manager tries again on the next request.
        ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500))
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
    }

    async fn check(&self, key: &ReplayKey, ttl: Duration) -> Result<bool, StoreError> {
        let mut redis_key = Vec::with_capacity(self.prefix.len().saturating_add(32));
        redis_key.extend_from_slice(&self.prefix);
        redis_key.extend_from_slice(key.as_bytes());
        // PX takes whole milliseconds and refuses 0.
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);

        let mut connection = self.connection.clone();
        let mut set = redis::cmd("SET");
        set.arg(redis_key).arg(1u8).arg("NX").arg("PX").arg(ttl_ms);
        let set = set.query_async::<Option<String>>(&mut connection);
        match tokio::time::timeout(self.timeout, set).await {
            Ok(Ok(reply)) => Ok(reply.is_some()),
            Ok(Err(error)) => Err(StoreError::new(error)),
            Err(_) => Err(StoreError::new(format!(
                "redis did not answer within {:?}",
                self.timeout
            ))),
        }
    }
}

impl ReplayStore for RedisReplayStore {
    fn insert_if_absent<'a>(
        &'a self,
        key: &'a ReplayKey,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(self.check(key, ttl))
    }
}

impl fmt::Debug for RedisReplayStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisReplayStore")
            .field("prefix", &String::from_utf8_lossy(&self.prefix))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}
