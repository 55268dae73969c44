package api

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc/internal/fakellm"
	"github.com/modeldoc/modeldoc/internal/jobs"
	"github.com/modeldoc/modeldoc/internal/metrics"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
)

// runSeedJob uploads src to token's organization and runs a job over it
// against fake to its end.
func (e *env) runSeedJob(t *testing.T, token string, src seedSource, fake *fakellm.Server) jobs.Job {
	t.Helper()
	var up uploadAnswer
	e.must(201, "POST", "/api/v1/projects", token, src.upload(t), &up)
	body := fmt.Sprintf(`{"selection":{"project_id":%d},"provider":"openai","model":"gpt-4o-mini","base_url":%q,"concurrency":4}`, up.Project.ID, fake.BaseURL())
	var job jobs.Job
	e.must(201, "POST", "/api/v1/jobs", token, body, &job)
	stream, err := e.follow(job.ID, token)
	if err != nil {
		t.Fatal(err)
	}
	evs := drain(t, stream, 3*time.Minute)
	if len(evs) == 0 || evs[len(evs)-1].name != "completed" {
		t.Fatalf("job did not complete: %v", tail(evs))
	}
	e.must(200, "GET", fmt.Sprintf("/api/v1/jobs/%d", job.ID), token, nil, &job)
	return job
}

// series reads Prometheus text into value by series, without comments.
func series(text string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		out[line[:i]] = line[i+1:]
	}
	return out
}

// TestMetricsNeedATokenAndShowItsOrganization: /metrics answers 401
// without a token; with one it shows its organization's jobs and calls,
// never another's, nor this process's HTTP figures (which count every
// organization's requests). The operator's handler shows them all.
func TestMetricsNeedATokenAndShowItsOrganization(t *testing.T) {
	eachSeedOnBackends(t, func(t *testing.T, st *store.Store, src seedSource) {
		setTestSecretKey(t, st)
		fake := fakellm.New(fakellm.Config{})
		if _, err := fake.Start("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fake.Close() })
		e := newEnv(t, st, nil)
		if p := e.do("GET", "/metrics", "", nil); p.status != 401 {
			t.Fatalf("/metrics without a token: %d %s", p.status, p.body)
		}
		e.runSeedJob(t, e.adminA, src, fake)

		a := series(string(e.must(200, "GET", "/metrics", e.memberA, nil, nil).body))
		b := series(string(e.must(200, "GET", "/metrics", e.adminB, nil, nil).body))
		if a[`modeldoc_jobs{status="completed"}`] != "1" || a[`modeldoc_provider_calls_total{model="gpt-4o-mini",outcome="ok"}`] == "" || a["modeldoc_store_up"] != "1" {
			t.Fatalf("organization A's metrics lack its job: %v", a)
		}
		if b[`modeldoc_jobs{status="completed"}`] != "0" || b[`modeldoc_provider_calls_total{model="gpt-4o-mini",outcome="ok"}`] != "" ||
			b["modeldoc_provider_call_duration_seconds_count"] != "0" || b[`modeldoc_tokens_total{kind="prompt"}`] != "0" {
			t.Fatalf("organization B sees A's figures: %v", b)
		}
		for k := range a {
			if strings.HasPrefix(k, "modeldoc_http_") || strings.HasPrefix(k, "go_") {
				t.Fatalf("an organization's metrics show the process's %s", k)
			}
		}
		rec := httptest.NewRecorder()
		e.api.metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		all := series(rec.Body.String())
		if all[`modeldoc_jobs{status="completed"}`] != "1" || all[`modeldoc_http_requests_total{code="201",route="POST /api/v1/jobs"}`] != "1" {
			t.Fatalf("the operator's metrics: %v", all)
		}
	})
}

// TestMetricsElsewhereAnswers404: with serve --metrics-addr the main
// listener serves no metrics, even to a token.
func TestMetricsElsewhereAnswers404(t *testing.T) {
	t.Setenv("MODELDOC_SECRET_KEY", "")
	e := newEnv(t, modeldoctest.NewSQLiteStore(t), func(c *Config) { c.MetricsElsewhere = true })
	if p := e.do("GET", "/metrics", e.adminA, nil); p.status != 404 {
		t.Fatalf("/metrics with --metrics-addr: %d %s", p.status, p.body)
	}
}

// TestLogRetentionKeepsTotals: deleting old generation logs (serve
// --retain-logs) deletes only rows older than the cut, in batches, and
// changes neither the tokens and cost of the job and its items (they live
// in their own rows) nor any call counter of /metrics (the deleted calls
// move to generation_log_totals).
func TestLogRetentionKeepsTotals(t *testing.T) {
	eachSeedOnBackends(t, func(t *testing.T, st *store.Store, src seedSource) {
		setTestSecretKey(t, st)
		fake := fakellm.New(fakellm.Config{})
		if _, err := fake.Start("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fake.Close() })
		e := newEnv(t, st, nil)
		ctx := context.Background()
		job := e.runSeedJob(t, e.adminA, src, fake)
		e.runSeedJob(t, e.adminB, src, fake)
		var items list[jobs.Item]
		e.must(200, "GET", fmt.Sprintf("/api/v1/jobs/%d/items?limit=500", job.ID), e.adminA, nil, &items)
		var logs list[jobs.GenerationLog]
		e.must(200, "GET", fmt.Sprintf("/api/v1/jobs/%d/logs?kind=calls&limit=1", job.ID), e.adminA, nil, &logs)
		if logs.Total < 10 {
			t.Fatalf("only %d calls logged", logs.Total)
		}
		// A fresh Metrics each time: no cached figures.
		scrapeOrg := func(org int64) string {
			rec := httptest.NewRecorder()
			metrics.New(st, nil).OrgHandler(org).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
			return rec.Body.String()
		}
		beforeA, beforeB := scrapeOrg(e.orgA), scrapeOrg(e.orgB)

		// Age the first half of A's calls by 100 days.
		old := time.Now().UTC().Add(-100 * 24 * time.Hour)
		half := logs.Total / 2
		if _, err := st.DB().ExecContext(ctx, st.Rebind(`UPDATE generation_logs SET created_at = ? WHERE id IN
			(SELECT id FROM generation_logs WHERE job_id = ? ORDER BY id LIMIT ?)`), old, job.ID, half); err != nil {
			t.Fatal(err)
		}
		n, err := st.JobStore().DeleteGenerationLogsBefore(ctx, time.Now().Add(-90*24*time.Hour), 3)
		if err != nil || n != int64(half) {
			t.Fatalf("deleted %d rows (%v), want the %d older than 90 days", n, err, half)
		}
		var rest list[jobs.GenerationLog]
		e.must(200, "GET", fmt.Sprintf("/api/v1/jobs/%d/logs?kind=calls&limit=1", job.ID), e.adminA, nil, &rest)
		if rest.Total != logs.Total-half {
			t.Fatalf("%d calls left, want %d", rest.Total, logs.Total-half)
		}
		// Then everything, as a retention shorter than the logs' age would.
		if _, err := st.JobStore().DeleteGenerationLogsBefore(ctx, time.Now().Add(time.Hour), 0); err != nil {
			t.Fatal(err)
		}
		var left int
		if err := st.ReadDB().QueryRowContext(ctx, "SELECT COUNT(*) FROM generation_logs").Scan(&left); err != nil || left != 0 {
			t.Fatalf("%d generation logs left (%v)", left, err)
		}

		var after jobs.Job
		e.must(200, "GET", fmt.Sprintf("/api/v1/jobs/%d", job.ID), e.adminA, nil, &after)
		if after.PromptTokens != job.PromptTokens || after.CompletionTokens != job.CompletionTokens ||
			after.CachedTokens != job.CachedTokens || after.ActualCost != job.ActualCost {
			t.Fatalf("the job's totals changed: %+v, were %+v", after, job)
		}
		var items2 list[jobs.Item]
		e.must(200, "GET", fmt.Sprintf("/api/v1/jobs/%d/items?limit=500", job.ID), e.adminA, nil, &items2)
		for i := range items.Items {
			x, y := items.Items[i], items2.Items[i]
			if x.PromptTokens != y.PromptTokens || x.CompletionTokens != y.CompletionTokens || x.Cost != y.Cost {
				t.Fatalf("item %d's totals changed: %+v, were %+v", x.ID, y, x)
			}
		}
		for org, before := range map[int64]string{e.orgA: beforeA, e.orgB: beforeB} {
			if got := scrapeOrg(org); got != before {
				t.Fatalf("organization %d's metrics changed after retention:\n%s\nwere\n%s", org, got, before)
			}
		}
	})
}

// setTestSecretKey gives the test a master key where the store needs one
// from the environment (PostgreSQL has no file to keep it beside).
func setTestSecretKey(t *testing.T, st *store.Store) {
	if st.IsPostgres() {
		t.Setenv("MODELDOC_SECRET_KEY", hex.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	} else {
		t.Setenv("MODELDOC_SECRET_KEY", "")
	}
}
