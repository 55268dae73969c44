package web

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestDashboardFirstClickStartsTheJob types in an option and clicks the
// start button once, at once: the field's change (fired by the click's
// own blur) used to start a new estimate that disabled the button just
// before the click landed, so the first click did nothing.
func TestDashboardFirstClickStartsTheJob(t *testing.T) {
	chromiumPath(t)
	srv := startServer(t)
	b := newBrowser(t, srv.URL)
	b.signIn(srv.Token)
	b.waitJS("the list", `/\d+ objects match/.test(document.querySelector('#models-status').textContent)`)
	b.click("#models-table tbody tr:nth-child(1) input[type=checkbox]")
	b.click("#models-table tbody tr:nth-child(2) input[type=checkbox]")
	b.do("options",
		chromedp.SetValue(chromedp.CSS("#opt-provider"), "openai"),
		chromedp.SetValue(chromedp.CSS("#opt-model"), "gpt-4o-mini"),
		chromedp.SetValue(chromedp.CSS("#opt-base-url"), srv.Fake.BaseURL()),
		chromedp.SetValue(chromedp.CSS("#opt-budget"), ""),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#job-form').dispatchEvent(new Event('change'))`),
	)
	b.waitJS("the estimate", `/^Document 2 models · est\. \$/.test(document.querySelector('#start-job').textContent) && !document.querySelector('#start-job').disabled && !document.querySelector('#estimate').classList.contains('loading')`)

	// Real key events into the budget field, then one real mouse click:
	// mousedown blurs the field (change), then the click.
	b.click("#opt-budget")
	b.do("type a budget", chromedp.KeyEvent("5"))
	if got := evalJS[string](b, `document.querySelector('#opt-budget').value`); got != "5" {
		t.Fatalf("budget field holds %q", got)
	}
	b.click("#start-job")
	b.waitJS("the job page after one click", `/^#\/jobs\/\d+$/.test(location.hash) && document.querySelector('#job-status .badge')`)
	id := evalJS[int64](b, `Number(location.hash.split('/')[2])`)
	j := waitJob(t, srv, id)
	if j.Budget != 5 {
		t.Errorf("the job started with budget %v, not the 5 just typed", j.Budget)
	}
	// The job names its project, and a finished job shows no controls.
	b.waitJS("finished", `document.querySelector('#job-status').textContent.includes('completed')`)
	if got := b.text("#job-project"); !strings.Contains(got, "hubspot") {
		t.Errorf("the job page names its project as %q", got)
	}
	if got := evalJS[string](b, `document.title`); !strings.Contains(got, fmt.Sprintf("Job #%d", id)) || !strings.Contains(got, "hubspot") {
		t.Errorf("job page title %q", got)
	}
	for _, a := range []string{"pause", "resume", "cancel"} {
		if evalJS[bool](b, `document.querySelector('#job-`+a+`').offsetParent !== null`) {
			t.Errorf("a completed job shows its %s button", a)
		}
	}
	// One format for every token count: in full, with separators.
	b.waitJS("items", `document.querySelectorAll('#items-table tbody tr').length === 2`)
	tokens := evalJS[[]string](b, `['#stat-prompt', '#stat-completion', '#stat-est-tokens'].map(s => document.querySelector(s).textContent)
		.concat([...document.querySelectorAll('#items-table tbody tr td:nth-child(3)')].map(td => td.textContent))`)
	for _, s := range tokens {
		if strings.ContainsAny(s, "kM") || s == "" {
			t.Errorf("token count %q is not written in full", s)
		}
	}
	b.checkClean()
}

// TestDashboardTypingKeepsFocus types into the models search and schema
// filter as a person does (real key events, a pause longer than the
// debounce between them), and moves through the selects with arrow keys:
// the list follows in place, every keystroke lands, focus stays put.
func TestDashboardTypingKeepsFocus(t *testing.T) {
	chromiumPath(t)
	srv := startServer(t)
	b := newBrowser(t, srv.URL)
	b.signIn(srv.Token)
	b.waitJS("the list", `/\d+ objects match/.test(document.querySelector('#models-status').textContent)`)

	typeSlowly := func(sel, first, rest string) {
		b.click(sel)
		for _, r := range first {
			b.do("key", chromedp.KeyEvent(string(r)), chromedp.Sleep(80*time.Millisecond))
		}
		// Past the 300 ms debounce: the list reloads while the person is
		// still typing (this is where the page used to be drawn again).
		b.do("pause", chromedp.Sleep(700*time.Millisecond))
		for _, r := range rest {
			b.do("key", chromedp.KeyEvent(string(r)), chromedp.Sleep(80*time.Millisecond))
		}
	}
	typeSlowly("#f-q", "stg", "_o")
	b.waitJS("filtered by stg_o", `location.hash.includes('q=stg_o') && /\d+ objects? match/.test(document.querySelector('#models-status').textContent)`)
	if got := evalJS[string](b, `document.querySelector('#f-q').value + ' focus=' + document.activeElement.id`); got != "stg_o focus=f-q" {
		t.Errorf("after typing stg_o: %s", got)
	}
	if !evalJS[bool](b, `[...document.querySelectorAll('#models-table tbody td.name a')].every(a => a.textContent.includes('stg_o'))`) {
		t.Error("the list does not follow the search")
	}

	typeSlowly("#f-schema", "hub", "spot")
	b.waitJS("filtered by schema", `location.hash.includes('schema=hubspot') && !document.querySelector('#models-status').textContent.startsWith('Loading')`)
	if got := evalJS[string](b, `document.querySelector('#f-schema').value + ' focus=' + document.activeElement.id`); got != "hubspot focus=f-schema" {
		t.Errorf("after typing the schema: %s", got)
	}

	// Arrow keys on a select: each one moves one option, and focus stays.
	b.do("clear filters", chromedp.Navigate(srv.URL+"/#/models"))
	b.waitJS("the list again", `/\d+ objects match/.test(document.querySelector('#models-status').textContent) && !location.hash.includes('q=')`)
	b.do("focus type", chromedp.Focus(chromedp.CSS("#f-type")))
	b.do("arrow", chromedp.KeyEvent(kb.ArrowDown)) // ArrowDown: model
	b.waitJS("type=model", `location.hash.includes('type=model') && !document.querySelector('#models-status').textContent.startsWith('Loading')`)
	b.do("arrow", chromedp.KeyEvent(kb.ArrowDown)) // ArrowDown: seed
	b.waitJS("type=seed", `location.hash.includes('type=seed') && !document.querySelector('#models-status').textContent.startsWith('Loading')`)
	if got := evalJS[string](b, `document.querySelector('#f-type').value + ' focus=' + document.activeElement.id`); got != "seed focus=f-type" {
		t.Errorf("after two arrow keys on the type select: %s", got)
	}

	b.do("jobs", chromedp.Navigate(srv.URL+"/#/jobs"), chromedp.WaitVisible(chromedp.CSS("#jobs-status")))
	b.do("focus status", chromedp.Focus(chromedp.CSS("#jobs-status")))
	b.do("arrow", chromedp.KeyEvent(kb.ArrowDown)) // queued
	b.waitJS("status=queued", `location.hash.includes('status=queued')`)
	b.do("arrow", chromedp.KeyEvent(kb.ArrowDown)) // running
	b.waitJS("status=running", `location.hash.includes('status=running')`)
	if got := evalJS[string](b, `document.querySelector('#jobs-status').value + ' focus=' + document.activeElement.id`); got != "running focus=jobs-status" {
		t.Errorf("after two arrow keys on the status select: %s", got)
	}

	// Select all matching: the button keeps focus while it works and after.
	b.do("models", chromedp.Navigate(srv.URL+"/#/models?q=stg_hubspot__deal"))
	b.waitJS("deal models", `/\d+ objects? match/.test(document.querySelector('#models-status').textContent) && !document.querySelector('#select-all-matching').hidden`)
	b.click("#select-all-matching")
	b.waitJS("all selected", `/^\d+ models selected$/.test(document.querySelector('#sel-count').textContent) && document.querySelector('#sel-count').textContent !== '0 models selected' && document.querySelector('#select-all-matching').getAttribute('aria-disabled') !== 'true'`)
	if got := evalJS[string](b, `document.activeElement.id`); got != "select-all-matching" {
		t.Errorf("after Select all matching focus is on %q", got)
	}
	b.click("#clear-selection")
	if got := evalJS[string](b, `document.activeElement.id`); got == "" || got == "clear-selection" {
		t.Errorf("after Clear selection focus is on %q", evalJS[string](b, `document.activeElement.tagName`))
	}
	b.checkClean()
}
