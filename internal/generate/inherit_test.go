package generate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/export"
	"github.com/modeldoc/modeldoc/internal/generate"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/prompt"
	"github.com/modeldoc/modeldoc/internal/store"
	"github.com/modeldoc/modeldoc/internal/writer"
	"github.com/modeldoc/modeldoc/internal/writer/offlinewriter"
)

// shopCatalog is a source and two models whose compiled SQL names
// warehouse relations, not dbt names: the source table orders is
// "db"."raw"."orders_data" (its identifier) and stg_orders is
// "db"."analytics"."stg_orders_v2" (its alias).
func shopCatalog() *modeldoc.Catalog {
	src := modeldoc.Object{UniqueID: "source.shop.shop.orders", Type: modeldoc.TypeSource, Name: "orders", Package: "shop",
		Database: "db", Schema: "raw", Identifier: "orders_data", Columns: []modeldoc.Column{
			{Name: "id", Description: "The order's key.", HumanDescription: true, Declared: true, Position: 1},
			{Name: "customer_id", Description: "The customer who placed the order.", HumanDescription: true, Declared: true, Position: 2},
			{Name: "amount", Description: "Gross amount in cents.", HumanDescription: true, Declared: true, Position: 3},
			{Name: "status", Description: "N/A", HumanDescription: true, Declared: true, Position: 4},
			{Name: "placed_at", Description: "When the order was placed.", HumanDescription: true, Declared: true, Position: 5},
		}}
	stgRaw := `with src as (select * from {{ source('shop', 'orders') }})
select id as order_id, cast(customer_id as bigint) as customer_id, amount / 100.0 as amount_usd, status, placed_at from src`
	stg := modeldoc.Object{UniqueID: "model.shop.stg_orders", Type: modeldoc.TypeModel, Name: "stg_orders", Package: "shop",
		Database: "db", Schema: "analytics", Identifier: "stg_orders_v2", Materialization: "view",
		RawSQL: stgRaw, CompiledSQL: strings.Replace(stgRaw, "{{ source('shop', 'orders') }}", `"db"."raw"."orders_data"`, 1),
		Columns: []modeldoc.Column{
			{Name: "order_id", Description: "Our own words win.", HumanDescription: true, Declared: true, Position: 1},
		}}
	fctRaw := `select s.order_id, s.customer_id, coalesce(s.placed_at, s.placed_at) as placed_at, s.amount_usd, s.status
from {{ ref('stg_orders') }} s`
	fct := modeldoc.Object{UniqueID: "model.shop.fct_orders", Type: modeldoc.TypeModel, Name: "fct_orders", Package: "shop",
		Database: "db", Schema: "analytics", Materialization: "table",
		RawSQL: fctRaw, CompiledSQL: strings.Replace(fctRaw, "{{ ref('stg_orders') }}", `"db"."analytics"."stg_orders_v2"`, 1),
		Columns: []modeldoc.Column{
			{Name: "order_id", DataType: "int", Position: 1},
			{Name: "customer_id", DataType: "bigint", Description: "Buyer.", HumanDescription: true, Declared: true, Position: 2},
			{Name: "placed_at", DataType: "timestamp", Position: 3},
			{Name: "amount_usd", DataType: "numeric", Position: 4},
			{Name: "status", DataType: "text", Position: 5},
		}}
	for _, o := range []*modeldoc.Object{&stg, &fct} {
		o.SQLHash = modeldoc.HashSQL(o.RawSQL, o.CompiledSQL)
	}
	return &modeldoc.Catalog{ProjectName: "shop", Source: "manifest", Path: "/shop/manifest.json",
		Objects: []modeldoc.Object{src, stg, fct},
		Edges:   []modeldoc.Edge{{Upstream: src.UniqueID, Downstream: stg.UniqueID}, {Upstream: stg.UniqueID, Downstream: fct.UniqueID}}}
}

// documentShop documents stg_orders then fct_orders (lineage order, as a
// job does) with w and stores each version.
func documentShop(t *testing.T, st *store.Store, w writer.Writer) (orgID int64, plans map[string]*generate.Plan, cols map[string]map[string]modeldoc.ColumnDescription) {
	t.Helper()
	ctx := context.Background()
	org, err := st.EnsureDefaultOrganization(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportCatalog(ctx, org.ID, shopCatalog()); err != nil {
		t.Fatal(err)
	}
	svc := newService(t, st)
	plans = map[string]*generate.Plan{}
	cols = map[string]map[string]modeldoc.ColumnDescription{}
	for _, name := range []string{"stg_orders", "fct_orders"} {
		obj := resolve(t, st, org.ID, name)
		plan, err := svc.Plan(ctx, org.ID, obj.ID, generate.Options{Provider: w.Provider(), Model: "m",
			Layers: []modeldoc.Layer{modeldoc.LayerExecutiveSummary, modeldoc.LayerColumnDescriptions}})
		if err != nil {
			t.Fatal(err)
		}
		v, err := svc.Write(ctx, plan, w)
		if err != nil {
			t.Fatal(err)
		}
		if st := v.LayerStatus[modeldoc.LayerColumnDescriptions]; st.Status != "ok" {
			t.Fatalf("%s: column layer %s: %s", name, st.Status, st.Error)
		}
		if err := prompt.ValidateFor(modeldoc.LayerColumnDescriptions, string(v.Layers[modeldoc.LayerColumnDescriptions]), plan.Subject); err != nil {
			t.Errorf("%s: the stored column layer does not validate: %v", name, err)
		}
		if err := st.InsertDocVersion(ctx, v); err != nil {
			t.Fatal(err)
		}
		_, by, err := export.ColumnDocs(v)
		if err != nil {
			t.Fatal(err)
		}
		plans[name], cols[name] = plan, by
	}
	return org.ID, plans, cols
}

// TestColumnDocumentationIsInherited: a column that passes through
// (selected, renamed, cast, coalesced with itself) takes the nearest
// documented ancestor's human text verbatim, over two hops and through
// relation names that are neither dbt names; the provenance is kept beside
// the text; the model's own human text wins; computed columns and
// placeholders inherit nothing.
func TestColumnDocumentationIsInherited(t *testing.T) {
	modeldoctest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		orgID, _, cols := documentShop(t, st, offlinewriter.New())
		want := map[string]map[string][2]string{ // model → column → text, provenance
			"stg_orders": {
				"order_id":    {"Our own words win.", ""},
				"customer_id": {"The customer who placed the order.", "source shop.orders.customer_id"},
				"placed_at":   {"When the order was placed.", "source shop.orders.placed_at"},
			},
			"fct_orders": {
				"order_id":    {"Our own words win.", "model stg_orders.order_id"},
				"customer_id": {"Buyer.", ""},
				"placed_at":   {"When the order was placed.", "source shop.orders.placed_at"},
			},
		}
		for model, wc := range want {
			for col, w := range wc {
				got, ok := cols[model][col]
				if !ok {
					t.Errorf("%s.%s: not documented", model, col)
					continue
				}
				if got.Description != w[0] || got.InheritedFrom != w[1] {
					t.Errorf("%s.%s: %q (inherited from %q), want %q (inherited from %q)", model, col, got.Description, got.InheritedFrom, w[0], w[1])
				}
			}
			for _, col := range []string{"amount_usd", "status"} {
				if got := cols[model][col]; got.InheritedFrom != "" {
					t.Errorf("%s.%s inherits %q from %s: computed columns and placeholders inherit nothing", model, col, got.Description, got.InheritedFrom)
				}
			}
		}
		// The provenance reaches the JSON export.
		projects, err := export.Load(context.Background(), st, orgID, 0)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := export.WriteJSON(&b, export.BuildJSON(projects, time.Now())); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), `"inheritedFrom":"source shop.orders.placed_at"`) && !strings.Contains(b.String(), `"inheritedFrom": "source shop.orders.placed_at"`) {
			t.Error("the JSON export does not show the provenance of inherited column documentation")
		}
	})
}

// TestInheritedColumnsAreNotAsked: a writer's prompt shows inherited
// columns as documented, not as tasks; an answer without them validates,
// and whatever a writer says of them (or claims as provenance) is replaced.
func TestInheritedColumnsAreNotAsked(t *testing.T) {
	st := modeldoctest.NewSQLiteStore(t)
	// The writer answers only what it is asked, and claims a provenance.
	w := newScript(func(call int, req writer.Request) (writer.Result, error, bool) {
		if req.Layer != modeldoc.LayerColumnDescriptions {
			return writer.Result{}, nil, false
		}
		var out modeldoc.ColumnDescriptionsOut
		for _, c := range req.Subject.Object.Columns {
			if c.InheritedFrom == "" {
				out.Columns = append(out.Columns, modeldoc.ColumnDescription{Name: c.Name, Description: "Written about " + c.Name + ".",
					Lineage: "derived", InheritedFrom: "source made.up.claim"})
			}
		}
		b, _ := json.Marshal(out)
		return writer.Result{Content: string(b), Model: "m", FinishReason: "stop"}, nil, true
	})
	_, plans, cols := documentShop(t, st, w)
	reqs := w.requests(modeldoc.LayerColumnDescriptions)
	if len(reqs) != 2 {
		t.Fatalf("%d column requests, want 2", len(reqs))
	}
	user := reqs[1].User // fct_orders
	for _, s := range []string{"placed_at (timestamp): When the order was placed. [inherited from source shop.orders.placed_at]",
		"(3 entries in all", `leave out the 2 marked "inherited"`} {
		if !strings.Contains(user, s) {
			t.Errorf("the fct_orders prompt lacks %q:\n%s", s, user)
		}
	}
	if n := len(plans["fct_orders"].Inherited); n != 2 {
		t.Errorf("fct_orders: %d inherited columns, want 2 (order_id, placed_at)", n)
	}
	fct := cols["fct_orders"]
	if got := fct["placed_at"]; got.Description != "When the order was placed." || got.InheritedFrom != "source shop.orders.placed_at" {
		t.Errorf("placed_at: %+v", got)
	}
	if got := fct["amount_usd"]; got.Description != "Written about amount_usd." || got.InheritedFrom != "" {
		t.Errorf("amount_usd: %+v: a writer's provenance claim must not be stored", got)
	}
	if got := fct["customer_id"]; got.Description != "Buyer." {
		t.Errorf("customer_id: %+v, want the human text", got)
	}
}
