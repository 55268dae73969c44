package prompt

import (
	"testing"

	"github.com/modeldoc/modeldoc"
)

// A reasoning model spends its reasoning out of the same cap as its
// answer, so its requests carry an effort and a cap with room for it; other
// models keep the layer's budget and send no effort.
func TestReasoningCaps(t *testing.T) {
	s := goldenSubject(t)
	for _, c := range []struct {
		model, asked, effort string
		extra                int
	}{
		{"gpt-5-mini", "", "low", 4096},
		{"gpt-5.1", "", "low", 4096},
		{"o4-mini", "medium", "medium", 8192},
		{"gpt-5", "high", "high", 16384},
		{"gpt-5-mini", "minimal", "minimal", 1024},
		{"gpt-5.1", "none", "none", 0},
		{"gpt-4o-mini", "", "", 0},
		{"gpt-5-chat-latest", "", "", 0},
		// An effort the user asks for travels to any model: a compatible
		// server's own reasoning model may take it.
		{"gpt-oss-20b", "high", "high", 16384},
	} {
		for _, layer := range []modeldoc.Layer{modeldoc.LayerExecutiveSummary, modeldoc.LayerBusinessNarrative} {
			req, err := Build(layer, s, Options{Model: c.model, ReasoningEffort: c.asked})
			if err != nil {
				t.Fatal(err)
			}
			want := MaxTokens(layer, len(s.Object.Columns)) + c.extra
			if req.MaxTokens != want || req.ReasoningEffort != c.effort {
				t.Errorf("%s (asked %q) %s: MaxTokens %d effort %q, want %d %q", c.model, c.asked, layer, req.MaxTokens, req.ReasoningEffort, want, c.effort)
			}
		}
	}
}
