-- PostgreSQL's 0007_inbox_attempts.sql: the same schema as ../0007_inbox_attempts.sql (BYTEA for BLOB, BIGINT for
-- INTEGER, identity columns for row ids).
-- How many times handling of an inbox row has started (the live handling counts as 1), and
-- when a row that kept failing was set aside: kept sealed, never handled again.
ALTER TABLE inbox ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE inbox ADD COLUMN quarantined_at BIGINT;
