-- Finished outbox rows (their payloads already erased) are deleted after the retention
-- policy's outbox_days; this index keeps that hourly look-up from scanning the table.
CREATE INDEX outbox_finished ON outbox (finished_at) WHERE status != 'pending';
