-- The API pages a job's items in topological order; a 100,000-item job is
-- read a page at a time, not sorted whole for each page.
CREATE INDEX job_items_position ON job_items (job_id, position);
