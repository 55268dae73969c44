package export

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
)

// An object whose path leaves the project folder, through "..", an
// absolute path or a symbolic link to another folder, is skipped with a
// warning naming it, and nothing outside the folder is created or
// changed. A model name that looks like a path changes no path.
func TestExportDBTStaysInsideProject(t *testing.T) {
	modeldoctest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		base := t.TempDir()
		proj := filepath.Join(base, "a", "b", "c", "shop")
		writeTree(t, base, map[string]string{
			"outside/_outside__models.yml": "version: 2\n# not the project's\n",
			"outside/decl.yml":             "version: 2\nmodels:\n  - name: declared_outside\n",
			"elsewhere/keep.txt":           "keep\n",
		})
		writeTree(t, proj, map[string]string{
			"dbt_project.yml":                     "name: shop\nmodel-paths: [models]\n",
			"models/staging/_staging__models.yml": "version: 2\nmodels:\n  - name: stg_orders\n",
			"models/staging/stg_orders.sql":       "select 1 as id",
		})
		if err := os.Symlink(filepath.Join(base, "elsewhere"), filepath.Join(proj, "models", "linked")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(base, "outside", "decl.yml"), filepath.Join(proj, "models", "decl.yml")); err != nil {
			t.Fatal(err)
		}
		// A link inside the project to one of its files: the file is
		// edited once, and the link stays a link.
		alias := filepath.Join(proj, "models", "alias.yml")
		if err := os.Symlink(filepath.Join("staging", "_staging__models.yml"), alias); err != nil {
			t.Fatal(err)
		}
		outsideDirs := []string{"outside", "elsewhere", "abs"}
		if err := os.Mkdir(filepath.Join(base, "abs"), 0o755); err != nil {
			t.Fatal(err)
		}
		before := map[string]map[string][32]byte{}
		for _, d := range outsideDirs {
			before[d] = hashTree(t, filepath.Join(base, d))
		}
		slashName := "../../../../outside/evil"
		fx := importDocumented(t, st, &modeldoc.Catalog{ProjectName: "shop", Source: "manifest", Path: proj, Objects: []modeldoc.Object{
			model("shop", "stg_orders", "models/staging/stg_orders.sql"),
			model("shop", "escape", "../../../../outside/y.sql"),
			model("shop", "absolute", filepath.ToSlash(filepath.Join(base, "abs", "z.sql"))),
			model("shop", "through_link", "models/linked/l.sql"),
			model("shop", "declared_outside", "models/d.sql"),
			model("shop", "no_folder", "models/nofolder/m.sql"),
			model("shop", slashName, "models/staging/n.sql"),
		}})

		for _, dry := range []bool{true, false} {
			res, err := ExportDBT(ctx, fx.st, fx.orgID, DBTOptions{IncludeDrafts: true, Dir: proj, DryRun: dry})
			if err != nil {
				t.Fatal(err)
			}
			var paths []string
			for _, f := range res.Files {
				paths = append(paths, f.Path)
			}
			if len(paths) != 1 || paths[0] != "models/staging/_staging__models.yml" {
				t.Errorf("dry run %v: files %v, want only the staging file", dry, paths)
			}
			warnings := strings.Join(res.Warnings, "\n")
			for _, name := range []string{"escape", "absolute", "through_link", "declared_outside", "no_folder"} {
				if !regexp.MustCompile(`model ` + name + `\b`).MatchString(warnings) {
					t.Errorf("dry run %v: no warning names model %s:\n%s", dry, name, warnings)
				}
			}
			if strings.Contains(warnings, slashName) {
				t.Errorf("the model named like a path was refused: %s", warnings)
			}
		}
		for _, d := range outsideDirs {
			if got := hashTree(t, filepath.Join(base, d)); !equalHashes(got, before[d]) {
				t.Errorf("the export changed files in %s, outside the project: %v", d, got)
			}
		}
		entries, _ := os.ReadDir(base)
		if len(entries) != len(outsideDirs)+1 {
			t.Errorf("the export created something beside the project: %v", entries)
		}
		staging, _ := os.ReadFile(filepath.Join(proj, "models", "staging", "_staging__models.yml"))
		for _, want := range []string{"name: stg_orders", slashName} {
			if !strings.Contains(string(staging), want) {
				t.Errorf("the staging file lacks %q:\n%s", want, staging)
			}
		}
		if fi, err := os.Lstat(alias); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("the link to the staging file is no longer a link: %v %v", fi, err)
		}
		if _, err := os.Stat(filepath.Join(proj, "models", "nofolder")); err == nil {
			t.Error("the export created a folder")
		}
	})
}

// An export writes every file or none: when one target cannot be written
// (here a folder stands where a new properties file goes, and it is the
// last file written), every other file keeps its bytes and no temporary
// file is left.
func TestExportDBTAllOrNothing(t *testing.T) {
	modeldoctest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		proj := t.TempDir()
		writeTree(t, proj, map[string]string{
			"dbt_project.yml":                     "name: shop\n",
			"models/marts/_marts__models.yml":     "version: 2\nmodels:\n  - name: fct_orders\n",
			"models/staging/_staging__models.yml": "version: 2\nmodels:\n  - name: stg_orders\n",
		})
		blocker := filepath.Join(proj, "models", "new", "_new__models.yml")
		if err := os.MkdirAll(blocker, 0o755); err != nil {
			t.Fatal(err)
		}
		fx := importDocumented(t, st, &modeldoc.Catalog{ProjectName: "shop", Source: "manifest", Path: proj, Objects: []modeldoc.Object{
			model("shop", "fct_orders", "models/marts/fct_orders.sql"),
			model("shop", "stg_orders", "models/staging/stg_orders.sql"),
			model("shop", "fresh", "models/new/fresh.sql"),
		}})
		before := hashTree(t, proj)
		_, err := ExportDBT(ctx, fx.st, fx.orgID, DBTOptions{IncludeDrafts: true, Dir: proj})
		if err == nil {
			t.Fatal("the export succeeded with a folder in the way")
		}
		if !strings.Contains(err.Error(), "_new__models.yml") {
			t.Errorf("the error does not name the file: %v", err)
		}
		if after := hashTree(t, proj); !equalHashes(after, before) {
			t.Errorf("a failed export changed the project:\nbefore %v\nafter  %v", before, after)
		}

		// With the way clear, the same export writes all three.
		if err := os.Remove(blocker); err != nil {
			t.Fatal(err)
		}
		res, err := ExportDBT(ctx, fx.st, fx.orgID, DBTOptions{IncludeDrafts: true, Dir: proj})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Files) != 3 {
			t.Errorf("wrote %d files, want 3: %+v", len(res.Files), res.Files)
		}
		after := hashTree(t, proj)
		for _, rel := range []string{"models/marts/_marts__models.yml", "models/staging/_staging__models.yml"} {
			if after[rel] == before[rel] {
				t.Errorf("%s was not written", rel)
			}
		}
		for rel := range after {
			if strings.Contains(rel, ".modeldoc-") {
				t.Errorf("temporary file left: %s", rel)
			}
		}
	})
}

// export dbt reads dbt_project.yml as the importer does (dbt.ReadLayout):
// a key given twice keeps its last value, as dbt's PyYAML does, with a
// warning, instead of refusing a file dbt itself reads.
func TestExportDBTReadsTheLayoutAsTheImportDoes(t *testing.T) {
	modeldoctest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		proj := t.TempDir()
		writeTree(t, proj, map[string]string{
			"dbt_project.yml":                     "name: shop\nmodel-paths: [old_models]\nmodel-paths: [models]\n",
			"old_models/_old__models.yml":         "version: 2\nmodels:\n  - name: stg_orders\n",
			"models/staging/_staging__models.yml": "version: 2\nmodels:\n  - name: stg_orders\n",
			"models/staging/stg_orders.sql":       "select 1 as id",
			"models/target/_target__models.yml":   "version: 2\nmodels:\n  - name: stg_orders\n",
		})
		fx := importDocumented(t, st, &modeldoc.Catalog{ProjectName: "shop", Source: "manifest", Path: proj, Objects: []modeldoc.Object{
			model("shop", "stg_orders", "models/staging/stg_orders.sql"),
		}})
		res, err := ExportDBT(ctx, fx.st, fx.orgID, DBTOptions{IncludeDrafts: true, Dir: proj, DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		var paths []string
		for _, f := range res.Files {
			paths = append(paths, f.Path)
		}
		if len(paths) != 1 || paths[0] != "models/staging/_staging__models.yml" {
			t.Errorf("files %v, want only models/staging/_staging__models.yml (the last model-paths; target/ skipped)", paths)
		}
		if w := strings.Join(res.Warnings, "\n"); !strings.Contains(w, "dbt_project.yml") || !strings.Contains(w, "model-paths") {
			t.Errorf("no warning about the repeated model-paths:\n%s", w)
		}
	})
}
