package storetest

import (
	"reflect"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/store"
)

// testTestArgs: a column's test arguments and a model's config survive the
// store, on every path a prompt reads (GetObject, PlanObjects), and a
// re-import that changes or drops them rewrites them.
func testTestArgs(t *testing.T, s *store.Store) {
	org := mustOrg(t, s, "acme")
	cat := Fixture()
	var stg *modeldoc.Object
	for i := range cat.Objects {
		if cat.Objects[i].UniqueID == "model.shop.stg_orders" {
			stg = &cat.Objects[i]
		}
	}
	args := []modeldoc.ColumnTest{{Name: "accepted_values", Values: []string{"placed", "shipped"}},
		{Name: "relationships", To: "customers", Field: "id"}}
	cfg := &modeldoc.ObjectConfig{UniqueKey: []string{"order_id"}, IncrementalStrategy: "merge", ContractEnforced: true}
	stg.Columns[0].TestArgs = args
	stg.Config = cfg
	mustImport(t, s, org.ID, cat)
	id := mustResolve(t, s, org.ID, "model.shop.stg_orders").ID

	check := func(when string, wantArgs []modeldoc.ColumnTest, wantCfg *modeldoc.ObjectConfig) {
		t.Helper()
		full, err := s.GetObject(ctx, org.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		plan, err := s.PlanObjects(ctx, org.ID, []int64{id})
		if err != nil || len(plan) != 1 {
			t.Fatalf("PlanObjects = %d objects, %v", len(plan), err)
		}
		for what, o := range map[string]*modeldoc.Object{"GetObject": full, "PlanObjects": &plan[0]} {
			if got := o.Columns[0].TestArgs; !reflect.DeepEqual(got, wantArgs) {
				t.Errorf("%s: %s test args = %+v, want %+v", when, what, got, wantArgs)
			}
			if !reflect.DeepEqual(o.Config, wantCfg) {
				t.Errorf("%s: %s config = %+v, want %+v", when, what, o.Config, wantCfg)
			}
			if got := o.Columns[1].TestArgs; got != nil {
				t.Errorf("%s: %s column without test arguments has %+v", when, what, got)
			}
		}
	}
	check("first import", args, cfg)

	changed := []modeldoc.ColumnTest{{Name: "accepted_values", Values: []string{"placed"}}}
	stg.Columns[0].TestArgs = changed
	stg.Config = &modeldoc.ObjectConfig{UniqueKey: []string{"order_id", "line"}}
	mustImport(t, s, org.ID, cat)
	check("re-import with other arguments", changed, stg.Config)

	stg.Columns[0].TestArgs = nil
	stg.Config = nil
	mustImport(t, s, org.ID, cat)
	check("re-import without them", nil, nil)
}
