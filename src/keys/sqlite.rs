//! An example key store on SQLite (feature `sqlite`).

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

use super::KeyStore;
use super::key::{Key, KeyMaterial, KeySecret};
use crate::BoxFuture;
use crate::crypto::{Ed25519PublicKey, Secret};
use crate::error::StoreError;

/// One key and its secrets, in the order they were added.
const LOOKUP: &str = "\
SELECT k.expires_at, k.revoked_at, s.secret, s.label, s.not_after, s.kind
FROM keys AS k LEFT JOIN secrets AS s ON s.scheme = k.scheme AND s.key_id = k.key_id
WHERE k.scheme = ?1 AND k.key_id = ?2
ORDER BY s.id";

/// The keys of one scheme in an SQLite database (feature `sqlite`, through `sqlx`): an example
/// of a [`KeyStore`] on a real database, to put behind a [`CachedKeyStore`](super::CachedKeyStore)
/// so that a request reads the database only when its key id is not cached.
///
/// Keys and their secrets are rows ([`SCHEMA`](Self::SCHEMA), times in Unix milliseconds):
///
/// ```sql
/// CREATE TABLE keys (scheme TEXT, key_id TEXT, expires_at INTEGER, revoked_at INTEGER,
///                    PRIMARY KEY (scheme, key_id));
/// CREATE TABLE secrets (id INTEGER PRIMARY KEY, scheme TEXT, key_id TEXT, secret BLOB,
///                       kind TEXT DEFAULT 'hmac', label TEXT, not_after INTEGER);
/// ```
///
/// and each change is a row written:
///
/// | change | SQL |
/// |---|---|
/// | a new key | `INSERT INTO keys (scheme, key_id) VALUES ('inqud', 'TKN-1');` and its secret: `INSERT INTO secrets (scheme, key_id, secret) VALUES ('inqud', 'TKN-1', 'the secret');` |
/// | a sender's Ed25519 public key (Discord, Standard Webhooks `v1a`; a webhook endpoint's key id is the scheme's name) | `INSERT INTO keys (scheme, key_id) VALUES ('discord', 'discord');` and `INSERT INTO secrets (scheme, key_id, secret, kind) VALUES ('discord', 'discord', X'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 'ed25519');` |
/// | rotation | the new secret's row, then `UPDATE secrets SET not_after = <end of overlap> WHERE id = <old>;` |
/// | expiry | `UPDATE keys SET expires_at = <instant> WHERE ...;` |
/// | revocation | `UPDATE keys SET revoked_at = <now> WHERE ...;` |
///
/// A key with no secret is refused like a wrong signature; a secret row holding no bytes, a public
/// key that is not 32 bytes of a valid (and not weak) Ed25519 key, or a `kind` other than `'hmac'`
/// and `'ed25519'` is skipped (with a warning): the key has that much less to verify with, never
/// more. Behind a cache, evict the key id after each change
/// ([`CachedKeyStore::evict`](super::CachedKeyStore::evict)), or it applies when the cached
/// entry expires.
///
/// The mock provider server serves its API providers' keys from such a file
/// (`--keys-db PATH`); `cargo run --example keys_db --features sqlite -- PATH` creates one with
/// the vendors' demo credentials (`examples/keys_db.sql`).
///
/// # Security
///
/// Secrets are stored as they are used (an HMAC needs the secret itself, not a hash of it):
/// protect the file as you would the secrets. A database that fails or cannot be reached is an
/// error (503), never a key let through; bound a slow one with the cache's
/// [`timeout`](super::CachedKeyStore::timeout) (each lookup also waits at most
/// 1 s for a connection). The store reads only, through its own connections: write the rows with
/// any SQLite client.
///
/// ```no_run
/// # async fn run() -> Result<(), tower_hmac::StoreError> {
/// use tower_hmac::inqud::InqudVerifyLayer;
/// use tower_hmac::{CachedKeyStore, SqliteKeyStore};
///
/// let keys = SqliteKeyStore::open("keys.db", "inqud").await?;
/// let layer = InqudVerifyLayer::new(CachedKeyStore::new(keys));
/// # let _ = layer; Ok(()) }
/// ```
#[derive(Clone)]
pub struct SqliteKeyStore {
    pool: SqlitePool,
    scheme: Arc<str>,
}

impl SqliteKeyStore {
    /// The tables this store reads, as SQL (`CREATE TABLE IF NOT EXISTS`): `keys` and `secrets`.
    pub const SCHEMA: &'static str = include_str!("sqlite.sql");

    /// Opens the database file at `path`, which must exist and hold the tables of
    /// [`SCHEMA`](Self::SCHEMA), for the keys of `scheme` (the `scheme` column: `"inqud"`, say).
    pub async fn open(path: impl AsRef<Path>, scheme: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .busy_timeout(Duration::from_secs(1));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(1))
            .connect_with(options)
            .await
            .map_err(StoreError::new)?;
        // Every column the lookup reads, checked once here rather than answered 503 on every
        // request.
        sqlx::query("SELECT secret, kind, label, not_after FROM secrets LIMIT 0")
            .execute(&pool)
            .await
            .map_err(|error| {
                StoreError::new(format!(
                    "{error}: the database lacks this store's tables (`SqliteKeyStore::SCHEMA`); \
                     one made before Ed25519 keys were stored needs \
                     `ALTER TABLE secrets ADD COLUMN kind TEXT NOT NULL DEFAULT 'hmac'`"
                ))
            })?;
        Ok(Self::from_pool(pool, scheme))
    }

    /// Creates the database file at `path` if it does not exist and the tables in it if they do
    /// not exist ([`SCHEMA`](Self::SCHEMA)), then runs `sql` on it (rows to insert, say; `""`
    /// for none).
    pub async fn create(path: impl AsRef<Path>, sql: &str) -> Result<(), StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(StoreError::new)?;
        let script = format!("{}\n{sql}", Self::SCHEMA);
        let done = sqlx::raw_sql(&script).execute(&pool).await;
        pool.close().await;
        done.map(|_| ()).map_err(StoreError::new)
    }

    /// A store reading the keys of `scheme` through `pool` (for your own connection options).
    pub fn from_pool(pool: SqlitePool, scheme: &str) -> Self {
        Self {
            pool,
            scheme: Arc::from(scheme),
        }
    }

    /// The same database, for the keys of another scheme (sharing the connections).
    pub fn with_scheme(&self, scheme: &str) -> Self {
        Self::from_pool(self.pool.clone(), scheme)
    }

    /// The scheme whose keys this store reads.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The connection pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn lookup(&self, key_id: &str) -> Result<Option<Key>, StoreError> {
        let rows = sqlx::query(LOOKUP)
            .bind(&*self.scheme)
            .bind(key_id)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::new)?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let expires_at: Option<i64> = first.try_get(0).map_err(StoreError::new)?;
        let revoked_at: Option<i64> = first.try_get(1).map_err(StoreError::new)?;
        let mut secrets = Vec::with_capacity(rows.len());
        for row in &rows {
            let bytes: Option<Vec<u8>> = row.try_get(2).map_err(StoreError::new)?;
            let Some(bytes) = bytes else {
                // The key's row, without any secret.
                continue;
            };
            let kind: Option<String> = row.try_get(5).map_err(StoreError::new)?;
            let Some(material) = material(kind.as_deref(), bytes) else {
                tracing::warn!(
                    scheme = &*self.scheme,
                    key_id,
                    kind = kind.as_deref().unwrap_or("hmac"),
                    "a secret row of this key holds no usable key material; skipped"
                );
                continue;
            };
            let mut secret = KeySecret::new(material);
            if let Some(label) = row
                .try_get::<Option<String>, _>(3)
                .map_err(StoreError::new)?
            {
                secret = secret.label(label);
            }
            if let Some(end) = row.try_get::<Option<i64>, _>(4).map_err(StoreError::new)? {
                secret = secret.not_after(instant(end));
            }
            secrets.push(secret);
        }
        let mut key = Key::from_secrets(key_id, secrets);
        if let Some(end) = expires_at {
            key = key.expires_at(instant(end));
        }
        if revoked_at.is_some() {
            key = key.revoked();
        }
        Ok(Some(key))
    }
}

/// What a secret row holds, by its `kind`: `None` for bytes that are no such material (an empty
/// secret, a public key that is not a valid one) or an unknown kind.
fn material(kind: Option<&str>, bytes: Vec<u8>) -> Option<KeyMaterial> {
    match kind.unwrap_or("hmac") {
        "hmac" => Secret::new(bytes).ok().map(KeyMaterial::from),
        "ed25519" => Ed25519PublicKey::from_bytes(&bytes)
            .ok()
            .map(KeyMaterial::from),
        _ => None,
    }
}

/// The instant `ms` Unix milliseconds name (before the epoch: the epoch).
fn instant(ms: i64) -> SystemTime {
    let ms = u64::try_from(ms).unwrap_or(0);
    UNIX_EPOCH
        .checked_add(Duration::from_millis(ms))
        .unwrap_or(UNIX_EPOCH)
}

impl KeyStore for SqliteKeyStore {
    fn get<'a>(&'a self, key_id: &'a str) -> BoxFuture<'a, Result<Option<Key>, StoreError>> {
        Box::pin(self.lookup(key_id))
    }
}

impl fmt::Debug for SqliteKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteKeyStore")
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}
