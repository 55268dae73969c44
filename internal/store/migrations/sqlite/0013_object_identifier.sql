-- The relation's warehouse name when it differs from the dbt name (a
-- model's alias, a source's identifier): compiled SQL names relations by
-- it, and column inheritance matches them back to their objects.
ALTER TABLE objects ADD COLUMN identifier TEXT NOT NULL DEFAULT '';
