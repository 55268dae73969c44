package generate_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/fakellm"
	"github.com/modeldoc/modeldoc/internal/generate"
	"github.com/modeldoc/modeldoc/internal/prompt"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// spoilPart passes requests to the fake, and spoils one layer's part of
// the first combined answer.
type spoilPart struct {
	inner writer.Writer
	layer modeldoc.Layer
	mu    sync.Mutex
	reqs  []writer.Request
	spilt bool
}

func (s *spoilPart) Provider() string { return s.inner.Provider() }

func (s *spoilPart) Write(ctx context.Context, req writer.Request) (writer.Result, error) {
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	spoil := req.Layers != nil && !s.spilt
	s.spilt = s.spilt || spoil
	s.mu.Unlock()
	res, err := s.inner.Write(ctx, req)
	if err != nil || !spoil {
		return res, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(res.Content), &m); err != nil {
		return res, err
	}
	m[string(s.layer)] = json.RawMessage(`{"confidence":"high","rules":"none"}`)
	b, _ := json.Marshal(m)
	res.Content = string(b)
	return res, nil
}

// TestCombinedPartIsAskedAgainAlone: a combined answer whose one part is
// invalid keeps the other parts and asks again for that layer alone, with
// its own request and what was wrong; the combined call's tokens are in
// the version.
// combinedCases are models whose combined call asks every model-level layer
// and whose columns are asked in a second call.
var combinedCases = []struct{ name, dataset, model string }{
	{"shop", exampleShop, "int_order_lines"},
	{"tuva", "tuva-health__tuva", "core__stg_claims_medical_claim"},
}

func TestCombinedPartIsAskedAgainAlone(t *testing.T) {
	ctx := context.Background()
	for _, tc := range combinedCases {
		t.Run(tc.name, func(t *testing.T) {
			st, orgID := catalogStore(t, tc.dataset)
			svc := newService(t, st)
			srv, fw := startFake(t, fakellm.Config{})
			obj := resolve(t, st, orgID, tc.model)
			plan, err := svc.Plan(ctx, orgID, obj.ID, generate.Options{Provider: "openai", Model: "gpt-4o-mini"})
			if err != nil {
				t.Fatal(err)
			}
			if len(plan.Requests) != 2 || len(plan.Requests[0].Layers) != len(modeldoc.AllLayers)-1 ||
				plan.Requests[1].Layer != modeldoc.LayerColumnDescriptions {
				t.Fatalf("requests %d, first asks %v", len(plan.Requests), plan.Requests[0].Layers)
			}
			w := &spoilPart{inner: fw, layer: modeldoc.LayerBusinessRules}
			v, err := svc.Write(ctx, plan, w)
			if err != nil {
				t.Fatal(err)
			}
			checkAllLayers(t, plan, v, true)
			var again []writer.Request
			for _, r := range w.reqs {
				if r.Layers == nil && r.Layer == modeldoc.LayerBusinessRules {
					again = append(again, r)
				}
			}
			if len(w.reqs) != 3 || len(again) != 1 {
				t.Fatalf("%d requests (%d business_rules), want the combined one, the columns and one re-ask of business_rules", len(w.reqs), len(again))
			}
			if !strings.Contains(again[0].User, "# Your previous answer was rejected") || !strings.Contains(again[0].User, `"rules":"none"`) ||
				strings.Contains(again[0].User, `## Part "executive_summary"`) {
				t.Errorf("the re-ask is not business_rules' own request with its rejected part:\n%s", again[0].User[max(0, len(again[0].User)-1500):])
			}
			if st := v.LayerStatus[modeldoc.LayerBusinessRules]; st.Attempts != 2 || st.PromptTokens == 0 {
				t.Errorf("business_rules status %+v, want 2 attempts and the re-ask's tokens", st)
			}
			if st := v.LayerStatus[modeldoc.LayerExecutiveSummary]; st.Attempts != 1 {
				t.Errorf("executive_summary status %+v, want its part of the combined answer", st)
			}
			if s := srv.Stats(); v.PromptTokens != s.PromptTokens || v.CompletionTokens != s.CompletionTokens {
				t.Errorf("version tokens %d/%d, the fake counted %d/%d", v.PromptTokens, v.CompletionTokens, s.PromptTokens, s.CompletionTokens)
			}
			if prompt.CombinedLayer != plan.Requests[0].SchemaName {
				t.Errorf("combined schema name %q", plan.Requests[0].SchemaName)
			}
		})
	}
}

// TestCombinedAsksOnlyForWhatIsNotKept: layers an earlier run bought are
// not asked for again; the combined request shrinks to the rest, down to a
// plain one-layer request.
func TestCombinedAsksOnlyForWhatIsNotKept(t *testing.T) {
	ctx := context.Background()
	for _, tc := range combinedCases {
		t.Run(tc.name, func(t *testing.T) {
			st, orgID := catalogStore(t, tc.dataset)
			svc := newService(t, st)
			_, fw := startFake(t, fakellm.Config{})
			obj := resolve(t, st, orgID, tc.model)
			first, err := svc.Plan(ctx, orgID, obj.ID, generate.Options{Provider: "openai", Model: "gpt-4o-mini"})
			if err != nil {
				t.Fatal(err)
			}
			v, err := svc.Write(ctx, first, fw)
			if err != nil {
				t.Fatal(err)
			}
			for _, keep := range [][]modeldoc.Layer{
				{modeldoc.LayerExecutiveSummary, modeldoc.LayerBusinessNarrative, modeldoc.LayerCodeExplanations,
					modeldoc.LayerTransformationCards, modeldoc.LayerImpactAnalysis},
				{modeldoc.LayerExecutiveSummary, modeldoc.LayerBusinessNarrative},
			} {
				plan, err := svc.Plan(ctx, orgID, obj.ID, generate.Options{Provider: "openai", Model: "gpt-4o-mini"})
				if err != nil {
					t.Fatal(err)
				}
				plan.Kept = map[modeldoc.Layer]generate.KeptLayer{}
				for _, l := range keep {
					plan.Kept[l] = generate.KeptLayer{Content: v.Layers[l], Status: v.LayerStatus[l]}
				}
				w := &spoilPart{inner: fw, spilt: true}
				got, err := svc.Write(ctx, plan, w)
				if err != nil {
					t.Fatal(err)
				}
				checkAllLayers(t, plan, got, false)
				for _, r := range w.reqs {
					for _, l := range append(slices.Clone(r.Layers), r.Layer) {
						if slices.Contains(keep, l) {
							t.Errorf("kept layer %s asked for again", l)
						}
					}
				}
				if len(w.reqs) != 2 {
					t.Errorf("%d requests with %d layers kept, want the rest in one and the columns", len(w.reqs), len(keep))
				}
			}
		})
	}
}
