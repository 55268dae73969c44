package web

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/jobs"
	"github.com/modeldoc/modeldoc/internal/store"
)

// TestDashboardPauseResumeCancel drives the job page's buttons on a slow
// job: each is enabled only when the server accepts it, and the page
// follows the job through pausing, paused, running again and cancelled.
//
// The fake holds every call until the test admits it, so the job moves
// only when the test says: with fixed latencies a loaded machine let the
// job finish before the page was drawn, or stall past a wait.
func TestDashboardPauseResumeCancel(t *testing.T) {
	chromiumPath(t)
	srv := startServer(t)
	srv.Fake.Hold()
	t.Cleanup(srv.Fake.Unhold)
	var list struct {
		Items []store.ObjectSummary `json:"items"`
	}
	srv.apiCall(t, "GET", "/objects?q=hubspot__email_event_&type=model&limit=8", nil, &list)
	if len(list.Items) < 6 {
		t.Fatalf("want 6 email event models, got %d", len(list.Items))
	}
	var ids []int64
	for _, o := range list.Items[:6] {
		ids = append(ids, o.ID)
	}
	var job jobs.Job
	srv.apiCall(t, "POST", "/jobs", map[string]any{
		"selection": map[string]any{"object_ids": ids}, "provider": "openai", "model": "gpt-4o-mini",
		"base_url": srv.Fake.BaseURL(), "max_retries": 1, "concurrency": 1,
		"layers": []string{"executive_summary", "business_rules"},
	}, &job)

	b := newBrowser(t, srv.URL)
	b.signIn(srv.Token)
	b.do("job page", chromedp.Navigate(fmt.Sprintf("%s/#/jobs/%d", srv.URL, job.ID)), chromedp.WaitVisible(chromedp.CSS("#job-status .badge")))
	b.waitJS("running and live", `document.querySelector('#job-status').textContent.includes('running') && document.querySelector('#job-live').textContent === 'live'`)
	buttons := func() string {
		return evalJS[string](b, `['pause','resume','cancel'].map(a => a + '=' + !document.querySelector('#job-' + a).disabled).join(' ')`)
	}
	if got := buttons(); got != "pause=true resume=false cancel=true" {
		t.Errorf("running job buttons: %s", got)
	}

	b.click("#job-pause")
	b.waitJS("pausing", `document.querySelector('#job-status').textContent.includes('pausing')`)
	// Pause disables itself: focus goes to Resume, not to <body>.
	b.waitJS("focus after Pause", `document.activeElement.id === 'job-resume'`)
	// The model in flight finishes; nothing new starts.
	admitUntil(t, srv, job.ID, func(j *jobs.Job) bool { return j.Status == jobs.StatusPaused })
	b.waitJS("paused", `document.querySelector('#job-status').textContent.includes('paused') && !document.querySelector('#job-status').textContent.includes('pausing')`)
	if got := buttons(); got != "pause=false resume=true cancel=true" {
		t.Errorf("paused job buttons: %s", got)
	}
	j, err := srv.Eng.Jobs.Get(b.ctx, srv.OrgID, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != jobs.StatusPaused || j.InFlight != 0 || j.Processed >= j.Total {
		t.Fatalf("after Pause the server has %s, %d in flight, %d of %d processed", j.Status, j.InFlight, j.Processed, j.Total)
	}
	if got, want := b.text("#stat-processed"), fmt.Sprint(j.Processed); got != want {
		t.Errorf("page shows %s documented, server %s", got, want)
	}
	b.waitJS("items settle", `document.querySelectorAll('#items-table .badge').length === 6 &&
		![...document.querySelectorAll('#items-table .badge')].some(b => b.textContent === 'running')`)
	b.shot("job-paused")

	before := j
	b.click("#job-resume")
	b.waitJS("running again and live", `document.querySelector('#job-status').textContent.includes('running') && document.querySelector('#job-live').textContent === 'live'`)
	if got := evalJS[string](b, `document.activeElement.id`); got != "job-pause" {
		t.Errorf("after Resume focus is on %q, want Pause", got)
	}
	if got := buttons(); got != "pause=true resume=false cancel=true" {
		t.Errorf("resumed job buttons: %s", got)
	}
	// Let one more model finish on the page, from the live stream; the
	// next one stays in flight, held, until Cancel.
	// A link in the live items table keeps focus through the redraws.
	b.waitJS("items table", `!!document.querySelector('#items-table tbody a')`)
	href := evalJS[string](b, `(() => { const t = document.querySelector('#items-table'); t.dataset.old = '1'; const a = t.querySelector('tbody a'); a.focus(); return a.getAttribute('href') })()`)
	admitUntil(t, srv, job.ID, func(j *jobs.Job) bool { return j.Processed > before.Processed })
	b.waitJS("progress after resume", fmt.Sprintf(`Number(document.querySelector('#stat-processed').textContent) > %d`, before.Processed))
	b.waitJS("items redrawn", `document.querySelector('#items-table') && !document.querySelector('#items-table').dataset.old`)
	if got := evalJS[string](b, `document.activeElement.getAttribute('href') || document.activeElement.tagName`); got != href {
		t.Errorf("after the live redraw focus is on %s, was on the link %s", got, href)
	}

	b.click("#job-cancel") // the confirmation dialog is accepted by the harness
	b.waitJS("cancelled", `document.querySelector('#job-status').textContent.includes('cancelled')`)
	if got := buttons(); got != "pause=false resume=false cancel=false" {
		t.Errorf("cancelled job buttons: %s", got)
	}
	if evalJS[bool](b, `['pause','resume','cancel'].some(a => document.querySelector('#job-' + a).offsetParent !== null)`) {
		t.Error("a cancelled job still shows its buttons")
	}
	if got := evalJS[string](b, `document.activeElement === document.body ? 'body' : document.activeElement.className`); got != "status-line" {
		t.Errorf("after Cancel focus is on %s, want the job's status", got)
	}
	j, err = srv.Eng.Jobs.Get(b.ctx, srv.OrgID, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != jobs.StatusCancelled {
		t.Fatalf("server says %s after Cancel", j.Status)
	}
	b.waitJS("counters settle", fmt.Sprintf(`document.querySelector('#stat-processed').textContent === '%d'`, j.Processed))
	if !evalJS[bool](b, `!!document.querySelector('#stat-cancelled')`) {
		t.Error("no cancelled counter on a cancelled job")
	}
	b.waitJS("items settle", `document.querySelectorAll('#items-table .badge').length === 6 &&
		![...document.querySelectorAll('#items-table .badge')].some(b => ['running', 'enqueued'].includes(b.textContent))`)
	b.shot("job-cancelled")
	b.checkClean()
}

// admitUntil lets held calls through one at a time until the job, as the
// server sees it, satisfies done.
func admitUntil(t *testing.T, srv *testServer, id int64, done func(*jobs.Job) bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		j, err := srv.Eng.Jobs.Get(t.Context(), srv.OrgID, id)
		if err != nil {
			t.Fatal(err)
		}
		if done(j) {
			return
		}
		// One call at a time, so a model that finishes does not carry a
		// spare admission into the next one.
		if waiting, permits := srv.Fake.Held(); waiting > 0 && permits == 0 {
			srv.Fake.Admit(1)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("job %d did not get there with the calls admitted", id)
}

const xss1 = `<script>window.__xss=1</script>`
const xss2 = `<img src=x onerror="window.__xss=1">`

// TestDashboardEscapesEverything imports a project whose names, SQL and
// descriptions carry script and onerror payloads, documents it, and opens
// every page that shows them: the payloads must render as text and never
// run.
func TestDashboardEscapesEverything(t *testing.T) {
	chromiumPath(t)
	srv := startServer(t)
	evilName := "orders" + xss1 + xss2
	cat := &modeldoc.Catalog{
		ProjectName: "shop" + xss2,
		Source:      "manifest",
		Path:        "xss/manifest.json",
		Objects: []modeldoc.Object{
			{UniqueID: "model.xss.raw_orders", Type: modeldoc.TypeModel, Name: "raw_orders", Package: "xss", Schema: "raw",
				RawSQL: "select 1 as id, 'x' as note", Columns: []modeldoc.Column{{Name: "id", Position: 1}, {Name: "note", Position: 2}}},
			{UniqueID: "model.xss.evil", Type: modeldoc.TypeModel, Name: evilName, Package: "xss", Schema: "mart" + xss1,
				RawSQL:      "-- " + xss1 + "\nselect id, '" + xss2 + "' as note from {{ ref('raw_orders') }}",
				CompiledSQL: "-- " + xss1 + "\nselect id, '" + xss2 + "' as note from raw.raw_orders",
				Description: "Orders " + xss1 + " and " + xss2,
				Columns: []modeldoc.Column{
					{Name: "id", Description: "The id " + xss2, HumanDescription: true, Declared: true, Position: 1},
					{Name: "note", Description: xss1, HumanDescription: true, Declared: true, Position: 2},
				}},
		},
		Edges: []modeldoc.Edge{{Upstream: "model.xss.raw_orders", Downstream: "model.xss.evil"}},
	}
	srv.importCatalog(t, cat)
	var list struct {
		Items []store.ObjectSummary `json:"items"`
	}
	srv.apiCall(t, "GET", "/objects?q=orders&schema=mart"+strings.ReplaceAll(strings.ReplaceAll(xss1, "<", "%3C"), ">", "%3E"), nil, &list)
	var evil store.ObjectSummary
	for _, o := range list.Items {
		if o.Name == evilName {
			evil = o
		}
	}
	if evil.ID == 0 {
		t.Fatalf("the imported object is not listed: %+v", list.Items)
	}
	// Documentation written from these inputs carries the payloads too.
	var job jobs.Job
	srv.apiCall(t, "POST", "/jobs", map[string]any{
		"selection": map[string]any{"object_ids": []int64{evil.ID}}, "provider": "openai", "model": "gpt-4o-mini",
		"base_url": srv.Fake.BaseURL(), "max_retries": 1, "concurrency": 1,
	}, &job)
	waitJob(t, srv, job.ID)

	b := newBrowser(t, srv.URL)
	b.signIn(srv.Token)
	b.do("models of the project", chromedp.Navigate(fmt.Sprintf("%s/#/models?project_id=%d", srv.URL, evil.ProjectID)))
	b.waitJS("the evil row", `[...document.querySelectorAll('#models-table td.name a')].some(a => a.textContent.includes('window.__xss=1'))`)
	if got := evalJS[string](b, `[...document.querySelectorAll('#f-project option')].map(o => o.textContent).join('|')`); !strings.Contains(got, "shop"+xss2) {
		t.Errorf("project filter options %q: want the project name as text", got)
	}
	b.shot("xss-models")
	b.do("open it", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#models-table a[href="#/models/%d"]`, evil.ID))))
	b.waitJS("documentation", `document.querySelector('#doc-title') && document.querySelector('#sec-executive_summary')`)
	checks := map[string]string{
		"#doc-title":       evilName,
		"#obj-description": "Orders " + xss1 + " and " + xss2,
		"#sql-compiled":    xss2,
		"#doc-columns":     "The id " + xss2,
	}
	for sel, want := range checks {
		if got := b.text(sel); !strings.Contains(got, want) {
			t.Errorf("%s shows %q, want the text %q", sel, got, want)
		}
	}
	if got := b.text("#sec-executive_summary"); !strings.Contains(got, "window.__xss=1") {
		t.Logf("summary does not quote the name (fine): %q", got)
	}
	b.do("job page", chromedp.Navigate(fmt.Sprintf("%s/#/jobs/%d", srv.URL, job.ID)))
	b.waitJS("items", `document.querySelectorAll('#items-table tbody tr').length === 1`)
	if got := b.text("#items-table"); !strings.Contains(got, evilName) {
		t.Errorf("items table %q", got)
	}
	b.do("upstream page", chromedp.Navigate(fmt.Sprintf("%s/#/models/%d", srv.URL, evil.ID)))
	b.waitJS("doc again", `document.querySelector('#lineage-up a')`)
	b.click("#lineage-up a")
	b.waitJS("upstream doc", `document.querySelector('#doc-title') && document.querySelector('#doc-title').textContent === 'raw_orders'`)
	if got := b.text("#lineage-down"); !strings.Contains(got, evilName) {
		t.Errorf("downstream list %q", got)
	}
	if xss := evalJS[string](b, `typeof window.__xss`); xss != "undefined" {
		t.Fatalf("a payload ran: window.__xss is %s", xss)
	}
	if n := evalJS[int](b, `document.querySelectorAll('img, script:not([type=module])').length`); n != 0 {
		t.Errorf("%d img or script elements made it into the DOM", n)
	}
	b.checkClean()
}
