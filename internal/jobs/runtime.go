package jobs

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/modeldoc/modeldoc/internal/jobstore"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// Why riverdatabasesql and not riverpgxv5 on PostgreSQL: the store speaks
// database/sql on both backends, and an item's completion must commit in
// ONE transaction with the store's InsertDocVersionTx (a *sql.Tx).
// riverpgxv5 would make the PostgreSQL client a Client[pgx.Tx], so every
// transactional path (item completion, release, create) would exist twice
// and the store would need a pgx twin of its writes. riverdatabasesql with
// a pgx listener pool gives Client[*sql.Tx] on both backends and still
// uses LISTEN/NOTIFY for prompt fetches and cancels; it is what River
// recommends for database/sql applications since 0.46.

const queueName = "modeldoc_items"

// ItemArgs is the River job of one item. Run is the item's fencing token
// at release: a River job whose Run is no longer the item's does nothing.
type ItemArgs struct {
	JobID  int64 `json:"job_id"`
	ItemID int64 `json:"item_id"`
	Run    int64 `json:"run"`
}

func (ItemArgs) Kind() string { return "modeldoc_item" }

func (ItemArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueName, MaxAttempts: 10}
}

type itemWorker struct {
	river.WorkerDefaults[ItemArgs]
	m *Manager
}

func (w *itemWorker) Timeout(*river.Job[ItemArgs]) time.Duration { return w.m.cfg.ItemTimeout }

func (w *itemWorker) Work(ctx context.Context, job *river.Job[ItemArgs]) error {
	return w.m.work(ctx, job)
}

// runtime is the River side of a Manager: its client and driver, the
// loops a started Manager runs, and on SQLite the group commits of items'
// starts and outcomes. ("engine" names the package internal/engine.)
type runtime struct {
	pgPool *pgxpool.Pool
	client *river.Client[*sql.Tx]
	waker  *waker // SQLite: wakes River when this process releases items
	// SQLite: items' starts, and their outcomes, committed together.
	starts   *groupCommit[*start]
	finishes *groupCommit[*finish]

	mu      sync.Mutex
	started bool
	stop    context.CancelFunc
	loops   sync.WaitGroup
}

func randomID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "w-" + hex.EncodeToString(b[:])
}

// migrateRiver runs River's migrations one process at a time. Several
// processes may start at once on a new database (a generate and a jobs
// show, or N workers): River's migrator reads the applied versions before
// it migrates, so two of them would both create the same tables. On SQLite
// one write transaction (taken exclusively: _txlock=immediate) holds them
// all; on PostgreSQL, where some of River's migrations cannot share a
// transaction (a new enum value used at once), a session advisory lock
// does. The processes that come later find nothing left to do.
func (m *Manager) migrateRiver(ctx context.Context, migrator *rivermigrate.Migrator[*sql.Tx]) error {
	if !m.store.IsPostgres() {
		return m.withTx(ctx, func(tx *jobstore.Tx) error {
			//lint:ignore SA1019 River's SQLite migrations batch in one transaction; it is what makes them one process at a time here.
			_, err := migrator.MigrateTx(ctx, tx.SQL(), rivermigrate.DirectionUp, nil)
			return err
		})
	}
	unlock, err := m.js.LockRiverMigration(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	_, err = migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

// open makes River's driver and client and migrates River's tables.
func (m *Manager) open(ctx context.Context) error {
	e := &runtime{}
	var driver riverdriver.Driver[*sql.Tx]
	if m.store.IsPostgres() {
		pool, err := pgxpool.New(ctx, m.store.DSN())
		if err != nil {
			return fmt.Errorf("jobs: river listener pool: %w", err)
		}
		e.pgPool = pool
		driver = riverdatabasesql.NewWithPgxListener(m.js.RiverHandle(), pool)
	} else {
		// River shares the store's single write connection. With a handle
		// of its own, River's polls and completions and the store's item
		// transactions fought over SQLite's write lock, and the loser of
		// each collision slept in SQLite's busy handler (a millisecond or
		// more); through one connection they queue in database/sql instead.
		// River's SQLite driver needs a one-connection handle, which this is.
		e.waker = newWaker()
		e.starts, e.finishes = &groupCommit[*start]{}, &groupCommit[*finish]{}
		driver = &wakingDriver{Driver: riversqlite.New(m.js.RiverHandle()), w: e.waker}
	}
	m.runtime = e
	m.waker = e.waker
	migrator, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: riverLogger(m.log)})
	if err != nil {
		return fmt.Errorf("jobs: river migrator: %w", err)
	}
	if err := m.migrateRiver(ctx, migrator); err != nil {
		return fmt.Errorf("jobs: river migrations: %w", err)
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &itemWorker{m: m})
	// PostgreSQL tells River of inserts at once (LISTEN/NOTIFY); its
	// fetch poll is a fallback. On SQLite this process wakes its own
	// River when it releases items (wake.go), and River's listener polls
	// its notification table every 50 ms for the releases of other
	// processes on the same file, so the fetch poll is a fallback there
	// too; a short cooldown lets a wake fetch at once.
	fetchCooldown, fetchPoll := 20*time.Millisecond, 500*time.Millisecond
	if !m.store.IsPostgres() {
		fetchCooldown, fetchPoll = 2*time.Millisecond, time.Second
	}
	client, err := river.NewClient(driver, &river.Config{
		ID:                   m.workerID,
		Logger:               riverLogger(m.log),
		Queues:               map[string]river.QueueConfig{queueName: {MaxWorkers: m.cfg.MaxWorkers}},
		Workers:              workers,
		JobTimeout:           m.cfg.ItemTimeout,
		RescueStuckJobsAfter: m.cfg.ItemTimeout + 5*time.Minute,
		MaxAttempts:          10,
		FetchCooldown:        fetchCooldown,
		FetchPollInterval:    fetchPoll,
	})
	if err != nil {
		return fmt.Errorf("jobs: river client: %w", err)
	}
	e.client = client
	return nil
}

// Close ends the event subscriptions (waiting for their last read) and
// releases River's handles. Stop first if started.
func (m *Manager) Close() error {
	m.ev.close()
	if m.runtime == nil {
		return nil
	}
	if m.runtime.pgPool != nil {
		m.runtime.pgPool.Close()
	}
	return nil
}

// Start starts the River workers and this process's control loops. It
// returns at once; Stop ends them.
func (m *Manager) Start(ctx context.Context) error {
	e := m.runtime
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started {
		return nil
	}
	if m.cfg.Documenter == nil || m.cfg.Writers == nil {
		return errors.New("jobs: Config.Documenter and Config.Writers are required to run jobs")
	}
	if err := e.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("jobs: start river: %w", err)
	}
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e.stop = cancel
	e.started = true
	e.loops.Add(2)
	go func() { defer e.loops.Done(); m.controlLoop(lctx) }()
	go func() { defer e.loops.Done(); m.heartbeatLoop(lctx) }()
	return nil
}

// Stop stops the workers: it waits for objects being written until ctx
// ends, then cancels them; a cancelled object goes back to ready and is
// written again by the next run.
func (m *Manager) Stop(ctx context.Context) error {
	e := m.runtime
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.started {
		return nil
	}
	err := e.client.Stop(ctx)
	if err != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = e.client.StopAndCancel(sctx)
		cancel()
	}
	e.stop()
	e.loops.Wait()
	e.started = false
	return err
}

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
	j, err := m.Get(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	if Terminal(j.Status) || j.Status == StatusPaused {
		return j, nil
	}
	ch, unsubscribe := m.Subscribe(ctx, id)
	defer unsubscribe()
	if !m.runtime.isStarted() {
		if err := m.Start(ctx); err != nil {
			return nil, err
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_ = m.Stop(sctx)
		}()
	}
	if err := m.withTx(ctx, func(tx *jobstore.Tx) error { return m.release(ctx, tx, id) }); err != nil {
		return nil, err
	}
	m.reap(ctx)
	for ev := range ch {
		if ev.Job.final() || ev.Job.Status == StatusPaused {
			return ev.Job, nil
		}
	}
	j, err = m.Get(context.WithoutCancel(ctx), orgID, id)
	if err != nil {
		return nil, err
	}
	return j, ctx.Err()
}

func (e *runtime) isStarted() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.started
}

// lockJob takes the job row's lock first in every transaction that
// touches a job and its items, so that PostgreSQL transactions always lock
// in the same order and never deadlock. SQLite has one writer anyway.
func (m *Manager) lockJob(ctx context.Context, tx *jobstore.Tx, id int64) (status string, inFlight, conc int64, err error) {
	status, inFlight, conc, err = tx.LockJobState(ctx, id)
	if err != nil {
		err = fmt.Errorf("jobs: lock job %d: %w", id, err)
	}
	return
}

// release enqueues the next ready items of job id, in topological order,
// up to its concurrency window, as River jobs inserted in tx.
func (m *Manager) release(ctx context.Context, tx *jobstore.Tx, id int64) error {
	status, inFlight, conc, err := m.lockJob(ctx, tx, id)
	if err != nil {
		return err
	}
	if status != StatusQueued && status != StatusRunning {
		return nil
	}
	n := conc - inFlight
	if n <= 0 {
		return nil
	}
	ready, err := tx.ReadyItems(ctx, id, n)
	if err != nil {
		return fmt.Errorf("jobs: ready items: %w", err)
	}
	if len(ready) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(ready))
	ids := make([]int64, len(ready))
	for i, r := range ready {
		ids[i] = r.ID
		params[i] = river.InsertManyParams{Args: ItemArgs{JobID: id, ItemID: r.ID, Run: r.Run}}
	}
	if err := tx.EnqueueItems(ctx, id, ids); err != nil {
		return fmt.Errorf("jobs: enqueue items: %w", err)
	}
	if _, err := m.runtime.client.InsertManyTx(ctx, tx.SQL(), params); err != nil {
		return fmt.Errorf("jobs: insert river jobs: %w", err)
	}
	if m.runtime.waker != nil {
		m.markReleased(tx)
	}
	return nil
}

// settle moves the job to its next state once its in-flight items allow:
// completed when every item is final, paused when a pause has drained.
func (m *Manager) settle(ctx context.Context, tx *jobstore.Tx, id int64) error {
	if err := tx.SettleJob(ctx, id, m.now()); err != nil {
		return fmt.Errorf("jobs: settle: %w", err)
	}
	return nil
}

// controlLoop reads the rows of the jobs this process is writing for, so
// that a pause, cancel or budget change made by any process lands here
// within one interval.
func (m *Manager) controlLoop(ctx context.Context) {
	t := time.NewTicker(m.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ids := m.ctrl.ids()
		if len(ids) == 0 {
			continue
		}
		sts, err := m.js.ControlStates(ctx, ids)
		if err != nil && ctx.Err() == nil {
			// The rows read are still applied: a pause or cancel among
			// them must not wait for the next poll.
			m.log.Warn("jobs: control poll", "err", err)
		}
		for _, s := range sts {
			c := m.ctrl.controlOf(s.ID)
			if c != nil {
				c.update(s.Status, s.Budget, s.ActualCost)
			}
		}
	}
}

// heartbeatLoop keeps this process's running items alive and takes over
// the items of processes that stopped beating (a crash, a kill -9).
func (m *Manager) heartbeatLoop(ctx context.Context) {
	t := time.NewTicker(m.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := m.js.Heartbeat(ctx, m.workerID, m.now()); err != nil && ctx.Err() == nil {
			m.log.Warn("jobs: heartbeat", "err", err)
		}
		m.reap(ctx)
	}
}

// reap takes over running items whose worker has not beaten for a lease,
// or, at once, whose process is gone from this host.
func (m *Manager) reap(ctx context.Context) {
	held, err := m.js.RunningHeldByOthers(ctx, m.workerID)
	if err != nil {
		if ctx.Err() == nil {
			m.log.Warn("jobs: reap", "err", err)
		}
		if len(held) == 0 {
			return
		}
	}
	deadline := m.clock().Add(-m.cfg.Lease)
	var orphans []orphan
	for _, hd := range held {
		h := holderOf(hd)
		o := orphan{id: hd.ItemID, job: hd.JobID, worker: h.worker}
		if o.gone = h.gone(m.host); o.gone != "" || h.lapsed(deadline) {
			orphans = append(orphans, o)
		}
	}
	orphans = append(orphans, m.fetchedByTheDead(ctx, deadline)...)
	for _, o := range orphans {
		m.takeOver(ctx, o)
	}
}

// orphan is an item whose process died: running with a stale heartbeat
// (worker set), or enqueued with its River job fetched by a process that
// died before marking the item running (run set).
type orphan struct {
	id, job int64
	worker  string
	run     int64
	fetched bool
	gone    string // why its process is known dead; "" when its lease lapsed
}

// fetchedByTheDead finds enqueued items whose River job a process fetched
// (River's state running) longer than a lease ago without ever marking the
// item running: that process died between the two, and River itself would
// only rescue the job after its stuck-job timeout (many minutes). A live
// worker marks its item running within milliseconds of the fetch.
func (m *Manager) fetchedByTheDead(ctx context.Context, deadline time.Time) []orphan {
	stale, err := m.js.StaleFetched(ctx, ItemArgs{}.Kind(), deadline)
	if err != nil && ctx.Err() == nil {
		m.log.Warn("jobs: reap fetched items", "err", err)
	}
	var out []orphan
	for _, f := range stale {
		job, err := m.js.EnqueuedItemJob(ctx, f.ID, f.Run)
		switch {
		case err == nil:
			out = append(out, orphan{id: f.ID, job: job, run: f.Run, fetched: true})
		case !errors.Is(err, jobstore.ErrNotFound) && ctx.Err() == nil:
			m.log.Warn("jobs: reap fetched items", "item", f.ID, "err", err)
		}
	}
	return out
}

// takeOver puts an orphaned item back to ready under a new run, so that a
// late River job of the dead run does nothing, and releases work.
func (m *Manager) takeOver(ctx context.Context, o orphan) {
	took := false
	err := m.withTx(ctx, func(tx *jobstore.Tx) error {
		status, _, _, err := m.lockJob(ctx, tx, o.job)
		if err != nil {
			return err
		}
		next, cancelled := ItemReady, 0
		if Terminal(status) {
			next, cancelled = ItemCancelled, 1
		}
		var ok bool
		if o.fetched {
			ok, err = tx.TakeOverFetched(ctx, o.id, o.run, next)
		} else {
			ok, err = tx.TakeOverRunning(ctx, o.id, o.worker, next)
		}
		if err != nil {
			return err
		}
		if !ok {
			return nil // another process took it over first
		}
		took = true
		if err := tx.ReleaseTakenOver(ctx, o.job, cancelled, m.now()); err != nil {
			return err
		}
		msg := "Worker " + o.worker + " stopped while writing this object; another worker takes it over."
		switch {
		case o.fetched:
			msg = "The worker that fetched it stopped while writing this object; another worker takes it over."
		case o.gone != "":
			msg = "Worker " + o.worker + " stopped while writing this object: " + o.gone + "; taken over at once, without waiting for its lease."
		}
		if err := m.appendError(ctx, tx, o.job, o.id, 0, "", "", "orphaned", msg, 0); err != nil {
			return err
		}
		if err := m.settle(ctx, tx, o.job); err != nil {
			return err
		}
		return m.release(ctx, tx, o.job)
	})
	if err != nil {
		m.log.Warn("jobs: take over item", "item", o.id, "err", err)
		return
	}
	if !took {
		return
	}
	reason := "lease_lapsed"
	if o.gone != "" {
		reason = "process_gone"
	}
	m.log.Info("jobs: took over orphaned item", "job", o.job, "item", o.id, "dead_worker", o.worker, "fetched_only", o.fetched, "reason", reason)
	m.ev.notify(o.job)
}

func (m *Manager) appendError(ctx context.Context, tx *jobstore.Tx, jobID, itemID, objectID int64, objectName, layer, class, msg string, attempt int) error {
	if len(msg) > 4000 {
		msg = msg[:4000]
	}
	err := tx.AppendError(ctx, jobstore.ErrorEntry{JobID: jobID, ItemID: itemID, ObjectID: objectID, ObjectName: objectName,
		Layer: layer, ErrorClass: class, Message: strings.TrimSpace(msg), Attempt: attempt, CreatedAt: m.now()})
	if err != nil {
		return fmt.Errorf("jobs: append error: %w", err)
	}
	return nil
}
