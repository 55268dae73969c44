package web

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/modeldoc/modeldoc"
)

// TestDashboardProjectColumns: with two projects that share a model name,
// the models table and the jobs table name each row's project.
func TestDashboardProjectColumns(t *testing.T) {
	chromiumPath(t)
	srv := startServer(t)
	ids := map[string]int64{}
	for _, p := range []string{"north", "south"} {
		sql := "select 1 as order_id -- " + p
		srv.importCatalog(t, &modeldoc.Catalog{ProjectName: p, Source: "manifest", Path: "/tmp/" + p, Objects: []modeldoc.Object{{
			UniqueID: "model." + p + ".shared_orders", Type: modeldoc.TypeModel, Name: "shared_orders", Package: p,
			RawSQL: sql, SQLHash: modeldoc.HashSQL(sql, ""),
		}}})
	}
	var projects struct {
		Items []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"items"`
	}
	srv.apiCall(t, "GET", "/projects?limit=500", nil, &projects)
	for _, p := range projects.Items {
		ids[p.Name] = p.ID
	}
	if ids["north"] == 0 || ids["south"] == 0 {
		t.Fatalf("projects %+v", projects)
	}
	srv.apiCall(t, "POST", "/jobs", map[string]any{"selection": map[string]any{"project_id": ids["south"]}, "provider": "offline"}, nil)

	b := newBrowser(t, srv.URL)
	b.signIn(srv.Token)
	b.do("filter", chromedp.SendKeys(chromedp.CSS("#f-q"), "shared_orders"))
	b.waitJS("both rows", `document.querySelectorAll('#models-table tbody td.project').length === 2`)
	got := evalJS[[]string](b, `[...document.querySelectorAll('#models-table tbody tr')].map(r => r.querySelector('td.name a').textContent + '@' + r.querySelector('td.project').textContent).sort()`)
	if strings.Join(got, ",") != "shared_orders@north,shared_orders@south" {
		t.Errorf("models rows: %v", got)
	}
	if h := evalJS[string](b, `document.querySelector('#models-table thead').textContent`); !strings.Contains(h, "Project") {
		t.Errorf("models header %q", h)
	}

	b.do("jobs page", chromedp.Navigate(srv.URL+"/#/jobs"))
	b.waitJS("the job row", `document.querySelectorAll('#jobs-table tbody td.project').length > 0`)
	if got := evalJS[string](b, `document.querySelector('#jobs-table tbody td.project').textContent`); got != "south" {
		t.Errorf("the job's project cell says %q, want south", got)
	}
	if h := evalJS[string](b, `document.querySelector('#jobs-table thead').textContent`); !strings.Contains(h, "Project") {
		t.Errorf("jobs header %q", h)
	}
	b.checkClean()
}
