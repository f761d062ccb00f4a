-- Exactly-once handling and retention.

-- Updates fetched from Telegram, stored (sealed) before the offset is confirmed, deleted once
-- handled. Nothing here outlives its handling.
CREATE TABLE inbox (
    update_id    INTEGER PRIMARY KEY,
    sealed       BLOB NOT NULL,
    received_at  INTEGER NOT NULL
) STRICT;

-- Keyed hashes of updates (and of tipster messages) whose effects are committed; written in
-- the same transaction as those effects, so a redelivered update changes nothing twice.
CREATE TABLE applied_updates (
    marker  BLOB PRIMARY KEY,
    at      INTEGER NOT NULL
) STRICT;

ALTER TABLE reports ADD COLUMN closed_at INTEGER;
ALTER TABLE reports ADD COLUMN shredded_at INTEGER;
CREATE INDEX reports_retention ON reports (closed_at) WHERE shredded_at IS NULL;
