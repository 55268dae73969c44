package export

import (
	"context"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/dbt"
	"github.com/modeldoc/modeldoc/internal/dbt/dbttest"
	"github.com/modeldoc/modeldoc/internal/generate"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
	"github.com/modeldoc/modeldoc/internal/writer/offlinewriter"
)

const tuvaTarball = "tuva-health__tuva/raw_project_sql_yml.tar.gz"

type fixture struct {
	dir     string
	st      *store.Store
	orgID   int64
	project *modeldoc.Project
	// documented lists the models given documentation, by name.
	documented map[string]bool
}

// tuva unpacks the raw Tuva project, imports it with the raw importer
// into a fresh SQLite store and documents every model whose name passes
// pick (nil: all) with the offline writer, the way a job would.
func tuva(t *testing.T, pick func(i int, name string) bool) *fixture {
	t.Helper()
	return projectFixture(t, dbttest.UntarDataset(t, tuvaTarball), pick)
}

// projectFixture imports the dbt project folder dir (which the test may
// change) as tuva does, and documents the models pick names.
func projectFixture(t *testing.T, dir string, pick func(i int, name string) bool) *fixture {
	t.Helper()
	ctx := context.Background()
	cat, err := dbt.LoadProject(dir)
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
	ps, err := st.ListProjects(ctx, org.ID)
	if err != nil || len(ps) != 1 {
		t.Fatalf("projects: %v %v", ps, err)
	}
	fx := &fixture{dir: dir, st: st, orgID: org.ID, project: &ps[0], documented: map[string]bool{}}
	objs, _, err := st.ListObjects(ctx, org.ID, store.ObjectFilter{Types: []modeldoc.ObjectType{modeldoc.TypeModel}})
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range objs {
		if pick == nil || pick(i, o.Name) {
			fx.document(t, o.ID)
			fx.documented[o.Name] = true
		}
	}
	return fx
}

func (fx *fixture) document(t *testing.T, id int64) {
	t.Helper()
	ctx := context.Background()
	gen, err := generate.New(generate.Config{Catalog: fx.st})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := gen.Plan(ctx, fx.orgID, id, generate.Options{Provider: "offline", Model: "offline-v1"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := gen.Write(ctx, plan, offlinewriter.New())
	if err != nil {
		t.Fatal(err)
	}
	if err := fx.st.InsertDocVersion(ctx, v); err != nil {
		t.Fatal(err)
	}
}

func newStore(t *testing.T) *store.Store { return modeldoctest.NewSQLiteStore(t) }

// catalogForStale re-reads the project with one object's SQL changed.
func catalogForStale(t *testing.T, fx *fixture, uniqueID string) *modeldoc.Catalog {
	t.Helper()
	cat, err := dbt.LoadProject(fx.dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range cat.Objects {
		o := &cat.Objects[i]
		if o.UniqueID == uniqueID {
			o.RawSQL += "\n-- changed"
			o.SQLHash = modeldoc.HashSQL(o.RawSQL, o.CompiledSQL)
		}
	}
	return cat
}
