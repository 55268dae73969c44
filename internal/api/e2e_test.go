package api

import (
	"encoding/hex"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/fakellm"
	"github.com/modeldoc/modeldoc/internal/jobs"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
)

func TestEndToEndSQLite(t *testing.T) {
	t.Setenv("MODELDOC_SECRET_KEY", "")
	for _, src := range []seedSource{shopSeed, jaffleSeed} {
		t.Run(src.name, func(t *testing.T) { endToEnd(t, modeldoctest.NewSQLiteStore(t), src) })
	}
}

func TestEndToEndPostgres(t *testing.T) {
	// On PostgreSQL there is no file to keep a master key beside.
	t.Setenv("MODELDOC_SECRET_KEY", hex.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	for _, src := range []seedSource{shopSeed, jaffleSeed} {
		t.Run(src.name, func(t *testing.T) { endToEnd(t, modeldoctest.NewPostgresStore(t), src) })
	}
}

// endToEnd drives the whole API as a dashboard would: a key, an upload, an
// estimate, a job followed over SSE to its end, a slow job paused and
// resumed, and the documentation it wrote.
func endToEnd(t *testing.T, st *store.Store, src seedSource) {
	fake := fakellm.New(fakellm.Config{})
	if _, err := fake.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	e := newEnv(t, st, nil)
	admin := e.adminA

	var key KeyAnswer
	e.must(200, "PUT", "/api/v1/provider-keys/openai", admin, `{"key":"sk-test-0123456789abcdefghijklmnop"}`, &key)
	if key.Masked == "" || strings.Contains(key.Masked, "0123456789abcdefghij") {
		t.Fatalf("masked key %q reveals the key", key.Masked)
	}
	var keys list[store.ProviderKeyInfo]
	e.must(200, "GET", "/api/v1/provider-keys", e.memberA, nil, &keys)
	if keys.Total != 1 || keys.Items[0].Provider != "openai" || strings.Contains(string(e.do("GET", "/api/v1/provider-keys", admin, nil).body), "abcdefghij") {
		t.Fatalf("key listing: %+v", keys)
	}

	var up uploadAnswer
	e.must(201, "POST", "/api/v1/projects", admin, src.upload(t), &up)
	if up.Summary.Models == 0 || up.Summary.Columns == 0 || up.Project.ID != up.Summary.ProjectID {
		t.Fatalf("upload summary: %+v", up.Summary)
	}
	var objs list[store.ObjectSummary]
	e.must(200, "GET", fmt.Sprintf("/api/v1/objects?type=model&project_id=%d&limit=500", up.Project.ID), e.memberA, nil, &objs)
	if objs.Total != up.Summary.Models || len(objs.Items) != objs.Total {
		t.Fatalf("objects: total %d, %d items, want %d models", objs.Total, len(objs.Items), up.Summary.Models)
	}
	ids := map[string]int64{}
	for _, o := range objs.Items {
		ids[o.UniqueID] = o.ID
	}
	// A re-upload updates in place: same project, same object ids.
	var again uploadAnswer
	e.must(200, "POST", "/api/v1/projects", admin, src.upload(t), &again)
	if again.Project.ID != up.Project.ID || again.Summary.Created != 0 {
		t.Fatalf("re-upload made a new project or objects: %+v", again.Summary)
	}
	var objs2 list[store.ObjectSummary]
	e.must(200, "GET", fmt.Sprintf("/api/v1/objects?type=model&project_id=%d&limit=500", up.Project.ID), e.memberA, nil, &objs2)
	for _, o := range objs2.Items {
		if ids[o.UniqueID] != o.ID {
			t.Fatalf("re-upload changed the id of %s: %d → %d", o.UniqueID, ids[o.UniqueID], o.ID)
		}
	}
	var page1 list[store.ObjectSummary]
	e.must(200, "GET", "/api/v1/objects?type=model&limit=2&offset=1", e.memberA, nil, &page1)
	if len(page1.Items) != 2 || page1.Total != objs.Total || page1.Items[0].ID != objs.Items[1].ID {
		t.Fatalf("pagination: %+v", page1)
	}

	// The model with the most upstream models exercises lineage.
	var orders objectDetail
	ordersID := ids[src.uniqueID()]
	if ordersID == 0 {
		t.Fatalf("no %s among %v", src.uniqueID(), ids)
	}
	e.must(200, "GET", fmt.Sprintf("/api/v1/objects/%d", ordersID), e.memberA, nil, &orders)
	if len(orders.Columns) == 0 || len(orders.Upstream) == 0 || orders.Documented {
		t.Fatalf("object detail: %d columns, upstream %v, documented %v", len(orders.Columns), orders.Upstream, orders.Documented)
	}

	body := fmt.Sprintf(`{"selection":{"project_id":%d},"provider":"openai","model":"gpt-4o-mini","base_url":%q,"concurrency":4}`, up.Project.ID, fake.BaseURL())
	var est jobs.Estimate
	e.must(200, "POST", "/api/v1/jobs/estimate", e.memberA, body, &est)
	if est.ToDocument == 0 || est.EstimatedCost <= 0 || est.Calls < est.ToDocument {
		t.Fatalf("estimate: %+v", est)
	}
	var job jobs.Job
	created := e.must(201, "POST", "/api/v1/jobs", admin, body, &job)
	if created.header.Get("Location") != fmt.Sprintf("/api/v1/jobs/%d", job.ID) {
		t.Fatalf("Location %q", created.header.Get("Location"))
	}
	if job.EstimatedCost != est.EstimatedCost || job.Total != est.Total {
		t.Fatalf("job estimate %v/%d differs from the estimate %v/%d", job.EstimatedCost, job.Total, est.EstimatedCost, est.Total)
	}
	if job.TriggeredByEmail != "alice@acme.test" || !strings.HasPrefix(job.TriggeredByUserID, "token:") {
		t.Fatalf("triggered by %q %q", job.TriggeredByUserID, job.TriggeredByEmail)
	}
	stream, err := e.follow(job.ID, e.memberA)
	if err != nil {
		t.Fatal(err)
	}
	evs := drain(t, stream, 3*time.Minute)
	if len(evs) < 2 {
		t.Fatalf("want progress events and a final one, got %v", tail(evs))
	}
	for _, ev := range evs[:len(evs)-1] {
		if ev.name != "progress" {
			t.Fatalf("event %q before the end", ev.name)
		}
	}
	final := evs[len(evs)-1]
	if final.name != "completed" || final.job.Processed != est.ToDocument || final.job.Failed != 0 || final.job.ActualCost <= 0 || final.job.PromptTokens == 0 {
		t.Fatalf("final event %s: %+v", final.name, final.job)
	}
	if fake.Stats().Requests == 0 {
		t.Fatal("the fake provider served no request")
	}
	var items list[jobs.Item]
	e.must(200, "GET", fmt.Sprintf("/api/v1/jobs/%d/items?limit=500", job.ID), e.memberA, nil, &items)
	if int64(items.Total) != job.Total {
		t.Fatalf("items: %d, want %d", items.Total, job.Total)
	}
	var calls list[jobs.GenerationLog]
	e.must(200, "GET", fmt.Sprintf("/api/v1/jobs/%d/logs?kind=calls&limit=500", job.ID), e.memberA, nil, &calls)
	if calls.Total == 0 || calls.Items[0].Status != "ok" {
		t.Fatalf("generation logs: %+v", calls)
	}
	// Pages are cut in SQL: pages of 2 put together are the whole list, in
	// order, each with the whole list's total; a status filter counts only
	// its items; past the end is an empty page.
	var paged []int64
	for off := 0; off < items.Total+2; off += 2 {
		var pg list[jobs.Item]
		e.must(200, "GET", fmt.Sprintf("/api/v1/jobs/%d/items?limit=2&offset=%d", job.ID, off), e.memberA, nil, &pg)
		if pg.Total != items.Total || pg.Limit != 2 || pg.Offset != off || len(pg.Items) > 2 {
			t.Fatalf("items page at %d: total %d limit %d offset %d, %d items", off, pg.Total, pg.Limit, pg.Offset, len(pg.Items))
		}
		for _, it := range pg.Items {
			paged = append(paged, it.ID)
		}
	}
	if len(paged) != len(items.Items) {
		t.Fatalf("pages of 2 hold %d items, one page %d", len(paged), len(items.Items))
	}
	done := 0
	for i, it := range items.Items {
		if paged[i] != it.ID {
			t.Fatalf("item %d: paged id %d, listed id %d", i, paged[i], it.ID)
		}
		if it.Status == jobs.ItemDone {
			done++
		}
	}
	var donePage list[jobs.Item]
	e.must(200, "GET", fmt.Sprintf("/api/v1/jobs/%d/items?status=done&limit=1", job.ID), e.memberA, nil, &donePage)
	if donePage.Total != done || len(donePage.Items) != 1 || donePage.Items[0].Status != jobs.ItemDone {
		t.Fatalf("done items: total %d (want %d), %+v", donePage.Total, done, donePage.Items)
	}
	var callsPage list[jobs.GenerationLog]
	e.must(200, "GET", fmt.Sprintf("/api/v1/jobs/%d/logs?kind=calls&limit=3&offset=1", job.ID), e.memberA, nil, &callsPage)
	if callsPage.Total != calls.Total || len(callsPage.Items) != 3 || callsPage.Items[0].ID != calls.Items[1].ID {
		t.Fatalf("calls page: total %d (want %d), %d items", callsPage.Total, calls.Total, len(callsPage.Items))
	}
	var doc modeldoc.DocVersion
	e.must(200, "GET", fmt.Sprintf("/api/v1/objects/%d/documentation", ordersID), e.memberA, nil, &doc)
	if doc.Version != 1 || doc.ExecutiveSummary() == "" || doc.Provider != "openai" {
		t.Fatalf("documentation: version %d provider %s summary %q", doc.Version, doc.Provider, doc.ExecutiveSummary())
	}
	// Resuming a completed job is an invalid transition.
	if p := e.do("POST", fmt.Sprintf("/api/v1/jobs/%d/resume", job.ID), admin, nil).problem(t); p.Status != 409 || p.Code != modeldoc.ECONFLICT {
		t.Fatalf("resume completed: %+v", p)
	}

	// A slow job, one object at a time: pause it mid-way, then resume.
	fake.SetLatency(150*time.Millisecond, 0)
	slow := fmt.Sprintf(`{"selection":{"project_id":%d},"regenerate_all":true,"provider":"openai","model":"gpt-4o-mini","base_url":%q,"concurrency":1}`, up.Project.ID, fake.BaseURL())
	var job2 jobs.Job
	e.must(201, "POST", "/api/v1/jobs", admin, slow, &job2)
	stream, err = e.follow(job2.ID, admin)
	if err != nil {
		t.Fatal(err)
	}
	paused := false
	var seen []sseEvent
	for ev := range stream {
		seen = append(seen, ev)
		if ev.name == "progress" && ev.job.Processed >= 1 && !paused {
			var pj jobs.Job
			e.must(200, "POST", fmt.Sprintf("/api/v1/jobs/%d/pause", job2.ID), admin, nil, &pj)
			if pj.Status != jobs.StatusPausing && pj.Status != jobs.StatusPaused {
				t.Fatalf("after pause: %s", pj.Status)
			}
			paused = true
		}
	}
	last := seen[len(seen)-1]
	if !paused || last.name != "paused" || last.job.Processed >= last.job.Total {
		t.Fatalf("stream after pause ended with %s (processed %d of %d); paused=%v", last.name, last.job.Processed, last.job.Total, paused)
	}
	// A second pause is a conflict; a member cannot resume.
	if p := e.do("POST", fmt.Sprintf("/api/v1/jobs/%d/pause", job2.ID), admin, nil).problem(t); p.Status != 409 {
		t.Fatalf("second pause: %+v", p)
	}
	if p := e.do("POST", fmt.Sprintf("/api/v1/jobs/%d/resume", job2.ID), e.memberA, nil).problem(t); p.Status != 403 {
		t.Fatalf("member resume: %+v", p)
	}
	fake.SetLatency(0, 0)
	var rj jobs.Job
	e.must(200, "POST", fmt.Sprintf("/api/v1/jobs/%d/resume", job2.ID), admin, `{"budget": 100}`, &rj)
	if rj.Budget != 100 || (rj.Status != jobs.StatusRunning && rj.Status != jobs.StatusCompleted) {
		t.Fatalf("after resume: %s budget %v", rj.Status, rj.Budget)
	}
	stream, err = e.follow(job2.ID, admin)
	if err != nil {
		t.Fatal(err)
	}
	evs = drain(t, stream, 3*time.Minute)
	final = evs[len(evs)-1]
	if final.name != "completed" || final.job.Processed != final.job.Total-final.job.Skipped || final.job.Failed != 0 {
		t.Fatalf("resumed job ended %s: %+v", final.name, final.job)
	}

	var versions list[modeldoc.DocVersion]
	e.must(200, "GET", fmt.Sprintf("/api/v1/objects/%d/documentation/versions", ordersID), e.memberA, nil, &versions)
	if versions.Total != 2 || versions.Items[0].Version != 2 || !versions.Items[0].Current || versions.Items[1].Current {
		t.Fatalf("versions: %+v", versions)
	}
	var v1 modeldoc.DocVersion
	e.must(200, "GET", fmt.Sprintf("/api/v1/objects/%d/documentation?version=1", ordersID), e.memberA, nil, &v1)
	if v1.Version != 1 || v1.Current || len(v1.Layers) == 0 {
		t.Fatalf("version 1: %d current=%v layers=%d", v1.Version, v1.Current, len(v1.Layers))
	}
	var jl list[jobs.Job]
	e.must(200, "GET", "/api/v1/jobs?status=completed&limit=1", e.memberA, nil, &jl)
	if jl.Total != 2 || len(jl.Items) != 1 || jl.Items[0].ID != job2.ID {
		t.Fatalf("job list: total %d, first %+v", jl.Total, jl.Items)
	}

	rec := httptest.NewRecorder()
	e.api.metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	m := string(e.must(200, "GET", "/metrics", e.memberA, nil, nil).body) + rec.Body.String()
	for _, want := range []string{`modeldoc_jobs{status="completed"} 2`, `modeldoc_provider_calls_total{model="gpt-4o-mini",outcome="ok"}`,
		`modeldoc_provider_call_duration_seconds_count`, `modeldoc_tokens_total{kind="prompt"}`, `modeldoc_cost_dollars_total`, `modeldoc_store_up 1`,
		`modeldoc_http_requests_total{code="201",route="POST /api/v1/jobs"} 2`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// KeyAnswer is the test's name for the key answer.
type KeyAnswer = keyAnswer
