package generate_test

import (
	"context"
	"math"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/generate"
	"github.com/modeldoc/modeldoc/internal/store"
)

// TestPlanBriefsAgreeWithPlan: bulk planning must give every object the
// same input hash and the same exact estimate as planning it alone, or a
// job's skip rules and estimate would depend on how it was planned.
func TestPlanBriefsAgreeWithPlan(t *testing.T) {
	ctx := context.Background()
	st, orgID := catalogStore(t, "tuva-health__tuva")
	svc := newService(t, st)
	ids := modelIDs(t, st, orgID)
	opts := generate.Options{Provider: "openai", Model: "gpt-5-mini"}
	briefs, err := svc.PlanBriefs(ctx, orgID, ids, opts, generate.ManyOptions{ExactLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(briefs) != len(ids) {
		t.Fatalf("%d briefs for %d objects", len(briefs), len(ids))
	}
	for i, b := range briefs {
		if i%10 != 0 { // every tenth: planning alone is the slow path
			continue
		}
		one, err := svc.Plan(ctx, orgID, ids[i], opts)
		if err != nil {
			t.Fatal(err)
		}
		if b.InputHash != one.InputHash {
			t.Errorf("%s: brief hash %s, Plan hash %s", one.Object.Name, b.InputHash, one.InputHash)
		}
		// Plan alone counts the object's transitive consumers, which its
		// prompts show ("Read by N objects downstream"); a bulk plan does
		// not walk the lineage that far, so its prompts lack that line.
		if d := one.EstimatedPromptTokens - b.EstimatedPromptTokens; d < 0 || d > 20*int64(len(one.Requests)) || int(b.Calls) != len(one.Requests) || b.Extrapolated {
			t.Errorf("%s: brief %d tokens in %d calls (extrapolated %v), Plan %d in %d",
				one.Object.Name, b.EstimatedPromptTokens, b.Calls, b.Extrapolated, one.EstimatedPromptTokens, len(one.Requests))
		}
	}
}

// TestPlanBriefsExtrapolateLargeSelections: past the exact limit, a sample
// is counted exactly and the rest extrapolated; the total must stay close
// to the exact total.
func TestPlanBriefsExtrapolateLargeSelections(t *testing.T) {
	ctx := context.Background()
	st, orgID := catalogStore(t, "tuva-health__tuva")
	svc := newService(t, st)
	ids := modelIDs(t, st, orgID)
	opts := generate.Options{Provider: "openai", Model: "gpt-5-mini"}
	exact, err := svc.PlanBriefs(ctx, orgID, ids, opts, generate.ManyOptions{ExactLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	sampled, err := svc.PlanBriefs(ctx, orgID, ids, opts, generate.ManyOptions{ExactLimit: 60})
	if err != nil {
		t.Fatal(err)
	}
	var exactTokens, sampledTokens float64
	var extrapolated, counted int
	for i := range exact {
		exactTokens += float64(exact[i].EstimatedPromptTokens)
		sampledTokens += float64(sampled[i].EstimatedPromptTokens)
		if sampled[i].Extrapolated {
			extrapolated++
		} else {
			counted++
			if sampled[i].EstimatedPromptTokens != exact[i].EstimatedPromptTokens {
				t.Errorf("object %d: a sampled object's estimate %d differs from its exact %d", ids[i], sampled[i].EstimatedPromptTokens, exact[i].EstimatedPromptTokens)
			}
		}
		if sampled[i].InputHash != exact[i].InputHash {
			t.Errorf("object %d: the hash depends on sampling", ids[i])
		}
	}
	if counted != 60 || extrapolated != len(ids)-60 {
		t.Fatalf("%d counted and %d extrapolated of %d, want 60 counted", counted, extrapolated, len(ids))
	}
	ratio := sampledTokens / exactTokens
	t.Logf("%d objects: exact %0.f prompt tokens, extrapolated from 60: %.0f (ratio %.3f)", len(ids), exactTokens, sampledTokens, ratio)
	if math.Abs(ratio-1) > 0.15 {
		t.Errorf("extrapolated total is %.3f of the exact total, want within 15%%", ratio)
	}
}

func modelIDs(t *testing.T, st *store.Store, orgID int64) []int64 {
	t.Helper()
	objs, _, err := st.ListObjects(context.Background(), orgID, store.ObjectFilter{Types: []modeldoc.ObjectType{modeldoc.TypeModel}, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, len(objs))
	for i, o := range objs {
		ids[i] = o.ID
	}
	return ids
}
