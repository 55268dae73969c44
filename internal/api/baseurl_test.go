package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc/internal/modeldoctest"
)

// TestBaseURLAllowList: a job sends its organization's key to its base
// URL, so an admin may only name the servers the operator allowed.
func TestBaseURLAllowList(t *testing.T) {
	e := newEnv(t, modeldoctest.NewSQLiteStore(t), func(c *Config) {
		c.AllowBaseURL = func(u string) bool { return strings.HasPrefix(u, "http://ollama.internal:11434/") }
	})
	for _, path := range []string{"/api/v1/jobs/estimate", "/api/v1/jobs"} {
		a := e.do(http.MethodPost, path, e.adminA, map[string]any{
			"selection": map[string]any{"pattern": "*"}, "provider": "openai", "base_url": "http://attacker.example/v1",
		})
		if a.status != http.StatusBadRequest {
			t.Fatalf("%s with a base URL outside the list: status %d, want 400 (%s)", path, a.status, a.body)
		}
		if p := a.problem(t); p.Code != "invalid" || !strings.Contains(p.Detail, "--allow-base-url") {
			t.Errorf("%s: problem %+v, want code invalid naming --allow-base-url", path, p)
		}
	}
	// An allowed URL passes this check (and then fails for the empty
	// catalog, which is a different answer).
	a := e.do(http.MethodPost, "/api/v1/jobs/estimate", e.adminA, map[string]any{
		"selection": map[string]any{"pattern": "*"}, "provider": "openai", "base_url": "http://ollama.internal:11434/v1",
	})
	if a.status == http.StatusBadRequest && strings.Contains(string(a.body), "allow-base-url") {
		t.Fatalf("an allowed base URL was refused: %s", a.body)
	}
}
