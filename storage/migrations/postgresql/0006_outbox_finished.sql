-- PostgreSQL's 0006_outbox_finished.sql: the same schema as ../0006_outbox_finished.sql (BYTEA for BLOB, BIGINT for
-- INTEGER, identity columns for row ids).
-- Finished outbox rows (their payloads already erased) are deleted after the retention
-- policy's outbox_days; this index keeps that hourly look-up from scanning the table.
CREATE INDEX outbox_finished ON outbox (finished_at) WHERE status != 'pending';
