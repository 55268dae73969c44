package web

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/store"
)

// A description written in Markdown (a dbt doc block with a table, a list,
// links) is rendered on the model's page, built from the API's tree: a
// link leads only to the web, and nothing is parsed as HTML.
func TestDashboardRendersMarkdown(t *testing.T) {
	chromiumPath(t)
	srv := startServer(t)
	srv.importCatalog(t, &modeldoc.Catalog{
		ProjectName: "mdshop", Source: "manifest", Path: "md/manifest.json",
		Objects: []modeldoc.Object{{UniqueID: "model.mdshop.md_orders", Type: modeldoc.TypeModel, Name: "md_orders", Package: "mdshop", Schema: "mart",
			RawSQL:      "select 1 as status",
			Description: "Orders, **one row each**.\n\n| status | meaning |\n|---|---|\n| placed | paid |\n\n- see [the runbook](https://wiki.example.com/o)\n- [bad](javascript:window.__md=1)\n",
			Columns:     []modeldoc.Column{{Name: "status", Description: "the *current* `status`", HumanDescription: true, Declared: true, Position: 1}}}},
	})
	var list struct {
		Items []store.ObjectSummary `json:"items"`
	}
	srv.apiCall(t, "GET", "/objects?q=md_orders", nil, &list)
	if len(list.Items) != 1 {
		t.Fatalf("objects: %+v", list.Items)
	}
	b := newBrowser(t, srv.URL)
	b.signIn(srv.Token)
	b.do("model page", chromedp.Navigate(fmt.Sprintf("%s/#/models/%d", srv.URL, list.Items[0].ID)))
	b.waitJS("description", `document.querySelector('#obj-description table')`)
	if got := b.text("#obj-description strong"); got != "one row each" {
		t.Errorf("strong: %q", got)
	}
	if got := evalJS[string](b, `[...document.querySelectorAll('#obj-description td')].map(td => td.textContent).join('|')`); got != "placed|paid" {
		t.Errorf("table cells: %q", got)
	}
	if got := evalJS[string](b, `[...document.querySelectorAll('#obj-description a')].map(a => a.textContent + '=' + (a.getAttribute('href') || '')).join('|')`); got != "the runbook=https://wiki.example.com/o|bad=" {
		t.Errorf("links: %q", got)
	}
	if got := evalJS[string](b, `document.querySelector('table.columns') ? document.querySelector('table.columns').innerText : ''`); got != "" && !strings.Contains(got, "the current status") {
		t.Errorf("column description: %q", got)
	}
	if md := evalJS[string](b, `typeof window.__md`); md != "undefined" {
		t.Errorf("a link ran: %s", md)
	}
	b.checkClean()
}
