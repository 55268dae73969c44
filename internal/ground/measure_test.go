package ground_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/dbt"
	"github.com/modeldoc/modeldoc/internal/dbt/dbttest"
	"github.com/modeldoc/modeldoc/internal/export"
	"github.com/modeldoc/modeldoc/internal/fakellm"
	"github.com/modeldoc/modeldoc/internal/generate"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/quality"
	"github.com/modeldoc/modeldoc/internal/store"
	"github.com/modeldoc/modeldoc/internal/writer"
	"github.com/modeldoc/modeldoc/internal/writer/offlinewriter"
	"github.com/modeldoc/modeldoc/internal/writer/openaiwriter"
)

// TestGroundingMeasure documents the HubSpot and Tuva projects (half their
// models' human descriptions hidden, as internal/quality does) twice
// through the real generation path (generate.Service: validation,
// grounding, the one re-ask):
//
//   - with the offline writer, counting the layers it gets flagged
//     (they should be none: its text is written from the SQL);
//   - through the fake server lying at LIE_RATE (default 0.2), scoring
//     every answer against what the fake says it invented: an answer is
//     caught when grounding flagged it (a re-ask followed, or the layer was
//     stored with findings), an invention when a finding names it.
//
// It prints the table docs/benchmarks.md keeps:
//
//	MODELDOC_GROUND_MEASURE=1 go test -run TestGroundingMeasure -v -timeout 30m ./internal/ground
//
// GROUND_DATASETS (hubspot, tuva) runs a subset.
func TestGroundingMeasure(t *testing.T) {
	if os.Getenv("MODELDOC_GROUND_MEASURE") == "" {
		t.Skip("set MODELDOC_GROUND_MEASURE=1 to document HubSpot and Tuva twice")
	}
	dir := dbttest.Dir(t)
	lieRate := 0.2
	if v := os.Getenv("LIE_RATE"); v != "" {
		if _, err := fmt.Sscan(v, &lieRate); err != nil {
			t.Fatalf("LIE_RATE=%s: %v", v, err)
		}
	}
	want := os.Getenv("GROUND_DATASETS")
	var rows []string
	for _, d := range []struct{ name, path string }{
		{"hubspot", "fivetran__dbt_hubspot"},
		{"tuva", "tuva-health__tuva"},
	} {
		if want != "" && !strings.Contains(want, d.name) {
			continue
		}
		objs, st, org := load(t, filepath.Join(dir, d.path))
		gen, err := generate.New(generate.Config{Catalog: st})
		if err != nil {
			t.Fatal(err)
		}

		// The offline writer.
		off := measure(t, gen, org, objs, "offline", "offline-v1", offlinewriter.New(), nil)
		// The fake, lying.
		srv := fakellm.New(fakellm.Config{Seed: 1, Faults: fakellm.Faults{LieRate: lieRate}})
		root, err := srv.Start("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ow, err := openaiwriter.New(openaiwriter.Config{BaseURL: root + "/v1", APIKey: "sk-fake"})
		if err != nil {
			t.Fatal(err)
		}
		fake := measure(t, gen, org, objs, "openai", "gpt-4o-mini", ow, srv)
		_ = srv.Close()

		t.Logf("%s offline flagged:\n%s", d.name, strings.Join(off.samples, "\n"))
		t.Logf("%s fake wrongly flagged:\n%s", d.name, strings.Join(fake.samples, "\n"))
		t.Logf("%s fake lies not caught: %v", d.name, fake.missed)
		rows = append(rows, fmt.Sprintf("| %s | %d | %d of %d (%.2f%%) | %d of %d | %d of %d (%d caught, %.1f%%) | %d of %d (%.1f%%) | %d of %d (%.2f%%) | %d |",
			d.name, len(objs), off.flaggedLayers, off.layers, pct(off.flaggedLayers, off.layers),
			fake.lieLayers, fake.layers,
			fake.lies, fake.answers, fake.liesCaught, pct(fake.liesCaught, fake.lies),
			fake.inventionsCaught, fake.inventions, pct(fake.inventionsCaught, fake.inventions),
			fake.cleanFlagged, fake.cleanAnswers, pct(fake.cleanFlagged, fake.cleanAnswers),
			fake.leaked))
		if fake.liesCaught != fake.lies || fake.leaked != 0 {
			t.Errorf("%s: %d of %d lies caught, %d stored as clean", d.name, fake.liesCaught, fake.lies, fake.leaked)
		}
		if pct(fake.cleanFlagged, fake.cleanAnswers) >= 1 {
			t.Errorf("%s: %.2f%% of clean answers flagged, want under 1%%", d.name, pct(fake.cleanFlagged, fake.cleanAnswers))
		}
	}
	t.Logf("lie rate %.2f\n| dataset | objects | offline writer: layers flagged | fake: layers with a lie told | fake: lying answers (caught) | inventions named by a finding | clean answers flagged | lying layers stored as clean |\n|---|---|---|---|---|---|---|---|\n%s",
		lieRate, strings.Join(rows, "\n"))
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

// load imports a project with half its models' descriptions hidden and
// returns the objects to document (models, seeds, snapshots).
func load(t *testing.T, path string) ([]modeldoc.Object, *store.Store, int64) {
	t.Helper()
	ctx := context.Background()
	cat, err := dbt.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	quality.Hide(cat)
	st := modeldoctest.NewSQLiteStore(t)
	org, err := st.EnsureDefaultOrganization(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := st.ImportCatalog(ctx, org.ID, cat)
	if err != nil {
		t.Fatal(err)
	}
	projects, err := export.Load(ctx, st, org.ID, sum.ProjectID)
	if err != nil {
		t.Fatal(err)
	}
	var objs []modeldoc.Object
	for _, p := range projects {
		for _, o := range p.Objects {
			if o.Type != modeldoc.TypeSource {
				objs = append(objs, o)
			}
		}
	}
	return objs, st, org.ID
}

type tally struct {
	layers, flaggedLayers int
	samples               []string
	// the fake's answers
	answers, lies, liesCaught, cleanAnswers, cleanFlagged int
	inventions, inventionsCaught                          int
	lieLayers, leaked                                     int
	missed                                                []string
}

// recorder keeps every answer and every request of each object's layer.
type recorder struct {
	w  writer.Writer
	mu sync.Mutex
	// by "unique_id layer": the requests' user prompts and the answers
	calls map[string][]call
}

type call struct{ user, content string }

func (r *recorder) Provider() string { return r.w.Provider() }

func (r *recorder) Write(ctx context.Context, req writer.Request) (writer.Result, error) {
	res, err := r.w.Write(ctx, req)
	k := req.Subject.Object.UniqueID + " " + string(req.Layer)
	r.mu.Lock()
	r.calls[k] = append(r.calls[k], call{req.User, res.Content})
	r.mu.Unlock()
	return res, err
}

func measure(t *testing.T, gen *generate.Service, org int64, objs []modeldoc.Object, provider, model string, w writer.Writer, srv *fakellm.Server) tally {
	t.Helper()
	ctx := context.Background()
	rec := &recorder{w: w, calls: map[string][]call{}}
	var mu sync.Mutex
	var tl tally
	work := make(chan modeldoc.Object)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range work {
				plan, err := gen.Plan(ctx, org, o.ID, generate.Options{Provider: provider, Model: model})
				if err != nil {
					t.Error(err)
					continue
				}
				v, err := gen.Write(ctx, plan, rec)
				if err != nil {
					t.Error(err)
					continue
				}
				mu.Lock()
				for layer, st := range v.LayerStatus {
					tl.layers++
					if st.Review {
						tl.flaggedLayers++
						if srv == nil && len(tl.samples) < 40 {
							tl.samples = append(tl.samples, fmt.Sprintf("%s %s: %q", o.UniqueID, layer, st.Findings[0].Value))
						}
					}
					if srv != nil {
						score(&tl, srv, o.UniqueID, layer, st, rec)
					}
				}
				mu.Unlock()
			}
		}()
	}
	for _, o := range objs {
		work <- o
	}
	close(work)
	wg.Wait()
	return tl
}

// score reads one layer's calls: answer i was flagged when a re-ask
// followed it (the re-ask quotes the findings) or, for the last one, when
// the layer was stored for review with findings.
func score(tl *tally, srv *fakellm.Server, uid string, layer modeldoc.Layer, st modeldoc.LayerStatus, rec *recorder) {
	rec.mu.Lock()
	calls := rec.calls[uid+" "+string(layer)]
	rec.mu.Unlock()
	lied := false
	for i, c := range calls {
		tl.answers++
		var evidence string
		flagged := false
		if i+1 < len(calls) {
			next := calls[i+1].user
			if j := strings.Index(next, "# Your previous answer was rejected"); j >= 0 {
				evidence = next[j:]
				flagged = strings.Contains(evidence, "not grounded in the model")
			}
		} else if st.Review || len(st.Findings) > 0 {
			flagged = true
			for _, f := range st.Findings {
				evidence += f.Value + "\n" + f.Message + "\n"
			}
		}
		inv := srv.Invented(c.content)
		if inv == nil {
			tl.cleanAnswers++
			if flagged {
				tl.cleanFlagged++
				if len(tl.samples) < 20 {
					if j := strings.Index(evidence, "It was rejected because"); j >= 0 {
						evidence = evidence[j:]
					}
					tl.samples = append(tl.samples, fmt.Sprintf("%s %s #%d: %.600s", uid, layer, i+1, evidence))
				}
			}
			continue
		}
		lied = true
		tl.lies++
		if flagged {
			tl.liesCaught++
		} else if len(tl.missed) < 10 {
			tl.missed = append(tl.missed, fmt.Sprintf("%s %s #%d of %d (stored review=%v): %v in %.600s", uid, layer, i+1, len(calls), st.Review, inv, c.content))
		}
		for _, x := range inv {
			tl.inventions++
			if flagged && strings.Contains(evidence, x) {
				tl.inventionsCaught++
			}
		}
		// The last answer is what is stored: a lie must be marked.
		if i == len(calls)-1 && st.Status == "ok" && !st.Review {
			tl.leaked++
		}
	}
	if lied {
		tl.lieLayers++
	}
}
