-- Issue 13: the project's exposures (dashboards, notebooks, applications
-- declared in its YAML), so that impact analysis can name who is hurt
-- when an object they read breaks. An import replaces a project's
-- exposures whole; they are never documented themselves.
CREATE TABLE exposures (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    unique_id   TEXT NOT NULL,
    name        TEXT NOT NULL,
    label       TEXT NOT NULL DEFAULT '',
    type        TEXT NOT NULL DEFAULT '',
    maturity    TEXT NOT NULL DEFAULT '',
    owner       TEXT NOT NULL DEFAULT '',
    url         TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    UNIQUE (project_id, unique_id)
);

-- What each exposure reads directly, by our object ids.
CREATE TABLE exposure_reads (
    exposure_id INTEGER NOT NULL REFERENCES exposures (id) ON DELETE CASCADE,
    object_id   INTEGER NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
    PRIMARY KEY (exposure_id, object_id)
);
CREATE INDEX exposure_reads_object ON exposure_reads (object_id);
