package fakellm_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc/internal/fakellm"
)

// What OpenAI refuses from a request for a reasoning model, the fake
// refuses with OpenAI's exact body; the same request for gpt-4o-mini is
// served.
func TestReasoningModelRefusesWhatOpenAIRefuses(t *testing.T) {
	_, root := startServer(t, fakellm.Config{})
	for _, c := range []struct {
		name, model string
		set         map[string]any
		want        string // the exact body; "" means 200
	}{
		{"max_tokens", "gpt-5-mini", map[string]any{"max_tokens": 830},
			`{"error":{"message":"Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.","type":"invalid_request_error","param":"max_tokens","code":"unsupported_parameter"}}`},
		{"max_tokens on o3 behind a provider prefix", "openai/o3", map[string]any{"max_tokens": 830, "max_completion_tokens": 830},
			`{"error":{"message":"Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.","type":"invalid_request_error","param":"max_tokens","code":"unsupported_parameter"}}`},
		{"temperature", "gpt-5-mini", map[string]any{"temperature": 0.2},
			`{"error":{"message":"Unsupported value: 'temperature' does not support 0.2 with this model. Only the default (1) value is supported.","type":"invalid_request_error","param":"temperature","code":"unsupported_value"}}`},
		{"temperature 0", "gpt-5.1", map[string]any{"temperature": 0},
			`{"error":{"message":"Unsupported value: 'temperature' does not support 0 with this model. Only the default (1) value is supported.","type":"invalid_request_error","param":"temperature","code":"unsupported_value"}}`},
		{"minimal on gpt-5.1", "gpt-5.1", map[string]any{"reasoning_effort": "minimal"},
			`{"error":{"message":"Unsupported value: 'reasoning_effort' does not support 'minimal' with this model. Supported values are: 'none', 'low', 'medium', and 'high'.","type":"invalid_request_error","param":"reasoning_effort","code":"unsupported_value"}}`},
		{"none on gpt-5-mini", "gpt-5-mini", map[string]any{"reasoning_effort": "none"},
			`{"error":{"message":"Unsupported value: 'reasoning_effort' does not support 'none' with this model. Supported values are: 'minimal', 'low', 'medium', and 'high'.","type":"invalid_request_error","param":"reasoning_effort","code":"unsupported_value"}}`},
		{"unknown effort", "o4-mini", map[string]any{"reasoning_effort": "extreme"},
			`{"error":{"message":"Invalid value: 'extreme'. Supported values are: 'none', 'minimal', 'low', 'medium', 'high', 'xhigh', and 'max'.","type":"invalid_request_error","param":"reasoning_effort","code":"invalid_value"}}`},
		{"reasoning_effort on gpt-4o-mini", "gpt-4o-mini", map[string]any{"reasoning_effort": "low"},
			`{"error":{"message":"Unsupported parameter: 'reasoning_effort' is not supported with this model.","type":"invalid_request_error","param":"reasoning_effort","code":"unsupported_parameter"}}`},
		{"the default temperature", "gpt-5-mini", map[string]any{"temperature": 1, "max_completion_tokens": 4000, "reasoning_effort": "low"}, ""},
		{"minimal on gpt-5-mini", "gpt-5-nano", map[string]any{"reasoning_effort": "minimal"}, ""},
		{"a chat model is not a reasoning model", "gpt-5-chat-latest", map[string]any{"max_tokens": 4000, "temperature": 0.2}, ""},
		{"gpt-4o-mini takes both", "gpt-4o-mini", map[string]any{"max_tokens": 4000, "temperature": 0.2}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := chatBody("Describe orders.", nil)
			body["model"] = c.model
			for k, v := range c.set {
				body[k] = v
			}
			r := post(t, root+"/v1/chat/completions", body)
			if c.want == "" {
				if r.status != 200 {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				return
			}
			if r.status != 400 || apiErrorBody(t, r) != c.want {
				t.Errorf("got %d %s\nwant 400 %s", r.status, r.body, c.want)
			}
		})
	}
	if s := getStats(t, root); s.BadRequests != 8 {
		t.Errorf("bad_requests = %d, want 8", s.BadRequests)
	}
}

type usage struct {
	CompletionTokens        int `json:"completion_tokens"`
	CompletionTokensDetails struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

func usageOf(t *testing.T, r reply) usage {
	t.Helper()
	var resp struct {
		Usage usage `json:"usage"`
	}
	if err := json.Unmarshal(r.body, &resp); err != nil {
		t.Fatal(err)
	}
	return resp.Usage
}

// A reasoning model thinks out of max_completion_tokens before it answers,
// as much as its effort says: a cap that leaves room gets the whole answer,
// one that does not comes back empty at "length" with the cap billed as
// reasoning, and one in between gets a cut answer.
func TestReasoningTokensComeOutOfTheCap(t *testing.T) {
	srv, root := startServer(t, fakellm.Config{ReasoningTokens: map[string]int{"low": 500}})
	schema := schemaFormat("s", nestedSchemas["strict_nested"])
	ask := func(model, effort string, maxTokens int) reply {
		body := chatBody(columnsPrompt, schema)
		body["model"] = model
		if effort != "" {
			body["reasoning_effort"] = effort
		}
		if maxTokens > 0 {
			body["max_completion_tokens"] = maxTokens
		}
		return post(t, root+"/v1/chat/completions", body)
	}

	r := ask("gpt-5-mini", "low", 4000)
	c, finish := content(t, r)
	u := usageOf(t, r)
	if finish != "stop" || !json.Valid([]byte(c)) || u.CompletionTokensDetails.ReasoningTokens != 500 || u.CompletionTokens <= 500 {
		t.Errorf("room to answer: finish %q, usage %+v, content %q", finish, u, c)
	}
	answer := u.CompletionTokens - 500

	r = ask("gpt-5-mini", "low", 300)
	c, finish = content(t, r)
	u = usageOf(t, r)
	if finish != "length" || c != "" || u.CompletionTokens != 300 || u.CompletionTokensDetails.ReasoningTokens != 300 {
		t.Errorf("cap spent on reasoning: finish %q, usage %+v, content %q; want length, empty, 300 reasoning", finish, u, c)
	}

	r = ask("gpt-5-mini", "low", 500+answer/2)
	c, finish = content(t, r)
	if finish != "length" || c == "" || json.Valid([]byte(c)) {
		t.Errorf("cap cut the answer: finish %q, content %q", finish, c)
	}

	// No effort sent: gpt-5-mini reasons at medium (1,024 by default),
	// gpt-5.1 not at all; a non-reasoning model never does.
	if u := usageOf(t, ask("gpt-5-mini", "", 0)); u.CompletionTokensDetails.ReasoningTokens != fakellm.DefaultReasoningTokens["medium"] {
		t.Errorf("gpt-5-mini without an effort: %+v, want medium's reasoning", u)
	}
	if u := usageOf(t, ask("gpt-5.1", "", 0)); u.CompletionTokensDetails.ReasoningTokens != 0 {
		t.Errorf("gpt-5.1 without an effort: %+v, want none", u)
	}
	if u := usageOf(t, ask("gpt-4o-mini", "", 0)); u.CompletionTokensDetails.ReasoningTokens != 0 {
		t.Errorf("gpt-4o-mini: %+v", u)
	}

	// /control changes one effort and keeps the others.
	if _, err := srv.Apply(fakellm.Control{ReasoningTokens: map[string]int{"high": 7000}}); err != nil {
		t.Fatal(err)
	}
	if st := srv.State(); st.ReasoningTokens["high"] != 7000 || st.ReasoningTokens["low"] != 500 {
		t.Errorf("state after control: %v", st.ReasoningTokens)
	}
	if _, err := srv.Apply(fakellm.Control{ReasoningTokens: map[string]int{"huge": 1}}); err == nil || !strings.Contains(err.Error(), "huge") {
		t.Errorf("unknown effort accepted: %v", err)
	}

	s := getStats(t, root)
	if s.EmptyAnswers != 1 || s.ReasoningTokens != int64(500+300+500+fakellm.DefaultReasoningTokens["medium"]) {
		t.Errorf("stats: %d empty answers, %d reasoning tokens", s.EmptyAnswers, s.ReasoningTokens)
	}
}

func TestParseReasoningTokens(t *testing.T) {
	m, err := fakellm.ParseReasoningTokens("low=2000, medium=4000")
	if err != nil || m["low"] != 2000 || m["medium"] != 4000 || len(m) != 2 {
		t.Errorf("%v %v", m, err)
	}
	for _, bad := range []string{"low", "low=x", "loud=1", "low=-1"} {
		if _, err := fakellm.ParseReasoningTokens(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
