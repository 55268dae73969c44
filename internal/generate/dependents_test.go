package generate_test

import (
	"context"
	"slices"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/dbt"
	"github.com/modeldoc/modeldoc/internal/dbt/dbttest"
	"github.com/modeldoc/modeldoc/internal/generate"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
)

// TestPlanCountsTransitiveDependents: the subject carries every object a
// change can reach, not only the direct consumers. Tuva's medical claim
// feeds a handful of models directly and hundreds through them.
func TestPlanCountsTransitiveDependents(t *testing.T) {
	ctx := context.Background()
	st, orgID := catalogStore(t, "tuva-health__tuva")
	svc := newService(t, st)
	cat, err := dbt.Load(dbttest.Path(t, "tuva-health__tuva"))
	if err != nil {
		t.Fatal(err)
	}
	// The expected count, from the catalog's own edges in memory.
	down := map[string][]string{}
	for _, e := range cat.Edges {
		down[e.Upstream] = append(down[e.Upstream], e.Downstream)
	}
	reach := func(id string) int {
		seen := map[string]bool{id: true}
		stack := []string{id}
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, d := range down[n] {
				if !seen[d] {
					seen[d] = true
					stack = append(stack, d)
				}
			}
		}
		return len(seen) - 1
	}
	objs, _, err := st.ListObjects(ctx, orgID, store.ObjectFilter{Types: []modeldoc.ObjectType{modeldoc.TypeModel}, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, o := range objs {
		if o.Name != "core__medical_claim" && o.Name != "cms_hcc__patient_risk_scores" {
			continue
		}
		p, err := svc.Plan(ctx, orgID, o.ID, generate.Options{Provider: "offline", Model: "offline-v1"})
		if err != nil {
			t.Fatal(err)
		}
		want := reach(o.UniqueID)
		if p.Subject.Dependents != want {
			t.Errorf("%s: %d dependents, want %d", o.Name, p.Subject.Dependents, want)
		}
		if o.Name == "core__medical_claim" && want <= len(p.Subject.Downstream) {
			t.Errorf("%s: %d dependents, %d direct: the test expects a wide lineage", o.Name, want, len(p.Subject.Downstream))
		}
		t.Logf("%s: %d direct, %d in all", o.Name, len(p.Subject.Downstream), p.Subject.Dependents)
		checked++
	}
	if checked != 2 {
		t.Fatalf("checked %d models, want 2", checked)
	}
}

// TestPlanCarriesExposures: the subject carries every exposure that reads
// it or anything downstream of it (examples/shop's revenue dashboard reads
// fct_orders and daily_revenue), and none that reads nothing it feeds.
func TestPlanCarriesExposures(t *testing.T) {
	ctx := context.Background()
	cat, err := dbt.Load("../../examples/shop")
	if err != nil {
		t.Fatal(err)
	}
	st := modeldoctest.NewSQLiteStore(t)
	org, err := st.EnsureDefaultOrganization(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportCatalog(ctx, org.ID, cat); err != nil {
		t.Fatal(err)
	}
	svc := newService(t, st)
	fct := resolve(t, st, org.ID, "fct_orders")
	daily := resolve(t, st, org.ID, "daily_revenue")
	// Reads names what the exposure reads among the model and what it feeds.
	both := sortedIDs(fct.ID, daily.ID)
	for name, want := range map[string][]int64{"stg_orders": both, "stg_products": both, "fct_orders": both, "daily_revenue": {daily.ID}, "customer_segments": nil} {
		o := resolve(t, st, org.ID, name)
		p, err := svc.Plan(ctx, org.ID, o.ID, generate.Options{Provider: "offline", Model: "offline-v1"})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Subject.Exposures) != min(len(want), 1) {
			t.Errorf("%s: exposures %+v, want %d", name, p.Subject.Exposures, min(len(want), 1))
			continue
		}
		if len(want) > 0 {
			e := p.Subject.Exposures[0]
			if e.Name != "revenue_dashboard" || e.Owner != "Finance analytics" || !slices.Equal(e.Reads, want) {
				t.Errorf("%s: exposure %+v, want revenue_dashboard reading %v", name, e, want)
			}
		}
	}
}

func sortedIDs(ids ...int64) []int64 {
	slices.Sort(ids)
	return ids
}
