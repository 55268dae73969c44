package dbt_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/dbt"
)

// ReadLayout reads dbt_project.yml as the importer does, so that export
// dbt edits the files the import read: dbt's defaults and pre-1.0 names,
// the last of a repeated key, a value of the wrong type ignored with a
// warning.
func TestReadLayout(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"dbt_project.yml": "name: first\nname: shop\nsource-paths: ['./models/', ../shared_models]\nseed-paths: 5\nmacro-paths: [/abs/macros]\n",
	})
	l, warnings, err := dbt.ReadLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	if l.Name != "shop" {
		t.Errorf("name %q, want the last one, shop", l.Name)
	}
	if want := []string{"models", "../shared_models"}; !slices.Equal(l.ModelPaths, want) {
		t.Errorf("model paths %q, want %q (source-paths, cleaned)", l.ModelPaths, want)
	}
	if want := []string{"seeds"}; !slices.Equal(l.SeedPaths, want) {
		t.Errorf("seed paths %q, want the default %q when the value is not a list", l.SeedPaths, want)
	}
	if want := []string{"snapshots"}; !slices.Equal(l.SnapshotPaths, want) {
		t.Errorf("snapshot paths %q, want %q", l.SnapshotPaths, want)
	}
	if len(l.MacroPaths) != 1 || !filepath.IsAbs(filepath.FromSlash(l.MacroPaths[0])) {
		t.Errorf("macro paths %q: an absolute entry must stay absolute, for the caller to refuse", l.MacroPaths)
	}
	if !slices.ContainsFunc(warnings, func(w string) bool { return strings.Contains(w, "seed-paths") || strings.Contains(w, "!!int") }) {
		t.Errorf("no warning about seed-paths: %q", warnings)
	}

	_, _, err = dbt.ReadLayout(t.TempDir())
	if modeldoc.ErrorCode(err) != modeldoc.EINVALID || !strings.Contains(err.Error(), "no dbt_project.yml") {
		t.Errorf("a folder without dbt_project.yml: %v", err)
	}
	bad := writeTree(t, map[string]string{"dbt_project.yml": "name: [shop\n"})
	if _, _, err := dbt.ReadLayout(bad); modeldoc.ErrorCode(err) != modeldoc.EINVALID || !strings.Contains(err.Error(), "dbt_project.yml") {
		t.Errorf("broken YAML: %v", err)
	}
}

func TestSkipFolder(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"models/a.sql":                     "select 1",
		"models/nested/dbt_project.yml":    "name: other\n",
		"models/target/x.yml":              "version: 2\n",
		"models/staging/schema.yml":        "version: 2\n",
		"models/dbt_project.yml/keep.yml":  "version: 2\n",
		"dbt_packages/pkg/dbt_project.yml": "name: pkg\n",
	})
	for rel, want := range map[string]bool{
		"models":                   false,
		"models/staging":           false,
		"models/nested":            true, // another project
		"models/target":            true,
		"dbt_packages":             true,
		"models/dbt_project.yml":   false, // a folder of that name is not a project file
		"models/staging/../target": true,
	} {
		if got := dbt.SkipFolder(filepath.Join(dir, filepath.FromSlash(rel))); got != want {
			t.Errorf("SkipFolder(%s) = %v, want %v", rel, got, want)
		}
	}
	for name, want := range map[string]bool{"schema.yml": true, "_models.yaml": true, "orders.sql": false, "notes.md": false, "x.yml.bak": false} {
		if got := dbt.IsPropertiesFile(name); got != want {
			t.Errorf("IsPropertiesFile(%s) = %v, want %v", name, got, want)
		}
	}
}
