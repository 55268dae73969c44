package writer

import (
	"fmt"
	"strings"
)

// DefaultReasoningEffort is the effort asked of an OpenAI reasoning model
// when the user names none. A layer is a short structured answer about
// facts in the prompt: OpenAI's own default (medium) spends several times
// more output-priced tokens for little better text.
const DefaultReasoningEffort = "low"

// ReasoningEfforts are the values OpenAI's reasoning_effort takes, least
// effort first. Not every model takes every value (gpt-5 has no "none",
// gpt-5.1 no "minimal", o-series only low to high); the provider says so
// in a 400 that fails the layer with its message.
var ReasoningEfforts = []string{"none", "minimal", "low", "medium", "high", "xhigh", "max"}

// reasoningAllowance is the room for reasoning added to a layer's output
// cap, by effort: reasoning tokens are spent out of max_completion_tokens,
// and a layer's cap (300 tokens for the summary) sized for the answer alone
// leaves nothing to answer with. Sized from public measurements (gpt-5 and
// gpt-5-mini spend 1,000 to 1,500 reasoning tokens on a short drafting task
// at medium) with room to spare, since a cap that runs out is billed and
// returns nothing; OpenAI's own advice of 25,000 tokens is for hard
// problems and would hold that many tokens of TPM per call.
var reasoningAllowance = map[string]int{
	"none":    0,
	"minimal": 1024,
	"low":     4096,
	"medium":  8192,
	"high":    16384,
	"xhigh":   32768,
	"max":     32768,
}

// MaxOutputTokens bounds a cap raised for reasoning: the o-series' largest
// output (gpt-5 takes 128,000).
const MaxOutputTokens = 100_000

// CheckReasoningEffort returns nil for "" (the default) or a known effort,
// and an error naming the choices otherwise.
func CheckReasoningEffort(effort string) error {
	if effort == "" {
		return nil
	}
	for _, e := range ReasoningEfforts {
		if effort == e {
			return nil
		}
	}
	return fmt.Errorf("unknown reasoning effort %q: choose one of %s", effort, strings.Join(ReasoningEfforts, ", "))
}

// ReasoningModel reports whether model is one of OpenAI's reasoning models
// (o1, o3, o4 and the gpt-5 family, gpt-5.1 and later included, but not
// the gpt-5 chat models): they take reasoning_effort, spend reasoning
// tokens out of max_completion_tokens, refuse max_tokens and accept only
// the default temperature. A provider prefix ("openai/gpt-5" on LiteLLM,
// "azure/o3") is ignored.
func ReasoningModel(model string) bool {
	m := strings.ToLower(strings.TrimSpace(model))
	if i := strings.LastIndex(m, "/"); i >= 0 {
		m = m[i+1:]
	}
	if strings.Contains(m, "chat") {
		return false
	}
	for _, p := range []string{"o1", "o3", "o4", "gpt-5"} {
		rest, ok := strings.CutPrefix(m, p)
		if ok && (rest == "" || rest[0] == '-' || p == "gpt-5" && rest[0] == '.') {
			return true
		}
	}
	return false
}

// ReasoningEffortFor is the effort a request for model carries: the one
// the user asked for, whatever the model (a compatible server's own
// reasoning model may take it), else DefaultReasoningEffort for an OpenAI
// reasoning model, else "" (none sent).
func ReasoningEffortFor(model, asked string) string {
	if asked != "" {
		return asked
	}
	if ReasoningModel(model) {
		return DefaultReasoningEffort
	}
	return ""
}

// ReasoningAllowance is the output room added to a layer's cap for a
// request carrying effort ("" adds none).
func ReasoningAllowance(effort string) int { return reasoningAllowance[effort] }
