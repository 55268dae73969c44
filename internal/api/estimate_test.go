package api

import (
	"fmt"
	"testing"

	"github.com/modeldoc/modeldoc/internal/store"
)

// TestLargeEstimatesRunOneAtATime: while a large estimate of an
// organization runs, another large one of the same organization answers
// 429 with Retry-After; a small one, and another organization's, run; and
// once it ends the next large one runs.
func TestLargeEstimatesRunOneAtATime(t *testing.T) {
	eachSeedOnBackends(t, func(t *testing.T, st *store.Store, src seedSource) {
		setTestSecretKey(t, st)
		e := newEnv(t, st, func(c *Config) { c.LargeEstimate = 3 })
		projects := map[string]int64{}
		for _, tok := range []string{e.adminA, e.adminB} {
			var up uploadAnswer
			e.must(201, "POST", "/api/v1/projects", tok, src.upload(t), &up)
			if up.Summary.Models <= 3 {
				t.Fatalf("%s has %d models: not a large project at 3", src.name, up.Summary.Models)
			}
			projects[tok] = up.Project.ID
		}
		large := func(tok string) string {
			return fmt.Sprintf(`{"selection":{"project_id":%d},"provider":"openai","model":"gpt-4o-mini"}`, projects[tok])
		}
		small := fmt.Sprintf(`{"selection":{"names":[%q]},"provider":"openai","model":"gpt-4o-mini"}`, src.model)

		e.must(200, "POST", "/api/v1/jobs/estimate", e.memberA, large(e.adminA), nil)
		done, ok := e.api.startLargeEstimate(e.orgA) // a large estimate of A in flight
		if !ok {
			t.Fatal("the slot was not given back after the first estimate")
		}
		busy := e.do("POST", "/api/v1/jobs/estimate", e.memberA, large(e.adminA))
		if busy.status != 429 || busy.header.Get("Retry-After") == "" || busy.problem(t).Code != "rate_limited" {
			t.Fatalf("a second large estimate: %d %s (Retry-After %q)", busy.status, busy.body, busy.header.Get("Retry-After"))
		}
		e.must(200, "POST", "/api/v1/jobs/estimate", e.memberA, small, nil)
		e.must(200, "POST", "/api/v1/jobs/estimate", e.adminB, large(e.adminB), nil)
		done()
		e.must(200, "POST", "/api/v1/jobs/estimate", e.memberA, large(e.adminA), nil)
	})
}
