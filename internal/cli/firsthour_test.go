package cli_test

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc/internal/fakellm"
)

// oneJSONDocument decodes stdout as exactly one JSON object: a second
// document (or trailing text) after it is an error.
func oneJSONDocument(t *testing.T, what, stdout string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(stdout))
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("%s: stdout is not JSON: %v\n%s", what, err, stdout)
	}
	var more any
	if err := dec.Decode(&more); err != io.EOF {
		t.Fatalf("%s: stdout holds more than one JSON document (next: %v, %v)\n%s", what, more, err, stdout)
	}
	return m
}

func errorField(t *testing.T, what string, m map[string]any) (code, message string) {
	t.Helper()
	e, ok := m["error"].(map[string]any)
	if !ok {
		t.Fatalf("%s: no \"error\" object in the document: %v", what, m)
	}
	code, _ = e["code"].(string)
	message, _ = e["message"].(string)
	if code == "" || message == "" {
		t.Fatalf("%s: error without code or message: %v", what, e)
	}
	return code, message
}

func TestJSONFailureIsOneDocument(t *testing.T) {
	offlineEnv(t)
	db := filepath.Join(t.TempDir(), "m.db")
	if r := run(t, db, "generate", shop(t)); r.code != 0 {
		t.Fatalf("generate: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	// Nothing is reviewed yet: the check fails, and the report carries it.
	r := run(t, db, "--json", "coverage", "--check")
	if r.code == 0 {
		t.Fatalf("coverage --check with nothing reviewed passed:\n%s", r.stdout)
	}
	m := oneJSONDocument(t, "coverage --check", r.stdout)
	if _, ok := m["check"]; !ok {
		t.Errorf("coverage --check: the report lost its check result: %v", m)
	}
	if code, _ := errorField(t, "coverage --check", m); code != "coverage_below_threshold" {
		t.Errorf("coverage --check: code %q", code)
	}

	// An error before any document is printed is still one document.
	r = run(t, db, "--json", "docs", "show", "no_such_model")
	if r.code == 0 {
		t.Fatalf("docs show of a missing model passed")
	}
	errorField(t, "docs show", oneJSONDocument(t, "docs show", r.stdout))
}

// TestFailedJobSaysItOnce runs a job against a provider that refuses the
// key: --json prints the job with the error inside, and the human output
// says what happened once, in words that do not repeat themselves.
func TestFailedJobSaysItOnce(t *testing.T) {
	offlineEnv(t)
	srv := fakellm.New(fakellm.Config{APIKey: "sk-right"})
	if _, err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	t.Setenv("OPENAI_API_KEY", "sk-wrong")
	db := filepath.Join(t.TempDir(), "m.db")
	args := []string{"generate", shop(t), "--provider", "openai", "--model", "gpt-4o-mini", "--base-url", srv.BaseURL(), "--regenerate-all"}

	r := run(t, db, append([]string{"--json"}, args...)...)
	if r.code == 0 {
		t.Fatalf("a rejected key exited 0:\n%s", r.stdout)
	}
	job := oneJSONDocument(t, "failed generate", r.stdout)
	if job["status"] != "failed" {
		t.Errorf("status %v, want failed", job["status"])
	}
	_, msg := errorField(t, "failed generate", job)
	if n := strings.Count(msg, "rejected the API key"); n != 1 {
		t.Errorf("the error says \"rejected the API key\" %d times: %s", n, msg)
	}

	r = run(t, db, args...)
	all := r.stdout + r.stderr
	if r.code == 0 {
		t.Fatalf("a rejected key exited 0:\n%s", all)
	}
	if n := strings.Count(all, "rejected the API key"); n != 1 {
		t.Errorf("the output says \"rejected the API key\" %d times, want once:\n%s", n, all)
	}
	if !strings.Contains(all, "start a new job") {
		t.Errorf("the output does not say what to do next:\n%s", all)
	}

	// The quota message says one thing: a failed job is not resumed.
	srv2 := fakellm.New(fakellm.Config{Faults: fakellm.Faults{Quota: true}})
	if _, err := srv2.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer srv2.Close()
	r = run(t, db, "generate", shop(t), "--provider", "openai", "--model", "gpt-4o-mini", "--base-url", srv2.BaseURL(), "--regenerate-all")
	all = r.stdout + r.stderr
	if r.code == 0 || !strings.Contains(all, "quota") {
		t.Fatalf("quota: exit %d\n%s", r.code, all)
	}
	if strings.Contains(all, "resume the job") || !strings.Contains(all, "start a new job") {
		t.Errorf("the quota message must say to start a new job, and only that:\n%s", all)
	}
}

// TestGenerateNamesTheDataAndNextCommands checks the end of a run: the
// store's path, and commands naming a real model that work as printed.
func TestGenerateNamesTheDataAndNextCommands(t *testing.T) {
	offlineEnv(t)
	db := filepath.Join(t.TempDir(), "my store", "m.db")
	if err := os.MkdirAll(filepath.Dir(db), 0o755); err != nil {
		t.Fatal(err)
	}
	r := run(t, db, "generate", shop(t))
	if r.code != 0 {
		t.Fatalf("generate: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, db) {
		t.Errorf("the end of generate does not name the store %s:\n%s", db, r.stdout)
	}
	next := regexp.MustCompile(`(?m)^  modeldoc --db '([^']+)' docs show (\S+)\s`).FindStringSubmatch(r.stdout)
	if next == nil {
		t.Fatalf("no 'docs show' command naming the store and a model:\n%s", r.stdout)
	}
	if next[1] != db || next[2] == "NAME" {
		t.Errorf("next command names %q and %q", next[1], next[2])
	}
	if n := len(regexp.MustCompile(`(?m)^  modeldoc `).FindAllString(r.stdout, -1)); n != 3 {
		t.Errorf("%d next commands, want 3:\n%s", n, r.stdout)
	}
	// The command works as printed.
	show := run(t, db, "docs", "show", next[2])
	if show.code != 0 || !strings.Contains(show.stdout, next[2]) {
		t.Errorf("docs show %s: %d\n%s\n%s", next[2], show.code, show.stdout, show.stderr)
	}
	if strings.Contains(r.stdout, "docs show NAME") {
		t.Errorf("a placeholder is left:\n%s", r.stdout)
	}
}

// TestVersion builds the binary as the README says and checks that it
// names its module version and the commit it was built from.
func TestVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	offlineEnv(t)
	db := filepath.Join(t.TempDir(), "m.db")
	r := run(t, db, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "modeldoc ") || !strings.Contains(r.stdout, runtime.Version()) {
		t.Errorf("version: %d %q", r.code, r.stdout)
	}
	if v := run(t, db, "--version"); v.code != 0 || v.stdout != r.stdout {
		t.Errorf("--version: %d %q, version: %q", v.code, v.stdout, r.stdout)
	}
	m := oneJSONDocument(t, "version --json", run(t, db, "--json", "version").stdout)
	if m["module"] != "github.com/modeldoc/modeldoc" {
		t.Errorf("version --json: %v", m)
	}

	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("no git checkout to compare the commit with: %v", err)
	}
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skipf("no git checkout: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(strings.TrimSpace(string(top)), ".git")); err != nil || !fi.IsDir() {
		// The go command looks for a .git folder: a `git worktree` (whose
		// .git is a file) is built without VCS information.
		t.Skip("a git worktree: the go command does not stamp the commit here")
	}
	bin := filepath.Join(t.TempDir(), "modeldoc")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/modeldoc")
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod -buildvcs=true")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var out bytes.Buffer
	cmd := exec.Command(bin, "--version")
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSpace(string(head))[:12]; !strings.Contains(out.String(), "commit "+want) {
		t.Errorf("--version of a binary built at %s: %q", want, out.String())
	}
}
