package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/cost"
	"github.com/modeldoc/modeldoc/internal/jobstore"
)

// Store is what jobs needs of internal/store.Store.
type Store interface {
	// JobStore holds the jobs, their items, logs and batches.
	JobStore() jobstore.Store
	IsPostgres() bool
	// DSN is the PostgreSQL URL River's listener pool connects with.
	DSN() string
	// InsertDocVersionTx stores v as the object's new current version in
	// tx and sets v.ID and v.Version.
	InsertDocVersionTx(ctx context.Context, tx *sql.Tx, v *modeldoc.DocVersion) error
	// StaleIDs returns those of objectIDs whose documentation is stale by
	// the store's one definition (OnlyStale documents them again).
	StaleIDs(ctx context.Context, orgID int64, objectIDs []int64) (map[int64]bool, error)
	// EachSelectable calls fn for each live object of the organization
	// (of projectID when not 0, of ids when given), by id.
	EachSelectable(ctx context.Context, orgID, projectID int64, ids []int64, fn func(id, projectID int64, name string, typ modeldoc.ObjectType) error) error
	// EdgesInto returns the lineage edges whose downstream end is in ids.
	EdgesInto(ctx context.Context, ids []int64) ([]modeldoc.ObjectEdge, error)
	// CurrentDocIDs returns those of ids with a current documentation.
	CurrentDocIDs(ctx context.Context, ids []int64) (map[int64]bool, error)
	ListProjects(ctx context.Context, orgID int64) ([]modeldoc.Project, error)
}

// Config configures a Manager.
type Config struct {
	Store      Store
	Documenter Documenter
	Writers    WriterFactory
	Logger     *slog.Logger
	Now        func() time.Time
	// Concurrency is a job's default window of objects in flight (8).
	Concurrency int
	// MaxWorkers is the number of River workers in this process (64); it
	// caps the objects written at once over all jobs.
	MaxWorkers int
	// ItemTimeout bounds one object's writing (10 min). River's rescuer
	// runs after ItemTimeout + 5 min.
	ItemTimeout time.Duration
	// PollInterval is how often running jobs' rows are read, so that a
	// pause or cancel from another process lands (300 ms).
	PollInterval time.Duration
	// Heartbeat is how often this process marks its running items alive
	// (2 s); Lease is how long an item may go without a heartbeat before
	// another process takes it over as orphaned (15 s).
	Heartbeat time.Duration
	Lease     time.Duration
	// WorkerID names this process in item rows; random when empty.
	WorkerID string
	// Batch mode (batch.go): BatchLinger is how long a chunk waits for
	// more calls before it is submitted (2 s), BatchPoll how often a
	// submitted batch is polled (30 s), and BatchYield how long an object
	// waits for its batch before it goes back to ready to be picked up
	// again (half of ItemTimeout), so that no River job outlives its
	// timeout while a batch takes hours.
	BatchLinger, BatchPoll, BatchYield time.Duration
}

// Manager creates, controls, observes and (once started) runs jobs.
type Manager struct {
	cfg      Config
	store    Store
	js       jobstore.Store
	log      *slog.Logger
	clock    func() time.Time
	workerID string
	host     string // recorded with this process's running items

	mu   sync.Mutex
	subs map[int64]map[*subscription]struct{}
	// closing ends every subscription's poll loop on Close, and subsDone
	// waits for them, so none reads a store its owner is about to close.
	closing   chan struct{}
	closeOnce sync.Once
	subsDone  sync.WaitGroup
	ctl       map[int64]*jobControl // jobs with items in flight here
	writer    map[int64]*jobWriter

	// finishFault, set by tests, fails an item's outcome in its
	// transaction before anything of it is written.
	finishFault func(*finish) error
	// batchFault, set by tests, stops a chunk once the provider took it
	// and before its batch id is recorded (as a process killed at that
	// moment would) when it errs.
	batchFault func(chunk int64) error

	releasedMu sync.Mutex
	released   map[*jobstore.Tx]bool // transactions that inserted River jobs

	batches batchJobs

	runtime *runtime
}

// NewManager checks cfg, fills its defaults, migrates River's tables and
// makes the River client. It starts no worker: Start, Run or RunJob do.
// Close releases it.
func NewManager(ctx context.Context, cfg Config) (*Manager, error) {
	if cfg.Store == nil {
		return nil, errors.New("jobs: Config.Store is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	if cfg.MaxWorkers <= 0 {
		cfg.MaxWorkers = 64
	}
	if cfg.ItemTimeout <= 0 {
		cfg.ItemTimeout = 10 * time.Minute
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 300 * time.Millisecond
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 2 * time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 15 * time.Second
	}
	if cfg.WorkerID == "" {
		cfg.WorkerID = randomID()
	}
	m := &Manager{
		cfg: cfg, store: cfg.Store, js: cfg.Store.JobStore(), log: cfg.Logger, clock: cfg.Now, workerID: cfg.WorkerID, host: thisHost(),
		subs:     map[int64]map[*subscription]struct{}{},
		closing:  make(chan struct{}),
		ctl:      map[int64]*jobControl{},
		writer:   map[int64]*jobWriter{},
		released: map[*jobstore.Tx]bool{},
	}
	if err := m.open(ctx); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// fromRow is the job of row r.
func fromRow(r *jobstore.JobRow) (*Job, error) {
	j := Job{ID: r.ID, OrgID: r.OrgID, ProjectID: r.ProjectID, Status: r.Status, StatusReason: r.StatusReason, Message: r.Message,
		Total: r.Total, Processed: r.Processed, Partial: r.Partial, Failed: r.Failed, Skipped: r.Skipped, Cancelled: r.Cancelled, InFlight: r.InFlight,
		PromptTokens: r.PromptTokens, CachedTokens: r.CachedTokens, CompletionTokens: r.CompletionTokens, EstimatedCost: r.EstimatedCost,
		EstimatedPromptTokens: r.EstimatedPromptTokens, EstimatedCompletionTokens: r.EstimatedCompletionTokens,
		ActualCost: r.ActualCost, Budget: r.Budget, itemDurationMS: r.ItemDurationMS,
		TriggeredByUserID: r.TriggeredByUserID, TriggeredByEmail: r.TriggeredByEmail,
		CreatedAt: r.CreatedAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, UpdatedAt: r.UpdatedAt}
	// A row written before options were validated may hold an empty
	// options column (a budget of Inf could not be encoded) or a budget
	// JSON cannot carry: it is read as a job without options or budget,
	// so that one bad row does not break every listing of its organization.
	if r.Options != "" {
		if err := json.Unmarshal([]byte(r.Options), &j.Options); err != nil {
			return nil, fmt.Errorf("jobs: job %d options: %w", j.ID, err)
		}
	}
	if validBudget(j.Budget) != nil {
		j.Budget = 0
	}
	j.Options.Budget = j.Budget
	return &j, nil
}

// scanJob converts a job row read with err, and says whether its model's
// price is known.
func (m *Manager) scanJob(r *jobstore.JobRow, err error) (*Job, error) {
	if err != nil {
		return nil, err
	}
	j, err := fromRow(r)
	if err == nil {
		j.PriceKnown = m.priceKnown(&j.Options)
		if t := m.prices(); t != nil && j.Options.GivenPrice() == nil {
			if p, ok := t.Price(j.Options.Provider, j.Options.Model); ok {
				j.CacheSaved = p.CacheSaved(j.CachedTokens)
			}
		}
	}
	return j, err
}

// prices is the price table of the Documenter, or nil when it has none
// (a scripted one in tests): every price is then taken as known.
func (m *Manager) prices() *cost.Table {
	if p, ok := m.cfg.Documenter.(interface{ Prices() *cost.Table }); ok {
		return p.Prices()
	}
	return nil
}

// priceKnown reports whether the cost of o's calls can be known.
func (m *Manager) priceKnown(o *Options) bool {
	t := m.prices()
	return t == nil || t.Known(o.Provider, o.Model, o.GivenPrice())
}

// checkBudget refuses a budget that cannot hold: one on a model whose
// price is unknown (see cost.CheckBudget).
func (m *Manager) checkBudget(o *Options, usd float64) error {
	if usd <= 0 || m.priceKnown(o) {
		return nil
	}
	return cost.BudgetNeedsPrice(o.Provider, o.Model, usd)
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

func notFound(id int64) error {
	return modeldoc.Errorf(modeldoc.ENOTFOUND, "Job %d was not found: list the jobs with `modeldoc jobs list`.", id)
}

func (m *Manager) loadJob(ctx context.Context, ex jobstore.Executor, orgID, id int64) (*Job, error) {
	j, err := m.scanJob(ex.GetJob(ctx, orgID, id))
	if errors.Is(err, jobstore.ErrNotFound) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: load job %d: %w", id, err)
	}
	return j, nil
}

// Get returns job id of orgID with its layer counters and the names of
// the objects being written.
func (m *Manager) Get(ctx context.Context, orgID, id int64) (*Job, error) {
	j, err := m.loadJob(ctx, m.js, orgID, id)
	if err != nil {
		return nil, err
	}
	if err := m.fillDetails(ctx, m.js, j); err != nil {
		return nil, err
	}
	return j, nil
}

func (m *Manager) fillDetails(ctx context.Context, ex jobstore.Executor, j *Job) error {
	var err error
	if j.Layers, err = ex.LayerCounts(ctx, j.ID); err != nil {
		return fmt.Errorf("jobs: layer counts: %w", err)
	}
	if j.Running, err = ex.RunningObjectNames(ctx, j.ID); err != nil {
		return fmt.Errorf("jobs: running items: %w", err)
	}
	if j.Options.Batch {
		if j.Batch, err = ex.BatchProgress(ctx, j.ID); err != nil {
			return fmt.Errorf("jobs: batch progress: %w", err)
		}
	}
	j.derive(m.clock())
	return nil
}

// List returns orgID's jobs, newest first.
func (m *Manager) List(ctx context.Context, orgID int64, f ListFilter) ([]*Job, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	if f.Limit > 1000 {
		f.Limit = 1000
	}
	if f.Status != "" && !validStatus(f.Status) {
		return nil, modeldoc.Errorf(modeldoc.EINVALID, "Unknown job status %q: choose from queued, running, pausing, paused, completed, failed, cancelled.", f.Status)
	}
	rows, err := m.js.ListJobs(ctx, orgID, f.Status, f.Limit, f.Offset)
	if err != nil {
		return nil, fmt.Errorf("jobs: list: %w", err)
	}
	out := []*Job{}
	now := m.clock()
	for _, r := range rows {
		j, err := m.scanJob(r, nil)
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
func (m *Manager) Items(ctx context.Context, orgID, id int64) ([]Item, error) {
	items, _, err := m.ItemsPage(ctx, orgID, id, Page{})
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
func (m *Manager) ItemsPage(ctx context.Context, orgID, id int64, p Page) ([]Item, int, error) {
	if _, err := m.loadJob(ctx, m.js, orgID, id); err != nil {
		return nil, 0, err
	}
	out, err := m.js.Items(ctx, id, p.Status, p.Limit, p.Offset)
	if err != nil {
		return nil, 0, fmt.Errorf("jobs: items: %w", err)
	}
	total, err := total(p, len(out), func() (int, error) { return m.js.CountItems(ctx, id, p.Status) })
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
func (m *Manager) Errors(ctx context.Context, orgID, id int64) ([]ErrorEntry, error) {
	es, _, err := m.ErrorsPage(ctx, orgID, id, Page{})
	return es, err
}

// ErrorsPage returns one page of the job's error log, oldest first, and
// the log's length.
func (m *Manager) ErrorsPage(ctx context.Context, orgID, id int64, p Page) ([]ErrorEntry, int, error) {
	if _, err := m.loadJob(ctx, m.js, orgID, id); err != nil {
		return nil, 0, err
	}
	out, err := m.js.Errors(ctx, id, p.Limit, p.Offset)
	if err != nil {
		return nil, 0, fmt.Errorf("jobs: errors: %w", err)
	}
	total, err := total(p, len(out), func() (int, error) { return m.js.CountErrors(ctx, id) })
	if err != nil {
		return nil, 0, fmt.Errorf("jobs: errors: %w", err)
	}
	return out, total, nil
}

// GenerationLogs returns one row per call of the job, oldest first.
func (m *Manager) GenerationLogs(ctx context.Context, orgID, id int64) ([]GenerationLog, error) {
	ls, _, err := m.GenerationLogsPage(ctx, orgID, id, Page{})
	return ls, err
}

// GenerationLogsPage returns one page of the job's calls, oldest first,
// and how many calls the job made.
func (m *Manager) GenerationLogsPage(ctx context.Context, orgID, id int64, p Page) ([]GenerationLog, int, error) {
	if _, err := m.loadJob(ctx, m.js, orgID, id); err != nil {
		return nil, 0, err
	}
	out, err := m.js.GenerationLogs(ctx, id, p.Limit, p.Offset)
	if err != nil {
		return nil, 0, fmt.Errorf("jobs: generation logs: %w", err)
	}
	total, err := total(p, len(out), func() (int, error) { return m.js.CountGenerationLogs(ctx, id) })
	if err != nil {
		return nil, 0, fmt.Errorf("jobs: generation logs: %w", err)
	}
	return out, total, nil
}

// withTx runs fn in a write transaction. It must never be called while
// this goroutine holds another transaction: on SQLite the write handle has
// one connection.
func (m *Manager) withTx(ctx context.Context, fn func(tx *jobstore.Tx) error) error {
	tx, err := m.js.Begin(ctx)
	if err != nil {
		return fmt.Errorf("jobs: begin: %w", err)
	}
	// Rolled back on an error and also on a panic in fn, which must not
	// leave the transaction open: on SQLite it holds the only write
	// connection, and every writer would wait on it.
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback()
			m.takeReleased(tx)
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	committed = true
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("jobs: commit: %w", err)
	}
	if m.takeReleased(tx) {
		m.runtime.waker.wake()
	}
	return nil
}

// markReleased notes that tx inserted River jobs, so that this process's
// River is woken once tx commits (see wake.go).
func (m *Manager) markReleased(tx *jobstore.Tx) {
	m.releasedMu.Lock()
	m.released[tx] = true
	m.releasedMu.Unlock()
}

func (m *Manager) takeReleased(tx *jobstore.Tx) bool {
	m.releasedMu.Lock()
	defer m.releasedMu.Unlock()
	ok := m.released[tx]
	delete(m.released, tx)
	return ok
}

func conflict(j *Job, what string) error {
	return modeldoc.Errorf(modeldoc.ECONFLICT, "Job %d is %s: it cannot be %s.", j.ID, j.Status, what)
}

// Pause stops new objects from starting; objects being written finish and
// are kept. The job is pausing until they have, then paused.
func (m *Manager) Pause(ctx context.Context, orgID, id int64) (*Job, error) {
	return m.transition(ctx, orgID, id, func(tx *jobstore.Tx, j *Job) error {
		switch j.Status {
		case StatusQueued, StatusRunning:
		case StatusPausing, StatusPaused:
			return modeldoc.Errorf(modeldoc.ECONFLICT, "Job %d is already %s.", j.ID, j.Status)
		default:
			return conflict(j, "paused")
		}
		return m.pauseTx(ctx, tx, j.ID, ReasonUserPaused)
	})
}

// pauseTx pauses job id: enqueued items go back to ready (their River jobs
// will find nothing to do), and the job is paused at once unless items are
// running.
func (m *Manager) pauseTx(ctx context.Context, tx *jobstore.Tx, id int64, reason string) error {
	if err := tx.PauseJob(ctx, id, reason, m.now()); err != nil {
		return fmt.Errorf("jobs: pause: %w", err)
	}
	return nil
}

// Resume carries a paused (or pausing) job on from where it stopped:
// finished objects are never written again.
func (m *Manager) Resume(ctx context.Context, orgID, id int64) (*Job, error) {
	return m.transition(ctx, orgID, id, func(tx *jobstore.Tx, j *Job) error {
		if j.Status != StatusPaused && j.Status != StatusPausing {
			if j.Status == StatusQueued || j.Status == StatusRunning {
				return modeldoc.Errorf(modeldoc.ECONFLICT, "Job %d is %s, not paused: there is nothing to resume.", j.ID, j.Status)
			}
			return conflict(j, "resumed")
		}
		next := StatusRunning
		if j.StartedAt == nil {
			next = StatusQueued
		}
		if err := tx.ResumeJob(ctx, j.ID, next, m.now()); err != nil {
			return fmt.Errorf("jobs: resume: %w", err)
		}
		return m.release(ctx, tx, j.ID)
	})
}

// Cancel stops the job for good: items not started are cancelled, calls in
// flight are cancelled (by every process that runs them, within a poll).
func (m *Manager) Cancel(ctx context.Context, orgID, id int64) (*Job, error) {
	j, err := m.transition(ctx, orgID, id, func(tx *jobstore.Tx, j *Job) error {
		if Terminal(j.Status) {
			return conflict(j, "cancelled")
		}
		return m.stopTx(ctx, tx, j.ID, StatusCancelled, ReasonUserCancelled, "")
	})
	if err == nil {
		m.cancelLocal(id)
		m.cancelProviderBatches(ctx, j)
	}
	return j, err
}

// stopTx ends job id with a terminal status: every item that is not
// running nor finished is cancelled; running ones end as they notice.
func (m *Manager) stopTx(ctx context.Context, tx *jobstore.Tx, id int64, status, reason, message string) error {
	if err := tx.StopJob(ctx, id, status, reason, message, m.now()); err != nil {
		return fmt.Errorf("jobs: stop: %w", err)
	}
	return nil
}

// SetBudget sets the job's budget in USD (0 removes it). A job paused for
// its budget stays paused until resumed.
func (m *Manager) SetBudget(ctx context.Context, orgID, id int64, usd float64) (*Job, error) {
	if err := validBudget(usd); err != nil {
		return nil, err
	}
	j, err := m.transition(ctx, orgID, id, func(tx *jobstore.Tx, j *Job) error {
		if Terminal(j.Status) {
			return conflict(j, "given a new budget")
		}
		if usd > 0 && !m.priceKnown(&j.Options) {
			return modeldoc.Errorf(modeldoc.EINVALID,
				"Job %d cannot take a budget: no price is known for %s model %s, so its calls count as $0. "+
					"Cancel it and start the job again with the model's price (CLI --price-in and --price-out; API price_in and price_out), "+
					"or add the model to a price file named by MODELDOC_PRICES.", j.ID, j.Options.Provider, j.Options.Model)
		}
		j.Options.Budget = usd
		opts, err := j.Options.encode()
		if err != nil {
			return err
		}
		return tx.SetJobBudget(ctx, j.ID, usd, opts, m.now())
	})
	if err == nil {
		m.mu.Lock()
		if c := m.ctl[id]; c != nil {
			c.setBudget(usd)
		}
		m.mu.Unlock()
	}
	return j, err
}

// transition loads the job under a write lock, applies fn and returns the
// job as it is afterwards.
func (m *Manager) transition(ctx context.Context, orgID, id int64, fn func(tx *jobstore.Tx, j *Job) error) (*Job, error) {
	err := m.withTx(ctx, func(tx *jobstore.Tx) error {
		j, err := m.scanJob(tx.LockJob(ctx, orgID, id))
		if errors.Is(err, jobstore.ErrNotFound) {
			return notFound(id)
		}
		if err != nil {
			return fmt.Errorf("jobs: load job %d: %w", id, err)
		}
		return fn(tx, j)
	})
	if err != nil {
		return nil, err
	}
	m.notify(id)
	return m.Get(ctx, orgID, id)
}

func (m *Manager) now() time.Time { return m.clock().UTC().Round(time.Microsecond) }
