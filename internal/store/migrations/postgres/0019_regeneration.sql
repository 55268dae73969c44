-- Issue 15 (regeneration that never loses, loops or duplicates).
-- content_hash is the object's content hash (objects.content_hash) when
-- the version was written: an import that changes the object's SQL,
-- descriptions or columns makes the version stale. stale_layers counts the
-- layers the version carries over from an older version because they
-- failed, or that were written from inputs that have changed since.
ALTER TABLE doc_versions ADD COLUMN content_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE doc_versions ADD COLUMN stale_layers BIGINT NOT NULL DEFAULT 0;

-- What export dbt wrote into the project's YAML: the sha256 of each
-- description (column '' is the model's own), and whether the column entry
-- was added by the export. A re-import recognises modeldoc's own text by it:
-- it is neither a person's description nor a changed input.
CREATE TABLE exported_texts (
    object_id   BIGINT NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
    column_name TEXT NOT NULL,
    text_hash   TEXT NOT NULL,
    added       BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (object_id, column_name, text_hash)
);
