package cli_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/dbt/dbttest"
)

// versions reads, through `export json`, each documented object's current
// version number, by project and name.
func versions(t *testing.T, db string) map[string]float64 {
	t.Helper()
	r := run(t, db, "export", "json")
	if r.code != 0 {
		t.Fatalf("export json: exit %d\n%s", r.code, r.stderr)
	}
	var doc struct {
		Projects []struct {
			Name    string `json:"name"`
			Objects []struct {
				UniqueID      string `json:"unique_id"`
				Documentation *struct {
					Version float64 `json:"version"`
				} `json:"documentation"`
			} `json:"objects"`
		} `json:"projects"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, p := range doc.Projects {
		for _, o := range p.Objects {
			if o.Documentation != nil {
				out[p.Name+"/"+o.UniqueID] = o.Documentation.Version
			}
		}
	}
	return out
}

// reviewSnapshot is every review item of the store: its state and text,
// by name, layer and column.
func reviewSnapshot(t *testing.T, db string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, it := range reviewItems(t, db) {
		c, _ := it["column"].(string)
		text, _ := it["text"].(string)
		out[it["name"].(string)+"|"+it["layer"].(string)+"|"+c] = it["state"].(string) + "|" + text
	}
	return out
}

// reviewLoop drives the loop of issue 15 on the project in dir through
// the CLI: generate (offline), review (accept two models, edit a column of
// one, reject another's summary), export dbt (reviewed text only),
// re-import and generate again (nothing to document: no new version, no
// review state changed), export again (the same bytes), then regenerate
// one layer of one model (the six others keep their text and review) and
// export (the summary accepted earlier stays published until the new
// draft is reviewed).
func reviewLoop(t *testing.T, db, dir string) {
	before := yamlDescriptions(t, dir)
	first := runJSON(t, db, "generate", dir)
	if num(t, first, "processed") == 0 {
		t.Fatalf("the first generate documents nothing: %v", first)
	}

	// Models (export dbt writes nothing of seeds) whose summary is a
	// draft and whose YAML says nothing of them (the YAML's own description would be kept as a person's), the
	// first with a draft column description to edit.
	colDrafts := map[string]string{}
	for _, it := range reviewItems(t, db, "--state", "draft", "--layer", "column_descriptions") {
		if n := it["name"].(string); isModel(it) && colDrafts[n] == "" && before[n+"."+strings.ToLower(it["column"].(string))] == "" {
			colDrafts[n] = it["column"].(string)
		}
	}
	var picked []string
	for _, it := range reviewItems(t, db, "--state", "draft", "--layer", "executive_summary") {
		name := it["name"].(string)
		if !isModel(it) || before[name] != "" || strings.TrimSpace(it["text"].(string)) == "" || len(picked) == 0 && colDrafts[name] == "" {
			continue
		}
		picked = append(picked, name)
		if len(picked) == 3 {
			break
		}
	}
	if len(picked) < 3 {
		t.Fatalf("fewer than 3 models to review: %v", picked)
	}
	a, b, c := picked[0], picked[1], picked[2]
	col := colDrafts[a]
	const edited = "What this column holds, in the words of the person who reviewed it."
	runJSON(t, db, "review", "accept", a, "--as", "ana")
	runJSON(t, db, "review", "accept", b, "--layer", "executive_summary", "--as", "ana")
	runJSON(t, db, "review", "edit", a, "--layer", "column_descriptions", "--column", col, "--text", edited, "--as", "bo")
	runJSON(t, db, "review", "reject", c, "--layer", "executive_summary", "--as", "ana")
	summaries := map[string]string{}
	for _, n := range []string{a, b, c} {
		summaries[n] = summaryOf(t, runJSON(t, db, "docs", "show", n))
	}

	runJSON(t, db, "export", "dbt", dir)
	exported := treeHashes(t, dir)
	yml := yamlDescriptions(t, dir)
	if got := yml[a+"."+strings.ToLower(col)]; got != edited {
		t.Fatalf("the YAML describes the edited column %s.%s as %q", a, col, got)
	}
	for _, n := range []string{a, b} {
		if yml[n] != summaries[n] {
			t.Fatalf("the YAML describes %s, whose summary was accepted, as %q; modeldoc has %q", n, yml[n], summaries[n])
		}
	}
	if yml[c] != before[c] {
		t.Fatalf("the YAML describes %s, whose summary was rejected, as %q", c, yml[c])
	}
	for _, it := range reviewItems(t, db, "--state", "draft", "--layer", "executive_summary") {
		if n := it["name"].(string); isModel(it) && yml[n] != before[n] {
			t.Fatalf("the YAML describes %s, whose summary is a draft, as %q", n, yml[n])
		}
	}

	// Re-import and generate: nothing to document, nothing changes.
	vers, reviews := versions(t, db), reviewSnapshot(t, db)
	again := runJSON(t, db, "generate", dir)
	if n := num(t, again, "to_document"); n != 0 {
		t.Fatalf("after export and re-import, generate documents %v objects: %v", n, again)
	}
	if p, ok := again["processed"].(float64); ok && p != 0 {
		t.Fatalf("the second generate processed %v objects", p)
	}
	if n := num(t, runJSON(t, db, "objects", "list", "--stale"), "total"); n != 0 {
		t.Fatalf("after export and re-import, %v objects are stale", n)
	}
	if got := versions(t, db); !equalMaps(got, vers) {
		t.Fatal("the second generate wrote new versions")
	}
	if got := reviewSnapshot(t, db); !equalMaps(got, reviews) {
		t.Fatal("the re-import or the second generate changed review states or texts")
	}
	runJSON(t, db, "export", "dbt", dir)
	if !sameTree(exported, treeHashes(t, dir)) {
		t.Fatal("the second export changed files")
	}

	// Regenerate a's summary only: the six other layers keep their text
	// and review, the edited column its text; the summary is a draft, and
	// the YAML keeps the summary a person accepted until the draft is
	// reviewed.
	shown := runJSON(t, db, "docs", "show", a)
	runJSON(t, db, "docs", "generate", a, "--provider", "offline", "--layers", "executive_summary")
	after := runJSON(t, db, "docs", "show", a)
	for _, l := range modeldoc.AllLayers[1:] {
		if !jsonEqual(shown["layers"].(map[string]any)[string(l)], after["layers"].(map[string]any)[string(l)]) {
			t.Errorf("layer %s of %s changed on a regeneration of its summary", l, a)
		}
	}
	for k, v := range reviewSnapshot(t, db) {
		if strings.HasPrefix(k, a+"|executive_summary|") {
			if !strings.HasPrefix(v, modeldoc.ReviewDraft+"|") {
				t.Errorf("the regenerated summary of %s is %q, want a draft", a, v)
			}
			continue
		}
		if reviews[k] != v {
			t.Errorf("%s: %q after regenerating %s's summary, was %q", k, v, a, reviews[k])
		}
	}
	if s := itemState(t, db, a, "column_descriptions", col); s != modeldoc.ReviewEdited {
		t.Fatalf("the edited column is %q after the regeneration", s)
	}
	runJSON(t, db, "export", "dbt", dir)
	if got := yamlDescriptions(t, dir)[a]; got != summaries[a] {
		t.Fatalf("while the new draft waits for review, the YAML describes %s as %q, not as the summary accepted earlier", a, got)
	}
}

// isModel: export dbt writes models' descriptions, not seeds' or sources'.
func isModel(item map[string]any) bool {
	id, _ := item["unique_id"].(string)
	return strings.HasPrefix(id, "model.")
}

func equalMaps[V comparable](a, b map[string]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestReviewLoopOnTuva is the "done when" loop on a copy of the
// Tuva raw project (skipped without shared/dbt-datasets).
func TestReviewLoopOnTuva(t *testing.T) {
	offlineEnv(t)
	dir := dbttest.UntarDataset(t, "tuva-health__tuva/raw_project_sql_yml.tar.gz")
	reviewLoop(t, filepath.Join(t.TempDir(), "m.db"), dir)
}

// TestReviewLoopOnShopAgain is the same loop on examples/shop, on both
// backends: TestReviewLoopOnShop stops before the re-import.
func TestReviewLoopOnShopAgain(t *testing.T) {
	offlineEnv(t)
	forEachDB(t, func(t *testing.T, db string) {
		reviewLoop(t, db, copyTree(t, shop(t)))
	})
}

// TestDocsGenerateKeepsEdits: `docs generate` writes no layer a person
// edited; asking for nothing else is a conflict that says why, and
// stores no version.
func TestDocsGenerateKeepsEdits(t *testing.T) {
	offlineEnv(t)
	db := filepath.Join(t.TempDir(), "m.db")
	runJSON(t, db, "generate", shop(t))
	const text = "Customers, in a reviewer's words."
	runJSON(t, db, "review", "edit", "dim_customers", "--layer", "executive_summary", "--text", text, "--as", "bo")
	vers := versions(t, db)
	r := run(t, db, "docs", "generate", "dim_customers", "--provider", "offline", "--layers", "executive_summary")
	if r.code != 4 || !strings.Contains(r.stderr, "a person edited executive_summary") {
		t.Fatalf("docs generate of an edited summary: exit %d\n%s", r.code, r.stderr)
	}
	if !equalMaps(versions(t, db), vers) {
		t.Fatal("the refused docs generate stored a version")
	}
	r = run(t, db, "docs", "generate", "dim_customers", "--provider", "offline")
	if r.code != 0 || !strings.Contains(r.stderr, "Keeping executive_summary of dim_customers") {
		t.Fatalf("docs generate of every layer: exit %d\n%s", r.code, r.stderr)
	}
	if s := summaryOf(t, runJSON(t, db, "docs", "show", "dim_customers")); s != text {
		t.Fatalf("after docs generate, the edited summary is %q", s)
	}
}

// TestJobSkipsEditedLayers: a job that documents stale models again
// neither estimates nor writes a layer a person edited, and keeps the
// person's text; afterwards nothing is stale.
func TestJobSkipsEditedLayers(t *testing.T) {
	dir, db := shopWithStgOrdersChanged(t)
	stale := map[string]bool{}
	for _, o := range runJSON(t, db, "objects", "list", "--stale")["objects"].([]any) {
		stale[o.(map[string]any)["name"].(string)] = true
	}
	if !stale["fct_orders"] {
		t.Fatalf("fct_orders is not stale after stg_orders changed: %v", stale)
	}
	estimate := func() float64 {
		return num(t, runJSON(t, db, "generate", dir, "--dry-run", "--provider", "openai", "--model", "gpt-4o-mini"), "estimated_prompt_tokens")
	}
	before := estimate()
	const text = "Orders as finance counts them, in a reviewer's words."
	runJSON(t, db, "review", "edit", "fct_orders", "--layer", "executive_summary", "--text", text, "--as", "bo")
	if after := estimate(); after >= before {
		t.Fatalf("the estimate is %v prompt tokens with fct_orders' summary edited, %v before", after, before)
	}
	job := runJSON(t, db, "generate", dir)
	processed := num(t, job, "processed")
	summaries := job["layers"].(map[string]any)["executive_summary"].(map[string]any)["ok"].(float64)
	if processed != float64(len(stale)) || summaries != processed-1 {
		t.Fatalf("the job documented %v models and wrote %v summaries; want %d and one fewer", processed, summaries, len(stale))
	}
	if s := summaryOf(t, runJSON(t, db, "docs", "show", "fct_orders")); s != text {
		t.Fatalf("fct_orders' summary is %q after the job", s)
	}
	if n := num(t, runJSON(t, db, "objects", "list", "--stale"), "total"); n != 0 {
		t.Fatalf("%v objects stale after the job", n)
	}
}
