package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/jobs"
)

// apiCall calls the server's API as the test's admin, outside the browser.
func (s *testServer) apiCall(t *testing.T, method, path string, body, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.URL+"/api/v1"+path, rd)
	req.Header.Set("Authorization", "Bearer "+s.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, data)
		}
	}
}

// TestDashboardMainPath drives the main path in a real browser against the
// real server: sign in, filter, select five models, read the estimate,
// start the job, watch it reach 100%, read a model's documentation, follow
// its lineage, compare versions, and manage provider keys.
func TestDashboardMainPath(t *testing.T) {
	chromiumPath(t)
	srv := startServer(t)
	// A little latency so the job page is seen while it is running.
	srv.Fake.SetLatency(150*time.Millisecond, 0)
	b := newBrowser(t, srv.URL)

	b.signIn(srv.Token)
	if got := b.text("#who"); !strings.Contains(got, "admin") {
		t.Errorf("nav shows %q, want the role", got)
	}
	b.waitJS("the total", `/\d+ objects match/.test(document.querySelector('#models-status').textContent)`)
	b.shot("models")

	// Filter: staging deal models only.
	b.do("filter", chromedp.SendKeys(chromedp.CSS("#f-q"), "stg_hubspot__deal"))
	b.waitJS("filtered list", `location.hash.includes('q=stg_hubspot__deal') && document.querySelectorAll('#models-table tbody td.name').length > 0 &&
		[...document.querySelectorAll('#models-table tbody td.name a')].every(a => a.textContent.includes('stg_hubspot__deal'))`)
	b.do("type filter", chromedp.SetValue(chromedp.CSS("#f-type"), "model"), chromedp.Evaluate[chromedp.Void](`document.querySelector('#f-type').dispatchEvent(new Event('change'))`))
	b.waitJS("type filter applied", `location.hash.includes('type=model') && !document.querySelector('#models-status').textContent.startsWith('Loading')`)
	n := evalJS[int](b, `document.querySelectorAll('#models-table tbody input[type=checkbox]').length`)
	if n < 6 {
		t.Fatalf("filter left %d models, want at least 6 to pick five from", n)
	}
	for i := 1; i <= 5; i++ {
		b.click(fmt.Sprintf("#models-table tbody tr:nth-child(%d) input[type=checkbox]", i))
	}
	if got := b.text("#sel-count"); got != "5 models selected" {
		t.Errorf("selection says %q", got)
	}
	// Point the job at the fake LLM, then wait for the estimate of the
	// final options: the button names what it will spend before anything runs.
	b.do("options",
		chromedp.SetValue(chromedp.CSS("#opt-provider"), "openai"),
		chromedp.SetValue(chromedp.CSS("#opt-model"), "gpt-4o-mini"),
		chromedp.SetValue(chromedp.CSS("#opt-base-url"), srv.Fake.BaseURL()),
		chromedp.SetValue(chromedp.CSS("#opt-concurrency"), "2"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#job-form').dispatchEvent(new Event('change'))`),
	)
	b.waitJS("estimate", `/^Document 5 models · est\. \$\d+\.\d+$/.test(document.querySelector('#start-job').textContent) && !document.querySelector('#start-job').disabled`)
	cost := b.text("#est-cost")
	if !strings.HasPrefix(cost, "$") || cost == "$0.00" {
		t.Errorf("estimated cost %q: want a dollar amount above zero for gpt-4o-mini", cost)
	}
	if tok := b.text("#est-prompt"); tok == "0" || tok == "" {
		t.Errorf("estimated prompt tokens %q", tok)
	}
	// The estimate the page shows is the server's.
	var est jobs.Estimate
	ids := evalJS[[]int64](b, `[...document.querySelectorAll('#models-table tbody input:checked')].map(x => Number(x.dataset.id))`)
	srv.apiCall(t, "POST", "/jobs/estimate", map[string]any{
		"selection": map[string]any{"object_ids": ids}, "provider": "openai", "model": "gpt-4o-mini",
		"base_url": srv.Fake.BaseURL(), "max_retries": 3, "concurrency": 2,
		"layers": []string{"executive_summary", "business_narrative", "transformation_cards", "code_explanations", "business_rules", "impact_analysis", "column_descriptions"},
	}, &est)
	if want := fmt.Sprintf("$%.2f", est.EstimatedCost); est.EstimatedCost >= 0.01 && cost != want {
		t.Errorf("page shows %s, the API estimates %s", cost, want)
	}
	b.shot("new-job-estimate")

	b.click("#start-job")
	b.waitJS("job page", `/^#\/jobs\/\d+$/.test(location.hash) && document.querySelector('#job-status .badge')`)
	b.waitJS("live progress", `document.querySelector('#job-live').textContent === 'live' || document.querySelector('#job-status').textContent.includes('completed')`)
	b.waitJS("a running model", `document.querySelector('#job-running li .spinner') || document.querySelector('#job-status').textContent.includes('completed')`)
	b.shot("job-live")
	b.waitJS("100%", `document.querySelector('#job-pct').textContent === '100%' && document.querySelector('#job-status').textContent.includes('completed')`)
	b.waitJS("items loaded", `document.querySelectorAll('#items-table tbody tr').length === 5`)
	if got := b.text("#stat-done"); got != "5 of 5" {
		t.Errorf("done counter %q", got)
	}
	if got := b.text("#stat-processed"); got != "5" {
		t.Errorf("documented counter %q", got)
	}
	if b.text("#stat-cost") == "$0.00" {
		t.Error("cost so far stayed $0.00 after the job")
	}
	if bar := evalJS[string](b, `document.querySelector('#job-bar [role=progressbar]').getAttribute('aria-valuenow')`); bar != "100" {
		t.Errorf("progress bar at %s", bar)
	}
	for _, id := range []string{"#job-pause", "#job-resume", "#job-cancel"} {
		if !evalJS[bool](b, `document.querySelector('`+id+`').disabled && document.querySelector('`+id+`').offsetParent === null`) {
			t.Errorf("%s shown or enabled on a completed job", id)
		}
	}
	if got := b.text("#job-layers"); !strings.Contains(got, "Transformation steps") {
		t.Errorf("per-layer counters missing: %q", got)
	}
	b.shot("job-completed")

	// The jobs list shows it.
	b.do("jobs list", chromedp.Navigate(srv.URL+"/#/jobs"), chromedp.WaitVisible(chromedp.CSS("#jobs-table a.job-link")))
	if got := b.text("#jobs-table tbody tr"); !strings.Contains(got, "completed") || !strings.Contains(got, "5 of 5") {
		t.Errorf("jobs list row %q", got)
	}
	b.shot("jobs")

	// Documentation of one model, opened from the job page's item list.
	b.do("back to job", chromedp.NavigateBack(), chromedp.WaitVisible(chromedp.CSS("#items-table tbody tr a")))
	name := b.text("#items-table tbody tr:first-child a")
	b.click("#items-table tbody tr:first-child a")
	b.waitJS("documentation", `document.querySelector('#doc-title') && document.querySelector('#sec-executive_summary')`)
	if got := b.text("#doc-title"); got != name {
		t.Errorf("documentation title %q, want %q", got, name)
	}
	for _, sec := range []string{"executive_summary", "business_narrative", "transformation_cards", "code_explanations", "business_rules", "impact_analysis", "column_descriptions", "lineage", "sql", "versions"} {
		if !evalJS[bool](b, `!!document.querySelector('#sec-`+sec+`')`) {
			t.Errorf("documentation page lacks the %s section", sec)
		}
	}
	if got := b.text("#doc-complexity"); !strings.Contains(got, "/5") {
		t.Errorf("complexity %q", got)
	}
	if !evalJS[bool](b, `document.querySelectorAll('#doc-columns tbody tr').length > 0 && /passthrough|derived/.test(document.querySelector('#doc-columns').textContent)`) {
		t.Error("columns table without lineage kinds")
	}
	if !evalJS[bool](b, `document.querySelector('#sql-compiled, #sql-raw').textContent.length > 20`) {
		t.Error("no SQL shown")
	}
	b.shot("documentation")

	// Lineage links lead to the neighbours' pages.
	up := evalJS[string](b, `(document.querySelector('#lineage-up a') || {}).textContent || ''`)
	if up == "" {
		t.Fatalf("%s shows no upstream model; staging models read their _tmp model", name)
	}
	b.click("#lineage-up a")
	b.waitJS("upstream page", `document.querySelector('#doc-title') && document.querySelector('#doc-title').textContent === `+jsString(up))
	if !evalJS[bool](b, `[...document.querySelectorAll('#lineage-down a')].some(a => a.textContent === `+jsString(name)+`)`) {
		t.Errorf("%s does not list %s downstream", up, name)
	}
	b.do("back", chromedp.NavigateBack())
	b.waitJS("documentation again", `document.querySelector('#doc-title') && document.querySelector('#doc-title').textContent === `+jsString(name))

	// A second version, then the diff between the two.
	objID := evalJS[int64](b, `Number(location.hash.split('/')[2])`)
	var j2 jobs.Job
	srv.apiCall(t, "POST", "/jobs", map[string]any{
		"selection": map[string]any{"object_ids": []int64{objID}}, "provider": "openai", "model": "gpt-4o",
		"base_url": srv.Fake.BaseURL(), "max_retries": 1, "concurrency": 1, "layers": []string{"executive_summary", "business_rules"},
	}, &j2)
	waitJob(t, srv, j2.ID)
	// The fake writes the same text again, and a version keeps the layers
	// it did not write: a third version with a new summary gives the diff
	// something to show.
	if err := srv.Store.InsertDocVersion(context.Background(), &modeldoc.DocVersion{ObjectID: objID, Provider: "openai", Model: "gpt-4o",
		Layers:      map[modeldoc.Layer]json.RawMessage{modeldoc.LayerExecutiveSummary: json.RawMessage(`{"summary":"A rewritten summary."}`)},
		LayerStatus: map[modeldoc.Layer]modeldoc.LayerStatus{modeldoc.LayerExecutiveSummary: {Status: "ok"}}}); err != nil {
		t.Fatal(err)
	}
	b.do("reload", chromedp.Reload())
	b.waitJS("three versions", `document.querySelectorAll('#versions li').length === 3`)
	b.click("#diff-run")
	b.waitJS("diff", `document.querySelector('#diff') && document.querySelectorAll('#diff .d-del, #diff .d-add').length > 0`)
	b.shot("documentation-diff")

	// Provider keys: the stored key is listed masked; set, replace, remove.
	b.do("keys", chromedp.Navigate(srv.URL+"/#/keys"), chromedp.WaitVisible(chromedp.CSS("#keys-table")))
	if got := b.text("#keys-table"); !strings.Contains(got, "openai") || strings.Contains(got, "sk-test-0123456789abcdefghijklmnop") {
		t.Errorf("keys table %q: want openai, masked", got)
	}
	const anthropicKey = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789"
	b.do("set key",
		chromedp.SetValue(chromedp.CSS("#key-provider"), "anthropic"),
		chromedp.SendKeys(chromedp.CSS("#key-value"), anthropicKey),
		chromedp.Click(chromedp.CSS("#key-save")))
	b.waitJS("anthropic key listed", `document.querySelector('#keys-table') && document.querySelector('#keys-table').textContent.includes('anthropic')`)
	if html := evalJS[string](b, `document.documentElement.outerHTML + document.querySelector('#key-value').value`); strings.Contains(html, anthropicKey) {
		t.Error("the page still holds the plaintext key after saving it")
	}
	b.shot("keys")
	b.click("#key-remove-anthropic")
	b.waitJS("anthropic key removed", `document.querySelector('#keys-table') && !document.querySelector('#keys-table').textContent.includes('anthropic')`)

	// Phone-sized: the models page and the job page still fit.
	b.do("phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(srv.URL+"/#/models"), chromedp.WaitVisible(chromedp.CSS("#models-table tbody td.name")))
	b.waitJS("phone list", `!document.querySelector('#models-status').textContent.startsWith('Loading')`)
	if w := evalJS[float64](b, `document.documentElement.scrollWidth - document.documentElement.clientWidth`); w > 1 {
		t.Errorf("models page scrolls sideways on a phone by %vpx", w)
	}
	b.shot("phone-models")
	b.do("phone job", chromedp.Navigate(fmt.Sprintf("%s/#/jobs/%d", srv.URL, j2.ID)), chromedp.WaitVisible(chromedp.CSS("#job-status .badge")))
	b.waitJS("phone job loaded", `document.querySelector('#job-pct').textContent === '100%'`)
	if w := evalJS[float64](b, `document.documentElement.scrollWidth - document.documentElement.clientWidth`); w > 1 {
		t.Errorf("job page scrolls sideways on a phone by %vpx", w)
	}
	b.shot("phone-job")
	b.checkClean()
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func waitJob(t *testing.T, srv *testServer, id int64) *jobs.Job {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		j, err := srv.Eng.Jobs.Get(context.Background(), srv.OrgID, id)
		if err != nil {
			t.Fatal(err)
		}
		if jobs.Terminal(j.Status) {
			if j.Status != jobs.StatusCompleted {
				t.Fatalf("job %d ended %s: %s", id, j.Status, j.Message)
			}
			return j
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("job %d did not finish", id)
	return nil
}

var _ = modeldoc.AllLayers
