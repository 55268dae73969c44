package export

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/modeldoc/modeldoc/internal/testenv"
)

// The site's lineage graph, opened from disk in Chromium: examples/shop's
// fct_orders with its sources, models and exposure two hops each way,
// drawn from the data its page embeds (file:// fetches nothing); a depth
// control draws fewer; clicking a node opens that object's page, whose
// graph shows its seed.
func TestSiteLineageGraphFromDisk(t *testing.T) {
	chromium := testenv.Chromium(t)
	projects, out := shopSite(t)
	names := fileNames(projects)
	file := func(name string) string {
		return names[projects[0].Object(projectObjectID(t, projects[0], name))] + ".html"
	}

	actx, cancelA := chromedp.NewExecAllocator(context.Background(), chromedp.ExecPath(chromium), chromedp.Headless,
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1366, 900))
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	var mu sync.Mutex
	var thrown []string
	go func() {
		for ev, err := range chromedp.Events(bctx, runtime.ExceptionThrown) {
			if err != nil {
				return
			}
			mu.Lock()
			thrown = append(thrown, ev.ExceptionDetails.Text+" "+fmt.Sprint(ev.ExceptionDetails.Exception))
			mu.Unlock()
		}
	}()
	errs := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), thrown...)
	}
	tctx, cancelT := context.WithTimeout(bctx, 60*time.Second)
	defer cancelT()
	eval := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(tctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("%s: %v (page errors %v)", expr, err, errs())
		}
		return v
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(tctx, steps...); err != nil {
			t.Fatalf("%s: %v (page errors %v)", what, err, errs())
		}
	}
	wait := func(expr string) {
		t.Helper()
		if _, err := chromedp.Run(tctx, chromedp.Poll[any](expr, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
			t.Fatalf("wait for %s: %v (page errors %v)", expr, err, errs())
		}
	}
	do("open the page from disk", chromedp.Navigate("file://"+filepath.Join(out, "objects", file("fct_orders"))))
	wait(`document.querySelector('#lineage-graph-area svg')`)
	if n := eval(`document.querySelector('#lineage-graph-area svg').getAttribute('data-nodes')`); n != "12" {
		t.Errorf("fct_orders' graph: %s nodes, want 12 (11 objects within two hops, and the exposure)", n)
	}
	if kinds := eval(`[...new Set([...document.querySelectorAll('#lineage-graph-area .lg-node')].map(n => n.dataset.kind))].sort().join(',')`); kinds != "exposure,model,source" {
		t.Errorf("kinds drawn: %s", kinds)
	}
	// axe-core (WCAG 2.1 A and AA) on the page with its graph, when
	// tests/node has it installed (the dashboard tests install it) or
	// MODELDOC_AXE_JS names axe.min.js: no serious or critical violation.
	axePath := os.Getenv("MODELDOC_AXE_JS")
	if axePath == "" {
		axePath = filepath.Join("..", "..", "tests", "node", "node_modules", "axe-core", "axe.min.js")
	}
	if axe, err := os.ReadFile(axePath); err == nil {
		do("load axe", chromedp.Evaluate[chromedp.Void](string(axe)))
		got, err := chromedp.Run(tctx, chromedp.Evaluate[string](`axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
			.then(r => JSON.stringify(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
				.map(v => ({id: v.id, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))))`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if got != "[]" {
			t.Errorf("axe finds serious or critical violations on the site's page: %s", got)
		}
	}
	do("one hop up", chromedp.SetValue(chromedp.CSS("#lineage-graph-up"), "1"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('lineage-graph-up').dispatchEvent(new Event('change'))`))
	// One hop up: the two sources and the three staging models two hops up go.
	wait(`document.querySelector('#lineage-graph-area svg').getAttribute('data-nodes') === '8'`)

	do("click dim_customers", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#lineage-graph-area a.lg-node[href=%q]`, file("dim_customers")))))
	// The click loads another document: the poll's context can go with
	// the old one, so it is asked again until the new page answers.
	landed := fmt.Sprintf(`location.pathname.endsWith(%q) && !!document.querySelector('#lineage-graph-area .lg-seed')`, "/"+file("dim_customers"))
	for ok := false; !ok; {
		if tctx.Err() != nil {
			t.Fatalf("dim_customers' page never showed its seed (page errors %v)", errs())
		}
		ok, _ = chromedp.Run(tctx, chromedp.Evaluate[bool](landed))
		if !ok {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if e := errs(); len(e) > 0 {
		t.Errorf("page errors: %v", e)
	}
}
