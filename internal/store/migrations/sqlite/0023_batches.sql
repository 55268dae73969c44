-- Issue 16 item 4 (batch mode). A job in batch mode sends its calls through
-- the provider's batch API in chunks. job_batches is one chunk: its row is
-- written (batch_id '') before the chunk is submitted and gets the
-- provider's batch id once it is, so that a process that starts again (a
-- crash, kill -9) polls the batch instead of submitting its calls again;
-- chunk_key is a random name sent with the batch where the provider keeps
-- one (OpenAI's metadata), by which a run finds a batch whose id a killed
-- process never wrote.
-- batch_calls holds every call of a chunk by its custom id (deterministic:
-- job, object, layer, request hash, occurrence), written in the same
-- transaction as its chunk; result is the call's outcome once the batch
-- has ended, and charged is set by the one delivery of that outcome whose
-- item pays for it.
CREATE TABLE job_batches (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id      INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    provider    TEXT NOT NULL,
    batch_id    TEXT NOT NULL DEFAULT '',
    chunk_key   TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,
    ended       INTEGER NOT NULL DEFAULT 0,
    calls       INTEGER NOT NULL,
    completed   INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    message     TEXT NOT NULL DEFAULT '',
    expires_at  TIMESTAMP,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX job_batches_job ON job_batches (job_id, ended);

CREATE TABLE batch_calls (
    job_id     INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    custom_id  TEXT NOT NULL,
    chunk_id   INTEGER NOT NULL REFERENCES job_batches (id) ON DELETE CASCADE,
    item_id    INTEGER NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('submitted', 'succeeded', 'failed')),
    result     TEXT NOT NULL DEFAULT '',
    charged    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, custom_id)
);
CREATE INDEX batch_calls_chunk ON batch_calls (chunk_id);
