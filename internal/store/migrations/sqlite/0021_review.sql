-- Issue 15 (review before publish). The current state of each generated
-- layer and column description lives in its version's layer_status (so
-- that regeneration carries it over with the text); this table keeps who
-- did what and when, every action, per organization. from_state/to_state
-- are modeldoc.Review* states; edited_text is a person's edited text, else ''.
CREATE TABLE review_events (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id         INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    object_id      INTEGER NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
    doc_version_id INTEGER NOT NULL REFERENCES doc_versions (id) ON DELETE CASCADE,
    layer          TEXT NOT NULL,
    column_name    TEXT NOT NULL DEFAULT '',
    action         TEXT NOT NULL CHECK (action IN ('accept', 'reject', 'edit')),
    from_state     TEXT NOT NULL,
    to_state       TEXT NOT NULL,
    actor          TEXT NOT NULL,
    edited_text    TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMP NOT NULL
);
CREATE INDEX review_events_object ON review_events (org_id, object_id, id);
