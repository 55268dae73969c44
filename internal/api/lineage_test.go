package api

import (
	"context"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc/internal/dbt"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
)

func TestLineageSQLite(t *testing.T) {
	t.Setenv("MODELDOC_SECRET_KEY", "")
	lineageAPI(t, modeldoctest.NewSQLiteStore(t))
}

func TestLineagePostgres(t *testing.T) {
	t.Setenv("MODELDOC_SECRET_KEY", hex.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	lineageAPI(t, modeldoctest.NewPostgresStore(t))
}

// lineageAPI: the neighbourhood of examples/shop's fct_orders at the
// depths asked, with types and exposures; the node cap; bad parameters
// and another organization's id; column lineage both ways.
func lineageAPI(t *testing.T, st *store.Store) {
	ctx := context.Background()
	e := newEnv(t, st, nil)
	cat, err := dbt.Load(filepath.Join("..", "..", "examples", "shop"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportCatalog(ctx, e.orgA, cat); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportCatalog(ctx, e.orgB, cat); err != nil {
		t.Fatal(err)
	}
	id := func(org int64, name string) int64 {
		o, err := st.ResolveObject(ctx, org, name)
		if err != nil {
			t.Fatal(err)
		}
		return o.ID
	}
	fct := id(e.orgA, "fct_orders")
	get := func(query string) store.LineageGraph {
		t.Helper()
		var g store.LineageGraph
		e.must(200, "GET", fmt.Sprintf("/api/v1/objects/%d/lineage%s", fct, query), e.memberA, nil, &g)
		return g
	}
	shape := func(g store.LineageGraph) (map[string]string, []string) {
		nodes := map[string]string{}
		names := map[int64]string{}
		for _, n := range g.Nodes {
			nodes[n.Name] = fmt.Sprintf("%s %d", n.Type, n.Depth)
			names[n.ID] = n.Name
		}
		var xs []string
		for _, x := range g.Exposures {
			var reads []string
			for _, r := range x.Reads {
				reads = append(reads, names[r])
			}
			xs = append(xs, fmt.Sprintf("%s %d <%s>", x.Name, x.Depth, strings.Join(reads, ",")))
		}
		return nodes, xs
	}

	g := get("?up=1&down=1")
	nodes, xs := shape(g)
	want := map[string]string{"fct_orders": "model 0", "stg_orders": "model -1", "int_order_payments": "model -1",
		"int_order_lines": "model -1", "daily_revenue": "model 1", "dim_customers": "model 1"}
	if fmt.Sprint(nodes) != fmt.Sprint(want) || fmt.Sprint(xs) != "[revenue_dashboard 1 <fct_orders>]" || g.Truncated {
		t.Errorf("up=1 down=1:\n got %v %v (truncated %v)\nwant %v [revenue_dashboard 1 <fct_orders>]", nodes, xs, g.Truncated, want)
	}
	if len(g.Edges) != 5 {
		t.Errorf("up=1 down=1: %d edges, want 5: %+v", len(g.Edges), g.Edges)
	}

	// The default is two hops each way: sources two hops up, the
	// exposure placed past the farthest object it reads.
	g = get("")
	nodes, xs = shape(g)
	if nodes["orders"] != "source -2" || nodes["customer_segments"] != "model 2" || len(nodes) != 11 {
		t.Errorf("default depth: %v", nodes)
	}
	if fmt.Sprint(xs) != "[revenue_dashboard 2 <daily_revenue,fct_orders>]" {
		t.Errorf("default depth exposures: %v", xs)
	}

	// dim_customers reads a seed.
	var dg store.LineageGraph
	e.must(200, "GET", fmt.Sprintf("/api/v1/objects/%d/lineage?up=1&down=0", id(e.orgA, "dim_customers")), e.memberA, nil, &dg)
	nodes, xs = shape(dg)
	if nodes["country_codes"] != "seed -1" || len(xs) != 0 {
		t.Errorf("dim_customers up one: %v %v", nodes, xs)
	}

	g = get("?up=3&down=3&max_nodes=4")
	if len(g.Nodes)+len(g.Exposures) != 4 || !g.Truncated {
		t.Errorf("max_nodes=4: %d nodes and %d exposures, truncated %v", len(g.Nodes), len(g.Exposures), g.Truncated)
	}
	for _, n := range g.Nodes {
		if n.Depth < -1 || n.Depth > 1 {
			t.Errorf("max_nodes=4 kept %s at depth %d: the nearest go first", n.Name, n.Depth)
		}
	}

	for _, q := range []string{"?up=11", "?down=-1", "?up=x", "?max_nodes=0", "?max_nodes=501", "?depth=2"} {
		a := e.do("GET", fmt.Sprintf("/api/v1/objects/%d/lineage%s", fct, q), e.memberA, nil)
		if a.status != 400 {
			t.Errorf("%s: status %d, want 400: %s", q, a.status, a.body)
			continue
		}
		if p := a.problem(t); !strings.Contains(p.Detail, strings.Trim(strings.SplitN(q, "=", 2)[0], "?")) {
			t.Errorf("%s: the problem does not name the parameter: %q", q, p.Detail)
		}
	}
	other := id(e.orgB, "fct_orders")
	if a := e.do("GET", fmt.Sprintf("/api/v1/objects/%d/lineage", other), e.memberA, nil); a.status != 404 {
		t.Errorf("another organization's object: status %d, want 404", a.status)
	}
	if a := e.do("GET", "/api/v1/objects/999999/lineage", e.memberA, nil); a.status != 404 {
		t.Errorf("no such object: status %d, want 404", a.status)
	}
	if a := e.do("GET", fmt.Sprintf("/api/v1/objects/%d/lineage", fct), "", nil); a.status != 401 {
		t.Errorf("no token: status %d, want 401", a.status)
	}

	// Column lineage: fct_orders' order_id is stg_orders' through a
	// CTE; payment_state is computed; stg_orders' order_id is read by
	// fct_orders.
	var d objectDetail
	e.must(200, "GET", fmt.Sprintf("/api/v1/objects/%d", fct), e.memberA, nil, &d)
	cols := map[string]columnLineage{}
	for _, c := range d.ColumnLineage {
		cols[c.Column] = c
	}
	if c := cols["order_id"]; c.From == nil || c.From.Name != "stg_orders" || c.From.Column != "order_id" {
		t.Errorf("fct_orders.order_id lineage: %+v", c)
	}
	if c := cols["payment_state"]; c.From != nil || !strings.Contains(strings.ToLower(c.Expr), "case") {
		t.Errorf("fct_orders.payment_state lineage: %+v", c)
	}
	e.must(200, "GET", fmt.Sprintf("/api/v1/objects/%d", id(e.orgA, "stg_orders")), e.memberA, nil, &d)
	found := false
	for _, c := range d.ColumnLineage {
		if c.Column == "order_id" {
			for _, r := range c.ReadBy {
				found = found || (r.Name == "fct_orders" && r.Column == "order_id" && r.ID == fct)
			}
		}
	}
	if !found {
		t.Errorf("stg_orders.order_id is not read by fct_orders.order_id: %+v", d.ColumnLineage)
	}
}
