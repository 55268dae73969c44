package quality

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/dbt"
	"github.com/modeldoc/modeldoc/internal/dbt/dbttest"
	"github.com/modeldoc/modeldoc/internal/engine"
	"github.com/modeldoc/modeldoc/internal/export"
	"github.com/modeldoc/modeldoc/internal/fakellm"
	"github.com/modeldoc/modeldoc/internal/jobs"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
)

// TestCallsReport documents the HubSpot and Tuva manifests through the
// fake OpenAI-compatible server, with half the models' descriptions hidden
// as TestQualityReport hides them, and logs what docs/benchmarks.md keeps
// for issue 14: requests and prompt tokens per documented object, and the
// share of the hidden columns a team's text could come back to (the
// inheritance candidates) that got it back with no call:
//
//	go test -run TestCallsReport -v -timeout 30m ./internal/quality
//
// CALLS_MODE (combined or per-layer) picks the job's calls option where
// the build has one; QUALITY_DATASETS (tuva, hubspot) runs a subset.
func TestCallsReport(t *testing.T) {
	if testing.Short() {
		t.Skip("documents two whole projects through the fake")
	}
	dir := dbttest.Dir(t)
	want := map[string]bool{}
	for _, n := range splitList(os.Getenv("QUALITY_DATASETS")) {
		want[n] = true
	}
	var lines []string
	for _, d := range []struct{ name, dir string }{
		{"hubspot", "fivetran__dbt_hubspot"},
		{"tuva", "tuva-health__tuva"},
	} {
		if len(want) > 0 && !want[d.name] {
			continue
		}
		cat, err := dbt.Load(filepath.Join(dir, d.dir))
		if err != nil {
			t.Fatalf("load %s: %v", d.name, err)
		}
		lines = append(lines, callsRun(t, d.name, cat))
	}
	t.Log("\n| dataset | objects | requests | requests/object | prompt tokens/object | completion tokens/object | inheritance candidates | back with no call |\n|---|---|---|---|---|---|---|---|\n" + strings.Join(lines, "\n"))
}

func callsRun(t *testing.T, name string, cat *modeldoc.Catalog) string {
	ctx := context.Background()
	truth := Hide(cat)
	run := runThroughFake(t, name, cat, "sk-calls-report")
	defer run.close()
	st, org, sum, srv, j := run.st, run.org, run.sum, run.srv, run.job
	projects, err := export.Load(ctx, st, org.ID, sum.ProjectID)
	if err != nil {
		t.Fatal(err)
	}
	gen := map[string]*Generated{}
	for _, p := range projects {
		for _, o := range p.Objects {
			if v := p.Docs[o.ID]; v != nil {
				gen[o.UniqueID] = FromVersion(v)
				// A partial item says which layer failed and why.
				for l, ls := range v.LayerStatus {
					if ls.Status == "failed" {
						t.Logf("%s: %s: layer %s failed: %s", name, o.Name, l, ls.Error)
					}
				}
			}
		}
	}
	r := Score(name, cat, truth, gen)
	s := srv.Stats()
	// Objects whose column layer took a call: the others were written
	// from the team's text alone.
	var colCalls int
	if err := st.DB().QueryRow(`SELECT COUNT(DISTINCT item_id) FROM generation_logs WHERE layer = 'column_descriptions'`).Scan(&colCalls); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d of %d objects had a column_descriptions call", name, colCalls, j.Processed)
	n := float64(j.Processed)
	t.Logf("%s: %d objects (%d partial, %d failed), %d requests, %d prompt and %d completion tokens; inheritance %d of %d, of which with no call %d",
		name, j.Processed, j.Partial, j.Failed, s.Requests, s.PromptTokens, s.CompletionTokens, r.InheritHits, r.InheritCandidates, r.InheritedHits)
	return fmt.Sprintf("| %s | %d | %d | %.2f | %.0f | %.0f | %d | %d (%.0f%%) |", name, j.Processed, s.Requests,
		float64(s.Requests)/n, float64(s.PromptTokens)/n, float64(s.CompletionTokens)/n,
		r.InheritCandidates, r.InheritedHits, 100*ratio(r.InheritedHits, r.InheritCandidates, 1))
}

// setCallsMode sets the job's calls option ("" is the default, combined).
func setCallsMode(opts *jobs.Options, mode string) { opts.Calls = mode }

// fakeRun is one completed job over a whole catalog, documented through the
// in-process fake (its cache on, seed 1), as the calls and cache reports
// measure it.
type fakeRun struct {
	st   *store.Store
	org  *modeldoc.Organization
	sum  *modeldoc.ImportSummary
	srv  *fakellm.Server
	eng  *engine.Engine
	opts jobs.Options
	job  *jobs.Job
}

func (r *fakeRun) close() {
	r.eng.Close()
	r.srv.Close()
}

// runThroughFake imports cat into a new SQLite store and documents all of
// it with gpt-4o-mini through the fake, in the calls mode CALLS_MODE names.
func runThroughFake(t *testing.T, name string, cat *modeldoc.Catalog, apiKey string) *fakeRun {
	t.Helper()
	ctx := context.Background()
	st := modeldoctest.NewSQLiteStore(t)
	org, err := st.EnsureDefaultOrganization(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := st.ImportCatalog(ctx, org.ID, cat)
	if err != nil {
		t.Fatal(err)
	}
	srv := fakellm.New(fakellm.Config{Seed: 1})
	if _, err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(ctx, engine.Config{Store: st, EnvKeys: map[string]string{"openai": apiKey}, Jobs: jobs.Config{MaxWorkers: 8, Concurrency: 8}})
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	r := &fakeRun{st: st, org: org, sum: sum, srv: srv, eng: eng}
	r.opts = jobs.Options{
		Selection: jobs.Selection{ProjectID: sum.ProjectID}, Provider: "openai", Model: "gpt-4o-mini",
		BaseURL: srv.BaseURL(), Concurrency: 8, MaxRetries: 3, RegenerateAll: true,
	}
	setCallsMode(&r.opts, os.Getenv("CALLS_MODE"))
	j, err := eng.Jobs.Create(ctx, org.ID, jobs.CreateRequest{Options: r.opts})
	if err != nil {
		r.close()
		t.Fatal(err)
	}
	if j, err = eng.Jobs.RunJob(ctx, org.ID, j.ID); err != nil {
		r.close()
		t.Fatal(err)
	}
	if j.Status != jobs.StatusCompleted {
		r.close()
		t.Fatalf("the job for %s ended %s: %s", name, j.Status, j.Message)
	}
	r.job = j
	return r
}
