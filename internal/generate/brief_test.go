package generate_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/generate"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
)

// TestExtrapolatedBriefsKeepPlansHash: an extrapolated brief's hash is
// computed without the prompts or the complexity score, and must still be
// Plan's: a hash that differed would break onlyStale.
func TestExtrapolatedBriefsKeepPlansHash(t *testing.T) {
	ctx := context.Background()
	st, orgID := catalogStore(t, "tuva-health__tuva")
	svc := newService(t, st)
	ids := modelIDs(t, st, orgID)
	opts := generate.Options{Provider: "openai", Model: "gpt-5-mini", Layers: []modeldoc.Layer{modeldoc.LayerExecutiveSummary, modeldoc.LayerColumnDescriptions}}
	mo := generate.ManyOptions{ExactLimit: 60}
	briefs, err := svc.PlanBriefs(ctx, orgID, ids, opts, mo)
	if err != nil {
		t.Fatal(err)
	}
	if len(briefs) != len(ids) {
		t.Fatalf("%d briefs for %d objects", len(briefs), len(ids))
	}
	extrapolated, checked := 0, 0
	for i, b := range briefs {
		// Combined mode: one call for the model-level layers, one for the
		// columns unless all are documented.
		if b.Calls < 1 || b.Calls > int32(len(opts.Layers)) {
			t.Errorf("object %d: %d calls for %d layers (extrapolated %v)", ids[i], b.Calls, len(opts.Layers), b.Extrapolated)
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
				t.Errorf("%s: brief hash %s, Plan hash %s (extrapolated %v)", one.Object.Name, b.InputHash, one.InputHash, b.Extrapolated)
			}
			if b.Extrapolated {
				checked++
			}
		}
	}
	if extrapolated != len(ids)-60 {
		t.Errorf("%d of %d extrapolated, want all but 60", extrapolated, len(ids))
	}
	if checked == 0 {
		t.Error("no extrapolated brief was compared with Plan")
	}
	if _, err := svc.PlanBriefs(ctx, orgID, []int64{ids[0], ids[0]}, opts, mo); err == nil {
		t.Error("PlanBriefs accepted an id twice")
	}
}

// TestPlanBriefsAcrossChunks: a selection of several chunks, in an order
// where an object's neighbours sit in chunks before and after its own
// (children first, then a tree's parents), must give every object Plan's
// hash: a neighbour kept from one chunk to a later one, or read again,
// must show the same fields as Plan's reading of it.
func TestPlanBriefsAcrossChunks(t *testing.T) {
	ctx := context.Background()
	const n = 5000 // more than two chunks of 2,048
	cat := &modeldoc.Catalog{ProjectName: "tree", Source: "manifest", Path: "/tree/manifest.json"}
	name := func(i int) string { return fmt.Sprintf("m_%05d", i) }
	for i := range n {
		sql := "select id, amount from raw.orders"
		if i > 0 {
			sql = fmt.Sprintf("select id, amount * %d as amount from {{ ref('%s') }}", i, name((i-1)/2))
		}
		o := modeldoc.Object{UniqueID: "model.tree." + name(i), Type: modeldoc.TypeModel, Name: name(i),
			Schema: "tree", Materialization: "table", RawSQL: sql, CompiledSQL: sql, FilePath: "models/" + name(i) + ".sql",
			Description: fmt.Sprintf("Model %d.", i),
			Columns: []modeldoc.Column{
				{Name: "id", DataType: "bigint", Position: 1, Description: "The id.", HumanDescription: true},
				{Name: "amount", DataType: "numeric", Position: 2},
			}}
		o.SQLHash = modeldoc.HashSQL(o.RawSQL, o.CompiledSQL)
		cat.Objects = append(cat.Objects, o)
		if i > 0 {
			cat.Edges = append(cat.Edges, modeldoc.Edge{Upstream: "model.tree." + name((i-1)/2), Downstream: o.UniqueID})
			if i%7 == 0 && i > 100 {
				cat.Edges = append(cat.Edges, modeldoc.Edge{Upstream: "model.tree." + name(i-100), Downstream: o.UniqueID})
			}
		}
	}
	st := modeldoctest.NewSQLiteStore(t)
	org, err := st.EnsureDefaultOrganization(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportCatalog(ctx, org.ID, cat); err != nil {
		t.Fatal(err)
	}
	ids := modelIDs(t, st, org.ID)
	if len(ids) != n {
		t.Fatalf("%d models, want %d", len(ids), n)
	}
	// Leaves first, so that a chunk reads its parents before their own
	// chunk comes, then the rest interleaved from both ends.
	slices.Reverse(ids)
	ids = append(ids[:n/2], interleave(ids[n/2:])...)
	svc := newService(t, st)
	opts := generate.Options{Provider: "openai", Model: "gpt-5-mini"}
	briefs, err := svc.PlanBriefs(ctx, org.ID, ids, opts, generate.ManyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i += 37 {
		one, err := svc.Plan(ctx, org.ID, ids[i], opts)
		if err != nil {
			t.Fatal(err)
		}
		if briefs[i].InputHash != one.InputHash {
			t.Errorf("%s (position %d): brief hash %s, Plan hash %s", one.Object.Name, i, briefs[i].InputHash, one.InputHash)
		}
	}
}

func interleave(ids []int64) []int64 {
	out := make([]int64, 0, len(ids))
	for i, j := 0, len(ids)-1; i <= j; i, j = i+1, j-1 {
		out = append(out, ids[i])
		if i != j {
			out = append(out, ids[j])
		}
	}
	return out
}
