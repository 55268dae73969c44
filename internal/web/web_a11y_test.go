package web

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/jobs"
	"github.com/modeldoc/modeldoc/internal/store"
	"github.com/modeldoc/modeldoc/internal/testenv"
)

// axeSource reads axe-core from tests/node/node_modules (a test-only
// dependency: the dashboard never serves it), installing the folder's
// locked packages first when they are missing, as the Node conformance
// test does.
func axeSource(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "tests", "node"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "node_modules", "axe-core", "axe.min.js")
	if _, err := os.Stat(path); err != nil {
		npm, lookErr := exec.LookPath("npm")
		if lookErr != nil {
			testenv.Missing(t, "accessibility checks skipped: axe-core is not in tests/node/node_modules and npm is not on PATH (cd tests/node && npm ci)")
		}
		cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			testenv.Missing(t, "accessibility checks skipped: npm ci in tests/node failed: %v\n%s", err, out)
		}
	}
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read axe-core: %v", err)
	}
	return string(src)
}

type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Targets []string `json:"targets"`
}

// axe runs axe-core's WCAG 2.1 A and AA rules on the page as it is and
// fails the test for each serious or critical violation. The script is
// evaluated through the DevTools protocol, outside the page's own
// policy, and only in the test's browser.
func (b *browser) axe(src, page string) {
	b.t.Helper()
	if !evalJS[bool](b, `typeof window.axe === 'object'`) {
		run(b, "load axe-core", chromedp.Evaluate[chromedp.Void](src+"\n;undefined"))
	}
	out := run(b, "axe on "+page, chromedp.Evaluate[string](`axe.run(document, {
		runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
		resultTypes: ['violations'],
	}).then(r => JSON.stringify(r.violations
		.filter(v => v.impact === 'serious' || v.impact === 'critical')
		.map(v => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' ' + (n.failureSummary || '').replace(/\s+/g, ' ')) }))))`,
		chromedp.EvalAwaitPromise))
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		b.t.Fatalf("axe on %s: %v in %s", page, err, out)
	}
	for _, v := range vs {
		b.t.Errorf("%s: %s %s (%s): %s", page, v.Impact, v.ID, v.Help, strings.Join(v.Targets, " | "))
	}
}

// TestDashboardAccessibility opens every page of the dashboard, in the
// light and the dark theme, and runs axe-core on each (0 serious or
// critical WCAG 2.1 A/AA violations); then each at 320 px wide, where no
// page may scroll sideways; each page has a title of its own; and at
// 1440x900 the sticky estimate covers none of the job's fields and the
// start button holds its label on one line.
func TestDashboardAccessibility(t *testing.T) {
	chromiumPath(t)
	src := axeSource(t)
	srv := startServer(t)
	ctx := context.Background()

	// A finished job over two models, a third version of one of them (so
	// the page has a diff to show), drafts to review.
	var list struct {
		Items []store.ObjectSummary `json:"items"`
	}
	srv.apiCall(t, "GET", "/objects?q=stg_hubspot__deal&type=model&limit=2", nil, &list)
	if len(list.Items) != 2 {
		t.Fatalf("deal models: %+v", list.Items)
	}
	ids := []int64{list.Items[0].ID, list.Items[1].ID}
	var job jobs.Job
	srv.apiCall(t, "POST", "/jobs", map[string]any{
		"selection": map[string]any{"object_ids": ids}, "provider": "openai", "model": "gpt-4o-mini",
		"base_url": srv.Fake.BaseURL(), "max_retries": 1, "concurrency": 2,
	}, &job)
	waitJob(t, srv, job.ID)
	if err := srv.Store.InsertDocVersion(ctx, &modeldoc.DocVersion{ObjectID: ids[0], Provider: "openai", Model: "gpt-4o",
		Layers:      map[modeldoc.Layer]json.RawMessage{modeldoc.LayerExecutiveSummary: json.RawMessage(`{"summary":"A rewritten summary with a long line: ` + strings.Repeat("deal_pipeline_stage_", 20) + `."}`)},
		LayerStatus: map[modeldoc.Layer]modeldoc.LayerStatus{modeldoc.LayerExecutiveSummary: {Status: "ok"}}}); err != nil {
		t.Fatal(err)
	}
	docURL := fmt.Sprintf("%s/#/models/%d", srv.URL, ids[0])
	jobURL := fmt.Sprintf("%s/#/jobs/%d", srv.URL, job.ID)

	b := newBrowser(t, srv.URL)
	type page struct {
		name  string
		open  func()
		ready string // JavaScript, truthy once the page is drawn and settled
	}
	nav := func(url string) func() { return func() { b.do("open "+url, chromedp.Navigate(url)) } }
	pages := []page{
		{"sign-in", func() {
			b.do("sign out", chromedp.Navigate(srv.URL+"/"), chromedp.Evaluate[chromedp.Void](`sessionStorage.clear()`), chromedp.Navigate(srv.URL+"/#/signin"), chromedp.Reload())
		}, `document.querySelector('#token')`},
		{"projects", func() { b.signIn(srv.Token); nav(srv.URL + "/#/projects")() }, `document.querySelector('#projects-table')`},
		{"models", nav(srv.URL + "/#/models"), `/\d+ objects match/.test(document.querySelector('#models-status').textContent)`},
		{"new job", func() {
			b.do("models", chromedp.Navigate(srv.URL+"/#/models?q=stg_hubspot__deal"))
			b.waitJS("list", `/\d+ objects? match/.test(document.querySelector('#models-status').textContent)`)
			if evalJS[int](b, `document.querySelectorAll('#models-table tbody input:checked').length`) == 0 {
				b.click("#models-table tbody tr:nth-child(1) input[type=checkbox]")
			}
		}, `document.querySelector('#est-cost') && document.querySelector('#start-job').getAttribute('aria-busy') === 'false' && !document.querySelector('#est-cost-line').classList.contains('loading')`},
		{"model doc", func() {
			nav(docURL)()
			b.waitJS("versions", `document.querySelectorAll('#versions li').length >= 2 && document.querySelector('#diff-run')`)
			b.click("#diff-run")
		}, `document.querySelector('#diff') && document.querySelector('#sql-compiled, #sql-raw')`},
		{"jobs", nav(srv.URL + "/#/jobs"), `document.querySelector('#jobs-table a.job-link')`},
		{"job", nav(jobURL), `document.querySelector('#job-pct').textContent === '100%' && document.querySelector('#items-table') && document.querySelector('#job-project a')`},
		{"review", nav(srv.URL + "/#/review"), `document.querySelectorAll('.review-item').length > 0`},
		{"keys", nav(srv.URL + "/#/keys"), `document.querySelector('#keys-table')`},
	}
	visit := func(p page) {
		p.open()
		b.waitJS(p.name, p.ready)
	}

	titles := map[string]string{}
	for _, theme := range []string{"light", "dark"} {
		run(b, "theme "+theme, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: theme}},
			})
			return err
		}))
		for _, p := range pages {
			visit(p)
			if dark := evalJS[bool](b, `matchMedia('(prefers-color-scheme: dark)').matches`); dark != (theme == "dark") {
				t.Fatalf("%s: the %s theme is not in effect", p.name, theme)
			}
			b.axe(src, p.name+" ("+theme+")")
			titles[p.name] = evalJS[string](b, `document.title`)
			b.shot("a11y-" + strings.ReplaceAll(p.name, " ", "-") + "-" + theme)
		}
		// The focus ring (WCAG 1.4.11): 3:1 against the page and the cards
		// it is drawn on; axe does not check it. Reached with the keyboard,
		// so that :focus-visible applies.
		b.do("tab", chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`), chromedp.KeyEvent(kb.Tab))
		ring := evalJS[string](b, `(() => {
			const lum = (c) => {
				const [r, g, b] = c.match(/[\d.]+/g).slice(0, 3).map(Number).map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
				return 0.2126 * r + 0.7152 * g + 0.0722 * b;
			};
			const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
			const el = document.activeElement;
			const st = getComputedStyle(el);
			if (st.outlineStyle === 'none' || parseFloat(st.outlineWidth) < 2) return 'no ring on ' + el.tagName;
			const card = getComputedStyle(document.querySelector('.card') || document.body).backgroundColor;
			const page = getComputedStyle(document.body).backgroundColor;
			const worst = Math.min(ratio(st.outlineColor, card), ratio(st.outlineColor, page));
			return worst >= 3 ? '' : st.outlineColor + ' is ' + worst.toFixed(2) + ':1 against ' + card + ' / ' + page;
		})()`)
		if ring != "" {
			t.Errorf("focus ring in the %s theme: %s", theme, ring)
		}
	}

	// Each page says what it is in its title; a model's and a job's name it.
	seen := map[string]string{}
	for name, title := range titles {
		if other, dup := seen[title]; dup && !(name == "new job" && other == "models" || name == "models" && other == "new job") {
			t.Errorf("%s and %s share the title %q", name, other, title)
		}
		seen[title] = name
	}
	if !strings.Contains(titles["model doc"], list.Items[0].Name) {
		t.Errorf("model page title %q does not name %s", titles["model doc"], list.Items[0].Name)
	}
	if !strings.Contains(titles["job"], fmt.Sprintf("Job #%d", job.ID)) {
		t.Errorf("job page title %q", titles["job"])
	}

	// 320 px wide (WCAG 1.4.10): nothing scrolls sideways but the tables
	// and code blocks, each inside its own box.
	b.do("narrow", chromedp.EmulateViewport(320, 720))
	for _, p := range pages {
		visit(p)
		if w := evalJS[float64](b, `document.documentElement.scrollWidth - document.documentElement.clientWidth`); w > 1 {
			wide := evalJS[string](b, `[...document.querySelectorAll('body *')].filter(e => (e.getBoundingClientRect().right > document.documentElement.clientWidth + 1 || e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'visible') && !e.closest('.table-wrap, pre')).slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + e.className).join(', ')`)
			t.Errorf("%s scrolls sideways at 320 px by %vpx: %s", p.name, w, wide)
		}
		b.shot("narrow-" + strings.ReplaceAll(p.name, " ", "-"))
	}

	// 1440x900: the new-job panel beside the list.
	b.do("wide", chromedp.EmulateViewport(1440, 900))
	visit(pages[3])
	// Before any scrolling, the start button is on screen.
	if got := evalJS[string](b, `(() => { const r = document.querySelector('#start-job').getBoundingClientRect(); return r.bottom <= innerHeight && r.top >= 0 ? '' : 'from ' + r.top + ' to ' + r.bottom + ' of ' + innerHeight })()`); got != "" {
		t.Errorf("at 1440x900 the start button is off screen: %s", got)
	}
	// At rest, before anything scrolls, the fields that decide the cost
	// are in view and uncovered.
	if got := evalJS[string](b, `['opt-provider', 'opt-model', 'opt-base-url', 'opt-budget'].map((id) => {
		const f = document.getElementById(id);
		const r = f.getBoundingClientRect();
		const at = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
		return at === f || f.contains(at) ? '' : id + ' under ' + (at ? at.tagName + '.' + at.className : 'nothing');
	}).filter(Boolean).join(', ')`); got != "" {
		t.Errorf("at 1440x900, before any scrolling: %s", got)
	}
	for _, id := range []string{"opt-provider", "opt-model", "opt-base-url", "opt-budget", "opt-price-in"} {
		// Focus scrolls the field into view as a keyboard would; then the
		// point at its middle must be the field, not the sticky footer.
		covered := evalJS[string](b, `(() => {
			const f = document.getElementById(`+jsString(id)+`);
			f.focus();
			const r = f.getBoundingClientRect();
			const at = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
			return at === f || f.contains(at) ? '' : (at ? at.tagName + '#' + at.id + '.' + at.className : 'nothing');
		})()`)
		if covered != "" {
			t.Errorf("at 1440x900 #%s is covered by %s", id, covered)
		}
	}
	if got := evalJS[string](b, `(() => {
		const btn = document.querySelector('#start-job');
		const r = document.createRange();
		r.selectNodeContents(btn);
		const lines = new Set([...r.getClientRects()].map(x => Math.round(x.top))).size;
		return lines + ' ' + (btn.scrollWidth > btn.clientWidth ? 'cut' : 'whole') + ' ' + btn.textContent;
	})()`); !strings.HasPrefix(got, "1 whole ") {
		t.Errorf("at 1440x900 the start button reads %s (want one line, whole)", got)
	}
	b.shot("wide-new-job")
	b.checkClean()
}
