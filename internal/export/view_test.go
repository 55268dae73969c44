package export

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc"
)

// One view serves the terminal, which shows every layer with its review
// state, and the publications, which leave rejected text out: the view
// keeps a rejected layer decoded and says it is not published.
func TestDocViewReviewStates(t *testing.T) {
	raw := func(v any) json.RawMessage {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	obj := &modeldoc.Object{ID: 7, Name: "orders", UniqueID: "model.shop.orders", RawSQL: "select id, amount from {{ ref('stg_orders') }}",
		Columns: []modeldoc.Column{{Name: "id", Description: "The order.", HumanDescription: true}, {Name: "amount"}, {Name: "status"}}}
	v := &modeldoc.DocVersion{ObjectID: 7, Version: 3, ComplexityScore: 2,
		Layers: map[modeldoc.Layer]json.RawMessage{
			modeldoc.LayerExecutiveSummary: raw(modeldoc.ExecutiveSummaryOut{Summary: "One row per order."}),
			modeldoc.LayerBusinessRules:    raw(modeldoc.BusinessRulesOut{Rules: []modeldoc.BusinessRule{{Rule: "Refunds are negative."}}}),
			modeldoc.LayerColumnDescriptions: raw(modeldoc.ColumnDescriptionsOut{Columns: []modeldoc.ColumnDescription{
				{Name: "amount", Description: "What was paid."}, {Name: "status", Description: "Made up."}, {Name: "extra", Description: "Not a column of the model."}}}),
		},
		LayerStatus: map[modeldoc.Layer]modeldoc.LayerStatus{
			modeldoc.LayerExecutiveSummary: {Status: modeldoc.LayerOK},
			modeldoc.LayerBusinessRules:    {Status: modeldoc.LayerOK, ReviewState: modeldoc.ReviewRejected, ReviewedBy: "ana"},
			modeldoc.LayerColumnDescriptions: {Status: modeldoc.LayerOK, ColumnReviews: map[string]modeldoc.ColumnReview{
				"status": {State: modeldoc.ReviewRejected}, "amount": {State: modeldoc.ReviewAccepted}}},
		}}
	d, err := NewDocView(ViewInput{Object: obj, Version: v, Upstream: []ViewLink{{ID: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if !d.Has(modeldoc.LayerBusinessRules) || len(d.Rules) != 1 || d.Published(modeldoc.LayerBusinessRules) {
		t.Errorf("rejected rules: has %v, %d rules, published %v; want kept for the terminal and not published",
			d.Has(modeldoc.LayerBusinessRules), len(d.Rules), d.Published(modeldoc.LayerBusinessRules))
	}
	if !d.Published(modeldoc.LayerExecutiveSummary) || !d.Draft(modeldoc.LayerExecutiveSummary) || d.Summary != "One row per order." {
		t.Errorf("unreviewed summary: published %v, draft %v, %q", d.Published(modeldoc.LayerExecutiveSummary), d.Draft(modeldoc.LayerExecutiveSummary), d.Summary)
	}
	if d.Has(modeldoc.LayerImpactAnalysis) || d.Published(modeldoc.LayerImpactAnalysis) || d.Review(modeldoc.LayerImpactAnalysis) != "" {
		t.Error("a layer the version lacks is reported present")
	}
	if d.Complexity == nil || d.Complexity.Score != 2 || d.Complexity.Scale != ComplexityScale || ComplexityScale != 5 {
		t.Errorf("complexity %+v, want 2 on a scale of 5", d.Complexity)
	}
	if len(d.GeneratedColumns) != 3 {
		t.Errorf("the column layer as written has %d columns, want 3", len(d.GeneratedColumns))
	}
	var got []string
	for _, c := range d.Columns {
		got = append(got, c.Name+"="+c.Source+":"+c.Description)
	}
	want := []string{"id=human:The order.", "amount=accepted:What was paid.", "status=:", "extra=draft:Not a column of the model."}
	if !slices.Equal(got, want) {
		t.Errorf("published columns\n got %s\nwant %s", strings.Join(got, ", "), strings.Join(want, ", "))
	}
}

// A layer that does not decode is reported, and the rest of the view is
// still filled, for the terminal to show.
func TestDocViewUnreadableLayer(t *testing.T) {
	obj := &modeldoc.Object{ID: 7, Name: "orders"}
	v := &modeldoc.DocVersion{ObjectID: 7, Version: 1, Layers: map[modeldoc.Layer]json.RawMessage{
		modeldoc.LayerExecutiveSummary:  json.RawMessage(`{"summary": 5}`),
		modeldoc.LayerBusinessNarrative: json.RawMessage(`{"whatItDoes": "Lists orders."}`),
	}}
	d, err := NewDocView(ViewInput{Object: obj, Version: v})
	if err == nil || !strings.Contains(err.Error(), string(modeldoc.LayerExecutiveSummary)) {
		t.Errorf("error %v, want one naming the executive summary", err)
	}
	if d.Has(modeldoc.LayerExecutiveSummary) || !d.Has(modeldoc.LayerBusinessNarrative) || d.Narrative.WhatItDoes != "Lists orders." {
		t.Errorf("has summary %v, has narrative %v", d.Has(modeldoc.LayerExecutiveSummary), d.Has(modeldoc.LayerBusinessNarrative))
	}
}
