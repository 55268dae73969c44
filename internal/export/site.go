package export

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/collineage"
	"github.com/modeldoc/modeldoc/internal/markdown"
	"github.com/modeldoc/modeldoc/internal/sqlscan"
)

// The site opens from file:// with no server: browsers block fetch() there,
// so the search index is a script that assigns a variable, and no page
// has inline script (strict setups forbid it).

//go:embed site/style.css
var siteCSS []byte

//go:embed site/search.js
var siteJS []byte

//go:embed site/nav.js
var navJS []byte

// LineageJS and LineageCSS draw the lineage graph on the site's pages
// and, served by internal/web, on the dashboard's model page: one script
// for both.
var (
	//go:embed site/lineage.js
	LineageJS []byte
	//go:embed site/lineage.css
	LineageCSS []byte
)

//go:embed site/object.html.tmpl
var objectTmpl string

//go:embed site/index.html.tmpl
var indexTmpl string

// Descriptions and generated prose are Markdown (dbt doc blocks with
// tables and lists; generated text names columns in backticks): md renders
// a block, mdi one line, plain strips it for the index's summary column.
var siteFuncs = template.FuncMap{
	"join":  strings.Join,
	"md":    markdown.HTML,
	"mdi":   markdown.Inline,
	"plain": markdown.Plain,
}

var siteTemplates = template.Must(template.New("object").Funcs(siteFuncs).Parse(objectTmpl))

var indexTemplate = template.Must(template.New("index").Funcs(siteFuncs).Parse(indexTmpl))

// page is one object's page: its DocView, the view every renderer shows,
// with what only the site adds. Its layers are the view's, shown when
// Published, so the site, Markdown and `docs show` agree on what a
// version says.
type page struct {
	*DocView
	// Columns are the view's, with their lineage from the SQL, and the
	// columns only the SQL names.
	Columns   []pageColumn
	Generated string
	// Graph is the object's lineage neighbourhood as JSON, for
	// assets/lineage.js (empty on pages that do not draw one).
	Graph string
}

type pageColumn struct {
	ViewColumn
	// From is the upstream column the SQL passes on unchanged, Expr the
	// expression that computes the column (collineage), for every model,
	// documented or not, as the dashboard shows them.
	From           *columnEnd
	Expr, ExprFull string
	// ReadBy are the columns of the direct downstream objects that pass
	// this one on unchanged, as the dashboard's "→".
	ReadBy []columnEnd
}

type columnEnd struct {
	Name, File, Column string
}

// A page is named after its object's unique id when that id is already
// a safe, lower-case file name; any other id gets a cleaned-up name plus
// a hash of the exact id, after a "~" that no plain name contains. So a
// name depends on its object alone (it stays when other objects come and
// go), two ids that differ only in case or in unsafe characters never
// share a page, even on a case-insensitive file system, and no object can
// take a reserved name such as the Markdown index.
var (
	plainName   = regexp.MustCompile(`^[a-z0-9_][a-z0-9._-]*$`)
	unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)
)

// reservedNames are names no page takes, in lower case: the indexes, and
// the device names Windows reserves whatever the extension.
var reservedNames = map[string]bool{"readme": true, "index": true, "con": true, "prn": true, "aux": true, "nul": true}

func reserved(name string) bool {
	first, _, _ := strings.Cut(strings.ToLower(name), ".")
	if reservedNames[first] {
		return true
	}
	// COM0-9 and LPT0-9.
	return len(first) == 4 && (strings.HasPrefix(first, "com") || strings.HasPrefix(first, "lpt")) && first[3] >= '0' && first[3] <= '9'
}

const maxPageName = 120

// pageName is the file name (without extension) of the page of the object
// with this unique id.
func pageName(uniqueID string) string {
	if len(uniqueID) <= maxPageName && plainName.MatchString(uniqueID) && !strings.HasSuffix(uniqueID, ".") && !reserved(uniqueID) {
		return uniqueID
	}
	base := strings.Trim(unsafeChars.ReplaceAllString(uniqueID, "_"), "._-")
	if len(base) > maxPageName-20 {
		base = strings.TrimRight(base[:maxPageName-20], "._-")
	}
	sum := sha256.Sum256([]byte(uniqueID))
	return base + "~" + hex.EncodeToString(sum[:8])
}

// fileNames gives every object its page name, unique across projects
// ignoring case. The same unique id in two projects (or a hash collision)
// is told apart by the object's id, after "~n", which neither kind of
// name above contains.
func fileNames(projects []*Project) map[*modeldoc.Object]string {
	out := map[*modeldoc.Object]string{}
	used := map[string]bool{}
	for _, p := range projects {
		for _, o := range p.sortedObjects() {
			name := pageName(o.UniqueID)
			for used[strings.ToLower(name)] {
				name += "~n" + strconv.FormatInt(o.ID, 10)
			}
			used[strings.ToLower(name)] = true
			out[o] = name
		}
	}
	return out
}

func buildPage(p *Project, o *modeldoc.Object, names map[*modeldoc.Object]string, ext string, origins columnOrigins) (*page, error) {
	d := projectView(p, o, names, ext)
	if err := d.decode(); err != nil {
		return nil, err
	}
	pg := &page{DocView: d}
	for _, vc := range d.Columns {
		pg.Columns = append(pg.Columns, pageColumn{ViewColumn: vc})
	}
	sqlLineage(pg, p, origins, names, ext)
	return pg, nil
}

// columnOrigins traces each object's columns from its SQL once per
// export: an object's page shows its own, and its upstreams' pages show
// which of its columns read theirs.
type columnOrigins map[*modeldoc.Object][]collineage.ColumnOrigin

func (m columnOrigins) of(p *Project, o *modeldoc.Object) []collineage.ColumnOrigin {
	if got, ok := m[o]; ok {
		return got
	}
	var out []collineage.ColumnOrigin
	if o.SQL() != "" {
		var ups []modeldoc.Object
		for _, id := range p.Upstream[o.ID] {
			ups = append(ups, *p.Object(id))
		}
		out = collineage.ColumnOrigins(*o, ups)
	}
	m[o] = out
	return out
}

// sqlLineage sets each column's origin from the SQL and the downstream
// columns that read it, adding the columns only the SQL names (a model
// nobody documented declares few, a source none).
func sqlLineage(pg *page, p *Project, origins columnOrigins, names map[*modeldoc.Object]string, ext string) {
	o := pg.Object
	row := map[string]int{}
	for i, c := range pg.Columns {
		row[strings.ToLower(c.Name)] = i
	}
	col := func(name string) *pageColumn {
		i, ok := row[strings.ToLower(name)]
		if !ok {
			i = len(pg.Columns)
			row[strings.ToLower(name)] = i
			pg.Columns = append(pg.Columns, pageColumn{ViewColumn: ViewColumn{Name: name}})
		}
		return &pg.Columns[i]
	}
	for _, c := range origins.of(p, o) {
		pc := col(c.Column)
		switch {
		case c.From != nil:
			// The upstream is one of p's objects: its page is named.
			file := ""
			if u := p.Object(c.From.ID); u != nil {
				file = names[u] + ext
			}
			pc.From = &columnEnd{Name: c.From.Name, File: file, Column: c.FromColumn}
		case c.Expr != "":
			pc.Expr, pc.ExprFull = c.Expr, c.Expr
			if r := []rune(c.Expr); len(r) > 80 {
				pc.Expr = string(r[:79]) + "…"
			}
		}
	}
	for _, l := range pg.Downstream {
		d := p.Object(l.ID)
		for _, c := range origins.of(p, d) {
			if c.From != nil && c.From.ID == o.ID {
				pc := col(c.FromColumn)
				pc.ReadBy = append(pc.ReadBy, columnEnd{Name: d.Name, File: l.File, Column: c.Column})
			}
		}
	}
}

// ComplexityReasons recomputes what raised an object's complexity score
// from its SQL, the way the score was computed when it was written: the
// version stores the score, and the reasons are what makes it reviewable.
func ComplexityReasons(o *modeldoc.Object, upstream int) []string {
	return sqlscan.Complexity(sqlscan.Analyze(o.SQL()), upstream, len(o.Columns)).Reasons
}

func lineageText(c modeldoc.ColumnDescription) string {
	if c.Lineage == "passthrough" && c.UpstreamModel != "" {
		return "from " + c.UpstreamModel + "." + c.UpstreamColumn
	}
	return c.Lineage
}

// searchEntry is one object in the search index.
type searchEntry struct {
	Name    string   `json:"n"`
	Type    string   `json:"t"`
	Project string   `json:"p"`
	Schema  string   `json:"s"`
	Summary string   `json:"d"`
	Columns []string `json:"c"`
	URL     string   `json:"u"`
	// Folder is where the object's file is in its project (models/staging),
	// which the sidebar groups by.
	Folder string `json:"f"`
}

// folderOf is the sidebar's folder of an object: its file's folder, or its
// type's when it has no file (a source from a manifest).
func folderOf(o *modeldoc.Object) string {
	if o.FilePath == "" {
		return string(o.Type) + "s"
	}
	d := filepath.ToSlash(filepath.Dir(filepath.FromSlash(o.FilePath)))
	if d == "." {
		return "(top)"
	}
	return d
}

// WriteSite writes the static site into dir and returns how many object
// pages it wrote.
func WriteSite(dir string, projects []*Project, now time.Time) (int, error) {
	if err := os.MkdirAll(filepath.Join(dir, "objects"), 0o755); err != nil {
		return 0, modeldoc.Errorf(modeldoc.EINVALID, "Cannot create %s: %v.", dir, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "assets"), 0o755); err != nil {
		return 0, modeldoc.Errorf(modeldoc.EINVALID, "Cannot create %s: %v.", dir, err)
	}
	names := fileNames(projects)
	stamp := now.UTC().Format("2006-01-02 15:04 UTC")
	var index []searchEntry
	type indexProject struct {
		Name  string
		Pages []*page
		Scope Scope
	}
	var ips []indexProject
	cov, err := CoverageOf(projects)
	if err != nil {
		return 0, err
	}
	origins := columnOrigins{}
	n := 0
	for pi, p := range projects {
		ip := indexProject{Name: p.Project.Name, Scope: cov.Projects[pi].Scope}
		for _, o := range p.sortedObjects() {
			pg, err := buildPage(p, o, names, ".html", origins)
			if err != nil {
				return n, fmt.Errorf("%s: %w", o.UniqueID, err)
			}
			pg.Generated = stamp
			if pg.Graph, err = graphJSON(p, o, names, ".html"); err != nil {
				return n, fmt.Errorf("%s: %w", o.UniqueID, err)
			}
			var buf bytes.Buffer
			if err := siteTemplates.Execute(&buf, pg); err != nil {
				return n, fmt.Errorf("render %s: %w", o.UniqueID, err)
			}
			if err := os.WriteFile(filepath.Join(dir, "objects", pg.File), buf.Bytes(), 0o644); err != nil {
				return n, fmt.Errorf("write page: %w", err)
			}
			n++
			ip.Pages = append(ip.Pages, pg)
			e := searchEntry{Name: o.Name, Type: string(o.Type), Project: p.Project.Name, Schema: o.Schema,
				Summary: markdown.Plain(pg.PublishedSummary()), URL: "objects/" + pg.File, Columns: []string{}, Folder: folderOf(o)}
			if e.Summary == "" {
				e.Summary = markdown.Plain(o.Description)
			}
			for _, c := range pg.Columns {
				e.Columns = append(e.Columns, c.Name)
			}
			index = append(index, e)
		}
		ips = append(ips, ip)
	}
	data, err := json.Marshal(index) // escapes <, > and & as \u003c...
	if err != nil {
		return n, err
	}
	js := append([]byte("window.MODELDOC_INDEX = "), data...)
	js = append(js, ";\n"...)
	files := map[string][]byte{"assets/search-index.js": js, "assets/search.js": siteJS, "assets/nav.js": navJS, "assets/style.css": siteCSS,
		"assets/lineage.js": LineageJS, "assets/lineage.css": LineageCSS}
	var buf bytes.Buffer
	if err := indexTemplate.Execute(&buf, map[string]any{"Projects": ips, "Generated": stamp}); err != nil {
		return n, fmt.Errorf("render index: %w", err)
	}
	files["index.html"] = buf.Bytes()
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), b, 0o644); err != nil {
			return n, fmt.Errorf("write %s: %w", name, err)
		}
	}
	return n, nil
}
