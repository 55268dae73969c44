-- The catalog, documentation versions, API tokens and provider keys.
-- Ids use AUTOINCREMENT so that an id is never reused: documentation and
-- job history point at objects by id.

CREATE TABLE organizations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE projects (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id         INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    source         TEXT NOT NULL DEFAULT '',
    path           TEXT NOT NULL DEFAULT '',
    schema_version TEXT NOT NULL DEFAULT '',
    dbt_version    TEXT NOT NULL DEFAULT '',
    adapter_type   TEXT NOT NULL DEFAULT '',
    imported_at    TIMESTAMP NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE objects (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id         INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    unique_id          TEXT NOT NULL,
    type               TEXT NOT NULL,
    name               TEXT NOT NULL,
    package            TEXT NOT NULL DEFAULT '',
    database_name      TEXT NOT NULL DEFAULT '',
    schema_name        TEXT NOT NULL DEFAULT '',
    materialization    TEXT NOT NULL DEFAULT '',
    raw_sql            TEXT NOT NULL DEFAULT '',
    compiled_sql       TEXT NOT NULL DEFAULT '',
    description        TEXT NOT NULL DEFAULT '',
    -- true when a person edited the description in modeldoc (not in YAML)
    description_edited BOOLEAN NOT NULL DEFAULT FALSE,
    tags               TEXT NOT NULL DEFAULT '[]',
    meta               TEXT NOT NULL DEFAULT '{}',
    file_path          TEXT NOT NULL DEFAULT '',
    sql_hash           TEXT NOT NULL DEFAULT '',
    -- hash of everything the importer wrote, so a re-import skips unchanged rows
    content_hash       TEXT NOT NULL DEFAULT '',
    deleted            BOOLEAN NOT NULL DEFAULT FALSE,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    UNIQUE (project_id, unique_id)
);
CREATE INDEX objects_project_name ON objects (project_id, name);
CREATE INDEX objects_name ON objects (name);

CREATE TABLE columns (
    object_id         INTEGER NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    position          INTEGER NOT NULL,
    data_type         TEXT NOT NULL DEFAULT '',
    description       TEXT NOT NULL DEFAULT '',
    human_description BOOLEAN NOT NULL DEFAULT FALSE,
    -- true when a person edited the description in modeldoc (not in YAML)
    edited            BOOLEAN NOT NULL DEFAULT FALSE,
    declared          BOOLEAN NOT NULL DEFAULT FALSE,
    tests             TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX columns_object ON columns (object_id, position);

CREATE TABLE edges (
    project_id    INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    upstream_id   INTEGER NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
    downstream_id INTEGER NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
    PRIMARY KEY (upstream_id, downstream_id)
);
CREATE INDEX edges_downstream ON edges (downstream_id);
CREATE INDEX edges_project ON edges (project_id);

CREATE TABLE doc_versions (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    object_id         INTEGER NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
    version           INTEGER NOT NULL,
    is_current        BOOLEAN NOT NULL DEFAULT FALSE,
    provider          TEXT NOT NULL DEFAULT '',
    model             TEXT NOT NULL DEFAULT '',
    prompt_version    TEXT NOT NULL DEFAULT '',
    input_hash        TEXT NOT NULL DEFAULT '',
    sql_hash          TEXT NOT NULL DEFAULT '',
    layers            TEXT NOT NULL DEFAULT '{}',
    layer_status      TEXT NOT NULL DEFAULT '{}',
    complexity_score  INTEGER NOT NULL DEFAULT 0,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cached_tokens     INTEGER NOT NULL DEFAULT 0,
    estimated_cost    REAL NOT NULL DEFAULT 0,
    cost              REAL NOT NULL DEFAULT 0,
    duration_ms       INTEGER NOT NULL DEFAULT 0,
    -- no foreign key: the jobs tables come in a later migration
    job_id            INTEGER,
    created_at        TIMESTAMP NOT NULL,
    UNIQUE (object_id, version)
);
-- the original system broke here: at most one current version per object
CREATE UNIQUE INDEX doc_versions_one_current ON doc_versions (object_id) WHERE is_current;
CREATE INDEX doc_versions_job ON doc_versions (job_id) WHERE job_id IS NOT NULL;

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id       INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name         TEXT NOT NULL DEFAULT '',
    role         TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at   TIMESTAMP
);
CREATE INDEX api_tokens_org ON api_tokens (org_id);

CREATE TABLE provider_keys (
    org_id     INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    provider   TEXT NOT NULL,
    ciphertext BLOB NOT NULL,
    nonce      BLOB NOT NULL,
    masked     TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, provider)
);
