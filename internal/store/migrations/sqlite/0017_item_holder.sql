-- The host and process id of the worker writing a running item: a
-- process on the same host that finds the process gone (kill -9, a crash)
-- takes the item over at once instead of waiting out the lease.
ALTER TABLE job_items ADD COLUMN worker_host TEXT NOT NULL DEFAULT '';
ALTER TABLE job_items ADD COLUMN worker_pid INTEGER NOT NULL DEFAULT 0;
