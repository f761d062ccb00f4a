-- PostgreSQL's 0005_vault_keys.sql: the same schema as ../0005_vault_keys.sql (BYTEA for BLOB, BIGINT for
-- INTEGER, identity columns for row ids).
-- Secrets the vault keeps in the database, wrapped by the master key ring like data keys
-- (so rotating the master key re-wraps them and the old master key can then be removed).
CREATE TABLE vault_keys (
    name         TEXT PRIMARY KEY,
    key_id       TEXT NOT NULL,
    wrapped_key  BYTEA NOT NULL
);
