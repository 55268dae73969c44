-- Generation-log retention (serve --retain-logs): the calls of deleted log
-- rows are added here, in the transaction that deletes them, so that the
-- Prometheus counters read from the logs never go down when old rows go.
-- bucket is the index of the smallest latency bound (metrics.CallBuckets)
-- the call's duration fits, or their number for slower calls.
CREATE TABLE generation_log_totals (
    org_id      INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    model       TEXT NOT NULL,
    status      TEXT NOT NULL,
    error_class TEXT NOT NULL,
    bucket      INTEGER NOT NULL,
    calls       INTEGER NOT NULL DEFAULT 0,
    duration_ms INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, model, status, error_class, bucket)
);
