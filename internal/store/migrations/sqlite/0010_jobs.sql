-- Documentation jobs (issue 4). jobs and job_items are the source of truth;
-- River only executes one River job per item. Counters on jobs change in the
-- same transaction as an item's final state, so they are exact.

CREATE TABLE jobs (
    id                          INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id                      INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    project_id                  INTEGER REFERENCES projects (id) ON DELETE SET NULL,
    status                      TEXT NOT NULL CHECK (status IN ('queued', 'running', 'pausing', 'paused', 'completed', 'failed', 'cancelled')),
    status_reason               TEXT NOT NULL DEFAULT '',
    message                     TEXT NOT NULL DEFAULT '',
    options                     TEXT NOT NULL DEFAULT '{}',
    total                       INTEGER NOT NULL DEFAULT 0,
    processed                   INTEGER NOT NULL DEFAULT 0,
    partial                     INTEGER NOT NULL DEFAULT 0,
    failed                      INTEGER NOT NULL DEFAULT 0,
    skipped                     INTEGER NOT NULL DEFAULT 0,
    cancelled                   INTEGER NOT NULL DEFAULT 0,
    in_flight                   INTEGER NOT NULL DEFAULT 0,
    prompt_tokens               INTEGER NOT NULL DEFAULT 0,
    cached_tokens               INTEGER NOT NULL DEFAULT 0,
    completion_tokens           INTEGER NOT NULL DEFAULT 0,
    estimated_cost              REAL NOT NULL DEFAULT 0,
    estimated_prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    estimated_completion_tokens INTEGER NOT NULL DEFAULT 0,
    actual_cost                 REAL NOT NULL DEFAULT 0,
    budget                      REAL NOT NULL DEFAULT 0,
    concurrency                 INTEGER NOT NULL DEFAULT 8,
    -- sum of the wall time of finished items, for the average and the ETA
    item_duration_ms            INTEGER NOT NULL DEFAULT 0,
    triggered_by_user_id        TEXT NOT NULL DEFAULT '',
    triggered_by_email          TEXT NOT NULL DEFAULT '',
    created_at                  TIMESTAMP NOT NULL,
    started_at                  TIMESTAMP,
    finished_at                 TIMESTAMP,
    updated_at                  TIMESTAMP NOT NULL
);
CREATE INDEX jobs_org ON jobs (org_id, id);
CREATE INDEX jobs_active ON jobs (status) WHERE status IN ('queued', 'running', 'pausing');

CREATE TABLE job_items (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id           INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    object_id        INTEGER NOT NULL,
    object_name      TEXT NOT NULL DEFAULT '',
    position         INTEGER NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('blocked', 'ready', 'enqueued', 'running', 'done', 'partial', 'failed', 'skipped', 'cancelled')),
    skip_reason      TEXT NOT NULL DEFAULT '',
    deps_remaining   INTEGER NOT NULL DEFAULT 0,
    -- fencing token: a River job acts on the item only while its run equals
    -- the item's; a take-over after a crash bumps it
    run              INTEGER NOT NULL DEFAULT 0,
    attempts         INTEGER NOT NULL DEFAULT 0,
    worker_id        TEXT NOT NULL DEFAULT '',
    heartbeat_at     TIMESTAMP,
    prompt_tokens    INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cached_tokens    INTEGER NOT NULL DEFAULT 0,
    estimated_cost   REAL NOT NULL DEFAULT 0,
    cost             REAL NOT NULL DEFAULT 0,
    started_at       TIMESTAMP,
    finished_at      TIMESTAMP,
    duration_ms      INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    missing_layers   TEXT NOT NULL DEFAULT '',
    doc_version_id   INTEGER,
    UNIQUE (job_id, object_id)
);
CREATE INDEX job_items_ready ON job_items (job_id, status, position);
CREATE INDEX job_items_running ON job_items (status) WHERE status = 'running';

CREATE TABLE job_item_deps (
    job_id      INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    item_id     INTEGER NOT NULL,
    upstream_id INTEGER NOT NULL,
    PRIMARY KEY (upstream_id, item_id)
);

CREATE TABLE job_layer_counts (
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    layer  TEXT NOT NULL,
    ok     INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, layer)
);

-- Append-only: rows are inserted, never updated.
CREATE TABLE job_errors (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id      INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    item_id     INTEGER,
    object_id   INTEGER,
    object_name TEXT NOT NULL DEFAULT '',
    layer       TEXT NOT NULL DEFAULT '',
    error_class TEXT NOT NULL DEFAULT '',
    message     TEXT NOT NULL DEFAULT '',
    attempt     INTEGER NOT NULL DEFAULT 0,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX job_errors_job ON job_errors (job_id, id);

-- One row per layer per attempt.
CREATE TABLE generation_logs (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id            INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    item_id           INTEGER NOT NULL,
    object_id         INTEGER NOT NULL,
    layer             TEXT NOT NULL,
    attempt           INTEGER NOT NULL,
    status            TEXT NOT NULL,
    model             TEXT NOT NULL DEFAULT '',
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cached_tokens     INTEGER NOT NULL DEFAULT 0,
    duration_ms       INTEGER NOT NULL DEFAULT 0,
    finish_reason     TEXT NOT NULL DEFAULT '',
    error_class       TEXT NOT NULL DEFAULT '',
    error             TEXT NOT NULL DEFAULT '',
    created_at        TIMESTAMP NOT NULL
);
CREATE INDEX generation_logs_job ON generation_logs (job_id, id);
