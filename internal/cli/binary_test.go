package cli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var binary struct {
	once sync.Once
	dir  string
	path string
	err  error
	out  []byte
}

// modeldocBinary builds cmd/modeldoc once for the tests that run it as a
// child process.
func modeldocBinary(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		binary.dir, binary.err = os.MkdirTemp("", "modeldoc-bin-")
		if binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "modeldoc")
		build := exec.Command("go", "build", "-o", binary.path, "../../cmd/modeldoc")
		build.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
		binary.out, binary.err = build.CombinedOutput()
	})
	if binary.err != nil {
		t.Fatalf("go build: %v\n%s", binary.err, binary.out)
	}
	return binary.path
}
