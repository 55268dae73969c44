package dbt_test

import (
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/dbt"
)

func TestProjectFeatures(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"dbt_project.yml": `name: shop
model-paths: ["transform"]
models:
  shop:
    +materialized: table
    staging:
      +materialized: view
      +schema: stg
`,
		"transform/staging/stg_orders.sql":    "-- depends_on: {{ ref('stg_customers') }}\n{# {{ ref('commented_out') }} #}\nselect * from {{ source('raw', 'orders') }}\n{% raw %}{{ ref('not_jinja') }}{% endraw %}",
		"transform/staging/stg_customers.sql": `select * from {{ source("raw", "customers") }} where x = '}}'`,
		"transform/orders.sql":                "{{ config(materialized='incremental', tags=['a']) }}\nselect * from {{ ref(\"stg_orders\") }} join {{ ref('shop', 'stg_customers') }} join {{ ref('dim', v=2) }} join {{ ref('countries') }}",
		"transform/dim_v1.sql":                "select 1",
		"transform/dim_v2.sql":                "select 2",
		"transform/dynamic.sql":               "select * from {{ ref(var('which')) }}",
		"transform/schema.yml": `version: 2
models:
  - name: orders
    description: '{{ doc("orders") }}'
    columns:
      - name: order_id
        description: "{{ doc('order_id') }} Always set."
        data_tests: [unique, not_null]
      - name: status
        tests:
          - accepted_values: {values: [a, b]}
          - dbt_utils.not_empty_string
      - name: missing_doc
        description: '{{ doc("nowhere") }}'
      - name: literal
        description: '{{ ("Rendered as the string.") }}'
  - name: dim
    latest_version: 1
    versions:
      - v: 1
      - v: 2
sources:
  - name: raw
    tables:
      - name: orders
        description: Raw orders.
      - name: customers
`,
		"docs/orders.md":      "{% docs orders %}\nOne row per **order**.\n{% enddocs %}\n\n{% docs order_id %}The key.{% enddocs %}",
		"seeds/countries.csv": "code,name\n",
		"snapshots/snap.sql":  "{% snapshot orders_snapshot %}\n{{ config(unique_key='order_id') }}\nselect * from {{ ref('orders') }}\n{% endsnapshot %}",
	})
	c, err := dbt.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkCatalogIntegrity(t, c)
	byID := map[string]modeldoc.Object{}
	for _, o := range c.Objects {
		byID[o.UniqueID] = o
	}
	o := byID["model.shop.orders"]
	if o.Description != "One row per **order**." || o.Materialization != "incremental" {
		t.Errorf("orders: description %q materialization %q", o.Description, o.Materialization)
	}
	var cols []string
	for _, col := range o.Columns {
		cols = append(cols, col.Name+"="+col.Description+"|"+strings.Join(col.Tests, ","))
	}
	if got, want := strings.Join(cols, ";"), `order_id=The key. Always set.|not_null,unique;status=|accepted_values,not_empty_string;missing_doc={{ doc("nowhere") }}|;literal=Rendered as the string.|`; got != want {
		t.Errorf("columns\n got %s\nwant %s", got, want)
	}
	if s := byID["model.shop.stg_orders"]; s.Materialization != "view" || s.Schema != "stg" {
		t.Errorf("stg_orders: %q %q", s.Materialization, s.Schema)
	}
	if byID["model.shop.dim.v1"].Name != "dim" || byID["model.shop.dim.v2"].Name != "dim" {
		t.Errorf("versioned models missing: %v", modelIDs(c))
	}
	if s := byID["snapshot.shop.orders_snapshot"]; !strings.HasPrefix(s.RawSQL, "{{ config") {
		t.Errorf("snapshot: %+v", s)
	}
	edges := map[string]bool{}
	for _, e := range c.Edges {
		edges[e.Upstream+" -> "+e.Downstream] = true
	}
	want := map[string]bool{
		"model.shop.stg_customers -> model.shop.stg_orders":     true, // a ref in an SQL comment is rendered by dbt
		"source.shop.raw.orders -> model.shop.stg_orders":       true,
		"source.shop.raw.customers -> model.shop.stg_customers": true,
		"model.shop.stg_orders -> model.shop.orders":            true,
		"model.shop.stg_customers -> model.shop.orders":         true,
		"model.shop.dim.v2 -> model.shop.orders":                true,
		"seed.shop.countries -> model.shop.orders":              true,
		"model.shop.orders -> snapshot.shop.orders_snapshot":    true,
	}
	if d1, d2 := diff(edges, want), diff(want, edges); len(d1)+len(d2) > 0 {
		t.Errorf("edges: unexpected %v, missing %v", d1, d2)
	}
	warnings := strings.Join(c.Warnings, "\n")
	for _, w := range []string{`doc("nowhere")`, "transform/dynamic.sql line 1: ref() with an argument that is not a literal"} {
		if !strings.Contains(warnings, w) {
			t.Errorf("warnings lack %q:\n%s", w, warnings)
		}
	}
	if strings.Contains(warnings, "commented_out") || strings.Contains(warnings, "not_jinja") {
		t.Errorf("refs in Jinja comments or raw blocks were read:\n%s", warnings)
	}
}

// TestDictConfig: dbt reads {{ config({...}) }} exactly like keyword
// arguments, so a disabled model written that way is not imported and the
// others keep their materialization, schema and tags.
func TestDictConfig(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"dbt_project.yml": "name: shop\n",
		"models/events.sql": `{{ config({"materialized": "incremental", "schema": "product", "alias": "events_all",
    "unique_key": "event_id", "tags": ["daily", 'core']}) }}
select * from {{ ref('stg_events') }}`,
		"models/old_events.sql": `{{ config({'enabled': false, "materialized": "table"}) }}
select * from {{ ref('stg_events') }}`,
		"models/stg_events.sql": `{{ config(materialized='table', tags='staging') }} select 1 as event_id`,
	})
	c, err := dbt.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]modeldoc.Object{}
	for _, o := range c.Objects {
		got[o.Name] = o
	}
	if _, ok := got["old_events"]; ok {
		t.Error("old_events is disabled with config({'enabled': false}) but was imported")
	}
	ev := got["events"]
	if ev.Materialization != "incremental" || ev.Schema != "product" || strings.Join(ev.Tags, ",") != "core,daily" {
		t.Errorf("events: materialization %q, schema %q, tags %v; want incremental, product, [core daily]", ev.Materialization, ev.Schema, ev.Tags)
	}
	if st := got["stg_events"]; st.Materialization != "table" || strings.Join(st.Tags, ",") != "staging" {
		t.Errorf("stg_events: materialization %q, tags %v; want table, [staging]", st.Materialization, st.Tags)
	}
	found := false
	for _, w := range c.Warnings {
		found = found || strings.Contains(w, "old_events is disabled")
	}
	if !found {
		t.Errorf("no warning about the disabled model: %v", c.Warnings)
	}
}

// TestSimpleCTELineage: a model whose import CTEs come from GitLab's
// simple_cte macro depends on every model the macro's pairs name.
func TestSimpleCTELineage(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"dbt_project.yml": "name: shop\n",
		"models/report.sql": `{{ simple_cte([
    ('orders', 'stg_orders'),
    ("customers", "stg_customers")
]) }}
, final AS (SELECT * FROM orders JOIN customers USING (customer_id))
SELECT * FROM final`,
		"models/stg_orders.sql":    "select 1 as customer_id",
		"models/stg_customers.sql": "select 1 as customer_id",
	})
	c, err := dbt.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range c.Edges {
		if e.Downstream == "model.shop.report" {
			got = append(got, e.Upstream)
		}
	}
	if strings.Join(got, ",") != "model.shop.stg_customers,model.shop.stg_orders" {
		t.Errorf("report's upstreams: %v, want stg_customers and stg_orders", got)
	}
}
