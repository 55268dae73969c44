package export

import (
	"context"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/store"
)

func TestCoverageTuvaAndGate(t *testing.T) {
	ctx := context.Background()
	fx := tuva(t, func(i int, name string) bool { return i%4 == 0 })
	r, err := Coverage(ctx, fx.st, fx.orgID, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Count independently from the raw catalog and the fixture's choice.
	cat := catalogByID(t, fx.dir)
	var models, documented, human int
	for _, o := range cat {
		if o.Type != modeldoc.TypeModel {
			continue
		}
		models++
		if o.Description != "" {
			human++
		}
		if o.Description != "" || fx.documented[o.Name] {
			documented++
		}
	}
	m := r.Total.Models
	if m.Total != models || m.Documented != documented || m.Human != human || m.Generated != documented-human {
		t.Fatalf("models: got %+v; want total %d documented %d human %d", m, models, documented, human)
	}
	yes := true
	stale, _, err := fx.st.ListObjects(ctx, fx.orgID, store.ObjectFilter{Types: []modeldoc.ObjectType{modeldoc.TypeModel}, Stale: &yes})
	if err != nil {
		t.Fatal(err)
	}
	if m.Stale != len(stale) || m.Missing != models-documented {
		t.Errorf("models: %+v; want %d stale (the store's definition)", m, len(stale))
	}
	c := r.Total.Columns
	if c.Total == 0 || c.Documented == 0 || c.Human == 0 || c.Generated == 0 || c.Documented > c.Total {
		t.Fatalf("columns: %+v", c)
	}
	// Schemas and models add up to the project.
	var sum Scope
	for _, s := range r.Projects[0].Schemas {
		sum.add(s.Scope)
		if len(s.Models) != s.Scope.Models.Total {
			t.Errorf("schema %s lists %d models, counts %d", s.Schema, len(s.Models), s.Scope.Models.Total)
		}
	}
	sum.finish()
	if sum != r.Total || r.Projects[0].Scope != r.Total {
		t.Errorf("schemas add to %+v, total %+v", sum, r.Total)
	}
	t.Logf("models %.1f%% (%d/%d), columns %.1f%% (%d/%d)", m.Percent, m.Documented, m.Total, c.Percent, c.Documented, c.Total)

	mp := float64(m.Documented) * 100 / float64(m.Total)
	cp := float64(c.Documented) * 100 / float64(c.Total)
	if err := r.Check(mp-0.01, cp-0.01, true); err != nil {
		t.Errorf("just below the actual coverage must pass: %v", err)
	}
	if !r.Result.Passed {
		t.Error("check not recorded as passed")
	}
	err = r.Check(mp+0.01, cp-0.01, true)
	if modeldoc.ErrorCode(err) != ECOVERAGE || !strings.Contains(err.Error(), "--min-models") || strings.Contains(err.Error(), "--min-columns") {
		t.Errorf("models just above must fail alone: %v", err)
	}
	err = r.Check(mp-0.01, cp+0.01, true)
	if modeldoc.ErrorCode(err) != ECOVERAGE || !strings.Contains(err.Error(), "--min-columns") || strings.Contains(err.Error(), "--min-models") {
		t.Errorf("columns just above must fail alone: %v", err)
	}
	if err := r.Check(mp+0.01, cp+0.01, true); err == nil || len(r.Result.Failures) != 2 {
		t.Errorf("both above must name both: %v", err)
	}

	// Changing the SQL of a documented model makes it stale, and its
	// downstream models with it (one definition of stale: store.StaleIDs).
	var one *modeldoc.Object
	projects, _ := Load(ctx, fx.st, fx.orgID, 0)
	for id := range projects[0].Docs {
		if !r.Projects[0].isStale(id) && projects[0].Object(id).Type == modeldoc.TypeModel {
			one = projects[0].Object(id)
			break
		}
	}
	raw := catalogForStale(t, fx, one.UniqueID)
	if _, err := fx.st.ImportCatalog(ctx, fx.orgID, raw); err != nil {
		t.Fatal(err)
	}
	r2, err := Coverage(ctx, fx.st, fx.orgID, fx.project.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r2.Total.Models.Stale < m.Stale+1 || !r2.Projects[0].isStale(one.ID) {
		t.Errorf("a model whose SQL changed is not stale: %+v", r2.Total.Models)
	}
}

func (p ProjectCoverage) isStale(id int64) bool {
	for _, s := range p.Schemas {
		for _, m := range s.Models {
			if m.ID == id {
				return m.Stale
			}
		}
	}
	return false
}
