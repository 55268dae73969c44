package web

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/modeldoc/modeldoc/internal/dbt"
	"github.com/modeldoc/modeldoc/internal/export"
	"github.com/modeldoc/modeldoc/internal/store"
)

// The model page draws the lineage graph of examples/shop's fct_orders:
// sources, models and the exposure as distinct kinds, nodes that are
// keyboard-focusable links; a depth control redraws with fewer objects;
// clicking a node opens that object's page, whose graph shows its seed;
// a column row says where the column comes from.
func TestDashboardLineageGraph(t *testing.T) {
	chromiumPath(t)
	srv := startServer(t)
	cat, err := dbt.Load(filepath.Join("..", "..", "examples", "shop"))
	if err != nil {
		t.Fatal(err)
	}
	srv.importCatalog(t, cat)
	id := func(name string) int64 {
		var list struct {
			Items []store.ObjectSummary `json:"items"`
		}
		srv.apiCall(t, "GET", "/objects?q="+name, nil, &list)
		for _, o := range list.Items {
			if o.Name == name && o.Project == cat.ProjectName {
				return o.ID
			}
		}
		t.Fatalf("no %s in %+v", name, list.Items)
		return 0
	}
	fct, dim := id("fct_orders"), id("dim_customers")

	b := newBrowser(t, srv.URL)
	b.signIn(srv.Token)
	b.do("model page", chromedp.Navigate(fmt.Sprintf("%s/#/models/%d", srv.URL, fct)))
	b.waitJS("graph", `document.querySelector('#lg-area svg')`)
	// Two steps each way: 11 objects and the exposure that reads fct_orders.
	if n := evalJS[string](b, `document.querySelector('#lg-area svg').getAttribute('data-nodes')`); n != "12" {
		t.Errorf("default graph: %s nodes, want 12", n)
	}
	kinds := evalJS[string](b, `[...new Set([...document.querySelectorAll('#lg-area .lg-node')].map(n => n.dataset.kind))].sort().join(',')`)
	if kinds != "exposure,model,source" {
		t.Errorf("kinds drawn: %s", kinds)
	}
	// Kinds are told apart by words, not by colour alone.
	if got := evalJS[string](b, `document.querySelector('#lg-area .lg-source .lg-kind').textContent`); !strings.HasPrefix(got, "source") {
		t.Errorf("a source node's label: %q", got)
	}
	if got := evalJS[string](b, `document.querySelector('#lg-area .lg-exposure .lg-name').textContent`); got != "Daily revenue" {
		t.Errorf("the exposure's label: %q", got)
	}
	if got := evalJS[bool](b, `(() => { const a = document.querySelector('#lg-area a.lg-node'); a.focus(); return document.activeElement === a })()`); !got {
		t.Error("a graph node cannot take the keyboard focus")
	}
	b.shot("lineage-fct-orders")

	b.do("no upstream", chromedp.Focus(chromedp.CSS("#lg-up")), chromedp.SetValue(chromedp.CSS("#lg-up"), "0"))
	b.do("change", chromedp.Evaluate[chromedp.Void](`document.querySelector('#lg-up').dispatchEvent(new Event('change'))`))
	b.waitJS("redrawn", `document.querySelector('#lg-area svg').getAttribute('data-nodes') === '5'`)
	if got := evalJS[int](b, `document.querySelectorAll('#lg-area .lg-node[data-depth^="-"]').length`); got != 0 {
		t.Errorf("upstream depth 0 still draws %d upstream nodes", got)
	}
	if got := evalJS[string](b, `document.activeElement && document.activeElement.id`); got != "lg-up" {
		t.Errorf("focus after the depth change is on %q, want the control", got)
	}

	// Column lineage on fct_orders' rows: order_id from stg_orders.
	if got := b.text(`#sec-columns`); !strings.Contains(got, "stg_orders.order_id") {
		t.Errorf("the columns do not say order_id comes from stg_orders: %q", got)
	}

	b.click(fmt.Sprintf(`#lg-area a.lg-node[data-key="o%d"]`, dim))
	b.waitJS("dim_customers page", fmt.Sprintf(`location.hash === '#/models/%d' && document.querySelector('h1') && document.querySelector('h1').textContent === 'dim_customers' && document.querySelector('#lg-area svg')`, dim))
	b.waitJS("the seed", `document.querySelector('#lg-area .lg-seed')`)
	b.checkClean()
}

// The dashboard draws the graph with the static site's script and
// styles, served from the one copy internal/export holds.
func TestLineageScriptSharedWithSite(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	for p, want := range map[string][]byte{"/js/lineage.js": export.LineageJS, "/lineage.css": export.LineageCSS} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || !bytes.Equal(got, want) {
			t.Errorf("%s: %d, %d bytes; want the site's %d bytes", p, resp.StatusCode, len(got), len(want))
		}
		if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, map[bool]string{true: "javascript", false: "text/css"}[strings.HasSuffix(p, ".js")]) {
			t.Errorf("%s: Content-Type %q", p, ct)
		}
		if resp.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("%s: served without the dashboard's headers", p)
		}
	}
}

// axe-core (WCAG 2.1 A and AA) on a model page with its graph and
// column lineage: no serious or critical violation. axe comes from
// tests/node (axeSource).
func TestLineageGraphAccessible(t *testing.T) {
	chromiumPath(t)
	axe := []byte(axeSource(t))
	srv := startServer(t)
	cat, err := dbt.Load(filepath.Join("..", "..", "examples", "shop"))
	if err != nil {
		t.Fatal(err)
	}
	srv.importCatalog(t, cat)
	var list struct {
		Items []store.ObjectSummary `json:"items"`
	}
	srv.apiCall(t, "GET", "/objects?q=fct_orders", nil, &list)
	if len(list.Items) != 1 {
		t.Fatalf("objects: %+v", list.Items)
	}
	b := newBrowser(t, srv.URL)
	b.signIn(srv.Token)
	b.do("model page", chromedp.Navigate(fmt.Sprintf("%s/#/models/%d", srv.URL, list.Items[0].ID)))
	b.waitJS("graph", `document.querySelector('#lg-area svg')`)
	// Through the DevTools protocol: the page's CSP admits no script
	// but its own, and axe is not the page's.
	run(b, "load axe", chromedp.Evaluate[chromedp.Void](string(axe)))
	got := run(b, "run axe", chromedp.Evaluate[string](`axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
		.then(r => JSON.stringify(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
			.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))))`, chromedp.EvalAwaitPromise))
	if got != "[]" {
		t.Errorf("axe finds serious or critical violations: %s", got)
	}
}
