package export

import (
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/generate"
)

// TestSiteColumnOriginsFromSQL: a model nobody documented shows, on its
// site page, where each column comes from as its SQL says (the upstream
// column, linked to its page, or the expression computing it), the same
// answer the dashboard gets from generate.ColumnOrigins; a model that
// declares no column lists those its SQL names.
func TestSiteColumnOriginsFromSQL(t *testing.T) {
	projects, out := shopSite(t)
	p := projects[0]
	names := fileNames(projects)
	checked := 0
	for _, name := range []string{"fct_orders", "stg_payments", "daily_revenue"} {
		o := p.Object(projectObjectID(t, p, name))
		if p.Docs[o.ID] != nil {
			t.Fatalf("%s is documented; the test is of models nobody documented", name)
		}
		b, err := os.ReadFile(filepath.Join(out, "objects", names[o]+".html"))
		if err != nil {
			t.Fatal(err)
		}
		page := string(b)
		cols := page[strings.Index(page, `id="columns"`):strings.Index(page, `id="lineage"`)]
		rows := map[string]string{}
		// A row runs to the next row of the table: a description may
		// hold a table of its own.
		for _, r := range strings.Split(cols, "<tr><td><code>")[1:] {
			if i := strings.Index(r, "</code>"); i > 0 {
				rows[r[:i]] = r
			}
		}
		var ups []modeldoc.Object
		for _, id := range p.Upstream[o.ID] {
			ups = append(ups, *p.Object(id))
		}
		origins := generate.ColumnOrigins(*o, ups)
		if len(origins) == 0 {
			t.Fatalf("%s: no column traced from its SQL", name)
		}
		for _, c := range origins {
			row, ok := rows[c.Column]
			if !ok {
				t.Errorf("%s: column %s, which its SQL names, has no row:\n%s", name, c.Column, cols)
				continue
			}
			switch {
			case c.From != nil:
				want := `<a href="` + names[p.Object(c.From.ID)] + `.html">` + c.From.Name + `</a><code>.` + c.FromColumn + `</code>`
				if !strings.Contains(row, want) {
					t.Errorf("%s.%s: want %s in\n%s", name, c.Column, want, row)
				}
				checked++
			case c.Expr != "":
				if !strings.Contains(html.UnescapeString(row), `title="`+c.Expr+`"`) || !strings.Contains(row, `class="col-expr"`) {
					t.Errorf("%s.%s: the expression %q is not shown:\n%s", name, c.Column, c.Expr, row)
				}
				checked++
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d column origins checked", checked)
	}
}

// TestSiteColumnReaders: each column row of a site page lists the columns
// of the direct downstream objects that pass it on unchanged (→), the
// dashboard's read_by, found with generate.ColumnOrigins over each
// reader's own upstreams; a source that declares no column gets a row for
// each column its readers take.
func TestSiteColumnReaders(t *testing.T) {
	projects, out := shopSite(t)
	p := projects[0]
	names := fileNames(projects)
	checked, sourceRows := 0, 0
	for i := range p.Objects {
		o := &p.Objects[i]
		b, err := os.ReadFile(filepath.Join(out, "objects", names[o]+".html"))
		if err != nil {
			t.Fatal(err)
		}
		page := string(b)
		cols := page[strings.Index(page, `id="columns"`):strings.Index(page, `id="lineage"`)]
		rows := map[string]string{}
		for _, r := range strings.Split(cols, "<tr><td><code>")[1:] {
			if i := strings.Index(r, "</code>"); i > 0 {
				rows[strings.ToLower(r[:i])] = r
			}
		}
		want := map[string][]string{}
		for _, id := range p.Downstream[o.ID] {
			d := p.Object(id)
			var ups []modeldoc.Object
			for _, u := range p.Upstream[id] {
				ups = append(ups, *p.Object(u))
			}
			for _, c := range generate.ColumnOrigins(*d, ups) {
				if c.From != nil && c.From.ID == o.ID {
					k := strings.ToLower(c.FromColumn)
					want[k] = append(want[k], `<a href="`+names[d]+`.html">`+d.Name+`</a><code>.`+c.Column+`</code>`)
				}
			}
		}
		for col, readers := range want {
			row, ok := rows[col]
			if !ok {
				t.Errorf("%s: column %s, which %d downstream column(s) read, has no row", o.Name, col, len(readers))
				continue
			}
			if o.Type == modeldoc.TypeSource && len(o.Columns) == 0 {
				sourceRows++
			}
			i := strings.Index(row, `<div class="col-readers">`)
			if i < 0 {
				t.Errorf("%s.%s: no readers shown:\n%s", o.Name, col, row)
				continue
			}
			shown := row[i:]
			shown = shown[:strings.Index(shown, "</div>")]
			for _, r := range readers {
				if !strings.Contains(shown, r) {
					t.Errorf("%s.%s: reader %s not shown in\n%s", o.Name, col, r, shown)
				}
				checked++
			}
		}
		for col, row := range rows {
			if _, ok := want[col]; !ok && strings.Contains(row, "col-readers") {
				t.Errorf("%s.%s: readers shown where no downstream column reads it:\n%s", o.Name, col, row)
			}
		}
	}
	if checked < 20 || sourceRows == 0 {
		t.Fatalf("only %d readers checked, %d rows of undeclared source columns", checked, sourceRows)
	}
}
