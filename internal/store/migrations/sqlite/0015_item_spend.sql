-- Spend (issue 12): every call a provider answered is paid for, so each
-- generation log carries its price, and a job's and an item's tokens and
-- cost are the sums of their logs whatever became of the item.
ALTER TABLE generation_logs ADD COLUMN cost REAL NOT NULL DEFAULT 0;
-- The layers an item had bought when a pause or its budget stopped it, with
-- the input hash they were written from (JSON; '' when none): the next run
-- reuses them when its inputs are unchanged instead of buying them again.
ALTER TABLE job_items ADD COLUMN kept_layers TEXT NOT NULL DEFAULT '';
