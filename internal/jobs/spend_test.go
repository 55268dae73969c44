package jobs_test

import (
	"context"
	"encoding/hex"
	"path/filepath"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc/internal/dbt"
	"github.com/modeldoc/modeldoc/internal/engine"
	"github.com/modeldoc/modeldoc/internal/fakellm"
	"github.com/modeldoc/modeldoc/internal/jobs"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/retry"
	"github.com/modeldoc/modeldoc/internal/store"
)

// spendEnv is the example shop imported into a real store, documented with
// the real generate service and OpenAI writer against the fake provider.
type spendEnv struct {
	t    *testing.T
	st   *store.Store
	fake *fakellm.Server
	org  int64
	proj int64
}

func newSpendEnv(t *testing.T, st *store.Store, fc fakellm.Config) *spendEnv {
	t.Helper()
	t.Setenv("MODELDOC_SECRET_KEY", hex.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	fake := fakellm.New(fc)
	if _, err := fake.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	ctx := context.Background()
	dir, err := filepath.Abs("../../examples/shop")
	if err != nil {
		t.Fatal(err)
	}
	cat, err := dbt.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	org, err := st.EnsureDefaultOrganization(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := st.ImportCatalog(ctx, org.ID, cat)
	if err != nil {
		t.Fatal(err)
	}
	return &spendEnv{t: t, st: st, fake: fake, org: org.ID, proj: sum.ProjectID}
}

// engine wires a new engine on the store, as a new process would.
func (e *spendEnv) engine() *engine.Engine {
	e.t.Helper()
	eng, err := engine.New(context.Background(), engine.Config{Store: e.st, EnvKeys: map[string]string{"openai": "sk-test-spend-0123456789"},
		Jobs:  jobs.Config{PollInterval: 50 * time.Millisecond, Heartbeat: 200 * time.Millisecond, Lease: 2 * time.Second},
		Retry: retry.Config{BaseBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = eng.Jobs.Stop(ctx)
		_ = eng.Close()
	})
	return eng
}

// One call per layer: these tests cut objects short between their calls,
// which seven calls an object give them room to do (combined calls are
// counted the same way, one log a call; see generate's combined tests).
func (e *spendEnv) create(m *jobs.Manager, concurrency int) *jobs.Job {
	e.t.Helper()
	j, err := m.Create(context.Background(), e.org, jobs.CreateRequest{Options: jobs.Options{
		Selection: jobs.Selection{ProjectID: e.proj}, RegenerateAll: true, Concurrency: concurrency,
		MaxRetries: 1, Provider: "openai", Model: "gpt-4o-mini", BaseURL: e.fake.BaseURL(), Calls: "per-layer",
	}})
	if err != nil {
		e.t.Fatal(err)
	}
	return j
}

// waitAnswered waits until the fake has answered n calls.
func (e *spendEnv) waitAnswered(n int64) {
	e.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for e.fake.Stats().Succeeded < n {
		if time.Now().After(deadline) {
			e.t.Fatalf("the fake answered %d calls in a minute, want %d", e.fake.Stats().Succeeded, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitJob waits until the job satisfies cond with nothing in flight.
func (e *spendEnv) waitJob(m *jobs.Manager, id int64, what string, cond func(*jobs.Job) bool) *jobs.Job {
	e.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		j, err := m.Get(context.Background(), e.org, id)
		if err != nil {
			e.t.Fatal(err)
		}
		if cond(j) && j.InFlight == 0 {
			return j
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("job %d never became %s: %+v", id, what, j)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkSpend asserts the invariant and that there were calls to check.
// Their tokens cannot be required when calls are cut short: an answer the
// fake wrote may still be unread by the client when its context ends, and
// then it has no usage to count. The tests' last checks, after runs that
// end normally, require spend.
func (e *spendEnv) checkSpend(paid bool) {
	e.t.Helper()
	r := modeldoctest.CheckSpend(e.t, e.st.DB())
	if r.Calls == 0 || paid && (r.PromptTokens == 0 || r.Cost <= 0) {
		e.t.Fatalf("no spend to check: %+v", r)
	}
}

// answered lists the (item, layer) pairs whose call was answered, with the
// highest generation log id.
func (e *spendEnv) answered() (map[[2]string]bool, int64) {
	e.t.Helper()
	rows, err := e.st.DB().Query(`SELECT item_id, layer, id FROM generation_logs WHERE status = 'ok'`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	out := map[[2]string]bool{}
	var last int64
	for rows.Next() {
		var item, layer string
		var id int64
		if err := rows.Scan(&item, &layer, &id); err != nil {
			e.t.Fatal(err)
		}
		out[[2]string{item, layer}] = true
		last = max(last, id)
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	var maxID int64
	if err := e.st.DB().QueryRow(`SELECT COALESCE(MAX(id), 0) FROM generation_logs`).Scan(&maxID); err != nil {
		e.t.Fatal(err)
	}
	return out, maxID
}

// checkNotBoughtAgain asserts that no layer answered before (up to log id
// last) was called for again afterwards.
func (e *spendEnv) checkNotBoughtAgain(before map[[2]string]bool, last int64) {
	e.t.Helper()
	rows, err := e.st.DB().Query(e.st.Rebind(`SELECT item_id, layer FROM generation_logs WHERE id > ?`), last)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var item, layer string
		if err := rows.Scan(&item, &layer); err != nil {
			e.t.Fatal(err)
		}
		if before[[2]string{item, layer}] {
			e.t.Errorf("item %s bought layer %s again after it was paid for", item, layer)
		}
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
}

// Half of the calls hang until their context ends, so that objects are
// cut short with some of their layers paid for.
var hangHalf = fakellm.Config{Seed: 7, Faults: fakellm.Faults{TimeoutRate: 0.5}}

// TestSpendOfCancelledItemsCounts: a cancel cuts objects short after some
// of their calls were answered; those calls count in the items and the job.
func TestSpendOfCancelledItemsCounts(t *testing.T) {
	modeldoctest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		e := newSpendEnv(t, st, hangHalf)
		eng := e.engine()
		if err := eng.Jobs.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		j := e.create(eng.Jobs, 4)
		e.waitAnswered(6)
		if _, err := eng.Jobs.Cancel(context.Background(), e.org, j.ID); err != nil {
			t.Fatal(err)
		}
		j = e.waitJob(eng.Jobs, j.ID, "cancelled", func(j *jobs.Job) bool { return j.Status == jobs.StatusCancelled })
		e.checkSpend(false)
		t.Logf("the cancelled job counted %d prompt tokens, $%f", j.PromptTokens, j.ActualCost)
	})
}

// TestBudgetStopKeepsPaidLayers: the budget stops an object after some of
// its layers were bought; they count, are kept with the item, and are not
// bought again when the job resumes with a higher budget.
func TestBudgetStopKeepsPaidLayers(t *testing.T) {
	modeldoctest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		e := newSpendEnv(t, st, fakellm.Config{})
		eng := e.engine()
		ctx := context.Background()
		j := e.create(eng.Jobs, 1)
		items, err := eng.Jobs.Items(ctx, e.org, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		// Half of the dearest object's estimate: its first layers are
		// bought and the others refused. (Not the first object's: a seed
		// with no SQL has one or two layers, so half its estimate is less
		// than its first call.)
		dearest := items[0].EstimatedCost
		for _, it := range items {
			dearest = max(dearest, it.EstimatedCost)
		}
		if _, err := eng.Jobs.SetBudget(ctx, e.org, j.ID, dearest/2); err != nil {
			t.Fatal(err)
		}
		if err := eng.Jobs.Start(ctx); err != nil {
			t.Fatal(err)
		}
		j = e.waitJob(eng.Jobs, j.ID, "paused", func(j *jobs.Job) bool { return j.Status == jobs.StatusPaused })
		if j.StatusReason != jobs.ReasonBudgetExceeded {
			t.Fatalf("job paused for %q, want %q", j.StatusReason, jobs.ReasonBudgetExceeded)
		}
		e.checkSpend(true)
		before, last := e.answered()
		if len(before) == 0 {
			t.Fatal("the budget stopped the job before any layer was bought")
		}
		if _, err := eng.Jobs.SetBudget(ctx, e.org, j.ID, 1000); err != nil {
			t.Fatal(err)
		}
		if _, err := eng.Jobs.Resume(ctx, e.org, j.ID); err != nil {
			t.Fatal(err)
		}
		j = e.waitJob(eng.Jobs, j.ID, "completed", func(j *jobs.Job) bool { return jobs.Terminal(j.Status) })
		if j.Status != jobs.StatusCompleted || j.Processed != j.Total-j.Skipped {
			t.Fatalf("job ended %+v", j)
		}
		e.checkSpend(true)
		e.checkNotBoughtAgain(before, last)
	})
}

// TestShutdownKeepsSpendAndPaidLayers: a process that stops with calls in
// flight (a short shutdown timeout) counts the calls already answered and
// keeps their layers; the next process does not buy them again.
func TestShutdownKeepsSpendAndPaidLayers(t *testing.T) {
	modeldoctest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		e := newSpendEnv(t, st, hangHalf)
		eng := e.engine()
		ctx := context.Background()
		if err := eng.Jobs.Start(ctx); err != nil {
			t.Fatal(err)
		}
		j := e.create(eng.Jobs, 4)
		e.waitAnswered(6)
		sctx, cancel := context.WithTimeout(ctx, time.Millisecond)
		_ = eng.Jobs.Stop(sctx) // the hanging calls make it time out and cancel
		cancel()
		e.checkSpend(false)
		before, last := e.answered()
		e.fake.SetFaults(fakellm.Faults{})
		next := e.engine()
		rctx, rcancel := context.WithTimeout(ctx, 2*time.Minute)
		defer rcancel()
		j, err := next.Jobs.RunJob(rctx, e.org, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status != jobs.StatusCompleted {
			t.Fatalf("job ended %+v", j)
		}
		e.checkSpend(true)
		e.checkNotBoughtAgain(before, last)
	})
}

// TestMaxRetriesZeroMeansOneAttempt: a job created with max_retries 0 calls
// each layer once on a server error; it used to become 3 retries.
func TestMaxRetriesZeroMeansOneAttempt(t *testing.T) {
	modeldoctest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		e := newSpendEnv(t, st, fakellm.Config{Faults: fakellm.Faults{FailRate: 1}})
		eng := e.engine()
		ctx := context.Background()
		j, err := eng.Jobs.Create(ctx, e.org, jobs.CreateRequest{Options: jobs.Options{
			Selection: jobs.Selection{ProjectID: e.proj, Names: []string{"stg_orders"}}, RegenerateAll: true, Concurrency: 1,
			MaxRetries: 0, Provider: "openai", Model: "gpt-4o-mini", BaseURL: e.fake.BaseURL(),
		}})
		if err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if _, err := eng.Jobs.RunJob(rctx, e.org, j.ID); err != nil {
			t.Fatal(err)
		}
		logs, err := eng.Jobs.GenerationLogs(ctx, e.org, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(logs) == 0 {
			t.Fatal("no call was made")
		}
		for _, l := range logs {
			if l.Attempt != 1 || l.Status != "failed" {
				t.Errorf("layer %s: attempt %d (%s), want one failed attempt and no retry", l.Layer, l.Attempt, l.Status)
			}
		}
		if got := e.fake.Stats().Requests; got != int64(len(logs)) {
			t.Errorf("the provider got %d requests for %d logged calls", got, len(logs))
		}
	})
}
