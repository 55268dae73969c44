package jobs

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
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
	runtime *runtime
}

func (w *itemWorker) Timeout(*river.Job[ItemArgs]) time.Duration { return w.runtime.cfg.ItemTimeout }

func (w *itemWorker) Work(ctx context.Context, job *river.Job[ItemArgs]) error {
	return w.runtime.work(ctx, job)
}

// runtime is the River side of a Manager: its client and driver, the
// workers that execute items (worker.go) and batches (batch.go), the
// loops a started Manager runs (control poll, heartbeat, take-over of
// orphaned items) and on SQLite the group commits of items' starts and
// outcomes. ("engine" names the package internal/engine.)
type runtime struct {
	*jobDB
	// cfg is the Manager's whole Config: the runtime reads most of it
	// (the Documenter, the Writers, timeouts, intervals, batch settings).
	cfg      Config
	store    Store
	log      *slog.Logger
	workerID string
	host     string // recorded with this process's running items
	events   *events
	control  *control
	queries  *queries

	pgPool *pgxpool.Pool
	client *river.Client[*sql.Tx]
	// SQLite: items' starts, and their outcomes, committed together.
	starts   *groupCommit[*start]
	finishes *groupCommit[*finish]

	batches batchJobs

	// finishFault, set by tests, fails an item's outcome in its
	// transaction before anything of it is written.
	finishFault func(*finish) error
	// batchFault, set by tests, stops a chunk once the provider took it
	// and before its batch id is recorded (as a process killed at that
	// moment would) when it errs.
	batchFault func(chunk int64) error

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
func (rt *runtime) migrateRiver(ctx context.Context, migrator *rivermigrate.Migrator[*sql.Tx]) error {
	if !rt.store.IsPostgres() {
		return rt.withTx(ctx, func(tx *jobstore.Tx) error {
			//lint:ignore SA1019 River's SQLite migrations batch in one transaction; it is what makes them one process at a time here.
			_, err := migrator.MigrateTx(ctx, tx.SQL(), rivermigrate.DirectionUp, nil)
			return err
		})
	}
	unlock, err := rt.js.LockRiverMigration(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	_, err = migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

// open makes River's driver and client and migrates River's tables.
func (rt *runtime) open(ctx context.Context) error {
	e := rt
	var driver riverdriver.Driver[*sql.Tx]
	if rt.store.IsPostgres() {
		pool, err := pgxpool.New(ctx, rt.store.DSN())
		if err != nil {
			return fmt.Errorf("jobs: river listener pool: %w", err)
		}
		e.pgPool = pool
		driver = riverdatabasesql.NewWithPgxListener(rt.js.RiverHandle(), pool)
	} else {
		// River shares the store's single write connection. With a handle
		// of its own, River's polls and completions and the store's item
		// transactions fought over SQLite's write lock, and the loser of
		// each collision slept in SQLite's busy handler (a millisecond or
		// more); through one connection they queue in database/sql instead.
		// River's SQLite driver needs a one-connection handle, which this is.
		// The waker is jobDB's: every write transaction that released
		// items wakes River once it commits.
		rt.waker = newWaker()
		e.starts, e.finishes = &groupCommit[*start]{}, &groupCommit[*finish]{}
		driver = &wakingDriver{Driver: riversqlite.New(rt.js.RiverHandle()), w: rt.waker}
	}
	migrator, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: riverLogger(rt.log)})
	if err != nil {
		return fmt.Errorf("jobs: river migrator: %w", err)
	}
	if err := rt.migrateRiver(ctx, migrator); err != nil {
		return fmt.Errorf("jobs: river migrations: %w", err)
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &itemWorker{runtime: rt})
	// PostgreSQL tells River of inserts at once (LISTEN/NOTIFY); its
	// fetch poll is a fallback. On SQLite this process wakes its own
	// River when it releases items (wake.go), and River's listener polls
	// its notification table every 50 ms for the releases of other
	// processes on the same file, so the fetch poll is a fallback there
	// too; a short cooldown lets a wake fetch at once.
	fetchCooldown, fetchPoll := 20*time.Millisecond, 500*time.Millisecond
	if !rt.store.IsPostgres() {
		fetchCooldown, fetchPoll = 2*time.Millisecond, time.Second
	}
	client, err := river.NewClient(driver, &river.Config{
		ID:                   rt.workerID,
		Logger:               riverLogger(rt.log),
		Queues:               map[string]river.QueueConfig{queueName: {MaxWorkers: rt.cfg.MaxWorkers}},
		Workers:              workers,
		JobTimeout:           rt.cfg.ItemTimeout,
		RescueStuckJobsAfter: rt.cfg.ItemTimeout + 5*time.Minute,
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

// close releases River's handles.
func (rt *runtime) close() {
	if rt.pgPool != nil {
		rt.pgPool.Close()
	}
}

// start starts the River workers and this process's control loops. It
// returns at once; Stop ends them.
func (rt *runtime) start(ctx context.Context) error {
	e := rt
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started {
		return nil
	}
	if rt.cfg.Documenter == nil || rt.cfg.Writers == nil {
		return errors.New("jobs: Config.Documenter and Config.Writers are required to run jobs")
	}
	if err := e.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("jobs: start river: %w", err)
	}
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e.stop = cancel
	e.started = true
	e.loops.Add(2)
	go func() { defer e.loops.Done(); rt.controlLoop(lctx) }()
	go func() { defer e.loops.Done(); rt.heartbeatLoop(lctx) }()
	return nil
}

// stopWorkers stops the workers: it waits for objects being written until ctx
// ends, then cancels them; a cancelled object goes back to ready and is
// written again by the next run.
func (rt *runtime) stopWorkers(ctx context.Context) error {
	e := rt
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

// runJob runs job id in the foreground: it starts the workers if they are
// not running, and returns the job once it is completed, failed,
// cancelled or paused. After a crash it picks the job up where it was:
// items the dead process was writing are taken over once their lease ends.
func (rt *runtime) runJob(ctx context.Context, orgID, id int64) (*Job, error) {
	j, err := rt.queries.Get(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	if Terminal(j.Status) || j.Status == StatusPaused {
		return j, nil
	}
	ch, unsubscribe := rt.events.Subscribe(ctx, id)
	defer unsubscribe()
	if !rt.isStarted() {
		if err := rt.start(ctx); err != nil {
			return nil, err
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_ = rt.stopWorkers(sctx)
		}()
	}
	if err := rt.withTx(ctx, func(tx *jobstore.Tx) error { return rt.release(ctx, tx, id) }); err != nil {
		return nil, err
	}
	rt.reap(ctx)
	for ev := range ch {
		if ev.Job.final() || ev.Job.Status == StatusPaused {
			return ev.Job, nil
		}
	}
	j, err = rt.queries.Get(context.WithoutCancel(ctx), orgID, id)
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
func (rt *runtime) lockJob(ctx context.Context, tx *jobstore.Tx, id int64) (status string, inFlight, conc int64, err error) {
	status, inFlight, conc, err = tx.LockJobState(ctx, id)
	if err != nil {
		err = fmt.Errorf("jobs: lock job %d: %w", id, err)
	}
	return
}

// release enqueues the next ready items of job id, in topological order,
// up to its concurrency window, as River jobs inserted in tx.
func (rt *runtime) release(ctx context.Context, tx *jobstore.Tx, id int64) error {
	status, inFlight, conc, err := rt.lockJob(ctx, tx, id)
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
	if _, err := rt.client.InsertManyTx(ctx, tx.SQL(), params); err != nil {
		return fmt.Errorf("jobs: insert river jobs: %w", err)
	}
	if rt.waker != nil {
		rt.markReleased(tx)
	}
	return nil
}

// settle moves the job to its next state once its in-flight items allow:
// completed when every item is final, paused when a pause has drained.
func (rt *runtime) settle(ctx context.Context, tx *jobstore.Tx, id int64) error {
	if err := tx.SettleJob(ctx, id, rt.now()); err != nil {
		return fmt.Errorf("jobs: settle: %w", err)
	}
	return nil
}

// controlLoop reads the rows of the jobs this process is writing for, so
// that a pause, cancel or budget change made by any process lands here
// within one interval.
func (rt *runtime) controlLoop(ctx context.Context) {
	t := time.NewTicker(rt.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ids := rt.control.ids()
		if len(ids) == 0 {
			continue
		}
		sts, err := rt.js.ControlStates(ctx, ids)
		if err != nil && ctx.Err() == nil {
			// The rows read are still applied: a pause or cancel among
			// them must not wait for the next poll.
			rt.log.Warn("jobs: control poll", "err", err)
		}
		for _, s := range sts {
			c := rt.control.controlOf(s.ID)
			if c != nil {
				c.update(s.Status, s.Budget, s.ActualCost)
			}
		}
	}
}

// heartbeatLoop keeps this process's running items alive and takes over
// the items of processes that stopped beating (a crash, a kill -9).
func (rt *runtime) heartbeatLoop(ctx context.Context) {
	t := time.NewTicker(rt.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := rt.js.Heartbeat(ctx, rt.workerID, rt.now()); err != nil && ctx.Err() == nil {
			rt.log.Warn("jobs: heartbeat", "err", err)
		}
		rt.reap(ctx)
	}
}

// reap takes over running items whose worker has not beaten for a lease,
// or, at once, whose process is gone from this host.
func (rt *runtime) reap(ctx context.Context) {
	held, err := rt.js.RunningHeldByOthers(ctx, rt.workerID)
	if err != nil {
		if ctx.Err() == nil {
			rt.log.Warn("jobs: reap", "err", err)
		}
		if len(held) == 0 {
			return
		}
	}
	deadline := rt.clock().Add(-rt.cfg.Lease)
	var orphans []orphan
	for _, hd := range held {
		h := holderOf(hd)
		o := orphan{id: hd.ItemID, job: hd.JobID, worker: h.worker}
		if o.gone = h.gone(rt.host); o.gone != "" || h.lapsed(deadline) {
			orphans = append(orphans, o)
		}
	}
	orphans = append(orphans, rt.fetchedByTheDead(ctx, deadline)...)
	for _, o := range orphans {
		rt.takeOver(ctx, o)
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
func (rt *runtime) fetchedByTheDead(ctx context.Context, deadline time.Time) []orphan {
	stale, err := rt.js.StaleFetched(ctx, ItemArgs{}.Kind(), deadline)
	if err != nil && ctx.Err() == nil {
		rt.log.Warn("jobs: reap fetched items", "err", err)
	}
	var out []orphan
	for _, f := range stale {
		job, err := rt.js.EnqueuedItemJob(ctx, f.ID, f.Run)
		switch {
		case err == nil:
			out = append(out, orphan{id: f.ID, job: job, run: f.Run, fetched: true})
		case !errors.Is(err, jobstore.ErrNotFound) && ctx.Err() == nil:
			rt.log.Warn("jobs: reap fetched items", "item", f.ID, "err", err)
		}
	}
	return out
}

// takeOver puts an orphaned item back to ready under a new run, so that a
// late River job of the dead run does nothing, and releases work.
func (rt *runtime) takeOver(ctx context.Context, o orphan) {
	took := false
	err := rt.withTx(ctx, func(tx *jobstore.Tx) error {
		status, _, _, err := rt.lockJob(ctx, tx, o.job)
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
		if err := tx.ReleaseTakenOver(ctx, o.job, cancelled, rt.now()); err != nil {
			return err
		}
		msg := "Worker " + o.worker + " stopped while writing this object; another worker takes it over."
		switch {
		case o.fetched:
			msg = "The worker that fetched it stopped while writing this object; another worker takes it over."
		case o.gone != "":
			msg = "Worker " + o.worker + " stopped while writing this object: " + o.gone + "; taken over at once, without waiting for its lease."
		}
		if err := rt.appendError(ctx, tx, o.job, o.id, 0, "", "", "orphaned", msg, 0); err != nil {
			return err
		}
		if err := rt.settle(ctx, tx, o.job); err != nil {
			return err
		}
		return rt.release(ctx, tx, o.job)
	})
	if err != nil {
		rt.log.Warn("jobs: take over item", "item", o.id, "err", err)
		return
	}
	if !took {
		return
	}
	reason := "lease_lapsed"
	if o.gone != "" {
		reason = "process_gone"
	}
	rt.log.Info("jobs: took over orphaned item", "job", o.job, "item", o.id, "dead_worker", o.worker, "fetched_only", o.fetched, "reason", reason)
	rt.events.notify(o.job)
}

func (rt *runtime) appendError(ctx context.Context, tx *jobstore.Tx, jobID, itemID, objectID int64, objectName, layer, class, msg string, attempt int) error {
	if len(msg) > 4000 {
		msg = msg[:4000]
	}
	err := tx.AppendError(ctx, jobstore.ErrorEntry{JobID: jobID, ItemID: itemID, ObjectID: objectID, ObjectName: objectName,
		Layer: layer, ErrorClass: class, Message: strings.TrimSpace(msg), Attempt: attempt, CreatedAt: rt.now()})
	if err != nil {
		return fmt.Errorf("jobs: append error: %w", err)
	}
	return nil
}
