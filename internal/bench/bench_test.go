package bench

import (
	"context"
	"encoding/json"
	"flag"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/dbt"
	"github.com/modeldoc/modeldoc/internal/dbt/dbttest"
	"github.com/modeldoc/modeldoc/internal/fakellm"
	"github.com/modeldoc/modeldoc/internal/generate"
	"github.com/modeldoc/modeldoc/internal/jobs"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
	"github.com/modeldoc/modeldoc/internal/writer"
	"github.com/modeldoc/modeldoc/internal/writer/offlinewriter"
	"github.com/modeldoc/modeldoc/internal/writer/openaiwriter"
)

var (
	limitModels = flag.Int("limit-models", 1000, "models in BenchmarkAgainstLimit")
	limitFanout = flag.Int("limit-fanout", 4, "how many models read each model in BenchmarkAgainstLimit's lineage tree")
	scaleModels = flag.Int("scale-models", 100_000, "models in BenchmarkScale")
	scaleRun    = flag.Duration("scale-run", time.Minute, "how long BenchmarkScale runs its job before pausing it; 0 runs it to the end")
)

// importBench parses path with dbt.Load and imports it into a fresh SQLite
// store, timing both (the store is opened outside the timer).
func importBench(b *testing.B, path string) {
	ctx := context.Background()
	var models int
	for b.Loop() {
		b.StopTimer()
		st := modeldoctest.NewSQLiteStore(b)
		org, err := st.EnsureDefaultOrganization(ctx)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		cat, err := dbt.Load(path)
		if err != nil {
			b.Fatal(err)
		}
		sum, err := st.ImportCatalog(ctx, org.ID, cat)
		if err != nil {
			b.Fatal(err)
		}
		models = sum.Models
	}
	b.ReportMetric(float64(models), "models")
}

// BenchmarkImportGitLab: GitLab's raw 2,894-model project folder, parsed
// and stored on SQLite. Target < 2 s.
func BenchmarkImportGitLab(b *testing.B) {
	dir := dbttest.UntarDatasets(b,
		"tnmy44__gitlab-analytics/snowflake-dbt_sql_yml.tar.gz",
		"tnmy44__gitlab-analytics/snowflake-dbt_docs_md.tar.gz")
	importBench(b, filepath.Join(dir, "transform", "snowflake-dbt"))
}

// BenchmarkImportTuva: Tuva's manifest.json + catalog.json, the largest
// artifacts in the datasets, parsed and stored on SQLite. Target < 2 s.
func BenchmarkImportTuva(b *testing.B) {
	importBench(b, dbttest.Path(b, "tuva-health__tuva"))
}

// BenchmarkAgainstLimit runs a job of 1,000 generated models (two calls
// each: the model's layers in one, its columns in another) through the
// real engine (limiter, retry, River) against the fake at 500 ms latency,
// first with --rpm 3000 (a ceiling of 50 requests a second) and a high
// TPM, then with a TPM that binds at 80% of that. It reports the achieved
// rate as a fraction of the binding ceiling, over the steady part of the
// run (the fake's per-second stats without the first and last 3 s) and
// over the whole run, and the share of 429s. Token traffic is what the
// fake debited from its TPM (prompt + max_tokens of admitted requests).
//
// A job documents a model after its upstream models, so only the models
// whose upstreams are done can be in flight: the lineage is a tree of
// fan-out 4 (-limit-fanout), wide enough that the rate limit binds and
// not the lineage. A binary tree of 300 models is lineage-bound at two
// calls per model (docs/benchmarks.md).
func BenchmarkAgainstLimit(b *testing.B) {
	const rpm = 3000
	const latency = 500 * time.Millisecond
	n := *limitModels
	cat := genTree(n, 5, *limitFanout)

	run := func(b *testing.B, tpm int) (reqRate, tokRate, wholeReq, wholeTok, share429 float64) {
		st, orgID, projectID := importCatalog(b, cat)
		srv := startFake(b, fakellm.Config{Latency: latency, Jitter: latency / 10, RPM: rpm, TPM: tpm, Seed: 1})
		eng := newEngine(b, st)
		j, wall := runJob(b, eng.Jobs, orgID, jobs.Options{
			Selection: jobs.Selection{ProjectID: projectID}, Provider: "openai", Model: "gpt-4o-mini",
			BaseURL: srv.BaseURL(), Concurrency: 64, MaxRetries: 3, RPM: rpm, TPM: tpm, RegenerateAll: true,
		})
		s := srv.Stats()
		reqRate, tokRate, secs := steadyRates(s.PerSecond, 3)
		wholeReq = float64(s.Succeeded) / wall.Seconds()
		wholeTok = float64(s.ReservedTokens) / wall.Seconds()
		share429 = float64(s.RateLimited) / float64(s.Requests)
		b.Logf("tpm %d: %d objects in %.1fs, %d requests (%d ok, %d 429s = %.2f%%), steady %.1f req/s and %.0f tokens/s over %d s, whole run %.1f req/s, %.0f reserved tokens/request, max in flight %d",
			tpm, j.Processed, wall.Seconds(), s.Requests, s.Succeeded, s.RateLimited, share429*100, reqRate, tokRate, secs, wholeReq,
			float64(s.ReservedTokens)/float64(max(s.Succeeded, 1)), s.MaxConcurrent)
		return
	}

	b.Run("rpm", func(b *testing.B) {
		for b.Loop() {
			ceiling := float64(rpm) / 60
			steady, _, whole, _, share := run(b, 100_000_000)
			b.ReportMetric(steady/ceiling, "steady-of-ceiling")
			b.ReportMetric(whole/ceiling, "whole-of-ceiling")
			b.ReportMetric(steady, "req/s")
			b.ReportMetric(share*100, "%429")
		}
	})
	b.Run("tpm", func(b *testing.B) {
		// Size the TPM from the traffic itself: the tokens a request
		// reserves, measured on a first run without a token limit, so the
		// token ceiling is 40 requests a second, below the 50 of the RPM.
		perReq := reservedPerRequest(b, cat)
		tpm := int(40 * 60 * perReq)
		for b.Loop() {
			ceiling := float64(tpm) / 60
			_, steadyTok, _, wholeTok, share := run(b, tpm)
			b.ReportMetric(steadyTok/ceiling, "steady-of-ceiling")
			b.ReportMetric(wholeTok/ceiling, "whole-of-ceiling")
			b.ReportMetric(steadyTok, "tokens/s")
			b.ReportMetric(float64(tpm), "tpm")
			b.ReportMetric(share*100, "%429")
		}
	})
}

// reservedPerRequest is the mean TPM debit (prompt + max_tokens) of the
// requests of a job over the first models of cat, run against the fake
// with no limits.
func reservedPerRequest(b *testing.B, cat *modeldoc.Catalog) float64 {
	sample := &modeldoc.Catalog{ProjectName: cat.ProjectName, Source: cat.Source, Path: cat.Path}
	keep := map[string]bool{}
	for _, o := range cat.Objects[:min(len(cat.Objects), 100)] {
		sample.Objects = append(sample.Objects, o)
		keep[o.UniqueID] = true
	}
	for _, e := range cat.Edges {
		if keep[e.Upstream] && keep[e.Downstream] {
			sample.Edges = append(sample.Edges, e)
		}
	}
	st, orgID, projectID := importCatalog(b, sample)
	srv := startFake(b, fakellm.Config{Seed: 1})
	eng := newEngine(b, st)
	runJob(b, eng.Jobs, orgID, jobs.Options{
		Selection: jobs.Selection{ProjectID: projectID}, Provider: "openai", Model: "gpt-4o-mini",
		BaseURL: srv.BaseURL(), Concurrency: 64, MaxRetries: 3, RegenerateAll: true,
	})
	s := srv.Stats()
	if s.Succeeded == 0 {
		b.Fatal("the sizing run answered no request")
	}
	return float64(s.ReservedTokens) / float64(s.Requests)
}

// BenchmarkAgainstOriginal compares, in one run on the same 30 models and
// the same fake (--rpm 3000, 500 ms), the original's strategy (one model
// at a time, one layer at a time, in a loop) with a job. Target: ≥ 20×.
func BenchmarkAgainstOriginal(b *testing.B) {
	const rpm = 3000
	const latency = 500 * time.Millisecond
	cat := genCatalog(30, 5)
	for b.Loop() {
		ctx := context.Background()
		srv := startFake(b, fakellm.Config{Latency: latency, Jitter: latency / 10, RPM: rpm, TPM: 100_000_000, Seed: 2})

		// The original: sequential calls, no concurrency, same prompts.
		st, orgID, _ := importCatalog(b, cat)
		gen, err := generate.New(generate.Config{Catalog: st})
		if err != nil {
			b.Fatal(err)
		}
		w, err := openaiwriter.New(openaiwriter.Config{APIKey: "sk-bench", BaseURL: srv.BaseURL()})
		if err != nil {
			b.Fatal(err)
		}
		list, _, err := st.ListObjects(ctx, orgID, store.ObjectFilter{})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for _, o := range list {
			plan, err := gen.Plan(ctx, orgID, o.ID, generate.Options{Provider: "openai", Model: "gpt-4o-mini"})
			if err != nil {
				b.Fatal(err)
			}
			for _, req := range plan.Requests {
				if _, err := w.Write(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
			if err := st.InsertDocVersion(ctx, &modeldoc.DocVersion{ObjectID: o.ID, Provider: "openai", Model: "gpt-4o-mini"}); err != nil {
				b.Fatal(err)
			}
		}
		seq := time.Since(start)

		// Ours: a job on a fresh copy of the same catalog.
		st2, org2, project2 := importCatalog(b, cat)
		eng := newEngine(b, st2)
		_, ours := runJob(b, eng.Jobs, org2, jobs.Options{
			Selection: jobs.Selection{ProjectID: project2}, Provider: "openai", Model: "gpt-4o-mini",
			BaseURL: srv.BaseURL(), Concurrency: 64, MaxRetries: 3, RPM: rpm, TPM: 100_000_000,
		})
		seqRate := float64(len(list)) / seq.Seconds()
		ourRate := float64(len(list)) / ours.Seconds()
		b.Logf("original: %d objects in %.1fs (%.2f/s); job: %.1fs (%.2f/s); ratio %.1f", len(list), seq.Seconds(), seqRate, ours.Seconds(), ourRate, ourRate/seqRate)
		b.ReportMetric(seqRate, "original-obj/s")
		b.ReportMetric(ourRate, "job-obj/s")
		b.ReportMetric(ourRate/seqRate, "ratio")
	}
}

// timedWriter adds up the time spent inside its writer.
type timedWriter struct {
	writer.Writer
	ns atomic.Int64
}

func (t *timedWriter) Write(ctx context.Context, req writer.Request) (writer.Result, error) {
	start := time.Now()
	res, err := t.Writer.Write(ctx, req)
	t.ns.Add(int64(time.Since(start)))
	return res, err
}

// BenchmarkOverhead measures what a job costs per object besides the
// writer's call, on SQLite: planning the prompts, validating answers,
// River, the item's transaction with its documentation version and
// counters, and releasing its dependents. The writer answers instantly
// with canned answers computed beforehand, so the job's wall time per
// object is the orchestration cost (the canned writer's own time, a map
// lookup, is subtracted too). Reported at concurrency 1 (cost per object
// end to end) and 8 (the default, cost per object of throughput on 2
// cores). Target < 2 ms.
func BenchmarkOverhead(b *testing.B) {
	const n = 1000
	cat := genCatalog(n, 5)
	for _, conc := range []int{1, 8} {
		b.Run(map[int]string{1: "concurrency-1", 8: "concurrency-8"}[conc], func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				ctx := context.Background()
				st, orgID, projectID := importCatalog(b, cat)
				gen, err := generate.New(generate.Config{Catalog: st})
				if err != nil {
					b.Fatal(err)
				}
				canned := &cannedWriter{}
				canned.can(b, gen, st, orgID, offlinewriter.New())
				tw := &timedWriter{Writer: canned}
				m, err := jobs.NewManager(ctx, jobs.Config{Store: st, Documenter: gen, MaxWorkers: 64,
					Writers: jobs.FixedWriter(tw)})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				cpu0 := cpuTime()
				j, wall := runJob(b, m, orgID, jobs.Options{Selection: jobs.Selection{ProjectID: projectID},
					Provider: "offline", Concurrency: conc})
				cpu := cpuTime() - cpu0
				b.StopTimer()
				m.Close()
				writerTime := time.Duration(tw.ns.Load())
				// Layers of one object are written concurrently, so the
				// writer's share of wall time is at most its sum; subtract
				// the whole sum to stay on the favourable-to-nobody side
				// only when it is small, which the log shows.
				per := (wall - writerTime/time.Duration(conc)) / time.Duration(j.Processed)
				// CPU per object (the process's user+system time over the
				// run) moves less than wall time when other work shares
				// the machine.
				cpuPer := cpu / time.Duration(j.Processed)
				b.Logf("concurrency %d: %d objects in %v (writer %v in all): %.3f ms/object; CPU %.3f ms/object", conc, j.Processed, wall, writerTime, float64(per)/1e6, float64(cpuPer)/1e6)
				b.ReportMetric(float64(per)/1e6, "ms/object")
				b.ReportMetric(float64(cpuPer)/1e6, "cpu-ms/object")
				b.ReportMetric(float64(j.Processed)/wall.Seconds(), "objects/s")
				b.StartTimer()
			}
		})
	}
}

// BenchmarkScale creates a job of 100,000 generated models (five columns
// each, tree lineage) and runs it with a no-op (canned) writer: creation
// time (selection, topological order, input hashes, estimate from a
// sample's exact prompts, items inserted) and the process's peak RSS while
// creating and, separately, while running. By default the run lasts
// -scale-run (1 min) and is then paused, so the benchmark finishes in
// minutes; -scale-run=0 runs it to the end.
// Targets: creation < 10 s, peak RSS < 300 MB.
func BenchmarkScale(b *testing.B) {
	n := *scaleModels
	for b.Loop() {
		b.StopTimer()
		ctx := context.Background()
		cat := genCatalog(n, 5)
		st, orgID, projectID := importCatalog(b, cat)
		cat = nil
		gen, err := generate.New(generate.Config{Catalog: st})
		if err != nil {
			b.Fatal(err)
		}
		// One canned answer per layer, shared by every object: all the
		// generated models have the same five columns.
		one := &cannedWriter{}
		small, _, _ := importCatalog(b, genCatalog(3, 5))
		org1, _ := small.EnsureDefaultOrganization(ctx)
		one.can(b, gen0(b, small), small, org1.ID, offlinewriter.New())
		shared := sharedAnswers(one)
		m, err := jobs.NewManager(ctx, jobs.Config{Store: st, Documenter: gen, MaxWorkers: 64,
			Writers: jobs.FixedWriter(shared)})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		debug.FreeOSMemory() // what importing the catalog left in the heap is not the job's
		resetPeakRSS()
		b.StartTimer()

		start := time.Now()
		j, err := m.Create(ctx, orgID, jobs.CreateRequest{Options: jobs.Options{
			Selection: jobs.Selection{ProjectID: projectID}, Provider: "offline", Concurrency: 16}})
		if err != nil {
			b.Fatal(err)
		}
		created := time.Since(start)
		createRSS := peakRSS()
		// The running phase's own peak: what creation left resident still
		// counts (nothing gives it back here), its high-water mark does not.
		resetPeakRSS()

		runCtx := ctx
		var cancel context.CancelFunc = func() {}
		if *scaleRun > 0 {
			go func() {
				time.Sleep(*scaleRun)
				_, _ = m.Pause(context.Background(), orgID, j.ID)
			}()
		}
		runStart := time.Now()
		j, err = m.RunJob(runCtx, orgID, j.ID)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		ran := time.Since(runStart)
		b.StopTimer()
		runRSS := peakRSS()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.Logf("%d objects: created in %.2fs (peak RSS %d MB); ran %.0fs: %s, %d processed (%.0f/s), peak RSS %d MB, Go heap sys %d MB",
			j.Total, created.Seconds(), createRSS>>20, ran.Seconds(), j.Status, j.Processed, float64(j.Processed)/ran.Seconds(), runRSS>>20, ms.Sys>>20)
		b.ReportMetric(created.Seconds(), "create-s")
		b.ReportMetric(float64(createRSS>>20), "create-peak-MB")
		b.ReportMetric(float64(runRSS>>20), "run-peak-MB")
		b.ReportMetric(float64(j.Processed), "processed")
		b.ReportMetric(float64(j.Processed)/ran.Seconds(), "objects/s")
		m.Close()
		b.StartTimer()
	}
}

func gen0(b *testing.B, st *store.Store) *generate.Service {
	g, err := generate.New(generate.Config{Catalog: st})
	if err != nil {
		b.Fatal(err)
	}
	return g
}

// sharedWriter answers every object with the same canned answer per layer.
type sharedWriter struct{ byLayer map[modeldoc.Layer]string }

func sharedAnswers(c *cannedWriter) *sharedWriter {
	s := &sharedWriter{byLayer: map[modeldoc.Layer]string{}}
	for k, v := range c.answers {
		for _, l := range modeldoc.AllLayers {
			if len(k) > len(l) && k[len(k)-len(l)-1:] == "/"+string(l) {
				s.byLayer[l] = v
			}
		}
	}
	return s
}

func (s *sharedWriter) Provider() string { return "offline" }

func (s *sharedWriter) Write(ctx context.Context, req writer.Request) (writer.Result, error) {
	if req.Layer == modeldoc.LayerColumnDescriptions {
		// Passthrough lineage names the upstream model, which differs per
		// object: describe the columns as derived instead.
		var out modeldoc.ColumnDescriptionsOut
		for _, c := range req.Subject.Object.Columns {
			out.Columns = append(out.Columns, modeldoc.ColumnDescription{Name: c.Name, Lineage: "derived",
				Description: "The " + c.Name + " of the order, as the model computes it."})
		}
		b, _ := json.Marshal(out)
		return writer.Result{Content: string(b), Model: "canned", FinishReason: "stop"}, nil
	}
	return writer.Result{Content: s.byLayer[req.Layer], Model: "canned", FinishReason: "stop"}, nil
}
