package anthropicwriter

import (
	"encoding/json"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/prompt"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// Claude gets each layer through a forced tool call, which Anthropic
// refuses together with extended thinking: the body never enables
// thinking, and max_tokens is the layer's own cap, not a reasoning
// model's cap with room to think.
func TestClaudeRequestHasNoThinkingAndTheLayerCap(t *testing.T) {
	w, err := New(Config{APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	s := &writer.Subject{Object: modeldoc.Object{Name: "orders", Type: modeldoc.TypeModel, RawSQL: "select 1 as id",
		Columns: []modeldoc.Column{{Name: "id"}}}}
	for _, layer := range []modeldoc.Layer{modeldoc.LayerExecutiveSummary, modeldoc.LayerBusinessNarrative, modeldoc.LayerColumnDescriptions} {
		req, err := prompt.Build(layer, s, prompt.Options{Model: "claude-haiku-4-5"})
		if err != nil {
			t.Fatal(err)
		}
		p, err := w.Params(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(p)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		if _, ok := m["thinking"]; ok {
			t.Errorf("%s: thinking sent: %s", layer, m["thinking"])
		}
		if want := prompt.MaxTokens(layer, 1); m["max_tokens"] != float64(want) || req.ReasoningEffort != "" {
			t.Errorf("%s: max_tokens %v (effort %q), want the layer's %d", layer, m["max_tokens"], req.ReasoningEffort, want)
		}
		if tc, _ := m["tool_choice"].(map[string]any); tc["type"] != "tool" {
			t.Errorf("%s: tool_choice %v, want the forced tool", layer, m["tool_choice"])
		}
	}
}
