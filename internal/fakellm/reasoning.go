package fakellm

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// DefaultReasoningTokens is what a reasoning model spends thinking per
// answer at each effort, when Config.ReasoningTokens does not say: small
// enough that a client giving room for low effort is not starved, large
// enough that a cap sized for the answer alone runs out.
var DefaultReasoningTokens = map[string]int{
	"none":    0,
	"minimal": 32,
	"low":     256,
	"medium":  1024,
	"high":    4096,
	"xhigh":   8192,
	"max":     8192,
}

// reasoningEfforts are the values reasoning_effort takes on OpenAI's API,
// in its enum's order.
var reasoningEfforts = []string{"none", "minimal", "low", "medium", "high", "xhigh", "max"}

// reasoningModel reports whether OpenAI treats model as a reasoning model
// (o1, o3, o4, the gpt-5 family; not the gpt-5 chat models), the same
// families modeldoc's writer recognises.
func reasoningModel(model string) bool {
	m := baseModel(model)
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

func baseModel(model string) string {
	m := strings.ToLower(model)
	if i := strings.LastIndex(m, "/"); i >= 0 {
		m = m[i+1:]
	}
	return m
}

// modelEfforts are the efforts model takes and the one it uses when the
// request names none, as OpenAI documents them: the o-series low to high
// (default medium); gpt-5, -mini and -nano minimal to high (default
// medium); gpt-5.1 none to high without minimal (default none); gpt-5.2 and
// later add xhigh.
func modelEfforts(model string) (allowed []string, def string) {
	m := baseModel(model)
	rest, gpt5 := strings.CutPrefix(m, "gpt-5")
	switch {
	case !gpt5:
		return []string{"low", "medium", "high"}, "medium"
	case !strings.HasPrefix(rest, "."):
		return []string{"minimal", "low", "medium", "high"}, "medium"
	case strings.HasPrefix(rest, ".1") && (len(rest) == 2 || rest[2] == '-'):
		return []string{"none", "low", "medium", "high"}, "none"
	}
	return []string{"none", "low", "medium", "high", "xhigh"}, "none"
}

// quotedList writes values as OpenAI's messages list them: 'a', 'b', and 'c'.
func quotedList(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = "'" + v + "'"
	}
	if len(q) < 2 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + ", and " + q[len(q)-1]
}

// checkReasoning refuses what OpenAI refuses from a request for a
// reasoning model (and reasoning_effort on its older chat models), with
// OpenAI's wording, and returns the effort the model will use.
func checkReasoning(req chatRequest) (effort string, _ *apiError) {
	model := *req.Model
	asked := ""
	if req.ReasoningEffort != nil {
		asked = *req.ReasoningEffort
		known := false
		for _, e := range reasoningEfforts {
			known = known || e == asked
		}
		if !known {
			return "", &apiError{
				Message: fmt.Sprintf("Invalid value: '%s'. Supported values are: %s.", asked, quotedList(reasoningEfforts)),
				Type:    "invalid_request_error", Param: strp("reasoning_effort"), Code: strp("invalid_value"),
			}
		}
	}
	if !reasoningModel(model) {
		if m := baseModel(model); asked != "" && (strings.HasPrefix(m, "gpt-4") || strings.HasPrefix(m, "gpt-3.5")) {
			return "", unsupportedParameter("reasoning_effort", "")
		}
		return "", nil
	}
	if req.MaxTokens != nil {
		return "", unsupportedParameter("max_tokens", "max_completion_tokens")
	}
	if t := bytes.TrimSpace(req.Temperature); len(t) > 0 && string(t) != "null" {
		if v, err := strconv.ParseFloat(string(t), 64); err != nil || v != 1 {
			return "", &apiError{
				Message: fmt.Sprintf("Unsupported value: 'temperature' does not support %s with this model. Only the default (1) value is supported.", t),
				Type:    "invalid_request_error", Param: strp("temperature"), Code: strp("unsupported_value"),
			}
		}
	}
	allowed, def := modelEfforts(model)
	if asked == "" {
		return def, nil
	}
	for _, e := range allowed {
		if e == asked {
			return asked, nil
		}
	}
	return "", &apiError{
		Message: fmt.Sprintf("Unsupported value: 'reasoning_effort' does not support '%s' with this model. Supported values are: %s.", asked, quotedList(allowed)),
		Type:    "invalid_request_error", Param: strp("reasoning_effort"), Code: strp("unsupported_value"),
	}
}

// unsupportedParameter is OpenAI's 400 for a parameter the model refuses.
func unsupportedParameter(name, instead string) *apiError {
	msg := fmt.Sprintf("Unsupported parameter: '%s' is not supported with this model.", name)
	if instead != "" {
		msg += fmt.Sprintf(" Use '%s' instead.", instead)
	}
	return &apiError{Message: msg, Type: "invalid_request_error", Param: strp(name), Code: strp("unsupported_parameter")}
}

// checkReasoningTokens checks a per-effort table of reasoning tokens.
func checkReasoningTokens(m map[string]int) error {
	for e, n := range m {
		known := false
		for _, k := range reasoningEfforts {
			known = known || k == e
		}
		if !known {
			return fmt.Errorf("unknown reasoning effort %q: use %s", e, strings.Join(reasoningEfforts, ", "))
		}
		if n < 0 {
			return fmt.Errorf("reasoning tokens for %s must be 0 or more, got %d", e, n)
		}
	}
	return nil
}

// mergeReasoning returns base with over's entries on top, as a new map.
func mergeReasoning(base, over map[string]int) map[string]int {
	out := make(map[string]int, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

// ParseReasoningTokens reads "low=2000,medium=4000" (the CLI's form).
func ParseReasoningTokens(s string) (map[string]int, error) {
	out := map[string]int{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if !ok || err != nil {
			return nil, fmt.Errorf("%q is not EFFORT=TOKENS, e.g. low=2000", part)
		}
		out[strings.TrimSpace(k)] = n
	}
	return out, checkReasoningTokens(out)
}
