package dbt_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/modeldoc/modeldoc/internal/dbt"
	"github.com/modeldoc/modeldoc/internal/dbt/dbttest"
)

// BenchmarkLoadGitLabProject reads GitLab's 2,894-model project folder
// (unpacked once, outside the timer).
func BenchmarkLoadGitLabProject(b *testing.B) {
	dir := dbttest.UntarDatasets(b,
		"tnmy44__gitlab-analytics/snowflake-dbt_sql_yml.tar.gz",
		"tnmy44__gitlab-analytics/snowflake-dbt_docs_md.tar.gz")
	project := filepath.Join(dir, "transform", "snowflake-dbt")
	b.ResetTimer()
	for b.Loop() {
		if _, err := dbt.LoadProject(project); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadTuvaManifest parses Tuva's 4 MB manifest.json and its
// catalog.json, the largest artifacts in the datasets (files read once).
func BenchmarkLoadTuvaManifest(b *testing.B) {
	dir := dbttest.Path(b, "tuva-health__tuva")
	manifest, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		b.Fatal(err)
	}
	catalog, err := os.ReadFile(filepath.Join(dir, "catalog.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(manifest) + len(catalog)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := dbt.ParseManifest(manifest, catalog, "manifest.json"); err != nil {
			b.Fatal(err)
		}
	}
}
