package cli_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A manifest without its catalog imports, and says what is missing; a
// catalog given as the manifest is named for what it is.
func TestImportSaysWhatTheCatalogIs(t *testing.T) {
	offlineEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"target/manifest.json": manifestOf(t, map[string][2]string{
		"model.shop.orders": {"orders", "models/orders.sql"}})})
	db := filepath.Join(t.TempDir(), "m.db")

	r := run(t, db, "import", dir)
	if r.code != 0 {
		t.Fatalf("import: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "no catalog.json beside") || !strings.Contains(r.stderr, "columns were imported") {
		t.Errorf("a manifest without catalog.json imported without a word:\n%s", r.stderr)
	}
	m := runJSON(t, db, "import", dir)
	if ws, _ := m["warnings"].([]any); len(ws) == 0 || !strings.Contains(ws[0].(string), "catalog.json") {
		t.Errorf("--json: the warning is not in warnings: %v", m["warnings"])
	}

	catalog := filepath.Join(dir, "target", "catalog.json")
	writeFiles(t, dir, map[string]string{"target/catalog.json": `{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/catalog/v1.json", "dbt_version": "1.8.0"}, "nodes": {}, "sources": {}}`})
	r = run(t, db, "import", catalog)
	if r.code != 2 || !strings.Contains(r.stderr, "is a dbt catalog") || !strings.Contains(r.stderr, "manifest.json") {
		t.Errorf("catalog.json as the manifest: %d\n%s", r.code, r.stderr)
	}
	// With the catalog beside it, no warning.
	r = run(t, db, "import", dir)
	if r.code != 0 || strings.Contains(r.stderr, "no catalog.json") {
		t.Errorf("import with a catalog: %d\n%s", r.code, r.stderr)
	}
}

func TestDocsVersionsSayWhatIsThere(t *testing.T) {
	offlineEnv(t)
	db := filepath.Join(t.TempDir(), "m.db")
	if r := run(t, db, "import", shop(t)); r.code != 0 {
		t.Fatalf("import: %d\n%s", r.code, r.stderr)
	}
	if r := run(t, db, "docs", "generate", "fct_orders"); r.code != 0 {
		t.Fatalf("docs generate: %d\n%s", r.code, r.stderr)
	}
	// The same writer on the same inputs writes the same text: no version 2.
	r := run(t, db, "docs", "generate", "fct_orders")
	if r.code != 0 || !strings.Contains(r.stderr, "no new version") {
		t.Errorf("docs generate again: %d\n%s", r.code, r.stderr)
	}
	h := runJSON(t, db, "docs", "history", "fct_orders")
	if vs, _ := h["versions"].([]any); len(vs) != 1 {
		t.Errorf("%d versions after writing the same text twice, want 1", len(vs))
	}

	r = run(t, db, "docs", "show", "fct_orders", "--version", "9")
	if r.code != 3 || !strings.Contains(r.stderr, "fct_orders has no version 9") || !strings.Contains(r.stderr, "version 1 only") {
		t.Errorf("--version 9: %d\n%s", r.code, r.stderr)
	}
	if regexp.MustCompile(`Object \d+`).MatchString(r.stderr) {
		t.Errorf("--version 9 names an internal id:\n%s", r.stderr)
	}
}

func TestGenerateWordsCountsAndDryRun(t *testing.T) {
	offlineEnv(t)
	db := filepath.Join(t.TempDir(), "m.db")
	r := run(t, db, "generate", shop(t), "--dry-run")
	if r.code != 0 {
		t.Fatalf("dry run: %d\n%s", r.code, r.stderr)
	}
	if regexp.MustCompile(`\b1 (models|sources|seeds|snapshots)\b`).MatchString(r.stderr) {
		t.Errorf("a plural for one:\n%s", r.stderr)
	}
	if strings.Contains(r.stdout, "nothing was created") || !strings.Contains(r.stdout, "imported into a temporary copy") {
		t.Errorf("the dry run must say where the project was imported:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "objects selected") {
		t.Errorf("the estimate calls seeds models:\n%s", r.stdout)
	}
}

// A store that cannot be written is said in words, with what to do.
func TestReadOnlyStore(t *testing.T) {
	offlineEnv(t)
	dir := filepath.Join(t.TempDir(), "ro")
	db := filepath.Join(dir, "m.db")
	if r := run(t, db, "import", shop(t)); r.code != 0 {
		t.Fatalf("import: %d\n%s", r.code, r.stderr)
	}
	for _, p := range []string{db, db + "-wal", db + "-shm"} {
		_ = os.Chmod(p, 0o444)
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
	if f, err := os.OpenFile(db, os.O_WRONLY, 0); err == nil {
		f.Close()
		t.Skip("this user writes read-only files (root): nothing to test")
	}
	r := run(t, db, "objects", "list")
	if r.code == 0 {
		t.Skip("the read-only store was readable without a write")
	}
	if !strings.Contains(r.stderr, "read-only") || !strings.Contains(r.stderr, "--db") {
		t.Errorf("read-only store: %d\n%s", r.code, r.stderr)
	}
}

func TestJobsShowAndLogsRead(t *testing.T) {
	offlineEnv(t)
	db := filepath.Join(t.TempDir(), "m.db")
	if r := run(t, db, "generate", shop(t)); r.code != 0 {
		t.Fatalf("generate: %d\n%s", r.code, r.stderr)
	}
	r := run(t, db, "jobs", "show", "1")
	if r.code != 0 {
		t.Fatalf("jobs show: %d\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stdout, "\t") {
		t.Errorf("jobs show mixes tabs with aligned columns:\n%s", r.stdout)
	}
	// The header and the rows start their columns at the same place.
	lines := strings.Split(r.stdout, "\n")
	for i, l := range lines {
		if strings.Contains(l, "LAYER") && i+1 < len(lines) {
			if h, row := strings.Index(l, "OK"), lines[i+1]; h < 0 || len(row) <= h || row[h-1] != ' ' || row[h] == ' ' {
				t.Errorf("header and first row are not aligned:\n%s\n%s", l, row)
			}
		}
	}
	r = run(t, db, "jobs", "logs", "1", "--calls")
	if r.code != 0 {
		t.Fatalf("jobs logs --calls: %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "fct_orders") {
		t.Errorf("jobs logs --calls does not name the objects:\n%s", r.stdout)
	}
}

// A description written in Markdown reads as text in the terminal.
func TestObjectsShowSimplifiesMarkdown(t *testing.T) {
	offlineEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"dbt_project.yml":   "name: shop\nversion: '1'\nconfig-version: 2\nprofile: shop\n",
		"models/orders.sql": "select 1 as id, 'placed' as status\n",
		"models/schema.yml": "version: 2\nmodels:\n  - name: orders\n    description: |\n      Orders, **one row each**; see [the runbook](https://wiki.example.com/o).\n\n      | status | meaning |\n      |---|---|\n      | placed | paid |\n    columns:\n      - name: status\n        description: \"the *current* `status`\"\n",
	})
	db := filepath.Join(t.TempDir(), "m.db")
	if r := run(t, db, "import", dir); r.code != 0 {
		t.Fatalf("import: %d\n%s", r.code, r.stderr)
	}
	r := run(t, db, "objects", "show", "orders")
	if r.code != 0 {
		t.Fatalf("objects show: %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"Orders, one row each; see the runbook (https://wiki.example.com/o).", "status | meaning", "placed | paid", "the current `status`"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("objects show lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "**") || strings.Contains(r.stdout, "|---|") {
		t.Errorf("Markdown left raw:\n%s", r.stdout)
	}
}
