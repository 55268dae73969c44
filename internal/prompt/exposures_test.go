package prompt

import (
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// TestPromptNamesExposures: the shared context names the exposures a
// change reaches, with their owner and whether they read the model
// directly, so the impact layer can name who is hurt; a model with none
// gets no such section.
func TestPromptNamesExposures(t *testing.T) {
	s := &writer.Subject{Object: modeldoc.Object{ID: 7, Name: "orders", Type: modeldoc.TypeModel, RawSQL: "select 1 as order_id"},
		Exposures: []modeldoc.ExposureUse{
			{Exposure: modeldoc.Exposure{Name: "revenue", Label: "Daily revenue", Type: "dashboard", Owner: "Finance", Description: "The CFO's view."}, Reads: []int64{7}},
			{Exposure: modeldoc.Exposure{Name: "churn", Type: "notebook"}, Reads: []int64{9}},
		}}
	reqs, err := BuildAll([]modeldoc.Layer{modeldoc.LayerImpactAnalysis}, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	text := reqs[0].System + reqs[0].User
	for _, want := range []string{
		"## Exposures the project declares on it",
		"- dashboard revenue (Daily revenue), owned by Finance; reads it directly: The CFO's view.",
		"- notebook churn; reads models built from it",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("prompt lacks %q:\n%s", want, text)
		}
	}
	s.Exposures = nil
	reqs, err = BuildAll([]modeldoc.Layer{modeldoc.LayerImpactAnalysis}, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(reqs[0].System+reqs[0].User, "## Exposures") {
		t.Error("a model with no exposure gets an exposures section")
	}
}
