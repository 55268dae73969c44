package api

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/markdown"
)

// GET /objects/{id}/documentation carries the Markdown of the generated
// prose as trees, keyed by the text: only for texts with Markdown in them,
// never for code or identifiers, and with a javascript: link kept out.
func TestDocumentationTextDocs(t *testing.T) {
	eachSeed(t, nil, func(t *testing.T, s *seeded) {
		layers := map[modeldoc.Layer]json.RawMessage{
			modeldoc.LayerExecutiveSummary: json.RawMessage(`{"summary":"Orders, **one row each**. See [bad](javascript:alert(1)).","grain":"","confidence":"high"}`),
			modeldoc.LayerBusinessRules:    json.RawMessage(`{"rules":[{"rule":"Plain words only.","codeReference":"amount * 2 -- **not markdown**","impact":"- a\n- b"}],"confidence":"low"}`),
		}
		if err := s.st.InsertDocVersion(context.Background(), &modeldoc.DocVersion{ObjectID: s.objectID, Provider: "openai", Model: "gpt-4o",
			Layers:      layers,
			LayerStatus: map[modeldoc.Layer]modeldoc.LayerStatus{modeldoc.LayerExecutiveSummary: {Status: "ok"}, modeldoc.LayerBusinessRules: {Status: "ok"}}}); err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Layers   map[string]json.RawMessage `json:"layers"`
			TextDocs map[string][]markdown.Node `json:"text_docs"`
		}
		s.must(200, "GET", fmt.Sprintf("/api/v1/objects/%d/documentation", s.objectID), s.memberA, nil, &doc)
		summary := doc.TextDocs["Orders, **one row each**. See [bad](javascript:alert(1))."]
		if len(summary) != 1 || summary[0].T != "p" {
			t.Fatalf("summary tree: %+v (all: %+v)", summary, doc.TextDocs)
		}
		var strong, link *markdown.Node
		for i, n := range summary[0].C {
			switch n.T {
			case "strong":
				strong = &summary[0].C[i]
			case "a":
				link = &summary[0].C[i]
			}
		}
		if strong == nil || len(strong.C) != 1 || strong.C[0].V != "one row each" {
			t.Errorf("no strong node: %+v", summary[0].C)
		}
		if link == nil || link.Href != "" {
			t.Errorf("the javascript: link kept its address: %+v", link)
		}
		if impact := doc.TextDocs["- a\n- b"]; len(impact) != 1 || impact[0].T != "ul" {
			t.Errorf("impact list: %+v", impact)
		}
		for _, absent := range []string{"Plain words only.", "amount * 2 -- **not markdown**"} {
			if _, ok := doc.TextDocs[absent]; ok {
				t.Errorf("text_docs has %q: plain text and code are left out", absent)
			}
		}
	})
}
