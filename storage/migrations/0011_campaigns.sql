-- The campaign a tip came from: the key of a [[campaigns]] entry of the policy, from the start
-- link of its poster (NULL: none). Only the key, which the policy keeps no finer than a
-- district; it stays with the report for its whole life, like the category.
ALTER TABLE reports ADD COLUMN campaign TEXT;
