package cli_test

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/modeldoc/modeldoc/internal/dbt/dbttest"
)

// copyTree copies the folder src into a new temporary folder.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// yamlDescriptions reads the model and column descriptions of every
// properties file under dir/models: "model" and "model.column" (lower case).
func yamlDescriptions(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(filepath.Join(dir, "models"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var f struct {
			Models []struct {
				Name        string `yaml:"name"`
				Description string `yaml:"description"`
				Columns     []struct {
					Name        string `yaml:"name"`
					Description string `yaml:"description"`
				} `yaml:"columns"`
			} `yaml:"models"`
		}
		if yaml.Unmarshal(b, &f) != nil {
			return nil // not a properties file dbt reads either
		}
		for _, m := range f.Models {
			out[m.Name] = m.Description
			for _, c := range m.Columns {
				out[m.Name+"."+strings.ToLower(c.Name)] = c.Description
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// generatedTexts reads, through `export json`, each model's current
// executive summary and column descriptions, keyed as yamlDescriptions.
func generatedTexts(t *testing.T, db string) map[string]string {
	t.Helper()
	r := run(t, db, "export", "json")
	if r.code != 0 {
		t.Fatalf("export json: exit %d\n%s", r.code, r.stderr)
	}
	var doc struct {
		Projects []struct {
			Objects []struct {
				Name          string `json:"name"`
				Type          string `json:"type"`
				Documentation *struct {
					Layers map[string]json.RawMessage `json:"layers"`
				} `json:"documentation"`
			} `json:"objects"`
		} `json:"projects"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range doc.Projects {
		for _, o := range p.Objects {
			if o.Type != "model" || o.Documentation == nil {
				continue
			}
			var s struct{ Summary string }
			_ = json.Unmarshal(o.Documentation.Layers["executive_summary"], &s)
			out[o.Name] = s.Summary
			var cols struct {
				Columns []struct{ Name, Description string }
			}
			_ = json.Unmarshal(o.Documentation.Layers["column_descriptions"], &cols)
			for _, c := range cols.Columns {
				out[o.Name+"."+strings.ToLower(c.Name)] = c.Description
			}
		}
	}
	return out
}

// repeatedSentence returns a sentence that text says twice, or "".
func repeatedSentence(text string) string {
	seen := map[string]bool{}
	for _, s := range strings.SplitAfter(text, ". ") {
		s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "."))
		if len(s) < 12 {
			continue
		}
		if seen[s] {
			return s
		}
		seen[s] = true
	}
	return ""
}

// TestGenerateExportImportConverges drives the loop a team runs: generate,
// export dbt, re-import (generate imports PATH first), generate again, and
// export again. The text modeldoc exported is recognised on re-import, so
// the second generate has nothing to do and the second export changes no
// byte; no exported description repeats a sentence or differs from the
// text modeldoc wrote (a person's text is kept as it was).
func TestGenerateExportImportConverges(t *testing.T) {
	offlineEnv(t)
	projects := map[string]func(t *testing.T) string{
		"examples/shop": func(t *testing.T) string { return copyTree(t, shop(t)) },
		"tuva raw project": func(t *testing.T) string {
			return dbttest.UntarDataset(t, "tuva-health__tuva/raw_project_sql_yml.tar.gz")
		},
	}
	for name, dirOf := range projects {
		t.Run(name, func(t *testing.T) {
			dir := dirOf(t)
			db := filepath.Join(t.TempDir(), "m.db")
			before := yamlDescriptions(t, dir)

			first := runJSON(t, db, "generate", dir)
			if num(t, first, "processed") == 0 {
				t.Fatalf("first generate documents nothing: %v", first)
			}
			runJSON(t, db, "export", "dbt", "--include-drafts", dir)
			exported := treeHashes(t, dir)
			gen := generatedTexts(t, db)
			changed := 0
			for k, text := range yamlDescriptions(t, dir) {
				if text == before[k] {
					continue
				}
				changed++
				if text != gen[k] {
					t.Errorf("%s: the YAML says %q, modeldoc wrote %q", k, text, gen[k])
				}
				if s := repeatedSentence(text); s != "" {
					t.Errorf("%s: the exported text repeats %q: %q", k, s, text)
				}
			}
			if changed == 0 {
				t.Fatal("the export wrote no description")
			}

			again := runJSON(t, db, "generate", dir)
			if n := num(t, again, "to_document"); n != 0 {
				t.Fatalf("after export and re-import, generate documents %v models, want none: %v", n, again)
			}
			stale := runJSON(t, db, "objects", "list", "--stale")
			if n := num(t, stale, "total"); n != 0 {
				t.Fatalf("after export and re-import, %v objects are stale: %v", n, stale)
			}
			runJSON(t, db, "export", "dbt", "--include-drafts", dir)
			if !sameTree(exported, treeHashes(t, dir)) {
				t.Fatal("the second export changed files")
			}
			// The loop stays closed: nothing to do a third time either.
			if n := num(t, runJSON(t, db, "generate", dir), "to_document"); n != 0 {
				t.Fatalf("third generate documents %v models", n)
			}
		})
	}
}

// TestRegeneratingOneLayerKeepsTheOthers: a job that writes one layer
// again (--layers executive_summary --regenerate-all) makes current
// versions that still hold the six other layers, and exports keep them.
func TestRegeneratingOneLayerKeepsTheOthers(t *testing.T) {
	offlineEnv(t)
	dir := copyTree(t, shop(t))
	db := filepath.Join(t.TempDir(), "m.db")
	runJSON(t, db, "generate", dir)
	job := runJSON(t, db, "generate", dir, "--layers", "executive_summary", "--regenerate-all")
	if num(t, job, "processed") == 0 {
		t.Fatalf("the one-layer job documented nothing: %v", job)
	}
	// The job counts the layer it wrote, not the ones the versions carry.
	if ls, _ := job["layers"].(map[string]any); len(ls) != 1 || ls["executive_summary"] == nil {
		t.Fatalf("the one-layer job counts layers %v", job["layers"])
	}
	r := run(t, db, "export", "json")
	if r.code != 0 {
		t.Fatalf("export json: %d %s", r.code, r.stderr)
	}
	var doc struct {
		Projects []struct {
			Objects []struct {
				Name          string `json:"name"`
				Type          string `json:"type"`
				Stale         bool   `json:"stale"`
				Documentation *struct {
					Version     int                        `json:"version"`
					Layers      map[string]json.RawMessage `json:"layers"`
					LayerStatus map[string]struct {
						CarriedFrom int  `json:"carried_from"`
						Stale       bool `json:"stale"`
					} `json:"layer_status"`
				} `json:"documentation"`
			} `json:"objects"`
		} `json:"projects"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	models := 0
	for _, o := range doc.Projects[0].Objects {
		d := o.Documentation
		if o.Type != "model" || d == nil {
			continue
		}
		models++
		if d.Version != 2 || len(d.Layers) != 7 || o.Stale {
			t.Errorf("%s: version %d has %d layers (stale %v), want version 2 with all 7", o.Name, d.Version, len(d.Layers), o.Stale)
		}
		for l, st := range d.LayerStatus {
			want := 1
			if l == "executive_summary" {
				want = 0
			}
			if st.CarriedFrom != want || st.Stale {
				t.Errorf("%s.%s: carried from %d (stale %v), want %d", o.Name, l, st.CarriedFrom, st.Stale, want)
			}
		}
	}
	if models == 0 {
		t.Fatal("no documented model")
	}
	if md := run(t, db, "export", "markdown", "--out", t.TempDir()); md.code != 0 {
		t.Fatalf("export markdown: %d %s", md.code, md.stderr)
	}
}

// TestOnlyStaleIsObjectsListStale: one definition of stale. After a
// change to an upstream model's SQL, `generate` (--only-stale, the
// default) plans exactly the models `objects list --stale` lists (the
// model and everything downstream of it), and afterwards none is stale.
func TestOnlyStaleIsObjectsListStale(t *testing.T) {
	dir, db := shopWithStgOrdersChanged(t)
	stale := runJSON(t, db, "objects", "list", "--stale")
	n := num(t, stale, "total")
	names := map[string]bool{}
	for _, o := range stale["objects"].([]any) {
		names[o.(map[string]any)["name"].(string)] = true
	}
	if n < 2 || !names["stg_orders"] || !names["fct_orders"] {
		t.Fatalf("stale after changing stg_orders: %v, want it and its downstream", names)
	}
	plan := runJSON(t, db, "generate", dir, "--dry-run")
	if got := num(t, plan, "to_document"); got != n {
		t.Fatalf("generate plans %v models, objects list --stale lists %v", got, n)
	}
	if got := num(t, runJSON(t, db, "generate", dir, "--only-stale"), "processed"); got != n {
		t.Fatalf("generate --only-stale documented %v models, want %v", got, n)
	}
	if got := num(t, runJSON(t, db, "objects", "list", "--stale"), "total"); got != 0 {
		t.Fatalf("%v models still stale after generate", got)
	}
	if r := run(t, db, "generate", dir, "--only-stale", "--regenerate-all"); r.code == 0 {
		t.Fatal("--only-stale with --regenerate-all was accepted")
	}
}

// shopWithStgOrdersChanged documents a copy of examples/shop offline, then
// changes stg_orders' SQL and imports the copy again: stg_orders and
// everything downstream of it are stale. It returns the copy and the store.
func shopWithStgOrdersChanged(t *testing.T) (dir, db string) {
	t.Helper()
	offlineEnv(t)
	dir = copyTree(t, shop(t))
	db = filepath.Join(t.TempDir(), "m.db")
	runJSON(t, db, "generate", dir)
	sql := filepath.Join(dir, "models", "staging", "stg_orders.sql")
	b, err := os.ReadFile(sql)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sql, append(b, []byte("\n-- a change\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	runJSON(t, db, "import", dir)
	return dir, db
}
