package jobs

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
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

// Manager creates, controls, observes and (once started) runs jobs. It
// is a facade: each of its methods belongs to one role, which holds only
// what it uses (see the package comment).
type Manager struct {
	queries *queries
	events  *events
	control *control
	creator *creator
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
	q := &queries{jobDB: db, host: host, lease: cfg.Lease}
	ev := newEvents(db, cfg.Logger, cfg.PollInterval)
	ctrl := &control{jobDB: db, events: ev, queries: q, writers: cfg.Writers, ctl: map[int64]*jobControl{}, writer: map[int64]*jobWriter{}}
	rt := &runtime{jobDB: db, cfg: cfg, store: cfg.Store, log: cfg.Logger, workerID: cfg.WorkerID, host: host, events: ev, control: ctrl, queries: q}
	// control and runtime use each other: a resume releases items and a
	// cancel stops provider batches; an item registers with its job's
	// control.
	ctrl.runtime = rt
	m := &Manager{queries: q, events: ev, control: ctrl, runtime: rt,
		creator: &creator{jobDB: db, store: cfg.Store, concurrency: cfg.Concurrency, log: cfg.Logger, queries: q, runtime: rt}}
	if err := rt.open(ctx); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// Get returns job id of orgID with its layer counters and the names of
// the objects being written.
func (m *Manager) Get(ctx context.Context, orgID, id int64) (*Job, error) {
	return m.queries.Get(ctx, orgID, id)
}

// List returns orgID's jobs, newest first.
func (m *Manager) List(ctx context.Context, orgID int64, f ListFilter) ([]*Job, error) {
	return m.queries.List(ctx, orgID, f)
}

// Items returns the job's items in topological order.
func (m *Manager) Items(ctx context.Context, orgID, id int64) ([]Item, error) {
	return m.queries.Items(ctx, orgID, id)
}

// ItemsPage returns one page of the job's items in topological order, and
// how many items the filter matches in all.
func (m *Manager) ItemsPage(ctx context.Context, orgID, id int64, p Page) ([]Item, int, error) {
	return m.queries.ItemsPage(ctx, orgID, id, p)
}

// Errors returns the job's error log, oldest first.
func (m *Manager) Errors(ctx context.Context, orgID, id int64) ([]ErrorEntry, error) {
	return m.queries.Errors(ctx, orgID, id)
}

// ErrorsPage returns one page of the job's error log, oldest first, and
// the log's length.
func (m *Manager) ErrorsPage(ctx context.Context, orgID, id int64, p Page) ([]ErrorEntry, int, error) {
	return m.queries.ErrorsPage(ctx, orgID, id, p)
}

// GenerationLogs returns one row per call of the job, oldest first.
func (m *Manager) GenerationLogs(ctx context.Context, orgID, id int64) ([]GenerationLog, error) {
	return m.queries.GenerationLogs(ctx, orgID, id)
}

// GenerationLogsPage returns one page of the job's calls, oldest first,
// and how many calls the job made.
func (m *Manager) GenerationLogsPage(ctx context.Context, orgID, id int64, p Page) ([]GenerationLog, int, error) {
	return m.queries.GenerationLogsPage(ctx, orgID, id, p)
}

// Orphaned returns, for those of ids that are running (or pausing) with an
// item whose holder is gone (its heartbeat older than the lease, or its
// process dead on this host), why: nothing moves such a job until some
// process resumes it.
func (m *Manager) Orphaned(ctx context.Context, orgID int64, ids []int64) (map[int64]string, error) {
	return m.queries.Orphaned(ctx, orgID, ids)
}

// Subscribe streams job id's events: one with the current state at once,
// then one on every change: changes made in this process arrive at once,
// changes made by other processes within a poll interval. The channel
// closes after a completed, failed or cancelled event once no call is
// left in flight, or when ctx ends or
// cancel is called. A slow reader misses intermediate progress events,
// never the last state. The caller checks the job's organization first.
func (m *Manager) Subscribe(ctx context.Context, jobID int64) (<-chan Event, func()) {
	return m.events.Subscribe(ctx, jobID)
}

// Pause stops new objects from starting; objects being written finish and
// are kept. The job is pausing until they have, then paused.
func (m *Manager) Pause(ctx context.Context, orgID, id int64) (*Job, error) {
	return m.control.Pause(ctx, orgID, id)
}

// Resume carries a paused (or pausing) job on from where it stopped:
// finished objects are never written again.
func (m *Manager) Resume(ctx context.Context, orgID, id int64) (*Job, error) {
	return m.control.Resume(ctx, orgID, id)
}

// Cancel stops the job for good: items not started are cancelled, calls in
// flight are cancelled (by every process that runs them, within a poll).
func (m *Manager) Cancel(ctx context.Context, orgID, id int64) (*Job, error) {
	return m.control.Cancel(ctx, orgID, id)
}

// SetBudget sets the job's budget in USD (0 removes it). A job paused for
// its budget stays paused until resumed.
func (m *Manager) SetBudget(ctx context.Context, orgID, id int64, usd float64) (*Job, error) {
	return m.control.SetBudget(ctx, orgID, id, usd)
}

// Estimate resolves and plans the request as Create would, and creates
// nothing.
func (m *Manager) Estimate(ctx context.Context, orgID int64, req CreateRequest) (*Estimate, error) {
	return m.creator.Estimate(ctx, orgID, req)
}

// Create stores a job for the selection with its items in topological
// order and its estimate, and releases the first items to River, all in
// one transaction. Nothing runs until a Manager in some process is
// started (Start or RunJob).
func (m *Manager) Create(ctx context.Context, orgID int64, req CreateRequest) (*Job, error) {
	return m.creator.Create(ctx, orgID, req)
}

// Close ends the event subscriptions (waiting for their last read) and
// releases River's handles. Stop first if started.
func (m *Manager) Close() error {
	m.events.close()
	m.runtime.close()
	return nil
}

// Start starts the River workers and this process's control loops. It
// returns at once; Stop ends them.
func (m *Manager) Start(ctx context.Context) error { return m.runtime.start(ctx) }

// Stop stops the workers: it waits for objects being written until ctx
// ends, then cancels them; a cancelled object goes back to ready and is
// written again by the next run.
func (m *Manager) Stop(ctx context.Context) error { return m.runtime.stopWorkers(ctx) }

// Run starts the workers and blocks until ctx ends, then stops them,
// giving objects in flight up to a minute to finish.
func (m *Manager) Run(ctx context.Context) error {
	if err := m.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return m.Stop(sctx)
}

// RunJob runs job id in the foreground: it starts the workers if they are
// not running, and returns the job once it is completed, failed,
// cancelled or paused. After a crash it picks the job up where it was:
// items the dead process was writing are taken over once their lease ends.
func (m *Manager) RunJob(ctx context.Context, orgID, id int64) (*Job, error) {
	return m.runtime.runJob(ctx, orgID, id)
}
