-- Demo keys for a `SqliteKeyStore` database (the tables are `SqliteKeyStore::SCHEMA`, in
-- src/keys/sqlite.sql): the vendors' documented example credentials, as the mock provider
-- server's built-in configuration has them, plus a rotated and a revoked key to show those rows.
-- Times are Unix milliseconds.
--
--   cargo run --example keys_db --features sqlite -- keys.db     # schema + these rows
--   cat src/keys/sqlite.sql examples/keys_db.sql | sqlite3 keys.db   # the same with sqlite3
--   cargo run --release --example mock_providers --features sqlite -- --keys-db keys.db

-- Run again on the same file, it writes the same rows again.
DELETE FROM secrets WHERE (scheme, key_id) IN (VALUES
    ('humanos', 'YOUR_API_KEY'),
    ('inqud', 'TKN-6c1296b8-6929-443b-ac06-f732e0e27be1'),
    ('proficient', 'pk_40NDqyJqjBe6DJyLn44HBEgi0loTunwLdjWHhcOUGONSkpomQx0qInkWLtu0ouwSr6qqE7HQ'),
    ('spike', '9999'),
    ('humanos', 'ROTATED_KEY'),
    ('humanos', 'REVOKED_KEY'));

INSERT OR REPLACE INTO keys (scheme, key_id) VALUES
    ('humanos', 'YOUR_API_KEY'),
    ('inqud', 'TKN-6c1296b8-6929-443b-ac06-f732e0e27be1'),
    ('proficient', 'pk_40NDqyJqjBe6DJyLn44HBEgi0loTunwLdjWHhcOUGONSkpomQx0qInkWLtu0ouwSr6qqE7HQ'),
    ('spike', '9999');

INSERT INTO secrets (scheme, key_id, secret, label) VALUES
    ('humanos', 'YOUR_API_KEY', 'YOUR_SIGNATURE_SECRET', 'demo'),
    ('inqud', 'TKN-6c1296b8-6929-443b-ac06-f732e0e27be1',
     'dBajIp3wHnw5euxohPiZvsCEorG3Fhl9gsHl1UIBlsImHjWRdSJdp4Gh6e3y2PNs', 'demo'),
    ('proficient', 'pk_40NDqyJqjBe6DJyLn44HBEgi0loTunwLdjWHhcOUGONSkpomQx0qInkWLtu0ouwSr6qqE7HQ',
     'hsec_mFLSkjGK6XLK1TUxL8wgiXrjwZCqcfmgbXTC0JmZFooSl9rQlzIrpsQHNor4guw2YOUP7vWA', 'demo'),
    ('spike', '9999', 'HMAC_KEY_FROM_ADMIN_CONSOLE', 'demo');

-- A Humanos key in the middle of a rotation: the old secret was retired on 2025-01-01, the new
-- one is live.
INSERT OR REPLACE INTO keys (scheme, key_id) VALUES ('humanos', 'ROTATED_KEY');
INSERT INTO secrets (scheme, key_id, secret, label, not_after) VALUES
    ('humanos', 'ROTATED_KEY', 'OLD_SECRET', '2024', 1735689600000),
    ('humanos', 'ROTATED_KEY', 'NEW_SECRET', '2025', NULL);

-- A Humanos key revoked: refused whatever it signs.
INSERT OR REPLACE INTO keys (scheme, key_id, revoked_at) VALUES
    ('humanos', 'REVOKED_KEY', 1735689600000);
INSERT INTO secrets (scheme, key_id, secret) VALUES
    ('humanos', 'REVOKED_KEY', 'REVOKED_SECRET');
