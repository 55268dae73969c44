package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/generate"
	"github.com/modeldoc/modeldoc/internal/jobstore"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// started is what an item's start transaction learned.
type started struct {
	job        *Job
	itemID     int64
	objectID   int64
	objectName string
	at         time.Time
	attempt    int
	kept       string // the item's kept_layers
}

// outcome is how an object's writing ended.
type outcome struct {
	version *modeldoc.DocVersion
	status  string // done, partial, failed, cancelled, or ready (put back)
	class   string // error class of a failure
	err     string
	fatal   bool
	budget  bool
	g       *guard
	// retry, when set, is a passing failure before any call (the writer
	// could not be built): nothing is committed and River runs the item
	// again after its backoff.
	retry error
	// keep holds the layers bought for an object that goes back to ready
	// (a pause, the budget, this process stopping): its valid ones are
	// stored with the item and reused by the next run.
	keep *modeldoc.DocVersion
}

// completeRiver completes the River job in tx; the JobCompleteTx type
// parameter only drives inference: the client comes from ctx, on both
// backends a Client[*sql.Tx].
func completeRiver(ctx context.Context, tx *jobstore.Tx, rj *river.Job[ItemArgs]) error {
	if _, err := river.JobCompleteTx[*riversqlite.Driver](ctx, tx.SQL(), rj); err != nil {
		return fmt.Errorf("jobs: complete river job %d: %w", rj.ID, err)
	}
	return nil
}

func (rt *runtime) work(ctx context.Context, rj *river.Job[ItemArgs]) error {
	a := rj.Args
	st, err := rt.startItem(ctx, rj)
	if err != nil || st == nil {
		return err
	}
	rt.events.notify(a.JobID)
	ictx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	c := rt.control.register(st.job, a.ItemID, cancel)
	defer rt.control.unregister(c, a.ItemID)
	c.update(st.job.Status, st.job.Budget, st.job.ActualCost)

	out := rt.write(ictx, st, c)
	if cause := context.Cause(ictx); cause != nil && out.version == nil && !out.fatal {
		switch {
		case errors.Is(cause, errJobStopped):
			out = outcome{status: ItemCancelled, class: "cancelled", err: "cancelled with the job", g: out.g}
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			out = outcome{status: ItemFailed, class: "timeout", err: fmt.Sprintf("writing took longer than %s", rt.cfg.ItemTimeout), g: out.g}
		default:
			// This process is stopping: the object goes back to ready for
			// the next run, whoever runs it, with the layers it bought.
			out = outcome{status: ItemReady, g: out.g, keep: out.keep}
		}
	}
	if out.retry != nil {
		if rj.Attempt < rj.MaxAttempts {
			rt.log.Warn("jobs: the job's writer could not be built; the item is tried again", "job", a.JobID, "item", a.ItemID, "attempt", rj.Attempt, "err", out.retry)
			return out.retry
		}
		out = outcome{status: ItemFailed, class: string(writer.Transient), err: "the provider writer could not be built after " + fmt.Sprint(rj.Attempt) + " attempts: " + out.retry.Error()}
	}
	fctx := context.WithoutCancel(ctx)
	if out.g != nil {
		out.g.settle()
	}
	actual, err := rt.finishItem(fctx, rj, st, out)
	if out.g != nil {
		// The job's cost as this item's transaction left it: adding the
		// item's cost to the control's figure could count it twice when the
		// control loop read the row in between, and refuse a call the
		// budget allows.
		out.g.done(max(actual, c.committedCost()))
	}
	rt.events.notify(a.JobID)
	return err
}

// startItem moves the item to running, or, when its job is no longer
// running or the River job is stale, settles it and completes the River
// job. It returns nil when there is nothing to write. On SQLite the starts
// that arrive together (River hands out several jobs at once) are
// committed together, as outcomes are.
func (rt *runtime) startItem(ctx context.Context, rj *river.Job[ItemArgs]) (*started, error) {
	s := &start{ctx: ctx, rj: rj}
	if rt.starts != nil {
		rt.starts.submit(s, rt.startBatch, func(s *start, err error) { s.st, s.err = nil, err })
	} else {
		rt.startBatch([]*start{s})
	}
	return s.st, s.err
}

// start is one River job on its way to becoming a running item.
type start struct {
	ctx context.Context
	rj  *river.Job[ItemArgs]
	st  *started
	err error
}

// startBatch starts every item of ss in one transaction, each in its own
// savepoint (see finishBatch).
func (rt *runtime) startBatch(ss []*start) {
	err := rt.inBatch(context.WithoutCancel(ss[0].ctx), len(ss), func(tx *jobstore.Tx, i int) error {
		s := ss[i]
		s.st = nil
		// A River job whose work was cancelled (this process is
		// stopping) starts nothing; its statements must not run with a
		// cancelled context either, which would roll back the batch.
		if err := s.ctx.Err(); err != nil {
			s.err = err
			return err
		}
		st, err := rt.startOne(context.WithoutCancel(s.ctx), tx, s.rj)
		s.st, s.err = st, err
		return err
	}, nil)
	if err != nil {
		for _, s := range ss {
			if s.err == nil {
				s.st, s.err = nil, err
			}
		}
	}
}

// inBatch runs one(tx, i) for i in [0, n) in one transaction, then after
// (if any). With n > 1 each one runs in a savepoint: its error rolls back
// its own statements only, and the others are committed. With n == 1 its
// error rolls back the transaction.
func (rt *runtime) inBatch(ctx context.Context, n int, one func(tx *jobstore.Tx, i int) error, after func(tx *jobstore.Tx) error) error {
	return rt.withTx(ctx, func(tx *jobstore.Tx) error {
		if n == 1 {
			if err := one(tx, 0); err != nil {
				return err
			}
		} else {
			for i := range n {
				if err := tx.Savepoint(ctx, func() error { return one(tx, i) }); err != nil {
					return err
				}
			}
		}
		if after != nil {
			return after(tx)
		}
		return nil
	})
}

func (rt *runtime) startOne(ctx context.Context, tx *jobstore.Tx, rj *river.Job[ItemArgs]) (*started, error) {
	a := rj.Args
	// The job row is read, and on PostgreSQL locked (lockJob's order), in
	// one statement: the worker needs all of it.
	j, err := rt.scanJob(tx.LockJobByID(ctx, a.JobID))
	if errors.Is(err, jobstore.ErrNotFound) {
		return nil, completeRiver(ctx, tx, rj) // the job was deleted
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: lock job %d: %w", a.JobID, err)
	}
	status := j.Status
	it, err := tx.ItemForStart(ctx, a.JobID, a.ItemID)
	if errors.Is(err, jobstore.ErrNotFound) {
		return nil, completeRiver(ctx, tx, rj)
	}
	if err != nil {
		return nil, err
	}
	// A River job that is not the item's current run (a pause or a
	// take-over bumped it) has nothing to do.
	if it.Run != a.Run || (it.Status != ItemEnqueued && it.Status != ItemRunning) {
		return nil, completeRiver(ctx, tx, rj)
	}
	now := rt.now()
	switch status {
	case StatusQueued, StatusRunning:
	case StatusPausing, StatusPaused:
		// Defensive: a pause puts enqueued items back itself.
		if err := tx.RequeueItem(ctx, a.JobID, a.ItemID, now); err != nil {
			return nil, err
		}
		if err := rt.settle(ctx, tx, a.JobID); err != nil {
			return nil, err
		}
		return nil, completeRiver(ctx, tx, rj)
	default:
		if err := tx.CancelItem(ctx, a.JobID, a.ItemID, now); err != nil {
			return nil, err
		}
		return nil, completeRiver(ctx, tx, rj)
	}
	if err := tx.StartItem(ctx, a.ItemID, jobstore.Worker{ID: rt.workerID, Host: rt.host, PID: os.Getpid()}, now); err != nil {
		return nil, err
	}
	if status == StatusQueued {
		if err := tx.MarkJobRunning(ctx, a.JobID, now); err != nil {
			return nil, err
		}
		j.Status = StatusRunning
		if j.StartedAt == nil {
			j.StartedAt = &now
		}
	}
	return &started{job: j, itemID: a.ItemID, objectID: it.ObjectID, objectName: it.ObjectName, at: now, attempt: it.Attempts + 1, kept: it.KeptLayers}, nil
}

// write plans and writes the object; no transaction is open meanwhile.
func (rt *runtime) write(ctx context.Context, st *started, c *jobControl) outcome {
	j := st.job
	c.mu.Lock()
	stopped := c.status == StatusCancelled || c.status == StatusFailed
	paused := c.status == StatusPausing || c.status == StatusPaused
	c.mu.Unlock()
	if stopped {
		return outcome{status: ItemCancelled, class: "cancelled", err: "cancelled with the job"}
	}
	if paused {
		return outcome{status: ItemReady}
	}
	plan, err := rt.cfg.Documenter.Plan(ctx, j.OrgID, st.objectID, generateOptions(&j.Options, j.ID))
	if err != nil {
		if ctx.Err() != nil {
			return outcome{}
		}
		return outcome{status: ItemFailed, class: "plan", err: modeldoc.ErrorMessage(err) + detail(err)}
	}
	plan.Kept = keptLayers(st.kept, plan.InputHash)
	stack, err := rt.control.writerFor(ctx, j)
	w := stack.Writer
	if err != nil && buildRetryable(err) {
		return outcome{retry: err}
	}
	if err != nil {
		return outcome{status: ItemFailed, class: string(writer.AuthFailed), err: userMessage(err), fatal: true}
	}
	per := 0.0
	if n := len(plan.Requests); n > 0 {
		per = plan.EstimatedCost / float64(n)
	}
	g := &guard{runtime: rt, c: c, inner: w, perCall: per, price: j.Options.GivenPrice(), attempts: map[modeldoc.Layer]int{}}
	if j.Options.Batch {
		if g.inner, err = rt.batchInner(j, st, c, g, w); err != nil {
			return outcome{status: ItemFailed, class: string(writer.InvalidRequest), err: err.Error(), fatal: true}
		}
		g.batch = true
		g.perCall *= rt.batchRatio(&j.Options)
	}
	var ww writer.Writer = g
	if stack.Wrap != nil {
		ww = stack.Wrap(g)
	}
	v, err := rt.cfg.Documenter.Write(ctx, plan, ww)
	out := outcome{g: g}
	switch {
	case err != nil && writer.KindOf(err).Fatal() && ctx.Err() == nil:
		out.status, out.fatal, out.class, out.err = ItemFailed, true, string(writer.KindOf(err)), fatalMessage(err, j)
		return out
	case err != nil:
		if ctx.Err() != nil {
			out.keep = v
			return out
		}
		out.status, out.class, out.err = ItemFailed, string(writer.KindOf(err)), err.Error()
		return out
	}
	g.mu.Lock()
	refused := g.refused
	g.mu.Unlock()
	if refused != "" {
		// Part of the object was refused: no version is stored, its valid
		// layers are kept with the item, and the next run buys only the
		// others.
		out.status, out.budget, out.keep = ItemReady, refused == refusedBudget, v
		return out
	}
	out.version = v
	ok, failed := 0, 0
	for _, ls := range v.LayerStatus {
		switch ls.Status {
		case modeldoc.LayerOK:
			ok++
		case modeldoc.LayerFailed:
			failed++
		case modeldoc.LayerPartial:
			// Some columns written, some not: the item is partial.
			ok++
			failed++
		}
	}
	switch {
	case failed == 0:
		out.status = ItemDone
	case ok > 0:
		out.status = ItemPartial
	default:
		out.status, out.class, out.err = ItemFailed, "all_layers_failed", "every layer failed"
	}
	return out
}

func detail(err error) string {
	if modeldoc.ErrorCode(err) == modeldoc.EINTERNAL {
		return ": " + err.Error()
	}
	return ""
}

func userMessage(err error) string {
	var e *modeldoc.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// fatalMessage says which provider stopped the job and what to do.
func fatalMessage(err error, j *Job) string {
	var we *writer.Error
	provider := j.Options.Provider
	msg := err.Error()
	if errors.As(err, &we) {
		if we.Provider != "" {
			provider = we.Provider
		}
		msg = we.Message
	}
	// A writer's message that names the provider names the failure too
	// ("openai rejected the API key (401 …): check …"); wrapping it in the
	// same words again made the sentence repeat itself. Only what the job
	// adds is appended. The writer speaks of one call, so its "resume the
	// job" is wrong here: a failed job is terminal, a new one is started.
	if we != nil && we.Message != "" && strings.Contains(strings.ToLower(msg), strings.ToLower(provider)) {
		switch writer.KindOf(err) {
		case writer.AuthFailed:
			return strings.TrimRight(msg, ". ") + ". Nothing more was sent. Once the key is fixed, start a new job; objects already documented are skipped."
		case writer.QuotaExhausted:
			msg = strings.ReplaceAll(msg, "resume the job", "start a new job")
			return strings.TrimRight(msg, ". ") + ". Nothing more was sent; a new job skips the objects already documented."
		}
	}
	switch writer.KindOf(err) {
	case writer.AuthFailed:
		return fmt.Sprintf("%s rejected the API key (%s): nothing more was sent. Set a valid key for %s (its environment variable, or the organization's key) and start a new job; objects already documented are skipped.", provider, msg, provider)
	case writer.QuotaExhausted:
		return fmt.Sprintf("%s says the account's quota is exhausted (%s): nothing more was sent. Add credit or raise the quota at %s, then start a new job; objects already documented are skipped.", provider, msg, provider)
	}
	return msg
}

// finishItem commits the object's outcome: its version, its state, the
// job's counters, its dependents' readiness and the next releases, in one
// transaction; River completes its own job once Work returns. On SQLite, whose one
// connection makes every writer wait for the others, the outcomes that
// arrive while a transaction is being written are committed together in
// the next one (group commit; see groupCommit).
// It returns the job's actual cost after the item's outcome (0 when it
// was not counted).
func (rt *runtime) finishItem(ctx context.Context, rj *river.Job[ItemArgs], st *started, out outcome) (float64, error) {
	f := &finish{ctx: ctx, rj: rj, st: st, out: out}
	if rt.finishes != nil {
		rt.finishes.submit(f, rt.finishBatch, func(f *finish, err error) { f.err = err })
	} else {
		rt.finishBatch([]*finish{f})
	}
	if f.err != nil {
		return 0, f.err // a rolled-back savepoint's figure is not the job's
	}
	return f.actual, nil
}

// finish is one item's outcome on its way to the database.
type finish struct {
	ctx   context.Context // the River work context: JobCompleteTx (for a stale item) reads its client from it
	rj    *river.Job[ItemArgs]
	st    *started
	out   outcome
	err   error
	batch int // outcomes in the transaction (for tests)
	// actual is the job's actual cost once the outcome was counted.
	actual float64
}

// finishBatch commits the outcomes of fs in one transaction and sets each
// one's err. Each item's statements run inside a savepoint of their own, so
// that one item's failure (it is then retried by River) costs the others
// nothing; the jobs' states settle and their next items are released once
// per job, after all of the batch's items.
func (rt *runtime) finishBatch(fs []*finish) {
	ctx := context.WithoutCancel(fs[0].ctx)
	var touched, failedJobs []int64
	err := rt.inBatch(ctx, len(fs), func(tx *jobstore.Tx, i int) error {
		f := fs[i]
		f.batch = len(fs)
		settle, fatal, err := rt.finishOne(tx, f)
		f.err = err
		if err != nil {
			return err
		}
		if settle && !slices.Contains(touched, f.rj.Args.JobID) {
			touched = append(touched, f.rj.Args.JobID)
		}
		if fatal {
			failedJobs = append(failedJobs, f.rj.Args.JobID)
		}
		return nil
	}, func(tx *jobstore.Tx) error {
		for _, id := range touched {
			if err := rt.settle(ctx, tx, id); err != nil {
				return err
			}
			if err := rt.release(ctx, tx, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for _, f := range fs {
			if f.err == nil {
				f.err = err
			}
		}
		return
	}
	for _, id := range failedJobs {
		rt.control.cancelLocal(id)
	}
}

// finishOne writes one item's outcome in tx. settle is false when the
// item was no longer this run's (taken over after this process was
// presumed dead): its outcome is dropped, never counted twice, and its
// River job is completed here. fatal reports that the outcome failed the job.
func (rt *runtime) finishOne(tx *jobstore.Tx, f *finish) (settle, fatal bool, err error) {
	ctx, rj, st, out := f.ctx, f.rj, f.st, f.out
	a := rj.Args
	now := rt.now()
	dur := now.Sub(st.at).Milliseconds()
	if rt.finishFault != nil {
		if err := rt.finishFault(f); err != nil {
			return false, false, err
		}
	}
	// The job's status decides only what a fatal error or the budget does.
	// On PostgreSQL the job row is locked first in every transaction, for
	// a lock order without deadlocks; SQLite has one writer, and reads it
	// only when it needs it.
	var status string
	if rt.store.IsPostgres() || out.fatal || out.budget {
		var err error
		if status, _, _, err = rt.lockJob(ctx, tx, a.JobID); err != nil {
			return false, false, err
		}
	}
	next := out.status
	if next == "" {
		next = ItemReady
	}
	runBump := 0
	if next == ItemReady || next == ItemCancelled {
		runBump = 1
	}
	fin := &now
	if next == ItemReady {
		fin = nil
	}
	v := out.version
	// What the item and the job spent is what its calls cost, logged one
	// by one by the guard: a call the provider answered is paid for whether
	// or not a version comes of it (a cancel, a pause, a budget stop, this
	// process stopping).
	var spend jobstore.Spend
	if out.g != nil {
		spend = out.g.spend()
	}
	kept := ""
	if next == ItemReady {
		kept = st.kept
		if out.keep != nil {
			if kept, err = keepLayers(out.keep); err != nil {
				return false, false, err
			}
		}
	}
	var missing []string
	if v != nil && (next == ItemPartial) {
		for _, l := range v.MissingLayers() {
			missing = append(missing, string(l))
		}
	}
	// Fence: the item must still be this run's.
	ours, err := tx.FinishItem(ctx, jobstore.ItemFinish{ID: a.ItemID, Run: a.Run, Status: next, RunBump: runBump, FinishedAt: fin,
		DurationMS: dur, Spend: spend, LastError: out.err, MissingLayers: strings.Join(missing, ","), KeptLayers: kept})
	if err != nil {
		return false, false, fmt.Errorf("jobs: finish item: %w", err)
	}
	if !ours {
		// The item was taken over, but the calls this run made were paid
		// for all the same: they count, and nothing else of the outcome.
		if err := rt.countSpend(ctx, tx, a, st, out, now); err != nil {
			return false, false, err
		}
		return false, false, completeRiver(ctx, tx, rj)
	}
	if v != nil && (next == ItemDone || next == ItemPartial) {
		v.JobID = a.JobID
		if err := rt.store.InsertDocVersionTx(ctx, tx.SQL(), v); err != nil {
			return false, false, fmt.Errorf("jobs: store documentation of %s: %w", st.objectName, err)
		}
		if err := tx.SetItemDocVersion(ctx, a.ItemID, v.ID); err != nil {
			return false, false, err
		}
	}
	c := jobstore.FinishCounts{Spend: spend}
	switch next {
	case ItemDone:
		c.Processed, c.ItemDurationMS = 1, dur
	case ItemPartial:
		c.Processed, c.Partial, c.ItemDurationMS = 1, 1, dur
	case ItemFailed:
		c.Failed, c.ItemDurationMS = 1, dur
	case ItemCancelled:
		c.Cancelled = 1
	}
	if f.actual, err = tx.CountFinish(ctx, a.JobID, c, now); err != nil {
		return false, false, fmt.Errorf("jobs: count: %w", err)
	}
	if err := rt.recordCalls(ctx, tx, a, st, out); err != nil {
		return false, false, err
	}
	if out.err != "" && next != ItemCancelled {
		if err := rt.appendError(ctx, tx, a.JobID, a.ItemID, st.objectID, st.objectName, "", out.class, out.err, st.attempt); err != nil {
			return false, false, err
		}
	}
	if next == ItemDone || next == ItemPartial || next == ItemFailed {
		// Failed objects do not hold their dependents back: the job
		// carries on, and the dependent's prompt lacks the summary. One
		// statement counts the dependency down and readies the dependents
		// it was the last for.
		if err := tx.CountDownDependents(ctx, a.ItemID); err != nil {
			return false, false, fmt.Errorf("jobs: dependents: %w", err)
		}
	}
	switch {
	case out.fatal && !Terminal(status):
		if err := rt.control.stopTx(ctx, tx, a.JobID, StatusFailed, out.class, out.err); err != nil {
			return false, false, err
		}
	case out.budget && (status == StatusRunning || status == StatusQueued):
		if err := rt.control.pauseTx(ctx, tx, a.JobID, ReasonBudgetExceeded); err != nil {
			return false, false, err
		}
		if err := rt.appendError(ctx, tx, a.JobID, a.ItemID, st.objectID, st.objectName, "", ReasonBudgetExceeded,
			"The next call would cross the job's budget: the job is paused. Raise the budget and resume it.", st.attempt); err != nil {
			return false, false, err
		}
	}
	// The River job is completed by River once Work returns, outside this
	// transaction: completing it here (JobCompleteTx) cost a River update
	// in the single writer's transaction and then River's own no-op
	// completion and metadata update after it. A crash in between leaves
	// a running River job that River rescues later; its run then finds
	// the item finished and does nothing.
	return true, out.fatal, nil
}

// countSpend adds the calls of a run whose outcome is dropped to its item
// and job, and logs them.
func (rt *runtime) countSpend(ctx context.Context, tx *jobstore.Tx, a ItemArgs, st *started, out outcome, now time.Time) error {
	if out.g == nil {
		return nil
	}
	if err := tx.AddSpend(ctx, a.JobID, a.ItemID, out.g.spend(), now); err != nil {
		return fmt.Errorf("jobs: count spend: %w", err)
	}
	return rt.recordCalls(ctx, tx, a, st, outcome{g: out.g})
}

// keptDoc is what job_items.kept_layers holds: the valid layers an object
// had bought when it went back to ready, and the inputs they came from.
type keptDoc struct {
	InputHash string                                `json:"input_hash"`
	Layers    map[modeldoc.Layer]generate.KeptLayer `json:"layers"`
}

// keepLayers encodes v's valid layers for kept_layers; "" when none.
func keepLayers(v *modeldoc.DocVersion) (string, error) {
	k := keptDoc{InputHash: v.InputHash, Layers: map[modeldoc.Layer]generate.KeptLayer{}}
	for l, ls := range v.LayerStatus {
		if c, ok := v.Layers[l]; ok && ls.Status == modeldoc.LayerOK {
			k.Layers[l] = generate.KeptLayer{Content: c, Status: ls}
		}
	}
	if len(k.Layers) == 0 || v.InputHash == "" {
		return "", nil
	}
	b, err := json.Marshal(k)
	if err != nil {
		return "", fmt.Errorf("jobs: keep layers: %w", err)
	}
	return string(b), nil
}

// keptLayers decodes kept_layers for a plan whose input hash is hash: the
// layers are reused only when they were written from the same inputs (the
// object, its upstream documentation, the layers asked, the model).
func keptLayers(kept, hash string) map[modeldoc.Layer]generate.KeptLayer {
	if kept == "" {
		return nil
	}
	var k keptDoc
	if json.Unmarshal([]byte(kept), &k) != nil || k.InputHash != hash {
		return nil
	}
	return k.Layers
}

// recordCalls writes the object's generation logs, per-layer counters and
// the error log rows of its failed layers.
func (rt *runtime) recordCalls(ctx context.Context, tx *jobstore.Tx, a ItemArgs, st *started, out outcome) error {
	now := rt.now()
	if out.g != nil {
		out.g.mu.Lock()
		logs := append([]GenerationLog(nil), out.g.logs...)
		out.g.mu.Unlock()
		for i := range logs {
			logs[i].JobID, logs[i].ItemID, logs[i].ObjectID, logs[i].CreatedAt = a.JobID, a.ItemID, st.objectID, now
		}
		if err := tx.InsertGenerationLogs(ctx, logs); err != nil {
			return fmt.Errorf("jobs: generation logs: %w", err)
		}
	}
	v := out.version
	if v == nil || out.status == ItemReady {
		return nil
	}
	layers := make([]string, 0, len(v.LayerStatus))
	for l := range v.LayerStatus {
		layers = append(layers, string(l))
	}
	sort.Strings(layers)
	var counts []jobstore.LayerDelta
	for _, l := range layers {
		ls := v.LayerStatus[modeldoc.Layer(l)]
		ok, failed := 0, 0
		switch ls.Status {
		case modeldoc.LayerOK:
			ok = 1
		case modeldoc.LayerFailed, modeldoc.LayerPartial:
			failed = 1
		default:
			continue
		}
		counts = append(counts, jobstore.LayerDelta{Layer: l, OK: ok, Failed: failed})
	}
	if err := tx.AddLayerCounts(ctx, a.JobID, counts); err != nil {
		return fmt.Errorf("jobs: layer counts: %w", err)
	}
	for _, l := range layers {
		if ls := v.LayerStatus[modeldoc.Layer(l)]; ls.Status == modeldoc.LayerFailed || ls.Status == modeldoc.LayerPartial {
			if err := rt.appendError(ctx, tx, a.JobID, a.ItemID, st.objectID, st.objectName, l, ls.ErrorClass, ls.Error, ls.Attempts); err != nil {
				return err
			}
		}
	}
	return nil
}

var _ = generate.Options{}
