use std::fmt;
use std::future::Future;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::{ClusterClient, ClusterConfig};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, ErrorKind, FromRedisValue, RedisResult, Script, ServerErrorKind, ToRedisArgs};

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
static RESERVE: LazyLock<Lua> = LazyLock::new(|| {
    Lua::new(
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
static SETTLE_DONE: LazyLock<Lua> = LazyLock::new(|| {
    Lua::new(
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
static SETTLE_FAILED: LazyLock<Lua> = LazyLock::new(|| {
    Lua::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
",
    )
});

/// `KEYS` the records of one check, `ARGV[1]` the TTL (ms). Writes every key if none is there:
/// 1 if written, else 0 (and nothing written).
static RECORD_ALL: LazyLock<Lua> = LazyLock::new(|| {
    Lua::new(
        r"
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    return 0
  end
end
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], '1', 'PX', ARGV[1])
end
return 1
",
    )
});

/// A Lua script: its source, and its SHA-1 (from `redis::Script`) to call it by.
struct Lua {
    script: Script,
    source: &'static str,
}

impl Lua {
    fn new(source: &'static str) -> Self {
        Self {
            script: Script::new(source),
            source,
        }
    }

    /// `EVALSHA` (or, with `eval`, `EVAL`) of this script with `keys` and `args`.
    fn call(&self, eval: bool, keys: &[Vec<u8>], args: impl ToRedisArgs) -> Cmd {
        let mut cmd = if eval {
            let mut cmd = redis::cmd("EVAL");
            cmd.arg(self.source);
            cmd
        } else {
            let mut cmd = redis::cmd("EVALSHA");
            cmd.arg(self.script.get_hash());
            cmd
        };
        cmd.arg(keys.len()).arg(keys).arg(args);
        cmd
    }
}

/// The `PX` of a TTL: whole milliseconds, rounded up (an entry lives at least its TTL), at least
/// 1 (PX refuses 0) and at most [`MAX_PX`].
fn px(ttl: Duration) -> u64 {
    ceil_millis(ttl).clamp(1, MAX_PX)
}

fn in_flight(ticket: Ticket) -> String {
    format!("{IN_FLIGHT}{}", ticket.value())
}

/// A replay store in Redis, shared by every instance of a service: on one Redis server
/// ([`connect`](Self::connect)) or on a Redis Cluster ([`connect_cluster`](Self::connect_cluster)),
/// with the same answers.
///
/// Every check is one round trip that Redis executes atomically, so of any number of concurrent
/// copies of a request, on any number of instances, exactly one records its keys:
///
/// - a nonce alone (Humanos) is `SET <key> 1 NX PX <ttl>`;
/// - the records of one request together (Inqud's salt and its verified MAC,
///   [`insert_all_if_absent`](ReplayStore::insert_all_if_absent)) are one Lua script that writes
///   them all if none is there, else none: no failure can leave the salt burned without its MAC,
///   so a client retrying after a 503 with the same salt is not refused as a replay (unless Redis
///   did record the request and only its answer was lost);
/// - a webhook delivery's reservation and its settlement are one Lua script each (below).
///
/// Scripts are called by their SHA-1 (`EVALSHA`); a server that does not have one (restarted,
/// or a replica just promoted) gets it with `EVAL` on the same call's node, which caches it.
///
/// Keys are the same fixed-size [`ReplayKey`]s as the in-process stores (raw bytes after the
/// prefix), so an entry costs the same whatever the nonce's length, and every key is written with
/// a TTL (`PX`), sent in whole milliseconds, rounded up: an entry lives at least its TTL, and no
/// key is left without one.
///
/// # Redis Cluster
///
/// [`connect_cluster`](Self::connect_cluster) takes seed nodes and uses the `redis` crate's
/// cluster connection: it learns which node holds which slot, follows `MOVED` and `ASK`
/// redirections when slots move or a replica is promoted, and reconnects on its own. The records
/// of one check must share a slot, so in a cluster each key carries a hash tag, its
/// [owner](ReplayKey::owner) in hex: `<prefix>{<16 hex digits>}<32 bytes>`. Every record of one key
/// id of one scheme thus lives on one master (a request's salt and MAC, and every salt of that key,
/// which a MAC must be checked against whatever salt comes with it); different key ids spread
/// over the cluster. A prefix must not hold a `{` (it would change the tag). On a single server
/// keys have no tag (`<prefix><32 bytes>`, as every earlier version wrote them), so upgrading keeps
/// the history; moving from one server to a cluster starts a new one.
///
/// # Webhook deliveries
///
/// It keeps the delivery states webhook layers need, in the same keys, shared by every instance:
/// a copy handled through one instance is acknowledged by all the others, a failed one is handled
/// again by whichever instance gets the retry, and of copies arriving at once on any instances
/// exactly one is handled. [`reserve`](ReplayStore::reserve) and
/// [`settle`](ReplayStore::settle) are one round trip each, a Lua script Redis runs atomically:
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
/// **Fails closed.** If Redis (or the master holding a check's slot) cannot be reached, answers
/// an error (`CLUSTERDOWN` included), or does not answer within the [timeout](Self::timeout), the
/// check fails and the layer answers 503 (gRPC `UNAVAILABLE`) with a `tracing` warning naming the
/// cause. Connections are remade in the background, so requests pass again as soon as Redis is
/// back; nothing has to be restarted. What Redis forgets, it cannot refuse: a master restarted
/// without persistence (or a replica promoted before it received the latest writes) has lost the
/// keys it held, and their requests could be replayed until their TTL would have ended. Run
/// masters with AOF (`appendonly yes`) or replicas, as for any data you cannot lose.
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
///
/// // The same on a Redis Cluster, from any of its nodes.
/// let store = RedisReplayStore::connect_cluster(["redis://10.0.0.5:7000/", "redis://10.0.0.6:7000/"])
///     .await?
///     .prefix("billing-api:replay:");
/// let layer = HumanosVerifyLayer::new(MemoryKeyStore::new()).replay_store(store);
/// # let _ = layer; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisReplayStore {
    connection: Connection,
    prefix: Arc<[u8]>,
    timeout: Duration,
}

/// One server, or a cluster.
#[derive(Clone)]
enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl Connection {
    async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> RedisResult<T> {
        match self {
            Self::Single(connection) => cmd.query_async(&mut connection.clone()).await,
            Self::Cluster(connection) => cmd.query_async(&mut connection.clone()).await,
        }
    }
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
        Self::with(Connection::Single(connection))
    }

    /// Connects to the Redis Cluster that `nodes` belong to (seed nodes, e.g.
    /// `["redis://10.0.0.5:7000/", "redis://10.0.0.6:7000/"]`: any one that answers is enough),
    /// failing if none can be reached now. See *Redis Cluster* above.
    pub async fn connect_cluster<I>(nodes: I) -> Result<Self, StoreError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let client = Self::cluster_client(nodes)?;
        let connection = client
            .get_async_connection_with_config(Self::cluster_config(Self::DEFAULT_TIMEOUT))
            .await
            .map_err(StoreError::new)?;
        Ok(Self::from_cluster_connection(connection))
    }

    /// Like [`connect_cluster`](Self::connect_cluster) but without connecting yet: the service
    /// starts even while the cluster is down, and answers 503 until it is reachable.
    pub fn connect_cluster_lazy<I>(nodes: I) -> Result<Self, StoreError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let client = Self::cluster_client(nodes)?;
        let connection = client
            .get_pending_async_connection_with_config(Self::cluster_config(Self::DEFAULT_TIMEOUT));
        Ok(Self::from_cluster_connection(connection))
    }

    /// Uses an existing cluster connection (for custom TLS, credentials or retry settings).
    pub fn from_cluster_connection(connection: ClusterConnection) -> Self {
        Self::with(Connection::Cluster(connection))
    }

    fn with(connection: Connection) -> Self {
        Self {
            connection,
            prefix: Arc::from(Self::DEFAULT_PREFIX.as_bytes()),
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }

    /// The prefix of every key this store writes (default `tower-hmac:replay:`). Give each
    /// service its own when several share one Redis. In a cluster it must not hold a `{`.
    pub fn prefix(mut self, prefix: impl AsRef<[u8]>) -> Self {
        self.prefix = Arc::from(prefix.as_ref());
        self
    }

    /// How long one check may take, connection and redirections included, before it fails
    /// closed (default 500 ms).
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

    fn cluster_client<I>(nodes: I) -> Result<ClusterClient, StoreError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let nodes: Vec<String> = nodes
            .into_iter()
            .map(|node| node.as_ref().to_owned())
            .collect();
        if nodes.is_empty() {
            return Err(StoreError::new("no Redis Cluster node given"));
        }
        // Redirections and reconnections are retried quickly: a check waits at most the store's
        // timeout anyway, and the next check tries again.
        ClusterClient::builder(nodes)
            .retries(3)
            .min_retry_wait(10)
            .max_retry_wait(100)
            .build()
            .map_err(StoreError::new)
    }

    fn cluster_config(timeout: Duration) -> ClusterConfig {
        ClusterConfig::new()
            .set_connection_timeout(timeout)
            .set_response_timeout(timeout)
    }

    /// The Redis key of `key`: the prefix, in a cluster the hash tag of its owner, then its 32
    /// bytes.
    fn redis_key(&self, key: &ReplayKey) -> Vec<u8> {
        let mut redis_key = Vec::with_capacity(self.prefix.len().saturating_add(50));
        redis_key.extend_from_slice(&self.prefix);
        if let Connection::Cluster(_) = self.connection {
            redis_key.push(b'{');
            redis_key.extend_from_slice(const_hex::encode(key.owner().to_be_bytes()).as_bytes());
            redis_key.push(b'}');
        }
        redis_key.extend_from_slice(key.as_bytes());
        redis_key
    }

    /// Waits for `reply` at most the timeout.
    async fn within<T>(
        &self,
        reply: impl Future<Output = RedisResult<T>>,
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

    /// Runs `lua` on `keys` (which share a slot) with `args`, within the timeout: by its SHA-1,
    /// or by its source on a server that does not have it.
    async fn run<T: FromRedisValue>(
        &self,
        lua: &Lua,
        keys: &[Vec<u8>],
        args: impl ToRedisArgs + Copy,
    ) -> Result<T, StoreError> {
        self.within(async {
            match self.connection.query(&lua.call(false, keys, args)).await {
                Err(error) if error.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                    self.connection.query(&lua.call(true, keys, args)).await
                }
                reply => reply,
            }
        })
        .await
    }

    async fn check(&self, key: &ReplayKey, ttl: Duration) -> Result<bool, StoreError> {
        let mut set = redis::cmd("SET");
        set.arg(self.redis_key(key))
            .arg(1u8)
            .arg("NX")
            .arg("PX")
            .arg(px(ttl));
        let reply = self
            .within(self.connection.query::<Option<String>>(&set))
            .await?;
        Ok(reply.is_some())
    }

    async fn check_all(&self, keys: &[ReplayKey], ttl: Duration) -> Result<bool, StoreError> {
        match keys {
            [] => Ok(true),
            [key] => self.check(key, ttl).await,
            keys => {
                let keys: Vec<Vec<u8>> = keys.iter().map(|key| self.redis_key(key)).collect();
                match self.run::<i64>(&RECORD_ALL, &keys, px(ttl)).await? {
                    1 => Ok(true),
                    0 => Ok(false),
                    other => Err(StoreError::new(format!(
                        "redis answered {other} to a check"
                    ))),
                }
            }
        }
    }

    async fn reserve_for(
        &self,
        key: &ReplayKey,
        hold: Duration,
    ) -> Result<Reservation, StoreError> {
        let ticket = Ticket::new()?;
        let keys = [self.redis_key(key)];
        let in_flight = in_flight(ticket);
        match self
            .run::<i64>(&RESERVE, &keys, (in_flight.as_str(), px(hold)))
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
        let keys = [self.redis_key(key)];
        let in_flight = in_flight(ticket);
        let settled = match outcome {
            Settle::Done(ttl) => {
                self.run::<i64>(&SETTLE_DONE, &keys, (in_flight.as_str(), px(ttl)))
                    .await
            }
            Settle::Failed => {
                self.run::<i64>(&SETTLE_FAILED, &keys, in_flight.as_str())
                    .await
            }
        };
        settled.map(|_| ())
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

    fn insert_all_if_absent<'a>(
        &'a self,
        keys: &'a [ReplayKey],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(self.check_all(keys, ttl))
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
        let cluster = matches!(self.connection, Connection::Cluster(_));
        f.debug_struct("RedisReplayStore")
            .field("cluster", &cluster)
            .field("prefix", &String::from_utf8_lossy(&self.prefix))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}
