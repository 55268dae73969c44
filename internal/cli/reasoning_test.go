package cli_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc/internal/fakellm"
)

// docs generate with the default model against a fake that reasons past
// the first cap at low effort: the layer comes back after one retry with a
// larger cap; --reasoning-effort reaches the provider; a wrong one is
// refused before any call.
func TestDocsGenerateReasoningModel(t *testing.T) {
	offlineEnv(t)
	srv := fakellm.New(fakellm.Config{ReasoningTokens: map[string]int{"low": 6000, "high": 100}})
	if _, err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "m.db")
	runJSON(t, db, "import", shop(t))
	gen := runJSON(t, db, "docs", "generate", "orders", "--provider", "openai", "--base-url", srv.BaseURL(), "--layers", "executive_summary")
	st, _ := gen["layer_status"].(map[string]any)
	sum, _ := st["executive_summary"].(map[string]any)
	if sum["status"] != "ok" || gen["model"] != "gpt-5-mini" {
		t.Fatalf("docs generate: %v", gen)
	}
	if s := srv.Stats(); s.Requests != 2 || s.EmptyAnswers != 1 || s.BadRequests != 0 {
		t.Errorf("fake: %d requests, %d empty, %d refused; want the empty one asked again once", s.Requests, s.EmptyAnswers, s.BadRequests)
	}

	runJSON(t, db, "docs", "generate", "orders", "--provider", "openai", "--base-url", srv.BaseURL(), "--layers", "executive_summary", "--reasoning-effort", "high")
	if s := srv.Stats(); s.Requests != 3 || s.ReasoningTokens != 4396+6000+100 {
		t.Errorf("fake after --reasoning-effort high: %d requests, %d reasoning tokens", s.Requests, s.ReasoningTokens)
	}

	r := run(t, db, "docs", "generate", "orders", "--provider", "openai", "--base-url", srv.BaseURL(), "--reasoning-effort", "extreme")
	if r.code == 0 || !strings.Contains(r.stderr, "minimal, low, medium") || srv.Stats().Requests != 3 {
		t.Errorf("--reasoning-effort extreme: exit %d, stderr %s", r.code, r.stderr)
	}
}
