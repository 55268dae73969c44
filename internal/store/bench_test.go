package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
)

// bigCatalog is GitLab-sized: 3,000 models of about 7 columns (20,000 in
// all), 6,000 lineage edges, SQL of a few hundred bytes each.
func bigCatalog(models, columns, edges int) *modeldoc.Catalog {
	cat := &modeldoc.Catalog{ProjectName: "big", Source: "project", Path: "/big"}
	perModel := columns / models
	extra := columns % models
	for i := range models {
		raw := fmt.Sprintf("with src as (select * from {{ ref('m%04d') }})\nselect id, amount * %d as amount_%d, status\nfrom src where status <> 'deleted' and id > %d\n", max(i-1, 0), i, i, i)
		o := modeldoc.Object{
			UniqueID: fmt.Sprintf("model.big.m%04d", i), Type: modeldoc.TypeModel, Name: fmt.Sprintf("m%04d", i),
			Package: "big", Database: "analytics", Schema: fmt.Sprintf("schema_%d", i%20), Materialization: "table",
			RawSQL: raw, Description: fmt.Sprintf("Model %d of the benchmark.", i), Tags: []string{"bench"},
			Meta: map[string]any{"owner": "team"}, FilePath: fmt.Sprintf("models/m%04d.sql", i),
		}
		o.SQLHash = modeldoc.HashSQL(o.RawSQL, "")
		n := perModel
		if i < extra {
			n++
		}
		for c := range n {
			o.Columns = append(o.Columns, modeldoc.Column{Name: fmt.Sprintf("column_%d", c), DataType: "varchar",
				Description: fmt.Sprintf("Column %d of model %d.", c, i), HumanDescription: true, Declared: true,
				Position: c + 1, Tests: []string{"not_null"}})
		}
		cat.Objects = append(cat.Objects, o)
	}
	for i := range edges {
		down := 3 + i%(models-3)
		up := down - 1 - i/(models-3)
		cat.Edges = append(cat.Edges, modeldoc.Edge{
			Upstream: cat.Objects[up].UniqueID, Downstream: cat.Objects[down].UniqueID})
	}
	return cat
}

func benchImport(b *testing.B, open func(testing.TB) *store.Store) {
	ctx := context.Background()
	cat := bigCatalog(3000, 20000, 6000)
	b.Run("first", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			s := open(b)
			org, err := s.EnsureDefaultOrganization(ctx)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			sum, err := s.ImportCatalog(ctx, org.ID, cat)
			if err != nil {
				b.Fatal(err)
			}
			if sum.Created != 3000 || sum.Columns != 20000 {
				b.Fatalf("summary %+v", sum)
			}
		}
	})
	b.Run("reimport-unchanged", func(b *testing.B) {
		s := open(b)
		org, _ := s.EnsureDefaultOrganization(ctx)
		if _, err := s.ImportCatalog(ctx, org.ID, cat); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			sum, err := s.ImportCatalog(ctx, org.ID, cat)
			if err != nil {
				b.Fatal(err)
			}
			if sum.Unchanged != 3000 {
				b.Fatalf("summary %+v", sum)
			}
		}
	})
	b.Run("reimport-10pct-changed", func(b *testing.B) {
		s := open(b)
		org, _ := s.EnsureDefaultOrganization(ctx)
		if _, err := s.ImportCatalog(ctx, org.ID, cat); err != nil {
			b.Fatal(err)
		}
		round := 0
		for b.Loop() {
			b.StopTimer()
			round++
			changed := *cat
			changed.Objects = append([]modeldoc.Object(nil), cat.Objects...)
			for i := 0; i < len(changed.Objects); i += 10 {
				o := &changed.Objects[i]
				o.RawSQL = fmt.Sprintf("%s-- round %d\n", o.RawSQL, round)
				o.SQLHash = modeldoc.HashSQL(o.RawSQL, "")
				o.Columns = append([]modeldoc.Column(nil), o.Columns...)
				o.Columns[0].DataType = fmt.Sprintf("varchar(%d)", round)
			}
			b.StartTimer()
			sum, err := s.ImportCatalog(ctx, org.ID, &changed)
			if err != nil {
				b.Fatal(err)
			}
			if sum.Updated != 300 {
				b.Fatalf("summary %+v", sum)
			}
		}
	})
}

func BenchmarkImportCatalog(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		benchImport(b, func(tb testing.TB) *store.Store { return modeldoctest.NewSQLiteStore(tb) })
	})
	b.Run("postgres", func(b *testing.B) {
		if modeldoctest.PostgresURL() == "" {
			b.Skipf("set %s=1", modeldoctest.PostgresEnv)
		}
		benchImport(b, func(tb testing.TB) *store.Store { return modeldoctest.NewPostgresStore(tb) })
	})
}

func TestBigCatalogShape(t *testing.T) {
	cat := bigCatalog(3000, 20000, 6000)
	cols := 0
	for _, o := range cat.Objects {
		cols += len(o.Columns)
	}
	s := modeldoctest.NewSQLiteStore(t)
	org, _ := s.EnsureDefaultOrganization(context.Background())
	sum, err := s.ImportCatalog(context.Background(), org.ID, cat)
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Objects) != 3000 || cols != 20000 || sum.Edges != 6000 {
		t.Fatalf("benchmark catalog: %d models, %d columns, %d distinct edges", len(cat.Objects), cols, sum.Edges)
	}
}

func BenchmarkListObjects(b *testing.B) {
	ctx := context.Background()
	s := modeldoctest.NewSQLiteStore(b)
	org, _ := s.EnsureDefaultOrganization(ctx)
	if _, err := s.ImportCatalog(ctx, org.ID, bigCatalog(3000, 20000, 6000)); err != nil {
		b.Fatal(err)
	}
	list, _, _ := s.ListObjects(ctx, org.ID, store.ObjectFilter{})
	for _, o := range list[:1000] {
		if err := s.InsertDocVersion(ctx, &modeldoc.DocVersion{ObjectID: o.ID}); err != nil {
			b.Fatal(err)
		}
	}
	stale := true
	for _, bc := range []struct {
		name string
		f    store.ObjectFilter
	}{
		{"all", store.ObjectFilter{}},
		{"page", store.ObjectFilter{Limit: 50, Offset: 1000}},
		{"match-page", store.ObjectFilter{Match: "m1*", Limit: 50}},
		{"stale", store.ObjectFilter{Stale: &stale}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, _, err := s.ListObjects(ctx, org.ID, bc.f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
