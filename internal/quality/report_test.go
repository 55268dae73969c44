package quality

import (
	"context"
	"encoding/json"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
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
// (tuva, hubspot, gitlab, comma-separated) runs a subset; QUALITY_MISSES=1
// lists the inheritance misses and the restatements, QUALITY_SAMPLES=n logs n random summaries
// and column texts per dataset, QUALITY_DUMP=prefix writes everything
// generated to prefix.<dataset>.json.
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
		for i, s := range r.RestatementSamples {
			if i < 5 || os.Getenv("QUALITY_MISSES") != "" {
				t.Logf("%s restatement: %s", d.name, s)
			}
		}
		if os.Getenv("QUALITY_MISSES") != "" {
			for _, s := range r.InheritMisses {
				t.Logf("%s inheritance miss: %s", d.name, s)
			}
		}
		if n, _ := strconv.Atoi(os.Getenv("QUALITY_SAMPLES")); n > 0 {
			logSamples(t, d.name, r, n)
		}
		if path := os.Getenv("QUALITY_DUMP"); path != "" {
			dump(t, path+"."+d.name+".json", r)
		}
	}
	var b strings.Builder
	WriteTable(&b, reports)
	t.Log("\n" + b.String())
}

// logSamples logs n summaries and n column texts the writer wrote
// (inherited ones left out), picked at random with a fixed seed, for a
// person to read as an analyst would.
func logSamples(t *testing.T, dataset string, r *Report, n int) {
	ids := slices.Sorted(maps.Keys(r.Generated))
	rng := rand.New(rand.NewPCG(13, 13))
	var sums, cols []string
	for _, i := range rng.Perm(len(ids)) {
		g := r.Generated[ids[i]]
		if len(sums) < n && g.Summary != "" {
			sums = append(sums, ids[i]+": "+g.Summary)
		}
		if len(cols) < n {
			names := slices.Sorted(maps.Keys(g.Columns))
			var written []string
			for _, c := range names {
				if !g.Inherited[c] && strings.TrimSpace(g.Columns[c]) != "" {
					written = append(written, c)
				}
			}
			if len(written) > 0 {
				c := written[rng.IntN(len(written))]
				cols = append(cols, ids[i]+"."+c+": "+g.Columns[c])
			}
		}
	}
	for _, s := range sums {
		t.Logf("%s summary: %s", dataset, s)
	}
	for _, s := range cols {
		t.Logf("%s column: %s", dataset, s)
	}
}

// dump writes what was generated, by unique id, as JSON, to grep.
func dump(t *testing.T, path string, r *Report) {
	b, err := json.MarshalIndent(r.Generated, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
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
