package web

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestDashboardPriceUnknown: the new-job panel says "price unknown" for a
// model without a known price instead of $0, refuses to start it with a
// budget, and estimates it once its price is given.
func TestDashboardPriceUnknown(t *testing.T) {
	chromiumPath(t)
	srv := startServer(t)
	b := newBrowser(t, srv.URL)
	b.signIn(srv.Token)
	b.waitJS("the models", `document.querySelectorAll('#models-table tbody input[type=checkbox]').length >= 2`)
	b.click("#models-table tbody tr:nth-child(1) input[type=checkbox]")
	b.click("#models-table tbody tr:nth-child(2) input[type=checkbox]")
	b.do("options",
		chromedp.SetValue(chromedp.CSS("#opt-provider"), "openai"),
		chromedp.SetValue(chromedp.CSS("#opt-model"), "llama3.1:8b"),
		chromedp.SetValue(chromedp.CSS("#opt-base-url"), srv.Fake.BaseURL()),
		chromedp.SetValue(chromedp.CSS("#opt-budget"), "1"),
		chromedp.SetValue(chromedp.CSS("#opt-price-in"), ""),
		chromedp.SetValue(chromedp.CSS("#opt-price-out"), ""),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#job-form').dispatchEvent(new Event('change'))`),
	)
	b.waitJS("unknown price", `document.querySelector('#est-cost') && document.querySelector('#est-cost').textContent === 'price unknown'`)
	if msg := b.text("#est-price-unknown"); !strings.Contains(msg, "llama3.1:8b") || !strings.Contains(msg, "budget cannot hold") {
		t.Errorf("the warning says %q", msg)
	}
	if !evalJS[bool](b, `document.querySelector('#start-job').disabled`) {
		t.Errorf("a job with a budget on an unpriced model can be started: %q", b.text("#start-job"))
	}
	b.shot("price-unknown")

	b.do("price",
		chromedp.SetValue(chromedp.CSS("#opt-price-in"), "0.5"),
		chromedp.SetValue(chromedp.CSS("#opt-price-out"), "1.5"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#job-form').dispatchEvent(new Event('change'))`),
	)
	b.waitJS("given price", `/^\$/.test((document.querySelector('#est-cost') || {}).textContent) && !document.querySelector('#est-price-unknown') && !document.querySelector('#start-job').disabled`)
	if got := b.text("#start-job"); !strings.Contains(got, "est. $") {
		t.Errorf("start button %q", got)
	}
	b.checkClean()
}
