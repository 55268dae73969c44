package dbt_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/dbt"
	"github.com/modeldoc/modeldoc/internal/dbt/dbttest"
)

// counts are the figures stats.json holds, computed from a Catalog.
type counts struct {
	Models, Sources, Seeds, Snapshots                    int
	ModelsWithDescription, ModelColumnsDeclared          int
	ModelColumnsWithDescription                          int
	SourcesWithDescription, SourceColumnsDeclared        int
	SourceColumnsWithDescription, ModelsWithCompiledCode int
}

func countCatalog(c *modeldoc.Catalog) counts {
	var n counts
	for _, o := range c.Objects {
		switch o.Type {
		case modeldoc.TypeModel:
			n.Models++
			if o.Description != "" {
				n.ModelsWithDescription++
			}
			if o.CompiledSQL != "" {
				n.ModelsWithCompiledCode++
			}
			for _, col := range o.Columns {
				if col.Declared {
					n.ModelColumnsDeclared++
					if col.Description != "" {
						n.ModelColumnsWithDescription++
					}
				}
			}
		case modeldoc.TypeSource:
			n.Sources++
			if o.Description != "" {
				n.SourcesWithDescription++
			}
			for _, col := range o.Columns {
				if col.Declared {
					n.SourceColumnsDeclared++
					if col.Description != "" {
						n.SourceColumnsWithDescription++
					}
				}
			}
		case modeldoc.TypeSeed:
			n.Seeds++
		case modeldoc.TypeSnapshot:
			n.Snapshots++
		}
	}
	return n
}

type manifestStats struct {
	File                         string         `json:"file"`
	NodesByResourceType          map[string]int `json:"nodes_by_resource_type"`
	TopLevelCounts               map[string]int `json:"top_level_counts"`
	Models                       int            `json:"models"`
	ModelsWithDescription        int            `json:"models_with_description"`
	ModelColumnsDeclared         int            `json:"model_columns_declared"`
	ModelColumnsWithDescription  int            `json:"model_columns_with_description"`
	SourcesWithDescription       int            `json:"sources_with_description"`
	SourceColumnsDeclared        int            `json:"source_columns_declared"`
	SourceColumnsWithDescription int            `json:"source_columns_with_description"`
	ModelsWithCompiledCode       int            `json:"models_with_compiled_code"`
	Catalog                      *struct {
		ModelEntries int `json:"model_entries"`
	} `json:"catalog"`
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestManifestDatasetsMatchStats imports every manifest dataset and checks
// each count against the independent stats.json beside it.
func TestManifestDatasetsMatchStats(t *testing.T) {
	root := dbttest.Dir(t)
	var statsFiles []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "stats.json" {
			statsFiles = append(statsFiles, p)
		}
		return nil
	})
	found := 0
	for _, sf := range statsFiles {
		var st manifestStats
		readJSON(t, sf, &st)
		if !strings.HasSuffix(st.File, "manifest.json") {
			continue
		}
		found++
		dir := filepath.Dir(sf)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			c, err := dbt.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if c.Source != "manifest" || c.ProjectName == "" || c.SchemaVersion == "" {
				t.Errorf("catalog header: source %q project %q schema %q", c.Source, c.ProjectName, c.SchemaVersion)
			}
			want := counts{
				Models:                       st.Models,
				Sources:                      st.TopLevelCounts["sources"],
				Seeds:                        st.NodesByResourceType["seed"],
				Snapshots:                    st.NodesByResourceType["snapshot"],
				ModelsWithDescription:        st.ModelsWithDescription,
				ModelColumnsDeclared:         st.ModelColumnsDeclared,
				ModelColumnsWithDescription:  st.ModelColumnsWithDescription,
				SourcesWithDescription:       st.SourcesWithDescription,
				SourceColumnsDeclared:        st.SourceColumnsDeclared,
				SourceColumnsWithDescription: st.SourceColumnsWithDescription,
				ModelsWithCompiledCode:       st.ModelsWithCompiledCode,
			}
			if got := countCatalog(c); got != want {
				t.Errorf("counts differ from stats.json\n got %+v\nwant %+v", got, want)
			}
			checkCatalogIntegrity(t, c)
			if st.Catalog != nil {
				// catalog.json must have added undeclared columns with types
				// to the models it knows.
				withTypes := 0
				for _, o := range c.Objects {
					if o.Type == modeldoc.TypeModel && len(o.Columns) > 0 && o.Columns[0].DataType != "" {
						withTypes++
					}
				}
				if withTypes != st.Catalog.ModelEntries {
					t.Errorf("models with warehouse column types: got %d, catalog.json has %d model entries", withTypes, st.Catalog.ModelEntries)
				}
			}
		})
	}
	if found < 4 {
		t.Errorf("found %d manifest datasets with stats.json, want at least 4", found)
	}
}

// checkCatalogIntegrity checks what every importer promises: unique ids,
// edges between existing objects, hashes, positions.
func checkCatalogIntegrity(t *testing.T, c *modeldoc.Catalog) {
	t.Helper()
	ids := map[string]bool{}
	for _, o := range c.Objects {
		if ids[o.UniqueID] {
			t.Errorf("duplicate unique id %s", o.UniqueID)
		}
		ids[o.UniqueID] = true
		if !o.Type.Valid() || o.Name == "" || o.Package == "" {
			t.Errorf("object %s: type %q name %q package %q", o.UniqueID, o.Type, o.Name, o.Package)
		}
		if o.SQLHash != modeldoc.HashSQL(o.RawSQL, o.CompiledSQL) {
			t.Errorf("object %s: SQL hash does not match its SQL", o.UniqueID)
		}
		if o.Type == modeldoc.TypeModel && (o.RawSQL == "" || o.Materialization == "") {
			t.Errorf("model %s: raw SQL %d bytes, materialization %q", o.UniqueID, len(o.RawSQL), o.Materialization)
		}
		for i, col := range o.Columns {
			if col.Position != i+1 {
				t.Errorf("%s.%s: position %d at index %d", o.UniqueID, col.Name, col.Position, i)
				break
			}
			if col.HumanDescription != (col.Description != "" && col.Declared) {
				t.Errorf("%s.%s: human %v with description %q declared %v", o.UniqueID, col.Name, col.HumanDescription, col.Description, col.Declared)
			}
		}
	}
	for _, e := range c.Edges {
		if !ids[e.Upstream] || !ids[e.Downstream] {
			t.Errorf("edge %s -> %s names an object that is not in the catalog", e.Upstream, e.Downstream)
		}
	}
}

func modelEdges(c *modeldoc.Catalog) map[string]bool {
	out := map[string]bool{}
	for _, e := range c.Edges {
		if strings.HasPrefix(e.Upstream, "model.") && strings.HasPrefix(e.Downstream, "model.") {
			out[e.Upstream+" -> "+e.Downstream] = true
		}
	}
	return out
}

func modelIDs(c *modeldoc.Catalog) map[string]bool {
	out := map[string]bool{}
	for _, o := range c.Objects {
		if o.Type == modeldoc.TypeModel {
			out[o.UniqueID] = true
		}
	}
	return out
}

func diff(a, b map[string]bool) []string {
	var out []string
	for k := range a {
		if !b[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
