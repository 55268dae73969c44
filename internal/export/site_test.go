package export

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/dbt"
	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/testenv"
)

const xss = `<script>alert("x")</script><img src=x onerror=alert(1)>`

// withXSS imports a second project whose model name, description, column
// and SQL carry an HTML payload, and documents it.
func withXSS(t *testing.T, fx *fixture) {
	t.Helper()
	ctx := context.Background()
	cat := &modeldoc.Catalog{ProjectName: "evil", Source: "project", Path: "/tmp/evil", Objects: []modeldoc.Object{
		{UniqueID: "model.evil.up", Type: modeldoc.TypeModel, Name: "up", Package: "evil", RawSQL: "select 1 as id"},
		{UniqueID: "model.evil." + xss, Type: modeldoc.TypeModel, Name: xss, Package: "evil", Description: xss,
			RawSQL:  "select id as \"" + xss + "\" from {{ ref('up') }}",
			Columns: []modeldoc.Column{{Name: xss, Description: xss, HumanDescription: true, Declared: true, Position: 1}}},
	}, Edges: []modeldoc.Edge{{Upstream: "model.evil.up", Downstream: "model.evil." + xss}}}
	if _, err := fx.st.ImportCatalog(ctx, fx.orgID, cat); err != nil {
		t.Fatal(err)
	}
	obj, err := fx.st.ResolveObject(ctx, fx.orgID, "model.evil."+xss)
	if err != nil {
		t.Fatal(err)
	}
	fx.document(t, obj.ID)
}

var hrefRE = regexp.MustCompile(`(?:href|src)="([^"]*)"`)

// outsideResourceRE finds what a browser would fetch from elsewhere: a
// src, a stylesheet or script link, or a CSS url() that is not relative.
var outsideResourceRE = regexp.MustCompile(`(?i)(?:src="(?:https?:)?//|<link[^>]+href="(?:https?:)?//|url\(\s*['"]?(?:https?:)?//)[^"')\s]*`)

func TestSiteTuva(t *testing.T) {
	ctx := context.Background()
	fx := tuva(t, func(i int, name string) bool { return i%5 == 0 })
	withXSS(t, fx)
	projects, err := Load(ctx, fx.st, fx.orgID, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	n, err := WriteSite(out, projects, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	objects := 0
	for _, p := range projects {
		objects += len(p.Objects)
	}
	if n != objects {
		t.Errorf("%d pages for %d objects", n, objects)
	}
	names := fileNames(projects)
	pages, _ := filepath.Glob(filepath.Join(out, "objects", "*.html"))
	if len(pages) != objects {
		t.Errorf("%d page files for %d objects", len(pages), objects)
	}
	// Every link and asset of every page resolves to a file.
	all := append(pages, filepath.Join(out, "index.html"))
	links := 0
	for _, pg := range all {
		b, _ := os.ReadFile(pg)
		// Nothing is loaded from outside; a link a description holds
		// (rendered from its Markdown) may lead out, as it did in dbt.
		if m := outsideResourceRE.Find(b); m != nil {
			t.Errorf("%s: loads a resource from outside the site: %s", pg, m)
		}
		for _, m := range hrefRE.FindAllSubmatch(b, -1) {
			ref := string(m[1])
			if strings.HasPrefix(ref, "http") || strings.HasPrefix(ref, "mailto:") {
				continue
			}
			u, err := url.PathUnescape(strings.SplitN(ref, "#", 2)[0])
			if err != nil {
				t.Errorf("%s: bad link %q", pg, ref)
				continue
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(pg), filepath.FromSlash(u))); err != nil {
				t.Errorf("%s: broken link %q", filepath.Base(pg), ref)
			}
			links++
		}
	}
	if links < objects*2 {
		t.Errorf("only %d links checked", links)
	}
	// A documented Tuva model's page shows its layers and provenance.
	for _, p := range projects {
		for id, v := range p.Docs {
			o := p.Object(id)
			b, _ := os.ReadFile(filepath.Join(out, "objects", names[o]+".html"))
			s := string(b)
			for _, want := range []string{`id="executive_summary"`, `id="business_narrative"`, `id="transformation_cards"`,
				`id="impact_analysis"`, `id="columns"`, `id="lineage"`, "offline", "prompt " + v.PromptVersion, fmt.Sprintf("%d / 5", v.ComplexityScore)} {
				if !strings.Contains(s, want) {
					t.Errorf("%s: page lacks %q", o.Name, want)
				}
			}
			// One scale everywhere: the CLI prints /5 too.
			if strings.Contains(s, "/ 10") {
				t.Errorf("%s: complexity on a scale of 10", o.Name)
			}
			break
		}
	}
	// The payload is escaped everywhere.
	var evil *modeldoc.Object
	for _, p := range projects {
		for i := range p.Objects {
			if p.Objects[i].Name == xss {
				evil = &p.Objects[i]
			}
		}
	}
	page, err := os.ReadFile(filepath.Join(out, "objects", names[evil]+".html"))
	if err != nil {
		t.Fatal(err)
	}
	index, _ := os.ReadFile(filepath.Join(out, "index.html"))
	js, _ := os.ReadFile(filepath.Join(out, "assets", "search-index.js"))
	for name, b := range map[string][]byte{"page": page, "index": index, "search index": js} {
		if bytes.Contains(b, []byte("<script>alert")) || bytes.Contains(b, []byte("<img src=x")) {
			t.Errorf("%s: the payload is not escaped", name)
		}
	}
	if !bytes.Contains(page, []byte("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;")) {
		t.Error("the page does not show the escaped name")
	}
	// Scripts are files (the search index, search and the sidebar), never
	// inline: strict setups forbid inline script.
	fileScript := regexp.MustCompile(`<script src="[^"]+"></script>`)
	for name, b := range map[string][]byte{"page": page, "index": index} {
		if all, files := bytes.Count(b, []byte("<script")), len(fileScript.FindAll(b, -1)); all != files || files == 0 {
			t.Errorf("%s: %d scripts, %d of them files: no inline script allowed", name, all, files)
		}
	}
	if !bytes.Contains(page, []byte(`<script src="../assets/nav.js"></script>`)) || !bytes.Contains(index, []byte(`<script src="assets/nav.js"></script>`)) {
		t.Error("the sidebar's script is not on every page")
	}
	if !bytes.Contains(js, []byte(`"f":"`)) {
		t.Error("the search index does not give each object its folder")
	}
	if !bytes.HasPrefix(js, []byte("window.MODELDOC_INDEX = [")) {
		t.Errorf("search index: %.60s", js)
	}
	var entries []searchEntry
	if err := json.Unmarshal(bytes.TrimSuffix(bytes.TrimPrefix(js, []byte("window.MODELDOC_INDEX = ")), []byte(";\n")), &entries); err != nil || len(entries) != objects {
		t.Errorf("search index: %d entries, %v", len(entries), err)
	}
}

func TestMarkdownAndJSON(t *testing.T) {
	ctx := context.Background()
	fx := tuva(t, func(i int, name string) bool { return i%7 == 0 })
	withXSS(t, fx)
	projects, err := Load(ctx, fx.st, fx.orgID, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	n, err := WriteMarkdown(out, projects)
	if err != nil {
		t.Fatal(err)
	}
	mdLink := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	files, _ := filepath.Glob(filepath.Join(out, "*.md"))
	if len(files) != n+1 {
		t.Errorf("%d files for %d pages + index", len(files), n)
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		// Code blocks show their text literally; outside them nothing of
		// the payload may stay HTML.
		if prose := outsideFences(b); bytes.Contains(prose, []byte("<script")) || bytes.Contains(prose, []byte("<img")) {
			t.Errorf("%s: raw HTML from the payload", filepath.Base(f))
		}
		for _, m := range mdLink.FindAllSubmatch(b, -1) {
			if ref := string(m[1]); strings.HasPrefix(ref, "http") || strings.HasPrefix(ref, "mailto:") || ref == "#" {
				continue // a description's own link (its Markdown is kept), or one emptied as unsafe
			}
			if _, err := os.Stat(filepath.Join(out, string(m[1]))); err != nil {
				t.Errorf("%s: broken link %s", filepath.Base(f), m[1])
			}
		}
	}

	// Complexity is on the 1-5 scale, with what raised it.
	names := fileNames(projects)
	checked := 0
	for _, p := range projects {
		for id, v := range p.Docs {
			o := p.Object(id)
			b, _ := os.ReadFile(filepath.Join(out, names[o]+".md"))
			want := fmt.Sprintf("- **Complexity:** %d / 5", v.ComplexityScore)
			if !strings.Contains(string(b), want) || strings.Contains(string(b), "/ 10") {
				t.Errorf("%s: page lacks %q", o.Name, want)
			}
			if v.ComplexityScore > 1 && !strings.Contains(string(b), want+" (") {
				t.Errorf("%s: complexity %d without its reasons", o.Name, v.ComplexityScore)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Error("no documented page to check")
	}

	doc := BuildJSON(projects, time.Now())
	var buf bytes.Buffer
	if err := WriteJSON(&buf, doc); err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	schemaDoc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("export.schema.json", schemaDoc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("export.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("the export does not match its schema: %v", err)
	}
	// The schema is not vacuous: a wrong type fails it.
	var generic map[string]any
	json.Unmarshal(buf.Bytes(), &generic)
	generic["projects"].([]any)[0].(map[string]any)["objects"].([]any)[0].(map[string]any)["type"] = "table"
	if err := sch.Validate(generic); err == nil {
		t.Error("an object of type table passes the schema")
	}
	var objects, documented, edges int
	for _, p := range doc.Projects {
		objects += len(p.Objects)
		edges += len(p.Lineage)
		for _, o := range p.Objects {
			if o.Documentation != nil {
				documented++
			}
		}
	}
	if objects == 0 || documented == 0 || edges == 0 {
		t.Errorf("objects %d, documented %d, edges %d", objects, documented, edges)
	}
}

func outsideFences(b []byte) []byte {
	var out []byte
	in := ""
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		t := string(bytes.TrimSpace(line))
		if in == "" && strings.HasPrefix(t, "```") {
			in = strings.TrimRight(t, "abcdefghijklmnopqrstuvwxyz")
			continue
		}
		if in != "" {
			if t == in {
				in = ""
			}
			continue
		}
		out = append(out, line...)
	}
	return out
}

// A description written in Markdown is rendered on its page, sanitised,
// and shown as plain text in the index's summary column.
func TestSiteRendersMarkdown(t *testing.T) {
	cat := &modeldoc.Catalog{ProjectName: "shop", Source: "project", Path: "/tmp/shop", Objects: []modeldoc.Object{
		{UniqueID: "model.shop.orders", Type: modeldoc.TypeModel, Name: "orders", Package: "shop", RawSQL: "select 1 as status",
			Description: "Orders, **one row each**.\n\n| status | meaning |\n|---|---|\n| placed | paid |\n\n<script>alert(1)</script> [x](javascript:alert(1))",
			Columns:     []modeldoc.Column{{Name: "status", Description: "the `status` of the order", HumanDescription: true, Declared: true, Position: 1}}},
	}}
	projects, out := siteOf(t, cat)
	pages, _ := filepath.Glob(filepath.Join(out, "objects", "*.html"))
	if len(pages) != 1 {
		t.Fatalf("%d pages", len(pages))
	}
	b, _ := os.ReadFile(pages[0])
	page := string(b)
	for _, want := range []string{"<strong>one row each</strong>", "<table>", "<td>paid</td>", "<code>status</code>"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, bad := range []string{"<script>alert", `href="javascript`, "**one row each**"} {
		if strings.Contains(page, bad) {
			t.Errorf("page holds %q", bad)
		}
	}
	idx, _ := os.ReadFile(filepath.Join(out, "index.html"))
	if !strings.Contains(string(idx), "Orders, <strong>one row each</strong>.") || strings.Contains(string(idx), "**") || strings.Contains(string(idx), "<script>alert") {
		t.Errorf("the index's summary is not rendered:\n%s", idx)
	}
	js, _ := os.ReadFile(filepath.Join(out, "assets", "search-index.js"))
	if !strings.Contains(string(js), "Orders, one row each.") {
		t.Errorf("the search index's summary is not plain text:\n%s", js)
	}

	// The Markdown export keeps the Markdown, sanitised.
	mdOut := t.TempDir()
	if _, err := WriteMarkdown(mdOut, projects); err != nil {
		t.Fatal(err)
	}
	mds, _ := filepath.Glob(filepath.Join(mdOut, "*.md"))
	var all string
	for _, f := range mds {
		b, _ := os.ReadFile(f)
		all += string(b)
	}
	for _, want := range []string{"Orders, **one row each**.", "| placed | paid |", "the `status` of the order", "[x](#)", "&lt;script&gt;"} {
		if !strings.Contains(all, want) {
			t.Errorf("Markdown export lacks %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "javascript:") || strings.Contains(all, "<script") {
		t.Errorf("Markdown export is unsafe:\n%s", all)
	}
}

// The sidebar, opened from disk in Chromium (when there is one): every
// folder of the project, the current page marked, its folder open.
func TestSiteSidebarInChromium(t *testing.T) {
	chromium := testenv.Chromium(t)
	cat := &modeldoc.Catalog{ProjectName: "shop", Source: "project", Path: "/tmp/shop", Objects: []modeldoc.Object{
		{UniqueID: "model.shop.stg_orders", Type: modeldoc.TypeModel, Name: "stg_orders", Package: "shop", RawSQL: "select 1 as id", FilePath: "models/staging/stg_orders.sql"},
		{UniqueID: "model.shop.fct_orders", Type: modeldoc.TypeModel, Name: "fct_orders", Package: "shop", RawSQL: "select 1 as id", FilePath: "models/marts/fct_orders.sql"},
		{UniqueID: "model.shop.dim_x", Type: modeldoc.TypeModel, Name: "dim_x", Package: "shop", RawSQL: "select 1 as id", FilePath: "models/marts/dim_x.sql"},
	}}
	projects, out := siteOf(t, cat)
	page := filepath.Join(out, "objects", fileNames(projects)[projects[0].Object(projectObjectID(t, projects[0], "fct_orders"))]+".html")
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", "file://"+page)
	dom, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	d := string(dom)
	for _, want := range []string{`<summary>models/marts (2)</summary>`, `<summary>models/staging (1)</summary>`, `aria-current="page">fct_orders</a>`} {
		if !strings.Contains(d, want) {
			t.Errorf("the sidebar lacks %q:\n%s", want, d)
		}
	}
	if !regexp.MustCompile(`<details class="nav-folder" open="">\s*<summary>models/marts`).MatchString(d) {
		t.Errorf("the current page's folder is not open")
	}
}

// siteOf imports cat into a new SQLite store and writes its static site
// into a temporary folder: the projects as the site saw them, and the
// folder.
func siteOf(t *testing.T, cat *modeldoc.Catalog) ([]*Project, string) {
	t.Helper()
	ctx := context.Background()
	st := modeldoctest.NewSQLiteStore(t)
	org, err := st.EnsureDefaultOrganization(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportCatalog(ctx, org.ID, cat); err != nil {
		t.Fatal(err)
	}
	projects, err := Load(ctx, st, org.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if _, err := WriteSite(out, projects, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	return projects, out
}

// shopSite is siteOf the example project, examples/shop.
func shopSite(t *testing.T) ([]*Project, string) {
	t.Helper()
	cat, err := dbt.Load(filepath.Join("..", "..", "examples", "shop"))
	if err != nil {
		t.Fatal(err)
	}
	return siteOf(t, cat)
}

func projectObjectID(t *testing.T, p *Project, name string) int64 {
	t.Helper()
	for _, o := range p.Objects {
		if o.Name == name {
			return o.ID
		}
	}
	t.Fatalf("no %s", name)
	return 0
}
