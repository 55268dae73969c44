package storetest

import (
	"encoding/json"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/store"
)

// reviewState finds one item's state in the organization's review list,
// "" when it is not listed.
func reviewState(t *testing.T, s *store.Store, orgID, objectID int64, l modeldoc.Layer, column string) (string, store.ReviewItem) {
	t.Helper()
	items, err := s.ListReview(ctx, orgID, store.ReviewFilter{ObjectIDs: []int64{objectID}})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.Layer == l && it.Column == column {
			return it.State, it
		}
	}
	return "", store.ReviewItem{}
}

func columnText(t *testing.T, v *modeldoc.DocVersion, name string) string {
	t.Helper()
	var cols modeldoc.ColumnDescriptionsOut
	if err := json.Unmarshal(v.Layers[modeldoc.LayerColumnDescriptions], &cols); err != nil {
		t.Fatal(err)
	}
	for _, c := range cols.Columns {
		if c.Name == name {
			return c.Description
		}
	}
	return ""
}

// testReview: generated text is a draft until a person accepts, rejects
// or edits it; who did what is kept; regeneration keeps the review of what
// it carries over, makes what it rewrites a draft again and never
// overwrites a person's edit; another organization sees and touches none
// of it.
func testReview(t *testing.T, s *store.Store) {
	org := mustOrg(t, s, "acme")
	other := mustOrg(t, s, "other")
	mustImport(t, s, org.ID, Fixture())
	o := mustResolve(t, s, org.ID, "model.shop.orders")
	v1 := fullDoc(o.ID, o.SQLHash, "v1")
	v1.Layers[modeldoc.LayerColumnDescriptions] = json.RawMessage(`{"columns":[` +
		`{"name":"order_id","description":"The order.","lineage":"passthrough","upstreamModel":"stg_orders","upstreamColumn":"order_id","inheritedFrom":"model stg_orders.order_id"},` +
		`{"name":"amount","description":"v1 amount","lineage":"derived","upstreamModel":"","upstreamColumn":""},` +
		`{"name":"status","description":"v1 status","lineage":"derived","upstreamModel":"","upstreamColumn":""}],"confidence":"medium"}`)
	v1.LayerStatus[modeldoc.LayerBusinessRules] = modeldoc.LayerStatus{Status: modeldoc.LayerOK, Review: true,
		Findings: []modeldoc.Finding{{Path: "/rules/0/codeReference", Kind: modeldoc.FindingCodeReference, Value: "x > 1", Message: "not in the SQL"}}}
	if err := s.InsertDocVersion(ctx, v1); err != nil {
		t.Fatal(err)
	}

	// Everything a writer composed is a draft; inherited human text is not listed.
	items, err := s.ListReview(ctx, org.ID, store.ReviewFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 6+2 {
		t.Fatalf("%d review items, want 6 layers and 2 generated columns: %+v", len(items), items)
	}
	for _, it := range items {
		if it.State != modeldoc.ReviewDraft || it.Column == "order_id" || it.Project != "shop" || it.UniqueID != "model.shop.orders" {
			t.Fatalf("item %+v, want a draft of orders and not the inherited column", it)
		}
	}
	if _, it := reviewState(t, s, org.ID, o.ID, modeldoc.LayerBusinessRules, ""); len(it.Findings) != 1 {
		t.Fatalf("business rules item does not carry its findings: %+v", it)
	}
	if _, it := reviewState(t, s, org.ID, o.ID, modeldoc.LayerColumnDescriptions, "amount"); it.Confidence != "medium" || it.Text != "v1 amount" {
		t.Fatalf("column item = %+v, want its text and the layer's confidence", it)
	}
	withFindings, err := s.ListReview(ctx, org.ID, store.ReviewFilter{Findings: true})
	if err != nil || len(withFindings) != 1 || withFindings[0].Layer != modeldoc.LayerBusinessRules {
		t.Fatalf("findings filter = %+v, %v", withFindings, err)
	}

	act := func(a store.ReviewAction) store.ReviewResult {
		t.Helper()
		a.ObjectID = o.ID
		if a.Actor == "" {
			a.Actor = "ana"
		}
		res, err := s.Review(ctx, org.ID, a)
		if err != nil {
			t.Fatalf("%+v: %v", a, err)
		}
		return res
	}
	act(store.ReviewAction{Action: store.ReviewAccept, Layer: modeldoc.LayerExecutiveSummary})
	act(store.ReviewAction{Action: store.ReviewReject, Layer: modeldoc.LayerBusinessRules})
	act(store.ReviewAction{Action: store.ReviewEdit, Layer: modeldoc.LayerColumnDescriptions, Column: "amount", Text: "What the customer paid, in cents.", Actor: "bo"})
	act(store.ReviewAction{Action: store.ReviewAccept, Layer: modeldoc.LayerColumnDescriptions, Column: "status"})
	if res := act(store.ReviewAction{Action: store.ReviewAccept, Layer: modeldoc.LayerExecutiveSummary}); res.Changed != 0 || res.Skipped != 1 {
		t.Fatalf("accepting twice = %+v, want nothing changed", res)
	}
	if st, it := reviewState(t, s, org.ID, o.ID, modeldoc.LayerExecutiveSummary, ""); st != modeldoc.ReviewAccepted || it.ReviewedBy != "ana" || it.ReviewedAt == nil {
		t.Fatalf("summary = %s %+v, want accepted by ana", st, it)
	}
	cur, err := s.GetDocVersion(ctx, org.ID, o.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := columnText(t, cur, "amount"); got != "What the customer paid, in cents." {
		t.Fatalf("edited column = %q", got)
	}
	if cur.LayerReview(modeldoc.LayerBusinessRules) != modeldoc.ReviewRejected || cur.LayerReview(modeldoc.LayerBusinessNarrative) != modeldoc.ReviewDraft {
		t.Fatalf("states = %+v", cur.LayerStatus)
	}

	// Bad input.
	bad := []struct {
		a    store.ReviewAction
		code string
		what string
	}{
		{store.ReviewAction{Action: "approve", ObjectID: o.ID, Actor: "ana"}, modeldoc.EINVALID, "unknown action"},
		{store.ReviewAction{Action: store.ReviewAccept, ObjectID: o.ID, Layer: "summary", Actor: "ana"}, modeldoc.EINVALID, "unknown layer"},
		{store.ReviewAction{Action: store.ReviewAccept, ObjectID: o.ID, Layer: modeldoc.LayerColumnDescriptions, Column: "amount", Actor: "ana"}, modeldoc.ECONFLICT, "accepting an edit"},
		{store.ReviewAction{Action: store.ReviewReject, ObjectID: o.ID, Layer: modeldoc.LayerColumnDescriptions, Column: "order_id", Actor: "ana"}, modeldoc.ECONFLICT, "rejecting inherited human text"},
		{store.ReviewAction{Action: store.ReviewAccept, ObjectID: o.ID, Layer: modeldoc.LayerColumnDescriptions, Column: "nope", Actor: "ana"}, modeldoc.ENOTFOUND, "unknown column"},
		{store.ReviewAction{Action: store.ReviewEdit, ObjectID: o.ID, Layer: modeldoc.LayerColumnDescriptions, Column: "nope", Text: "x", Actor: "ana"}, modeldoc.ENOTFOUND, "editing an unknown column"},
		{store.ReviewAction{Action: store.ReviewEdit, ObjectID: o.ID, Layer: modeldoc.LayerBusinessRules, Text: "plain words", Actor: "ana"}, modeldoc.EINVALID, "plain text for a structured layer"},
		{store.ReviewAction{Action: store.ReviewEdit, ObjectID: o.ID, Layer: modeldoc.LayerExecutiveSummary, Text: "  ", Actor: "ana"}, modeldoc.EINVALID, "empty edit"},
		{store.ReviewAction{Action: store.ReviewEdit, ObjectID: o.ID, Layer: modeldoc.LayerColumnDescriptions, Text: "x", Actor: "ana"}, modeldoc.EINVALID, "editing all columns at once"},
		{store.ReviewAction{Action: store.ReviewAccept, ObjectID: o.ID, Layer: modeldoc.LayerExecutiveSummary}, modeldoc.EINVALID, "no actor"},
		{store.ReviewAction{Action: store.ReviewAccept, ObjectID: o.ID + 100000, Actor: "ana"}, modeldoc.ENOTFOUND, "unknown object"},
	}
	for _, b := range bad {
		_, err := s.Review(ctx, org.ID, b.a)
		wantCode(t, err, b.code, b.what)
	}
	_, err = s.Review(ctx, other.ID, store.ReviewAction{Action: store.ReviewAccept, ObjectID: o.ID, Actor: "eve"})
	wantCode(t, err, modeldoc.ENOTFOUND, "another organization's object")
	_, err = s.ListReview(ctx, org.ID, store.ReviewFilter{State: "approved"})
	wantCode(t, err, modeldoc.EINVALID, "unknown state filter")
	if items, err := s.ListReview(ctx, other.ID, store.ReviewFilter{}); err != nil || len(items) != 0 {
		t.Fatalf("another organization lists %d items (%v)", len(items), err)
	}
	_, err = s.ReviewHistory(ctx, other.ID, o.ID)
	wantCode(t, err, modeldoc.ENOTFOUND, "another organization's history")
	so := mustResolve(t, s, org.ID, "stg_orders")
	_, err = s.Review(ctx, org.ID, store.ReviewAction{Action: store.ReviewAccept, ObjectID: so.ID, Actor: "ana"})
	wantCode(t, err, modeldoc.ENOTFOUND, "an undocumented object")

	hist, err := s.ReviewHistory(ctx, org.ID, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 4 || hist[2].Actor != "bo" || hist[2].Action != store.ReviewEdit || hist[2].Column != "amount" ||
		hist[2].Text != "What the customer paid, in cents." || hist[2].From != modeldoc.ReviewDraft || hist[2].To != modeldoc.ReviewEdited {
		t.Fatalf("history = %+v", hist)
	}

	// Regenerate the summary only: it is a draft again; the six others
	// keep their text and their review.
	cur = writeSummaryOnly(t, s, org.ID, o, "v2 summary")
	if cur.LayerReview(modeldoc.LayerExecutiveSummary) != modeldoc.ReviewDraft || cur.ExecutiveSummary() != "v2 summary" ||
		cur.LayerReview(modeldoc.LayerBusinessRules) != modeldoc.ReviewRejected ||
		columnText(t, cur, "amount") != "What the customer paid, in cents." {
		t.Fatalf("after regenerating the summary: %+v", cur.LayerStatus)
	}
	if st, _ := reviewState(t, s, org.ID, o.ID, modeldoc.LayerColumnDescriptions, "amount"); st != modeldoc.ReviewEdited {
		t.Fatalf("edited column is %q after a regeneration of the summary", st)
	}
	if st, _ := reviewState(t, s, org.ID, o.ID, modeldoc.LayerColumnDescriptions, "status"); st != modeldoc.ReviewAccepted {
		t.Fatalf("accepted column is %q after a regeneration of the summary", st)
	}

	// Edit the summary, then regenerate every layer: the person's summary
	// and column stay, with their review; the rest are drafts again.
	act(store.ReviewAction{Action: store.ReviewEdit, Layer: modeldoc.LayerExecutiveSummary, Text: "Orders, one row each, as the shop took them."})
	if err := s.InsertDocVersion(ctx, fullDoc(o.ID, o.SQLHash, "v3")); err != nil {
		t.Fatal(err)
	}
	cur, err = s.GetDocVersion(ctx, org.ID, o.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if cur.ExecutiveSummary() != "Orders, one row each, as the shop took them." || cur.LayerReview(modeldoc.LayerExecutiveSummary) != modeldoc.ReviewEdited ||
		cur.LayerStatus[modeldoc.LayerExecutiveSummary].ReviewedBy != "ana" {
		t.Fatalf("regeneration overwrote the edited summary: %q %+v", cur.ExecutiveSummary(), cur.LayerStatus[modeldoc.LayerExecutiveSummary])
	}
	if cur.LayerReview(modeldoc.LayerBusinessRules) != modeldoc.ReviewDraft {
		t.Fatalf("a regenerated rejected layer is %q, want a draft", cur.LayerReview(modeldoc.LayerBusinessRules))
	}
	if got := columnText(t, cur, "amount"); got != "What the customer paid, in cents." {
		t.Fatalf("regeneration overwrote the edited column: %q", got)
	}
	if st, _ := reviewState(t, s, org.ID, o.ID, modeldoc.LayerColumnDescriptions, "amount"); st != modeldoc.ReviewEdited {
		t.Fatalf("edited column is %q after regeneration", st)
	}
	if got := columnText(t, cur, "order_id"); got != "v3 id" {
		t.Fatalf("order_id = %q, want v3's text", got)
	}
	if isStale(t, s, org.ID, o.ID) {
		t.Fatal("a version that kept a person's edits is stale")
	}

	// Bulk accept of the drafts of one layer, then of a project.
	res, err := s.AcceptAll(ctx, org.ID, store.ReviewFilter{Layer: modeldoc.LayerBusinessNarrative}, "ana")
	if err != nil || res.Changed != 1 {
		t.Fatalf("accept all business narratives = %+v, %v", res, err)
	}
	res, err = s.AcceptAll(ctx, org.ID, store.ReviewFilter{ProjectID: o.ProjectID}, "ana")
	if err != nil || res.Changed != 5 {
		t.Fatalf("accept all = %+v, %v; want 4 layers and order_id", res, err)
	}
	drafts, err := s.ListReview(ctx, org.ID, store.ReviewFilter{State: modeldoc.ReviewDraft})
	if err != nil || len(drafts) != 0 {
		t.Fatalf("drafts left: %+v %v", drafts, err)
	}
	if res, err := s.AcceptAll(ctx, other.ID, store.ReviewFilter{}, "eve"); err != nil || res.Changed != 0 {
		t.Fatalf("another organization accepted %+v (%v)", res, err)
	}
}

// testRejectedIsNotContext: CurrentSummaries, what every prompt reads of
// other objects' documentation, leaves rejected text out (a rejected
// summary is absent, a rejected column keeps its name without text) and
// gives the review states; accepting the text again brings it back. A
// layer a person edited, carried by a version written after the SQL
// changed, is the person's text and not stale; the other carried layers
// are.
func testRejectedIsNotContext(t *testing.T, s *store.Store) {
	org := mustOrg(t, s, "acme")
	mustImport(t, s, org.ID, Fixture())
	o := mustResolve(t, s, org.ID, "model.shop.orders")
	if err := s.InsertDocVersion(ctx, fullDoc(o.ID, o.SQLHash, "v1")); err != nil {
		t.Fatal(err)
	}
	act := func(action string, l modeldoc.Layer, column, text string) {
		t.Helper()
		if _, err := s.Review(ctx, org.ID, store.ReviewAction{Action: action, ObjectID: o.ID, Layer: l, Column: column, Text: text, Actor: "ana"}); err != nil {
			t.Fatalf("%s %s %s: %v", action, l, column, err)
		}
	}
	summaries := func() *modeldoc.DocVersion {
		t.Helper()
		m, err := s.CurrentSummaries(ctx, []int64{o.ID})
		if err != nil || m[o.ID] == nil {
			t.Fatalf("CurrentSummaries = %v, %v", m, err)
		}
		return m[o.ID]
	}
	if v := summaries(); v.ExecutiveSummary() != "v1 executive_summary" || columnText(t, v, "amount") != "v1 amount" {
		t.Fatalf("drafts are context: summary %q, amount %q", v.ExecutiveSummary(), columnText(t, v, "amount"))
	}
	act(store.ReviewReject, modeldoc.LayerExecutiveSummary, "", "")
	act(store.ReviewReject, modeldoc.LayerColumnDescriptions, "amount", "")
	act(store.ReviewEdit, modeldoc.LayerColumnDescriptions, "order_id", "The order, in a person's words.")
	v := summaries()
	if _, ok := v.Layers[modeldoc.LayerExecutiveSummary]; ok || v.ExecutiveSummary() != "" {
		t.Fatalf("a rejected summary is context: %q", v.ExecutiveSummary())
	}
	var cols modeldoc.ColumnDescriptionsOut
	if err := json.Unmarshal(v.Layers[modeldoc.LayerColumnDescriptions], &cols); err != nil {
		t.Fatal(err)
	}
	if len(cols.Columns) != 2 || columnText(t, v, "amount") != "" || columnText(t, v, "order_id") != "The order, in a person's words." {
		t.Fatalf("columns as context after a reject and an edit: %+v", cols.Columns)
	}
	if v.LayerReview(modeldoc.LayerExecutiveSummary) != modeldoc.ReviewRejected ||
		v.LayerStatus[modeldoc.LayerColumnDescriptions].ColumnReviews["order_id"].State != modeldoc.ReviewEdited {
		t.Fatalf("CurrentSummaries gives no review states: %+v", v.LayerStatus)
	}
	act(store.ReviewAccept, modeldoc.LayerExecutiveSummary, "", "")
	if got := summaries().ExecutiveSummary(); got != "v1 executive_summary" {
		t.Fatalf("accepted again, the summary is %q", got)
	}

	// The SQL changes; a version writes the summary only: the edited
	// layer it carries is not stale, the others are.
	act(store.ReviewEdit, modeldoc.LayerBusinessRules, "", `{"rules":[]}`)
	cat := Fixture()
	cat.Objects[7].RawSQL += " where 1 = 1"
	cat.Objects[7].SQLHash = modeldoc.HashSQL(cat.Objects[7].RawSQL, cat.Objects[7].CompiledSQL)
	mustImport(t, s, org.ID, cat)
	o = mustResolve(t, s, org.ID, "model.shop.orders")
	cur := writeSummaryOnly(t, s, org.ID, o, "v2 summary")
	br := cur.LayerStatus[modeldoc.LayerBusinessRules]
	if br.Stale || br.ReviewState != modeldoc.ReviewEdited || string(cur.Layers[modeldoc.LayerBusinessRules]) != `{"rules":[]}` {
		t.Fatalf("the edited layer carried after a SQL change: %s %+v, want the person's text, edited, not stale", cur.Layers[modeldoc.LayerBusinessRules], br)
	}
	if !cur.LayerStatus[modeldoc.LayerBusinessNarrative].Stale || cur.StaleLayers != len(modeldoc.AllLayers)-2 {
		t.Fatalf("after a SQL change: %d stale layers, statuses %+v", cur.StaleLayers, cur.LayerStatus)
	}
}

// testOwnColumnsAreNotDrafts: the column layer repeats the project's own
// column text (so that it is complete); that text is a person's, not a
// draft in the review list, nor accepted by accepting all drafts. A
// writer's text for such a column (written with --overwrite-human) is a
// draft.
func testOwnColumnsAreNotDrafts(t *testing.T, s *store.Store) {
	org := mustOrg(t, s, "acme")
	mustImport(t, s, org.ID, Fixture())
	o := mustResolve(t, s, org.ID, "model.shop.orders")
	v := fullDoc(o.ID, o.SQLHash, "v1")
	v.Layers[modeldoc.LayerColumnDescriptions] = json.RawMessage(`{"columns":[` +
		`{"name":"order_id","description":"The order.","lineage":"derived","upstreamModel":"","upstreamColumn":""},` +
		`{"name":"amount","description":"A writer's amount.","lineage":"derived","upstreamModel":"","upstreamColumn":""}]}`)
	if err := s.InsertDocVersion(ctx, v); err != nil {
		t.Fatal(err)
	}
	if st, _ := reviewState(t, s, org.ID, o.ID, modeldoc.LayerColumnDescriptions, "order_id"); st != "" {
		t.Fatalf("the project's own text of order_id is a review item (%s)", st)
	}
	if st, _ := reviewState(t, s, org.ID, o.ID, modeldoc.LayerColumnDescriptions, "amount"); st != modeldoc.ReviewDraft {
		t.Fatalf("a writer's text in place of the project's is %q, want a draft", st)
	}
	res, err := s.AcceptAll(ctx, org.ID, store.ReviewFilter{ObjectIDs: []int64{o.ID}, Layer: modeldoc.LayerColumnDescriptions}, "ana")
	if err != nil || res.Changed != 1 {
		t.Fatalf("accepting every column draft changed %d (%v), want amount only", res.Changed, err)
	}
	// Acting on the object's columns leaves the project's text alone;
	// naming it is refused, as for inherited text; editing it is allowed.
	_, err = s.Review(ctx, org.ID, store.ReviewAction{Action: store.ReviewReject, ObjectID: o.ID, Layer: modeldoc.LayerColumnDescriptions, Column: "order_id", Actor: "ana"})
	wantCode(t, err, modeldoc.ECONFLICT, "reject the project's own column text")
	if res, err := s.Review(ctx, org.ID, store.ReviewAction{Action: store.ReviewReject, ObjectID: o.ID, Layer: modeldoc.LayerColumnDescriptions, Actor: "ana"}); err != nil || res.Changed != 1 {
		t.Fatalf("rejecting the object's columns: %+v, %v; want amount only", res, err)
	}
	cur, err := s.GetDocVersion(ctx, org.ID, o.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := cur.LayerStatus[modeldoc.LayerColumnDescriptions].ColumnReviews["order_id"]; ok {
		t.Fatalf("the project's own text of order_id was reviewed: %+v", r)
	}
	if _, err := s.Review(ctx, org.ID, store.ReviewAction{Action: store.ReviewEdit, ObjectID: o.ID, Layer: modeldoc.LayerColumnDescriptions, Column: "order_id", Text: "The order, edited.", Actor: "ana"}); err != nil {
		t.Fatalf("editing the project's own column text: %v", err)
	}
}
