package dbt_test

import (
	"path/filepath"
	"testing"

	"github.com/modeldoc/modeldoc/internal/dbt"
	"github.com/modeldoc/modeldoc/internal/dbt/dbttest"
)

// TestManifestKeepsWarehouseNames: compiled SQL names a source table by its
// identifier and a model by its alias; the catalog keeps both where they
// differ from the dbt name, so that lineage can match them back.
func TestManifestKeepsWarehouseNames(t *testing.T) {
	dir := dbttest.Dir(t)
	want := map[string]map[string]string{
		"fivetran__dbt_hubspot": {"source.hubspot.hubspot.company": "company_data", "source.hubspot.hubspot.calendar_event": ""},
		"tuva-health__tuva":     {"model.the_tuva_project.insights__count_claim_by_claim_type": "count_claim_by_claim_type"},
	}
	for ds, ids := range want {
		cat, err := dbt.Load(filepath.Join(dir, ds))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, o := range cat.Objects {
			got[o.UniqueID] = o.Identifier
		}
		for id, w := range ids {
			if g, ok := got[id]; !ok || g != w {
				t.Errorf("%s: %s identifier %q (present %v), want %q", ds, id, g, ok, w)
			}
		}
	}
}
