package prompt

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// OpenAI strict structured outputs accept a subset of JSON Schema: an object
// at the top (no anyOf there), every object with additionalProperties false
// and every property required. We also hold the schemas to the keywords
// every provider documents, so none rejects them.
func TestSchemasAreStrictCompatible(t *testing.T) {
	allowed := []string{"type", "properties", "required", "additionalProperties", "items", "enum", "description"}
	for _, layer := range modeldoc.AllLayers {
		raw := Schema(layer)
		if raw == nil {
			t.Fatalf("%s: no schema", layer)
		}
		var root map[string]any
		if err := json.Unmarshal(raw, &root); err != nil {
			t.Fatalf("%s: %v", layer, err)
		}
		if root["type"] != "object" {
			t.Errorf("%s: top-level type is %v, want object", layer, root["type"])
		}
		var walk func(path string, s map[string]any)
		walk = func(path string, s map[string]any) {
			for k := range s {
				if !slices.Contains(allowed, k) {
					t.Errorf("%s%s: keyword %q is not in the strict subset", layer, path, k)
				}
			}
			switch s["type"] {
			case "object":
				if s["additionalProperties"] != false {
					t.Errorf("%s%s: additionalProperties must be false", layer, path)
				}
				props, _ := s["properties"].(map[string]any)
				var req []string
				for _, r := range s["required"].([]any) {
					req = append(req, r.(string))
				}
				for name, sub := range props {
					if !slices.Contains(req, name) {
						t.Errorf("%s%s: property %q not required", layer, path, name)
					}
					walk(path+"/"+name, sub.(map[string]any))
				}
				if len(req) != len(props) {
					t.Errorf("%s%s: required lists %d names for %d properties", layer, path, len(req), len(props))
				}
			case "array":
				walk(path+"[]", s["items"].(map[string]any))
			case "string", "integer", "number", "boolean":
			default:
				t.Errorf("%s%s: type %v", layer, path, s["type"])
			}
		}
		walk("", root)
	}
}

// The schemas' keys are the Go types' JSON keys: a valid answer decodes
// into the domain type with nothing lost, and encoding a full value of the
// domain type validates.
func TestSchemasMatchGoTypes(t *testing.T) {
	full := map[modeldoc.Layer]any{
		modeldoc.LayerExecutiveSummary:    modeldoc.ExecutiveSummaryOut{Grain: "one row per `member_id`", Summary: "Lists members. Finance uses it.", Confidence: "high"},
		modeldoc.LayerBusinessNarrative:   modeldoc.BusinessNarrative{WhatItDoes: "It lists every member.", DataJourney: []string{"a"}, BusinessImpact: "Finance needs it monthly.", Confidence: "medium"},
		modeldoc.LayerTransformationCards: modeldoc.TransformationCardsOut{Cards: []modeldoc.TransformationCard{{StepNumber: 1, Title: "t", Input: "i", Logic: "l", Output: "o", WhyItMatters: "w"}}, Confidence: "high"},
		modeldoc.LayerCodeExplanations:    modeldoc.CodeExplanationsOut{Explanations: []modeldoc.CodeExplanation{{CodeBlock: "select 1", PlainEnglish: "p", BusinessContext: "b"}}, Confidence: "high"},
		modeldoc.LayerBusinessRules:       modeldoc.BusinessRulesOut{Rules: []modeldoc.BusinessRule{{Rule: "r", CodeReference: "c", Impact: "i"}}, Confidence: "high"},
		modeldoc.LayerImpactAnalysis:      modeldoc.ImpactAnalysis{UsedBy: []modeldoc.ImpactUse{{Team: "t", Frequency: "f", Purpose: "p"}}, QuestionsAnswered: []string{"q?"}, DownstreamImpact: "Reports would be wrong.", Confidence: "low"},
		modeldoc.LayerColumnDescriptions:  modeldoc.ColumnDescriptionsOut{Columns: []modeldoc.ColumnDescription{{Name: "id", Description: "d", Lineage: "passthrough", UpstreamModel: "up", UpstreamColumn: "id"}, {Name: "n", Description: "d", Lineage: "derived"}}, Confidence: "medium"},
	}
	for _, layer := range modeldoc.AllLayers {
		b, _ := json.Marshal(full[layer])
		if err := Validate(layer, string(b)); err != nil {
			t.Errorf("%s: a full Go value does not validate: %v", layer, err)
		}
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		layer   modeldoc.Layer
		content string
		want    []string // substrings of the error; none means valid
	}{
		{modeldoc.LayerExecutiveSummary, `{"grain":"","confidence":"high","summary":"Lists every paid claim per member and month. Finance uses it to reconcile payments."}`, nil},
		{modeldoc.LayerExecutiveSummary, `{"grain":"","confidence":"high","summary":"   "}`, []string{"at /summary: is empty"}},
		{modeldoc.LayerExecutiveSummary, `{"grain":"","confidence":"high","summary":"N/A"}`, []string{"at /summary: is \"N/A\", which is not a sentence"}},
		{modeldoc.LayerExecutiveSummary, `{"grain":"","confidence":"high","summary":"One. Two. Three. Four. Five. Six. Seven."}`, []string{"has 7 sentences"}},
		{modeldoc.LayerExecutiveSummary, `{"grain":"","confidence":"high","summary":"Hi there friend.","extra":1}`, []string{"at /: additional properties 'extra' not allowed"}},
		{modeldoc.LayerExecutiveSummary, `{"grain":"","confidence":"high","summary": 3}`, []string{"at /summary: got number, want string"}},
		{modeldoc.LayerExecutiveSummary, `{"grain":"","confidence":"high","summary":"cut short`, []string{"not valid JSON"}},
		{modeldoc.LayerExecutiveSummary, "```json\n{\"summary\":\"x\"}\n```", []string{"not valid JSON"}},
		{modeldoc.LayerExecutiveSummary, `{"grain":"","confidence":"high","summary":"Fine words here."} trailing`, []string{"not valid JSON"}},
		{modeldoc.LayerTransformationCards, `{"confidence":"high","cards":[{"stepNumber":1,"title":"t","input":"i","output":"o","whyItMatters":"w"}]}`, []string{"at /cards/0: missing property 'logic'"}},
		{modeldoc.LayerTransformationCards, `{"confidence":"high","cards":[{"stepNumber":1,"title":"a","input":"i","logic":"l","output":"o","whyItMatters":"w"},{"stepNumber":3,"title":"b","input":"i","logic":"l","output":"o","whyItMatters":"w"}]}`, []string{"at /cards/1/stepNumber: is 3 but must be 2"}},
		{modeldoc.LayerTransformationCards, `{"confidence":"high","cards":[{"stepNumber":1.5,"title":"a","input":"i","logic":"l","output":"o","whyItMatters":"w"}]}`, []string{"at /cards/0/stepNumber: got number, want integer"}},
		{modeldoc.LayerTransformationCards, `{"confidence":"high","cards":[]}`, []string{"at /cards: is empty"}},
		{modeldoc.LayerBusinessRules, `{"confidence":"high","rules":[]}`, nil},
		{modeldoc.LayerBusinessRules, `{"confidence":"high","rules":[{"rule":"Only paid claims","codeReference":"","impact":"x"}]}`, []string{"at /rules/0/codeReference: is empty"}},
		{modeldoc.LayerBusinessNarrative, `{"confidence":"high","whatItDoes":"It lists members.","dataJourney":[],"businessImpact":"Finance relies on it."}`, []string{"at /dataJourney: is empty"}},
		{modeldoc.LayerImpactAnalysis, `{"confidence":"high","usedBy":[],"questionsAnswered":["Who?"]}`, []string{"missing property 'downstreamImpact'"}},
		{modeldoc.LayerColumnDescriptions, `{"confidence":"high","columns":[{"name":"id","description":"The id.","lineage":"copied","upstreamModel":"","upstreamColumn":""}]}`, []string{"at /columns/0/lineage: value must be one of 'passthrough', 'derived'"}},
		{modeldoc.LayerColumnDescriptions, `{"confidence":"high","columns":[{"name":"id","description":"The id.","lineage":"passthrough","upstreamModel":"","upstreamColumn":""}]}`, []string{"column \"id\" is passthrough but upstreamModel or upstreamColumn is empty"}},
		// A column the writer cannot explain is left undocumented.
		{modeldoc.LayerColumnDescriptions, `{"confidence":"high","columns":[{"name":"id","description":"","lineage":"derived","upstreamModel":"","upstreamColumn":""}]}`, nil},
		{modeldoc.LayerColumnDescriptions, `{"confidence":"high","columns":[{"name":"id","description":"a","lineage":"derived","upstreamModel":"","upstreamColumn":""},{"name":"id","description":"b","lineage":"derived","upstreamModel":"","upstreamColumn":""}]}`, []string{"at /columns/1/name: \"id\" is described twice"}},
	}
	for _, c := range cases {
		err := Validate(c.layer, c.content)
		if len(c.want) == 0 {
			if err != nil {
				t.Errorf("%s %s: unexpected error %v", c.layer, c.content, err)
			}
			continue
		}
		var verr *ValidationError
		if !errors.As(err, &verr) {
			t.Errorf("%s %s: error %v is not a *ValidationError", c.layer, c.content, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s %s:\nerror %q\nlacks %q", c.layer, c.content, err, w)
			}
		}
	}
	if err := Validate("nonsense", "{}"); modeldoc.ErrorCode(err) != modeldoc.EINVALID {
		t.Errorf("unknown layer: %v", err)
	}
}

func TestValidateForColumns(t *testing.T) {
	s := goldenSubject(t)
	entry := func(name, lineage, model, col string) modeldoc.ColumnDescription {
		return modeldoc.ColumnDescription{Name: name, Description: "Holds " + name + ".", Lineage: lineage, UpstreamModel: model, UpstreamColumn: col}
	}
	good := modeldoc.ColumnDescriptionsOut{Confidence: "high"}
	for _, c := range s.Object.Columns {
		good.Columns = append(good.Columns, entry(c.Name, "passthrough", "cms_hcc__int_demographic_factors", c.Name))
	}
	b, _ := json.Marshal(good)
	if err := ValidateFor(modeldoc.LayerColumnDescriptions, string(b), s); err != nil {
		t.Fatalf("valid answer rejected: %v", err)
	}

	bad := modeldoc.ColumnDescriptionsOut{Columns: slices.Clone(good.Columns[2:]), Confidence: "high"}
	bad.Columns = append(bad.Columns, entry("PATIENT_ID", "derived", "", ""), entry("hcc_code", "passthrough", "claims", "hcc"))
	b, _ = json.Marshal(bad)
	err := ValidateFor(modeldoc.LayerColumnDescriptions, string(b), s)
	for _, want := range []string{
		`at /columns: missing 1 of the model's columns: "patient_id"; add one entry for each, named exactly as listed`,
		`at /columns: "PATIENT_ID" is not a column of the model; remove it`,
		`at /columns/7/upstreamModel: "claims" is not an upstream model of this model; use one of "cms_hcc__disease_factors", "cms_hcc__int_demographic_factors", "cms_hcc__int_hcc_hierarchy"`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v\nlacks %q", err, want)
		}
	}
	// Without a subject the same answer only fails on what it says itself.
	if err := Validate(modeldoc.LayerColumnDescriptions, string(b)); err != nil {
		t.Errorf("Validate without subject: %v", err)
	}
}

func TestRepair(t *testing.T) {
	s := goldenSubject(t)
	req, err := Build(modeldoc.LayerTransformationCards, s, Options{Model: "gpt-4o"})
	if err != nil {
		t.Fatal(err)
	}
	bad := `{"confidence":"high","cards":[{"stepNumber":1,"title":"t","input":"i","output":"o","whyItMatters":"w"}]}`
	verr := Validate(req.Layer, bad)
	re := Repair(req, bad, verr)
	if !strings.HasPrefix(re.User, req.User) {
		t.Errorf("re-ask does not keep the first prompt as its prefix")
	}
	for _, want := range []string{bad, "at /cards/0: missing property 'logic'", "matching the transformation_cards schema"} {
		if !strings.Contains(re.User, want) {
			t.Errorf("re-ask lacks %q", want)
		}
	}
	if re.System != req.System || re.Model != req.Model || re.Layer != req.Layer || string(re.Schema) != string(req.Schema) || re.Subject != req.Subject {
		t.Errorf("re-ask changed more than the user message")
	}
	if re.MaxTokens != req.MaxTokens {
		t.Errorf("re-ask of valid JSON changed MaxTokens to %d", re.MaxTokens)
	}
	// A cut-off answer gets more room, and a runaway one is not replayed whole.
	cut := `{"confidence":"high","cards":[{"stepNumber":1,"title":"` + strings.Repeat("x", 20000)
	re = Repair(req, cut, Validate(req.Layer, cut))
	if re.MaxTokens != req.MaxTokens*3/2 {
		t.Errorf("MaxTokens after truncated answer = %d, want %d", re.MaxTokens, req.MaxTokens*3/2)
	}
	if len(re.User) > len(req.User)+maxRepairBytes+2000 || !strings.Contains(re.User, "(cut here for length)") {
		t.Errorf("runaway answer replayed in full (%d bytes)", len(re.User))
	}
}

func TestInputHash(t *testing.T) {
	base := func() *writer.Subject { return goldenSubject(t) }
	layers := []modeldoc.Layer{modeldoc.LayerExecutiveSummary, modeldoc.LayerBusinessRules}
	h0 := InputHash(base(), layers, "openai", "gpt-4o")
	if len(h0) != 64 {
		t.Fatalf("hash %q", h0)
	}
	changes := map[string]func(s *writer.Subject) (layers []modeldoc.Layer, provider, model string){}
	same := func(s *writer.Subject) ([]modeldoc.Layer, string, string) { return layers, "openai", "gpt-4o" }
	edit := func(f func(s *writer.Subject)) func(s *writer.Subject) ([]modeldoc.Layer, string, string) {
		return func(s *writer.Subject) ([]modeldoc.Layer, string, string) { f(s); return same(s) }
	}
	changes["raw SQL"] = edit(func(s *writer.Subject) { s.Object.RawSQL += " " })
	changes["compiled SQL"] = edit(func(s *writer.Subject) { s.Object.CompiledSQL += "\n" })
	changes["name"] = edit(func(s *writer.Subject) { s.Object.Name += "_v2" })
	changes["materialization"] = edit(func(s *writer.Subject) { s.Object.Materialization = "view" })
	changes["description"] = edit(func(s *writer.Subject) { s.Object.Description = "New." })
	changes["file path"] = edit(func(s *writer.Subject) { s.Object.FilePath = "models/x.sql" })
	changes["column type"] = edit(func(s *writer.Subject) { s.Object.Columns[1].DataType = "VARCHAR" })
	changes["column name"] = edit(func(s *writer.Subject) { s.Object.Columns[1].Name = "hcc" })
	changes["column order"] = edit(func(s *writer.Subject) {
		s.Object.Columns[0].Position, s.Object.Columns[1].Position = s.Object.Columns[1].Position, s.Object.Columns[0].Position
	})
	changes["added column"] = edit(func(s *writer.Subject) {
		s.Object.Columns = append(s.Object.Columns, modeldoc.Column{Name: "new", Position: 99})
	})
	changes["human column description"] = edit(func(s *writer.Subject) { s.Object.Columns[0].Description = "Other." })
	changes["upstream summary"] = edit(func(s *writer.Subject) { s.Upstream[0].Summary = "Changed." })
	changes["upstream added"] = edit(func(s *writer.Subject) {
		s.Upstream = append(s.Upstream, writer.Neighbor{Object: modeldoc.Object{Name: "extra", Type: modeldoc.TypeSeed}})
	})
	changes["upstream column"] = edit(func(s *writer.Subject) { s.Upstream[0].Object.Columns[0].Name = "x" })
	changes["downstream removed"] = edit(func(s *writer.Subject) { s.Downstream = nil })
	changes["layers"] = func(s *writer.Subject) ([]modeldoc.Layer, string, string) {
		return []modeldoc.Layer{modeldoc.LayerExecutiveSummary}, "openai", "gpt-4o"
	}
	changes["provider"] = func(s *writer.Subject) ([]modeldoc.Layer, string, string) { return layers, "anthropic", "gpt-4o" }
	changes["model"] = func(s *writer.Subject) ([]modeldoc.Layer, string, string) { return layers, "openai", "gpt-4o-mini" }
	seen := map[string]string{h0: "base"}
	for name, f := range changes {
		s := base()
		l, p, m := f(s)
		h := InputHash(s, l, p, m)
		if prev, dup := seen[h]; dup {
			t.Errorf("changing the %s gives the same hash as %s", name, prev)
		}
		seen[h] = name
	}

	neutral := map[string]func(s *writer.Subject){
		"ids and timestamps":           func(s *writer.Subject) { s.Object.ID = 42; s.Object.ProjectID = 7; s.Object.UniqueID = "model.x.y" },
		"tags and meta":                func(s *writer.Subject) { s.Object.Tags = []string{"a"}; s.Object.Meta = map[string]any{"owner": "x"} },
		"sql hash":                     func(s *writer.Subject) { s.Object.SQLHash = "abc" },
		"generated column description": nil, // checked below
		"column tests":                 func(s *writer.Subject) { s.Object.Columns[0].Tests = []string{"not_null"} },
		"downstream summary":           func(s *writer.Subject) { s.Downstream[0].Summary = "Anything." },
		"neighbor order": func(s *writer.Subject) {
			slices.Reverse(s.Upstream)
		},
	}
	for name, f := range neutral {
		s := base()
		if f == nil {
			s.Object.Columns[0].HumanDescription = false
			s.Object.Columns[0].Description = ""
			// Compare a generated description against none: both must hash alike.
			s2 := base()
			s2.Object.Columns[0].HumanDescription = false
			s2.Object.Columns[0].Description = "Generated text."
			if InputHash(s, layers, "openai", "gpt-4o") != InputHash(s2, layers, "openai", "gpt-4o") {
				t.Errorf("a generated column description changed the hash")
			}
			continue
		}
		if h := InputHash(s, layers, "openai", "gpt-4o"); h != h0 {
			t.Errorf("changing %s changed the hash", name)
		}
	}
	// Layer order and repeats do not matter.
	if InputHash(base(), []modeldoc.Layer{modeldoc.LayerBusinessRules, modeldoc.LayerExecutiveSummary, modeldoc.LayerBusinessRules}, "openai", "gpt-4o") != h0 {
		t.Errorf("layer order changed the hash")
	}
}
