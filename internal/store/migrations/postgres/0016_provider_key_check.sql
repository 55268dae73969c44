-- A known text sealed under the master key (MODELDOC_SECRET_KEY or the key
-- file): a process started with another key finds out at start, before any
-- job of it fails as auth_failed. One row per store.
CREATE TABLE provider_key_check (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    ciphertext BYTEA NOT NULL,
    nonce      BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
