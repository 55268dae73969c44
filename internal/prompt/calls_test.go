package prompt

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc"
)

func TestBuildCallsCombined(t *testing.T) {
	s := goldenSubject(t)
	reqs, err := BuildCalls(modeldoc.AllLayers, s, Options{OverwriteHuman: true, MaxColumnsPerCall: 3}, CallsCombined)
	if err != nil {
		t.Fatal(err)
	}
	// One for the six model-level layers, then the 8 columns in parts of
	// at most 3 (3, 3, 2).
	if len(reqs) != 4 || reqs[0].Layer != CombinedLayer || len(reqs[0].Layers) != 6 {
		t.Fatalf("%d requests, first %s %v", len(reqs), reqs[0].Layer, reqs[0].Layers)
	}
	var asked []string
	for i, r := range reqs[1:] {
		if r.Layer != modeldoc.LayerColumnDescriptions || len(r.Columns) > 3 || !strings.Contains(r.User, "part "+string(rune('1'+i))+" of 3") {
			t.Errorf("column request %d: %s %v", i, r.Layer, r.Columns)
		}
		asked = append(asked, r.Columns...)
	}
	if len(asked) != 8 || len(slices.Compact(slices.Sorted(slices.Values(asked)))) != 8 {
		t.Errorf("the parts ask for %v, want each of the 8 columns once", asked)
	}
	var sch map[string]any
	if err := json.Unmarshal(reqs[0].Schema, &sch); err != nil || len(sch["required"].([]any)) != 6 {
		t.Errorf("combined schema %s", reqs[0].Schema)
	}
	for _, l := range reqs[0].Layers {
		if !strings.Contains(reqs[0].User, `## Part "`+string(l)+`"`) {
			t.Errorf("the combined prompt has no part %s", l)
		}
	}
	// By default every column here has a person's text: no column call.
	reqs, err = BuildCalls(modeldoc.AllLayers, s, Options{}, CallsCombined)
	if err != nil || len(reqs) != 1 {
		t.Errorf("%d requests (%v), want the combined one only", len(reqs), err)
	}
	reqs, err = BuildCalls(modeldoc.AllLayers, s, Options{OverwriteHuman: true}, CallsPerLayer)
	if err != nil || len(reqs) != 7 {
		t.Errorf("per-layer: %d requests (%v), want 7", len(reqs), err)
	}
}

func TestSplitCombined(t *testing.T) {
	layers := []modeldoc.Layer{modeldoc.LayerExecutiveSummary, modeldoc.LayerBusinessRules}
	parts, err := SplitCombined(layers, `{"executive_summary":{"a":1}}`)
	if err != nil || parts[modeldoc.LayerExecutiveSummary] != `{"a":1}` || parts[modeldoc.LayerBusinessRules] != "" {
		t.Errorf("parts %v, %v", parts, err)
	}
	if _, err := SplitCombined(layers, `{"executive_summary":`); err == nil {
		t.Error("a cut answer split")
	}
}

func TestFitLayers(t *testing.T) {
	seed := &modeldoc.Object{Type: modeldoc.TypeSeed}
	if got := FitLayers(seed, modeldoc.AllLayers); !slices.Equal(got, []modeldoc.Layer{modeldoc.LayerExecutiveSummary, modeldoc.LayerColumnDescriptions}) {
		t.Errorf("a seed without SQL gets %v", got)
	}
	model := &modeldoc.Object{Type: modeldoc.TypeModel, RawSQL: "select 1"}
	if got := FitLayers(model, modeldoc.AllLayers); len(got) != 7 {
		t.Errorf("a model gets %v", got)
	}
}

// Every call for one object opens with the same bytes (the system prompt,
// then the model's context) and marks how far they go, so that the
// provider's cache can serve them to the object's later calls; the task,
// which differs, comes after.
func TestCallsShareTheirPrefix(t *testing.T) {
	s := goldenSubject(t)
	for _, mode := range []string{CallsCombined, CallsPerLayer} {
		reqs, err := BuildCalls(modeldoc.AllLayers, s, Options{OverwriteHuman: true, MaxColumnsPerCall: 3}, mode)
		if err != nil {
			t.Fatal(err)
		}
		first := reqs[0]
		if first.CachePrefix < len(first.User)/2 {
			t.Fatalf("%s: the first request shares %d of %d bytes", mode, first.CachePrefix, len(first.User))
		}
		prefix := first.User[:first.CachePrefix]
		for _, r := range reqs[1:] {
			if r.System != first.System || r.CachePrefix != first.CachePrefix || !strings.HasPrefix(r.User, prefix) {
				t.Errorf("%s: request %s does not open with the first request's %d bytes", mode, r.Layer, first.CachePrefix)
			}
			if r.User == first.User {
				t.Errorf("%s: request %s is the first request's prompt", mode, r.Layer)
			}
		}
		if re := Repair(first, "{", nil); re.CacheKey() != first.CacheKey() || re.CachePrefix != first.CachePrefix {
			t.Errorf("%s: a re-ask loses the cache key or the shared prefix", mode)
		}
	}
	// The key names what OpenAI can share: the schema and the system
	// prompt, the same for every object's request of that schema.
	other := *s
	other.Object.Name += "_v2"
	reqs, err := BuildCalls(modeldoc.AllLayers, &other, Options{OverwriteHuman: true}, CallsCombined)
	if err != nil {
		t.Fatal(err)
	}
	mine, _ := BuildCalls(modeldoc.AllLayers, s, Options{OverwriteHuman: true}, CallsCombined)
	if reqs[0].CacheKey() == "" || reqs[0].CacheKey() != mine[0].CacheKey() || mine[0].CacheKey() == mine[len(mine)-1].CacheKey() {
		t.Errorf("cache keys: other object %q, this one %q, its column call %q", reqs[0].CacheKey(), mine[0].CacheKey(), mine[len(mine)-1].CacheKey())
	}
}
