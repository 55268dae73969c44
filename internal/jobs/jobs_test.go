package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/generate"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// testLayers keeps the scripted objects small: two calls each.
var testLayers = []modeldoc.Layer{modeldoc.LayerExecutiveSummary, modeldoc.LayerBusinessRules}

const callCost = 0.01

// scriptDoc is a Documenter that plans one request per layer and writes
// them one by one through the writer it is given, so the job's guard,
// logs and counters see every call exactly as with generate.Service.
type scriptDoc struct {
	store *store.Store
}

func (d *scriptDoc) Plan(ctx context.Context, orgID, objectID int64, opts generate.Options) (*generate.Plan, error) {
	obj, err := d.store.GetObject(ctx, orgID, objectID)
	if err != nil {
		return nil, err
	}
	layers := opts.Layers
	if len(layers) == 0 {
		layers = testLayers
	}
	p := &generate.Plan{Object: obj, Subject: &writer.Subject{Object: *obj}, InputHash: "h-" + obj.SQLHash, Options: opts}
	for _, l := range layers {
		p.Requests = append(p.Requests, writer.Request{Layer: l, Model: opts.Model, Subject: p.Subject})
	}
	p.EstimatedPromptTokens = int64(100 * len(layers))
	p.EstimatedCompletionTokens = int64(50 * len(layers))
	p.EstimatedCost = callCost * float64(len(layers))
	return p, nil
}

// PlanBriefs is Plan for each object, as a job's creation asks for it.
func (d *scriptDoc) PlanBriefs(ctx context.Context, orgID int64, ids []int64, opts generate.Options, _ generate.ManyOptions) ([]generate.Brief, error) {
	briefs := make([]generate.Brief, len(ids))
	for i, id := range ids {
		p, err := d.Plan(ctx, orgID, id, opts)
		if err != nil {
			return nil, err
		}
		briefs[i] = generate.Brief{InputHash: p.InputHash, EstimatedPromptTokens: p.EstimatedPromptTokens,
			EstimatedCompletionTokens: p.EstimatedCompletionTokens, EstimatedCost: p.EstimatedCost, Calls: int32(len(p.Requests))}
	}
	return briefs, nil
}

func (d *scriptDoc) Write(ctx context.Context, p *generate.Plan, w writer.Writer) (*modeldoc.DocVersion, error) {
	v := &modeldoc.DocVersion{ObjectID: p.Object.ID, Provider: w.Provider(), Model: p.Options.Model, InputHash: p.InputHash,
		Layers: map[modeldoc.Layer]json.RawMessage{}, LayerStatus: map[modeldoc.Layer]modeldoc.LayerStatus{}, JobID: p.Options.JobID}
	for _, req := range p.Requests {
		res, err := w.Write(ctx, req)
		st := modeldoc.LayerStatus{Attempts: 1, PromptTokens: res.Usage.PromptTokens, CompletionTokens: res.Usage.CompletionTokens}
		v.PromptTokens += res.Usage.PromptTokens
		v.CompletionTokens += res.Usage.CompletionTokens
		if res.Usage.PromptTokens > 0 {
			v.Cost += callCost
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if writer.KindOf(err).Fatal() {
				return nil, err
			}
			st.Status, st.Error, st.ErrorClass = "failed", err.Error(), string(writer.KindOf(err))
		} else {
			st.Status = "ok"
			v.Layers[req.Layer] = json.RawMessage(res.Content)
		}
		v.LayerStatus[req.Layer] = st
	}
	return v, nil
}

// scriptWriter is the fake provider: behaviour by object name prefix.
//   - "partial_": the business_rules layer is refused as invalid
//   - "broken_": every layer is refused as invalid
//   - "fatal_": the key is rejected
//   - "slow_": the call blocks until release is closed or ctx ends
type scriptWriter struct {
	calls   atomic.Int64
	mu      sync.Mutex
	order   []string // object names at their first call
	seen    map[string]bool
	release chan struct{}
	entered chan string // a slow_ call announces itself
	delay   time.Duration
}

func newScriptWriter() *scriptWriter {
	return &scriptWriter{seen: map[string]bool{}, release: make(chan struct{}), entered: make(chan string, 100)}
}

func (w *scriptWriter) Provider() string { return "offline" }

func (w *scriptWriter) Write(ctx context.Context, req writer.Request) (writer.Result, error) {
	name := req.Subject.Object.Name
	w.calls.Add(1)
	w.mu.Lock()
	if !w.seen[name] {
		w.seen[name] = true
		w.order = append(w.order, name)
	}
	w.mu.Unlock()
	if w.delay > 0 {
		select {
		case <-time.After(w.delay):
		case <-ctx.Done():
			return writer.Result{}, &writer.Error{Kind: writer.Transient, Provider: "offline", Message: "cancelled", Err: ctx.Err()}
		}
	}
	usage := writer.Usage{PromptTokens: 100, CompletionTokens: 50}
	switch {
	case strings.HasPrefix(name, "fatal_"):
		return writer.Result{}, &writer.Error{Kind: writer.AuthFailed, Provider: "offline", Status: 401, Message: "invalid api key"}
	case strings.HasPrefix(name, "broken_"):
		return writer.Result{}, &writer.Error{Kind: writer.InvalidRequest, Provider: "offline", Status: 400, Message: "context too long"}
	case strings.HasPrefix(name, "partial_") && req.Layer == modeldoc.LayerBusinessRules:
		return writer.Result{}, &writer.Error{Kind: writer.InvalidRequest, Provider: "offline", Status: 400, Message: "content refused"}
	case strings.HasPrefix(name, "slow_"):
		w.entered <- name
		select {
		case <-w.release:
		case <-ctx.Done():
			return writer.Result{}, &writer.Error{Kind: writer.Transient, Provider: "offline", Message: "cancelled", Err: ctx.Err()}
		}
	}
	return writer.Result{Content: fmt.Sprintf(`{"grain":"","confidence":"high","summary":%q}`, name), Model: "script-1", Usage: usage, FinishReason: "stop"}, nil
}

func (w *scriptWriter) firstCalls() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.order...)
}

type env struct {
	t     *testing.T
	s     *store.Store
	org   int64
	proj  int64
	w     *scriptWriter
	m     *Manager
	names map[string]int64
}

// newEnv imports a project with objects named by names and edges "up>down".
func newEnv(t *testing.T, s *store.Store, names []string, edges []string) *env {
	t.Helper()
	ctx := context.Background()
	org, err := s.EnsureDefaultOrganization(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cat := &modeldoc.Catalog{ProjectName: "shop", Source: "manifest", Path: "/tmp/shop"}
	for _, n := range names {
		sql := "select 1 as id -- " + n
		cat.Objects = append(cat.Objects, modeldoc.Object{UniqueID: "model.shop." + n, Type: modeldoc.TypeModel, Name: n,
			Package: "shop", RawSQL: sql, SQLHash: modeldoc.HashSQL(sql, "")})
	}
	for _, e := range edges {
		up, down, _ := strings.Cut(e, ">")
		cat.Edges = append(cat.Edges, modeldoc.Edge{Upstream: "model.shop." + up, Downstream: "model.shop." + down})
	}
	sum, err := s.ImportCatalog(ctx, org.ID, cat)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, s: s, org: org.ID, proj: sum.ProjectID, w: newScriptWriter(), names: map[string]int64{}}
	e.m = e.manager()
	rows, err := s.ReadDB().Query(s.Rebind(`SELECT id, name FROM objects WHERE project_id = ?`), sum.ProjectID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var n string
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		e.names[n] = id
	}
	return e
}

func (e *env) manager() *Manager {
	e.t.Helper()
	m, err := NewManager(context.Background(), Config{
		Store:      e.s,
		Documenter: &scriptDoc{store: e.s},
		Writers:    FixedWriter(e.w),
		Heartbeat:  200 * time.Millisecond,
		Lease:      2 * time.Second,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = m.Stop(ctx)
		_ = m.Close()
	})
	return m
}

func (e *env) create(o Options) *Job {
	e.t.Helper()
	if o.Selection.ProjectID == 0 && len(o.Selection.Names) == 0 && o.Selection.Pattern == "" && len(o.Selection.ObjectIDs) == 0 {
		o.Selection.ProjectID = e.proj
	}
	j, err := e.m.Create(context.Background(), e.org, CreateRequest{Options: o})
	if err != nil {
		e.t.Fatalf("create: %v", err)
	}
	return j
}

func (e *env) run(id int64) *Job {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	j, err := e.m.RunJob(ctx, e.org, id)
	if err != nil {
		e.t.Fatalf("run job %d: %v", id, err)
	}
	return j
}

// versions counts documentation versions per object name.
func (e *env) versions() map[string]int {
	e.t.Helper()
	rows, err := e.s.ReadDB().Query(`SELECT o.name, COUNT(*) FROM doc_versions d JOIN objects o ON o.id = d.object_id GROUP BY o.name`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var n string
		var c int
		if err := rows.Scan(&n, &c); err != nil {
			e.t.Fatal(err)
		}
		out[n] = c
	}
	return out
}

// checkCounters asserts that the job's counters equal its items' states.
func (e *env) checkCounters(j *Job) {
	e.t.Helper()
	items, err := e.m.Items(context.Background(), e.org, j.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	n := map[string]int64{}
	var pt, ct int64
	var cost float64
	for _, it := range items {
		n[it.Status]++
		pt += it.PromptTokens
		ct += it.CompletionTokens
		cost += it.Cost
	}
	if j.Total != int64(len(items)) || j.Processed != n[ItemDone]+n[ItemPartial] || j.Partial != n[ItemPartial] ||
		j.Failed != n[ItemFailed] || j.Skipped != n[ItemSkipped] || j.Cancelled != n[ItemCancelled] {
		e.t.Fatalf("counters %+v do not match items %v", j, n)
	}
	if j.InFlight != n[ItemEnqueued]+n[ItemRunning] {
		e.t.Fatalf("in_flight %d, items enqueued+running %d", j.InFlight, n[ItemEnqueued]+n[ItemRunning])
	}
	if j.PromptTokens < pt || j.CompletionTokens < ct || j.ActualCost+1e-9 < cost {
		e.t.Fatalf("job tokens %d/%d cost %f below the items' %d/%d %f", j.PromptTokens, j.CompletionTokens, j.ActualCost, pt, ct, cost)
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if modeldoc.ErrorCode(err) != code {
		t.Fatalf("error %v: code %q, want %q", err, modeldoc.ErrorCode(err), code)
	}
}

// waitFor reads the job's events until cond holds.
func (e *env) waitFor(m *Manager, id int64, what string, cond func(*Job) bool) *Job {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ch, stop := m.Subscribe(ctx, id)
	defer stop()
	var last *Job
	for ev := range ch {
		last = ev.Job
		if cond(ev.Job) {
			return ev.Job
		}
	}
	e.t.Fatalf("job %d never became %s; last %+v", id, what, last)
	return nil
}

func TestCreateOrdersUpstreamFirst(t *testing.T) {
	modeldoctest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		// orders reads from stg_orders and customers; customers from stg_customers.
		e := newEnv(t, s, []string{"orders", "stg_orders", "customers", "stg_customers", "lonely"},
			[]string{"stg_orders>orders", "customers>orders", "stg_customers>customers"})
		j := e.create(Options{Concurrency: 1})
		// MaxRetries 0 is no retry (it used to become 3 silently).
		if j.Total != 5 || j.Status != StatusQueued || j.EstimatedCost <= 0 || j.Options.MaxRetries != 0 {
			t.Fatalf("job %+v", j)
		}
		if want := 5 * 2 * callCost; abs(j.EstimatedCost-want) > 1e-9 {
			t.Fatalf("estimate %f, want %f", j.EstimatedCost, want)
		}
		items, err := e.m.Items(context.Background(), e.org, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		pos := map[string]int{}
		deps := map[string]int{}
		for _, it := range items {
			pos[it.ObjectName] = it.Position
			deps[it.ObjectName] = it.DepsRemaining
		}
		for _, edge := range [][2]string{{"stg_orders", "orders"}, {"customers", "orders"}, {"stg_customers", "customers"}} {
			if pos[edge[0]] >= pos[edge[1]] {
				t.Fatalf("%s (position %d) must come before %s (%d)", edge[0], pos[edge[0]], edge[1], pos[edge[1]])
			}
		}
		if deps["orders"] != 2 || deps["customers"] != 1 || deps["lonely"] != 0 {
			t.Fatalf("deps %v", deps)
		}
		done := e.run(j.ID)
		if done.Status != StatusCompleted {
			t.Fatalf("status %s", done.Status)
		}
		// With a window of one the calls follow the topological order.
		order := e.w.firstCalls()
		at := map[string]int{}
		for i, n := range order {
			at[n] = i
		}
		if at["stg_orders"] > at["orders"] || at["customers"] > at["orders"] || at["stg_customers"] > at["customers"] {
			t.Fatalf("written in order %v", order)
		}

		est, err := e.m.Estimate(context.Background(), e.org, CreateRequest{Options: Options{Selection: Selection{Pattern: "stg_*"}}})
		if err != nil || est.Total != 2 || est.Calls != 4 {
			t.Fatalf("estimate %+v %v", est, err)
		}
		_, err = e.m.Create(context.Background(), e.org, CreateRequest{Options: Options{Selection: Selection{Names: []string{"nope"}}}})
		wantCode(t, err, modeldoc.ENOTFOUND)
		_, err = e.m.Create(context.Background(), e.org, CreateRequest{Options: Options{Selection: Selection{Pattern: "[x"}}})
		wantCode(t, err, modeldoc.EINVALID)
		_, err = e.m.Create(context.Background(), e.org+1000, CreateRequest{Options: Options{Selection: Selection{ObjectIDs: []int64{e.names["orders"]}}}})
		wantCode(t, err, modeldoc.ENOTFOUND)
	})
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func TestCycleIsNamed(t *testing.T) {
	modeldoctest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, []string{"a", "b", "c", "d"}, []string{"a>b", "b>c", "c>a", "a>d"})
		_, err := e.m.Create(context.Background(), e.org, CreateRequest{Options: Options{Selection: Selection{ProjectID: e.proj}}})
		wantCode(t, err, modeldoc.EINVALID)
		for _, n := range []string{"a", "b", "c"} {
			if !strings.Contains(err.Error(), n) {
				t.Fatalf("%q does not name %s", err, n)
			}
		}
		if strings.Contains(err.Error(), "d,") || strings.HasSuffix(err.Error(), "d") {
			t.Fatalf("%q names d, which is not on the cycle", err)
		}
	})
}

func TestRunCountsExactlyWithPartialAndFailed(t *testing.T) {
	modeldoctest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		names := []string{"partial_x", "broken_y"}
		var edges []string
		for i := range 12 {
			names = append(names, fmt.Sprintf("m%02d", i))
			if i > 0 {
				edges = append(edges, fmt.Sprintf("m%02d>m%02d", i-1, i))
			}
		}
		edges = append(edges, "broken_y>m05")
		e := newEnv(t, s, names, edges)
		j := e.create(Options{Concurrency: 4})
		done := e.run(j.ID)
		if done.Status != StatusCompleted || done.Total != 14 || done.Processed != 13 || done.Partial != 1 || done.Failed != 1 || done.Percentage != 100 {
			t.Fatalf("job %+v", done)
		}
		e.checkCounters(done)
		// 14 objects × 2 calls; the 3 refused calls (partial_x's rules,
		// broken_y's two) bill nothing, the 25 others 100/50 tokens.
		if done.PromptTokens != 25*100 || done.CompletionTokens != 25*50 || abs(done.ActualCost-25*callCost) > 1e-9 {
			t.Fatalf("tokens %d/%d cost %f", done.PromptTokens, done.CompletionTokens, done.ActualCost)
		}
		if c := done.Layers[modeldoc.LayerBusinessRules]; c.OK != 12 || c.Failed != 2 {
			t.Fatalf("business_rules counts %+v", c)
		}
		v := e.versions()
		if v["broken_y"] != 0 || v["partial_x"] != 1 || v["m11"] != 1 {
			t.Fatalf("versions %v", v)
		}
		items, _ := e.m.Items(context.Background(), e.org, j.ID)
		for _, it := range items {
			if it.ObjectName == "partial_x" && (it.Status != ItemPartial || strings.Join(it.MissingLayers, ",") != "business_rules") {
				t.Fatalf("partial item %+v", it)
			}
			if it.ObjectName == "broken_y" && (it.Status != ItemFailed || it.LastError == "") {
				t.Fatalf("failed item %+v", it)
			}
		}
		logs, err := e.m.GenerationLogs(context.Background(), e.org, j.ID)
		if err != nil || len(logs) != 28 {
			t.Fatalf("%d generation logs, %v", len(logs), err)
		}
		errs, err := e.m.Errors(context.Background(), e.org, j.ID)
		if err != nil || len(errs) != 4 { // partial: 1 layer; broken: 2 layers + the item
			t.Fatalf("errors %+v %v", errs, err)
		}
		// Done jobs refuse every action.
		_, err = e.m.Resume(context.Background(), e.org, j.ID)
		wantCode(t, err, modeldoc.ECONFLICT)
		if !strings.Contains(err.Error(), "completed") {
			t.Fatalf("message %q", err)
		}
		_, err = e.m.Pause(context.Background(), e.org, j.ID)
		wantCode(t, err, modeldoc.ECONFLICT)
		_, err = e.m.Cancel(context.Background(), e.org, j.ID)
		wantCode(t, err, modeldoc.ECONFLICT)
		_, err = e.m.Get(context.Background(), e.org+99, j.ID)
		wantCode(t, err, modeldoc.ENOTFOUND)

		// Skip rules: nothing changed since, so onlyStale skips all but the
		// failed object; skipExisting skips every documented one;
		// regenerateAll takes all.
		stale := e.create(Options{OnlyStale: true})
		if stale.Skipped != 13 || stale.Total != 14 {
			t.Fatalf("onlyStale %+v", stale)
		}
		existing, err := e.m.Estimate(context.Background(), e.org, CreateRequest{Options: Options{Selection: Selection{ProjectID: e.proj}, SkipExisting: true}})
		if err != nil || existing.Skipped != 13 || existing.ToDocument != 1 {
			t.Fatalf("skipExisting %+v %v", existing, err)
		}
		all, err := e.m.Estimate(context.Background(), e.org, CreateRequest{Options: Options{Selection: Selection{ProjectID: e.proj}, RegenerateAll: true}})
		if err != nil || all.ToDocument != 14 {
			t.Fatalf("regenerateAll %+v %v", all, err)
		}
		list, err := e.m.List(context.Background(), e.org, ListFilter{})
		if err != nil || len(list) != 2 || list[0].ID != stale.ID {
			t.Fatalf("list %v %v", list, err)
		}
	})
}

func TestFatalErrorStopsTheJob(t *testing.T) {
	modeldoctest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		names := []string{"a0_fine", "fatal_b"}
		for i := range 10 {
			names = append(names, fmt.Sprintf("z%02d", i))
		}
		e := newEnv(t, s, names, nil)
		j := e.create(Options{Concurrency: 1})
		done := e.run(j.ID)
		if done.Status != StatusFailed || done.StatusReason != string(writer.AuthFailed) || !strings.Contains(done.Message, "offline") || !strings.Contains(done.Message, "key") {
			t.Fatalf("job %+v", done)
		}
		calls := e.w.calls.Load()
		if calls != 3 { // a0_fine × 2, then fatal_b once
			t.Fatalf("%d calls", calls)
		}
		if done.Processed != 1 || done.Failed != 1 || done.Cancelled != 10 {
			t.Fatalf("counters %+v", done)
		}
		e.checkCounters(done)
		_, err := e.m.Resume(context.Background(), e.org, j.ID)
		wantCode(t, err, modeldoc.ECONFLICT)
	})
}

func slowNames(n int) []string {
	var names []string
	for i := range n {
		names = append(names, fmt.Sprintf("slow_%02d", i))
	}
	return names
}

func TestPauseKeepsCallsInFlightAndResumeNeverRewrites(t *testing.T) {
	modeldoctest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, slowNames(8), nil)
		j := e.create(Options{Concurrency: 2})
		if err := e.m.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		<-e.w.entered
		<-e.w.entered
		p, err := e.m.Pause(context.Background(), e.org, j.ID)
		if err != nil || p.Status != StatusPausing {
			t.Fatalf("pause: %+v %v", p, err)
		}
		_, err = e.m.Pause(context.Background(), e.org, j.ID)
		wantCode(t, err, modeldoc.ECONFLICT)
		close(e.w.release) // the two objects in flight finish (second layer included)
		paused := e.waitFor(e.m, j.ID, "paused", func(j *Job) bool { return j.Status == StatusPaused })
		if paused.Processed != 2 || paused.InFlight != 0 {
			t.Fatalf("paused %+v", paused)
		}
		e.checkCounters(paused)
		if c := e.w.calls.Load(); c != 4 {
			t.Fatalf("%d calls while pausing", c)
		}
		if _, err := e.m.Resume(context.Background(), e.org, j.ID); err != nil {
			t.Fatal(err)
		}
		done := e.run(j.ID)
		if done.Status != StatusCompleted || done.Processed != 8 {
			t.Fatalf("job %+v", done)
		}
		e.checkCounters(done)
		for n, c := range e.versions() {
			if c != 1 {
				t.Fatalf("%s documented %d times", n, c)
			}
		}
		if c := e.w.calls.Load(); c != 16 {
			t.Fatalf("%d calls, want 16", c)
		}
	})
}

func TestCancelFromAnotherManager(t *testing.T) {
	modeldoctest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, slowNames(6), nil)
		j := e.create(Options{Concurrency: 2})
		if err := e.m.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		<-e.w.entered
		<-e.w.entered
		other := e.manager() // a second process on the same database
		if _, err := other.Cancel(context.Background(), e.org, j.ID); err != nil {
			t.Fatal(err)
		}
		// Nothing releases the slow calls: only the first manager's poll of
		// the job row can cancel them.
		done := e.waitFor(e.m, j.ID, "cancelled with nothing in flight", func(j *Job) bool { return j.Status == StatusCancelled && j.InFlight == 0 })
		if done.Cancelled != 6 || done.Processed != 0 {
			t.Fatalf("job %+v", done)
		}
		e.checkCounters(done)
		if c := e.w.calls.Load(); c != 2 {
			t.Fatalf("%d calls", c)
		}
		_, err := other.Resume(context.Background(), e.org, j.ID)
		wantCode(t, err, modeldoc.ECONFLICT)
	})
}

func TestPauseFromAnotherManager(t *testing.T) {
	modeldoctest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, slowNames(6), nil)
		j := e.create(Options{Concurrency: 2})
		if err := e.m.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		<-e.w.entered
		<-e.w.entered
		other := e.manager()
		if _, err := other.Pause(context.Background(), e.org, j.ID); err != nil {
			t.Fatal(err)
		}
		// The first manager learns of the pause from the row before the
		// calls are released, so it starts no new object afterwards.
		e.waitFor(e.m, j.ID, "pausing", func(j *Job) bool { return j.Status == StatusPausing })
		waitControl(t, e.m, j.ID, StatusPausing)
		close(e.w.release)
		paused := e.waitFor(other, j.ID, "paused", func(j *Job) bool { return j.Status == StatusPaused })
		if paused.Processed != 2 {
			t.Fatalf("paused %+v", paused)
		}
		if c := e.w.calls.Load(); c != 4 {
			t.Fatalf("%d calls", c)
		}
		if _, err := other.Resume(context.Background(), e.org, j.ID); err != nil {
			t.Fatal(err)
		}
		done := e.waitFor(other, j.ID, "completed", func(j *Job) bool { return j.Status == StatusCompleted })
		e.checkCounters(done)
		if done.Processed != 6 {
			t.Fatalf("job %+v", done)
		}
	})
}

// waitControl waits until m's control loop has seen status for job id.
func waitControl(t *testing.T, m *Manager, id int64, status string) {
	t.Helper()
	for range 600 {
		m.control.mu.Lock()
		c := m.control.ctl[id]
		m.control.mu.Unlock()
		if c != nil {
			c.mu.Lock()
			s := c.status
			c.mu.Unlock()
			if s == status {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the control of job %d never saw %s", id, status)
}

func TestBudgetPausesBeforeCrossingAndResumesWhenRaised(t *testing.T) {
	modeldoctest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		var names []string
		for i := range 5 {
			names = append(names, fmt.Sprintf("b%d", i))
		}
		e := newEnv(t, s, names, nil)
		// Two objects cost 0.04; the fifth call (0.05) fits, the sixth not.
		j := e.create(Options{Concurrency: 1, Budget: 0.05})
		paused := e.run(j.ID)
		if paused.Status != StatusPaused || paused.StatusReason != ReasonBudgetExceeded {
			t.Fatalf("job %+v", paused)
		}
		// Exactly five calls: a budget is a limit, not a reason to stop
		// early. The next object can start while the previous one is still
		// settling (its cost committed to the job row, its reservation not
		// yet given back); counting that cost twice once paused this test
		// one call early.
		calls := e.w.calls.Load()
		if paused.Processed != 2 || calls != 5 || paused.ActualCost > 0.05+1e-9 {
			t.Fatalf("processed %d, calls %d, cost %f", paused.Processed, calls, paused.ActualCost)
		}
		e.checkCounters(paused)
		// Resuming without more budget pauses again at once, spending nothing.
		if _, err := e.m.Resume(context.Background(), e.org, j.ID); err != nil {
			t.Fatal(err)
		}
		again := e.run(j.ID)
		if again.Status != StatusPaused || e.w.calls.Load() > 5 || again.ActualCost > 0.05+1e-9 {
			t.Fatalf("job %+v after %d calls", again, e.w.calls.Load())
		}
		if _, err := e.m.SetBudget(context.Background(), e.org, j.ID, 1); err != nil {
			t.Fatal(err)
		}
		if _, err := e.m.Resume(context.Background(), e.org, j.ID); err != nil {
			t.Fatal(err)
		}
		done := e.run(j.ID)
		if done.Status != StatusCompleted || done.Processed != 5 {
			t.Fatalf("job %+v", done)
		}
		e.checkCounters(done)
		v := e.versions()
		keys := make([]string, 0, len(v))
		for k, c := range v {
			if c != 1 {
				t.Fatalf("%s has %d versions", k, c)
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if len(keys) != 5 {
			t.Fatalf("versions %v", v)
		}
		_, err := e.m.SetBudget(context.Background(), e.org, j.ID, 2)
		wantCode(t, err, modeldoc.ECONFLICT)
	})
}

var _ = errors.New

// Cost prices a call as Write prices it: callCost for any answered call.
func (d *scriptDoc) Cost(provider, model string, u writer.Usage) float64 {
	if u.PromptTokens > 0 {
		return callCost
	}
	return 0
}

// TestBadRowFromBeforeValidationStillLists: a job row written before
// options were validated (an empty options column, a budget of Inf) is
// listed, not an error for the whole organization.
func TestBadRowFromBeforeValidationStillLists(t *testing.T) {
	modeldoctest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, []string{"orders"}, nil)
		j := e.create(Options{Concurrency: 1})
		if _, err := s.DB().Exec(s.Rebind(`UPDATE jobs SET options = '', budget = ? WHERE id = ?`), math.Inf(1), j.ID); err != nil {
			t.Fatal(err)
		}
		list, err := e.m.List(context.Background(), e.org, ListFilter{})
		if err != nil {
			t.Fatalf("list with a row from before validation: %v", err)
		}
		if len(list) != 1 || list[0].Budget != 0 {
			t.Fatalf("listed %+v", list)
		}
		if _, err := json.Marshal(list); err != nil {
			t.Fatalf("the listed jobs cannot be encoded: %v", err)
		}
	})
}

// TestCloseEndsSubscriptions: Close ends every event subscription and
// waits for its last read, so a subscriber (a dashboard's event stream)
// never reads a store its owner closes right after the manager (an API
// test once panicked reading a closed store from a subscription).
func TestCloseEndsSubscriptions(t *testing.T) {
	modeldoctest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, []string{"a", "b"}, []string{"a>b"})
		j := e.create(Options{Concurrency: 1})
		ch, stop := e.m.Subscribe(context.Background(), j.ID)
		defer stop()
		if _, ok := <-ch; !ok {
			t.Fatal("the subscription ended before its first event")
		}
		if err := e.m.Close(); err != nil {
			t.Fatal(err)
		}
		// Close returned: the poll loop has exited and closed the channel.
		select {
		case _, ok := <-ch:
			if ok {
				if _, ok := <-ch; ok {
					t.Fatal("events after Close")
				}
			}
		default:
			t.Fatal("the subscription is still open after Close returned")
		}
	})
}
