package generate_test

import (
	"context"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/generate"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
)

// TestStyleExamplesFromFartherInTheLineage: when the direct neighbours have
// no human text, the style examples come from the objects 2 and 3 hops
// away, nearest first, and nothing beyond 3 hops.
func TestStyleExamplesFromFartherInTheLineage(t *testing.T) {
	ctx := context.Background()
	model := func(name, desc, up string, col modeldoc.Column) modeldoc.Object {
		raw := "select 1 as id"
		if up != "" {
			raw = "select * from {{ ref('" + up + "') }}"
		}
		col.Position, col.Declared = 1, true
		col.HumanDescription = col.Description != ""
		return modeldoc.Object{UniqueID: "model.p." + name, Type: modeldoc.TypeModel, Name: name, Package: "p", Schema: "s",
			RawSQL: raw, Description: desc, Columns: []modeldoc.Column{col}, SQLHash: modeldoc.HashSQL(raw, "")}
	}
	cat := &modeldoc.Catalog{ProjectName: "p", Source: "manifest", Path: "/p/manifest.json",
		Objects: []modeldoc.Object{
			model("m0", "Each record represents a far account.", "", modeldoc.Column{Name: "c0", Description: "Four hops up."}),
			model("m1", "Each record represents an account, three hops up.", "m0", modeldoc.Column{Name: "c1", Description: "Three hops up."}),
			model("m2", "Each record represents an account, two hops up.", "m1", modeldoc.Column{Name: "c2", Description: "Two hops up."}),
			model("m3", "", "m2", modeldoc.Column{Name: "c3"}),
			model("m4", "", "m3", modeldoc.Column{Name: "id"}),
			model("m5", "", "m4", modeldoc.Column{Name: "c5"}),
			model("m6", "Each record represents an account, two hops down.", "m5", modeldoc.Column{Name: "c6", Description: "Two hops down."}),
		}}
	for i := 1; i < len(cat.Objects); i++ {
		cat.Edges = append(cat.Edges, modeldoc.Edge{Upstream: cat.Objects[i-1].UniqueID, Downstream: cat.Objects[i].UniqueID})
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
	plan, err := svc.Plan(ctx, org.ID, resolve(t, st, org.ID, "m4").ID, generate.Options{Provider: "openai", Model: "gpt-4o-mini",
		Layers: []modeldoc.Layer{modeldoc.LayerExecutiveSummary}})
	if err != nil {
		t.Fatal(err)
	}
	user := plan.Requests[0].User
	i := strings.Index(user, "## The project's own descriptions nearby")
	if i < 0 {
		t.Fatalf("no style examples:\n%s", user)
	}
	got := user[i:]
	got = got[:strings.Index(got, "\n\n")]
	want := `## The project's own descriptions nearby (write in their style)
- m2: Each record represents an account, two hops up.
- m6: Each record represents an account, two hops down.
- m1: Each record represents an account, three hops up.
- m2.c2: Two hops up.
- m6.c6: Two hops down.
- m1.c1: Three hops up.`
	if got != want {
		t.Errorf("style examples\n%s\nwant\n%s", got, want)
	}
}
