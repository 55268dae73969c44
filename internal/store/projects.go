package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/jobstore"
)

// DeleteProject removes one of the organization's projects with
// everything imported from it and written about it: its objects, their
// columns, lineage, exposures, documentation versions and review history
// go with it (ON DELETE CASCADE). Jobs stay in the history with their
// counts and spend (their project becomes none). A project that a job
// still works on (queued, running, pausing, paused) is refused with
// ECONFLICT naming the job: its items would lose their objects mid-run.
// Another organization's id is ENOTFOUND.
func (s *Store) DeleteProject(ctx context.Context, orgID, id int64) error {
	return s.WithTx(ctx, func(tx *sql.Tx) error {
		var name string
		err := s.queryRow(ctx, tx, "SELECT name FROM projects WHERE org_id = ? AND id = ?", orgID, id).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			return modeldoc.Errorf(modeldoc.ENOTFOUND, "No project with id %d.", id)
		}
		if err != nil {
			return internal("delete project", err)
		}
		jobID, status, err := s.JobStore().Within(tx).JobWorkingOn(ctx, orgID, id)
		switch {
		case err == nil:
			return modeldoc.Errorf(modeldoc.ECONFLICT, "Job #%d is %s on project %s: cancel it (or let it finish) before deleting the project.", jobID, status, name)
		case !errors.Is(err, jobstore.ErrNotFound):
			return internal("delete project", err)
		}
		if _, err := s.exec(ctx, tx, "DELETE FROM projects WHERE org_id = ? AND id = ?", orgID, id); err != nil {
			return internal("delete project", err)
		}
		return nil
	})
}
