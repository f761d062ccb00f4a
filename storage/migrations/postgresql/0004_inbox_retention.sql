-- PostgreSQL's 0004_inbox_retention.sql: the same schema as ../0004_inbox_retention.sql (BYTEA for BLOB, BIGINT for
-- INTEGER, identity columns for row ids).
-- Exactly-once handling and retention.

-- Updates fetched from Telegram, stored (sealed) before the offset is confirmed, deleted once
-- handled. Nothing here outlives its handling.
CREATE TABLE inbox (
    update_id    BIGINT PRIMARY KEY,
    sealed       BYTEA NOT NULL,
    received_at  BIGINT NOT NULL
);

-- Keyed hashes of updates (and of tipster messages) whose effects are committed; written in
-- the same transaction as those effects, so a redelivered update changes nothing twice.
CREATE TABLE applied_updates (
    marker  BYTEA PRIMARY KEY,
    at      BIGINT NOT NULL
);

ALTER TABLE reports ADD COLUMN closed_at BIGINT;
ALTER TABLE reports ADD COLUMN shredded_at BIGINT;
CREATE INDEX reports_retention ON reports (closed_at) WHERE shredded_at IS NULL;
