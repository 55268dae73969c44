package api

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc/internal/jobs"
	"github.com/modeldoc/modeldoc/internal/store"
)

// TestJobOptionsAreValidated: options out of range are refused with a 400
// problem naming the option, nothing is stored, and the organization's job
// list still reads; a max_retries of 0 is kept as no retry.
func TestJobOptionsAreValidated(t *testing.T) {
	eachSeedOnBackends(t, func(t *testing.T, st *store.Store, src seedSource) {
		// On PostgreSQL there is no file to keep a master key beside.
		t.Setenv("MODELDOC_SECRET_KEY", hex.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
		e := newEnv(t, st, nil)
		var up uploadAnswer
		e.must(201, "POST", "/api/v1/projects", e.adminA, src.upload(t), &up)
		sel := fmt.Sprintf(`"selection":{"names":[%q],"project_id":%d},"provider":"offline"`, src.model, up.Project.ID)
		for _, c := range []struct{ body, names string }{
			{`"budget":-1`, "budget"},
			{`"budget":1000001`, "budget"},
			{`"budget":1e308`, "budget"},
			{`"rpm":-5`, "rpm"},
			{`"tpm":-5`, "tpm"},
			{`"concurrency":0`, "concurrency"},
			{`"concurrency":1001`, "concurrency"},
			{`"max_retries":-1`, "max_retries"},
			{`"max_retries":21`, "max_retries"},
			{`"layers":["executive_summary","executive_summary"]`, "executive_summary"},
			{`"layers":["executive_summary","poetry"]`, "poetry"},
		} {
			for _, path := range []string{"/api/v1/jobs", "/api/v1/jobs/estimate"} {
				a := e.do(http.MethodPost, path, e.adminA, "{"+sel+","+c.body+"}")
				if a.status != http.StatusBadRequest {
					t.Errorf("%s with %s: status %d, want 400 (%s)", path, c.body, a.status, a.body)
					continue
				}
				if p := a.problem(t); p.Code != "invalid" || !strings.Contains(p.Detail, c.names) {
					t.Errorf("%s with %s: problem %+v, want code invalid naming %q", path, c.body, p, c.names)
				}
			}
		}
		var l list[jobs.Job]
		e.must(200, "GET", "/api/v1/jobs", e.adminA, nil, &l)
		if len(l.Items) != 0 {
			t.Fatalf("refused options stored %d jobs: %+v", len(l.Items), l.Items)
		}
		var j jobs.Job
		e.must(201, "POST", "/api/v1/jobs", e.adminA, "{"+sel+`,"max_retries":0}`, &j)
		if j.Options.MaxRetries != 0 || j.Options.Concurrency != jobs.DefaultConcurrency {
			t.Errorf("max_retries 0 and no concurrency stored as max_retries %d, concurrency %d; want 0 and %d",
				j.Options.MaxRetries, j.Options.Concurrency, jobs.DefaultConcurrency)
		}
		e.must(201, "POST", "/api/v1/jobs", e.adminA, "{"+sel+`,"regenerate_all":true}`, &j)
		if j.Options.MaxRetries != jobs.DefaultMaxRetries {
			t.Errorf("no max_retries stored as %d, want the default %d", j.Options.MaxRetries, jobs.DefaultMaxRetries)
		}
		e.must(200, "GET", "/api/v1/jobs", e.adminA, nil, &l)
		if len(l.Items) != 2 {
			t.Errorf("GET /jobs lists %d jobs, want the 2 valid ones", len(l.Items))
		}
	})
}
