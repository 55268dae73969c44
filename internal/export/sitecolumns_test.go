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
