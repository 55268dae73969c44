package openaiwriter

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/prompt"
	"github.com/modeldoc/modeldoc/internal/writer"
	wt "github.com/modeldoc/modeldoc/internal/writer/writertest"
)

func reasoningSubject() *writer.Subject {
	o := modeldoc.Object{Name: "orders", UniqueID: "model.shop.orders", Type: modeldoc.TypeModel,
		RawSQL:  "select id, amount from {{ ref('stg_orders') }}",
		Columns: []modeldoc.Column{{Name: "id"}, {Name: "amount"}}}
	return &writer.Subject{Object: o}
}

// The exact body the default setup sends for the default model to a server
// that is not api.openai.com (a proxy, a gateway, our fake): OpenAI refuses
// max_tokens and any temperature but the default for gpt-5-mini, so neither
// is there; reasoning_effort is low, and the cap is the layer's 300 tokens
// plus room for low-effort reasoning.
func TestReasoningModelRequestBody(t *testing.T) {
	srv := wt.NewServer(t, wt.Reply{Status: 200, Header: okHeaders, Body: completion(summary, "stop")})
	w, err := New(Config{APIKey: wt.Key, BaseURL: srv.URL + "/v1", Timeout: wt.Timeout})
	if err != nil {
		t.Fatal(err)
	}
	req, err := prompt.Build(modeldoc.LayerExecutiveSummary, reasoningSubject(), prompt.Options{Model: "gpt-5-mini"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(srv.Requests()[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	// The prompts and the schema are checked elsewhere; here they only
	// have to be the request's.
	msgs := body["messages"].([]any)
	if msgs[0].(map[string]any)["content"] != req.System || msgs[1].(map[string]any)["content"] != req.User {
		t.Errorf("messages are not the request's prompts")
	}
	msgs[0].(map[string]any)["content"], msgs[1].(map[string]any)["content"] = "SYSTEM", "USER"
	js := body["response_format"].(map[string]any)["json_schema"].(map[string]any)
	var schema any
	_ = json.Unmarshal(req.Schema, &schema)
	if !jsonEqual(js["schema"], schema) {
		t.Errorf("schema is not the layer's")
	}
	js["schema"] = "SCHEMA"
	if key := req.CacheKey(); key == "" || body["prompt_cache_key"] != key {
		t.Errorf("prompt_cache_key = %v, want the request's cache key %q", body["prompt_cache_key"], key)
	}
	body["prompt_cache_key"] = "KEY"
	got, _ := json.Marshal(body)
	const want = `{"max_completion_tokens":4396,"messages":[{"content":"SYSTEM","role":"system"},{"content":"USER","role":"user"}],` +
		`"model":"gpt-5-mini","prompt_cache_key":"KEY","reasoning_effort":"low",` +
		`"response_format":{"json_schema":{"name":"executive_summary","schema":"SCHEMA","strict":true},"type":"json_schema"}}`
	if string(got) != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// Which field carries the cap: a reasoning model gets
// max_completion_tokens wherever it is served; other models keep
// max_tokens on compatible servers; an explicit MaxTokensParam wins.
func TestMaxTokensParamRule(t *testing.T) {
	for _, c := range []struct {
		base, param, model string
		want               string
	}{
		{"", "", "gpt-5-mini", "max_completion_tokens"},
		{"", "", "gpt-4o-mini", "max_completion_tokens"},
		{"https://acme.openai.azure.com/openai/v1", "", "o3", "max_completion_tokens"},
		{"http://127.0.0.1:8089/v1", "", "gpt-5-mini", "max_completion_tokens"},
		{"http://localhost:4000/v1", "", "openai/gpt-5.1", "max_completion_tokens"},
		{"http://localhost:11434/v1", "", "llama3.1", "max_tokens"},
		{"http://localhost:4000/v1", "max_tokens", "gpt-5-mini", "max_tokens"},
		{"http://localhost:11434/v1", "max_completion_tokens", "llama3.1", "max_completion_tokens"},
	} {
		w, err := New(Config{APIKey: "k", BaseURL: c.base, MaxTokensParam: c.param})
		if err != nil {
			t.Fatal(err)
		}
		req := wt.Request()
		req.Model = c.model
		b, _ := json.Marshal(w.Params(req))
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		other := map[string]string{"max_tokens": "max_completion_tokens", "max_completion_tokens": "max_tokens"}[c.want]
		if m[c.want] != float64(777) || m[other] != nil {
			t.Errorf("%s at %q (param %q): %s = %v, %s = %v", c.model, c.base, c.param, c.want, m[c.want], other, m[other])
		}
		_, temp := m["temperature"]
		if temp == writer.ReasoningModel(c.model) {
			t.Errorf("%s: temperature sent = %v", c.model, temp)
		}
	}
}

// A reasoning model that spends the whole cap thinking answers 200 with
// empty content and finish_reason "length": that is ReasoningExhausted,
// with the reasoning tokens in the usage and a message naming the budget
// and the flag, not a truncated answer to ask again as is.
func TestEmptyAnswerAtLengthIsReasoningExhausted(t *testing.T) {
	body := strings.Replace(completion("", "length"), `"reasoning_tokens": 0`, `"reasoning_tokens": 46`, 1)
	srv := wt.NewServer(t, wt.Reply{Status: 200, Header: okHeaders, Body: body})
	w, err := New(Config{APIKey: wt.Key, BaseURL: srv.URL + "/v1", Timeout: wt.Timeout})
	if err != nil {
		t.Fatal(err)
	}
	req := wt.Request()
	req.Model, req.ReasoningEffort = "gpt-5-mini", "low"
	res, err := w.Write(t.Context(), req)
	var e *writer.Error
	if !errors.As(err, &e) || e.Kind != writer.ReasoningExhausted {
		t.Fatalf("err = %v, want %s", err, writer.ReasoningExhausted)
	}
	for _, s := range []string{"whole output budget of 777 tokens on reasoning", "46 reasoning tokens", "--reasoning-effort", "low"} {
		if !strings.Contains(e.Message, s) {
			t.Errorf("message lacks %q: %s", s, e.Message)
		}
	}
	if res.Usage.ReasoningTokens != 46 || res.Usage.CompletionTokens != 46 {
		t.Errorf("usage = %+v, want the billed reasoning tokens", res.Usage)
	}

	// A cut answer with text in it stays Malformed (a re-ask with a larger
	// cap fixes it).
	srv = wt.NewServer(t, wt.Reply{Status: 200, Header: okHeaders, Body: completion(`{"summary":"Orders are`, "length")})
	w, _ = New(Config{APIKey: wt.Key, BaseURL: srv.URL + "/v1", Timeout: wt.Timeout})
	if _, err := w.Write(t.Context(), req); writer.KindOf(err) != writer.Malformed {
		t.Errorf("truncated answer: %v, want %s", err, writer.Malformed)
	}
}
