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

// TestReviewQueue drives the review queue in a real browser: filter by
// layer and findings, accept and reject with the keyboard, edit a column
// in place, and accept the filtered drafts after a confirmation that says
// how many.
func TestReviewQueue(t *testing.T) {
	chromiumPath(t)
	srv := startServer(t)
	ctx := context.Background()
	objs, _, err := srv.Store.ListObjects(ctx, srv.OrgID, store.ObjectFilter{Types: []modeldoc.ObjectType{modeldoc.TypeModel}, Limit: 3})
	if err != nil || len(objs) < 3 {
		t.Fatalf("models: %v %v", objs, err)
	}
	for i, o := range objs {
		v := &modeldoc.DocVersion{ObjectID: o.ID, Provider: "offline", Model: "offline",
			Layers: map[modeldoc.Layer]json.RawMessage{
				modeldoc.LayerExecutiveSummary:   json.RawMessage(fmt.Sprintf(`{"grain":"","summary":"Summary %d.","confidence":"medium"}`, i)),
				modeldoc.LayerBusinessRules:      json.RawMessage(`{"rules":[{"rule":"A rule","codeReference":"x > 1","impact":"y"}],"confidence":"low"}`),
				modeldoc.LayerColumnDescriptions: json.RawMessage(fmt.Sprintf(`{"columns":[{"name":"c%d","description":"Column %d.","lineage":"derived","upstreamModel":"","upstreamColumn":""}]}`, i, i)),
			},
			LayerStatus: map[modeldoc.Layer]modeldoc.LayerStatus{
				modeldoc.LayerExecutiveSummary:   {Status: "ok"},
				modeldoc.LayerBusinessRules:      {Status: "ok", Review: true, Findings: []modeldoc.Finding{{Path: "/rules/0/codeReference", Kind: modeldoc.FindingCodeReference, Value: "x > 1", Message: "x > 1 is not in the SQL"}}},
				modeldoc.LayerColumnDescriptions: {Status: "ok"},
			}}
		if err := srv.Store.InsertDocVersion(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	b := newBrowser(t, srv.URL)
	b.signIn(srv.Token)
	b.do("review page", chromedp.Navigate(srv.URL+"/#/review"))
	b.waitJS("the drafts", `document.querySelectorAll('.review-item').length === 9`)
	if got := b.text("#review-count"); got != "9 items" {
		t.Errorf("count says %q", got)
	}

	// Findings only: the three business rules, their findings beside them.
	b.click("#review-findings")
	b.waitJS("findings filter", `document.querySelectorAll('.review-item').length === 3 && [...document.querySelectorAll('.review-item')].every(x => x.dataset.layer === 'business_rules')`)
	if got := b.text(".review-item .review-findings"); !strings.Contains(got, "not in the SQL") {
		t.Errorf("findings shown: %q", got)
	}
	if got := b.text(".review-item .review-confidence"); !strings.Contains(got, "low") {
		t.Errorf("confidence shown: %q", got)
	}
	// Keyboard: r rejects the first, j then a accepts the third.
	b.do("reject with r", chromedp.KeyEvent("r"))
	b.waitJS("rejected", `document.querySelector('.review-item[data-index="0"]').dataset.state === 'rejected'`)
	b.do("next, accept", chromedp.KeyEvent("j"), chromedp.KeyEvent("a"))
	b.waitJS("accepted", `document.querySelector('.review-item[data-index="2"]').dataset.state === 'accepted'`)

	// Edit a column in place.
	b.click("#review-findings")
	b.do("column layer", chromedp.SetValue(chromedp.CSS("#review-layer"), "column_descriptions"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#review-filters').dispatchEvent(new Event('change'))`))
	b.waitJS("columns", `document.querySelectorAll('.review-item').length === 3 && [...document.querySelectorAll('.review-item')].every(x => x.dataset.layer === 'column_descriptions')`)
	b.click(`.review-item[data-index="0"] .review-edit`)
	b.waitJS("the editor", `document.querySelector('.review-editor') !== null`)
	b.do("type the edit", chromedp.Evaluate[chromedp.Void](`document.querySelector('.review-editor').value = ''`),
		chromedp.SendKeys(chromedp.CSS(".review-editor"), "Edited by a person."),
		chromedp.Click(chromedp.CSS(".review-save")))
	b.waitJS("edited", `document.querySelector('.review-item[data-index="0"]').dataset.state === 'edited' &&
		document.querySelector('.review-item[data-index="0"] .review-text').textContent === 'Edited by a person.'`)

	// Bulk accept of the filtered drafts: two columns are left.
	b.click("#review-accept-all")
	if got := b.text("#review-confirm"); !strings.Contains(got, "Accept 2 drafts of column_descriptions?") {
		t.Errorf("confirmation says %q", got)
	}
	b.click("#review-confirm-yes")
	b.waitJS("bulk accepted", `document.querySelector('#review-done') && document.querySelector('#review-done').textContent === 'Accepted 2 item(s).'`)
	b.waitJS("no drafts left", `document.querySelector('#review-empty') !== null`)

	items, err := srv.Store.ListReview(ctx, srv.OrgID, store.ReviewFilter{})
	if err != nil {
		t.Fatal(err)
	}
	counts := store.ReviewCounts(items)
	if counts[modeldoc.ReviewDraft] != 4 || counts[modeldoc.ReviewRejected] != 1 || counts[modeldoc.ReviewAccepted] != 3 || counts[modeldoc.ReviewEdited] != 1 {
		t.Errorf("states after the session: %v (want the 3 summaries and one rule still drafts)", counts)
	}
	b.checkClean()
}
