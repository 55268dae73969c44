package dbt_test

import (
	"fmt"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/dbt"
	"github.com/modeldoc/modeldoc/internal/dbt/dbttest"
)

func objectNamed(t *testing.T, c *modeldoc.Catalog, name string) modeldoc.Object {
	t.Helper()
	for _, o := range c.Objects {
		if o.Name == name {
			return o
		}
	}
	t.Fatalf("no object %s", name)
	return modeldoc.Object{}
}

func columnNamed(t *testing.T, o modeldoc.Object, name string) modeldoc.Column {
	t.Helper()
	for _, c := range o.Columns {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("%s has no column %s", o.Name, name)
	return modeldoc.Column{}
}

// TestRawProjectTestArguments: the arguments of accepted_values and
// relationships tests, in every shape a project's YAML gives them, and the
// config that says how an incremental table is kept.
func TestRawProjectTestArguments(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"dbt_project.yml": "name: shop\n",
		"models/orders.sql": "{{ config(materialized='incremental', unique_key=['order_id', 'line'], incremental_strategy='merge') }}\n" +
			"select * from {{ ref('customers') }}",
		"models/customers.sql": "{{ config(materialized='table') }} select 1 as id",
		"models/events.sql":    "select 1 as event_id",
		"models/schema.yml": `version: 2
models:
  - name: orders
    columns:
      - name: status
        tests:
          - accepted_values:
              values: ['placed', 'shipped']
          - not_null
      - name: kind
        data_tests:
          - accepted_values:
              arguments:
                values: [a, 1]
              config:
                severity: warn
      - name: customer_id
        data_tests:
          - relationships:
              to: ref('customers')
              field: id
      - name: source_id
        tests:
          - test_name: relationships
            name: source_fk
            to: source('crm', 'contact')
            field: contact_id
      - name: dynamic_id
        tests:
          - relationships:
              to: "{{ var('target') }}"
              field: id
  - name: events
    config:
      materialized: incremental
      unique_key: [event_id, day]
      contract: {enforced: true}
`,
	})
	c, err := dbt.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	orders := objectNamed(t, c, "orders")
	cases := map[string][]modeldoc.ColumnTest{
		"status":      {{Name: "accepted_values", Values: []string{"placed", "shipped"}}},
		"kind":        {{Name: "accepted_values", Values: []string{"a", "1"}}},
		"customer_id": {{Name: "relationships", To: "customers", Field: "id"}},
		"source_id":   {{Name: "relationships", To: "crm.contact", Field: "contact_id"}},
		"dynamic_id":  nil,
	}
	for col, want := range cases {
		if got := columnNamed(t, orders, col).TestArgs; !reflect.DeepEqual(got, want) {
			t.Errorf("orders.%s test args = %+v, want %+v", col, got, want)
		}
	}
	if got, want := columnNamed(t, orders, "dynamic_id").Tests, []string{"relationships"}; !reflect.DeepEqual(got, want) {
		t.Errorf("dynamic_id tests = %v, want %v: the name stays when the arguments cannot be read", got, want)
	}
	want := &modeldoc.ObjectConfig{UniqueKey: []string{"order_id", "line"}, IncrementalStrategy: "merge"}
	if !reflect.DeepEqual(orders.Config, want) {
		t.Errorf("orders config = %+v, want %+v", orders.Config, want)
	}
	want = &modeldoc.ObjectConfig{UniqueKey: []string{"event_id", "day"}, ContractEnforced: true}
	if got := objectNamed(t, c, "events").Config; !reflect.DeepEqual(got, want) {
		t.Errorf("events config = %+v, want %+v", got, want)
	}
	if got := objectNamed(t, c, "customers").Config; got != nil {
		t.Errorf("customers config = %+v, want none", got)
	}
}

// TestManifestTestArguments reads test_metadata.kwargs from a manifest of
// our own: attached_node (v7+) and, before it, the model kwarg.
func TestManifestTestArguments(t *testing.T) {
	node := func(id, name string) string {
		return fmt.Sprintf(`%q: {"unique_id": %q, "name": %q, "resource_type": "model", "package_name": "shop", "schema": "s",
			"raw_code": "select 1", "columns": {}, "depends_on": {"nodes": []},
			"config": {"materialized": "incremental", "unique_key": ["a", "b"], "incremental_strategy": "merge", "contract": {"enforced": true}}}`, id, id, name)
	}
	manifest := `{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v8.json", "project_name": "shop"},
	"nodes": {` + node("model.shop.orders", "orders") + `, ` + node("model.shop.customers", "customers") + `,
	"test.shop.av": {"unique_id": "test.shop.av", "name": "av", "resource_type": "test", "package_name": "shop", "column_name": "status",
		"depends_on": {"nodes": ["model.shop.orders"]},
		"test_metadata": {"name": "accepted_values", "kwargs": {"values": ["placed", "shipped"], "column_name": "status", "model": "{{ get_where_subquery(ref('orders')) }}"}}},
	"test.shop.rel": {"unique_id": "test.shop.rel", "name": "rel", "resource_type": "test", "package_name": "shop", "column_name": "customer_id",
		"depends_on": {"nodes": ["model.shop.customers", "model.shop.orders"]},
		"test_metadata": {"name": "relationships", "kwargs": {"to": "ref('customers')", "field": "id", "column_name": "customer_id", "model": "{{ get_where_subquery(ref('orders')) }}"}}}
	}, "sources": {}}`
	catalog := `{"nodes": {"model.shop.orders": {"columns": {"status": {"name": "status", "type": "text", "index": 1}, "customer_id": {"name": "customer_id", "type": "int", "index": 2}}}}}`
	dir := writeTree(t, map[string]string{"manifest.json": manifest, "catalog.json": catalog})
	c, err := dbt.LoadManifest(filepath.Join(dir, "manifest.json"), filepath.Join(dir, "catalog.json"))
	if err != nil {
		t.Fatal(err)
	}
	orders := objectNamed(t, c, "orders")
	if got, want := columnNamed(t, orders, "status").TestArgs, []modeldoc.ColumnTest{{Name: "accepted_values", Values: []string{"placed", "shipped"}}}; !reflect.DeepEqual(got, want) {
		t.Errorf("status = %+v, want %+v", got, want)
	}
	if got, want := columnNamed(t, orders, "customer_id").TestArgs, []modeldoc.ColumnTest{{Name: "relationships", To: "customers", Field: "id"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("customer_id = %+v, want %+v", got, want)
	}
	if got, want := orders.Config, (&modeldoc.ObjectConfig{UniqueKey: []string{"a", "b"}, IncrementalStrategy: "merge", ContractEnforced: true}); !reflect.DeepEqual(got, want) {
		t.Errorf("config = %+v, want %+v", got, want)
	}
}

// TestDatasetTestArguments: the real manifests' test arguments and config.
func TestDatasetTestArguments(t *testing.T) {
	root := dbttest.Dir(t)
	load := func(rel string) *modeldoc.Catalog {
		c, err := dbt.LoadManifest(filepath.Join(root, rel), "")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	classic := load("yu-iskw__dbt-artifacts-parser/jaffle_shop_classic_dbt-1.4/manifest.json")
	orders := objectNamed(t, classic, "orders")
	if got, want := columnNamed(t, orders, "status").TestArgs, []modeldoc.ColumnTest{{Name: "accepted_values", Values: []string{"placed", "shipped", "completed", "return_pending", "returned"}}}; !reflect.DeepEqual(got, want) {
		t.Errorf("jaffle_shop classic orders.status = %+v, want %+v", got, want)
	}
	if got, want := columnNamed(t, orders, "customer_id").TestArgs, []modeldoc.ColumnTest{{Name: "relationships", To: "customers", Field: "customer_id"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("jaffle_shop classic orders.customer_id = %+v, want %+v", got, want)
	}
	modern := load("yu-iskw__dbt-artifacts-parser/jaffle_shop_dbt-1.12/manifest.json")
	if got, want := columnNamed(t, objectNamed(t, modern, "stg_order_items"), "order_id").TestArgs, []modeldoc.ColumnTest{{Name: "relationships", To: "stg_orders", Field: "order_id"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("jaffle_shop 1.12 stg_order_items.order_id = %+v, want %+v", got, want)
	}
	hub := load("fivetran__dbt_hubspot/manifest.json")
	if got, want := objectNamed(t, hub, "hubspot__daily_ticket_history").Config, (&modeldoc.ObjectConfig{UniqueKey: []string{"ticket_day_id"}, IncrementalStrategy: "delete+insert"}); !reflect.DeepEqual(got, want) {
		t.Errorf("hubspot__daily_ticket_history config = %+v, want %+v", got, want)
	}
	tuva := load("tuva-health__tuva/manifest.json")
	if got, want := columnNamed(t, objectNamed(t, tuva, "quality_measures__stg_core__patient"), "sex").TestArgs, []modeldoc.ColumnTest{{Name: "accepted_values", Values: []string{"female", "male", "unknown"}}}; !reflect.DeepEqual(got, want) {
		t.Errorf("tuva quality_measures__stg_core__patient.sex = %+v, want %+v", got, want)
	}
}
