package export

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/store"
)

// TestFindingsInCoverageAndJSON: a layer stored with grounding findings is
// counted by coverage (per model and up the scopes) and exported with its
// findings, and the export still matches its schema.
func TestFindingsInCoverageAndJSON(t *testing.T) {
	finding := modeldoc.Finding{Path: "/rules/0/codeReference", Kind: modeldoc.FindingCodeReference,
		Value: "where is_deleted = false", Message: `"where is_deleted = false" is not in the model's SQL`}
	v := &modeldoc.DocVersion{ID: 1, ObjectID: 1, Version: 1, Current: true, Provider: "openai", Model: "m", PromptVersion: "v",
		Layers: map[modeldoc.Layer]json.RawMessage{
			modeldoc.LayerExecutiveSummary: json.RawMessage(`{"summary":"One order per row."}`),
			modeldoc.LayerBusinessRules:    json.RawMessage(`{"rules":[{"rule":"r","codeReference":"where is_deleted = false","impact":"i"}]}`),
		},
		LayerStatus: map[modeldoc.Layer]modeldoc.LayerStatus{
			modeldoc.LayerExecutiveSummary: {Status: "ok", Attempts: 1},
			modeldoc.LayerBusinessRules:    {Status: "ok", Attempts: 2, Review: true, Findings: []modeldoc.Finding{finding}},
		},
		CreatedAt: time.Unix(0, 0)}
	p := &Project{
		Project: modeldoc.Project{ID: 1, Name: "shop", Source: "manifest", Path: "shop"},
		Objects: []modeldoc.Object{
			{ID: 1, UniqueID: "model.shop.orders", Name: "orders", Type: modeldoc.TypeModel, Schema: "mart"},
			{ID: 2, UniqueID: "model.shop.customers", Name: "customers", Type: modeldoc.TypeModel, Schema: "mart"},
		},
		Summary: map[int64]store.ObjectSummary{},
		Docs:    map[int64]*modeldoc.DocVersion{1: v},
	}
	r, err := CoverageOf([]*Project{p})
	if err != nil {
		t.Fatal(err)
	}
	if r.Total.LayersWithFindings != 1 || r.Projects[0].LayersWithFindings != 1 || r.Projects[0].Schemas[0].LayersWithFindings != 1 {
		t.Errorf("layers with findings: total %d, project %d, schema %d; want 1", r.Total.LayersWithFindings, r.Projects[0].LayersWithFindings, r.Projects[0].Schemas[0].LayersWithFindings)
	}
	for _, m := range r.Projects[0].Schemas[0].Models {
		want := 0
		if m.Name == "orders" {
			want = 1
		}
		if len(m.LayersWithFindings) != want {
			t.Errorf("%s: layers with findings %v, want %d", m.Name, m.LayersWithFindings, want)
		}
	}

	var buf bytes.Buffer
	if err := WriteJSON(&buf, BuildJSON([]*Project{p}, time.Unix(0, 0))); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"findings"`) || !strings.Contains(buf.String(), `"review": true`) || !strings.Contains(buf.String(), "is_deleted") {
		t.Errorf("the JSON export lacks the layer's findings:\n%s", buf.String())
	}
	c := jsonschema.NewCompiler()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("export.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("export.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("the export does not match its schema: %v", err)
	}
}
