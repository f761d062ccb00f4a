-- PostgreSQL's 0008_contact_expiry.sql: the same schema as ../0008_contact_expiry.sql (BYTEA for BLOB, BIGINT for
-- INTEGER, identity columns for row ids).
-- Until when a tip's contact (the sealed chat) may be kept: pushed forward by every message to
-- the tipster, brought forward to the close. Tips stored before this column get 30 days from
-- their last change, the shipped default.
ALTER TABLE reports ADD COLUMN contact_until BIGINT;
UPDATE reports SET contact_until = updated_at + 30 * 86400 WHERE sealed_contact IS NOT NULL;
CREATE INDEX reports_contact_until ON reports (contact_until) WHERE sealed_contact IS NOT NULL;
