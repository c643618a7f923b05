use std::fmt;
use std::future::Future;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::time::ceil_millis;
use super::{ReplayKey, ReplayStore, Reservation, Settle, Ticket};
use crate::BoxFuture;
use crate::error::StoreError;

/// What a delivery's key holds while a copy handles it: this prefix and the copy's ticket. A
/// handled delivery's key holds `done`; any value but an `inflight:` one reads as handled, so the
/// `1` that [`ReplayStore::insert_if_absent`] writes does too.
const IN_FLIGHT: &str = "inflight:";

/// The longest TTL sent to Redis, in milliseconds (about 146 million years): Redis refuses an
/// expiry that, added to its clock, passes `i64::MAX` milliseconds.
const MAX_PX: u64 = 1 << 62;

/// `KEYS[1]` the delivery's key, `ARGV[1]` `inflight:<ticket>`, `ARGV[2]` the hold (ms). Reserves
/// an absent key for the ticket: 0 (new), else 1 (in flight) or 2 (handled).
static RESERVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local state = redis.call('GET', KEYS[1])
if not state then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 0
end
if string.sub(state, 1, 9) == 'inflight:' then
  return 1
end
return 2
",
    )
});

/// `KEYS[1]` the delivery's key, `ARGV[1]` `inflight:<ticket>`, `ARGV[2]` the TTL (ms). Marks it
/// handled if the ticket's reservation holds it or nothing does (the reservation lapsed): 1 if
/// marked, 0 if another copy's reservation or a handled delivery was left as it was.
static SETTLE_DONE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local state = redis.call('GET', KEYS[1])
if (not state) or state == ARGV[1] then
  redis.call('SET', KEYS[1], 'done', 'PX', ARGV[2])
  return 1
end
return 0
",
    )
});

/// `KEYS[1]` the delivery's key, `ARGV[1]` `inflight:<ticket>`. Forgets it if the ticket's
/// reservation holds it: 1 if forgotten, else 0.
static SETTLE_FAILED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
",
    )
});

/// The `PX` of a TTL: whole milliseconds, rounded up (an entry lives at least its TTL), at least
/// 1 (PX refuses 0) and at most [`MAX_PX`].
fn px(ttl: Duration) -> u64 {
    ceil_millis(ttl).clamp(1, MAX_PX)
}

fn in_flight(ticket: Ticket) -> String {
    format!("{IN_FLIGHT}{}", ticket.value())
}

/// A replay store in Redis, shared by every instance of a service.
///
/// Each check is one round trip, `SET <prefix><32-byte key> 1 NX PX <ttl>`: Redis executes it
/// atomically, so of any number of concurrent copies of a request, on any number of instances,
/// exactly one records the key. Keys are the same fixed-size [`ReplayKey`]s as the in-process
/// store (raw bytes after the prefix), so an entry costs the same whatever the nonce's length.
/// An Inqud HMAC check records two keys (the salt, then the verified MAC), so it costs two round
/// trips and two entries. TTLs are sent in whole milliseconds, rounded up: an entry lives at
/// least its TTL.
///
/// # Webhook deliveries
///
/// It keeps the delivery states webhook layers need, in the same keys, shared by every instance:
/// a copy handled through one instance is acknowledged by all the others, a failed one is handled
/// again by whichever instance gets the retry, and of copies arriving at once on any instances
/// exactly one is handled. [`reserve`](ReplayStore::reserve) and
/// [`settle`](ReplayStore::settle) are one round trip each, a Lua script Redis runs atomically
/// (`EVALSHA`; the script is loaded again if Redis lost it):
///
/// | key holds | reserve | settle handled | settle failed |
/// |---|---|---|---|
/// | nothing | `inflight:<ticket>` for the hold: new | `done` for the TTL | - |
/// | `inflight:<this ticket>` | in flight | `done` for the TTL | deleted |
/// | `inflight:<other ticket>` | in flight | left | left |
/// | `done`, or the `1` of a nonce | handled | left | left |
///
/// The ticket is a random number: a copy whose reservation lapsed (its handler took longer than
/// the hold) cannot settle the reservation another copy took since. A reservation whose answer
/// was lost (Redis answered after the [timeout](Self::timeout): the copy got 503) holds the
/// delivery until its hold lapses, and copies get 409 meanwhile; a settlement that fails is
/// logged, and the reservation lapses the same way.
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

    /// The Redis key of `key`: the prefix, then its 32 bytes.
    fn redis_key(&self, key: &ReplayKey) -> Vec<u8> {
        let mut redis_key = Vec::with_capacity(self.prefix.len().saturating_add(32));
        redis_key.extend_from_slice(&self.prefix);
        redis_key.extend_from_slice(key.as_bytes());
        redis_key
    }

    /// Waits for `reply` at most the timeout.
    async fn within<T>(
        &self,
        reply: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, reply).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(error)) => Err(StoreError::new(error)),
            Err(_) => Err(StoreError::new(format!(
                "redis did not answer within {:?}",
                self.timeout
            ))),
        }
    }

    async fn check(&self, key: &ReplayKey, ttl: Duration) -> Result<bool, StoreError> {
        let mut connection = self.connection.clone();
        let mut set = redis::cmd("SET");
        set.arg(self.redis_key(key))
            .arg(1u8)
            .arg("NX")
            .arg("PX")
            .arg(px(ttl));
        let reply = self
            .within(set.query_async::<Option<String>>(&mut connection))
            .await?;
        Ok(reply.is_some())
    }

    async fn reserve_for(
        &self,
        key: &ReplayKey,
        hold: Duration,
    ) -> Result<Reservation, StoreError> {
        let ticket = Ticket::new()?;
        let mut connection = self.connection.clone();
        let mut script = RESERVE.key(self.redis_key(key));
        script.arg(in_flight(ticket)).arg(px(hold));
        match self
            .within(script.invoke_async::<i64>(&mut connection))
            .await?
        {
            0 => Ok(Reservation::New(ticket)),
            1 => Ok(Reservation::InFlight),
            2 => Ok(Reservation::Done),
            other => Err(StoreError::new(format!(
                "redis answered {other} to a reservation"
            ))),
        }
    }

    async fn end(
        &self,
        key: &ReplayKey,
        ticket: Ticket,
        outcome: Settle,
    ) -> Result<(), StoreError> {
        let mut connection = self.connection.clone();
        let script = match outcome {
            Settle::Done(ttl) => {
                let mut script = SETTLE_DONE.key(self.redis_key(key));
                script.arg(in_flight(ticket)).arg(px(ttl));
                script
            }
            Settle::Failed => {
                let mut script = SETTLE_FAILED.key(self.redis_key(key));
                script.arg(in_flight(ticket));
                script
            }
        };
        self.within(script.invoke_async::<i64>(&mut connection))
            .await
            .map(|_| ())
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

    fn reserve<'a>(
        &'a self,
        key: &'a ReplayKey,
        hold: Duration,
    ) -> BoxFuture<'a, Result<Reservation, StoreError>> {
        Box::pin(self.reserve_for(key, hold))
    }

    fn settle<'a>(
        &'a self,
        key: &'a ReplayKey,
        ticket: Ticket,
        outcome: Settle,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.end(key, ticket, outcome))
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
