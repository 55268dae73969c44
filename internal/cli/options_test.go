package cli_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc/internal/modeldoctest"
)

// forEachDB runs fn with a fresh store's --db value: a SQLite file, and a
// PostgreSQL database when MODELDOC_TEST_POSTGRES is set.
func forEachDB(t *testing.T, fn func(t *testing.T, db string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, filepath.Join(t.TempDir(), "m.db")) })
	t.Run("postgres", func(t *testing.T) {
		t.Setenv("MODELDOC_SECRET_KEY", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
		fn(t, modeldoctest.PostgresDSN(t))
	})
}

// TestGenerateRefusesBadOptions: each bad option exits 2 with a message
// naming it, before anything is imported or stored, and `jobs list` still
// reads the organization's jobs.
func TestGenerateRefusesBadOptions(t *testing.T) {
	offlineEnv(t)
	forEachDB(t, func(t *testing.T, db string) {
		runJSON(t, db, "import", shop(t))
		for _, c := range []struct {
			flags []string
			says  string
		}{
			{[]string{"--budget", "Inf"}, "budget"},
			{[]string{"--budget", "NaN"}, "budget"},
			{[]string{"--budget", "-1"}, "budget"},
			{[]string{"--budget", "1000001"}, "budget"},
			{[]string{"--rpm", "-1"}, "rpm"},
			{[]string{"--tpm", "-1"}, "tpm"},
			{[]string{"--concurrency", "0"}, "concurrency"},
			{[]string{"--concurrency", "1001"}, "concurrency"},
			{[]string{"--max-retries", "-1"}, "max_retries"},
			{[]string{"--layers", "executive_summary,executive_summary"}, "twice"},
			{[]string{"--layers", "executive_summary,poetry"}, "poetry"},
		} {
			for _, target := range [][]string{{"--select", "*"}, {shop(t)}} {
				args := append(append([]string{"generate"}, target...), c.flags...)
				r := run(t, db, args...)
				if r.code != 2 || !strings.Contains(r.stderr, c.says) {
					t.Errorf("modeldoc %s: exit %d, want 2 with a message naming %q\nstdout: %s\nstderr: %s",
						strings.Join(args, " "), r.code, c.says, r.stdout, r.stderr)
				}
			}
		}
		r := run(t, db, "--json", "jobs", "list")
		if r.code != 0 {
			t.Fatalf("jobs list: exit %d\n%s", r.code, r.stderr)
		}
		if strings.Contains(r.stdout, `"id"`) {
			t.Errorf("refused options stored jobs:\n%s", r.stdout)
		}
		// --max-retries 0 is no retry, not the default.
		job := runJSON(t, db, "generate", "--select", "*", "--max-retries", "0")
		opts, _ := job["options"].(map[string]any)
		if opts == nil || opts["max_retries"] != 0.0 {
			t.Errorf("--max-retries 0 stored options %v, want max_retries 0", job["options"])
		}
	})
}
