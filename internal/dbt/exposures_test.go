package dbt_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/dbt"
)

// TestExposuresFromYAML: a raw project's exposures are read with their
// depends_on resolved as refs are; what names nothing, or is not a ref or
// a source, is a warning and is left out of the exposure's reads.
func TestExposuresFromYAML(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"dbt_project.yml":   "name: shop\n",
		"models/orders.sql": "select 1 as order_id from {{ source('app', 'orders') }}",
		"models/off.sql":    "{{ config(enabled=false) }} select 1 as x",
		"models/props.yml": `version: 2
sources:
  - name: app
    tables: [{name: orders}]
exposures:
  - name: revenue
    label: Revenue by day
    type: dashboard
    maturity: high
    url: https://bi.example.com/revenue
    description: "{{ doc('revenue_doc') }}"
    owner: {name: Finance, email: finance@example.com}
    depends_on:
      - ref('orders')
      - source('app', 'orders')
      - ref('orders')
      - ref('missing')
      - ref('off')
      - metric('mrr')
  - name: notebook
    type: notebook
    owner: {email: ana@example.com}
    depends_on: [ "ref('orders')" ]
`,
		"models/docs.md": "{% docs revenue_doc %}The CFO's daily revenue view.{% enddocs %}",
	})
	c, err := dbt.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []modeldoc.Exposure{
		{UniqueID: "exposure.shop.notebook", Name: "notebook", Type: "notebook", Owner: "ana@example.com", DependsOn: []string{"model.shop.orders"}},
		{UniqueID: "exposure.shop.revenue", Name: "revenue", Label: "Revenue by day", Type: "dashboard", Maturity: "high",
			Owner: "Finance", URL: "https://bi.example.com/revenue", Description: "The CFO's daily revenue view.",
			DependsOn: []string{"model.shop.orders", "source.shop.app.orders"}},
	}
	if !reflect.DeepEqual(c.Exposures, want) {
		t.Errorf("exposures:\n got %+v\nwant %+v", c.Exposures, want)
	}
	warned := strings.Join(c.Warnings, "\n")
	for _, w := range []string{"exposure revenue", "missing", "off", "metric('mrr')"} {
		if !strings.Contains(warned, w) {
			t.Errorf("no warning naming %q:\n%s", w, warned)
		}
	}
}

// TestExposuresFromManifest: a manifest's exposures keep the reads the
// catalog holds (a metric is not an object) and their owner's name, else
// the email.
func TestExposuresFromManifest(t *testing.T) {
	manifest := `{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json", "project_name": "shop"},
	"nodes": {"model.shop.orders": {"unique_id": "model.shop.orders", "name": "orders", "resource_type": "model", "package_name": "shop",
		"schema": "main", "raw_code": "select 1 as order_id", "original_file_path": "models/orders.sql", "depends_on": {"nodes": []}}},
	"sources": {},
	"exposures": {
		"exposure.shop.revenue": {"unique_id": "exposure.shop.revenue", "name": "revenue", "resource_type": "exposure", "type": "dashboard",
			"label": "Revenue", "maturity": "medium", "url": "https://bi.example.com/r", "description": "Daily revenue.",
			"owner": {"email": "fin@example.com", "name": null},
			"depends_on": {"macros": [], "nodes": ["model.shop.orders", "metric.shop.mrr", "model.shop.orders"]}}
	}}`
	c, err := dbt.ParseManifest([]byte(manifest), nil, "manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	want := []modeldoc.Exposure{{UniqueID: "exposure.shop.revenue", Name: "revenue", Label: "Revenue", Type: "dashboard", Maturity: "medium",
		Owner: "fin@example.com", URL: "https://bi.example.com/r", Description: "Daily revenue.", DependsOn: []string{"model.shop.orders"}}}
	if !reflect.DeepEqual(c.Exposures, want) {
		t.Errorf("exposures:\n got %+v\nwant %+v", c.Exposures, want)
	}
	if len(c.Objects) != 1 {
		t.Errorf("objects = %d, want 1: an exposure is not an object to document", len(c.Objects))
	}
}
