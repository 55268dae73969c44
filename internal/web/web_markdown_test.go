package web

import (
	"context"
	"encoding/json"
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

// Generated text is Markdown too (a writer answers with lists, tables,
// emphasis and links): the model's page builds it from the API's
// text_docs trees, so a <script> or a javascript: link in what a writer
// wrote shows as text or a dead link, and never runs.
func TestDashboardRendersGeneratedMarkdown(t *testing.T) {
	chromiumPath(t)
	srv := startServer(t)
	var list struct {
		Items []store.ObjectSummary `json:"items"`
	}
	srv.apiCall(t, "GET", "/objects?q=stg_hubspot__deal&type=model&limit=1", nil, &list)
	if len(list.Items) != 1 {
		t.Fatalf("objects: %+v", list.Items)
	}
	id := list.Items[0].ID
	summary := "Deals, **one row each**.\n\n- see [the runbook](https://wiki.example.com/d)\n- [bad](javascript:window.__gen=1)\n\n<script>window.__gen=2</script>\n"
	narrative := "| stage | meaning |\n|---|---|\n| won | *closed* |\n"
	layers := map[modeldoc.Layer]json.RawMessage{}
	put := func(l modeldoc.Layer, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		layers[l] = b
	}
	put(modeldoc.LayerExecutiveSummary, map[string]any{"summary": summary, "grain": "", "confidence": "high"})
	put(modeldoc.LayerBusinessNarrative, map[string]any{"whatItDoes": narrative, "dataJourney": []string{"Read `deal_id` <img src=x onerror=window.__gen=3>"}, "businessImpact": "Plain words.", "confidence": "high"})
	put(modeldoc.LayerColumnDescriptions, map[string]any{"columns": []map[string]any{{"name": "deal_id", "description": "The *deal*, see [docs](javascript:window.__gen=4)", "lineage": "passthrough", "upstreamModel": "", "upstreamColumn": ""}}})
	if err := srv.Store.InsertDocVersion(context.Background(), &modeldoc.DocVersion{ObjectID: id, Provider: "openai", Model: "gpt-4o",
		Layers: layers,
		LayerStatus: map[modeldoc.Layer]modeldoc.LayerStatus{modeldoc.LayerExecutiveSummary: {Status: "ok"},
			modeldoc.LayerBusinessNarrative: {Status: "ok"}, modeldoc.LayerColumnDescriptions: {Status: "ok"}}}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, srv.URL)
	b.signIn(srv.Token)
	b.do("model page", chromedp.Navigate(fmt.Sprintf("%s/#/models/%d", srv.URL, id)))
	b.waitJS("generated layers", `document.querySelector('#sec-executive_summary') && document.querySelector('#doc-columns')`)
	if got := b.text("#sec-executive_summary strong"); got != "one row each" {
		t.Errorf("summary strong: %q", got)
	}
	if got := evalJS[string](b, `[...document.querySelectorAll('#sec-executive_summary a')].map(a => a.textContent + '=' + (a.getAttribute('href') || '')).join('|')`); got != "the runbook=https://wiki.example.com/d|bad=" {
		t.Errorf("summary links: %q", got)
	}
	if got := evalJS[string](b, `[...document.querySelectorAll('#sec-business_narrative td')].map(td => td.innerHTML).join('|')`); got != "won|<em>closed</em>" {
		t.Errorf("narrative table: %q", got)
	}
	if got := b.text("#sec-business_narrative .journey code"); got != "deal_id" {
		t.Errorf("journey code: %q", got)
	}
	if got := evalJS[string](b, `(() => { const td = document.querySelector('#doc-columns tbody tr td:nth-child(3)'); return td.querySelector('em').textContent + ' ' + td.querySelector('a').textContent + '=' + (td.querySelector('a').getAttribute('href') || '') })()`); got != "deal docs=" {
		t.Errorf("column description: %q", got)
	}
	if n := evalJS[int](b, `document.querySelectorAll('.doc-main script, .doc-main img').length`); n != 0 {
		t.Errorf("%d script or img elements built from generated text", n)
	}
	if !strings.Contains(b.text("#sec-executive_summary"), "<script>window.__gen=2</script>") {
		t.Errorf("the raw HTML is not shown as text: %q", b.text("#sec-executive_summary"))
	}
	// Click every link the generated text made: none may run anything.
	b.do("click links", chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('.doc-main a:not([href])').forEach(a => a.click())`))
	if g := evalJS[string](b, `typeof window.__gen`); g != "undefined" {
		t.Errorf("generated text ran: window.__gen is %s", g)
	}

	// The review queue shows the same draft as it will read.
	b.do("review", chromedp.Navigate(srv.URL+"/#/review"))
	b.waitJS("the summary draft", `[...document.querySelectorAll('.review-item')].some(x => x.dataset.layer === 'executive_summary')`)
	item := `[...document.querySelectorAll('.review-item')].find(x => x.dataset.layer === 'executive_summary')`
	if got := evalJS[string](b, `(() => { const x = `+item+`; const s = x.querySelector('.review-text.md strong'); return s ? s.textContent : '' })()`); got != "one row each" {
		t.Errorf("the review queue shows the summary's strong as %q", got)
	}
	if got := evalJS[string](b, `[...`+item+`.querySelectorAll('.review-text a')].map(a => a.textContent + '=' + (a.getAttribute('href') || '')).join('|')`); got != "the runbook=https://wiki.example.com/d|bad=" {
		t.Errorf("review links: %q", got)
	}
	b.do("click review links", chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('.review-text a:not([href])').forEach(a => a.click())`))
	if g := evalJS[string](b, `typeof window.__gen`); g != "undefined" {
		t.Errorf("generated text ran in the review queue: window.__gen is %s", g)
	}
	b.checkClean()
}
