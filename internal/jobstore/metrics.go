package jobstore

import (
	"context"
	"fmt"
)

func orgWhere(orgID int64, col string) (string, []any) {
	if orgID == 0 {
		return "", nil
	}
	return " WHERE " + col + " = ?", []any{orgID}
}

func (e *exec) JobWorkingOn(ctx context.Context, orgID, projectID int64) (int64, string, error) {
	var id int64
	var status string
	err := e.queryRow(ctx, e.r, `SELECT j.id, j.status FROM jobs j
			WHERE j.org_id = ? AND j.status IN ('queued', 'running', 'pausing', 'paused')
			  AND (j.project_id = ? OR EXISTS (
			    SELECT 1 FROM job_items i JOIN objects o ON o.id = i.object_id
			    WHERE i.job_id = j.id AND o.project_id = ?))
			ORDER BY j.id LIMIT 1`, orgID, projectID, projectID).Scan(&id, &status)
	return id, status, notFound(err)
}

func (e *exec) CountJobs(ctx context.Context, orgID int64, status string) (int, error) {
	q, args := "SELECT COUNT(*) FROM jobs WHERE org_id = ?", []any{orgID}
	if status != "" {
		q += " AND status = ?"
		args = append(args, status)
	}
	return e.count(ctx, q, args...)
}

func (e *exec) JobsByStatus(ctx context.Context, orgID int64) (map[string]int64, error) {
	where, args := orgWhere(orgID, "org_id")
	rows, err := e.query(ctx, e.r, "SELECT status, COUNT(*) FROM jobs"+where+" GROUP BY status", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}

func (e *exec) JobTotals(ctx context.Context, orgID int64) (*JobTotals, error) {
	where, args := orgWhere(orgID, "org_id")
	var t JobTotals
	err := e.queryRow(ctx, e.r, `SELECT COALESCE(SUM(processed), 0), COALESCE(SUM(partial), 0), COALESCE(SUM(failed), 0),
		COALESCE(SUM(skipped), 0), COALESCE(SUM(cancelled), 0), COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(cached_tokens), 0),
		COALESCE(SUM(completion_tokens), 0), COALESCE(SUM(actual_cost), 0), COALESCE(SUM(estimated_cost), 0) FROM jobs`+where, args...).Scan(
		&t.Processed, &t.Partial, &t.Failed, &t.Skipped, &t.Cancelled, &t.PromptTokens, &t.CachedTokens, &t.CompletionTokens,
		&t.ActualCost, &t.EstimatedCost)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

func (e *exec) CallOutcomes(ctx context.Context, orgID int64) ([]CallOutcome, error) {
	// One pass over the logs, and one over the totals of the rows
	// retention deleted.
	live := "SELECT g.model, g.status, g.error_class, " + CallBucketSQL("g.duration_ms") +
		", COUNT(*), COALESCE(SUM(g.duration_ms), 0) FROM generation_logs g"
	retired := "SELECT model, status, error_class, bucket, SUM(calls), SUM(duration_ms) FROM generation_log_totals"
	var args []any
	if orgID != 0 {
		live += " JOIN jobs j ON j.id = g.job_id WHERE j.org_id = ?"
		retired += " WHERE org_id = ?"
		args = []any{orgID}
	}
	live += " GROUP BY 1, 2, 3, 4"
	retired += " GROUP BY model, status, error_class, bucket"
	var out []CallOutcome
	for _, q := range []string{live, retired} {
		rows, err := e.query(ctx, e.r, q, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var c CallOutcome
			// Sums are numeric on PostgreSQL: read as numbers, whatever
			// their type.
			var n, ms float64
			if err := rows.Scan(&c.Model, &c.Status, &c.ErrorClass, &c.Bucket, &n, &ms); err != nil {
				rows.Close()
				return nil, fmt.Errorf("calls by outcome: %w", err)
			}
			c.Calls, c.DurationMS = int64(n), int64(ms)
			out = append(out, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
