package storetest

import (
	"reflect"
	"sort"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/store"
)

// testLineageAround: the neighbourhood of an object holds exactly the
// objects within the depths asked, each with its signed distance, the
// edges between them and the exposures reading its downstream side; the
// node cap keeps the nearest and says so; another organization's object
// is not found.
func testLineageAround(t *testing.T, s *store.Store) {
	org := mustOrg(t, s, "acme")
	other := mustOrg(t, s, "other")
	cat := Fixture()
	cat.Exposures = []modeldoc.Exposure{
		{UniqueID: "exposure.shop.revenue", Name: "revenue", Type: "dashboard", DependsOn: []string{"model.shop.orders"}},
		{UniqueID: "exposure.shop.churn", Name: "churn", Type: "notebook", DependsOn: []string{"model.shop.customer_orders"}},
	}
	mustImport(t, s, org.ID, cat)
	mustImport(t, s, other.ID, Fixture())
	id := func(uid string) int64 { return mustResolve(t, s, org.ID, uid).ID }
	stg := id("model.shop.stg_orders")

	type shape struct {
		Nodes     map[string]int
		Edges     []string
		Exposures map[string]int
		Truncated bool
	}
	shapeOf := func(g *store.LineageGraph) shape {
		sh := shape{Nodes: map[string]int{}, Exposures: map[string]int{}, Truncated: g.Truncated}
		names := map[int64]string{}
		for _, n := range g.Nodes {
			sh.Nodes[n.UniqueID] = n.Depth
			names[n.ID] = n.Name
		}
		for _, e := range g.Edges {
			sh.Edges = append(sh.Edges, names[e.Upstream]+">"+names[e.Downstream])
		}
		sort.Strings(sh.Edges)
		for _, x := range g.Exposures {
			sh.Exposures[x.Name] = x.Depth
		}
		return sh
	}
	for _, tc := range []struct {
		name          string
		center        int64
		up, down, max int
		want          shape
	}{
		{"one hop", stg, 1, 1, 0, shape{
			Nodes: map[string]int{"source.shop.raw.orders": -1, "model.shop.stg_orders": 0, "model.shop.orders": 1},
			Edges: []string{"orders>stg_orders", "stg_orders>orders"}, Exposures: map[string]int{}}},
		{"two down", stg, 0, 2, 0, shape{
			Nodes: map[string]int{"model.shop.stg_orders": 0, "model.shop.orders": 1, "model.shop.customer_orders": 2},
			Edges: []string{"orders>customer_orders", "stg_orders>orders"}, Exposures: map[string]int{"revenue": 2}}},
		{"three down reaches the exposure of the farthest", stg, 0, 3, 0, shape{
			Nodes: map[string]int{"model.shop.stg_orders": 0, "model.shop.orders": 1, "model.shop.customer_orders": 2},
			Edges: []string{"orders>customer_orders", "stg_orders>orders"}, Exposures: map[string]int{"revenue": 2, "churn": 3}}},
		{"nothing asked", stg, 0, 0, 0, shape{
			Nodes: map[string]int{"model.shop.stg_orders": 0}, Exposures: map[string]int{}}},
	} {
		g, err := s.LineageAround(ctx, org.ID, tc.center, tc.up, tc.down, tc.max)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := shapeOf(g); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
	}

	// customer_orders reads three objects directly; a cap of three nodes
	// keeps two of them, and the graph says it left some out.
	co := id("model.shop.customer_orders")
	g, err := s.LineageAround(ctx, org.ID, co, 2, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Nodes) != 3 || !g.Truncated {
		t.Errorf("capped at 3: %d nodes, truncated %v", len(g.Nodes), g.Truncated)
	}
	for _, n := range g.Nodes {
		if n.ID != co && n.Depth != -1 {
			t.Errorf("capped graph kept %s at depth %d, want the nearest only", n.UniqueID, n.Depth)
		}
	}
	// Uncapped, two hops up from customer_orders is the whole upstream.
	g, err = s.LineageAround(ctx, org.ID, co, 2, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Nodes) != 6 || g.Truncated {
		t.Errorf("two hops up: %d nodes (truncated %v), want 6: %+v", len(g.Nodes), g.Truncated, shapeOf(g))
	}

	otherStg := mustResolve(t, s, other.ID, "model.shop.stg_orders").ID
	if _, err := s.LineageAround(ctx, org.ID, otherStg, 1, 1, 0); modeldoc.ErrorCode(err) != modeldoc.ENOTFOUND {
		t.Errorf("another organization's object: err = %v, want ENOTFOUND", err)
	}
}
