package quality

import (
	"math"
	"testing"

	"github.com/modeldoc/modeldoc"
)

func TestContentShare(t *testing.T) {
	cases := []struct {
		column, want, got string
		share             float64
		ok                bool
	}{
		// "customer" and "id" are the name's own words; content: unique, person, bought.
		{"customer_id", "The unique id of the person who bought.", "Unique key of the person who bought the order.", 1, true},
		{"customer_id", "The unique id of the person who bought.", "Customer id.", 0, true},
		{"customer_id", "The unique id of the person who bought.", "The unique person.", 2.0 / 3, true},
		{"order_id", "The order id.", "anything", 0, false}, // nothing beyond the name
		{"status", "Orders' statuses", "an order status", 1, true},
	}
	for _, c := range cases {
		share, ok := ContentShare(c.column, c.want, c.got)
		if ok != c.ok || math.Abs(share-c.share) > 1e-9 {
			t.Errorf("ContentShare(%q, %q, %q) = %v, %v; want %v, %v", c.column, c.want, c.got, share, ok, c.share, c.ok)
		}
	}
}

func TestRestatesAndLeaks(t *testing.T) {
	restate := map[string]string{
		"customer_id":     "Customer id: the customer id.",
		"name":            "Name: name. Taken unchanged from `stg_users.name`. Renamed from `name`.",
		"engagement_type": "Type. Taken unchanged from `postgres.public.engagement.type`.",
	}
	for col, text := range restate {
		if !Restates(col, text) {
			t.Errorf("%s: %q is not seen as a restatement", col, text)
		}
	}
	if Restates("customer_id", "The person who placed the order.") {
		t.Error("a real description is seen as a restatement")
	}
	for _, s := range []string{"Kept where x > 1 -- old rule", "Reads {{ this }}", "{% if is_incremental() %}", "a /* b */"} {
		if !Leaks(s) {
			t.Errorf("%q does not leak", s)
		}
	}
	for _, s := range []string{"Amount in dollars, net of refunds.", "'1 -- Current' when `days` is at most 0.",
		"`x`, or `'--'` when it is null.", "The team's -- and the writer's -- text"} {
		if Leaks(s) != (s == "The team's -- and the writer's -- text") {
			t.Errorf("Leaks(%q) = %v", s, Leaks(s))
		}
	}
}

func TestHideIsDeterministicAndHidesHalf(t *testing.T) {
	cat := &modeldoc.Catalog{}
	for i := range 400 {
		cat.Objects = append(cat.Objects, modeldoc.Object{UniqueID: "model.p.m" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Type: modeldoc.TypeModel,
			Description: "Model.", Columns: []modeldoc.Column{{Name: "id", Description: "Key.", HumanDescription: true}}})
	}
	cat.Objects = append(cat.Objects, modeldoc.Object{UniqueID: "source.p.s.t", Type: modeldoc.TypeSource,
		Columns: []modeldoc.Column{{Name: "id", Description: "Key.", HumanDescription: true}}})
	truth := Hide(cat)
	if n := len(truth.Columns); n < 160 || n > 240 {
		t.Errorf("%d of 400 models hidden, want about half", n)
	}
	for _, o := range cat.Objects {
		_, hidden := truth.Columns[o.UniqueID]
		if hidden != (o.Type == modeldoc.TypeModel && Hidden(o.UniqueID)) {
			t.Errorf("%s: hidden %v", o.UniqueID, hidden)
		}
		if hidden && (o.Description != "" || o.Columns[0].HumanDescription || o.Columns[0].Description != "") {
			t.Errorf("%s: still documented after Hide", o.UniqueID)
		}
		if !hidden && !o.Columns[0].HumanDescription {
			t.Errorf("%s: lost its documentation", o.UniqueID)
		}
	}
}

// TestScore scores a small lineage: source → a → b, b hidden.
func TestScore(t *testing.T) {
	src := modeldoc.Object{UniqueID: "source.p.s.t", Type: modeldoc.TypeSource, Columns: []modeldoc.Column{
		{Name: "id", Description: "The order's key.", HumanDescription: true},
		{Name: "amount", Description: "Gross amount in cents.", HumanDescription: true},
	}}
	a := modeldoc.Object{UniqueID: "model.p.a", Type: modeldoc.TypeModel, Columns: []modeldoc.Column{{Name: "id"}, {Name: "amount"}}}
	b := modeldoc.Object{UniqueID: "model.p.b", Type: modeldoc.TypeModel, Columns: []modeldoc.Column{{Name: "id"}, {Name: "amount"}, {Name: "status"}}}
	// A text of the team's, which the writer may quote.
	team := modeldoc.Object{UniqueID: "source.p.s.docs", Type: modeldoc.TypeSource, Columns: []modeldoc.Column{
		{Name: "code", Description: "Code (https://h/#a---b).", HumanDescription: true}}}
	cat := &modeldoc.Catalog{Objects: []modeldoc.Object{src, a, b, team}, Edges: []modeldoc.Edge{
		{Upstream: src.UniqueID, Downstream: a.UniqueID}, {Upstream: a.UniqueID, Downstream: b.UniqueID}}}
	truth := &Truth{Columns: map[string]map[string]string{
		b.UniqueID: {"id": "The order's key.", "amount": "Gross amount in cents.", "status": "Where the order is in fulfilment."},
	}}
	gen := map[string]*Generated{
		b.UniqueID: {
			Columns:   map[string]string{"id": "The order's   key.", "amount": "Amount.", "status": "Fulfilment state of the order.", "code": "Code (https://h/#a---b)."},
			Inherited: map[string]bool{"code": true}, // a person's text, restatement or not
			// The quoted text's "---" is the team's, not a leak, even shortened.
			Texts: []string{"Summary -- with a comment.", "Clean text.", "Reads {{ this }}.", "Code (https://h/#a---b …"},
		},
	}
	r := Score("fixture", cat, truth, gen)
	if r.InheritCandidates != 2 || r.InheritHits != 1 || r.InheritRecall() != 0.5 {
		t.Errorf("inheritance %d/%d, want 1/2", r.InheritHits, r.InheritCandidates)
	}
	if r.Leaks != 2 || r.Texts != 4 {
		t.Errorf("leaks %d of %d, want 2 of 4", r.Leaks, r.Texts)
	}
	if r.Restatements != 1 || r.ColumnTexts != 3 {
		t.Errorf("restatements %d of %d, want 1 of 3 (amount)", r.Restatements, r.ColumnTexts)
	}
	// id: order, key → 2 of 2 ("id" is the name's); amount: gross, cent →
	// 0 of 2; status: order, fulfilment ("where" is a stopword) → 2 of 2.
	if want := (1 + 0 + 1.0) / 3; math.Abs(r.ContentRecall-want) > 1e-9 || r.ContentColumns != 3 {
		t.Errorf("content recall %v over %d, want %v over 3", r.ContentRecall, r.ContentColumns, want)
	}
}
