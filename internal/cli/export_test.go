package cli_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/store"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, text := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// treeHashes hashes every file under dir by its slash path.
func treeHashes(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = sha256.Sum256(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(a, b map[string][32]byte) bool {
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

// manifestOf builds a dbt v12 manifest of project "shop" with one model
// per unique id -> {name, original_file_path}.
func manifestOf(t *testing.T, models map[string][2]string) string {
	t.Helper()
	nodes := map[string]any{}
	for id, m := range models {
		nodes[id] = map[string]any{"unique_id": id, "name": m[0], "resource_type": "model", "package_name": "shop",
			"original_file_path": m[1], "raw_code": "select 1 as id, 'x' as status", "config": map[string]any{"materialized": "view"},
			"columns": map[string]any{}, "depends_on": map[string]any{"nodes": []string{}}}
	}
	b, err := json.Marshal(map[string]any{"metadata": map[string]any{"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
		"dbt_version": "1.8.0", "project_name": "shop"}, "nodes": nodes, "sources": map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// `export dbt` on an uploaded manifest whose paths leave the project: it
// writes nothing outside the folder and names what it skipped; and when
// one file cannot be written, it changes no file at all.
func TestExportDBTCommandStaysInsideAndIsAtomic(t *testing.T) {
	offlineEnv(t)
	forEachDB(t, func(t *testing.T, db string) {
		base := t.TempDir()
		proj := filepath.Join(base, "a", "b", "c", "shop")
		slashName := "../../../../outside/evil"
		writeFiles(t, base, map[string]string{
			"outside/_outside__models.yml": "version: 2\n# not the project's\n",
			"upload/manifest.json": manifestOf(t, map[string][2]string{
				"model.shop.stg_orders": {"stg_orders", "models/staging/stg_orders.sql"},
				"model.shop.fct_orders": {"fct_orders", "models/marts/fct_orders.sql"},
				"model.shop.escape":     {"escape", "../../../../outside/y.sql"},
				"model.shop.fresh":      {"fresh", "models/new/fresh.sql"},
				"model.shop.slash":      {slashName, "models/staging/n.sql"},
			}),
		})
		writeFiles(t, proj, map[string]string{
			"dbt_project.yml":                     "name: shop\n",
			"models/staging/_staging__models.yml": "version: 2\nmodels:\n  - name: stg_orders\n",
			"models/marts/_marts__models.yml":     "version: 2\nmodels:\n  - name: fct_orders\n",
		})
		blocker := filepath.Join(proj, "models", "new", "_new__models.yml")
		if err := os.MkdirAll(blocker, 0o755); err != nil {
			t.Fatal(err)
		}
		runJSON(t, db, "import", filepath.Join(base, "upload", "manifest.json"))
		for _, id := range []string{"model.shop.stg_orders", "model.shop.fct_orders", "model.shop.escape", "model.shop.fresh", "model.shop.slash"} {
			runJSON(t, db, "docs", "generate", id, "--provider", "offline")
		}
		outside := treeHashes(t, filepath.Join(base, "outside"))
		before := treeHashes(t, proj)

		r := run(t, db, "export", "dbt", "--include-drafts", proj)
		if r.code == 0 {
			t.Fatalf("export dbt succeeded with a folder where a file goes:\n%s", r.stderr)
		}
		if !strings.Contains(r.stderr, "_new__models.yml") || !strings.Contains(r.stderr, "No file of the project was changed") {
			t.Errorf("the error does not say which file and that nothing changed: %s", r.stderr)
		}
		if !sameTree(before, treeHashes(t, proj)) {
			t.Error("a failed export dbt changed the project")
		}

		if err := os.Remove(blocker); err != nil {
			t.Fatal(err)
		}
		r = run(t, db, "export", "dbt", "--include-drafts", proj)
		if r.code != 0 {
			t.Fatalf("export dbt: exit %d\n%s", r.code, r.stderr)
		}
		if !strings.Contains(r.stderr, "warning: model escape (../../../../outside/y.sql) is not exported") {
			t.Errorf("no warning names the model whose path leaves the project:\n%s", r.stderr)
		}
		if !sameTree(outside, treeHashes(t, filepath.Join(base, "outside"))) {
			t.Error("export dbt changed files outside the project")
		}
		if entries, _ := os.ReadDir(base); len(entries) != 3 {
			t.Errorf("export dbt created something beside the project: %v", entries)
		}
		after := treeHashes(t, proj)
		for _, rel := range []string{"models/staging/_staging__models.yml", "models/marts/_marts__models.yml", "models/new/_new__models.yml"} {
			if after[rel] == before[rel] {
				t.Errorf("%s was not written", rel)
			}
		}
		staging, _ := os.ReadFile(filepath.Join(proj, "models", "staging", "_staging__models.yml"))
		if !strings.Contains(string(staging), slashName) {
			t.Errorf("the model named like a path is not in its folder's file:\n%s", staging)
		}
	})
}

// An export command whose documentation cannot be read fails and says
// which object, instead of writing pages without it.
func TestExportCommandsReportUnreadableLayers(t *testing.T) {
	offlineEnv(t)
	forEachDB(t, func(t *testing.T, db string) {
		ctx := context.Background()
		runJSON(t, db, "import", shop(t))
		runJSON(t, db, "docs", "generate", "stg_orders", "--provider", "offline")
		st, err := store.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		org, err := st.EnsureDefaultOrganization(ctx)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := st.ResolveObject(ctx, org.ID, "stg_orders")
		if err != nil {
			t.Fatal(err)
		}
		v, err := st.GetDocVersion(ctx, org.ID, obj.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		v.ID, v.Version = 0, 0
		v.Layers[modeldoc.LayerColumnDescriptions] = json.RawMessage(`{"columns": "not a list"}`)
		if err := st.InsertDocVersion(ctx, v); err != nil {
			t.Fatal(err)
		}
		st.Close()
		for _, args := range [][]string{{"export", "markdown", "--out", t.TempDir()}, {"export", "site", "--out", t.TempDir()}} {
			r := run(t, db, args...)
			if r.code == 0 || !strings.Contains(r.stderr, obj.UniqueID) || !strings.Contains(r.stderr, "column_descriptions") {
				t.Errorf("%s: exit %d, want an error naming %s and the layer:\n%s", strings.Join(args, " "), r.code, obj.UniqueID, r.stderr)
			}
		}
	})
}
