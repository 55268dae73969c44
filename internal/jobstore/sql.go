package jobstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/sqldialect"
)

// New returns the job store over the store's handles: write (on SQLite its
// one-connection handle) and read.
func New(write, read *sql.DB, postgres bool) Store {
	return &dbStore{exec: exec{r: read, w: write, pg: postgres}, write: write}
}

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// exec runs the statements: reads on r, writes on w (both the transaction
// in a Tx).
type exec struct {
	r, w querier
	pg   bool
}

type dbStore struct {
	exec
	write *sql.DB
}

// Tx is a write transaction of the job store. SQL is the same transaction
// for River's inserts and the store's documentation versions, so that an
// item's whole effect commits at once.
type Tx struct {
	exec
	tx *sql.Tx
}

func (s *dbStore) Begin(ctx context.Context) (*Tx, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &Tx{exec: exec{r: tx, w: tx, pg: s.pg}, tx: tx}, nil
}

func (s *dbStore) Within(tx *sql.Tx) *Tx {
	return &Tx{exec: exec{r: tx, w: tx, pg: s.pg}, tx: tx}
}

func (s *dbStore) RiverHandle() *sql.DB { return s.write }
func (s *dbStore) IsPostgres() bool     { return s.pg }

// riverMigrationLock is the PostgreSQL advisory lock key that serializes
// River's migrations between processes (an arbitrary constant of ours).
const riverMigrationLock = 7_302_264_113

func (s *dbStore) LockRiverMigration(ctx context.Context) (func(), error) {
	if !s.pg {
		return nil, errors.New("jobstore: the River migration lock is PostgreSQL's; SQLite migrates in one write transaction")
	}
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, riverMigrationLock); err != nil {
		conn.Close()
		return nil, err
	}
	return func() {
		// Closing the session releases the lock anyway.
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, riverMigrationLock)
		conn.Close()
	}, nil
}

// SQL is the transaction itself, for River and the store.
func (t *Tx) SQL() *sql.Tx    { return t.tx }
func (t *Tx) Commit() error   { return t.tx.Commit() }
func (t *Tx) Rollback() error { return t.tx.Rollback() }

// Savepoint runs fn in a savepoint and rolls back to it when fn fails; it
// returns only the savepoint's own errors, which end the transaction.
func (t *Tx) Savepoint(ctx context.Context, fn func() error) error {
	if _, err := t.tx.ExecContext(ctx, `SAVEPOINT batch_item`); err != nil {
		return fmt.Errorf("jobstore: savepoint: %w", err)
	}
	if fn() != nil {
		if _, err := t.tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT batch_item`); err != nil {
			return fmt.Errorf("jobstore: rollback to savepoint: %w", err)
		}
	}
	if _, err := t.tx.ExecContext(ctx, `RELEASE SAVEPOINT batch_item`); err != nil {
		return fmt.Errorf("jobstore: release savepoint: %w", err)
	}
	return nil
}

func (e *exec) execW(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return e.w.ExecContext(ctx, sqldialect.Rebind(e.pg, q), args...)
}

func (e *exec) query(ctx context.Context, on querier, q string, args ...any) (*sql.Rows, error) {
	return on.QueryContext(ctx, sqldialect.Rebind(e.pg, q), args...)
}

func (e *exec) queryRow(ctx context.Context, on querier, q string, args ...any) *sql.Row {
	return on.QueryRowContext(ctx, sqldialect.Rebind(e.pg, q), args...)
}

func (e *exec) inIDs(col string) string { return sqldialect.InIDs(e.pg, col) }
func (e *exec) forUpdate() string       { return sqldialect.ForUpdate(e.pg) }

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

const jobColumns = `id, org_id, COALESCE(project_id, 0), status, status_reason, message, options,
	total, processed, partial, failed, skipped, cancelled, in_flight,
	prompt_tokens, cached_tokens, completion_tokens, estimated_cost, estimated_prompt_tokens,
	estimated_completion_tokens, actual_cost, budget, item_duration_ms,
	triggered_by_user_id, triggered_by_email, created_at, started_at, finished_at, updated_at`

func scanJob(row interface{ Scan(...any) error }) (*JobRow, error) {
	var j JobRow
	var created, started, finished, updated sqldialect.Time
	err := row.Scan(&j.ID, &j.OrgID, &j.ProjectID, &j.Status, &j.StatusReason, &j.Message, &j.Options,
		&j.Total, &j.Processed, &j.Partial, &j.Failed, &j.Skipped, &j.Cancelled, &j.InFlight,
		&j.PromptTokens, &j.CachedTokens, &j.CompletionTokens, &j.EstimatedCost, &j.EstimatedPromptTokens,
		&j.EstimatedCompletionTokens, &j.ActualCost, &j.Budget, &j.ItemDurationMS,
		&j.TriggeredByUserID, &j.TriggeredByEmail, &created, &started, &finished, &updated)
	if err != nil {
		return nil, notFound(err)
	}
	j.CreatedAt, j.UpdatedAt = created.Time, updated.Time
	j.StartedAt, j.FinishedAt = started.Ptr(), finished.Ptr()
	return &j, nil
}

func (e *exec) GetJob(ctx context.Context, orgID, id int64) (*JobRow, error) {
	return scanJob(e.queryRow(ctx, e.r, `SELECT `+jobColumns+` FROM jobs WHERE id = ? AND org_id = ?`, id, orgID))
}

func (e *exec) GetJobByID(ctx context.Context, id int64) (*JobRow, error) {
	return scanJob(e.queryRow(ctx, e.r, `SELECT `+jobColumns+` FROM jobs WHERE id = ?`, id))
}

func (e *exec) LockJob(ctx context.Context, orgID, id int64) (*JobRow, error) {
	return scanJob(e.queryRow(ctx, e.w, `SELECT `+jobColumns+` FROM jobs WHERE id = ? AND org_id = ?`+e.forUpdate(), id, orgID))
}

func (e *exec) LockJobByID(ctx context.Context, id int64) (*JobRow, error) {
	return scanJob(e.queryRow(ctx, e.w, `SELECT `+jobColumns+` FROM jobs WHERE id = ?`+e.forUpdate(), id))
}

func (e *exec) LockJobState(ctx context.Context, id int64) (status string, inFlight, conc int64, err error) {
	err = e.queryRow(ctx, e.w, `SELECT status, in_flight, concurrency FROM jobs WHERE id = ?`+e.forUpdate(), id).Scan(&status, &inFlight, &conc)
	return status, inFlight, conc, notFound(err)
}

func (e *exec) ListJobs(ctx context.Context, orgID int64, status string, limit, offset int) ([]*JobRow, error) {
	q := `SELECT ` + jobColumns + ` FROM jobs WHERE org_id = ?`
	args := []any{orgID}
	if status != "" {
		q += ` AND status = ?`
		args = append(args, status)
	}
	q += ` ORDER BY id DESC LIMIT ? OFFSET ?`
	args = append(args, limit, max(offset, 0))
	rows, err := e.query(ctx, e.r, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*JobRow
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

func (e *exec) ControlStates(ctx context.Context, ids []int64) ([]ControlState, error) {
	rows, err := e.query(ctx, e.r, `SELECT id, status, budget, actual_cost FROM jobs WHERE `+e.inIDs("id"), sqldialect.IDList(ids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ControlState
	var errs []error
	for rows.Next() {
		var s ControlState
		if err := rows.Scan(&s.ID, &s.Status, &s.Budget, &s.ActualCost); err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, s)
	}
	// The rows read are returned with the error: a pause or cancel among
	// them must not wait for the next poll.
	return out, errors.Join(append(errs, rows.Err())...)
}

func (e *exec) InsertJob(ctx context.Context, j NewJob) (int64, error) {
	var project any
	if j.ProjectID != 0 {
		project = j.ProjectID
	}
	var id int64
	err := e.queryRow(ctx, e.w, `INSERT INTO jobs (org_id, project_id, status, options, total, skipped, estimated_cost,
			estimated_prompt_tokens, estimated_completion_tokens, budget, concurrency, triggered_by_user_id, triggered_by_email,
			created_at, updated_at) VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		j.OrgID, project, j.Options, j.Total, j.Skipped, j.EstimatedCost, j.EstimatedPromptTokens, j.EstimatedCompletionTokens,
		j.Budget, j.Concurrency, j.TriggeredByUserID, j.TriggeredByEmail, j.Now, j.Now).Scan(&id)
	return id, err
}

func (e *exec) CompleteJob(ctx context.Context, id int64, now time.Time) error {
	_, err := e.execW(ctx, `UPDATE jobs SET status = 'completed', finished_at = ?, updated_at = ? WHERE id = ?`, now, now, id)
	return err
}

func (e *exec) PauseJob(ctx context.Context, id int64, reason string, now time.Time) error {
	res, err := e.execW(ctx, `UPDATE job_items SET status = 'ready', run = run + 1 WHERE job_id = ? AND status = 'enqueued'`, id)
	if err != nil {
		return fmt.Errorf("pause items: %w", err)
	}
	n, _ := res.RowsAffected()
	_, err = e.execW(ctx, `UPDATE jobs SET in_flight = in_flight - ?, status_reason = ?, updated_at = ?,
		status = CASE WHEN in_flight - ? > 0 THEN 'pausing' ELSE 'paused' END
		WHERE id = ?`, n, reason, now, n, id)
	return err
}

func (e *exec) ResumeJob(ctx context.Context, id int64, status string, now time.Time) error {
	_, err := e.execW(ctx, `UPDATE jobs SET status = ?, status_reason = '', updated_at = ? WHERE id = ?`, status, now, id)
	return err
}

func (e *exec) StopJob(ctx context.Context, id int64, status, reason, message string, now time.Time) error {
	var enq int64
	if err := e.queryRow(ctx, e.w, `SELECT COUNT(*) FROM job_items WHERE job_id = ? AND status = 'enqueued'`, id).Scan(&enq); err != nil {
		return err
	}
	res, err := e.execW(ctx, `UPDATE job_items SET status = 'cancelled', run = run + 1, finished_at = ?
		WHERE job_id = ? AND status IN ('blocked', 'ready', 'enqueued')`, now, id)
	if err != nil {
		return fmt.Errorf("stop items: %w", err)
	}
	n, _ := res.RowsAffected()
	_, err = e.execW(ctx, `UPDATE jobs SET status = ?, status_reason = ?, message = ?, cancelled = cancelled + ?,
		in_flight = in_flight - ?, finished_at = ?, updated_at = ? WHERE id = ?`,
		status, reason, message, n, enq, now, now, id)
	return err
}

func (e *exec) SetJobBudget(ctx context.Context, id int64, usd float64, options string, now time.Time) error {
	_, err := e.execW(ctx, `UPDATE jobs SET budget = ?, options = ?, updated_at = ? WHERE id = ?`, usd, options, now, id)
	return err
}

func (e *exec) SettleJob(ctx context.Context, id int64, now time.Time) error {
	// One statement for both moves: it runs for every batch of outcomes.
	_, err := e.execW(ctx, `UPDATE jobs SET
		status = CASE WHEN processed + failed + skipped + cancelled >= total THEN 'completed' ELSE 'paused' END,
		finished_at = CASE WHEN processed + failed + skipped + cancelled >= total THEN ? ELSE finished_at END,
		updated_at = ?
		WHERE id = ? AND in_flight <= 0 AND (status = 'pausing'
			OR status IN ('queued', 'running') AND processed + failed + skipped + cancelled >= total)`, now, now, id)
	return err
}

func (e *exec) MarkJobRunning(ctx context.Context, id int64, now time.Time) error {
	_, err := e.execW(ctx, `UPDATE jobs SET status = 'running', started_at = COALESCE(started_at, ?), updated_at = ? WHERE id = ?`, now, now, id)
	return err
}

func (e *exec) CountFinish(ctx context.Context, id int64, c FinishCounts, now time.Time) (float64, error) {
	var actual float64
	s := c.Spend
	err := e.queryRow(ctx, e.w, `UPDATE jobs SET processed = processed + ?, partial = partial + ?, failed = failed + ?,
		cancelled = cancelled + ?, in_flight = in_flight - 1, prompt_tokens = prompt_tokens + ?, completion_tokens = completion_tokens + ?,
		cached_tokens = cached_tokens + ?, actual_cost = actual_cost + ?, item_duration_ms = item_duration_ms + ?, updated_at = ?
		WHERE id = ? RETURNING actual_cost`, c.Processed, c.Partial, c.Failed, c.Cancelled,
		s.PromptTokens, s.CompletionTokens, s.CachedTokens, s.Cost, c.ItemDurationMS, now, id).Scan(&actual)
	return actual, err
}

func (e *exec) AddSpend(ctx context.Context, jobID, itemID int64, s Spend, now time.Time) error {
	if _, err := e.execW(ctx, `UPDATE job_items SET prompt_tokens = prompt_tokens + ?, completion_tokens = completion_tokens + ?,
		cached_tokens = cached_tokens + ?, cost = cost + ? WHERE id = ?`, s.PromptTokens, s.CompletionTokens, s.CachedTokens, s.Cost, itemID); err != nil {
		return err
	}
	_, err := e.execW(ctx, `UPDATE jobs SET prompt_tokens = prompt_tokens + ?, completion_tokens = completion_tokens + ?,
		cached_tokens = cached_tokens + ?, actual_cost = actual_cost + ?, updated_at = ? WHERE id = ?`,
		s.PromptTokens, s.CompletionTokens, s.CachedTokens, s.Cost, now, jobID)
	return err
}

func (e *exec) ReleaseTakenOver(ctx context.Context, jobID int64, cancelled int, now time.Time) error {
	_, err := e.execW(ctx, `UPDATE jobs SET in_flight = in_flight - 1, cancelled = cancelled + ?, updated_at = ? WHERE id = ?`, cancelled, now, jobID)
	return err
}

// insertBatch is how many rows one multi-row INSERT writes: a
// 100,000-object job must not cost 100,000 round trips.
const insertBatch = 400

func (e *exec) InsertItems(ctx context.Context, jobID int64, items []NewItem, now time.Time) error {
	skipped := map[int64]bool{}
	for _, o := range items {
		if o.SkipReason != "" {
			skipped[o.ObjectID] = true
		}
	}
	for start := 0; start < len(items); start += insertBatch {
		end := min(start+insertBatch, len(items))
		var b strings.Builder
		b.WriteString(`INSERT INTO job_items (job_id, object_id, object_name, position, status, skip_reason, deps_remaining, estimated_cost, finished_at) VALUES `)
		args := make([]any, 0, (end-start)*9)
		for i, o := range items[start:end] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`(?, ?, ?, ?, ?, ?, ?, ?, ?)`)
			status, deps, cost := "ready", 0, 0.0
			var fin any
			if o.SkipReason != "" {
				status, fin = "skipped", now
			} else {
				for _, d := range o.Deps {
					if !skipped[d] {
						deps++
					}
				}
				if deps > 0 {
					status = "blocked"
				}
				cost = o.EstimatedCost
			}
			args = append(args, jobID, o.ObjectID, o.ObjectName, o.Position, status, o.SkipReason, deps, cost, fin)
		}
		if _, err := e.execW(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("insert items: %w", err)
		}
	}
	// Dependencies join through the item ids just assigned.
	itemOf := make(map[int64]int64, len(items))
	rows, err := e.query(ctx, e.w, `SELECT id, object_id FROM job_items WHERE job_id = ?`, jobID)
	if err != nil {
		return fmt.Errorf("read items: %w", err)
	}
	for rows.Next() {
		var id, obj int64
		if err := rows.Scan(&id, &obj); err != nil {
			rows.Close()
			return err
		}
		itemOf[obj] = id
	}
	rows.Close()
	type dep struct{ item, up int64 }
	var deps []dep
	for _, o := range items {
		if o.SkipReason != "" {
			continue
		}
		for _, d := range o.Deps {
			if !skipped[d] {
				deps = append(deps, dep{itemOf[o.ObjectID], itemOf[d]})
			}
		}
	}
	for start := 0; start < len(deps); start += insertBatch {
		end := min(start+insertBatch, len(deps))
		var b strings.Builder
		b.WriteString(`INSERT INTO job_item_deps (job_id, item_id, upstream_id) VALUES `)
		args := make([]any, 0, (end-start)*3)
		for i, d := range deps[start:end] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`(?, ?, ?)`)
			args = append(args, jobID, d.item, d.up)
		}
		if _, err := e.execW(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("insert dependencies: %w", err)
		}
	}
	return nil
}

// limitClause pages in SQL, so that a page of a 100,000-item job reads a
// page of rows, not the whole list.
func limitClause(limit, offset int) string {
	if limit <= 0 {
		return ""
	}
	return fmt.Sprintf(" LIMIT %d OFFSET %d", limit, max(offset, 0))
}

func itemsWhere(jobID int64, status string) (string, []any) {
	if status != "" {
		return `job_id = ? AND status = ?`, []any{jobID, status}
	}
	return `job_id = ?`, []any{jobID}
}

func (e *exec) Items(ctx context.Context, jobID int64, status string, limit, offset int) ([]Item, error) {
	where, args := itemsWhere(jobID, status)
	rows, err := e.query(ctx, e.r, `SELECT id, job_id, object_id, object_name, position, status, skip_reason,
		deps_remaining, attempts, prompt_tokens, completion_tokens, cached_tokens, estimated_cost, cost,
		started_at, finished_at, duration_ms, last_error, missing_layers, COALESCE(doc_version_id, 0)
		FROM job_items WHERE `+where+` ORDER BY position`+limitClause(limit, offset), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Item{}
	for rows.Next() {
		var it Item
		var started, finished sqldialect.Time
		var missing string
		if err := rows.Scan(&it.ID, &it.JobID, &it.ObjectID, &it.ObjectName, &it.Position, &it.Status, &it.SkipReason,
			&it.DepsRemaining, &it.Attempts, &it.PromptTokens, &it.CompletionTokens, &it.CachedTokens, &it.EstimatedCost, &it.Cost,
			&started, &finished, &it.DurationMS, &it.LastError, &missing, &it.DocVersionID); err != nil {
			return nil, err
		}
		it.StartedAt, it.FinishedAt = started.Ptr(), finished.Ptr()
		if missing != "" {
			it.MissingLayers = strings.Split(missing, ",")
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

func (e *exec) count(ctx context.Context, q string, args ...any) (int, error) {
	var n int
	err := e.queryRow(ctx, e.r, q, args...).Scan(&n)
	return n, err
}

func (e *exec) CountItems(ctx context.Context, jobID int64, status string) (int, error) {
	where, args := itemsWhere(jobID, status)
	return e.count(ctx, `SELECT COUNT(*) FROM job_items WHERE `+where, args...)
}

func (e *exec) RunningObjectNames(ctx context.Context, jobID int64) ([]string, error) {
	rows, err := e.query(ctx, e.r, `SELECT object_name FROM job_items WHERE job_id = ? AND status = 'running' ORDER BY position`, jobID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

func (e *exec) ReadyItems(ctx context.Context, jobID, n int64) ([]ItemRun, error) {
	rows, err := e.query(ctx, e.w, `SELECT id, run FROM job_items WHERE job_id = ? AND status = 'ready' ORDER BY position LIMIT ?`, jobID, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ItemRun
	for rows.Next() {
		var r ItemRun
		if err := rows.Scan(&r.ID, &r.Run); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (e *exec) EnqueueItems(ctx context.Context, jobID int64, ids []int64) error {
	if _, err := e.execW(ctx, `UPDATE job_items SET status = 'enqueued' WHERE `+e.inIDs("id"), sqldialect.IDList(ids)); err != nil {
		return err
	}
	_, err := e.execW(ctx, `UPDATE jobs SET in_flight = in_flight + ? WHERE id = ?`, len(ids), jobID)
	return err
}

func (e *exec) ItemForStart(ctx context.Context, jobID, id int64) (*StartItem, error) {
	var s StartItem
	err := e.queryRow(ctx, e.w, `SELECT status, run, object_id, object_name, attempts, kept_layers FROM job_items WHERE id = ? AND job_id = ?`, id, jobID).
		Scan(&s.Status, &s.Run, &s.ObjectID, &s.ObjectName, &s.Attempts, &s.KeptLayers)
	if err != nil {
		return nil, notFound(err)
	}
	return &s, nil
}

func (e *exec) RequeueItem(ctx context.Context, jobID, id int64, now time.Time) error {
	if _, err := e.execW(ctx, `UPDATE job_items SET status = 'ready', run = run + 1, worker_id = '' WHERE id = ?`, id); err != nil {
		return err
	}
	_, err := e.execW(ctx, `UPDATE jobs SET in_flight = in_flight - 1, updated_at = ? WHERE id = ?`, now, jobID)
	return err
}

func (e *exec) CancelItem(ctx context.Context, jobID, id int64, now time.Time) error {
	if _, err := e.execW(ctx, `UPDATE job_items SET status = 'cancelled', run = run + 1, worker_id = '', finished_at = ? WHERE id = ?`, now, id); err != nil {
		return err
	}
	_, err := e.execW(ctx, `UPDATE jobs SET in_flight = in_flight - 1, cancelled = cancelled + 1, updated_at = ? WHERE id = ?`, now, jobID)
	return err
}

func (e *exec) StartItem(ctx context.Context, id int64, w Worker, now time.Time) error {
	_, err := e.execW(ctx, `UPDATE job_items SET status = 'running', attempts = attempts + 1, worker_id = ?,
		worker_host = ?, worker_pid = ?, heartbeat_at = ?, started_at = ? WHERE id = ?`, w.ID, w.Host, w.PID, now, now, id)
	return err
}

func (e *exec) FinishItem(ctx context.Context, f ItemFinish) (bool, error) {
	var fin any
	if f.FinishedAt != nil {
		fin = *f.FinishedAt
	}
	s := f.Spend
	// Fence: the item must still be this run's.
	res, err := e.execW(ctx, `UPDATE job_items SET status = ?, run = run + ?, worker_id = '', finished_at = ?,
		duration_ms = duration_ms + ?, prompt_tokens = prompt_tokens + ?, completion_tokens = completion_tokens + ?,
		cached_tokens = cached_tokens + ?, cost = cost + ?, last_error = ?, missing_layers = ?, kept_layers = ?
		WHERE id = ? AND run = ? AND status = 'running'`,
		f.Status, f.RunBump, fin, f.DurationMS, s.PromptTokens, s.CompletionTokens, s.CachedTokens, s.Cost,
		f.LastError, f.MissingLayers, f.KeptLayers, f.ID, f.Run)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

func (e *exec) SetItemDocVersion(ctx context.Context, id, versionID int64) error {
	_, err := e.execW(ctx, `UPDATE job_items SET doc_version_id = ? WHERE id = ?`, versionID, id)
	return err
}

func (e *exec) CountDownDependents(ctx context.Context, id int64) error {
	// The right-hand sides read the old values.
	_, err := e.execW(ctx, `UPDATE job_items SET deps_remaining = deps_remaining - 1,
			status = CASE WHEN status = 'blocked' AND deps_remaining <= 1 THEN 'ready' ELSE status END
			WHERE id IN (SELECT item_id FROM job_item_deps WHERE upstream_id = ?)`, id)
	return err
}

func (e *exec) Heartbeat(ctx context.Context, worker string, now time.Time) error {
	_, err := e.execW(ctx, `UPDATE job_items SET heartbeat_at = ? WHERE worker_id = ? AND status = 'running'`, now, worker)
	return err
}

func scanHeld(rows *sql.Rows, withItem bool) (Held, error) {
	var h Held
	var beat sqldialect.Time
	var err error
	if withItem {
		err = rows.Scan(&h.ItemID, &h.JobID, &h.Worker, &h.Host, &h.PID, &beat)
	} else {
		err = rows.Scan(&h.JobID, &h.Worker, &h.Host, &h.PID, &beat)
	}
	h.Heartbeat = beat.Ptr()
	return h, err
}

func (e *exec) RunningHeldByOthers(ctx context.Context, worker string) ([]Held, error) {
	rows, err := e.query(ctx, e.r, `SELECT id, job_id, worker_id, worker_host, worker_pid, heartbeat_at FROM job_items WHERE status = 'running' AND worker_id <> ?`, worker)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Held
	var errs []error
	for rows.Next() {
		h, err := scanHeld(rows, true)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, h)
	}
	return out, errors.Join(append(errs, rows.Err())...)
}

func (e *exec) RunningHeldIn(ctx context.Context, orgID int64, jobIDs []int64) ([]Held, error) {
	rows, err := e.query(ctx, e.r, `SELECT i.job_id, i.worker_id, i.worker_host, i.worker_pid, i.heartbeat_at
		FROM job_items i JOIN jobs j ON j.id = i.job_id
		WHERE j.org_id = ? AND j.status IN ('running', 'pausing') AND i.status = 'running' AND `+e.inIDs("i.job_id"), orgID, sqldialect.IDList(jobIDs))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Held
	for rows.Next() {
		h, err := scanHeld(rows, false)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

func (e *exec) StaleFetched(ctx context.Context, kind string, before time.Time) ([]ItemRun, error) {
	q := `SELECT CAST(json_extract(args, '$.item_id') AS INTEGER), CAST(json_extract(args, '$.run') AS INTEGER), attempted_at
		FROM river_job WHERE kind = ? AND state = 'running'`
	if e.pg {
		q = `SELECT CAST(args->>'item_id' AS BIGINT), CAST(args->>'run' AS BIGINT), attempted_at
		FROM river_job WHERE kind = ? AND state = 'running'`
	}
	rows, err := e.query(ctx, e.r, q, kind)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ItemRun
	var errs []error
	for rows.Next() {
		var f ItemRun
		var at sqldialect.Time
		if err := rows.Scan(&f.ID, &f.Run, &at); err != nil {
			errs = append(errs, err)
			continue
		}
		if at.Valid && at.Time.Before(before) {
			out = append(out, f)
		}
	}
	return out, errors.Join(append(errs, rows.Err())...)
}

func (e *exec) EnqueuedItemJob(ctx context.Context, id, run int64) (int64, error) {
	var job int64
	err := e.queryRow(ctx, e.r, `SELECT job_id FROM job_items WHERE id = ? AND status = 'enqueued' AND run = ?`, id, run).Scan(&job)
	return job, notFound(err)
}

func affected(res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

func (e *exec) TakeOverFetched(ctx context.Context, id, run int64, next string) (bool, error) {
	return affected(e.execW(ctx, `UPDATE job_items SET status = ?, run = run + 1, worker_id = '' WHERE id = ? AND status = 'enqueued' AND run = ?`, next, id, run))
}

func (e *exec) TakeOverRunning(ctx context.Context, id int64, worker, next string) (bool, error) {
	return affected(e.execW(ctx, `UPDATE job_items SET status = ?, run = run + 1, worker_id = '' WHERE id = ? AND status = 'running' AND worker_id = ?`, next, id, worker))
}

func (e *exec) AppendError(ctx context.Context, en ErrorEntry) error {
	var item, obj any
	if en.ItemID != 0 {
		item = en.ItemID
	}
	if en.ObjectID != 0 {
		obj = en.ObjectID
	}
	_, err := e.execW(ctx, `INSERT INTO job_errors (job_id, item_id, object_id, object_name, layer, error_class, message, attempt, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, en.JobID, item, obj, en.ObjectName, en.Layer, en.ErrorClass, en.Message, en.Attempt, en.CreatedAt)
	return err
}

func (e *exec) Errors(ctx context.Context, jobID int64, limit, offset int) ([]ErrorEntry, error) {
	rows, err := e.query(ctx, e.r, `SELECT id, job_id, COALESCE(item_id, 0), COALESCE(object_id, 0), object_name, layer,
		error_class, message, attempt, created_at FROM job_errors WHERE job_id = ? ORDER BY id`+limitClause(limit, offset), jobID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ErrorEntry{}
	for rows.Next() {
		var en ErrorEntry
		var at sqldialect.Time
		if err := rows.Scan(&en.ID, &en.JobID, &en.ItemID, &en.ObjectID, &en.ObjectName, &en.Layer, &en.ErrorClass, &en.Message, &en.Attempt, &at); err != nil {
			return nil, err
		}
		en.CreatedAt = at.Time
		out = append(out, en)
	}
	return out, rows.Err()
}

func (e *exec) CountErrors(ctx context.Context, jobID int64) (int, error) {
	return e.count(ctx, `SELECT COUNT(*) FROM job_errors WHERE job_id = ?`, jobID)
}

func (e *exec) InsertGenerationLogs(ctx context.Context, logs []GenerationLog) error {
	for start := 0; start < len(logs); start += 200 {
		end := min(start+200, len(logs))
		var b strings.Builder
		b.WriteString(`INSERT INTO generation_logs (job_id, item_id, object_id, layer, attempt, status, model, prompt_tokens,
				completion_tokens, cached_tokens, reasoning_tokens, cost, duration_ms, finish_reason, error_class, error, created_at) VALUES `)
		var args []any
		for i, l := range logs[start:end] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
			args = append(args, l.JobID, l.ItemID, l.ObjectID, l.Layer, l.Attempt, l.Status, l.Model, l.PromptTokens,
				l.CompletionTokens, l.CachedTokens, l.ReasoningTokens, l.Cost, l.DurationMS, l.FinishReason, l.ErrorClass, l.Error, l.CreatedAt)
		}
		if _, err := e.execW(ctx, b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

func (e *exec) GenerationLogs(ctx context.Context, jobID int64, limit, offset int) ([]GenerationLog, error) {
	rows, err := e.query(ctx, e.r, `SELECT id, job_id, item_id, object_id, layer, attempt, status, model,
		prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, cost, duration_ms, finish_reason, error_class, error, created_at
		FROM generation_logs WHERE job_id = ? ORDER BY id`+limitClause(limit, offset), jobID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []GenerationLog{}
	for rows.Next() {
		var g GenerationLog
		var at sqldialect.Time
		if err := rows.Scan(&g.ID, &g.JobID, &g.ItemID, &g.ObjectID, &g.Layer, &g.Attempt, &g.Status, &g.Model,
			&g.PromptTokens, &g.CompletionTokens, &g.CachedTokens, &g.ReasoningTokens, &g.Cost, &g.DurationMS, &g.FinishReason, &g.ErrorClass, &g.Error, &at); err != nil {
			return nil, err
		}
		g.CreatedAt = at.Time
		out = append(out, g)
	}
	return out, rows.Err()
}

func (e *exec) CountGenerationLogs(ctx context.Context, jobID int64) (int, error) {
	return e.count(ctx, `SELECT COUNT(*) FROM generation_logs WHERE job_id = ?`, jobID)
}

func (e *exec) AddLayerCounts(ctx context.Context, jobID int64, counts []LayerDelta) error {
	if len(counts) == 0 {
		return nil
	}
	// One statement for all layers' counts: every statement costs a parse
	// on SQLite, and this transaction is the single writer's hot path.
	values := make([]string, len(counts))
	args := make([]any, 0, 4*len(counts))
	for i, c := range counts {
		values[i] = "(?, ?, ?, ?)"
		args = append(args, jobID, c.Layer, c.OK, c.Failed)
	}
	_, err := e.execW(ctx, `INSERT INTO job_layer_counts (job_id, layer, ok, failed) VALUES `+strings.Join(values, ", ")+`
			ON CONFLICT (job_id, layer) DO UPDATE SET ok = job_layer_counts.ok + excluded.ok, failed = job_layer_counts.failed + excluded.failed`,
		args...)
	return err
}

func (e *exec) LayerCounts(ctx context.Context, jobID int64) (map[modeldoc.Layer]LayerCount, error) {
	rows, err := e.query(ctx, e.r, `SELECT layer, ok, failed FROM job_layer_counts WHERE job_id = ? ORDER BY layer`, jobID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[modeldoc.Layer]LayerCount{}
	for rows.Next() {
		var l string
		var c LayerCount
		if err := rows.Scan(&l, &c.OK, &c.Failed); err != nil {
			return nil, err
		}
		out[modeldoc.Layer(l)] = c
	}
	return out, rows.Err()
}

func (e *exec) BatchProgress(ctx context.Context, jobID int64) (*BatchProgress, error) {
	p := &BatchProgress{}
	var exp sqldialect.Time
	if err := e.queryRow(ctx, e.r, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN ended = 0 THEN 1 ELSE 0 END), 0),
		MIN(CASE WHEN ended = 0 THEN expires_at END) FROM job_batches WHERE job_id = ? AND batch_id <> ''`, jobID).Scan(&p.Batches, &p.Open, &exp); err != nil {
		return nil, err
	}
	p.ExpiresAt = exp.Ptr()
	if err := e.queryRow(ctx, e.r, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN c.status = 'succeeded' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN c.status = 'failed' THEN 1 ELSE 0 END), 0)
		FROM batch_calls c JOIN job_batches b ON b.id = c.chunk_id WHERE c.job_id = ? AND b.batch_id <> ''`, jobID).Scan(&p.Submitted, &p.Completed, &p.Failed); err != nil {
		return nil, err
	}
	return p, nil
}

// The batch statements outside a transaction run on the write handle, as
// they always have: a call's record is read right after it is written.

func (e *exec) BatchCall(ctx context.Context, jobID int64, customID string) (*BatchCallRow, error) {
	var c BatchCallRow
	err := e.queryRow(ctx, e.w, `SELECT c.status, c.result, c.chunk_id, b.batch_id, b.chunk_key FROM batch_calls c
		JOIN job_batches b ON b.id = c.chunk_id WHERE c.job_id = ? AND c.custom_id = ?`, jobID, customID).Scan(&c.Status, &c.Result, &c.Chunk, &c.BatchID, &c.Key)
	if err != nil {
		return nil, notFound(err)
	}
	return &c, nil
}

func (e *exec) InsertChunk(ctx context.Context, jobID int64, provider, key string, calls []ChunkCall, now time.Time) (int64, error) {
	var chunk int64
	if err := e.queryRow(ctx, e.w, `INSERT INTO job_batches (job_id, provider, chunk_key, status, calls, created_at, updated_at)
			VALUES (?, ?, ?, 'submitting', ?, ?, ?) RETURNING id`, jobID, provider, key, len(calls), now, now).Scan(&chunk); err != nil {
		return 0, fmt.Errorf("record batch: %w", err)
	}
	for start := 0; start < len(calls); start += 200 {
		end := min(start+200, len(calls))
		var b strings.Builder
		b.WriteString(`INSERT INTO batch_calls (job_id, custom_id, chunk_id, item_id, status) VALUES `)
		var args []any
		for i, c := range calls[start:end] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`(?, ?, ?, ?, 'submitted')`)
			args = append(args, jobID, c.CustomID, chunk, c.ItemID)
		}
		if _, err := e.execW(ctx, b.String(), args...); err != nil {
			return 0, fmt.Errorf("record batch calls: %w", err)
		}
	}
	return chunk, nil
}

func (e *exec) DeleteChunk(ctx context.Context, chunk int64) error {
	_, err := e.execW(ctx, `DELETE FROM job_batches WHERE id = ?`, chunk)
	return err
}

func (e *exec) DeleteUnsubmittedChunk(ctx context.Context, chunk int64) error {
	_, err := e.execW(ctx, `DELETE FROM job_batches WHERE id = ? AND batch_id = ''`, chunk)
	return err
}

func (e *exec) RecordBatch(ctx context.Context, chunk int64, st BatchState, now time.Time) error {
	var exp any
	if !st.ExpiresAt.IsZero() {
		exp = st.ExpiresAt.UTC().Round(time.Microsecond)
	}
	ended := 0
	if st.Ended {
		ended = 1
	}
	_, err := e.execW(ctx, `UPDATE job_batches SET batch_id = ?, status = ?, ended = ?, completed = ?, failed = ?,
		message = ?, expires_at = COALESCE(?, expires_at), updated_at = ? WHERE id = ?`,
		st.ID, st.Status, ended, st.Completed, st.Failed, st.Message, exp, now, chunk)
	return err
}

func (e *exec) SetBatchCallResult(ctx context.Context, jobID, chunk int64, customID, status, result string) error {
	_, err := e.execW(ctx, `UPDATE batch_calls SET status = ?, result = ? WHERE job_id = ? AND custom_id = ? AND chunk_id = ?`,
		status, result, jobID, customID, chunk)
	return err
}

func (e *exec) ChargeBatchCall(ctx context.Context, jobID int64, customID string) (bool, error) {
	return affected(e.execW(ctx, `UPDATE batch_calls SET charged = 1 WHERE job_id = ? AND custom_id = ? AND charged = 0`, jobID, customID))
}

func (e *exec) OpenBatches(ctx context.Context, jobID int64) ([]OpenBatch, error) {
	rows, err := e.query(ctx, e.w, `SELECT id, batch_id FROM job_batches WHERE job_id = ? AND ended = 0 AND batch_id <> ''`, jobID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []OpenBatch
	for rows.Next() {
		var o OpenBatch
		if err := rows.Scan(&o.Chunk, &o.BatchID); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

func (e *exec) MarkBatchCancelling(ctx context.Context, chunk int64, now time.Time) error {
	_, err := e.execW(ctx, `UPDATE job_batches SET status = 'cancelling', updated_at = ? WHERE id = ? AND ended = 0`, now, chunk)
	return err
}
