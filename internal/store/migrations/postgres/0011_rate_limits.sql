-- Shared rate limits (issue 7): one row per provider key (ratelimit.Key's
-- hash, never the key itself) holding the GCRA schedules of its requests
-- and tokens, the hold after a 429, and the AIMD rate factor, so that every
-- worker process using the key paces against one limit and slows down
-- together. ratelimit.PGBucket reads and writes it; SQLite has no such
-- table because one process paces in memory.

CREATE TABLE IF NOT EXISTS rate_limits (
    key             TEXT PRIMARY KEY,
    next_request_at TIMESTAMPTZ NOT NULL,
    next_token_at   TIMESTAMPTZ NOT NULL,
    penalty_until   TIMESTAMPTZ NOT NULL DEFAULT '-infinity'
);

-- The rate factor after the last 429 (1 = full rate) and when it was cut:
-- a cut by one process slows all of them, and all climb back together.
ALTER TABLE rate_limits ADD COLUMN IF NOT EXISTS rate_factor DOUBLE PRECISION NOT NULL DEFAULT 1;
ALTER TABLE rate_limits ADD COLUMN IF NOT EXISTS factor_cut_at TIMESTAMPTZ NOT NULL DEFAULT '-infinity';
