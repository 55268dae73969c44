package cli_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// workflow is the part of a GitHub Actions workflow the recipe uses.
type workflow struct {
	Env      map[string]string `yaml:"env"`
	Defaults struct {
		Run struct {
			Shell string `yaml:"shell"`
		} `yaml:"run"`
	} `yaml:"defaults"`
	Jobs map[string]struct {
		Steps []struct {
			Name string            `yaml:"name"`
			Uses string            `yaml:"uses"`
			With map[string]string `yaml:"with"`
			Run  string            `yaml:"run"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

// TestCIRecipe runs the example workflow of docs/ci.md as GitHub's runner
// would, step by step, so that the recipe cannot rot: the repository's
// files stand for the checkout of modeldoc (built for real by the
// workflow's own build step), a copy of examples/shop for the pull
// request's dbt project, and GITHUB_PATH, GITHUB_ENV and
// GITHUB_STEP_SUMMARY are honoured. examples/shop is under the recipe's
// thresholds, so its last step must fail the pull request; with lower
// thresholds it passes.
func TestCIRecipe(t *testing.T) {
	if testing.Short() {
		// The workflow's build (CGO_ENABLED=0, -trimpath) shares no cache
		// with the other tests' build: on a fresh machine it compiles every
		// dependency again.
		t.Skip("builds the binary with the workflow's own flags (-short)")
	}
	offlineEnv(t)
	raw, err := os.ReadFile("../../examples/ci/modeldoc.yml")
	if err != nil {
		t.Fatal(err)
	}
	var wf workflow
	if err := yaml.Unmarshal(raw, &wf); err != nil {
		t.Fatalf("the workflow is not YAML: %v", err)
	}
	if wf.Defaults.Run.Shell != "bash" {
		t.Fatalf("defaults.run.shell is %q: without `bash` a step runs without pipefail and `| tee` hides a failure", wf.Defaults.Run.Shell)
	}
	job, ok := wf.Jobs["docs"]
	if !ok || len(job.Steps) == 0 {
		t.Fatalf("no steps in jobs.docs")
	}

	ws := t.TempDir()
	runner := t.TempDir()
	if wf.Env["DBT_PROJECT"] != "." {
		t.Fatalf("DBT_PROJECT is %q; the test puts the project at the workspace's root", wf.Env["DBT_PROJECT"])
	}
	shopDir := shop(t)
	copyDir(t, shopDir, ws)
	files := map[string]string{
		"GITHUB_PATH":         filepath.Join(runner, "path"),
		"GITHUB_ENV":          filepath.Join(runner, "env"),
		"GITHUB_STEP_SUMMARY": filepath.Join(runner, "summary.md"),
	}
	for _, f := range files {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// env is the step's environment: the machine's (so go finds its
	// caches), the workflow's, the runner's, and what earlier steps added.
	env := func(extra map[string]string) []string {
		var out []string
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "PATH=") {
				out = append(out, kv)
			}
		}
		for k, v := range wf.Env {
			out = append(out, k+"="+v)
		}
		out = append(out, "RUNNER_TEMP="+runner, "GITHUB_WORKSPACE="+ws)
		for k, v := range files {
			out = append(out, k+"="+v)
		}
		path := os.Getenv("PATH")
		if b, _ := os.ReadFile(files["GITHUB_PATH"]); len(b) > 0 {
			for _, p := range strings.Fields(string(b)) {
				path = p + string(os.PathListSeparator) + path
			}
		}
		out = append(out, "PATH="+path)
		if b, _ := os.ReadFile(files["GITHUB_ENV"]); len(b) > 0 {
			out = append(out, strings.Fields(string(b))...)
		}
		for k, v := range extra {
			out = append(out, k+"="+v)
		}
		return out
	}
	runStep := func(name, script string, extra map[string]string) (int, string) {
		cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
		cmd.Dir = ws
		cmd.Env = env(extra)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), out.String()
		}
		if err != nil {
			t.Fatalf("step %q: %v", name, err)
		}
		return 0, out.String()
	}

	var last, lastName string
	ran := 0
	for i, s := range job.Steps {
		switch {
		case s.Uses != "":
			if !strings.HasPrefix(s.Uses, "actions/") {
				t.Errorf("step %d uses %s: the recipe uses GitHub's own actions only", i, s.Uses)
			}
			if s.With["repository"] == "modeldoc/modeldoc" {
				// The checkout of modeldoc: the repository's own files.
				copyRepo(t, filepath.Join(ws, s.With["path"]))
			}
			continue
		case s.Run == "":
			t.Fatalf("step %d has neither uses nor run", i)
		}
		if i == len(job.Steps)-1 {
			last, lastName = s.Run, s.Name
			break
		}
		code, out := runStep(s.Name, s.Run, nil)
		if code != 0 {
			t.Fatalf("step %q: exit %d\n%s", s.Name, code, out)
		}
		t.Logf("step %q:\n%s", s.Name, out)
		ran++
	}
	if ran < 4 {
		t.Fatalf("%d run steps before the last; the recipe builds, imports, estimates and previews the export", ran)
	}
	if _, err := os.Stat(filepath.Join(ws, ".modeldoc")); !os.IsNotExist(err) {
		t.Errorf("the build step leaves modeldoc's source in the workspace, where the import would see it")
	}

	code, out := runStep(lastName, last, nil)
	if code != 1 || !strings.Contains(out, "coverage check failed") || !strings.Contains(out, "below --min-models 90%") {
		t.Fatalf("examples/shop (25%% of models described) under the recipe's thresholds: exit %d, want 1 naming the threshold\n%s", code, out)
	}
	if code, out := runStep(lastName, last, map[string]string{"MIN_MODELS": "25", "MIN_COLUMNS": "40"}); code != 0 {
		t.Fatalf("at thresholds examples/shop meets: exit %d\n%s", code, out)
	}

	summary, err := os.ReadFile(files["GITHUB_STEP_SUMMARY"])
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("job summary:\n%s", summary)
	for _, want := range []string{
		"### What is left to document", "to document         13", "tokens ", "the store was not changed",
		"### What `modeldoc export dbt` would change", "Would change 3 file(s)", "```diff", "+++ b/models/marts/_marts.yml",
		"### Documentation coverage", "customer_segments",
	} {
		if !bytes.Contains(summary, []byte(want)) {
			t.Errorf("the job summary lacks %q:\n%s", want, summary)
		}
	}
	// The preview writes nothing into the pull request's project.
	if err := exec.Command("diff", "-r", "-x", "*.txt", "-x", "*.diff", shopDir, ws).Run(); err != nil {
		out, _ := exec.Command("diff", "-r", "-x", "*.txt", "-x", "*.diff", shopDir, ws).CombinedOutput()
		t.Errorf("the workflow changed the project's files:\n%s", out)
	}
}

// copyRepo copies the repository's tracked files (what a checkout holds)
// into dst.
func copyRepo(t *testing.T, dst string) {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ls := exec.Command("git", "ls-files", "-z")
	ls.Dir = root
	out, err := ls.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		b, err := os.ReadFile(filepath.Join(root, f))
		if os.IsNotExist(err) {
			continue // deleted in the working tree
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
