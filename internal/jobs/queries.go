package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/modeldoc/modeldoc"
)

// queries is the read side of the jobs: a job, lists and pages of jobs,
// items, errors and calls, and which jobs lost their worker.
type queries struct {
	*jobDB
	// host and lease decide whether an item's holder is gone (holder.go).
	host  string
	lease time.Duration
}

// Get returns job id of orgID with its layer counters and the names of
// the objects being written.
func (q *queries) Get(ctx context.Context, orgID, id int64) (*Job, error) {
	j, err := q.loadJob(ctx, q.js, orgID, id)
	if err != nil {
		return nil, err
	}
	if err := q.fillDetails(ctx, q.js, j); err != nil {
		return nil, err
	}
	return j, nil
}

// List returns orgID's jobs, newest first.
func (q *queries) List(ctx context.Context, orgID int64, f ListFilter) ([]*Job, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	if f.Limit > 1000 {
		f.Limit = 1000
	}
	if f.Status != "" && !validStatus(f.Status) {
		return nil, modeldoc.Errorf(modeldoc.EINVALID, "Unknown job status %q: choose from queued, running, pausing, paused, completed, failed, cancelled.", f.Status)
	}
	rows, err := q.js.ListJobs(ctx, orgID, f.Status, f.Limit, f.Offset)
	if err != nil {
		return nil, fmt.Errorf("jobs: list: %w", err)
	}
	out := []*Job{}
	now := q.clock()
	for _, r := range rows {
		j, err := q.scanJob(r, nil)
		if err != nil {
			return nil, err
		}
		j.derive(now)
		out = append(out, j)
	}
	return out, nil
}

func validStatus(s string) bool {
	switch s {
	case StatusQueued, StatusRunning, StatusPausing, StatusPaused, StatusCompleted, StatusFailed, StatusCancelled:
		return true
	}
	return false
}

// Items returns the job's items in topological order.
func (q *queries) Items(ctx context.Context, orgID, id int64) ([]Item, error) {
	items, _, err := q.ItemsPage(ctx, orgID, id, Page{})
	return items, err
}

// Page selects part of a job's list: rows Offset to Offset+Limit (all of
// them when Limit is 0), and for items only those in Status when set.
type Page struct {
	Status        string
	Limit, Offset int
}

// ItemsPage returns one page of the job's items in topological order, and
// how many items the filter matches in all.
func (q *queries) ItemsPage(ctx context.Context, orgID, id int64, p Page) ([]Item, int, error) {
	if _, err := q.loadJob(ctx, q.js, orgID, id); err != nil {
		return nil, 0, err
	}
	out, err := q.js.Items(ctx, id, p.Status, p.Limit, p.Offset)
	if err != nil {
		return nil, 0, fmt.Errorf("jobs: items: %w", err)
	}
	total, err := total(p, len(out), func() (int, error) { return q.js.CountItems(ctx, id, p.Status) })
	if err != nil {
		return nil, 0, fmt.Errorf("jobs: items: %w", err)
	}
	return out, total, nil
}

// total is how many rows the whole list has: counted in SQL for a page,
// the rows read (n) for an unpaged list.
func total(p Page, n int, count func() (int, error)) (int, error) {
	if p.Limit <= 0 {
		return n, nil
	}
	return count()
}

// Errors returns the job's error log, oldest first.
func (q *queries) Errors(ctx context.Context, orgID, id int64) ([]ErrorEntry, error) {
	es, _, err := q.ErrorsPage(ctx, orgID, id, Page{})
	return es, err
}

// ErrorsPage returns one page of the job's error log, oldest first, and
// the log's length.
func (q *queries) ErrorsPage(ctx context.Context, orgID, id int64, p Page) ([]ErrorEntry, int, error) {
	if _, err := q.loadJob(ctx, q.js, orgID, id); err != nil {
		return nil, 0, err
	}
	out, err := q.js.Errors(ctx, id, p.Limit, p.Offset)
	if err != nil {
		return nil, 0, fmt.Errorf("jobs: errors: %w", err)
	}
	total, err := total(p, len(out), func() (int, error) { return q.js.CountErrors(ctx, id) })
	if err != nil {
		return nil, 0, fmt.Errorf("jobs: errors: %w", err)
	}
	return out, total, nil
}

// GenerationLogs returns one row per call of the job, oldest first.
func (q *queries) GenerationLogs(ctx context.Context, orgID, id int64) ([]GenerationLog, error) {
	ls, _, err := q.GenerationLogsPage(ctx, orgID, id, Page{})
	return ls, err
}

// GenerationLogsPage returns one page of the job's calls, oldest first,
// and how many calls the job made.
func (q *queries) GenerationLogsPage(ctx context.Context, orgID, id int64, p Page) ([]GenerationLog, int, error) {
	if _, err := q.loadJob(ctx, q.js, orgID, id); err != nil {
		return nil, 0, err
	}
	out, err := q.js.GenerationLogs(ctx, id, p.Limit, p.Offset)
	if err != nil {
		return nil, 0, fmt.Errorf("jobs: generation logs: %w", err)
	}
	total, err := total(p, len(out), func() (int, error) { return q.js.CountGenerationLogs(ctx, id) })
	if err != nil {
		return nil, 0, fmt.Errorf("jobs: generation logs: %w", err)
	}
	return out, total, nil
}

// Orphaned returns, for those of ids that are running (or pausing) with an
// item whose holder is gone (its heartbeat older than the lease, or its
// process dead on this host), why: nothing moves such a job until some
// process resumes it.
func (q *queries) Orphaned(ctx context.Context, orgID int64, ids []int64) (map[int64]string, error) {
	out := map[int64]string{}
	if len(ids) == 0 {
		return out, nil
	}
	held, err := q.js.RunningHeldIn(ctx, orgID, ids)
	if err != nil {
		return nil, fmt.Errorf("jobs: orphaned items: %w", err)
	}
	deadline := q.clock().Add(-q.lease)
	for _, hd := range held {
		job, h := hd.JobID, holderOf(hd)
		if _, seen := out[job]; seen {
			continue
		}
		if why := h.gone(q.host); why != "" {
			out[job] = "worker " + h.worker + " stopped: " + why
		} else if h.lapsed(deadline) {
			out[job] = fmt.Sprintf("worker %s has sent no heartbeat for over %s", h.worker, q.lease)
		}
	}
	return out, nil
}

// derive fills the figures computed from the counters.
func (j *Job) derive(now time.Time) {
	finished := j.Processed + j.Failed
	if j.Total > 0 {
		j.Percentage = float64(finished+j.Skipped) / float64(j.Total) * 100
	}
	j.ETASeconds = -1
	if finished > 0 {
		j.AvgItemMS = j.itemDurationMS / finished
	}
	remaining := j.Total - finished - j.Skipped - j.Cancelled
	if remaining <= 0 {
		j.ETASeconds = 0
		return
	}
	if finished == 0 || j.StartedAt == nil || Terminal(j.Status) {
		return
	}
	// Effective parallelism is measured, not assumed: the summed item time
	// over the wall time since the start, within [1, concurrency].
	par := 1.0
	if wall := now.Sub(*j.StartedAt).Milliseconds(); wall > 0 {
		par = float64(j.itemDurationMS) / float64(wall)
	}
	conc := float64(max(j.Options.Concurrency, 1))
	par = min(max(par, 1), conc, float64(remaining))
	j.ETASeconds = float64(remaining) * float64(j.AvgItemMS) / 1000 / par
}
