package cli_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc/internal/cli"
	"github.com/modeldoc/modeldoc/internal/fakellm"
)

// TestBudgetNeedsAPriceAndAsksWhenExceeded: a budget on a model the price
// table does not know is refused before anything is imported, unless
// --price-in and --price-out give its price; its estimate says "price
// unknown", not $0; an estimate over the budget asks before starting,
// refuses without a terminal to ask, and starts with --yes.
func TestBudgetNeedsAPriceAndAsksWhenExceeded(t *testing.T) {
	offlineEnv(t)
	t.Setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
	t.Setenv("MODELDOC_PRICES", "")
	srv := fakellm.New(fakellm.Config{APIKey: "sk-test-not-a-real-key"})
	if _, err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "m.db")
	gen := func(extra ...string) result {
		t.Helper()
		return run(t, db, append([]string{"generate", shop(t), "--provider", "openai", "--model", "llama3.1:8b", "--base-url", srv.BaseURL()}, extra...)...)
	}
	jobCount := func() int {
		t.Helper()
		m := runJSON(t, db, "jobs", "list")
		list, _ := m["jobs"].([]any)
		return len(list)
	}

	r := gen("--budget", "5")
	if r.code != 2 || !strings.Contains(r.stderr, "--price-in") || !strings.Contains(r.stderr, "llama3.1:8b") {
		t.Fatalf("a budget on an unpriced model: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if objs := run(t, db, "objects", "list"); strings.Contains(objs.stdout, "fct_orders") {
		t.Errorf("the refused run imported the project:\n%s", objs.stdout)
	}
	if r := gen("--budget", "5", "--price-in", "1"); r.code != 2 || !strings.Contains(r.stderr, "--price-out") {
		t.Errorf("half a price: exit %d\n%s", r.code, r.stderr)
	}

	dry := gen("--dry-run")
	if dry.code != 0 || !strings.Contains(dry.stdout, "price unknown") || strings.Contains(dry.stdout, "$0.0000") {
		t.Errorf("dry run of an unpriced model: exit %d\n%s%s", dry.code, dry.stdout, dry.stderr)
	}
	var est map[string]any
	if r := gen("--dry-run", "--json"); r.code != 0 || json.Unmarshal([]byte(r.stdout), &est) != nil || est["price_known"] != false {
		t.Errorf("--json dry run: exit %d %v\n%s", r.code, est, r.stdout)
	}
	priced := gen("--dry-run", "--price-in", "1", "--price-out", "2")
	if priced.code != 0 || strings.Contains(priced.stdout, "price unknown") || !strings.Contains(priced.stdout, "given with --price-in") {
		t.Errorf("dry run at a given price: exit %d\n%s", priced.code, priced.stdout)
	}

	// The estimate exceeds a budget of a millionth of a dollar.
	over := []string{"--budget", "0.000001", "--price-in", "1", "--price-out", "2"}
	restore := cli.SetStdin(strings.NewReader(""), false)
	r = gen(over...)
	restore()
	if r.code == 0 || !strings.Contains(r.stderr, "exceeds the budget") || !strings.Contains(r.stderr, "--yes") {
		t.Errorf("over budget without a terminal: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if n := jobCount(); n != 0 {
		t.Errorf("%d jobs after the refusal, want 0", n)
	}
	restore = cli.SetStdin(strings.NewReader("n\n"), true)
	r = gen(over...)
	restore()
	if r.code == 0 || !strings.Contains(r.stderr, "Start anyway? [y/N]") || jobCount() != 0 {
		t.Errorf("over budget, answered no: exit %d, %d jobs\n%s", r.code, jobCount(), r.stderr)
	}
	restore = cli.SetStdin(strings.NewReader("y\n"), true)
	r = gen(append(over, "--concurrency", "1")...)
	restore()
	if r.code != 0 || jobCount() != 1 || !strings.Contains(r.stdout, "budget_exceeded") {
		t.Errorf("over budget, answered yes: exit %d, %d jobs\n%s%s", r.code, jobCount(), r.stdout, r.stderr)
	}
	r = gen(append(over, "--yes", "--regenerate-all")...)
	if r.code != 0 || jobCount() != 2 || !strings.Contains(r.stderr, "Starting anyway (--yes)") {
		t.Errorf("over budget with --yes: exit %d, %d jobs\n%s%s", r.code, jobCount(), r.stdout, r.stderr)
	}

	// The price a job was given prices its calls.
	m := runJSON(t, db, "jobs", "list")
	list := m["jobs"].([]any)
	for _, j := range list {
		job := j.(map[string]any)
		if job["price_known"] != true {
			t.Errorf("job %v: price_known %v", job["id"], job["price_known"])
		}
	}
}
