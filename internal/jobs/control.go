package jobs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/cost"
	"github.com/modeldoc/modeldoc/internal/jobstore"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// errJobStopped is the cause given to an item's context when its job is
// cancelled or failed.
var errJobStopped = errors.New("jobs: job stopped")

// control moves jobs through their states (Pause, Resume, Cancel,
// SetBudget; the table in the package comment) and keeps this process's
// per-job state: the control of each job it writes objects for (ctl) and
// the job's writer stack (writer). Both are dropped together, under mu,
// when the job's last item here ends.
type control struct {
	*jobDB
	events  *events
	queries *queries
	writers WriterFactory
	// runtime releases a resumed job's items and cancels its provider batches.
	runtime *runtime

	mu     sync.Mutex
	ctl    map[int64]*jobControl // jobs with items in flight here
	writer map[int64]*jobWriter
}

// ids are the jobs with items in flight here.
func (ct *control) ids() []int64 {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	ids := make([]int64, 0, len(ct.ctl))
	for id := range ct.ctl {
		ids = append(ids, id)
	}
	return ids
}

// jobControl is this process's view of a job it writes objects for: the
// status and money that decide whether a call may start, and the cancel
// functions of its objects in flight.
type jobControl struct {
	mu        sync.Mutex
	id        int64
	status    string
	budget    float64
	committed float64 // the job's actual cost as last committed
	reserved  float64 // estimates of the calls in flight here
	// settling counts objects whose cost is being committed: the job row
	// may already hold their cost while their reservation still counts
	// here, so a budget check made meanwhile would count it twice.
	settling int
	settled  *sync.Cond // signalled when settling goes down; uses mu
	items    map[int64]context.CancelCauseFunc
}

func (c *jobControl) update(status string, budget, actual float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.status, c.budget = status, budget
	c.committed = max(c.committed, actual)
	c.settled.Broadcast()
	if status == StatusCancelled || status == StatusFailed {
		for _, cancel := range c.items {
			cancel(errJobStopped)
		}
	}
}

// committedCost is the job's actual cost as last committed.
func (c *jobControl) committedCost() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.committed
}

func (c *jobControl) setBudget(usd float64) {
	c.mu.Lock()
	c.budget = usd
	c.settled.Broadcast()
	c.mu.Unlock()
}

// register returns the job's control, creating it, and registers the item.
func (ct *control) register(j *Job, itemID int64, cancel context.CancelCauseFunc) *jobControl {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	c := ct.ctl[j.ID]
	if c == nil {
		c = &jobControl{id: j.ID, items: map[int64]context.CancelCauseFunc{}}
		c.settled = sync.NewCond(&c.mu)
		ct.ctl[j.ID] = c
	}
	c.mu.Lock()
	c.status, c.budget = j.Status, j.Budget
	c.committed = max(c.committed, j.ActualCost)
	c.items[itemID] = cancel
	c.mu.Unlock()
	return c
}

func (ct *control) unregister(c *jobControl, itemID int64) {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	c.mu.Lock()
	delete(c.items, itemID)
	empty := len(c.items) == 0
	c.mu.Unlock()
	if empty {
		delete(ct.ctl, c.id)
		delete(ct.writer, c.id)
	}
}

// cancelLocal cancels the objects this process writes for job id.
func (ct *control) cancelLocal(id int64) {
	ct.mu.Lock()
	c := ct.ctl[id]
	ct.mu.Unlock()
	if c != nil {
		c.cancel()
	}
}

// cancel marks the job cancelled here and cancels its calls in flight,
// keeping the budget and committed cost as they are.
func (c *jobControl) cancel() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.status = StatusCancelled
	c.settled.Broadcast()
	for _, cancel := range c.items {
		cancel(errJobStopped)
	}
}

// jobWriter is a job's writer stack, built once per job per process.
type jobWriter struct {
	once  sync.Once
	stack WriterStack
	err   error
}

func (ct *control) writerFor(ctx context.Context, j *Job) (WriterStack, error) {
	ct.mu.Lock()
	jw := ct.writer[j.ID]
	if jw == nil {
		jw = &jobWriter{}
		ct.writer[j.ID] = jw
	}
	ct.mu.Unlock()
	jw.once.Do(func() { jw.stack, jw.err = ct.writers(ctx, j) })
	if jw.err != nil && buildRetryable(jw.err) {
		// Not kept: the next item of the job builds the writer again.
		ct.mu.Lock()
		if ct.writer[j.ID] == jw {
			delete(ct.writer, j.ID)
		}
		ct.mu.Unlock()
	}
	return jw.stack, jw.err
}

// buildRetryable reports whether a WriterFactory error is passing (the
// key could not be read just now) rather than a fault of the job's
// settings or key, which stops the job.
func buildRetryable(err error) bool {
	var we *writer.Error
	return errors.As(err, &we) && we.Kind == writer.Transient
}

// refusal reasons
const (
	refusedPause  = "paused"
	refusedBudget = "budget"
	refusedStop   = "stopped"
)

// guard sits between the retry layer and the provider writer of one
// object: every call through it is one real attempt. It refuses a call
// that would start after a pause (unless the object has already started:
// objects in flight finish whole), after a cancel, or past the budget, and
// it records one generation log per attempt.
type guard struct {
	runtime *runtime
	c       *jobControl
	inner   writer.Writer
	perCall float64
	// price is the price the job's options gave, or nil for the table's.
	price *cost.Price
	// batch is set in batch mode: calls are priced at the model's batch
	// prices where the table knows them.
	batch bool

	mu       sync.Mutex
	started  bool
	refused  string
	reserved float64
	attempts map[modeldoc.Layer]int
	logs     []GenerationLog
}

func (g *guard) Provider() string { return g.inner.Provider() }

func (g *guard) before() error {
	c := g.c
	c.mu.Lock()
	defer c.mu.Unlock()
	// A call the budget seems to refuse while another object settles may
	// be refused only because that object's cost counts twice for the
	// moment: wait for it (one transaction) and decide on true figures.
	for c.settling > 0 && c.budget > 0 && c.committed+c.reserved+g.perCall > c.budget+1e-9 &&
		c.status != StatusCancelled && c.status != StatusFailed {
		c.settled.Wait()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	reason := ""
	switch {
	case c.status == StatusCancelled || c.status == StatusFailed:
		reason = refusedStop
	case (c.status == StatusPausing || c.status == StatusPaused) && !g.started:
		reason = refusedPause
	case c.budget > 0 && c.committed+c.reserved+g.perCall > c.budget+1e-9:
		reason = refusedBudget
	}
	if reason != "" {
		if g.refused == "" {
			g.refused = reason
		}
		return &writer.Error{Kind: writer.InvalidRequest, Provider: g.inner.Provider(), Message: "the call was not made: the job is " + map[string]string{
			refusedPause: "paused", refusedBudget: "out of budget", refusedStop: "stopped"}[reason]}
	}
	c.reserved += g.perCall
	g.reserved += g.perCall
	g.started = true
	return nil
}

func (g *guard) Write(ctx context.Context, req writer.Request) (writer.Result, error) {
	if err := g.before(); err != nil {
		g.log(req, writer.Result{}, err, 0, "refused")
		return writer.Result{}, err
	}
	start := time.Now()
	ctx, note := withCallNote(ctx)
	res, err := g.inner.Write(ctx, req)
	if note.free {
		// A batch result already paid for, or a call never made.
		return res, err
	}
	status := "ok"
	if err != nil {
		status = "failed"
	}
	g.log(req, res, err, time.Since(start), status)
	return res, err
}

func (g *guard) log(req writer.Request, res writer.Result, err error, d time.Duration, status string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.attempts[req.Layer]++
	l := GenerationLog{
		Layer: string(req.Layer), Attempt: g.attempts[req.Layer], Status: status, Model: res.Model,
		PromptTokens: res.Usage.PromptTokens, CompletionTokens: res.Usage.CompletionTokens, CachedTokens: res.Usage.CachedTokens,
		ReasoningTokens: res.Usage.ReasoningTokens, DurationMS: d.Milliseconds(), FinishReason: res.FinishReason,
	}
	if res.Usage != (writer.Usage{}) {
		// Priced as generate prices the version: by the model asked for.
		model := cmp.Or(req.Model, res.Model)
		if g.price != nil {
			l.Cost = g.price.Cost(res.Usage)
		} else if p, ok := g.batchPrice(model); ok {
			l.Cost = p.Cost(res.Usage)
		} else {
			l.Cost = g.runtime.cfg.Documenter.Cost(g.inner.Provider(), model, res.Usage)
		}
	}
	if l.Model == "" {
		l.Model = req.Model
	}
	if err != nil {
		l.ErrorClass = string(writer.KindOf(err))
		l.Error = err.Error()
		if len(l.Error) > 2000 {
			l.Error = l.Error[:2000]
		}
	}
	g.logs = append(g.logs, l)
}

// spend sums the tokens and cost of the calls logged so far.
func (g *guard) spend() jobstore.Spend {
	g.mu.Lock()
	defer g.mu.Unlock()
	var s jobstore.Spend
	for _, l := range g.logs {
		s.PromptTokens, s.CompletionTokens, s.CachedTokens, s.Cost = s.PromptTokens+l.PromptTokens, s.CompletionTokens+l.CompletionTokens, s.CachedTokens+l.CachedTokens, s.Cost+l.Cost
	}
	return s
}

// settle marks the object's cost as being committed; done ends it.
func (g *guard) settle() {
	g.c.mu.Lock()
	g.c.settling++
	g.c.mu.Unlock()
}

// done gives back the object's reservations once its cost is committed.
func (g *guard) done(actual float64) {
	g.c.mu.Lock()
	g.c.reserved -= g.reserved
	g.c.committed = max(g.c.committed, actual)
	g.c.settling--
	g.c.settled.Broadcast()
	g.c.mu.Unlock()
}

// batchPrice is the model's batch price when the guard's calls go through
// the provider's batch API and the table knows it.
func (g *guard) batchPrice(model string) (cost.Price, bool) {
	if !g.batch {
		return cost.Price{}, false
	}
	t := g.runtime.prices()
	if t == nil {
		return cost.Price{}, false
	}
	p, ok := t.Price(g.inner.Provider(), model)
	if !ok {
		return cost.Price{}, false
	}
	return p.Batch()
}

func conflict(j *Job, what string) error {
	return modeldoc.Errorf(modeldoc.ECONFLICT, "Job %d is %s: it cannot be %s.", j.ID, j.Status, what)
}

// Pause stops new objects from starting; objects being written finish and
// are kept. The job is pausing until they have, then paused.
func (ct *control) Pause(ctx context.Context, orgID, id int64) (*Job, error) {
	return ct.transition(ctx, orgID, id, func(tx *jobstore.Tx, j *Job) error {
		switch j.Status {
		case StatusQueued, StatusRunning:
		case StatusPausing, StatusPaused:
			return modeldoc.Errorf(modeldoc.ECONFLICT, "Job %d is already %s.", j.ID, j.Status)
		default:
			return conflict(j, "paused")
		}
		return ct.pauseTx(ctx, tx, j.ID, ReasonUserPaused)
	})
}

// pauseTx pauses job id: enqueued items go back to ready (their River jobs
// will find nothing to do), and the job is paused at once unless items are
// running.
func (ct *control) pauseTx(ctx context.Context, tx *jobstore.Tx, id int64, reason string) error {
	if err := tx.PauseJob(ctx, id, reason, ct.now()); err != nil {
		return fmt.Errorf("jobs: pause: %w", err)
	}
	return nil
}

// Resume carries a paused (or pausing) job on from where it stopped:
// finished objects are never written again.
func (ct *control) Resume(ctx context.Context, orgID, id int64) (*Job, error) {
	return ct.transition(ctx, orgID, id, func(tx *jobstore.Tx, j *Job) error {
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
		if err := tx.ResumeJob(ctx, j.ID, next, ct.now()); err != nil {
			return fmt.Errorf("jobs: resume: %w", err)
		}
		return ct.runtime.release(ctx, tx, j.ID)
	})
}

// Cancel stops the job for good: items not started are cancelled, calls in
// flight are cancelled (by every process that runs them, within a poll).
func (ct *control) Cancel(ctx context.Context, orgID, id int64) (*Job, error) {
	j, err := ct.transition(ctx, orgID, id, func(tx *jobstore.Tx, j *Job) error {
		if Terminal(j.Status) {
			return conflict(j, "cancelled")
		}
		return ct.stopTx(ctx, tx, j.ID, StatusCancelled, ReasonUserCancelled, "")
	})
	if err == nil {
		ct.cancelLocal(id)
		ct.runtime.cancelProviderBatches(ctx, j)
	}
	return j, err
}

// stopTx ends job id with a terminal status: every item that is not
// running nor finished is cancelled; running ones end as they notice.
func (ct *control) stopTx(ctx context.Context, tx *jobstore.Tx, id int64, status, reason, message string) error {
	if err := tx.StopJob(ctx, id, status, reason, message, ct.now()); err != nil {
		return fmt.Errorf("jobs: stop: %w", err)
	}
	return nil
}

// SetBudget sets the job's budget in USD (0 removes it). A job paused for
// its budget stays paused until resumed.
func (ct *control) SetBudget(ctx context.Context, orgID, id int64, usd float64) (*Job, error) {
	if err := validBudget(usd); err != nil {
		return nil, err
	}
	j, err := ct.transition(ctx, orgID, id, func(tx *jobstore.Tx, j *Job) error {
		if Terminal(j.Status) {
			return conflict(j, "given a new budget")
		}
		if usd > 0 && !ct.priceKnown(&j.Options) {
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
		return tx.SetJobBudget(ctx, j.ID, usd, opts, ct.now())
	})
	if err == nil {
		ct.mu.Lock()
		if c := ct.ctl[id]; c != nil {
			c.setBudget(usd)
		}
		ct.mu.Unlock()
	}
	return j, err
}

// transition loads the job under a write lock, applies fn and returns the
// job as it is afterwards.
func (ct *control) transition(ctx context.Context, orgID, id int64, fn func(tx *jobstore.Tx, j *Job) error) (*Job, error) {
	err := ct.withTx(ctx, func(tx *jobstore.Tx) error {
		j, err := ct.scanJob(tx.LockJob(ctx, orgID, id))
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
	ct.events.notify(id)
	return ct.queries.Get(ctx, orgID, id)
}

func (ct *control) controlOf(id int64) *jobControl {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	return ct.ctl[id]
}
