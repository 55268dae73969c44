package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/modeldoc/modeldoc"
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
	*jobDB
	q *queries

	cfg      Config
	store    Store
	log      *slog.Logger
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
	db := &jobDB{js: cfg.Store.JobStore(), clock: cfg.Now, documenter: cfg.Documenter, released: map[*jobstore.Tx]bool{}}
	host := thisHost()
	m := &Manager{
		jobDB: db,
		q:     &queries{jobDB: db, host: host, lease: cfg.Lease},
		cfg:   cfg, store: cfg.Store, log: cfg.Logger, workerID: cfg.WorkerID, host: host,
		subs:    map[int64]map[*subscription]struct{}{},
		closing: make(chan struct{}),
		ctl:     map[int64]*jobControl{},
		writer:  map[int64]*jobWriter{},
	}
	if err := m.open(ctx); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
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

// Get returns job id of orgID with its layer counters and the names of
// the objects being written.
func (m *Manager) Get(ctx context.Context, orgID, id int64) (*Job, error) {
	return m.q.Get(ctx, orgID, id)
}

// List returns orgID's jobs, newest first.
func (m *Manager) List(ctx context.Context, orgID int64, f ListFilter) ([]*Job, error) {
	return m.q.List(ctx, orgID, f)
}

// Items returns the job's items in topological order.
func (m *Manager) Items(ctx context.Context, orgID, id int64) ([]Item, error) {
	return m.q.Items(ctx, orgID, id)
}

// ItemsPage returns one page of the job's items in topological order, and
// how many items the filter matches in all.
func (m *Manager) ItemsPage(ctx context.Context, orgID, id int64, p Page) ([]Item, int, error) {
	return m.q.ItemsPage(ctx, orgID, id, p)
}

// Errors returns the job's error log, oldest first.
func (m *Manager) Errors(ctx context.Context, orgID, id int64) ([]ErrorEntry, error) {
	return m.q.Errors(ctx, orgID, id)
}

// ErrorsPage returns one page of the job's error log, oldest first, and
// the log's length.
func (m *Manager) ErrorsPage(ctx context.Context, orgID, id int64, p Page) ([]ErrorEntry, int, error) {
	return m.q.ErrorsPage(ctx, orgID, id, p)
}

// GenerationLogs returns one row per call of the job, oldest first.
func (m *Manager) GenerationLogs(ctx context.Context, orgID, id int64) ([]GenerationLog, error) {
	return m.q.GenerationLogs(ctx, orgID, id)
}

// GenerationLogsPage returns one page of the job's calls, oldest first,
// and how many calls the job made.
func (m *Manager) GenerationLogsPage(ctx context.Context, orgID, id int64, p Page) ([]GenerationLog, int, error) {
	return m.q.GenerationLogsPage(ctx, orgID, id, p)
}

// Orphaned returns, for those of ids that are running (or pausing) with an
// item whose holder is gone (its heartbeat older than the lease, or its
// process dead on this host), why: nothing moves such a job until some
// process resumes it.
func (m *Manager) Orphaned(ctx context.Context, orgID int64, ids []int64) (map[int64]string, error) {
	return m.q.Orphaned(ctx, orgID, ids)
}
