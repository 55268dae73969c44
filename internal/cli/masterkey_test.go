package cli_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
)

// TestWrongMasterKeyStopsServeAndWorker: started with another
// MODELDOC_SECRET_KEY than the stored provider keys were sealed with,
// serve and worker exit at once with a message that says what to do,
// instead of running and failing every job as auth_failed. A database
// whose keys predate the check value is verified against a stored key.
func TestWrongMasterKeyStopsServeAndWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := modeldocBinary(t)
	const (
		rightKey = "1111111111111111111111111111111111111111111111111111111111111111"
		wrongKey = "2222222222222222222222222222222222222222222222222222222222222222"
	)
	dbs := map[string]string{"sqlite": filepath.Join(t.TempDir(), "m.db")}
	if modeldoctest.PostgresURL() != "" {
		dbs["postgres"] = modeldoctest.PostgresDSN(t)
	}
	for backend, db := range dbs {
		t.Run(backend, func(t *testing.T) {
			command := func(ctx context.Context, key string, args ...string) *exec.Cmd {
				cmd := exec.CommandContext(ctx, bin, append([]string{"--db", db}, args...)...)
				cmd.Env = append(os.Environ(), "MODELDOC_SECRET_KEY="+key, "MODELDOC_DB=", "OPENAI_API_KEY=", "ANTHROPIC_API_KEY=")
				return cmd
			}
			set := command(context.Background(), rightKey, "keys", "set", "openai")
			set.Stdin = strings.NewReader("sk-right-key-0123456789abcdef\n")
			if out, err := set.CombinedOutput(); err != nil {
				t.Fatalf("keys set: %v\n%s", err, out)
			}
			refused := func(what string, args ...string) {
				t.Helper()
				// A process that starts serves until killed; the deadline
				// only ends a test that would otherwise hang.
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				out, err := command(ctx, wrongKey, args...).CombinedOutput()
				if ctx.Err() != nil {
					t.Fatalf("%s: started with a wrong master key\n%s", what, out)
				}
				if err == nil || !strings.Contains(string(out), "is not the one the stored provider keys were encrypted with") ||
					!strings.Contains(string(out), "Start with the original key") {
					t.Fatalf("%s with a wrong master key: %v\n%s", what, err, out)
				}
			}
			refused("serve", "serve", "--addr", "127.0.0.1:0")
			refused("worker", "worker")

			// A database from before the check value: its keys are the check.
			st, err := store.Open(context.Background(), db)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.DB().Exec("DELETE FROM provider_key_check"); err != nil {
				t.Fatal(err)
			}
			st.Close()
			refused("serve on a database without a check value", "serve", "--addr", "127.0.0.1:0")
		})
	}
}
