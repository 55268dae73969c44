package dbt_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/dbt"
)

// writeTree writes files (path -> content) under a temporary folder.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const validManifest = `{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json", "dbt_version": "1.8.0", "project_name": "shop"},
 "nodes": {
  "model.shop.orders": {"unique_id": "model.shop.orders", "name": "orders", "resource_type": "model", "package_name": "shop",
    "raw_code": "select * from {{ ref('stg_orders') }}", "compiled_code": "select * from stg_orders", "description": "One row per order.",
    "config": {"materialized": "table"}, "columns": {"order_id": {"name": "order_id", "description": "Key."}, "status": {"name": "status", "description": ""}},
    "depends_on": {"nodes": ["model.shop.stg_orders"]}},
  "model.shop.stg_orders": {"unique_id": "model.shop.stg_orders", "name": "stg_orders", "resource_type": "model", "package_name": "shop",
    "raw_code": "select 1", "config": {"materialized": "view"}, "columns": {}, "depends_on": {"nodes": []}},
  "test.shop.not_null_orders_order_id.1": {"resource_type": "test", "column_name": "order_id", "attached_node": "model.shop.orders",
    "test_metadata": {"name": "not_null"}, "depends_on": {"nodes": ["model.shop.orders"]}}
 },
 "sources": {}}`

const projectYML = "name: shop\nversion: '1.0'\nconfig-version: 2\n"

func TestBadInput(t *testing.T) {
	cases := []struct {
		name  string
		load  func(t *testing.T) (*modeldoc.Catalog, error)
		code  string   // expected error code; "" for success
		parts []string // substrings of the error message, or of a warning on success
	}{
		{"not JSON", func(t *testing.T) (*modeldoc.Catalog, error) {
			dir := writeTree(t, map[string]string{"manifest.json": "<html>not a manifest</html>"})
			return dbt.Load(dir)
		}, modeldoc.EINVALID, []string{"manifest.json", "is not JSON", "line 1"}},
		{"truncated manifest", func(t *testing.T) (*modeldoc.Catalog, error) {
			dir := writeTree(t, map[string]string{"target/manifest.json": validManifest[:len(validManifest)/2]})
			return dbt.Load(dir)
		}, modeldoc.EINVALID, []string{"manifest.json", "truncated", "line 5"}},
		{"invalid JSON mid-file", func(t *testing.T) (*modeldoc.Catalog, error) {
			return dbt.ParseManifest([]byte("{\"metadata\": {\n\"dbt_schema_version\": x}}"), nil, "upload.json")
		}, modeldoc.EINVALID, []string{"upload.json", "line 2", "column"}},
		{"unknown schema version", func(t *testing.T) (*modeldoc.Catalog, error) {
			m := strings.Replace(validManifest, "v12.json", "v13.json", 1)
			return dbt.ParseManifest([]byte(m), nil, "manifest.json")
		}, modeldoc.EUNSUPPORTED, []string{"v13", "v4 through v12"}},
		{"not a manifest", func(t *testing.T) (*modeldoc.Catalog, error) {
			return dbt.ParseManifest([]byte(`{"nodes": {}}`), nil, "manifest.json")
		}, modeldoc.EINVALID, []string{"dbt_schema_version"}},
		{"wrong shape", func(t *testing.T) (*modeldoc.Catalog, error) {
			return dbt.ParseManifest([]byte(`{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v8.json"}, "nodes": [1]}`), nil, "manifest.json")
		}, modeldoc.EINVALID, []string{"manifest.json", "nodes"}},
		{"broken catalog.json", func(t *testing.T) (*modeldoc.Catalog, error) {
			dir := writeTree(t, map[string]string{"manifest.json": validManifest, "catalog.json": "{\"nodes\": "})
			return dbt.Load(dir)
		}, modeldoc.EINVALID, []string{"catalog.json", "truncated"}},
		{"empty folder", func(t *testing.T) (*modeldoc.Catalog, error) {
			return dbt.Load(t.TempDir())
		}, modeldoc.EINVALID, []string{"manifest.json", "target/", "dbt_project.yml"}},
		{"missing path", func(t *testing.T) (*modeldoc.Catalog, error) {
			return dbt.Load(filepath.Join(t.TempDir(), "nope"))
		}, modeldoc.EINVALID, []string{"does not exist"}},
		{"YAML syntax error", func(t *testing.T) (*modeldoc.Catalog, error) {
			dir := writeTree(t, map[string]string{
				"dbt_project.yml":   projectYML,
				"models/a.sql":      "select 1",
				"models/schema.yml": "version: 2\nmodels:\n  - name: a\n    description: one: two\n",
			})
			return dbt.Load(dir)
		}, modeldoc.EINVALID, []string{"models/schema.yml", "line 4", "mapping values"}},
		{"YAML syntax error in dbt_project.yml", func(t *testing.T) (*modeldoc.Catalog, error) {
			dir := writeTree(t, map[string]string{"dbt_project.yml": "name: shop\n  bad: : indent\n"})
			return dbt.LoadProject(dir)
		}, modeldoc.EINVALID, []string{"dbt_project.yml", "line 2"}},
		{"unbalanced Jinja expression", func(t *testing.T) (*modeldoc.Catalog, error) {
			dir := writeTree(t, map[string]string{
				"dbt_project.yml":      projectYML,
				"models/staging/a.sql": "select *\nfrom {{ ref('b') \nwhere 1 = 1\n",
				"models/b.sql":         "select 1",
			})
			return dbt.Load(dir)
		}, modeldoc.EINVALID, []string{"models/staging/a.sql", "line 2", "{{ is never closed with }}"}},
		{"unbalanced Jinja statement", func(t *testing.T) (*modeldoc.Catalog, error) {
			dir := writeTree(t, map[string]string{
				"dbt_project.yml": projectYML,
				"models/a.sql":    "select 1\n\n{% if true \nselect 2",
			})
			return dbt.Load(dir)
		}, modeldoc.EINVALID, []string{"a.sql", "line 3", "{%"}},
		{"ref to a missing model", func(t *testing.T) (*modeldoc.Catalog, error) {
			dir := writeTree(t, map[string]string{
				"dbt_project.yml": projectYML,
				"models/a.sql":    "select * from {{ ref('b') }}\njoin {{ ref('ghost') }}",
				"models/b.sql":    "select 1",
			})
			c, err := dbt.Load(dir)
			if err == nil && len(c.Edges) != 1 {
				t.Errorf("edges %v, want only b -> a", c.Edges)
			}
			return c, err
		}, "", []string{"models/a.sql line 2", "ref('ghost')"}},
		{"duplicate names in one project", func(t *testing.T) (*modeldoc.Catalog, error) {
			dir := writeTree(t, map[string]string{
				"dbt_project.yml":  projectYML,
				"models/x/dup.sql": "select 1",
				"models/y/dup.sql": "select 2",
			})
			c, err := dbt.Load(dir)
			if err == nil && len(c.Objects) != 1 {
				t.Errorf("objects %d, want 1", len(c.Objects))
			}
			return c, err
		}, "", []string{"dup", "defined twice"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.load(t)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				all := strings.Join(c.Warnings, "\n")
				for _, p := range tc.parts {
					if !strings.Contains(all, p) {
						t.Errorf("warnings lack %q:\n%s", p, all)
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %s", tc.code)
			}
			if got := modeldoc.ErrorCode(err); got != tc.code {
				t.Errorf("code %q, want %q (%v)", got, tc.code, err)
			}
			for _, p := range tc.parts {
				if !strings.Contains(err.Error(), p) {
					t.Errorf("message lacks %q: %v", p, err)
				}
			}
		})
	}
}

// TestDuplicateNamesAcrossPackages: two packages may each have a model
// "customers"; both are kept, and a ref resolves in the caller's package
// first, then with an explicit package.
func TestDuplicateNamesAcrossPackages(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"dbt_project.yml":               projectYML,
		"packages.yml":                  "packages:\n  - local: ./libs/crm\n",
		"models/customers.sql":          "select * from {{ ref('crm', 'customers') }}",
		"models/report.sql":             "select * from {{ ref('customers') }}",
		"libs/crm/dbt_project.yml":      "name: crm\n",
		"libs/crm/models/customers.sql": "select * from {{ ref('accounts') }}",
		"libs/crm/models/accounts.sql":  "select 1",
	})
	c, err := dbt.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	ids := modelIDs(c)
	for _, id := range []string{"model.shop.customers", "model.crm.customers", "model.crm.accounts", "model.shop.report"} {
		if !ids[id] {
			t.Errorf("missing %s in %v", id, ids)
		}
	}
	want := map[string]bool{
		"model.crm.customers -> model.shop.customers": true,
		"model.shop.customers -> model.shop.report":   true,
		"model.crm.accounts -> model.crm.customers":   true,
	}
	if got := modelEdges(c); len(diff(got, want))+len(diff(want, got)) > 0 {
		t.Errorf("edges %v, want %v", got, want)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %v", c.Warnings)
	}
}
