package modeldoc_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestDockerfile holds what the image promises and no daemon here can
// check by building it: the binary is built without cgo (and links no C
// library: the build's dependencies do not need cgo), the final stage is
// distroless static and runs as a non-root user, the store is in a volume,
// and serve listens beyond the container's loopback.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	stages := regexp.MustCompile(`(?m)^FROM `).Split(df, -1)
	final := stages[len(stages)-1]
	for _, want := range []string{"CGO_ENABLED=0 go build", "-trimpath"} {
		if !strings.Contains(df, want) {
			t.Errorf("the Dockerfile does not build with %q", want)
		}
	}
	if !strings.HasPrefix(final, "gcr.io/distroless/static") {
		t.Errorf("the final stage is %q, not distroless static", strings.SplitN(final, "\n", 2)[0])
	}
	user := regexp.MustCompile(`(?m)^USER (\S+)`).FindStringSubmatch(final)
	if user == nil || strings.HasPrefix(user[1], "0") || strings.HasPrefix(user[1], "root") {
		t.Errorf("the final stage runs as %v, want a non-root user", user)
	}
	for _, want := range []string{`VOLUME ["/data"]`, "MODELDOC_DB=/data/", `"--addr", "0.0.0.0:8080"`, `ENTRYPOINT ["/usr/local/bin/modeldoc"]`} {
		if !strings.Contains(final, want) {
			t.Errorf("the final stage lacks %s", want)
		}
	}
	// No package of the binary may need cgo: with CGO_ENABLED=0 such a
	// package would be left out or fail, and a C SQLite driver would
	// need a libc the image does not have.
	list := exec.Command("go", "list", "-deps", "-f", "{{if .CgoFiles}}{{.ImportPath}}{{end}}", "./cmd/modeldoc")
	list.Env = append(os.Environ(), "CGO_ENABLED=1")
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var cgo []string
	for _, p := range strings.Fields(string(out)) {
		// The standard library's cgo variants (net, os/user, runtime/cgo)
		// have pure-Go fallbacks that CGO_ENABLED=0 selects.
		if strings.Contains(strings.SplitN(p, "/", 2)[0], ".") {
			cgo = append(cgo, p)
		}
	}
	if len(cgo) > 0 {
		t.Errorf("packages of modeldoc that use cgo: %v", cgo)
	}
}
