package jobs

import (
	"cmp"
	"context"
	"errors"
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

// control returns the job's control, creating it, and registers the item.
func (m *Manager) control(j *Job, itemID int64, cancel context.CancelCauseFunc) *jobControl {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.ctl[j.ID]
	if c == nil {
		c = &jobControl{id: j.ID, items: map[int64]context.CancelCauseFunc{}}
		c.settled = sync.NewCond(&c.mu)
		m.ctl[j.ID] = c
	}
	c.mu.Lock()
	c.status, c.budget = j.Status, j.Budget
	c.committed = max(c.committed, j.ActualCost)
	c.items[itemID] = cancel
	c.mu.Unlock()
	return c
}

func (m *Manager) unregister(c *jobControl, itemID int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c.mu.Lock()
	delete(c.items, itemID)
	empty := len(c.items) == 0
	c.mu.Unlock()
	if empty {
		delete(m.ctl, c.id)
		delete(m.writer, c.id)
	}
}

// cancelLocal cancels the objects this process writes for job id.
func (m *Manager) cancelLocal(id int64) {
	m.mu.Lock()
	c := m.ctl[id]
	m.mu.Unlock()
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

func (m *Manager) writerFor(ctx context.Context, j *Job) (WriterStack, error) {
	m.mu.Lock()
	jw := m.writer[j.ID]
	if jw == nil {
		jw = &jobWriter{}
		m.writer[j.ID] = jw
	}
	m.mu.Unlock()
	jw.once.Do(func() { jw.stack, jw.err = m.cfg.Writers(ctx, j) })
	if jw.err != nil && buildRetryable(jw.err) {
		// Not kept: the next item of the job builds the writer again.
		m.mu.Lock()
		if m.writer[j.ID] == jw {
			delete(m.writer, j.ID)
		}
		m.mu.Unlock()
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
	m       *Manager
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
			l.Cost = g.m.cfg.Documenter.Cost(g.inner.Provider(), model, res.Usage)
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
	t := g.m.prices()
	if t == nil {
		return cost.Price{}, false
	}
	p, ok := t.Price(g.inner.Provider(), model)
	if !ok {
		return cost.Price{}, false
	}
	return p.Batch()
}
