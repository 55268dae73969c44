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
	return documentCatalog(t, st, w, shopCatalog(), "stg_orders", "fct_orders")
}

// documentCatalog imports cat and documents the models named, in that
// order, with w.
func documentCatalog(t *testing.T, st *store.Store, w writer.Writer, cat *modeldoc.Catalog, names ...string) (orgID int64, plans map[string]*generate.Plan, cols map[string]map[string]modeldoc.ColumnDescription) {
	t.Helper()
	ctx := context.Background()
	org, err := st.EnsureDefaultOrganization(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportCatalog(ctx, org.ID, cat); err != nil {
		t.Fatal(err)
	}
	svc := newService(t, st)
	plans = map[string]*generate.Plan{}
	cols = map[string]map[string]modeldoc.ColumnDescription{}
	for _, name := range names {
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
		out := modeldoc.ColumnDescriptionsOut{Confidence: modeldoc.ConfidenceHigh}
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
	for _, s := range []string{"placed_at (timestamp) ← stg_orders.placed_at: When the order was placed. [inherited from source shop.orders.placed_at]",
		// Its own human-written column is context too: 2 of 5 are asked.
		"## Columns to describe (2)\n- amount_usd (numeric)\n- status (text)\n", "(2 entries in all", "documented already"} {
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

// TestNearestHumanTextWins is Tuva's shape: core documents patient_id one
// way, the quality-measures area another. A measure model passes
// patient_id through from a staging model that only inherited core's
// text, joined on patient_id to a denominator whose own YAML documents it;
// it also re-stamps the run time, which its upstreams document
// differently. The nearer text, the one the team wrote for this area, is
// the one given, in both cases.
func TestNearestHumanTextWins(t *testing.T) {
	col := func(name, text string) modeldoc.Column {
		return modeldoc.Column{Name: name, Description: text, HumanDescription: text != "", Declared: true}
	}
	core := modeldoc.Object{UniqueID: "model.t.core_patient", Type: modeldoc.TypeModel, Name: "core_patient",
		RawSQL: "select 1 as patient_id, now() as run_at", Columns: []modeldoc.Column{
			col("patient_id", "Unique identifier for each person across all datasets."),
			col("run_at", "The last time the data was refreshed.")}}
	stg := modeldoc.Object{UniqueID: "model.t.qm_stg_patient", Type: modeldoc.TypeModel, Name: "qm_stg_patient",
		RawSQL: "select patient_id, run_at from {{ ref('core_patient') }}", Columns: []modeldoc.Column{col("patient_id", ""), col("run_at", "")}}
	den := modeldoc.Object{UniqueID: "model.t.qm_denominator", Type: modeldoc.TypeModel, Name: "qm_denominator",
		RawSQL: "select patient_id, 1 as denominator_flag, '2024-02-22' as run_at from {{ ref('qm_stg_patient') }}", Columns: []modeldoc.Column{
			col("patient_id", "Unique patient_id for each person."), col("denominator_flag", "1 when in the denominator."),
			col("run_at", "The date and timestamp of the dbt run.")}}
	long := modeldoc.Object{UniqueID: "model.t.qm_long", Type: modeldoc.TypeModel, Name: "qm_long",
		RawSQL: `select patient.patient_id, denominator.denominator_flag, '2024-02-22' as run_at
from {{ ref('qm_stg_patient') }} as patient
left join {{ ref('qm_denominator') }} as denominator on patient.patient_id = denominator.patient_id`,
		Columns: []modeldoc.Column{col("patient_id", ""), col("denominator_flag", ""), col("run_at", "")}}
	// A model that reads both but joins on another key keeps the lineage's text.
	other := modeldoc.Object{UniqueID: "model.t.qm_other", Type: modeldoc.TypeModel, Name: "qm_other",
		RawSQL: `select patient.patient_id from {{ ref('qm_stg_patient') }} as patient
join {{ ref('qm_denominator') }} as d on patient.run_at = d.run_at`,
		Columns: []modeldoc.Column{col("patient_id", "")}}
	cat := &modeldoc.Catalog{ProjectName: "t", Source: "manifest", Path: "/t/manifest.json",
		Objects: []modeldoc.Object{core, stg, den, long, other},
		Edges: []modeldoc.Edge{{Upstream: core.UniqueID, Downstream: stg.UniqueID}, {Upstream: stg.UniqueID, Downstream: den.UniqueID},
			{Upstream: stg.UniqueID, Downstream: long.UniqueID}, {Upstream: den.UniqueID, Downstream: long.UniqueID},
			{Upstream: stg.UniqueID, Downstream: other.UniqueID}, {Upstream: den.UniqueID, Downstream: other.UniqueID}}}
	_, _, cols := documentCatalog(t, modeldoctest.NewSQLiteStore(t), offlinewriter.New(), cat,
		"core_patient", "qm_stg_patient", "qm_denominator", "qm_long", "qm_other")
	want := map[string]map[string][2]string{
		"qm_stg_patient": {"patient_id": {"Unique identifier for each person across all datasets.", "model core_patient.patient_id"}},
		"qm_long": {
			"patient_id":       {"Unique patient_id for each person.", "model qm_denominator.patient_id"},
			"denominator_flag": {"1 when in the denominator.", "model qm_denominator.denominator_flag"},
			"run_at":           {"The date and timestamp of the dbt run.", "model qm_denominator.run_at"},
		},
		"qm_other": {"patient_id": {"Unique identifier for each person across all datasets.", "model core_patient.patient_id"}},
	}
	for model, wc := range want {
		for c, w := range wc {
			if got := cols[model][c]; got.Description != w[0] || got.InheritedFrom != w[1] {
				t.Errorf("%s.%s: %q (inherited from %q), want %q (inherited from %q)", model, c, got.Description, got.InheritedFrom, w[0], w[1])
			}
		}
	}
}

// TestShortColumnListDoesNotStopInheritance is GitLab's dim_crm_account:
// an upstream passes every column of its source through a star, but its
// documentation lists only those it could name; a column the downstream
// reads from it by name, which that list lacks, still passes through, and
// takes the text documented elsewhere up the lineage (rather than being
// taken for a computed column).
func TestShortColumnListDoesNotStopInheritance(t *testing.T) {
	acct := modeldoc.Object{UniqueID: "source.t.crm.account", Type: modeldoc.TypeSource, Name: "account",
		Columns: []modeldoc.Column{{Name: "id", Description: "Account key.", HumanDescription: true, Declared: true}}}
	snap := modeldoc.Object{UniqueID: "source.t.crm.account_snapshot", Type: modeldoc.TypeSource, Name: "account_snapshot",
		Columns: []modeldoc.Column{{Name: "id", Declared: true}, {Name: "segment", Description: "The account's 6QA segment.", HumanDescription: true, Declared: true}}}
	prep := modeldoc.Object{UniqueID: "model.t.prep_account", Type: modeldoc.TypeModel, Name: "prep_account",
		RawSQL: "select * from {{ source('crm', 'account') }}"}
	hist := modeldoc.Object{UniqueID: "model.t.account_history", Type: modeldoc.TypeModel, Name: "account_history",
		RawSQL: "select id, segment from {{ source('crm', 'account_snapshot') }}"}
	dim := modeldoc.Object{UniqueID: "model.t.dim_account", Type: modeldoc.TypeModel, Name: "dim_account",
		RawSQL: `with prep_account as (select * from {{ ref('prep_account') }}),
history as (select * from {{ ref('account_history') }})
select prep_account.id, prep_account.segment from prep_account left join history on prep_account.id = history.id`}
	cat := &modeldoc.Catalog{ProjectName: "t", Source: "manifest", Path: "/t/manifest.json",
		Objects: []modeldoc.Object{acct, snap, prep, hist, dim},
		Edges: []modeldoc.Edge{{Upstream: acct.UniqueID, Downstream: prep.UniqueID}, {Upstream: snap.UniqueID, Downstream: hist.UniqueID},
			{Upstream: prep.UniqueID, Downstream: dim.UniqueID}, {Upstream: hist.UniqueID, Downstream: dim.UniqueID}}}
	_, _, cols := documentCatalog(t, modeldoctest.NewSQLiteStore(t), offlinewriter.New(), cat, "prep_account", "account_history", "dim_account")
	if _, listed := cols["prep_account"]["segment"]; listed {
		t.Fatal("prep_account's documentation lists segment: the case is not built")
	}
	if got := cols["dim_account"]["segment"]; got.Description != "The account's 6QA segment." {
		t.Errorf("dim_account.segment: %q (inherited from %q), want the snapshot's text", got.Description, got.InheritedFrom)
	}
	if got := cols["dim_account"]["id"]; got.Description != "Account key." {
		t.Errorf("dim_account.id: %q", got.Description)
	}
}
