package export

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	goccy "github.com/goccy/go-yaml"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/dbt"
	"github.com/modeldoc/modeldoc/internal/store"
)

func hashTree(t *testing.T, dir string) map[string][32]byte {
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

func catalogByID(t *testing.T, dir string) map[string]modeldoc.Object {
	t.Helper()
	cat, err := dbt.LoadProject(dir)
	if err != nil {
		t.Fatalf("re-import: %v", err)
	}
	out := map[string]modeldoc.Object{}
	for _, o := range cat.Objects {
		out[o.UniqueID] = o
	}
	return out
}

// commentLines are the lines that are only a comment, in order.
func commentLines(b []byte) []string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			out = append(out, strings.TrimRight(l, "\r"))
		}
	}
	return out
}

func isSubsequence(sub, of []string) bool {
	j := 0
	for _, s := range of {
		if j < len(sub) && sub[j] == s {
			j++
		}
	}
	return j == len(sub)
}

// Every third Tuva model documented offline, exported into the raw
// project, and the project read back by the raw importer: every exported
// description must come back exactly, human text must stay, untouched
// files must keep their bytes, and a second YAML library must read every
// changed file.
func TestExportDBTTuvaRoundTrip(t *testing.T) {
	exportDBTRoundTrip(t, tuva(t, func(i int, name string) bool { return i%3 == 0 }))
}

// exportDBTRoundTrip exports fx's documentation into its project and
// reads it back; see TestExportDBTTuvaRoundTrip.
func exportDBTRoundTrip(t *testing.T, fx *fixture) {
	ctx := context.Background()
	before := hashTree(t, fx.dir)
	beforeCat := catalogByID(t, fx.dir)
	originals := map[string][]byte{}
	for rel := range before {
		if strings.HasSuffix(rel, ".yml") {
			originals[rel], _ = os.ReadFile(filepath.Join(fx.dir, rel))
		}
	}

	// A dry run writes nothing and its diff is what the real run does.
	dry, err := ExportDBT(ctx, fx.st, fx.orgID, DBTOptions{IncludeDrafts: true, Dir: fx.dir, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := hashTree(t, fx.dir); !equalHashes(got, before) {
		t.Fatal("a dry run changed files")
	}
	diff := dry.Diff()
	if len(dry.Files) == 0 || !strings.Contains(diff, "\n@@ -") {
		t.Fatalf("dry run found nothing to export: %+v", dry)
	}

	res, err := ExportDBT(ctx, fx.st, fx.orgID, DBTOptions{IncludeDrafts: true, Dir: fx.dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("changed %d files, %d unchanged, kept %d human descriptions, %d undocumented models, warnings %v",
		len(res.Files), res.Unchanged, res.KeptHuman, res.Undocumented, res.Warnings)
	if res.KeptHuman == 0 {
		t.Error("the YAML has human descriptions; none was counted as kept")
	}
	changed := map[string]FileChange{}
	for _, f := range res.Files {
		changed[f.Path] = f
	}
	after := hashTree(t, fx.dir)
	for rel, h := range before {
		if _, ok := changed[rel]; ok {
			continue
		}
		if after[rel] != h {
			t.Errorf("%s changed but the export does not list it", rel)
		}
	}
	for rel := range after {
		if _, ok := before[rel]; !ok && !changed[rel].Created {
			t.Errorf("%s appeared but is not listed as created", rel)
		}
	}
	for rel, f := range changed {
		data, _ := os.ReadFile(filepath.Join(fx.dir, rel))
		var v any
		if err := goccy.Unmarshal(data, &v); err != nil {
			t.Errorf("%s: goccy/go-yaml cannot read the exported file: %v", rel, err)
		}
		if !f.Created && !isSubsequence(commentLines(originals[rel]), commentLines(data)) {
			t.Errorf("%s: comments were lost", rel)
		}
	}

	// The diff of the dry run, applied with patch(1) to the original
	// files, gives the files the real run wrote.
	if _, err := exec.LookPath("patch"); err == nil {
		pdir := t.TempDir()
		for rel, b := range originals {
			os.MkdirAll(filepath.Join(pdir, filepath.Dir(rel)), 0o755)
			os.WriteFile(filepath.Join(pdir, rel), b, 0o644)
		}
		cmd := exec.Command("patch", "-s", "-p1", "-d", pdir)
		cmd.Stdin = strings.NewReader(diff)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("patch: %v %s", err, out)
		}
		for rel := range changed {
			want, _ := os.ReadFile(filepath.Join(fx.dir, rel))
			got, _ := os.ReadFile(filepath.Join(pdir, rel))
			if string(got) != string(want) {
				t.Errorf("%s: the dry-run diff does not give what the export wrote", rel)
			}
		}
	}

	// Re-import and compare with the documentation.
	afterCat := catalogByID(t, fx.dir)
	projects, err := Load(ctx, fx.st, fx.orgID, fx.project.ID)
	if err != nil {
		t.Fatal(err)
	}
	var models, cols, human int
	for _, obj := range projects[0].Objects {
		if obj.Type != modeldoc.TypeModel {
			continue
		}
		was, now := beforeCat[obj.UniqueID], afterCat[obj.UniqueID]
		v := projects[0].Docs[obj.ID]
		if v == nil {
			if was.Description != now.Description || !sameColumns(was.Columns, now.Columns) {
				t.Errorf("%s has no documentation but its YAML changed", obj.Name)
			}
			continue
		}
		if was.Description != "" {
			human++
			if now.Description != was.Description {
				t.Errorf("%s: a human description was replaced:\nwas %q\nnow %q", obj.Name, was.Description, now.Description)
			}
		} else if jinja(v.ExecutiveSummary()) {
			// Left out on purpose (dbt would render it); see the warning.
		} else if now.Description != v.ExecutiveSummary() {
			t.Errorf("%s: description does not round-trip:\nwant %q\ngot  %q", obj.Name, v.ExecutiveSummary(), now.Description)
		} else {
			models++
		}
		_, gen, err := ColumnDocs(v)
		if err != nil {
			t.Fatal(err)
		}
		wasCols := map[string]modeldoc.Column{}
		for _, c := range was.Columns {
			wasCols[strings.ToLower(c.Name)] = c
		}
		for _, c := range now.Columns {
			k := strings.ToLower(c.Name)
			w, declared := wasCols[k]
			switch {
			case declared && w.Description != "":
				if c.Description != w.Description {
					t.Errorf("%s.%s: human column description replaced", obj.Name, c.Name)
				}
			case gen[k].Description != "" && !jinja(gen[k].Description):
				if c.Description != gen[k].Description {
					t.Errorf("%s.%s: want %q, got %q", obj.Name, c.Name, gen[k].Description, c.Description)
				}
				cols++
			}
		}
		for k, g := range gen {
			if _, ok := findColumn(now.Columns, k); !ok && !jinja(g.Description) {
				t.Errorf("%s: generated column %s is not in the YAML", obj.Name, g.Name)
			}
		}
	}
	t.Logf("round-tripped %d model and %d column descriptions; %d documented models kept their human description", models, cols, human)
	if models == 0 || cols == 0 || human == 0 {
		t.Errorf("the test exercised too little: %d models, %d columns, %d human", models, cols, human)
	}

	// Exporting again changes nothing: the YAML now holds our text.
	again, err := ExportDBT(ctx, fx.st, fx.orgID, DBTOptions{IncludeDrafts: true, Dir: fx.dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Files) != 0 {
		t.Errorf("a second export changed %d files: %s", len(again.Files), again.Diff())
	}
}

func equalHashes(a, b map[string][32]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func sameColumns(a, b []modeldoc.Column) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Description != b[i].Description {
			return false
		}
	}
	return true
}

func findColumn(cols []modeldoc.Column, lower string) (modeldoc.Column, bool) {
	for _, c := range cols {
		if strings.ToLower(c.Name) == lower {
			return c, true
		}
	}
	return modeldoc.Column{}, false
}

// With --overwrite-human the generated text replaces what people wrote;
// a newer generated version replaces text modeldoc exported before, even
// without it.
func TestExportDBTOverwriteAndNewerVersions(t *testing.T) {
	exportDBTOverwriteAndNewerVersions(t, tuva(t, func(i int, name string) bool { return i%10 == 0 }))
}

func exportDBTOverwriteAndNewerVersions(t *testing.T, fx *fixture) {
	ctx := context.Background()
	if _, err := ExportDBT(ctx, fx.st, fx.orgID, DBTOptions{IncludeDrafts: true, Dir: fx.dir}); err != nil {
		t.Fatal(err)
	}
	projects, err := Load(ctx, fx.st, fx.orgID, fx.project.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Give every documented model a new version with another summary.
	for id, v := range projects[0].Docs {
		nv := *v
		nv.ID, nv.Version, nv.Layers = 0, 0, map[modeldoc.Layer]json.RawMessage{}
		for l, raw := range v.Layers {
			nv.Layers[l] = raw
		}
		summary, _ := json.Marshal(modeldoc.ExecutiveSummaryOut{Summary: "Revised: " + v.ExecutiveSummary()})
		nv.Layers[modeldoc.LayerExecutiveSummary] = summary
		nv.ObjectID = id
		if err := fx.st.InsertDocVersion(ctx, &nv); err != nil {
			t.Fatal(err)
		}
	}
	beforeCat := catalogByID(t, fx.dir)
	res, err := ExportDBT(ctx, fx.st, fx.orgID, DBTOptions{IncludeDrafts: true, Dir: fx.dir})
	if err != nil {
		t.Fatal(err)
	}
	afterCat := catalogByID(t, fx.dir)
	revised, kept := 0, 0
	for id := range projects[0].Docs {
		obj := projects[0].Object(id)
		was, now := beforeCat[obj.UniqueID], afterCat[obj.UniqueID]
		if strings.HasPrefix(now.Description, "Revised: ") {
			revised++
			if was.Description != strings.TrimPrefix(now.Description, "Revised: ") {
				t.Errorf("%s: replaced text modeldoc did not write: %q", obj.Name, was.Description)
			}
		} else if now.Description == was.Description {
			kept++
		} else {
			t.Errorf("%s: unexpected description %q", obj.Name, now.Description)
		}
	}
	if revised == 0 || kept == 0 {
		t.Errorf("revised %d, kept %d: both should happen (files: %d)", revised, kept, len(res.Files))
	}

	res, err = ExportDBT(ctx, fx.st, fx.orgID, DBTOptions{IncludeDrafts: true, Dir: fx.dir, OverwriteHuman: true})
	if err != nil {
		t.Fatal(err)
	}
	afterCat = catalogByID(t, fx.dir)
	for id, v := range projects[0].Docs {
		obj := projects[0].Object(id)
		if got, want := afterCat[obj.UniqueID].Description, "Revised: "+v.ExecutiveSummary(); got != want {
			t.Errorf("%s with --overwrite-human: got %q, want %q", obj.Name, got, want)
		}
	}
	if len(res.Files) == 0 {
		t.Error("--overwrite-human changed nothing")
	}
}

// Models no YAML declares go where their folder's convention says.
func TestExportDBTNewEntriesFollowConvention(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	write := func(rel, s string) {
		p := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("dbt_project.yml", "name: shop\nmodel-paths: [models]\n")
	write("models/staging/_staging__models.yml", "version: 2\nmodels:\n  - name: stg_orders\n    description: Orders, staged by hand.\n")
	write("models/staging/stg_orders.sql", "select 1 as id")
	write("models/staging/stg_payments.sql", "select 2 as amount")
	// A column the offline writer can explain (a pass-through with no
	// upstream text is left undocumented, so it would not be written).
	write("models/marts/fct_orders.sql", "select id, 'web' as channel from {{ ref('stg_orders') }}")
	cat, err := dbt.LoadProject(dir)
	if err != nil {
		t.Fatal(err)
	}
	fx := &fixture{dir: dir}
	fx.st = newStore(t)
	org, _ := fx.st.EnsureDefaultOrganization(ctx)
	fx.orgID = org.ID
	if _, err := fx.st.ImportCatalog(ctx, org.ID, cat); err != nil {
		t.Fatal(err)
	}
	objs, _, _ := fx.st.ListObjects(ctx, org.ID, store.ObjectFilter{})
	for _, o := range objs {
		fx.document(t, o.ID)
	}
	res, err := ExportDBT(ctx, fx.st, fx.orgID, DBTOptions{IncludeDrafts: true, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]bool{}
	for _, f := range res.Files {
		paths[f.Path] = f.Created
	}
	if created, ok := paths["models/staging/_staging__models.yml"]; !ok || created {
		t.Errorf("stg_payments belongs in the existing staging file: %v", paths)
	}
	if created, ok := paths["models/marts/_marts__models.yml"]; !ok || !created {
		t.Errorf("fct_orders needs a new file named like the others: %v", paths)
	}
	after := catalogByID(t, dir)
	if d := after["model.shop.stg_orders"].Description; d != "Orders, staged by hand." {
		t.Errorf("human description changed: %q", d)
	}
	for _, id := range []string{"model.shop.stg_payments", "model.shop.fct_orders"} {
		if after[id].Description == "" || len(after[id].Columns) == 0 {
			t.Errorf("%s: not exported: %+v", id, after[id])
		}
	}
}
