package export

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
)

// writeTree writes files (relative path -> text) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
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

// importDocumented imports cat into st and documents every model with
// the offline writer.
func importDocumented(t *testing.T, st *store.Store, cat *modeldoc.Catalog) *fixture {
	t.Helper()
	ctx := context.Background()
	org, err := st.EnsureDefaultOrganization(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportCatalog(ctx, org.ID, cat); err != nil {
		t.Fatal(err)
	}
	fx := &fixture{st: st, orgID: org.ID, documented: map[string]bool{}}
	objs, _, err := st.ListObjects(ctx, org.ID, store.ObjectFilter{Types: []modeldoc.ObjectType{modeldoc.TypeModel}})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		fx.document(t, o.ID)
		fx.documented[o.Name] = true
	}
	return fx
}

func model(project, name, file string) modeldoc.Object {
	return modeldoc.Object{UniqueID: "model." + project + "." + name, Type: modeldoc.TypeModel, Name: name,
		Package: project, FilePath: file, RawSQL: "select 1 as id, 'x' as status"}
}

var mdIndexRow = regexp.MustCompile(`(?m)^\| \[(.*?)\]\(([^)\s]+)\) \|`)

// No Markdown page overwrites another or the index, whatever the unique
// ids: README, ids that differ only in case, in unsafe characters, or
// that hold "/" and "..". Names stay when objects are added, and the
// index links each row to its own page. The site uses the same names.
func TestPageNamesNeverCollide(t *testing.T) {
	modeldoctest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		ids := []string{"README", "readme", "Index", "model.p.Orders", "model.p.orders", "model.p.a/b", "model.p.a_b",
			"model.p.a?b", "model.p.../../x", "model.p.x", "con.p.x", "model.p.x.", strings.Repeat("model.p.long", 20)}
		cat := &modeldoc.Catalog{ProjectName: "p", Source: "manifest", Path: "/p"}
		for i, id := range ids {
			// Names are unique too, so that an index row names its page.
			cat.Objects = append(cat.Objects, modeldoc.Object{UniqueID: id, Type: modeldoc.TypeModel,
				Name: id + "#" + string(rune('a'+i)), Package: "p", RawSQL: "select 1 as id"})
		}
		fx := importDocumented(t, st, cat)
		export := func() (map[string]string, map[string]string) {
			t.Helper()
			projects, err := Load(ctx, fx.st, fx.orgID, 0)
			if err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			n, err := WriteMarkdown(out, projects)
			if err != nil {
				t.Fatal(err)
			}
			files, _ := filepath.Glob(filepath.Join(out, "*.md"))
			if n != len(projects[0].Objects) || len(files) != n+1 {
				t.Errorf("%d pages and %d files for %d objects", n, len(files), len(projects[0].Objects))
			}
			index, err := os.ReadFile(filepath.Join(out, "README.md"))
			if err != nil || !strings.HasPrefix(string(index), "# Documentation\n") {
				t.Fatalf("the index was overwritten: %.80s %v", index, err)
			}
			lower := map[string]string{}
			byID := map[string]string{} // unique id -> page file
			for _, f := range files {
				base := filepath.Base(f)
				if prev, ok := lower[strings.ToLower(base)]; ok {
					t.Errorf("%s and %s differ only in case", prev, base)
				}
				lower[strings.ToLower(base)] = base
				if base == "README.md" {
					continue
				}
				b, _ := os.ReadFile(f)
				m := regexp.MustCompile(`(?m)^- \*\*Unique id:\*\* (.*)$`).FindSubmatch(b)
				if m == nil {
					t.Errorf("%s is not an object page", base)
					continue
				}
				byID[string(m[1])] = base
			}
			// Each index row links to the page whose title is the row's name.
			rows := mdIndexRow.FindAllStringSubmatch(string(index), -1)
			if len(rows) != n {
				t.Errorf("%d index rows for %d objects", len(rows), n)
			}
			for _, r := range rows {
				b, err := os.ReadFile(filepath.Join(out, r[2]))
				if err != nil || !strings.HasPrefix(string(b), "# "+r[1]+"\n") {
					t.Errorf("index row %q links to %s, which is not its page: %.60q %v", r[1], r[2], b, err)
				}
			}
			siteOut := t.TempDir()
			if _, err := WriteSite(siteOut, projects, time.Now()); err != nil {
				t.Fatal(err)
			}
			pages, _ := filepath.Glob(filepath.Join(siteOut, "objects", "*.html"))
			if len(pages) != n {
				t.Errorf("site: %d pages for %d objects", len(pages), n)
			}
			names := map[string]string{}
			for o, name := range fileNames(projects) {
				names[o.UniqueID] = name
			}
			return byID, names
		}
		pages, names := export()
		if len(pages) != len(ids) {
			t.Errorf("%d distinct pages for %d objects: %v", len(pages), len(ids), pages)
		}
		for id, n := range names {
			if strings.ContainsAny(n, `/\`) || strings.HasPrefix(n, ".") || strings.EqualFold(n, "readme") {
				t.Errorf("%s: unsafe page name %q", id, n)
			}
		}
		// Another object, whose id differs from existing ones only in
		// case, changes no existing page's name.
		cat.Objects = append(cat.Objects, modeldoc.Object{UniqueID: "model.p.ORDERS", Type: modeldoc.TypeModel, Name: "ORDERS",
			Package: "p", RawSQL: "select 1 as id"})
		if _, err := fx.st.ImportCatalog(ctx, fx.orgID, cat); err != nil {
			t.Fatal(err)
		}
		again, names2 := export()
		for id, n := range names {
			if names2[id] != n {
				t.Errorf("%s: page name changed from %s to %s", id, n, names2[id])
			}
		}
		if len(again) != len(ids)+1 {
			t.Errorf("%d pages after adding an object to %d", len(again), len(ids))
		}
	})
}

// A stored layer that cannot be read is an error of every export that
// reads it, naming the object, never a page or a report without it.
func TestExportsReportUnreadableLayers(t *testing.T) {
	for _, layer := range []modeldoc.Layer{modeldoc.LayerColumnDescriptions, modeldoc.LayerExecutiveSummary} {
		t.Run(string(layer), func(t *testing.T) {
			modeldoctest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
				ctx := context.Background()
				proj := t.TempDir()
				writeTree(t, proj, map[string]string{"dbt_project.yml": "name: shop\n", "models/orders.sql": "select 1 as id"})
				fx := importDocumented(t, st, &modeldoc.Catalog{ProjectName: "shop", Source: "manifest", Path: proj,
					Objects: []modeldoc.Object{model("shop", "orders", "models/orders.sql")}})
				obj, err := st.ResolveObject(ctx, fx.orgID, "model.shop.orders")
				if err != nil {
					t.Fatal(err)
				}
				v, err := st.GetDocVersion(ctx, fx.orgID, obj.ID, 0)
				if err != nil {
					t.Fatal(err)
				}
				v.ID, v.Version = 0, 0
				v.Layers[layer] = json.RawMessage(`{"columns": "not a list", "summary": 42}`)
				if err := st.InsertDocVersion(ctx, v); err != nil {
					t.Fatal(err)
				}
				check := func(what string, err error) {
					t.Helper()
					if err == nil {
						t.Errorf("%s: no error for an unreadable %s layer", what, layer)
					} else if !strings.Contains(err.Error(), "model.shop.orders") || !strings.Contains(err.Error(), string(layer)) {
						t.Errorf("%s: the error names neither the object nor the layer: %v", what, err)
					}
				}
				_, err = Coverage(ctx, st, fx.orgID, 0)
				check("coverage", err)
				projects, err := Load(ctx, st, fx.orgID, 0)
				if err != nil {
					t.Fatal(err)
				}
				_, err = WriteMarkdown(t.TempDir(), projects)
				check("markdown", err)
				_, err = WriteSite(t.TempDir(), projects, time.Now())
				check("site", err)
				before := hashTree(t, proj)
				_, err = ExportDBT(ctx, st, fx.orgID, DBTOptions{IncludeDrafts: true, Dir: proj})
				check("dbt", err)
				if !equalHashes(before, hashTree(t, proj)) {
					t.Error("the failed dbt export changed the project")
				}
			})
		})
	}
}

// A rejected layer is not published, but the site reads it as Markdown and
// `docs show` do (one DocView): one that cannot be read is an error of
// the site too. The site used to skip decoding rejected layers, so it
// alone wrote its pages over such a version.
func TestExportsReportUnreadableRejectedLayers(t *testing.T) {
	modeldoctest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		proj := t.TempDir()
		writeTree(t, proj, map[string]string{"dbt_project.yml": "name: shop\n", "models/orders.sql": "select 1 as id"})
		fx := importDocumented(t, st, &modeldoc.Catalog{ProjectName: "shop", Source: "manifest", Path: proj,
			Objects: []modeldoc.Object{model("shop", "orders", "models/orders.sql")}})
		obj, err := st.ResolveObject(ctx, fx.orgID, "model.shop.orders")
		if err != nil {
			t.Fatal(err)
		}
		v, err := st.GetDocVersion(ctx, fx.orgID, obj.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		v.ID, v.Version = 0, 0
		l := modeldoc.LayerBusinessNarrative
		v.Layers[l] = json.RawMessage(`{"whatItDoes": 42}`)
		s := v.LayerStatus[l]
		s.ReviewState = modeldoc.ReviewRejected
		v.LayerStatus[l] = s
		if err := st.InsertDocVersion(ctx, v); err != nil {
			t.Fatal(err)
		}
		projects, err := Load(ctx, st, fx.orgID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := projects[0].Docs[obj.ID].LayerReview(l); got != modeldoc.ReviewRejected {
			t.Fatalf("the stored layer is %q, not rejected", got)
		}
		for what, write := range map[string]func(string) (int, error){
			"markdown": func(dir string) (int, error) { return WriteMarkdown(dir, projects) },
			"site":     func(dir string) (int, error) { return WriteSite(dir, projects, time.Now()) },
		} {
			if _, err := write(t.TempDir()); err == nil {
				t.Errorf("%s: no error for an unreadable rejected %s layer", what, l)
			} else if !strings.Contains(err.Error(), "model.shop.orders") || !strings.Contains(err.Error(), string(l)) {
				t.Errorf("%s: the error names neither the object nor the layer: %v", what, err)
			}
		}
	})
}
