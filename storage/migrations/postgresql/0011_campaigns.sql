-- PostgreSQL's 0011_campaigns.sql: the same schema as ../0011_campaigns.sql.
-- The campaign a tip came from: the key of a [[campaigns]] entry of the policy, from the start
-- link of its poster (NULL: none). Only the key; it stays with the report for its whole life.
ALTER TABLE reports ADD COLUMN campaign TEXT;
