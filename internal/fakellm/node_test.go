package fakellm_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc/internal/testenv"
)

// TestNodeOpenAIClient runs tests/node against the real modeldoc binary:
// the official OpenAI client for Node must parse the fake's answers and
// classify its errors as it does against OpenAI.
func TestNodeOpenAIClient(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs Node.js (-short)")
	}
	node, nodeErr := exec.LookPath("node")
	npm, npmErr := exec.LookPath("npm")
	if nodeErr != nil || npmErr != nil {
		testenv.Missing(t, "node and npm are not on PATH; install Node.js 20+ to run the OpenAI client conformance tests in tests/node")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go is not on PATH: %v", err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	nodeDir := filepath.Join(root, "tests", "node")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	bin := filepath.Join(t.TempDir(), "modeldoc")
	run(t, ctx, root, nil, goBin, "build", "-o", bin, "./cmd/modeldoc")

	if _, err := os.Stat(filepath.Join(nodeDir, "node_modules", "openai")); err != nil {
		run(t, ctx, nodeDir, nil, npm, "ci", "--no-audit", "--no-fund")
	}
	files, err := filepath.Glob(filepath.Join(nodeDir, "*.test.mjs"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no *.test.mjs in %s", nodeDir)
	}
	run(t, ctx, nodeDir, []string{"MODELDOC_BIN=" + bin}, node, append([]string{"--test"}, files...)...)
}

func run(t *testing.T, ctx context.Context, dir string, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v in %s: %v\n%s", filepath.Base(name), args, dir, err, out)
	}
	t.Logf("%s %v: ok", filepath.Base(name), args)
}
