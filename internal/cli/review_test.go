package cli_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/dbt"
)

// copyDir copies the example project so that an export can write into it.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func reviewItems(t *testing.T, db string, args ...string) []map[string]any {
	t.Helper()
	m := runJSON(t, db, append([]string{"review", "list"}, args...)...)
	raw, _ := m["items"].([]any)
	out := make([]map[string]any, len(raw))
	for i, r := range raw {
		out[i] = r.(map[string]any)
	}
	return out
}

func itemState(t *testing.T, db, model, layer, column string) string {
	t.Helper()
	for _, it := range reviewItems(t, db) {
		c, _ := it["column"].(string)
		if it["name"] == model && it["layer"] == layer && c == column {
			return it["state"].(string)
		}
	}
	return ""
}

// The whole loop on examples/shop: generate, review (accept some, edit
// one, reject one), export dbt writes only reviewed text (the edit
// verbatim), and regenerating one layer keeps the six others and their
// review.
func TestReviewLoopOnShop(t *testing.T) {
	offlineEnv(t)
	forEachDB(t, func(t *testing.T, db string) {
		dir := filepath.Join(t.TempDir(), "shop")
		copyDir(t, shop(t), dir)
		runJSON(t, db, "generate", dir)

		drafts := reviewItems(t, db, "--state", "draft")
		if len(drafts) == 0 {
			t.Fatal("a fresh generation lists no drafts")
		}
		if n := len(reviewItems(t, db, "--state", "accepted")); n != 0 {
			t.Fatalf("%d accepted items before anyone reviewed", n)
		}

		// Nothing reviewed: export dbt writes no generated text and says so.
		before := treeHashes(t, dir)
		r := run(t, db, "export", "dbt", dir, "--dry-run")
		if r.code != 0 || !strings.Contains(r.stderr, "draft description(s) not written") || !strings.Contains(r.stderr, "--include-drafts") {
			t.Fatalf("export dbt of drafts: exit %d\n%s", r.code, r.stderr)
		}
		if !sameTree(before, treeHashes(t, dir)) {
			t.Fatal("a dry run changed files")
		}

		// Review: accept dim_customers' summary and columns, edit one of
		// them, reject customer_segments' summary (neither model has a
		// description in the YAML, which would be kept as a person's).
		const edited = "The customer, as the shop app numbers them: edited by a person."
		runJSON(t, db, "review", "accept", "dim_customers", "--layer", "executive_summary", "--as", "ana")
		runJSON(t, db, "review", "accept", "dim_customers", "--layer", "column_descriptions", "--as", "ana")
		runJSON(t, db, "review", "edit", "dim_customers", "--layer", "column_descriptions", "--column", "customer_id", "--text", edited, "--as", "bo")
		runJSON(t, db, "review", "reject", "customer_segments", "--layer", "executive_summary", "--as", "ana")
		if s := itemState(t, db, "dim_customers", "column_descriptions", "customer_id"); s != modeldoc.ReviewEdited {
			t.Fatalf("edited column is %q", s)
		}
		if s := itemState(t, db, "customer_segments", "executive_summary", ""); s != modeldoc.ReviewRejected {
			t.Fatalf("rejected summary is %q", s)
		}

		runJSON(t, db, "export", "dbt", dir)
		yaml := readAll(t, dir)
		if !strings.Contains(yaml, edited) {
			t.Fatal("the edited text is not in the YAML verbatim")
		}
		shown := runJSON(t, db, "docs", "show", "dim_customers")
		cat, err := dbt.LoadProject(dir)
		if err != nil {
			t.Fatal(err)
		}
		descs := map[string]string{}
		for _, o := range cat.Objects {
			descs[o.Name] = o.Description
		}
		if fct := summaryOf(t, shown); fct == "" || descs["dim_customers"] != fct {
			t.Fatalf("the accepted summary %q is not exported: the YAML says %q", fct, descs["dim_customers"])
		}
		if dim := summaryOf(t, runJSON(t, db, "docs", "show", "customer_segments")); descs["customer_segments"] == dim {
			t.Fatal("the rejected summary was exported")
		}
		for _, it := range reviewItems(t, db, "--state", "draft", "--layer", "executive_summary") {
			if s, _ := it["text"].(string); s != "" && strings.Contains(yaml, s) {
				t.Fatalf("draft summary of %v exported: %q", it["name"], s)
			}
		}

		// Regenerate dim_customers' summary only: the six other layers keep
		// their text and review; the summary is a draft again.
		beforeLayers := shown["layers"].(map[string]any)
		runJSON(t, db, "docs", "generate", "dim_customers", "--provider", "offline", "--layers", "executive_summary")
		after := runJSON(t, db, "docs", "show", "dim_customers")
		afterLayers := after["layers"].(map[string]any)
		for _, l := range modeldoc.AllLayers[1:] {
			if !jsonEqual(beforeLayers[string(l)], afterLayers[string(l)]) {
				t.Errorf("layer %s changed on a regeneration of the summary", l)
			}
		}
		if s := itemState(t, db, "dim_customers", "executive_summary", ""); s != modeldoc.ReviewDraft {
			t.Fatalf("the regenerated summary is %q, want draft", s)
		}
		if s := itemState(t, db, "dim_customers", "column_descriptions", "customer_id"); s != modeldoc.ReviewEdited {
			t.Fatalf("the edited column is %q after regeneration", s)
		}
		if s := itemState(t, db, "customer_segments", "executive_summary", ""); s != modeldoc.ReviewRejected {
			t.Fatalf("another model's rejected summary is %q", s)
		}

		// accept --all, then every draft is gone and coverage --check passes.
		m := runJSON(t, db, "review", "accept", "--all", "--as", "ana")
		if num(t, m["result"].(map[string]any), "changed") == 0 {
			t.Fatalf("accept --all changed nothing: %v", m)
		}
		if n := len(reviewItems(t, db, "--state", "draft")); n != 0 {
			t.Fatalf("%d drafts after accept --all", n)
		}
	})
}

func readAll(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yml") {
			data, _ := os.ReadFile(p)
			b.Write(data)
		}
		return nil
	})
	return b.String()
}

func summaryOf(t *testing.T, doc map[string]any) string {
	t.Helper()
	layers, _ := doc["layers"].(map[string]any)
	es, _ := layers["executive_summary"].(map[string]any)
	s, _ := es["summary"].(string)
	return s
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// Bad usage through the real binary: exit code 2 and a sentence; unknown
// names exit 3.
func TestReviewUsageErrors(t *testing.T) {
	offlineEnv(t)
	bin := modeldocBinary(t)
	db := filepath.Join(t.TempDir(), "m.db")
	runJSON(t, db, "generate", shop(t))
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"review", "list", "--state", "approved"}, 2, "Unknown review state"},
		{[]string{"review", "list", "--layer", "summary"}, 2, "Unknown layer"},
		{[]string{"review", "accept"}, 2, "--all"},
		{[]string{"review", "accept", "fct_orders", "--all"}, 2, "not both"},
		{[]string{"review", "edit", "fct_orders", "--layer", "executive_summary"}, 2, "--text or --file"},
		{[]string{"review", "edit", "fct_orders", "--layer", "business_rules", "--text", "plain"}, 2, "JSON"},
		{[]string{"review", "accept", "no_such_model"}, 3, "No object named"},
		{[]string{"review", "accept", "fct_orders", "--layer", "column_descriptions", "--column", "nope"}, 3, "nope"},
	}
	for _, c := range cases {
		cmd := exec.Command(bin, append([]string{"--db", db}, c.args...)...)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != c.code || !strings.Contains(string(out), c.want) {
			t.Errorf("modeldoc %s: exit %d, want %d with %q:\n%s", strings.Join(c.args, " "), code, c.code, c.want, out)
		}
	}
	// --json prints exactly one document, also for an error.
	cmd := exec.Command(bin, "--db", db, "--json", "review", "list", "--state", "draft")
	out, err := cmd.Output()
	if err != nil || strings.Count(strings.TrimSpace(string(out)), "\n}") != 1 {
		t.Fatalf("review list --json: %v\n%.300s", err, out)
	}
}
