package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/engine"
	"github.com/modeldoc/modeldoc/internal/fakellm"
	"github.com/modeldoc/modeldoc/internal/generate"
	"github.com/modeldoc/modeldoc/internal/jobs"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// genCatalog is a dbt-like project of n models with small realistic SQL
// (a staging CTE, a join to its parent, a filter and an aggregate) and
// cols columns each. Lineage is a binary tree: model i reads model
// (i-1)/2, and every tenth model also reads model i-1, so there are
// fan-outs and joins.
func genCatalog(n, cols int) *modeldoc.Catalog { return genTree(n, cols, 2) }

// genTree is genCatalog with each model read by up to fanout others: a
// wider tree is shallower, so more of its models are ready at once.
func genTree(n, cols, fanout int) *modeldoc.Catalog {
	cat := &modeldoc.Catalog{ProjectName: "bench", Source: "manifest", Path: "/bench/manifest.json"}
	name := func(i int) string { return fmt.Sprintf("fct_orders_%06d", i) }
	for i := range n {
		var sql string
		if i == 0 {
			sql = "select id, customer_id, status, amount, ordered_at\nfrom raw.shop.orders\nwhere status <> 'test'\n"
		} else {
			parent := name((i - 1) / fanout)
			sql = fmt.Sprintf(`with base as (
    select id, customer_id, status, amount, ordered_at
    from analytics.bench.%s
    where status in ('placed', 'shipped', 'completed')
),
customers as (
    select customer_id, min(ordered_at) as first_order_at
    from base
    group by customer_id
)
select
    base.id,
    base.customer_id,
    case when base.amount > %d then 'large' else 'small' end as status,
    base.amount * 1.%02d as amount,
    customers.first_order_at as ordered_at
from base
join customers on customers.customer_id = base.customer_id
`, parent, 100+i%900, i%100)
		}
		o := modeldoc.Object{
			UniqueID: "model.bench." + name(i), Type: modeldoc.TypeModel, Name: name(i), Package: "bench",
			Database: "analytics", Schema: "bench", Materialization: "table",
			RawSQL: sql, CompiledSQL: sql, FilePath: "models/" + name(i) + ".sql",
		}
		o.SQLHash = modeldoc.HashSQL(o.RawSQL, o.CompiledSQL)
		colNames := []string{"id", "customer_id", "status", "amount", "ordered_at"}
		for c := range min(cols, len(colNames)) {
			o.Columns = append(o.Columns, modeldoc.Column{Name: colNames[c], DataType: "varchar", Position: c + 1, Declared: true})
		}
		cat.Objects = append(cat.Objects, o)
		if i > 0 {
			cat.Edges = append(cat.Edges, modeldoc.Edge{Upstream: "model.bench." + name((i-1)/fanout), Downstream: o.UniqueID})
			if i%10 == 0 && (i-1)/fanout != i-1 {
				cat.Edges = append(cat.Edges, modeldoc.Edge{Upstream: "model.bench." + name(i-1), Downstream: o.UniqueID})
			}
		}
	}
	return cat
}

// importCatalog opens a fresh SQLite store and imports cat into it.
func importCatalog(tb testing.TB, cat *modeldoc.Catalog) (*store.Store, int64, int64) {
	tb.Helper()
	ctx := context.Background()
	st := modeldoctest.NewSQLiteStore(tb)
	org, err := st.EnsureDefaultOrganization(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	sum, err := st.ImportCatalog(ctx, org.ID, cat)
	if err != nil {
		tb.Fatal(err)
	}
	return st, org.ID, sum.ProjectID
}

// startFake serves a fakellm on a real port for the benchmark.
func startFake(tb testing.TB, cfg fakellm.Config) *fakellm.Server {
	tb.Helper()
	srv := fakellm.New(cfg)
	if _, err := srv.Start("127.0.0.1:0"); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	return srv
}

// newEngine wires the production engine (limiters, retry, writers) on st
// with room for 64 objects in flight.
func newEngine(tb testing.TB, st *store.Store) *engine.Engine {
	tb.Helper()
	eng, err := engine.New(context.Background(), engine.Config{Store: st, Jobs: jobs.Config{MaxWorkers: 64, Concurrency: 64}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { eng.Close() })
	return eng
}

// runJob creates a job and runs it to its end in the foreground.
func runJob(tb testing.TB, m *jobs.Manager, orgID int64, opts jobs.Options) (*jobs.Job, time.Duration) {
	tb.Helper()
	ctx := context.Background()
	j, err := m.Create(ctx, orgID, jobs.CreateRequest{Options: opts})
	if err != nil {
		tb.Fatal(err)
	}
	start := time.Now()
	j, err = m.RunJob(ctx, orgID, j.ID)
	if err != nil {
		tb.Fatal(err)
	}
	d := time.Since(start)
	if j.Status != jobs.StatusCompleted || j.Failed != 0 || j.Partial != 0 {
		tb.Fatalf("job ended %s (%s): processed %d, partial %d, failed %d of %d", j.Status, j.Message, j.Processed, j.Partial, j.Failed, j.Total)
	}
	return j, d
}

// steadyRates are the mean per-second successful answers and reserved
// tokens over the fake's per-second stats, without the first and last few
// seconds (ramp up, and the tail where fewer than a window's worth of
// calls remain).
func steadyRates(ps []fakellm.SecondCount, trim int) (reqRate, tokRate float64, seconds int) {
	if len(ps) <= 2*trim {
		trim = 0
	}
	ps = ps[trim : len(ps)-trim]
	var ok, tok int64
	for _, s := range ps {
		ok += s.Succeeded
		tok += s.Reserved
	}
	if len(ps) == 0 {
		return 0, 0, 0
	}
	return float64(ok) / float64(len(ps)), float64(tok) / float64(len(ps)), len(ps)
}

// peakRSS reads the process's high-water resident set (VmHWM) in bytes.
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// resetPeakRSS starts a new high-water mark (Linux 4.0+), so that what was
// built before the measured part does not count.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// cannedWriter answers every request at once with a valid answer
// computed beforehand, so a job run through it costs orchestration only.
type cannedWriter struct {
	mu      sync.RWMutex
	answers map[string]string // unique id + layer → content
}

func (w *cannedWriter) Provider() string { return "offline" }

func (w *cannedWriter) Write(ctx context.Context, req writer.Request) (writer.Result, error) {
	w.mu.RLock()
	c, ok := w.answers[req.Subject.Object.UniqueID+"/"+string(req.Layer)]
	w.mu.RUnlock()
	if !ok {
		return writer.Result{}, &writer.Error{Kind: writer.InvalidRequest, Provider: "offline", Message: "no canned answer for " + req.Subject.Object.UniqueID}
	}
	return writer.Result{Content: c, Model: "canned", FinishReason: "stop", Usage: writer.Usage{PromptTokens: 1, CompletionTokens: 1}}, nil
}

// can fills the canned answers from w for every object of the project.
func (c *cannedWriter) can(tb testing.TB, gen *generate.Service, st *store.Store, orgID int64, w writer.Writer) {
	tb.Helper()
	ctx := context.Background()
	list, _, err := st.ListObjects(ctx, orgID, store.ObjectFilter{})
	if err != nil {
		tb.Fatal(err)
	}
	c.answers = map[string]string{}
	for _, o := range list {
		plan, err := gen.Plan(ctx, orgID, o.ID, generate.Options{Provider: "offline"})
		if err != nil {
			tb.Fatal(err)
		}
		for _, req := range plan.Requests {
			res, err := w.Write(ctx, req)
			if err != nil {
				tb.Fatal(err)
			}
			c.answers[o.UniqueID+"/"+string(req.Layer)] = res.Content
		}
	}
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
