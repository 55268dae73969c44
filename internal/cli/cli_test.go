package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc/internal/cli"
	"github.com/modeldoc/modeldoc/internal/dbt/dbttest"
	"github.com/modeldoc/modeldoc/internal/fakellm"
)

// shop is the example project of the repository.
func shop(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../examples/shop")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// offlineEnv keeps the developer's keys and base URLs out of the tests:
// the provider must be what the test says.
func offlineEnv(t *testing.T) {
	for _, k := range []string{"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "MODELDOC_DB", "MODELDOC_ORG"} {
		t.Setenv(k, "")
	}
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs modeldoc in-process through cli.Main on the store db.
func run(t *testing.T, db string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), append([]string{"--db", db}, args...), &out, &errb)
	return result{code, out.String(), errb.String()}
}

// runJSON runs with --json, requires exit 0 and decodes stdout.
func runJSON(t *testing.T, db string, args ...string) map[string]any {
	t.Helper()
	r := run(t, db, append([]string{"--json"}, args...)...)
	if r.code != 0 {
		t.Fatalf("modeldoc %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
		t.Fatalf("modeldoc %s: stdout is not one JSON object: %v\n%s", strings.Join(args, " "), err, r.stdout)
	}
	return m
}

func num(t *testing.T, m map[string]any, key string) float64 {
	t.Helper()
	v, ok := m[key].(float64)
	if !ok {
		t.Fatalf("key %q missing or not a number in %v", key, m)
	}
	return v
}

var importKeys = []string{"models", "sources", "seeds", "snapshots", "edges", "columns", "models_with_description", "columns_with_description", "project_id"}

func TestImportExampleAndDatasets(t *testing.T) {
	offlineEnv(t)
	// Each subtest finds its own project, so that examples/shop is
	// imported on a clone without the datasets, whose subtests skip.
	paths := map[string]func(t *testing.T) string{"examples/shop": shop}
	for _, d := range []string{"tuva-health__tuva", "fivetran__dbt_hubspot",
		"yu-iskw__dbt-artifacts-parser/jaffle_shop_classic_dbt-1.4", "yu-iskw__dbt-artifacts-parser/jaffle_shop_dbt-1.12"} {
		paths[d] = func(t *testing.T) string { return dbttest.Path(t, d) }
	}
	paths["gitlab raw project"] = func(t *testing.T) string {
		return filepath.Join(dbttest.UntarDatasets(t,
			"tnmy44__gitlab-analytics/snowflake-dbt_sql_yml.tar.gz",
			"tnmy44__gitlab-analytics/snowflake-dbt_docs_md.tar.gz"), "transform", "snowflake-dbt")
	}
	paths["tuva raw project"] = func(t *testing.T) string {
		return dbttest.UntarDataset(t, "tuva-health__tuva/raw_project_sql_yml.tar.gz")
	}
	for name, path := range paths {
		t.Run(name, func(t *testing.T) {
			p := path(t)
			db := filepath.Join(t.TempDir(), "m.db")
			m := runJSON(t, db, "import", p)
			for _, k := range importKeys {
				num(t, m, k)
			}
			if num(t, m, "models") == 0 || num(t, m, "project_id") == 0 {
				t.Errorf("nothing imported: %v", m)
			}
			// The independent counts, where the dataset has them.
			if b, err := os.ReadFile(filepath.Join(p, "stats.json")); err == nil {
				var s struct {
					Models                int `json:"models"`
					ModelsWithDescription int `json:"models_with_description"`
				}
				if json.Unmarshal(b, &s) == nil && s.Models > 0 {
					if int(num(t, m, "models")) != s.Models || int(num(t, m, "models_with_description")) != s.ModelsWithDescription {
						t.Errorf("models %v (%v described), stats.json says %d (%d)", m["models"], m["models_with_description"], s.Models, s.ModelsWithDescription)
					}
				}
			}
			// Importing again changes no ids.
			again := runJSON(t, db, "import", p)
			if again["project_id"] != m["project_id"] || again["models"] != m["models"] {
				t.Errorf("re-import: %v, first: %v", again, m)
			}
		})
	}
}

// catalogState is what the store holds, read through the CLI.
func catalogState(t *testing.T, db string) string {
	t.Helper()
	r := run(t, db, "--json", "objects", "list", "--deleted", "--limit", "100000")
	if r.code != 0 {
		t.Fatalf("objects list: %d %s %s", r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

func TestImportBadInputLeavesStoreUnchanged(t *testing.T) {
	offlineEnv(t)
	db := filepath.Join(t.TempDir(), "m.db")
	runJSON(t, db, "import", shop(t))
	before := catalogState(t, db)

	dir := t.TempDir()
	notJSON := filepath.Join(dir, "notjson", "manifest.json")
	unknown := filepath.Join(dir, "unknown", "manifest.json")
	empty := filepath.Join(dir, "empty")
	for p, body := range map[string]string{
		notJSON: "{ this is not json",
		unknown: `{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v99.json"}, "nodes": {}, "sources": {}}`,
	} {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(empty, 0o755)
	for _, tc := range []struct {
		name, path string
		want       []string // in the message
	}{
		{"not JSON", notJSON, []string{"manifest.json"}},
		{"unknown schema version", unknown, []string{"v99", "v12"}},
		{"empty folder", empty, []string{"dbt_project.yml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, db, "import", tc.path)
			if r.code != 2 {
				t.Errorf("exit %d, want 2 (input the user can fix)\n%s", r.code, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("error does not mention %q:\n%s", w, r.stderr)
				}
			}
			// --json puts the error on stdout with its code.
			rj := run(t, db, "--json", "import", tc.path)
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal([]byte(rj.stdout), &e); err != nil || e.Error.Code == "" {
				t.Errorf("--json error output %q", rj.stdout)
			}
			if after := catalogState(t, db); after != before {
				t.Errorf("store changed by a failed import")
			}
		})
	}
}

func TestObjectsAndDocs(t *testing.T) {
	offlineEnv(t)
	db := filepath.Join(t.TempDir(), "m.db")
	runJSON(t, db, "import", shop(t))

	list := runJSON(t, db, "objects", "list", "--type", "model")
	objs, _ := list["objects"].([]any)
	if len(objs) < 10 {
		t.Fatalf("%d models listed, want the example's dozen", len(objs))
	}
	// Pick a model with upstream models: a mart.
	var name string
	for _, o := range objs {
		n := o.(map[string]any)["name"].(string)
		show := runJSON(t, db, "objects", "show", n)
		if up, _ := show["upstream"].([]any); len(up) > 0 && !strings.HasPrefix(n, "stg_") {
			name = n
			break
		}
	}
	if name == "" {
		t.Fatal("no model with upstream models in the example")
	}
	if r := run(t, db, "objects", "show", name); r.code != 0 || !strings.Contains(r.stdout, name) {
		t.Errorf("objects show %s: %d\n%s", name, r.code, r.stdout)
	}
	if r := run(t, db, "objects", "show", "no_such_model"); r.code != 3 {
		t.Errorf("objects show of an unknown name: exit %d, want 3", r.code)
	}
	undocumented := runJSON(t, db, "objects", "list", "--undocumented", "--type", "model")

	gen := runJSON(t, db, "docs", "generate", name, "--provider", "offline")
	if gen["provider"] != "offline" || num(t, gen, "version") != 1 {
		t.Errorf("docs generate: %v", gen)
	}
	// The same writer on the same inputs writes the same text: no new version.
	runJSON(t, db, "docs", "generate", name, "--provider", "offline")
	show := runJSON(t, db, "docs", "show", name)
	for _, k := range []string{"version", "provider", "model", "prompt_version", "layers", "prompt_tokens", "completion_tokens", "cost"} {
		if _, ok := show[k]; !ok {
			t.Errorf("docs show --json lacks %q", k)
		}
	}
	layers, _ := show["layers"].(map[string]any)
	if num(t, show, "version") != 1 || len(layers) != 7 {
		t.Errorf("docs show: version %v with %d layers", show["version"], len(layers))
	}
	v1 := runJSON(t, db, "docs", "show", name, "--version", "1")
	if num(t, v1, "version") != 1 {
		t.Errorf("docs show --version 1 gave %v", v1["version"])
	}
	hist := runJSON(t, db, "docs", "history", name)
	if vs, _ := hist["versions"].([]any); len(vs) != 1 {
		t.Errorf("history: %v", hist)
	}
	if r := run(t, db, "docs", "show", name); r.code != 0 || !strings.Contains(strings.ToLower(r.stdout), "summary") {
		t.Errorf("docs show (terminal): %d\n%s", r.code, r.stdout)
	} else if cs := num(t, show, "complexity_score"); !strings.Contains(r.stdout, fmt.Sprintf("complexity %d/5", int(cs))) ||
		cs > 1 && !strings.Contains(r.stdout, "because:") {
		t.Errorf("docs show (terminal) does not show complexity %v/5 with its reasons:\n%s", cs, r.stdout)
	}
	if r := run(t, db, "docs", "history", name); r.code != 0 {
		t.Errorf("docs history: %d %s", r.code, r.stderr)
	}
	after := runJSON(t, db, "objects", "list", "--undocumented", "--type", "model")
	if num(t, after, "total") != num(t, undocumented, "total")-1 {
		t.Errorf("undocumented %v before, %v after documenting one", undocumented["total"], after["total"])
	}
}

var jobKeys = []string{"id", "status", "total", "processed", "failed", "skipped", "prompt_tokens", "completion_tokens", "estimated_cost", "actual_cost"}

func checkJob(t *testing.T, m map[string]any) {
	t.Helper()
	for _, k := range jobKeys {
		if _, ok := m[k]; !ok {
			t.Errorf("job JSON lacks %q: %v", k, m)
		}
	}
	if m["status"] != "completed" || num(t, m, "failed") != 0 || num(t, m, "processed") == 0 {
		t.Errorf("job: %v", m)
	}
}

func TestGenerateOffline(t *testing.T) {
	offlineEnv(t)
	db := filepath.Join(t.TempDir(), "m.db")
	dry := runJSON(t, db, "generate", shop(t), "--dry-run")
	if num(t, dry, "to_document") == 0 || num(t, dry, "total") == 0 {
		t.Errorf("dry run: %v", dry)
	}
	if r := run(t, db, "--json", "jobs", "list"); r.code == 0 && strings.Contains(r.stdout, `"id"`) {
		t.Errorf("--dry-run created a job: %s", r.stdout)
	}
	if r := run(t, db, "generate", shop(t), "--dry-run"); r.code != 0 || !strings.Contains(strings.ToLower(r.stdout), "dry run") {
		t.Errorf("dry run (human): %d\n%s", r.code, r.stdout)
	}

	job := runJSON(t, db, "generate", shop(t))
	checkJob(t, job)
	total := num(t, job, "total")

	again := runJSON(t, db, "generate", shop(t))
	if num(t, again, "to_document") != 0 {
		t.Errorf("re-run documents %v models, want nothing to do: %v", again["to_document"], again)
	}
	if r := run(t, db, "generate", shop(t)); r.code != 0 || !strings.Contains(r.stdout, "Nothing to document") {
		t.Errorf("re-run (human): %d\n%s", r.code, r.stdout)
	}

	all := runJSON(t, db, "generate", shop(t), "--regenerate-all")
	checkJob(t, all)
	if num(t, all, "processed") != total || all["id"] == job["id"] {
		t.Errorf("--regenerate-all: %v", all)
	}
}

func TestGenerateAgainstFakeServer(t *testing.T) {
	offlineEnv(t)
	t.Setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
	srv := fakellm.New(fakellm.Config{APIKey: "sk-test-not-a-real-key"})
	if _, err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "m.db")
	job := runJSON(t, db, "generate", shop(t), "--provider", "openai", "--model", "gpt-4o-mini", "--base-url", srv.BaseURL())
	checkJob(t, job)
	s := srv.Stats()
	// Combined calls: one for the model-level layers and, unless every
	// column is documented, one for the columns.
	if n := int64(num(t, job, "processed")); s.Requests < n || s.Requests > 2*n+6 || s.Unauthorized != 0 {
		t.Errorf("fake served %d requests (%d unauthorized) for %v objects", s.Requests, s.Unauthorized, job["processed"])
	}
	if int64(num(t, job, "prompt_tokens")) != s.PromptTokens || int64(num(t, job, "completion_tokens")) != s.CompletionTokens {
		t.Errorf("job tokens %v/%v, fake counted %d/%d", job["prompt_tokens"], job["completion_tokens"], s.PromptTokens, s.CompletionTokens)
	}
	if num(t, job, "actual_cost") <= 0 || num(t, job, "estimated_cost") <= 0 {
		t.Errorf("costs: %v", job)
	}

	// A wrong key fails the job with the provider's words, exit non-zero.
	t.Setenv("OPENAI_API_KEY", "sk-wrong")
	r := run(t, db, "--json", "generate", shop(t), "--provider", "openai", "--base-url", srv.BaseURL(), "--regenerate-all")
	if r.code == 0 && !strings.Contains(r.stdout, `"failed"`) {
		t.Errorf("a rejected key: exit %d\n%s", r.code, r.stdout)
	}
}

// TestBinary builds cmd/modeldoc and runs the main path as a user would.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	offlineEnv(t)
	bin := modeldocBinary(t)
	db := filepath.Join(t.TempDir(), "m.db")
	runBin := func(args ...string) (string, string, int) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "MODELDOC_DB="+db)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errb.String(), code
	}
	out, errs, code := runBin("--json", "import", shop(t))
	var sum map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &sum) != nil || sum["models"] == nil {
		t.Fatalf("import: %d\n%s\n%s", code, out, errs)
	}
	out, errs, code = runBin("--json", "generate", shop(t))
	var job map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &job) != nil {
		t.Fatalf("generate: %d\n%s\n%s", code, out, errs)
	}
	checkJob(t, job)
	if _, err := os.Stat(db); err != nil {
		t.Errorf("MODELDOC_DB was not used: %v", err)
	}
	if out, _, code := runBin("--help"); code != 0 || !strings.Contains(out, "generate") {
		t.Errorf("--help: %d\n%s", code, out)
	}
	if _, errs, code := runBin("import"); code != 2 || !strings.Contains(errs, "PATH") {
		t.Errorf("import without PATH: %d %s", code, errs)
	}
}
