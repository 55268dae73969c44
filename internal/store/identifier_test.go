package store_test

import (
	"context"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
)

// TestObjectIdentifierRoundTrips: a relation's warehouse name (a source's
// identifier, a model's alias), which column inheritance matches compiled
// SQL against, is stored, read back, and follows a re-import.
func TestObjectIdentifierRoundTrips(t *testing.T) {
	modeldoctest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		org, err := st.EnsureDefaultOrganization(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cat := &modeldoc.Catalog{ProjectName: "p", Source: "manifest", Path: "/p/manifest.json", Objects: []modeldoc.Object{
			{UniqueID: "source.p.crm.company", Type: modeldoc.TypeSource, Name: "company", Identifier: "company_data"},
			{UniqueID: "model.p.stg", Type: modeldoc.TypeModel, Name: "stg", RawSQL: "select 1", CompiledSQL: "select 1"},
		}}
		read := func() map[string]string {
			t.Helper()
			obj, err := st.ResolveObject(ctx, org.ID, "source.p.crm.company")
			if err != nil {
				t.Fatal(err)
			}
			objs, err := st.GetObjects(ctx, org.ID, []int64{obj.ID})
			if err != nil || len(objs) != 1 {
				t.Fatalf("GetObjects: %v, %d objects", err, len(objs))
			}
			stg, err := st.ResolveObject(ctx, org.ID, "model.p.stg")
			if err != nil {
				t.Fatal(err)
			}
			return map[string]string{"get": obj.Identifier, "many": objs[0].Identifier, "stg": stg.Identifier}
		}
		if _, err := st.ImportCatalog(ctx, org.ID, cat); err != nil {
			t.Fatal(err)
		}
		if got := read(); got["get"] != "company_data" || got["many"] != "company_data" || got["stg"] != "" {
			t.Errorf("after import: %v", got)
		}
		cat.Objects[0].Identifier = "company_v2"
		if _, err := st.ImportCatalog(ctx, org.ID, cat); err != nil {
			t.Fatal(err)
		}
		if got := read(); got["get"] != "company_v2" {
			t.Errorf("after re-import: %v, want company_v2", got)
		}
	})
}
