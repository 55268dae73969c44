package dbt_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/dbt"
)

// manifestOfVersion builds a small manifest in the shape of schema v: raw_sql
// and compiled_sql up to v6, raw_code and compiled_code from v7, and
// attached_node on tests from v7.
func manifestOfVersion(v int) string {
	raw, compiled := "raw_code", "compiled_code"
	if v <= 6 {
		raw, compiled = "raw_sql", "compiled_sql"
	}
	attached := `, "attached_node": "model.p.b"`
	if v < 7 {
		attached = ""
	}
	return fmt.Sprintf(`{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v%d.json", "dbt_version": "1.x"},
 "nodes": {
  "model.p.a": {"unique_id": "model.p.a", "name": "a", "resource_type": "model", "package_name": "p", "root_path": "/proj",
    "%s": "select 1 as id", "%s": "select 1 as id", "config": {"materialized": "view"}, "columns": {}, "depends_on": {"nodes": []}, "tags": ["x"]},
  "model.p.b": {"unique_id": "model.p.b", "name": "b", "resource_type": "model", "package_name": "p", "description": "B.",
    "%s": "select * from {{ ref('a') }}", "config": {"materialized": "table"},
    "columns": {"ID": {"name": "ID", "description": "Key."}, "note": {"name": "note"}},
    "depends_on": {"nodes": ["model.p.a", "seed.p.s", "macro.p.m"]}, "meta": {"owner": "me"}},
  "seed.p.s": {"unique_id": "seed.p.s", "name": "s", "resource_type": "seed", "package_name": "p", "config": {"materialized": "seed"}},
  "analysis.p.z": {"unique_id": "analysis.p.z", "name": "z", "resource_type": "analysis", "package_name": "p", "depends_on": {"nodes": ["model.p.b"]}},
  "test.p.unique_b_id": {"resource_type": "test", "column_name": "id", "test_metadata": {"name": "unique", "kwargs": {"model": "{{ get_where_subquery(ref('b')) }}"}},
    "depends_on": {"nodes": ["model.p.b"]}%s},
  "test.p.rel_b_id": {"resource_type": "test", "column_name": "ID", "test_metadata": {"name": "relationships", "kwargs": {"model": "{{ get_where_subquery(ref('b')) }}", "to": "ref('a')"}},
    "depends_on": {"nodes": ["model.p.a", "model.p.b"]}%s}
 },
 "sources": {"source.p.raw.t": {"unique_id": "source.p.raw.t", "name": "t", "resource_type": "source", "package_name": "p", "schema": "raw", "database": null}}}`,
		v, raw, compiled, raw, attached, attached)
}

const catalogSmall = `{"nodes": {"model.p.b": {"columns": {"EXTRA": {"name": "EXTRA", "type": "TEXT", "index": 3}, "id": {"name": "id", "type": "NUMBER", "index": 1}, "NOTE": {"name": "NOTE", "type": "TEXT", "index": 2}}}},
 "sources": {"source.p.raw.t": {"columns": {"c": {"name": "c", "type": "INT", "index": 1}}}}}`

func TestManifestVersions(t *testing.T) {
	for v := 4; v <= 12; v++ {
		t.Run(fmt.Sprint("v", v), func(t *testing.T) {
			c, err := dbt.ParseManifest([]byte(manifestOfVersion(v)), []byte(catalogSmall), "manifest.json")
			if err != nil {
				t.Fatal(err)
			}
			checkCatalogIntegrity(t, c)
			if len(c.Objects) != 4 || c.ProjectName != "p" {
				t.Fatalf("objects %d project %q", len(c.Objects), c.ProjectName)
			}
			b := c.Objects[1]
			if b.UniqueID != "model.p.b" || b.RawSQL == "" || b.Materialization != "table" || b.Meta["owner"] != "me" {
				t.Errorf("model b: %+v", b)
			}
			var cols []string
			for _, col := range b.Columns {
				cols = append(cols, fmt.Sprintf("%s:%s:%v:%v:%s", col.Name, col.DataType, col.Declared, col.HumanDescription, strings.Join(col.Tests, "+")))
			}
			want := "ID:NUMBER:true:true:relationships+unique note:TEXT:true:false: EXTRA:TEXT:false:false:"
			if got := strings.Join(cols, " "); got != want {
				t.Errorf("columns\n got %s\nwant %s", got, want)
			}
			if a := c.Objects[0]; a.CompiledSQL != "select 1 as id" || len(a.Tags) != 1 {
				t.Errorf("model a: %+v", a)
			}
			wantEdges := []modeldoc.Edge{{Upstream: "model.p.a", Downstream: "model.p.b"}, {Upstream: "seed.p.s", Downstream: "model.p.b"}}
			if fmt.Sprint(c.Edges) != fmt.Sprint(wantEdges) {
				t.Errorf("edges %v, want %v", c.Edges, wantEdges)
			}
			if src := c.Objects[3]; src.Type != modeldoc.TypeSource || len(src.Columns) != 1 || src.Columns[0].DataType != "INT" {
				t.Errorf("source: %+v", src)
			}
		})
	}
}

// FuzzParseManifest: no input may panic the manifest importer, and every
// failure is an *modeldoc.Error a user can read.
func FuzzParseManifest(f *testing.F) {
	for v := 3; v <= 13; v++ {
		m := manifestOfVersion(v)
		f.Add([]byte(m), []byte(catalogSmall))
		f.Add([]byte(m[:len(m)*2/3]), []byte(nil))
	}
	f.Add([]byte(validManifest), []byte(`{"nodes": {"model.shop.orders": {"columns": {"x": 1}}}}`))
	f.Add([]byte(`{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v9.json"}, "nodes": {"a": null, "b": {"resource_type": "test", "column_name": "", "test_metadata": {}}}}`), []byte(nil))
	f.Add([]byte(`{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v10.json"}, "nodes": {"m": {"resource_type": "model", "columns": [1, 2], "tags": "one"}}}`), []byte(nil))
	f.Add([]byte(`{"metadata": {"dbt_schema_version": 12}}`), []byte(nil))
	f.Add([]byte(`[]`), []byte(nil))
	f.Add([]byte(``), []byte(``))
	f.Add([]byte("\xff\xfe{"), []byte(nil))
	f.Fuzz(func(t *testing.T, manifest, catalog []byte) {
		c, err := dbt.ParseManifest(manifest, catalog, "manifest.json")
		if err != nil {
			if modeldoc.ErrorCode(err) == modeldoc.EINTERNAL {
				t.Fatalf("internal error for bad input: %v", err)
			}
			return
		}
		ids := map[string]bool{}
		for _, o := range c.Objects {
			ids[o.UniqueID] = true
		}
		for _, e := range c.Edges {
			if !ids[e.Upstream] || !ids[e.Downstream] {
				t.Fatalf("dangling edge %v", e)
			}
		}
	})
}
