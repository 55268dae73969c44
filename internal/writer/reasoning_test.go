package writer

import "testing"

func TestReasoningModel(t *testing.T) {
	for m, want := range map[string]bool{
		"gpt-5": true, "gpt-5-mini": true, "gpt-5-nano": true, "gpt-5.1": true, "gpt-5.2-mini": true, "gpt-5-2025-08-07": true,
		"o1": true, "o3-mini": true, "o4-mini": true, "openai/o1": true, "azure/gpt-5-mini": true, "GPT-5-Mini": true,
		"gpt-4.1-mini": false, "gpt-4o": false, "llama3.1": false, "gpt-5-chat-latest": false, "gpt-5.1-chat-latest": false,
		"o1x": false, "gpt-50": false, "gpt-oss-20b": false, "": false,
	} {
		if ReasoningModel(m) != want {
			t.Errorf("ReasoningModel(%q) = %v", m, !want)
		}
	}
}

func TestCheckReasoningEffort(t *testing.T) {
	for _, e := range append([]string{""}, ReasoningEfforts...) {
		if err := CheckReasoningEffort(e); err != nil {
			t.Errorf("%q: %v", e, err)
		}
	}
	for _, e := range []string{"LOW", "extreme", " low"} {
		if err := CheckReasoningEffort(e); err == nil {
			t.Errorf("%q accepted", e)
		}
	}
}
