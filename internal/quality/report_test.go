package quality

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc/internal/dbt"
	"github.com/modeldoc/modeldoc/internal/dbt/dbttest"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
)

// TestQualityReport documents the shared datasets offline with half their
// models' descriptions hidden and prints the quality table that
// docs/benchmarks.md keeps:
//
//	go test -run TestQualityReport -v -timeout 30m ./internal/quality
//
// It is skipped without the datasets, and under -short. QUALITY_DATASETS
// (tuva, hubspot, gitlab, comma-separated) runs a subset.
func TestQualityReport(t *testing.T) {
	if testing.Short() {
		t.Skip("documents three whole projects")
	}
	dir := dbttest.Dir(t)
	type dataset struct {
		name string
		path func() string
	}
	all := []dataset{
		{"tuva", func() string { return filepath.Join(dir, "tuva-health__tuva") }},
		{"hubspot", func() string { return filepath.Join(dir, "fivetran__dbt_hubspot") }},
		{"gitlab", func() string {
			return filepath.Join(dbttest.UntarDatasets(t,
				"tnmy44__gitlab-analytics/snowflake-dbt_sql_yml.tar.gz",
				"tnmy44__gitlab-analytics/snowflake-dbt_docs_md.tar.gz"), "transform", "snowflake-dbt")
		}},
	}
	want := map[string]bool{}
	for _, n := range splitList(os.Getenv("QUALITY_DATASETS")) {
		want[n] = true
	}
	var reports []*Report
	for _, d := range all {
		if len(want) > 0 && !want[d.name] {
			continue
		}
		cat, err := dbt.Load(d.path())
		if err != nil {
			t.Fatalf("load %s: %v", d.name, err)
		}
		r, err := Run(context.Background(), d.name, modeldoctest.NewSQLiteStore(t), cat)
		if err != nil {
			t.Fatal(err)
		}
		reports = append(reports, r)
		for _, s := range r.LeakSamples {
			t.Logf("%s leak: %s", d.name, s)
		}
		for _, s := range r.RestatementSamples {
			t.Logf("%s restatement: %s", d.name, s)
		}
		if os.Getenv("QUALITY_MISSES") != "" {
			for _, s := range r.InheritMisses {
				t.Logf("%s inheritance miss: %s", d.name, s)
			}
		}
	}
	var b strings.Builder
	WriteTable(&b, reports)
	t.Log("\n" + b.String())
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
