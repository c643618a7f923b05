-- The schema of `SqliteKeyStore` (feature `sqlite`). Times are Unix milliseconds.

-- One row per key: the id a client names in its requests, under one scheme.
CREATE TABLE IF NOT EXISTS keys (
    scheme     TEXT NOT NULL,     -- 'humanos', 'inqud', 'proficient', 'spike', ...
    key_id     TEXT NOT NULL,     -- the API key, token id, publishable key or application id
    expires_at INTEGER,           -- refused after this instant; NULL: never expires
    revoked_at INTEGER,           -- when it was revoked (refused from then on); NULL: not revoked
    PRIMARY KEY (scheme, key_id)
) WITHOUT ROWID;

-- One row per secret of a key, tried in the order they were added. A rotation adds the new
-- secret's row and sets `not_after` on the old one: both are accepted until then. A key of a
-- sender that signs with Ed25519 (Standard Webhooks `v1a`, Discord) holds its public key instead,
-- rotated the same way.
CREATE TABLE IF NOT EXISTS secrets (
    id        INTEGER PRIMARY KEY,
    scheme    TEXT NOT NULL,
    key_id    TEXT NOT NULL,
    secret    BLOB NOT NULL,      -- the secret's bytes (a TEXT value is taken as its UTF-8 bytes),
                                  -- or for kind 'ed25519' the public key's 32 bytes
    kind      TEXT NOT NULL DEFAULT 'hmac', -- 'hmac': a shared secret; 'ed25519': a public key
    label     TEXT,               -- reported to the handler when this secret matched
    not_after INTEGER,            -- refused after this instant; NULL: until retired
    FOREIGN KEY (scheme, key_id) REFERENCES keys (scheme, key_id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS secrets_of_key ON secrets (scheme, key_id);
