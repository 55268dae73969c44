package jobs

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/cost"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
)

// pricedDoc is scriptDoc with the embedded price table, as
// generate.Service offers it.
type pricedDoc struct{ scriptDoc }

func (d *pricedDoc) Prices() *cost.Table { return cost.MustLoad() }

func (e *env) pricedManager() *Manager {
	e.t.Helper()
	m, err := NewManager(context.Background(), Config{
		Store:      e.s,
		Documenter: &pricedDoc{scriptDoc{store: e.s}},
		Writers:    FixedWriter(e.w),
		Heartbeat:  200 * time.Millisecond,
		Lease:      2 * time.Second,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = m.Stop(ctx)
		_ = m.Close()
	})
	return m
}

// TestBudgetOnAnUnpricedModelIsRefused: a budget on a model the price
// table does not know is refused at creation and when set later, unless
// the job gives the price; a given price then prices every call.
func TestBudgetOnAnUnpricedModelIsRefused(t *testing.T) {
	modeldoctest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		e := newEnv(t, s, []string{"p0", "p1"}, nil)
		e.m = e.pricedManager()
		base := Options{Selection: Selection{ProjectID: e.proj}, Concurrency: 1, Provider: "openai", Model: "llama3.1:8b"}

		withBudget := base
		withBudget.Budget = 5
		_, err := e.m.Create(ctx, e.org, CreateRequest{Options: withBudget})
		wantCode(t, err, modeldoc.EINVALID)
		est, err := e.m.Estimate(ctx, e.org, CreateRequest{Options: base})
		if err != nil {
			t.Fatal(err)
		}
		if est.PriceKnown || est.PriceGiven {
			t.Errorf("estimate of an unpriced model: %+v", est)
		}
		priced := base
		priced.Model = "gpt-4o-mini"
		priced.Budget = 5
		if est, err := e.m.Estimate(ctx, e.org, CreateRequest{Options: priced}); err != nil || !est.PriceKnown {
			t.Errorf("estimate of a priced model: %+v, %v", est, err)
		}

		// Without a budget the job is created, and says its price is unknown;
		// a budget set later is refused for the same reason.
		unpriced := e.create(base)
		if unpriced.PriceKnown {
			t.Errorf("job on an unpriced model says price_known")
		}
		_, err = e.m.SetBudget(ctx, e.org, unpriced.ID, 1)
		wantCode(t, err, modeldoc.EINVALID)
		if _, err := e.m.Cancel(ctx, e.org, unpriced.ID); err != nil {
			t.Fatal(err)
		}

		half := withBudget
		in := 100.0
		half.PriceIn = &in
		if err := half.Validate(); modeldoc.ErrorCode(err) != modeldoc.EINVALID {
			t.Errorf("half a price: %v", err)
		}

		// 100 prompt + 50 completion tokens a call at $100 and $200 per
		// million: $0.02 a call.
		out := 200.0
		given := withBudget
		given.PriceIn, given.PriceOut = &in, &out
		j := e.create(given)
		if !j.PriceKnown || j.Options.PriceIn == nil || *j.Options.PriceOut != 200 {
			t.Fatalf("job with a given price: %+v", j)
		}
		done := e.run(j.ID)
		if done.Status != StatusCompleted {
			t.Fatalf("job %+v", done)
		}
		e.checkCounters(done)
		calls := float64(e.w.calls.Load())
		if calls == 0 || math.Abs(done.ActualCost-0.02*calls) > 1e-9 {
			t.Errorf("cost %v after %v calls, want $0.02 a call", done.ActualCost, calls)
		}
	})
}

// TestNameInTwoProjectsNeedsAProject: a selection by a name that objects
// of two projects have is refused, naming the projects, unless the
// selection names the project.
func TestNameInTwoProjectsNeedsAProject(t *testing.T) {
	modeldoctest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		e := newEnv(t, s, []string{"shared", "shop_only"}, nil)
		sql := "select 1 as id -- other"
		other, err := s.ImportCatalog(ctx, e.org, &modeldoc.Catalog{ProjectName: "other", Source: "manifest", Path: "/tmp/other",
			Objects: []modeldoc.Object{{UniqueID: "model.other.shared", Type: modeldoc.TypeModel, Name: "shared", Package: "other", RawSQL: sql, SQLHash: modeldoc.HashSQL(sql, "")}}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.m.Estimate(ctx, e.org, CreateRequest{Options: Options{Selection: Selection{Names: []string{"shared"}}, Concurrency: 1}})
		wantCode(t, err, modeldoc.EINVALID)
		for _, want := range []string{`"shared"`, "shop (project_id", "other (project_id", "project_id"} {
			if err != nil && !strings.Contains(modeldoc.ErrorMessage(err), want) {
				t.Errorf("the refusal does not say %q: %v", want, err)
			}
		}
		est, err := e.m.Estimate(ctx, e.org, CreateRequest{Options: Options{Selection: Selection{Names: []string{"shared"}, ProjectID: other.ProjectID}, Concurrency: 1}})
		if err != nil || est.Total != 1 || est.ProjectID != other.ProjectID {
			t.Errorf("with the project: %+v, %v", est, err)
		}
		if est, err := e.m.Estimate(ctx, e.org, CreateRequest{Options: Options{Selection: Selection{Names: []string{"shop_only"}}, Concurrency: 1}}); err != nil || est.Total != 1 {
			t.Errorf("a name of one project: %+v, %v", est, err)
		}
	})
}
