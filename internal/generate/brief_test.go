package generate_test

import (
	"context"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/generate"
)

// TestPlanBriefsAgreeWithPlanMany: the briefs a job keeps must carry the
// same hashes and figures as the plans, including for the extrapolated
// objects, whose hash PlanBriefs computes without the complexity score:
// a hash that differed from Plan's would break onlyStale.
func TestPlanBriefsAgreeWithPlanMany(t *testing.T) {
	ctx := context.Background()
	st, orgID := catalogStore(t, "tuva-health__tuva")
	svc := newService(t, st)
	ids := modelIDs(t, st, orgID)
	opts := generate.Options{Provider: "openai", Model: "gpt-5-mini", Layers: []modeldoc.Layer{modeldoc.LayerExecutiveSummary, modeldoc.LayerColumnDescriptions}}
	mo := generate.ManyOptions{ExactLimit: 60}
	plans, err := svc.PlanMany(ctx, orgID, ids, opts, mo)
	if err != nil {
		t.Fatal(err)
	}
	briefs, err := svc.PlanBriefs(ctx, orgID, ids, opts, mo)
	if err != nil {
		t.Fatal(err)
	}
	if len(briefs) != len(ids) || len(plans) != len(ids) {
		t.Fatalf("%d briefs and %d plans for %d objects", len(briefs), len(plans), len(ids))
	}
	extrapolated := 0
	for i, b := range briefs {
		p := plans[i]
		if p.Object.ID != ids[i] {
			t.Fatalf("plan %d is object %d, want %d", i, p.Object.ID, ids[i])
		}
		if b.InputHash != p.InputHash || b.Extrapolated != p.Extrapolated || int(b.Calls) != p.Calls ||
			b.EstimatedPromptTokens != p.EstimatedPromptTokens || b.EstimatedCompletionTokens != p.EstimatedCompletionTokens ||
			b.EstimatedCost != p.EstimatedCost {
			t.Errorf("%s: brief %+v, plan %+v", p.Object.Name, b, *p)
		}
		// An extrapolated object makes as many calls as a counted one.
		if b.Calls != int32(len(opts.Layers)) {
			t.Errorf("%s: %d calls for %d layers (extrapolated %v)", p.Object.Name, b.Calls, len(opts.Layers), b.Extrapolated)
		}
		if b.Extrapolated {
			extrapolated++
		}
		if i%25 == 0 {
			one, err := svc.Plan(ctx, orgID, ids[i], opts)
			if err != nil {
				t.Fatal(err)
			}
			if b.InputHash != one.InputHash {
				t.Errorf("%s: brief hash %s, Plan hash %s", p.Object.Name, b.InputHash, one.InputHash)
			}
		}
	}
	if extrapolated != len(ids)-60 {
		t.Errorf("%d of %d extrapolated, want all but 60", extrapolated, len(ids))
	}
	if _, err := svc.PlanBriefs(ctx, orgID, []int64{ids[0], ids[0]}, opts, mo); err == nil {
		t.Error("PlanBriefs accepted an id twice")
	}
}
