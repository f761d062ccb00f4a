-- PostgreSQL's 0009_window_keys.sql: the same schema as ../0009_window_keys.sql (BYTEA for BLOB, BIGINT for
-- INTEGER, identity columns for row ids).
-- Short-lived random keys, each for one purpose and one window of time (or one batch of
-- updates), wrapped by the master key like data keys. Pseudonyms of tipsters (drafts, answer
-- sessions, tip and receipt counters) are keyed hashes under them, and the update inbox is
-- sealed under them. A key is deleted when its window (and its grace) is over, or, for the
-- inbox, once no row it sealed is left: what it keyed can then no longer be linked to anyone.
-- drafts.owner, answer_sessions.owner and rate_counters.subject are from now on such
-- pseudonyms (answer sessions no longer share the drafts' one).
CREATE TABLE window_keys (
    name         TEXT PRIMARY KEY,
    purpose      TEXT NOT NULL,
    key_id       TEXT NOT NULL,
    wrapped_key  BYTEA NOT NULL,
    opens_at     BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX window_keys_expiry ON window_keys (expires_at);

-- The window key that sealed an inbox row (NULL: sealed by an earlier version under a subkey
-- of the master key).
ALTER TABLE inbox ADD COLUMN key_window TEXT;
CREATE INDEX inbox_key_window ON inbox (key_window) WHERE key_window IS NOT NULL;
